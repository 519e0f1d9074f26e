//! `shadowed-name` (W0003): a name that hides another one: a lambda or
//! function parameter or a block `let` with the name of an enclosing
//! binding or a top-level item, or an item with the name of a standard
//! function.
//!
//! Why: after the new binding, the old one cannot be reached, and a reader
//! easily confuses the two. Instead: pick a different name.

use flow_lang::{Diagnostic, Label};

use super::LintContext;
use crate::codes;

pub(crate) fn check(ctx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for (new, hidden) in &ctx.program.shadowing {
        let (Some(new), Some(old)) = (
            ctx.program.definition(*new),
            ctx.program.definition(*hidden),
        ) else {
            continue;
        };
        if new.name.starts_with('_') {
            continue;
        }
        let mut d = Diagnostic::lint(
            codes::SHADOWED_NAME,
            "shadowed-name",
            format!(
                "`{}` hides the {} of the same name",
                new.name,
                old.kind.describe()
            ),
            Label::new(new.file, new.span, "hides another name"),
        )
        .with_help("choose a different name");
        if !ctx.is_std(old.id) {
            d = d.with_secondary(Label::new(old.file, old.span, "hidden definition"));
        }
        out.push(d);
    }
}
