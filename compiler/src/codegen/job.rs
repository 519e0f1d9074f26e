//! The stage module of a whole job: user functions, every stage's
//! `process` (one loop over the chunk's records with the fused chain
//! inline, feeding the runtime partial), `merge` and `finish`, every plan
//! value's `value_<v>`, and the linked `extern fn` tools with their
//! wrappers (`codegen/externs.rs`).

use wasm_encoder::{BlockType, MemArg, ValType};

use super::expr::{Emitter, Runtime, Shared, val_type};
use super::externs::{self, ExternBindings};
use super::{CodegenError, ModuleBuilder, Signature, stage, validate};
use crate::ir::{Builtin, Expr, ExprKind, IrType, JobIr, ListOp, Stage, same_lambda};
use crate::plan::{JobPlan, PlanSource};

use ValType::{I32, I64};

/// Generates and validates the stage module of a lowered job that calls no
/// `extern fn`.
pub fn generate(ir: &JobIr, plan: &JobPlan) -> Result<Vec<u8>, CodegenError> {
    generate_linked(ir, plan, &ExternBindings::default())
}

/// Generates and validates the stage module of a lowered job, linking the
/// tool modules its `extern fn`s are bound to.
pub fn generate_linked(
    ir: &JobIr,
    plan: &JobPlan,
    bindings: &ExternBindings,
) -> Result<Vec<u8>, CodegenError> {
    let mut builder = ModuleBuilder::with_tools(bindings.tools.clone())?;
    let runtime = Runtime::new(&builder)?;
    let (extern_wrappers, pending) = externs::declare_wrappers(&mut builder, &ir.externs);
    let functions: Vec<u32> = ir
        .functions
        .iter()
        .map(|f| {
            let params: Vec<ValType> = f
                .params
                .iter()
                .map(|p| val_type(&f.locals.locals[p.0 as usize]))
                .collect();
            builder.declare(Signature::new(&params, &[val_type(&f.ret)]))
        })
        .collect();
    let shared = Shared {
        runtime,
        ir,
        functions,
        functions_use_ctx: functions_use_ctx(ir),
        externs: extern_wrappers,
    };
    externs::define_wrappers(&shared, &mut builder, bindings, pending)?;
    for (index, function) in ir.functions.iter().enumerate() {
        let params: Vec<ValType> = function
            .params
            .iter()
            .map(|p| val_type(&function.locals.locals[p.0 as usize]))
            .collect();
        let mut emitter = Emitter::new(&shared, &mut builder, &params);
        let mut param_locals = Vec::new();
        for (position, param) in function.params.iter().enumerate() {
            emitter.bind(*param, position as u32);
            param_locals.push(position as u32);
        }
        // The body sits in a loop that self tail calls branch back to.
        emitter
            .sink()
            .loop_(BlockType::Result(val_type(&function.ret)));
        emitter.enter();
        emitter.set_tail(param_locals);
        emitter.expr(&function.body, &|_| None)?;
        emitter.sink().end();
        emitter.leave();
        emitter.sink().end();
        let body = emitter.finish();
        builder.define(shared.functions[index], body)?;
    }
    for plan_stage in &plan.stages {
        let context_base = 1 + ir.params.len() as u32;
        let uses = plan_stage.uses.clone();
        let extra = move |kind: &ExprKind| match kind {
            ExprKind::Value(v) => uses
                .iter()
                .position(|u| u == v)
                .map(|p| context_base + p as u32),
            _ => None,
        };
        // A stage has its own exports even when a group pass computes it,
        // so each can still be run and tested on its own.
        let members: Vec<&Stage> =
            if plan_stage.members.is_empty() {
                vec![ir.stages.get(plan_stage.index as usize).ok_or_else(|| {
                    CodegenError::Internal("a plan stage missing from the IR".into())
                })?]
            } else {
                plan_stage
                    .members
                    .iter()
                    .map(|m| {
                        ir.stages.get(*m as usize).ok_or_else(|| {
                            CodegenError::Internal("a group member missing from the IR".into())
                        })
                    })
                    .collect::<Result<_, _>>()?
            };
        let input = plan
            .inputs
            .get(plan_stage.input as usize)
            .ok_or_else(|| CodegenError::Internal("a stage of an unknown input".into()))?;
        let (process, reducer_slots) =
            process_function(&shared, &mut builder, &members, input.source, &extra)?;
        builder.export(&format!("stage_{}_process", plan_stage.index), process);
        // Merging uses the reducers `process` feeds the partials with.
        if plan_stage.members.is_empty() {
            stage::add_merge_and_finish_slot(
                &mut builder,
                plan_stage.index,
                reducer_slots[0],
                plan_stage.span as i32,
            )?;
        } else {
            let descriptor: Vec<String> = members
                .iter()
                .zip(&reducer_slots)
                .map(|(member, slot)| format!("{slot}:{}", member.span.0))
                .collect();
            group_merge_and_finish(
                &shared,
                &mut builder,
                plan_stage.index,
                &descriptor.join(","),
                plan_stage.span as i32,
            )?;
        }
    }
    for (index, value) in ir.values.iter().enumerate() {
        let plan_value = plan
            .values
            .get(index)
            .ok_or_else(|| CodegenError::Internal("a value missing from the plan".into()))?;
        let context_base = 1 + ir.params.len() as u32;
        let stages = plan_value.stages.clone();
        let extra = move |kind: &ExprKind| match kind {
            ExprKind::StageResult(k) => stages
                .iter()
                .position(|s| s == k)
                .map(|p| context_base + p as u32),
            _ => None,
        };
        let function = value_function(&shared, &mut builder, &value.expr, &extra)?;
        builder.export(&format!("value_{index}"), function);
    }
    let bytes = builder.finish()?;
    validate(&bytes)?;
    Ok(bytes)
}

/// Which user functions read the job context, directly or through calls.
fn functions_use_ctx(ir: &JobIr) -> Vec<bool> {
    let direct: Vec<(bool, Vec<u32>)> = ir
        .functions
        .iter()
        .map(|f| {
            let mut reads = false;
            let mut calls = Vec::new();
            crate::ir::walk(&f.body, &mut |e| match &e.kind {
                ExprKind::Param(_) | ExprKind::Value(_) | ExprKind::StageResult(_) => reads = true,
                ExprKind::Call { function, .. } => calls.push(function.0),
                _ => {}
            });
            (reads, calls)
        })
        .collect();
    let mut uses: Vec<bool> = direct.iter().map(|(reads, _)| *reads).collect();
    // Propagate along calls until nothing changes.
    loop {
        let mut changed = false;
        for (index, (_, calls)) in direct.iter().enumerate() {
            if !uses[index]
                && calls
                    .iter()
                    .any(|c| uses.get(*c as usize).copied().unwrap_or(true))
            {
                uses[index] = true;
                changed = true;
            }
        }
        if !changed {
            return uses;
        }
    }
}

/// Decodes `ctx` (parameters 2 and 3 of process, 0 and 1 of value) and
/// records it for parameter reads.
fn set_context(emitter: &mut Emitter<'_, '_>, ptr: u32, len: u32, span: i32) {
    emitter.sink().local_get(ptr).local_get(len).i32_const(span);
    emitter.call("rt_decode");
    emitter.call("rt_ctx_set");
}

/// `value_<v>(ctx_ptr, ctx_len) -> i64`: the encoded value.
fn value_function(
    shared: &Shared<'_>,
    builder: &mut ModuleBuilder,
    expr: &Expr,
    extra: &dyn Fn(&ExprKind) -> Option<u32>,
) -> Result<u32, CodegenError> {
    let index = builder.declare(Signature::new(&[I32, I32], &[I64]));
    let mut emitter = Emitter::new(shared, builder, &[I32, I32]);
    set_context(&mut emitter, 0, 1, -1);
    emitter.expr(expr, extra)?;
    emitter.boxed(&expr.ty);
    emitter.call("rt_encode");
    emitter.sink().end();
    let function = emitter.finish();
    builder.define(index, function)?;
    Ok(index)
}

/// The field descriptor of a CSV or JSON-lines record type (docs/abi.md).
fn field_descriptor(ty: &IrType) -> Result<String, CodegenError> {
    fn field_type(ty: &IrType) -> Option<String> {
        Some(match ty {
            IrType::Int => "int".to_owned(),
            IrType::Float => "float".to_owned(),
            IrType::Bool => "bool".to_owned(),
            IrType::Str => "str".to_owned(),
            IrType::List(element) => format!("[{}]", field_type(element)?),
            _ => return None,
        })
    }
    let IrType::Record(name, fields) = ty else {
        return Err(CodegenError::Internal(
            "a CSV or JSON-lines input of no record type".into(),
        ));
    };
    let mut parts = Vec::new();
    for (field, ty) in fields {
        let ty = field_type(ty).ok_or_else(|| {
            CodegenError::Unsupported(format!(
                "the field `{field}` of `{name}`: records in input fields"
            ))
        })?;
        parts.push(format!("{field}:{ty}"));
    }
    Ok(parts.join(","))
}

/// Inside a `block { loop { … } }`: takes the `start << 32 | end` range on
/// the stack (`rt_line_next`, `rt_word_next`) into `start` and `end`, or
/// leaves the block when it is negative (no more).
fn take_range(emitter: &mut Emitter<'_, '_>, found: u32, start: u32, end: u32) {
    emitter
        .sink()
        .local_tee(found)
        .i64_const(0)
        .i64_lt_s()
        .br_if(1)
        .local_get(found)
        .i32_wrap_i64()
        .local_set(end)
        .local_get(found)
        .i64_const(32)
        .i64_shr_u()
        .i32_wrap_i64()
        .local_set(start);
}

/// Stores the record's position (`first` plus its index in the chunk, in
/// `counter`) where run-time errors read it, and counts the record.
fn count_record(emitter: &mut Emitter<'_, '_>, position: u32, counter: u32) {
    emitter
        .sink()
        .local_get(position)
        .local_get(counter)
        .i64_store(MemArg {
            offset: 0,
            align: 0,
            memory_index: 0,
        })
        .local_get(counter)
        .i64_const(1)
        .i64_add()
        .local_set(counter);
}

/// `stage_<g>_merge` and `stage_<g>_finish` of a group pass: the runtime
/// merges and finishes member by member, each with the reducer slot and
/// span that `descriptor` gives (`slot:span,…`).
fn group_merge_and_finish(
    shared: &Shared<'_>,
    builder: &mut ModuleBuilder,
    index: u32,
    descriptor: &str,
    span: i32,
) -> Result<(), CodegenError> {
    let merge = builder.declare(Signature::new(&[I32, I32, I32, I32], &[I64]));
    let mut emitter = Emitter::new(shared, builder, &[I32, I32, I32, I32]);
    emitter
        .sink()
        .local_get(0)
        .local_get(1)
        .local_get(2)
        .local_get(3);
    emitter.string_constant(descriptor);
    emitter.sink().i32_const(span);
    emitter.call("rt_partial_merge_group");
    emitter.sink().end();
    let function = emitter.finish();
    builder.define_export(merge, function, &format!("stage_{index}_merge"))?;

    let finish = builder.declare(Signature::new(&[I32, I32], &[I64]));
    let mut emitter = Emitter::new(shared, builder, &[I32, I32]);
    emitter.sink().local_get(0).local_get(1);
    emitter.string_constant(descriptor);
    emitter.sink().i32_const(span);
    emitter.call("rt_partial_finish_group");
    emitter.sink().end();
    let function = emitter.finish();
    builder.define_export(finish, function, &format!("stage_{index}_finish"))?;
    Ok(())
}

/// One stage of a pass while its `process` is generated: the stage, the
/// namespace of its IR locals, its partial's local and its reducer slot.
/// A `count()` counts in an `i64` local (`counter`) instead of calling the
/// runtime per element, and adds the chunk's count to its partial once.
struct Member<'a> {
    stage: &'a Stage,
    namespace: u32,
    partial: u32,
    slot: i32,
    counter: Option<u32>,
}

/// `stage_<k>_process(in_ptr, in_len, ctx_ptr, ctx_len, first) -> i64` of
/// a pass over `members` (one stage, or the stages of a group, which all
/// read the same input), and the table slot of each member's reducer (0
/// for none). One loop decodes the chunk's records; each record goes
/// through the members' chains, a step that several share running once.
fn process_function(
    shared: &Shared<'_>,
    builder: &mut ModuleBuilder,
    stages: &[&Stage],
    source: PlanSource,
    extra: &dyn Fn(&ExprKind) -> Option<u32>,
) -> Result<(u32, Vec<i32>), CodegenError> {
    let first_stage = *stages
        .first()
        .ok_or_else(|| CodegenError::Internal("a pass of no stage".into()))?;
    let index = builder.declare(stage::process_signature());
    let mut emitter = Emitter::new(shared, builder, &[I32, I32, I32, I32, I64]);
    let span = first_stage.span.0 as i32;
    set_context(&mut emitter, 2, 3, span);
    let position = emitter.local(I32);
    emitter.call("rt_position_ptr");
    emitter.sink().local_set(position);

    let mut members = Vec::new();
    for (namespace, stage_ir) in stages.iter().enumerate() {
        emitter.set_namespace(namespace as u32);
        let partial = emitter.new_partial(
            stage_ir.aggregation,
            &stage_ir.element,
            &stage_ir.lambdas,
            &stage_ir.args,
            extra,
        )?;
        let slot = emitter.reducer_slot(stage_ir.aggregation, &stage_ir.lambdas)?;
        let counter = (stage_ir.aggregation == ListOp::Count).then(|| {
            let counter = emitter.local(I64);
            emitter.sink().i64_const(0).local_set(counter);
            counter
        });
        members.push(Member {
            stage: stage_ir,
            namespace: namespace as u32,
            partial,
            slot,
            counter,
        });
    }

    let input_ty = first_stage
        .locals
        .locals
        .get(first_stage.record.0 as usize)
        .cloned()
        .ok_or_else(|| CodegenError::Internal("a stage without its record local".into()))?;
    emitter.set_namespace(0);
    let record = emitter.ir_local(first_stage.record, &input_ty);
    for member in &members[1..] {
        emitter.set_namespace(member.namespace);
        emitter.bind(member.stage.record, record);
    }
    let all: Vec<&Member<'_>> = members.iter().collect();
    let record_chains = |emitter: &mut Emitter<'_, '_>| {
        chains(emitter, &all, 0, Element::Local(record), &input_ty, extra)
    };
    if source == PlanSource::Range {
        // The chunk is 16 bytes: start and end, little-endian i64.
        let end = emitter.local(I64);
        let load = |offset| MemArg {
            offset,
            align: 0,
            memory_index: 0,
        };
        emitter
            .sink()
            .local_get(0)
            .i64_load(load(0))
            .local_set(record)
            .local_get(0)
            .i64_load(load(8))
            .local_set(end)
            .block(BlockType::Empty)
            .loop_(BlockType::Empty);
        emitter.enter();
        emitter.enter();
        emitter
            .sink()
            .local_get(record)
            .local_get(end)
            .i64_ge_s()
            .br_if(1)
            .local_get(position)
            .local_get(record)
            .i64_store(load(0));
        record_chains(&mut emitter)?;
        emitter
            .sink()
            .local_get(record)
            .i64_const(1)
            .i64_add()
            .local_set(record)
            .br(0)
            .end()
            .end();
        emitter.leave();
        emitter.leave();
    } else if source == PlanSource::Lines {
        // The chunk's lines one by one, each a slice of the chunk's text
        // until a step needs it as a value of its own (`Element::Slice`).
        let text = emitter.local(I32);
        let counter = emitter.local(I64);
        let found = emitter.local(I64);
        let start = emitter.local(I32);
        let end = emitter.local(I32);
        emitter
            .sink()
            .local_get(0)
            .local_get(1)
            .i32_const(span)
            .local_get(4);
        emitter.call("rt_lines_text");
        emitter
            .sink()
            .local_set(text)
            .local_get(4)
            .local_set(counter)
            .block(BlockType::Empty)
            .loop_(BlockType::Empty);
        emitter.enter();
        emitter.enter();
        emitter.sink().local_get(text);
        emitter.call("rt_line_next");
        take_range(&mut emitter, found, start, end);
        count_record(&mut emitter, position, counter);
        let line = Element::Slice { text, start, end };
        chains(&mut emitter, &all, 0, line, &input_ty, extra)?;
        emitter.sink().br(0).end().end();
        emitter.leave();
        emitter.leave();
    } else {
        let records = emitter.local(I32);
        emitter.sink().local_get(0).local_get(1);
        match source {
            PlanSource::Csv => {
                emitter.call("rt_ctx_get");
                emitter.sink().i32_const(0);
                emitter.call("rt_seq_at");
                emitter.string_constant(&field_descriptor(&input_ty)?);
                emitter.sink().i32_const(span).local_get(4);
                emitter.call("rt_input_csv");
            }
            PlanSource::Jsonl => {
                emitter.string_constant(&field_descriptor(&input_ty)?);
                emitter.sink().i32_const(span).local_get(4);
                emitter.call("rt_input_jsonl");
            }
            PlanSource::Files => {
                emitter.sink().i32_const(span);
                emitter.call("rt_input_files");
            }
            // Read by the loops above.
            PlanSource::Range | PlanSource::Lines => {}
        }
        emitter.sink().local_set(records);
        let counter = emitter.local(I64);
        emitter.sink().local_get(4).local_set(counter);
        emitter.for_each(records, &input_ty, &mut |emitter, value, _| {
            count_record(emitter, position, counter);
            emitter.sink().local_get(value).local_set(record);
            record_chains(emitter)
        })?;
    }
    for member in &members {
        if let Some(counter) = member.counter {
            emitter
                .sink()
                .local_get(member.partial)
                .local_get(counter)
                .i32_const(member.stage.span.0 as i32);
            emitter.call("rt_partial_count_many");
        }
    }
    if let [member] = members.as_slice() {
        emitter.sink().local_get(member.partial);
    } else {
        let group = emitter.local(I32);
        emitter.call("rt_partial_group_new");
        emitter.sink().local_set(group);
        for member in &members {
            emitter.sink().local_get(group).local_get(member.partial);
            emitter.call("rt_partial_group_push");
        }
        emitter.sink().local_get(group);
    }
    emitter.call("rt_partial_encode");
    emitter.sink().end();
    let function = emitter.finish();
    builder.define(index, function)?;
    Ok((index, members.iter().map(|m| m.slot).collect()))
}

/// An element on its way down a chain: in a local, or a piece of a `str`
/// not made a value of its own yet (bytes `start..end` of the string in
/// `text`, all three locals: a line of a `lines` chunk, or a word of
/// `flat_map(… words(…))`), which only a step or an aggregation that needs
/// it as a value makes it (`materialize`). `count()` and `count_by(w =>
/// w)` take pieces as they are.
#[derive(Clone, Copy, Debug)]
enum Element {
    Local(u32),
    Slice { text: u32, start: u32, end: u32 },
}

/// The local holding `element` as a value, making a word a `str` first
/// (once: `element` holds the local afterwards). Emitted where the chain
/// is, so the local is set before every later use.
fn materialize(emitter: &mut Emitter<'_, '_>, element: &mut Element) -> u32 {
    match *element {
        Element::Local(local) => local,
        Element::Slice { text, start, end } => {
            let local = emitter.local(I32);
            emitter
                .sink()
                .local_get(text)
                .local_get(start)
                .local_get(end);
            emitter.call("rt_str_slice");
            emitter.sink().local_set(local);
            *element = Element::Local(local);
            local
        }
    }
}

/// Feeds `element` to `member`'s aggregation, a word without making it a
/// value where the aggregation does not need one.
fn feed(
    emitter: &mut Emitter<'_, '_>,
    member: &Member<'_>,
    element: &mut Element,
    ty: &IrType,
    extra: &dyn Fn(&ExprKind) -> Option<u32>,
) -> Result<(), CodegenError> {
    let stage = member.stage;
    let span = stage.span.0 as i32;
    if let Some(counter) = member.counter {
        emitter
            .sink()
            .local_get(counter)
            .i64_const(1)
            .i64_add()
            .local_set(counter);
        return Ok(());
    }
    if let Element::Slice { text, start, end } = *element {
        let identity_key = matches!(
            (stage.lambdas.first(), stage.lambdas.len()),
            (Some(key), 1) if matches!(key.params.as_slice(), [p] if key.body.kind == ExprKind::Local(*p))
        );
        match stage.aggregation {
            ListOp::CountBy if identity_key => {
                emitter
                    .sink()
                    .local_get(member.partial)
                    .local_get(text)
                    .local_get(start)
                    .local_get(end)
                    .i32_const(span);
                emitter.call("rt_partial_add_key_slice");
                return Ok(());
            }
            _ => {}
        }
    }
    let value = materialize(emitter, element);
    emitter.feed(
        stage.aggregation,
        member.partial,
        value,
        ty,
        &stage.lambdas,
        member.slot,
        span,
        extra,
    )
}

/// When a `flat_map` step's function is `words(e)`, or calls a user
/// function whose body is `words(e)` (inlined here), emits `e` with the
/// step's argument in `arg` and returns the local holding the string, so
/// the step can walk its words one by one instead of building their list.
fn words_source(
    emitter: &mut Emitter<'_, '_>,
    lambda: &crate::ir::Lambda,
    arg: u32,
    arg_ty: &IrType,
    extra: &dyn Fn(&ExprKind) -> Option<u32>,
) -> Result<Option<u32>, CodegenError> {
    let words_of = |body: &Expr| match &body.kind {
        ExprKind::Builtin {
            op: Builtin::Words,
            args,
            ..
        } if args.len() == 1 => Some(args[0].clone()),
        _ => None,
    };
    let [param] = lambda.params.as_slice() else {
        return Ok(None);
    };
    let bind_param = |emitter: &mut Emitter<'_, '_>| {
        let local = emitter.ir_local(*param, arg_ty);
        emitter.sink().local_get(arg).local_set(local);
    };
    if let Some(text) = words_of(&lambda.body) {
        bind_param(emitter);
        emitter.expr(&text, extra)?;
    } else if let ExprKind::Call { function, args } = &lambda.body.kind
        && let Some(callee) = emitter.shared.ir.functions.get(function.0 as usize)
        && let Some(text) = words_of(&callee.body)
        && callee.params.len() == args.len()
    {
        bind_param(emitter);
        // The arguments, in the step's namespace, then the body in the
        // callee's own (its locals are numbered from 0 like the stage's).
        let mut values = Vec::new();
        for value in args {
            emitter.expr(value, extra)?;
            let local = emitter.local(val_type(&value.ty));
            emitter.sink().local_set(local);
            values.push(local);
        }
        let namespace = emitter.namespace();
        emitter.set_namespace(INLINED_NAMESPACES + function.0);
        for (param, value) in callee.params.iter().zip(values) {
            emitter.bind(*param, value);
        }
        let result = emitter.expr(&text, extra);
        emitter.set_namespace(namespace);
        result?;
    } else {
        return Ok(None);
    }
    let text = emitter.local(I32);
    emitter.sink().local_set(text);
    Ok(Some(text))
}

/// The first namespace of user functions inlined into a stage: far above
/// the members of any group.
const INLINED_NAMESPACES: u32 = 1 << 24;

/// The steps from `step` on of every member's chain, applied to
/// `element`, then each member's aggregation. Members whose next step is
/// the same (`ir::same_lambda`) run it once, in the namespace of the first
/// of them, and go on together.
fn chains(
    emitter: &mut Emitter<'_, '_>,
    members: &[&Member<'_>],
    step: usize,
    mut element: Element,
    ty: &IrType,
    extra: &dyn Fn(&ExprKind) -> Option<u32>,
) -> Result<(), CodegenError> {
    for member in members.iter().filter(|m| m.stage.steps.len() == step) {
        emitter.set_namespace(member.namespace);
        feed(emitter, member, &mut element, ty, extra)?;
    }
    let mut rest: Vec<&Member<'_>> = members
        .iter()
        .copied()
        .filter(|m| m.stage.steps.len() > step)
        .collect();
    while let Some(first) = rest.first().copied() {
        let current = &first.stage.steps[step];
        let (class, others): (Vec<&Member<'_>>, Vec<&Member<'_>>) = rest.iter().partition(|m| {
            let other = &m.stage.steps[step];
            other.op == current.op
                && other.output == current.output
                && same_lambda(&other.lambda, &current.lambda)
        });
        rest = others;
        emitter.set_namespace(first.namespace);
        let value = materialize(emitter, &mut element);
        let arg = [(value, ty.clone())];
        match current.op {
            ListOp::Map => {
                let mapped = emitter.local(val_type(&current.output));
                emitter.apply(&current.lambda, &arg, extra)?;
                emitter.sink().local_set(mapped);
                let next = Element::Local(mapped);
                chains(emitter, &class, step + 1, next, &current.output, extra)?;
            }
            ListOp::Filter => {
                emitter.apply(&current.lambda, &arg, extra)?;
                emitter.sink().if_(BlockType::Empty);
                emitter.enter();
                chains(emitter, &class, step + 1, element, ty, extra)?;
                emitter.sink().end();
                emitter.leave();
            }
            ListOp::FlatMap => match words_source(emitter, &current.lambda, value, ty, extra)? {
                Some(text) => {
                    // for (start, end) in the words of `text`: one call per
                    // word, and no list of them.
                    let at = emitter.local(I32);
                    let found = emitter.local(I64);
                    let start = emitter.local(I32);
                    let end = emitter.local(I32);
                    emitter
                        .sink()
                        .i32_const(0)
                        .local_set(at)
                        .block(BlockType::Empty)
                        .loop_(BlockType::Empty);
                    emitter.enter();
                    emitter.enter();
                    emitter.sink().local_get(text).local_get(at);
                    emitter.call("rt_word_next");
                    take_range(emitter, found, start, end);
                    emitter.sink().local_get(end).local_set(at);
                    let word = Element::Slice { text, start, end };
                    chains(emitter, &class, step + 1, word, &current.output, extra)?;
                    emitter.sink().br(0).end().end();
                    emitter.leave();
                    emitter.leave();
                }
                None => {
                    let list = emitter.local(I32);
                    emitter.apply(&current.lambda, &arg, extra)?;
                    emitter.sink().local_set(list);
                    emitter.for_each(list, &current.output, &mut |emitter, inner, _| {
                        let next = Element::Local(inner);
                        chains(emitter, &class, step + 1, next, &current.output, extra)
                    })?;
                }
            },
            other => {
                return Err(CodegenError::Internal(format!(
                    "`{}` in a stage's chain",
                    other.name()
                )));
            }
        }
    }
    Ok(())
}
