//! Diagnostics are data: one [`Diagnostic`] type for every error and lint
//! that any part of flowc reports about a program.
//!
//! A diagnostic has a stable code (`E0301` for errors, `W0xxx` for lints,
//! explained in `docs/errors.md` and by `flowc explain`), a severity, a
//! message, a primary label pointing at the source, secondary labels, and
//! optional help. The terminal renders it with miette (see [`crate::render`]);
//! the language server converts it to LSP diagnostics; `--message-format
//! json` serialises it. None of them adds information the others lack.

use serde::{Deserialize, Serialize};

use crate::span::{FileId, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A span in a particular file, with the text shown next to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub file: FileId,
    pub span: Span,
    pub message: String,
}

impl Label {
    pub fn new(file: FileId, span: Span, message: impl Into<String>) -> Label {
        Label {
            file,
            span,
            message: message.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Stable code: `E0xxx` for errors, `W0xxx` for lints.
    pub code: String,
    /// For lints, the name used to allow them (`unused-let`).
    pub lint: Option<String>,
    pub severity: Severity,
    /// One sentence, lower case, no trailing period: "unknown name `foo`".
    pub message: String,
    /// Where the problem is.
    pub primary: Label,
    /// Related places: the earlier definition, the declared type, …
    pub secondary: Vec<Label>,
    /// What to write instead, when we know.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &str, message: impl Into<String>, primary: Label) -> Diagnostic {
        Diagnostic {
            code: code.to_string(),
            lint: None,
            severity: Severity::Error,
            message: message.into(),
            primary,
            secondary: Vec::new(),
            help: None,
        }
    }

    pub fn lint(code: &str, lint: &str, message: impl Into<String>, primary: Label) -> Diagnostic {
        Diagnostic {
            code: code.to_string(),
            lint: Some(lint.to_string()),
            severity: Severity::Warning,
            message: message.into(),
            primary,
            secondary: Vec::new(),
            help: None,
        }
    }

    pub fn with_secondary(mut self, label: Label) -> Diagnostic {
        self.secondary.push(label);
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
