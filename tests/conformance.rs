//! Conformance: every program under `tests/conformance/` runs through the
//! real `flowc run` and must give the output that `generate.py` computed
//! independently, with one worker, with four, and with tiny chunks, so the
//! answer cannot depend on how the work was split.
//!
//! A case is a folder with `job.flow`, its data, optional `args` (one
//! command-line argument per line), and either `expected.json` (what
//! `--format json` prints), or `expected.txt` (`exit: N`, then lines that
//! must all appear in standard error). `expected_files/PATH.json` holds the
//! parsed content of each output file the job writes (JSON lines and CSV
//! files are compared as lists of rows).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[path = "support/swarm.rs"]
mod swarm;

const FLOWC: &str = env!("CARGO_BIN_EXE_flowc");

/// Copies a case into a fresh temporary folder, so outputs written with
/// `to` never land in the repository.
fn copy_case(case: &Path, run: &str) -> PathBuf {
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    let target = std::env::temp_dir().join(format!(
        "flowc-conformance-{}-{name}-{run}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&target);
    copy_dir(case, &target);
    target
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Parses an output file the way its extension says.
fn parse_output(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} was not written: {e}", path.display()));
    let name = path.to_string_lossy();
    if name.ends_with(".jsonl") {
        Value::Array(
            text.lines()
                .map(|l| serde_json::from_str(l).expect("a JSON line"))
                .collect(),
        )
    } else if name.ends_with(".csv") {
        Value::Array(
            csv_rows(&text)
                .into_iter()
                .map(|row| Value::Array(row.into_iter().map(Value::from).collect()))
                .collect(),
        )
    } else {
        serde_json::from_str(&text).expect("a JSON file")
    }
}

/// RFC 4180 rows: quoted fields may hold commas, quotes (doubled) and
/// line breaks.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

fn run_case(case: &Path, extra: &[&str], label: &str) -> Result<(), String> {
    let dir = copy_case(case, label);
    let mut args: Vec<String> = vec![
        "run".into(),
        "--quiet".into(),
        "--format".into(),
        "json".into(),
        "job.flow".into(),
    ];
    if let Ok(text) = std::fs::read_to_string(case.join("args")) {
        args.extend(text.lines().filter(|l| !l.is_empty()).map(String::from));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let output = Command::new(FLOWC)
        .args(&args)
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run flowc");
    let code = output.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let name = case.file_name().unwrap().to_string_lossy();
    let result = if let Ok(expected) = std::fs::read_to_string(case.join("expected.txt")) {
        let mut lines = expected.lines();
        let want: i32 = lines
            .next()
            .and_then(|l| l.strip_prefix("exit: "))
            .and_then(|n| n.parse().ok())
            .expect("expected.txt starts with `exit: N`");
        if code != want {
            Err(format!(
                "{name} [{label}]: exit {code}, expected {want}\n{stderr}"
            ))
        } else if let Some(missing) = lines.find(|l| !stderr.contains(l)) {
            Err(format!(
                "{name} [{label}]: stderr lacks `{missing}`:\n{stderr}"
            ))
        } else {
            Ok(())
        }
    } else {
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(case.join("expected.json")).expect("expected.json"),
        )
        .expect("expected.json is JSON");
        if code != 0 {
            Err(format!("{name} [{label}]: exit {code}\n{stderr}"))
        } else {
            match serde_json::from_str::<Value>(&stdout) {
                Ok(actual) if actual == expected => check_files(case, &dir, &name, label),
                Ok(actual) => Err(format!(
                    "{name} [{label}]: output differs\n  got:      {actual}\n  expected: {expected}"
                )),
                Err(e) => Err(format!(
                    "{name} [{label}]: stdout is not JSON ({e}): {stdout}"
                )),
            }
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn check_files(case: &Path, dir: &Path, name: &str, label: &str) -> Result<(), String> {
    let expected_dir = case.join("expected_files");
    let mut stack = vec![expected_dir.clone()];
    while let Some(folder) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(&expected_dir).unwrap();
            let relative_text = relative.to_string_lossy();
            let written = dir.join(
                relative_text
                    .strip_suffix(".json")
                    .unwrap_or(&relative_text),
            );
            let expected: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let actual = parse_output(&written);
            if actual != expected {
                return Err(format!(
                    "{name} [{label}]: {} differs\n  got:      {actual}\n  expected: {expected}",
                    relative.display()
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn conformance_programs_give_their_expected_outputs_however_split() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("job.flow").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 25, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        for (extra, label) in [
            (&["--workers", "1"][..], "1 worker"),
            (&["--workers", "4"][..], "4 workers"),
            (&["--workers", "3", "--split", "64"][..], "tiny chunks"),
        ] {
            if let Err(message) = run_case(case, extra, label) {
                failures.push(message);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} runs failed:\n\n{}",
        failures.len(),
        cases.len() * 3,
        failures.join("\n\n")
    );
}

/// The same programs through a swarm of four `flowc peer` processes on
/// 127.0.0.1, with tiny chunks so the work spreads: the outputs (and the
/// errors) must be exactly those of a local run.
#[test]
fn conformance_programs_give_the_same_outputs_through_a_swarm() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("job.flow").is_file())
        .collect();
    cases.sort();
    let peers = swarm::TestSwarm::start(4, 1);
    let join = peers.bootstrap().to_string();
    let extra = ["--workers", "1", "--split", "256", "--join", join.as_str()];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| run_case(case, &extra, "swarm").err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} swarm runs failed:\n\n{}\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n"),
        peers.logs()
    );
}
