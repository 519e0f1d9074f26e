//! `PeerJob`: the scheduler of one job phase on one peer, as a sans-IO state
//! machine.
//!
//! A driver (the local thread transport, the libp2p transport, the
//! simulator) creates one `PeerJob` per phase per peer taking part: the
//! origin holds the whole phase, a delegate holds the chunks its parent gave
//! it. The driver feeds [`Event`]s with the current time to
//! [`PeerJob::handle`] and carries out the [`Command`]s it returns. Nothing
//! here reads a clock, spawns a thread, touches a socket or draws system
//! randomness, so the same inputs always give the same outputs.
//!
//! **One instance per phase.** A later phase needs the finished value of an
//! earlier one, which only exists at the origin after the final step; the
//! next phase's chunks, code and even the set of idle peers differ. So the
//! driver sequences phases and starts a fresh `PeerJob` (and a fresh tree)
//! for each; the core stays small and every instance has one goal: one
//! partial covering exactly its assignment.
//!
//! **How work is handed out.** Unstarted chunks sit in a pool. Whenever a
//! worker is free (a local slot, or an idle candidate peer while fewer than
//! `fanout` children work), it receives a *piece*: the lowest pool chunks
//! whose size reaches `pool size × worker capacity ÷ total capacity`
//! (guided self-scheduling: pieces shrink as the pool drains, a worker that
//! finishes early simply gets the next piece, so this peer keeps a share in
//! proportion to its capacity). Delegation happens only below the policy's
//! depth and when `delegate when` holds. Once the pool is empty, free
//! workers may *speculate*: re-run an outstanding delegated piece; whichever
//! copy finishes first is merged and the other cancelled.
//!
//! **Exactly once.** Every merged partial's coverage is added to `held`; a
//! partial is merged only if its coverage is disjoint from `held`, otherwise
//! it is dropped and counted as a duplicate. Lost or timed-out runs put
//! their chunks back into the pool; a late partial of a lost run is still
//! merged if it comes first, and the runs it makes redundant are cancelled.
//!
//! **Failures.** A run-time error in a chunk (local or reported by a child)
//! fails the job: it is deterministic, so retrying elsewhere cannot help. A
//! lost peer, a rejection or a timeout only puts work back; a chunk lost more
//! than `retries` times is no longer delegated and is computed locally. The
//! job fails with [`JobError::NoWorkers`] only when this peer has no local
//! slot and nobody to delegate to for a whole `timeout`.
//!
//! **Replication.** With `replicate = r > 1` the origin runs each piece on
//! `r` distinct workers and merges it only when all `r` partials are equal
//! byte for byte; a difference fails the job with
//! [`JobError::ReplicaMismatch`]. Delegates run their share once (checking
//! at every level would multiply the work by `r` per level). When nothing is
//! in flight and no distinct worker is left, a piece is accepted on the
//! replicas that did arrive: replication is best effort in a small swarm.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::coverage::{ChunkId, Coverage};
use crate::policy::{DelegationContext, Policy, Select};
use crate::rng::SplitMix64;
use crate::work::Work;

/// Milliseconds since an epoch the driver chooses (virtual time in the
/// simulator, a monotonic clock in real transports).
pub type Millis = u64;

/// A partial result: opaque bytes produced by a stage module.
pub type Partial = Vec<u8>;

/// The identity of a peer as the driver knows it (the driver maps it to a
/// libp2p peer id, a thread index, a simulated peer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub u64);

/// One run of a piece of work on one worker, unique within a `PeerJob`.
/// Events about a run name it, so a peer given two pieces in turn is never
/// confused with itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub u64);

/// A peer that could become a child, as the driver reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Who.
    pub peer: PeerId,
    /// Its speed, in the same unit as [`JobConfig::capacity`].
    pub capacity: f64,
    /// Its measured round-trip latency.
    pub latency_ms: u64,
}

/// Whether this instance is the root of the job's tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Holds the whole phase and ends with [`Command::Finished`].
    Origin,
    /// Holds what its parent gave it and ends with [`Command::SendPartialUp`].
    Delegate,
}

/// Everything a `PeerJob` is created with.
#[derive(Debug, Clone)]
pub struct JobConfig {
    /// Origin or delegate.
    pub role: Role,
    /// Depth of this peer in the tree (origin 0).
    pub depth: u32,
    /// The job's policy.
    pub policy: Policy,
    /// How many pieces this peer computes at once (0: it only delegates).
    pub local_slots: u32,
    /// This peer's speed, in the unit candidates report theirs.
    pub capacity: f64,
    /// Seed of the choices made at random (`select = random`).
    pub seed: u64,
}

/// Why a job failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// A stage failed on a chunk (a bad record, a division by zero...).
    Runtime {
        /// The chunk it failed on.
        chunk: ChunkId,
        /// The stage's message.
        message: String,
    },
    /// The merge of two partials failed.
    Merge {
        /// The merge's message.
        message: String,
    },
    /// Replicas of the same piece returned different bytes.
    ReplicaMismatch {
        /// The chunks of that piece.
        coverage: Coverage,
    },
    /// Nobody could compute these chunks: no local slot, and no peer to
    /// delegate to for a whole timeout.
    NoWorkers {
        /// The chunks left without a result.
        missing: Coverage,
    },
    /// A delegate was created with no chunk to compute.
    EmptyAssignment,
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Runtime { chunk, message } => {
                write!(f, "run-time error in chunk {}: {message}", chunk.0)
            }
            JobError::Merge { message } => write!(f, "merging partial results failed: {message}"),
            JobError::ReplicaMismatch { coverage } => write!(
                f,
                "replicas disagree on chunks {coverage:?}: a peer returned a wrong result"
            ),
            JobError::NoWorkers { missing } => write!(
                f,
                "no peer left to compute chunks {missing:?} and this peer computes nothing itself"
            ),
            JobError::EmptyAssignment => write!(f, "a delegate was given no chunk to compute"),
        }
    }
}

impl std::error::Error for JobError {}

/// A failed merge, as the driver's [`Merge`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeError(pub String);

/// The merge of two partial results, provided by the driver: the stage
/// module's merge export in production, a simple sum or multiset union in
/// the simulator. It must be associative and commutative; the core merges
/// in arrival order and guarantees the two partials cover disjoint chunks.
pub trait Merge {
    /// Combines two partials into one.
    fn merge(&mut self, left: Partial, right: Partial) -> Result<Partial, MergeError>;
}

/// What happened, as the driver tells the core. Every event comes with the
/// current time (an argument of [`PeerJob::handle`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Begin scheduling.
    Start,
    /// The idle peers this one can reach now; replaces the previous list.
    PeersAvailable(Vec<Candidate>),
    /// A child accepted a [`Command::Delegate`].
    ChildAccepted { task: TaskId },
    /// A child declined a [`Command::Delegate`] (busy); its piece goes back.
    ChildRejected { task: TaskId },
    /// A child is still working (a heartbeat); resets its timeout.
    ChildAlive { task: TaskId },
    /// A child's one partial, covering exactly what it was given.
    PartialFromChild {
        task: TaskId,
        coverage: Coverage,
        partial: Partial,
    },
    /// A child's subtree hit a run-time error: the job fails with it.
    ChildFailed { task: TaskId, error: JobError },
    /// The connection to a peer is gone: every run on it is lost.
    PeerLost { peer: PeerId },
    /// A [`Command::RunLocal`] finished.
    LocalDone { task: TaskId, partial: Partial },
    /// A [`Command::RunLocal`] hit a run-time error on `chunk`.
    LocalFailed {
        task: TaskId,
        chunk: ChunkId,
        message: String,
    },
    /// A timer armed with [`Command::ArmTimer`] fired (or any wake-up).
    Tick,
    /// The parent cancelled this instance: stop everything, report nothing.
    Cancel,
}

/// What the core asks the driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Compute these chunks here and answer with `LocalDone` or
    /// `LocalFailed`.
    RunLocal { task: TaskId, chunks: Coverage },
    /// Stop a local run whose result is no longer needed; the core already
    /// forgot it, and a result that still arrives is ignored.
    CancelLocal { task: TaskId },
    /// Ask `peer` to compute `chunks` as a delegate at `depth`; answers come
    /// as `ChildAccepted`/`ChildRejected`, `ChildAlive`, and finally
    /// `PartialFromChild` or `ChildFailed`.
    Delegate {
        task: TaskId,
        peer: PeerId,
        chunks: Coverage,
        depth: u32,
    },
    /// Tell a child to drop a run; the core already forgot it.
    CancelChild { task: TaskId, peer: PeerId },
    /// A delegate's one result for its parent.
    SendPartialUp {
        coverage: Coverage,
        partial: Partial,
    },
    /// The origin's merged result (`None` when the phase has no chunk).
    Finished { partial: Option<Partial> },
    /// The job failed; a delegate sends this to its parent as
    /// `ChildFailed`, the origin reports it.
    Failed { error: JobError },
    /// Deliver `Tick` at time `at` (earlier timers may be dropped).
    ArmTimer { at: Millis },
}

/// Counters for tests, progress display and the record of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Partials merged into the held result.
    pub merged: u64,
    /// Partials dropped because their chunks were already held.
    pub duplicates_dropped: u64,
    /// Partials of lost runs that arrived late and were still merged.
    pub late_merged: u64,
    /// Events about unknown or finished runs, ignored.
    pub stale_events: u64,
    /// Runs lost to a peer loss, a timeout or a malformed answer.
    pub runs_lost: u64,
    /// Delegations declined by the chosen peer.
    pub rejections: u64,
    /// Delegate commands issued.
    pub delegations: u64,
    /// Local runs issued.
    pub local_runs: u64,
    /// Extra runs of a piece started to overtake a slow one.
    pub speculative_runs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Worker {
    Local,
    Peer(PeerId),
}

#[derive(Debug, Clone)]
struct Run {
    piece: u64,
    worker: Worker,
    started: Millis,
    last_heard: Millis,
}

#[derive(Debug, Clone)]
struct Piece {
    coverage: Coverage,
    runs: Vec<TaskId>,
    tried: Vec<Worker>,
    results: Vec<Partial>,
    wanted: usize,
    speculated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Created,
    Running,
    Done,
}

/// The scheduler of one job phase on one peer. See the module docs.
#[derive(Debug)]
pub struct PeerJob {
    config: JobConfig,
    work: Work,
    state: State,
    /// Chunks not handed to any worker.
    pool: Coverage,
    /// Chunks whose result is merged into `result`.
    held: Coverage,
    result: Option<Partial>,
    pieces: BTreeMap<u64, Piece>,
    runs: BTreeMap<TaskId, Run>,
    /// Delegated runs no longer tracked (lost, cancelled or finished) with
    /// their coverage, so a late partial can still be used or is recognised
    /// as a duplicate.
    retired: BTreeMap<TaskId, Coverage>,
    candidates: Vec<Candidate>,
    /// Peers declined or timed out since the last `PeersAvailable`.
    benched: BTreeSet<PeerId>,
    lost_peers: BTreeSet<PeerId>,
    /// `losses[k]` holds the chunks lost more than `k` times; the last level
    /// is the chunks that are no longer delegated.
    losses: Vec<Coverage>,
    stuck_since: Option<Millis>,
    armed: Option<Millis>,
    next_task: u64,
    next_piece: u64,
    rng: SplitMix64,
    stats: Stats,
}

impl PeerJob {
    /// A scheduler for `work` (the whole phase at the origin, the assignment
    /// at a delegate). Nothing happens before [`Event::Start`].
    pub fn new(config: JobConfig, work: Work) -> Self {
        let levels = usize::try_from(config.policy.retries)
            .unwrap_or(usize::MAX)
            .saturating_add(1)
            .min(64);
        let rng = SplitMix64::new(config.seed);
        PeerJob {
            pool: work.coverage().clone(),
            config,
            work,
            state: State::Created,
            held: Coverage::empty(),
            result: None,
            pieces: BTreeMap::new(),
            runs: BTreeMap::new(),
            retired: BTreeMap::new(),
            candidates: Vec::new(),
            benched: BTreeSet::new(),
            lost_peers: BTreeSet::new(),
            losses: vec![Coverage::empty(); levels],
            stuck_since: None,
            armed: None,
            next_task: 0,
            next_piece: 0,
            rng,
            stats: Stats::default(),
        }
    }

    /// The chunks this instance must cover.
    pub fn assignment(&self) -> &Coverage {
        self.work.coverage()
    }

    /// The chunks whose result is merged so far.
    pub fn held(&self) -> &Coverage {
        &self.held
    }

    /// Whether the instance has finished, failed or been cancelled.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The configuration it was created with.
    pub fn config(&self) -> &JobConfig {
        &self.config
    }

    /// Feeds one event at time `now` and returns the commands to carry out,
    /// in order.
    pub fn handle(&mut self, now: Millis, event: Event, merge: &mut dyn Merge) -> Vec<Command> {
        let mut out = Vec::new();
        if self.state == State::Done {
            self.stats.stale_events += 1;
            return out;
        }
        if self.armed.is_some_and(|at| at <= now) {
            self.armed = None;
        }
        let outcome = self.apply(now, event, merge, &mut out);
        match outcome {
            Err(error) => self.fail(error, &mut out),
            Ok(()) if self.state == State::Running => {
                if let Err(error) = self.step(now, merge, &mut out) {
                    self.fail(error, &mut out);
                }
            }
            Ok(()) => {}
        }
        out
    }

    fn apply(
        &mut self,
        now: Millis,
        event: Event,
        merge: &mut dyn Merge,
        out: &mut Vec<Command>,
    ) -> Result<(), JobError> {
        if self.state == State::Created {
            match event {
                Event::Start => {
                    if self.config.role == Role::Delegate && self.work.coverage().is_empty() {
                        return Err(JobError::EmptyAssignment);
                    }
                    self.state = State::Running;
                }
                Event::PeersAvailable(list) => self.set_candidates(list),
                Event::Cancel => self.state = State::Done,
                _ => self.stats.stale_events += 1,
            }
            return Ok(());
        }
        match event {
            Event::Start => self.stats.stale_events += 1,
            Event::PeersAvailable(list) => self.set_candidates(list),
            Event::ChildAccepted { task } | Event::ChildAlive { task } => {
                match self.runs.get_mut(&task) {
                    Some(run) => run.last_heard = now,
                    None => self.stats.stale_events += 1,
                }
            }
            Event::ChildRejected { task } => match self.runs.remove(&task) {
                Some(run) => {
                    self.stats.rejections += 1;
                    if let Worker::Peer(peer) = run.worker {
                        self.benched.insert(peer);
                    }
                    if let Some(piece) = self.pieces.get_mut(&run.piece) {
                        piece.runs.retain(|&t| t != task);
                        piece.tried.retain(|&w| w != run.worker);
                    }
                    self.settle_piece(run.piece);
                }
                None => self.stats.stale_events += 1,
            },
            Event::PartialFromChild {
                task,
                coverage,
                partial,
            } => self.on_child_partial(task, coverage, partial, merge, out)?,
            Event::ChildFailed { task, error } => {
                if self.runs.contains_key(&task) || self.retired.contains_key(&task) {
                    return Err(error);
                }
                self.stats.stale_events += 1;
            }
            Event::PeerLost { peer } => {
                self.lost_peers.insert(peer);
                self.candidates.retain(|c| c.peer != peer);
                let tasks: Vec<TaskId> = self
                    .runs
                    .iter()
                    .filter(|(_, r)| r.worker == Worker::Peer(peer))
                    .map(|(&t, _)| t)
                    .collect();
                for task in tasks {
                    self.lose_run(task, out);
                }
            }
            Event::LocalDone { task, partial } => match self.runs.get(&task) {
                Some(run) if run.worker == Worker::Local => {
                    self.finish_run(task, partial, merge, out)?;
                }
                _ => self.stats.stale_events += 1,
            },
            Event::LocalFailed {
                task,
                chunk,
                message,
            } => {
                if self
                    .runs
                    .get(&task)
                    .is_some_and(|r| r.worker == Worker::Local)
                {
                    // The run is over; only the others need cancelling.
                    self.runs.remove(&task);
                    return Err(JobError::Runtime { chunk, message });
                }
                self.stats.stale_events += 1;
            }
            Event::Tick => {
                let timeout = self.config.policy.timeout_ms;
                let expired: Vec<TaskId> = self
                    .runs
                    .iter()
                    .filter(|(_, r)| {
                        matches!(r.worker, Worker::Peer(_))
                            && now >= r.last_heard.saturating_add(timeout)
                    })
                    .map(|(&t, _)| t)
                    .collect();
                for task in expired {
                    if let Some(Worker::Peer(peer)) = self.runs.get(&task).map(|r| r.worker) {
                        self.benched.insert(peer);
                    }
                    self.lose_run(task, out);
                }
            }
            Event::Cancel => {
                self.cancel_all(out);
                self.state = State::Done;
            }
        }
        Ok(())
    }

    fn set_candidates(&mut self, list: Vec<Candidate>) {
        let mut list: Vec<Candidate> = list
            .into_iter()
            .filter(|c| !self.lost_peers.contains(&c.peer) && c.capacity.is_finite())
            .collect();
        list.sort_by_key(|c| c.peer);
        list.dedup_by_key(|c| c.peer);
        // A fresh report clears the bench: a peer listed idle again may be
        // asked again.
        self.benched
            .retain(|p| list.binary_search_by_key(p, |c| c.peer).is_err());
        self.candidates = list;
    }

    fn on_child_partial(
        &mut self,
        task: TaskId,
        coverage: Coverage,
        partial: Partial,
        merge: &mut dyn Merge,
        out: &mut Vec<Command>,
    ) -> Result<(), JobError> {
        if let Some(run) = self.runs.get(&task) {
            let expected = self.pieces.get(&run.piece).map(|p| &p.coverage);
            if expected != Some(&coverage) {
                // A child must answer for exactly what it was given; anything
                // else is a broken peer, treated like a lost one and not
                // asked again until a fresh report lists it.
                if let Worker::Peer(peer) = run.worker {
                    self.benched.insert(peer);
                }
                self.lose_run(task, out);
                return Ok(());
            }
            return self.finish_run(task, partial, merge, out);
        }
        match self.retired.get(&task) {
            Some(given)
                if *given == coverage
                    && coverage.is_disjoint(&self.held)
                    && coverage.is_subset(self.work.coverage())
                    && self.replicas() == 1 =>
            {
                // A lost run answered after all, before its replacement did.
                self.absorb(&coverage, partial, merge, out)?;
                self.stats.late_merged += 1;
            }
            Some(_) => self.stats.duplicates_dropped += 1,
            None => self.stats.stale_events += 1,
        }
        Ok(())
    }

    /// Records a run's result on its piece and merges the piece when it has
    /// all the replicas it wants.
    fn finish_run(
        &mut self,
        task: TaskId,
        partial: Partial,
        merge: &mut dyn Merge,
        out: &mut Vec<Command>,
    ) -> Result<(), JobError> {
        let Some(run) = self.runs.remove(&task) else {
            return Ok(());
        };
        if let Some(coverage) = self.pieces.get(&run.piece).map(|p| p.coverage.clone())
            && matches!(run.worker, Worker::Peer(_))
        {
            self.retired.insert(task, coverage);
        }
        let Some(piece) = self.pieces.get_mut(&run.piece) else {
            self.stats.duplicates_dropped += 1;
            return Ok(());
        };
        piece.runs.retain(|&t| t != task);
        piece.results.push(partial);
        if piece.results.len() >= piece.wanted {
            self.complete_piece(run.piece, merge, out)?;
        }
        Ok(())
    }

    /// Compares a piece's replicas, merges it and cancels its other runs.
    fn complete_piece(
        &mut self,
        id: u64,
        merge: &mut dyn Merge,
        out: &mut Vec<Command>,
    ) -> Result<(), JobError> {
        let Some(piece) = self.pieces.remove(&id) else {
            return Ok(());
        };
        for task in &piece.runs {
            self.cancel_run(*task, out);
        }
        let mut results = piece.results.into_iter();
        let Some(first) = results.next() else {
            self.pool = self.pool.union(&piece.coverage.difference(&self.held));
            return Ok(());
        };
        if results.any(|other| other != first) {
            return Err(JobError::ReplicaMismatch {
                coverage: piece.coverage,
            });
        }
        if !piece.coverage.is_disjoint(&self.held) {
            // A late partial already brought some of these chunks; the rest
            // goes back to the pool.
            self.stats.duplicates_dropped += 1;
            self.pool = self.pool.union(&piece.coverage.difference(&self.held));
            return Ok(());
        }
        self.merge_in(&piece.coverage, first, merge)
    }

    /// Merges a partial that arrived outside of a live piece, and cancels
    /// the work it makes redundant.
    fn absorb(
        &mut self,
        coverage: &Coverage,
        partial: Partial,
        merge: &mut dyn Merge,
        out: &mut Vec<Command>,
    ) -> Result<(), JobError> {
        self.merge_in(coverage, partial, merge)?;
        self.pool = self.pool.difference(coverage);
        let overlapping: Vec<u64> = self
            .pieces
            .iter()
            .filter(|(_, p)| !p.coverage.is_disjoint(coverage))
            .map(|(&id, _)| id)
            .collect();
        for id in overlapping {
            if let Some(piece) = self.pieces.remove(&id) {
                for task in &piece.runs {
                    self.cancel_run(*task, out);
                }
                self.pool = self.pool.union(&piece.coverage.difference(&self.held));
            }
        }
        Ok(())
    }

    fn merge_in(
        &mut self,
        coverage: &Coverage,
        partial: Partial,
        merge: &mut dyn Merge,
    ) -> Result<(), JobError> {
        let merged = match self.result.take() {
            None => partial,
            Some(held) => merge
                .merge(held, partial)
                .map_err(|e| JobError::Merge { message: e.0 })?,
        };
        self.result = Some(merged);
        self.held = self.held.union(coverage);
        self.stats.merged += 1;
        Ok(())
    }

    /// Forgets a run that will not answer, counts the loss against its
    /// chunks and puts the piece back if nothing else runs it.
    fn lose_run(&mut self, task: TaskId, out: &mut Vec<Command>) {
        let Some(run) = self.runs.remove(&task) else {
            return;
        };
        self.stats.runs_lost += 1;
        if let Worker::Peer(peer) = run.worker {
            out.push(Command::CancelChild { task, peer });
        }
        if let Some(piece) = self.pieces.get_mut(&run.piece) {
            piece.runs.retain(|&t| t != task);
            let lost = piece.coverage.difference(&self.held);
            if matches!(run.worker, Worker::Peer(_)) {
                self.retired.insert(task, piece.coverage.clone());
            }
            self.count_loss(&lost);
        }
        self.settle_piece(run.piece);
    }

    /// Raises the loss count of `lost` by one.
    fn count_loss(&mut self, lost: &Coverage) {
        for k in (1..self.losses.len()).rev() {
            let promoted = self.losses[k - 1].intersection(lost);
            self.losses[k] = self.losses[k].union(&promoted);
        }
        if let Some(first) = self.losses.first_mut() {
            *first = first.union(lost);
        }
    }

    /// Chunks that are no longer delegated: lost more than `retries` times.
    fn local_only(&self) -> &Coverage {
        static EMPTY: Coverage = Coverage::empty();
        self.losses.last().unwrap_or(&EMPTY)
    }

    /// A piece nobody runs any more and with no result returns to the pool.
    fn settle_piece(&mut self, id: u64) {
        let dissolve = self
            .pieces
            .get(&id)
            .is_some_and(|p| p.runs.is_empty() && p.results.is_empty());
        if dissolve && let Some(piece) = self.pieces.remove(&id) {
            self.pool = self.pool.union(&piece.coverage.difference(&self.held));
        }
    }

    fn cancel_run(&mut self, task: TaskId, out: &mut Vec<Command>) {
        if let Some(run) = self.runs.remove(&task) {
            match run.worker {
                Worker::Local => out.push(Command::CancelLocal { task }),
                Worker::Peer(peer) => {
                    if let Some(piece) = self.pieces.get(&run.piece) {
                        self.retired.insert(task, piece.coverage.clone());
                    }
                    out.push(Command::CancelChild { task, peer });
                }
            }
        }
    }

    fn cancel_all(&mut self, out: &mut Vec<Command>) {
        let tasks: Vec<TaskId> = self.runs.keys().copied().collect();
        for task in tasks {
            self.cancel_run(task, out);
        }
    }

    fn fail(&mut self, error: JobError, out: &mut Vec<Command>) {
        self.cancel_all(out);
        self.state = State::Done;
        out.push(Command::Failed { error });
    }

    fn replicas(&self) -> usize {
        if self.config.role == Role::Origin {
            self.config.policy.replicas()
        } else {
            1
        }
    }

    /// After every event: hand out work, finish if everything is held, watch
    /// for being stuck, and keep the timer armed.
    fn step(
        &mut self,
        now: Millis,
        merge: &mut dyn Merge,
        out: &mut Vec<Command>,
    ) -> Result<(), JobError> {
        self.schedule(now, out);
        if self.runs.is_empty() && self.pool.is_empty() {
            // Pieces still waiting for replicas cannot get them from anyone:
            // accept what arrived.
            let waiting: Vec<u64> = self.pieces.keys().copied().collect();
            for id in waiting {
                if let Some(piece) = self.pieces.get_mut(&id) {
                    piece.wanted = piece.results.len().max(1);
                }
                self.complete_piece(id, merge, out)?;
            }
            self.schedule(now, out);
        }
        if self.held == *self.work.coverage() && self.runs.is_empty() {
            let partial = self.result.take();
            self.state = State::Done;
            match (self.config.role, partial) {
                (Role::Origin, partial) => out.push(Command::Finished { partial }),
                (Role::Delegate, Some(partial)) => out.push(Command::SendPartialUp {
                    coverage: self.work.coverage().clone(),
                    partial,
                }),
                (Role::Delegate, None) => return Err(JobError::EmptyAssignment),
            }
            return Ok(());
        }
        if self.runs.is_empty() {
            let missing = self.work.coverage().difference(&self.held);
            if self.config.local_slots == 0 && !self.local_only().is_disjoint(&self.pool) {
                return Err(JobError::NoWorkers { missing });
            }
            let since = *self.stuck_since.get_or_insert(now);
            let deadline = since.saturating_add(self.config.policy.timeout_ms);
            if now >= deadline {
                return Err(JobError::NoWorkers { missing });
            }
        } else {
            self.stuck_since = None;
        }
        self.arm_timer(out);
        Ok(())
    }

    fn arm_timer(&mut self, out: &mut Vec<Command>) {
        let timeout = self.config.policy.timeout_ms;
        let run_deadline = self
            .runs
            .values()
            .filter(|r| matches!(r.worker, Worker::Peer(_)))
            .map(|r| r.last_heard.saturating_add(timeout))
            .min();
        let stuck_deadline = self.stuck_since.map(|s| s.saturating_add(timeout));
        let next = match (run_deadline, stuck_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(at) = next
            && self.armed.is_none_or(|armed| at < armed)
        {
            self.armed = Some(at);
            out.push(Command::ArmTimer { at });
        }
    }

    fn can_delegate(&self) -> bool {
        self.config.depth < self.config.policy.depth
    }

    fn active_children(&self) -> usize {
        let mut peers: Vec<PeerId> = self
            .runs
            .values()
            .filter_map(|r| match r.worker {
                Worker::Peer(p) => Some(p),
                Worker::Local => None,
            })
            .collect();
        peers.sort();
        peers.dedup();
        peers.len()
    }

    fn busy_local_slots(&self) -> usize {
        self.runs
            .values()
            .filter(|r| r.worker == Worker::Local)
            .count()
    }

    fn idle_candidates(&self) -> Vec<Candidate> {
        self.candidates
            .iter()
            .filter(|c| {
                !self.benched.contains(&c.peer)
                    && !self.runs.values().any(|r| r.worker == Worker::Peer(c.peer))
            })
            .copied()
            .collect()
    }

    fn choose_candidate(&mut self, idle: &[Candidate]) -> Option<Candidate> {
        match self.config.policy.select {
            Select::Capacity => idle
                .iter()
                .copied()
                .max_by(|a, b| a.capacity.total_cmp(&b.capacity).then(b.peer.cmp(&a.peer))),
            Select::Latency => idle
                .iter()
                .copied()
                .min_by(|a, b| a.latency_ms.cmp(&b.latency_ms).then(a.peer.cmp(&b.peer))),
            Select::Random => {
                let index = self.rng.below(idle.len() as u64);
                idle.get(usize::try_from(index).unwrap_or(0)).copied()
            }
        }
    }

    /// The capacity of every worker that could take work now: local slots,
    /// working children, and idle candidates up to the fanout.
    fn total_capacity(&self, idle: &[Candidate]) -> f64 {
        let mut total = if self.config.local_slots > 0 {
            self.config.capacity.max(0.0)
        } else {
            0.0
        };
        let working: BTreeSet<PeerId> = self
            .runs
            .values()
            .filter_map(|r| match r.worker {
                Worker::Peer(p) => Some(p),
                Worker::Local => None,
            })
            .collect();
        for peer in &working {
            if let Some(c) = self.candidates.iter().find(|c| c.peer == *peer) {
                total += c.capacity.max(0.0);
            }
        }
        if self.can_delegate() {
            let room = (self.config.policy.fanout as usize).saturating_sub(working.len());
            let mut caps: Vec<f64> = idle.iter().map(|c| c.capacity.max(0.0)).collect();
            caps.sort_by(|a, b| b.total_cmp(a));
            total += caps.iter().take(room).sum::<f64>();
        }
        total
    }

    /// A guided self-scheduling piece of `source` for a worker of capacity
    /// `capacity`.
    fn gss_piece(&self, source: &Coverage, capacity: f64, total: f64) -> Coverage {
        let pool_size = self.work.size_of(source) as f64;
        let share = if total > 0.0 {
            (capacity.max(0.0) / total).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let target = (pool_size * share).ceil() as u64;
        self.work.take_prefix(source, target)
    }

    fn start_piece(&mut self, coverage: Coverage) -> u64 {
        self.pool = self.pool.difference(&coverage);
        let id = self.next_piece;
        self.next_piece += 1;
        self.pieces.insert(
            id,
            Piece {
                coverage,
                runs: Vec::new(),
                tried: Vec::new(),
                results: Vec::new(),
                wanted: self.replicas(),
                speculated: false,
            },
        );
        id
    }

    fn start_run(&mut self, now: Millis, piece_id: u64, worker: Worker, out: &mut Vec<Command>) {
        let task = TaskId(self.next_task);
        self.next_task += 1;
        let Some(piece) = self.pieces.get_mut(&piece_id) else {
            return;
        };
        piece.runs.push(task);
        piece.tried.push(worker);
        let chunks = piece.coverage.clone();
        self.runs.insert(
            task,
            Run {
                piece: piece_id,
                worker,
                started: now,
                last_heard: now,
            },
        );
        match worker {
            Worker::Local => {
                self.stats.local_runs += 1;
                out.push(Command::RunLocal { task, chunks });
            }
            Worker::Peer(peer) => {
                self.stats.delegations += 1;
                out.push(Command::Delegate {
                    task,
                    peer,
                    chunks,
                    depth: self.config.depth + 1,
                });
            }
        }
    }

    /// A piece that still needs a replica and that `worker` has not run.
    fn replica_need(&self, worker: Worker) -> Option<u64> {
        let local_only = self.local_only();
        self.pieces
            .iter()
            .find(|(_, p)| {
                p.results.len() + p.runs.len() < p.wanted
                    && !p.tried.contains(&worker)
                    && (worker == Worker::Local || p.coverage.is_disjoint(local_only))
            })
            .map(|(&id, _)| id)
    }

    /// The oldest outstanding piece worth a second run on `worker`.
    fn speculation_target(&self, worker: Worker) -> Option<u64> {
        if !self.config.policy.speculate || self.replicas() > 1 || !self.pool.is_empty() {
            return None;
        }
        self.pieces
            .iter()
            .filter(|(_, p)| {
                !p.speculated
                    && p.results.is_empty()
                    && p.runs.len() == 1
                    && !p.tried.contains(&worker)
            })
            .filter_map(|(&id, p)| {
                let run = p.runs.first().and_then(|t| self.runs.get(t))?;
                Some((run.started, id))
            })
            .min()
            .map(|(_, id)| id)
    }

    fn delegation_context(&self, delegable: &Coverage, idle: usize) -> DelegationContext {
        let known: Vec<f64> = self.candidates.iter().map(|c| c.capacity).collect();
        let capacity = if known.is_empty() {
            1.0
        } else {
            let mean = known.iter().sum::<f64>() / known.len() as f64;
            if mean > 0.0 {
                self.config.capacity / mean
            } else {
                1.0
            }
        };
        DelegationContext {
            work: self.work.size_of(delegable),
            chunks: delegable.chunk_count(),
            depth: self.config.depth,
            peers: idle as u64,
            capacity,
        }
    }

    /// Hands work to free workers: children first (the first pieces are the
    /// largest, and a subtree is worth more than a slot), then local slots.
    fn schedule(&mut self, now: Millis, out: &mut Vec<Command>) {
        if self.can_delegate() {
            while self.active_children() < self.config.policy.fanout as usize {
                let idle = self.idle_candidates();
                if idle.is_empty() {
                    break;
                }
                let Some(child) = self.choose_candidate(&idle) else {
                    break;
                };
                let worker = Worker::Peer(child.peer);
                if let Some(id) = self.replica_need(worker) {
                    self.start_run(now, id, worker, out);
                    continue;
                }
                let delegable = self.pool.difference(self.local_only());
                if !delegable.is_empty() {
                    let context = self.delegation_context(&delegable, idle.len());
                    if self.config.policy.delegate_when.holds(&context) {
                        let total = self.total_capacity(&idle);
                        let piece = self.gss_piece(&delegable, child.capacity, total);
                        let id = self.start_piece(piece);
                        self.start_run(now, id, worker, out);
                        continue;
                    }
                    break;
                }
                if let Some(id) = self.speculation_target(worker) {
                    if let Some(piece) = self.pieces.get_mut(&id) {
                        piece.speculated = true;
                    }
                    self.stats.speculative_runs += 1;
                    self.start_run(now, id, worker, out);
                    continue;
                }
                break;
            }
        }
        while self.busy_local_slots() < self.config.local_slots as usize {
            let worker = Worker::Local;
            if let Some(id) = self.replica_need(worker) {
                self.start_run(now, id, worker, out);
                continue;
            }
            if !self.pool.is_empty() {
                // Chunks only this peer may compute go first, shared among
                // its own slots alone.
                let local_only = self.pool.intersection(self.local_only());
                let slot = self.config.capacity / f64::from(self.config.local_slots.max(1));
                let (source, total) = if local_only.is_empty() {
                    let idle = if self.can_delegate() {
                        self.idle_candidates()
                    } else {
                        Vec::new()
                    };
                    // While the pool could still be delegated, a slot takes
                    // at most half of it, even alone: a peer that becomes
                    // idle a moment later (a child just done with the
                    // previous phase) then still finds work.
                    let total = self.total_capacity(&idle);
                    let total = if self.can_delegate() {
                        total.max(2.0 * slot)
                    } else {
                        total
                    };
                    (self.pool.clone(), total)
                } else {
                    (local_only, self.config.capacity)
                };
                let piece = self.gss_piece(&source, slot, total);
                let id = self.start_piece(piece);
                self.start_run(now, id, worker, out);
                continue;
            }
            if let Some(id) = self.speculation_target(worker) {
                if let Some(piece) = self.pieces.get_mut(&id) {
                    piece.speculated = true;
                }
                self.stats.speculative_runs += 1;
                self.start_run(now, id, worker, out);
                continue;
            }
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::DelegatePredicate;
    use crate::sim::ChunkListMerge;

    fn policy(depth: u32, retries: u32, replicate: u8, speculate: bool) -> Policy {
        Policy {
            split: 1,
            fanout: 2,
            depth,
            delegate_when: DelegatePredicate::new(|c| c.peers > 0 && c.work > 0),
            select: Select::Capacity,
            retries,
            timeout_ms: 100,
            replicate,
            speculate,
        }
    }

    fn job(role: Role, policy: Policy, work: Work) -> PeerJob {
        PeerJob::new(
            JobConfig {
                role,
                depth: 0,
                policy,
                local_slots: 1,
                capacity: 1.0,
                seed: 1,
            },
            work,
        )
    }

    fn ids(start: u32, end: u32) -> Partial {
        ChunkListMerge::encode(&(start..end).collect::<Vec<_>>())
    }

    fn peer(id: u64, capacity: f64) -> Candidate {
        Candidate {
            peer: PeerId(id),
            capacity,
            latency_ms: 10,
        }
    }

    /// Feeds each event at its time and asserts the exact commands.
    fn check(job: &mut PeerJob, steps: Vec<(Millis, Event, Vec<Command>)>) {
        let mut merge = ChunkListMerge;
        for (index, (now, event, expected)) in steps.into_iter().enumerate() {
            let shown = format!("{event:?}");
            let got = job.handle(now, event, &mut merge);
            assert_eq!(got, expected, "step {index}: {shown}");
        }
    }

    fn delegate(task: u64, peer: u64, start: u32, end: u32) -> Command {
        Command::Delegate {
            task: TaskId(task),
            peer: PeerId(peer),
            chunks: Coverage::range(start, end),
            depth: 1,
        }
    }

    fn local(task: u64, start: u32, end: u32) -> Command {
        Command::RunLocal {
            task: TaskId(task),
            chunks: Coverage::range(start, end),
        }
    }

    #[test]
    fn alone_and_unable_to_delegate_the_origin_computes_everything_in_one_run() {
        let mut j = job(
            Role::Origin,
            policy(0, 1, 1, true),
            Work::from_sizes(&[1; 4]),
        );
        check(
            &mut j,
            vec![
                (0, Event::Start, vec![local(0, 0, 4)]),
                (
                    5,
                    Event::LocalDone {
                        task: TaskId(0),
                        partial: ids(0, 4),
                    },
                    vec![Command::Finished {
                        partial: Some(ids(0, 4)),
                    }],
                ),
                (6, Event::Tick, vec![]),
            ],
        );
        assert_eq!(j.stats().stale_events, 1);
        assert!(j.is_done());
    }

    #[test]
    fn alone_but_able_to_delegate_a_slot_takes_half_and_a_late_peer_gets_work() {
        let mut j = job(
            Role::Origin,
            policy(1, 1, 1, false),
            Work::from_sizes(&[1; 8]),
        );
        check(
            &mut j,
            vec![
                // No peer yet: the one local slot takes half of the pool.
                (0, Event::Start, vec![local(0, 0, 4)]),
                // A peer as fast as this one turns up: it gets its share of
                // what is left at once, instead of nothing.
                (
                    1,
                    Event::PeersAvailable(vec![peer(7, 1.0)]),
                    vec![delegate(1, 7, 4, 6), Command::ArmTimer { at: 101 }],
                ),
            ],
        );
    }

    #[test]
    fn an_empty_phase_finishes_at_once() {
        let mut j = job(Role::Origin, policy(2, 1, 1, true), Work::from_sizes(&[]));
        check(
            &mut j,
            vec![(0, Event::Start, vec![Command::Finished { partial: None }])],
        );
    }

    #[test]
    fn guided_pieces_follow_capacity_and_duplicates_are_dropped() {
        let mut j = job(
            Role::Origin,
            policy(1, 1, 1, false),
            Work::from_sizes(&[1; 10]),
        );
        check(
            &mut j,
            vec![
                (
                    0,
                    Event::PeersAvailable(vec![peer(7, 1.0), peer(8, 3.0)]),
                    vec![],
                ),
                // Total capacity 5: the fastest child gets 6 of 10 chunks,
                // the other 1 of the 4 left, the local slot 1 of the 3 left.
                (
                    0,
                    Event::Start,
                    vec![
                        delegate(0, 8, 0, 6),
                        delegate(1, 7, 6, 7),
                        local(2, 7, 8),
                        Command::ArmTimer { at: 100 },
                    ],
                ),
                (
                    10,
                    Event::LocalDone {
                        task: TaskId(2),
                        partial: ids(7, 8),
                    },
                    vec![local(3, 8, 9)],
                ),
                (
                    20,
                    Event::PartialFromChild {
                        task: TaskId(0),
                        coverage: Coverage::range(0, 6),
                        partial: ids(0, 6),
                    },
                    // The idle child gets the last chunk.
                    vec![delegate(4, 8, 9, 10)],
                ),
                (
                    21,
                    Event::PartialFromChild {
                        task: TaskId(0),
                        coverage: Coverage::range(0, 6),
                        partial: ids(0, 6),
                    },
                    vec![],
                ),
            ],
        );
        assert_eq!(j.stats().duplicates_dropped, 1);
        check(
            &mut j,
            vec![
                (
                    30,
                    Event::LocalDone {
                        task: TaskId(3),
                        partial: ids(8, 9),
                    },
                    vec![],
                ),
                (
                    40,
                    Event::PartialFromChild {
                        task: TaskId(1),
                        coverage: Coverage::range(6, 7),
                        partial: ids(6, 7),
                    },
                    vec![],
                ),
                (
                    50,
                    Event::PartialFromChild {
                        task: TaskId(4),
                        coverage: Coverage::range(9, 10),
                        partial: ids(9, 10),
                    },
                    vec![Command::Finished {
                        partial: Some(ids(0, 10)),
                    }],
                ),
            ],
        );
    }

    #[test]
    fn a_lost_child_is_retried_then_its_chunks_stay_local() {
        // retries = 0: one loss and the chunks are no longer delegated.
        let mut j = job(
            Role::Origin,
            policy(1, 0, 1, false),
            Work::from_sizes(&[1; 4]),
        );
        check(
            &mut j,
            vec![
                (0, Event::PeersAvailable(vec![peer(7, 3.0)]), vec![]),
                (
                    0,
                    Event::Start,
                    vec![
                        delegate(0, 7, 0, 3),
                        local(1, 3, 4),
                        Command::ArmTimer { at: 100 },
                    ],
                ),
                (
                    10,
                    Event::PeerLost { peer: PeerId(7) },
                    vec![Command::CancelChild {
                        task: TaskId(0),
                        peer: PeerId(7),
                    }],
                ),
                // A new peer shows up, but the lost chunks are local-only now.
                (11, Event::PeersAvailable(vec![peer(9, 3.0)]), vec![]),
                (
                    12,
                    Event::LocalDone {
                        task: TaskId(1),
                        partial: ids(3, 4),
                    },
                    vec![local(2, 0, 3)],
                ),
                (
                    30,
                    Event::LocalDone {
                        task: TaskId(2),
                        partial: ids(0, 3),
                    },
                    vec![Command::Finished {
                        partial: Some(ids(0, 4)),
                    }],
                ),
            ],
        );
        assert_eq!(j.stats().runs_lost, 1);
    }

    #[test]
    fn a_timed_out_child_is_replaced_and_its_late_partial_still_counts() {
        let mut j = job(
            Role::Origin,
            policy(1, 2, 1, false),
            Work::from_sizes(&[1; 4]),
        );
        check(
            &mut j,
            vec![
                (
                    0,
                    Event::PeersAvailable(vec![peer(7, 3.0), peer(8, 3.0)]),
                    vec![],
                ),
                (
                    0,
                    Event::Start,
                    // Capacity 7: peer 7 (tie broken by lower id) gets
                    // ceil(4·3/7)=2, peer 8 ceil(2·3/7)=1, local the last.
                    vec![
                        delegate(0, 7, 0, 2),
                        delegate(1, 8, 2, 3),
                        local(2, 3, 4),
                        Command::ArmTimer { at: 100 },
                    ],
                ),
                (50, Event::ChildAlive { task: TaskId(1) }, vec![]),
                (
                    60,
                    Event::PartialFromChild {
                        task: TaskId(1),
                        coverage: Coverage::range(2, 3),
                        partial: ids(2, 3),
                    },
                    vec![],
                ),
                (
                    70,
                    Event::LocalDone {
                        task: TaskId(2),
                        partial: ids(3, 4),
                    },
                    vec![],
                ),
                // Peer 7 is silent for the timeout: its piece goes to the
                // idle peer 8 (peer 7 is benched) and the local slot waits.
                (
                    100,
                    Event::Tick,
                    vec![
                        Command::CancelChild {
                            task: TaskId(0),
                            peer: PeerId(7),
                        },
                        delegate(3, 8, 0, 2),
                        Command::ArmTimer { at: 200 },
                    ],
                ),
                // Peer 7's answer arrives late but first: it is merged, and
                // the replacement is cancelled.
                (
                    120,
                    Event::PartialFromChild {
                        task: TaskId(0),
                        coverage: Coverage::range(0, 2),
                        partial: ids(0, 2),
                    },
                    vec![
                        Command::CancelChild {
                            task: TaskId(3),
                            peer: PeerId(8),
                        },
                        Command::Finished {
                            partial: Some(ids(0, 4)),
                        },
                    ],
                ),
            ],
        );
        assert_eq!(j.stats().late_merged, 1);
    }

    #[test]
    fn a_run_time_error_in_a_child_fails_the_job_and_cancels_the_rest() {
        let mut j = job(
            Role::Origin,
            policy(1, 2, 1, false),
            Work::from_sizes(&[1; 4]),
        );
        let error = JobError::Runtime {
            chunk: ChunkId(1),
            message: "bad record".to_string(),
        };
        check(
            &mut j,
            vec![
                (0, Event::PeersAvailable(vec![peer(7, 1.0)]), vec![]),
                (
                    0,
                    Event::Start,
                    vec![
                        delegate(0, 7, 0, 2),
                        local(1, 2, 3),
                        Command::ArmTimer { at: 100 },
                    ],
                ),
                (
                    5,
                    Event::ChildFailed {
                        task: TaskId(0),
                        error: error.clone(),
                    },
                    vec![
                        Command::CancelChild {
                            task: TaskId(0),
                            peer: PeerId(7),
                        },
                        Command::CancelLocal { task: TaskId(1) },
                        Command::Failed { error },
                    ],
                ),
            ],
        );
    }

    #[test]
    fn a_local_run_time_error_fails_the_job() {
        let mut j = job(
            Role::Origin,
            policy(0, 2, 1, false),
            Work::from_sizes(&[1; 2]),
        );
        let error = JobError::Runtime {
            chunk: ChunkId(1),
            message: "division by zero".to_string(),
        };
        check(
            &mut j,
            vec![
                (0, Event::Start, vec![local(0, 0, 2)]),
                (
                    3,
                    Event::LocalFailed {
                        task: TaskId(0),
                        chunk: ChunkId(1),
                        message: "division by zero".to_string(),
                    },
                    vec![Command::Failed { error }],
                ),
            ],
        );
        assert_eq!(
            j.handle(4, Event::Tick, &mut ChunkListMerge),
            Vec::<Command>::new()
        );
    }

    #[test]
    fn a_delegate_sends_one_partial_covering_exactly_its_assignment() {
        let work = Work::new([(ChunkId(5), 1), (ChunkId(6), 1), (ChunkId(9), 1)]);
        let mut config = JobConfig {
            role: Role::Delegate,
            depth: 1,
            policy: policy(1, 2, 1, false),
            local_slots: 1,
            capacity: 1.0,
            seed: 0,
        };
        // At the policy's depth limit it may not delegate further.
        config.depth = 1;
        let mut j = PeerJob::new(config, work);
        let assigned = Coverage::from_chunks([ChunkId(5), ChunkId(6), ChunkId(9)]);
        check(
            &mut j,
            vec![
                (0, Event::PeersAvailable(vec![peer(3, 5.0)]), vec![]),
                (
                    0,
                    Event::Start,
                    vec![Command::RunLocal {
                        task: TaskId(0),
                        chunks: assigned.clone(),
                    }],
                ),
                (
                    9,
                    Event::LocalDone {
                        task: TaskId(0),
                        partial: ChunkListMerge::encode(&[5, 6, 9]),
                    },
                    vec![Command::SendPartialUp {
                        coverage: assigned,
                        partial: ChunkListMerge::encode(&[5, 6, 9]),
                    }],
                ),
            ],
        );
    }

    #[test]
    fn a_child_answering_for_other_chunks_counts_as_lost() {
        let mut j = job(
            Role::Origin,
            policy(1, 2, 1, false),
            Work::from_sizes(&[1; 2]),
        );
        check(
            &mut j,
            vec![
                (0, Event::PeersAvailable(vec![peer(7, 9.0)]), vec![]),
                (
                    0,
                    Event::Start,
                    vec![delegate(0, 7, 0, 2), Command::ArmTimer { at: 100 }],
                ),
                (
                    5,
                    Event::PartialFromChild {
                        task: TaskId(0),
                        coverage: Coverage::range(0, 1),
                        partial: ids(0, 1),
                    },
                    vec![
                        Command::CancelChild {
                            task: TaskId(0),
                            peer: PeerId(7),
                        },
                        // Half the pool: peer 7 may still be asked again.
                        local(1, 0, 1),
                    ],
                ),
            ],
        );
        assert_eq!(j.stats().runs_lost, 1);
    }

    #[test]
    fn replicas_that_disagree_fail_the_job() {
        let mut j = job(
            Role::Origin,
            policy(1, 2, 2, false),
            Work::from_sizes(&[1; 2]),
        );
        let mut merge = ChunkListMerge;
        j.handle(0, Event::PeersAvailable(vec![peer(7, 1.0)]), &mut merge);
        let started = j.handle(0, Event::Start, &mut merge);
        // The same piece goes to the child and to the local slot.
        assert_eq!(
            started,
            vec![
                delegate(0, 7, 0, 1),
                local(1, 0, 1),
                Command::ArmTimer { at: 100 },
            ]
        );
        assert_eq!(
            j.handle(
                3,
                Event::LocalDone {
                    task: TaskId(1),
                    partial: ids(0, 1)
                },
                &mut merge
            ),
            vec![local(2, 1, 2)]
        );
        let out = j.handle(
            4,
            Event::PartialFromChild {
                task: TaskId(0),
                coverage: Coverage::range(0, 1),
                partial: ids(5, 6),
            },
            &mut merge,
        );
        assert_eq!(
            out,
            vec![
                Command::CancelLocal { task: TaskId(2) },
                Command::Failed {
                    error: JobError::ReplicaMismatch {
                        coverage: Coverage::range(0, 1)
                    }
                }
            ]
        );
    }

    #[test]
    fn speculation_overtakes_a_slow_child() {
        let mut j = job(
            Role::Origin,
            policy(1, 2, 1, true),
            Work::from_sizes(&[1; 4]),
        );
        check(
            &mut j,
            vec![
                (0, Event::PeersAvailable(vec![peer(7, 3.0)]), vec![]),
                (
                    0,
                    Event::Start,
                    vec![
                        delegate(0, 7, 0, 3),
                        local(1, 3, 4),
                        Command::ArmTimer { at: 100 },
                    ],
                ),
                // The pool is empty: the free local slot re-runs the child's
                // piece.
                (
                    5,
                    Event::LocalDone {
                        task: TaskId(1),
                        partial: ids(3, 4),
                    },
                    vec![local(2, 0, 3)],
                ),
                (
                    50,
                    Event::LocalDone {
                        task: TaskId(2),
                        partial: ids(0, 3),
                    },
                    vec![
                        Command::CancelChild {
                            task: TaskId(0),
                            peer: PeerId(7),
                        },
                        Command::Finished {
                            partial: Some(ids(0, 4)),
                        },
                    ],
                ),
            ],
        );
        assert_eq!(j.stats().speculative_runs, 1);
    }

    #[test]
    fn a_cancelled_delegate_cancels_its_children_and_reports_nothing() {
        let mut j = job(
            Role::Delegate,
            policy(1, 2, 1, false),
            Work::from_sizes(&[1; 4]),
        );
        check(
            &mut j,
            vec![
                (0, Event::PeersAvailable(vec![peer(7, 1.0)]), vec![]),
                (
                    0,
                    Event::Start,
                    vec![
                        delegate(0, 7, 0, 2),
                        local(1, 2, 3),
                        Command::ArmTimer { at: 100 },
                    ],
                ),
                (
                    1,
                    Event::Cancel,
                    vec![
                        Command::CancelChild {
                            task: TaskId(0),
                            peer: PeerId(7),
                        },
                        Command::CancelLocal { task: TaskId(1) },
                    ],
                ),
            ],
        );
        assert!(j.is_done());
    }

    #[test]
    fn without_slots_or_peers_the_job_fails_after_a_timeout() {
        let mut j = PeerJob::new(
            JobConfig {
                role: Role::Origin,
                depth: 0,
                policy: policy(1, 2, 1, false),
                local_slots: 0,
                capacity: 1.0,
                seed: 0,
            },
            Work::from_sizes(&[1; 3]),
        );
        check(
            &mut j,
            vec![
                (10, Event::Start, vec![Command::ArmTimer { at: 110 }]),
                (
                    110,
                    Event::Tick,
                    vec![Command::Failed {
                        error: JobError::NoWorkers {
                            missing: Coverage::range(0, 3),
                        },
                    }],
                ),
            ],
        );
    }
}
