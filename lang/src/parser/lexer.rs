//! A small hand-written lexer that runs beside the pest grammar.
//!
//! pest parses the items; this lexer answers the questions pest cannot:
//! where every comment is (the formatter keeps them all), where the items of
//! a broken file begin (for recovery), how deeply a piece of text nests
//! (checked before pest recurses into it), and what token sits at the place
//! of a syntax error (for a message in plain words). It accepts any text and
//! never fails: what it does not recognise becomes an [`TokenKind::Unknown`]
//! token.

use crate::ast::CommentKind;

/// Words that are never identifiers.
pub(crate) const KEYWORDS: &[&str] = &[
    "param", "input", "let", "fn", "type", "extern", "from", "output", "to", "policy", "delegate",
    "when", "if", "then", "else", "and", "or", "not", "true", "false", "import",
];

/// Keywords that begin an item.
const ITEM_KEYWORDS: &[&str] = &[
    "import", "type", "param", "input", "fn", "extern", "let", "output", "policy",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Ident,
    Keyword,
    Number,
    /// A string literal; `terminated` is false when the line ended first.
    Str {
        terminated: bool,
    },
    Punct,
    Comment(CommentKind),
    /// A character that starts no token (`@`, `!` alone, non-ASCII, …).
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
    /// True when no other token (comments excepted) precedes it on its line.
    pub first_on_line: bool,
}

impl Token {
    pub fn text(self, source: &str) -> &str {
        source.get(self.start..self.end).unwrap_or("")
    }
}

fn is_ident_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_'
}

fn is_ident_continue(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Splits `text` into tokens, comments included, in source order.
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    let mut first_on_line = true;
    while pos < bytes.len() {
        let byte = bytes[pos];
        if byte == b'\n' {
            first_on_line = true;
            pos += 1;
            continue;
        }
        if byte == b' ' || byte == b'\t' || byte == b'\r' {
            pos += 1;
            continue;
        }
        if text[pos..].starts_with('\u{FEFF}') {
            pos += '\u{FEFF}'.len_utf8();
            continue;
        }
        let start = pos;
        let kind = if text[pos..].starts_with("//") {
            let line_end = text[pos..].find('\n').map_or(bytes.len(), |n| pos + n);
            // The line ending is not part of the comment, `\r` included.
            pos = if line_end > pos && bytes.get(line_end - 1) == Some(&b'\r') {
                line_end - 1
            } else {
                line_end
            };
            let comment = &text[start..pos];
            let kind = if comment.starts_with("//!") {
                CommentKind::FileDoc
            } else if comment.starts_with("///") && !comment.starts_with("////") {
                CommentKind::ItemDoc
            } else {
                CommentKind::Line
            };
            tokens.push(Token {
                kind: TokenKind::Comment(kind),
                start,
                end: pos,
                first_on_line,
            });
            continue;
        } else if is_ident_start(byte) {
            while pos < bytes.len() && is_ident_continue(bytes[pos]) {
                pos += 1;
            }
            if KEYWORDS.contains(&&text[start..pos]) {
                TokenKind::Keyword
            } else {
                TokenKind::Ident
            }
        } else if byte.is_ascii_digit() {
            // After a `.`, digits are a tuple index (`t.0.1`), never a float.
            let after_dot = tokens.last().is_some_and(|t: &Token| {
                t.kind == TokenKind::Punct
                    && t.end - t.start == 1
                    && bytes.get(t.start) == Some(&b'.')
            });
            if after_dot {
                while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                    pos += 1;
                }
            } else {
                pos = number_end(bytes, pos);
            }
            TokenKind::Number
        } else if byte == b'"' {
            pos += 1;
            let mut terminated = false;
            while pos < bytes.len() {
                match bytes[pos] {
                    b'"' => {
                        pos += 1;
                        terminated = true;
                        break;
                    }
                    b'\n' => break,
                    b'\\' if bytes.get(pos + 1).is_some_and(|&b| b != b'\n') => pos += 2,
                    _ => pos += 1,
                }
            }
            // An escaped multi-byte character may have put `pos` inside it.
            while !text.is_char_boundary(pos) {
                pos += 1;
            }
            if !terminated && pos > start + 1 && bytes.get(pos - 1) == Some(&b'\r') {
                pos -= 1;
            }
            TokenKind::Str { terminated }
        } else if let Some(len) = punct_len(&bytes[pos..]) {
            pos += len;
            TokenKind::Punct
        } else {
            let len = text[pos..].chars().next().map_or(1, char::len_utf8);
            pos += len;
            TokenKind::Unknown
        };
        tokens.push(Token {
            kind,
            start,
            end: pos,
            first_on_line,
        });
        first_on_line = false;
    }
    tokens
}

/// The end of a number starting at `pos`, with the same shape as the
/// grammar's `number` rule: digits, an optional fraction and exponent, then
/// any letters (units, or a mistake the parser reports).
fn number_end(bytes: &[u8], mut pos: usize) -> usize {
    let digits = |pos: &mut usize| {
        while *pos < bytes.len() && (bytes[*pos].is_ascii_digit() || bytes[*pos] == b'_') {
            *pos += 1;
        }
    };
    digits(&mut pos);
    if bytes.get(pos) == Some(&b'.') && bytes.get(pos + 1).is_some_and(u8::is_ascii_digit) {
        pos += 1;
        digits(&mut pos);
    }
    if matches!(bytes.get(pos), Some(b'e' | b'E')) {
        let mut after = pos + 1;
        if matches!(bytes.get(after), Some(b'+' | b'-')) {
            after += 1;
        }
        if bytes.get(after).is_some_and(u8::is_ascii_digit) {
            pos = after;
            digits(&mut pos);
        }
    }
    while pos < bytes.len() && is_ident_continue(bytes[pos]) {
        pos += 1;
    }
    pos
}

fn punct_len(rest: &[u8]) -> Option<usize> {
    const TWO: &[&[u8]] = &[b"|>", b"=>", b"->", b"==", b"!=", b"<=", b">="];
    if TWO.iter().any(|op| rest.starts_with(op)) {
        return Some(2);
    }
    match rest.first() {
        Some(
            b'(' | b')' | b'[' | b']' | b'{' | b'}' | b',' | b':' | b';' | b'.' | b'=' | b'<'
            | b'>' | b'+' | b'-' | b'*' | b'/' | b'%',
        ) => Some(1),
        _ => None,
    }
}

/// Byte offsets where items begin, used to cut a broken file into pieces
/// that are parsed on their own.
///
/// An item begins at an item keyword that is the first token of its line
/// and that cannot continue the item before it. Keywords other than `let`
/// never occur inside an item (`fn` only as a function type, `fn(`), so they
/// start an item even inside unclosed brackets: a missing `)` then costs
/// one item, not the rest of the file. `let` also occurs in blocks, so it
/// starts an item only when the innermost open bracket is not a block brace.
pub(crate) fn item_starts(text: &str, tokens: &[Token]) -> Vec<usize> {
    let mut starts = Vec::new();
    // The open brackets of the current item; `true` marks a brace that is a
    // block or record (where `let` may appear), `false` any other bracket.
    let mut open: Vec<bool> = Vec::new();
    let mut item_keyword = "";
    let mut code = tokens
        .iter()
        .filter(|t| !matches!(t.kind, TokenKind::Comment(_)))
        .peekable();
    let mut previous_word = "";
    while let Some(token) = code.next() {
        let word = token.text(text);
        let after_extern = previous_word == "extern";
        previous_word = word;
        if token.kind == TokenKind::Keyword && token.first_on_line && ITEM_KEYWORDS.contains(&word)
        {
            let next_is_paren = code.peek().is_some_and(|next| next.text(text) == "(");
            let begins = match word {
                // `extern` and `fn` may stand on different lines (a comment
                // between them, say): the `fn` continues the `extern` item.
                "fn" => !next_is_paren && !after_extern,
                "let" => open.last() != Some(&true),
                _ => true,
            };
            if begins {
                starts.push(token.start);
                open.clear();
                item_keyword = word;
                continue;
            }
        }
        if token.kind == TokenKind::Punct {
            match word {
                "(" | "[" => open.push(false),
                "{" => {
                    // The braces of `type X = { … }` and `policy { … }` hold
                    // fields or settings, never a `let`.
                    let item_brace = open.is_empty() && matches!(item_keyword, "type" | "policy");
                    open.push(!item_brace);
                }
                ")" | "]" | "}" => {
                    open.pop();
                }
                _ => {}
            }
        }
    }
    starts
}

/// What [`too_deep_at`] found past its limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TooDeep {
    /// Brackets, blocks, `if`s, `not`s or lambdas nest past the nesting
    /// limit; the offset is the token that crossed it.
    Nesting(usize),
    /// The nesting is fine, but binary operators in a row make the syntax
    /// tree deeper than the depth limit (every operator of a left-associative
    /// chain is one level of the tree); the offset is the operator that
    /// crossed it.
    Length(usize),
}

/// How deeply the code between `start` and `end` nests. Two measures are
/// kept. *Nesting* counts brackets and, within one level, the `if`s, `not`s
/// and lambdas that nest without brackets: this is what a reader sees as
/// nesting, limited to `nesting_limit`. *Tree depth* adds the binary
/// operators of the current element, since `a + b + c` is `(a + b) + c` and
/// the parser and every later pass recurse once per operator; it is limited
/// to `depth_limit`, far above `nesting_limit`, so that a long flat chain
/// such as 500 `+` is fine while no input can exhaust the stack.
pub(crate) fn too_deep_at(
    text: &str,
    tokens: &[Token],
    start: usize,
    end: usize,
    nesting_limit: usize,
    depth_limit: usize,
) -> Option<TooDeep> {
    // Per open bracket: how many nesting constructs and how many operators
    // its current element holds. Commas and semicolons start a sibling
    // element, which begins again at the bracket's own depth.
    #[derive(Clone, Copy, Default)]
    struct Frame {
        nests: usize,
        operators: usize,
    }
    let mut frames: Vec<Frame> = vec![Frame::default()];
    let mut nesting = 0usize;
    let mut tree_depth = 0usize;
    for token in tokens_between(tokens, start, end) {
        let word = token.text(text);
        let mut nests = false;
        let mut operator = false;
        match token.kind {
            TokenKind::Keyword => match word {
                "if" | "not" => nests = true,
                "and" | "or" => operator = true,
                _ => {}
            },
            TokenKind::Punct => match word {
                "(" | "[" | "{" => {
                    frames.push(Frame::default());
                    nesting += 1;
                    tree_depth += 1;
                }
                // A closing bracket without an opening one is left to pest.
                ")" | "]" | "}" if frames.len() > 1 => {
                    let inner = frames.pop().unwrap_or_default();
                    nesting = nesting.saturating_sub(1 + inner.nests);
                    tree_depth = tree_depth.saturating_sub(1 + inner.nests + inner.operators);
                }
                "," | ";" => {
                    if let Some(frame) = frames.last_mut() {
                        nesting = nesting.saturating_sub(frame.nests);
                        tree_depth = tree_depth.saturating_sub(frame.nests + frame.operators);
                        *frame = Frame::default();
                    }
                }
                "=>" => nests = true,
                "|>" | "==" | "!=" | "<=" | ">=" | "<" | ">" | "+" | "-" | "*" | "/" | "%" => {
                    operator = true;
                }
                _ => {}
            },
            _ => {}
        }
        if let Some(frame) = frames.last_mut() {
            if nests {
                frame.nests += 1;
                nesting += 1;
                tree_depth += 1;
            } else if operator {
                frame.operators += 1;
                tree_depth += 1;
            }
        }
        if nesting > nesting_limit {
            return Some(TooDeep::Nesting(token.start));
        }
        if tree_depth > depth_limit {
            return Some(TooDeep::Length(token.start));
        }
    }
    None
}

/// The tokens that lie between `start` and `end`, found by binary search so
/// that looking at every item of a file stays linear.
pub(crate) fn tokens_between(tokens: &[Token], start: usize, end: usize) -> &[Token] {
    let first = tokens.partition_point(|t| t.start < start);
    let last = tokens.partition_point(|t| t.end <= end);
    tokens.get(first..last.max(first)).unwrap_or(&[])
}

/// Words for a token in a message: "`=`", "identifier `x`", "end of file".
pub(crate) fn describe(token: Option<&Token>, text: &str) -> String {
    let Some(token) = token else {
        return "end of file".to_string();
    };
    let word = token.text(text);
    let shown: String = word.chars().take(24).collect();
    let shown = if shown.len() < word.len() {
        format!("{shown}…")
    } else {
        shown
    };
    match token.kind {
        TokenKind::Ident => format!("identifier `{shown}`"),
        TokenKind::Keyword => format!("keyword `{shown}`"),
        TokenKind::Number => format!("number `{shown}`"),
        TokenKind::Str { .. } => "a string".to_string(),
        TokenKind::Punct => format!("`{shown}`"),
        TokenKind::Comment(_) => "a comment".to_string(),
        TokenKind::Unknown => format!("character `{}`", shown.escape_debug()),
    }
}
