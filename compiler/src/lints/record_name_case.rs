//! `record-name-case` (W0004): a record type whose name does not start with
//! an upper-case letter.
//!
//! Why: by convention type names are `UpperCamelCase` and values are
//! `snake_case`, so a reader tells them apart at a glance (`Row { … }` is a
//! record literal, `row` a value). Instead: capitalise it, `reading` →
//! `Reading`.

use flow_lang::{Diagnostic, Label};

use super::LintContext;
use crate::codes;
use crate::program::DefKind;

/// `snake_case` or `camelCase` to `UpperCamelCase`.
fn upper_camel(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut chars = p.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

pub(crate) fn check(ctx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for def in &ctx.program.definitions {
        if def.kind != DefKind::Type || def.name.chars().next().is_some_and(char::is_uppercase) {
            continue;
        }
        out.push(
            Diagnostic::lint(
                codes::RECORD_NAME_CASE,
                "record-name-case",
                format!(
                    "record type `{}` should start with an upper-case letter",
                    def.name
                ),
                Label::new(def.file, def.span, "lower-case type name"),
            )
            .with_help(format!("rename it to `{}`", upper_camel(&def.name))),
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_become_upper_camel_case() {
        assert_eq!(super::upper_camel("station_reading"), "StationReading");
        assert_eq!(super::upper_camel("row"), "Row");
    }
}
