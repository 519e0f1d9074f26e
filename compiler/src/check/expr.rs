//! Expressions, calls and lambdas.
//!
//! Checking is bidirectional: [`Checker::check_expr`] takes the type the
//! context expects, if any. Calls synthesize the types of their ordinary
//! arguments first, pick the standard library overload those types fit,
//! instantiate its generic parameters, and only then check lambda arguments
//! against the now known parameter types.

use flow_lang::Ident;
use flow_lang::Span;
use flow_lang::ast::{BinaryOp, Expr, ExprKind, Param, UnaryOp};

use super::{Checker, Global, suggest};
use crate::codes;
use crate::program::{DefId, DefKind};
use crate::std_decls::Signature;
use crate::types::{Bound, Ty, UnifyError};

/// One argument of a call; for a pipe the left side is the first.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ArgIn<'e> {
    pub name: Option<&'e Ident>,
    pub expr: &'e Expr,
}

/// A function a call may resolve to.
#[derive(Clone, Debug)]
struct Candidate {
    sig: Signature,
    def: Option<DefId>,
}

/// Why arguments do not fit a signature's parameters.
enum BindError {
    TooMany { given: usize },
    Missing(Vec<String>),
    UnknownNamed(usize),
    Twice(usize),
    PositionalAfterNamed(usize),
}

fn strip_parens(e: &Expr) -> &Expr {
    match &e.kind {
        ExprKind::Paren(inner) => strip_parens(inner),
        _ => e,
    }
}

fn is_lambda(e: &Expr) -> bool {
    matches!(strip_parens(e).kind, ExprKind::Lambda { .. })
}

fn lambda_arity(e: &Expr) -> Option<usize> {
    match &strip_parens(e).kind {
        ExprKind::Lambda { params, .. } => Some(params.len()),
        _ => None,
    }
}

/// Matches arguments to parameters: for each parameter, the argument given.
fn bind_args(sig: &Signature, args: &[ArgIn<'_>]) -> Result<Vec<Option<usize>>, BindError> {
    let mut slots: Vec<Option<usize>> = vec![None; sig.params.len()];
    let mut next_positional = 0;
    let mut seen_named = false;
    for (j, arg) in args.iter().enumerate() {
        match arg.name {
            None => {
                if seen_named {
                    return Err(BindError::PositionalAfterNamed(j));
                }
                if next_positional >= slots.len() {
                    return Err(BindError::TooMany { given: args.len() });
                }
                slots[next_positional] = Some(j);
                next_positional += 1;
            }
            Some(name) => {
                seen_named = true;
                let Some(i) = sig.params.iter().position(|(p, _)| *p == name.name) else {
                    return Err(BindError::UnknownNamed(j));
                };
                if slots[i].is_some() {
                    return Err(BindError::Twice(j));
                }
                slots[i] = Some(j);
            }
        }
    }
    let missing: Vec<String> = slots
        .iter()
        .zip(sig.params.iter())
        .filter(|(slot, _)| slot.is_none())
        .map(|(_, (name, _))| name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(BindError::Missing(missing));
    }
    Ok(slots)
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

impl<'a> Checker<'a> {
    /// Checks `e`, against `expected` when the context knows its type, and
    /// records its type.
    pub(crate) fn check_expr(&mut self, e: &'a Expr, expected: Option<&Ty>) -> Ty {
        let ty = match &e.kind {
            ExprKind::Lambda { params, body } => self.check_lambda(params, body, expected),
            ExprKind::Paren(inner) => self.check_expr(inner, expected),
            ExprKind::If {
                cond,
                then_branch,
                else_branch,
            } => {
                let cond_ty = self.check_expr(cond, None);
                if self.infer.unify(&Ty::Bool, &cond_ty).is_err() {
                    let found = self.infer.resolve(&cond_ty);
                    self.error(
                        codes::MISMATCH,
                        format!("the condition of `if` must be `bool`, found `{found}`"),
                        cond.span,
                        "expected `bool`",
                    );
                }
                let then_ty = self.check_expr(then_branch, expected);
                let else_ty = self.check_expr(else_branch, None);
                if self.infer.unify(&then_ty, &else_ty).is_err() {
                    let (t, f) = (self.infer.resolve(&then_ty), self.infer.resolve(&else_ty));
                    let label = self.label(then_branch.span, format!("this is `{t}`"));
                    self.error(
                        codes::MISMATCH,
                        format!("`if` and `else` have different types: `{t}` and `{f}`"),
                        else_branch.span,
                        format!("expected `{t}`"),
                    )
                    .secondary
                    .push(label);
                }
                then_ty
            }
            ExprKind::Block { lets, result } => {
                self.scopes.push(Vec::new());
                for l in lets {
                    let annotation = l.ty.as_ref().map(|te| self.lower_type(te));
                    let ty = self.check_expr(&l.value, annotation.as_ref());
                    let ty = annotation.unwrap_or(ty);
                    let scope = Span {
                        start: l.span.end,
                        end: e.span.end,
                    };
                    let def = self.define(
                        &l.name.name,
                        DefKind::BlockLet,
                        l.name.span,
                        l.span,
                        None,
                        String::new(),
                        Some(scope),
                    );
                    self.bind_local(&l.name, def, ty);
                }
                let ty = self.check_expr(result, expected);
                self.scopes.pop();
                ty
            }
            ExprKind::List(items) => {
                let element = match expected.map(|t| self.infer.shallow(t)) {
                    Some(Ty::List(e)) => *e,
                    _ => self.infer.fresh(None),
                };
                let mut first: Option<(Span, Ty)> = None;
                for item in items {
                    let ty = self.check_expr(item, None);
                    self.no_stream_inside(&ty, item.span);
                    if self.infer.unify(&element, &ty).is_err() {
                        let (want, found) = (self.infer.resolve(&element), self.infer.resolve(&ty));
                        let d = self.error(
                            codes::MISMATCH,
                            format!("list elements must have one type: expected `{want}`, found `{found}`"),
                            item.span,
                            format!("expected `{want}`"),
                        );
                        if let Some((span, t)) = &first {
                            let label = flow_lang::Label::new(
                                d.primary.file,
                                *span,
                                format!("the first element is `{}`", t),
                            );
                            d.secondary.push(label);
                        }
                    }
                    if first.is_none() {
                        first = Some((item.span, self.infer.resolve(&ty)));
                    }
                }
                let ty = Ty::List(Box::new(element));
                if let Some(expected) = expected {
                    self.expect(&ty, expected, e.span);
                }
                ty
            }
            _ => {
                let ty = self.infer_expr(e);
                if let Some(expected) = expected {
                    self.expect(&ty, expected, e.span);
                }
                ty
            }
        };
        self.record_type(e.span, &ty);
        ty
    }

    fn no_stream_inside(&mut self, ty: &Ty, span: Span) {
        if matches!(self.infer.shallow(ty), Ty::Stream(_)) {
            self.error(
                codes::STREAM_IN_VALUE,
                "a stream cannot be put inside a list, tuple or record",
                span,
                "a stream",
            )
            .help =
                Some("aggregate it first, e.g. `|> collect()` for a list, or `|> count()`".into());
        }
    }

    /// The type of expressions that do not use an expected type.
    fn infer_expr(&mut self, e: &'a Expr) -> Ty {
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Size { .. } => Ty::Int,
            ExprKind::Float(_) => Ty::Float,
            ExprKind::Str(_) => Ty::Str,
            ExprKind::Bool(_) => Ty::Bool,
            ExprKind::Error => Ty::Error,
            ExprKind::Duration { .. } => {
                self.error(
                    codes::DURATION_OUTSIDE_POLICY,
                    "a duration is only valid as the `timeout` of a `policy`",
                    e.span,
                    "duration",
                )
                .help = Some(
                    "durations have no type in expressions; write a number such as `30` instead"
                        .into(),
                );
                Ty::Error
            }
            ExprKind::Name(name) => self.check_name(name, None),
            ExprKind::Call { callee, args } => {
                let args: Vec<ArgIn<'a>> = args
                    .iter()
                    .map(|a| ArgIn {
                        name: a.name.as_ref(),
                        expr: &a.value,
                    })
                    .collect();
                self.check_call(e.span, callee, args)
            }
            ExprKind::Binary {
                op: BinaryOp::Pipe,
                lhs,
                rhs,
                ..
            } => {
                let mut all = vec![ArgIn {
                    name: None,
                    expr: lhs.as_ref(),
                }];
                match &rhs.kind {
                    ExprKind::Call { callee, args } => {
                        all.extend(args.iter().map(|a| ArgIn {
                            name: a.name.as_ref(),
                            expr: &a.value,
                        }));
                        let ty = self.check_call(e.span, callee, all);
                        if let Some(target) =
                            self.program.call_targets.get(&(self.file, e.span)).copied()
                        {
                            self.program
                                .call_targets
                                .insert((self.file, rhs.span), target);
                        }
                        ty
                    }
                    _ => self.check_call(e.span, rhs, all),
                }
            }
            ExprKind::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => self.check_binary(*op, *op_span, lhs, rhs),
            ExprKind::Unary {
                op,
                op_span,
                operand,
            } => {
                let ty = self.check_expr(operand, None);
                let shallow = self.infer.shallow(&ty);
                match (op, &shallow) {
                    (_, Ty::Error) => Ty::Error,
                    (UnaryOp::Neg, Ty::Int | Ty::Float) => shallow,
                    (UnaryOp::Not, Ty::Bool) => Ty::Bool,
                    (UnaryOp::Neg, Ty::Var(_)) => {
                        let n = self.infer.fresh(Some(Bound::Num));
                        let _ = self.infer.unify(&n, &ty);
                        n
                    }
                    (UnaryOp::Not, Ty::Var(_)) => {
                        let _ = self.infer.unify(&Ty::Bool, &ty);
                        Ty::Bool
                    }
                    (UnaryOp::Neg, other) => {
                        let other = self.infer.resolve(other);
                        let label = self.label(*op_span, "negation");
                        self.error(
                            codes::BAD_OPERAND,
                            format!("`-` needs a number, found `{other}`"),
                            operand.span,
                            format!("`{other}`"),
                        )
                        .secondary
                        .push(label);
                        Ty::Error
                    }
                    (UnaryOp::Not, other) => {
                        let other = self.infer.resolve(other);
                        self.error(
                            codes::BAD_OPERAND,
                            format!("`not` needs a `bool`, found `{other}`"),
                            operand.span,
                            format!("`{other}`"),
                        )
                        .help = Some("compare to get a bool, such as `x != 0`".into());
                        Ty::Error
                    }
                }
            }
            ExprKind::Tuple(items) => {
                let tys: Vec<Ty> = items
                    .iter()
                    .map(|item| {
                        let ty = self.check_expr(item, None);
                        self.no_stream_inside(&ty, item.span);
                        ty
                    })
                    .collect();
                Ty::Tuple(tys)
            }
            ExprKind::Record { name, fields } => self.check_record_literal(e, name, fields),
            ExprKind::Field { base, field } => {
                let base_ty = self.check_expr(base, None);
                match self.infer.shallow(&base_ty) {
                    Ty::Error => Ty::Error,
                    Ty::Record(record) => {
                        let fields = self
                            .records
                            .get(&record)
                            .map(|r| r.fields.clone())
                            .unwrap_or_default();
                        match fields.iter().find(|f| f.0 == field.name) {
                            Some((_, ty, def, _)) => {
                                self.refer(field.span, *def);
                                ty.clone()
                            }
                            None => {
                                let hint =
                                    suggest(&field.name, fields.iter().map(|f| f.0.as_str()));
                                let names: Vec<String> =
                                    fields.iter().map(|f| format!("`{}`", f.0)).collect();
                                self.error(
                                    codes::UNKNOWN_FIELD,
                                    format!("`{record}` has no field `{}`", field.name),
                                    field.span,
                                    "unknown field",
                                )
                                .help = Some(match hint {
                                    Some(h) => format!("did you mean `{h}`?"),
                                    None => {
                                        format!("the fields of `{record}` are {}", names.join(", "))
                                    }
                                });
                                Ty::Error
                            }
                        }
                    }
                    Ty::Var(_) => self.cannot_infer_here(base),
                    other => {
                        let other = self.infer.resolve(&other);
                        let help = if matches!(other, Ty::Tuple(_)) {
                            "tuple fields are numbered: `.0`, `.1`, …"
                        } else {
                            "only records have named fields"
                        };
                        self.error(
                            codes::NO_FIELDS,
                            format!("`{other}` has no field `{}`", field.name),
                            field.span,
                            "no such field",
                        )
                        .help = Some(help.into());
                        Ty::Error
                    }
                }
            }
            ExprKind::TupleIndex {
                base,
                index,
                index_span,
            } => {
                let base_ty = self.check_expr(base, None);
                match self.infer.shallow(&base_ty) {
                    Ty::Error => Ty::Error,
                    Ty::Tuple(items) => match items.get(*index as usize) {
                        Some(ty) => ty.clone(),
                        None => {
                            let tuple = self.infer.resolve(&Ty::Tuple(items.clone()));
                            self.error(
                                codes::TUPLE_INDEX_RANGE,
                                format!("`{tuple}` has no field `.{index}`"),
                                *index_span,
                                format!("it has {}", plural(items.len(), "field")),
                            );
                            Ty::Error
                        }
                    },
                    Ty::Var(_) => self.cannot_infer_here(base),
                    other => {
                        let other = self.infer.resolve(&other);
                        self.error(
                            codes::NO_FIELDS,
                            format!("`{other}` has no field `.{index}`"),
                            *index_span,
                            "not a tuple",
                        )
                        .help = Some("numbered fields `.0`, `.1`, … belong to tuples".into());
                        Ty::Error
                    }
                }
            }
            // Handled by `check_expr`.
            ExprKind::Lambda { .. }
            | ExprKind::Paren(_)
            | ExprKind::If { .. }
            | ExprKind::Block { .. }
            | ExprKind::List(_) => self.check_expr(e, None),
        }
    }

    fn cannot_infer_here(&mut self, base: &Expr) -> Ty {
        let help = match &strip_parens(base).kind {
            ExprKind::Name(n) => format!(
                "annotate it where it is bound, such as `({}: Row) => …`",
                n.name
            ),
            _ => "annotate the lambda parameter, such as `(p: Row) => …`".to_string(),
        };
        self.error(
            codes::CANNOT_INFER,
            "the type of this value must be known here",
            base.span,
            "type not known yet",
        )
        .help = Some(help);
        Ty::Error
    }

    fn check_record_literal(
        &mut self,
        e: &'a Expr,
        name: &Ident,
        fields: &'a [flow_lang::ast::FieldInit],
    ) -> Ty {
        let Some(record) = self.records.get(&name.name).cloned() else {
            let hint = suggest(&name.name, self.records.keys().map(String::as_str));
            self.error(
                codes::UNKNOWN_TYPE,
                format!("unknown record type `{}`", name.name),
                name.span,
                "not a record type",
            )
            .help = Some(match hint {
                Some(h) => format!("did you mean `{h}`?"),
                None => "declare it with `type Name = { field: type }`".to_string(),
            });
            for f in fields {
                self.check_expr(&f.value, None);
            }
            return Ty::Error;
        };
        self.refer(name.span, record.def);
        let mut given: Vec<(&str, Span)> = Vec::new();
        for f in fields {
            if let Some((_, first)) = given.iter().find(|(n, _)| *n == f.name.name) {
                let label = self.label(*first, "first given here");
                self.error(
                    codes::RECORD_DUPLICATE_FIELD,
                    format!("field `{}` is given twice", f.name.name),
                    f.name.span,
                    "given again",
                )
                .secondary
                .push(label);
                self.check_expr(&f.value, None);
                continue;
            }
            given.push((&f.name.name, f.name.span));
            match record.fields.iter().find(|rf| rf.0 == f.name.name) {
                Some((_, ty, def, _)) => {
                    self.refer(f.name.span, *def);
                    let vt = self.check_expr(&f.value, Some(ty));
                    self.no_stream_inside(&vt, f.value.span);
                }
                None => {
                    let hint = suggest(&f.name.name, record.fields.iter().map(|rf| rf.0.as_str()));
                    self.error(
                        codes::RECORD_UNKNOWN_FIELD,
                        format!("`{}` has no field `{}`", name.name, f.name.name),
                        f.name.span,
                        "unknown field",
                    )
                    .help = hint.map(|h| format!("did you mean `{h}`?"));
                    self.check_expr(&f.value, None);
                }
            }
        }
        let missing: Vec<String> = record
            .fields
            .iter()
            .filter(|rf| !given.iter().any(|(n, _)| *n == rf.0))
            .map(|rf| format!("`{}`", rf.0))
            .collect();
        if !missing.is_empty() {
            let def_span = self.program.definitions[record.def.0 as usize].span;
            let def_file = self.program.definitions[record.def.0 as usize].file;
            self.error(
                codes::RECORD_MISSING_FIELDS,
                format!(
                    "missing {} of `{}`: {}",
                    if missing.len() == 1 {
                        "field"
                    } else {
                        "fields"
                    },
                    name.name,
                    missing.join(", ")
                ),
                e.span,
                "incomplete record",
            )
            .secondary
            .push(flow_lang::Label::new(def_file, def_span, "declared here"));
        }
        Ty::Record(name.name.clone())
    }

    fn check_binary(&mut self, op: BinaryOp, op_span: Span, lhs: &'a Expr, rhs: &'a Expr) -> Ty {
        let lt = self.check_expr(lhs, None);
        let rt = self.check_expr(rhs, None);
        let (l, r) = (self.infer.shallow(&lt), self.infer.shallow(&rt));
        match op {
            BinaryOp::And | BinaryOp::Or => {
                for (ty, side) in [(&lt, lhs), (&rt, rhs)] {
                    if self.infer.unify(&Ty::Bool, ty).is_err() {
                        let found = self.infer.resolve(ty);
                        self.error(
                            codes::BAD_OPERAND,
                            format!("`{}` needs `bool` operands, found `{found}`", op.as_str()),
                            side.span,
                            "expected `bool`",
                        )
                        .help = Some("compare to get a bool, such as `x > 0`".into());
                    }
                }
                Ty::Bool
            }
            _ if op.is_comparison() => {
                for ty in [&l, &r] {
                    let resolved = self.infer.resolve(ty);
                    if resolved.contains_stream() || matches!(resolved, Ty::Fn(..)) {
                        let what = if resolved.contains_stream() {
                            "streams"
                        } else {
                            "functions"
                        };
                        self.error(
                            codes::BAD_OPERAND,
                            format!("{what} cannot be compared"),
                            op_span,
                            format!("`{resolved}`"),
                        );
                        return Ty::Bool;
                    }
                }
                if self.infer.unify(&lt, &rt).is_err() {
                    let (a, b) = (self.infer.resolve(&lt), self.infer.resolve(&rt));
                    self.operands_differ(op, op_span, lhs, rhs, &a, &b);
                }
                Ty::Bool
            }
            _ => {
                if l.is_error() || r.is_error() {
                    return Ty::Error;
                }
                let add = op == BinaryOp::Add;
                match (&l, &r) {
                    (Ty::Int, Ty::Int) => Ty::Int,
                    (Ty::Float, Ty::Float) => Ty::Float,
                    (Ty::Str, Ty::Str) if add => Ty::Str,
                    (Ty::List(_), Ty::List(_)) if add => {
                        if self.infer.unify(&lt, &rt).is_err() {
                            let (a, b) = (self.infer.resolve(&lt), self.infer.resolve(&rt));
                            self.operands_differ(op, op_span, lhs, rhs, &a, &b);
                            return Ty::Error;
                        }
                        lt
                    }
                    (Ty::Var(_), other) | (other, Ty::Var(_))
                        if matches!(other, Ty::Int | Ty::Float | Ty::Var(_))
                            || (add && matches!(other, Ty::Str | Ty::List(_))) =>
                    {
                        if self.infer.unify(&lt, &rt).is_err() {
                            return Ty::Error;
                        }
                        if !add && matches!(other, Ty::Var(_)) {
                            let n = self.infer.fresh(Some(Bound::Num));
                            let _ = self.infer.unify(&n, &lt);
                        }
                        lt
                    }
                    _ => {
                        let (a, b) = (self.infer.resolve(&lt), self.infer.resolve(&rt));
                        self.operands_differ(op, op_span, lhs, rhs, &a, &b);
                        Ty::Error
                    }
                }
            }
        }
    }

    fn operands_differ(
        &mut self,
        op: BinaryOp,
        op_span: Span,
        lhs: &Expr,
        rhs: &Expr,
        a: &Ty,
        b: &Ty,
    ) {
        let file = self.file;
        let labels = vec![
            flow_lang::Label::new(file, lhs.span, format!("`{a}`")),
            flow_lang::Label::new(file, rhs.span, format!("`{b}`")),
        ];
        let numbers = matches!((a, b), (Ty::Int, Ty::Float) | (Ty::Float, Ty::Int));
        if numbers {
            let side = if *a == Ty::Int { "left" } else { "right" };
            let d = self.error(
                codes::MIXED_NUMBERS,
                format!(
                    "`{}` needs two numbers of the same type, found `{a}` and `{b}`",
                    op.as_str()
                ),
                op_span,
                "int and float mixed",
            );
            d.secondary.extend(labels);
            d.help = Some(format!(
                "there are no implicit conversions: write `float(…)` around the {side} side"
            ));
            return;
        }
        let message = if op.is_comparison() {
            format!("cannot compare `{a}` with `{b}`")
        } else {
            format!("`{}` cannot be applied to `{a}` and `{b}`", op.as_str())
        };
        let help = match (op, a, b) {
            (BinaryOp::Add, Ty::Str, _) | (BinaryOp::Add, _, Ty::Str) => {
                Some("convert the other side to text with `str(…)`")
            }
            _ if !op.is_comparison() => Some(
                "arithmetic works on two `int`s or two `float`s; `+` also joins two `str`s or two lists",
            ),
            _ => None,
        };
        let d = self.error(codes::BAD_OPERAND, message, op_span, "operator");
        d.secondary.extend(labels);
        d.help = help.map(str::to_string);
    }

    fn check_lambda(&mut self, params: &'a [Param], body: &'a Expr, expected: Option<&Ty>) -> Ty {
        let shape = expected.map(|t| self.infer.shallow(t));
        let (param_tys, ret) = match shape {
            Some(Ty::Fn(ps, r)) if ps.len() == params.len() => (ps, Some(*r)),
            Some(Ty::Fn(ps, _)) => {
                let span = params
                    .first()
                    .map(|p| p.span.to(params.last().map(|l| l.span).unwrap_or(p.span)))
                    .unwrap_or(body.span);
                self.error(
                    codes::LAMBDA_ARITY,
                    format!(
                        "this function takes {}, but the lambda has {}",
                        plural(ps.len(), "parameter"),
                        params.len()
                    ),
                    span,
                    format!("expected {}", plural(ps.len(), "parameter")),
                )
                .help = Some(match ps.len() {
                    1 => "write `x => …`".to_string(),
                    n => format!(
                        "write `({}) => …`",
                        (0..n)
                            .map(|i| ["a", "b", "c", "d"].get(i).copied().unwrap_or("x"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
                (
                    params.iter().map(|_| self.infer.fresh(None)).collect(),
                    None,
                )
            }
            _ => (
                params.iter().map(|_| self.infer.fresh(None)).collect(),
                None,
            ),
        };
        self.scopes.push(Vec::new());
        self.lambda_depth += 1;
        for (p, ty) in params.iter().zip(param_tys.iter()) {
            if let Some(te) = &p.ty {
                let written = self.lower_type(te);
                self.expect(&written, ty, te.span);
            }
            if self
                .scopes
                .last()
                .is_some_and(|s| s.iter().any(|l| l.name == p.name.name))
            {
                self.error(
                    codes::DUPLICATE_MEMBER,
                    format!("parameter `{}` is declared twice", p.name.name),
                    p.name.span,
                    "declared again here",
                );
            }
            let def = self.define(
                &p.name.name,
                DefKind::LambdaParam,
                p.name.span,
                p.span,
                None,
                String::new(),
                Some(body.span),
            );
            self.bind_local(&p.name, def, ty.clone());
            self.record_type(p.name.span, ty);
        }
        self.lambda_depth -= 1;
        // The body is checked one level deeper than its parameters.
        self.lambda_depth += 1;
        let body_ty = self.check_expr(body, ret.as_ref());
        self.lambda_depth -= 1;
        self.scopes.pop();
        Ty::Fn(param_tys, Box::new(body_ty))
    }

    /// Reports a stream used where streams may not go.
    fn stream_rules(&mut self, ty: &Ty, span: Span, name: &str, declared_outside_lambda: bool) {
        if !matches!(self.infer.shallow(ty), Ty::Stream(_)) {
            return;
        }
        if self.in_fn_body {
            self.error(codes::STREAM_IN_FN, format!("the stream `{name}` cannot be used inside a function"), span, "a stream")
                .help = Some("functions work on one value or a list; apply them to the stream with `map`, `filter`, …".into());
        } else if self.lambda_depth > 0 && declared_outside_lambda {
            self.error(
                codes::STREAM_CAPTURED,
                format!("a lambda cannot capture the stream `{name}`"),
                span,
                "captured stream",
            )
            .help = Some(format!(
                "aggregate it outside the lambda, such as `let n = {name} |> count()`, and use that value"
            ));
        }
    }

    /// The type of a name used as a value.
    pub(crate) fn check_name(&mut self, name: &Ident, expected: Option<&Ty>) -> Ty {
        if let Some(local) = self.lookup_local(&name.name).cloned() {
            self.refer(name.span, local.def);
            self.stream_rules(
                &local.ty,
                name.span,
                &name.name,
                self.lambda_depth > local.lambda_level,
            );
            return local.ty;
        }
        if let Some(global) = self.globals.get(&name.name).cloned() {
            self.refer(name.span, global.def());
            if self.in_policy && !matches!(global, Global::Param { .. }) {
                self.error(
                    codes::POLICY_NOT_CONSTANT,
                    format!("`{}` cannot be used in a policy", name.name),
                    name.span,
                    "not a param or policy variable",
                )
                .help = Some("a policy may use its variables (`work`, `chunks`, `depth`, `peers`, `capacity`), params and literals".into());
                return Ty::Error;
            }
            let ty = match global {
                Global::Type(_) => {
                    self.error(
                        codes::TYPE_AS_VALUE,
                        format!("`{}` is a type, not a value", name.name),
                        name.span,
                        "a type",
                    )
                    .help = Some(format!(
                        "build a record with `{} {{ field: value, … }}`",
                        name.name
                    ));
                    return Ty::Error;
                }
                Global::Param { ty, .. } => ty,
                Global::Input { ty, .. } => ty,
                Global::Value { index, .. } => self.value_type(index),
                Global::Fn { index, .. } => match self.user_sigs.get(index) {
                    Some(sig) => Ty::Fn(
                        sig.params.iter().map(|p| p.1.clone()).collect(),
                        Box::new(sig.ret.clone()),
                    ),
                    None => Ty::Error,
                },
            };
            self.stream_rules(&ty, name.span, &name.name, true);
            return ty;
        }
        if let Some(ids) = self.std.by_name.get(&name.name).cloned() {
            let cands: Vec<(usize, Ty)> = ids
                .iter()
                .map(|i| {
                    let sig = &self.std.fns[*i].sig;
                    (
                        *i,
                        Ty::Fn(
                            sig.params.iter().map(|p| p.1.clone()).collect(),
                            Box::new(sig.ret.clone()),
                        ),
                    )
                })
                .collect();
            if ids.iter().any(|i| self.std.fns[*i].is_source) {
                self.source_outside_input(name);
                return Ty::Error;
            }
            for (i, generic) in &cands {
                let inst = self.instantiate(&self.std.fns[*i].sig.clone(), generic);
                let fits = match expected {
                    Some(exp) => self.infer.try_unify(exp, &inst).is_ok(),
                    None => cands.len() == 1,
                };
                if fits {
                    self.refer(name.span, DefId(*i as u32));
                    return inst;
                }
            }
            let versions: Vec<String> = ids
                .iter()
                .map(|i| format!("  {}", self.std.fns[*i].sig.display()))
                .collect();
            self.error(
                codes::AMBIGUOUS_FN_VALUE,
                format!(
                    "`{}` has several versions; which one is meant is not clear here",
                    name.name
                ),
                name.span,
                "overloaded function",
            )
            .help = Some(format!(
                "use a lambda that calls it, such as `x => {}(x)`; the versions are:\n{}",
                name.name,
                versions.join("\n")
            ));
            return Ty::Error;
        }
        self.unknown_name(name);
        Ty::Error
    }

    fn unknown_name(&mut self, name: &Ident) {
        let mut candidates = self.visible_names();
        candidates.retain(|n| {
            !self
                .std
                .by_name
                .get(n)
                .is_some_and(|ids| ids.iter().any(|i| self.std.fns[*i].is_source))
        });
        let hint = suggest(&name.name, candidates.iter().map(String::as_str));
        self.error(
            codes::UNKNOWN_NAME,
            format!("unknown name `{}`", name.name),
            name.span,
            "not defined",
        )
        .help = hint.map(|h| format!("did you mean `{h}`?"));
    }

    fn source_outside_input(&mut self, name: &Ident) {
        self.error(
            codes::SOURCE_OUTSIDE_INPUT,
            format!(
                "`{}` is an input source and can only be used in an `input` item",
                name.name
            ),
            name.span,
            "input source",
        )
        .help = Some(format!(
            "declare `input data = {}(…)` and use `data`",
            name.name
        ));
    }

    /// Replaces a signature's generic parameters by fresh variables.
    fn instantiate(&mut self, sig: &Signature, ty: &Ty) -> Ty {
        let vars: Vec<Ty> = self.fresh_generics(sig);
        ty.substitute(&vars)
    }

    /// A call `callee(args)`, or the pipe `args[0] |> callee(args[1..])`.
    fn check_call(&mut self, span: Span, callee: &'a Expr, args: Vec<ArgIn<'a>>) -> Ty {
        match &callee.kind {
            ExprKind::Name(name) => self.call_named(span, name, args, false),
            _ => {
                let callee_ty = self.check_expr(callee, None);
                self.call_value(span, callee_ty, callee.span, args)
            }
        }
    }

    pub(crate) fn call_named(
        &mut self,
        span: Span,
        name: &Ident,
        args: Vec<ArgIn<'a>>,
        in_input: bool,
    ) -> Ty {
        if let Some(local) = self.lookup_local(&name.name).cloned() {
            self.refer(name.span, local.def);
            return self.call_value(span, local.ty, name.span, args);
        }
        if let Some(global) = self.globals.get(&name.name).cloned() {
            if let Global::Fn { def, index } = global {
                self.refer(name.span, def);
                if self.in_policy {
                    self.check_name(name, None);
                    return self.synth_args_only(&args);
                }
                let Some(sig) = self.user_sigs.get(index).cloned() else {
                    return Ty::Error;
                };
                return self.call_candidates(
                    span,
                    name,
                    vec![Candidate {
                        sig,
                        def: Some(def),
                    }],
                    args,
                );
            }
            let ty = self.check_name(name, None);
            return self.call_value(span, ty, name.span, args);
        }
        if let Some(ids) = self.std.by_name.get(&name.name).cloned() {
            let is_source = ids.iter().any(|i| self.std.fns[*i].is_source);
            if is_source && !in_input {
                self.source_outside_input(name);
                return self.synth_args_only(&args);
            }
            let cands = ids
                .iter()
                .map(|i| Candidate {
                    sig: self.std.fns[*i].sig.clone(),
                    def: Some(DefId(*i as u32)),
                })
                .collect();
            return self.call_candidates(span, name, cands, args);
        }
        self.unknown_name(name);
        self.synth_args_only(&args)
    }

    fn synth_args_only(&mut self, args: &[ArgIn<'a>]) -> Ty {
        for a in args {
            self.check_expr(a.expr, None);
        }
        Ty::Error
    }

    /// A call of a value of function type (a lambda bound to a name, a
    /// parameter holding a function, …).
    fn call_value(
        &mut self,
        span: Span,
        callee_ty: Ty,
        callee_span: Span,
        args: Vec<ArgIn<'a>>,
    ) -> Ty {
        match self.infer.shallow(&callee_ty) {
            Ty::Error => self.synth_args_only(&args),
            Ty::Fn(params, ret) => {
                let sig = Signature {
                    name: "this function".to_string(),
                    generics: Vec::new(),
                    params: params
                        .iter()
                        .enumerate()
                        .map(|(i, t)| (format!("_{i}"), t.clone()))
                        .collect(),
                    ret: *ret,
                };
                let name = Ident::new("this function", callee_span);
                self.call_candidates(span, &name, vec![Candidate { sig, def: None }], args)
            }
            Ty::Var(_) => {
                let params: Vec<Ty> = args.iter().map(|_| self.infer.fresh(None)).collect();
                let ret = self.infer.fresh(None);
                let fn_ty = Ty::Fn(params, Box::new(ret));
                let _ = self.infer.unify(&callee_ty, &fn_ty);
                self.call_value(span, fn_ty, callee_span, args)
            }
            other => {
                let other = self.infer.resolve(&other);
                self.error(
                    codes::NOT_A_FUNCTION,
                    format!("`{other}` is not a function"),
                    callee_span,
                    "called here",
                )
                .help = Some(
                    "only functions can be called; pipe a value into a function with `x |> f`"
                        .into(),
                );
                self.synth_args_only(&args)
            }
        }
    }

    fn bind_error(
        &mut self,
        err: BindError,
        name: &Ident,
        sig: &Signature,
        args: &[ArgIn<'a>],
        span: Span,
    ) {
        let help = format!("the signature is `{}`", sig.display());
        let shown = if name.name == "this function" {
            "this function".to_string()
        } else {
            format!("`{}`", name.name)
        };
        let d = match err {
            BindError::TooMany { given } => self.error(
                codes::ARITY,
                format!(
                    "{shown} takes {} but {given} were given",
                    plural(sig.params.len(), "argument")
                ),
                args.get(sig.params.len())
                    .map(|a| a.expr.span)
                    .unwrap_or(span),
                "unexpected argument",
            ),
            BindError::Missing(missing) => {
                let list: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
                self.error(
                    codes::ARITY,
                    format!(
                        "missing {} {} in the call to {shown}",
                        if missing.len() == 1 {
                            "argument"
                        } else {
                            "arguments"
                        },
                        list.join(", ")
                    ),
                    span,
                    "incomplete call",
                )
            }
            BindError::UnknownNamed(j) => {
                let arg_name = args[j]
                    .name
                    .map(|n| (n.name.clone(), n.span))
                    .unwrap_or_default();
                let hint = suggest(&arg_name.0, sig.params.iter().map(|p| p.0.as_str()));
                let d = self.error(
                    codes::UNKNOWN_NAMED_ARG,
                    format!("{shown} has no parameter `{}`", arg_name.0),
                    arg_name.1,
                    "unknown parameter",
                );
                if let Some(h) = hint {
                    d.help = Some(format!("did you mean `{h}`? {help}"));
                    return;
                }
                d
            }
            BindError::Twice(j) => {
                let n = args[j]
                    .name
                    .map(|n| (n.name.clone(), n.span))
                    .unwrap_or_default();
                self.error(
                    codes::ARG_TWICE,
                    format!("parameter `{}` is given twice", n.0),
                    n.1,
                    "given again",
                )
            }
            BindError::PositionalAfterNamed(j) => self.error(
                codes::ARG_TWICE,
                "a positional argument cannot follow a named one",
                args[j].expr.span,
                "positional argument",
            ),
        };
        d.help = Some(help);
    }

    /// Resolves a call among candidate signatures and checks its arguments.
    fn call_candidates(
        &mut self,
        span: Span,
        name: &Ident,
        cands: Vec<Candidate>,
        args: Vec<ArgIn<'a>>,
    ) -> Ty {
        // Ordinary arguments first; lambdas, and names of overloaded
        // standard functions, wait for the expected parameter type.
        let deferred: Vec<bool> = args
            .iter()
            .map(|a| is_lambda(a.expr) || self.is_overloaded_std_name(a.expr))
            .collect();
        let arg_tys: Vec<Option<Ty>> = args
            .iter()
            .zip(deferred.iter())
            .map(|(a, d)| {
                if *d {
                    None
                } else {
                    Some(self.check_expr(a.expr, None))
                }
            })
            .collect();

        let chosen = if cands.len() == 1 {
            Some(0)
        } else {
            let viable = cands
                .iter()
                .position(|c| self.candidate_fits(&c.sig, &args, &arg_tys));
            match viable {
                Some(i) => Some(i),
                None => {
                    let binding: Vec<usize> = (0..cands.len())
                        .filter(|i| bind_args(&cands[*i].sig, &args).is_ok())
                        .collect();
                    if binding.len() == 1 {
                        binding.first().copied()
                    } else {
                        // Versions that differ only in taking a list or a
                        // stream: the first argument decides, so the error
                        // can be the precise one (a named argument, a
                        // lambda's arity) rather than "no version fits".
                        let by_first: Vec<usize> = (0..cands.len())
                            .filter(|i| self.first_argument_fits(&cands[*i].sig, &arg_tys))
                            .collect();
                        if by_first.len() == 1 {
                            by_first.first().copied()
                        } else {
                            None
                        }
                    }
                }
            }
        };
        let Some(chosen) = chosen else {
            let shown: Vec<String> = arg_tys
                .iter()
                .map(|t| match t {
                    Some(t) => format!("`{}`", self.infer.resolve(t)),
                    None => "a function".to_string(),
                })
                .collect();
            let versions: Vec<String> = cands
                .iter()
                .map(|c| format!("  {}", c.sig.display()))
                .collect();
            self.error(
                codes::NO_OVERLOAD,
                format!("no version of `{}` takes ({})", name.name, shown.join(", ")),
                span,
                "no matching version",
            )
            .help = Some(format!("the versions are:\n{}", versions.join("\n")));
            for (a, d) in args.iter().zip(deferred.iter()) {
                if *d {
                    self.check_expr(a.expr, None);
                }
            }
            return Ty::Error;
        };
        let cand = cands[chosen].clone();
        if let Some(def) = cand.def {
            self.refer(name.span, def);
            self.program.call_targets.insert((self.file, span), def);
        }
        let vars: Vec<Ty> = self.fresh_generics(&cand.sig);
        let params: Vec<Ty> = cand
            .sig
            .params
            .iter()
            .map(|(_, t)| t.substitute(&vars))
            .collect();
        let ret = cand.sig.ret.substitute(&vars);
        let slots = match bind_args(&cand.sig, &args) {
            Ok(slots) => slots,
            Err(err) => {
                self.bind_error(err, name, &cand.sig, &args, span);
                for (a, d) in args.iter().zip(deferred.iter()) {
                    if *d {
                        self.check_expr(a.expr, None);
                    }
                }
                return if ret.contains_var() { Ty::Error } else { ret };
            }
        };
        // Ordinary arguments unify with their parameters, then deferred ones
        // are checked against the parameter types that this made known.
        for (i, slot) in slots.iter().enumerate() {
            let Some(j) = slot else { continue };
            let Some(found) = &arg_tys[*j] else { continue };
            if let Err(err) = self.infer.unify(&params[i], found) {
                self.arg_error(
                    err,
                    name,
                    &cand.sig,
                    i,
                    &params[i],
                    found,
                    args[*j].expr.span,
                );
            }
        }
        for (i, slot) in slots.iter().enumerate() {
            let Some(j) = slot else { continue };
            if arg_tys[*j].is_some() {
                continue;
            }
            let expected = self.infer.resolve(&params[i]);
            let expr = args[*j].expr;
            if let ExprKind::Name(n) = &strip_parens(expr).kind {
                let ty = self.check_name(n, Some(&expected));
                self.record_type(expr.span, &ty);
                if let Err(err) = self.infer.unify(&params[i], &ty) {
                    self.arg_error(err, name, &cand.sig, i, &params[i], &ty, expr.span);
                }
            } else {
                self.check_expr(expr, Some(&expected));
            }
        }
        ret
    }

    #[allow(clippy::too_many_arguments)]
    fn arg_error(
        &mut self,
        err: UnifyError,
        name: &Ident,
        sig: &Signature,
        param: usize,
        expected: &Ty,
        found: &Ty,
        span: Span,
    ) {
        let help = format!("the signature is `{}`", sig.display());
        let param_name = sig
            .params
            .get(param)
            .map(|p| p.0.clone())
            .unwrap_or_default();
        let found = self.infer.resolve(found);
        match err {
            UnifyError::Bound(bound, ty) => {
                self.error(
                    codes::BOUND_NOT_SATISFIED,
                    format!(
                        "`{}` needs {} here, found `{ty}`",
                        name.name,
                        bound.describe()
                    ),
                    span,
                    format!("`{found}`"),
                )
                .help = Some(help);
            }
            UnifyError::Mismatch => {
                let expected = self.infer.resolve(expected);
                let shown = if name.name == "this function" {
                    "this function".to_string()
                } else {
                    format!("`{}`", name.name)
                };
                self.error(
                    codes::ARG_TYPE,
                    format!(
                        "argument `{param_name}` of {shown} expects `{expected}`, found `{found}`"
                    ),
                    span,
                    format!("expected `{expected}`"),
                )
                .help = Some(help);
            }
        }
    }

    fn is_overloaded_std_name(&self, e: &Expr) -> bool {
        match &strip_parens(e).kind {
            ExprKind::Name(n) => {
                self.lookup_local(&n.name).is_none()
                    && !self.globals.contains_key(&n.name)
                    && self
                        .std
                        .by_name
                        .get(&n.name)
                        .is_some_and(|ids| ids.len() > 1)
            }
            _ => false,
        }
    }

    /// Fresh inference variables for the generic parameters of `sig`, with
    /// their bounds.
    fn fresh_generics(&mut self, sig: &Signature) -> Vec<Ty> {
        sig.generics
            .iter()
            .map(|(_, b)| self.infer.fresh(*b))
            .collect()
    }

    /// Whether the first argument, given positionally, has the type of the
    /// signature's first parameter.
    fn first_argument_fits(&mut self, sig: &Signature, arg_tys: &[Option<Ty>]) -> bool {
        let (Some((_, param)), Some(Some(found))) = (sig.params.first(), arg_tys.first()) else {
            return false;
        };
        let saved = self.infer.snapshot();
        let vars: Vec<Ty> = self.fresh_generics(sig);
        let ok = self.infer.unify(&param.substitute(&vars), found).is_ok();
        self.infer.rollback(saved);
        ok
    }

    /// Whether a candidate accepts the arguments, tried without keeping any
    /// binding.
    fn candidate_fits(
        &mut self,
        sig: &Signature,
        args: &[ArgIn<'a>],
        arg_tys: &[Option<Ty>],
    ) -> bool {
        let Ok(slots) = bind_args(sig, args) else {
            return false;
        };
        let saved = self.infer.snapshot();
        let vars: Vec<Ty> = self.fresh_generics(sig);
        let mut ok = true;
        for (i, slot) in slots.iter().enumerate() {
            let Some(j) = slot else { continue };
            let param = sig.params[i].1.substitute(&vars);
            match &arg_tys[*j] {
                Some(found) => {
                    if self.infer.unify(&param, found).is_err() {
                        ok = false;
                        break;
                    }
                }
                None => {
                    let arity = lambda_arity(args[*j].expr);
                    match (self.infer.shallow(&param), arity) {
                        (Ty::Fn(ps, _), Some(n)) if ps.len() != n => {
                            ok = false;
                            break;
                        }
                        (Ty::Fn(..) | Ty::Var(_) | Ty::Error, _) => {}
                        _ => {
                            ok = false;
                            break;
                        }
                    }
                }
            }
        }
        self.infer.rollback(saved);
        ok
    }
}
