//! Code generation of IR expressions into the body of one wasm function.
//!
//! [`Emitter`] writes instructions into a buffer while it allocates wasm
//! locals, so the function's locals and the prologue that materializes its
//! string constants are known only at the end ([`Emitter::finish`]).
//! Scalars stay unboxed; heap values are runtime handles (docs/abi.md).

use std::collections::HashMap;

use wasm_encoder::{BlockType, Function, InstructionSink, MemArg, ValType};

use super::emit::{IntArith, IntOp, Scratch};
use super::{CodegenError, ModuleBuilder, Signature};
use crate::ir::{
    BinaryOp, Builtin, Expr, ExprKind, IrType, JobIr, Lambda, ListOp, ListOpExpr, LocalId, UnaryOp,
};

use ValType::{F64, I32, I64};

/// The wasm type of values of an IR type.
pub fn val_type(ty: &IrType) -> ValType {
    match ty {
        IrType::Int => I64,
        IrType::Float => F64,
        IrType::Bool => I32,
        _ => I32,
    }
}

/// Every runtime export generated code calls, with its signature.
const RUNTIME: &[(&str, &[ValType], &[ValType])] = &[
    ("flow_alloc", &[I32], &[I32]),
    ("rt_decode", &[I32, I32, I32], &[I32]),
    ("rt_encode", &[I32], &[I64]),
    ("rt_ctx_set", &[I32], &[]),
    ("rt_ctx_get", &[], &[I32]),
    ("rt_position_ptr", &[], &[I32]),
    ("flow_error", &[], &[I64]),
    ("rt_str_new", &[I32, I32], &[I32]),
    ("rt_str_bytes", &[I32], &[I64]),
    ("rt_box_int", &[I64], &[I32]),
    ("rt_box_float", &[F64], &[I32]),
    ("rt_box_bool", &[I32], &[I32]),
    ("rt_unbox_int", &[I32], &[I64]),
    ("rt_unbox_float", &[I32], &[F64]),
    ("rt_unbox_bool", &[I32], &[I32]),
    ("rt_seq_new", &[I32, I32], &[I32]),
    ("rt_seq_push", &[I32, I32], &[]),
    ("rt_seq_len", &[I32], &[I64]),
    ("rt_seq_at", &[I32, I32], &[I32]),
    ("rt_list_get", &[I32, I64, I32], &[I32]),
    ("rt_concat", &[I32, I32], &[I32]),
    ("rt_compare", &[I32, I32], &[I32]),
    ("rt_compare_float", &[F64, F64], &[I32]),
    ("rt_str_len", &[I32], &[I64]),
    ("rt_lower", &[I32], &[I32]),
    ("rt_upper", &[I32], &[I32]),
    ("rt_trim", &[I32], &[I32]),
    ("rt_words", &[I32], &[I32]),
    ("rt_split", &[I32, I32], &[I32]),
    ("rt_join", &[I32, I32], &[I32]),
    ("rt_contains", &[I32, I32], &[I32]),
    ("rt_starts_with", &[I32, I32], &[I32]),
    ("rt_ends_with", &[I32, I32], &[I32]),
    ("rt_replace", &[I32, I32, I32], &[I32]),
    ("rt_substr", &[I32, I64, I64], &[I32]),
    ("rt_matches", &[I32, I32, I32], &[I32]),
    ("rt_to_int", &[I32, I32], &[I64]),
    ("rt_to_float", &[I32, I32], &[F64]),
    ("rt_int_to_str", &[I64], &[I32]),
    ("rt_float_to_str", &[F64], &[I32]),
    ("rt_bool_to_str", &[I32], &[I32]),
    ("rt_pow", &[F64, F64], &[F64]),
    ("rt_exp", &[F64], &[F64]),
    ("rt_ln", &[F64], &[F64]),
    ("rt_float_to_int", &[F64, I32], &[I64]),
    ("rt_floor", &[F64, I32], &[I64]),
    ("rt_ceil", &[F64, I32], &[I64]),
    ("rt_round", &[F64, I32], &[I64]),
    ("rt_float_rem", &[F64, F64], &[F64]),
    ("rt_float_min", &[F64, F64], &[F64]),
    ("rt_float_max", &[F64, F64], &[F64]),
    ("rt_min_value", &[I32, I32], &[I32]),
    ("rt_max_value", &[I32, I32], &[I32]),
    ("rt_hash_value", &[I32], &[I64]),
    ("rt_hash_int", &[I64], &[I64]),
    ("rt_hash_float", &[F64], &[I64]),
    ("rt_hash_bool", &[I32], &[I64]),
    ("rt_rand", &[I64], &[F64]),
    ("rt_lines_text", &[I32, I32, I32, I64], &[I32]),
    ("rt_line_next", &[I32], &[I64]),
    ("rt_input_csv", &[I32, I32, I32, I32, I32, I64], &[I32]),
    ("rt_input_jsonl", &[I32, I32, I32, I32, I64], &[I32]),
    ("rt_input_files", &[I32, I32, I32], &[I32]),
    ("rt_partial_new", &[I32, I64], &[I32]),
    ("rt_partial_count", &[I32, I32], &[]),
    ("rt_partial_count_many", &[I32, I64, I32], &[]),
    ("rt_partial_add_int", &[I32, I64, I32], &[]),
    ("rt_partial_add_float", &[I32, F64, I32], &[]),
    ("rt_partial_add_value", &[I32, I32, I32], &[]),
    ("rt_partial_add_key", &[I32, I32, I32], &[]),
    ("rt_partial_add_keyed", &[I32, I32, I32, I32], &[]),
    ("rt_partial_add_reduced", &[I32, I32, I32, I32], &[]),
    (
        "rt_partial_add_keyed_reduced",
        &[I32, I32, I32, I32, I32],
        &[],
    ),
    ("rt_partial_encode", &[I32], &[I64]),
    ("rt_word_next", &[I32, I32], &[I64]),
    ("rt_str_slice", &[I32, I32, I32], &[I32]),
    ("rt_partial_add_key_slice", &[I32, I32, I32, I32, I32], &[]),
    ("rt_partial_group_new", &[], &[I32]),
    ("rt_partial_group_push", &[I32, I32], &[]),
    (
        "rt_partial_merge_group",
        &[I32, I32, I32, I32, I32, I32],
        &[I64],
    ),
    ("rt_partial_finish_group", &[I32, I32, I32, I32], &[I64]),
    ("rt_partial_value", &[I32, I32], &[I32]),
];

/// The indices of the runtime functions generated code calls.
#[derive(Debug)]
pub struct Runtime {
    functions: HashMap<&'static str, u32>,
    pub arith: IntArith,
}

impl Runtime {
    /// Looks every function up, checking its signature.
    pub fn new(builder: &ModuleBuilder) -> Result<Runtime, CodegenError> {
        let mut functions = HashMap::new();
        for (name, params, results) in RUNTIME {
            functions.insert(*name, builder.runtime_function(name, params, results)?);
        }
        Ok(Runtime {
            functions,
            arith: IntArith::new(builder)?,
        })
    }

    fn get(&self, name: &str) -> u32 {
        // Every name passed here is in `RUNTIME`, which `new` looked up.
        self.functions.get(name).copied().unwrap_or(u32::MAX)
    }
}

/// What the job's generated code shares: the runtime, user functions and
/// which of them read the job context.
#[derive(Debug)]
pub struct Shared<'j> {
    pub runtime: Runtime,
    pub ir: &'j JobIr,
    /// The wasm index of each user function.
    pub functions: Vec<u32>,
    /// Whether each user function reads params (directly or through calls).
    pub functions_use_ctx: Vec<bool>,
    /// The wasm index of the wrapper of each `extern fn` (see
    /// `codegen/externs.rs`), which takes the call's span id last.
    pub externs: Vec<u32>,
}

/// The partial kind codes of `rt_partial_new`.
pub fn partial_kind(op: ListOp, element: &IrType, value_ty: Option<&IrType>) -> i32 {
    match op {
        ListOp::Count => 0,
        ListOp::Sum if *element == IrType::Float => 2,
        ListOp::Sum => 1,
        ListOp::Min => 3,
        ListOp::Max => 4,
        ListOp::Mean => 5,
        ListOp::Reduce => 6,
        ListOp::CountBy => 7,
        ListOp::SumBy if value_ty == Some(&IrType::Float) => 9,
        ListOp::SumBy => 8,
        ListOp::ReduceBy => 10,
        ListOp::Distinct => 11,
        ListOp::Top => 12,
        ListOp::Bottom => 13,
        ListOp::Sort | ListOp::SortBy => 14,
        ListOp::Collect | ListOp::Map | ListOp::Filter | ListOp::FlatMap => 15,
    }
}

/// The body of one generated function under construction.
#[derive(Debug)]
pub struct Emitter<'s, 'j> {
    pub shared: &'s Shared<'j>,
    pub builder: &'s mut ModuleBuilder,
    code: Vec<u8>,
    param_count: u32,
    /// Types of the locals after the parameters.
    locals: Vec<ValType>,
    /// The wasm local of each IR local, by namespace: a group pass emits
    /// several stages' chains into one function, and each stage numbers
    /// its locals from 0.
    ir_locals: HashMap<(u32, LocalId), u32>,
    /// The namespace IR locals are looked up in now.
    namespace: u32,
    /// String constants and the locals holding them.
    strings: Vec<(String, u32)>,
    /// Nesting of blocks, loops and ifs, for branch depths.
    depth: u32,
    /// For a user function: the depth of its tail-call loop and its
    /// parameters' locals.
    tail: Option<(u32, Vec<u32>)>,
    scratch: Option<Scratch>,
}

impl<'s, 'j> Emitter<'s, 'j> {
    pub fn new(
        shared: &'s Shared<'j>,
        builder: &'s mut ModuleBuilder,
        params: &[ValType],
    ) -> Emitter<'s, 'j> {
        Emitter {
            shared,
            builder,
            code: Vec::new(),
            param_count: params.len() as u32,
            locals: Vec::new(),
            ir_locals: HashMap::new(),
            namespace: 0,
            strings: Vec::new(),
            depth: 0,
            tail: None,
            scratch: None,
        }
    }

    /// The instruction sink.
    pub fn sink(&mut self) -> InstructionSink<'_> {
        InstructionSink::new(&mut self.code)
    }

    /// A new wasm local.
    pub fn local(&mut self, ty: ValType) -> u32 {
        self.locals.push(ty);
        self.param_count + self.locals.len() as u32 - 1
    }

    /// Binds an IR local to an existing wasm local (a parameter).
    pub fn bind(&mut self, local: LocalId, wasm: u32) {
        self.ir_locals.insert((self.namespace, local), wasm);
    }

    /// Looks IR locals up in `namespace` from now on (one per stage of a
    /// group pass, one per user function inlined into a stage; 0
    /// everywhere else).
    pub fn set_namespace(&mut self, namespace: u32) {
        self.namespace = namespace;
    }

    /// The namespace IR locals are looked up in now.
    pub fn namespace(&self) -> u32 {
        self.namespace
    }

    /// The wasm local of an IR local, allocated on first use.
    pub fn ir_local(&mut self, local: LocalId, ty: &IrType) -> u32 {
        if let Some(wasm) = self.ir_locals.get(&(self.namespace, local)) {
            return *wasm;
        }
        let wasm = self.local(val_type(ty));
        self.ir_locals.insert((self.namespace, local), wasm);
        wasm
    }

    pub fn set_tail(&mut self, params: Vec<u32>) {
        self.tail = Some((self.depth, params));
    }

    /// Calls the runtime export `name` (one of `RUNTIME`).
    pub fn call(&mut self, name: &str) {
        let index = self.shared.runtime.get(name);
        self.sink().call(index);
    }

    /// Opens a block-like construct.
    pub fn enter(&mut self) {
        self.depth += 1;
    }

    /// Closes it (the caller emits `end`).
    pub fn leave(&mut self) {
        self.depth -= 1;
    }

    fn scratch(&mut self) -> Scratch {
        if let Some(scratch) = self.scratch {
            return scratch;
        }
        let scratch = Scratch {
            a: self.local(I64),
            b: self.local(I64),
            r: self.local(I64),
        };
        self.scratch = Some(scratch);
        scratch
    }

    /// The finished function: locals, the string prologue, then the code.
    pub fn finish(mut self) -> Function {
        let mut prologue = Vec::new();
        let alloc = self.shared.runtime.get("flow_alloc");
        let str_new = self.shared.runtime.get("rt_str_new");
        let strings = std::mem::take(&mut self.strings);
        let pointer = if strings.is_empty() {
            0
        } else {
            self.local(I32)
        };
        {
            let mut sink = InstructionSink::new(&mut prologue);
            for (text, local) in &strings {
                let bytes = text.as_bytes();
                let len = bytes.len() as i32;
                sink.i32_const(len).call(alloc).local_set(pointer);
                let mut offset = 0usize;
                for chunk in bytes.chunks(8) {
                    let memarg = MemArg {
                        offset: offset as u64,
                        align: 0,
                        memory_index: 0,
                    };
                    if chunk.len() == 8 {
                        let mut word = [0u8; 8];
                        word.copy_from_slice(chunk);
                        sink.local_get(pointer)
                            .i64_const(i64::from_le_bytes(word))
                            .i64_store(memarg);
                    } else {
                        for (i, byte) in chunk.iter().enumerate() {
                            sink.local_get(pointer)
                                .i32_const(i32::from(*byte))
                                .i32_store8(MemArg {
                                    offset: (offset + i) as u64,
                                    align: 0,
                                    memory_index: 0,
                                });
                        }
                    }
                    offset += chunk.len();
                }
                sink.local_get(pointer)
                    .i32_const(len)
                    .call(str_new)
                    .local_set(*local);
            }
        }
        let mut function = Function::new_with_locals_types(self.locals.iter().copied());
        function.raw(prologue);
        function.raw(self.code);
        function
    }

    fn string(&mut self, text: &str) -> u32 {
        if let Some((_, local)) = self.strings.iter().find(|(t, _)| t == text) {
            return *local;
        }
        let local = self.local(I32);
        self.strings.push((text.to_owned(), local));
        local
    }

    /// Pushes a handle to the string constant `text`.
    pub fn string_constant(&mut self, text: &str) {
        let local = self.string(text);
        self.sink().local_get(local);
    }

    /// Boxes the value of type `ty` on the stack into a handle.
    pub fn boxed(&mut self, ty: &IrType) {
        match ty {
            IrType::Int => self.call("rt_box_int"),
            IrType::Float => self.call("rt_box_float"),
            IrType::Bool => self.call("rt_box_bool"),
            _ => {}
        }
    }

    /// Unboxes the handle on the stack into a value of type `ty`.
    pub fn unboxed(&mut self, ty: &IrType) {
        match ty {
            IrType::Int => self.call("rt_unbox_int"),
            IrType::Float => self.call("rt_unbox_float"),
            IrType::Bool => self.call("rt_unbox_bool"),
            _ => {}
        }
    }

    /// Pushes field `index` of the job context, of type `ty`.
    pub fn context_field(&mut self, index: u32, ty: &IrType) {
        self.call("rt_ctx_get");
        self.sink().i32_const(index as i32);
        self.call("rt_seq_at");
        self.unboxed(ty);
    }

    /// Emits `expr`, leaving its value on the stack. `extra` maps a stage
    /// result (in a value body) or a plan value (in a stage body) to its
    /// index in the context tuple.
    pub fn expr(
        &mut self,
        expr: &Expr,
        extra: &dyn Fn(&ExprKind) -> Option<u32>,
    ) -> Result<(), CodegenError> {
        match &expr.kind {
            ExprKind::Int(n) => {
                self.sink().i64_const(*n);
            }
            ExprKind::Float(x) => {
                self.sink().f64_const((*x).into());
            }
            ExprKind::Bool(b) => {
                self.sink().i32_const(i32::from(*b));
            }
            ExprKind::Str(text) => self.string_constant(text),
            ExprKind::Local(local) => {
                let wasm = self.ir_local(*local, &expr.ty);
                self.sink().local_get(wasm);
            }
            ExprKind::Param(index) => self.context_field(1 + index, &expr.ty),
            ExprKind::StageResult(_) | ExprKind::Value(_) => {
                let index = extra(&expr.kind).ok_or_else(|| {
                    CodegenError::Internal(format!("{:?} is not in this body's context", expr.kind))
                })?;
                self.context_field(index, &expr.ty);
            }
            ExprKind::Let { local, value, body } => {
                self.expr(value, extra)?;
                let wasm = self.ir_local(*local, &value.ty);
                self.sink().local_set(wasm);
                self.expr(body, extra)?;
            }
            ExprKind::If {
                cond,
                then_branch,
                else_branch,
            } => {
                self.expr(cond, extra)?;
                self.sink().if_(BlockType::Result(val_type(&expr.ty)));
                self.enter();
                self.expr(then_branch, extra)?;
                self.sink().else_();
                self.expr(else_branch, extra)?;
                self.sink().end();
                self.leave();
            }
            ExprKind::Unary { op, operand, span } => {
                self.expr(operand, extra)?;
                match (op, &operand.ty) {
                    (UnaryOp::Not, _) => {
                        self.sink().i32_eqz();
                    }
                    (UnaryOp::Neg, IrType::Float) => {
                        self.sink().f64_neg();
                    }
                    (UnaryOp::Neg, _) => {
                        let scratch = self.scratch();
                        let arith = self.shared.runtime.arith;
                        arith.negate(&mut self.sink(), span.0 as i32, scratch);
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs, span } => {
                self.binary(*op, lhs, rhs, span.0 as i32, extra)?
            }
            ExprKind::Tuple(items) => self.sequence(1, items, extra)?,
            ExprKind::List(items) => self.sequence(0, items, extra)?,
            ExprKind::Record(items) => self.sequence(2, items, extra)?,
            ExprKind::Field { base, index } => {
                self.expr(base, extra)?;
                self.sink().i32_const(*index as i32);
                self.call("rt_seq_at");
                self.unboxed(&expr.ty);
            }
            ExprKind::Call { function, args } => {
                for arg in args {
                    self.expr(arg, extra)?;
                }
                let index = self
                    .shared
                    .functions
                    .get(function.0 as usize)
                    .copied()
                    .ok_or_else(|| CodegenError::Internal("an unknown function".into()))?;
                self.sink().call(index);
            }
            ExprKind::TailCall { args } => {
                let Some((loop_depth, params)) = self.tail.clone() else {
                    return Err(CodegenError::Internal(
                        "a tail call outside a function".into(),
                    ));
                };
                for arg in args {
                    self.expr(arg, extra)?;
                }
                for param in params.iter().rev() {
                    self.sink().local_set(*param);
                }
                let depth = self.depth - loop_depth;
                self.sink().br(depth);
            }
            ExprKind::ExternCall {
                function,
                args,
                span,
            } => {
                for arg in args {
                    self.expr(arg, extra)?;
                }
                let index = self
                    .shared
                    .externs
                    .get(function.0 as usize)
                    .copied()
                    .ok_or_else(|| CodegenError::Internal("an unknown extern fn".into()))?;
                self.sink().i32_const(span.0 as i32).call(index);
            }
            ExprKind::Builtin { op, args, span } => {
                self.builtin(*op, args, &expr.ty, span.0 as i32, extra)?
            }
            ExprKind::ListOp(op) => self.list_op(op, &expr.ty, extra)?,
        }
        Ok(())
    }

    fn sequence(
        &mut self,
        kind: i32,
        items: &[Expr],
        extra: &dyn Fn(&ExprKind) -> Option<u32>,
    ) -> Result<(), CodegenError> {
        let seq = self.local(I32);
        self.sink().i32_const(kind).i32_const(items.len() as i32);
        self.call("rt_seq_new");
        self.sink().local_set(seq);
        for item in items {
            self.sink().local_get(seq);
            self.expr(item, extra)?;
            self.boxed(&item.ty);
            self.call("rt_seq_push");
        }
        self.sink().local_get(seq);
        Ok(())
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        span: i32,
        extra: &dyn Fn(&ExprKind) -> Option<u32>,
    ) -> Result<(), CodegenError> {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                self.expr(lhs, extra)?;
                self.sink().if_(BlockType::Result(I32));
                self.enter();
                if op == BinaryOp::And {
                    self.expr(rhs, extra)?;
                    self.sink().else_().i32_const(0);
                } else {
                    self.sink().i32_const(1).else_();
                    self.expr(rhs, extra)?;
                }
                self.sink().end();
                self.leave();
                return Ok(());
            }
            _ => {}
        }
        self.expr(lhs, extra)?;
        self.expr(rhs, extra)?;
        let ty = &lhs.ty;
        let int_op = match op {
            BinaryOp::Add => Some(IntOp::Add),
            BinaryOp::Sub => Some(IntOp::Sub),
            BinaryOp::Mul => Some(IntOp::Mul),
            BinaryOp::Div => Some(IntOp::Div),
            BinaryOp::Rem => Some(IntOp::Rem),
            _ => None,
        };
        if let Some(int_op) = int_op {
            match ty {
                IrType::Int => {
                    let scratch = self.scratch();
                    let arith = self.shared.runtime.arith;
                    arith.binary(&mut self.sink(), int_op, span, scratch);
                }
                IrType::Float => match int_op {
                    IntOp::Add => {
                        self.sink().f64_add();
                    }
                    IntOp::Sub => {
                        self.sink().f64_sub();
                    }
                    IntOp::Mul => {
                        self.sink().f64_mul();
                    }
                    IntOp::Div => {
                        self.sink().f64_div();
                    }
                    IntOp::Rem => self.call("rt_float_rem"),
                },
                _ if int_op == IntOp::Add => self.call("rt_concat"),
                _ => {
                    return Err(CodegenError::Internal(format!(
                        "arithmetic on a value of type {ty:?}"
                    )));
                }
            }
            return Ok(());
        }
        // Comparisons.
        match ty {
            IrType::Int => {
                let mut sink = self.sink();
                match op {
                    BinaryOp::Eq => sink.i64_eq(),
                    BinaryOp::Ne => sink.i64_ne(),
                    BinaryOp::Lt => sink.i64_lt_s(),
                    BinaryOp::Le => sink.i64_le_s(),
                    BinaryOp::Gt => sink.i64_gt_s(),
                    _ => sink.i64_ge_s(),
                };
            }
            IrType::Bool => {
                let mut sink = self.sink();
                match op {
                    BinaryOp::Eq => sink.i32_eq(),
                    BinaryOp::Ne => sink.i32_ne(),
                    BinaryOp::Lt => sink.i32_lt_u(),
                    BinaryOp::Le => sink.i32_le_u(),
                    BinaryOp::Gt => sink.i32_gt_u(),
                    _ => sink.i32_ge_u(),
                };
            }
            _ => {
                if *ty == IrType::Float {
                    self.call("rt_compare_float");
                } else {
                    self.call("rt_compare");
                }
                let mut sink = self.sink();
                sink.i32_const(0);
                match op {
                    BinaryOp::Eq => sink.i32_eq(),
                    BinaryOp::Ne => sink.i32_ne(),
                    BinaryOp::Lt => sink.i32_lt_s(),
                    BinaryOp::Le => sink.i32_le_s(),
                    BinaryOp::Gt => sink.i32_gt_s(),
                    _ => sink.i32_ge_s(),
                };
            }
        }
        Ok(())
    }

    fn builtin(
        &mut self,
        op: Builtin,
        args: &[Expr],
        result: &IrType,
        span: i32,
        extra: &dyn Fn(&ExprKind) -> Option<u32>,
    ) -> Result<(), CodegenError> {
        for arg in args {
            self.expr(arg, extra)?;
        }
        let first = args.first().map(|a| a.ty.clone()).unwrap_or(IrType::Int);
        let with_span = |this: &mut Self, name: &str| {
            this.sink().i32_const(span);
            this.call(name);
        };
        match op {
            Builtin::Abs => match first {
                IrType::Float => {
                    self.sink().f64_abs();
                }
                _ => {
                    let scratch = self.scratch();
                    let arith = self.shared.runtime.arith;
                    arith.abs(&mut self.sink(), span, scratch);
                }
            },
            Builtin::Min2 | Builtin::Max2 => {
                let min = op == Builtin::Min2;
                match first {
                    IrType::Int | IrType::Bool => {
                        // On a tie both are the same value.
                        let ty = val_type(&first);
                        let a = self.local(ty);
                        let b = self.local(ty);
                        let mut sink = self.sink();
                        sink.local_set(b)
                            .local_set(a)
                            .local_get(a)
                            .local_get(b)
                            .local_get(a)
                            .local_get(b);
                        match (ty, min) {
                            (I64, true) => sink.i64_le_s(),
                            (I64, false) => sink.i64_ge_s(),
                            (_, true) => sink.i32_le_u(),
                            (_, false) => sink.i32_ge_u(),
                        };
                        sink.select();
                    }
                    IrType::Float => self.call(if min { "rt_float_min" } else { "rt_float_max" }),
                    _ => self.call(if min { "rt_min_value" } else { "rt_max_value" }),
                }
            }
            Builtin::Sqrt => {
                self.sink().f64_sqrt();
            }
            Builtin::Pow => self.call("rt_pow"),
            Builtin::Exp => self.call("rt_exp"),
            Builtin::Ln => self.call("rt_ln"),
            Builtin::Floor => with_span(self, "rt_floor"),
            Builtin::Ceil => with_span(self, "rt_ceil"),
            Builtin::Round => with_span(self, "rt_round"),
            Builtin::ToFloat => {
                if first == IrType::Int {
                    self.sink().f64_convert_i64_s();
                }
            }
            Builtin::ToInt => {
                if first == IrType::Float {
                    with_span(self, "rt_float_to_int");
                }
            }
            Builtin::Hash => match first {
                IrType::Int => self.call("rt_hash_int"),
                IrType::Float => self.call("rt_hash_float"),
                IrType::Bool => self.call("rt_hash_bool"),
                _ => self.call("rt_hash_value"),
            },
            Builtin::Rand => self.call("rt_rand"),
            Builtin::StrLen => self.call("rt_str_len"),
            Builtin::Lower => self.call("rt_lower"),
            Builtin::Upper => self.call("rt_upper"),
            Builtin::Trim => self.call("rt_trim"),
            Builtin::Words => self.call("rt_words"),
            Builtin::Split => self.call("rt_split"),
            Builtin::Join => self.call("rt_join"),
            Builtin::Contains => self.call("rt_contains"),
            Builtin::StartsWith => self.call("rt_starts_with"),
            Builtin::EndsWith => self.call("rt_ends_with"),
            Builtin::Replace => self.call("rt_replace"),
            Builtin::Substr => self.call("rt_substr"),
            Builtin::Matches => with_span(self, "rt_matches"),
            Builtin::ParseInt => with_span(self, "rt_to_int"),
            Builtin::ParseFloat => with_span(self, "rt_to_float"),
            Builtin::Str => match first {
                IrType::Int => self.call("rt_int_to_str"),
                IrType::Float => self.call("rt_float_to_str"),
                IrType::Bool => self.call("rt_bool_to_str"),
                _ => {}
            },
            Builtin::ListLen => self.call("rt_seq_len"),
            Builtin::Get => {
                with_span(self, "rt_list_get");
                self.unboxed(result);
            }
        }
        Ok(())
    }

    /// Calls `lambda` inline with the values in `args` (wasm locals),
    /// leaving its result on the stack.
    pub fn apply(
        &mut self,
        lambda: &Lambda,
        args: &[(u32, IrType)],
        extra: &dyn Fn(&ExprKind) -> Option<u32>,
    ) -> Result<(), CodegenError> {
        for (param, (arg, ty)) in lambda.params.iter().zip(args) {
            let wasm = self.ir_local(*param, ty);
            self.sink().local_get(*arg).local_set(wasm);
        }
        self.expr(&lambda.body, extra)
    }

    /// Emits a loop over the elements of the list whose handle is in
    /// `list`: `each` runs with the element (unboxed to `element`) in the
    /// returned local and its handle in the other.
    pub fn for_each(
        &mut self,
        list: u32,
        element: &IrType,
        each: &mut dyn FnMut(&mut Self, u32, u32) -> Result<(), CodegenError>,
    ) -> Result<(), CodegenError> {
        let count = self.local(I64);
        let index = self.local(I64);
        let handle = self.local(I32);
        let value = self.local(val_type(element));
        self.sink().local_get(list);
        self.call("rt_seq_len");
        self.sink()
            .local_set(count)
            .i64_const(0)
            .local_set(index)
            .block(BlockType::Empty)
            .loop_(BlockType::Empty);
        self.enter();
        self.enter();
        self.sink()
            .local_get(index)
            .local_get(count)
            .i64_ge_s()
            .br_if(1)
            .local_get(list)
            .local_get(index)
            .i32_wrap_i64();
        self.call("rt_seq_at");
        self.sink().local_tee(handle);
        self.unboxed(element);
        self.sink().local_set(value);
        each(self, value, handle)?;
        self.sink()
            .local_get(index)
            .i64_const(1)
            .i64_add()
            .local_set(index)
            .br(0)
            .end()
            .end();
        self.leave();
        self.leave();
        Ok(())
    }

    /// Adds one element (in local `value`, of type `element`) to the partial
    /// in local `partial` for aggregation `op`.
    #[allow(clippy::too_many_arguments)]
    pub fn feed(
        &mut self,
        op: ListOp,
        partial: u32,
        value: u32,
        element: &IrType,
        lambdas: &[Lambda],
        reducer_slot: i32,
        span: i32,
        extra: &dyn Fn(&ExprKind) -> Option<u32>,
    ) -> Result<(), CodegenError> {
        let arg = [(value, element.clone())];
        let boxed_element = |this: &mut Self| {
            this.sink().local_get(value);
            this.boxed(element);
        };
        let lambda = |index: usize| {
            lambdas.get(index).ok_or_else(|| {
                CodegenError::Internal(format!("`{}` without its function", op.name()))
            })
        };
        self.sink().local_get(partial);
        match op {
            ListOp::Count => {
                self.sink().i32_const(span);
                self.call("rt_partial_count");
            }
            ListOp::Sum | ListOp::Mean => {
                self.sink().local_get(value).i32_const(span);
                if *element == IrType::Float {
                    self.call("rt_partial_add_float");
                } else {
                    self.call("rt_partial_add_int");
                }
            }
            ListOp::Min | ListOp::Max | ListOp::Distinct | ListOp::Collect => {
                boxed_element(self);
                self.sink().i32_const(span);
                self.call("rt_partial_add_value");
            }
            ListOp::Sort => {
                boxed_element(self);
                boxed_element(self);
                self.sink().i32_const(span);
                self.call("rt_partial_add_keyed");
            }
            ListOp::SortBy | ListOp::Top | ListOp::Bottom => {
                let by = lambda(0)?;
                self.apply(by, &arg, extra)?;
                self.boxed(&by.body.ty);
                boxed_element(self);
                self.sink().i32_const(span);
                self.call("rt_partial_add_keyed");
            }
            ListOp::CountBy => {
                let key = lambda(0)?;
                self.apply(key, &arg, extra)?;
                self.boxed(&key.body.ty);
                self.sink().i32_const(span);
                self.call("rt_partial_add_key");
            }
            ListOp::SumBy | ListOp::ReduceBy => {
                let key = lambda(0)?;
                self.apply(key, &arg, extra)?;
                self.boxed(&key.body.ty);
                let mapped = lambda(1)?;
                self.apply(mapped, &arg, extra)?;
                self.boxed(&mapped.body.ty);
                if op == ListOp::ReduceBy {
                    self.sink().i32_const(reducer_slot).i32_const(span);
                    self.call("rt_partial_add_keyed_reduced");
                } else {
                    self.sink().i32_const(span);
                    self.call("rt_partial_add_keyed");
                }
            }
            ListOp::Reduce => {
                boxed_element(self);
                self.sink().i32_const(reducer_slot).i32_const(span);
                self.call("rt_partial_add_reduced");
            }
            ListOp::Map | ListOp::Filter | ListOp::FlatMap => {
                return Err(CodegenError::Internal(format!(
                    "`{}` is no aggregation",
                    op.name()
                )));
            }
        }
        Ok(())
    }

    /// The value type of `sum_by` (its second function's result).
    fn sum_by_type(op: ListOp, lambdas: &[Lambda]) -> Option<IrType> {
        match op {
            ListOp::SumBy => lambdas.get(1).map(|l| l.body.ty.clone()),
            _ => None,
        }
    }

    /// Emits `rt_partial_new` for aggregation `op` over elements of type
    /// `element` (its first argument, `top`'s or `bottom`'s count, or 0)
    /// and returns the local that holds the partial: how a stage and a list
    /// aggregation inside an expression both start one.
    pub fn new_partial(
        &mut self,
        op: ListOp,
        element: &IrType,
        lambdas: &[Lambda],
        args: &[Expr],
        extra: &dyn Fn(&ExprKind) -> Option<u32>,
    ) -> Result<u32, CodegenError> {
        let partial = self.local(I32);
        let kind = partial_kind(op, element, Self::sum_by_type(op, lambdas).as_ref());
        self.sink().i32_const(kind);
        match args.first() {
            Some(n) => self.expr(n, extra)?,
            None => {
                self.sink().i64_const(0);
            }
        }
        self.call("rt_partial_new");
        self.sink().local_set(partial);
        Ok(partial)
    }

    fn list_op(
        &mut self,
        op: &ListOpExpr,
        result: &IrType,
        extra: &dyn Fn(&ExprKind) -> Option<u32>,
    ) -> Result<(), CodegenError> {
        let element = op
            .list
            .ty
            .element()
            .cloned()
            .ok_or_else(|| CodegenError::Internal("a list operator over a non-list".into()))?;
        self.expr(&op.list, extra)?;
        let list = self.local(I32);
        self.sink().local_set(list);
        let span = op.span.0 as i32;
        match op.op {
            ListOp::Map | ListOp::Filter | ListOp::FlatMap => {
                let lambda = op
                    .lambdas
                    .first()
                    .ok_or_else(|| CodegenError::Internal("a step without a function".into()))?;
                let out = self.local(I32);
                self.sink().i32_const(0);
                if op.op == ListOp::FlatMap {
                    self.sink().i32_const(0);
                } else {
                    self.sink().local_get(list);
                    self.call("rt_seq_len");
                    self.sink().i32_wrap_i64();
                }
                self.call("rt_seq_new");
                self.sink().local_set(out);
                let kind = op.op;
                self.for_each(list, &element, &mut |this, value, handle| {
                    let arg = [(value, element.clone())];
                    match kind {
                        ListOp::Map => {
                            this.sink().local_get(out);
                            this.apply(lambda, &arg, extra)?;
                            this.boxed(&lambda.body.ty);
                            this.call("rt_seq_push");
                        }
                        ListOp::Filter => {
                            this.apply(lambda, &arg, extra)?;
                            this.sink()
                                .if_(BlockType::Empty)
                                .local_get(out)
                                .local_get(handle);
                            this.call("rt_seq_push");
                            this.sink().end();
                        }
                        _ => {
                            let inner = this.local(I32);
                            this.apply(lambda, &arg, extra)?;
                            this.sink().local_set(inner);
                            let inner_element =
                                lambda.body.ty.element().cloned().unwrap_or(IrType::Int);
                            this.for_each(inner, &inner_element, &mut |this, _, handle| {
                                this.sink().local_get(out).local_get(handle);
                                this.call("rt_seq_push");
                                Ok(())
                            })?;
                        }
                    }
                    Ok(())
                })?;
                self.sink().local_get(out);
            }
            aggregation => {
                let partial =
                    self.new_partial(aggregation, &element, &op.lambdas, &op.args, extra)?;
                let slot = self.reducer_slot(aggregation, &op.lambdas)?;
                self.for_each(list, &element, &mut |this, value, _| {
                    this.feed(
                        aggregation,
                        partial,
                        value,
                        &element,
                        &op.lambdas,
                        slot,
                        span,
                        extra,
                    )
                })?;
                self.sink().local_get(partial).i32_const(span);
                self.call("rt_partial_value");
                self.unboxed(result);
            }
        }
        Ok(())
    }

    /// The table slot of the reducer of `reduce` or `reduce_by`, generated
    /// as a function of its own; 0 for other aggregations.
    pub fn reducer_slot(&mut self, op: ListOp, lambdas: &[Lambda]) -> Result<i32, CodegenError> {
        let reducer = match op {
            ListOp::Reduce => lambdas.first(),
            ListOp::ReduceBy => lambdas.get(2),
            _ => return Ok(0),
        }
        .ok_or_else(|| CodegenError::Internal("a reduce without its function".into()))?;
        let function =
            reducer_function(self.shared, self.builder, reducer, &self.types_of(reducer))?;
        Ok(self.builder.table_slot(function))
    }

    /// The types of a lambda's parameters, from the locals bound so far or
    /// the body (reducers take two values of the result type).
    fn types_of(&self, lambda: &Lambda) -> IrType {
        lambda.body.ty.clone()
    }
}

/// Generates `(a, b) -> f(a, b)` over value handles for a reducer lambda,
/// which runs inside `merge` too, where there is no job context: a reducer
/// that reads params, stage values or locals outside itself is not
/// supported yet.
fn reducer_function(
    shared: &Shared<'_>,
    builder: &mut ModuleBuilder,
    lambda: &Lambda,
    ty: &IrType,
) -> Result<u32, CodegenError> {
    let mut bound: Vec<LocalId> = lambda.params.clone();
    let mut problem = None;
    crate::ir::walk(&lambda.body, &mut |e| match &e.kind {
        ExprKind::Let { local, .. } => bound.push(*local),
        ExprKind::ListOp(op) => {
            for l in &op.lambdas {
                bound.extend(l.params.iter().copied());
            }
        }
        _ => {}
    });
    crate::ir::walk(&lambda.body, &mut |e| match &e.kind {
        ExprKind::Local(local) if !bound.contains(local) => {
            problem = Some("a reduce function that captures a local");
        }
        ExprKind::Param(_) | ExprKind::Value(_) | ExprKind::StageResult(_) => {
            problem = Some("a reduce function that reads a param or a computed value");
        }
        ExprKind::Call { function, .. }
            if shared
                .functions_use_ctx
                .get(function.0 as usize)
                .copied()
                .unwrap_or(true) =>
        {
            problem = Some("a reduce function calling a function that reads a param");
        }
        _ => {}
    });
    if let Some(problem) = problem {
        return Err(CodegenError::Unsupported(problem.to_owned()));
    }
    let index = builder.declare(Signature::new(&[I32, I32], &[I32]));
    let mut emitter = Emitter::new(shared, builder, &[I32, I32]);
    for (param, wasm) in lambda.params.iter().zip([0u32, 1]) {
        let local = emitter.ir_local(*param, ty);
        emitter.sink().local_get(wasm);
        emitter.unboxed(ty);
        emitter.sink().local_set(local);
    }
    emitter.expr(&lambda.body, &|_| None)?;
    emitter.boxed(ty);
    emitter.sink().end();
    let function = emitter.finish();
    builder.define(index, function)?;
    Ok(index)
}
