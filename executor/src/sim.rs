//! A deterministic discrete-event simulator of one job phase over a swarm.
//!
//! It drives one [`PeerJob`] per simulated peer taking part (the origin, and
//! every delegate a parent recruits), with a virtual clock, peers of
//! different speeds, per-link latency, and a fault schedule drawn from the
//! same seed: peers crash (noticed by their parent or silent), stall (their
//! messages are held past the timeout, so their partials arrive late),
//! partials are delivered twice, and a chunk may be "poisoned" so computing
//! it is a run-time error. Events at the same instant are ordered by the
//! order they were scheduled in, so a seed replays identically.
//!
//! The simulated partial is the sorted list of the chunk ids it covers and
//! the merge is a multiset union, so the origin's result shows any chunk
//! counted twice or missed: it must be exactly `0..n`.
//!
//! The simulator models transport behaviour the core leaves to drivers: a
//! peer hosts one delegate at a time and declines further requests,
//! heartbeats of live delegates reach their parent every `heartbeat_ms`, and
//! each instance is told its idle neighbours every `discovery_ms`.

use std::collections::BTreeMap;

use crate::coverage::{ChunkId, Coverage};
use crate::peer_job::{
    Candidate, Command, Event, JobConfig, JobError, Merge, MergeError, Millis, Partial, PeerId,
    PeerJob, Role, Stats, TaskId,
};
use crate::policy::Policy;
use crate::rng::SplitMix64;
use crate::work::Work;

/// The shape of a simulated run. Peer 0 is the origin.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seeds the swarm (speeds, latencies, neighbours), the faults and the
    /// cores' random choices.
    pub seed: u64,
    /// Number of peers, the origin included.
    pub peers: usize,
    /// Size of each chunk of the phase, in units (bytes or items).
    pub chunk_sizes: Vec<u64>,
    /// The job's policy, used on every peer.
    pub policy: Policy,
    /// How many other peers each peer can reach.
    pub neighbours: usize,
    /// Local slots of the origin (delegates have one).
    pub origin_slots: u32,
    /// Peer speeds are drawn from this range, in units per millisecond
    /// times 1000 (so 1000 is one unit per millisecond).
    pub speed_milli: (u64, u64),
    /// One-way latency of each peer's link, drawn from this range; a
    /// message between two peers takes the sum of both.
    pub latency_ms: (u64, u64),
    /// Interval of heartbeats from a delegate to its parent.
    pub heartbeat_ms: u64,
    /// Interval of idle-neighbour reports to every instance.
    pub discovery_ms: u64,
    /// The faults to draw.
    pub faults: FaultRates,
    /// The simulation stops here and reports [`SimOutcome::Stalled`].
    pub max_time: Millis,
}

/// Probabilities of the faults drawn for a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultRates {
    /// Each non-origin peer crashes (at a time in `0..horizon_ms`) with this
    /// probability.
    pub crash: f64,
    /// A crash is noticed by the parents (as `PeerLost`) with this
    /// probability; otherwise only the timeout finds it.
    pub crash_noticed: f64,
    /// Each non-origin peer stalls once, for longer than the timeout, with
    /// this probability.
    pub stall: f64,
    /// Each partial sent up is delivered a second time with this
    /// probability.
    pub duplicate: f64,
    /// With this probability one chunk is poisoned.
    pub poison: f64,
    /// Crashes and stalls start within this time.
    pub horizon_ms: u64,
}

impl FaultRates {
    /// No faults at all.
    pub fn none() -> Self {
        FaultRates {
            crash: 0.0,
            crash_noticed: 0.0,
            stall: 0.0,
            duplicate: 0.0,
            poison: 0.0,
            horizon_ms: 0,
        }
    }
}

impl SimConfig {
    /// A small swarm with no faults, to adjust from.
    pub fn new(seed: u64, peers: usize, chunk_sizes: Vec<u64>, policy: Policy) -> Self {
        SimConfig {
            seed,
            peers,
            chunk_sizes,
            policy,
            neighbours: 8,
            origin_slots: 1,
            speed_milli: (500, 4000),
            latency_ms: (1, 20),
            heartbeat_ms: 200,
            discovery_ms: 250,
            faults: FaultRates::none(),
            max_time: 10_000_000,
        }
    }
}

/// How a simulated job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimOutcome {
    /// The origin finished; the chunk ids its merged partial covers,
    /// sorted, with repetitions.
    Finished(Vec<u32>),
    /// The origin reported this error.
    Failed(JobError),
    /// Nothing was left to happen, or `max_time` passed, and the origin had
    /// not finished: a liveness bug.
    Stalled,
}

/// One accepted delegation, as recorded in the tree the job grew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeEdge {
    /// The delegating peer.
    pub parent: PeerId,
    /// The peer that accepted.
    pub child: PeerId,
    /// The child's depth (origin 0).
    pub depth: u32,
    /// How many chunks it was given.
    pub chunks: u64,
    /// When it accepted.
    pub at: Millis,
}

/// Everything a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimReport {
    /// How the job ended.
    pub outcome: SimOutcome,
    /// Virtual time at the end.
    pub finished_at: Millis,
    /// Accepted delegations, in order.
    pub tree: Vec<TreeEdge>,
    /// The origin's counters.
    pub origin_stats: Stats,
    /// The chunk whose computation fails, if the schedule poisoned one.
    pub poisoned: Option<ChunkId>,
    /// Peers that crashed during the run.
    pub crashed: Vec<PeerId>,
    /// Events processed.
    pub events: u64,
    /// A digest of every event and command, to check replays.
    pub digest: u64,
}

impl SimReport {
    /// The deepest level the tree reached.
    pub fn max_depth(&self) -> u32 {
        self.tree.iter().map(|e| e.depth).max().unwrap_or(0)
    }
}

/// The simulator's merge: partials are little-endian `u32` chunk ids in
/// ascending order, merged as multisets.
#[derive(Debug, Default, Clone, Copy)]
pub struct ChunkListMerge;

impl ChunkListMerge {
    /// The partial of a computed coverage.
    pub fn encode(ids: &[u32]) -> Partial {
        ids.iter().flat_map(|id| id.to_le_bytes()).collect()
    }

    /// The chunk ids of a partial.
    pub fn decode(partial: &[u8]) -> Result<Vec<u32>, MergeError> {
        if !partial.len().is_multiple_of(4) {
            return Err(MergeError(format!(
                "a partial of {} bytes is not a list of u32",
                partial.len()
            )));
        }
        Ok(partial
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

impl Merge for ChunkListMerge {
    fn merge(&mut self, left: Partial, right: Partial) -> Result<Partial, MergeError> {
        let a = ChunkListMerge::decode(&left)?;
        let b = ChunkListMerge::decode(&right)?;
        let mut merged = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            match (a.get(i), b.get(j)) {
                (Some(&x), Some(&y)) if x <= y => {
                    merged.push(x);
                    i += 1;
                }
                (Some(_), Some(&y)) | (None, Some(&y)) => {
                    merged.push(y);
                    j += 1;
                }
                (Some(&x), None) => {
                    merged.push(x);
                    i += 1;
                }
                (None, None) => break,
            }
        }
        Ok(ChunkListMerge::encode(&merged))
    }
}

#[derive(Debug, Clone)]
struct SimPeer {
    speed_milli: u64,
    latency: u64,
    neighbours: Vec<usize>,
    crash_at: Option<Millis>,
    crash_noticed: bool,
    stall: Option<(Millis, Millis)>,
    /// The live delegate instance this peer hosts.
    hosting: Option<usize>,
}

#[derive(Debug)]
struct Instance {
    peer: usize,
    job: PeerJob,
    parent: Option<(usize, TaskId)>,
    local_runs: BTreeMap<TaskId, Coverage>,
    children: BTreeMap<TaskId, usize>,
    child_peers: BTreeMap<TaskId, usize>,
}

#[derive(Debug, Clone)]
enum SimEvent {
    Deliver {
        to: usize,
        event: Event,
    },
    DelegateRequest {
        from: usize,
        task: TaskId,
        peer: usize,
        chunks: Coverage,
        depth: u32,
    },
    LocalFinish {
        inst: usize,
        task: TaskId,
    },
    Heartbeat {
        inst: usize,
    },
    Discovery {
        inst: usize,
    },
    Crash {
        peer: usize,
    },
}

/// Runs one simulated job phase to its end.
pub fn simulate(config: &SimConfig) -> SimReport {
    Sim::new(config).run()
}

struct Sim<'a> {
    config: &'a SimConfig,
    peers: Vec<SimPeer>,
    instances: Vec<Instance>,
    queue: BTreeMap<(Millis, u64), SimEvent>,
    seq: u64,
    now: Millis,
    rng: SplitMix64,
    merge: ChunkListMerge,
    poisoned: Option<ChunkId>,
    tree: Vec<TreeEdge>,
    outcome: Option<SimOutcome>,
    events: u64,
    digest: u64,
}

const FNV_PRIME: u64 = 0x0000_0100_0000_01B3;

impl<'a> Sim<'a> {
    fn new(config: &'a SimConfig) -> Self {
        let mut rng = SplitMix64::new(config.seed);
        let mut swarm_rng = rng.fork();
        let mut fault_rng = rng.fork();
        let count = config.peers.max(1);
        let faults = config.faults;
        let mut peers = Vec::with_capacity(count);
        for index in 0..count {
            let mut neighbours = Vec::new();
            let wanted = config.neighbours.min(count - 1);
            while neighbours.len() < wanted {
                let other = swarm_rng.below(count as u64) as usize;
                if other != index && other != 0 && !neighbours.contains(&other) {
                    neighbours.push(other);
                }
                if count <= 2 && neighbours.len() + 1 >= count {
                    break;
                }
                // With the origin excluded, a peer can reach at most
                // `count - 2` others; stop rather than loop forever.
                if neighbours.len() >= count.saturating_sub(2) {
                    break;
                }
            }
            neighbours.sort_unstable();
            let origin = index == 0;
            let crash_at = (!origin && fault_rng.chance(faults.crash))
                .then(|| fault_rng.below(faults.horizon_ms.max(1)));
            let crash_noticed = fault_rng.chance(faults.crash_noticed);
            let stall = (!origin && fault_rng.chance(faults.stall)).then(|| {
                let start = fault_rng.below(faults.horizon_ms.max(1));
                let length = config.policy.timeout_ms
                    + fault_rng.between(1, config.policy.timeout_ms.max(1) * 2);
                (start, start + length)
            });
            peers.push(SimPeer {
                speed_milli: swarm_rng
                    .between(config.speed_milli.0, config.speed_milli.1)
                    .max(1),
                latency: swarm_rng.between(config.latency_ms.0, config.latency_ms.1),
                neighbours,
                crash_at,
                crash_noticed,
                stall,
                hosting: None,
            });
        }
        let poisoned = (fault_rng.chance(faults.poison) && !config.chunk_sizes.is_empty())
            .then(|| ChunkId(fault_rng.below(config.chunk_sizes.len() as u64) as u32));
        Sim {
            config,
            peers,
            instances: Vec::new(),
            queue: BTreeMap::new(),
            seq: 0,
            now: 0,
            rng,
            merge: ChunkListMerge,
            poisoned,
            tree: Vec::new(),
            outcome: None,
            events: 0,
            digest: 0xCBF2_9CE4_8422_2325,
        }
    }

    fn mix(&mut self, value: u64) {
        for byte in value.to_le_bytes() {
            self.digest = (self.digest ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
        }
    }

    fn schedule(&mut self, at: Millis, event: SimEvent) {
        self.queue.insert((at, self.seq), event);
        self.seq += 1;
    }

    fn crashed(&self, peer: usize, at: Millis) -> bool {
        self.peers
            .get(peer)
            .and_then(|p| p.crash_at)
            .is_some_and(|c| at >= c)
    }

    /// When a message sent now from `from` to `to` arrives.
    fn arrival(&self, from: usize, to: usize) -> Millis {
        let latency = self.peers.get(from).map_or(0, |p| p.latency)
            + self.peers.get(to).map_or(0, |p| p.latency);
        let departure = match self.peers.get(from).and_then(|p| p.stall) {
            Some((start, end)) if self.now >= start && self.now < end => end,
            _ => self.now,
        };
        departure + latency.max(1)
    }

    fn idle_neighbours(&self, peer: usize) -> Vec<Candidate> {
        let Some(me) = self.peers.get(peer) else {
            return Vec::new();
        };
        me.neighbours
            .iter()
            .filter_map(|&n| {
                let other = self.peers.get(n)?;
                let known_dead =
                    other.crash_at.is_some_and(|c| self.now >= c) && other.crash_noticed;
                (other.hosting.is_none() && !known_dead).then(|| Candidate {
                    peer: PeerId(n as u64),
                    capacity: other.speed_milli as f64 / 1000.0,
                    latency_ms: 2 * (me.latency + other.latency),
                })
            })
            .collect()
    }

    fn spawn(
        &mut self,
        peer: usize,
        role: Role,
        depth: u32,
        work: Work,
        parent: Option<(usize, TaskId)>,
    ) -> usize {
        let slots = if role == Role::Origin {
            self.config.origin_slots
        } else {
            1
        };
        let capacity = self
            .peers
            .get(peer)
            .map_or(1.0, |p| p.speed_milli as f64 / 1000.0);
        let job = PeerJob::new(
            JobConfig {
                role,
                depth,
                policy: self.config.policy.clone(),
                local_slots: slots,
                capacity,
                seed: self.rng.next_u64(),
            },
            work,
        );
        self.instances.push(Instance {
            peer,
            job,
            parent,
            local_runs: BTreeMap::new(),
            children: BTreeMap::new(),
            child_peers: BTreeMap::new(),
        });
        let inst = self.instances.len() - 1;
        let peers = self.idle_neighbours(peer);
        self.feed(inst, Event::PeersAvailable(peers));
        self.feed(inst, Event::Start);
        if parent.is_some() {
            self.schedule(
                self.now + self.config.heartbeat_ms.max(1),
                SimEvent::Heartbeat { inst },
            );
        }
        self.schedule(
            self.now + self.config.discovery_ms.max(1),
            SimEvent::Discovery { inst },
        );
        inst
    }

    fn live(&self, inst: usize) -> bool {
        self.instances
            .get(inst)
            .is_some_and(|i| !i.job.is_done() && !self.crashed(i.peer, self.now))
    }

    /// Hands an event to an instance's core and carries out its commands.
    fn feed(&mut self, inst: usize, event: Event) {
        let Some(instance) = self.instances.get_mut(inst) else {
            return;
        };
        if self
            .peers
            .get(instance.peer)
            .and_then(|p| p.crash_at)
            .is_some_and(|c| self.now >= c)
        {
            return;
        }
        let kind = event_kind(&event);
        let commands = instance.job.handle(self.now, event, &mut self.merge);
        self.mix(inst as u64);
        self.mix(kind);
        for command in commands {
            self.carry_out(inst, command);
        }
    }

    fn carry_out(&mut self, inst: usize, command: Command) {
        let Some(instance) = self.instances.get(inst) else {
            return;
        };
        let peer = instance.peer;
        let parent = instance.parent;
        match command {
            Command::RunLocal { task, chunks } => {
                self.mix(100 + task.0);
                let size: u64 = chunks
                    .chunks()
                    .map(|c| {
                        self.config
                            .chunk_sizes
                            .get(c.0 as usize)
                            .copied()
                            .unwrap_or(0)
                    })
                    .sum();
                let speed = self.peers.get(peer).map_or(1000, |p| p.speed_milli);
                let duration = (size * 1000).div_ceil(speed).max(1);
                if let Some(bad) = self.poisoned.filter(|c| chunks.contains(*c)) {
                    self.schedule(
                        self.now + duration / 2 + 1,
                        SimEvent::Deliver {
                            to: inst,
                            event: Event::LocalFailed {
                                task,
                                chunk: bad,
                                message: "division by zero".to_string(),
                            },
                        },
                    );
                } else {
                    self.schedule(self.now + duration, SimEvent::LocalFinish { inst, task });
                }
                if let Some(instance) = self.instances.get_mut(inst) {
                    instance.local_runs.insert(task, chunks);
                }
            }
            Command::CancelLocal { task } => {
                self.mix(200 + task.0);
                if let Some(instance) = self.instances.get_mut(inst) {
                    instance.local_runs.remove(&task);
                }
            }
            Command::Delegate {
                task,
                peer: child,
                chunks,
                depth,
            } => {
                self.mix(300 + task.0);
                let child = child.0 as usize;
                if let Some(instance) = self.instances.get_mut(inst) {
                    instance.child_peers.insert(task, child);
                }
                let at = self.arrival(peer, child);
                self.schedule(
                    at,
                    SimEvent::DelegateRequest {
                        from: inst,
                        task,
                        peer: child,
                        chunks,
                        depth,
                    },
                );
            }
            Command::CancelChild { task, peer: child } => {
                self.mix(400 + task.0);
                let target = self
                    .instances
                    .get(inst)
                    .and_then(|i| i.children.get(&task))
                    .copied();
                if let Some(target) = target {
                    let at = self.arrival(peer, child.0 as usize);
                    self.schedule(
                        at,
                        SimEvent::Deliver {
                            to: target,
                            event: Event::Cancel,
                        },
                    );
                }
            }
            Command::SendPartialUp { coverage, partial } => {
                self.mix(500);
                self.release(peer, inst);
                if let Some((up, task)) = parent {
                    let up_peer = self.instances.get(up).map_or(0, |i| i.peer);
                    let at = self.arrival(peer, up_peer);
                    let event = Event::PartialFromChild {
                        task,
                        coverage,
                        partial,
                    };
                    if self.rng.chance(self.config.faults.duplicate) {
                        let again = at + self.rng.between(1, self.config.policy.timeout_ms.max(1));
                        self.schedule(
                            again,
                            SimEvent::Deliver {
                                to: up,
                                event: event.clone(),
                            },
                        );
                    }
                    self.schedule(at, SimEvent::Deliver { to: up, event });
                }
            }
            Command::Finished { partial } => {
                self.mix(600);
                let ids = match partial.map(|p| ChunkListMerge::decode(&p)) {
                    None => Ok(Vec::new()),
                    Some(decoded) => decoded,
                };
                self.outcome = Some(match ids {
                    Ok(ids) => SimOutcome::Finished(ids),
                    Err(e) => SimOutcome::Failed(JobError::Merge { message: e.0 }),
                });
            }
            Command::Failed { error } => {
                self.mix(700);
                self.release(peer, inst);
                match parent {
                    None => self.outcome = Some(SimOutcome::Failed(error)),
                    Some((up, task)) => {
                        let up_peer = self.instances.get(up).map_or(0, |i| i.peer);
                        let at = self.arrival(peer, up_peer);
                        self.schedule(
                            at,
                            SimEvent::Deliver {
                                to: up,
                                event: Event::ChildFailed { task, error },
                            },
                        );
                    }
                }
            }
            Command::ArmTimer { at } => {
                self.mix(800 + at);
                self.schedule(
                    at.max(self.now),
                    SimEvent::Deliver {
                        to: inst,
                        event: Event::Tick,
                    },
                );
            }
        }
    }

    /// Frees a peer whose delegate instance ended.
    fn release(&mut self, peer: usize, inst: usize) {
        if let Some(p) = self.peers.get_mut(peer)
            && p.hosting == Some(inst)
        {
            p.hosting = None;
        }
    }

    fn run(mut self) -> SimReport {
        for (index, peer) in self.peers.iter().enumerate() {
            if let Some(at) = peer.crash_at {
                self.queue
                    .insert((at, self.seq), SimEvent::Crash { peer: index });
                self.seq += 1;
            }
        }
        let work = Work::from_sizes(&self.config.chunk_sizes);
        self.spawn(0, Role::Origin, 0, work, None);
        while self.outcome.is_none() {
            let Some(((at, _), event)) = self.queue.pop_first() else {
                break;
            };
            if at > self.config.max_time {
                break;
            }
            self.now = at;
            self.events += 1;
            self.mix(at);
            self.step(event);
        }
        let crashed = self
            .peers
            .iter()
            .enumerate()
            .filter(|(_, p)| p.crash_at.is_some_and(|c| c <= self.now))
            .map(|(i, _)| PeerId(i as u64))
            .collect();
        SimReport {
            outcome: self.outcome.clone().unwrap_or(SimOutcome::Stalled),
            finished_at: self.now,
            tree: self.tree.clone(),
            origin_stats: self
                .instances
                .first()
                .map(|i| i.job.stats().clone())
                .unwrap_or_default(),
            poisoned: self.poisoned,
            crashed,
            events: self.events,
            digest: self.digest,
        }
    }

    fn step(&mut self, event: SimEvent) {
        match event {
            SimEvent::Deliver { to, event } => self.feed(to, event),
            SimEvent::LocalFinish { inst, task } => {
                let chunks = self
                    .instances
                    .get_mut(inst)
                    .and_then(|i| i.local_runs.remove(&task));
                if let Some(chunks) = chunks {
                    let ids: Vec<u32> = chunks.chunks().map(|c| c.0).collect();
                    let partial = ChunkListMerge::encode(&ids);
                    self.feed(inst, Event::LocalDone { task, partial });
                }
            }
            SimEvent::DelegateRequest {
                from,
                task,
                peer,
                chunks,
                depth,
            } => {
                if self.crashed(peer, self.now) {
                    return;
                }
                let from_peer = self.instances.get(from).map_or(0, |i| i.peer);
                let back = self.arrival(peer, from_peer);
                let busy = peer == 0 || self.peers.get(peer).is_none_or(|p| p.hosting.is_some());
                if busy {
                    self.schedule(
                        back,
                        SimEvent::Deliver {
                            to: from,
                            event: Event::ChildRejected { task },
                        },
                    );
                    return;
                }
                let sizes: Vec<(ChunkId, u64)> = chunks
                    .chunks()
                    .map(|c| {
                        (
                            c,
                            self.config
                                .chunk_sizes
                                .get(c.0 as usize)
                                .copied()
                                .unwrap_or(0),
                        )
                    })
                    .collect();
                self.tree.push(TreeEdge {
                    parent: PeerId(from_peer as u64),
                    child: PeerId(peer as u64),
                    depth,
                    chunks: sizes.len() as u64,
                    at: self.now,
                });
                let child = self.spawn(
                    peer,
                    Role::Delegate,
                    depth,
                    Work::new(sizes),
                    Some((from, task)),
                );
                if let Some(p) = self.peers.get_mut(peer)
                    && !self.instances.get(child).is_some_and(|i| i.job.is_done())
                {
                    p.hosting = Some(child);
                }
                if let Some(parent) = self.instances.get_mut(from) {
                    parent.children.insert(task, child);
                }
                self.schedule(
                    back,
                    SimEvent::Deliver {
                        to: from,
                        event: Event::ChildAccepted { task },
                    },
                );
            }
            SimEvent::Heartbeat { inst } => {
                if !self.live(inst) {
                    return;
                }
                let Some(instance) = self.instances.get(inst) else {
                    return;
                };
                let peer = instance.peer;
                if let Some((up, task)) = instance.parent {
                    let up_peer = self.instances.get(up).map_or(0, |i| i.peer);
                    let at = self.arrival(peer, up_peer);
                    self.schedule(
                        at,
                        SimEvent::Deliver {
                            to: up,
                            event: Event::ChildAlive { task },
                        },
                    );
                }
                self.schedule(
                    self.now + self.config.heartbeat_ms.max(1),
                    SimEvent::Heartbeat { inst },
                );
            }
            SimEvent::Discovery { inst } => {
                if !self.live(inst) {
                    return;
                }
                let peer = self.instances.get(inst).map_or(0, |i| i.peer);
                let peers = self.idle_neighbours(peer);
                self.feed(inst, Event::PeersAvailable(peers));
                self.schedule(
                    self.now + self.config.discovery_ms.max(1),
                    SimEvent::Discovery { inst },
                );
            }
            SimEvent::Crash { peer } => {
                self.mix(900 + peer as u64);
                if let Some(p) = self.peers.get_mut(peer) {
                    p.hosting = None;
                }
                let noticed = self.peers.get(peer).is_some_and(|p| p.crash_noticed);
                if !noticed {
                    return;
                }
                // Every live instance delegating to the crashed peer loses
                // its connection to it shortly after.
                let parents: Vec<usize> = self
                    .instances
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| !i.job.is_done() && i.child_peers.values().any(|&p| p == peer))
                    .map(|(index, _)| index)
                    .collect();
                for parent in parents {
                    let at = self.now + 2 * self.peers.get(peer).map_or(1, |p| p.latency.max(1));
                    self.schedule(
                        at,
                        SimEvent::Deliver {
                            to: parent,
                            event: Event::PeerLost {
                                peer: PeerId(peer as u64),
                            },
                        },
                    );
                }
            }
        }
    }
}

fn event_kind(event: &Event) -> u64 {
    match event {
        Event::Start => 1,
        Event::PeersAvailable(list) => 2 + 100 * list.len() as u64,
        Event::ChildAccepted { task } => 3 + 100 * task.0,
        Event::ChildRejected { task } => 4 + 100 * task.0,
        Event::ChildAlive { task } => 5 + 100 * task.0,
        Event::PartialFromChild { task, .. } => 6 + 100 * task.0,
        Event::ChildFailed { task, .. } => 7 + 100 * task.0,
        Event::PeerLost { peer } => 8 + 100 * peer.0,
        Event::LocalDone { task, .. } => 9 + 100 * task.0,
        Event::LocalFailed { task, .. } => 10 + 100 * task.0,
        Event::Tick => 11,
        Event::Cancel => 12,
    }
}
