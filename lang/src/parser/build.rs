//! Builds syntax tree nodes from pest's pairs.
//!
//! The grammar has already accepted the text, so the shapes of the pairs are
//! known; still, nothing here indexes blindly or unwraps: a shape the
//! builder does not expect becomes [`ExprKind::Error`] rather than a panic.
//! The builder checks literals (numbers, escapes, sizes), applies operator
//! precedence to the flat operand/operator lists of the grammar, and reports
//! chained comparisons.

use pest::iterators::Pair;

use super::Rule;
use super::errors;
use crate::ast::*;
use crate::diagnostic::{Diagnostic, Label};
use crate::span::{FileId, Ident, Span};

pub(crate) struct Builder<'d> {
    file: FileId,
    /// Where the parsed piece starts in the file: pest's offsets are
    /// relative to the piece.
    offset: usize,
    /// The code tokens (comments excluded) of the whole file, to find where
    /// a node's last token ends.
    code_ends: &'d [usize],
    diagnostics: &'d mut Vec<Diagnostic>,
}

/// A decoded number literal before a sign is applied.
enum Number {
    /// The magnitude; it may be `i64::MAX + 1`, which only `-` makes valid.
    Int(u64),
    Float(f64),
    Size {
        bytes: i64,
        unit: SizeUnit,
    },
    Duration {
        millis: i64,
        unit: DurationUnit,
    },
}

const MIN_MAGNITUDE: u64 = 1 << 63;

impl<'d> Builder<'d> {
    pub fn new(
        file: FileId,
        offset: usize,
        code_ends: &'d [usize],
        diagnostics: &'d mut Vec<Diagnostic>,
    ) -> Self {
        Builder {
            file,
            offset,
            code_ends,
            diagnostics,
        }
    }

    // ----- helpers ------------------------------------------------------------

    /// The span of a node, from its first to the end of its last token.
    /// pest's span of a rule may include whitespace and comments skipped
    /// before an optional part that turned out to be absent, so the end is
    /// moved back to the end of the last code token inside the rule.
    fn span(&self, pair: &Pair<Rule>) -> Span {
        let span = pair.as_span();
        let start = self.offset + span.start();
        let end = self.offset + span.end();
        let ends_before = self.code_ends.partition_point(|&e| e <= end);
        let last_end = ends_before
            .checked_sub(1)
            .and_then(|i| self.code_ends.get(i))
            .copied()
            .filter(|&e| e > start)
            .unwrap_or(end);
        Span::new(start, last_end)
    }

    fn error(&mut self, code: &str, message: impl Into<String>, span: Span, label: &str) {
        self.diagnostics.push(Diagnostic::error(
            code,
            message,
            Label::new(self.file, span, label),
        ));
    }

    fn ident(&self, pair: &Pair<Rule>) -> Ident {
        Ident::new(pair.as_str(), self.span(pair))
    }

    fn error_expr(span: Span) -> Expr {
        Expr {
            kind: ExprKind::Error,
            span,
        }
    }

    // ----- items --------------------------------------------------------------

    pub fn item(&mut self, pair: Pair<Rule>) -> Option<Item> {
        let span = self.span(&pair);
        let inner = pair.into_inner().next()?;
        let kind = match inner.as_rule() {
            Rule::import => ItemKind::Import(Import {
                path: self.str_lit(first(&inner, Rule::string)?),
            }),
            Rule::type_decl => ItemKind::Type(TypeDecl {
                name: self.ident(&first(&inner, Rule::ident)?),
                fields: inner
                    .clone()
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::field)
                    .filter_map(|field| {
                        Some(Field {
                            name: self.ident(&first(&field, Rule::ident)?),
                            ty: self.type_expr(first(&field, Rule::type_expr)?),
                        })
                    })
                    .collect(),
            }),
            Rule::param_decl => ItemKind::Param(ParamDecl {
                name: self.ident(&first(&inner, Rule::ident)?),
                ty: self.annotation(&inner),
                default: first(&inner, Rule::expr).map(|e| self.expr(e)),
            }),
            Rule::input_decl => ItemKind::Input(InputDecl {
                name: self.ident(&first(&inner, Rule::ident)?),
                ty: self.annotation(&inner),
                source: self.expr(first(&inner, Rule::expr)?),
            }),
            Rule::fn_decl => ItemKind::Fn(FnDecl {
                name: self.ident(&first(&inner, Rule::ident)?),
                generics: first(&inner, Rule::generics)
                    .map(|g| self.generics(g))
                    .unwrap_or_default(),
                params: self.params(first(&inner, Rule::params)?),
                ret: self.ret_type(&inner),
                body: first(&inner, Rule::expr).map(|e| self.expr(e)),
            }),
            Rule::extern_fn => ItemKind::Extern(ExternFn {
                name: self.ident(&first(&inner, Rule::ident)?),
                params: self.params(first(&inner, Rule::params)?),
                ret: self.ret_type(&inner),
                module: self.str_lit(first(&inner, Rule::string)?),
            }),
            Rule::let_decl => ItemKind::Let(LetDecl {
                name: self.ident(&first(&inner, Rule::ident)?),
                ty: self.annotation(&inner),
                value: self.expr(first(&inner, Rule::expr)?),
            }),
            Rule::output_decl => ItemKind::Output(OutputDecl {
                name: self.ident(&first(&inner, Rule::ident)?),
                value: self.expr(first(&inner, Rule::expr)?),
                to: first(&inner, Rule::string).map(|s| self.str_lit(s)),
            }),
            Rule::policy => ItemKind::Policy(Policy {
                entries: inner
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::policy_entry)
                    .filter_map(|entry| self.policy_entry(entry))
                    .collect(),
            }),
            _ => return None,
        };
        Some(Item {
            docs: None,
            kind,
            span,
        })
    }

    fn annotation(&mut self, pair: &Pair<Rule>) -> Option<TypeExpr> {
        let annot = first(pair, Rule::type_annot)?;
        Some(self.type_expr(first(&annot, Rule::type_expr)?))
    }

    fn ret_type(&mut self, pair: &Pair<Rule>) -> Option<TypeExpr> {
        let ret = first(pair, Rule::ret_type)?;
        Some(self.type_expr(first(&ret, Rule::type_expr)?))
    }

    fn generics(&mut self, pair: Pair<Rule>) -> Vec<GenericParam> {
        pair.into_inner()
            .filter(|p| p.as_rule() == Rule::generic)
            .filter_map(|generic| {
                let mut names = generic.into_inner().filter(|p| p.as_rule() == Rule::ident);
                let name = self.ident(&names.next()?);
                let bound = names.next().map(|b| self.ident(&b));
                Some(GenericParam { name, bound })
            })
            .collect()
    }

    fn params(&mut self, pair: Pair<Rule>) -> Vec<Param> {
        pair.into_inner()
            .filter(|p| p.as_rule() == Rule::param)
            .filter_map(|param| self.param(param))
            .collect()
    }

    fn param(&mut self, pair: Pair<Rule>) -> Option<Param> {
        Some(Param {
            name: self.ident(&first(&pair, Rule::ident)?),
            ty: self.annotation(&pair),
            span: self.span(&pair),
        })
    }

    fn policy_entry(&mut self, pair: Pair<Rule>) -> Option<PolicyEntry> {
        let entry = pair.into_inner().next()?;
        let span = self.span(&entry);
        match entry.as_rule() {
            Rule::setting => Some(PolicyEntry::Setting {
                key: self.ident(&first(&entry, Rule::ident)?),
                value: self.expr(first(&entry, Rule::expr)?),
                span,
            }),
            Rule::delegate_when => Some(PolicyEntry::DelegateWhen {
                predicate: self.expr(first(&entry, Rule::expr)?),
                span,
            }),
            _ => None,
        }
    }

    // ----- types --------------------------------------------------------------

    fn type_expr(&mut self, pair: Pair<Rule>) -> TypeExpr {
        let span = self.span(&pair);
        let Some(inner) = pair.into_inner().next() else {
            return error_type(span);
        };
        let kind = match inner.as_rule() {
            Rule::named_type => {
                let Some(name) = first(&inner, Rule::ident) else {
                    return error_type(span);
                };
                TypeExprKind::Named {
                    name: self.ident(&name),
                    args: first(&inner, Rule::type_list)
                        .map(|list| self.type_list(list).0)
                        .unwrap_or_default(),
                }
            }
            Rule::list_type => match first(&inner, Rule::type_expr) {
                Some(element) => TypeExprKind::List(Box::new(self.type_expr(element))),
                None => return error_type(span),
            },
            Rule::tuple_type => {
                let Some(list) = first(&inner, Rule::type_list) else {
                    return error_type(span);
                };
                let (mut elements, trailing_comma) = self.type_list(list);
                // `(T)` is `T`; `(T,)` is a tuple of one.
                if elements.len() == 1 && !trailing_comma {
                    return elements.remove(0);
                }
                TypeExprKind::Tuple(elements)
            }
            Rule::fn_type => {
                let params = first(&inner, Rule::type_list)
                    .map(|list| self.type_list(list).0)
                    .unwrap_or_default();
                let Some(ret) = first(&inner, Rule::type_expr) else {
                    return error_type(span);
                };
                TypeExprKind::Fn {
                    params,
                    ret: Box::new(self.type_expr(ret)),
                }
            }
            _ => return error_type(span),
        };
        TypeExpr { kind, span }
    }

    /// The types of a list, and whether a comma follows the last one.
    fn type_list(&mut self, pair: Pair<Rule>) -> (Vec<TypeExpr>, bool) {
        let mut types = Vec::new();
        let mut trailing_comma = false;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::type_expr => {
                    types.push(self.type_expr(part));
                    trailing_comma = false;
                }
                Rule::comma => trailing_comma = true,
                _ => {}
            }
        }
        (types, trailing_comma)
    }

    // ----- expressions --------------------------------------------------------

    /// `operand (infix operand)*`, with precedence applied by shunting-yard:
    /// all operators are left-associative, and a comparison directly
    /// following another comparison is reported (they do not chain).
    pub fn expr(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let mut operands: Vec<Expr> = Vec::new();
        let mut operators: Vec<(BinaryOp, Span)> = Vec::new();
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::operand => operands.push(self.operand(part)),
                Rule::infix => {
                    let op_span = self.span(&part);
                    let Some(op) = binary_op(part.as_str()) else {
                        return Self::error_expr(span);
                    };
                    while let Some(&(top, top_span)) = operators.last() {
                        if top.precedence() < op.precedence() {
                            break;
                        }
                        if top.is_comparison() && op.is_comparison() {
                            self.chained_comparison(top, top_span, op, op_span);
                        }
                        operators.pop();
                        if !reduce(&mut operands, top, top_span) {
                            return Self::error_expr(span);
                        }
                    }
                    operators.push((op, op_span));
                }
                _ => {}
            }
        }
        while let Some((op, op_span)) = operators.pop() {
            if !reduce(&mut operands, op, op_span) {
                return Self::error_expr(span);
            }
        }
        match (operands.pop(), operands.is_empty()) {
            (Some(expr), true) => expr,
            _ => Self::error_expr(span),
        }
    }

    fn chained_comparison(
        &mut self,
        first: BinaryOp,
        _first_span: Span,
        second: BinaryOp,
        span: Span,
    ) {
        self.diagnostics.push(
            Diagnostic::error(
                errors::CHAINED_COMPARISON,
                format!(
                    "comparison operators cannot be chained: `{}` follows `{}`",
                    second.as_str(),
                    first.as_str()
                ),
                Label::new(self.file, span, "second comparison"),
            )
            .with_help(format!(
                "compare twice and join with `and`: `a {} b and b {} c`",
                first.as_str(),
                second.as_str()
            )),
        );
    }

    /// `prefix* primary postfix*`: postfixes bind tighter than prefixes.
    fn operand(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let mut prefixes: Vec<(UnaryOp, Span)> = Vec::new();
        let mut expr: Option<Expr> = None;
        let mut bare_literal: Option<(Pair<Rule>, Span)> = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::prefix => {
                    let op_span = self.span(&part);
                    let op = if part.as_str() == "not" {
                        UnaryOp::Not
                    } else {
                        UnaryOp::Neg
                    };
                    prefixes.push((op, op_span));
                }
                Rule::primary => {
                    let primary_span = self.span(&part);
                    let literal = part
                        .clone()
                        .into_inner()
                        .next()
                        .filter(|p| p.as_rule() == Rule::number_lit);
                    // `-9223372036854775808` is only valid with its sign, so
                    // the literal waits to see whether a postfix follows.
                    match literal {
                        Some(literal) if prefixes.last().is_some_and(|p| p.0 == UnaryOp::Neg) => {
                            bare_literal = Some((literal, primary_span));
                        }
                        _ => expr = Some(self.primary(part)),
                    }
                }
                Rule::postfix => {
                    if let Some((literal, _)) = bare_literal.take() {
                        expr = Some(self.number_lit(literal, false));
                    }
                    let Some(base) = expr.take() else {
                        return Self::error_expr(span);
                    };
                    expr = Some(self.postfix(base, part));
                }
                _ => {}
            }
        }
        if let Some((literal, literal_span)) = bare_literal.take() {
            // The literal directly follows a minus: fold the sign in when
            // that is the only way the value fits.
            let folded = self.number_lit(literal, true);
            if let ExprKind::Int(i64::MIN) = folded.kind
                && let Some((_, minus_span)) = prefixes.pop()
            {
                expr = Some(Expr {
                    kind: ExprKind::Int(i64::MIN),
                    span: minus_span.to(literal_span),
                });
            } else {
                expr = Some(folded);
            }
        }
        let Some(mut expr) = expr else {
            return Self::error_expr(span);
        };
        while let Some((op, op_span)) = prefixes.pop() {
            expr = Expr {
                span: op_span.to(expr.span),
                kind: ExprKind::Unary {
                    op,
                    op_span,
                    operand: Box::new(expr),
                },
            };
        }
        expr
    }

    fn postfix(&mut self, base: Expr, pair: Pair<Rule>) -> Expr {
        let Some(inner) = pair.into_inner().next() else {
            return base;
        };
        let span = base.span.to(self.span(&inner));
        let kind = match inner.as_rule() {
            Rule::call_args => ExprKind::Call {
                callee: Box::new(base),
                args: inner
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::arg)
                    .filter_map(|arg| {
                        let name = first(&arg, Rule::ident).map(|n| self.ident(&n));
                        let value = self.expr(first(&arg, Rule::expr)?);
                        Some(Arg { name, value })
                    })
                    .collect(),
            },
            Rule::field_access => match first(&inner, Rule::ident) {
                Some(field) => ExprKind::Field {
                    base: Box::new(base),
                    field: self.ident(&field),
                },
                None => ExprKind::Error,
            },
            Rule::tuple_index => match first(&inner, Rule::index) {
                Some(index) => {
                    let index_span = self.span(&index);
                    let value = match index.as_str().parse::<u32>() {
                        Ok(value) => value,
                        Err(_) => {
                            self.error(
                                errors::NUMBER_OUT_OF_RANGE,
                                "tuple index out of range",
                                index_span,
                                "too large for a tuple index",
                            );
                            0
                        }
                    };
                    ExprKind::TupleIndex {
                        base: Box::new(base),
                        index: value,
                        index_span,
                    }
                }
                None => ExprKind::Error,
            },
            _ => return base,
        };
        Expr { kind, span }
    }

    fn primary(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let Some(inner) = pair.into_inner().next() else {
            return Self::error_expr(span);
        };
        let kind = match inner.as_rule() {
            Rule::number_lit => return self.number_lit(inner, false),
            Rule::string => {
                let lit = self.str_lit(inner);
                ExprKind::Str(lit.value)
            }
            Rule::kw_true => ExprKind::Bool(true),
            Rule::kw_false => ExprKind::Bool(false),
            Rule::name_primary => self.name_primary(inner),
            Rule::paren_lambda => self.paren_lambda(inner),
            Rule::if_expr => {
                let mut exprs = inner.into_inner().filter(|p| p.as_rule() == Rule::expr);
                match (exprs.next(), exprs.next(), exprs.next()) {
                    (Some(cond), Some(then_branch), Some(else_branch)) => ExprKind::If {
                        cond: Box::new(self.expr(cond)),
                        then_branch: Box::new(self.expr(then_branch)),
                        else_branch: Box::new(self.expr(else_branch)),
                    },
                    _ => ExprKind::Error,
                }
            }
            Rule::block => {
                let mut lets = Vec::new();
                let mut result = None;
                for part in inner.into_inner() {
                    match part.as_rule() {
                        Rule::block_let => {
                            let let_span = self.span(&part);
                            let (Some(name), Some(value)) =
                                (first(&part, Rule::ident), first(&part, Rule::expr))
                            else {
                                continue;
                            };
                            lets.push(BlockLet {
                                name: self.ident(&name),
                                ty: self.annotation(&part),
                                value: self.expr(value),
                                span: let_span,
                            });
                        }
                        Rule::expr => result = Some(self.expr(part)),
                        _ => {}
                    }
                }
                match result {
                    Some(result) => ExprKind::Block {
                        lets,
                        result: Box::new(result),
                    },
                    None => ExprKind::Error,
                }
            }
            Rule::paren_or_tuple => {
                let mut elements = Vec::new();
                let mut commas = 0;
                for part in inner.into_inner() {
                    match part.as_rule() {
                        Rule::expr => elements.push(self.expr(part)),
                        Rule::comma => commas += 1,
                        _ => {}
                    }
                }
                if elements.len() == 1 && commas == 0 {
                    ExprKind::Paren(Box::new(elements.remove(0)))
                } else {
                    ExprKind::Tuple(elements)
                }
            }
            Rule::list => ExprKind::List(
                inner
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::expr)
                    .map(|e| self.expr(e))
                    .collect(),
            ),
            _ => ExprKind::Error,
        };
        Expr { kind, span }
    }

    /// `x`, `x => e` or `Row { … }`.
    fn name_primary(&mut self, pair: Pair<Rule>) -> ExprKind {
        let Some(name) = first(&pair, Rule::ident) else {
            return ExprKind::Error;
        };
        let name = self.ident(&name);
        if let Some(rest) = first(&pair, Rule::lambda_rest) {
            let Some(body) = first(&rest, Rule::expr) else {
                return ExprKind::Error;
            };
            let param = Param {
                span: name.span,
                name,
                ty: None,
            };
            return ExprKind::Lambda {
                params: vec![param],
                body: Box::new(self.expr(body)),
            };
        }
        if let Some(rest) = first(&pair, Rule::record_rest) {
            let fields = rest
                .into_inner()
                .filter(|p| p.as_rule() == Rule::field_init)
                .filter_map(|field| {
                    Some(FieldInit {
                        name: self.ident(&first(&field, Rule::ident)?),
                        value: self.expr(first(&field, Rule::expr)?),
                    })
                })
                .collect();
            return ExprKind::Record { name, fields };
        }
        ExprKind::Name(name)
    }

    /// `(a, b: int) => e` and `() => e`.
    fn paren_lambda(&mut self, pair: Pair<Rule>) -> ExprKind {
        let Some(body) = first(&pair, Rule::expr) else {
            return ExprKind::Error;
        };
        let params = pair
            .into_inner()
            .filter(|p| p.as_rule() == Rule::param)
            .filter_map(|param| self.param(param))
            .collect();
        ExprKind::Lambda {
            params,
            body: Box::new(self.expr(body)),
        }
    }

    // ----- literals -----------------------------------------------------------

    /// A number literal, with its size unit if any. With `negated`, the
    /// magnitude `2^63` becomes `i64::MIN` (the caller drops the minus).
    fn number_lit(&mut self, pair: Pair<Rule>, negated: bool) -> Expr {
        let span = self.span(&pair);
        let mut number = None;
        let mut spaced_unit = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::number => number = Some(part),
                Rule::size_unit => spaced_unit = size_unit(part.as_str()),
                _ => {}
            }
        }
        let Some(number) = number else {
            return Self::error_expr(span);
        };
        let number_span = self.span(&number);
        let decoded = match decode_number(number.as_str()) {
            Ok(decoded) => decoded,
            Err((code, message, label)) => {
                self.error(code, message, number_span, label);
                return Self::error_expr(span);
            }
        };
        let kind = match (decoded, spaced_unit) {
            (Number::Int(magnitude), Some(unit)) => match size_bytes(magnitude, unit) {
                Some(bytes) => ExprKind::Size { bytes, unit },
                None => {
                    self.size_overflow(span);
                    ExprKind::Error
                }
            },
            (_, Some(_)) => {
                self.error(
                    errors::MALFORMED_NUMBER,
                    "a size must be a whole number",
                    span,
                    "sizes are written like `4 MiB` or `512 KB`",
                );
                ExprKind::Error
            }
            (Number::Int(magnitude), None) => match i64::try_from(magnitude) {
                Ok(value) => ExprKind::Int(value),
                Err(_) if negated && magnitude == MIN_MAGNITUDE => ExprKind::Int(i64::MIN),
                Err(_) => {
                    self.diagnostics.push(
                        Diagnostic::error(
                            errors::NUMBER_OUT_OF_RANGE,
                            "integer literal out of range",
                            Label::new(self.file, number_span, "does not fit in a 64-bit `int`"),
                        )
                        .with_help(format!(
                            "the largest `int` is {}; for larger numbers use a float such as `{}.0`",
                            i64::MAX,
                            number.as_str()
                        )),
                    );
                    ExprKind::Error
                }
            },
            (Number::Float(value), None) => ExprKind::Float(value),
            (Number::Size { bytes, unit }, None) => ExprKind::Size { bytes, unit },
            (Number::Duration { millis, unit }, None) => ExprKind::Duration { millis, unit },
        };
        if matches!(kind, ExprKind::Error) {
            return Self::error_expr(span);
        }
        Expr { kind, span }
    }

    fn size_overflow(&mut self, span: Span) {
        self.error(
            errors::NUMBER_OUT_OF_RANGE,
            "size out of range",
            span,
            "more bytes than a 64-bit `int` holds",
        );
    }

    /// A string literal: decodes escapes, reporting bad ones and a missing
    /// closing quote.
    fn str_lit(&mut self, pair: Pair<Rule>) -> StrLit {
        let span = self.span(&pair);
        let mut body = None;
        let mut closed = false;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::string_body => body = Some(part),
                Rule::string_close => closed = true,
                _ => {}
            }
        }
        if !closed {
            self.diagnostics
                .push(errors::unterminated_string(self.file, span));
        }
        let (raw, body_start) = match &body {
            Some(body) => (body.as_str(), self.offset + body.as_span().start()),
            None => ("", span.start as usize + 1),
        };
        let value = self.unescape(raw, body_start);
        StrLit { value, span }
    }

    fn unescape(&mut self, raw: &str, body_start: usize) -> String {
        let mut value = String::with_capacity(raw.len());
        let mut chars = raw.char_indices().peekable();
        while let Some((index, c)) = chars.next() {
            if c != '\\' {
                value.push(c);
                continue;
            }
            let escape_start = body_start + index;
            let Some((_, escaped)) = chars.next() else {
                break;
            };
            match escaped {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'r' => value.push('\r'),
                '\\' => value.push('\\'),
                '"' => value.push('"'),
                'u' => {
                    // `\u{…}`: up to six hex digits naming a Unicode scalar.
                    let rest = raw.get(index + 2..).unwrap_or("");
                    let close = rest.find('}');
                    let digits = rest
                        .strip_prefix('{')
                        .and_then(|r| close.and_then(|c| r.get(..c.saturating_sub(1))));
                    let escape_len = close.map_or(2, |c| c + 3);
                    let escape_span = Span::new(
                        escape_start,
                        (escape_start + escape_len).min(body_start + raw.len()),
                    );
                    let decoded = digits
                        .filter(|d| {
                            !d.is_empty()
                                && d.len() <= 6
                                && d.chars().all(|c| c.is_ascii_hexdigit())
                        })
                        .and_then(|d| u32::from_str_radix(d, 16).ok());
                    match decoded {
                        Some(code) => {
                            match char::from_u32(code) {
                                Some(ch) => value.push(ch),
                                None => self.unicode_error(
                                    escape_span,
                                    format!("`{code:X}` is not a Unicode scalar value"),
                                ),
                            }
                            // Skip the `{digits}` that were just decoded.
                            for _ in 0..escape_len.saturating_sub(2) {
                                chars.next();
                            }
                        }
                        None => {
                            let span = Span::new(escape_start, escape_start + 2);
                            self.unicode_error(
                                span,
                                "a Unicode escape is written `\\u{…}` with one to six hex digits"
                                    .to_string(),
                            );
                        }
                    }
                }
                other => {
                    let span = Span::new(escape_start, escape_start + 1 + other.len_utf8());
                    self.diagnostics.push(
                        Diagnostic::error(
                            errors::INVALID_ESCAPE,
                            format!("unknown escape `\\{}` in a string", other.escape_debug()),
                            Label::new(self.file, span, "not an escape"),
                        )
                        .with_help(
                            "the escapes are \\n \\t \\r \\\\ \\\" and \\u{…}; write `\\\\` for a backslash",
                        ),
                    );
                    value.push('\\');
                    value.push(other);
                }
            }
        }
        value
    }

    fn unicode_error(&mut self, span: Span, message: String) {
        self.diagnostics.push(
            Diagnostic::error(
                errors::INVALID_UNICODE_ESCAPE,
                format!("invalid Unicode escape: {message}"),
                Label::new(self.file, span, "invalid escape"),
            )
            .with_help(
                "write `\\u{1F600}`: hex digits of a code point up to 10FFFF, not a surrogate",
            ),
        );
    }
}

fn error_type(span: Span) -> TypeExpr {
    // A type the grammar accepted but whose parts are missing cannot occur;
    // an empty tuple keeps the tree well-formed if it ever does.
    TypeExpr {
        kind: TypeExprKind::Tuple(Vec::new()),
        span,
    }
}

/// The first direct child of `pair` with rule `rule`.
fn first<'i>(pair: &Pair<'i, Rule>, rule: Rule) -> Option<Pair<'i, Rule>> {
    pair.clone().into_inner().find(|p| p.as_rule() == rule)
}

fn binary_op(text: &str) -> Option<BinaryOp> {
    Some(match text {
        "|>" => BinaryOp::Pipe,
        "==" => BinaryOp::Eq,
        "!=" => BinaryOp::Ne,
        "<=" => BinaryOp::Le,
        ">=" => BinaryOp::Ge,
        "<" => BinaryOp::Lt,
        ">" => BinaryOp::Gt,
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" => BinaryOp::Div,
        "%" => BinaryOp::Rem,
        "and" => BinaryOp::And,
        "or" => BinaryOp::Or,
        _ => return None,
    })
}

/// Pops two operands and pushes `lhs op rhs`; false if there are not two.
fn reduce(operands: &mut Vec<Expr>, op: BinaryOp, op_span: Span) -> bool {
    let (Some(rhs), Some(lhs)) = (operands.pop(), operands.pop()) else {
        return false;
    };
    operands.push(Expr {
        span: lhs.span.to(rhs.span),
        kind: ExprKind::Binary {
            op,
            op_span,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
    });
    true
}

fn size_unit(text: &str) -> Option<SizeUnit> {
    Some(match text {
        "B" => SizeUnit::B,
        "KiB" => SizeUnit::KiB,
        "MiB" => SizeUnit::MiB,
        "GiB" => SizeUnit::GiB,
        "KB" => SizeUnit::KB,
        "MB" => SizeUnit::MB,
        "GB" => SizeUnit::GB,
        _ => return None,
    })
}

fn duration_unit(text: &str) -> Option<DurationUnit> {
    Some(match text {
        "ms" => DurationUnit::Ms,
        "s" => DurationUnit::S,
        "m" => DurationUnit::M,
        "h" => DurationUnit::H,
        _ => return None,
    })
}

fn size_bytes(magnitude: u64, unit: SizeUnit) -> Option<i64> {
    i64::try_from(magnitude).ok()?.checked_mul(unit.bytes())
}

type NumberError = (&'static str, String, &'static str);

/// Decodes the text of a `number` token: `42`, `1_000`, `0xff`, `3.25`,
/// `1e-9`, `250ms`, `4MiB`.
fn decode_number(text: &str) -> Result<Number, NumberError> {
    let malformed =
        |message: String, label: &'static str| Err((errors::MALFORMED_NUMBER, message, label));
    let out_of_range = || {
        Err((
            errors::NUMBER_OUT_OF_RANGE,
            "integer literal out of range".to_string(),
            "does not fit in a 64-bit `int`",
        ))
    };
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        let digits: String = hex.chars().filter(|&c| c != '_').collect();
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return malformed(
                format!("malformed hexadecimal number `{text}`"),
                "hex digits are 0-9 and a-f",
            );
        }
        return match u64::from_str_radix(&digits, 16) {
            Ok(value) if value <= MIN_MAGNITUDE => Ok(Number::Int(value)),
            _ => out_of_range(),
        };
    }
    let bytes = text.as_bytes();
    let mut end = 0;
    let digits = |end: &mut usize| {
        while bytes
            .get(*end)
            .is_some_and(|b| b.is_ascii_digit() || *b == b'_')
        {
            *end += 1;
        }
    };
    digits(&mut end);
    let mut is_float = false;
    if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        is_float = true;
        end += 1;
        digits(&mut end);
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let mut after = end + 1;
        if matches!(bytes.get(after), Some(b'+' | b'-')) {
            after += 1;
        }
        if bytes.get(after).is_some_and(u8::is_ascii_digit) {
            is_float = true;
            end = after;
            digits(&mut end);
        }
    }
    let (number, suffix) = text.split_at(end.min(text.len()));
    let clean: String = number.chars().filter(|&c| c != '_').collect();
    if is_float {
        if !suffix.is_empty() {
            return malformed(
                format!("unexpected `{suffix}` after the number `{number}`"),
                "sizes and durations are whole numbers",
            );
        }
        return match clean.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(Number::Float(value)),
            _ => Err((
                errors::NUMBER_OUT_OF_RANGE,
                "float literal out of range".to_string(),
                "too large for a 64-bit float",
            )),
        };
    }
    let magnitude = match clean.parse::<u64>() {
        Ok(value) if value <= MIN_MAGNITUDE => value,
        _ => return out_of_range(),
    };
    if suffix.is_empty() {
        return Ok(Number::Int(magnitude));
    }
    if let Some(unit) = size_unit(suffix) {
        return match size_bytes(magnitude, unit) {
            Some(bytes) => Ok(Number::Size { bytes, unit }),
            None => Err((
                errors::NUMBER_OUT_OF_RANGE,
                "size out of range".to_string(),
                "more bytes than a 64-bit `int` holds",
            )),
        };
    }
    if let Some(unit) = duration_unit(suffix) {
        return match i64::try_from(magnitude)
            .ok()
            .and_then(|m| m.checked_mul(unit.millis()))
        {
            Some(millis) => Ok(Number::Duration { millis, unit }),
            None => Err((
                errors::NUMBER_OUT_OF_RANGE,
                "duration out of range".to_string(),
                "more milliseconds than a 64-bit `int` holds",
            )),
        };
    }
    malformed(
        format!("unexpected `{suffix}` after the number `{number}`"),
        "not a size unit (B, KiB, MiB, GiB, KB, MB, GB) or a duration unit (ms, s, m, h)",
    )
}
