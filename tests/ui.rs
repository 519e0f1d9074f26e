//! UI tests: every `tests/ui/*.flow` goes through the real `flowc check`,
//! and its exit status and rendered diagnostics are compared with the
//! snapshot beside it (`tests/snapshots/ui__*.snap`).
//!
//! Files named `ok_*` are valid programs that must check clean; every other
//! file is named after the codes it shows (`e0301_…`, `w0005_…`,
//! `syntax_…`). Files under `tests/ui/lib/` are only imported by others.
//!
//! To add a case, write the `.flow` file and run
//! `cargo insta test --accept --test ui` (or `INSTA_UPDATE=always`), then
//! read the new snapshot before committing it.

use std::path::Path;
use std::process::Command;

const FLOWC: &str = env!("CARGO_BIN_EXE_flowc");

/// Runs `flowc check` on one UI file from inside `tests/ui`, so the paths in
/// the output are short and the same on every machine.
fn check(path: &Path) -> String {
    let dir = path.parent().expect("ui file has a folder");
    let name = path.file_name().expect("ui file has a name");
    let output = Command::new(FLOWC)
        .arg("check")
        .arg("--color")
        .arg("never")
        .arg(name)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run flowc");
    let code = output.status.code().expect("flowc exited by a signal");
    format!(
        "exit: {code}\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn ui() {
    insta::glob!("ui/*.flow", |path| {
        let rendered = check(path);
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if name.starts_with("ok_") {
            assert!(
                rendered.starts_with("exit: 0\n"),
                "{name} must check clean:\n{rendered}"
            );
        } else {
            assert!(
                !rendered.starts_with("exit: 0\n") || rendered.contains("warning"),
                "{name} must report something:\n{rendered}"
            );
        }
        insta::assert_snapshot!(rendered);
    });
}

/// Every code and lint documented in `docs/errors.md` that the checker or
/// parser can report appears in at least one UI snapshot.
#[test]
fn every_documented_code_has_a_ui_test() {
    let docs = include_str!("../docs/errors.md");
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut all = String::new();
    for entry in std::fs::read_dir(&snapshots).expect("snapshots folder") {
        let path = entry.expect("entry").path();
        let is_ui = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("ui__"));
        if is_ui {
            all.push_str(&std::fs::read_to_string(&path).expect("read snapshot"));
        }
    }
    let mut missing = Vec::new();
    for line in docs.lines() {
        let Some(rest) = line.strip_prefix("### ") else {
            continue;
        };
        let code = rest.split(':').next().unwrap_or("").trim();
        // Command-line codes (E06xx) are covered by tests/cli.rs and the
        // conformance tests, compilation codes (E07xx) come from `flowc run`
        // (the CI runs the examples), and E0011 (a source file of 4 GiB or
        // more) cannot be a checked-in file.
        if code.starts_with("E06") || code.starts_with("E07") || code == "E0011" || code.is_empty()
        {
            continue;
        }
        let shown = all
            .lines()
            .any(|line| line.split_whitespace().next() == Some(code));
        if !shown {
            missing.push(code.to_string());
        }
    }
    assert!(missing.is_empty(), "codes without a UI test: {missing:?}");
}
