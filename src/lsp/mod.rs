//! `flowc lsp`: a language server over stdio, built on the same analysis as
//! `flowc check` ([`flow_compiler::analyze`]), so the editor and the command
//! line report the same diagnostics with the same codes.
//!
//! - [`position`]: UTF-16 positions and incremental edits.
//! - [`uri`]: document URIs and compiler paths.
//! - [`state`]: open documents, their analyses, publishing diagnostics.
//! - [`diagnostics`]: `flow_lang::Diagnostic` to LSP.
//! - [`features`]: hover, definition, references, rename, symbols,
//!   formatting; [`complete`]: completion and signature help;
//!   [`semantic`]: semantic tokens (colours from the analysis).
//!
//! The server is one thread: a request sees the analysis of every change
//! received before it. Edits are applied as they arrive but analysed only
//! when no message is waiting (or a request needs the result), so a burst of
//! keystrokes costs one analysis. Every handler runs under `catch_unwind`: a
//! bug answers that request with an error and the server keeps running.

mod complete;
mod diagnostics;
mod features;
mod position;
mod semantic;
mod state;
mod uri;

use std::panic::{AssertUnwindSafe, catch_unwind};

use clap::Args;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::Notification as _;
use lsp_types::{
    CompletionOptions, DidChangeTextDocumentParams, DidChangeWatchedFilesParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, DidSaveTextDocumentParams,
    HoverProviderCapability, OneOf, PublishDiagnosticsParams, RenameOptions,
    SemanticTokensFullOptions, SemanticTokensOptions, SemanticTokensServerCapabilities,
    ServerCapabilities, ServerInfo, SignatureHelpOptions, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions,
};
use serde_json::Value;

use self::state::{Document, State};
use self::uri::uri_to_path;
use super::cmd::Exit;

const EXAMPLES: &str = "\
EXAMPLES:
  flowc lsp        Started by an editor; see docs/editors.md for VS Code, Neovim and Helix";

/// Run the language server on standard input and output (for editors).
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct LspArgs {
    /// Talk over standard input and output: the only transport, and the
    /// default. Accepted because clients such as VS Code's pass it.
    #[arg(long)]
    stdio: bool,
}

/// What a request handler returns: the result, or an error message for the
/// client.
type Reply = Result<Value, String>;

pub fn run(_args: &LspArgs) -> Exit {
    let (connection, io_threads) = Connection::stdio();
    let capabilities = match serde_json::to_value(capabilities()) {
        Ok(capabilities) => capabilities,
        Err(error) => {
            eprintln!("flowc lsp: {error}");
            return Exit::Errors;
        }
    };
    let initialize_result = serde_json::json!({
        "capabilities": capabilities,
        "serverInfo": ServerInfo {
            name: "flowc".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        },
    });
    let exit = match connection
        .initialize_start()
        .and_then(|(id, _params)| connection.initialize_finish(id, initialize_result))
    {
        Ok(()) => serve(&connection),
        Err(error) => {
            eprintln!("flowc lsp: {error}");
            Exit::Errors
        }
    };
    // The writer thread ends when the last sender is dropped.
    drop(connection);
    if let Err(error) = io_threads.join() {
        eprintln!("flowc lsp: {error}");
    }
    exit
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                will_save: None,
                will_save_wait_until: None,
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".to_string(), ">".to_string(), " ".to_string()]),
            ..CompletionOptions::default()
        }),
        signature_help_provider: Some(SignatureHelpOptions {
            trigger_characters: Some(vec!["(".to_string(), ",".to_string()]),
            retrigger_characters: None,
            work_done_progress_options: Default::default(),
        }),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
            SemanticTokensOptions {
                legend: semantic::legend(),
                full: Some(SemanticTokensFullOptions::Bool(true)),
                range: None,
                work_done_progress_options: Default::default(),
            },
        )),
        ..ServerCapabilities::default()
    }
}

/// The message loop, until `shutdown` and `exit` or the client goes away.
fn serve(connection: &Connection) -> Exit {
    let mut state = State::default();
    loop {
        let message = if state.is_dirty() {
            match connection.receiver.try_recv() {
                Ok(message) => message,
                Err(error) if error.is_disconnected() => return Exit::Errors,
                Err(_) => {
                    // Nothing waiting: analyse the edits received so far.
                    publish(connection, &mut state);
                    continue;
                }
            }
        } else {
            match connection.receiver.recv() {
                Ok(message) => message,
                Err(_) => return Exit::Errors,
            }
        };
        match message {
            Message::Request(request) => {
                match connection.handle_shutdown(&request) {
                    Ok(true) => return Exit::Success,
                    Ok(false) => {}
                    Err(error) => {
                        eprintln!("flowc lsp: {error}");
                        return Exit::Errors;
                    }
                }
                if state.is_dirty() {
                    publish(connection, &mut state);
                }
                let response = answer(&state, request);
                send(connection, Message::Response(response));
            }
            Message::Notification(notification) => {
                if notification.method == lsp_types::notification::Exit::METHOD {
                    // `exit` without `shutdown` first.
                    return Exit::Errors;
                }
                let method = notification.method.clone();
                let handled = catch_unwind(AssertUnwindSafe(|| notify(&mut state, notification)));
                match handled {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => eprintln!("flowc lsp: {method}: {error}"),
                    Err(_) => eprintln!("flowc lsp: {method} panicked"),
                }
            }
            Message::Response(_) => {}
        }
    }
}

fn send(connection: &Connection, message: Message) {
    if connection.sender.send(message).is_err() {
        eprintln!("flowc lsp: the client is gone");
    }
}

fn publish(connection: &Connection, state: &mut State) {
    for publish in state.refresh() {
        let params = PublishDiagnosticsParams {
            uri: publish.uri,
            diagnostics: publish.diagnostics,
            version: publish.version,
        };
        send(
            connection,
            Message::Notification(Notification::new(
                lsp_types::notification::PublishDiagnostics::METHOD.to_string(),
                params,
            )),
        );
    }
}

fn notify(state: &mut State, notification: Notification) -> Result<(), String> {
    use lsp_types::notification::{
        DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument, DidOpenTextDocument,
        DidSaveTextDocument,
    };
    match notification.method.as_str() {
        DidOpenTextDocument::METHOD => {
            let params: DidOpenTextDocumentParams = parse_params(notification.params)?;
            let document = params.text_document;
            state.open(
                uri_to_path(&document.uri),
                Document {
                    uri: document.uri,
                    text: document.text,
                    version: document.version,
                },
            );
        }
        DidChangeTextDocument::METHOD => {
            let params: DidChangeTextDocumentParams = parse_params(notification.params)?;
            let path = uri_to_path(&params.text_document.uri);
            let document = state
                .documents
                .get_mut(&path)
                .ok_or_else(|| format!("`{path}` is not open"))?;
            for change in &params.content_changes {
                position::apply_change(&mut document.text, change);
            }
            document.version = params.text_document.version;
            state.touch(&path);
        }
        DidCloseTextDocument::METHOD => {
            let params: DidCloseTextDocumentParams = parse_params(notification.params)?;
            state.close(&uri_to_path(&params.text_document.uri));
        }
        DidChangeWatchedFiles::METHOD => {
            // Files changed on disk (a `git checkout`, another editor):
            // open documents that import them are analysed again.
            let params: DidChangeWatchedFilesParams = parse_params(notification.params)?;
            for change in &params.changes {
                state.touch(&uri_to_path(&change.uri));
            }
        }
        DidSaveTextDocument::METHOD => {
            // A saved file may be imported by open documents that read it
            // from disk; its buffer is already current.
            let params: DidSaveTextDocumentParams = parse_params(notification.params)?;
            state.touch(&uri_to_path(&params.text_document.uri));
        }
        _ => {}
    }
    Ok(())
}

fn parse_params<P: serde::de::DeserializeOwned>(params: Value) -> Result<P, String> {
    serde_json::from_value(params).map_err(|error| format!("invalid parameters: {error}"))
}

/// Answers one request; a handler that fails or panics gives an error
/// response.
fn answer(state: &State, request: Request) -> Response {
    let id = request.id.clone();
    let method = request.method.clone();
    let reply = catch_unwind(AssertUnwindSafe(|| dispatch(state, request)));
    match reply {
        Ok(Some(Ok(value))) => Response::new_ok(id, value),
        Ok(Some(Err(message))) => Response::new_err(id, ErrorCode::RequestFailed as i32, message),
        Ok(None) => Response::new_err(
            id,
            ErrorCode::MethodNotFound as i32,
            format!("`{method}` is not supported"),
        ),
        Err(_) => Response::new_err(
            id,
            ErrorCode::InternalError as i32,
            format!("flowc lsp hit a bug while answering `{method}`; the server keeps running"),
        ),
    }
}

/// The handler of a request method; `None` for a method the server does
/// not support.
fn dispatch(state: &State, request: Request) -> Option<Reply> {
    use lsp_types::request::{
        Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest,
        PrepareRenameRequest, References, Rename, Request as _, SemanticTokensFullRequest,
        SignatureHelpRequest,
    };
    let params = request.params;
    let reply = match request.method.as_str() {
        HoverRequest::METHOD => parse_params(params).and_then(|p| features::hover(state, p)),
        GotoDefinition::METHOD => parse_params(params).and_then(|p| features::definition(state, p)),
        References::METHOD => parse_params(params).and_then(|p| features::references(state, p)),
        PrepareRenameRequest::METHOD => {
            parse_params(params).and_then(|p| features::prepare_rename(state, p))
        }
        Rename::METHOD => parse_params(params).and_then(|p| features::rename(state, p)),
        DocumentSymbolRequest::METHOD => {
            parse_params(params).and_then(|p| features::document_symbols(state, p))
        }
        Formatting::METHOD => parse_params(params).and_then(|p| features::formatting(state, p)),
        SemanticTokensFullRequest::METHOD => {
            parse_params(params).and_then(|p| semantic::semantic_tokens_full(state, p))
        }
        Completion::METHOD => parse_params(params).and_then(|p| complete::completion(state, p)),
        SignatureHelpRequest::METHOD => {
            parse_params(params).and_then(|p| complete::signature_help(state, p))
        }
        // A test hook: proves that a handler's panic becomes an error
        // response and the server keeps answering.
        "flowc/panic" => panic!("flowc/panic was requested"),
        _ => return None,
    };
    Some(reply)
}
