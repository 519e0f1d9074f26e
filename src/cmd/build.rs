//! `flowc build`: checks a job with the same analysis as `flowc run`,
//! compiles it, and writes its job package (the plan and the stage modules,
//! each named by the blake3 digest of its bytes; see
//! `flow_compiler::package`) to a file, without running anything.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use flow_compiler::package::JobPackage;
use flow_lang::render;

use super::Exit;
use super::job::{analyze_job, compile_job};
use crate::term::Terminal;

const EXAMPLES: &str = "\
EXAMPLES:
  flowc build examples/wordcount/job.flow -o wordcount.flowpkg
  flowc build job.flow                      Writes job.flowpkg beside job.flow
  flowc build job.flow -o out/job.flowpkg --quiet";

/// Compile a job into a package file: its plan and stage modules, each
/// module named by the blake3 hash of its bytes.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct BuildArgs {
    /// The job's `.flow` file.
    #[arg(value_name = "FILE")]
    file: String,

    /// Where to write the package (default: FILE with the extension
    /// `.flowpkg`). Folders are created.
    #[arg(long, short, value_name = "PATH")]
    output: Option<PathBuf>,

    /// Print nothing about what was written.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: &BuildArgs, terminal: &Terminal) -> Exit {
    let (analysis, root) = match analyze_job(&args.file, terminal) {
        Ok(job) => job,
        Err(exit) => return exit,
    };
    // `compile_job` reads the job's `extern fn` tool modules, which are
    // linked into the stage module.
    let package = match compile_job(&analysis, root, terminal) {
        Ok(package) => package,
        Err(exit) => return exit,
    };
    let target = args
        .output
        .clone()
        .unwrap_or_else(|| Path::new(&args.file).with_extension("flowpkg"));
    let bytes = package.to_bytes();
    if let Err(reason) = write_atomically(&target, &bytes) {
        let text = format!("cannot write `{}`: {reason}", target.display());
        eprintln!(
            "{}",
            render::render_message(
                "E0606",
                flow_lang::Severity::Error,
                &text,
                None,
                terminal.render
            )
        );
        return Exit::Errors;
    }
    if !args.quiet {
        eprint!("{}", report(&package, &target, bytes.len()));
    }
    Exit::Success
}

/// What was written: the package, then one line per module (digest and
/// size), the plan's module marked.
fn report(package: &JobPackage, target: &Path, total: usize) -> String {
    let plan = &package.plan;
    // Group passes are how stages run, not stages of their own.
    let stages = plan.stages.iter().filter(|s| s.members.is_empty()).count();
    let passes = (0..plan.phase_count())
        .map(|phase| plan.passes(phase).count())
        .sum::<usize>();
    let mut out = format!(
        "wrote {} ({}, {} stage{} in {} pass{}, {} output{}, {} phase{})\n",
        target.display(),
        size(total as u64),
        stages,
        plural(stages),
        passes,
        if passes == 1 { "" } else { "es" },
        plan.outputs().count(),
        plural(plan.outputs().count()),
        plan.phase_count(),
        plural(plan.phase_count() as usize),
    );
    for (digest, module) in &package.modules {
        let role = if *digest == plan.module {
            "stage module"
        } else {
            "module"
        };
        out.push_str(&format!(
            "  {role} blake3:{digest} {}\n",
            size(module.len() as u64)
        ));
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A byte count for people: exact bytes, and KiB or MiB when large.
fn size(bytes: u64) -> String {
    const KIB: u64 = 1 << 10;
    const MIB: u64 = 1 << 20;
    if bytes >= MIB {
        format!("{bytes} bytes, {:.1} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= KIB {
        format!("{bytes} bytes, {:.1} KiB", bytes as f64 / KIB as f64)
    } else {
        format!("{bytes} bytes")
    }
}

/// Writes `bytes` to a temporary file beside `target` and renames it into
/// place, so a failure never leaves a half-written package. Creates the
/// target's folder.
fn write_atomically(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = match target.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&folder)?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "package".to_owned());
    let temporary = folder.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temporary, target));
    if renamed.is_err() {
        // The temporary file is ours; a failure to remove it changes nothing.
        let _ = std::fs::remove_file(&temporary);
    }
    renamed
}
