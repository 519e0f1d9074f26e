//! Requests about the code under the cursor and about whole documents:
//! hover, go to definition, find references, rename, document symbols and
//! formatting, all answered from the document's [`Analysis`].

use std::collections::{BTreeMap, HashMap};

use flow_compiler::{Analysis, DefKind, Definition, Location as FlowLocation};
use flow_lang::{FileId, Span};
use lsp_types::{
    DocumentFormattingParams, DocumentSymbol, DocumentSymbolParams, GotoDefinitionParams, Hover,
    HoverContents, HoverParams, Location, MarkupContent, MarkupKind, Position, Range,
    ReferenceParams, RenameParams, SymbolKind, TextDocumentPositionParams, TextEdit, Uri,
    WorkspaceEdit,
};
use serde_json::Value;

use super::Reply;
use super::position::LineMap;
use super::state::State;
use super::uri::uri_to_path;

/// The words a name cannot be (LANGUAGE.md §1).
pub const KEYWORDS: &[&str] = &[
    "param", "input", "let", "fn", "type", "extern", "from", "output", "to", "policy", "delegate",
    "when", "if", "then", "else", "and", "or", "not", "true", "false", "import",
];

/// A position in an open document, resolved against its analysis.
pub struct Cursor<'a> {
    pub analysis: &'a Analysis,
    pub file: FileId,
    /// The text the analysis saw (the open buffer).
    pub text: &'a str,
    pub lines: LineMap,
    pub offset: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(state: &'a State, uri: &Uri, position: Position) -> Result<Cursor<'a>, String> {
        let path = uri_to_path(uri);
        let analysis = state
            .analysis(&path)
            .ok_or_else(|| format!("`{path}` is not open"))?;
        let file = analysis
            .sources
            .find(&path)
            .ok_or_else(|| format!("`{path}` was not analysed"))?;
        let text = analysis.sources.get(file).text.as_str();
        let lines = LineMap::new(text);
        let offset = lines.offset(text, position);
        Ok(Cursor {
            analysis,
            file,
            text,
            lines,
            offset,
        })
    }

    pub fn at(state: &'a State, params: &TextDocumentPositionParams) -> Result<Cursor<'a>, String> {
        Cursor::new(state, &params.text_document.uri, params.position)
    }

    /// The byte range of the identifier touching the cursor, if any.
    pub fn word(&self) -> Option<(usize, usize)> {
        let bytes = self.text.as_bytes();
        let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let mut start = self.offset.min(bytes.len());
        while start > 0 && bytes.get(start - 1).copied().is_some_and(is_ident) {
            start -= 1;
        }
        let mut end = self.offset.min(bytes.len());
        while bytes.get(end).copied().is_some_and(is_ident) {
            end += 1;
        }
        (start < end).then_some((start, end))
    }

    /// The definition of the name under the cursor.
    pub fn definition(&self) -> Option<&'a Definition> {
        self.analysis.index.definition_at(self.file, self.offset)
    }
}

/// Locations of spans in the files of one analysis, as LSP locations.
pub struct Locator<'a> {
    state: &'a State,
    analysis: &'a Analysis,
    line_maps: HashMap<FileId, LineMap>,
}

impl<'a> Locator<'a> {
    pub fn new(state: &'a State, analysis: &'a Analysis) -> Locator<'a> {
        Locator {
            state,
            analysis,
            line_maps: HashMap::new(),
        }
    }

    /// `None` for a place outside the analysed files (the standard library).
    pub fn location(&mut self, file: FileId, span: Span) -> Option<Location> {
        if file.0 as usize >= self.analysis.sources.len() {
            return None;
        }
        let source = self.analysis.sources.get(file);
        let uri = self.state.uri_of(&source.path)?;
        let lines = self
            .line_maps
            .entry(file)
            .or_insert_with(|| LineMap::new(&source.text));
        let range = lines.range(&source.text, span.start as usize, span.end as usize);
        Some(Location { uri, range })
    }
}

/// How a definition reads in a hover or a completion's detail.
pub fn signature_of(definition: &Definition) -> String {
    let detail = &definition.detail;
    match definition.kind {
        DefKind::Fn | DefKind::ExternFn | DefKind::StdFn if detail.starts_with("fn ") => {
            if definition.kind == DefKind::ExternFn {
                format!("extern {detail}")
            } else {
                detail.clone()
            }
        }
        DefKind::Type => format!("type {} = {detail}", definition.name),
        kind => format!("{} {}: {detail}", kind.describe(), definition.name),
    }
}

pub fn markdown(code: &str, docs: Option<&str>) -> MarkupContent {
    let mut value = format!("```flow\n{code}\n```");
    if let Some(docs) = docs.filter(|d| !d.trim().is_empty()) {
        value.push_str("\n\n");
        value.push_str(docs.trim());
    }
    MarkupContent {
        kind: MarkupKind::Markdown,
        value,
    }
}

pub fn hover(state: &State, params: HoverParams) -> Reply {
    let cursor = Cursor::at(state, &params.text_document_position_params)?;
    let index = &cursor.analysis.index;
    let hover = if let Some(definition) = cursor.definition() {
        let (code, docs) = if definition.kind == DefKind::StdFn {
            // Every overload's signature, and the docs of the first.
            let overloads = index.std_function(&definition.name);
            let code: Vec<String> = overloads.iter().map(|d| signature_of(d)).collect();
            let docs = overloads.iter().find_map(|d| d.docs.clone());
            (code.join("\n"), docs)
        } else {
            (signature_of(definition), definition.docs.clone())
        };
        let range = cursor
            .word()
            .map(|(start, end)| cursor.lines.range(cursor.text, start, end));
        Hover {
            contents: HoverContents::Markup(markdown(&code, docs.as_deref())),
            range,
        }
    } else if let Some(type_at) = index.type_at(cursor.file, cursor.offset) {
        Hover {
            contents: HoverContents::Markup(markdown(&type_at.ty, None)),
            range: Some(cursor.lines.range(
                cursor.text,
                type_at.span.start as usize,
                type_at.span.end as usize,
            )),
        }
    } else {
        return Ok(Value::Null);
    };
    to_value(hover)
}

pub fn definition(state: &State, params: GotoDefinitionParams) -> Reply {
    let cursor = Cursor::at(state, &params.text_document_position_params)?;
    let Some(definition) = cursor.definition() else {
        return Ok(Value::Null);
    };
    let mut locator = Locator::new(state, cursor.analysis);
    match locator.location(definition.file, definition.span) {
        Some(location) => to_value(location),
        None => Ok(Value::Null),
    }
}

pub fn references(state: &State, params: ReferenceParams) -> Reply {
    let cursor = Cursor::at(state, &params.text_document_position)?;
    let Some(definition) = cursor.definition() else {
        return Ok(Value::Null);
    };
    let found = cursor
        .analysis
        .index
        .references(definition.id, params.context.include_declaration);
    let mut locator = Locator::new(state, cursor.analysis);
    let locations: Vec<Location> = found
        .iter()
        .filter_map(|FlowLocation { file, span }| locator.location(*file, *span))
        .collect();
    to_value(locations)
}

/// The definition under the cursor if the user may rename it: declared in
/// an analysed file (not the standard library, not a policy variable).
fn renamable<'a>(cursor: &Cursor<'a>) -> Result<&'a Definition, String> {
    let definition = cursor
        .definition()
        .ok_or_else(|| "there is no name to rename here".to_string())?;
    if cursor.analysis.index.is_std(definition.id) {
        return Err(format!(
            "`{}` belongs to the standard library",
            definition.name
        ));
    }
    if definition.kind == DefKind::PolicyVar {
        return Err(format!(
            "`{}` is a variable of the policy language",
            definition.name
        ));
    }
    Ok(definition)
}

pub fn prepare_rename(state: &State, params: TextDocumentPositionParams) -> Reply {
    let cursor = Cursor::at(state, &params)?;
    renamable(&cursor)?;
    match cursor.word() {
        Some((start, end)) => to_value(cursor.lines.range(cursor.text, start, end)),
        None => Ok(Value::Null),
    }
}

/// Whether `name` can be written as a Flow name.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name)
}

pub fn rename(state: &State, params: RenameParams) -> Reply {
    let cursor = Cursor::at(state, &params.text_document_position)?;
    let definition = renamable(&cursor)?;
    if !is_identifier(&params.new_name) {
        return Err(format!("`{}` is not a valid name", params.new_name));
    }
    let mut locator = Locator::new(state, cursor.analysis);
    // `Uri` caches its parsed parts in a cell, but its hash and equality use
    // only the text, so it is a sound key.
    #[allow(clippy::mutable_key_type)]
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for FlowLocation { file, span } in cursor.analysis.index.references(definition.id, true) {
        if let Some(location) = locator.location(file, span) {
            changes.entry(location.uri).or_default().push(TextEdit {
                range: location.range,
                new_text: params.new_name.clone(),
            });
        }
    }
    for edits in changes.values_mut() {
        edits.sort_by_key(|edit| (edit.range.start.line, edit.range.start.character));
        edits.dedup();
    }
    to_value(WorkspaceEdit {
        changes: Some(changes),
        ..WorkspaceEdit::default()
    })
}

fn symbol_kind(kind: DefKind) -> SymbolKind {
    match kind {
        DefKind::Param => SymbolKind::CONSTANT,
        DefKind::Input => SymbolKind::EVENT,
        DefKind::Let => SymbolKind::VARIABLE,
        DefKind::Output => SymbolKind::PROPERTY,
        DefKind::Fn | DefKind::ExternFn | DefKind::StdFn => SymbolKind::FUNCTION,
        DefKind::Type => SymbolKind::STRUCT,
        DefKind::Field => SymbolKind::FIELD,
        _ => SymbolKind::VARIABLE,
    }
}

pub fn document_symbols(state: &State, params: DocumentSymbolParams) -> Reply {
    let cursor = Cursor::new(state, &params.text_document.uri, Position::default())?;
    let range = |span: Span| {
        cursor
            .lines
            .range(cursor.text, span.start as usize, span.end as usize)
    };
    #[allow(deprecated)] // `deprecated` is a required field of the type.
    let symbol = |definition: &Definition| DocumentSymbol {
        name: definition.name.clone(),
        detail: Some(definition.detail.clone()),
        kind: symbol_kind(definition.kind),
        tags: None,
        deprecated: None,
        range: range(definition.item_span.to(definition.span)),
        selection_range: range(definition.span),
        children: None,
    };
    let definitions = cursor.analysis.index.definitions_in(cursor.file);
    let mut symbols: Vec<DocumentSymbol> = Vec::new();
    // Fields become children of the record type whose declaration holds them.
    let mut type_of_symbol: BTreeMap<usize, Span> = BTreeMap::new();
    for definition in &definitions {
        if definition.kind == DefKind::Field {
            let owner = type_of_symbol
                .iter()
                .find(|(_, item)| item.contains(definition.span.start as usize))
                .map(|(i, _)| *i);
            if let Some(parent) = owner.and_then(|i| symbols.get_mut(i)) {
                parent
                    .children
                    .get_or_insert_with(Vec::new)
                    .push(symbol(definition));
                continue;
            }
        }
        if definition.kind == DefKind::Type {
            type_of_symbol.insert(symbols.len(), definition.item_span);
        }
        symbols.push(symbol(definition));
    }
    to_value(symbols)
}

/// The whole document in `flowc fmt` layout, as one edit; nothing for a
/// document already formatted or with syntax errors (which `flowc fmt`
/// refuses to rewrite too).
pub fn formatting(state: &State, params: DocumentFormattingParams) -> Reply {
    let path = uri_to_path(&params.text_document.uri);
    let document = state
        .documents
        .get(&path)
        .ok_or_else(|| format!("`{path}` is not open"))?;
    let text = document.text.as_str();
    let parsed = flow_lang::parse(FileId(0), text);
    if parsed.diagnostics.iter().any(|d| d.is_error()) {
        return Ok(Value::Null);
    }
    let formatted = flow_lang::format(&parsed.module, text);
    if formatted == text {
        return to_value(Vec::<TextEdit>::new());
    }
    let lines = LineMap::new(text);
    let whole = Range::new(Position::new(0, 0), lines.position(text, text.len()));
    to_value(vec![TextEdit {
        range: whole,
        new_text: formatted,
    }])
}

pub fn to_value(value: impl serde::Serialize) -> Reply {
    serde_json::to_value(value).map_err(|error| error.to_string())
}
