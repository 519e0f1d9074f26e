//! The generated half of linking `extern fn` tools into a stage module
//! (docs/abi.md, "`extern fn` tools"): one wrapper function per `extern
//! fn`, a `flow_error` that reports a trap inside a tool, and a start
//! function running the tools' own.
//!
//! A wrapper takes the Flow values of the call plus the call's span id. It
//! records the extern fn and the span in two globals, passes scalars
//! directly and copies each `str` argument into the tool's memory at an
//! address from the tool's `flow_alloc`, calls the tool's export, copies a
//! `str` result back into a runtime `str`, and clears the globals. A trap
//! inside the tool unwinds past the clearing, so when the host then asks
//! `flow_error` for the error record, the generated `flow_error` finds no
//! record of the runtime's but a pending tool call, and answers with an
//! `extern` record naming the call's span and the record being processed.

use wasm_encoder::{BlockType, ConstExpr, MemArg, ValType};

use super::expr::{Emitter, Shared, val_type};
use super::tool::ToolModule;
use super::{CodegenError, ModuleBuilder, Signature};
use crate::ir::{ExternFn, IrType};

use ValType::{I32, I64};

/// Which tool export each `extern fn` of the job calls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExternBindings {
    /// The tool modules to link, each once however many `extern fn`s it
    /// serves.
    pub tools: Vec<ToolModule>,
    /// Per `extern fn` (by [`crate::ir::ExternId`]): the index in `tools`
    /// and the function's index inside that tool.
    pub functions: Vec<(usize, u32)>,
}

/// The globals generated code keeps a tool call's context in.
#[derive(Clone, Copy, Debug)]
pub struct PendingCall {
    /// The span id of the tool call in progress, or -1.
    span: u32,
    /// The index of the `extern fn` being called.
    extern_fn: u32,
}

/// Declares one wrapper per `extern fn` and the globals they share (none
/// for a job without tools); the wrappers' bodies come later from
/// [`define_wrappers`], once the shared emitter state exists.
pub fn declare_wrappers(
    builder: &mut ModuleBuilder,
    externs: &[ExternFn],
) -> (Vec<u32>, Option<PendingCall>) {
    if externs.is_empty() {
        return (Vec::new(), None);
    }
    let pending = PendingCall {
        span: builder.global(I32, ConstExpr::i32_const(-1)),
        extern_fn: builder.global(I32, ConstExpr::i32_const(-1)),
    };
    let wrappers = externs
        .iter()
        .map(|function| builder.declare(wrapper_signature(function)))
        .collect();
    (wrappers, Some(pending))
}

fn wrapper_signature(function: &ExternFn) -> Signature {
    let mut params: Vec<ValType> = function.params.iter().map(val_type).collect();
    params.push(I32);
    Signature::new(&params, &[val_type(&function.ret)])
}

/// Defines every wrapper, the `flow_error` that knows about tool calls and,
/// when a tool has one, the start function.
pub fn define_wrappers(
    shared: &Shared<'_>,
    builder: &mut ModuleBuilder,
    bindings: &ExternBindings,
    pending: Option<PendingCall>,
) -> Result<(), CodegenError> {
    let externs = &shared.ir.externs;
    if bindings.functions.len() != externs.len() {
        return Err(CodegenError::Internal(format!(
            "{} extern fns but {} bindings",
            externs.len(),
            bindings.functions.len()
        )));
    }
    let Some(pending) = pending else {
        return Ok(());
    };
    for (index, function) in externs.iter().enumerate() {
        let (tool, export) = bindings.functions[index];
        let wrapper =
            shared.externs.get(index).copied().ok_or_else(|| {
                CodegenError::Internal(format!("no wrapper for extern fn {index}"))
            })?;
        let tool_alloc = bindings
            .tools
            .get(tool)
            .map(ToolModule::alloc)
            .ok_or_else(|| CodegenError::Internal(format!("no tool {tool}")))?;
        let target = Target {
            function: builder.tool_function(tool, export)?,
            alloc: builder.tool_function(tool, tool_alloc)?,
            memory: builder.tool_memory(tool)?,
        };
        let body = wrapper_body(shared, builder, function, index as i32, target, pending);
        builder.define(wrapper, body)?;
    }
    let flow_error = flow_error_function(shared, builder, pending)?;
    builder.replace_export("flow_error", flow_error);
    let starts = builder.tool_starts();
    if !starts.is_empty() {
        let start = builder.declare(Signature::new(&[], &[]));
        let mut body = wasm_encoder::Function::new([]);
        {
            let mut sink = body.instructions();
            if let Some(runtime_start) = builder.runtime().start {
                sink.call(runtime_start);
            }
            for tool_start in starts {
                sink.call(tool_start);
            }
            sink.end();
        }
        builder.define(start, body)?;
        builder.set_start(start);
    }
    Ok(())
}

/// Where one `extern fn` lives in the stage module.
#[derive(Clone, Copy, Debug)]
struct Target {
    function: u32,
    alloc: u32,
    memory: u32,
}

/// `memory.copy` arguments: the memory indices.
fn copy(sink: &mut wasm_encoder::InstructionSink<'_>, dst_mem: u32, src_mem: u32) {
    sink.memory_copy(dst_mem, src_mem);
}

/// Splits the `ptr << 32 | len` in `packed` into the locals `ptr` and `len`.
fn unpack(emitter: &mut Emitter<'_, '_>, packed: u32, ptr: u32, len: u32) {
    emitter
        .sink()
        .local_get(packed)
        .i32_wrap_i64()
        .local_set(len)
        .local_get(packed)
        .i64_const(32)
        .i64_shr_u()
        .i32_wrap_i64()
        .local_set(ptr);
}

fn wrapper_body(
    shared: &Shared<'_>,
    builder: &mut ModuleBuilder,
    function: &ExternFn,
    extern_index: i32,
    target: Target,
    pending: PendingCall,
) -> wasm_encoder::Function {
    let mut params: Vec<ValType> = function.params.iter().map(val_type).collect();
    let span_param = params.len() as u32;
    params.push(I32);
    let mut emitter = Emitter::new(shared, builder, &params);
    let packed = emitter.local(I64);
    let ptr = emitter.local(I32);
    let len = emitter.local(I32);
    let dst = emitter.local(I32);
    emitter
        .sink()
        .i32_const(extern_index)
        .global_set(pending.extern_fn)
        .local_get(span_param)
        .global_set(pending.span);
    for (param, ty) in function.params.iter().enumerate() {
        let param = param as u32;
        if *ty != IrType::Str {
            emitter.sink().local_get(param);
            continue;
        }
        // The bytes of the runtime `str`, copied into the tool's memory.
        emitter.sink().local_get(param);
        emitter.call("rt_str_bytes");
        emitter.sink().local_set(packed);
        unpack(&mut emitter, packed, ptr, len);
        let mut sink = emitter.sink();
        sink.local_get(len)
            .call(target.alloc)
            .local_set(dst)
            .local_get(dst)
            .local_get(ptr)
            .local_get(len);
        copy(&mut sink, target.memory, 0);
        sink.local_get(dst).local_get(len);
    }
    emitter.sink().call(target.function);
    match function.ret {
        IrType::Str => {
            // The tool's `(ptr, len)` copied into runtime memory; an
            // out-of-bounds pair traps inside `memory.copy`, still as a
            // failure of this tool call.
            emitter.sink().local_set(packed);
            unpack(&mut emitter, packed, ptr, len);
            emitter.sink().local_get(len);
            emitter.call("flow_alloc");
            emitter.sink().local_set(dst);
            // The runtime's allocator answers 0 when memory is exhausted.
            emitter
                .sink()
                .local_get(dst)
                .i32_eqz()
                .local_get(len)
                .i32_const(0)
                .i32_ne()
                .i32_and()
                .if_(BlockType::Empty)
                .unreachable()
                .end();
            let mut sink = emitter.sink();
            sink.local_get(dst).local_get(ptr).local_get(len);
            copy(&mut sink, 0, target.memory);
            sink.local_get(dst).local_get(len);
            emitter.call("rt_str_new");
        }
        IrType::Bool => {
            // Any non-zero `i32` is true; generated code expects 0 or 1.
            emitter.sink().i32_const(0).i32_ne();
        }
        _ => {}
    }
    emitter.sink().i32_const(-1).global_set(pending.span).end();
    emitter.finish()
}

/// `flow_error() -> i64`: the runtime's error record if it wrote one, else
/// an `extern` record when a tool call was in progress, else 0.
fn flow_error_function(
    shared: &Shared<'_>,
    builder: &mut ModuleBuilder,
    pending: PendingCall,
) -> Result<u32, CodegenError> {
    let index = builder.declare(Signature::new(&[], &[I64]));
    let mut emitter = Emitter::new(shared, builder, &[]);
    let record = emitter.local(I64);
    let tuple = emitter.local(I32);
    emitter.call("flow_error");
    emitter
        .sink()
        .local_tee(record)
        .i64_const(0)
        .i64_ne()
        .if_(BlockType::Empty)
        .local_get(record)
        .return_()
        .end()
        .global_get(pending.span)
        .i32_const(0)
        .i32_lt_s()
        .if_(BlockType::Empty)
        .i64_const(0)
        .return_()
        .end()
        // The tuple `(kind, message, span, position)` of docs/abi.md.
        .i32_const(1)
        .i32_const(4);
    emitter.call("rt_seq_new");
    emitter.sink().local_set(tuple).local_get(tuple);
    emitter.string_constant("extern");
    emitter.call("rt_seq_push");
    emitter.sink().local_get(tuple);
    // The message of the extern fn being called, chosen by its index.
    for (position, function) in shared.ir.externs.iter().enumerate() {
        let message = format!(
            "extern fn `{}` ({}) trapped",
            function.name, function.module
        );
        if position + 1 < shared.ir.externs.len() {
            emitter
                .sink()
                .global_get(pending.extern_fn)
                .i32_const(position as i32)
                .i32_eq()
                .if_(BlockType::Result(I32));
            emitter.string_constant(&message);
            emitter.sink().else_();
        } else {
            emitter.string_constant(&message);
        }
    }
    for _ in 1..shared.ir.externs.len() {
        emitter.sink().end();
    }
    emitter.call("rt_seq_push");
    emitter
        .sink()
        .local_get(tuple)
        .global_get(pending.span)
        .i64_extend_i32_s();
    emitter.call("rt_box_int");
    emitter.call("rt_seq_push");
    emitter.sink().local_get(tuple);
    emitter.call("rt_position_ptr");
    emitter.sink().i64_load(MemArg {
        offset: 0,
        align: 3,
        memory_index: 0,
    });
    emitter.call("rt_box_int");
    emitter.call("rt_seq_push");
    emitter.sink().local_get(tuple);
    emitter.call("rt_encode");
    emitter.sink().end();
    let function = emitter.finish();
    builder.define(index, function)?;
    Ok(index)
}
