//! Syntax diagnostics: their codes (documented in `docs/errors.md`) and the
//! translation of pest's errors into messages in plain words.

use pest::error::{ErrorVariant, InputLocation};

use super::lexer::{self, Token, TokenKind};
use super::{Piece, Rule};
use crate::diagnostic::{Diagnostic, Label};
use crate::span::{FileId, Span};

pub(crate) const UNEXPECTED_TOKEN: &str = "E0001";
pub(crate) const UNTERMINATED_STRING: &str = "E0002";
pub(crate) const NUMBER_OUT_OF_RANGE: &str = "E0003";
pub(crate) const INVALID_ESCAPE: &str = "E0004";
pub(crate) const MALFORMED_NUMBER: &str = "E0005";
pub(crate) const CHAINED_COMPARISON: &str = "E0006";
pub(crate) const NESTING_TOO_DEEP: &str = "E0007";
pub(crate) const INVALID_UNICODE_ESCAPE: &str = "E0008";
pub(crate) const UNKNOWN_CHARACTER: &str = "E0009";
pub(crate) const KEYWORD_AS_NAME: &str = "E0010";
pub(crate) const FILE_TOO_LARGE: &str = "E0011";
pub(crate) const EXPRESSION_TOO_LONG: &str = "E0012";

/// The first token that starts at or after `offset`.
fn token_at(tokens: &[Token], offset: usize) -> Option<&Token> {
    let index = tokens.partition_point(|t| t.end <= offset);
    tokens[index..]
        .iter()
        .find(|t| !matches!(t.kind, TokenKind::Comment(_)))
}

/// The last code token that ends at or before `offset`.
fn token_before(tokens: &[Token], offset: usize) -> Option<&Token> {
    let index = tokens.partition_point(|t| t.end <= offset);
    tokens[..index]
        .iter()
        .rev()
        .find(|t| !matches!(t.kind, TokenKind::Comment(_)))
}

pub(crate) fn too_deep(file: FileId, tokens: &[Token], at: usize) -> Diagnostic {
    let span = token_at(tokens, at).map_or(Span::new(at, at), |t| Span::new(t.start, t.end));
    Diagnostic::error(
        NESTING_TOO_DEEP,
        format!(
            "this item nests too deeply (more than {} levels)",
            super::MAX_NESTING
        ),
        Label::new(file, span, "nesting limit reached here"),
    )
    .with_help("name intermediate results with `let` or split the work into functions")
}

/// A chain of binary operators (within the nesting limit) that would make
/// the syntax tree deeper than [`super::MAX_TREE_DEPTH`].
pub(crate) fn too_long(file: FileId, tokens: &[Token], at: usize) -> Diagnostic {
    let span = token_at(tokens, at).map_or(Span::new(at, at), |t| Span::new(t.start, t.end));
    Diagnostic::error(
        EXPRESSION_TOO_LONG,
        format!(
            "this expression is too long (more than {} operators in a row, nesting included)",
            super::MAX_TREE_DEPTH
        ),
        Label::new(file, span, "length limit reached here"),
    )
    .with_help("name parts of the expression with `let`, or sum a list with `sum()`")
}

/// One diagnostic for a piece of text that did not parse as an item.
pub(crate) fn syntax_error(
    file: FileId,
    text: &str,
    tokens: &[Token],
    piece: Piece,
    error: &pest::error::Error<Rule>,
) -> Diagnostic {
    let offset = piece.start
        + match error.location {
            InputLocation::Pos(pos) => pos,
            InputLocation::Span((start, _)) => start,
        };

    // A broken string or a stray character before the error explains it
    // better than the token pest stumbled on afterwards.
    let piece_tokens = lexer::tokens_between(tokens, piece.start, piece.end)
        .iter()
        .filter(|t| t.start <= offset);
    for token in piece_tokens {
        match token.kind {
            TokenKind::Str { terminated: false } => {
                return unterminated_string(file, Span::new(token.start, token.end));
            }
            TokenKind::Unknown => {
                return Diagnostic::error(
                    UNKNOWN_CHARACTER,
                    format!("unexpected {}", lexer::describe(Some(token), text)),
                    Label::new(
                        file,
                        Span::new(token.start, token.end),
                        "not part of any token",
                    ),
                )
                .with_help(unknown_character_help(token.text(text)));
            }
            _ => {}
        }
    }

    let (positives, message_override) = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => (positives.clone(), None),
        // pest's own guard against running out of stack.
        ErrorVariant::CustomError { message } => (Vec::new(), Some(message.clone())),
    };
    if message_override.is_some() {
        return too_deep(file, tokens, offset);
    }

    let found = token_at(tokens, offset).filter(|t| t.start < piece.end);
    let expected = expected_list(&positives);
    let found_words = match found {
        Some(token) => lexer::describe(Some(token), text),
        None if piece.end >= text.len() => "end of file".to_string(),
        None => lexer::describe(token_at(tokens, piece.end), text),
    };
    let message = format!("expected {expected}, found {found_words}");

    // Point at the offending token when it belongs to this item; when the
    // item simply stops (end of file, or the next item begins), point at the
    // last token it has, which is where something is missing.
    let (span, label) = match found {
        Some(token) => (
            Span::new(token.start, token.end),
            format!("expected {expected}"),
        ),
        None => match token_before(tokens, piece.end) {
            Some(last) => (
                Span::new(last.start, last.end),
                format!("expected {expected} after this"),
            ),
            None => (Span::new(offset, offset), format!("expected {expected}")),
        },
    };

    let keyword_as_name =
        positives.contains(&Rule::ident) && found.is_some_and(|t| t.kind == TokenKind::Keyword);
    if keyword_as_name {
        let word = found.map_or("", |t| t.text(text));
        return Diagnostic::error(
            KEYWORD_AS_NAME,
            format!("`{word}` is a keyword and cannot be used as a name"),
            Label::new(file, span, format!("expected {expected}")),
        )
        .with_help(format!("choose another name, such as `{word}_`"));
    }
    let mut diagnostic =
        Diagnostic::error(UNEXPECTED_TOKEN, message, Label::new(file, span, label));
    if let Some(help) = help_for(&positives, found.map(|t| t.text(text))) {
        diagnostic = diagnostic.with_help(help);
    }
    diagnostic
}

pub(crate) fn unterminated_string(file: FileId, span: Span) -> Diagnostic {
    Diagnostic::error(
        UNTERMINATED_STRING,
        "unterminated string",
        Label::new(file, span, "this string has no closing `\"` on its line"),
    )
    .with_help("close the string with `\"`; to put a line break in a string, write `\\n`")
}

fn unknown_character_help(character: &str) -> String {
    match character {
        "!" => "write `not x` for negation and `!=` for inequality".to_string(),
        "&" => "write `and` for logical conjunction".to_string(),
        "|" => "write `or` for logical disjunction, `|>` for a pipe".to_string(),
        "'" => "strings are written between double quotes: \"text\"".to_string(),
        "#" => "comments begin with `//`".to_string(),
        _ => "remove it, or put it inside a string".to_string(),
    }
}

fn help_for(positives: &[Rule], found: Option<&str>) -> Option<String> {
    match found {
        Some("=") if positives.contains(&Rule::comma) => {
            Some("named arguments are written `name: value`".to_string())
        }
        Some("&&") | Some("&") => Some("write `and` for logical conjunction".to_string()),
        Some(";") if positives.contains(&Rule::EOI) => {
            Some("items are not followed by `;`; remove it".to_string())
        }
        _ => None,
    }
}

/// Tokens that would continue what came before (an operator after an
/// operand, a call after a name); they are left out of the list of expected
/// tokens when something else, such as a closing bracket, is also possible,
/// so that the message names what most likely is missing.
fn continues(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::infix
            | Rule::postfix
            | Rule::call_args
            | Rule::tuple_index
            | Rule::field_access
            | Rule::dot
            | Rule::fat_arrow
            | Rule::langle
            | Rule::size_unit
            | Rule::string_close
            | Rule::string_body
    )
}

/// "`,` or `)`", "one of `,`, `)` or an operator", "an expression".
fn expected_list(positives: &[Rule]) -> String {
    let mut rules: Vec<Rule> = positives.to_vec();
    let had_continuation = rules.iter().any(|&r| continues(r));
    let closing: Vec<Rule> = rules.iter().copied().filter(|&r| !continues(r)).collect();
    // A `{` after a name (a record) or a `:` (a named argument) is rarely what
    // was meant when a closing token is also possible.
    let closing_only: Vec<Rule> = closing
        .iter()
        .copied()
        .filter(|r| !matches!(r, Rule::lbrace | Rule::colon))
        .collect();
    if !closing_only.is_empty() && closing_only.len() < closing.len() && had_continuation {
        rules = closing_only;
    } else {
        rules = closing;
    }
    // Separators before closers, as they appear in the text: "`,` or `)`".
    rules.sort_by_key(|&rule| match rule {
        Rule::comma | Rule::semicolon => 0,
        Rule::rparen | Rule::rbracket | Rule::rbrace | Rule::rangle => 2,
        Rule::EOI => 3,
        _ => 1,
    });
    let mut words: Vec<String> = Vec::new();
    for rule in rules {
        let word = describe_rule(rule);
        if !words.contains(&word) {
            words.push(word);
        }
    }
    let only_ends_item = words.is_empty() || words == ["the end of the item"];
    if had_continuation && only_ends_item {
        words.insert(0, "an operator".to_string());
    }
    let all_tokens = words.iter().all(|w| w.starts_with('`'));
    match words.len() {
        0 => "something else".to_string(),
        1 => words.remove(0),
        _ if all_tokens => format!("one of {}", words.join(", ")),
        _ => {
            let last = words.pop().unwrap_or_default();
            format!("{} or {last}", words.join(", "))
        }
    }
}

/// Plain words for a grammar rule, as used in "expected …".
fn describe_rule(rule: Rule) -> String {
    let word = match rule {
        Rule::EOI => "the end of the item",
        Rule::item | Rule::item_only => "an item (`let`, `fn`, `output`, `input`, `param`, …)",
        Rule::ident => "a name",
        Rule::expr | Rule::operand | Rule::primary | Rule::prefix | Rule::name_primary => {
            "an expression"
        }
        Rule::type_expr
        | Rule::fn_type
        | Rule::list_type
        | Rule::tuple_type
        | Rule::named_type
        | Rule::type_list => "a type",
        Rule::string | Rule::string_body => "a string",
        Rule::number | Rule::number_lit => "a number",
        Rule::index => "a tuple index",
        Rule::param | Rule::params => "a parameter",
        Rule::generic | Rule::generics => "a type parameter",
        Rule::field => "a field",
        Rule::field_init => "a field",
        Rule::arg => "an argument",
        Rule::policy_entry | Rule::setting | Rule::delegate_when => "a policy setting",
        Rule::type_annot => "`:`",
        Rule::ret_type => "`->`",
        Rule::block_let => "`let`",
        Rule::lparen => "`(`",
        Rule::rparen => "`)`",
        Rule::lbracket => "`[`",
        Rule::rbracket => "`]`",
        Rule::lbrace => "`{`",
        Rule::rbrace => "`}`",
        Rule::comma => "`,`",
        Rule::colon => "`:`",
        Rule::semicolon => "`;`",
        Rule::dot => "`.`",
        Rule::assign => "`=`",
        Rule::arrow => "`->`",
        Rule::fat_arrow => "`=>`",
        Rule::langle => "`<`",
        Rule::rangle => "`>`",
        Rule::kw_param => "`param`",
        Rule::kw_input => "`input`",
        Rule::kw_let => "`let`",
        Rule::kw_fn => "`fn`",
        Rule::kw_type => "`type`",
        Rule::kw_extern => "`extern`",
        Rule::kw_from => "`from`",
        Rule::kw_output => "`output`",
        Rule::kw_to => "`to`",
        Rule::kw_policy => "`policy`",
        Rule::kw_delegate => "`delegate`",
        Rule::kw_when => "`when`",
        Rule::kw_if => "`if`",
        Rule::kw_then => "`then`",
        Rule::kw_else => "`else`",
        Rule::kw_true => "`true`",
        Rule::kw_false => "`false`",
        Rule::kw_import => "`import`",
        Rule::infix => "an operator",
        _ => "something else",
    };
    word.to_string()
}
