//! The language server through the real binary: `flowc lsp` is started as
//! an editor starts it, and spoken to over stdio with JSON-RPC framing
//! (`Content-Length` headers and all) by the client in
//! `tests/support/lsp_client.rs`, which the round-trip benchmark
//! (`benches/lsp.rs`) shares.
//!
//! - Fixtures: every `tests/lsp/*.flow` and every `tests/lsp/*/main.flow`
//!   (a multi-file project whose other files are imported) holds a cursor
//!   marker `$0` (and optionally `$1`, the end of a range) and one or more
//!   lines `// lsp: <request> [argument]`. The file is opened with the
//!   markers removed, each request is sent at the cursor, and the answers
//!   are compared with the snapshot `tests/snapshots/lsp__fixture@….snap`.
//!   Requests: `diagnostics` (published after opening), `hover`,
//!   `definition`, `references`, `prepareRename`, `rename NEW`,
//!   `completion`, `signatureHelp`, `documentSymbol`, `formatting`,
//!   `semanticTokens` (decoded to one `line:column text type` per token),
//!   `change "TEXT"` (an incremental edit replacing `$0`..`$1`, or what the
//!   previous `change` put there, with the JSON string TEXT, answered by the
//!   diagnostics published for the new version). Requests after a `change`
//!   see the changed text at the cursor position of `$0`.
//! - `check_and_server_agree_on_every_ui_file`: for every `tests/ui/*.flow`,
//!   the server publishes the diagnostics `flowc check --message-format
//!   json` prints (codes, severities, ranges, messages, related locations).
//! - A handler that panics answers with an error and the server keeps going;
//!   `shutdown` then `exit` ends it with status 0.
//! - `large_file_change`: a generated 5,000-line job, an error introduced
//!   and then removed by incremental edits, near the end and near the start
//!   of the file. How fast that is, is measured by `cargo bench --bench lsp`.
//!
//! To add a fixture, write it and run `cargo insta test --accept --test lsp`
//! (or `INSTA_UPDATE=always`), then read the new snapshot before committing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

#[path = "support/lsp_client.rs"]
mod lsp_client;

use lsp_client::{FLOWC, Server, file_uri, position_of, range_of};

#[test]
fn position_of_counts_utf16_code_units() {
    let text = "ab\nπ😀x\n";
    assert_eq!(position_of(text, 0), json!({ "line": 0, "character": 0 }));
    assert_eq!(position_of(text, 3), json!({ "line": 1, "character": 0 }));
    // π is one UTF-16 unit (two bytes), 😀 two units (four bytes).
    assert_eq!(position_of(text, 5), json!({ "line": 1, "character": 1 }));
    assert_eq!(position_of(text, 9), json!({ "line": 1, "character": 3 }));
}

// ----- fixtures -----------------------------------------------------------------

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("lsp")
}

/// A fixture's text with its markers removed, and where they were.
struct Marked {
    text: String,
    cursor: usize,
    end: Option<usize>,
    requests: Vec<String>,
}

fn parse_fixture(raw: &str) -> Marked {
    let cursor = raw.find("$0").expect("a fixture has a `$0` cursor marker");
    let mut text = raw.replacen("$0", "", 1);
    let end = text.find("$1");
    if end.is_some() {
        text = text.replacen("$1", "", 1);
    }
    let requests = text
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("// lsp:"))
        .map(|request| request.trim().to_string())
        .collect::<Vec<_>>();
    assert!(
        !requests.is_empty(),
        "a fixture names its requests with `// lsp: …`"
    );
    Marked {
        text,
        cursor,
        end,
        requests,
    }
}

/// Replaces the machine-specific folder of the fixtures in every URI.
fn normalize(value: &Value, fixtures_uri: &str) -> Value {
    match value {
        Value::String(text) => Value::String(text.replace(fixtures_uri, "file:///fixtures")),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| normalize(v, fixtures_uri)).collect())
        }
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, v)| {
                    (
                        key.replace(fixtures_uri, "file:///fixtures"),
                        normalize(v, fixtures_uri),
                    )
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Completion lists are long; the snapshot keeps what a user sees in the
/// list (label, kind, detail) and the first line of each item's docs.
fn summarize_completion(result: &Value) -> Value {
    let items = match result {
        Value::Array(items) => items.clone(),
        Value::Object(list) => list["items"].as_array().cloned().unwrap_or_default(),
        _ => return result.clone(),
    };
    Value::Array(
        items
            .iter()
            .map(|item| {
                let docs = item["documentation"]["value"]
                    .as_str()
                    .or_else(|| item["documentation"].as_str())
                    .map(|docs| {
                        // The text after the fenced signature, first line.
                        let prose = match docs.strip_prefix("```") {
                            Some(fenced) => fenced.split_once("```").map_or("", |(_, rest)| rest),
                            None => docs,
                        };
                        prose
                            .lines()
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or("")
                            .to_string()
                    });
                json!({
                    "label": item["label"],
                    "kind": item["kind"],
                    "detail": item["detail"],
                    "docs": docs,
                })
            })
            .collect(),
    )
}

/// Semantic tokens as one readable line each: `line:column text type
/// [modifiers]`, decoded from the relative encoding with the legend the
/// server announced (positions are UTF-16, as the protocol has them).
fn decode_semantic_tokens(result: &Value, legend: &Value, text: &str) -> Value {
    let data: Vec<u64> = result["data"]
        .as_array()
        .map(|data| data.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let types = names(&legend["tokenTypes"]);
    let modifiers = names(&legend["tokenModifiers"]);
    let lines: Vec<Vec<u16>> = text
        .split('\n')
        .map(|l| l.encode_utf16().collect())
        .collect();
    let (mut line, mut column) = (0u64, 0u64);
    let mut out = Vec::new();
    for token in data.chunks(5) {
        let [delta_line, delta_start, length, kind, bits] = token else {
            panic!("semantic tokens come in fives: {data:?}");
        };
        if *delta_line > 0 {
            line += delta_line;
            column = *delta_start;
        } else {
            column += delta_start;
        }
        let units = lines.get(line as usize).cloned().unwrap_or_default();
        let start = (column as usize).min(units.len());
        let end = (start + *length as usize).min(units.len());
        let token_text = String::from_utf16_lossy(&units[start..end]);
        let kind = types
            .get(*kind as usize)
            .cloned()
            .unwrap_or_else(|| format!("#{kind}"));
        let set: Vec<&str> = modifiers
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, m)| m.as_str())
            .collect();
        out.push(Value::String(format!(
            "{line}:{column} {token_text} {kind}{}",
            if set.is_empty() {
                String::new()
            } else {
                format!(" [{}]", set.join(", "))
            }
        )));
    }
    Value::Array(out)
}

fn run_fixture(path: &Path) -> String {
    let raw = std::fs::read_to_string(path).expect("read fixture");
    let marked = parse_fixture(&raw);
    let uri = file_uri(path);
    let fixtures_uri = file_uri(&fixtures_dir());
    let cursor = position_of(&marked.text, marked.cursor);
    let document = json!({ "uri": uri });
    let at = json!({ "textDocument": document, "position": cursor });

    let mut server = Server::start();
    server.open(&uri, &marked.text);
    let opened = server.diagnostics(&uri, Some(1));
    let mut version = 1;
    // The text after the `change`s so far, and the end of the slot they
    // replace (it starts at the cursor).
    let mut current = marked.text.clone();
    let mut slot_end = marked.end.unwrap_or(marked.cursor);
    let mut out = String::new();
    for request in &marked.requests {
        let (name, argument) = request.split_once(' ').unwrap_or((request.as_str(), ""));
        let answer = match name {
            "diagnostics" => opened["diagnostics"].clone(),
            "change" => {
                let new_text: String =
                    serde_json::from_str(argument).expect("`change` takes a JSON string");
                version += 1;
                server.notify(
                    "textDocument/didChange",
                    json!({
                        "textDocument": { "uri": uri, "version": version },
                        "contentChanges": [{
                            "range": range_of(&current, marked.cursor, slot_end),
                            "text": new_text,
                        }],
                    }),
                );
                current.replace_range(marked.cursor..slot_end, &new_text);
                slot_end = marked.cursor + new_text.len();
                server.diagnostics(&uri, Some(version))["diagnostics"].clone()
            }
            _ => {
                let (method, params) = match name {
                    "hover" => ("textDocument/hover", at.clone()),
                    "definition" => ("textDocument/definition", at.clone()),
                    "references" => (
                        "textDocument/references",
                        json!({ "textDocument": document, "position": cursor, "context": { "includeDeclaration": true } }),
                    ),
                    "prepareRename" => ("textDocument/prepareRename", at.clone()),
                    "rename" => (
                        "textDocument/rename",
                        json!({ "textDocument": document, "position": cursor, "newName": argument }),
                    ),
                    "completion" => ("textDocument/completion", at.clone()),
                    "signatureHelp" => ("textDocument/signatureHelp", at.clone()),
                    "documentSymbol" => (
                        "textDocument/documentSymbol",
                        json!({ "textDocument": document }),
                    ),
                    "semanticTokens" => (
                        "textDocument/semanticTokens/full",
                        json!({ "textDocument": document }),
                    ),
                    "formatting" => (
                        "textDocument/formatting",
                        json!({ "textDocument": document, "options": { "tabSize": 2, "insertSpaces": true } }),
                    ),
                    other => panic!("{}: unknown request `{other}`", path.display()),
                };
                let response = server.request(method, params);
                let answer = response.get("result").cloned().unwrap_or(response);
                match name {
                    "completion" => summarize_completion(&answer),
                    "semanticTokens" => {
                        let legend = &server.capabilities["semanticTokensProvider"]["legend"];
                        decode_semantic_tokens(&answer, legend, &current)
                    }
                    _ => answer,
                }
            }
        };
        let pretty =
            serde_json::to_string_pretty(&normalize(&answer, &fixtures_uri)).expect("JSON prints");
        out.push_str(&format!("== {request}\n{pretty}\n"));
    }
    assert_eq!(
        server.shutdown(),
        Some(0),
        "flowc lsp exits with 0 after shutdown"
    );
    out
}

#[test]
fn fixture() {
    insta::glob!("lsp/*.flow", |path| {
        insta::assert_snapshot!(run_fixture(path));
    });
}

#[test]
fn fixture_project() {
    insta::glob!("lsp/*/main.flow", |path| {
        insta::assert_snapshot!(run_fixture(path));
    });
}

// ----- robustness ---------------------------------------------------------------

#[test]
fn a_handler_that_panics_answers_an_error_and_the_server_keeps_running() {
    // VS Code's client passes `--stdio`.
    let mut server = Server::start_with(&["lsp", "--stdio"]);
    let uri = "file:///nowhere/panic.flow";
    let text = "param n: int = 1\noutput o = n + 1\n";
    server.open(uri, text);
    let diagnostics = server.diagnostics(uri, Some(1));
    assert_eq!(diagnostics["diagnostics"], json!([]), "{diagnostics}");

    let answer = server.request("flowc/panic", json!({}));
    assert!(
        answer["error"]["message"].is_string(),
        "the panic answered {answer}"
    );
    assert!(answer.get("result").is_none(), "{answer}");

    // Still answering, with the same analysis: `n` in `n + 1`.
    let hover = server.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 1, "character": 11 } }),
    );
    let contents = hover["result"]["contents"]["value"].as_str().unwrap_or("");
    assert!(contents.contains("int"), "hover after the panic: {hover}");

    // A request about a document that is not open is an error, not a crash.
    let unknown = server.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": "file:///not/open.flow" }, "position": { "line": 0, "character": 0 } }),
    );
    assert!(unknown.get("error").is_some(), "{unknown}");
    // Nonsense parameters too.
    let bad = server.request("textDocument/definition", json!({ "position": "here" }));
    assert!(bad.get("error").is_some(), "{bad}");

    assert_eq!(server.shutdown(), Some(0));
}

#[test]
fn incremental_edits_in_utf16_positions_reach_the_analysis() {
    let mut server = Server::start();
    let uri = "file:///nowhere/utf16.flow";
    // `😀` is two UTF-16 code units: an edit after it on the same line is
    // only right if the server counts positions in UTF-16.
    let text = "let s = \"😀\" + \"x\"\noutput o = len(s)\n";
    server.open(uri, text);
    assert_eq!(server.diagnostics(uri, Some(1))["diagnostics"], json!([]));
    // Replace the `"x"` (UTF-16 columns 15..18 of line 0) with `1`: a type error.
    let start = text.find("\"x\"").expect("the literal");
    server.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 2 },
            "contentChanges": [{ "range": range_of(text, start, start + 3), "text": "1" }],
        }),
    );
    let published = server.diagnostics(uri, Some(2));
    let diagnostics = published["diagnostics"].as_array().expect("a list");
    assert_eq!(diagnostics.len(), 1, "{published}");
    assert_eq!(
        diagnostics[0]["range"]["start"]["line"], 0,
        "the error is on the edited line: {published}"
    );
    // Two edits in one notification apply in order: undo to valid text,
    // then insert a second line that uses a name that does not exist.
    server.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 3 },
            "contentChanges": [
                { "range": { "start": { "line": 0, "character": 15 }, "end": { "line": 0, "character": 16 } }, "text": "\"y\"" },
                { "range": { "start": { "line": 2, "character": 0 }, "end": { "line": 2, "character": 0 } }, "text": "output p = missing_name\n" },
            ],
        }),
    );
    let published = server.diagnostics(uri, Some(3));
    let diagnostics = published["diagnostics"].as_array().expect("a list");
    assert_eq!(diagnostics.len(), 1, "{published}");
    assert_eq!(diagnostics[0]["code"], "E0101", "{published}");
    assert_eq!(
        diagnostics[0]["range"],
        json!({ "start": { "line": 2, "character": 11 }, "end": { "line": 2, "character": 23 } }),
        "{published}"
    );
    assert_eq!(server.shutdown(), Some(0));
}

// ----- the same diagnostics as `flowc check` ------------------------------------

/// The diagnostics `flowc check --message-format json` prints for one file,
/// as the LSP diagnostics the server should publish for that file.
fn expected_from_check(path: &Path, text: &str) -> Vec<Value> {
    let output = Command::new(FLOWC)
        .args(["check", "--message-format", "json"])
        .arg(path)
        .output()
        .expect("run flowc check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let path_text = path.to_string_lossy();
    let mut out = Vec::new();
    for line in stdout.lines() {
        let value: Value = serde_json::from_str(line).expect("one JSON object per line");
        if value["type"] != "diagnostic" || value["file"].as_str() != Some(&*path_text) {
            continue;
        }
        let labels = value["labels"].as_array().cloned().unwrap_or_default();
        let primary = labels
            .iter()
            .find(|label| label["primary"] == true)
            .expect("a diagnostic has a primary label");
        let span = |label: &Value| {
            let start = label["start"].as_u64().expect("start") as usize;
            let end = label["end"].as_u64().expect("end") as usize;
            (start, end)
        };
        let (start, end) = span(primary);
        let mut message = value["message"].as_str().unwrap_or("").to_string();
        if let Some(label) = primary["message"].as_str().filter(|m| !m.is_empty()) {
            message.push('\n');
            message.push_str(label);
        }
        if let Some(help) = value["help"].as_str() {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let related: Vec<Value> = labels
            .iter()
            .filter(|label| label["primary"] != true)
            .map(|label| {
                // Secondary labels in this file are compared by range;
                // in another file, by its name.
                let range = if label["file"].as_str() == Some(&*path_text) {
                    let (start, end) = span(label);
                    range_of(text, start, end)
                } else {
                    Value::Null
                };
                json!({ "file": label["file"], "range": range, "message": label["message"] })
            })
            .collect();
        out.push(json!({
            "code": value["code"],
            "severity": if value["severity"] == "error" { 1 } else { 2 },
            "range": range_of(text, start, end),
            "message": message,
            "related": related,
        }));
    }
    out
}

/// The path of a `file:` URI, percent-decoded.
fn uri_path(uri: &str) -> String {
    let encoded = uri.strip_prefix("file://").unwrap_or(uri);
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| encoded.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The server's diagnostics in the shape of [`expected_from_check`].
fn comparable(published: &Value, path: &Path) -> Vec<Value> {
    let path_text = path.to_string_lossy();
    let list = |value: &Value| value.as_array().cloned().unwrap_or_default();
    list(&published["diagnostics"])
        .iter()
        .map(|diagnostic| {
            let related: Vec<Value> = list(&diagnostic["relatedInformation"])
                .iter()
                .map(|info| {
                    let file = uri_path(info["location"]["uri"].as_str().unwrap_or(""));
                    let range = if file == path_text {
                        info["location"]["range"].clone()
                    } else {
                        Value::Null
                    };
                    json!({ "file": file, "range": range, "message": info["message"] })
                })
                .collect();
            json!({
                "code": diagnostic["code"],
                "severity": diagnostic["severity"],
                "range": diagnostic["range"],
                "message": diagnostic["message"],
                "related": related,
            })
        })
        .collect()
}

#[test]
fn check_and_server_agree_on_every_ui_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("tests").join("ui"))
        .expect("tests/ui exists")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "flow"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "only {} UI files", files.len());

    let mut server = Server::start();
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).expect("read ui file");
        let expected = expected_from_check(path, &text);
        let uri = file_uri(path);
        server.open(&uri, &text);
        let published = server.diagnostics(&uri, Some(1));
        let actual = comparable(&published, path);
        compared += expected.len();
        if actual != expected {
            disagreements.push(format!(
                "{}:\n  flowc check: {}\n  flowc lsp:   {}",
                path.display(),
                serde_json::to_string_pretty(&expected).unwrap_or_default(),
                serde_json::to_string_pretty(&actual).unwrap_or_default()
            ));
        }
        server.notify(
            "textDocument/didClose",
            json!({ "textDocument": { "uri": uri } }),
        );
    }
    assert!(compared > 50, "only {compared} diagnostics compared");
    assert!(
        disagreements.is_empty(),
        "{} of {} files disagree:\n{}",
        disagreements.len(),
        files.len(),
        disagreements.join("\n")
    );
    assert_eq!(server.shutdown(), Some(0));
}

// ----- a large file -------------------------------------------------------------

/// A valid job of about `lines` lines in the style of the examples (the same
/// shape as the checker benchmark, `compiler/benches/check.rs`).
fn generate(lines: usize) -> String {
    let mut out = String::from(
        "//! A generated job for the language server test.\n\
         input corpus = lines(\"data/*.txt\")\n\
         input ids = range(0, 1_000_000)\n",
    );
    let mut group = 0;
    while out.lines().count() < lines {
        let g = group;
        out.push_str(&format!(
            "\n/// Group {g}.\n\
             type Row{g} = {{ city: str, temp: float, count: int }}\n\
             param limit{g}: int = {g}\n\
             input rows{g}: Row{g} = csv(\"data/rows{g}/*.csv\")\n\
             fn hot{g}(r: Row{g}) -> bool = r.temp > 20.5 and r.count < limit{g}\n\
             fn steps{g}(n: int, acc: int) -> int =\n  \
               if n <= 1 then acc\n  \
               else if n % 2 == 0 then steps{g}(n / 2, acc + 1)\n  \
               else steps{g}(3 * n + 1, acc + 1)\n\
             let total{g} = rows{g} |> map(r => r.temp) |> sum()\n\
             let n{g} = rows{g} |> count()\n\
             output mean{g} = total{g} / float(n{g})\n\
             output hot_cities{g} = rows{g} |> filter(hot{g}) |> count_by(r => r.city) |> top(10, by: p => p.1)\n"
        ));
        group += 1;
    }
    out
}

/// Edits of a large file, near its end and its start, one of which moves
/// every later item: after each, the server publishes what `flowc check`
/// says about the same text (the server parses incrementally, reusing the
/// items an edit did not touch; `flowc check` parses from scratch).
#[test]
fn large_file_change() {
    let folder = std::env::temp_dir().join(format!("flowc-lsp-large-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("temp folder");
    let path = folder.join("large.flow");
    let mut text = generate(5_000);
    let mut server = Server::start();
    let uri = file_uri(&path);
    server.open(&uri, &text);
    let opened = server.diagnostics(&uri, Some(1));
    assert_eq!(
        opened["diagnostics"],
        json!([]),
        "the generated job is valid"
    );

    let late_float = text.rfind("20.5").expect("a float literal");
    let early_call = text.find("float(n").expect("a call of `float`");
    let first_item = text.find("\ninput").expect("an input") + 1;
    // (byte offset in the text before the edit, bytes replaced, new text)
    let edits: [(usize, usize, &str); 7] = [
        // A type error near the end.
        (late_float, 4, "\"hot\""),
        // A new unused `let` near the start: every later item moves.
        (first_item, 0, "let extra = 1\n"),
        // An unknown function near the start, after the new line.
        (early_call + "let extra = 1\n".len(), 5, "flot"),
        // A syntax error in the new line.
        (first_item + "let extra".len(), 2, " =="),
        // The new line goes again: everything moves back.
        (first_item, "let extra == 1\n".len(), ""),
        // The unknown function goes, then the type error.
        (early_call, 4, "float"),
        (late_float, 5, "20.5"),
    ];
    for (step, (at, removed, inserted)) in edits.into_iter().enumerate() {
        let version = step as i64 + 2;
        let range = range_of(&text, at, at + removed);
        server.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "range": range, "text": inserted }],
            }),
        );
        text.replace_range(at..at + removed, inserted);
        let published = server.diagnostics(&uri, Some(version));
        std::fs::write(&path, &text).expect("write the edited text");
        let expected = expected_from_check(&path, &text);
        assert!(
            !expected.is_empty() || step == edits.len() - 1,
            "step {step} leaves an error"
        );
        assert_eq!(
            comparable(&published, &path),
            expected,
            "step {step}: the server and `flowc check` disagree"
        );
    }
    assert_eq!(text, generate(5_000), "the edits undo each other");
    assert_eq!(server.shutdown(), Some(0));
    let _ = std::fs::remove_dir_all(&folder);
}

/// An imported file that is not open changes on disk: the client's
/// `workspace/didChangeWatchedFiles` makes the server analyse the open
/// document that imports it again.
#[test]
fn a_changed_import_on_disk_is_analysed_again() {
    let folder = std::env::temp_dir().join(format!("flowc-lsp-watch-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("temp folder");
    let lib = folder.join("lib.flow");
    let main = folder.join("main.flow");
    std::fs::write(&lib, "fn twice(x: int) -> int = x * 2\n").expect("write lib");
    let main_text = "import \"lib.flow\"\noutput four = twice(2)\n";
    std::fs::write(&main, main_text).expect("write main");

    let mut server = Server::start();
    let main_uri = file_uri(&main);
    server.open(&main_uri, main_text);
    let clean = server.diagnostics(&main_uri, Some(1));
    assert_eq!(clean["diagnostics"], json!([]), "{clean}");

    std::fs::write(&lib, "fn twice(x: str) -> str = x + x\n").expect("rewrite lib");
    server.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": file_uri(&lib), "type": 2 }] }),
    );
    let broken = server.diagnostics(&main_uri, Some(1));
    let codes: Vec<&Value> = broken["diagnostics"]
        .as_array()
        .map(|list| list.iter().map(|d| &d["code"]).collect())
        .unwrap_or_default();
    assert_eq!(codes, vec![&json!("E0302")], "{broken}");
    assert_eq!(server.shutdown(), Some(0));
    let _ = std::fs::remove_dir_all(&folder);
}

/// Random edits (brackets, quotes, pipes, astral characters, newlines,
/// deletions, positions past the end of a line or of the file) and every
/// request at random positions after each: the server answers each one,
/// never with the internal error that a caught panic gives, and once a
/// whole valid text is sent again it reports it clean.
#[test]
fn random_edits_and_requests_never_hit_a_bug() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let valid = std::fs::read_to_string(root.join("examples/wordcount/job.flow"))
        .expect("read the wordcount example");
    let mut server = Server::start();
    let uri = "file:///nowhere/random.flow";
    server.open(uri, &valid);
    assert_eq!(server.diagnostics(uri, Some(1))["diagnostics"], json!([]));

    // A fixed linear congruential generator: the same run every time.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |below: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % below.max(1)
    };
    let snippets = [
        "|>",
        "(",
        ")",
        "{",
        "}",
        "[",
        "\"",
        "😀",
        "é",
        "x",
        "\n",
        "let ",
        ".",
        "0x",
        "/// d\n",
        "policy {",
        "=>",
        ",",
        ": ",
        "fn f(",
        "top(",
        "4 MiB",
        "\r\n",
        "",
        "count_by(w => w.",
    ];
    let requests = [
        "textDocument/hover",
        "textDocument/definition",
        "textDocument/references",
        "textDocument/completion",
        "textDocument/signatureHelp",
        "textDocument/prepareRename",
        "textDocument/rename",
        "textDocument/documentSymbol",
        "textDocument/semanticTokens/full",
        "textDocument/formatting",
    ];
    let mut version = 1;
    for step in 0..120 {
        let start = json!({ "line": next(40), "character": next(90) });
        let end = if next(3) == 0 {
            json!({ "line": next(40), "character": next(90) })
        } else {
            start.clone()
        };
        let text = snippets[next(snippets.len() as u64) as usize];
        version += 1;
        server.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "range": { "start": start, "end": end }, "text": text }],
            }),
        );
        for method in requests {
            let params = json!({
                "textDocument": { "uri": uri },
                "position": { "line": next(40), "character": next(90) },
                "context": { "includeDeclaration": true },
                "newName": "renamed",
                "options": { "tabSize": 2, "insertSpaces": true },
            });
            let answer = server.request(method, params);
            assert!(
                answer.get("result").is_some() || answer["error"]["code"] != json!(-32603),
                "step {step}, {method}: {answer}"
            );
            assert!(
                answer.get("result").is_some() || answer.get("error").is_some(),
                "step {step}, {method}: {answer}"
            );
        }
    }
    version += 1;
    server.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": valid }] }),
    );
    let published = server.diagnostics(uri, Some(version));
    assert_eq!(published["diagnostics"], json!([]), "{published}");
    assert_eq!(server.shutdown(), Some(0));
}
