//! Running a compiled job on this machine: params, inputs cut into chunks,
//! the phases of the plan on the local transport (one worker per core by
//! default), the values computed from the finished stages, and the outputs.
//!
//! This is the edge where the pure parts meet the world: the plan and the
//! stage module come from `flow-compiler`, the scheduling from
//! `flow-executor`'s core driven by its local transport, and only this
//! module reads input files and writes outputs.

// A failure carries what the user is shown (message, span, data position);
// it happens once per run, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::path::PathBuf;
use std::sync::Arc;

use flow_compiler::ir::IrType;
use flow_compiler::package::JobPackage;
use flow_compiler::plan::{JobPlan, PlanArg, PlanLiteral, PlanSource, PlanStage};
use flow_executor::coverage::ChunkId;
use flow_executor::host::{Host, HostConfig, StageError, StageInstance, StageModule};
use flow_executor::input::{ChunkPlace, InputChunks, InputSource, default_split};
use flow_executor::local::{LocalError, LocalPhase, Progress, run_phase};
use flow_executor::net::{NodeConfig, NodeHandle, PolicySpec, RunId, SwarmPhase, start_node};
use flow_executor::stage_worker::{ChunkBytes, ChunkSource, StageFailure, StageWorkerFactory};
use flow_executor::{Policy, Work};
use flow_runtime::policy::{PolicyProgram, PolicyValue};
use flow_runtime::{Value, decode_value, encode_value};
use libp2p::Multiaddr;
use tokio::sync::broadcast;

use crate::progress::{ProgressDisplay, Unit};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Worker threads; at least 1.
    pub workers: u32,
    /// Overrides the policy's chunk size (bytes of text, items of a range).
    pub split: Option<u64>,
    /// No progress display.
    pub quiet: bool,
    /// Run across a swarm instead of on this machine alone.
    pub swarm: Option<SwarmOptions>,
}

/// How `flowc run --join` reaches the swarm.
#[derive(Debug, Clone)]
pub struct SwarmOptions {
    /// Peers to join.
    pub join: Vec<Multiaddr>,
    /// Addresses this in-process peer listens on (none by default: it only
    /// dials out, and its children answer over the same connections).
    pub listen: Vec<Multiaddr>,
    /// A key file for a stable id; a fresh id for this run otherwise.
    pub identity: Option<PathBuf>,
}

/// A run-time failure, ready to show: what failed, where in the source,
/// and which data.
#[derive(Debug, Clone)]
pub struct RunFailure {
    /// A stable kind (`overflow`, `division-by-zero`, `bad-record`, …, or
    /// `input`, `interrupted`, `internal`).
    pub kind: String,
    pub message: String,
    /// The source span, as the plan's span table names it.
    pub span: Option<(String, u32, u32)>,
    /// The data being processed: "data/a.txt line 3", "range item 57".
    pub position: Option<String>,
    /// The stage or value, in words.
    pub stage: Option<String>,
}

impl RunFailure {
    fn simple(kind: &str, message: impl Into<String>) -> RunFailure {
        RunFailure {
            kind: kind.to_string(),
            message: message.into(),
            span: None,
            position: None,
            stage: None,
        }
    }
}

/// Everything a job produced: each output's name, value and type, in
/// declaration order, and whether it was written to a file.
#[derive(Debug)]
pub struct RunResult {
    pub outputs: Vec<(String, Value, IrType, Option<String>)>,
}

/// Runs `package` with `params` (already parsed to values, in the plan's
/// order). Input globs are relative to the folders the plan names.
pub fn run(
    package: &JobPackage,
    param_values: Vec<Value>,
    options: &RunOptions,
    shutdown: &broadcast::Sender<()>,
) -> Result<RunResult, RunFailure> {
    let plan = &package.plan;
    let module_bytes = package
        .module()
        .ok_or_else(|| RunFailure::simple("internal", "the package lacks its stage module"))?;
    let host = Host::new(HostConfig {
        cache_dir: cache_dir(),
        ..HostConfig::default()
    })
    .map_err(|e| RunFailure::simple("internal", e.to_string()))?;
    let module = host
        .load_stage(module_bytes)
        .map_err(|e| RunFailure::simple("internal", format!("the stage module: {e}")))?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| RunFailure::simple("internal", e.to_string()))?;
    // The in-process peer starts first: it connects to the swarm while the
    // inputs are planned.
    let node = match &options.swarm {
        Some(swarm) => Some(join_swarm(&host, swarm)?),
        None => None,
    };

    // Every input's chunks are planned before any work starts, so a glob
    // that matches nothing fails the run at once.
    let policy = policy_of(plan, &param_values)?;
    let mut input_chunks: Vec<Arc<InputChunks>> = Vec::new();
    for input in &plan.inputs {
        // The plan names the declaring file's folder as the command line
        // reached it, so it is already relative to the working directory.
        let base = PathBuf::from(&input.base_dir);
        let glob = || match input.args.first() {
            Some(PlanArg::Literal(PlanLiteral::Str(glob))) => Ok(glob.clone()),
            Some(PlanArg::Param(name)) => match param_value(plan, &param_values, name) {
                Some(Value::Str(glob)) => Ok(glob.clone()),
                _ => Err(RunFailure::simple(
                    "input",
                    format!("param `{name}` is not a glob"),
                )),
            },
            _ => Err(RunFailure::simple(
                "internal",
                format!("input `{}` has no glob", input.name),
            )),
        };
        let source = match input.source {
            PlanSource::Range => InputSource::Range(
                range_bound(input.args.first(), plan, &param_values)?,
                range_bound(input.args.get(1), plan, &param_values)?,
            ),
            PlanSource::Lines => InputSource::Lines(glob()?),
            PlanSource::Csv => InputSource::Csv(glob()?),
            PlanSource::Jsonl => InputSource::Jsonl(glob()?),
            PlanSource::Files => InputSource::Files(glob()?),
        };
        let split = options
            .split
            .or(policy.split)
            .unwrap_or_else(|| default_split(&source));
        let chunks = InputChunks::plan(&source, &base, split).map_err(|error| RunFailure {
            stage: Some(format!("input `{}`", input.name)),
            ..RunFailure::simple("input", error.to_string())
        })?;
        input_chunks.push(Arc::new(chunks));
    }

    let swarm = match (node, &options.swarm) {
        (Some(node), Some(options)) => {
            wait_for_swarm(&runtime, &node, options);
            Some(Swarm {
                node,
                module_bytes: Arc::new(module_bytes.to_vec()),
                job: run_id_seed(),
                next_part: std::cell::Cell::new(0),
            })
        }
        _ => None,
    };
    let mut progress = ProgressDisplay::new(options.quiet);
    let mut stage_results: Vec<Option<Value>> = vec![None; plan.stages.len()];
    let mut values: Vec<Option<Value>> = vec![None; plan.values.len()];
    let mut value_instance = StageInstance::new(&host, &module);
    let phases = plan.phase_count();
    for phase in 0..phases {
        compute_values(
            plan,
            &mut value_instance,
            &param_values,
            &stage_results,
            &mut values,
        )?;
        for stage in plan.passes(phase) {
            let chunks = input_chunks
                .get(stage.input as usize)
                .cloned()
                .ok_or_else(|| RunFailure::simple("internal", "a stage reads no input"))?;
            let unit = match chunks.source() {
                InputSource::Range(..) | InputSource::Files(_) => Unit::Items,
                _ => Unit::Bytes,
            };
            progress.start_phase(phase as usize + 1, phases as usize, unit);
            let result = run_stage(
                &runtime,
                &host,
                &module,
                plan,
                stage,
                &chunks,
                &param_values,
                &values,
                &policy,
                options,
                swarm.as_ref(),
                &mut progress,
                shutdown,
            );
            progress.finish_phase();
            // A group pass finishes into the tuple of its members' values.
            let results = match (stage.members.as_slice(), result?) {
                ([], value) => vec![(stage.index, value)],
                (members, Value::Tuple(values)) if values.len() == members.len() => {
                    members.iter().copied().zip(values).collect()
                }
                _ => {
                    return Err(RunFailure::simple(
                        "internal",
                        "a group pass finished into no tuple of its members",
                    ));
                }
            };
            for (index, value) in results {
                if let Some(slot) = stage_results.get_mut(index as usize) {
                    *slot = Some(value);
                }
            }
        }
    }
    compute_values(
        plan,
        &mut value_instance,
        &param_values,
        &stage_results,
        &mut values,
    )?;
    if let Some(swarm) = swarm {
        swarm.node.shutdown();
    }

    let mut outputs = Vec::new();
    for value in plan.outputs() {
        let result = values
            .get(value.index as usize)
            .cloned()
            .flatten()
            .ok_or_else(|| {
                RunFailure::simple(
                    "internal",
                    format!("output `{}` was not computed", value.name),
                )
            })?;
        let written = value.to.as_ref().map(|(path, _)| path.clone());
        outputs.push((value.name.clone(), result, value.ty.clone(), written));
    }
    Ok(RunResult { outputs })
}

/// The policy of the plan, as the executor's core takes it, as it travels
/// to other peers, and the split.
struct PlanPolicy {
    policy: Policy,
    spec: PolicySpec,
    split: Option<u64>,
}

/// Reads the checked policy of the plan, with params bound to their values.
fn policy_of(plan: &JobPlan, params: &[Value]) -> Result<PlanPolicy, RunFailure> {
    let policy = &plan.policy;
    let int = |key: &str, default: i64| -> Result<i64, RunFailure> {
        match policy.get(key) {
            None | Some(serde_json::Value::Null) => Ok(default),
            Some(value) => {
                if let Some(n) = value.get("Const").and_then(serde_json::Value::as_i64) {
                    return Ok(n);
                }
                if let Some(name) = value.get("Param").and_then(serde_json::Value::as_str) {
                    return match param_value(plan, params, name) {
                        Some(Value::Int(n)) if *n >= 0 => Ok(*n),
                        _ => Err(RunFailure::simple(
                            "input",
                            format!(
                                "the policy's `{key}` needs param `{name}` to be a non-negative int"
                            ),
                        )),
                    };
                }
                Err(RunFailure::simple(
                    "internal",
                    format!("the plan's policy `{key}` is malformed"),
                ))
            }
        }
    };
    let split = match policy.get("split") {
        None | Some(serde_json::Value::Null) => None,
        Some(_) => Some(int("split", 1)?.max(1) as u64),
    };
    let rule = match policy.get("delegate_rule") {
        None | Some(serde_json::Value::Null) => PolicyProgram { ops: Vec::new() },
        Some(value) => serde_json::from_value::<PolicyProgram>(value.clone()).map_err(|e| {
            RunFailure::simple(
                "internal",
                format!("the plan's `delegate when` is malformed: {e}"),
            )
        })?,
    };
    let rule = rule
        .bind_params(&|name| match param_value(plan, params, name) {
            Some(Value::Int(n)) => Some(PolicyValue::Int(*n)),
            Some(Value::Float(x)) => Some(PolicyValue::Float(*x)),
            Some(Value::Bool(b)) => Some(PolicyValue::Bool(*b)),
            _ => None,
        })
        .map_err(|e| RunFailure::simple("input", format!("`delegate when`: {e}")))?;
    let clamp = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
    let spec = PolicySpec {
        fanout: clamp(int("fanout", 8)?).max(1),
        depth: clamp(int("depth", 3)?),
        select: match policy.get("select").and_then(serde_json::Value::as_str) {
            Some("Latency") => 1,
            Some("Random") => 2,
            _ => 0,
        },
        retries: clamp(int("retries", 2)?),
        timeout_ms: policy
            .get("timeout_ms")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(60_000),
        replicate: int("replicate", 1)?.clamp(1, 3) as u8,
        rule,
    };
    let mut core_policy = flow_executor::net::node::policy_from_spec(&spec);
    if let Some(split) = split {
        core_policy.split = split;
    }
    Ok(PlanPolicy {
        policy: core_policy,
        spec,
        split,
    })
}

fn param_value<'a>(plan: &JobPlan, values: &'a [Value], name: &str) -> Option<&'a Value> {
    let index = plan.params.iter().position(|p| p.name == name)?;
    values.get(index)
}

fn range_bound(arg: Option<&PlanArg>, plan: &JobPlan, params: &[Value]) -> Result<i64, RunFailure> {
    match arg {
        Some(PlanArg::Literal(PlanLiteral::Int(n))) => Ok(*n),
        Some(PlanArg::Param(name)) => match param_value(plan, params, name) {
            Some(Value::Int(n)) => Ok(*n),
            _ => Err(RunFailure::simple(
                "input",
                format!("param `{name}` is not an int"),
            )),
        },
        Some(PlanArg::Expr(text)) => Err(RunFailure::simple(
            "unsupported",
            format!(
                "range bounds computed from an expression (`{text}`) are not supported yet; use a literal or a param"
            ),
        )),
        _ => Err(RunFailure::simple("internal", "a range without bounds")),
    }
}

/// Computes every value whose stages are finished and that is not known yet.
fn compute_values(
    plan: &JobPlan,
    instance: &mut StageInstance,
    params: &[Value],
    stage_results: &[Option<Value>],
    values: &mut [Option<Value>],
) -> Result<(), RunFailure> {
    for value in &plan.values {
        if values
            .get(value.index as usize)
            .is_some_and(Option::is_some)
        {
            continue;
        }
        let inputs: Option<Vec<Value>> = value
            .stages
            .iter()
            .map(|s| stage_results.get(*s as usize).cloned().flatten())
            .collect();
        let Some(inputs) = inputs else { continue };
        let mut ctx = vec![Value::str("")];
        ctx.extend(params.iter().cloned());
        ctx.extend(inputs);
        let bytes = instance
            .value(value.index, &encode_value(&Value::Tuple(ctx)))
            .map_err(|error| {
                stage_failure(plan, &error, None, None, format!("`{}`", value.name))
            })?;
        let decoded = decode_value(&bytes)
            .map_err(|e| RunFailure::simple("internal", format!("value `{}`: {e}", value.name)))?;
        if let Some(slot) = values.get_mut(value.index as usize) {
            *slot = Some(decoded);
        }
    }
    Ok(())
}

/// Runs one stage over all its chunks and returns its finished value.
#[allow(clippy::too_many_arguments)]
fn run_stage(
    runtime: &tokio::runtime::Runtime,
    host: &Host,
    module: &StageModule,
    plan: &JobPlan,
    stage: &PlanStage,
    chunks: &Arc<InputChunks>,
    params: &[Value],
    values: &[Option<Value>],
    policy: &PlanPolicy,
    options: &RunOptions,
    swarm: Option<&Swarm>,
    progress: &mut ProgressDisplay,
    shutdown: &broadcast::Sender<()>,
) -> Result<Value, RunFailure> {
    let describe = format!("the `{}` of stage {}", stage.aggregation, stage.index);
    // CSV files may order their columns differently: chunks are grouped by
    // header, each group runs with its own `ctx`, and the groups' partials
    // are merged.
    let headers = chunks.distinct_headers();
    let groups: Vec<(String, Vec<ChunkId>)> = if headers.len() <= 1 {
        let header = headers.first().map_or_else(String::new, |h| h.to_string());
        vec![(header, (0..chunks.len() as u32).map(ChunkId).collect())]
    } else {
        headers
            .iter()
            .map(|h| (h.to_string(), chunks.chunks_with_header(h)))
            .collect()
    };
    let sizes = chunks.sizes();
    let mut merged: Option<Vec<u8>> = None;
    let mut merger = StageInstance::new(host, module);
    for (header, ids) in groups {
        let mut ctx = vec![Value::Str(header)];
        ctx.extend(params.iter().cloned());
        for used in &stage.uses {
            let value = values
                .get(*used as usize)
                .cloned()
                .flatten()
                .ok_or_else(|| {
                    RunFailure::simple("internal", "a stage ran before a value it uses")
                })?;
            ctx.push(value);
        }
        let source: Arc<dyn ChunkSource> = Arc::new(Subset {
            inner: chunks.clone(),
            ids: ids.clone(),
        });
        let context = encode_value(&Value::Tuple(ctx));
        let factory = Arc::new(StageWorkerFactory::new(
            host.clone(),
            module.clone(),
            stage.index,
            context.clone(),
            source.clone(),
        ));
        let work = Work::from_sizes(
            &ids.iter()
                .map(|id| sizes.get(id.0 as usize).copied().unwrap_or(1))
                .collect::<Vec<_>>(),
        );
        let mut on_progress = |p: &Progress| progress.update(p);
        let outcome = match swarm {
            None => {
                let phase = LocalPhase {
                    work,
                    policy: policy.policy.clone(),
                    workers: options.workers,
                    seed: u64::from(stage.index),
                };
                runtime
                    .block_on(run_phase(
                        phase,
                        factory.clone(),
                        &mut on_progress,
                        shutdown.subscribe(),
                    ))
                    .map_err(|error| match error {
                        LocalError::Interrupted => None,
                        other => Some((other.to_string(), factory.first_failure())),
                    })
            }
            Some(swarm) => {
                let part = swarm.next_part.get();
                swarm.next_part.set(part + 1);
                let phase = SwarmPhase {
                    run: RunId {
                        job: swarm.job,
                        part,
                    },
                    module: module.clone(),
                    module_bytes: swarm.module_bytes.clone(),
                    stage: stage.index,
                    context: context.clone(),
                    source: source.clone(),
                    work,
                    policy: policy.spec.clone(),
                    workers: options.workers,
                    seed: u64::from(stage.index),
                };
                let mut interrupt = shutdown.subscribe();
                runtime.block_on(async {
                    tokio::select! {
                        result = swarm.node.run_phase(phase, &mut on_progress) => {
                            result.map_err(|failure| {
                                if failure.interrupted {
                                    None
                                } else {
                                    let stage = failure.stage.clone().or_else(|| factory.first_failure());
                                    Some((failure.to_string(), stage))
                                }
                            })
                        }
                        _ = interrupt.recv() => Err(None),
                    }
                })
            }
        };
        let partial = match outcome {
            Ok(partial) => partial,
            Err(None) => {
                return Err(RunFailure::simple("interrupted", "interrupted (Ctrl-C)"));
            }
            Err(Some((error, first_failure))) => {
                return Err(match first_failure {
                    Some(StageFailure::Stage { chunk, error }) => {
                        let chunk = chunk.and_then(|c| ids.get(c.0 as usize).copied());
                        stage_failure(plan, &error, chunk, Some(chunks), describe.clone())
                    }
                    Some(StageFailure::Input { message, .. }) => RunFailure {
                        stage: Some(describe.clone()),
                        ..RunFailure::simple("input", message)
                    },
                    None => RunFailure {
                        stage: Some(describe.clone()),
                        ..RunFailure::simple("runtime", error)
                    },
                });
            }
        };
        if let Some(partial) = partial {
            merged = Some(match merged.take() {
                None => partial,
                Some(previous) => merger
                    .merge(stage.index, &previous, &partial)
                    .map_err(|e| stage_failure(plan, &e, None, None, describe.clone()))?,
            });
        }
    }
    // A stage over no chunk (an empty range) finishes the empty partial,
    // which the module's process of an empty chunk gives.
    let partial = match merged {
        Some(partial) => partial,
        None => {
            let mut ctx = vec![Value::str("")];
            ctx.extend(params.iter().cloned());
            for used in &stage.uses {
                ctx.push(
                    values
                        .get(*used as usize)
                        .cloned()
                        .flatten()
                        .unwrap_or(Value::Int(0)),
                );
            }
            let empty = match chunks.source() {
                InputSource::Range(..) => [0i64.to_le_bytes(), 0i64.to_le_bytes()].concat(),
                InputSource::Files(_) => encode_value(&Value::List(Vec::new())),
                _ => Vec::new(),
            };
            merger
                .process(stage.index, &empty, &encode_value(&Value::Tuple(ctx)), 1)
                .map_err(|e| stage_failure(plan, &e, None, None, describe.clone()))?
        }
    };
    let finished = merger
        .finish(stage.index, &partial)
        .map_err(|e| stage_failure(plan, &e, None, None, describe.clone()))?;
    decode_value(&finished).map_err(|e| RunFailure::simple("internal", format!("{describe}: {e}")))
}

/// The chunks of one CSV header group, renumbered from 0 for the core.
struct Subset {
    inner: Arc<InputChunks>,
    ids: Vec<ChunkId>,
}

impl ChunkSource for Subset {
    fn read(&self, chunk: ChunkId) -> Result<ChunkBytes, String> {
        let id = self.ids.get(chunk.0 as usize).ok_or("no such chunk")?;
        self.inner.read(*id)
    }

    fn describe(&self, chunk: ChunkId) -> String {
        match self.ids.get(chunk.0 as usize) {
            Some(id) => self.inner.describe(*id),
            None => format!("chunk {}", chunk.0),
        }
    }
}

/// A stage error as a failure naming the source span and the data.
fn stage_failure(
    plan: &JobPlan,
    error: &StageError,
    chunk: Option<ChunkId>,
    chunks: Option<&Arc<InputChunks>>,
    stage: String,
) -> RunFailure {
    use flow_executor::host::Failure;
    match &error.failure {
        Failure::Runtime(record) => {
            let span = usize::try_from(record.span_id)
                .ok()
                .and_then(|i| plan.spans.get(i))
                .map(|s| (s.file.clone(), s.start, s.end));
            let position = match (chunk, chunks) {
                (Some(chunk), Some(chunks)) if record.position >= 0 => match chunks.chunk(chunk) {
                    Some(ChunkPlace::Range { .. }) => {
                        Some(format!("range item {}", record.position))
                    }
                    Some(ChunkPlace::Files { .. }) => {
                        Some(format!("file {}", chunks.describe(chunk)))
                    }
                    Some(ChunkPlace::Text { .. }) => Some(format!(
                        "{} line {}",
                        chunks.describe(chunk),
                        record.position
                    )),
                    None => None,
                },
                (Some(chunk), Some(chunks)) => Some(chunks.describe(chunk)),
                _ => None,
            };
            RunFailure {
                kind: record.kind.clone(),
                message: record.message.clone(),
                span,
                position,
                stage: Some(stage),
            }
        }
        other => RunFailure {
            kind: "stage".to_string(),
            message: other.to_string(),
            span: None,
            position: chunk.zip(chunks).map(|(c, chunks)| chunks.describe(c)),
            stage: Some(stage),
        },
    }
}

/// Where compiled modules are cached between runs: `$XDG_CACHE_HOME` or
/// `~/.cache` on Linux, `%LOCALAPPDATA%` on Windows, under `flowc/modules`.
pub(crate) fn cache_dir() -> Option<PathBuf> {
    let base = if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA").map(PathBuf::from)
    } else {
        std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
    };
    base.map(|b| b.join("flowc").join("modules"))
}

/// The in-process peer of `flowc run --join`, and what its phases share.
struct Swarm {
    node: NodeHandle,
    module_bytes: Arc<Vec<u8>>,
    /// This run's job id, so phases of concurrent jobs never mix.
    job: u64,
    next_part: std::cell::Cell<u32>,
}

/// Starts the in-process peer, which dials the peers to join.
fn join_swarm(host: &Host, options: &SwarmOptions) -> Result<NodeHandle, RunFailure> {
    crate::logging::init("warn");
    let keypair = match &options.identity {
        Some(path) => flow_executor::net::identity::load_or_create(path)
            .map_err(|message| RunFailure::simple("peer", message))?,
        None => libp2p::identity::Keypair::generate_ed25519(),
    };
    start_node(NodeConfig {
        keypair,
        listen: options.listen.clone(),
        join: options.join.clone(),
        cores: 0,
        mdns: false,
        host: host.clone(),
    })
    .map_err(|message| RunFailure::simple("peer", message))
}

/// Waits (up to 10 s) until the joined peers announced what they offer;
/// with none, the job runs here alone.
fn wait_for_swarm(runtime: &tokio::runtime::Runtime, node: &NodeHandle, options: &SwarmOptions) {
    let wanted = options.join.len().max(1);
    let known = runtime.block_on(node.wait_for_peers(wanted, std::time::Duration::from_secs(10)));
    if known == 0 {
        tracing::warn!("no peer answered within 10 s: the job runs on this machine");
    }
}

/// A job id unlikely to collide with another origin's: the hash of the
/// time and this process.
fn run_id_seed() -> u64 {
    let mut hasher = blake3::Hasher::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.update(&now.to_le_bytes());
    hasher.update(&std::process::id().to_le_bytes());
    let bytes = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes.as_bytes()[..8]);
    u64::from_le_bytes(first)
}
