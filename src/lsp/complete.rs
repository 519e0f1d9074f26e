//! Completion and signature help.
//!
//! Completion looks at the text before the cursor to choose what to offer:
//! record fields after `.`, functions after `|>`, policy keys and variables
//! inside `policy { … }`, and otherwise the names in scope, the standard
//! functions and the keywords. A half-typed `row.` does not parse, so for
//! fields the document is analysed again with a placeholder name after the
//! dot, which gives the type of the expression before it.

use std::collections::HashMap;

use flow_compiler::{Analysis, DefKind, Definition, SourceProvider, policy::POLICY_VARIABLES};
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionParams, CompletionResponse, Documentation,
    ParameterInformation, ParameterLabel, SignatureHelp, SignatureHelpParams, SignatureInformation,
};
use serde_json::Value;

use super::Reply;
use super::features::{Cursor, KEYWORDS, markdown, signature_of, to_value};
use super::state::State;
use crate::disk::read_source;

/// The keys of a `policy` block (LANGUAGE.md §9), with what each sets.
pub(super) const POLICY_KEYS: &[(&str, &str)] = &[
    (
        "split",
        "chunk size: bytes for text inputs, items for range(), or files",
    ),
    ("fanout", "at most this many children per peer"),
    (
        "depth",
        "at most this many levels below the origin (0: no delegation)",
    ),
    (
        "select",
        "capacity | latency | random: which peers become children",
    ),
    ("retries", "re-delegations of a failed or lost subtree"),
    ("timeout", "a subtree silent this long counts as lost"),
    (
        "replicate",
        "run each chunk on this many peers and compare (1..3)",
    ),
];

/// The values of `select`.
const SELECT_VALUES: &[&str] = &["capacity", "latency", "random"];

/// The placeholder put after a dot to analyse a half-typed field access.
const PLACEHOLDER: &str = "__flowc_completion__";

/// What the text before the cursor asks for.
#[derive(Debug, PartialEq, Eq)]
enum Context {
    /// After `expr.`: the byte offset of the dot.
    Field { dot: usize },
    /// After `|>`.
    Pipe,
    /// Inside `policy { … }`.
    Policy,
    /// Anywhere else.
    Names,
}

fn is_ident_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Reads the context from the text before `offset` (the cursor), skipping
/// the part of a name already typed.
fn context(text: &str, offset: usize) -> Context {
    let bytes = text.as_bytes();
    let mut start = offset.min(bytes.len());
    while start > 0 && bytes.get(start - 1).copied().is_some_and(is_ident_byte) {
        start -= 1;
    }
    let before = text.get(..start).unwrap_or("");
    if let Some(receiver) = before.strip_suffix('.') {
        // A number like `1.` is not a field access.
        let receiver = receiver.trim_end();
        if receiver
            .bytes()
            .last()
            .is_some_and(|b| is_ident_byte(b) || b == b')' || b == b']' || b == b'}')
            && !receiver.bytes().last().is_some_and(|b| b.is_ascii_digit())
        {
            return Context::Field {
                dot: before.len() - 1,
            };
        }
    }
    if before.trim_end().ends_with("|>") {
        return Context::Pipe;
    }
    if inside_policy(before) {
        return Context::Policy;
    }
    Context::Names
}

/// Whether the text ends inside the braces of a `policy` block: after the
/// last `policy {` at the start of an item, more `{` than `}`.
fn inside_policy(before: &str) -> bool {
    let Some(keyword) = before.rmatch_indices("policy").find_map(|(i, _)| {
        let starts_word = before[..i].bytes().last().is_none_or(|b| !is_ident_byte(b));
        let rest = before[i + "policy".len()..].trim_start();
        (starts_word && rest.starts_with('{')).then_some(i)
    }) else {
        return false;
    };
    let mut depth = 0i32;
    for byte in before[keyword..].bytes() {
        match byte {
            b'{' => depth += 1,
            b'}' => depth -= 1,
            _ => {}
        }
    }
    depth > 0
}

fn item(label: &str, kind: CompletionItemKind, detail: Option<String>) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail,
        ..CompletionItem::default()
    }
}

fn definition_item(definition: &Definition) -> CompletionItem {
    let kind = match definition.kind {
        DefKind::Fn | DefKind::ExternFn | DefKind::StdFn => CompletionItemKind::FUNCTION,
        DefKind::Type => CompletionItemKind::STRUCT,
        DefKind::Field => CompletionItemKind::FIELD,
        DefKind::Param => CompletionItemKind::CONSTANT,
        _ => CompletionItemKind::VARIABLE,
    };
    let mut out = item(&definition.name, kind, Some(signature_of(definition)));
    out.documentation = definition
        .docs
        .as_ref()
        .map(|docs| Documentation::MarkupContent(markdown(&signature_of(definition), Some(docs))));
    out
}

pub fn completion(state: &State, params: CompletionParams) -> Reply {
    let cursor = Cursor::at(state, &params.text_document_position)?;
    let index = &cursor.analysis.index;
    let items: Vec<CompletionItem> = match context(cursor.text, cursor.offset) {
        Context::Field { dot } => field_items(state, &cursor, dot),
        Context::Pipe => index
            .names_in_scope(cursor.file, cursor.offset)
            .into_iter()
            .filter(|d| matches!(d.kind, DefKind::StdFn | DefKind::Fn | DefKind::ExternFn))
            .map(definition_item)
            .collect(),
        Context::Policy => {
            let mut items: Vec<CompletionItem> = POLICY_KEYS
                .iter()
                .map(|(key, what)| item(key, CompletionItemKind::PROPERTY, Some(what.to_string())))
                .collect();
            let mut delegate = item(
                "delegate when",
                CompletionItemKind::KEYWORD,
                Some("delegate when <predicate over the policy variables>".to_string()),
            );
            delegate.insert_text = Some("delegate when ".to_string());
            items.push(delegate);
            items.extend(POLICY_VARIABLES.iter().map(|(name, what)| {
                item(name, CompletionItemKind::VARIABLE, Some(what.to_string()))
            }));
            items.extend(SELECT_VALUES.iter().map(|value| {
                item(
                    value,
                    CompletionItemKind::ENUM_MEMBER,
                    Some("select".to_string()),
                )
            }));
            items
        }
        Context::Names => {
            let mut items: Vec<CompletionItem> = index
                .names_in_scope(cursor.file, cursor.offset)
                .into_iter()
                .map(definition_item)
                .collect();
            items.extend(
                KEYWORDS
                    .iter()
                    .map(|keyword| item(keyword, CompletionItemKind::KEYWORD, None)),
            );
            items
        }
    };
    to_value(CompletionResponse::Array(items))
}

/// Serves one file's text replaced, everything else from the open buffers
/// and the disk.
struct ReplacedProvider<'a> {
    state: &'a State,
    path: &'a str,
    text: String,
}

impl SourceProvider for ReplacedProvider<'_> {
    fn read(&self, path: &str) -> Result<String, String> {
        if path == self.path {
            return Ok(self.text.clone());
        }
        match self.state.documents.get(path) {
            Some(document) => Ok(document.text.clone()),
            None => read_source(path),
        }
    }
}

/// The fields of the value before the dot at `dot`.
fn field_items(state: &State, cursor: &Cursor<'_>, dot: usize) -> Vec<CompletionItem> {
    let path = cursor.analysis.sources.get(cursor.file).path.clone();
    let root = cursor
        .analysis
        .sources
        .iter()
        .next()
        .map_or(path.clone(), |(_, f)| f.path.clone());
    // Put the placeholder in place of whatever is typed after the dot.
    let typed_end = cursor.offset.max(dot + 1);
    let mut text = String::with_capacity(cursor.text.len() + PLACEHOLDER.len());
    text.push_str(cursor.text.get(..dot + 1).unwrap_or(""));
    text.push_str(PLACEHOLDER);
    text.push_str(cursor.text.get(typed_end..).unwrap_or(""));
    let provider = ReplacedProvider {
        state,
        path: &path,
        text,
    };
    let analysis = flow_compiler::analyze(&[root], &provider);
    let Some(file) = analysis.sources.find(&path) else {
        return Vec::new();
    };
    // The receiver ends just before the dot; its type is that of the
    // innermost expression there.
    let Some(receiver) = analysis.index.type_at(file, dot.saturating_sub(1)) else {
        return Vec::new();
    };
    fields_of_type(&analysis, file, dot, &receiver.ty)
}

/// Fields of a record type (by name) or positions of a tuple type.
fn fields_of_type(
    analysis: &Analysis,
    file: flow_lang::FileId,
    offset: usize,
    ty: &str,
) -> Vec<CompletionItem> {
    let ty = ty.trim();
    if let Some(inner) = ty.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        return split_top_level(inner)
            .iter()
            .enumerate()
            .map(|(i, element)| {
                item(
                    &i.to_string(),
                    CompletionItemKind::FIELD,
                    Some(element.to_string()),
                )
            })
            .collect();
    }
    let scope = analysis.index.names_in_scope(file, offset);
    let Some(record) = scope
        .iter()
        .find(|d| d.kind == DefKind::Type && d.name == ty)
    else {
        return Vec::new();
    };
    // Field definitions of the job's files that lie inside the record's declaration.
    let mut fields: Vec<CompletionItem> = Vec::new();
    let mut seen: HashMap<String, ()> = HashMap::new();
    for candidate in analysis.index.definitions_in(record.file) {
        if candidate.kind == DefKind::Field
            && record.item_span.contains(candidate.span.start as usize)
            && seen.insert(candidate.name.clone(), ()).is_none()
        {
            fields.push(definition_item(candidate));
        }
    }
    fields
}

/// Splits a type list like `str, (int, float), [int]` at its top-level
/// commas.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut previous = ' ';
    for (i, ch) in text.char_indices() {
        let arrow = ch == '>' && previous == '-';
        previous = ch;
        match ch {
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            '>' if !arrow => depth -= 1,
            ',' if depth == 0 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = text[start..].trim();
    if !last.is_empty() {
        parts.push(last);
    }
    parts
}

/// The call the cursor is in: the function's name, the index of the
/// argument under the cursor, and whether the call follows `|>` (whose
/// value is the first argument).
fn enclosing_call(text: &str, offset: usize) -> Option<(String, usize, bool)> {
    let before = text.get(..offset.min(text.len()))?;
    let bytes = before.as_bytes();
    let mut depth = 0i32;
    let mut commas = 0usize;
    let mut i = bytes.len();
    let mut in_string = false;
    while i > 0 {
        i -= 1;
        let byte = bytes[i];
        if byte == b'"' && (i == 0 || bytes[i - 1] != b'\\') {
            in_string = !in_string;
            continue;
        }
        if in_string {
            continue;
        }
        match byte {
            b')' | b']' | b'}' => depth += 1,
            b'[' | b'{' => depth -= 1,
            b'(' if depth == 0 => {
                let name_end = before[..i].trim_end().len();
                let name_start = before[..name_end]
                    .bytes()
                    .rposition(|b| !is_ident_byte(b))
                    .map_or(0, |p| p + 1);
                let name = &before[name_start..name_end];
                if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
                    // A parenthesised expression or a tuple: keep looking outward.
                    commas = 0;
                    continue;
                }
                let piped = before[..name_start].trim_end().ends_with("|>");
                return Some((name.to_string(), commas, piped));
            }
            b'(' => depth -= 1,
            b',' if depth == 0 => commas += 1,
            _ => {}
        }
        if depth < 0 {
            depth = 0;
            commas = 0;
        }
    }
    None
}

/// The parameters of a signature shown as `fn name<T>(a: T, b: int) -> R`.
fn parameters(signature: &str) -> Vec<String> {
    let Some(open) = signature.find('(') else {
        return Vec::new();
    };
    let Some(close) = signature.rfind(") ->").or_else(|| signature.rfind(')')) else {
        return Vec::new();
    };
    signature
        .get(open + 1..close)
        .map(|inside| {
            split_top_level(inside)
                .into_iter()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub fn signature_help(state: &State, params: SignatureHelpParams) -> Reply {
    let cursor = Cursor::at(state, &params.text_document_position_params)?;
    let Some((name, argument, piped)) = enclosing_call(cursor.text, cursor.offset) else {
        return Ok(Value::Null);
    };
    let index = &cursor.analysis.index;
    let mut candidates: Vec<&Definition> = index.std_function(&name);
    if candidates.is_empty() {
        candidates = index
            .names_in_scope(cursor.file, cursor.offset)
            .into_iter()
            .filter(|d| d.name == name && matches!(d.kind, DefKind::Fn | DefKind::ExternFn))
            .collect();
    }
    if candidates.is_empty() {
        return Ok(Value::Null);
    }
    let active_parameter = argument + usize::from(piped);
    let signatures: Vec<SignatureInformation> = candidates
        .iter()
        .map(|definition| {
            let label = signature_of(definition);
            let parameters = parameters(&label)
                .into_iter()
                .map(|parameter| ParameterInformation {
                    label: ParameterLabel::Simple(parameter),
                    documentation: None,
                })
                .collect();
            SignatureInformation {
                label,
                documentation: definition
                    .docs
                    .clone()
                    .map(|docs| Documentation::MarkupContent(markdown_docs(&docs))),
                parameters: Some(parameters),
                active_parameter: None,
            }
        })
        .collect();
    // The first overload with enough parameters (a piped call has at least one).
    let active_signature = signatures
        .iter()
        .position(|s| {
            let count = s.parameters.as_ref().map_or(0, Vec::len);
            count > active_parameter || (count == active_parameter && active_parameter == 0)
        })
        .unwrap_or(0);
    to_value(SignatureHelp {
        signatures,
        active_signature: Some(active_signature as u32),
        active_parameter: Some(active_parameter as u32),
    })
}

fn markdown_docs(docs: &str) -> lsp_types::MarkupContent {
    lsp_types::MarkupContent {
        kind: lsp_types::MarkupKind::Markdown,
        value: docs.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_reads_the_text_before_the_cursor() {
        assert_eq!(context("let a = r.te", 12), Context::Field { dot: 9 });
        assert_eq!(context("let a = f(x).", 13), Context::Field { dot: 12 });
        assert_eq!(context("let a = 1.", 10), Context::Names);
        assert_eq!(context("let a = xs |> ma", 16), Context::Pipe);
        assert_eq!(context("let a = xs |>\n  ", 16), Context::Pipe);
        assert_eq!(context("policy {\n  spl", 15), Context::Policy);
        assert_eq!(context("policy {\n}\nlet a = b", 19), Context::Names);
        assert_eq!(context("let policyx = {", 15), Context::Names);
        assert_eq!(context("", 0), Context::Names);
    }

    #[test]
    fn enclosing_call_counts_arguments() {
        assert_eq!(
            enclosing_call("max(1, ", 7),
            Some(("max".to_string(), 1, false))
        );
        assert_eq!(
            enclosing_call("xs |> top(3, by: (a, b", 20),
            Some(("top".to_string(), 1, true))
        );
        assert_eq!(
            enclosing_call("f(\"a,(\", ", 9),
            Some(("f".to_string(), 1, false))
        );
        assert_eq!(
            enclosing_call("g(h(1), [2, 3], ", 16),
            Some(("g".to_string(), 2, false))
        );
        assert_eq!(enclosing_call("let a = 1", 9), None);
    }

    #[test]
    fn parameters_split_at_top_level_commas() {
        assert_eq!(
            parameters("fn top<T>(xs: stream<T>, n: int, by: fn(T) -> (int, str)) -> [T]"),
            vec!["xs: stream<T>", "n: int", "by: fn(T) -> (int, str)"]
        );
        assert_eq!(parameters("fn rand() -> float"), Vec::<String>::new());
    }
}
