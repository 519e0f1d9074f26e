//! `unused-let` (W0001): a `let`, at the top level or in a block, that
//! nothing uses.
//!
//! Why: an unused value is usually a leftover or a typo in the name that was
//! meant to use it; on a stream it also costs a whole stage for nothing.
//! Instead: delete it, use it, make it an `output` if it is a result, or
//! start its name with `_` to keep it on purpose.

use flow_lang::{Diagnostic, Label};

use super::LintContext;
use crate::codes;
use crate::program::DefKind;

pub(crate) fn check(ctx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for def in &ctx.program.definitions {
        if !matches!(def.kind, DefKind::Let | DefKind::BlockLet) || def.name.starts_with('_') {
            continue;
        }
        if ctx.uses.get(&def.id).copied().unwrap_or(0) > 0 {
            continue;
        }
        out.push(
            Diagnostic::lint(
                codes::UNUSED_LET,
                "unused-let",
                format!("`{}` is never used", def.name),
                Label::new(def.file, def.span, "unused"),
            )
            .with_help(format!(
                "remove it, make it an `output` if it is a result, or name it `_{}`",
                def.name
            )),
        );
    }
}
