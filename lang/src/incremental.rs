//! Incremental parsing: a [`ParseCache`] remembers the parse of every item
//! of a file by its text, so parsing the file again after an edit runs pest
//! only on the items whose text changed.
//!
//! The parser already cuts a file into pieces, one per item, at item
//! keywords that begin a line (see [`crate::parser`]), and parses each piece
//! on its own. What a piece parses to depends only on its own text: its
//! tokens, its syntax tree and its diagnostics, with spans that are its
//! position in the file plus offsets within the piece. So an item whose text
//! is unchanged but which moved (an edit above it added a line) is the
//! cached tree with every span shifted by the distance it moved.
//!
//! Two kinds of piece are not cached, because their diagnostics look past
//! the piece or are cheap to find again: a piece pest rejects (its message
//! names the token after it, which belongs to the next item) and a piece
//! too deeply nested to parse. Everything else of a parse (the tokens,
//! comments, doc comments and item boundaries of the whole file) is
//! computed afresh every time; it is a small part of the work.
//!
//! [`parse_incremental`] gives exactly what [`crate::parse`] gives for the
//! same text; `tests/incremental.rs` checks that over random edit sequences.

use std::collections::HashMap;

use crate::ast::{
    Arg, BlockLet, Expr, ExprKind, Field, FieldInit, GenericParam, Item, ItemKind, Param,
    PolicyEntry, StrLit, TypeExpr, TypeExprKind,
};
use crate::diagnostic::{Diagnostic, Label};
use crate::parser::{ParseResult, parse_with};
use crate::span::{FileId, Ident, Span};

/// The parses of the items of one file, by their text. Keep one cache per
/// file (the language server keeps one per open document and import) and
/// pass it to every [`parse_incremental`] of that file.
#[derive(Debug, Default)]
pub struct ParseCache {
    pieces: HashMap<Box<str>, CachedPiece>,
    /// Counts the parses, so entries not used by the latest can be dropped.
    generation: u64,
    /// How the latest parse went, for tests and benchmarks.
    last: CacheStats,
}

/// How many pieces of the latest parse came from the cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub reused: usize,
    pub parsed: usize,
}

/// What one piece parsed to, with the spans it had where it was parsed.
#[derive(Debug)]
struct CachedPiece {
    /// Where the piece started in the file when it was parsed.
    start: usize,
    items: Vec<Item>,
    diagnostics: Vec<Diagnostic>,
    /// The generation of the last parse that used it.
    used: u64,
}

impl ParseCache {
    pub fn new() -> ParseCache {
        ParseCache::default()
    }

    /// How the latest parse through this cache went.
    pub fn stats(&self) -> CacheStats {
        self.last
    }

    /// How many item parses the cache holds.
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    pub(crate) fn begin(&mut self) {
        self.generation += 1;
        self.last = CacheStats::default();
    }

    /// Appends the cached parse of `text`, now at `start` of `file`, to
    /// `items` and `diagnostics`; false when the piece is not cached.
    pub(crate) fn reuse(
        &mut self,
        file: FileId,
        text: &str,
        start: usize,
        items: &mut Vec<Item>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> bool {
        let Some(cached) = self.pieces.get_mut(text) else {
            return false;
        };
        cached.used = self.generation;
        let delta = start as i64 - cached.start as i64;
        for item in &cached.items {
            let mut item = item.clone();
            if delta != 0 {
                shift_item(&mut item, delta);
            }
            items.push(item);
        }
        for diagnostic in &cached.diagnostics {
            let mut diagnostic = diagnostic.clone();
            shift_label(&mut diagnostic.primary, file, delta);
            for label in &mut diagnostic.secondary {
                shift_label(label, file, delta);
            }
            diagnostics.push(diagnostic);
        }
        self.last.reused += 1;
        true
    }

    /// Remembers what the piece `text` at `start` parsed to.
    pub(crate) fn store(
        &mut self,
        text: &str,
        start: usize,
        items: &[Item],
        diagnostics: &[Diagnostic],
    ) {
        self.last.parsed += 1;
        self.pieces.insert(
            text.into(),
            CachedPiece {
                start,
                items: items.to_vec(),
                diagnostics: diagnostics.to_vec(),
                used: self.generation,
            },
        );
    }

    /// Counts a piece that was parsed but not stored.
    pub(crate) fn skipped(&mut self) {
        self.last.parsed += 1;
    }

    /// Drops the entries the latest parse did not use: the cache holds the
    /// items of the file's current text only, however long the editing goes.
    pub(crate) fn finish(&mut self) {
        let generation = self.generation;
        self.pieces.retain(|_, piece| piece.used == generation);
    }
}

/// Parses `text` as [`crate::parse`] does, reusing from `cache` the items
/// whose text did not change since the last parse through it, and leaving
/// in `cache` the items of this text.
pub fn parse_incremental(file: FileId, text: &str, cache: &mut ParseCache) -> ParseResult {
    parse_with(file, text, Some(cache))
}

fn shift(span: &mut Span, delta: i64) {
    // A cached span lies inside its piece, and the piece lies inside the
    // new text at its new place, so the shifted span is within `u32`.
    let moved = |offset: u32| u32::try_from(i64::from(offset) + delta).unwrap_or(offset);
    span.start = moved(span.start);
    span.end = moved(span.end);
}

fn shift_label(label: &mut Label, file: FileId, delta: i64) {
    label.file = file;
    if delta != 0 {
        shift(&mut label.span, delta);
    }
}

// The walkers below destructure every node without `..`, so that a field
// added to the syntax tree is a compile error here until it is shifted too.

fn shift_item(item: &mut Item, delta: i64) {
    let Item {
        docs: _,
        kind,
        span,
    } = item;
    shift(span, delta);
    match kind {
        ItemKind::Import(import) => {
            let crate::ast::Import { path } = import;
            shift_str(path, delta);
        }
        ItemKind::Type(decl) => {
            let crate::ast::TypeDecl { name, fields } = decl;
            shift_ident(name, delta);
            for Field { name, ty } in fields {
                shift_ident(name, delta);
                shift_type(ty, delta);
            }
        }
        ItemKind::Param(decl) => {
            let crate::ast::ParamDecl { name, ty, default } = decl;
            shift_ident(name, delta);
            if let Some(ty) = ty {
                shift_type(ty, delta);
            }
            if let Some(default) = default {
                shift_expr(default, delta);
            }
        }
        ItemKind::Input(decl) => {
            let crate::ast::InputDecl { name, ty, source } = decl;
            shift_ident(name, delta);
            if let Some(ty) = ty {
                shift_type(ty, delta);
            }
            shift_expr(source, delta);
        }
        ItemKind::Fn(decl) => {
            let crate::ast::FnDecl {
                name,
                generics,
                params,
                ret,
                body,
            } = decl;
            shift_ident(name, delta);
            for GenericParam { name, bound } in generics {
                shift_ident(name, delta);
                if let Some(bound) = bound {
                    shift_ident(bound, delta);
                }
            }
            shift_params(params, delta);
            if let Some(ret) = ret {
                shift_type(ret, delta);
            }
            if let Some(body) = body {
                shift_expr(body, delta);
            }
        }
        ItemKind::Extern(decl) => {
            let crate::ast::ExternFn {
                name,
                params,
                ret,
                module,
            } = decl;
            shift_ident(name, delta);
            shift_params(params, delta);
            if let Some(ret) = ret {
                shift_type(ret, delta);
            }
            shift_str(module, delta);
        }
        ItemKind::Let(decl) => {
            let crate::ast::LetDecl { name, ty, value } = decl;
            shift_ident(name, delta);
            if let Some(ty) = ty {
                shift_type(ty, delta);
            }
            shift_expr(value, delta);
        }
        ItemKind::Output(decl) => {
            let crate::ast::OutputDecl { name, value, to } = decl;
            shift_ident(name, delta);
            shift_expr(value, delta);
            if let Some(to) = to {
                shift_str(to, delta);
            }
        }
        ItemKind::Policy(policy) => {
            let crate::ast::Policy { entries } = policy;
            for entry in entries {
                match entry {
                    PolicyEntry::Setting { key, value, span } => {
                        shift_ident(key, delta);
                        shift_expr(value, delta);
                        shift(span, delta);
                    }
                    PolicyEntry::DelegateWhen { predicate, span } => {
                        shift_expr(predicate, delta);
                        shift(span, delta);
                    }
                }
            }
        }
    }
}

fn shift_ident(ident: &mut Ident, delta: i64) {
    let Ident { name: _, span } = ident;
    shift(span, delta);
}

fn shift_str(literal: &mut StrLit, delta: i64) {
    let StrLit { value: _, span } = literal;
    shift(span, delta);
}

fn shift_params(params: &mut [Param], delta: i64) {
    for Param { name, ty, span } in params {
        shift_ident(name, delta);
        if let Some(ty) = ty {
            shift_type(ty, delta);
        }
        shift(span, delta);
    }
}

fn shift_type(ty: &mut TypeExpr, delta: i64) {
    let TypeExpr { kind, span } = ty;
    shift(span, delta);
    match kind {
        TypeExprKind::Named { name, args } => {
            shift_ident(name, delta);
            for arg in args {
                shift_type(arg, delta);
            }
        }
        TypeExprKind::List(inner) => shift_type(inner, delta),
        TypeExprKind::Tuple(items) => {
            for item in items {
                shift_type(item, delta);
            }
        }
        TypeExprKind::Fn { params, ret } => {
            for param in params {
                shift_type(param, delta);
            }
            shift_type(ret, delta);
        }
    }
}

fn shift_expr(expr: &mut Expr, delta: i64) {
    let Expr { kind, span } = expr;
    shift(span, delta);
    match kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Str(_)
        | ExprKind::Bool(_)
        | ExprKind::Size { bytes: _, unit: _ }
        | ExprKind::Duration { millis: _, unit: _ }
        | ExprKind::Error => {}
        ExprKind::Name(name) => shift_ident(name, delta),
        ExprKind::Call { callee, args } => {
            shift_expr(callee, delta);
            for Arg { name, value } in args {
                if let Some(name) = name {
                    shift_ident(name, delta);
                }
                shift_expr(value, delta);
            }
        }
        ExprKind::Lambda { params, body } => {
            shift_params(params, delta);
            shift_expr(body, delta);
        }
        ExprKind::Tuple(items) | ExprKind::List(items) => {
            for item in items {
                shift_expr(item, delta);
            }
        }
        ExprKind::Paren(inner) => shift_expr(inner, delta),
        ExprKind::Record { name, fields } => {
            shift_ident(name, delta);
            for FieldInit { name, value } in fields {
                shift_ident(name, delta);
                shift_expr(value, delta);
            }
        }
        ExprKind::Field { base, field } => {
            shift_expr(base, delta);
            shift_ident(field, delta);
        }
        ExprKind::TupleIndex {
            base,
            index: _,
            index_span,
        } => {
            shift_expr(base, delta);
            shift(index_span, delta);
        }
        ExprKind::If {
            cond,
            then_branch,
            else_branch,
        } => {
            shift_expr(cond, delta);
            shift_expr(then_branch, delta);
            shift_expr(else_branch, delta);
        }
        ExprKind::Block { lets, result } => {
            for BlockLet {
                name,
                ty,
                value,
                span,
            } in lets
            {
                shift_ident(name, delta);
                if let Some(ty) = ty {
                    shift_type(ty, delta);
                }
                shift_expr(value, delta);
                shift(span, delta);
            }
            shift_expr(result, delta);
        }
        ExprKind::Unary {
            op: _,
            op_span,
            operand,
        } => {
            shift(op_span, delta);
            shift_expr(operand, delta);
        }
        ExprKind::Binary {
            op: _,
            op_span,
            lhs,
            rhs,
        } => {
            shift(op_span, delta);
            shift_expr(lhs, delta);
            shift_expr(rhs, delta);
        }
    }
}
