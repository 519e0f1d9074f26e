//! A minimal language server client for `flowc lsp` over stdio, with
//! JSON-RPC framing (`Content-Length` headers and all), shared by the
//! language server tests (`tests/lsp.rs`) and the round-trip benchmark
//! (`benches/lsp.rs`). Each includes it with `#[path]`; not every user needs
//! every helper.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The `flowc` binary cargo built for this test or benchmark.
pub const FLOWC: &str = env!("CARGO_BIN_EXE_flowc");

/// How long to wait for one message: generous, because tests run debug
/// builds on a shared machine.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A running `flowc lsp` and the messages it sent that nobody asked for yet.
pub struct Server {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub messages: Receiver<Value>,
    /// Notifications received while waiting for something else.
    pub pending: Vec<Value>,
    pub next_id: i64,
    /// What the server said it can do, in its answer to `initialize`.
    pub capabilities: Value,
}

impl Server {
    /// Starts the server and completes the `initialize` handshake.
    pub fn start() -> Server {
        Server::start_with(&["lsp"])
    }

    /// Starts `flowc` with these arguments as an editor would.
    pub fn start_with(args: &[&str]) -> Server {
        let mut child = Command::new(FLOWC)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start flowc lsp");
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take();
        let (sender, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            stdin,
            messages,
            pending: Vec::new(),
            next_id: 1,
            capabilities: Value::Null,
        };
        let initialized = server.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": null,
                "capabilities": {
                    "textDocument": {
                        "hover": { "contentFormat": ["markdown", "plaintext"] },
                        "publishDiagnostics": { "relatedInformation": true }
                    }
                }
            }),
        );
        assert!(
            initialized["result"]["capabilities"].is_object(),
            "initialize answered {initialized}"
        );
        server.capabilities = initialized["result"]["capabilities"].clone();
        server.notify("initialized", json!({}));
        server
    }

    pub fn send(&mut self, message: &Value) {
        let body = message.to_string();
        let stdin = self.stdin.as_mut().expect("the server's stdin is open");
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write to flowc lsp");
        stdin.flush().expect("flush to flowc lsp");
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request and returns the whole response (`result` or `error`).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let message = self.receive(&format!("the answer to {method}"));
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                return message;
            }
            self.pending.push(message);
        }
    }

    pub fn receive(&mut self, what: &str) -> Value {
        match self.messages.recv_timeout(TIMEOUT) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => panic!("no {what} within {TIMEOUT:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("flowc lsp exited before {what}"),
        }
    }

    /// The next `publishDiagnostics` for `uri` (with `version`, if given),
    /// taken from the pending notifications first.
    pub fn diagnostics(&mut self, uri: &str, version: Option<i64>) -> Value {
        let wanted = |message: &Value| {
            message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == uri
                && version.is_none_or(|v| message["params"]["version"] == v)
        };
        if let Some(at) = self.pending.iter().position(wanted) {
            return self.pending.remove(at)["params"].take();
        }
        loop {
            let message = self.receive(&format!("diagnostics for {uri}"));
            if wanted(&message) {
                return message["params"].clone();
            }
            self.pending.push(message);
        }
    }

    pub fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "flow", "version": 1, "text": text } }),
        );
    }

    /// Sends `shutdown` and `exit` and returns the exit status code.
    pub fn shutdown(mut self) -> Option<i32> {
        let answer = self.request("shutdown", Value::Null);
        assert!(answer.get("error").is_none(), "shutdown answered {answer}");
        self.notify("exit", Value::Null);
        drop(self.stdin.take());
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for flowc lsp") {
                return status.code();
            }
            assert!(Instant::now() < deadline, "flowc lsp did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A test that failed half-way must not leave the server running.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads one framed message; `None` at the end of the stream.
pub fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some(value) = header.strip_prefix("Content-Length:") {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    Some(serde_json::from_slice(&body).expect("the server sends JSON"))
}

/// The `file:` URI of an absolute path (percent-encoding what a URI cannot
/// hold as is).
pub fn file_uri(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut out = String::from("file://");
    if !text.starts_with('/') {
        out.push('/');
    }
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The LSP position (UTF-16 code units in a line) of a byte offset.
pub fn position_of(text: &str, offset: usize) -> Value {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let character: usize = before[line_start..].chars().map(char::len_utf16).sum();
    json!({ "line": line, "character": character })
}

pub fn range_of(text: &str, start: usize, end: usize) -> Value {
    json!({ "start": position_of(text, start), "end": position_of(text, end) })
}
