//! `flowc run`: checks a job with the same analysis as `flowc check`,
//! compiles it to a stage module, runs it on this machine's cores, and
//! prints or writes its outputs.

use std::io::{IsTerminal, Write};
use std::path::Path;

use clap::{Args, ValueEnum};
use flow_compiler::plan::PlanLiteral;
use flow_executor::output::{self, NamedOutput, TableOptions, render_outputs, stage_output_file};
use flow_executor::params::{ParamDecl, resolve_params};
use flow_lang::render::{self, RenderOptions};
use flow_lang::{Diagnostic, Label, Span};
use flow_runtime::Value;
use tokio::sync::broadcast;

use super::Exit;
use super::job::{analyze_job, compile_job};
use crate::run::{self, RunFailure, RunOptions};
use crate::term::Terminal;

const EXAMPLES: &str = "\
EXAMPLES:
  flowc run examples/wordcount/job.flow
  flowc run job.flow --param top_n=5 --format json
  flowc run job.flow --workers 1 --split 64KiB   One thread, small chunks
  flowc run job.flow --quiet --format csv > out.csv
  flowc run job.flow --join /ip4/10.0.0.5/tcp/7000/p2p/12D3Koo…   Across a swarm
  flowc run job.flow --via /ip4/127.0.0.1/tcp/7000   Through your own running peer";

/// Run a job on this machine and print its outputs.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct RunArgs {
    /// The job's `.flow` file.
    #[arg(value_name = "FILE")]
    file: String,

    /// A param's value, parsed by its declared type (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,

    /// Worker threads (default: every core). With `--join`, 0 computes
    /// nothing here and delegates the whole job to the swarm.
    #[arg(long, value_name = "N")]
    workers: Option<u32>,

    /// Chunk size, overriding the policy's `split`: bytes of text (`4MiB`,
    /// `64KiB`, `100`) or items of a `range`.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    split: Option<u64>,

    /// How to print the outputs (default: `table` on a terminal, `json`
    /// otherwise).
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,

    /// No progress display.
    #[arg(long, short)]
    quiet: bool,

    /// Run across a swarm: join the peer at this multiaddr (repeatable).
    /// This machine computes its share and delegates the rest.
    #[arg(long, value_name = "ADDR")]
    join: Vec<libp2p::Multiaddr>,

    /// Submit through the running `flowc peer` at this multiaddr (usually
    /// your own): join it and compute nothing here, so its cores take this
    /// machine's share and it delegates on as the policy says. Short for
    /// `--join ADDR --workers 0`.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["join", "workers"])]
    via: Option<libp2p::Multiaddr>,

    /// With --join: also listen on this multiaddr (repeatable).
    #[arg(long, value_name = "ADDR", requires = "join")]
    listen: Vec<libp2p::Multiaddr>,

    /// With --join: the key file that gives this peer a stable id (a fresh
    /// id per run otherwise).
    #[arg(long, value_name = "PATH", requires = "join")]
    identity: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned text for people.
    Table,
    /// One JSON object of every output, in declaration order.
    Json,
    /// One JSON object per line: a line per list element.
    Jsonl,
    /// A CSV block per output, after a `# name` line.
    Csv,
}

fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split_at = t
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split_at);
    let number: u64 = number
        .replace('_', "")
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 4MiB or 1000"))?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}`")),
    };
    number
        .checked_mul(factor)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{text}` is not a positive size"))
}

pub fn run(args: &RunArgs, terminal: &Terminal) -> Exit {
    // `--via ADDR` is `--join ADDR --workers 0`.
    let join: Vec<libp2p::Multiaddr> = args.via.iter().chain(&args.join).cloned().collect();
    let workers = if args.via.is_some() {
        Some(0)
    } else {
        args.workers
    };
    // `--workers 0` submits to the swarm without computing here; with no
    // swarm nothing would compute the job. A usage error, so it is found
    // before the job is analysed and compiled.
    if workers == Some(0) && join.is_empty() {
        eprintln!(
            "{}",
            message(
                "E0607",
                "`--workers 0` needs `--join`: with no swarm, nothing would compute the job",
                terminal
            )
        );
        return Exit::Errors;
    }
    let (analysis, root) = match analyze_job(&args.file, terminal) {
        Ok(job) => job,
        Err(exit) => return exit,
    };
    let package = match compile_job(&analysis, root, terminal) {
        Ok(package) => package,
        Err(exit) => return exit,
    };
    let declared: Vec<ParamDecl> = package
        .plan
        .params
        .iter()
        .map(|param| ParamDecl {
            name: param.name.clone(),
            ty: param.ty.value_type(),
            default: param.default.as_ref().map(literal_value),
        })
        .collect();
    let param_values = match resolve_params(&declared, &args.params) {
        Ok(values) => values,
        Err(errors) => {
            for error in errors {
                eprintln!("{}", message("E0603", &error.to_string(), terminal));
            }
            return Exit::Errors;
        }
    };
    let options = RunOptions {
        workers: workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32)),
        split: args.split,
        quiet: args.quiet,
        swarm: (!join.is_empty()).then(|| run::SwarmOptions {
            join,
            listen: args.listen.clone(),
            identity: args.identity.clone(),
        }),
    };
    let (shutdown, _) = broadcast::channel(1);
    watch_ctrl_c(shutdown.clone());
    let result = match run::run(&package, param_values, &options, &shutdown) {
        Ok(result) => result,
        Err(failure) if failure.kind == "peer" => {
            eprintln!("{}", message("E0605", &failure.message, terminal));
            return Exit::Errors;
        }
        Err(failure) => {
            eprintln!("{}", render_failure(&failure, &analysis, terminal.render));
            return Exit::Failed;
        }
    };

    // Every file output is staged first and committed only when all of them
    // could be written, so a failure leaves none of them behind.
    let mut staged = Vec::new();
    let mut printed = Vec::new();
    for (name, value, ty, to) in &result.outputs {
        let ty = ty.value_type();
        match to {
            Some(to) => match stage_output_file(Path::new(to), value, &ty) {
                Ok(file) => staged.push(file),
                Err(error) => {
                    eprintln!("{}", message("E0604", &error.to_string(), terminal));
                    return Exit::Failed;
                }
            },
            None => printed.push((name.as_str(), value, ty)),
        }
    }
    for file in staged {
        if let Err(error) = file.commit() {
            eprintln!("{}", message("E0604", &error.to_string(), terminal));
            return Exit::Failed;
        }
    }
    let format = match args.format {
        Some(OutputFormat::Table) => output::OutputFormat::Table,
        Some(OutputFormat::Json) => output::OutputFormat::Json,
        Some(OutputFormat::Jsonl) => output::OutputFormat::Jsonl,
        Some(OutputFormat::Csv) => output::OutputFormat::Csv,
        None if std::io::stdout().is_terminal() => output::OutputFormat::Table,
        None => output::OutputFormat::Json,
    };
    let named: Vec<NamedOutput<'_>> = printed
        .iter()
        .map(|(name, value, ty)| NamedOutput { name, value, ty })
        .collect();
    let mut stdout = std::io::stdout().lock();
    let written = render_outputs(&mut stdout, format, &named, &TableOptions::default())
        .and_then(|()| stdout.flush().map_err(output::OutputError::Io));
    match written {
        Ok(()) => Exit::Success,
        // A reader that stops early (`flowc run job.flow | head`) closed the
        // pipe on purpose: that is not a failure of the job.
        Err(output::OutputError::Io(error)) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            Exit::Success
        }
        Err(error) => {
            eprintln!("{}", message("E0604", &error.to_string(), terminal));
            Exit::Failed
        }
    }
}

/// A param default as a value.
fn literal_value(literal: &PlanLiteral) -> Value {
    match literal {
        PlanLiteral::Int(n) => Value::Int(*n),
        PlanLiteral::Float(x) => Value::Float(*x),
        PlanLiteral::Bool(b) => Value::Bool(*b),
        PlanLiteral::Str(s) => Value::Str(s.clone()),
    }
}

/// A diagnostic without a source snippet (a param, an output file).
pub(crate) fn message(code: &str, text: &str, terminal: &Terminal) -> String {
    render::render_message(
        code,
        flow_lang::Severity::Error,
        text,
        None,
        terminal.render,
    )
}

/// Sends on `shutdown` when Ctrl-C is pressed.
fn watch_ctrl_c(shutdown: broadcast::Sender<()>) {
    let _ = std::thread::Builder::new()
        .name("flowc-ctrl-c".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if tokio::signal::ctrl_c().await.is_ok() {
                    let _ = shutdown.send(());
                }
            });
        });
}

/// A run-time failure with its source snippet, stage and data position.
fn render_failure(
    failure: &RunFailure,
    analysis: &flow_compiler::Analysis,
    options: RenderOptions,
) -> String {
    let mut message = failure.message.clone();
    if let Some(stage) = &failure.stage {
        message = format!("{message} (in {stage})");
    }
    let help = failure
        .position
        .as_ref()
        .map(|position| format!("while processing {position}"));
    let code = format!("runtime:{}", failure.kind);
    if let Some((file, start, end)) = &failure.span
        && let Some(file_id) = analysis.sources.find(file)
    {
        let mut diagnostic = Diagnostic::error(
            &code,
            message,
            Label::new(
                file_id,
                Span::new(*start as usize, *end as usize),
                "failed here",
            ),
        );
        if let Some(help) = help {
            diagnostic = diagnostic.with_help(help);
        }
        return render::render_one(&diagnostic, &analysis.sources, options);
    }
    let text = match help {
        Some(help) => format!("{message}\n  {help}"),
        None => message,
    };
    render::render_message(&code, flow_lang::Severity::Error, &text, None, options)
}
