//! `unused-param` (W0002): a job `param` or a function parameter that is
//! never used.
//!
//! Why: `--param name=value` for an unused param silently changes nothing,
//! and an unused function parameter usually means the body uses the wrong
//! name. Instead: use it, remove it, or start its name with `_`.

use flow_lang::{Diagnostic, Label};

use super::LintContext;
use crate::codes;
use crate::program::DefKind;

pub(crate) fn check(ctx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for def in &ctx.program.definitions {
        if !matches!(def.kind, DefKind::Param | DefKind::FnParam) || def.name.starts_with('_') {
            continue;
        }
        if ctx.uses.get(&def.id).copied().unwrap_or(0) > 0 {
            continue;
        }
        let what = if def.kind == DefKind::Param {
            "param"
        } else {
            "parameter"
        };
        out.push(
            Diagnostic::lint(
                codes::UNUSED_PARAM,
                "unused-param",
                format!("{what} `{}` is never used", def.name),
                Label::new(def.file, def.span, "unused"),
            )
            .with_help(format!("remove it or name it `_{}`", def.name)),
        );
    }
}
