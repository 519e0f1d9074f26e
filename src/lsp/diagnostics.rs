//! `flow_lang::Diagnostic` as LSP diagnostics: the same code, severity and
//! message as `flowc check`, the primary label's text and the help on lines
//! of their own, and the secondary labels as related information.

use std::collections::BTreeMap;

use flow_compiler::Analysis;
use flow_lang::{Diagnostic, FileId, Severity};
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, DiagnosticTag, Location, NumberOrString,
};

use super::position::LineMap;
use super::uri::path_to_uri;

/// The lints whose subject is code that does nothing, which editors fade.
const UNNECESSARY_LINTS: &[&str] = &["unused-let", "unused-param"];

/// Every diagnostic of an analysis converted, grouped by the path of the
/// file its primary label points into.
pub fn convert_all(analysis: &Analysis) -> BTreeMap<String, Vec<lsp_types::Diagnostic>> {
    let mut line_maps: BTreeMap<FileId, LineMap> = BTreeMap::new();
    let mut out: BTreeMap<String, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
    for diagnostic in &analysis.diagnostics {
        let Some(path) = file_path(analysis, diagnostic.primary.file) else {
            continue;
        };
        let converted = convert(diagnostic, analysis, &mut line_maps);
        out.entry(path.to_string()).or_default().push(converted);
    }
    out
}

fn file_path(analysis: &Analysis, file: FileId) -> Option<&str> {
    ((file.0 as usize) < analysis.sources.len()).then(|| analysis.sources.get(file).path.as_str())
}

/// The LSP range of a span of a file of the analysis (a range at the start
/// of the file for a file it does not know).
pub fn span_range(
    analysis: &Analysis,
    file: FileId,
    span: flow_lang::Span,
    line_maps: &mut BTreeMap<FileId, LineMap>,
) -> lsp_types::Range {
    if file_path(analysis, file).is_none() {
        return lsp_types::Range::default();
    }
    let text = &analysis.sources.get(file).text;
    let lines = line_maps.entry(file).or_insert_with(|| LineMap::new(text));
    lines.range(text, span.start as usize, span.end as usize)
}

fn convert(
    diagnostic: &Diagnostic,
    analysis: &Analysis,
    line_maps: &mut BTreeMap<FileId, LineMap>,
) -> lsp_types::Diagnostic {
    let primary = &diagnostic.primary;
    let range = span_range(analysis, primary.file, primary.span, line_maps);
    let mut message = diagnostic.message.clone();
    if !primary.message.is_empty() {
        message.push('\n');
        message.push_str(&primary.message);
    }
    if let Some(help) = &diagnostic.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related: Vec<DiagnosticRelatedInformation> = diagnostic
        .secondary
        .iter()
        .filter_map(|label| {
            let path = file_path(analysis, label.file)?;
            Some(DiagnosticRelatedInformation {
                location: Location {
                    uri: path_to_uri(path)?,
                    range: span_range(analysis, label.file, label.span, line_maps),
                },
                message: label.message.clone(),
            })
        })
        .collect();
    let unnecessary = diagnostic
        .lint
        .as_deref()
        .is_some_and(|lint| UNNECESSARY_LINTS.contains(&lint));
    lsp_types::Diagnostic {
        range,
        severity: Some(match diagnostic.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(diagnostic.code.clone())),
        code_description: None,
        source: Some("flowc".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: unnecessary.then(|| vec![DiagnosticTag::UNNECESSARY]),
        data: diagnostic.lint.clone().map(serde_json::Value::from),
    }
}
