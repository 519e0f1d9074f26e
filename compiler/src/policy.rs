//! The `policy` block (LANGUAGE.md §9): checking its keys and values, and
//! the checked policy with every default filled in.
//!
//! Values are literals (sizes are ints) or names of `int` params; a param's
//! value is only known when the job is submitted, so its range is checked
//! then. `timeout` takes a duration literal. `delegate when` is a `bool`
//! expression over the policy variables, params and literals.

use flow_lang::ast::{BinaryOp, UnaryOp};
use flow_lang::ast::{Expr, ExprKind, Policy, PolicyEntry};
use flow_lang::{FileId, Span};
use flow_runtime::policy::{PolicyBinary, PolicyExpr, PolicyProgram, PolicyUnary, PolicyVar};
use serde::Serialize;

use crate::check::Checker;
use crate::codes;
use crate::program::DefKind;
use crate::types::Ty;

/// An integer setting: a constant, or a param read when the job starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum PolicyInt {
    Const(i64),
    Param(String),
}

/// Which peers become children.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Select {
    Capacity,
    Latency,
    Random,
}

/// The policy of a job, defaults filled in (see `docs/language.md`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckedPolicy {
    /// Chunk size; `None` means the default of the input kind: 4 MiB of
    /// text for `lines`, `csv` and `jsonl`, 100 000 items for `range`, one
    /// file for `files`.
    pub split: Option<PolicyInt>,
    pub fanout: PolicyInt,
    pub depth: PolicyInt,
    pub select: Select,
    pub retries: PolicyInt,
    pub timeout_ms: i64,
    pub replicate: PolicyInt,
    /// `delegate when`: the file and span of the predicate expression; its
    /// types are in [`crate::Program::expr_types`]. `None` means the
    /// default, `chunks > 1 and peers > 0`.
    pub delegate_when: Option<(FileId, Span)>,
    /// `delegate when` as the flat program every peer evaluates (params
    /// still unbound); `None` when the policy sets no rule or the predicate
    /// had errors.
    pub delegate_rule: Option<PolicyProgram>,
}

impl Default for CheckedPolicy {
    fn default() -> CheckedPolicy {
        CheckedPolicy {
            split: None,
            fanout: PolicyInt::Const(8),
            depth: PolicyInt::Const(3),
            select: Select::Capacity,
            retries: PolicyInt::Const(2),
            timeout_ms: 60_000,
            replicate: PolicyInt::Const(1),
            delegate_when: None,
            delegate_rule: None,
        }
    }
}

/// The keys and the smallest and largest constant each accepts.
const INT_KEYS: &[(&str, i64, i64)] = &[
    ("split", 1, i64::MAX),
    ("fanout", 1, i64::MAX),
    ("depth", 0, i64::MAX),
    ("retries", 0, i64::MAX),
    ("replicate", 1, 3),
];

const ALL_KEYS: &[&str] = &[
    "split",
    "fanout",
    "depth",
    "select",
    "retries",
    "timeout",
    "replicate",
];

/// The variables of `delegate when` and their types.
pub const POLICY_VARIABLES: &[(&str, &str)] = &[
    ("work", "int: bytes or items not yet started"),
    ("chunks", "int: chunks not yet started"),
    (
        "depth",
        "int: depth of this peer in the tree, the origin is 0",
    ),
    ("peers", "int: idle peers this one can reach"),
    (
        "capacity",
        "float: this peer's relative speed, 1.0 is the average",
    ),
];

fn range_text(min: i64, max: i64) -> String {
    if max == i64::MAX {
        format!("at least {min}")
    } else {
        format!("from {min} to {max}")
    }
}

impl<'a> Checker<'a> {
    pub(crate) fn check_policy(&mut self, policy: &'a Policy) -> CheckedPolicy {
        let mut out = CheckedPolicy::default();
        let mut seen: Vec<(String, Span)> = Vec::new();
        for entry in &policy.entries {
            match entry {
                PolicyEntry::Setting { key, value, .. } => {
                    if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key.name) {
                        let label = self.label(*first, "first set here");
                        self.error(
                            codes::POLICY_DUPLICATE_KEY,
                            format!("`{}` is set twice", key.name),
                            key.span,
                            "set again",
                        )
                        .secondary
                        .push(label);
                        continue;
                    }
                    seen.push((key.name.clone(), key.span));
                    match key.name.as_str() {
                        "select" => {
                            if let Some(s) = self.policy_select(value) {
                                out.select = s;
                            }
                        }
                        "timeout" => {
                            if let Some(ms) = self.policy_timeout(value) {
                                out.timeout_ms = ms;
                            }
                        }
                        name => match INT_KEYS.iter().find(|(k, _, _)| *k == name) {
                            Some((_, min, max)) => {
                                if let Some(v) = self.policy_int(name, value, *min, *max) {
                                    match name {
                                        "split" => out.split = Some(v),
                                        "fanout" => out.fanout = v,
                                        "depth" => out.depth = v,
                                        "retries" => out.retries = v,
                                        _ => out.replicate = v,
                                    }
                                }
                            }
                            None => {
                                let hint = crate::check::suggest(name, ALL_KEYS.iter().copied());
                                self.error(
                                    codes::POLICY_UNKNOWN_KEY,
                                    format!("unknown policy key `{name}`"),
                                    key.span,
                                    "unknown key",
                                )
                                .help = Some(match hint {
                                    Some(h) => format!("did you mean `{h}`?"),
                                    None => format!(
                                        "the keys are {}, and `delegate when …`",
                                        ALL_KEYS
                                            .iter()
                                            .map(|k| format!("`{k}`"))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    ),
                                });
                            }
                        },
                    }
                }
                PolicyEntry::DelegateWhen { predicate, span } => {
                    if let Some((_, first)) = seen.iter().find(|(k, _)| k == "delegate when") {
                        let label = self.label(*first, "first set here");
                        self.error(
                            codes::POLICY_DUPLICATE_KEY,
                            "`delegate when` is set twice",
                            *span,
                            "set again",
                        )
                        .secondary
                        .push(label);
                        continue;
                    }
                    seen.push(("delegate when".into(), *span));
                    let before = self.diagnostics.len();
                    self.check_delegate(predicate);
                    out.delegate_when = Some((self.file, predicate.span));
                    if self.diagnostics.len() == before {
                        match policy_expr(predicate) {
                            Ok(expr) => out.delegate_rule = Some(expr.compile()),
                            Err(span) => {
                                self.error(
                                    codes::POLICY_NOT_CONSTANT,
                                    "`delegate when` can only combine its variables, params and literals with operators and `if`",
                                    span,
                                    "not allowed in a policy",
                                )
                                .help = Some("every peer evaluates the rule on its own, so it cannot call functions or build values; for example `delegate when work > 32 MiB and peers > 0`".into());
                            }
                        }
                    }
                }
            }
        }
        out
    }

    fn check_delegate(&mut self, predicate: &'a Expr) {
        self.scopes.push(Vec::new());
        self.in_policy = true;
        for (name, doc) in POLICY_VARIABLES {
            let ty = if *name == "capacity" {
                Ty::Float
            } else {
                Ty::Int
            };
            let ident = flow_lang::Ident::new(*name, Span::new(0, 0));
            let def = self.define(
                name,
                DefKind::PolicyVar,
                predicate.span,
                predicate.span,
                Some((*doc).to_string()),
                ty.to_string(),
                Some(predicate.span),
            );
            // Policy variables are not written anywhere: they do not hide
            // anything worth a lint, so they bypass `bind_local`.
            if let Some(scope) = self.scopes.last_mut() {
                scope.push(crate::check::Local {
                    name: ident.name,
                    def,
                    ty,
                    lambda_level: 0,
                });
            }
        }
        let ty = self.check_expr(predicate, None);
        if self.infer.unify(&Ty::Bool, &ty).is_err() {
            let found = self.infer.resolve(&ty);
            self.error(
                codes::POLICY_TYPE,
                format!("`delegate when` needs a `bool` condition, found `{found}`"),
                predicate.span,
                "expected `bool`",
            )
            .help = Some("for example `delegate when work > 32 MiB and peers > 0`".into());
        }
        self.in_policy = false;
        self.scopes.pop();
    }

    fn policy_int(&mut self, key: &str, value: &'a Expr, min: i64, max: i64) -> Option<PolicyInt> {
        let inner = strip(value);
        let constant = match &inner.kind {
            ExprKind::Int(v) => Some(*v),
            ExprKind::Size { bytes, .. } => Some(*bytes),
            ExprKind::Unary {
                op: UnaryOp::Neg,
                operand,
                ..
            } => match &strip(operand).kind {
                ExprKind::Int(v) | ExprKind::Size { bytes: v, .. } => Some(-*v),
                _ => None,
            },
            _ => None,
        };
        self.record_type(value.span, &Ty::Int);
        if let Some(v) = constant {
            if v < min || v > max {
                self.error(
                    codes::POLICY_RANGE,
                    format!("`{key}` must be {}, not {v}", range_text(min, max)),
                    value.span,
                    "out of range",
                );
                return None;
            }
            return Some(PolicyInt::Const(v));
        }
        match &inner.kind {
            ExprKind::Name(name) if self.is_param(&name.name) => {
                self.in_policy = true;
                let ty = self.check_name(name, None);
                self.in_policy = false;
                if self.infer.unify(&Ty::Int, &ty).is_err() {
                    let found = self.infer.resolve(&ty);
                    self.error(
                        codes::POLICY_TYPE,
                        format!("`{key}` needs an `int`, found `{found}`"),
                        value.span,
                        "expected `int`",
                    );
                    return None;
                }
                Some(PolicyInt::Param(name.name.clone()))
            }
            ExprKind::Float(_)
            | ExprKind::Str(_)
            | ExprKind::Bool(_)
            | ExprKind::Duration { .. } => {
                self.error(
                    codes::POLICY_TYPE,
                    format!("`{key}` needs an `int`"),
                    value.span,
                    "expected `int`",
                )
                .help = Some(if key == "split" {
                    "for example `split = 4 MiB` or `split = 10_000`".into()
                } else {
                    format!("for example `{key} = {}`", min.max(1))
                });
                None
            }
            _ => {
                self.error(codes::POLICY_NOT_CONSTANT, format!("`{key}` must be a literal or an `int` param"), value.span, "not a constant")
                    .help = Some("policy values are fixed when the job starts; declare a `param` to make one adjustable".into());
                None
            }
        }
    }

    fn is_param(&self, name: &str) -> bool {
        matches!(
            self.globals.get(name),
            Some(crate::check::Global::Param { .. })
        )
    }

    fn policy_select(&mut self, value: &'a Expr) -> Option<Select> {
        let choice = match &strip(value).kind {
            ExprKind::Name(name) => match name.name.as_str() {
                "capacity" => Some(Select::Capacity),
                "latency" => Some(Select::Latency),
                "random" => Some(Select::Random),
                _ => None,
            },
            _ => None,
        };
        if choice.is_none() {
            self.error(
                codes::POLICY_SELECT,
                "`select` is one of `capacity`, `latency` or `random`",
                value.span,
                "unknown choice",
            )
            .help = Some("for example `select = latency`".into());
        }
        choice
    }

    fn policy_timeout(&mut self, value: &'a Expr) -> Option<i64> {
        match &strip(value).kind {
            ExprKind::Duration { millis, .. } => {
                if *millis <= 0 {
                    self.error(
                        codes::POLICY_RANGE,
                        "`timeout` must be longer than zero",
                        value.span,
                        "out of range",
                    );
                    return None;
                }
                Some(*millis)
            }
            _ => {
                self.error(
                    codes::POLICY_TYPE,
                    "`timeout` needs a duration",
                    value.span,
                    "expected a duration",
                )
                .help = Some("write a number with a unit: `250ms`, `30s`, `5m` or `2h`".into());
                None
            }
        }
    }
}

fn strip(e: &Expr) -> &Expr {
    match &e.kind {
        ExprKind::Paren(inner) => strip(inner),
        _ => e,
    }
}

/// The `delegate when` predicate as a tree the executor can evaluate, or the
/// span of the first construct it cannot hold. The checker has already
/// resolved every name to a policy variable or a param.
fn policy_expr(expr: &Expr) -> Result<PolicyExpr, Span> {
    Ok(match &expr.kind {
        ExprKind::Int(v) => PolicyExpr::Int(*v),
        ExprKind::Float(v) => PolicyExpr::Float(*v),
        ExprKind::Bool(v) => PolicyExpr::Bool(*v),
        ExprKind::Size { bytes, .. } => PolicyExpr::Int(*bytes),
        ExprKind::Duration { millis, .. } => PolicyExpr::Int(*millis),
        ExprKind::Name(name) => match PolicyVar::from_name(&name.name) {
            Some(var) => PolicyExpr::Var(var),
            None => PolicyExpr::Param(name.name.to_string()),
        },
        ExprKind::Paren(inner) => policy_expr(inner)?,
        ExprKind::Unary { op, operand, .. } => PolicyExpr::Unary(
            match op {
                UnaryOp::Neg => PolicyUnary::Neg,
                UnaryOp::Not => PolicyUnary::Not,
            },
            Box::new(policy_expr(operand)?),
        ),
        ExprKind::Binary { op, lhs, rhs, .. } => {
            let op = match op {
                BinaryOp::Mul => PolicyBinary::Mul,
                BinaryOp::Div => PolicyBinary::Div,
                BinaryOp::Rem => PolicyBinary::Rem,
                BinaryOp::Add => PolicyBinary::Add,
                BinaryOp::Sub => PolicyBinary::Sub,
                BinaryOp::Eq => PolicyBinary::Eq,
                BinaryOp::Ne => PolicyBinary::Ne,
                BinaryOp::Lt => PolicyBinary::Lt,
                BinaryOp::Le => PolicyBinary::Le,
                BinaryOp::Gt => PolicyBinary::Gt,
                BinaryOp::Ge => PolicyBinary::Ge,
                BinaryOp::And => PolicyBinary::And,
                BinaryOp::Or => PolicyBinary::Or,
                BinaryOp::Pipe => return Err(expr.span),
            };
            PolicyExpr::Binary(op, Box::new(policy_expr(lhs)?), Box::new(policy_expr(rhs)?))
        }
        ExprKind::If {
            cond,
            then_branch,
            else_branch,
        } => PolicyExpr::If(
            Box::new(policy_expr(cond)?),
            Box::new(policy_expr(then_branch)?),
            Box::new(policy_expr(else_branch)?),
        ),
        _ => return Err(expr.span),
    })
}
