//! The local transport: one phase of a job on this machine's worker threads.
//!
//! This is the driver `flowc run` uses when no swarm is joined. It is an
//! actor: [`run_phase`] is one task that owns the phase's [`PeerJob`] and
//! `select!`s over a closed set of events ([`WorkerEvent`]s from the worker
//! threads, the core's timer, a progress tick, and shutdown). The core
//! decides what runs where; this module only carries out its commands:
//!
//! - `RunLocal` hands a piece (a set of chunks) to an idle worker thread.
//!   The worker computes the chunks one by one with its own
//!   [`ChunkWorker`] (a compiled stage instance in production), merges them
//!   as it goes, and answers with one partial for the whole piece.
//! - `CancelLocal` raises the piece's cancel flag; the worker stops after
//!   the chunk it is on and its late answer is ignored by the core.
//! - `Finished` / `Failed` end the phase.
//!
//! Concurrency is bounded by the number of workers: the core never asks for
//! more simultaneous local runs than its `local_slots`, which is that
//! number. No peer is ever reported, so the core never delegates here; a
//! stray `Delegate` is answered with a rejection so the piece comes back.
//!
//! Worker threads are plain OS threads because stage code is CPU-bound and
//! synchronous (wasmtime calls); they talk to the actor through an unbounded
//! channel whose traffic is bounded by the workers themselves (one message
//! per chunk at most).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc};

use crate::coverage::{ChunkId, Coverage};
use crate::peer_job::{
    Command, Event, JobConfig, JobError, Merge, MergeError, Millis, Partial, PeerJob, Role, TaskId,
};
use crate::policy::Policy;
use crate::work::Work;

/// What a worker thread does with chunks: in production, a compiled stage
/// instance that reads the chunk's bytes and runs the stage's `process` and
/// `merge` exports.
pub trait ChunkWorker {
    /// The partial result of one chunk.
    fn process(&mut self, chunk: ChunkId) -> Result<Partial, String>;
    /// The merge of two partials of disjoint chunks.
    fn merge(&mut self, left: Partial, right: Partial) -> Result<Partial, String>;
    /// A hint that `chunk` is processed next, so its bytes can be fetched
    /// while the current one is computed. Doing nothing is correct.
    fn prefetch(&mut self, _chunk: ChunkId) {}
}

/// Makes one [`ChunkWorker`] per worker thread, plus one for the actor's
/// own merges.
pub trait WorkerFactory: Send + Sync {
    /// A fresh worker; an error (a module that cannot be instantiated) ends
    /// the phase.
    fn worker(&self) -> Result<Box<dyn ChunkWorker + Send>, String>;
}

/// One phase to run locally.
#[derive(Debug, Clone)]
pub struct LocalPhase {
    /// The chunks of the phase, with their sizes.
    pub work: Work,
    /// The job's policy (chunk sizes are already in `work`).
    pub policy: Policy,
    /// Worker threads (`--workers N`, all cores by default); at least 1.
    pub workers: u32,
    /// Seed of the core's random choices.
    pub seed: u64,
}

/// Where a phase stands, reported to the progress display.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Chunks computed so far (a chunk computed twice counts twice).
    pub chunks_done: u64,
    /// Chunks in the phase.
    pub chunks_total: u64,
    /// Bytes or items computed so far.
    pub units_done: u64,
    /// Bytes or items in the phase.
    pub units_total: u64,
    /// Workers computing right now.
    pub busy_workers: u32,
    /// Worker threads of the phase.
    pub workers: u32,
}

/// Why a local phase did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalError {
    /// The job failed: a stage error on a chunk, or a failed merge.
    Job(JobError),
    /// A worker could not be created (the stage module did not instantiate).
    Worker(String),
    /// Shutdown was requested (Ctrl-C) before the phase finished.
    Interrupted,
}

impl std::fmt::Display for LocalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LocalError::Job(error) => error.fmt(f),
            LocalError::Worker(message) => write!(f, "cannot start a worker: {message}"),
            LocalError::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl std::error::Error for LocalError {}

/// What worker threads tell the actor.
#[derive(Debug)]
pub enum WorkerEvent {
    /// One chunk of a piece is computed (for progress).
    ChunkDone { worker: usize, units: u64 },
    /// A whole piece is computed.
    PieceDone {
        worker: usize,
        task: TaskId,
        partial: Partial,
    },
    /// A chunk of a piece failed.
    PieceFailed {
        worker: usize,
        task: TaskId,
        chunk: ChunkId,
        message: String,
    },
    /// A piece was cancelled and abandoned.
    PieceCancelled { worker: usize },
}

/// A piece handed to a worker thread.
pub(crate) struct Assignment {
    pub(crate) task: TaskId,
    pub(crate) chunks: Vec<(ChunkId, u64)>,
    pub(crate) cancel: Arc<AtomicBool>,
}

/// The actor's handle on one worker thread.
pub(crate) struct WorkerHandle {
    pub(crate) sender: std_mpsc::Sender<Assignment>,
    pub(crate) busy: Option<(TaskId, Arc<AtomicBool>)>,
    pub(crate) thread: Option<JoinHandle<()>>,
}

/// The core's merges, done by the actor's own worker instance.
struct ActorMerge(Box<dyn ChunkWorker + Send>);

impl Merge for ActorMerge {
    fn merge(&mut self, left: Partial, right: Partial) -> Result<Partial, MergeError> {
        self.0.merge(left, right).map_err(MergeError)
    }
}

/// How often progress is reported while a phase runs.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Runs one phase on `phase.workers` threads and returns the merged partial
/// of all its chunks (`None` when the phase has no chunk).
///
/// `on_progress` is called about every 100 ms and once at the end;
/// a message on `shutdown` stops the phase with [`LocalError::Interrupted`].
pub async fn run_phase(
    phase: LocalPhase,
    factory: Arc<dyn WorkerFactory>,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
    mut shutdown: broadcast::Receiver<()>,
) -> Result<Option<Partial>, LocalError> {
    let workers = phase.workers.max(1);
    let mut progress = Progress {
        chunks_total: phase.work.coverage().chunk_count(),
        units_total: phase.work.size_of(phase.work.coverage()),
        workers,
        ..Progress::default()
    };
    let mut merge = ActorMerge(factory.worker().map_err(LocalError::Worker)?);
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut pool = Vec::with_capacity(workers as usize);
    for index in 0..workers as usize {
        pool.push(spawn_worker(index, factory.clone(), events_tx.clone())?);
    }
    drop(events_tx);

    let config = JobConfig {
        role: Role::Origin,
        depth: 0,
        policy: phase.policy.clone(),
        local_slots: workers,
        capacity: 1.0,
        seed: phase.seed,
    };
    let work = phase.work.clone();
    let mut job = PeerJob::new(config, phase.work);
    let started = Instant::now();
    let now = |started: Instant| -> Millis { started.elapsed().as_millis() as Millis };
    let mut commands = job.handle(now(started), Event::PeersAvailable(Vec::new()), &mut merge);
    commands.extend(job.handle(now(started), Event::Start, &mut merge));
    let mut timer: Option<Millis> = None;
    let mut ticker = tokio::time::interval(PROGRESS_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    let outcome = loop {
        // Carry out every command; some produce events right away.
        let mut finished = None;
        while let Some(command) = pop_front(&mut commands) {
            match command {
                Command::RunLocal { task, chunks } => {
                    let assignment = Assignment {
                        task,
                        chunks: work.sizes_of(&chunks),
                        cancel: Arc::new(AtomicBool::new(false)),
                    };
                    match pool.iter_mut().find(|w| w.busy.is_none()) {
                        Some(worker) => {
                            worker.busy = Some((task, assignment.cancel.clone()));
                            if worker.sender.send(assignment).is_err() {
                                finished = Some(Err(LocalError::Worker(
                                    "a worker thread stopped unexpectedly".into(),
                                )));
                            }
                        }
                        None => {
                            // The core asked for more runs than it has slots:
                            // a bug in the core, reported rather than hidden.
                            finished = Some(Err(LocalError::Worker(
                                "the scheduler asked for more local runs than workers".into(),
                            )));
                        }
                    }
                }
                Command::CancelLocal { task } => {
                    for worker in pool.iter_mut() {
                        if let Some((busy, cancel)) = &worker.busy
                            && *busy == task
                        {
                            cancel.store(true, Ordering::Relaxed);
                        }
                    }
                }
                Command::Delegate { task, .. } => {
                    let more = job.handle(now(started), Event::ChildRejected { task }, &mut merge);
                    commands.extend(more);
                }
                Command::CancelChild { .. } | Command::SendPartialUp { .. } => {}
                Command::ArmTimer { at } => {
                    timer = Some(timer.map_or(at, |t| t.min(at)));
                }
                Command::Finished { partial } => finished = Some(Ok(partial)),
                Command::Failed { error } => finished = Some(Err(LocalError::Job(error))),
            }
            if finished.is_some() {
                break;
            }
        }
        if let Some(outcome) = finished {
            break outcome;
        }

        let sleep = async {
            match timer {
                Some(at) => {
                    let wait = at.saturating_sub(now(started));
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else {
                    break Err(LocalError::Worker("every worker thread stopped".into()));
                };
                let at = now(started);
                let core_event = match event {
                    WorkerEvent::ChunkDone { units, .. } => {
                        progress.chunks_done += 1;
                        progress.units_done += units;
                        None
                    }
                    WorkerEvent::PieceDone { worker, task, partial } => {
                        release(&mut pool, worker);
                        Some(Event::LocalDone { task, partial })
                    }
                    WorkerEvent::PieceFailed { worker, task, chunk, message } => {
                        release(&mut pool, worker);
                        Some(Event::LocalFailed { task, chunk, message })
                    }
                    WorkerEvent::PieceCancelled { worker } => {
                        release(&mut pool, worker);
                        // A freed slot may let the core start another piece.
                        Some(Event::Tick)
                    }
                };
                if let Some(core_event) = core_event {
                    commands.extend(job.handle(at, core_event, &mut merge));
                }
            }
            _ = sleep => {
                timer = None;
                commands.extend(job.handle(now(started), Event::Tick, &mut merge));
            }
            _ = ticker.tick() => {
                progress.busy_workers = pool.iter().filter(|w| w.busy.is_some()).count() as u32;
                on_progress(&progress);
            }
            _ = shutdown.recv() => {
                break Err(LocalError::Interrupted);
            }
        }
    };

    progress.busy_workers = 0;
    on_progress(&progress);
    // Stop every worker: raise the cancel flags so a busy one gives up after
    // its current chunk, and close the channels so idle ones exit.
    for worker in pool.iter_mut() {
        if let Some((_, cancel)) = &worker.busy {
            cancel.store(true, Ordering::Relaxed);
        }
    }
    let threads: Vec<JoinHandle<()>> = pool.into_iter().filter_map(|w| w.thread).collect();
    if outcome.is_ok() {
        // Every worker is idle after a successful phase, so joining is quick
        // and leaves no thread behind.
        for thread in threads {
            let _ = thread.join();
        }
    }
    outcome
}

fn pop_front(commands: &mut Vec<Command>) -> Option<Command> {
    if commands.is_empty() {
        None
    } else {
        Some(commands.remove(0))
    }
}

pub(crate) fn release(pool: &mut [WorkerHandle], worker: usize) {
    if let Some(handle) = pool.get_mut(worker) {
        handle.busy = None;
    }
}

pub(crate) fn spawn_worker(
    index: usize,
    factory: Arc<dyn WorkerFactory>,
    events: mpsc::UnboundedSender<WorkerEvent>,
) -> Result<WorkerHandle, LocalError> {
    let (sender, assignments) = std_mpsc::channel::<Assignment>();
    let thread = std::thread::Builder::new()
        .name(format!("flowc-worker-{index}"))
        .spawn(move || worker_loop(index, factory, assignments, events))
        .map_err(|error| LocalError::Worker(format!("cannot start a thread: {error}")))?;
    Ok(WorkerHandle {
        sender,
        busy: None,
        thread: Some(thread),
    })
}

/// The body of a worker thread: compute pieces until the actor hangs up.
fn worker_loop(
    index: usize,
    factory: Arc<dyn WorkerFactory>,
    assignments: std_mpsc::Receiver<Assignment>,
    events: mpsc::UnboundedSender<WorkerEvent>,
) {
    // The worker (a stage instance) is created lazily, on the first piece,
    // so a phase with fewer pieces than threads instantiates fewer modules.
    let mut stage: Option<Box<dyn ChunkWorker + Send>> = None;
    while let Ok(assignment) = assignments.recv() {
        let Assignment {
            task,
            chunks,
            cancel,
        } = assignment;
        if stage.is_none() {
            match factory.worker() {
                Ok(worker) => stage = Some(worker),
                Err(message) => {
                    let chunk = chunks.first().map_or(ChunkId(0), |c| c.0);
                    let _ = events.send(WorkerEvent::PieceFailed {
                        worker: index,
                        task,
                        chunk,
                        message,
                    });
                    continue;
                }
            }
        }
        let Some(worker) = stage.as_mut() else {
            continue;
        };
        let event = compute_piece(index, worker.as_mut(), task, &chunks, &cancel, &events);
        if events.send(event).is_err() {
            return;
        }
    }
}

/// Computes the chunks of one piece in order, merging as it goes.
fn compute_piece(
    index: usize,
    worker: &mut dyn ChunkWorker,
    task: TaskId,
    chunks: &[(ChunkId, u64)],
    cancel: &AtomicBool,
    events: &mpsc::UnboundedSender<WorkerEvent>,
) -> WorkerEvent {
    let mut held: Option<Partial> = None;
    for (position, &(chunk, units)) in chunks.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return WorkerEvent::PieceCancelled { worker: index };
        }
        if let Some(&(next, _)) = chunks.get(position + 1) {
            worker.prefetch(next);
        }
        let failed = |message: String| WorkerEvent::PieceFailed {
            worker: index,
            task,
            chunk,
            message,
        };
        let partial = match worker.process(chunk) {
            Ok(partial) => partial,
            Err(message) => return failed(message),
        };
        held = Some(match held.take() {
            None => partial,
            Some(previous) => match worker.merge(previous, partial) {
                Ok(merged) => merged,
                Err(message) => return failed(message),
            },
        });
        let _ = events.send(WorkerEvent::ChunkDone {
            worker: index,
            units,
        });
    }
    match held {
        Some(partial) => WorkerEvent::PieceDone {
            worker: index,
            task,
            partial,
        },
        None => WorkerEvent::PieceFailed {
            worker: index,
            task,
            chunk: ChunkId(0),
            message: "the scheduler gave a worker an empty piece".into(),
        },
    }
}

/// The coverage of a list of chunks, for tests and callers that build
/// [`Work`] by hand.
pub fn coverage_of(chunks: &[ChunkId]) -> Coverage {
    Coverage::from_chunks(chunks.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A worker whose partial is the sorted list of chunk ids it covers,
    /// encoded as little-endian u32s, so a test sees exactly which chunks
    /// were merged and how often.
    struct ListWorker {
        fail_on: Option<u32>,
        delay: Duration,
    }

    fn decode(partial: &[u8]) -> Vec<u32> {
        partial
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }

    fn encode(ids: &[u32]) -> Partial {
        ids.iter().flat_map(|id| id.to_le_bytes()).collect()
    }

    impl ChunkWorker for ListWorker {
        fn process(&mut self, chunk: ChunkId) -> Result<Partial, String> {
            std::thread::sleep(self.delay);
            if Some(chunk.0) == self.fail_on {
                return Err(format!("bad record in chunk {}", chunk.0));
            }
            Ok(encode(&[chunk.0]))
        }

        fn merge(&mut self, left: Partial, right: Partial) -> Result<Partial, String> {
            let mut ids = decode(&left);
            ids.extend(decode(&right));
            ids.sort_unstable();
            Ok(encode(&ids))
        }
    }

    struct ListFactory {
        fail_on: Option<u32>,
        delay: Duration,
        made: Mutex<u32>,
    }

    impl WorkerFactory for ListFactory {
        fn worker(&self) -> Result<Box<dyn ChunkWorker + Send>, String> {
            *self.made.lock().unwrap() += 1;
            Ok(Box::new(ListWorker {
                fail_on: self.fail_on,
                delay: self.delay,
            }))
        }
    }

    fn run(
        chunks: u32,
        workers: u32,
        fail_on: Option<u32>,
        delay: Duration,
        shutdown_after: Option<Duration>,
    ) -> (Result<Option<Partial>, LocalError>, Progress) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let sizes: Vec<u64> = (0..chunks).map(|i| 10 + u64::from(i % 3)).collect();
        let phase = LocalPhase {
            work: Work::from_sizes(&sizes),
            policy: Policy::default(),
            workers,
            seed: 1,
        };
        let factory = Arc::new(ListFactory {
            fail_on,
            delay,
            made: Mutex::new(0),
        });
        let (stop, shutdown) = broadcast::channel(1);
        let mut last = Progress::default();
        let result = runtime.block_on(async {
            if let Some(after) = shutdown_after {
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    let _ = stop.send(());
                });
            } else {
                std::mem::forget(stop);
            }
            run_phase(phase, factory, &mut |p| last = p.clone(), shutdown).await
        });
        (result, last)
    }

    #[test]
    fn every_chunk_is_merged_exactly_once_whatever_the_worker_count() {
        for workers in [1, 2, 4, 7] {
            for chunks in [1, 2, 7, 64] {
                let (result, progress) = run(chunks, workers, None, Duration::ZERO, None);
                let partial = result.unwrap().unwrap();
                assert_eq!(
                    decode(&partial),
                    (0..chunks).collect::<Vec<_>>(),
                    "{chunks} chunks on {workers} workers"
                );
                assert_eq!(progress.chunks_total, u64::from(chunks));
                assert!(progress.chunks_done >= u64::from(chunks));
                assert_eq!(progress.busy_workers, 0);
            }
        }
    }

    #[test]
    fn a_failing_chunk_fails_the_phase_naming_it() {
        let (result, _) = run(20, 3, Some(13), Duration::ZERO, None);
        match result {
            Err(LocalError::Job(JobError::Runtime { chunk, message })) => {
                assert_eq!(chunk, ChunkId(13));
                assert!(message.contains("bad record"), "{message}");
            }
            other => panic!("expected a run-time error, got {other:?}"),
        }
    }

    #[test]
    fn shutdown_interrupts_a_running_phase() {
        let (result, _) = run(
            500,
            2,
            None,
            Duration::from_millis(5),
            Some(Duration::from_millis(50)),
        );
        assert_eq!(result, Err(LocalError::Interrupted));
    }

    #[test]
    fn a_phase_without_chunks_finishes_with_nothing() {
        let (result, _) = run(0, 2, None, Duration::ZERO, None);
        assert_eq!(result, Ok(None));
    }
}
