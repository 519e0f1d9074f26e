//! The job plan: what a peer needs besides the stage module to run a job.
//!
//! A job is a set of *stages* (one per stream aggregation: an input, a chain
//! of element-wise steps fused into one loop, and the aggregation) and a set
//! of *values* (every `let` that is not a stream and every `output`),
//! computed by the module's `value_<v>` export from parameters and finished
//! stage results. A stage that uses a value computed from another stage runs
//! in a later *phase*; the value reaches it in `ctx` (docs/abi.md).
//!
//! The plan is serde-serializable: `flowc build` writes it into a
//! [`crate::package::JobPackage`]. [`graph`] holds the same job as a stage
//! graph (inputs, fused chains, aggregations, values; data and phase edges)
//! and draws it for `flowc graph`.
//!
//! Where the stream ends: a stage ends at its aggregation. Everything after
//! it (`count_by(k) |> top(10, by: f)`, `sum / float(n)`) works on the
//! finished value, a list or scalar, and belongs to a [`PlanValue`] computed
//! on the origin.

pub mod graph;

use serde::{Deserialize, Serialize};

pub use graph::{PlanEdge, PlanGraph, PlanNode};

use crate::ir::IrType;

/// The stage ABI version the plan's module implements.
pub const ABI_VERSION: u32 = 1;

/// A value known when the job is submitted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PlanLiteral {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
}

/// A `param`: its value comes from `--param name=value` or the default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanParam {
    pub name: String,
    pub ty: IrType,
    pub default: Option<PlanLiteral>,
}

/// Which built-in source an input reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanSource {
    Lines,
    Csv,
    Jsonl,
    Files,
    Range,
}

/// An argument of a source: fixed at submission.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PlanArg {
    Literal(PlanLiteral),
    /// The value of the param with this name.
    Param(String),
    /// Another expression over literals and params (a `range` bound), not
    /// evaluated by the plan yet: its source text.
    Expr(String),
}

/// An `input`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanInput {
    pub name: String,
    pub source: PlanSource,
    /// The glob, or the two bounds of `range`.
    pub args: Vec<PlanArg>,
    /// The element type of the stream.
    pub element: IrType,
    /// The folder globs are relative to: the declaring file's folder.
    pub base_dir: String,
}

/// One aggregation: exports `stage_<index>_process`, `_merge`, `_finish`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanStage {
    pub index: u32,
    /// Index into [`JobPlan::inputs`].
    pub input: u32,
    /// 0 for stages that need no computed value; otherwise one more than the
    /// latest phase of the stages behind the values it uses.
    pub phase: u32,
    /// The plan values this stage reads from `ctx`, after the header and
    /// the params, in this order.
    pub uses: Vec<u32>,
    /// The aggregation, for messages (`count_by`, `sum`, …).
    pub aggregation: String,
    /// The type of the finished value.
    pub result: IrType,
    /// The span id of the aggregation (of the first member, for a group).
    pub span: u32,
    /// For a *group pass*: the stages it computes in one pass over their
    /// input, in order. Its partial is the group of theirs and its finished
    /// value the tuple of theirs (`flow_runtime::partial`, "Groups"). Empty
    /// for a stage.
    #[serde(default)]
    pub members: Vec<u32>,
    /// For a stage that a group pass computes: that pass, which runs in its
    /// place; `None` for a stage that runs on its own.
    #[serde(default)]
    pub grouped_into: Option<u32>,
}

impl PlanStage {
    /// Whether this is a pass that runs: a stage on its own or a group, not a
    /// stage that a group computes.
    pub fn runs(&self) -> bool {
        self.grouped_into.is_none()
    }
}

/// What a value is in the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValueKind {
    Let,
    Output,
}

/// How an output with `to "path"` is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanFormat {
    Csv,
    Jsonl,
    Json,
}

/// A let or output: exports `value_<index>(ctx_ptr, ctx_len) -> i64`, whose
/// `ctx` is the encoded tuple `("", params…, finished results of `stages` in
/// this order)` and whose result is the encoded value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanValue {
    pub index: u32,
    pub name: String,
    pub kind: ValueKind,
    pub ty: IrType,
    /// The stages whose finished values this value reads.
    pub stages: Vec<u32>,
    /// The phase after which it can be computed: one more than its latest
    /// stage's phase, or 0 without stages.
    pub phase: u32,
    /// For outputs written to a file: the path (relative to the root file's
    /// folder) and the format.
    pub to: Option<(String, PlanFormat)>,
}

/// A source span a run-time error can name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSpan {
    pub file: String,
    pub start: u32,
    pub end: u32,
    /// The source text of the span, for error messages on peers that do
    /// not have the source.
    #[serde(default)]
    pub text: String,
}

/// An `extern fn` tool module linked into the stage module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTool {
    /// The module's path as the job names it.
    pub path: String,
    /// The blake3 hex digest of the module's bytes.
    pub digest: String,
    /// The `extern fn`s bound to it.
    pub functions: Vec<String>,
}

/// The whole plan of one job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobPlan {
    pub abi_version: u32,
    /// The root file's path.
    pub root: String,
    pub params: Vec<PlanParam>,
    pub inputs: Vec<PlanInput>,
    pub stages: Vec<PlanStage>,
    /// Every let and output the job computes; outputs in declaration order
    /// are those with [`ValueKind::Output`].
    pub values: Vec<PlanValue>,
    pub spans: Vec<PlanSpan>,
    /// The checked policy (split, fanout, depth, delegation), as the
    /// checker's `CheckedPolicy` serializes.
    pub policy: serde_json::Value,
    /// The blake3 hex digest of the stage module (a key of
    /// [`crate::package::JobPackage::modules`]).
    pub module: String,
    /// The `extern fn` tool modules linked into the stage module: they
    /// travel inside it, and are named here by their own digests.
    #[serde(default)]
    pub tools: Vec<PlanTool>,
    /// The stage graph ([`graph`]), for drawing and inspection.
    #[serde(default)]
    pub graph: PlanGraph,
}

impl JobPlan {
    /// The number of phases: one more than the latest phase of any stage.
    pub fn phase_count(&self) -> u32 {
        self.stages.iter().map(|s| s.phase + 1).max().unwrap_or(0)
    }

    /// The passes of `phase` that run, in order: stages on their own and
    /// group passes (see [`PlanStage::members`]).
    pub fn passes(&self, phase: u32) -> impl Iterator<Item = &PlanStage> {
        self.stages
            .iter()
            .filter(move |s| s.phase == phase && s.runs())
    }

    /// The outputs, in declaration order.
    pub fn outputs(&self) -> impl Iterator<Item = &PlanValue> {
        self.values.iter().filter(|v| v.kind == ValueKind::Output)
    }
}
