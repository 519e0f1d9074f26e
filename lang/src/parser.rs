//! The parser: text in, [`ast::Module`] plus diagnostics out, never failing.
//!
//! The grammar lives in `flow.pest`. Parsing goes in three steps:
//!
//! 1. A small lexer ([`lexer`]) lists every token and comment. Comments go to
//!    [`ast::Module::comments`] and the doc comments to the items they
//!    document.
//! 2. The file is cut into items at item keywords that begin a line (see
//!    [`lexer::item_starts`]), and each piece is parsed by pest on its own.
//!    A piece that does not parse costs one diagnostic and that item only;
//!    every other item is still in the tree.
//! 3. [`build`] turns pest's pairs into syntax tree nodes, checks literals,
//!    applies operator precedence and reports what the grammar alone cannot
//!    (chained comparisons, integers out of range, bad escapes).
//!
//! Before pest sees a piece, its nesting depth is measured; a piece nested
//! deeper than [`MAX_NESTING`], or whose tree would be deeper than
//! [`MAX_TREE_DEPTH`] (operator chains included), is reported instead of
//! parsed, so that neither the parser nor any later pass that walks the tree
//! recursively can run out of stack.

mod build;
mod errors;
mod lexer;

use pest::Parser as _;
use pest_derive::Parser;

use crate::ast::{self, CommentKind};
use crate::diagnostic::{Diagnostic, Label};
use crate::incremental::ParseCache;
use crate::span::{FileId, Span};

/// How deeply expressions, types and brackets may nest. Real programs stay
/// far below; the limit protects the parser and every recursive pass.
pub const MAX_NESTING: usize = 100;

/// How deep the syntax tree of one item may be, counting every binary
/// operator of a chain as a level (`a + b + c` is `(a + b) + c`). Long flat
/// chains, generated sums or pipelines of many stages, fit; the limit keeps
/// every recursive pass within its stack. Measured: the type checker of a
/// debug build, the deepest recursion per level, overflows the 8 MiB main
/// thread between 900 and 1,000 levels, so 600 leaves a third spare.
pub const MAX_TREE_DEPTH: usize = 600;

#[derive(Parser)]
#[grammar = "flow.pest"]
struct FlowGrammar;

/// The result of parsing one file: the tree (as complete as the text
/// allows) and every syntax diagnostic, in source order.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseResult {
    pub module: ast::Module,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses the text of one `.flow` file. `file` is only used in diagnostic
/// labels. Never panics; an empty file is an empty module.
pub fn parse(file: FileId, text: &str) -> ParseResult {
    parse_with(file, text, None)
}

/// [`parse`], reusing and filling `cache` when there is one (see
/// [`crate::incremental`]).
pub(crate) fn parse_with(
    file: FileId,
    text: &str,
    mut cache: Option<&mut ParseCache>,
) -> ParseResult {
    // Spans are `u32`; a larger text cannot be described, so it is refused
    // with one diagnostic instead of producing wrong spans.
    if u32::try_from(text.len()).is_err() {
        return ParseResult {
            module: ast::Module::default(),
            diagnostics: vec![Diagnostic::error(
                errors::FILE_TOO_LARGE,
                "the file is too large to parse (4 GiB or more)",
                Label::new(file, Span::new(0, 0), "in this file"),
            )],
        };
    }
    let tokens = lexer::tokenize(text);
    let comments = comments_of(text, &tokens);
    let starts = lexer::item_starts(text, &tokens);
    let code_ends: Vec<usize> = tokens
        .iter()
        .filter(|t| !matches!(t.kind, lexer::TokenKind::Comment(_)))
        .map(|t| t.end)
        .collect();

    let mut diagnostics = Vec::new();
    let mut items = Vec::new();

    // Anything but comments before the first item is a piece of its own:
    // parsing it as an item reports what it is.
    let first_start = starts.first().copied().unwrap_or(text.len());
    let mut pieces = Vec::with_capacity(starts.len() + 1);
    if tokens
        .iter()
        .any(|t| t.start < first_start && !matches!(t.kind, lexer::TokenKind::Comment(_)))
    {
        pieces.push(Piece {
            start: 0,
            end: first_start,
        });
    }
    for (index, &start) in starts.iter().enumerate() {
        let end = starts.get(index + 1).copied().unwrap_or(text.len());
        pieces.push(Piece { start, end });
    }
    if let Some(cache) = cache.as_deref_mut() {
        cache.begin();
    }
    for piece in pieces {
        let Some(cache) = cache.as_deref_mut() else {
            parse_piece(
                file,
                text,
                &tokens,
                &code_ends,
                piece,
                &mut items,
                &mut diagnostics,
            );
            continue;
        };
        let piece_text = text.get(piece.start..piece.end).unwrap_or("");
        if cache.reuse(file, piece_text, piece.start, &mut items, &mut diagnostics) {
            continue;
        }
        let (items_before, diagnostics_before) = (items.len(), diagnostics.len());
        let cacheable = parse_piece(
            file,
            text,
            &tokens,
            &code_ends,
            piece,
            &mut items,
            &mut diagnostics,
        );
        match (
            cacheable,
            items.get(items_before..),
            diagnostics.get(diagnostics_before..),
        ) {
            (true, Some(new_items), Some(new_diagnostics)) => {
                cache.store(piece_text, piece.start, new_items, new_diagnostics);
            }
            _ => cache.skipped(),
        }
    }
    if let Some(cache) = cache {
        cache.finish();
    }

    for item in &mut items {
        item.docs = item_docs(text, &comments, item.span.start as usize);
    }
    let docs_end = items.first().map_or(text.len(), |i| i.span.start as usize);
    let docs = join_docs(
        comments
            .iter()
            .filter(|c| c.kind == CommentKind::FileDoc && (c.span.end as usize) <= docs_end),
    );
    diagnostics.sort_by_key(|d: &Diagnostic| d.primary.span.start);
    ParseResult {
        module: ast::Module {
            docs,
            items,
            comments,
        },
        diagnostics,
    }
}

/// A byte range of the file that should hold exactly one item.
#[derive(Clone, Copy, Debug)]
struct Piece {
    start: usize,
    end: usize,
}

/// Parses one piece into `items` and `diagnostics`. True when what it
/// added depends on the piece's text alone, so it may be cached.
fn parse_piece(
    file: FileId,
    text: &str,
    tokens: &[lexer::Token],
    code_ends: &[usize],
    piece: Piece,
    items: &mut Vec<ast::Item>,
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    let Some(piece_text) = text.get(piece.start..piece.end) else {
        return false;
    };
    if let Some(too_deep) = lexer::too_deep_at(
        text,
        tokens,
        piece.start,
        piece.end,
        MAX_NESTING,
        MAX_TREE_DEPTH,
    ) {
        diagnostics.push(match too_deep {
            lexer::TooDeep::Nesting(at) => errors::too_deep(file, tokens, at),
            lexer::TooDeep::Length(at) => errors::too_long(file, tokens, at),
        });
        items.extend(placeholder(text, tokens, piece));
        return false;
    }
    // The builder looks up token ends for every node's span; searching only
    // this piece's tokens keeps each look-up to a few comparisons.
    let first_end = code_ends.partition_point(|&e| e <= piece.start);
    let last_end = code_ends.partition_point(|&e| e <= piece.end);
    let code_ends = code_ends.get(first_end..last_end).unwrap_or(&[]);
    let parsed = FlowGrammar::parse(Rule::item_only, piece_text);
    match parsed {
        Ok(mut pairs) => {
            let item_pair = pairs
                .next()
                .and_then(|item_only| item_only.into_inner().next());
            if let Some(item_pair) = item_pair {
                let mut builder = build::Builder::new(file, piece.start, code_ends, diagnostics);
                if let Some(item) = builder.item(item_pair) {
                    items.push(item);
                }
            }
            true
        }
        Err(error) => {
            diagnostics.push(errors::syntax_error(file, text, tokens, piece, &error));
            items.extend(placeholder(text, tokens, piece));
            false
        }
    }
}

/// For a `let` or `output` that did not parse, an item that still declares
/// its name, with an erroneous value, so that its uses are not reported as
/// unknown names on top of the syntax error (one mistake, one diagnostic).
fn placeholder(text: &str, tokens: &[lexer::Token], piece: Piece) -> Option<ast::Item> {
    let mut code = tokens.iter().filter(|t| {
        t.start >= piece.start
            && t.end <= piece.end
            && !matches!(t.kind, lexer::TokenKind::Comment(_))
    });
    let keyword = code.next()?;
    let name = code.next()?;
    if keyword.kind != lexer::TokenKind::Keyword || name.kind != lexer::TokenKind::Ident {
        return None;
    }
    let ident = crate::span::Ident::new(name.text(text), Span::new(name.start, name.end));
    let end = tokens
        .iter()
        .filter(|t| t.end <= piece.end && !matches!(t.kind, lexer::TokenKind::Comment(_)))
        .map(|t| t.end)
        .next_back()
        .unwrap_or(name.end);
    let value = ast::Expr {
        kind: ast::ExprKind::Error,
        span: Span::new(name.end, end),
    };
    let kind = match keyword.text(text) {
        "let" => ast::ItemKind::Let(ast::LetDecl {
            name: ident,
            ty: None,
            value,
        }),
        "output" => ast::ItemKind::Output(ast::OutputDecl {
            name: ident,
            value,
            to: None,
        }),
        _ => return None,
    };
    Some(ast::Item {
        docs: None,
        kind,
        span: Span::new(keyword.start, end),
    })
}

/// Every comment of the file, in source order.
fn comments_of(text: &str, tokens: &[lexer::Token]) -> Vec<ast::Comment> {
    tokens
        .iter()
        .filter_map(|token| match token.kind {
            lexer::TokenKind::Comment(kind) => {
                let marker = match kind {
                    CommentKind::Line => 2,
                    CommentKind::ItemDoc | CommentKind::FileDoc => 3,
                };
                let whole = token.text(text);
                Some(ast::Comment {
                    kind,
                    text: whole.get(marker..).unwrap_or("").to_string(),
                    span: Span::new(token.start, token.end),
                })
            }
            _ => None,
        })
        .collect()
}

/// The `///` comments right before `item_start`, separated from it and from
/// each other by nothing but whitespace.
fn item_docs(text: &str, comments: &[ast::Comment], item_start: usize) -> Option<String> {
    let before = comments.partition_point(|c| (c.span.end as usize) <= item_start);
    let mut first = before;
    let mut next_start = item_start;
    while first > 0 {
        let comment = &comments[first - 1];
        let gap = text
            .get(comment.span.end as usize..next_start)
            .unwrap_or("x");
        if comment.kind != CommentKind::ItemDoc || !gap.trim().is_empty() {
            break;
        }
        next_start = comment.span.start as usize;
        first -= 1;
    }
    join_docs(comments[first..before].iter())
}

/// Joins doc comment lines, each without its marker and one following space.
fn join_docs<'a>(lines: impl Iterator<Item = &'a ast::Comment>) -> Option<String> {
    let lines: Vec<&str> = lines
        .map(|c| c.text.strip_prefix(' ').unwrap_or(&c.text))
        .collect();
    if lines.is_empty() {
        None
    } else {
        Some(lines.join("\n"))
    }
}
