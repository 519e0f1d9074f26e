//! `flowc graph`: draws a job's stage graph (inputs, fused chains,
//! aggregations, values, phases) as Graphviz dot or a Mermaid flowchart on
//! standard output, without running anything.

use clap::{Args, ValueEnum};
use flow_compiler::codegen::CodegenError;
use flow_lang::render;

use crate::cmd::Exit;
use crate::cmd::check::{Unreadable, print_human, summary};
use crate::disk::{DiskProvider, display_path, read_source};
use crate::term::Terminal;

const EXAMPLES: &str = "\
EXAMPLES:
  flowc graph examples/outliers/job.flow | dot -Tsvg > outliers.svg
  flowc graph examples/wordcount/job.flow --format mermaid";

/// Draw a job's stage graph: one cluster per phase, fused chains labelled
/// with their operators.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct GraphArgs {
    /// The job's `.flow` file.
    #[arg(value_name = "FILE")]
    file: String,

    /// The drawing language.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    format: GraphFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz dot (`dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart (Markdown renderers, mermaid.live).
    Mermaid,
}

pub fn run(args: &GraphArgs, terminal: &Terminal) -> Exit {
    let path = display_path(&args.file);
    let mut provider = DiskProvider::new();
    match read_source(&path) {
        Ok(text) => provider.preload(path.clone(), text),
        Err(reason) => {
            print_human(&[Unreadable { path, reason }], &[], None, terminal.render);
            return Exit::Errors;
        }
    }
    let analysis = flow_compiler::analyze(std::slice::from_ref(&path), &provider);
    if analysis.has_errors() {
        print_human(&[], &analysis.diagnostics, Some(&analysis), terminal.render);
        let errors = analysis.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = analysis.diagnostics.len() - errors;
        eprintln!(
            "{}",
            summary(errors, warnings, analysis.sources.len(), terminal.render)
        );
        return Exit::Errors;
    }
    let Some(root) = analysis.sources.find(&path) else {
        return Exit::Errors;
    };
    let lowered = match flow_compiler::lower::lower(&analysis, root) {
        Ok(lowered) => lowered,
        Err(error) => {
            // The same codes as `flowc run` for what cannot be compiled.
            let code = match error {
                CodegenError::Unsupported(_) => "E0701",
                _ => "E0702",
            };
            eprintln!(
                "{}",
                render::render_message(
                    code,
                    flow_lang::Severity::Error,
                    &error.to_string(),
                    None,
                    terminal.render
                )
            );
            return Exit::Errors;
        }
    };
    let graph = &lowered.plan.graph;
    let drawing = match args.format {
        GraphFormat::Dot => graph.to_dot(),
        GraphFormat::Mermaid => graph.to_mermaid(),
    };
    print!("{drawing}");
    Exit::Success
}
