//! Chunk identities and `Coverage`: the set of chunks a piece of work or a
//! partial result stands for.
//!
//! A job phase has an ordered list of chunks numbered from 0. Work handed to
//! a peer and the partial result it sends back are both described by a
//! `Coverage`, a set of chunk indices kept as sorted, disjoint, non-adjacent
//! half-open ranges. Exactly-once merging rests on the operations here: a
//! parent merges a partial only when its coverage is disjoint from what the
//! parent already holds.

use std::fmt;

/// The index of one chunk in the ordered chunk list of a job phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChunkId(pub u32);

/// A half-open range of chunk indices `start..end`; never empty inside a
/// `Coverage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChunkRange {
    /// The first chunk in the range.
    pub start: u32,
    /// One past the last chunk in the range.
    pub end: u32,
}

impl ChunkRange {
    /// The range `start..end`.
    pub fn new(start: u32, end: u32) -> Self {
        ChunkRange { start, end }
    }

    /// How many chunks the range holds (0 when `end <= start`).
    pub fn len(&self) -> u32 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the range holds no chunk.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// A set of chunks, stored as sorted, disjoint, non-adjacent, non-empty
/// half-open ranges. Every constructor and operation keeps that form, so two
/// coverages holding the same chunks are equal with `==`.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Coverage {
    ranges: Vec<ChunkRange>,
}

impl fmt::Debug for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Coverage{{")?;
        for (index, range) in self.ranges.iter().enumerate() {
            if index > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{}..{}", range.start, range.end)?;
        }
        write!(f, "}}")
    }
}

impl Coverage {
    /// The empty set.
    pub const fn empty() -> Self {
        Coverage { ranges: Vec::new() }
    }

    /// The chunks `start..end` (empty when `end <= start`).
    pub fn range(start: u32, end: u32) -> Self {
        Coverage::from_ranges([ChunkRange::new(start, end)])
    }

    /// The set holding the given ranges, in any order, possibly overlapping
    /// or empty; they are normalised.
    pub fn from_ranges(ranges: impl IntoIterator<Item = ChunkRange>) -> Self {
        let mut sorted: Vec<ChunkRange> = ranges.into_iter().filter(|r| !r.is_empty()).collect();
        sorted.sort();
        let mut normal: Vec<ChunkRange> = Vec::with_capacity(sorted.len());
        for range in sorted {
            match normal.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => normal.push(range),
            }
        }
        Coverage { ranges: normal }
    }

    /// The set holding the given chunk ids.
    pub fn from_chunks(chunks: impl IntoIterator<Item = ChunkId>) -> Self {
        Coverage::from_ranges(
            chunks
                .into_iter()
                .map(|c| ChunkRange::new(c.0, c.0.saturating_add(1))),
        )
    }

    /// The normalised ranges, ascending.
    pub fn ranges(&self) -> &[ChunkRange] {
        &self.ranges
    }

    /// Whether the set holds no chunk.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The number of chunks in the set.
    pub fn chunk_count(&self) -> u64 {
        self.ranges.iter().map(|r| u64::from(r.len())).sum()
    }

    /// The lowest chunk in the set.
    pub fn first(&self) -> Option<ChunkId> {
        self.ranges.first().map(|r| ChunkId(r.start))
    }

    /// Every chunk of the set, ascending.
    pub fn chunks(&self) -> impl Iterator<Item = ChunkId> + '_ {
        self.ranges
            .iter()
            .flat_map(|r| (r.start..r.end).map(ChunkId))
    }

    /// Whether the set holds `chunk`.
    pub fn contains(&self, chunk: ChunkId) -> bool {
        // The ranges are sorted, so the candidate is the last range starting
        // at or before the chunk.
        let after = self.ranges.partition_point(|r| r.start <= chunk.0);
        after > 0 && self.ranges.get(after - 1).is_some_and(|r| chunk.0 < r.end)
    }

    /// The chunks in `self` or `other`.
    pub fn union(&self, other: &Coverage) -> Coverage {
        Coverage::from_ranges(self.ranges.iter().chain(other.ranges.iter()).copied())
    }

    /// The chunks in both `self` and `other`.
    pub fn intersection(&self, other: &Coverage) -> Coverage {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while let (Some(a), Some(b)) = (self.ranges.get(i), other.ranges.get(j)) {
            let start = a.start.max(b.start);
            let end = a.end.min(b.end);
            if start < end {
                out.push(ChunkRange::new(start, end));
            }
            if a.end <= b.end {
                i += 1;
            } else {
                j += 1;
            }
        }
        // Pieces of two normalised sets are already sorted and disjoint, but
        // may touch; normalising merges touching pieces.
        Coverage::from_ranges(out)
    }

    /// The chunks in `self` but not in `other`.
    pub fn difference(&self, other: &Coverage) -> Coverage {
        let mut out = Vec::new();
        let mut j = 0;
        for a in &self.ranges {
            let mut start = a.start;
            // Skip the ranges of `other` wholly before this one.
            while other.ranges.get(j).is_some_and(|b| b.end <= start) {
                j += 1;
            }
            let mut k = j;
            while let Some(b) = other.ranges.get(k) {
                if b.start >= a.end {
                    break;
                }
                if b.start > start {
                    out.push(ChunkRange::new(start, b.start));
                }
                start = start.max(b.end);
                if start >= a.end {
                    break;
                }
                k += 1;
            }
            if start < a.end {
                out.push(ChunkRange::new(start, a.end));
            }
        }
        Coverage::from_ranges(out)
    }

    /// Whether `self` and `other` share no chunk.
    pub fn is_disjoint(&self, other: &Coverage) -> bool {
        let (mut i, mut j) = (0, 0);
        while let (Some(a), Some(b)) = (self.ranges.get(i), other.ranges.get(j)) {
            if a.start.max(b.start) < a.end.min(b.end) {
                return false;
            }
            if a.end <= b.end {
                i += 1;
            } else {
                j += 1;
            }
        }
        true
    }

    /// Whether every chunk of `self` is in `other`.
    pub fn is_subset(&self, other: &Coverage) -> bool {
        self.difference(other).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn cov(ranges: &[(u32, u32)]) -> Coverage {
        Coverage::from_ranges(ranges.iter().map(|&(s, e)| ChunkRange::new(s, e)))
    }

    #[test]
    fn normalises_overlapping_touching_and_empty_ranges() {
        let c = cov(&[(5, 7), (0, 2), (2, 3), (6, 9), (4, 4)]);
        assert_eq!(c.ranges(), &[ChunkRange::new(0, 3), ChunkRange::new(5, 9)]);
        assert_eq!(c.chunk_count(), 7);
        assert_eq!(format!("{c:?}"), "Coverage{0..3, 5..9}");
    }

    #[test]
    fn set_operations_on_examples() {
        let a = cov(&[(0, 10), (20, 30)]);
        let b = cov(&[(5, 25)]);
        assert_eq!(a.union(&b), cov(&[(0, 30)]));
        assert_eq!(a.intersection(&b), cov(&[(5, 10), (20, 25)]));
        assert_eq!(a.difference(&b), cov(&[(0, 5), (25, 30)]));
        assert_eq!(b.difference(&a), cov(&[(10, 20)]));
        assert!(!a.is_disjoint(&b));
        assert!(a.is_disjoint(&cov(&[(10, 20), (30, 31)])));
        assert!(cov(&[(1, 3), (21, 22)]).is_subset(&a));
        assert!(!b.is_subset(&a));
        assert!(a.contains(ChunkId(0)) && a.contains(ChunkId(29)));
        assert!(!a.contains(ChunkId(10)) && !a.contains(ChunkId(30)));
        assert!(Coverage::empty().is_disjoint(&a));
        assert_eq!(a.first(), Some(ChunkId(0)));
    }

    fn model(c: &Coverage) -> BTreeSet<u32> {
        c.chunks().map(|c| c.0).collect()
    }

    fn arbitrary_coverage() -> impl Strategy<Value = Coverage> {
        proptest::collection::vec((0u32..64, 0u32..12), 0..6).prop_map(|pairs| {
            Coverage::from_ranges(pairs.into_iter().map(|(s, l)| ChunkRange::new(s, s + l)))
        })
    }

    proptest! {
        #[test]
        fn operations_agree_with_a_set_model(a in arbitrary_coverage(), b in arbitrary_coverage()) {
            let (ma, mb) = (model(&a), model(&b));
            prop_assert_eq!(model(&a.union(&b)), ma.union(&mb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(model(&a.intersection(&b)), ma.intersection(&mb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(model(&a.difference(&b)), ma.difference(&mb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(a.is_disjoint(&b), ma.is_disjoint(&mb));
            prop_assert_eq!(a.is_subset(&b), ma.is_subset(&mb));
            prop_assert_eq!(a.chunk_count(), ma.len() as u64);
            // Results stay normalised: rebuilding from chunks gives the same value.
            let u = a.union(&b);
            prop_assert_eq!(Coverage::from_chunks(u.chunks()), u);
            let d = a.difference(&b);
            prop_assert_eq!(Coverage::from_chunks(d.chunks()), d);
        }
    }
}
