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
//! - [`local`]: the local transport, an actor that drives a phase's
//!   `PeerJob` over worker threads on this machine (`flowc run`).
//! - [`stage_worker`]: compiled stages as the local transport's workers,
//!   reading chunk bytes from a [`stage_worker::ChunkSource`].
//! - [`input`]: the job's inputs on the submitting peer: globs, chunk
//!   planning at record boundaries, and reading chunk bytes (IO).
//! - [`output`]: rendering finished values (`--format table|json|jsonl|csv`)
//!   and the atomic writers of `output … to "path"` (IO).
//! - [`params`]: `--param name=value` parsed by the declared types.
//! - [`host`]: the WebAssembly host (wasmtime): validates, compiles and
//!   caches stage and `extern fn` tool modules by content hash, and runs them
//!   sandboxed (no imports, bounded memory, a deadline per call) through the
//!   ABI of `docs/abi.md`. It does IO (threads, the disk cache) and is not
//!   part of the core.
//!
//! **Invariant: the core does no IO.** Nothing in `coverage`, `work`,
//! `policy`, `peer_job` or `rng` reads a clock, sleeps, spawns a thread,
//! opens a socket or file, or draws system randomness. Time arrives as a
//! value with every event, randomness from a seed in the configuration, and
//! merging through the driver's [`Merge`]. The same events therefore always
//! give the same commands, which is what lets the thread transport, the
//! libp2p transport and the simulator share one core, and lets a simulated
//! run replay exactly from its seed.
//!
//! **How a driver uses the core.** Create one [`PeerJob`] per phase per
//! peer, report the idle peers, start it, then loop: carry out each
//! [`Command`] and feed back what happened as an [`Event`] with the time.
//!
//! ```
//! use flow_executor::sim::ChunkListMerge;
//! use flow_executor::{Command, Event, JobConfig, Policy, PeerJob, Role, Work};
//!
//! let config = JobConfig {
//!     role: Role::Origin,
//!     depth: 0,
//!     policy: Policy::default(),
//!     local_slots: 1,
//!     capacity: 1.0,
//!     seed: 7,
//! };
//! let mut job = PeerJob::new(config, Work::from_sizes(&[10, 10, 10]));
//! let mut merge = ChunkListMerge;
//! job.handle(0, Event::PeersAvailable(Vec::new()), &mut merge);
//! let mut pending = job.handle(0, Event::Start, &mut merge);
//! let mut answer = None;
//! while let Some(command) = pending.pop() {
//!     match command {
//!         // A real driver runs the stage module here, on a worker thread.
//!         Command::RunLocal { task, chunks } => {
//!             let ids: Vec<u32> = chunks.chunks().map(|c| c.0).collect();
//!             let partial = ChunkListMerge::encode(&ids);
//!             pending.extend(job.handle(1, Event::LocalDone { task, partial }, &mut merge));
//!         }
//!         Command::Finished { partial } => answer = partial,
//!         _ => {}
//!     }
//! }
//! assert_eq!(answer, Some(ChunkListMerge::encode(&[0, 1, 2])));
//! ```

pub mod coverage;
pub mod host;
pub mod input;
pub mod local;
pub mod net;
pub mod output;
pub mod params;
pub mod peer_job;
pub mod policy;
pub mod rng;
pub mod sim;
pub mod stage_worker;
pub mod work;

pub use coverage::{ChunkId, ChunkRange, Coverage};
pub use peer_job::{
    Candidate, Command, Event, JobConfig, JobError, Merge, MergeError, Millis, Partial, PeerId,
    PeerJob, Role, Stats, TaskId,
};
pub use policy::{DelegatePredicate, DelegationContext, Policy, Select};
pub use work::Work;
