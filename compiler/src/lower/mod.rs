//! Lowering: the checked syntax tree of one job to the [`crate::ir`] and the
//! skeleton of its [`crate::plan::JobPlan`].
//!
//! Stream expressions are split where they aggregate: everything before an
//! aggregation (the input and its `map`/`filter`/`flat_map` steps, with
//! stream `let`s inlined) becomes a [`Stage`]; the aggregation's finished
//! value is a list or scalar, so everything after it (`count_by(..) |>
//! top(10, by: ..)`, `total / float(n)`) is ordinary list and scalar code in
//! the [`ValueDef`] of the `let` or `output`. A stage that uses a value
//! computed from another stage reads it from `ctx` in a later phase.
//!
//! Every construct the code generator cannot handle yet is reported as
//! [`CodegenError::Unsupported`] with its position, never compiled wrongly.

mod expr;

use std::collections::HashMap;

use flow_lang::ast::{Item, ItemKind};
use flow_lang::{FileId, Span};

use crate::Analysis;
use crate::codegen::CodegenError;
use crate::ir::{
    Body, ExternFn, ExternId, FnId, Function, IrType, JobIr, SpanTable, Stage, ValueDef,
};
use crate::plan::{
    ABI_VERSION, JobPlan, PlanArg, PlanFormat, PlanGraph, PlanInput, PlanLiteral, PlanParam,
    PlanSource, PlanSpan, PlanStage, PlanValue, ValueKind,
};
use crate::program::{DefId, Job, Literal, OutputFormat, SourceKind, SubmitValue};
use crate::types::Ty;

/// The IR of a job and its plan (whose `module` field is filled in by the
/// package builder).
#[derive(Debug)]
pub struct Lowered {
    pub ir: JobIr,
    pub plan: JobPlan,
}

/// Lowers the job whose root file is `root`. The analysis must be free of
/// errors.
pub fn lower(analysis: &Analysis, root: FileId) -> Result<Lowered, CodegenError> {
    if analysis.has_errors() {
        return Err(CodegenError::Internal(
            "lowering a program with errors".to_owned(),
        ));
    }
    let job = analysis
        .program
        .job(root)
        .ok_or_else(|| CodegenError::Internal(format!("no job has the root file {root:?}")))?;
    let mut lowerer = Lowerer::new(analysis, job);
    lowerer.run()?;
    lowerer.finish()
}

/// What a body being lowered may refer to besides its own locals.
#[derive(Debug)]
enum Context {
    /// A user function: params only.
    Function,
    /// A stage: params and plan values computed by earlier phases.
    Stage,
    /// A value: params and finished stage results.
    Value { stages: Vec<u32> },
}

/// A stream under construction: the input and the steps so far.
#[derive(Debug, Clone)]
struct PendingStream<'a> {
    input: u32,
    steps: Vec<(crate::ir::ListOp, FileId, &'a flow_lang::ast::Expr)>,
}

/// A lowered stream expression.
#[derive(Debug)]
enum StreamRef<'a> {
    /// Not aggregated yet.
    Pending(PendingStream<'a>),
    /// Already aggregated: a list in the value being lowered.
    List(crate::ir::Expr),
}

/// The state of lowering one job.
struct Lowerer<'a> {
    analysis: &'a Analysis,
    job: &'a Job,
    /// Item definitions by the span of their name.
    defs_by_name: HashMap<(FileId, Span), DefId>,
    /// Items of the job by definition.
    items: HashMap<DefId, (FileId, &'a Item)>,
    params: HashMap<DefId, u32>,
    inputs: HashMap<DefId, u32>,
    functions: HashMap<DefId, FnId>,
    externs: HashMap<DefId, ExternId>,
    /// The job's `extern fn`s, by [`ExternId`].
    lowered_externs: Vec<ExternFn>,
    /// Lowered functions, by [`FnId`]; `None` while being lowered.
    lowered_functions: Vec<Option<Function>>,
    stages: Vec<Stage>,
    /// Stages by the span of their aggregation call.
    stage_by_span: HashMap<(FileId, Span), u32>,
    /// Plan values of lets used by stages, by the let.
    let_values: HashMap<DefId, u32>,
    /// Lets whose value reads no stage, by the let (memo of
    /// [`Lowerer::let_reads_stages`]).
    let_reads_stages: HashMap<DefId, bool>,
    values: Vec<(ValueDef, PlanValue)>,
    spans: SpanTable,
    /// The locals of the body being lowered.
    body: Body,
    /// Binders in scope: local definitions to locals.
    scope: HashMap<DefId, crate::ir::LocalId>,
    context: Context,
    /// Lets being lowered, to report a cycle rather than loop (the checker
    /// already rejects cycles).
    active_lets: Vec<DefId>,
}

impl<'a> Lowerer<'a> {
    fn new(analysis: &'a Analysis, job: &'a Job) -> Lowerer<'a> {
        let mut defs_by_name = HashMap::new();
        for def in &analysis.program.definitions {
            defs_by_name.insert((def.file, def.span), def.id);
        }
        let mut items = HashMap::new();
        for file in &job.files {
            if let Some(module) = analysis.module(*file) {
                for item in &module.items {
                    if let Some(name) = item.kind.name()
                        && let Some(def) = defs_by_name.get(&(*file, name.span))
                    {
                        items.insert(*def, (*file, item));
                    }
                }
            }
        }
        let params = job
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| (p.def, i as u32))
            .collect();
        let inputs = job
            .inputs
            .iter()
            .enumerate()
            .map(|(i, p)| (p.def, i as u32))
            .collect();
        let functions = job
            .fns
            .iter()
            .enumerate()
            .map(|(i, f)| (f.def, FnId(i as u32)))
            .collect();
        let externs = job
            .externs
            .iter()
            .enumerate()
            .map(|(i, f)| (f.def, ExternId(i as u32)))
            .collect();
        Lowerer {
            analysis,
            job,
            defs_by_name,
            items,
            params,
            inputs,
            functions,
            externs,
            lowered_externs: Vec::new(),
            lowered_functions: vec![None; job.fns.len()],
            stages: Vec::new(),
            stage_by_span: HashMap::new(),
            let_values: HashMap::new(),
            let_reads_stages: HashMap::new(),
            values: Vec::new(),
            spans: SpanTable::default(),
            body: Body::default(),
            scope: HashMap::new(),
            context: Context::Value { stages: Vec::new() },
            active_lets: Vec::new(),
        }
    }

    fn run(&mut self) -> Result<(), CodegenError> {
        for info in &self.job.externs {
            let lowered = self.lower_extern(info)?;
            self.lowered_externs.push(lowered);
        }
        for index in 0..self.job.fns.len() {
            self.lower_function(FnId(index as u32))?;
        }
        for output in &self.job.outputs {
            let (file, item) = self.item(output.def)?;
            let ItemKind::Output(decl) = &item.kind else {
                return Err(CodegenError::Internal(format!(
                    "output `{}` is not an output item",
                    output.name
                )));
            };
            let (def, stages) = self.lower_value(file, &decl.value)?;
            let ty = def.expr.ty.clone();
            let to = output.to.as_ref().map(|(path, format)| {
                (
                    path.clone(),
                    match format {
                        OutputFormat::Csv => PlanFormat::Csv,
                        OutputFormat::Jsonl => PlanFormat::Jsonl,
                        OutputFormat::Json => PlanFormat::Json,
                    },
                )
            });
            let index = self.values.len() as u32;
            self.values.push((
                ValueDef {
                    name: output.name.clone(),
                    ..def
                },
                PlanValue {
                    index,
                    name: output.name.clone(),
                    kind: ValueKind::Output,
                    ty,
                    stages,
                    phase: 0,
                    to,
                },
            ));
        }
        Ok(())
    }

    /// The item declaring `def`.
    fn item(&self, def: DefId) -> Result<(FileId, &'a Item), CodegenError> {
        self.items
            .get(&def)
            .copied()
            .ok_or_else(|| CodegenError::Internal(format!("no item declares definition {def:?}")))
    }

    /// The span id of a position in a file.
    fn span(&mut self, file: FileId, span: Span) -> crate::ir::SpanId {
        self.spans.intern(file, span)
    }

    /// "at path:line:col", for messages.
    fn at(&self, file: FileId, span: Span) -> String {
        let source = self.analysis.sources.get(file);
        let (line, col) = self
            .analysis
            .sources
            .line_index(file)
            .line_col(span.start as usize);
        format!("{}:{}:{}", source.path, line + 1, col + 1)
    }

    fn unsupported(&self, what: &str, file: FileId, span: Span) -> CodegenError {
        CodegenError::Unsupported(format!("{what} at {}", self.at(file, span)))
    }

    /// Converts a checked type; streams become lists (a stream that reaches
    /// a value has been aggregated).
    fn ir_type(&self, ty: &Ty) -> Result<IrType, CodegenError> {
        Ok(match ty {
            Ty::Int => IrType::Int,
            Ty::Float => IrType::Float,
            Ty::Bool => IrType::Bool,
            Ty::Str => IrType::Str,
            Ty::List(element) | Ty::Stream(element) => {
                IrType::List(Box::new(self.ir_type(element)?))
            }
            Ty::Tuple(items) => IrType::Tuple(
                items
                    .iter()
                    .map(|t| self.ir_type(t))
                    .collect::<Result<_, _>>()?,
            ),
            Ty::Record(name) => {
                let record = self
                    .job
                    .records
                    .iter()
                    .find(|r| r.name == *name)
                    .ok_or_else(|| CodegenError::Internal(format!("unknown record `{name}`")))?;
                let mut fields = Vec::with_capacity(record.fields.len());
                for (field, ty) in &record.fields {
                    fields.push((field.clone(), self.ir_type(ty)?));
                }
                IrType::Record(name.clone(), fields)
            }
            Ty::Fn(..) | Ty::Var(_) | Ty::Gen(_) | Ty::Error => {
                return Err(CodegenError::Internal(format!(
                    "the type `{ty}` reached lowering"
                )));
            }
        })
    }

    /// Runs `f` with a fresh body, scope and context, restoring the current
    /// ones afterwards.
    fn with_body<T>(
        &mut self,
        context: Context,
        f: impl FnOnce(&mut Self) -> Result<T, CodegenError>,
    ) -> Result<(T, Body, Context), CodegenError> {
        let saved_body = std::mem::take(&mut self.body);
        let saved_scope = std::mem::take(&mut self.scope);
        let saved_context = std::mem::replace(&mut self.context, context);
        let result = f(self);
        let body = std::mem::replace(&mut self.body, saved_body);
        self.scope = saved_scope;
        let context = std::mem::replace(&mut self.context, saved_context);
        Ok((result?, body, context))
    }

    /// An `extern fn` with its module path resolved against the folder of
    /// the file that declares it.
    fn lower_extern(&self, info: &crate::program::ExternInfo) -> Result<ExternFn, CodegenError> {
        let (file, item) = self.item(info.def)?;
        let ItemKind::Extern(decl) = &item.kind else {
            return Err(CodegenError::Internal(format!(
                "`{}` is not an extern fn item",
                info.name
            )));
        };
        let params = info
            .params
            .iter()
            .map(|(_, ty)| lowerer_scalar(ty))
            .collect::<Result<Vec<_>, _>>()?;
        let declaring = &self.analysis.sources.get(file).path;
        Ok(ExternFn {
            name: info.name.clone(),
            params,
            ret: lowerer_scalar(&info.ret)?,
            module: resolve_module_path(declaring, &info.module),
            module_span: (file, decl.module.span),
        })
    }

    fn lower_function(&mut self, id: FnId) -> Result<(), CodegenError> {
        let info = self
            .job
            .fns
            .get(id.0 as usize)
            .ok_or_else(|| CodegenError::Internal(format!("no function {id:?}")))?;
        let (file, item) = self.item(info.def)?;
        let ItemKind::Fn(decl) = &item.kind else {
            return Err(CodegenError::Internal(format!(
                "`{}` is not a fn item",
                info.name
            )));
        };
        let Some(body_expr) = &decl.body else {
            return Err(self.unsupported("a function without a body", file, item.span));
        };
        let ret = self.ir_type(&info.ret)?;
        let ((params, body), locals, _) = self.with_body(Context::Function, |this| {
            let mut params = Vec::new();
            for (param, (_, ty)) in decl.params.iter().zip(&info.params) {
                let ty = this.ir_type(ty)?;
                let local = this.body.local(ty);
                if let Some(def) = this.defs_by_name.get(&(file, param.name.span)) {
                    this.scope.insert(*def, local);
                }
                params.push(local);
            }
            let body = this.lower_expr(file, body_expr)?;
            Ok((params, body))
        })?;
        let body = mark_tail_calls(body, id);
        if let Some(slot) = self.lowered_functions.get_mut(id.0 as usize) {
            *slot = Some(Function {
                name: info.name.clone(),
                params,
                ret,
                body,
                locals,
            });
        }
        Ok(())
    }

    /// Lowers the expression of a let or output into a value body.
    fn lower_value(
        &mut self,
        file: FileId,
        expr: &'a flow_lang::ast::Expr,
    ) -> Result<(ValueDef, Vec<u32>), CodegenError> {
        let (lowered, locals, context) =
            self.with_body(Context::Value { stages: Vec::new() }, |this| {
                match this.lower_stream_or_expr(file, expr)? {
                    StreamRef::List(expr) => Ok(expr),
                    StreamRef::Pending(pending) => {
                        // A stream output is collected.
                        this.aggregate(file, expr, pending, crate::ir::ListOp::Collect, &[])
                    }
                }
            })?;
        let Context::Value { stages } = context else {
            return Err(CodegenError::Internal(
                "the context of a value changed".to_owned(),
            ));
        };
        Ok((
            ValueDef {
                name: String::new(),
                expr: lowered,
                locals,
            },
            stages,
        ))
    }

    /// Whether the let `def` reads a stage result (so a stage or function
    /// must take it from `ctx` rather than recompute it).
    fn let_reads_stages(&mut self, def: DefId) -> Result<bool, CodegenError> {
        if let Some(known) = self.let_reads_stages.get(&def) {
            return Ok(*known);
        }
        let (file, item) = self.item(def)?;
        let ItemKind::Let(decl) = &item.kind else {
            return Err(CodegenError::Internal(
                "a let that is no let item".to_owned(),
            ));
        };
        if self.active_lets.contains(&def) {
            return Err(self.unsupported("a cycle of lets", file, item.span));
        }
        self.active_lets.push(def);
        let result = self.lower_value(file, &decl.value);
        self.active_lets.pop();
        let (_, stages) = result?;
        let reads = !stages.is_empty();
        self.let_reads_stages.insert(def, reads);
        Ok(reads)
    }

    /// The plan value of a let that reads stages, created on first use.
    fn let_value(&mut self, def: DefId) -> Result<u32, CodegenError> {
        if let Some(index) = self.let_values.get(&def) {
            return Ok(*index);
        }
        let (file, item) = self.item(def)?;
        let ItemKind::Let(decl) = &item.kind else {
            return Err(CodegenError::Internal(
                "a let that is no let item".to_owned(),
            ));
        };
        let (value, stages) = self.lower_value(file, &decl.value)?;
        let name = decl.name.name.clone();
        let index = self.values.len() as u32;
        let ty = value.expr.ty.clone();
        self.values.push((
            ValueDef {
                name: name.clone(),
                ..value
            },
            PlanValue {
                index,
                name,
                kind: ValueKind::Let,
                ty,
                stages,
                phase: 0,
                to: None,
            },
        ));
        self.let_values.insert(def, index);
        Ok(index)
    }

    fn finish(self) -> Result<Lowered, CodegenError> {
        let mut functions = Vec::with_capacity(self.lowered_functions.len());
        for function in self.lowered_functions {
            functions.push(function.ok_or_else(|| {
                CodegenError::Internal("a function was never lowered".to_owned())
            })?);
        }
        let analysis = self.analysis;
        let job = self.job;
        let literal = |l: &Literal| match l {
            Literal::Int(n) => PlanLiteral::Int(*n),
            Literal::Float(x) => PlanLiteral::Float(*x),
            Literal::Bool(b) => PlanLiteral::Bool(*b),
            Literal::Str(s) => PlanLiteral::Str(s.clone()),
        };
        let mut params = Vec::new();
        let mut param_types = Vec::new();
        for param in &job.params {
            let ty = lowerer_scalar(&param.ty)?;
            param_types.push(ty.clone());
            params.push(PlanParam {
                name: param.name.clone(),
                ty,
                default: param.default.as_ref().map(literal),
            });
        }
        let mut inputs = Vec::new();
        for (input, stage_input) in job.inputs.iter().zip(0u32..) {
            let source = analysis.sources.get(input.file);
            let element = self
                .stages
                .iter()
                .find(|s| s.input.0 == stage_input)
                .map(|s| s.locals.locals[s.record.0 as usize].clone());
            let element = match element {
                Some(element) => element,
                None => convert_plain(&input.element, job)?,
            };
            let args = input
                .args
                .iter()
                .map(|arg| match arg {
                    SubmitValue::Literal(l) => PlanArg::Literal(literal(l)),
                    SubmitValue::Param(name) => PlanArg::Param(name.clone()),
                    SubmitValue::Expr(span) => PlanArg::Expr(
                        source
                            .text
                            .get(span.start as usize..span.end as usize)
                            .unwrap_or_default()
                            .to_owned(),
                    ),
                })
                .collect();
            inputs.push(PlanInput {
                name: input.name.clone(),
                source: match input.source {
                    SourceKind::Lines => PlanSource::Lines,
                    SourceKind::Csv => PlanSource::Csv,
                    SourceKind::Jsonl => PlanSource::Jsonl,
                    SourceKind::Files => PlanSource::Files,
                    SourceKind::Range => PlanSource::Range,
                },
                args,
                element,
                base_dir: match source.path.rfind('/') {
                    Some(slash) => source.path[..slash].to_owned(),
                    None => String::new(),
                },
            });
        }
        let input_types = inputs.iter().map(|i| i.element.clone()).collect();

        // Phases: a value is ready after its stages; a stage runs after the
        // values it uses. Values read only stages, so this terminates.
        let mut stage_phase: Vec<Option<u32>> = vec![None; self.stages.len()];
        let mut plan_stages = Vec::new();
        let values_stages: Vec<Vec<u32>> =
            self.values.iter().map(|(_, v)| v.stages.clone()).collect();
        fn phase_of(
            stage: usize,
            uses: &[Vec<u32>],
            values_stages: &[Vec<u32>],
            memo: &mut [Option<u32>],
            depth: usize,
        ) -> Result<u32, CodegenError> {
            if let Some(Some(phase)) = memo.get(stage) {
                return Ok(*phase);
            }
            if depth > memo.len() + 1 {
                return Err(CodegenError::Internal(
                    "stages depend on each other in a cycle".to_owned(),
                ));
            }
            let mut phase = 0;
            for value in uses.get(stage).into_iter().flatten() {
                for earlier in values_stages.get(*value as usize).into_iter().flatten() {
                    let p = phase_of(*earlier as usize, uses, values_stages, memo, depth + 1)?;
                    phase = phase.max(p + 1);
                }
            }
            if let Some(slot) = memo.get_mut(stage) {
                *slot = Some(phase);
            }
            Ok(phase)
        }
        let all_uses: Vec<Vec<u32>> = self.stages.iter().map(stage_value_uses).collect();
        for (index, stage) in self.stages.iter().enumerate() {
            let phase = phase_of(index, &all_uses, &values_stages, &mut stage_phase, 0)?;
            plan_stages.push(PlanStage {
                index: index as u32,
                input: stage.input.0,
                phase,
                uses: all_uses[index].clone(),
                aggregation: stage.aggregation.name().to_owned(),
                result: stage.result.clone(),
                span: stage.span.0,
                members: Vec::new(),
                grouped_into: None,
            });
        }
        group_passes(&mut plan_stages);
        let mut values = Vec::new();
        let mut plan_values = Vec::new();
        for (value, mut plan_value) in self.values {
            plan_value.phase = plan_value
                .stages
                .iter()
                .filter_map(|s| plan_stages.get(*s as usize))
                .map(|s| s.phase + 1)
                .max()
                .unwrap_or(0);
            values.push(value);
            plan_values.push(plan_value);
        }
        let spans = self
            .spans
            .spans
            .iter()
            .map(|(file, span)| {
                let source = analysis.sources.get(*file);
                PlanSpan {
                    file: source.path.clone(),
                    start: span.start,
                    end: span.end,
                    text: source
                        .text
                        .get(span.start as usize..span.end as usize)
                        .unwrap_or_default()
                        .to_owned(),
                }
            })
            .collect();
        let mut lowered = Lowered {
            ir: JobIr {
                params: param_types,
                inputs: input_types,
                functions,
                externs: self.lowered_externs,
                stages: self.stages,
                values,
                spans: self.spans,
            },
            plan: JobPlan {
                abi_version: ABI_VERSION,
                root: analysis.sources.get(job.root).path.clone(),
                params,
                inputs,
                stages: plan_stages,
                values: plan_values,
                spans,
                policy: serde_json::to_value(&job.policy).unwrap_or(serde_json::Value::Null),
                module: String::new(),
                tools: Vec::new(),
                graph: PlanGraph::default(),
            },
        };
        lowered.plan.graph = PlanGraph::build(&lowered.ir, &lowered.plan);
        Ok(lowered)
    }
}

/// Groups the stages that read the same input in the same phase into one
/// pass each (appended to `stages`, their index after every stage's), so
/// the input is read and decoded once and a prefix of steps the stages
/// share runs once (`codegen::job`). A stage alone on its input and phase
/// stays as it is.
fn group_passes(stages: &mut Vec<PlanStage>) {
    let mut groups: Vec<(u32, u32, Vec<u32>)> = Vec::new();
    for stage in stages.iter() {
        match groups
            .iter_mut()
            .find(|(input, phase, _)| *input == stage.input && *phase == stage.phase)
        {
            Some((_, _, members)) => members.push(stage.index),
            None => groups.push((stage.input, stage.phase, vec![stage.index])),
        }
    }
    for (input, phase, members) in groups {
        if members.len() < 2 {
            continue;
        }
        let index = stages.len() as u32;
        let member_stages: Vec<&PlanStage> = members.iter().map(|m| &stages[*m as usize]).collect();
        let mut uses: Vec<u32> = member_stages
            .iter()
            .flat_map(|s| s.uses.iter().copied())
            .collect();
        uses.sort_unstable();
        uses.dedup();
        let aggregation = member_stages
            .iter()
            .map(|s| s.aggregation.as_str())
            .collect::<Vec<_>>()
            .join(" + ");
        let result = IrType::Tuple(member_stages.iter().map(|s| s.result.clone()).collect());
        let span = member_stages[0].span;
        for member in &members {
            stages[*member as usize].grouped_into = Some(index);
        }
        stages.push(PlanStage {
            index,
            input,
            phase,
            uses,
            aggregation,
            result,
            span,
            members,
            grouped_into: None,
        });
    }
}

/// The path of a module named in `declaring_file` (a `/`-separated path as
/// the command line reached it): relative to that file's folder unless it
/// is absolute.
pub fn resolve_module_path(declaring_file: &str, written: &str) -> String {
    if written.starts_with('/') {
        return written.to_owned();
    }
    let written = written.trim_start_matches("./");
    match declaring_file.rfind('/') {
        Some(slash) => format!("{}/{written}", &declaring_file[..slash]),
        None => written.to_owned(),
    }
}

/// The type of a param or an `extern fn` parameter or result: a scalar.
fn lowerer_scalar(ty: &Ty) -> Result<IrType, CodegenError> {
    match ty {
        Ty::Int => Ok(IrType::Int),
        Ty::Float => Ok(IrType::Float),
        Ty::Bool => Ok(IrType::Bool),
        Ty::Str => Ok(IrType::Str),
        other => Err(CodegenError::Internal(format!("a param of type `{other}`"))),
    }
}

/// The element type of an input no stage reads.
fn convert_plain(ty: &Ty, job: &Job) -> Result<IrType, CodegenError> {
    Ok(match ty {
        Ty::Int => IrType::Int,
        Ty::Float => IrType::Float,
        Ty::Bool => IrType::Bool,
        Ty::Str => IrType::Str,
        Ty::List(element) => IrType::List(Box::new(convert_plain(element, job)?)),
        Ty::Tuple(items) => IrType::Tuple(
            items
                .iter()
                .map(|t| convert_plain(t, job))
                .collect::<Result<_, _>>()?,
        ),
        Ty::Record(name) => {
            let record = job
                .records
                .iter()
                .find(|r| r.name == *name)
                .ok_or_else(|| CodegenError::Internal(format!("unknown record `{name}`")))?;
            let mut fields = Vec::new();
            for (field, ty) in &record.fields {
                fields.push((field.clone(), convert_plain(ty, job)?));
            }
            IrType::Record(name.clone(), fields)
        }
        other => {
            return Err(CodegenError::Internal(format!(
                "an input of type `{other}`"
            )));
        }
    })
}

/// The plan values a stage reads, in first-use order.
fn stage_value_uses(stage: &Stage) -> Vec<u32> {
    let mut uses = Vec::new();
    let mut visit = |e: &crate::ir::Expr| {
        if let crate::ir::ExprKind::Value(v) = e.kind
            && !uses.contains(&v)
        {
            uses.push(v);
        }
    };
    for step in &stage.steps {
        crate::ir::walk(&step.lambda.body, &mut visit);
    }
    for arg in &stage.args {
        crate::ir::walk(arg, &mut visit);
    }
    for lambda in &stage.lambdas {
        crate::ir::walk(&lambda.body, &mut visit);
    }
    uses
}

/// Rewrites self calls in tail position into [`crate::ir::ExprKind::TailCall`].
fn mark_tail_calls(expr: crate::ir::Expr, id: FnId) -> crate::ir::Expr {
    use crate::ir::{Expr, ExprKind};
    let Expr { kind, ty } = expr;
    let kind = match kind {
        ExprKind::Call { function, args } if function == id => ExprKind::TailCall { args },
        ExprKind::If {
            cond,
            then_branch,
            else_branch,
        } => ExprKind::If {
            cond,
            then_branch: Box::new(mark_tail_calls(*then_branch, id)),
            else_branch: Box::new(mark_tail_calls(*else_branch, id)),
        },
        ExprKind::Let { local, value, body } => ExprKind::Let {
            local,
            value,
            body: Box::new(mark_tail_calls(*body, id)),
        },
        other => other,
    };
    Expr { kind, ty }
}
