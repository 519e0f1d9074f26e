//! `flowc`: the command line front-end of the Flow toolchain.
//!
//! This binary is deliberately thin. It parses arguments, reads and writes
//! files, picks how to draw diagnostics, and maps outcomes to exit statuses;
//! everything about the language lives in `flow-lang` and `flow-compiler`,
//! which do no IO. Each subcommand is one module under [`cmd`].
//!
//! Exit statuses are shared by every subcommand (see [`cmd::Exit`]): 0 for
//! success, 1 when `fmt --check` finds files to reformat, 2 when the program
//! or the command line has errors.

mod cmd;
mod disk;
mod logging;
mod lsp;
mod progress;
mod run;

mod term;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::term::{ColorChoice, Terminal};

const EXAMPLES: &str = "\
EXAMPLES:
  flowc run examples/wordcount/job.flow       Run a job on this machine
  flowc peer --listen /ip4/0.0.0.0/tcp/7000   Compute parts of other peers' jobs
  flowc run job.flow --join /ip4/10.0.0.5/tcp/7000/p2p/12D3Koo…   Run a job across a swarm
  flowc check examples/wordcount/job.flow     Report errors and lints in a job
  flowc build job.flow -o job.flowpkg         Compile a job into a package file
  flowc fmt examples/*/job.flow               Format files in place
  flowc explain E0201                         Explain one diagnostic code
  flowc completions bash > ~/.local/share/bash-completion/completions/flowc";

/// Check and format Flow pipeline programs.
#[derive(Debug, Parser)]
#[command(name = "flowc", version, after_help = EXAMPLES)]
struct Cli {
    /// When to color diagnostics: `auto` colors only a terminal and honours NO_COLOR.
    #[arg(long, value_enum, global = true, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Check(cmd::check::CheckArgs),
    Run(cmd::run::RunArgs),
    Build(cmd::build::BuildArgs),
    Graph(cmd::graph::GraphArgs),
    Peer(cmd::peer::PeerArgs),
    Fmt(cmd::fmt::FmtArgs),
    Explain(cmd::explain::ExplainArgs),
    Completions(cmd::completions::CompletionsArgs),
    Lsp(lsp::LspArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let terminal = Terminal::for_stderr(cli.color);
    let exit = match cli.command {
        Command::Check(args) => cmd::check::run(&args, &terminal),
        Command::Run(args) => cmd::run::run(&args, &terminal),
        Command::Build(args) => cmd::build::run(&args, &terminal),
        Command::Graph(args) => cmd::graph::run(&args, &terminal),
        Command::Peer(args) => cmd::peer::run(&args, &terminal),
        Command::Fmt(args) => cmd::fmt::run(&args, &terminal),
        Command::Explain(args) => cmd::explain::run(&args, &terminal),
        Command::Completions(args) => cmd::completions::run::<Cli>(&args),
        Command::Lsp(args) => lsp::run(&args),
    };
    exit.into()
}
