//! The Flow executor's scheduler core and its simulator.
//!
//! Modules:
//! - [`coverage`]: chunk ids and [`Coverage`], sets of chunk ranges with the
//!   union / intersection / difference / disjointness that exactly-once
//!   merging rests on.
//! - [`work`]: [`Work`], the chunks a peer holds with their sizes.
//! - [`policy`]: the §9 policy ([`Policy`], [`Select`], the `delegate when`
//!   predicate over a [`DelegationContext`]) and chunk splitting.
//! - [`peer_job`]: [`PeerJob`], the scheduler of one job phase on one peer,
//!   as a state machine: [`Event`]s in, [`Command`]s out.
//! - [`rng`]: a seeded generator, so choices made "at random" replay.
//! - [`sim`]: a deterministic discrete-event simulator that drives many
//!   `PeerJob`s with a virtual clock, peers of different speeds, latency and
//!   a seeded fault schedule.
//!
//! **Invariant: the core does no IO.** Nothing in `coverage`, `work`,
//! `policy`, `peer_job` or `rng` reads a clock, sleeps, spawns a thread,
//! opens a socket or file, or draws system randomness. Time arrives as a
//! value with every event, randomness from a seed in the configuration, and
//! merging through the driver's [`Merge`]. The same events therefore always
//! give the same commands, which is what lets the thread transport, the
//! libp2p transport and the simulator share one core, and lets a simulated
//! run replay exactly from its seed.

pub mod coverage;
pub mod peer_job;
pub mod policy;
pub mod rng;
pub mod sim;
pub mod work;

pub use coverage::{ChunkId, ChunkRange, Coverage};
pub use peer_job::{
    Candidate, Command, Event, JobConfig, JobError, Merge, MergeError, Millis, Partial, PeerId,
    PeerJob, Role, Stats, TaskId,
};
pub use policy::{DelegatePredicate, DelegationContext, Policy, Select};
pub use work::Work;
