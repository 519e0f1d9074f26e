//! The programs of the repository as a corpus: every example job and every
//! UI test.
//!
//! Shared by the robustness and formatting tests (`mod corpus;`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `(path, text)` of every `examples/*/job.flow` and `tests/ui/**/*.flow`.
pub fn programs() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root.join("examples")).expect("examples folder") {
        let path = entry.expect("entry").path().join("job.flow");
        if path.is_file() {
            found.push(path);
        }
    }
    collect_flow_files(&root.join("tests/ui"), &mut found);
    found.sort();
    found
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read program");
            (path, text)
        })
        .collect()
}

fn collect_flow_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("ui folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect_flow_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "flow") {
            out.push(path);
        }
    }
}
