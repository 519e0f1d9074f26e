//! A compact, readable rendering of parse results for snapshot tests.
//!
//! Expressions print as S-expressions so that the shape of the tree
//! (precedence, associativity) is visible at a glance: `1 + 2 * 3` prints as
//! `(+ 1 (* 2 3))`.

use flow_lang::ast::*;
use flow_lang::{Diagnostic, FileId, ParseResult, parse};

/// Parses `input` and renders the items, then the diagnostics.
pub fn render(input: &str) -> String {
    let result = parse(FileId(0), input);
    assert_spans_inside(&result, input);
    render_result(&result, input)
}

/// Renders one expression parsed from `let x = <input>`.
pub fn expr(input: &str) -> String {
    let source = format!("let x = {input}");
    let result = parse(FileId(0), &source);
    let mut out = String::new();
    if let Some(Item {
        kind: ItemKind::Let(decl),
        ..
    }) = result.module.items.first()
    {
        out.push_str(&render_expr(&decl.value));
    }
    for diagnostic in &result.diagnostics {
        out.push('\n');
        out.push_str(&render_diagnostic(diagnostic, &source));
    }
    out
}

/// Only the diagnostics, one per line.
pub fn diagnostics(input: &str) -> String {
    let result = parse(FileId(0), input);
    assert_spans_inside(&result, input);
    result
        .diagnostics
        .iter()
        .map(|d| render_diagnostic(d, input))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn assert_spans_inside(result: &ParseResult, input: &str) {
    for diagnostic in &result.diagnostics {
        let span = diagnostic.primary.span;
        assert!(
            span.start <= span.end && (span.end as usize) <= input.len(),
            "diagnostic span {span:?} outside the text of length {}",
            input.len()
        );
        assert!(
            input.is_char_boundary(span.start as usize)
                && input.is_char_boundary(span.end as usize)
        );
    }
}

pub fn render_result(result: &ParseResult, input: &str) -> String {
    let mut lines = Vec::new();
    if let Some(docs) = &result.module.docs {
        lines.push(format!("file docs: {docs:?}"));
    }
    for item in &result.module.items {
        if let Some(docs) = &item.docs {
            lines.push(format!("docs: {docs:?}"));
        }
        lines.push(render_item(item));
    }
    for diagnostic in &result.diagnostics {
        lines.push(render_diagnostic(diagnostic, input));
    }
    lines.join("\n")
}

pub fn render_diagnostic(diagnostic: &Diagnostic, input: &str) -> String {
    let span = diagnostic.primary.span;
    let text = input.get(span.range()).unwrap_or("<bad span>");
    let mut out = format!(
        "{} {}..{} {:?}: {} [{}]",
        diagnostic.code, span.start, span.end, text, diagnostic.message, diagnostic.primary.message
    );
    if let Some(help) = &diagnostic.help {
        out.push_str(&format!(" help: {help}"));
    }
    out
}

fn render_item(item: &Item) -> String {
    match &item.kind {
        ItemKind::Import(import) => format!("import {:?}", import.path.value),
        ItemKind::Type(decl) => format!(
            "type {} = {{ {} }}",
            decl.name.name,
            decl.fields
                .iter()
                .map(|f| format!("{}: {}", f.name.name, render_type(&f.ty)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ItemKind::Param(decl) => format!(
            "param {}{}{}",
            decl.name.name,
            annotation(&decl.ty),
            decl.default
                .as_ref()
                .map(|e| format!(" = {}", render_expr(e)))
                .unwrap_or_default()
        ),
        ItemKind::Input(decl) => format!(
            "input {}{} = {}",
            decl.name.name,
            annotation(&decl.ty),
            render_expr(&decl.source)
        ),
        ItemKind::Fn(decl) => {
            let generics = if decl.generics.is_empty() {
                String::new()
            } else {
                format!(
                    "<{}>",
                    decl.generics
                        .iter()
                        .map(|g| match &g.bound {
                            Some(bound) => format!("{}: {}", g.name.name, bound.name),
                            None => g.name.name.clone(),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            format!(
                "fn {}{}({}){}{}",
                decl.name.name,
                generics,
                render_params(&decl.params),
                decl.ret
                    .as_ref()
                    .map(|t| format!(" -> {}", render_type(t)))
                    .unwrap_or_default(),
                decl.body
                    .as_ref()
                    .map(|e| format!(" = {}", render_expr(e)))
                    .unwrap_or_default()
            )
        }
        ItemKind::Extern(decl) => format!(
            "extern fn {}({}){} from {:?}",
            decl.name.name,
            render_params(&decl.params),
            decl.ret
                .as_ref()
                .map(|t| format!(" -> {}", render_type(t)))
                .unwrap_or_default(),
            decl.module.value
        ),
        ItemKind::Let(decl) => format!(
            "let {}{} = {}",
            decl.name.name,
            annotation(&decl.ty),
            render_expr(&decl.value)
        ),
        ItemKind::Output(decl) => format!(
            "output {} = {}{}",
            decl.name.name,
            render_expr(&decl.value),
            decl.to
                .as_ref()
                .map(|t| format!(" to {:?}", t.value))
                .unwrap_or_default()
        ),
        ItemKind::Policy(policy) => {
            let entries: Vec<String> = policy
                .entries
                .iter()
                .map(|entry| match entry {
                    PolicyEntry::Setting { key, value, .. } => {
                        format!("{} = {}", key.name, render_expr(value))
                    }
                    PolicyEntry::DelegateWhen { predicate, .. } => {
                        format!("delegate when {}", render_expr(predicate))
                    }
                })
                .collect();
            format!("policy {{ {} }}", entries.join("; "))
        }
    }
}

fn annotation(ty: &Option<TypeExpr>) -> String {
    ty.as_ref()
        .map(|t| format!(": {}", render_type(t)))
        .unwrap_or_default()
}

fn render_params(params: &[Param]) -> String {
    params
        .iter()
        .map(|p| format!("{}{}", p.name.name, annotation(&p.ty)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn render_type(ty: &TypeExpr) -> String {
    let list = |types: &[TypeExpr]| types.iter().map(render_type).collect::<Vec<_>>().join(", ");
    match &ty.kind {
        TypeExprKind::Named { name, args } if args.is_empty() => name.name.clone(),
        TypeExprKind::Named { name, args } => format!("{}<{}>", name.name, list(args)),
        TypeExprKind::List(element) => format!("[{}]", render_type(element)),
        TypeExprKind::Tuple(elements) if elements.len() == 1 => format!("({},)", list(elements)),
        TypeExprKind::Tuple(elements) => format!("({})", list(elements)),
        TypeExprKind::Fn { params, ret } => format!("fn({}) -> {}", list(params), render_type(ret)),
    }
}

pub fn render_expr(expr: &Expr) -> String {
    let many = |exprs: &[Expr]| {
        exprs
            .iter()
            .map(|e| format!(" {}", render_expr(e)))
            .collect::<String>()
    };
    match &expr.kind {
        ExprKind::Int(value) => value.to_string(),
        ExprKind::Float(value) => format!("{value:?}"),
        ExprKind::Str(value) => format!("{value:?}"),
        ExprKind::Bool(value) => value.to_string(),
        ExprKind::Size { bytes, unit } => format!("(size {bytes} {})", unit.as_str()),
        ExprKind::Duration { millis, unit } => format!("(duration {millis} {})", unit.as_str()),
        ExprKind::Name(name) => name.name.clone(),
        ExprKind::Call { callee, args } => {
            let args: String = args
                .iter()
                .map(|arg| match &arg.name {
                    Some(name) => format!(" ({}: {})", name.name, render_expr(&arg.value)),
                    None => format!(" {}", render_expr(&arg.value)),
                })
                .collect();
            format!("(call {}{})", render_expr(callee), args)
        }
        ExprKind::Lambda { params, body } => {
            format!("(lambda ({}) {})", render_params(params), render_expr(body))
        }
        ExprKind::Tuple(elements) => format!("(tuple{})", many(elements)),
        ExprKind::Paren(inner) => format!("(paren {})", render_expr(inner)),
        ExprKind::List(elements) => format!("(list{})", many(elements)),
        ExprKind::Record { name, fields } => {
            let fields: String = fields
                .iter()
                .map(|f| format!(" ({}: {})", f.name.name, render_expr(&f.value)))
                .collect();
            format!("(record {}{})", name.name, fields)
        }
        ExprKind::Field { base, field } => format!("(. {} {})", render_expr(base), field.name),
        ExprKind::TupleIndex { base, index, .. } => format!("(. {} {index})", render_expr(base)),
        ExprKind::If {
            cond,
            then_branch,
            else_branch,
        } => format!(
            "(if {} {} {})",
            render_expr(cond),
            render_expr(then_branch),
            render_expr(else_branch)
        ),
        ExprKind::Block { lets, result } => {
            let lets: String = lets
                .iter()
                .map(|l| {
                    format!(
                        " (let {}{} {})",
                        l.name.name,
                        annotation(&l.ty),
                        render_expr(&l.value)
                    )
                })
                .collect();
            format!("(block{} {})", lets, render_expr(result))
        }
        ExprKind::Unary { op, operand, .. } => {
            let op = match op {
                UnaryOp::Neg => "-",
                UnaryOp::Not => "not",
            };
            format!("({op} {})", render_expr(operand))
        }
        ExprKind::Binary { op, lhs, rhs, .. } => {
            format!(
                "({} {} {})",
                op.as_str(),
                render_expr(lhs),
                render_expr(rhs)
            )
        }
        ExprKind::Error => "<error>".to_string(),
    }
}
