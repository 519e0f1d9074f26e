//! The distribution policy of LANGUAGE.md §9 as the scheduler core sees it,
//! and the splitting of an input into chunks.
//!
//! The compiler turns a `policy { … }` block into a [`Policy`]; the
//! `delegate when` predicate arrives as a [`DelegatePredicate`], a closure
//! over a [`DelegationContext`], so the compiled predicate plugs in without
//! the core knowing any syntax.

use std::fmt;
use std::sync::Arc;

/// One MiB, the unit of the default thresholds.
pub const MIB: u64 = 1024 * 1024;

/// How a peer chooses among candidate children (`select = …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// The fastest candidates first (ties: lower peer id).
    Capacity,
    /// The candidates with the lowest round-trip latency first.
    Latency,
    /// Uniformly at random, from the job's seed.
    Random,
}

/// The variables `delegate when` may read, evaluated on a peer for the work
/// it still holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DelegationContext {
    /// Bytes (or items) not yet started on this peer.
    pub work: u64,
    /// Chunks not yet started on this peer.
    pub chunks: u64,
    /// Depth of this peer in the job's tree; the origin is 0.
    pub depth: u32,
    /// Idle peers this one can reach.
    pub peers: u64,
    /// This peer's speed relative to the known peers (1.0 = their average).
    pub capacity: f64,
}

/// The compiled `delegate when` predicate. Cloning shares the closure.
#[derive(Clone)]
pub struct DelegatePredicate(Arc<dyn Fn(&DelegationContext) -> bool + Send + Sync>);

impl DelegatePredicate {
    /// A predicate from a closure.
    pub fn new(predicate: impl Fn(&DelegationContext) -> bool + Send + Sync + 'static) -> Self {
        DelegatePredicate(Arc::new(predicate))
    }

    /// The default when a policy sets no rule (docs/language.md):
    /// `chunks > 1 and peers > 0`, so any work worth splitting spreads.
    pub fn default_rule() -> Self {
        DelegatePredicate::new(|c| c.chunks > 1 && c.peers > 0)
    }

    /// Evaluates the predicate.
    pub fn holds(&self, context: &DelegationContext) -> bool {
        (self.0)(context)
    }
}

impl fmt::Debug for DelegatePredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DelegatePredicate(..)")
    }
}

/// The policy of one job, with the defaults of LANGUAGE.md §9.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Chunk size: bytes for text inputs, items for `range()`.
    pub split: u64,
    /// At most this many children working at once for one peer.
    pub fanout: u32,
    /// At most this many levels below the origin (0: no delegation).
    pub depth: u32,
    /// Whether a peer delegates the work it holds.
    pub delegate_when: DelegatePredicate,
    /// Which candidates become children.
    pub select: Select,
    /// Re-delegations of a chunk after its subtree was lost or timed out;
    /// beyond that its chunks are computed locally.
    pub retries: u32,
    /// A subtree silent this long (milliseconds) counts as lost.
    pub timeout_ms: u64,
    /// Run each piece on this many distinct workers and compare the partial
    /// bytes (1..=3; values outside are clamped).
    pub replicate: u8,
    /// Whether idle workers re-run a slow outstanding subtree once all work
    /// is handed out. Not a language key: a driver switch, on by default.
    pub speculate: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            split: 4 * MIB,
            fanout: 8,
            depth: 3,
            delegate_when: DelegatePredicate::default_rule(),
            select: Select::Capacity,
            retries: 2,
            timeout_ms: 60_000,
            replicate: 1,
            speculate: true,
        }
    }
}

impl Policy {
    /// `replicate` clamped to the supported 1..=3.
    pub fn replicas(&self) -> usize {
        usize::from(self.replicate.clamp(1, 3))
    }
}

/// Splits `total` units (bytes or items) into chunk sizes of `split` units,
/// the last one shorter. A `split` of 0 is treated as 1. Text inputs whose
/// chunks must end on a line end are split by the reader instead, which
/// then hands the core the actual sizes.
pub fn uniform_chunks(total: u64, split: u64) -> Vec<u64> {
    let split = split.max(1);
    let mut sizes = Vec::new();
    let mut left = total;
    while left > 0 {
        let size = left.min(split);
        sizes.push(size);
        left -= size;
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_chunks_cover_the_total() {
        assert_eq!(uniform_chunks(10, 4), vec![4, 4, 2]);
        assert_eq!(uniform_chunks(8, 4), vec![4, 4]);
        assert!(uniform_chunks(0, 4).is_empty());
        assert_eq!(uniform_chunks(3, 0), vec![1, 1, 1]);
    }

    #[test]
    fn default_predicate_matches_the_language_default() {
        let p = Policy::default();
        let mut c = DelegationContext {
            work: 33 * MIB,
            chunks: 9,
            depth: 0,
            peers: 1,
            capacity: 1.0,
        };
        assert!(p.delegate_when.holds(&c));
        c.peers = 0;
        assert!(!p.delegate_when.holds(&c));
        c.peers = 3;
        c.chunks = 1;
        assert!(!p.delegate_when.holds(&c));
        assert_eq!(p.replicas(), 1);
        assert_eq!(
            Policy {
                replicate: 9,
                ..Policy::default()
            }
            .replicas(),
            3
        );
    }
}
