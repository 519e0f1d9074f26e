//! `flowc fmt`: rewrites files in the canonical layout of `flow_lang::format`.
//!
//! A file with syntax errors is never rewritten: the formatter works on the
//! syntax tree, and a tree recovered from errors has lost text. Such files
//! are reported with their diagnostics and left as they are.

use std::io::{Read, Write};

use clap::Args;
use flow_lang::render::{self, RenderOptions};
use flow_lang::{Severity, SourceMap};

use super::Exit;
use crate::disk::{display_path, read_source, write_source};
use crate::term::Terminal;

const EXAMPLES: &str = "\
EXAMPLES:
  flowc fmt job.flow                 Format a file in place
  flowc fmt --check examples/*/job.flow
                                     List files that need formatting (exit status 1)
  flowc fmt - < job.flow             Format standard input to standard output";

/// The name standard input is shown under.
const STDIN_NAME: &str = "<stdin>";

/// Format Flow files in place.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct FmtArgs {
    /// Change nothing: print the files that would change and exit with
    /// status 1 if there are any.
    #[arg(long)]
    check: bool,

    /// Files to format; `-` reads standard input and writes standard output.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
}

/// What happened to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Unchanged,
    /// Reformatted (or, with `--check`, would be).
    Changed,
    /// Not formatted: unreadable, syntax errors, or not writable.
    Failed,
}

pub fn run(args: &FmtArgs, terminal: &Terminal) -> Exit {
    let mut failed = false;
    let mut changed = false;
    for file in &args.files {
        let outcome = if file == "-" {
            format_stdin(args.check, terminal.render)
        } else {
            format_file(&display_path(file), args.check, terminal.render)
        };
        failed |= outcome == Outcome::Failed;
        changed |= outcome == Outcome::Changed;
    }
    if failed {
        Exit::Errors
    } else if changed && args.check {
        Exit::Changes
    } else {
        Exit::Success
    }
}

fn format_file(path: &str, check: bool, options: RenderOptions) -> Outcome {
    let text = match read_source(path) {
        Ok(text) => text,
        Err(reason) => {
            report_io_error("E0601", &format!("cannot read `{path}`: {reason}"), options);
            return Outcome::Failed;
        }
    };
    let Some(formatted) = format_text(path, &text, options) else {
        return Outcome::Failed;
    };
    if formatted == text {
        return Outcome::Unchanged;
    }
    if check {
        println!("{path}");
        return Outcome::Changed;
    }
    match write_source(path, &formatted) {
        Ok(()) => Outcome::Changed,
        Err(reason) => {
            report_io_error(
                "E0602",
                &format!("cannot write `{path}`: {reason}"),
                options,
            );
            Outcome::Failed
        }
    }
}

fn format_stdin(check: bool, options: RenderOptions) -> Outcome {
    let mut text = String::new();
    if let Err(error) = std::io::stdin().read_to_string(&mut text) {
        report_io_error(
            "E0601",
            &format!("cannot read standard input: {error}"),
            options,
        );
        return Outcome::Failed;
    }
    let Some(formatted) = format_text(STDIN_NAME, &text, options) else {
        return Outcome::Failed;
    };
    if check {
        if formatted == text {
            return Outcome::Unchanged;
        }
        println!("{STDIN_NAME}");
        return Outcome::Changed;
    }
    // A closed standard output (`flowc fmt - | head`) is not worth an error.
    let _ = std::io::stdout().write_all(formatted.as_bytes());
    if formatted == text {
        Outcome::Unchanged
    } else {
        Outcome::Changed
    }
}

/// The formatted text, or `None` after reporting the syntax errors that make
/// formatting unsafe.
fn format_text(path: &str, text: &str, options: RenderOptions) -> Option<String> {
    let mut sources = SourceMap::new();
    let file = sources.add(path, text);
    let parsed = flow_lang::parse(file, text);
    let errors = parsed
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.is_error())
        .count();
    if errors > 0 {
        eprint!("{}", render::render(&parsed.diagnostics, &sources, options));
        eprintln!(
            "error: `{path}` was not formatted: it has {errors} syntax error{}",
            if errors == 1 { "" } else { "s" }
        );
        return None;
    }
    Some(flow_lang::format(&parsed.module, text))
}

fn report_io_error(code: &str, message: &str, options: RenderOptions) {
    eprint!(
        "{}",
        render::render_message(code, Severity::Error, message, None, options)
    );
}
