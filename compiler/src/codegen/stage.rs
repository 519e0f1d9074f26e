//! The exports of one stage (docs/abi.md): `stage_<k>_merge` and
//! `stage_<k>_finish` are thin wrappers over the runtime's generic
//! `rt_partial_merge` and `rt_partial_finish`; `stage_<k>_process` is
//! generated per stage by the lowering of its fused chain.

use wasm_encoder::{Function, ValType};

use super::{CodegenError, ModuleBuilder, Signature};

use ValType::{I32, I64};

/// The signature of `stage_<k>_process`.
pub fn process_signature() -> Signature {
    Signature::new(&[I32, I32, I32, I32, I64], &[I64])
}

/// Adds `stage_<stage>_merge` and `stage_<stage>_finish`. `reducer` is the
/// generated `(value, value) -> value` function of `reduce` and
/// `reduce_by` (handles of runtime values), `span` the span id errors
/// report.
pub fn add_merge_and_finish(
    builder: &mut ModuleBuilder,
    stage: u32,
    reducer: Option<u32>,
    span: i32,
) -> Result<(), CodegenError> {
    let reducer_slot = match reducer {
        Some(function) => builder.table_slot(function),
        None => 0,
    };
    add_merge_and_finish_slot(builder, stage, reducer_slot, span)
}

/// [`add_merge_and_finish`] with the reducer given by its function-table
/// slot (0 for none).
pub fn add_merge_and_finish_slot(
    builder: &mut ModuleBuilder,
    stage: u32,
    reducer_slot: i32,
    span: i32,
) -> Result<(), CodegenError> {
    let merge_runtime =
        builder.runtime_function("rt_partial_merge", &[I32, I32, I32, I32, I32, I32], &[I64])?;
    let finish_runtime = builder.runtime_function("rt_partial_finish", &[I32, I32, I32], &[I64])?;

    let merge = builder.declare(Signature::new(&[I32, I32, I32, I32], &[I64]));
    let mut body = Function::new([]);
    body.instructions()
        .local_get(0)
        .local_get(1)
        .local_get(2)
        .local_get(3)
        .i32_const(reducer_slot)
        .i32_const(span)
        .call(merge_runtime)
        .end();
    builder.define_export(merge, body, &format!("stage_{stage}_merge"))?;

    let finish = builder.declare(Signature::new(&[I32, I32], &[I64]));
    let mut body = Function::new([]);
    body.instructions()
        .local_get(0)
        .local_get(1)
        .i32_const(span)
        .call(finish_runtime)
        .end();
    builder.define_export(finish, body, &format!("stage_{stage}_finish"))?;
    Ok(())
}
