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
use flow_executor::stage_worker::{ChunkBytes, ChunkSource, StageFailure, StageWorkerFactory};
use flow_executor::{Policy, Work};
use flow_runtime::{Value, decode_value, encode_value};
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

    // Every input's chunks are planned before any work starts, so a glob
    // that matches nothing fails the run at once.
    let policy = policy_of(plan);
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

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| RunFailure::simple("internal", e.to_string()))?;
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
        for stage in plan.stages.iter().filter(|s| s.phase == phase) {
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
                &policy.policy,
                options,
                &mut progress,
                shutdown,
            );
            progress.finish_phase();
            stage_results[stage.index as usize] = Some(result?);
        }
    }
    compute_values(
        plan,
        &mut value_instance,
        &param_values,
        &stage_results,
        &mut values,
    )?;

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

/// The policy of the plan, as the executor's core takes it, and the split.
struct PlanPolicy {
    policy: Policy,
    split: Option<u64>,
}

fn policy_of(plan: &JobPlan) -> PlanPolicy {
    let split = plan
        .policy
        .get("split")
        .and_then(|s| s.get("Const"))
        .and_then(serde_json::Value::as_u64);
    PlanPolicy {
        policy: Policy::default(),
        split,
    }
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
    policy: &Policy,
    options: &RunOptions,
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
        let source = Arc::new(Subset {
            inner: chunks.clone(),
            ids: ids.clone(),
        });
        let factory = Arc::new(StageWorkerFactory::new(
            host.clone(),
            module.clone(),
            stage.index,
            encode_value(&Value::Tuple(ctx)),
            source,
        ));
        let work = Work::from_sizes(
            &ids.iter()
                .map(|id| sizes.get(id.0 as usize).copied().unwrap_or(1))
                .collect::<Vec<_>>(),
        );
        let phase = LocalPhase {
            work,
            policy: policy.clone(),
            workers: options.workers,
            seed: u64::from(stage.index),
        };
        let mut on_progress = |p: &Progress| progress.update(p);
        let outcome = runtime.block_on(run_phase(
            phase,
            factory.clone(),
            &mut on_progress,
            shutdown.subscribe(),
        ));
        let partial = match outcome {
            Ok(partial) => partial,
            Err(LocalError::Interrupted) => {
                return Err(RunFailure::simple("interrupted", "interrupted (Ctrl-C)"));
            }
            Err(error) => {
                return Err(match factory.first_failure() {
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
                        ..RunFailure::simple("runtime", error.to_string())
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
fn cache_dir() -> Option<PathBuf> {
    let base = if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA").map(PathBuf::from)
    } else {
        std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
    };
    base.map(|b| b.join("flowc").join("modules"))
}
