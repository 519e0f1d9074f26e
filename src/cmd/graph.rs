//! `flowc graph`: draws a job's stage graph (inputs, fused chains,
//! aggregations, values, phases) as Graphviz dot or a Mermaid flowchart on
//! standard output, without running anything.

use clap::{Args, ValueEnum};

use super::Exit;
use super::job::{analyze_job, report_codegen_error};
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
    let (analysis, root) = match analyze_job(&args.file, terminal) {
        Ok(job) => job,
        Err(exit) => return exit,
    };
    let lowered = match flow_compiler::lower::lower(&analysis, root) {
        Ok(lowered) => lowered,
        Err(error) => return report_codegen_error(&error, terminal),
    };
    let graph = &lowered.plan.graph;
    let drawing = match args.format {
        GraphFormat::Dot => graph.to_dot(),
        GraphFormat::Mermaid => graph.to_mermaid(),
    };
    print!("{drawing}");
    Exit::Success
}
