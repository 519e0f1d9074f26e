//! The reference interpreter: runs a lowered job over [`flow_runtime::Value`]s.
//!
//! It is a test oracle, not an executor. It evaluates the same [`JobIr`] the
//! code generator compiles, and computes every operation through the same
//! `flow-runtime` code the stage modules link (`numbers` for checked `int`
//! arithmetic and the float functions, `text` and `regex` for text, `table`
//! for `hash` and `rand`, `partial` for every aggregation, `decode` for the
//! inputs), so a compiled job and the interpreter must give bit-identical
//! values and the same error kinds on the same data.
//!
//! Like the distributed run, each input chunk is processed into its own
//! partial result, every partial goes through its canonical byte encoding,
//! and the partials are merged before the stage finishes. Plan values are
//! computed on demand (a stage computes the values it reads from `ctx`
//! first), which orders the phases exactly as the plan does.
//!
//! Calls of `extern fn` tools are outside the interpreter's scope: they
//! fail with the kind `unsupported` (tools are WebAssembly, run only by the
//! executor's host).
//!
//! Run-time errors are data ([`InterpError`]): the error kind of docs/abi.md,
//! the message, the [`SpanId`] of the failing operation and the position of
//! the record being processed (`-1` outside a stage).

use std::cell::RefCell;

use flow_runtime::decode::{self, Field, FieldType};
use flow_runtime::partial::Partial;
use flow_runtime::{RuntimeError, Value, numbers, table, text};

use crate::ir::{
    BinaryOp, Builtin, Expr, ExprKind, Function, IrType, JobIr, Lambda, ListOp, SpanId, Stage,
    StreamStep, UnaryOp,
};
use crate::lower::Lowered;
use crate::plan::{PlanLiteral, ValueKind};

/// How deep user functions may recurse (outside tail calls, which loop)
/// before the interpreter gives up instead of overflowing its own stack.
const MAX_CALL_DEPTH: usize = 2_000;

/// A run-time error of the job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterpError {
    /// The stable kind of docs/abi.md: `overflow`, `division-by-zero`,
    /// `parse`, `empty`, `index`, `bad-record`, `missing-field`, `internal`.
    pub kind: String,
    pub message: String,
    /// The failing operation, when it has a span.
    pub span: Option<SpanId>,
    /// The 1-based line, file index or integer being processed, or -1.
    pub position: i64,
}

impl std::fmt::Display for InterpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if self.position >= 0 {
            write!(f, " (at record {})", self.position)?;
        }
        Ok(())
    }
}

impl std::error::Error for InterpError {}

type Outcome<T> = Result<T, InterpError>;

fn internal(message: impl Into<String>) -> InterpError {
    InterpError {
        kind: "internal".to_owned(),
        message: message.into(),
        span: None,
        position: -1,
    }
}

/// One chunk of an input, in the form the host hands a stage (docs/abi.md).
#[derive(Clone, Debug, PartialEq)]
pub enum Chunk {
    /// Whole lines of a `lines`, `csv` or `jsonl` input. `first_line` is the
    /// 1-based line number of the first one in its file; `csv_header` is
    /// the header row of the file (CSV only: the chunk holds no header).
    Text {
        bytes: Vec<u8>,
        first_line: i64,
        csv_header: Option<Vec<String>>,
    },
    /// Whole files of a `files` input: `(path, content)`, and the index of
    /// the first one among the input's files.
    Files {
        files: Vec<(String, String)>,
        first_index: i64,
    },
    /// `start ..< end` of a `range` input.
    Range { start: i64, end: i64 },
}

impl Chunk {
    /// A `lines` or `jsonl` chunk holding a whole file.
    pub fn text(text: &str) -> Chunk {
        Chunk::Text {
            bytes: text.as_bytes().to_vec(),
            first_line: 1,
            csv_header: None,
        }
    }

    /// A `csv` chunk holding a whole file, header row included: the header
    /// is split off as the host does.
    pub fn csv_file(text: &str) -> Result<Chunk, InterpError> {
        let header = decode::csv_header(text.as_bytes()).map_err(|e| runtime(e, None, 1))?;
        let body = match text.find('\n') {
            Some(newline) => &text[newline + 1..],
            None => "",
        };
        Ok(Chunk::Text {
            bytes: body.as_bytes().to_vec(),
            first_line: 2,
            csv_header: Some(header),
        })
    }
}

/// The data of one run: chunks per input (in [`JobIr::inputs`] order) and
/// param values (in [`JobIr::params`] order).
#[derive(Clone, Debug, Default)]
pub struct RunInput {
    pub chunks: Vec<Vec<Chunk>>,
    pub params: Vec<Value>,
}

impl RunInput {
    /// The params of `lowered` at their defaults, with `overrides` by name.
    /// A param without default and without override is an error.
    pub fn params(
        lowered: &Lowered,
        overrides: &[(&str, Value)],
    ) -> Result<Vec<Value>, InterpError> {
        lowered
            .plan
            .params
            .iter()
            .map(|param| {
                if let Some((_, value)) = overrides.iter().find(|(name, _)| *name == param.name) {
                    return Ok(value.clone());
                }
                match &param.default {
                    Some(PlanLiteral::Int(n)) => Ok(Value::Int(*n)),
                    Some(PlanLiteral::Float(x)) => Ok(Value::Float(*x)),
                    Some(PlanLiteral::Bool(b)) => Ok(Value::Bool(*b)),
                    Some(PlanLiteral::Str(s)) => Ok(Value::str(s)),
                    None => Err(internal(format!("no value for param `{}`", param.name))),
                }
            })
            .collect()
    }
}

/// Converts a runtime error into an [`InterpError`].
fn runtime(error: RuntimeError, span: Option<SpanId>, position: i64) -> InterpError {
    let position = match &error {
        // Input errors name the line within the chunk; the caller passes
        // the chunk's first line, so the absolute line is their sum.
        RuntimeError::Input { line, .. } => position + *line as i64 - 1,
        _ => position,
    };
    InterpError {
        kind: error.kind().to_owned(),
        message: error.to_string(),
        span,
        position,
    }
}

/// Runs the whole job and returns every output, in declaration order.
pub fn run_job(lowered: &Lowered, input: &RunInput) -> Result<Vec<(String, Value)>, InterpError> {
    let interp = Interp::new(lowered, input)?;
    let mut outputs = Vec::new();
    for (index, plan_value) in lowered.plan.values.iter().enumerate() {
        if plan_value.kind == ValueKind::Output {
            outputs.push((plan_value.name.clone(), interp.value(index as u32)?));
        }
    }
    Ok(outputs)
}

/// Computes plan value `index` alone (with the stages and values it needs),
/// so one failing `let` or `output` does not hide the others: differential
/// tests compare every value of a job on its own.
pub fn run_value(lowered: &Lowered, input: &RunInput, index: u32) -> Result<Value, InterpError> {
    Interp::new(lowered, input)?.value(index)
}

/// The state of one run.
struct Interp<'a> {
    lowered: &'a Lowered,
    input: &'a RunInput,
    /// Finished stage results, computed on first use.
    stage_results: RefCell<Vec<Option<Value>>>,
    /// Plan values, computed on first use.
    values: RefCell<Vec<Option<Value>>>,
    regex: RefCell<flow_runtime::regex::RegexCache>,
}

/// What a body may read besides its locals.
#[derive(Clone, Copy)]
enum Scope {
    /// A function body: params only.
    Function,
    /// A stage: params and plan values.
    Stage,
    /// A value: params and stage results.
    Value,
}

/// The locals of one body while it runs, and where it is.
struct Frame {
    locals: Vec<Option<Value>>,
    scope: Scope,
    /// The record being processed, for error records.
    position: i64,
    depth: usize,
}

/// The result of an expression in tail position of a function.
enum Tail {
    Done(Value),
    /// A self tail call: run the function again with these arguments.
    Again(Vec<Value>),
}

fn field_type(ty: &IrType) -> Option<FieldType> {
    Some(match ty {
        IrType::Int => FieldType::Int,
        IrType::Float => FieldType::Float,
        IrType::Bool => FieldType::Bool,
        IrType::Str => FieldType::Str,
        IrType::List(element) => FieldType::List(Box::new(field_type(element)?)),
        IrType::Tuple(_) | IrType::Record(..) => return None,
    })
}

/// The declared fields of a CSV or JSON-lines record type.
fn record_fields(ty: &IrType) -> Outcome<Vec<Field>> {
    let IrType::Record(_, fields) = ty else {
        return Err(internal("a CSV or JSON-lines input of a non-record type"));
    };
    fields
        .iter()
        .map(|(name, ty)| {
            Ok(Field {
                name: name.clone(),
                ty: field_type(ty)
                    .ok_or_else(|| internal(format!("field `{name}` of an unreadable type")))?,
            })
        })
        .collect()
}

fn as_int(value: &Value) -> Outcome<i64> {
    match value {
        Value::Int(n) => Ok(*n),
        other => Err(internal(format!(
            "an int expected, a {} found",
            other.kind_name()
        ))),
    }
}

fn as_float(value: &Value) -> Outcome<f64> {
    match value {
        Value::Float(x) => Ok(*x),
        other => Err(internal(format!(
            "a float expected, a {} found",
            other.kind_name()
        ))),
    }
}

fn as_bool(value: &Value) -> Outcome<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        other => Err(internal(format!(
            "a bool expected, a {} found",
            other.kind_name()
        ))),
    }
}

fn as_str(value: &Value) -> Outcome<&str> {
    match value {
        Value::Str(s) => Ok(s),
        other => Err(internal(format!(
            "a str expected, a {} found",
            other.kind_name()
        ))),
    }
}

fn as_list(value: Value) -> Outcome<Vec<Value>> {
    match value {
        Value::List(items) => Ok(items),
        other => Err(internal(format!(
            "a list expected, a {} found",
            other.kind_name()
        ))),
    }
}

fn strs(pieces: Vec<&str>) -> Value {
    Value::List(pieces.into_iter().map(Value::str).collect())
}

/// An empty partial for aggregation `op` over elements of type `element`,
/// chosen as the code generator chooses it (`codegen::expr::partial_kind`).
fn new_partial(op: ListOp, element: &IrType, lambdas: &[Lambda], n: i64) -> Outcome<Partial> {
    Ok(match op {
        ListOp::Count => Partial::count(),
        ListOp::Sum if *element == IrType::Float => Partial::sum_float(),
        ListOp::Sum => Partial::sum_int(),
        ListOp::Min => Partial::min(),
        ListOp::Max => Partial::max(),
        ListOp::Mean => Partial::mean(),
        ListOp::Reduce => Partial::reduce(),
        ListOp::CountBy => Partial::count_by(),
        ListOp::SumBy if lambdas.get(1).map(|l| &l.body.ty) == Some(&IrType::Float) => {
            Partial::sum_by_float()
        }
        ListOp::SumBy => Partial::sum_by_int(),
        ListOp::ReduceBy => Partial::reduce_by(),
        ListOp::Distinct => Partial::distinct(),
        ListOp::Top => Partial::top(n),
        ListOp::Bottom => Partial::bottom(n),
        ListOp::Sort | ListOp::SortBy => Partial::sort_by(),
        ListOp::Collect => Partial::collect(),
        ListOp::Map | ListOp::Filter | ListOp::FlatMap => {
            return Err(internal(format!("`{}` is no aggregation", op.name())));
        }
    })
}

impl<'a> Interp<'a> {
    fn new(lowered: &'a Lowered, input: &'a RunInput) -> Outcome<Interp<'a>> {
        if input.params.len() != lowered.ir.params.len() {
            return Err(internal(format!(
                "{} param values for {} params",
                input.params.len(),
                lowered.ir.params.len()
            )));
        }
        Ok(Interp {
            lowered,
            input,
            stage_results: RefCell::new(vec![None; lowered.ir.stages.len()]),
            values: RefCell::new(vec![None; lowered.ir.values.len()]),
            regex: RefCell::new(flow_runtime::regex::RegexCache::new()),
        })
    }

    fn ir(&self) -> &'a JobIr {
        &self.lowered.ir
    }

    /// Plan value `index`, computed on first use.
    fn value(&self, index: u32) -> Outcome<Value> {
        if let Some(Some(known)) = self.values.borrow().get(index as usize) {
            return Ok(known.clone());
        }
        let def = self
            .ir()
            .values
            .get(index as usize)
            .ok_or_else(|| internal(format!("no plan value {index}")))?;
        let mut frame = Frame {
            locals: vec![None; def.locals.locals.len()],
            scope: Scope::Value,
            position: -1,
            depth: 0,
        };
        let value = self.eval(&def.expr, &mut frame)?;
        if let Some(slot) = self.values.borrow_mut().get_mut(index as usize) {
            *slot = Some(value.clone());
        }
        Ok(value)
    }

    /// The finished value of stage `index`, computed on first use.
    fn stage_result(&self, index: u32) -> Outcome<Value> {
        if let Some(Some(known)) = self.stage_results.borrow().get(index as usize) {
            return Ok(known.clone());
        }
        let stage = self
            .ir()
            .stages
            .get(index as usize)
            .ok_or_else(|| internal(format!("no stage {index}")))?;
        let chunks = self
            .input
            .chunks
            .get(stage.input.0 as usize)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut merged: Option<Partial> = None;
        for chunk in chunks {
            let partial = self.process_chunk(stage, chunk)?;
            // The partial travels as bytes, as between peers.
            let partial =
                Partial::decode(&partial.encode()).map_err(|e| runtime(e, Some(stage.span), -1))?;
            merged = Some(match merged {
                None => partial,
                Some(mut acc) => {
                    let mut frame = self.stage_frame(stage);
                    self.merge(stage, &mut acc, partial, &mut frame)?;
                    acc
                }
            });
        }
        let partial = match merged {
            Some(partial) => partial,
            None => {
                let mut frame = self.stage_frame(stage);
                self.empty_stage_partial(stage, &mut frame)?
            }
        };
        let result = partial
            .finish()
            .map_err(|e| runtime(e, Some(stage.span), -1))?;
        if let Some(slot) = self.stage_results.borrow_mut().get_mut(index as usize) {
            *slot = Some(result.clone());
        }
        Ok(result)
    }

    fn stage_frame(&self, stage: &Stage) -> Frame {
        Frame {
            locals: vec![None; stage.locals.locals.len()],
            scope: Scope::Stage,
            position: -1,
            depth: 0,
        }
    }

    /// The empty partial of a stage, its `n` evaluated.
    fn empty_stage_partial(&self, stage: &Stage, frame: &mut Frame) -> Outcome<Partial> {
        let n = match stage.args.first() {
            Some(n) => as_int(&self.eval(n, frame)?)?,
            None => 0,
        };
        new_partial(stage.aggregation, &stage.element, &stage.lambdas, n)
    }

    fn merge(
        &self,
        stage: &Stage,
        acc: &mut Partial,
        other: Partial,
        frame: &mut Frame,
    ) -> Outcome<()> {
        let reducer = match stage.aggregation {
            ListOp::Reduce => stage.lambdas.first(),
            ListOp::ReduceBy => stage.lambdas.get(2),
            _ => None,
        };
        let failure = RefCell::new(None);
        let result = match reducer {
            Some(lambda) => {
                let mut reduce =
                    |a: Value, b: Value| self.reducer_call(lambda, a, b, frame, &failure);
                acc.merge_with(other, &mut reduce)
            }
            None => acc.merge(other),
        };
        if let Some(error) = failure.into_inner() {
            return Err(error);
        }
        result.map_err(|e| runtime(e, Some(stage.span), -1))
    }

    /// Calls a two-argument lambda as a runtime reducer; an error of the
    /// lambda is kept in `failure` (the runtime only carries its own errors).
    fn reducer_call(
        &self,
        lambda: &Lambda,
        a: Value,
        b: Value,
        frame: &mut Frame,
        failure: &RefCell<Option<InterpError>>,
    ) -> Result<Value, RuntimeError> {
        match self.apply(lambda, vec![a, b], frame) {
            Ok(value) => Ok(value),
            Err(error) => {
                *failure.borrow_mut() = Some(error);
                Err(RuntimeError::Mismatch {
                    what: "the reducer failed".to_owned(),
                })
            }
        }
    }

    /// Processes one chunk of a stage's input into a partial.
    fn process_chunk(&self, stage: &Stage, chunk: &Chunk) -> Outcome<Partial> {
        let mut frame = self.stage_frame(stage);
        let mut partial = self.empty_stage_partial(stage, &mut frame)?;
        let element_ty = self
            .ir()
            .inputs
            .get(stage.input.0 as usize)
            .ok_or_else(|| internal("a stage of an unknown input"))?;
        let source = self
            .lowered
            .plan
            .inputs
            .get(stage.input.0 as usize)
            .map(|i| i.source)
            .ok_or_else(|| internal("a stage of an unknown input"))?;
        use crate::plan::PlanSource;
        match chunk {
            Chunk::Text {
                bytes,
                first_line,
                csv_header,
            } => {
                let fail = |e| runtime(e, Some(stage.span), *first_line);
                match source {
                    PlanSource::Lines => {
                        for line in decode::lines(bytes).map_err(fail)? {
                            frame.position = first_line + line.number as i64 - 1;
                            self.record(stage, Value::str(line.text), &mut partial, &mut frame)?;
                        }
                    }
                    PlanSource::Csv | PlanSource::Jsonl => {
                        let fields = record_fields(element_ty)?;
                        // Positions of CSV and JSON-lines records: the line
                        // each starts on, as the runtime's decoders count.
                        let (records, lines): (Vec<Value>, Vec<i64>) = if source == PlanSource::Csv
                        {
                            let header = csv_header
                                .as_deref()
                                .ok_or_else(|| internal("a CSV chunk without its header"))?;
                            let rows = decode::csv_rows(bytes).map_err(fail)?;
                            let records =
                                decode::decode_csv(bytes, &fields, Some(header)).map_err(fail)?;
                            let lines = rows.iter().map(|r| first_line + r.line as i64 - 1);
                            (records, lines.collect())
                        } else {
                            let records = decode::decode_jsonl(bytes, &fields).map_err(fail)?;
                            let lines = decode::lines(bytes)
                                .map_err(fail)?
                                .into_iter()
                                .filter(|l| !l.text.trim().is_empty())
                                .map(|l| first_line + l.number as i64 - 1);
                            (records, lines.collect())
                        };
                        for (index, record) in records.into_iter().enumerate() {
                            frame.position = lines.get(index).copied().unwrap_or(-1);
                            self.record(stage, record, &mut partial, &mut frame)?;
                        }
                    }
                    PlanSource::Files | PlanSource::Range => {
                        return Err(internal("a text chunk for a files or range input"));
                    }
                }
            }
            Chunk::Files { files, first_index } => {
                for (offset, (path, content)) in files.iter().enumerate() {
                    frame.position = first_index + offset as i64;
                    let record = Value::Tuple(vec![Value::str(path), Value::str(content)]);
                    self.record(stage, record, &mut partial, &mut frame)?;
                }
            }
            Chunk::Range { start, end } => {
                let mut n = *start;
                while n < *end {
                    frame.position = n;
                    self.record(stage, Value::Int(n), &mut partial, &mut frame)?;
                    n += 1;
                }
            }
        }
        Ok(partial)
    }

    /// Runs one record through a stage's chain into its partial.
    fn record(
        &self,
        stage: &Stage,
        record: Value,
        partial: &mut Partial,
        frame: &mut Frame,
    ) -> Outcome<()> {
        self.steps(stage, &stage.steps, record, partial, frame)
    }

    fn steps(
        &self,
        stage: &Stage,
        steps: &[StreamStep],
        element: Value,
        partial: &mut Partial,
        frame: &mut Frame,
    ) -> Outcome<()> {
        let Some((step, rest)) = steps.split_first() else {
            return self.feed(
                stage.aggregation,
                partial,
                element,
                &stage.element,
                &stage.lambdas,
                stage.span,
                frame,
            );
        };
        match step.op {
            ListOp::Map => {
                let mapped = self.apply(&step.lambda, vec![element], frame)?;
                self.steps(stage, rest, mapped, partial, frame)
            }
            ListOp::Filter => {
                if as_bool(&self.apply(&step.lambda, vec![element.clone()], frame)?)? {
                    self.steps(stage, rest, element, partial, frame)?;
                }
                Ok(())
            }
            ListOp::FlatMap => {
                let items = as_list(self.apply(&step.lambda, vec![element], frame)?)?;
                for item in items {
                    self.steps(stage, rest, item, partial, frame)?;
                }
                Ok(())
            }
            other => Err(internal(format!("`{}` as a chain step", other.name()))),
        }
    }

    /// Adds one element to the partial of aggregation `op`, as the code
    /// generator's `feed` does.
    #[allow(clippy::too_many_arguments)]
    fn feed(
        &self,
        op: ListOp,
        partial: &mut Partial,
        element: Value,
        element_ty: &IrType,
        lambdas: &[Lambda],
        span: SpanId,
        frame: &mut Frame,
    ) -> Outcome<()> {
        let lambda = |index: usize| {
            lambdas
                .get(index)
                .ok_or_else(|| internal(format!("`{}` without its function", op.name())))
        };
        let position = frame.position;
        let fail = |e| runtime(e, Some(span), position);
        match op {
            ListOp::Count => partial.count_one().map_err(fail),
            ListOp::Sum | ListOp::Mean => {
                if *element_ty == IrType::Float {
                    partial.add_float(as_float(&element)?).map_err(fail)
                } else {
                    partial.add_int(as_int(&element)?).map_err(fail)
                }
            }
            ListOp::Min | ListOp::Max | ListOp::Distinct | ListOp::Collect => {
                partial.add_value(element).map_err(fail)
            }
            ListOp::Sort => partial.add_keyed(element.clone(), element).map_err(fail),
            ListOp::SortBy | ListOp::Top | ListOp::Bottom => {
                let key = self.apply(lambda(0)?, vec![element.clone()], frame)?;
                partial.add_keyed(key, element).map_err(fail)
            }
            ListOp::CountBy => {
                let key = self.apply(lambda(0)?, vec![element], frame)?;
                partial.add_key(&key).map_err(fail)
            }
            ListOp::SumBy => {
                let key = self.apply(lambda(0)?, vec![element.clone()], frame)?;
                let value = self.apply(lambda(1)?, vec![element], frame)?;
                partial.add_keyed(key, value).map_err(fail)
            }
            ListOp::ReduceBy => {
                let key = self.apply(lambda(0)?, vec![element.clone()], frame)?;
                let value = self.apply(lambda(1)?, vec![element], frame)?;
                let reducer = lambda(2)?;
                let failure = RefCell::new(None);
                let result = {
                    let mut reduce =
                        |a: Value, b: Value| self.reducer_call(reducer, a, b, frame, &failure);
                    partial.add_keyed_reduced(&key, value, &mut reduce)
                };
                if let Some(error) = failure.into_inner() {
                    return Err(error);
                }
                result.map_err(fail)
            }
            ListOp::Reduce => {
                let reducer = lambda(0)?;
                let failure = RefCell::new(None);
                let result = {
                    let mut reduce =
                        |a: Value, b: Value| self.reducer_call(reducer, a, b, frame, &failure);
                    partial.add_reduced(element, &mut reduce)
                };
                if let Some(error) = failure.into_inner() {
                    return Err(error);
                }
                result.map_err(fail)
            }
            ListOp::Map | ListOp::Filter | ListOp::FlatMap => {
                Err(internal(format!("`{}` is no aggregation", op.name())))
            }
        }
    }

    /// Binds a lambda's parameters in the current frame and evaluates it.
    fn apply(&self, lambda: &Lambda, args: Vec<Value>, frame: &mut Frame) -> Outcome<Value> {
        if lambda.params.len() != args.len() {
            return Err(internal("a lambda applied to the wrong number of values"));
        }
        for (local, value) in lambda.params.iter().zip(args) {
            self.set(frame, local.0, value)?;
        }
        self.eval(&lambda.body, frame)
    }

    fn set(&self, frame: &mut Frame, local: u32, value: Value) -> Outcome<()> {
        let slot = frame
            .locals
            .get_mut(local as usize)
            .ok_or_else(|| internal(format!("local {local} out of range")))?;
        *slot = Some(value);
        Ok(())
    }

    /// Calls user function `function`; self tail calls loop here.
    fn call(&self, function: &Function, mut args: Vec<Value>, depth: usize) -> Outcome<Value> {
        if depth > MAX_CALL_DEPTH {
            return Err(internal(format!(
                "`{}` recursed deeper than {MAX_CALL_DEPTH} calls",
                function.name
            )));
        }
        let mut frame = Frame {
            locals: vec![None; function.locals.locals.len()],
            scope: Scope::Function,
            position: -1,
            depth,
        };
        loop {
            if function.params.len() != args.len() {
                return Err(internal(format!(
                    "`{}` called with {} arguments",
                    function.name,
                    args.len()
                )));
            }
            for (local, value) in function.params.iter().zip(args) {
                self.set(&mut frame, local.0, value)?;
            }
            match self.eval_tail(&function.body, &mut frame)? {
                Tail::Done(value) => return Ok(value),
                Tail::Again(next) => args = next,
            }
        }
    }

    /// Evaluates an expression in tail position of a function body.
    fn eval_tail(&self, expr: &Expr, frame: &mut Frame) -> Outcome<Tail> {
        match &expr.kind {
            ExprKind::TailCall { args } => {
                let args = args
                    .iter()
                    .map(|a| self.eval(a, frame))
                    .collect::<Outcome<Vec<_>>>()?;
                Ok(Tail::Again(args))
            }
            ExprKind::If {
                cond,
                then_branch,
                else_branch,
            } => {
                if as_bool(&self.eval(cond, frame)?)? {
                    self.eval_tail(then_branch, frame)
                } else {
                    self.eval_tail(else_branch, frame)
                }
            }
            ExprKind::Let { local, value, body } => {
                let value = self.eval(value, frame)?;
                self.set(frame, local.0, value)?;
                self.eval_tail(body, frame)
            }
            _ => Ok(Tail::Done(self.eval(expr, frame)?)),
        }
    }

    fn eval(&self, expr: &Expr, frame: &mut Frame) -> Outcome<Value> {
        let position = frame.position;
        let fail = |e: RuntimeError, span: SpanId| runtime(e, Some(span), position);
        match &expr.kind {
            ExprKind::Int(n) => Ok(Value::Int(*n)),
            ExprKind::Float(x) => Ok(Value::Float(*x)),
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::Str(s) => Ok(Value::str(s)),
            ExprKind::Local(local) => frame
                .locals
                .get(local.0 as usize)
                .cloned()
                .flatten()
                .ok_or_else(|| internal(format!("local {} read before it is set", local.0))),
            ExprKind::Param(index) => self
                .input
                .params
                .get(*index as usize)
                .cloned()
                .ok_or_else(|| internal(format!("no param {index}"))),
            ExprKind::StageResult(index) => match frame.scope {
                Scope::Value => self.stage_result(*index),
                _ => Err(internal("a stage result outside a value")),
            },
            ExprKind::Value(index) => match frame.scope {
                Scope::Stage => self.value(*index),
                _ => Err(internal("a plan value outside a stage")),
            },
            ExprKind::Let { local, value, body } => {
                let value = self.eval(value, frame)?;
                self.set(frame, local.0, value)?;
                self.eval(body, frame)
            }
            ExprKind::If {
                cond,
                then_branch,
                else_branch,
            } => {
                if as_bool(&self.eval(cond, frame)?)? {
                    self.eval(then_branch, frame)
                } else {
                    self.eval(else_branch, frame)
                }
            }
            ExprKind::Unary { op, operand, span } => {
                let value = self.eval(operand, frame)?;
                match (op, value) {
                    (UnaryOp::Neg, Value::Int(n)) => numbers::int_neg(n)
                        .map(Value::Int)
                        .map_err(|e| fail(e, *span)),
                    (UnaryOp::Neg, Value::Float(x)) => Ok(Value::Float(-x)),
                    (UnaryOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
                    (_, other) => Err(internal(format!(
                        "a unary operator on a {}",
                        other.kind_name()
                    ))),
                }
            }
            ExprKind::Binary { op, lhs, rhs, span } => {
                let lhs = self.eval(lhs, frame)?;
                // `and` and `or` short-circuit.
                match op {
                    BinaryOp::And if !as_bool(&lhs)? => return Ok(Value::Bool(false)),
                    BinaryOp::Or if as_bool(&lhs)? => return Ok(Value::Bool(true)),
                    BinaryOp::And | BinaryOp::Or => {
                        return Ok(Value::Bool(as_bool(&self.eval(rhs, frame)?)?));
                    }
                    _ => {}
                }
                let rhs = self.eval(rhs, frame)?;
                binary(*op, lhs, rhs).map_err(|e| match e {
                    BinaryFailure::Runtime(e) => fail(e, *span),
                    BinaryFailure::Internal(e) => e,
                })
            }
            ExprKind::Tuple(items) => Ok(Value::Tuple(self.eval_all(items, frame)?)),
            ExprKind::List(items) => Ok(Value::List(self.eval_all(items, frame)?)),
            ExprKind::Record(items) => Ok(Value::Record(self.eval_all(items, frame)?)),
            ExprKind::Field { base, index } => match self.eval(base, frame)? {
                Value::Tuple(mut fields) | Value::Record(mut fields)
                    if (*index as usize) < fields.len() =>
                {
                    Ok(fields.swap_remove(*index as usize))
                }
                other => Err(internal(format!(
                    "field {index} of a {}",
                    other.kind_name()
                ))),
            },
            ExprKind::Call { function, args } => {
                let target = self
                    .ir()
                    .functions
                    .get(function.0 as usize)
                    .ok_or_else(|| internal(format!("no function {}", function.0)))?;
                let args = self.eval_all(args, frame)?;
                self.call(target, args, frame.depth + 1)
            }
            ExprKind::TailCall { .. } => Err(internal("a tail call outside tail position")),
            // Tools are WebAssembly code run by the executor's host; the
            // interpreter is an oracle for Flow's own semantics, so jobs
            // that call tools are outside its scope (docs/abi.md).
            ExprKind::ExternCall { function, span, .. } => Err(InterpError {
                kind: "unsupported".to_owned(),
                message: format!(
                    "extern fn `{}` is a WebAssembly tool, which the reference interpreter does not run",
                    self.ir()
                        .externs
                        .get(function.0 as usize)
                        .map_or("?", |f| f.name.as_str())
                ),
                span: Some(*span),
                position,
            }),
            ExprKind::Builtin { op, args, span } => {
                let args = self.eval_all(args, frame)?;
                self.builtin(*op, args, *span, position)
            }
            ExprKind::ListOp(op) => {
                let list = as_list(self.eval(&op.list, frame)?)?;
                let element_ty = op
                    .list
                    .ty
                    .element()
                    .ok_or_else(|| internal("a list operator over a non-list"))?;
                match op.op {
                    ListOp::Map | ListOp::Filter | ListOp::FlatMap => {
                        let lambda = op
                            .lambdas
                            .first()
                            .ok_or_else(|| internal("a list step without its function"))?;
                        let mut out = Vec::new();
                        for item in list {
                            match op.op {
                                ListOp::Map => out.push(self.apply(lambda, vec![item], frame)?),
                                ListOp::Filter => {
                                    if as_bool(&self.apply(lambda, vec![item.clone()], frame)?)? {
                                        out.push(item);
                                    }
                                }
                                _ => out.extend(as_list(self.apply(lambda, vec![item], frame)?)?),
                            }
                        }
                        Ok(Value::List(out))
                    }
                    aggregation => {
                        let n = match op.args.first() {
                            Some(n) => as_int(&self.eval(n, frame)?)?,
                            None => 0,
                        };
                        let mut partial = new_partial(aggregation, element_ty, &op.lambdas, n)?;
                        for item in list {
                            self.feed(
                                aggregation,
                                &mut partial,
                                item,
                                element_ty,
                                &op.lambdas,
                                op.span,
                                frame,
                            )?;
                        }
                        partial.finish().map_err(|e| fail(e, op.span))
                    }
                }
            }
        }
    }

    fn eval_all(&self, items: &[Expr], frame: &mut Frame) -> Outcome<Vec<Value>> {
        items.iter().map(|e| self.eval(e, frame)).collect()
    }

    /// A standard function, computed by the runtime's code.
    fn builtin(
        &self,
        op: Builtin,
        args: Vec<Value>,
        span: SpanId,
        position: i64,
    ) -> Outcome<Value> {
        let fail = |e: RuntimeError| runtime(e, Some(span), position);
        let arg = |i: usize| {
            args.get(i)
                .ok_or_else(|| internal(format!("{op:?} with too few arguments")))
        };
        let float = |i: usize| arg(i).and_then(as_float);
        let string = |i: usize| arg(i).and_then(as_str);
        Ok(match op {
            Builtin::Abs => match arg(0)? {
                Value::Int(n) => Value::Int(numbers::int_abs(*n).map_err(fail)?),
                Value::Float(x) => Value::Float(numbers::float_abs(*x)),
                other => return Err(internal(format!("abs of a {}", other.kind_name()))),
            },
            Builtin::Min2 => numbers::min_value(arg(0)?.clone(), arg(1)?.clone()),
            Builtin::Max2 => numbers::max_value(arg(0)?.clone(), arg(1)?.clone()),
            Builtin::Sqrt => Value::Float(numbers::sqrt(float(0)?)),
            Builtin::Pow => Value::Float(numbers::pow(float(0)?, float(1)?)),
            Builtin::Exp => Value::Float(numbers::exp(float(0)?)),
            Builtin::Ln => Value::Float(numbers::ln(float(0)?)),
            Builtin::Floor => Value::Int(numbers::floor(float(0)?).map_err(fail)?),
            Builtin::Ceil => Value::Int(numbers::ceil(float(0)?).map_err(fail)?),
            Builtin::Round => Value::Int(numbers::round(float(0)?).map_err(fail)?),
            Builtin::ToFloat => match arg(0)? {
                Value::Int(n) => Value::Float(numbers::int_to_float(*n)),
                Value::Float(x) => Value::Float(*x),
                other => return Err(internal(format!("float of a {}", other.kind_name()))),
            },
            Builtin::ToInt => match arg(0)? {
                Value::Float(x) => Value::Int(numbers::float_to_int(*x).map_err(fail)?),
                Value::Int(n) => Value::Int(*n),
                other => return Err(internal(format!("int of a {}", other.kind_name()))),
            },
            Builtin::Hash => Value::Int(table::hash_value(arg(0)?)),
            Builtin::Rand => Value::Float(table::rand(as_int(arg(0)?)?)),
            Builtin::StrLen => Value::Int(text::len(string(0)?)),
            Builtin::Lower => Value::Str(text::lower(string(0)?)),
            Builtin::Upper => Value::Str(text::upper(string(0)?)),
            Builtin::Trim => Value::str(text::trim(string(0)?)),
            Builtin::Words => strs(text::words(string(0)?)),
            Builtin::Split => strs(text::split(string(0)?, string(1)?)),
            Builtin::Join => {
                let pieces = match arg(0)? {
                    Value::List(items) => {
                        items.iter().map(as_str).collect::<Outcome<Vec<&str>>>()?
                    }
                    other => return Err(internal(format!("join of a {}", other.kind_name()))),
                };
                Value::Str(text::join(&pieces, string(1)?))
            }
            Builtin::Contains => Value::Bool(text::contains(string(0)?, string(1)?)),
            Builtin::StartsWith => Value::Bool(text::starts_with(string(0)?, string(1)?)),
            Builtin::EndsWith => Value::Bool(text::ends_with(string(0)?, string(1)?)),
            Builtin::Replace => Value::Str(text::replace(string(0)?, string(1)?, string(2)?)),
            Builtin::Substr => {
                Value::str(text::substr(string(0)?, as_int(arg(1)?)?, as_int(arg(2)?)?))
            }
            Builtin::Matches => Value::Bool(self.matches(string(0)?, string(1)?).map_err(fail)?),
            Builtin::ParseInt => Value::Int(text::to_int(string(0)?).map_err(fail)?),
            Builtin::ParseFloat => Value::Float(text::to_float(string(0)?).map_err(fail)?),
            Builtin::Str => Value::Str(text::scalar_to_str(arg(0)?).map_err(fail)?),
            Builtin::ListLen => match arg(0)? {
                Value::List(items) => Value::Int(items.len() as i64),
                other => return Err(internal(format!("len of a {}", other.kind_name()))),
            },
            Builtin::Get => {
                let index = as_int(arg(1)?)?;
                let items = match arg(0)? {
                    Value::List(items) => items,
                    other => return Err(internal(format!("get of a {}", other.kind_name()))),
                };
                match usize::try_from(index).ok().and_then(|i| items.get(i)) {
                    Some(element) => element.clone(),
                    None => {
                        return Err(InterpError {
                            kind: "index".to_owned(),
                            message: format!(
                                "index {index} is out of range for a list of length {}",
                                items.len()
                            ),
                            span: Some(span),
                            position,
                        });
                    }
                }
            }
        })
    }

    /// `matches(s, pattern)`, through the runtime's regex cache as a stage
    /// worker does.
    fn matches(&self, text: &str, pattern: &str) -> Result<bool, RuntimeError> {
        self.regex.borrow_mut().matches(text, pattern)
    }
}

/// Why a binary operator failed: on user data, or on a value of the wrong
/// kind (a lowering bug).
enum BinaryFailure {
    Runtime(RuntimeError),
    Internal(InterpError),
}

impl From<RuntimeError> for BinaryFailure {
    fn from(error: RuntimeError) -> Self {
        BinaryFailure::Runtime(error)
    }
}

/// A binary operator other than `and` and `or`.
fn binary(op: BinaryOp, lhs: Value, rhs: Value) -> Result<Value, BinaryFailure> {
    use std::cmp::Ordering;
    let compare = |wanted: &dyn Fn(Ordering) -> bool| Value::Bool(wanted(lhs.cmp(&rhs)));
    Ok(match op {
        BinaryOp::Eq => compare(&|o| o == Ordering::Equal),
        BinaryOp::Ne => compare(&|o| o != Ordering::Equal),
        BinaryOp::Lt => compare(&|o| o == Ordering::Less),
        BinaryOp::Le => compare(&|o| o != Ordering::Greater),
        BinaryOp::Gt => compare(&|o| o == Ordering::Greater),
        BinaryOp::Ge => compare(&|o| o != Ordering::Less),
        BinaryOp::And | BinaryOp::Or => {
            return Err(BinaryFailure::Internal(internal(
                "`and`/`or` reached the strict operators",
            )));
        }
        arithmetic => match (lhs, rhs) {
            (Value::Int(a), Value::Int(b)) => Value::Int(match arithmetic {
                BinaryOp::Add => numbers::int_add(a, b)?,
                BinaryOp::Sub => numbers::int_sub(a, b)?,
                BinaryOp::Mul => numbers::int_mul(a, b)?,
                BinaryOp::Div => numbers::int_div(a, b)?,
                _ => numbers::int_rem(a, b)?,
            }),
            (Value::Float(a), Value::Float(b)) => Value::Float(match arithmetic {
                BinaryOp::Add => a + b,
                BinaryOp::Sub => a - b,
                BinaryOp::Mul => a * b,
                BinaryOp::Div => a / b,
                _ => numbers::float_rem(a, b),
            }),
            (Value::Str(mut a), Value::Str(b)) if arithmetic == BinaryOp::Add => {
                a.push_str(&b);
                Value::Str(a)
            }
            (Value::List(mut a), Value::List(b)) if arithmetic == BinaryOp::Add => {
                a.extend(b);
                Value::List(a)
            }
            (a, b) => {
                return Err(BinaryFailure::Internal(internal(format!(
                    "{arithmetic:?} of a {} and a {}",
                    a.kind_name(),
                    b.kind_name()
                ))));
            }
        },
    })
}
