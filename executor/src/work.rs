//! `Work`: the chunks one peer holds for a job phase, with their sizes.
//!
//! The scheduler needs sizes to weigh work (the `work` variable of
//! `delegate when`, and guided self-scheduling hands out pieces by size);
//! it never sees chunk contents. Sizes are bytes for text inputs and items
//! for `range()`.

use crate::coverage::{ChunkId, Coverage};

/// The chunks a peer holds, sorted by id, with prefix sums of their sizes so
/// the size of any coverage is a few binary searches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    ids: Vec<u32>,
    /// `prefix[i]` is the total size of the first `i` chunks of `ids`.
    prefix: Vec<u64>,
    coverage: Coverage,
}

impl Work {
    /// The given chunks with their sizes, in any order; a repeated id keeps
    /// its first size.
    pub fn new(chunks: impl IntoIterator<Item = (ChunkId, u64)>) -> Self {
        let mut pairs: Vec<(u32, u64)> = chunks.into_iter().map(|(c, s)| (c.0, s)).collect();
        // A stable sort keeps the first of repeated ids first, so dedup keeps it.
        pairs.sort_by_key(|&(id, _)| id);
        pairs.dedup_by_key(|&mut (id, _)| id);
        let mut prefix = Vec::with_capacity(pairs.len() + 1);
        let mut total = 0u64;
        prefix.push(0);
        for &(_, size) in &pairs {
            total = total.saturating_add(size);
            prefix.push(total);
        }
        let ids: Vec<u32> = pairs.iter().map(|&(id, _)| id).collect();
        let coverage = Coverage::from_chunks(ids.iter().map(|&id| ChunkId(id)));
        Work {
            ids,
            prefix,
            coverage,
        }
    }

    /// Chunks `0..sizes.len()` with the given sizes, as a whole phase at the
    /// origin.
    pub fn from_sizes(sizes: &[u64]) -> Self {
        Work::new(
            sizes
                .iter()
                .enumerate()
                .map(|(i, &s)| (ChunkId(u32::try_from(i).unwrap_or(u32::MAX)), s)),
        )
    }

    /// The chunks held.
    pub fn coverage(&self) -> &Coverage {
        &self.coverage
    }

    /// The sizes of the chunks of `coverage` that are held.
    pub fn size_of(&self, coverage: &Coverage) -> u64 {
        coverage
            .ranges()
            .iter()
            .map(|r| {
                let lo = self.ids.partition_point(|&id| id < r.start);
                let hi = self.ids.partition_point(|&id| id < r.end);
                self.prefix_at(hi) - self.prefix_at(lo)
            })
            .sum()
    }

    /// The size of chunk `chunk` (0 if it is not held).
    pub fn chunk_size(&self, chunk: ChunkId) -> u64 {
        self.size_of(&Coverage::range(chunk.0, chunk.0.saturating_add(1)))
    }

    /// The sizes of every held chunk of `coverage`, paired with its id.
    pub fn sizes_of(&self, coverage: &Coverage) -> Vec<(ChunkId, u64)> {
        coverage
            .chunks()
            .filter(|&c| self.coverage.contains(c))
            .map(|c| (c, self.chunk_size(c)))
            .collect()
    }

    /// The lowest chunks of `source`, in order, whose total size first
    /// reaches `target` (at least one chunk when `source` is not empty).
    pub fn take_prefix(&self, source: &Coverage, target: u64) -> Coverage {
        let mut taken = Vec::new();
        let mut total = 0u64;
        for range in source.ranges() {
            let lo = self.ids.partition_point(|&id| id < range.start);
            let hi = self.ids.partition_point(|&id| id < range.end);
            let base = self.prefix_at(lo);
            let need = target.saturating_sub(total);
            // The held chunks of the range are consecutive in `ids`; find
            // how many of them reach the size still needed.
            let within = self
                .prefix
                .get(lo + 1..=hi)
                .map_or(0, |p| p.partition_point(|&s| s - base < need));
            let count = (within + 1).min(hi - lo);
            if count == 0 {
                continue;
            }
            let end = self
                .ids
                .get(lo + count - 1)
                .map_or(range.start, |&id| id + 1);
            taken.push(crate::coverage::ChunkRange::new(range.start, end));
            total += self.prefix_at(lo + count) - base;
            if total >= target && !taken.is_empty() {
                break;
            }
        }
        Coverage::from_ranges(taken)
    }

    fn prefix_at(&self, index: usize) -> u64 {
        self.prefix.get(index).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_prefixes() {
        let w = Work::from_sizes(&[5, 1, 1, 10, 2]);
        assert_eq!(w.coverage(), &Coverage::range(0, 5));
        assert_eq!(w.size_of(&Coverage::range(1, 4)), 12);
        assert_eq!(w.size_of(&Coverage::range(3, 99)), 12);
        assert_eq!(w.chunk_size(ChunkId(3)), 10);
        assert_eq!(w.take_prefix(w.coverage(), 0), Coverage::range(0, 1));
        assert_eq!(w.take_prefix(w.coverage(), 5), Coverage::range(0, 1));
        assert_eq!(w.take_prefix(w.coverage(), 6), Coverage::range(0, 2));
        assert_eq!(w.take_prefix(w.coverage(), 8), Coverage::range(0, 4));
        assert_eq!(w.take_prefix(w.coverage(), 1000), Coverage::range(0, 5));
        let holes = Coverage::from_ranges([
            crate::coverage::ChunkRange::new(1, 2),
            crate::coverage::ChunkRange::new(3, 5),
        ]);
        assert_eq!(
            w.take_prefix(&holes, 2),
            Coverage::range(1, 2).union(&Coverage::range(3, 4))
        );
        assert!(w.take_prefix(&Coverage::empty(), 3).is_empty());
    }

    #[test]
    fn a_delegate_holds_a_sparse_subset() {
        let w = Work::new([
            (ChunkId(10), 3),
            (ChunkId(7), 2),
            (ChunkId(11), 4),
            (ChunkId(7), 9),
        ]);
        assert_eq!(
            w.coverage(),
            &Coverage::from_chunks([ChunkId(7), ChunkId(10), ChunkId(11)])
        );
        assert_eq!(w.size_of(&Coverage::range(0, 100)), 9);
        assert_eq!(
            w.take_prefix(w.coverage(), 4),
            Coverage::from_chunks([ChunkId(7), ChunkId(10)])
        );
        assert_eq!(
            w.sizes_of(&Coverage::range(9, 12)),
            vec![(ChunkId(10), 3), (ChunkId(11), 4)]
        );
    }
}
