//! Runs one job both ways: compiled to WebAssembly and run under the real
//! wasmtime host (`flow_executor::host`), and under the reference
//! interpreter (`flow_compiler::interp`), over the same chunk bytes.
//!
//! Results are compared as [`Outcome`]s: the canonical encoding of a value
//! (so floats compare bit for bit, NaNs and signed zeros included), or the
//! stable kind of a run-time error (`overflow`, `index`, ...).
#![allow(dead_code)]

use flow_compiler::interp::{self, Chunk, RunInput};
use flow_compiler::lower::{self, Lowered};
use flow_compiler::package::{self, JobPackage};
use flow_compiler::plan::{PlanLiteral, PlanSource};
use flow_executor::ChunkId;
use flow_executor::host::{Failure, Host, HostConfig, StageError, StageInstance, StageModule};
use flow_executor::input::InputChunks;
use flow_executor::stage_worker::ChunkSource;
use flow_runtime::{Value, decode, encode_value};

pub mod generate;

#[path = "../common.rs"]
mod common;

pub use common::{analyze_files, render};

/// One compiled job: its IR (for the interpreter) and its package.
#[derive(Debug)]
pub struct Job {
    pub lowered: Lowered,
    pub package: JobPackage,
}

/// Checks, lowers and compiles a one-file job. The program must check
/// clean (a generator or test bug otherwise); the module must validate and
/// the package must survive its container.
/// The reason lowering refuses a job that checks clean, if it does: a known
/// gap of the compiler ("not supported yet"), which the differential tests
/// skip and count rather than report as a disagreement.
pub fn unsupported(source: &str) -> Option<String> {
    let analysis = analyze_files(&[("job.flow", source)]);
    let root = analysis.program.jobs.first()?.root;
    match lower::lower(&analysis, root) {
        Err(error) if error.to_string().contains("not supported yet") => Some(error.to_string()),
        _ => None,
    }
}

pub fn compile(source: &str) -> Job {
    let analysis = analyze_files(&[("job.flow", source)]);
    assert!(
        !analysis.has_errors(),
        "the job has errors:\n{}\n--- job ---\n{source}",
        render(&analysis)
    );
    let root = analysis.program.jobs[0].root;
    let lowered = lower::lower(&analysis, root)
        .unwrap_or_else(|e| panic!("the job lowers: {e}\n--- job ---\n{source}"));
    let package = package::build(&analysis, root)
        .unwrap_or_else(|e| panic!("the job compiles: {e}\n--- job ---\n{source}"));
    let module = package.module().expect("the plan names its module");
    flow_compiler::codegen::validate(module).expect("every emitted module validates");
    let back = JobPackage::from_bytes(&package.to_bytes()).expect("the package reads back");
    assert_eq!(back, package, "the package survives its container");
    Job { lowered, package }
}

/// A compared result: the encoded value, or the kind of the run-time error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Value(Vec<u8>),
    Error(String),
}

impl Outcome {
    /// The value, decoded, or the error kind, for failure messages.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Value(bytes) => match flow_runtime::decode_value(bytes) {
                Ok(value) => format!("{value:?}"),
                Err(e) => format!("undecodable value ({e})"),
            },
            Outcome::Error(kind) => format!("error `{kind}`"),
        }
    }
}

/// The error kind of a failed stage call: the module's own record when it
/// wrote one, else what the host saw (a bare trap, a deadline...).
pub fn failure_kind(error: &StageError) -> String {
    match &error.failure {
        Failure::Runtime(record) => record.kind.clone(),
        other => format!("host: {other}"),
    }
}

/// The data of one run: every input's planned chunks, and param values.
pub struct Data {
    pub inputs: Vec<InputChunks>,
    pub params: Vec<Value>,
}

impl Data {
    /// The params of `job` at their defaults, and `inputs`.
    pub fn defaults(job: &Job, inputs: Vec<InputChunks>) -> Data {
        let params = job
            .package
            .plan
            .params
            .iter()
            .map(|p| match &p.default {
                Some(PlanLiteral::Int(n)) => Value::Int(*n),
                Some(PlanLiteral::Float(x)) => Value::Float(*x),
                Some(PlanLiteral::Bool(b)) => Value::Bool(*b),
                Some(PlanLiteral::Str(s)) => Value::str(s),
                None => panic!("param `{}` has no default", p.name),
            })
            .collect();
        Data { inputs, params }
    }
}

/// A chunk as both sides see it: its bytes, `first` position and the CSV
/// header of its file (`""` for other inputs).
#[derive(Clone, Debug)]
pub struct ChunkData {
    pub bytes: Vec<u8>,
    pub first: i64,
    pub header: String,
}

/// Every chunk of a planned input, read.
pub fn read_chunks(input: &InputChunks) -> Vec<ChunkData> {
    (0..input.len())
        .map(|index| {
            let id = ChunkId(index as u32);
            let read = input.read(id).expect("the chunk reads");
            ChunkData {
                bytes: read.bytes,
                first: read.first,
                header: input.header(id).unwrap_or_default().to_owned(),
            }
        })
        .collect()
}

/// The interpreter's form of a chunk of an input of `source`.
pub fn interp_chunk(source: PlanSource, chunk: &ChunkData) -> Chunk {
    match source {
        PlanSource::Lines | PlanSource::Jsonl => Chunk::Text {
            bytes: chunk.bytes.clone(),
            first_line: chunk.first,
            csv_header: None,
        },
        PlanSource::Csv => Chunk::Text {
            bytes: chunk.bytes.clone(),
            first_line: chunk.first,
            csv_header: Some(
                decode::csv_header(chunk.header.as_bytes()).expect("the CSV header parses"),
            ),
        },
        PlanSource::Files => {
            let Ok(Value::List(items)) = flow_runtime::decode_value(&chunk.bytes) else {
                panic!("a files chunk is an encoded list");
            };
            let files = items
                .into_iter()
                .map(|item| match item {
                    Value::Tuple(mut pair) if pair.len() == 2 => {
                        let content = pair.pop();
                        let path = pair.pop();
                        match (path, content) {
                            (Some(Value::Str(path)), Some(Value::Str(content))) => (path, content),
                            _ => panic!("a files chunk holds (str, str) pairs"),
                        }
                    }
                    _ => panic!("a files chunk holds (str, str) pairs"),
                })
                .collect();
            Chunk::Files {
                files,
                first_index: chunk.first,
            }
        }
        PlanSource::Range => {
            let word = |at: usize| {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&chunk.bytes[at..at + 8]);
                i64::from_le_bytes(bytes)
            };
            Chunk::Range {
                start: word(0),
                end: word(8),
            }
        }
    }
}

/// Every plan value of `job` computed by the reference interpreter, each on
/// its own (one failing value does not hide the others).
pub fn run_interp(job: &Job, data: &Data) -> Vec<Outcome> {
    let chunks = job
        .package
        .plan
        .inputs
        .iter()
        .zip(&data.inputs)
        .map(|(plan_input, input)| {
            read_chunks(input)
                .iter()
                .map(|c| interp_chunk(plan_input.source, c))
                .collect()
        })
        .collect();
    let input = RunInput {
        chunks,
        params: data.params.clone(),
    };
    (0..job.package.plan.values.len() as u32)
        .map(
            |index| match interp::run_value(&job.lowered, &input, index) {
                Ok(value) => Outcome::Value(encode_value(&value)),
                Err(error) => Outcome::Error(error.kind),
            },
        )
        .collect()
}

/// The compiled job loaded into the host, with one instance.
pub struct Compiled {
    pub host: Host,
    pub module: StageModule,
    pub instance: StageInstance,
}

impl Compiled {
    /// Loads (compiles with cranelift) the job's module.
    pub fn load(job: &Job) -> Compiled {
        let host = Host::new(HostConfig::default()).expect("the host starts");
        let module = host
            .load_stage(job.package.module().expect("the plan's module"))
            .expect("the host loads the module");
        let instance = StageInstance::new(&host, &module);
        Compiled {
            host,
            module,
            instance,
        }
    }
}

/// The encoded `ctx` of a stage or value: the CSV header (or `""`), the
/// params, then `extra` values.
pub fn ctx(header: &str, params: &[Value], extra: impl IntoIterator<Item = Value>) -> Vec<u8> {
    let mut items = vec![Value::str(header)];
    items.extend(params.iter().cloned());
    items.extend(extra);
    encode_value(&Value::Tuple(items))
}

/// Every plan value of `job` computed by the compiled module: phases in
/// order, each stage over its chunks with the partials merged left to
/// right, then the `value_<k>` exports. A value whose stage or used value
/// failed has that failure's kind.
pub fn run_compiled(job: &Job, compiled: &mut Compiled, data: &Data) -> Vec<Outcome> {
    let plan = &job.package.plan;
    let chunks: Vec<Vec<ChunkData>> = data.inputs.iter().map(read_chunks).collect();
    let mut stage_results: Vec<Option<Result<Value, String>>> = vec![None; plan.stages.len()];
    let mut values: Vec<Option<Outcome>> = vec![None; plan.values.len()];
    let decode = |bytes: &[u8]| flow_runtime::decode_value(bytes).expect("results decode");
    for phase in 0..=plan.phase_count() {
        // Every value whose stages are finished.
        for value in &plan.values {
            if values[value.index as usize].is_some() {
                continue;
            }
            let mut inputs = Vec::new();
            let mut failed = None;
            for stage in &value.stages {
                match &stage_results[*stage as usize] {
                    Some(Ok(result)) => inputs.push(result.clone()),
                    Some(Err(kind)) => failed = failed.or(Some(kind.clone())),
                    None => failed = failed.or(Some(String::new())),
                }
            }
            let outcome = match failed {
                Some(kind) if kind.is_empty() => continue,
                Some(kind) => Outcome::Error(kind),
                None => {
                    let ctx = ctx("", &data.params, inputs);
                    match compiled.instance.value(value.index, &ctx) {
                        Ok(bytes) => Outcome::Value(bytes),
                        Err(error) => Outcome::Error(failure_kind(&error)),
                    }
                }
            };
            values[value.index as usize] = Some(outcome);
        }
        for stage in plan.stages.iter().filter(|s| s.phase == phase) {
            let mut used = Vec::new();
            let mut failed = None;
            for v in &stage.uses {
                match &values[*v as usize] {
                    Some(Outcome::Value(bytes)) => used.push(decode(bytes)),
                    Some(Outcome::Error(kind)) => failed = failed.or(Some(kind.clone())),
                    None => panic!("value {v} is not computed before the stage using it"),
                }
            }
            let result = match failed {
                Some(kind) => Err(kind),
                None => run_stage(
                    compiled,
                    stage.index,
                    &chunks[stage.input as usize],
                    &data.params,
                    &used,
                )
                .map(|bytes| decode(&bytes)),
            };
            stage_results[stage.index as usize] = Some(result);
            if !stage.members.is_empty() {
                check_group(stage.index, &stage.members, &stage_results);
            }
        }
    }
    values
        .into_iter()
        .enumerate()
        .map(|(index, v)| v.unwrap_or_else(|| panic!("value {index} was never computed")))
        .collect()
}

/// A group pass (run after its members: it comes after every stage) must
/// agree with them: their tuple when all succeed, otherwise one of their
/// failures (the first record to fail in the one pass may belong to any
/// failing member).
fn check_group(group: u32, members: &[u32], results: &[Option<Result<Value, String>>]) {
    let members: Vec<&Result<Value, String>> = members
        .iter()
        .map(|m| results[*m as usize].as_ref().expect("members ran"))
        .collect();
    match results[group as usize].as_ref().expect("the group ran") {
        Ok(value) => {
            let values: Option<Vec<Value>> =
                members.iter().map(|m| m.as_ref().ok().cloned()).collect();
            assert_eq!(
                Some(value),
                values.map(Value::Tuple).as_ref(),
                "group pass {group} agrees with its stages"
            );
        }
        Err(kind) => assert!(
            members.iter().any(|m| m.as_ref().err() == Some(kind)),
            "group pass {group} failed with {kind}, which none of its stages did: {members:?}"
        ),
    }
}

/// One stage over its chunks: each chunk processed and merged into the
/// partials before it (the interpreter's order, so both meet errors in the
/// same order), then finished. Returns the encoded result or the error kind.
pub fn run_stage(
    compiled: &mut Compiled,
    stage: u32,
    chunks: &[ChunkData],
    params: &[Value],
    used: &[Value],
) -> Result<Vec<u8>, String> {
    let mut merged: Option<Vec<u8>> = None;
    for chunk in chunks {
        let partial =
            process_all(compiled, stage, std::slice::from_ref(chunk), params, used)?.remove(0);
        merged = Some(match merged {
            None => partial,
            Some(acc) => compiled
                .instance
                .merge(stage, &acc, &partial)
                .map_err(|e| failure_kind(&e))?,
        });
    }
    // Tests always give every input at least one chunk.
    let merged = merged.expect("the input has at least one chunk");
    compiled
        .instance
        .finish(stage, &merged)
        .map_err(|e| failure_kind(&e))
}

/// Every chunk processed into its partial, in order.
pub fn process_all(
    compiled: &mut Compiled,
    stage: u32,
    chunks: &[ChunkData],
    params: &[Value],
    used: &[Value],
) -> Result<Vec<Vec<u8>>, String> {
    chunks
        .iter()
        .map(|chunk| {
            let ctx = ctx(&chunk.header, params, used.iter().cloned());
            compiled
                .instance
                .process(stage, &chunk.bytes, &ctx, chunk.first)
                .map_err(|e| failure_kind(&e))
        })
        .collect()
}
