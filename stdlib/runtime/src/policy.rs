//! The `delegate when` predicate of a job's policy (LANGUAGE.md §9) as data.
//!
//! The checker lowers the predicate to a [`PolicyExpr`]; the job plan carries
//! it; every peer that holds part of the job evaluates it natively for the
//! work it still holds, as often as the scheduler asks. It lives in the
//! runtime crate because both sides need it and neither may depend on the
//! other: the compiler builds it, the executor evaluates it.
//!
//! The tree ([`PolicyExpr`]) is what the compiler builds; what travels and
//! runs is a flat [`PolicyProgram`] of postfix operations with forward jumps
//! for `and`, `or` and `if`. A predicate arrives from other peers, so
//! nothing here recurses over it or panics: decoding a flat list cannot nest
//! deeply, jumps only go forward (so evaluation ends), the value stack is
//! bounded, `int` arithmetic is checked, and a type error (a damaged plan)
//! answers an error instead of a value.

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// A variable the predicate reads, measured by the peer evaluating it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PolicyVar {
    /// Bytes (or items) not yet started on this peer.
    Work,
    /// Chunks not yet started on this peer.
    Chunks,
    /// This peer's depth in the job's tree (origin 0).
    Depth,
    /// Idle peers this one can reach.
    Peers,
    /// This peer's speed relative to the known peers (1.0 = average).
    Capacity,
}

impl PolicyVar {
    /// The variable named `name`, as the language spells it.
    pub fn from_name(name: &str) -> Option<PolicyVar> {
        Some(match name {
            "work" => PolicyVar::Work,
            "chunks" => PolicyVar::Chunks,
            "depth" => PolicyVar::Depth,
            "peers" => PolicyVar::Peers,
            "capacity" => PolicyVar::Capacity,
            _ => return None,
        })
    }
}

/// A unary operator of the predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PolicyUnary {
    Neg,
    Not,
}

/// A binary operator of the predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PolicyBinary {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

/// A `delegate when` expression: literals, the policy variables, operators
/// and `if`. Params are replaced by their values when the job is submitted,
/// so the program that travels holds no name but the five variables.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyExpr {
    Int(i64),
    Float(f64),
    Bool(bool),
    Var(PolicyVar),
    /// A param not yet replaced by its value (only before submission).
    Param(String),
    Unary(PolicyUnary, Box<PolicyExpr>),
    Binary(PolicyBinary, Box<PolicyExpr>, Box<PolicyExpr>),
    If(Box<PolicyExpr>, Box<PolicyExpr>, Box<PolicyExpr>),
}

/// A value of the predicate's evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PolicyValue {
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// The variables' values on the evaluating peer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolicyVars {
    pub work: u64,
    pub chunks: u64,
    pub depth: u32,
    pub peers: u64,
    pub capacity: f64,
}

impl PolicyExpr {
    /// `chunks > 1 and peers > 0`, the rule when the policy sets none.
    pub fn default_rule() -> PolicyExpr {
        PolicyExpr::Binary(
            PolicyBinary::And,
            Box::new(PolicyExpr::Binary(
                PolicyBinary::Gt,
                Box::new(PolicyExpr::Var(PolicyVar::Chunks)),
                Box::new(PolicyExpr::Int(1)),
            )),
            Box::new(PolicyExpr::Binary(
                PolicyBinary::Gt,
                Box::new(PolicyExpr::Var(PolicyVar::Peers)),
                Box::new(PolicyExpr::Int(0)),
            )),
        )
    }

    /// The flat program that evaluates this tree.
    pub fn compile(&self) -> PolicyProgram {
        let mut ops = Vec::new();
        self.emit(&mut ops);
        PolicyProgram { ops }
    }

    fn emit(&self, ops: &mut Vec<PolicyOp>) {
        match self {
            PolicyExpr::Int(v) => ops.push(PolicyOp::Int(*v)),
            PolicyExpr::Float(v) => ops.push(PolicyOp::Float(*v)),
            PolicyExpr::Bool(v) => ops.push(PolicyOp::Bool(*v)),
            PolicyExpr::Var(var) => ops.push(PolicyOp::Var(*var)),
            PolicyExpr::Param(name) => ops.push(PolicyOp::Param(name.clone())),
            PolicyExpr::Unary(op, operand) => {
                operand.emit(ops);
                ops.push(PolicyOp::Unary(*op));
            }
            // `a and b`: if `a` is false the answer is `a`, else `b`.
            PolicyExpr::Binary(op @ (PolicyBinary::And | PolicyBinary::Or), lhs, rhs) => {
                lhs.emit(ops);
                let jump = ops.len();
                ops.push(PolicyOp::Bool(false));
                rhs.emit(ops);
                let skip = (ops.len() - jump - 1) as u32;
                ops[jump] = if *op == PolicyBinary::And {
                    PolicyOp::KeepIfFalse(skip)
                } else {
                    PolicyOp::KeepIfTrue(skip)
                };
            }
            PolicyExpr::Binary(op, lhs, rhs) => {
                lhs.emit(ops);
                rhs.emit(ops);
                ops.push(PolicyOp::Binary(*op));
            }
            PolicyExpr::If(c, t, e) => {
                c.emit(ops);
                let branch = ops.len();
                ops.push(PolicyOp::Bool(false));
                t.emit(ops);
                let jump = ops.len();
                ops.push(PolicyOp::Bool(false));
                ops[branch] = PolicyOp::JumpIfFalse((ops.len() - branch - 1) as u32);
                e.emit(ops);
                ops[jump] = PolicyOp::Jump((ops.len() - jump - 1) as u32);
            }
        }
    }
}

/// One step of a [`PolicyProgram`]. Jumps count the operations skipped
/// after the jump itself, so they can only go forward.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PolicyOp {
    Int(i64),
    Float(f64),
    Bool(bool),
    Var(PolicyVar),
    /// A param not yet bound (only before submission).
    Param(String),
    Unary(PolicyUnary),
    Binary(PolicyBinary),
    /// Pops a bool; skips the next `n` operations when it is false.
    JumpIfFalse(u32),
    /// Skips the next `n` operations.
    Jump(u32),
    /// `and`: if the bool on top is false, keep it and skip the right side
    /// (`n` operations); otherwise pop it and go on.
    KeepIfFalse(u32),
    /// `or`: the same when the top is true.
    KeepIfTrue(u32),
}

/// A `delegate when` predicate as it travels: postfix operations.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PolicyProgram {
    pub ops: Vec<PolicyOp>,
}

impl PolicyProgram {
    /// The longest program a peer evaluates; a predicate written by hand is
    /// a few dozen operations.
    pub const MAX_OPS: usize = 1024;

    /// Replaces every param by the value `lookup` gives; an unknown param
    /// is an error naming it.
    pub fn bind_params(
        &self,
        lookup: &dyn Fn(&str) -> Option<PolicyValue>,
    ) -> Result<PolicyProgram, String> {
        let mut ops = Vec::with_capacity(self.ops.len());
        for op in &self.ops {
            ops.push(match op {
                PolicyOp::Param(name) => match lookup(name) {
                    Some(PolicyValue::Int(v)) => PolicyOp::Int(v),
                    Some(PolicyValue::Float(v)) => PolicyOp::Float(v),
                    Some(PolicyValue::Bool(v)) => PolicyOp::Bool(v),
                    None => return Err(alloc::format!("param `{name}` has no value")),
                },
                other => other.clone(),
            });
        }
        Ok(PolicyProgram { ops })
    }

    /// Whether the predicate holds. An error (overflow, division by zero, a
    /// non-`bool` result, a param left unbound, a malformed program) is
    /// reported, and the scheduler then keeps the work rather than guess.
    pub fn holds(&self, vars: &PolicyVars) -> Result<bool, String> {
        use PolicyValue::{Bool, Float, Int};
        if self.ops.len() > Self::MAX_OPS {
            return Err("the `delegate when` predicate is too long".to_string());
        }
        let malformed = || "a malformed `delegate when` program".to_string();
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let mut stack: Vec<PolicyValue> = Vec::new();
        let mut pc = 0usize;
        while let Some(op) = self.ops.get(pc) {
            pc += 1;
            match op {
                PolicyOp::Int(v) => stack.push(Int(*v)),
                PolicyOp::Float(v) => stack.push(Float(*v)),
                PolicyOp::Bool(v) => stack.push(Bool(*v)),
                PolicyOp::Var(var) => stack.push(match var {
                    PolicyVar::Work => Int(clamp(vars.work)),
                    PolicyVar::Chunks => Int(clamp(vars.chunks)),
                    PolicyVar::Depth => Int(i64::from(vars.depth)),
                    PolicyVar::Peers => Int(clamp(vars.peers)),
                    PolicyVar::Capacity => Float(vars.capacity),
                }),
                PolicyOp::Param(name) => return Err(alloc::format!("param `{name}` is unbound")),
                PolicyOp::Unary(op) => {
                    let value = stack.pop().ok_or_else(malformed)?;
                    stack.push(match (op, value) {
                        (PolicyUnary::Neg, Int(v)) => {
                            Int(v.checked_neg().ok_or("int overflow in `delegate when`")?)
                        }
                        (PolicyUnary::Neg, Float(v)) => Float(-v),
                        (PolicyUnary::Not, Bool(v)) => Bool(!v),
                        _ => return Err("an operator applied to the wrong type".to_string()),
                    });
                }
                PolicyOp::Binary(op) => {
                    let rhs = stack.pop().ok_or_else(malformed)?;
                    let lhs = stack.pop().ok_or_else(malformed)?;
                    stack.push(binary(*op, lhs, rhs)?);
                }
                PolicyOp::JumpIfFalse(n) => match stack.pop() {
                    Some(Bool(false)) => pc = pc.saturating_add(*n as usize),
                    Some(Bool(true)) => {}
                    _ => return Err("`if` of a non-bool".to_string()),
                },
                PolicyOp::Jump(n) => pc = pc.saturating_add(*n as usize),
                PolicyOp::KeepIfFalse(n) | PolicyOp::KeepIfTrue(n) => {
                    let keep = matches!(op, PolicyOp::KeepIfTrue(_));
                    match stack.last() {
                        Some(Bool(b)) if *b == keep => pc = pc.saturating_add(*n as usize),
                        Some(Bool(_)) => {
                            stack.pop();
                        }
                        _ => return Err("`and`/`or` of a non-bool".to_string()),
                    }
                }
            }
            if stack.len() > Self::MAX_OPS {
                return Err(malformed());
            }
        }
        match (stack.pop(), stack.is_empty()) {
            (Some(Bool(b)), true) => Ok(b),
            _ => Err("the `delegate when` predicate is not one bool".to_string()),
        }
    }
}

fn binary(op: PolicyBinary, lhs: PolicyValue, rhs: PolicyValue) -> Result<PolicyValue, String> {
    use PolicyValue::{Bool, Float, Int};
    let overflow = || "int overflow in `delegate when`".to_string();
    Ok(match (lhs, rhs) {
        (Int(a), Int(b)) => match op {
            PolicyBinary::Add => Int(a.checked_add(b).ok_or_else(overflow)?),
            PolicyBinary::Sub => Int(a.checked_sub(b).ok_or_else(overflow)?),
            PolicyBinary::Mul => Int(a.checked_mul(b).ok_or_else(overflow)?),
            PolicyBinary::Div | PolicyBinary::Rem if b == 0 => {
                return Err("division by zero in `delegate when`".to_string());
            }
            PolicyBinary::Div => Int(a.checked_div(b).ok_or_else(overflow)?),
            PolicyBinary::Rem => Int(a.checked_rem(b).ok_or_else(overflow)?),
            _ => Bool(compare(op, a.cmp(&b))?),
        },
        (Float(a), Float(b)) => match op {
            PolicyBinary::Add => Float(a + b),
            PolicyBinary::Sub => Float(a - b),
            PolicyBinary::Mul => Float(a * b),
            PolicyBinary::Div => Float(a / b),
            PolicyBinary::Rem => Float(a % b),
            _ => Bool(compare(op, a.total_cmp(&b))?),
        },
        (Bool(a), Bool(b)) => Bool(compare(op, a.cmp(&b))?),
        _ => return Err("an operator applied to values of different types".to_string()),
    })
}

fn compare(op: PolicyBinary, ordering: core::cmp::Ordering) -> Result<bool, String> {
    use core::cmp::Ordering::{Equal, Greater, Less};
    Ok(match op {
        PolicyBinary::Eq => ordering == Equal,
        PolicyBinary::Ne => ordering != Equal,
        PolicyBinary::Lt => ordering == Less,
        PolicyBinary::Le => ordering != Greater,
        PolicyBinary::Gt => ordering == Greater,
        PolicyBinary::Ge => ordering != Less,
        _ => return Err("an arithmetic operator applied to bools".to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn vars(work: u64, peers: u64) -> PolicyVars {
        PolicyVars {
            work,
            chunks: 4,
            depth: 1,
            peers,
            capacity: 1.0,
        }
    }

    fn gt(var: PolicyVar, n: i64) -> PolicyExpr {
        PolicyExpr::Binary(
            PolicyBinary::Gt,
            Box::new(PolicyExpr::Var(var)),
            Box::new(PolicyExpr::Int(n)),
        )
    }

    #[test]
    fn the_default_rule_needs_two_chunks_and_a_peer() {
        let rule = PolicyExpr::default_rule().compile();
        assert_eq!(rule.holds(&vars(10, 1)), Ok(true));
        assert_eq!(rule.holds(&vars(10, 0)), Ok(false));
    }

    #[test]
    fn params_are_bound_before_evaluation() {
        let rule = PolicyExpr::Binary(
            PolicyBinary::Gt,
            Box::new(PolicyExpr::Var(PolicyVar::Work)),
            Box::new(PolicyExpr::Param("limit".into())),
        )
        .compile();
        assert!(rule.holds(&vars(10, 1)).is_err());
        let bound = rule
            .bind_params(&|name| (name == "limit").then_some(PolicyValue::Int(5)))
            .unwrap();
        assert_eq!(bound.holds(&vars(10, 1)), Ok(true));
        assert_eq!(bound.holds(&vars(3, 1)), Ok(false));
    }

    #[test]
    fn arithmetic_errors_are_errors_not_panics() {
        let overflow = PolicyExpr::Binary(
            PolicyBinary::Gt,
            Box::new(PolicyExpr::Binary(
                PolicyBinary::Mul,
                Box::new(PolicyExpr::Var(PolicyVar::Work)),
                Box::new(PolicyExpr::Int(i64::MAX)),
            )),
            Box::new(PolicyExpr::Int(0)),
        );
        assert!(overflow.compile().holds(&vars(u64::MAX, 1)).is_err());
        let mixed = PolicyExpr::Binary(
            PolicyBinary::Gt,
            Box::new(PolicyExpr::Var(PolicyVar::Capacity)),
            Box::new(PolicyExpr::Int(0)),
        );
        assert!(mixed.compile().holds(&vars(1, 1)).is_err());
        // Hostile programs: a jump past the end, an operator on an empty
        // stack, two values left over.
        for ops in [
            vec![PolicyOp::Jump(u32::MAX)],
            vec![PolicyOp::Binary(PolicyBinary::Add)],
            vec![PolicyOp::Bool(true), PolicyOp::Bool(true)],
            vec![PolicyOp::Int(1); 5000],
        ] {
            assert!(PolicyProgram { ops }.holds(&vars(1, 1)).is_err());
        }
    }

    #[test]
    fn and_or_short_circuit() {
        let rule = PolicyExpr::Binary(
            PolicyBinary::Or,
            Box::new(gt(PolicyVar::Peers, 0)),
            Box::new(PolicyExpr::Binary(
                PolicyBinary::Div,
                Box::new(PolicyExpr::Int(1)),
                Box::new(PolicyExpr::Int(0)),
            )),
        )
        .compile();
        assert_eq!(rule.holds(&vars(1, 1)), Ok(true));
        let and = PolicyExpr::Binary(
            PolicyBinary::And,
            Box::new(gt(PolicyVar::Peers, 0)),
            Box::new(gt(PolicyVar::Work, 5)),
        )
        .compile();
        assert_eq!(and.holds(&vars(10, 0)), Ok(false));
        assert_eq!(and.holds(&vars(10, 1)), Ok(true));
        assert_eq!(and.holds(&vars(1, 1)), Ok(false));
    }

    #[test]
    fn if_evaluates_only_the_branch_taken() {
        // `if peers > 0 then work / peers > 5 else false`
        let rule = PolicyExpr::If(
            Box::new(gt(PolicyVar::Peers, 0)),
            Box::new(PolicyExpr::Binary(
                PolicyBinary::Gt,
                Box::new(PolicyExpr::Binary(
                    PolicyBinary::Div,
                    Box::new(PolicyExpr::Var(PolicyVar::Work)),
                    Box::new(PolicyExpr::Var(PolicyVar::Peers)),
                )),
                Box::new(PolicyExpr::Int(5)),
            )),
            Box::new(PolicyExpr::Bool(false)),
        )
        .compile();
        assert_eq!(rule.holds(&vars(100, 0)), Ok(false));
        assert_eq!(rule.holds(&vars(100, 2)), Ok(true));
        assert_eq!(rule.holds(&vars(8, 2)), Ok(false));
    }
}
