//! Inline `int` arithmetic with the checks of LANGUAGE.md §2: overflow,
//! division by zero and `i64::MIN / -1` branch to the runtime's
//! `rt_fail_*` functions, which write the error record and trap. The
//! results equal `flow_runtime::numbers` (the reference semantics), `%`
//! included: `i64::MIN % -1` is 0, as wasm's `i64.rem_s` gives.

use wasm_encoder::{BlockType, InstructionSink, ValType};

use super::{CodegenError, ModuleBuilder};

/// A binary `int` operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`, truncating.
    Div,
    /// `%`, with the sign of the dividend.
    Rem,
}

impl IntOp {
    /// The operator's code for `rt_fail_overflow` (the runtime's
    /// `OPERATORS` table).
    fn code(self) -> i32 {
        match self {
            IntOp::Add => 0,
            IntOp::Sub => 1,
            IntOp::Mul => 2,
            IntOp::Div => 3,
            IntOp::Rem => 4,
        }
    }
}

/// The operator code of negation for `rt_fail_overflow`.
const NEGATION: i32 = 5;
/// The operator code of `abs` for `rt_fail_overflow`.
const ABS: i32 = 6;

/// Three `i64` locals an operation may clobber.
#[derive(Debug, Clone, Copy)]
pub struct Scratch {
    /// The left operand.
    pub a: u32,
    /// The right operand.
    pub b: u32,
    /// The result.
    pub r: u32,
}

/// Emits checked `int` operations; holds the runtime functions they call.
#[derive(Debug, Clone, Copy)]
pub struct IntArith {
    fail_overflow: u32,
    fail_division_by_zero: u32,
}

impl IntArith {
    /// Looks up the runtime's failure functions.
    pub fn new(builder: &ModuleBuilder) -> Result<IntArith, CodegenError> {
        Ok(IntArith {
            fail_overflow: builder.runtime_function(
                "rt_fail_overflow",
                &[ValType::I32, ValType::I32],
                &[],
            )?,
            fail_division_by_zero: builder.runtime_function(
                "rt_fail_division_by_zero",
                &[ValType::I32],
                &[],
            )?,
        })
    }

    /// `if (condition on the stack) { fail overflow }`.
    fn overflow_if(&self, sink: &mut InstructionSink<'_>, operator: i32, span: i32) {
        sink.if_(BlockType::Empty)
            .i32_const(operator)
            .i32_const(span)
            .call(self.fail_overflow)
            .unreachable()
            .end();
    }

    /// Pops `a` and `b` (`i64`) and pushes `a op b`, failing as the language
    /// says.
    pub fn binary(&self, sink: &mut InstructionSink<'_>, op: IntOp, span: i32, scratch: Scratch) {
        let Scratch { a, b, r } = scratch;
        sink.local_set(b).local_set(a);
        match op {
            IntOp::Add | IntOp::Sub => {
                sink.local_get(a).local_get(b);
                if op == IntOp::Add {
                    // Overflow iff both operands have the sign the result lacks.
                    sink.i64_add().local_set(r);
                    sink.local_get(a).local_get(r).i64_xor();
                    sink.local_get(b).local_get(r).i64_xor();
                } else {
                    // Overflow iff the operands' signs differ and the result's
                    // sign differs from `a`'s.
                    sink.i64_sub().local_set(r);
                    sink.local_get(a).local_get(b).i64_xor();
                    sink.local_get(a).local_get(r).i64_xor();
                }
                sink.i64_and().i64_const(0).i64_lt_s();
                self.overflow_if(sink, op.code(), span);
                sink.local_get(r);
            }
            IntOp::Mul => {
                sink.local_get(a).local_get(b).i64_mul().local_set(r);
                // With a != 0 the product overflowed iff r / a != b, except
                // that MIN * -1 wraps to MIN and MIN / -1 traps: test
                // a == -1 && b == MIN first.
                sink.local_get(a).i64_const(-1).i64_eq();
                sink.local_get(b).i64_const(i64::MIN).i64_eq();
                sink.i32_and();
                sink.if_(BlockType::Result(ValType::I32))
                    .i32_const(1)
                    .else_()
                    .local_get(a)
                    .i64_eqz()
                    .if_(BlockType::Result(ValType::I32))
                    .i32_const(0)
                    .else_()
                    .local_get(r)
                    .local_get(a)
                    .i64_div_s()
                    .local_get(b)
                    .i64_ne()
                    .end()
                    .end();
                self.overflow_if(sink, op.code(), span);
                sink.local_get(r);
            }
            IntOp::Div | IntOp::Rem => {
                sink.local_get(b).i64_eqz();
                sink.if_(BlockType::Empty)
                    .i32_const(span)
                    .call(self.fail_division_by_zero)
                    .unreachable()
                    .end();
                if op == IntOp::Div {
                    sink.local_get(a).i64_const(i64::MIN).i64_eq();
                    sink.local_get(b).i64_const(-1).i64_eq();
                    sink.i32_and();
                    self.overflow_if(sink, op.code(), span);
                    sink.local_get(a).local_get(b).i64_div_s();
                } else {
                    sink.local_get(a).local_get(b).i64_rem_s();
                }
            }
        }
    }

    /// Pops `a` and pushes `-a`; `i64::MIN` overflows.
    pub fn negate(&self, sink: &mut InstructionSink<'_>, span: i32, scratch: Scratch) {
        sink.local_tee(scratch.a).i64_const(i64::MIN).i64_eq();
        self.overflow_if(sink, NEGATION, span);
        sink.i64_const(0).local_get(scratch.a).i64_sub();
    }

    /// Pops `a` and pushes `abs(a)`; `i64::MIN` overflows.
    pub fn abs(&self, sink: &mut InstructionSink<'_>, span: i32, scratch: Scratch) {
        sink.local_tee(scratch.a).i64_const(i64::MIN).i64_eq();
        self.overflow_if(sink, ABS, span);
        sink.local_get(scratch.a)
            .i64_const(0)
            .i64_lt_s()
            .if_(BlockType::Result(ValType::I64))
            .i64_const(0)
            .local_get(scratch.a)
            .i64_sub()
            .else_()
            .local_get(scratch.a)
            .end();
    }
}
