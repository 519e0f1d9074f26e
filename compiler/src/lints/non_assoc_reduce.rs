//! `non-assoc-reduce` (W0005): a `reduce` or `reduce_by` whose combining
//! function is not provably associative and commutative.
//!
//! Why: on a stream, partial results are combined on many peers in an order
//! that depends on how the work was split, so a function that is not
//! associative and commutative gives results that change from run to run.
//! Provable here: lambdas that are exactly `a + b` or `a * b` on `int`,
//! `min(a, b)`, `max(a, b)`, `a and b`, `a or b`, with the two parameters in
//! either order. Float `+` is not associative (rounding), so it is flagged.
//! Instead: use `sum()`, `sum_by`, `min()`, `max()` or `count()`, which are
//! exact, or allow the lint where you know better.

use flow_lang::ast::{BinaryOp, Expr, ExprKind};
use flow_lang::{Diagnostic, FileId, Label};

use super::{LintContext, walk_module};
use crate::codes;
use crate::types::Ty;

fn strip(e: &Expr) -> &Expr {
    match &e.kind {
        ExprKind::Paren(inner) => strip(inner),
        _ => e,
    }
}

fn is_name(e: &Expr, name: &str) -> bool {
    matches!(&strip(e).kind, ExprKind::Name(n) if n.name == name)
}

fn both_params(x: &Expr, y: &Expr, a: &str, b: &str) -> bool {
    (is_name(x, a) && is_name(y, b)) || (is_name(x, b) && is_name(y, a))
}

/// Whether `f` is a lambda the lint can prove associative and commutative.
fn provable(ctx: &LintContext<'_>, file: FileId, f: &Expr) -> bool {
    let ExprKind::Lambda { params, body } = &strip(f).kind else {
        return false;
    };
    let [a, b] = params.as_slice() else {
        return false;
    };
    let (a, b) = (a.name.name.as_str(), b.name.name.as_str());
    let body = strip(body);
    match &body.kind {
        ExprKind::Binary { op, lhs, rhs, .. } => {
            if !both_params(lhs, rhs, a, b) {
                return false;
            }
            match op {
                BinaryOp::And | BinaryOp::Or => true,
                BinaryOp::Add | BinaryOp::Mul => {
                    ctx.program.type_of(file, body.span) == Some(&Ty::Int)
                }
                _ => false,
            }
        }
        ExprKind::Call { callee, args } => {
            let is_min_max = is_name(callee, "min") || is_name(callee, "max");
            let resolved_to_std = match &strip(callee).kind {
                ExprKind::Name(n) => ctx
                    .program
                    .name_refs
                    .get(&(file, n.span))
                    .is_some_and(|d| ctx.is_std(*d)),
                _ => false,
            };
            match args.as_slice() {
                [x, y] if is_min_max && resolved_to_std && x.name.is_none() && y.name.is_none() => {
                    both_params(&x.value, &y.value, a, b)
                }
                _ => false,
            }
        }
        _ => false,
    }
}

pub(crate) fn check(ctx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for (file, module) in ctx.modules {
        let file = *file;
        let mut visit = |e: &Expr| {
            let Some(def) = ctx.program.call_targets.get(&(file, e.span)) else {
                return;
            };
            let Some(target) = ctx.program.definition(*def) else {
                return;
            };
            if !ctx.is_std(*def) || !(target.name == "reduce" || target.name == "reduce_by") {
                return;
            }
            // The arguments as the call sees them: a pipe's left side first.
            let args: Vec<(Option<&str>, &Expr)> = match &e.kind {
                ExprKind::Call { args, .. } => args
                    .iter()
                    .map(|a| (a.name.as_ref().map(|n| n.name.as_str()), &a.value))
                    .collect(),
                ExprKind::Binary {
                    op: BinaryOp::Pipe,
                    lhs,
                    rhs,
                    ..
                } => {
                    let mut all = vec![(None, lhs.as_ref())];
                    if let ExprKind::Call { args, .. } = &rhs.kind {
                        all.extend(
                            args.iter()
                                .map(|a| (a.name.as_ref().map(|n| n.name.as_str()), &a.value)),
                        );
                    }
                    all
                }
                _ => return,
            };
            let position = if target.name == "reduce" { 1 } else { 3 };
            let f = args
                .iter()
                .find(|(n, _)| *n == Some("f"))
                .map(|(_, e)| *e)
                .or_else(|| {
                    args.iter()
                        .filter(|(n, _)| n.is_none())
                        .nth(position)
                        .map(|(_, e)| *e)
                });
            let Some(f) = f else { return };
            if provable(ctx, file, f) {
                return;
            }
            // A lambda with the wrong number of parameters is already an
            // error (E0306); a lint on top of it would only be noise.
            if let ExprKind::Lambda { params, .. } = &strip(f).kind
                && params.len() != 2
            {
                return;
            }
            out.push(
                Diagnostic::lint(
                    codes::NON_ASSOC_REDUCE,
                    "non-assoc-reduce",
                    format!("the function given to `{}` is not provably associative and commutative", target.name),
                    Label::new(file, f.span, "combining function"),
                )
                .with_help("partial results merge in any order; use `sum`, `sum_by`, `min`, `max` or `count`, or a lambda such as `(a, b) => max(a, b)`"),
            );
        };
        walk_module(module, &mut visit);
    }
}
