//! The Flow language: everything about its text and nothing about running it.
//!
//! - [`span`]: byte spans, identifiers, line/column conversion.
//! - [`source`]: the set of files of one analysis.
//! - [`ast`]: the syntax tree with spans on every node.
//! - [`parser`]: pest grammar (`flow.pest`) plus the tree builder; never stops
//!   at the first error, recovers at item boundaries.
//! - [`incremental`]: a cache of item parses, so a file parsed again after
//!   an edit runs pest only on the items that changed.
//! - [`format`]: the canonical layout printed by `flowc fmt`.
//! - [`diagnostic`]: the one `Diagnostic` type, and [`render`] for terminals.
//!
//! Invariant: nothing in this crate knows about execution, and nothing here
//! does IO. Files come in as strings; diagnostics go out as data.

// The pest derive without its `std` feature (which adds a stack probe to every
// rule call; the parser bounds nesting itself) names `alloc` directly.
extern crate alloc;

pub mod ast;
pub mod diagnostic;
pub mod format;
pub mod incremental;
pub mod parser;
pub mod render;
pub mod source;
pub mod span;

pub use diagnostic::{Diagnostic, Label, Severity};
pub use format::format;
pub use incremental::{ParseCache, parse_incremental};
pub use parser::{ParseResult, parse};
pub use source::{SourceFile, SourceMap};
pub use span::{FileId, Ident, LineIndex, Span, Spanned};
