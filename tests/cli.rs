//! End-to-end tests of the `flowc` binary: exit statuses, output shapes and
//! rendered diagnostics, run on temporary files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

const FLOWC: &str = env!("CARGO_BIN_EXE_flowc");

/// A job with no errors and no lints, already in canonical layout.
const CLEAN_JOB: &str = include_str!("../examples/wordcount/job.flow");

/// A job with one unknown name, the simplest error every checker reports.
const UNKNOWN_NAME_JOB: &str = "\
input numbers = range(0, 10)

output total = numbers |> map(n => n * factor) |> sum()
";

/// A file the parser cannot read as a program.
const SYNTAX_ERROR_JOB: &str = "\
output total = range(0, 10) |> sum(
";

/// A directory under the system temp folder, removed when dropped.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let unique = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("flowc-cli-test-{}-{unique}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path.join(name);
        std::fs::write(&path, text).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Runs flowc in `dir` with colors off by environment, as a user piping its
/// output would.
fn flowc(dir: &Path, args: &[&str]) -> Output {
    Command::new(FLOWC)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run flowc")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn status(output: &Output) -> i32 {
    output.status.code().expect("flowc exited by a signal")
}

#[test]
fn check_clean_job_exits_zero() {
    let dir = TempDir::new();
    dir.write("job.flow", CLEAN_JOB);
    let output = flowc(&dir.path, &["check", "job.flow"]);
    assert_eq!(status(&output), 0, "stderr: {}", stderr(&output));
    assert!(stderr(&output).contains("no problems"));
}

#[test]
fn check_with_errors_exits_two_and_summarises() {
    let dir = TempDir::new();
    dir.write("job.flow", UNKNOWN_NAME_JOB);
    let output = flowc(&dir.path, &["check", "job.flow"]);
    assert_eq!(status(&output), 2);
    let text = stderr(&output);
    assert!(text.contains("factor"), "stderr: {text}");
    assert!(text.contains("job.flow:3:"), "stderr: {text}");
    let last = text.lines().last().unwrap_or("");
    assert!(
        last.starts_with("error: ") && last.contains("error"),
        "last line: {last}"
    );
}

#[test]
fn check_unreadable_file_exits_two_with_e0601() {
    let dir = TempDir::new();
    let output = flowc(&dir.path, &["check", "missing.flow"]);
    assert_eq!(status(&output), 2);
    let text = stderr(&output);
    assert!(text.contains("E0601"), "stderr: {text}");
    assert!(
        text.contains("cannot read `missing.flow`"),
        "stderr: {text}"
    );
    assert!(
        text.trim_end().ends_with("error: 1 error"),
        "stderr: {text}"
    );
}

#[test]
fn check_json_prints_one_object_per_line() {
    let dir = TempDir::new();
    dir.write("job.flow", UNKNOWN_NAME_JOB);
    let output = flowc(
        &dir.path,
        &[
            "check",
            "--message-format",
            "json",
            "job.flow",
            "missing.flow",
        ],
    );
    assert_eq!(status(&output), 2);
    let objects: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    let (summary, diagnostics) = objects.split_last().expect("a summary line");
    assert_eq!(summary["type"], "summary");
    assert!(summary["errors"].as_u64().unwrap_or(0) >= 2);
    assert!(
        diagnostics
            .iter()
            .any(|d| d["code"] == "E0601" && d["file"] == "missing.flow")
    );
    let unknown = diagnostics
        .iter()
        .find(|d| d["file"] == "job.flow")
        .expect("a diagnostic about job.flow");
    assert_eq!(unknown["type"], "diagnostic");
    assert_eq!(unknown["severity"], "error");
    assert!(
        unknown["code"]
            .as_str()
            .is_some_and(|code| code.starts_with('E'))
    );
    let primary = &unknown["labels"][0];
    assert_eq!(primary["primary"], true);
    assert_eq!(primary["file"], "job.flow");
    assert_eq!(primary["line"], 3);
    let start = primary["start"].as_u64().expect("byte start") as usize;
    let end = primary["end"].as_u64().expect("byte end") as usize;
    assert_eq!(UNKNOWN_NAME_JOB.get(start..end), Some("factor"));
    let line_start = UNKNOWN_NAME_JOB[..start].rfind('\n').map_or(0, |i| i + 1);
    assert_eq!(
        primary["column"].as_u64(),
        Some((start - line_start + 1) as u64)
    );
}

#[test]
fn rendered_unknown_name_snapshot() {
    let dir = TempDir::new();
    dir.write("job.flow", UNKNOWN_NAME_JOB);
    let output = flowc(&dir.path, &["check", "--color", "never", "job.flow"]);
    insta::assert_snapshot!(stderr(&output));
}

#[test]
fn rendered_syntax_error_snapshot() {
    let dir = TempDir::new();
    dir.write("job.flow", SYNTAX_ERROR_JOB);
    let output = flowc(&dir.path, &["fmt", "--color", "never", "job.flow"]);
    assert_eq!(status(&output), 2);
    insta::assert_snapshot!(stderr(&output));
}

#[test]
fn no_color_output_has_no_escape_codes() {
    let dir = TempDir::new();
    dir.write("job.flow", UNKNOWN_NAME_JOB);
    let output = flowc(&dir.path, &["check", "job.flow"]);
    assert!(!stderr(&output).contains('\u{1b}'));
    let forced = flowc(&dir.path, &["check", "--color", "always", "job.flow"]);
    assert!(stderr(&forced).contains('\u{1b}'), "--color always paints");
}

#[test]
fn fmt_rewrites_in_place_and_check_lists_changed_files() {
    let dir = TempDir::new();
    let messy = "output   total=range(0,10)|>sum()\n";
    let path = dir.write("job.flow", messy);

    let check = flowc(&dir.path, &["fmt", "--check", "job.flow"]);
    assert_eq!(status(&check), 1);
    assert_eq!(stdout(&check).trim(), "job.flow");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        messy,
        "--check writes nothing"
    );

    let format = flowc(&dir.path, &["fmt", "job.flow"]);
    assert_eq!(status(&format), 0, "stderr: {}", stderr(&format));
    let formatted = std::fs::read_to_string(&path).unwrap();
    assert_ne!(formatted, messy);
    assert!(formatted.contains("output total"));

    let again = flowc(&dir.path, &["fmt", "--check", "job.flow"]);
    assert_eq!(status(&again), 0, "formatting is idempotent");
    assert_eq!(stdout(&again), "");
}

#[test]
fn fmt_refuses_files_with_syntax_errors() {
    let dir = TempDir::new();
    let path = dir.write("job.flow", SYNTAX_ERROR_JOB);
    let output = flowc(&dir.path, &["fmt", "job.flow"]);
    assert_eq!(status(&output), 2);
    assert!(stderr(&output).contains("not formatted"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), SYNTAX_ERROR_JOB);
}

#[test]
fn fmt_reads_stdin_and_writes_stdout() {
    use std::io::Write;
    let mut child = Command::new(FLOWC)
        .args(["fmt", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run flowc");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"output   total=range(0,10)|>sum()\n")
        .expect("write stdin");
    let output = child.wait_with_output().expect("wait for flowc");
    assert_eq!(status(&output), 0, "stderr: {}", stderr(&output));
    assert!(stdout(&output).contains("output total"));
}

#[test]
fn explain_known_code_prints_its_entry() {
    let dir = TempDir::new();
    let output = flowc(&dir.path, &["explain", "e0601"]);
    assert_eq!(status(&output), 0);
    let text = stdout(&output);
    assert!(
        text.starts_with("E0601: cannot read a source file"),
        "{text}"
    );
    assert!(!text.contains("### E0602"), "stops at the next entry");
}

#[test]
fn explain_unknown_code_exits_two_with_a_suggestion() {
    let dir = TempDir::new();
    let output = flowc(&dir.path, &["explain", "E0610"]);
    assert_eq!(status(&output), 2);
    assert!(stderr(&output).contains("did you mean `E0601`?"));
}

#[test]
fn completions_are_generated_for_each_shell() {
    let dir = TempDir::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = flowc(&dir.path, &["completions", shell]);
        assert_eq!(status(&output), 0, "{shell}");
        assert!(
            stdout(&output).contains("explain"),
            "{shell} completes subcommands"
        );
    }
}

#[test]
fn every_subcommand_help_has_examples() {
    let dir = TempDir::new();
    for subcommand in ["check", "fmt", "explain", "completions"] {
        let output = flowc(&dir.path, &[subcommand, "--help"]);
        assert_eq!(status(&output), 0, "{subcommand}");
        assert!(stdout(&output).contains("EXAMPLES:"), "{subcommand}");
    }
}

#[test]
fn version_and_usage_errors() {
    let dir = TempDir::new();
    let version = flowc(&dir.path, &["--version"]);
    assert_eq!(status(&version), 0);
    assert!(stdout(&version).starts_with("flowc "));
    let usage = flowc(&dir.path, &["check"]);
    assert_eq!(status(&usage), 2, "a missing FILE is a command-line error");
}

#[test]
fn run_into_a_closed_pipe_exits_zero_quietly() {
    // A reader that stops early (`flowc run job.flow | head`) closes the pipe;
    // flowc must not call that a failed output.
    let dir = TempDir::new();
    let job = dir.write(
        "job.flow",
        "input numbers = range(0, 200000)\n\noutput all = numbers |> map(n => n * 2) |> sort()\n",
    );
    let mut child = Command::new(FLOWC)
        .args(["run", job.to_str().unwrap(), "--format", "jsonl", "--quiet"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run flowc");
    // Read one byte and close the pipe, long before the output is written.
    let mut reader = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(&mut reader, &mut first).expect("first byte");
    drop(reader);
    let output = child.wait_with_output().expect("wait for flowc");
    assert_eq!(status(&output), 0, "stderr: {}", stderr(&output));
    assert_eq!(stderr(&output), "");
}

#[test]
fn build_writes_a_package_whose_module_hashes_verify() {
    use flow_compiler::package::{JobPackage, module_digest};
    let dir = TempDir::new();
    dir.write(
        "job.flow",
        "input xs = range(0, 10)\noutput total = xs |> sum()\n",
    );
    let output = flowc(
        &dir.path,
        &["build", "job.flow", "-o", "out/deep/job.flowpkg"],
    );
    assert_eq!(status(&output), 0, "stderr: {}", stderr(&output));
    assert!(stdout(&output).is_empty(), "results only go to stdout");
    let bytes = std::fs::read(dir.path.join("out/deep/job.flowpkg")).expect("the package");
    let package = JobPackage::from_bytes(&bytes).expect("the package opens");
    assert_eq!(package.plan.outputs().count(), 1);
    assert!(!package.modules.is_empty());
    for (digest, module) in &package.modules {
        assert_eq!(&module_digest(module), digest);
        // The report names every module with its digest and size.
        let line = format!("blake3:{digest} {} bytes", module.len());
        assert!(
            stderr(&output).contains(&line),
            "stderr: {}",
            stderr(&output)
        );
    }
    assert!(stderr(&output).starts_with("wrote out/deep/job.flowpkg ("));
    // No temporary file is left beside the package.
    let entries = std::fs::read_dir(dir.path.join("out/deep"))
        .unwrap()
        .count();
    assert_eq!(entries, 1);
    let help = flowc(&dir.path, &["build", "--help"]);
    assert!(stdout(&help).contains("EXAMPLES:"));
}

#[test]
fn build_defaults_to_the_flow_file_name_and_quiet_prints_nothing() {
    let dir = TempDir::new();
    dir.write("job.flow", CLEAN_JOB);
    let output = flowc(&dir.path, &["build", "job.flow", "--quiet"]);
    assert_eq!(status(&output), 0, "stderr: {}", stderr(&output));
    assert!(stderr(&output).is_empty(), "stderr: {}", stderr(&output));
    let bytes = std::fs::read(dir.path.join("job.flowpkg")).expect("job.flowpkg");
    flow_compiler::package::JobPackage::from_bytes(&bytes).expect("the package opens");
}

#[test]
fn build_refuses_what_run_refuses_with_exit_two() {
    let dir = TempDir::new();
    // A program with errors: the same diagnostics as `flowc check`.
    dir.write("bad.flow", UNKNOWN_NAME_JOB);
    let output = flowc(&dir.path, &["build", "bad.flow"]);
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("E0101"),
        "stderr: {}",
        stderr(&output)
    );
    assert!(!dir.path.join("bad.flowpkg").exists());
    // A file that cannot be read.
    let output = flowc(&dir.path, &["build", "missing.flow"]);
    assert_eq!(status(&output), 2);
    assert!(stderr(&output).contains("E0601"));
    // An `extern fn` whose module file does not exist.
    dir.write(
        "ext.flow",
        "extern fn score(s: str) -> float from \"score.wasm\"\ninput ls = lines(\"*.txt\")\noutput t = ls |> map(l => score(l)) |> sum()\n",
    );
    let output = flowc(&dir.path, &["build", "ext.flow"]);
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("E0703"),
        "stderr: {}",
        stderr(&output)
    );
    // A package that cannot be written: its folder is a file.
    dir.write(
        "job.flow",
        "input xs = range(0, 3)\noutput n = xs |> count()\n",
    );
    dir.write("blocker", "a file, not a folder");
    let output = flowc(
        &dir.path,
        &["build", "job.flow", "-o", "blocker/job.flowpkg"],
    );
    assert_eq!(status(&output), 2);
    assert!(
        stderr(&output).contains("E0606"),
        "stderr: {}",
        stderr(&output)
    );
    let output = flowc(&dir.path, &["explain", "E0606"]);
    assert_eq!(status(&output), 0);
    assert!(stdout(&output).contains("cannot write the job package"));
}

#[test]
fn a_peer_that_cannot_start_reports_e0605_and_exits_two() {
    let dir = TempDir::new();
    let key = dir.write("identity.key", "not a key");
    let bad_key = flowc(&dir.path, &["peer", "--identity", key.to_str().unwrap()]);
    assert_eq!(status(&bad_key), 2, "{}", stderr(&bad_key));
    assert!(stderr(&bad_key).contains("E0605"), "{}", stderr(&bad_key));
    assert!(stderr(&bad_key).contains("not a flowc identity key"));
    let fresh = dir.path.join("fresh.key");
    let bad_address = flowc(
        &dir.path,
        &[
            "peer",
            "--identity",
            fresh.to_str().unwrap(),
            "--listen",
            "/ip4/203.0.113.7/tcp/1",
        ],
    );
    assert_eq!(status(&bad_address), 2, "{}", stderr(&bad_address));
    assert!(stderr(&bad_address).contains("cannot listen on"));
    // The key was created on this first start, owner-readable only.
    assert!(fresh.is_file());
}

#[test]
fn run_with_no_workers_and_no_swarm_reports_e0607_and_exits_two() {
    let dir = TempDir::new();
    dir.write(
        "job.flow",
        "input xs = range(0, 10)\noutput n = xs |> count()\n",
    );
    let output = flowc(&dir.path, &["run", "job.flow", "--workers", "0"]);
    assert_eq!(status(&output), 2, "{}", stderr(&output));
    assert!(stderr(&output).contains("E0607"), "{}", stderr(&output));
    assert!(stderr(&output).contains("needs `--join`"));
    assert!(stdout(&output).is_empty(), "no result: {}", stdout(&output));
    // The same job with workers runs.
    let output = flowc(
        &dir.path,
        &["run", "job.flow", "--workers", "1", "--format", "json"],
    );
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), r#"{"n":10}"#);
}
