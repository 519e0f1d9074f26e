//! The node actor: a libp2p swarm and every job instance on this peer.
//!
//! [`start_node`] spawns one thread with a single-threaded tokio runtime;
//! the actor task there owns all the state below and nothing else touches
//! it. Callers talk to it through a [`NodeHandle`] (commands with a reply
//! channel); worker threads, chunk reads and module loads report back on an
//! internal channel. Each job instance is a [`PeerJob`] (the scheduler core)
//! plus what carries out its commands: a pool of worker threads running the
//! stage module, the children it delegated to, and, for a delegate, the
//! parent it answers to.
//!
//! Message flow for one piece of work, parent P and child C:
//!
//! ```text
//! P ─Delegate(run, task, module hash, context, chunk ids)─▶ C   Accepted
//! C ─FetchModule(hash)─▶ P   (only if C lacks the module)       Module(bytes)
//! C ─FetchChunks(task, ids)─▶ P   (as C's workers need them)    Chunks
//! C ─Alive(task)─▶ P   (heartbeats)
//! C ─PartialUp(task, partial)─▶ P   or   Failed / GiveBack
//! ```
//!
//! C may itself delegate part of its piece further down; its children fetch
//! chunks from C, which fetches them from P.

// Failures carry what the user is shown; they happen once per phase.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::core::{Transport as _, upgrade};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, StreamProtocol, Swarm, identify, kad, mdns, noise, ping, tcp, yamux};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info, warn};

use super::protocol::{
    Capacity, ChunkData, Codec, Delegation, MAX_CHUNK_BYTES, PROTOCOL, PolicySpec, RemoteFailure,
    Request, Response, RunId, VERSION,
};
use super::transport::FreshPorts;
use crate::coverage::{ChunkId, Coverage};
use crate::host::{ErrorRecord, Failure, Host, StageError, StageInstance, StageModule, Step};
use crate::local::{Assignment, Progress, WorkerEvent, WorkerHandle, release, spawn_worker};
use crate::peer_job::{
    Candidate, Command, Event, JobConfig, JobError, Merge, MergeError, Millis, Partial, PeerId,
    PeerJob, Role, TaskId,
};
use crate::policy::{DelegatePredicate, Policy, Select};
use crate::stage_worker::{ChunkBytes, ChunkSource, StageFailure, StageWorkerFactory};
use crate::work::Work;

type NetPeerId = libp2p::PeerId;

/// How a node starts.
#[derive(Debug)]
pub struct NodeConfig {
    /// The peer's identity.
    pub keypair: Keypair,
    /// Addresses to listen on (`/ip4/0.0.0.0/tcp/7000`); may be empty for
    /// a peer that only dials out.
    pub listen: Vec<Multiaddr>,
    /// Peers to join at start.
    pub join: Vec<Multiaddr>,
    /// Cores this peer gives to other peers' jobs (0: it only submits).
    pub cores: u32,
    /// Discover peers on the local network with mDNS.
    pub mdns: bool,
    /// The WebAssembly host that runs every stage module here.
    pub host: Host,
}

/// A phase the origin runs across the swarm.
pub struct SwarmPhase {
    pub run: RunId,
    /// The stage module (already loaded and validated by the host) and its
    /// bytes, served to children that lack it.
    pub module: StageModule,
    pub module_bytes: Arc<Vec<u8>>,
    pub stage: u32,
    /// The encoded job context.
    pub context: Vec<u8>,
    /// Reads chunks on this peer.
    pub source: Arc<dyn ChunkSource>,
    pub work: Work,
    pub policy: PolicySpec,
    /// Worker threads on this peer.
    pub workers: u32,
    pub seed: u64,
}

impl std::fmt::Debug for SwarmPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwarmPhase")
            .field("run", &self.run)
            .field("stage", &self.stage)
            .field("chunks", &self.work.coverage().chunk_count())
            .finish()
    }
}

/// Why a swarm phase produced no result.
#[derive(Debug, Clone)]
pub struct PhaseFailure {
    /// What the core reported.
    pub error: JobError,
    /// The first stage failure seen anywhere in the tree, with its source
    /// span and position, for the command line.
    pub stage: Option<StageFailure>,
    /// Shutdown was requested before the phase finished.
    pub interrupted: bool,
}

impl std::fmt::Display for PhaseFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.interrupted {
            f.write_str("interrupted")
        } else {
            self.error.fmt(f)
        }
    }
}

/// What a [`NodeHandle`] asks the actor.
enum NodeCommand {
    RunPhase {
        phase: SwarmPhase,
        progress: watch::Sender<Progress>,
        reply: oneshot::Sender<Result<Option<Partial>, PhaseFailure>>,
    },
    ListenAddrs {
        reply: oneshot::Sender<Vec<Multiaddr>>,
    },
    /// What this node knows of other peers so far.
    KnownPeers {
        reply: oneshot::Sender<PeerCounts>,
    },
    Shutdown,
}

/// What a node knows of other peers: the answer to
/// [`NodeCommand::KnownPeers`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct PeerCounts {
    /// Peers connected now.
    connected: usize,
    /// Of those, how many announced their capacity.
    announced: usize,
    /// Whether a Kademlia bootstrap of this node has finished and no dial
    /// to a peer it found is still under way.
    discovery_settled: bool,
}

/// The caller's side of a running node.
#[derive(Debug)]
pub struct NodeHandle {
    commands: mpsc::UnboundedSender<NodeCommand>,
    peer_id: NetPeerId,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for NodeCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NodeCommand::RunPhase { .. } => "RunPhase",
            NodeCommand::ListenAddrs { .. } => "ListenAddrs",
            NodeCommand::KnownPeers { .. } => "KnownPeers",
            NodeCommand::Shutdown => "Shutdown",
        })
    }
}

impl NodeHandle {
    /// This peer's id.
    pub fn peer_id(&self) -> NetPeerId {
        self.peer_id
    }

    /// Runs one phase across the swarm; `on_progress` sees this peer's view
    /// (its own chunks and the chunks its children reported).
    pub async fn run_phase(
        &self,
        phase: SwarmPhase,
        on_progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<Option<Partial>, PhaseFailure> {
        let (progress, mut progress_rx) = watch::channel(Progress::default());
        let (reply, mut answer) = oneshot::channel();
        let gone = || PhaseFailure {
            error: JobError::Merge {
                message: "the peer's network task stopped".into(),
            },
            stage: None,
            interrupted: false,
        };
        self.commands
            .send(NodeCommand::RunPhase {
                phase,
                progress,
                reply,
            })
            .map_err(|_| gone())?;
        loop {
            tokio::select! {
                result = &mut answer => {
                    let snapshot = progress_rx.borrow().clone();
                    on_progress(&snapshot);
                    return result.map_err(|_| gone())?;
                }
                changed = progress_rx.changed() => {
                    if changed.is_ok() {
                        let snapshot = progress_rx.borrow_and_update().clone();
                        on_progress(&snapshot);
                    }
                }
            }
        }
    }

    /// The addresses the node listens on, with its peer id appended.
    pub async fn listen_addrs(&self) -> Vec<Multiaddr> {
        let (reply, answer) = oneshot::channel();
        if self
            .commands
            .send(NodeCommand::ListenAddrs { reply })
            .is_err()
        {
            return Vec::new();
        }
        answer.await.unwrap_or_default()
    }

    /// Waits until `count` peers announced their capacity, or `limit`
    /// passed; then, for at most [`DISCOVERY_SETTLE`] more, until discovery
    /// has settled: a Kademlia bootstrap through the joined peers has
    /// finished, every peer it found is connected, and all of them have
    /// announced their capacity too. So a job submitted through one peer
    /// of a swarm starts with the whole swarm as candidates, and a swarm of
    /// one peer costs a single round trip more. Returns how many peers
    /// announced their capacity.
    pub async fn wait_for_peers(&self, count: usize, limit: Duration) -> usize {
        let started = tokio::time::Instant::now();
        let deadline = started + limit;
        // When the wanted peers were first known.
        let mut reached: Option<tokio::time::Instant> = None;
        loop {
            let (reply, answer) = oneshot::channel();
            if self
                .commands
                .send(NodeCommand::KnownPeers { reply })
                .is_err()
            {
                return 0;
            }
            let counts = answer.await.unwrap_or_default();
            let now = tokio::time::Instant::now();
            if counts.announced >= count && reached.is_none() {
                reached = Some(now);
            }
            if now >= deadline {
                return counts.announced;
            }
            if let Some(at) = reached {
                let settled = counts.discovery_settled && counts.announced >= counts.connected;
                if settled || now - at >= DISCOVERY_SETTLE {
                    return counts.announced;
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the node: pieces computed for others are handed back to their
    /// parents, phases of this peer fail as interrupted. Waits for the
    /// network thread to end.
    pub fn shutdown(mut self) {
        let _ = self.commands.send(NodeCommand::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Waits until the node stops on its own (never, unless its thread
    /// fails); for `flowc peer`, which runs until a signal.
    pub fn request_shutdown(&self) {
        let _ = self.commands.send(NodeCommand::Shutdown);
    }

    /// Waits for the network thread to end.
    pub fn join(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The libp2p behaviours of a peer.
#[derive(NetworkBehaviour)]
struct Behaviour {
    jobs: request_response::Behaviour<Codec>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    kad: kad::Behaviour<kad::store::MemoryStore>,
    mdns: Toggle<mdns::tokio::Behaviour>,
}

/// Starts a node on its own thread. Errors: an address that cannot be
/// listened on, a transport that cannot be built.
pub fn start_node(config: NodeConfig) -> Result<NodeHandle, String> {
    let peer_id = config.keypair.public().to_peer_id();
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let thread = std::thread::Builder::new()
        .name("flowc-network".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ =
                        ready_tx.send(Err(format!("cannot start the network runtime: {error}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let node = match Node::new(config) {
                    Ok(node) => {
                        let _ = ready_tx.send(Ok(()));
                        node
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                        return;
                    }
                };
                node.run(command_rx).await;
            });
        })
        .map_err(|error| format!("cannot start the network thread: {error}"))?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(NodeHandle {
            commands,
            peer_id,
            thread: Some(thread),
        }),
        Ok(Err(error)) => {
            let _ = thread.join();
            Err(error)
        }
        Err(_) => Err("the network thread stopped while starting".into()),
    }
}

/// A job instance's key on this node.
type JobKey = u64;

/// What arrives on the actor's internal channel.
enum Internal {
    Worker(JobKey, WorkerEvent),
    /// A worker thread (or a chunk read for a child) needs a chunk from
    /// this delegate's parent.
    FetchChunk {
        job: JobKey,
        chunk: u32,
        reply: oneshot::Sender<Result<ChunkBytes, String>>,
    },
    /// Chunks read for a child's request.
    ChunksRead {
        channel: ResponseChannel<Response>,
        response: Response,
    },
    /// A fetched module was compiled (or refused) by the host.
    ModuleLoaded {
        hash: [u8; 32],
        bytes: Arc<Vec<u8>>,
        result: Result<StageModule, String>,
    },
}

/// Why an outbound request was sent, to route its answer.
enum Pending {
    Hello,
    Delegate {
        job: JobKey,
        task: TaskId,
    },
    FetchModule {
        hash: [u8; 32],
    },
    FetchChunk {
        reply: oneshot::Sender<Result<ChunkBytes, String>>,
    },
    /// Alive, PartialUp, Failed, Cancel, GiveBack: nothing to do with the answer.
    Notice,
}

/// What this node knows of a connected peer.
#[derive(Debug, Clone, Default)]
struct PeerInfo {
    capacity: Option<Capacity>,
    rtt_ms: u64,
    last_hello: Option<Instant>,
}

enum JobRole {
    Origin {
        reply: Option<oneshot::Sender<Result<Option<Partial>, PhaseFailure>>>,
        progress: watch::Sender<Progress>,
    },
    Delegate {
        parent: NetPeerId,
        wire_task: u64,
        last_alive: Instant,
        /// Local slots taken from this peer's free cores.
        slots: u32,
    },
}

/// A child's piece as the parent tracks it.
struct ChildRun {
    wire_task: u64,
    peer: NetPeerId,
    coverage: Coverage,
}

/// One job instance on this node.
struct JobState {
    core: PeerJob,
    role: JobRole,
    run: RunId,
    module_hash: [u8; 32],
    module: Option<StageModule>,
    stage: u32,
    context: Arc<Vec<u8>>,
    spec: PolicySpec,
    ancestors: Vec<Vec<u8>>,
    seed: u64,
    work: Work,
    source: Arc<dyn ChunkSource>,
    factory: Option<Arc<StageWorkerFactory>>,
    merge: Option<StageInstance>,
    local_slots: u32,
    pool: Vec<WorkerHandle>,
    children: HashMap<TaskId, ChildRun>,
    timer: Option<Millis>,
    progress: Progress,
    first_failure: Option<StageFailure>,
    candidates: Vec<Candidate>,
    started: bool,
}

/// The core's merges, done with the job's own stage instance.
struct JobMerge<'a> {
    instance: Option<&'a mut StageInstance>,
    stage: u32,
    failure: &'a mut Option<StageFailure>,
}

impl Merge for JobMerge<'_> {
    fn merge(&mut self, left: Partial, right: Partial) -> Result<Partial, MergeError> {
        let Some(instance) = self.instance.as_deref_mut() else {
            return Err(MergeError("the stage module is not loaded".into()));
        };
        instance.merge(self.stage, &left, &right).map_err(|error| {
            let message = error.to_string();
            if self.failure.is_none() {
                *self.failure = Some(StageFailure::Stage { chunk: None, error });
            }
            MergeError(message)
        })
    }
}

/// A chunk requested from the parent, not yet read by a worker.
type ChunkAnswer = oneshot::Receiver<Result<ChunkBytes, String>>;

/// Chunks read from a delegate's parent, through the actor. A worker's
/// next chunk is requested while it computes the current one
/// ([`ChunkSource::prefetch`]), so it rarely waits for the network.
struct RemoteChunks {
    job: JobKey,
    internal: mpsc::UnboundedSender<Internal>,
    /// Requests made ahead of their read, by chunk id (at most one per
    /// worker thread).
    ahead: Mutex<HashMap<u32, ChunkAnswer>>,
}

impl RemoteChunks {
    fn request(&self, chunk: u32) -> Result<ChunkAnswer, String> {
        let (reply, answer) = oneshot::channel();
        self.internal
            .send(Internal::FetchChunk {
                job: self.job,
                chunk,
                reply,
            })
            .map_err(|_| "the peer is shutting down".to_string())?;
        Ok(answer)
    }
}

impl ChunkSource for RemoteChunks {
    fn read(&self, chunk: ChunkId) -> Result<ChunkBytes, String> {
        let early = self
            .ahead
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&chunk.0);
        let answer = match early {
            Some(answer) => answer,
            None => self.request(chunk.0)?,
        };
        answer
            .blocking_recv()
            .map_err(|_| "the parent peer is gone".to_string())?
    }

    fn prefetch(&self, chunk: ChunkId) {
        let mut ahead = self.ahead.lock().unwrap_or_else(PoisonError::into_inner);
        if !ahead.contains_key(&chunk.0)
            && let Ok(answer) = self.request(chunk.0)
        {
            ahead.insert(chunk.0, answer);
        }
    }

    fn describe(&self, chunk: ChunkId) -> String {
        format!("chunk {}", chunk.0)
    }
}

/// The actor's state.
struct Node {
    swarm: Swarm<Behaviour>,
    host: Host,
    cores: u32,
    free_cores: u32,
    speed: f64,
    peers: HashMap<NetPeerId, PeerInfo>,
    core_ids: HashMap<NetPeerId, PeerId>,
    by_core: HashMap<PeerId, NetPeerId>,
    next_core_id: u64,
    modules: HashMap<[u8; 32], (Arc<Vec<u8>>, StageModule)>,
    /// Delegates waiting for a module, by its hash.
    module_waiters: HashMap<[u8; 32], Vec<JobKey>>,
    jobs: HashMap<JobKey, JobState>,
    next_job: JobKey,
    /// Pieces this node delegated: wire task → (job, core task).
    wire_tasks: HashMap<u64, (JobKey, TaskId)>,
    next_wire_task: u64,
    /// Pieces this node computes for others: (parent, wire task) → job.
    delegated_here: HashMap<(NetPeerId, u64), JobKey>,
    pending: HashMap<OutboundRequestId, Pending>,
    internal_tx: mpsc::UnboundedSender<Internal>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
    clock: Instant,
    shutting_down: bool,
    /// Where this node's own discovery of the swarm stands.
    bootstrap: Bootstrap,
    /// Peers found by discovery and being dialed.
    dialing: HashSet<NetPeerId>,
}

/// How often the actor refreshes candidates, timers and heartbeats.
const TICK: Duration = Duration::from_millis(100);
/// How often capacity is announced to every peer.
const HELLO_INTERVAL: Duration = Duration::from_millis(1000);
/// The node's own Kademlia bootstrap, started when the first peer
/// identifies itself (Kademlia's periodic bootstraps are not tracked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bootstrap {
    NotStarted,
    Running(kad::QueryId),
    Done,
}

/// How long [`NodeHandle::wait_for_peers`] keeps waiting, after the joined
/// peers answered, for the peers they lead to.
const DISCOVERY_SETTLE: Duration = Duration::from_secs(2);
/// The most peers a node keeps connections to on its own initiative.
const MAX_DIALED_PEERS: usize = 64;

impl Node {
    fn new(config: NodeConfig) -> Result<Node, String> {
        let local_id = config.keypair.public().to_peer_id();
        let mdns_enabled = config.mdns;
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair)
            .with_tokio()
            .with_other_transport(|key| {
                let noise: Result<_, Box<dyn std::error::Error + Send + Sync>> =
                    noise::Config::new(key).map_err(Into::into);
                noise.map(|noise| {
                    FreshPorts(tcp::tokio::Transport::new(
                        tcp::Config::default().nodelay(true),
                    ))
                    .upgrade(upgrade::Version::V1)
                    .authenticate(noise)
                    .multiplex(yamux::Config::default())
                })
            })
            .map_err(|error| format!("cannot build the TCP transport: {error}"))?
            .with_behaviour(|key| {
                let jobs = request_response::Behaviour::with_codec(
                    Codec,
                    [(PROTOCOL, ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(300))
                        .with_max_concurrent_streams(1024),
                );
                let identify = identify::Behaviour::new(
                    identify::Config::new("/flow/id/1".into(), key.public())
                        .with_agent_version(format!("flowc/{VERSION}")),
                );
                let ping = ping::Behaviour::new(ping::Config::new());
                let mut kad = kad::Behaviour::with_config(
                    local_id,
                    kad::store::MemoryStore::new(local_id),
                    kad::Config::new(StreamProtocol::new("/flow/kad/1")),
                );
                // Every flowc peer answers routing queries, also on loopback
                // and private networks where no address is "confirmed".
                kad.set_mode(Some(kad::Mode::Server));
                let mdns = if mdns_enabled {
                    mdns::tokio::Behaviour::new(mdns::Config::default(), local_id).ok()
                } else {
                    None
                };
                Behaviour {
                    jobs,
                    identify,
                    ping,
                    kad,
                    mdns: Toggle::from(mdns),
                }
            })
            .map_err(|error| format!("cannot build the peer's behaviours: {error}"))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
            .build();
        for address in config.listen {
            swarm
                .listen_on(address.clone())
                .map_err(|error| format!("cannot listen on {address}: {error}"))?;
        }
        for address in config.join {
            swarm
                .dial(address.clone())
                .map_err(|error| format!("cannot dial {address}: {error}"))?;
        }
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        Ok(Node {
            swarm,
            host: config.host,
            cores: config.cores,
            free_cores: config.cores,
            // Measured when the node starts running (`run`), so that whoever
            // started it goes on meanwhile; nothing reads it before.
            speed: 0.0,
            peers: HashMap::new(),
            core_ids: HashMap::new(),
            by_core: HashMap::new(),
            next_core_id: 1,
            modules: HashMap::new(),
            module_waiters: HashMap::new(),
            jobs: HashMap::new(),
            next_job: 1,
            wire_tasks: HashMap::new(),
            next_wire_task: 1,
            delegated_here: HashMap::new(),
            pending: HashMap::new(),
            internal_tx,
            internal_rx,
            clock: Instant::now(),
            shutting_down: false,
            bootstrap: Bootstrap::NotStarted,
            dialing: HashSet::new(),
        })
    }

    fn now(&self) -> Millis {
        self.clock.elapsed().as_millis() as Millis
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<NodeCommand>) {
        // Before any event, so every announcement carries the measured speed.
        self.speed = calibrate();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut bootstrap = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = commands.recv() => match command {
                    Some(NodeCommand::Shutdown) | None => {
                        self.shut_down().await;
                        return;
                    }
                    Some(command) => self.on_command(command),
                },
                Some(internal) = self.internal_rx.recv() => self.on_internal(internal),
                _ = tick.tick() => self.on_tick(),
                _ = bootstrap.tick() => {
                    let _ = self.swarm.behaviour_mut().kad.bootstrap();
                }
            }
        }
    }

    /// Hands back every piece computed for others and fails this peer's
    /// own phases, then lets the swarm flush for a moment.
    async fn shut_down(&mut self) {
        self.shutting_down = true;
        let keys: Vec<JobKey> = self.jobs.keys().copied().collect();
        for key in keys {
            let Some(job) = self.jobs.get(&key) else {
                continue;
            };
            match &job.role {
                JobRole::Delegate {
                    parent, wire_task, ..
                } => {
                    let (parent, run, task) = (*parent, job.run, *wire_task);
                    info!(run = ?run, "handing piece {task} back to {parent} (shutting down)");
                    self.notice(parent, Request::GiveBack { run, task });
                    self.end_job(key, None);
                }
                JobRole::Origin { .. } => {
                    let failure = PhaseFailure {
                        error: JobError::Merge {
                            message: "interrupted".into(),
                        },
                        stage: None,
                        interrupted: true,
                    };
                    self.end_job(key, Some(Err(failure)));
                }
            }
        }
        // Give the notices still under way (hand-backs, cancels, partials)
        // up to 300 ms to be answered; with none, stop at once, so a short
        // `flowc run --join` does not linger.
        let flush = tokio::time::sleep(Duration::from_millis(300));
        tokio::pin!(flush);
        while self.pending.values().any(|p| matches!(p, Pending::Notice)) {
            tokio::select! {
                _ = &mut flush => break,
                event = self.swarm.select_next_some() => match event {
                    SwarmEvent::Behaviour(BehaviourEvent::Jobs(
                        request_response::Event::Message {
                            message: request_response::Message::Request { channel, .. },
                            ..
                        },
                    )) => {
                        let _ = self.swarm.behaviour_mut().jobs.send_response(
                            channel,
                            Response::Refused { reason: "the peer is shutting down".into() },
                        );
                    }
                    SwarmEvent::Behaviour(BehaviourEvent::Jobs(
                        request_response::Event::Message {
                            message: request_response::Message::Response { request_id, .. },
                            ..
                        }
                        | request_response::Event::OutboundFailure { request_id, .. },
                    )) => {
                        self.pending.remove(&request_id);
                    }
                    _ => {}
                },
            }
        }
    }

    fn on_command(&mut self, command: NodeCommand) {
        match command {
            NodeCommand::RunPhase {
                phase,
                progress,
                reply,
            } => self.start_origin(phase, progress, reply),
            NodeCommand::ListenAddrs { reply } => {
                let id = *self.swarm.local_peer_id();
                let addresses = self
                    .swarm
                    .listeners()
                    .map(|a| a.clone().with(libp2p::multiaddr::Protocol::P2p(id)))
                    .collect();
                let _ = reply.send(addresses);
            }
            NodeCommand::KnownPeers { reply } => {
                let announced = self.peers.values().filter(|p| p.capacity.is_some()).count();
                let _ = reply.send(PeerCounts {
                    connected: self.peers.len(),
                    announced,
                    discovery_settled: self.bootstrap == Bootstrap::Done && self.dialing.is_empty(),
                });
            }
            NodeCommand::Shutdown => {}
        }
    }

    fn core_id(&mut self, peer: NetPeerId) -> PeerId {
        if let Some(id) = self.core_ids.get(&peer) {
            return *id;
        }
        let id = PeerId(self.next_core_id);
        self.next_core_id += 1;
        self.core_ids.insert(peer, id);
        self.by_core.insert(id, peer);
        id
    }

    fn my_capacity(&self) -> Capacity {
        Capacity {
            cores: self.cores,
            free: self.free_cores.min(self.cores),
            speed: self.speed,
            load: self
                .jobs
                .values()
                .filter(|j| matches!(j.role, JobRole::Delegate { .. }))
                .count() as u32,
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            version: VERSION.into(),
        }
    }

    fn send(&mut self, peer: NetPeerId, request: Request, pending: Pending) {
        let id = self.swarm.behaviour_mut().jobs.send_request(&peer, request);
        self.pending.insert(id, pending);
    }

    fn notice(&mut self, peer: NetPeerId, request: Request) {
        self.send(peer, request, Pending::Notice);
    }

    // ----- origin and delegate job instances -----

    fn start_origin(
        &mut self,
        phase: SwarmPhase,
        progress: watch::Sender<Progress>,
        reply: oneshot::Sender<Result<Option<Partial>, PhaseFailure>>,
    ) {
        let hash = phase.module.hash().0;
        self.modules
            .entry(hash)
            .or_insert_with(|| (phase.module_bytes.clone(), phase.module.clone()));
        let key = self.next_job;
        self.next_job += 1;
        // 0 slots: this peer only delegates (and merges what comes back).
        let slots = phase.workers;
        let policy = policy_from_spec(&phase.policy);
        let config = JobConfig {
            role: Role::Origin,
            depth: 0,
            policy,
            local_slots: slots,
            capacity: self.speed * f64::from(slots),
            seed: phase.seed,
        };
        let context = Arc::new(phase.context);
        let factory = Arc::new(StageWorkerFactory::new(
            self.host.clone(),
            phase.module.clone(),
            phase.stage,
            context.as_ref().clone(),
            phase.source.clone(),
        ));
        let progress_state = Progress {
            chunks_total: phase.work.coverage().chunk_count(),
            units_total: phase.work.size_of(phase.work.coverage()),
            workers: slots,
            ..Progress::default()
        };
        info!(
            run = ?phase.run,
            chunks = phase.work.coverage().chunk_count(),
            "starting a phase as its origin"
        );
        let job = JobState {
            core: PeerJob::new(config, phase.work.clone()),
            role: JobRole::Origin {
                reply: Some(reply),
                progress,
            },
            run: phase.run,
            module_hash: hash,
            module: Some(phase.module.clone()),
            stage: phase.stage,
            context,
            spec: phase.policy,
            ancestors: Vec::new(),
            seed: phase.seed,
            work: phase.work,
            source: phase.source,
            factory: Some(factory),
            merge: Some(StageInstance::new(&self.host, &phase.module)),
            local_slots: slots,
            pool: Vec::new(),
            children: HashMap::new(),
            timer: None,
            progress: progress_state,
            first_failure: None,
            candidates: Vec::new(),
            started: false,
        };
        self.jobs.insert(key, job);
        self.start_job(key);
    }

    /// Feeds the first candidates and `Start` to a job whose module is here.
    fn start_job(&mut self, key: JobKey) {
        let candidates = self.candidates_for(key);
        let now = self.now();
        let Some(job) = self.jobs.get_mut(&key) else {
            return;
        };
        job.started = true;
        if let JobRole::Delegate { wire_task, .. } = &job.role {
            info!(run = ?job.run, "piece {wire_task} started");
        }
        debug!(run = ?job.run, "starting with {} candidate(s): {candidates:?}", candidates.len());
        job.candidates = candidates.clone();
        let mut commands = handle(job, now, Event::PeersAvailable(candidates));
        commands.extend(handle(job, now, Event::Start));
        self.apply(key, commands);
    }

    fn on_delegation(
        &mut self,
        parent: NetPeerId,
        delegation: Delegation,
        channel: ResponseChannel<Response>,
    ) {
        let me = self.swarm.local_peer_id().to_bytes();
        let refusal = if self.shutting_down {
            Some("shutting down".to_string())
        } else if self.free_cores == 0 {
            Some("no free core".to_string())
        } else if delegation.ancestors.contains(&me) {
            Some("already an ancestor in this job's tree".to_string())
        } else if self.delegated_here.contains_key(&(parent, delegation.task)) {
            Some("this piece is already here".to_string())
        } else {
            None
        };
        if let Some(reason) = refusal {
            debug!(run = ?delegation.run, "declining a piece from {parent}: {reason}");
            let _ = self
                .swarm
                .behaviour_mut()
                .jobs
                .send_response(channel, Response::Rejected { reason });
            return;
        }
        let _ = self
            .swarm
            .behaviour_mut()
            .jobs
            .send_response(channel, Response::Accepted);
        let slots = self.free_cores;
        self.free_cores = 0;
        for info in self.peers.values_mut() {
            info.last_hello = None;
        }
        let key = self.next_job;
        self.next_job += 1;
        let work = Work::new(
            delegation
                .chunks
                .iter()
                .map(|&(id, size)| (ChunkId(id), size)),
        );
        info!(
            run = ?delegation.run,
            depth = delegation.depth,
            chunks = delegation.chunks.len(),
            "computing piece {} for {parent} at depth {}",
            delegation.task,
            delegation.depth
        );
        let policy = policy_from_spec(&delegation.policy);
        let config = JobConfig {
            role: Role::Delegate,
            depth: delegation.depth,
            policy,
            local_slots: slots,
            capacity: self.speed * f64::from(slots),
            seed: delegation.seed,
        };
        let mut ancestors = delegation.ancestors;
        ancestors.push(parent.to_bytes());
        let source: Arc<dyn ChunkSource> = Arc::new(RemoteChunks {
            job: key,
            internal: self.internal_tx.clone(),
            ahead: Mutex::new(HashMap::new()),
        });
        let job = JobState {
            core: PeerJob::new(config, work.clone()),
            role: JobRole::Delegate {
                parent,
                wire_task: delegation.task,
                last_alive: Instant::now(),
                slots,
            },
            run: delegation.run,
            module_hash: delegation.module,
            module: None,
            stage: delegation.stage,
            context: Arc::new(delegation.context),
            spec: delegation.policy,
            ancestors,
            seed: delegation.seed,
            progress: Progress {
                chunks_total: work.coverage().chunk_count(),
                units_total: work.size_of(work.coverage()),
                workers: slots,
                ..Progress::default()
            },
            work,
            source,
            factory: None,
            merge: None,
            local_slots: slots,
            pool: Vec::new(),
            children: HashMap::new(),
            timer: None,
            first_failure: None,
            candidates: Vec::new(),
            started: false,
        };
        self.jobs.insert(key, job);
        self.delegated_here.insert((parent, delegation.task), key);
        let hash = delegation.module;
        if let Some((_, module)) = self.modules.get(&hash).cloned() {
            self.attach_module(key, module);
        } else {
            let waiters = self.module_waiters.entry(hash).or_default();
            waiters.push(key);
            if waiters.len() == 1 {
                self.send(
                    parent,
                    Request::FetchModule { module: hash },
                    Pending::FetchModule { hash },
                );
            }
        }
    }

    fn attach_module(&mut self, key: JobKey, module: StageModule) {
        let Some(job) = self.jobs.get_mut(&key) else {
            return;
        };
        job.factory = Some(Arc::new(StageWorkerFactory::new(
            self.host.clone(),
            module.clone(),
            job.stage,
            job.context.as_ref().clone(),
            job.source.clone(),
        )));
        job.merge = Some(StageInstance::new(&self.host, &module));
        job.module = Some(module);
        self.start_job(key);
    }

    /// Carries out the core's commands for one job.
    fn apply(&mut self, key: JobKey, mut commands: Vec<Command>) {
        let mut index = 0;
        while index < commands.len() {
            let command = commands[index].clone();
            index += 1;
            let now = self.now();
            match command {
                Command::RunLocal { task, chunks } => {
                    if let Err(message) = self.run_local(key, task, &chunks) {
                        let Some(job) = self.jobs.get_mut(&key) else {
                            return;
                        };
                        let chunk = chunks.first().unwrap_or(ChunkId(0));
                        commands.extend(handle(
                            job,
                            now,
                            Event::LocalFailed {
                                task,
                                chunk,
                                message,
                            },
                        ));
                    }
                }
                Command::CancelLocal { task } => {
                    if let Some(job) = self.jobs.get_mut(&key) {
                        for worker in &job.pool {
                            if let Some((busy, cancel)) = &worker.busy
                                && *busy == task
                            {
                                cancel.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                }
                Command::Delegate {
                    task,
                    peer,
                    chunks,
                    depth,
                } => self.delegate(key, task, peer, chunks, depth),
                Command::CancelChild { task, .. } => {
                    let Some(job) = self.jobs.get_mut(&key) else {
                        return;
                    };
                    if let Some(child) = job.children.remove(&task) {
                        let run = job.run;
                        self.wire_tasks.remove(&child.wire_task);
                        self.notice(
                            child.peer,
                            Request::Cancel {
                                run,
                                task: child.wire_task,
                            },
                        );
                        self.assume_free_cores(child.peer, true);
                    }
                }
                Command::SendPartialUp { partial, .. } => {
                    let Some(job) = self.jobs.get(&key) else {
                        return;
                    };
                    if let JobRole::Delegate {
                        parent, wire_task, ..
                    } = &job.role
                    {
                        let (parent, task, run) = (*parent, *wire_task, job.run);
                        info!(run = ?run, bytes = partial.len(), "sending piece {task}'s partial up to {parent}");
                        self.notice(parent, Request::PartialUp { run, task, partial });
                    }
                    self.end_job(key, None);
                    return;
                }
                Command::Finished { partial } => {
                    self.end_job(key, Some(Ok(partial)));
                    return;
                }
                Command::Failed { error } => {
                    let Some(job) = self.jobs.get(&key) else {
                        return;
                    };
                    match &job.role {
                        JobRole::Delegate {
                            parent, wire_task, ..
                        } => {
                            let failure = remote_failure(&error, job.first_failure.as_ref());
                            let (parent, task, run) = (*parent, *wire_task, job.run);
                            warn!(run = ?run, "piece {task} failed: {}", failure.message);
                            self.notice(parent, Request::Failed { run, task, failure });
                            self.end_job(key, None);
                        }
                        JobRole::Origin { .. } => {
                            let stage = job.first_failure.clone();
                            self.end_job(
                                key,
                                Some(Err(PhaseFailure {
                                    error,
                                    stage,
                                    interrupted: false,
                                })),
                            );
                        }
                    }
                    return;
                }
                Command::ArmTimer { at } => {
                    if let Some(job) = self.jobs.get_mut(&key) {
                        job.timer = Some(job.timer.map_or(at, |t| t.min(at)));
                    }
                }
            }
        }
    }

    fn run_local(&mut self, key: JobKey, task: TaskId, chunks: &Coverage) -> Result<(), String> {
        let internal = self.internal_tx.clone();
        let Some(job) = self.jobs.get_mut(&key) else {
            return Ok(());
        };
        let assignment = Assignment {
            task,
            chunks: job.work.sizes_of(chunks),
            cancel: Arc::new(AtomicBool::new(false)),
        };
        if !job.pool.iter().any(|w| w.busy.is_none()) {
            // A cancelled run's worker finishes its current chunk before it
            // is free again; the core already counts its slot as free, so a
            // worker may be added for the while.
            let winding_down = job
                .pool
                .iter()
                .filter(|w| {
                    w.busy
                        .as_ref()
                        .is_some_and(|(_, c)| c.load(Ordering::Relaxed))
                })
                .count();
            if job.pool.len() >= job.local_slots as usize + winding_down {
                return Err("the scheduler asked for more local runs than workers".into());
            }
            let factory = job
                .factory
                .clone()
                .ok_or("the stage module is not loaded")?;
            let (events_tx, mut events_rx) = mpsc::unbounded_channel();
            let worker = spawn_worker(job.pool.len(), factory, events_tx)
                .map_err(|error| error.to_string())?;
            job.pool.push(worker);
            // Tag this worker's events with the job and forward them to
            // the actor; the task ends when the worker thread does.
            tokio::spawn(async move {
                while let Some(event) = events_rx.recv().await {
                    if internal.send(Internal::Worker(key, event)).is_err() {
                        return;
                    }
                }
            });
        }
        let worker = job
            .pool
            .iter_mut()
            .find(|w| w.busy.is_none())
            .ok_or("no idle worker")?;
        worker.busy = Some((task, assignment.cancel.clone()));
        worker
            .sender
            .send(assignment)
            .map_err(|_| "a worker thread stopped unexpectedly".to_string())
    }

    fn delegate(&mut self, key: JobKey, task: TaskId, peer: PeerId, chunks: Coverage, depth: u32) {
        let me = self.swarm.local_peer_id().to_bytes();
        let wire_task = self.next_wire_task;
        self.next_wire_task += 1;
        let target = self.by_core.get(&peer).copied();
        let now = self.now();
        let Some(job) = self.jobs.get_mut(&key) else {
            return;
        };
        let Some(target) = target else {
            let commands = handle(job, now, Event::ChildRejected { task });
            self.apply(key, commands);
            return;
        };
        let mut ancestors = job.ancestors.clone();
        ancestors.push(me);
        let delegation = Delegation {
            run: job.run,
            task: wire_task,
            module: job.module_hash,
            stage: job.stage,
            context: job.context.as_ref().clone(),
            chunks: job
                .work
                .sizes_of(&chunks)
                .into_iter()
                .map(|(id, size)| (id.0, size))
                .collect(),
            depth,
            policy: job.spec.clone(),
            ancestors,
            seed: job.seed.wrapping_mul(31).wrapping_add(wire_task),
        };
        info!(
            run = ?job.run,
            chunks = chunks.chunk_count(),
            "delegating piece {wire_task} to {target} at depth {depth}"
        );
        job.children.insert(
            task,
            ChildRun {
                wire_task,
                peer: target,
                coverage: chunks,
            },
        );
        self.wire_tasks.insert(wire_task, (key, task));
        self.send(
            target,
            Request::Delegate(delegation),
            Pending::Delegate { job: key, task },
        );
        // A child computes a piece on all its free cores: until it says
        // otherwise, it has none left for this peer's other jobs.
        self.assume_free_cores(target, false);
    }

    /// Updates what this peer believes of `peer`'s free cores between its
    /// capacity announcements: none after it was given a piece, all after
    /// it sent one back. Without this, the next phase of a job (which
    /// starts the moment the last partial arrives) would see the child as
    /// still busy and keep the whole phase here. A wrong guess costs only a
    /// rejected delegation, which puts the piece back.
    fn assume_free_cores(&mut self, peer: NetPeerId, free: bool) {
        if let Some(capacity) = self
            .peers
            .get_mut(&peer)
            .and_then(|info| info.capacity.as_mut())
        {
            capacity.free = if free { capacity.cores } else { 0 };
        }
    }

    /// Removes a job: stops its workers, cancels children still running,
    /// gives back its cores, and answers an origin's caller.
    fn end_job(&mut self, key: JobKey, answer: Option<Result<Option<Partial>, PhaseFailure>>) {
        let Some(mut job) = self.jobs.remove(&key) else {
            return;
        };
        for worker in job.pool.iter_mut() {
            if let Some((_, cancel)) = &worker.busy {
                cancel.store(true, Ordering::Relaxed);
            }
        }
        // Dropping the pool closes each worker's channel, so its thread
        // ends after the chunk it is on.
        job.pool.clear();
        let run = job.run;
        for (_, child) in job.children.drain() {
            self.wire_tasks.remove(&child.wire_task);
            self.notice(
                child.peer,
                Request::Cancel {
                    run,
                    task: child.wire_task,
                },
            );
        }
        match job.role {
            JobRole::Origin {
                reply, progress, ..
            } => {
                let _ = progress.send(job.progress.clone());
                if let (Some(reply), Some(answer)) = (reply, answer) {
                    let _ = reply.send(answer);
                }
            }
            JobRole::Delegate {
                parent,
                wire_task,
                slots,
                ..
            } => {
                self.delegated_here.remove(&(parent, wire_task));
                self.free_cores = (self.free_cores + slots).min(self.cores);
                // Tell everyone at the next tick, not the next second: a
                // parent with work left is waiting for free cores.
                for info in self.peers.values_mut() {
                    info.last_hello = None;
                }
            }
        }
    }

    // ----- events -----

    fn on_internal(&mut self, internal: Internal) {
        match internal {
            Internal::Worker(key, event) => self.on_worker_event(key, event),
            Internal::FetchChunk { job, chunk, reply } => {
                let Some(state) = self.jobs.get(&job) else {
                    let _ = reply.send(Err("the piece was cancelled".into()));
                    return;
                };
                let JobRole::Delegate {
                    parent, wire_task, ..
                } = &state.role
                else {
                    let _ = reply.send(Err("an origin reads its own chunks".into()));
                    return;
                };
                let request = Request::FetchChunks {
                    run: state.run,
                    task: *wire_task,
                    chunks: vec![chunk],
                };
                let parent = *parent;
                self.send(parent, request, Pending::FetchChunk { reply });
            }
            Internal::ChunksRead { channel, response } => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .jobs
                    .send_response(channel, response);
            }
            Internal::ModuleLoaded {
                hash,
                bytes,
                result,
            } => {
                let waiters = self.module_waiters.remove(&hash).unwrap_or_default();
                match result {
                    Ok(module) => {
                        self.modules.insert(hash, (bytes, module.clone()));
                        for key in waiters {
                            self.attach_module(key, module.clone());
                        }
                    }
                    Err(message) => {
                        for key in waiters {
                            self.fail_delegate(key, "module", &message);
                        }
                    }
                }
            }
        }
    }

    /// Fails a delegate before its core could run (a module that did not
    /// load, a parent that cannot serve it).
    fn fail_delegate(&mut self, key: JobKey, kind: &str, message: &str) {
        let Some(job) = self.jobs.get(&key) else {
            return;
        };
        if let JobRole::Delegate {
            parent, wire_task, ..
        } = &job.role
        {
            let (parent, task, run) = (*parent, *wire_task, job.run);
            warn!(run = ?run, "piece {task} cannot run: {message}");
            let failure = RemoteFailure {
                chunk: job.work.coverage().first().map_or(0, |c| c.0),
                kind: kind.into(),
                message: message.into(),
                span_id: -1,
                position: -1,
            };
            self.notice(parent, Request::Failed { run, task, failure });
        }
        self.end_job(key, None);
    }

    fn on_worker_event(&mut self, key: JobKey, event: WorkerEvent) {
        let now = self.now();
        let Some(job) = self.jobs.get_mut(&key) else {
            return;
        };
        let core_event = match event {
            WorkerEvent::ChunkDone { units, .. } => {
                job.progress.chunks_done += 1;
                job.progress.units_done += units;
                publish_progress(job);
                None
            }
            WorkerEvent::PieceDone {
                worker,
                task,
                partial,
            } => {
                release(&mut job.pool, worker);
                Some(Event::LocalDone { task, partial })
            }
            WorkerEvent::PieceFailed {
                worker,
                task,
                chunk,
                message,
            } => {
                release(&mut job.pool, worker);
                if job.first_failure.is_none() {
                    job.first_failure = job.factory.as_ref().and_then(|f| f.first_failure());
                }
                Some(Event::LocalFailed {
                    task,
                    chunk,
                    message,
                })
            }
            WorkerEvent::PieceCancelled { worker } => {
                release(&mut job.pool, worker);
                Some(Event::Tick)
            }
        };
        if let Some(event) = core_event {
            let commands = handle(job, now, event);
            self.apply(key, commands);
        }
    }

    fn on_tick(&mut self) {
        let now = self.now();
        // Capacity announcements.
        let hello_due: Vec<NetPeerId> = self
            .peers
            .iter()
            .filter(|(_, info)| {
                info.last_hello
                    .is_none_or(|at| at.elapsed() >= HELLO_INTERVAL)
            })
            .map(|(peer, _)| *peer)
            .collect();
        let mine = self.my_capacity();
        for peer in hello_due {
            if let Some(info) = self.peers.get_mut(&peer) {
                info.last_hello = Some(Instant::now());
            }
            self.send(peer, Request::Hello(mine.clone()), Pending::Hello);
        }
        let keys: Vec<JobKey> = self.jobs.keys().copied().collect();
        for key in keys {
            let candidates = self.candidates_for(key);
            let Some(job) = self.jobs.get_mut(&key) else {
                continue;
            };
            if !job.started {
                continue;
            }
            let mut commands = Vec::new();
            if candidates != job.candidates {
                job.candidates = candidates.clone();
                commands.extend(handle(job, now, Event::PeersAvailable(candidates)));
            }
            if job.timer.is_some_and(|at| at <= now) {
                job.timer = None;
                commands.extend(handle(job, now, Event::Tick));
            }
            // Heartbeats to the parent, several per timeout.
            let heartbeat = Duration::from_millis((job.spec.timeout_ms / 4).clamp(100, 2000));
            let mut alive = None;
            if let JobRole::Delegate {
                parent,
                wire_task,
                last_alive,
                ..
            } = &mut job.role
                && last_alive.elapsed() >= heartbeat
            {
                *last_alive = Instant::now();
                alive = Some((*parent, *wire_task, job.run));
            }
            if let Some((parent, task, run)) = alive {
                self.notice(parent, Request::Alive { run, task });
            }
            if !commands.is_empty() {
                self.apply(key, commands);
            }
        }
    }

    /// The idle peers job `key` may delegate to: connected, announced, with
    /// a free core, not this job's parent or ancestors.
    fn candidates_for(&mut self, key: JobKey) -> Vec<Candidate> {
        let Some(job) = self.jobs.get(&key) else {
            return Vec::new();
        };
        let excluded: HashSet<Vec<u8>> = job.ancestors.iter().cloned().collect();
        let mut found: Vec<(NetPeerId, f64, u64)> = self
            .peers
            .iter()
            .filter_map(|(peer, info)| {
                let capacity = info.capacity.as_ref()?;
                if capacity.free == 0 || excluded.contains(&peer.to_bytes()) {
                    return None;
                }
                Some((
                    *peer,
                    capacity.speed * f64::from(capacity.free),
                    info.rtt_ms,
                ))
            })
            .collect();
        found.sort_by_key(|(peer, _, _)| *peer);
        found
            .into_iter()
            .map(|(peer, capacity, latency_ms)| Candidate {
                peer: self.core_id(peer),
                capacity,
                latency_ms,
            })
            .collect()
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                let id = *self.swarm.local_peer_id();
                info!(
                    "listening on {}",
                    address.with(libp2p::multiaddr::Protocol::P2p(id))
                );
            }
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                debug!("connected to {peer_id}");
                self.dialing.remove(&peer_id);
                self.peers.entry(peer_id).or_default();
                self.core_id(peer_id);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => self.on_peer_lost(peer_id),
            // A `--join` address that cannot be reached must say so: the
            // peer would otherwise wait forever for work that never comes.
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => match peer_id {
                Some(peer) => {
                    self.dialing.remove(&peer);
                    warn!("cannot connect to {peer}: {error}");
                }
                None => warn!("cannot connect: {error}"),
            },
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                ..
            } => debug!("refused a connection from {send_back_addr}: {error}"),
            SwarmEvent::Behaviour(BehaviourEvent::Jobs(event)) => self.on_jobs_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                for address in info.listen_addrs {
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer_id, address);
                }
                // The first peer that identifies itself is where discovery
                // starts: ask it (and whom it knows) for the rest of the
                // swarm now, rather than after Kademlia's own throttle.
                if self.bootstrap == Bootstrap::NotStarted
                    && let Ok(query) = self.swarm.behaviour_mut().kad.bootstrap()
                {
                    self.bootstrap = Bootstrap::Running(query);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
                id,
                result: kad::QueryResult::Bootstrap(_),
                step,
                ..
            })) if step.last && self.bootstrap == Bootstrap::Running(id) => {
                self.bootstrap = Bootstrap::Done;
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer,
                addresses,
                ..
            })) if !self.swarm.is_connected(&peer)
                && peer != *self.swarm.local_peer_id()
                && self.peers.len() < MAX_DIALED_PEERS =>
            {
                // Discovery beyond the joined peers: connect to whoever the
                // routing table learns of, up to a bound.
                let dial = self.swarm.dial(
                    libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                        .addresses(addresses.into_vec())
                        .build(),
                );
                if dial.is_ok() {
                    self.dialing.insert(peer);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                for (peer, address) in found {
                    if !self.swarm.is_connected(&peer) && self.peers.len() < MAX_DIALED_PEERS {
                        let _ = self.swarm.dial(address);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                peer,
                result: Ok(rtt),
                ..
            })) => {
                if let Some(info) = self.peers.get_mut(&peer) {
                    info.rtt_ms = rtt.as_millis() as u64;
                }
            }
            _ => {}
        }
    }

    fn on_peer_lost(&mut self, peer: NetPeerId) {
        debug!("disconnected from {peer}");
        self.peers.remove(&peer);
        let core = self.core_id(peer);
        let now = self.now();
        let keys: Vec<JobKey> = self.jobs.keys().copied().collect();
        for key in keys {
            let Some(job) = self.jobs.get_mut(&key) else {
                continue;
            };
            if let JobRole::Delegate { parent, .. } = &job.role
                && *parent == peer
            {
                // Nobody is left to take this piece's result; the parent's
                // side re-delegates it.
                info!(run = ?job.run, "parent {peer} is gone: dropping its piece");
                self.end_job(key, None);
                continue;
            }
            let lost: Vec<TaskId> = job
                .children
                .iter()
                .filter(|(_, c)| c.peer == peer)
                .map(|(t, _)| *t)
                .collect();
            for task in &lost {
                if let Some(child) = job.children.remove(task) {
                    self.wire_tasks.remove(&child.wire_task);
                }
            }
            if !lost.is_empty() {
                warn!(run = ?job.run, "lost child {peer} with {} piece(s)", lost.len());
            }
            let commands = handle(job, now, Event::PeerLost { peer: core });
            self.apply(key, commands);
        }
    }

    fn on_jobs_event(&mut self, event: request_response::Event<Request, Response>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => self.on_request(peer, request, channel),
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some(pending) = self.pending.remove(&request_id) {
                    self.on_response(peer, pending, Ok(response));
                }
            }
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                debug!("a request to {peer} failed: {error}");
                if let Some(pending) = self.pending.remove(&request_id) {
                    self.on_response(peer, pending, Err(error.to_string()));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                debug!("an inbound request from {peer} failed: {error}");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn respond(&mut self, channel: ResponseChannel<Response>, response: Response) {
        let _ = self
            .swarm
            .behaviour_mut()
            .jobs
            .send_response(channel, response);
    }

    /// The job and core task of a piece `peer` was given under `wire_task`,
    /// if it was.
    fn child_task(&self, peer: NetPeerId, wire_task: u64) -> Option<(JobKey, TaskId)> {
        let (key, task) = *self.wire_tasks.get(&wire_task)?;
        let job = self.jobs.get(&key)?;
        let child = job.children.get(&task)?;
        (child.peer == peer).then_some((key, task))
    }

    fn on_request(
        &mut self,
        peer: NetPeerId,
        request: Request,
        channel: ResponseChannel<Response>,
    ) {
        let now = self.now();
        match request {
            Request::Malformed(reason) => {
                // The sender is buggy or hostile: drop the connection and
                // keep serving everyone else.
                warn!("malformed message from {peer}: {reason}; disconnecting it");
                drop(channel);
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Request::Hello(capacity) => {
                let info = self.peers.entry(peer).or_default();
                info.capacity = Some(capacity);
                let mine = self.my_capacity();
                self.respond(channel, Response::Capacity(mine));
            }
            Request::Delegate(delegation) => self.on_delegation(peer, delegation, channel),
            Request::Cancel { task, .. } => {
                self.respond(channel, Response::Ok);
                if let Some(key) = self.delegated_here.get(&(peer, task)).copied() {
                    info!("piece {task} cancelled by {peer}");
                    if let Some(job) = self.jobs.get_mut(&key) {
                        let commands = handle(job, now, Event::Cancel);
                        self.apply(key, commands);
                    }
                    self.end_job(key, None);
                }
            }
            Request::Alive { task, .. } => {
                self.respond(channel, Response::Ok);
                if let Some((key, task)) = self.child_task(peer, task)
                    && let Some(job) = self.jobs.get_mut(&key)
                {
                    let commands = handle(job, now, Event::ChildAlive { task });
                    self.apply(key, commands);
                }
            }
            Request::PartialUp { task, partial, .. } => {
                self.respond(channel, Response::Ok);
                let Some((key, core_task)) = self.child_task(peer, task) else {
                    debug!("a partial from {peer} for piece {task}, which it does not hold");
                    return;
                };
                self.assume_free_cores(peer, true);
                self.wire_tasks.remove(&task);
                let Some(job) = self.jobs.get_mut(&key) else {
                    return;
                };
                let Some(child) = job.children.remove(&core_task) else {
                    return;
                };
                job.progress.chunks_done += child.coverage.chunk_count();
                job.progress.units_done += job.work.size_of(&child.coverage);
                publish_progress(job);
                let commands = handle(
                    job,
                    now,
                    Event::PartialFromChild {
                        task: core_task,
                        coverage: child.coverage,
                        partial,
                    },
                );
                self.apply(key, commands);
            }
            Request::Failed { task, failure, .. } => {
                self.respond(channel, Response::Ok);
                let Some((key, core_task)) = self.child_task(peer, task) else {
                    return;
                };
                self.wire_tasks.remove(&task);
                let Some(job) = self.jobs.get_mut(&key) else {
                    return;
                };
                job.children.remove(&core_task);
                if job.first_failure.is_none() {
                    job.first_failure = Some(stage_failure_of(job.stage, &failure));
                }
                let error = JobError::Runtime {
                    chunk: ChunkId(failure.chunk),
                    message: failure.message,
                };
                let commands = handle(
                    job,
                    now,
                    Event::ChildFailed {
                        task: core_task,
                        error,
                    },
                );
                self.apply(key, commands);
            }
            Request::GiveBack { task, .. } => {
                self.respond(channel, Response::Ok);
                let Some((key, core_task)) = self.child_task(peer, task) else {
                    return;
                };
                info!("{peer} handed piece {task} back");
                self.wire_tasks.remove(&task);
                let Some(job) = self.jobs.get_mut(&key) else {
                    return;
                };
                job.children.remove(&core_task);
                let commands = handle(job, now, Event::ChildRejected { task: core_task });
                self.apply(key, commands);
            }
            Request::FetchModule { module } => {
                let response = match self.modules.get(&module) {
                    Some((bytes, _)) => Response::Module(bytes.as_ref().clone()),
                    None => Response::Refused {
                        reason: "no module with that hash here".into(),
                    },
                };
                self.respond(channel, response);
            }
            Request::FetchChunks { task, chunks, .. } => {
                let Some((key, core_task)) = self.child_task(peer, task) else {
                    self.respond(
                        channel,
                        Response::Refused {
                            reason: "no such piece for this peer".into(),
                        },
                    );
                    return;
                };
                let Some(job) = self.jobs.get(&key) else {
                    return;
                };
                let allowed = job
                    .children
                    .get(&core_task)
                    .is_some_and(|c| chunks.iter().all(|&id| c.coverage.contains(ChunkId(id))));
                if !allowed {
                    warn!("{peer} asked for chunks outside its piece {task}");
                    self.respond(
                        channel,
                        Response::Refused {
                            reason: "chunks outside the piece".into(),
                        },
                    );
                    return;
                }
                let source = job.source.clone();
                let internal = self.internal_tx.clone();
                // Reading may block (a file, or this peer's own parent):
                // off the actor's thread.
                tokio::task::spawn_blocking(move || {
                    let mut data = Vec::with_capacity(chunks.len());
                    let mut refusal = None;
                    for id in chunks {
                        match source.read(ChunkId(id)) {
                            Ok(bytes) if bytes.bytes.len() as u64 <= MAX_CHUNK_BYTES => {
                                data.push(ChunkData {
                                    id,
                                    bytes: bytes.bytes,
                                    first: bytes.first,
                                });
                            }
                            Ok(_) => {
                                refusal = Some(format!(
                                    "chunk {id} is larger than {} MiB; lower the policy's `split`",
                                    MAX_CHUNK_BYTES >> 20
                                ));
                                break;
                            }
                            Err(message) => {
                                refusal = Some(message);
                                break;
                            }
                        }
                    }
                    let response = match refusal {
                        Some(reason) => Response::Refused { reason },
                        None => Response::Chunks(data),
                    };
                    let _ = internal.send(Internal::ChunksRead { channel, response });
                });
            }
        }
    }

    fn on_response(
        &mut self,
        peer: NetPeerId,
        pending: Pending,
        response: Result<Response, String>,
    ) {
        let now = self.now();
        match pending {
            Pending::Hello => {
                if let Ok(Response::Capacity(capacity)) = response
                    && capacity.version == VERSION
                {
                    let info = self.peers.entry(peer).or_default();
                    info.capacity = Some(capacity);
                }
            }
            Pending::Delegate { job: key, task } => {
                let Some(job) = self.jobs.get_mut(&key) else {
                    return;
                };
                let event = match response {
                    Ok(Response::Accepted) => Event::ChildAccepted { task },
                    other => {
                        debug!("{peer} declined a piece: {other:?}");
                        if let Some(child) = job.children.remove(&task) {
                            self.wire_tasks.remove(&child.wire_task);
                        }
                        Event::ChildRejected { task }
                    }
                };
                let commands = handle(job, now, event);
                self.apply(key, commands);
            }
            Pending::FetchModule { hash } => match response {
                Ok(Response::Module(bytes)) if blake3::hash(&bytes).as_bytes() == &hash => {
                    let host = self.host.clone();
                    let internal = self.internal_tx.clone();
                    let bytes = Arc::new(bytes);
                    // Compiling a module takes a while: off the actor's thread.
                    tokio::task::spawn_blocking(move || {
                        let result = host.load_stage(&bytes).map_err(|e| e.to_string());
                        let _ = internal.send(Internal::ModuleLoaded {
                            hash,
                            bytes,
                            result,
                        });
                    });
                }
                Ok(Response::Module(_)) => {
                    warn!("{peer} sent a module that does not match its hash");
                    let _ = self.internal_tx.send(Internal::ModuleLoaded {
                        hash,
                        bytes: Arc::new(Vec::new()),
                        result: Err("the module's bytes do not match its hash".into()),
                    });
                }
                other => {
                    let _ = self.internal_tx.send(Internal::ModuleLoaded {
                        hash,
                        bytes: Arc::new(Vec::new()),
                        result: Err(format!("the parent did not send the module: {other:?}")),
                    });
                }
            },
            Pending::FetchChunk { reply } => {
                let answer = match response {
                    Ok(Response::Chunks(mut chunks)) if chunks.len() == 1 => {
                        let chunk = chunks.remove(0);
                        Ok(ChunkBytes {
                            bytes: chunk.bytes,
                            first: chunk.first,
                        })
                    }
                    Ok(Response::Refused { reason }) => Err(reason),
                    Ok(_) => Err("the parent answered a chunk request with something else".into()),
                    Err(error) => Err(format!("fetching a chunk failed: {error}")),
                };
                let _ = reply.send(answer);
            }
            Pending::Notice => {}
        }
    }
}

/// Gives an event to a job's core with the job's own merge.
fn handle(job: &mut JobState, now: Millis, event: Event) -> Vec<Command> {
    let mut merge = JobMerge {
        instance: job.merge.as_mut(),
        stage: job.stage,
        failure: &mut job.first_failure,
    };
    job.core.handle(now, event, &mut merge)
}

fn publish_progress(job: &JobState) {
    if let JobRole::Origin { progress, .. } = &job.role {
        let mut snapshot = job.progress.clone();
        snapshot.busy_workers = job.pool.iter().filter(|w| w.busy.is_some()).count() as u32;
        let _ = progress.send(snapshot);
    }
}

/// The core's policy from the one that travels.
pub fn policy_from_spec(spec: &PolicySpec) -> Policy {
    let rule = spec.rule.clone();
    Policy {
        split: Policy::default().split,
        fanout: spec.fanout.max(1),
        depth: spec.depth,
        delegate_when: if rule.ops.is_empty() {
            DelegatePredicate::default_rule()
        } else {
            DelegatePredicate::new(move |context| {
                let vars = flow_runtime::policy::PolicyVars {
                    work: context.work,
                    chunks: context.chunks,
                    depth: context.depth,
                    peers: context.peers,
                    capacity: context.capacity,
                };
                rule.holds(&vars).unwrap_or(false)
            })
        },
        select: match spec.select {
            1 => Select::Latency,
            2 => Select::Random,
            _ => Select::Capacity,
        },
        retries: spec.retries,
        timeout_ms: spec.timeout_ms.max(100),
        replicate: spec.replicate.clamp(1, 3),
        speculate: true,
    }
}

/// A failure as it travels up.
fn remote_failure(error: &JobError, stage: Option<&StageFailure>) -> RemoteFailure {
    let chunk = match error {
        JobError::Runtime { chunk, .. } => chunk.0,
        _ => 0,
    };
    match stage {
        Some(StageFailure::Stage {
            chunk: failed,
            error: stage_error,
        }) => match &stage_error.failure {
            Failure::Runtime(record) => RemoteFailure {
                chunk: failed.map_or(chunk, |c| c.0),
                kind: record.kind.clone(),
                message: record.message.clone(),
                span_id: record.span_id,
                position: record.position,
            },
            other => RemoteFailure {
                chunk: failed.map_or(chunk, |c| c.0),
                kind: "stage".into(),
                message: other.to_string(),
                span_id: -1,
                position: -1,
            },
        },
        Some(StageFailure::Input { chunk, message }) => RemoteFailure {
            chunk: chunk.0,
            kind: "input".into(),
            message: message.clone(),
            span_id: -1,
            position: -1,
        },
        None => RemoteFailure {
            chunk,
            kind: match error {
                JobError::Merge { .. } => "merge".into(),
                _ => "stage".into(),
            },
            message: error.to_string(),
            span_id: -1,
            position: -1,
        },
    }
}

/// A failure from below as the origin shows it.
fn stage_failure_of(stage: u32, failure: &RemoteFailure) -> StageFailure {
    let chunk = ChunkId(failure.chunk);
    if failure.kind == "input" {
        return StageFailure::Input {
            chunk,
            message: failure.message.clone(),
        };
    }
    let failure_kind = if failure.span_id >= 0 {
        Failure::Runtime(ErrorRecord {
            kind: failure.kind.clone(),
            message: failure.message.clone(),
            span_id: failure.span_id,
            position: failure.position,
        })
    } else {
        Failure::Trap {
            code: None,
            message: format!("{} (on another peer)", failure.message),
        }
    };
    StageFailure::Stage {
        chunk: Some(chunk),
        error: StageError {
            stage,
            step: Step::Process,
            failure: failure_kind,
        },
    }
}

/// A short calibration stage: this core's speed in MiB per second of
/// hashing, so peers of different speeds get work in proportion.
fn calibrate() -> f64 {
    let data = vec![0x5au8; 4 << 20];
    let started = Instant::now();
    let mut rounds = 0u32;
    while rounds < 2 || started.elapsed() < Duration::from_millis(20) {
        std::hint::black_box(blake3::hash(std::hint::black_box(&data)));
        rounds += 1;
    }
    let seconds = started.elapsed().as_secs_f64().max(1e-6);
    f64::from(rounds) * 4.0 / seconds
}
