//! Runs the TextMate grammar's own test (`editors/vscode/test/grammar.test.js`)
//! under `cargo test`, so a new keyword, standard function or policy key that
//! the editor grammar does not colour fails the build like any other test.
//! The script needs only Node.js, which is part of the machine CI runs on.

use std::path::Path;
use std::process::Command;

#[test]
fn the_vscode_grammar_colours_every_construct() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("editors/vscode/test/grammar.test.js");
    let output = Command::new("node")
        .arg(&script)
        .current_dir(root)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "could not run `node {}` (is Node.js installed?): {error}",
                script.display()
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the grammar test failed ({}):\n{stdout}{stderr}",
        output.status
    );
    assert!(stdout.contains("grammar ok"), "unexpected output: {stdout}");
}
