//! Lints: warnings about programs that are valid but probably not what was
//! meant. Each lint lives in its own module and reads what the checker
//! recorded in the [`Program`] plus the syntax trees.
//!
//! A lint can be allowed with a comment directive, which needs no new
//! keyword: `// flowc: allow(unused-let, shadowed-name)`. Placed before the
//! first item of a file, it allows those lints in the whole file; placed
//! anywhere between two items, it allows them for the item that follows.

mod non_assoc_reduce;
mod record_name_case;
mod shadowed_name;
mod unused_let;
mod unused_param;

use std::collections::HashMap;

use flow_lang::ast::{CommentKind, Expr, ExprKind, ItemKind, Module, PolicyEntry};
use flow_lang::{Diagnostic, FileId, Label, Span};

use crate::codes;
use crate::program::{DefId, Program};

/// Every lint: its name (used in `allow(…)`) and code.
pub const LINTS: &[(&str, &str)] = &[
    ("unused-let", codes::UNUSED_LET),
    ("unused-param", codes::UNUSED_PARAM),
    ("shadowed-name", codes::SHADOWED_NAME),
    ("record-name-case", codes::RECORD_NAME_CASE),
    ("non-assoc-reduce", codes::NON_ASSOC_REDUCE),
];

/// What lints read.
pub(crate) struct LintContext<'a> {
    pub modules: &'a HashMap<FileId, Module>,
    pub program: &'a Program,
    /// How many times each definition is referred to.
    pub uses: HashMap<DefId, usize>,
}

impl LintContext<'_> {
    pub fn is_std(&self, def: DefId) -> bool {
        self.program
            .definition(def)
            .is_some_and(|d| crate::std_decls::std_decl_file(d.file).is_some())
    }
}

/// Calls `visit` on every expression of a file, outermost first.
pub(crate) fn walk_module(module: &Module, visit: &mut dyn FnMut(&Expr)) {
    for item in &module.items {
        match &item.kind {
            ItemKind::Param(d) => d.default.iter().for_each(|e| walk_expr(e, visit)),
            ItemKind::Input(d) => walk_expr(&d.source, visit),
            ItemKind::Fn(d) => d.body.iter().for_each(|e| walk_expr(e, visit)),
            ItemKind::Let(d) => walk_expr(&d.value, visit),
            ItemKind::Output(d) => walk_expr(&d.value, visit),
            ItemKind::Policy(p) => {
                for entry in &p.entries {
                    match entry {
                        PolicyEntry::Setting { value, .. } => walk_expr(value, visit),
                        PolicyEntry::DelegateWhen { predicate, .. } => walk_expr(predicate, visit),
                    }
                }
            }
            ItemKind::Import(_) | ItemKind::Type(_) | ItemKind::Extern(_) => {}
        }
    }
}

pub(crate) fn walk_expr(e: &Expr, visit: &mut dyn FnMut(&Expr)) {
    visit(e);
    match &e.kind {
        ExprKind::Call { callee, args } => {
            walk_expr(callee, visit);
            args.iter().for_each(|a| walk_expr(&a.value, visit));
        }
        ExprKind::Lambda { body, .. } => walk_expr(body, visit),
        ExprKind::Tuple(items) | ExprKind::List(items) => {
            items.iter().for_each(|i| walk_expr(i, visit))
        }
        ExprKind::Paren(inner) => walk_expr(inner, visit),
        ExprKind::Record { fields, .. } => fields.iter().for_each(|f| walk_expr(&f.value, visit)),
        ExprKind::Field { base, .. } | ExprKind::TupleIndex { base, .. } => walk_expr(base, visit),
        ExprKind::If {
            cond,
            then_branch,
            else_branch,
        } => {
            walk_expr(cond, visit);
            walk_expr(then_branch, visit);
            walk_expr(else_branch, visit);
        }
        ExprKind::Block { lets, result } => {
            lets.iter().for_each(|l| walk_expr(&l.value, visit));
            walk_expr(result, visit);
        }
        ExprKind::Unary { operand, .. } => walk_expr(operand, visit),
        ExprKind::Binary { lhs, rhs, .. } => {
            walk_expr(lhs, visit);
            walk_expr(rhs, visit);
        }
        _ => {}
    }
}

/// One `// flowc: allow(…)` directive.
#[derive(Debug)]
struct Directive {
    span: Span,
    lints: Vec<(String, Span)>,
}

fn directives(module: &Module) -> Vec<Directive> {
    const PREFIX: &str = "flowc:";
    let mut out = Vec::new();
    for comment in &module.comments {
        if comment.kind != CommentKind::Line {
            continue;
        }
        let text = comment.text.trim_start();
        let Some(rest) = text.strip_prefix(PREFIX) else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(inner) = rest
            .strip_prefix("allow(")
            .and_then(|r| r.trim_end().strip_suffix(')'))
        else {
            continue;
        };
        // Offsets of the names inside the comment, for precise labels; the
        // comment's text starts after its two-character marker.
        let Some(pos) = comment.text.find("allow(") else {
            continue;
        };
        let base = comment.span.start as usize + 2 + pos + "allow(".len();
        let mut offset = 0;
        let mut lints = Vec::new();
        for part in inner.split(',') {
            let name = part.trim();
            let lead = part.len() - part.trim_start().len();
            let start = base + offset + lead;
            lints.push((name.to_string(), Span::new(start, start + name.len())));
            offset += part.len() + 1;
        }
        out.push(Directive {
            span: comment.span,
            lints,
        });
    }
    out
}

/// Runs every lint over the files of the analysis and drops the warnings
/// that a directive allows.
pub(crate) fn run(modules: &HashMap<FileId, Module>, program: &Program) -> Vec<Diagnostic> {
    let mut uses: HashMap<DefId, usize> = HashMap::new();
    for def in program.name_refs.values() {
        *uses.entry(*def).or_default() += 1;
    }
    let ctx = LintContext {
        modules,
        program,
        uses,
    };
    let mut found = Vec::new();
    unused_let::check(&ctx, &mut found);
    unused_param::check(&ctx, &mut found);
    shadowed_name::check(&ctx, &mut found);
    record_name_case::check(&ctx, &mut found);
    non_assoc_reduce::check(&ctx, &mut found);

    let mut out = Vec::new();
    let mut allowed_by_file: HashMap<FileId, Allowed> = HashMap::new();
    for (file, module) in modules {
        let first_item = module
            .items
            .first()
            .map(|i| i.span.start)
            .unwrap_or(u32::MAX);
        let mut whole_file = Vec::new();
        let mut per_item = Vec::new();
        for directive in directives(module) {
            for (name, span) in &directive.lints {
                if !LINTS.iter().any(|(l, _)| l == name) {
                    let hint = crate::check::suggest(name, LINTS.iter().map(|(l, _)| *l));
                    let mut d = Diagnostic::lint(
                        codes::UNKNOWN_LINT,
                        "unknown-lint",
                        format!("unknown lint `{name}`"),
                        Label::new(*file, *span, "not a lint"),
                    );
                    d.help = Some(match hint {
                        Some(h) => format!("did you mean `{h}`?"),
                        None => format!(
                            "the lints are {}",
                            LINTS
                                .iter()
                                .map(|(l, _)| format!("`{l}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                    out.push(d);
                }
            }
            let names: Vec<String> = directive.lints.iter().map(|(n, _)| n.clone()).collect();
            if directive.span.start < first_item {
                whole_file.extend(names);
            } else if let Some(item) = module
                .items
                .iter()
                .find(|i| i.span.start > directive.span.end)
            {
                per_item.push((item.span, names));
            }
        }
        allowed_by_file.insert(
            *file,
            Allowed {
                whole_file,
                per_item,
            },
        );
    }
    // Items the parser could not read are placeholders that only keep their
    // name declared; a lint about them would be noise on top of the syntax
    // error.
    let broken: Vec<(FileId, Span)> = modules
        .iter()
        .flat_map(|(file, module)| {
            module.items.iter().filter_map(move |item| {
                let value = match &item.kind {
                    ItemKind::Let(decl) => &decl.value,
                    ItemKind::Output(decl) => &decl.value,
                    _ => return None,
                };
                matches!(value.kind, ExprKind::Error).then_some((*file, item.span))
            })
        })
        .collect();
    for d in found {
        if broken.iter().any(|(file, span)| {
            *file == d.primary.file
                && span.start <= d.primary.span.start
                && d.primary.span.end <= span.end
        }) {
            continue;
        }
        let lint = d.lint.clone().unwrap_or_default();
        let allowed = allowed_by_file.get(&d.primary.file).is_some_and(|allowed| {
            allowed.whole_file.contains(&lint)
                || allowed.per_item.iter().any(|(item, names)| {
                    item.start <= d.primary.span.start
                        && d.primary.span.end <= item.end
                        && names.contains(&lint)
                })
        });
        if !allowed {
            out.push(d);
        }
    }
    out
}

/// The lints that `allow` directives switch off in one file: those before the
/// first item apply to the whole file, the others to the item that follows.
struct Allowed {
    whole_file: Vec<String>,
    per_item: Vec<(Span, Vec<String>)>,
}
