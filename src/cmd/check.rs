//! `flowc check`: parses, resolves and type-checks programs, and reports
//! every error and lint without running anything.

use clap::{Args, ValueEnum};
use flow_compiler::Analysis;
use flow_lang::Diagnostic;
use flow_lang::render::{self, RenderOptions};
use serde_json::{Value, json};

use super::Exit;
use crate::disk::{DiskProvider, display_path, read_source};
use crate::term::Terminal;

const EXAMPLES: &str = "\
EXAMPLES:
  flowc check examples/wordcount/job.flow
  flowc check examples/*/job.flow            Several jobs at once
  flowc check --message-format json job.flow One JSON object per line on stdout
  NO_COLOR=1 flowc check job.flow            Plain output";

/// Check programs for errors and lints without running them.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct CheckArgs {
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    message_format: MessageFormat,

    /// The `.flow` files to check; the files they import are checked too.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    /// Source snippets on standard error, for people.
    Human,
    /// One JSON object per line on standard output, for tools: every
    /// diagnostic (`"type": "diagnostic"`), then a `"type": "summary"`.
    Json,
}

/// A file named on the command line that could not be read.
pub(crate) struct Unreadable {
    pub(crate) path: String,
    pub(crate) reason: String,
}

pub fn run(args: &CheckArgs, terminal: &Terminal) -> Exit {
    let mut provider = DiskProvider::new();
    let mut roots: Vec<String> = Vec::new();
    let mut unreadable = Vec::new();
    for file in &args.files {
        let path = display_path(file);
        if roots.contains(&path) {
            continue;
        }
        match read_source(&path) {
            Ok(text) => {
                provider.preload(path.clone(), text);
                roots.push(path);
            }
            Err(reason) => unreadable.push(Unreadable { path, reason }),
        }
    }

    let analysis = (!roots.is_empty()).then(|| flow_compiler::analyze(&roots, &provider));
    // The checker sorts its diagnostics by file and position already.
    let diagnostics: &[Diagnostic] = analysis
        .as_ref()
        .map_or(&[], |analysis| analysis.diagnostics.as_slice());
    let errors = unreadable.len() + diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.iter().filter(|d| !d.is_error()).count();
    let files_checked = analysis
        .as_ref()
        .map_or(0, |analysis| analysis.sources.len());

    match args.message_format {
        MessageFormat::Human => {
            print_human(&unreadable, diagnostics, analysis.as_ref(), terminal.render);
            eprintln!(
                "{}",
                summary(errors, warnings, files_checked, terminal.render)
            );
        }
        MessageFormat::Json => {
            print_json(&unreadable, diagnostics, analysis.as_ref());
            println!(
                "{}",
                json!({
                    "type": "summary",
                    "errors": errors,
                    "warnings": warnings,
                    "files": files_checked,
                })
            );
        }
    }

    let has_errors = errors > 0 || analysis.as_ref().is_some_and(Analysis::has_errors);
    if has_errors {
        Exit::Errors
    } else {
        Exit::Success
    }
}

pub(crate) fn print_human(
    unreadable: &[Unreadable],
    diagnostics: &[Diagnostic],
    analysis: Option<&Analysis>,
    options: RenderOptions,
) {
    for file in unreadable {
        eprintln!(
            "{}",
            render::render_message(
                "E0601",
                flow_lang::Severity::Error,
                &format!("cannot read `{}`: {}", file.path, file.reason),
                None,
                options,
            )
        );
    }
    if let Some(analysis) = analysis {
        for diagnostic in diagnostics {
            eprintln!(
                "{}",
                render::render_one(diagnostic, &analysis.sources, options)
            );
        }
    }
}

fn print_json(unreadable: &[Unreadable], diagnostics: &[Diagnostic], analysis: Option<&Analysis>) {
    for file in unreadable {
        println!(
            "{}",
            json!({
                "type": "diagnostic",
                "code": "E0601",
                "severity": "error",
                "message": format!("cannot read `{}`: {}", file.path, file.reason),
                "lint": null,
                "file": file.path,
                "labels": [],
                "help": null,
            })
        );
    }
    if let Some(analysis) = analysis {
        for diagnostic in diagnostics {
            let mut value = render::to_json(diagnostic, &analysis.sources);
            if let Value::Object(fields) = &mut value {
                fields.insert("type".to_string(), Value::from("diagnostic"));
            }
            println!("{value}");
        }
    }
}

/// The last line of human output: `error: 3 errors, 1 warning`.
pub(crate) fn summary(
    errors: usize,
    warnings: usize,
    files: usize,
    options: RenderOptions,
) -> String {
    let counted = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let (severity, ansi) = if errors > 0 {
        ("error", "1;31")
    } else if warnings > 0 {
        ("warning", "1;33")
    } else {
        ("ok", "1;32")
    };
    let severity = if options.color {
        format!("\u{1b}[{ansi}m{severity}\u{1b}[0m")
    } else {
        severity.to_string()
    };
    match (errors, warnings) {
        (0, 0) => format!(
            "{severity}: {} checked, no problems",
            counted(files, "file")
        ),
        (0, _) => format!("{severity}: {}", counted(warnings, "warning")),
        (_, 0) => format!("{severity}: {}", counted(errors, "error")),
        _ => format!(
            "{severity}: {}, {}",
            counted(errors, "error"),
            counted(warnings, "warning")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_with_plurals() {
        let plain = RenderOptions::plain();
        assert_eq!(summary(3, 1, 2, plain), "error: 3 errors, 1 warning");
        assert_eq!(summary(1, 0, 1, plain), "error: 1 error");
        assert_eq!(summary(0, 2, 1, plain), "warning: 2 warnings");
        assert_eq!(summary(0, 0, 1, plain), "ok: 1 file checked, no problems");
    }
}
