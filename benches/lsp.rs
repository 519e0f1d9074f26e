//! How long the language server takes to answer an edit of a large file:
//! the real `flowc lsp` binary is started over stdio, opens the generated
//! 5,000-line job of the parse and check benchmarks
//! (`lang/benches/generated_job.rs`), and receives many incremental
//! `didChange` edits spread over the whole file. Each round trip is timed
//! from writing the `didChange` to reading the `publishDiagnostics` of that
//! version, the figure an editor user waits for.
//!
//! Run with `cargo bench -p flowc --bench lsp`; it prints the median,
//! minimum, 90th percentile and maximum over the edits (issue #6 asks for
//! under 50 ms). A number among the arguments sets the edit count (default
//! 120). Not a test: timings are never asserted; the diagnostics are, so
//! that a broken server cannot look fast.

use std::time::{Duration, Instant};

use serde_json::json;

#[path = "../tests/support/lsp_client.rs"]
mod lsp_client;

#[path = "../lang/benches/generated_job.rs"]
mod generated_job;

use lsp_client::{Server, position_of};

/// One edit of the benchmark: replace `old` at byte `at` by `new`, after
/// which the file has `errors` diagnostics.
struct Edit {
    at: usize,
    old: String,
    new: String,
    errors: usize,
}

/// Pairs of edits at places spread over the file: the first of each pair
/// breaks something (a type error, an unknown name, a syntax error), the
/// second restores the text, so the file is valid again after each pair.
fn edits(text: &str, count: usize) -> Vec<Edit> {
    // Places where an edit makes exactly one error: the float literal of a
    // `hot{g}` function (a string instead), the call `float(n{g})` in an
    // output (a typo in the function's name), and the `=` of a `let` (a
    // syntax error).
    let floats: Vec<usize> = text.match_indices("20.5").map(|(at, _)| at).collect();
    let calls: Vec<usize> = text.match_indices("float(n").map(|(at, _)| at).collect();
    let lets: Vec<usize> = text
        .match_indices("\nlet n")
        .filter_map(|(at, _)| text[at..].find(" = ").map(|eq| at + eq + 1))
        .collect();
    let mut out = Vec::new();
    let pairs = count.div_ceil(2);
    for pair in 0..pairs {
        // Walk the file from the top to the bottom and back, so that edits
        // near the start (every later span moves) and near the end both count.
        let spread = |places: &[usize]| {
            let n = places.len().max(1);
            let step = (pair * 7919) % n;
            places.get(step).copied().unwrap_or(0)
        };
        let (at, old, new) = match pair % 3 {
            0 => (spread(&floats), "20.5", "\"hot\""),
            1 => (spread(&calls), "float", "flot"),
            _ => (spread(&lets), "=", "=="),
        };
        out.push(Edit {
            at,
            old: old.to_string(),
            new: new.to_string(),
            errors: 1,
        });
        out.push(Edit {
            at,
            old: new.to_string(),
            new: old.to_string(),
            errors: 0,
        });
    }
    out.truncate(count.max(2) & !1);
    out
}

fn main() {
    let mut text = generated_job::generate(5_000);
    let line_count = text.lines().count();
    let count = std::env::args()
        .find_map(|arg| arg.parse::<usize>().ok())
        .unwrap_or(120)
        .max(2);

    let mut server = Server::start();
    let uri = "file:///nowhere/large.flow";
    server.open(uri, &text);
    let opened = server.diagnostics(uri, Some(1));
    assert_eq!(
        opened["diagnostics"],
        json!([]),
        "the generated job is valid"
    );

    let mut times: Vec<Duration> = Vec::new();
    for (index, edit) in edits(&text, count).into_iter().enumerate() {
        let version = index as i64 + 2;
        let start = position_of(&text, edit.at);
        let end = position_of(&text, edit.at + edit.old.len());
        assert_eq!(
            text.get(edit.at..edit.at + edit.old.len()),
            Some(edit.old.as_str()),
            "edit {index} replaces what is there"
        );
        let change = json!({
            "textDocument": { "uri": uri, "version": version },
            "contentChanges": [{ "range": { "start": start, "end": end }, "text": edit.new }],
        });
        let sent = Instant::now();
        server.notify("textDocument/didChange", change);
        let published = server.diagnostics(uri, Some(version));
        times.push(sent.elapsed());
        text.replace_range(edit.at..edit.at + edit.old.len(), &edit.new);
        let found = published["diagnostics"].as_array().map_or(0, Vec::len);
        assert_eq!(
            found, edit.errors,
            "edit {index} (`{}` to `{}`): {published}",
            edit.old, edit.new
        );
        // A person types at most a key every few tens of milliseconds; the
        // pause lets work the server does after publishing (freeing the
        // replaced analysis) finish, as it would between keystrokes.
        std::thread::sleep(Duration::from_millis(30));
    }
    assert_eq!(server.shutdown(), Some(0));

    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    let n = times.len();
    println!(
        "flowc lsp, {line_count}-line file: didChange -> publishDiagnostics median {:.1} ms \
         (min {:.1}, p90 {:.1}, max {:.1}, {n} edits)",
        ms(times[n / 2]),
        ms(times[0]),
        ms(times[(n * 9 / 10).min(n - 1)]),
        ms(times[n - 1])
    );
}
