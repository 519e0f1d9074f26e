//! Semantic tokens (`textDocument/semanticTokens/full`): colours for
//! editors that have no Flow grammar of their own (Neovim, or any client
//! without the VS Code extension), and finer ones than a grammar can give
//! where it does: a name is coloured by what it refers to (a function, a
//! type, a record field, a parameter, a value), which only the analysis
//! knows.
//!
//! The text is scanned for comments, strings, numbers (with their size
//! units), keywords and operators; every identifier takes its kind from
//! [`flow_compiler::Index::names_in_file`]. Positions are UTF-16, as the
//! protocol requires, and no token spans lines (comments and strings end at
//! the end of their line in Flow).

use std::collections::HashMap;

use flow_compiler::{DefKind, Definition};
use lsp_types::{
    SemanticToken, SemanticTokenModifier, SemanticTokenType, SemanticTokens, SemanticTokensLegend,
    SemanticTokensParams,
};

use super::Reply;
use super::complete::POLICY_KEYS;
use super::features::{KEYWORDS, to_value};
use super::state::State;
use super::uri::uri_to_path;

/// Token types, in legend order: a token's type is its index here.
const TYPES: &[SemanticTokenType] = &[
    SemanticTokenType::KEYWORD,
    SemanticTokenType::COMMENT,
    SemanticTokenType::STRING,
    SemanticTokenType::NUMBER,
    SemanticTokenType::OPERATOR,
    SemanticTokenType::FUNCTION,
    SemanticTokenType::TYPE,
    SemanticTokenType::PARAMETER,
    SemanticTokenType::VARIABLE,
    SemanticTokenType::PROPERTY,
];
const KEYWORD: u32 = 0;
const COMMENT: u32 = 1;
const STRING: u32 = 2;
const NUMBER: u32 = 3;
const OPERATOR: u32 = 4;
const FUNCTION: u32 = 5;
const TYPE: u32 = 6;
const PARAMETER: u32 = 7;
const VARIABLE: u32 = 8;
const PROPERTY: u32 = 9;

/// Token modifiers, in legend order: modifier `i` is bit `1 << i`.
const MODIFIERS: &[SemanticTokenModifier] = &[
    SemanticTokenModifier::DECLARATION,
    SemanticTokenModifier::DOCUMENTATION,
    SemanticTokenModifier::DEFAULT_LIBRARY,
    SemanticTokenModifier::READONLY,
];
const DECLARATION: u32 = 1;
const DOCUMENTATION: u32 = 1 << 1;
const DEFAULT_LIBRARY: u32 = 1 << 2;
const READONLY: u32 = 1 << 3;

/// Names the language gives meaning to without declaring them anywhere the
/// index sees: the primitive types and the bounds of generic parameters.
const BUILTIN_TYPES: &[&str] = &["int", "float", "bool", "str", "stream", "Num", "Scalar"];

/// The units that may follow a size literal (`4 MiB`) or, in `policy`, a
/// duration (`250ms` is one token already).
const SIZE_UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "KB", "MB", "GB"];

/// The legend announced in the server's capabilities.
pub fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: TYPES.to_vec(),
        token_modifiers: MODIFIERS.to_vec(),
    }
}

pub fn semantic_tokens_full(state: &State, params: SemanticTokensParams) -> Reply {
    let path = uri_to_path(&params.text_document.uri);
    let analysis = state
        .analysis(&path)
        .ok_or_else(|| format!("`{path}` is not open"))?;
    let file = analysis
        .sources
        .find(&path)
        .ok_or_else(|| format!("`{path}` was not analysed"))?;
    let text = analysis.sources.get(file).text.as_str();
    let mut names: HashMap<usize, (u32, u32)> = HashMap::new();
    for (span, definition, declaration) in analysis.index.names_in_file(file) {
        let (kind, modifiers) = classify(definition);
        let declared = if declaration { DECLARATION } else { 0 };
        // A declaration and a use can share a start (a record field
        // shorthand); the declaration, sorted first, wins.
        names
            .entry(span.start as usize)
            .or_insert((kind, modifiers | declared));
    }
    to_value(SemanticTokens {
        result_id: None,
        data: encode(text, &scan(text, &names)),
    })
}

/// The token type and modifiers of a name that refers to `definition`.
fn classify(definition: &Definition) -> (u32, u32) {
    match definition.kind {
        DefKind::Fn | DefKind::ExternFn => (FUNCTION, 0),
        DefKind::StdFn => (FUNCTION, DEFAULT_LIBRARY),
        DefKind::Type => (TYPE, 0),
        DefKind::Field => (PROPERTY, 0),
        DefKind::FnParam | DefKind::LambdaParam => (PARAMETER, 0),
        DefKind::Param | DefKind::Input => (VARIABLE, READONLY),
        DefKind::Let | DefKind::Output | DefKind::BlockLet => (VARIABLE, 0),
        DefKind::PolicyVar => (VARIABLE, DEFAULT_LIBRARY),
    }
}

/// One token before delta encoding: a byte range of one line and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Token {
    start: usize,
    end: usize,
    kind: u32,
    modifiers: u32,
}

/// The tokens of `text` in order; `names` gives the kind of the identifiers
/// that start at a byte offset.
fn scan(text: &str, names: &HashMap<usize, (u32, u32)>) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens: Vec<Token> = Vec::new();
    let mut pos = 0;
    let push = |tokens: &mut Vec<Token>, start, end, kind, modifiers| {
        tokens.push(Token {
            start,
            end,
            kind,
            modifiers,
        })
    };
    let line_end = |from: usize| {
        bytes
            .get(from..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
            .map_or(bytes.len(), |n| from + n)
    };
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    while let Some(&byte) = bytes.get(pos) {
        let next = bytes.get(pos + 1).copied();
        if byte == b'/' && next == Some(b'/') {
            let end = line_end(pos);
            let third = bytes.get(pos + 2).copied();
            let fourth = bytes.get(pos + 3).copied();
            let documentation =
                third == Some(b'!') || (third == Some(b'/') && fourth != Some(b'/'));
            let modifiers = if documentation { DOCUMENTATION } else { 0 };
            // A `\r` before the newline is not part of the comment.
            let end = if end > pos && bytes.get(end - 1) == Some(&b'\r') {
                end - 1
            } else {
                end
            };
            push(&mut tokens, pos, end, COMMENT, modifiers);
            pos = end;
        } else if byte == b'"' {
            let mut end = pos + 1;
            while let Some(&b) = bytes.get(end) {
                match b {
                    // An escape takes the whole character after its backslash.
                    b'\\'
                        if bytes
                            .get(end + 1)
                            .is_some_and(|&n| n != b'\n' && n != b'\r') =>
                    {
                        end += 1 + char_len_at(text, end + 1);
                    }
                    b'"' => {
                        end += 1;
                        break;
                    }
                    b'\n' | b'\r' => break,
                    _ => end += 1,
                }
            }
            let end = end.min(bytes.len());
            push(&mut tokens, pos, end, STRING, 0);
            pos = end;
        } else if byte.is_ascii_digit() {
            // After `.`, digits are a tuple index (`t.0.1`), never a float.
            let after_dot = pos > 0 && bytes.get(pos - 1) == Some(&b'.');
            let mut end = pos;
            while let Some(&b) = bytes.get(end) {
                let exponent_sign = (b == b'+' || b == b'-')
                    && !after_dot
                    && end > pos
                    && matches!(bytes.get(end - 1), Some(b'e' | b'E'))
                    && bytes.get(pos..end).is_some_and(|n| !n.starts_with(b"0x"));
                let fraction =
                    b == b'.' && !after_dot && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
                let digit_or_letter = if after_dot {
                    b.is_ascii_digit()
                } else {
                    is_ident(b)
                };
                if digit_or_letter || fraction || exponent_sign {
                    end += 1;
                } else {
                    break;
                }
            }
            push(&mut tokens, pos, end, NUMBER, 0);
            pos = end;
            // `4 MiB`: the unit after spaces belongs to the number.
            let mut unit_start = pos;
            while matches!(bytes.get(unit_start), Some(b' ' | b'\t')) {
                unit_start += 1;
            }
            let mut unit_end = unit_start;
            while bytes.get(unit_end).copied().is_some_and(is_ident) {
                unit_end += 1;
            }
            if unit_start > pos
                && text
                    .get(unit_start..unit_end)
                    .is_some_and(|unit| SIZE_UNITS.contains(&unit))
            {
                push(&mut tokens, unit_start, unit_end, NUMBER, 0);
                pos = unit_end;
            }
        } else if byte.is_ascii_alphabetic() || byte == b'_' {
            let mut end = pos;
            while bytes.get(end).copied().is_some_and(is_ident) {
                end += 1;
            }
            let word = text.get(pos..end).unwrap_or("");
            if let Some(&(kind, modifiers)) = names.get(&pos) {
                push(&mut tokens, pos, end, kind, modifiers);
            } else if POLICY_KEYS.iter().any(|(key, _)| *key == word) && is_setting(bytes, end) {
                push(&mut tokens, pos, end, PROPERTY, 0);
            } else if KEYWORDS.contains(&word) {
                push(&mut tokens, pos, end, KEYWORD, 0);
            } else if BUILTIN_TYPES.contains(&word) {
                push(&mut tokens, pos, end, TYPE, DEFAULT_LIBRARY);
            } else if word.starts_with(|c: char| c.is_ascii_uppercase()) {
                push(&mut tokens, pos, end, TYPE, 0);
            }
            pos = end;
        } else {
            let operator_len = match (byte, next) {
                (b'|', Some(b'>')) | (b'=', Some(b'>' | b'=')) | (b'-', Some(b'>')) => 2,
                (b'!' | b'<' | b'>', Some(b'=')) => 2,
                (b'+' | b'-' | b'*' | b'/' | b'%' | b'<' | b'>' | b'=', _) => 1,
                _ => 0,
            };
            if operator_len > 0 {
                push(&mut tokens, pos, pos + operator_len, OPERATOR, 0);
                pos += operator_len;
            } else {
                // Punctuation, white space or a character of another script:
                // step over one whole character.
                pos += char_len_at(text, pos);
            }
        }
    }
    tokens
}

/// The protocol's relative encoding: each token's line and start relative to
/// the previous token's, lengths and starts in UTF-16 code units.
fn encode(text: &str, tokens: &[Token]) -> Vec<SemanticToken> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut walker = Utf16Walker::new(text);
    let (mut previous_line, mut previous_start) = (0u32, 0u32);
    for token in tokens {
        let (line, start) = walker.advance_to(token.start);
        let length = text
            .get(token.start..token.end)
            .map_or(0, |slice| slice.encode_utf16().count());
        let delta_line = line.saturating_sub(previous_line);
        let delta_start = if delta_line == 0 {
            start.saturating_sub(previous_start)
        } else {
            start
        };
        out.push(SemanticToken {
            delta_line,
            delta_start,
            length: u32::try_from(length).unwrap_or(u32::MAX),
            token_type: token.kind,
            token_modifiers_bitset: token.modifiers,
        });
        previous_line = line;
        previous_start = start;
    }
    out
}

/// Walks a text forwards, keeping the line and UTF-16 column of a byte
/// offset, so encoding a whole file's tokens is one pass over it.
#[derive(Debug)]
struct Utf16Walker<'a> {
    text: &'a str,
    offset: usize,
    line: u32,
    column: u32,
}

impl<'a> Utf16Walker<'a> {
    fn new(text: &'a str) -> Utf16Walker<'a> {
        Utf16Walker {
            text,
            offset: 0,
            line: 0,
            column: 0,
        }
    }

    /// The line and UTF-16 column of `offset`, which is not before the
    /// previous one asked for and is a character boundary.
    fn advance_to(&mut self, offset: usize) -> (u32, u32) {
        let target = offset.min(self.text.len());
        if let Some(passed) = self.text.get(self.offset..target) {
            for c in passed.chars() {
                if c == '\n' {
                    self.line += 1;
                    self.column = 0;
                } else {
                    self.column += c.len_utf16() as u32;
                }
            }
            self.offset = target;
        }
        (self.line, self.column)
    }
}

/// Whether the name that ends at `end` is followed by the `=` of a policy
/// setting (`split = 4 MiB`), not by `==` or `=>`.
fn is_setting(bytes: &[u8], end: usize) -> bool {
    let mut at = end;
    while matches!(bytes.get(at), Some(b' ' | b'\t')) {
        at += 1;
    }
    bytes.get(at) == Some(&b'=') && !matches!(bytes.get(at + 1), Some(b'=' | b'>'))
}

/// The length in bytes of the character at `offset` (1 past the end).
fn char_len_at(text: &str, offset: usize) -> usize {
    text.get(offset..)
        .and_then(|rest| rest.chars().next())
        .map_or(1, char::len_utf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text and kind of every token of `text`, with no names known.
    fn kinds(text: &str) -> Vec<(&str, u32, u32)> {
        scan(text, &HashMap::new())
            .iter()
            .map(|t| (&text[t.start..t.end], t.kind, t.modifiers))
            .collect()
    }

    #[test]
    fn comments_strings_numbers_keywords_and_operators() {
        let text = "//! File.\n/// Doc.\nlet x: int = 4 MiB + 0xff * 1e-9 // note\n";
        assert_eq!(
            kinds(text),
            vec![
                ("//! File.", COMMENT, DOCUMENTATION),
                ("/// Doc.", COMMENT, DOCUMENTATION),
                ("let", KEYWORD, 0),
                ("int", TYPE, DEFAULT_LIBRARY),
                ("=", OPERATOR, 0),
                ("4", NUMBER, 0),
                ("MiB", NUMBER, 0),
                ("+", OPERATOR, 0),
                ("0xff", NUMBER, 0),
                ("*", OPERATOR, 0),
                ("1e-9", NUMBER, 0),
                ("// note", COMMENT, 0),
            ]
        );
    }

    #[test]
    fn tuple_indexes_pipes_and_unterminated_strings() {
        let text = "t.0.1 |> f(x => \"a\\\"b\") == \"open\nsplit = depth == 1\n";
        assert_eq!(
            kinds(text),
            vec![
                ("0", NUMBER, 0),
                ("1", NUMBER, 0),
                ("|>", OPERATOR, 0),
                ("=>", OPERATOR, 0),
                ("\"a\\\"b\"", STRING, 0),
                ("==", OPERATOR, 0),
                ("\"open", STRING, 0),
                ("split", PROPERTY, 0),
                ("=", OPERATOR, 0),
                ("==", OPERATOR, 0),
                ("1", NUMBER, 0),
            ]
        );
    }

    #[test]
    fn names_take_the_kind_the_index_gives() {
        let text = "fn f(x: Row) -> int = x";
        let names: HashMap<usize, (u32, u32)> = [
            (3, (FUNCTION, DECLARATION)),
            (5, (PARAMETER, DECLARATION)),
            (22, (PARAMETER, 0)),
        ]
        .into();
        let found: Vec<(&str, u32, u32)> = scan(text, &names)
            .iter()
            .map(|t| (&text[t.start..t.end], t.kind, t.modifiers))
            .collect();
        assert_eq!(
            found,
            vec![
                ("fn", KEYWORD, 0),
                ("f", FUNCTION, DECLARATION),
                ("x", PARAMETER, DECLARATION),
                ("Row", TYPE, 0),
                ("->", OPERATOR, 0),
                ("int", TYPE, DEFAULT_LIBRARY),
                ("=", OPERATOR, 0),
                ("x", PARAMETER, 0),
            ]
        );
    }

    #[test]
    fn positions_and_lengths_are_utf16_and_relative() {
        // `😀` is two UTF-16 code units and four bytes; `é` one and two.
        let text = "let s = \"😀é\" // ok\nlet t = 1\n";
        let data = encode(text, &scan(text, &HashMap::new()));
        let triples: Vec<(u32, u32, u32)> = data
            .iter()
            .map(|t| (t.delta_line, t.delta_start, t.length))
            .collect();
        assert_eq!(
            triples,
            vec![
                (0, 0, 3), // let
                (0, 6, 1), // =
                (0, 2, 5), // "😀é": quote, 2 units, 1 unit, quote
                (0, 6, 5), // // ok, at column 14
                (1, 0, 3), // let
                (0, 6, 1), // =
                (0, 2, 1), // 1
            ]
        );
    }

    #[test]
    fn any_text_scans_without_panicking() {
        for text in [
            "\"\\",
            "\"\\é",
            "1e",
            "1.",
            "0x",
            "t.",
            "//",
            "/",
            "é\u{0}\r\n\"x\r\n",
            "4 ",
            "4 Mi",
        ] {
            let data = encode(text, &scan(text, &HashMap::new()));
            assert!(data.len() <= text.len(), "{text:?}");
        }
    }
}
