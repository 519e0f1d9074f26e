//! Rendering of [`Diagnostic`]s: for people through miette's graphical
//! report, and for programs as JSON values.
//!
//! Both renderings take the diagnostic and the [`SourceMap`] it refers to and
//! add nothing the diagnostic does not hold. They never panic on a diagnostic
//! whose file or span is out of range: such a label is clamped to the text it
//! names, or shown without a snippet when the file is unknown.

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents, ThemeCharacters, ThemeStyles,
};
use serde_json::{Value, json};

use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::source::SourceMap;
use crate::span::FileId;

/// How a diagnostic is drawn on a terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenderOptions {
    /// Paint with ANSI colors.
    pub color: bool,
    /// Draw the snippet frames with Unicode box characters instead of ASCII.
    pub unicode: bool,
    /// Width in columns that messages and help are wrapped to.
    pub width: usize,
}

impl RenderOptions {
    /// No colors, ASCII art, 100 columns: the same bytes on every machine,
    /// which is what snapshot tests and logs want.
    pub fn plain() -> RenderOptions {
        RenderOptions {
            color: false,
            unicode: false,
            width: 100,
        }
    }
}

/// Renders every diagnostic in order, separated by blank lines.
pub fn render(diagnostics: &[Diagnostic], sources: &SourceMap, options: RenderOptions) -> String {
    let mut out = String::new();
    for (index, diagnostic) in diagnostics.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        out.push_str(&render_one(diagnostic, sources, options));
    }
    out
}

/// Renders one diagnostic as miette's graphical report.
pub fn render_one(diagnostic: &Diagnostic, sources: &SourceMap, options: RenderOptions) -> String {
    let report = Report::new(diagnostic, sources);
    let mut out = String::new();
    // Writing into a String cannot fail; miette reports a label it cannot
    // read inside the text instead of returning an error.
    let _ = handler(options).render_report(&mut out, &report);
    out
}

/// Renders a problem that has no place in any source file, such as a file
/// that cannot be read, in the same style as diagnostics.
pub fn render_message(
    code: &str,
    severity: Severity,
    message: &str,
    help: Option<&str>,
    options: RenderOptions,
) -> String {
    let report = Message {
        code,
        severity,
        message,
        help,
    };
    let mut out = String::new();
    let _ = handler(options).render_report(&mut out, &report);
    out
}

fn handler(options: RenderOptions) -> GraphicalReportHandler {
    let characters = if options.unicode {
        ThemeCharacters::unicode()
    } else {
        ThemeCharacters::ascii()
    };
    let styles = if options.color {
        ThemeStyles::ansi()
    } else {
        ThemeStyles::none()
    };
    GraphicalReportHandler::new_themed(GraphicalTheme { characters, styles })
        .with_links(false)
        .with_urls(false)
        .with_width(options.width.max(20))
        .with_context_lines(1)
}

/// Serialises one diagnostic for `--message-format json`.
///
/// Every label carries its file path, its byte span, and 1-based line and
/// column of both ends; columns count Unicode scalar values, so they match
/// what a person counts in the line. The primary label comes first and is
/// marked `"primary": true`.
pub fn to_json(diagnostic: &Diagnostic, sources: &SourceMap) -> Value {
    let mut labels = vec![label_json(&diagnostic.primary, true, sources)];
    labels.extend(
        diagnostic
            .secondary
            .iter()
            .map(|label| label_json(label, false, sources)),
    );
    json!({
        "code": diagnostic.code,
        "severity": severity_name(diagnostic.severity),
        "message": diagnostic.message,
        "lint": diagnostic.lint,
        "file": file_path(diagnostic.primary.file, sources),
        "labels": labels,
        "help": diagnostic.help,
    })
}

/// The lower-case name of a severity, as used in JSON and summaries.
pub fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn label_json(label: &Label, primary: bool, sources: &SourceMap) -> Value {
    let text = file_text(label.file, sources).unwrap_or("");
    let (start, end) = clamp_span(text, label.span.start as usize, label.span.end as usize);
    let (line, column) = line_column(text, start);
    let (end_line, end_column) = line_column(text, end);
    json!({
        "file": file_path(label.file, sources),
        "start": start,
        "end": end,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "message": label.message,
        "primary": primary,
    })
}

fn file_path(file: FileId, sources: &SourceMap) -> Option<&str> {
    known_file(file, sources).map(|file| sources.get(file).path.as_str())
}

fn file_text(file: FileId, sources: &SourceMap) -> Option<&str> {
    known_file(file, sources).map(|file| sources.get(file).text.as_str())
}

fn known_file(file: FileId, sources: &SourceMap) -> Option<FileId> {
    ((file.0 as usize) < sources.len()).then_some(file)
}

/// Clamps a byte range to `text` and to character boundaries, so a label from
/// a stale or buggy span still points somewhere sensible.
fn clamp_span(text: &str, start: usize, end: usize) -> (usize, usize) {
    let start = floor_boundary(text, start.min(text.len()));
    let end = floor_boundary(text, end.clamp(start, text.len()));
    (start, end.max(start))
}

fn floor_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// 1-based line and column (in Unicode scalar values) of a byte offset that
/// is already a character boundary of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or("");
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let line = before.matches('\n').count() + 1;
    let column = before.get(line_start..).unwrap_or("").chars().count() + 1;
    (line, column)
}

/// The text of one file under the path users know it by.
#[derive(Debug)]
struct FileText<'a> {
    path: &'a str,
    text: &'a str,
}

impl SourceCode for FileText<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let contents = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.path.to_string(),
            contents.data(),
            *contents.span(),
            contents.line(),
            contents.column(),
            contents.line_count(),
        )))
    }
}

/// One diagnostic as miette sees it: labels in the primary file are drawn in
/// one snippet, labels in other files become related notes with their own
/// source.
#[derive(Debug)]
struct Report<'a> {
    diagnostic: &'a Diagnostic,
    code: String,
    source: Option<FileText<'a>>,
    labels: Vec<LabeledSpan>,
    notes: Vec<Note<'a>>,
}

impl<'a> Report<'a> {
    fn new(diagnostic: &'a Diagnostic, sources: &'a SourceMap) -> Report<'a> {
        let source = source_of(diagnostic.primary.file, sources);
        let mut labels = Vec::new();
        if let Some(source) = &source {
            labels.push(LabeledSpan::new_primary_with_span(
                label_text(&diagnostic.primary.message),
                source_span(source.text, &diagnostic.primary),
            ));
        }
        let mut notes = Vec::new();
        for label in &diagnostic.secondary {
            match &source {
                Some(primary_source) if label.file == diagnostic.primary.file => {
                    labels.push(LabeledSpan::new_with_span(
                        label_text(&label.message),
                        source_span(primary_source.text, label),
                    ));
                }
                _ => notes.push(Note::new(label, sources)),
            }
        }
        let code = match &diagnostic.lint {
            Some(lint) => format!("{} ({lint})", diagnostic.code),
            None => diagnostic.code.clone(),
        };
        Report {
            diagnostic,
            code,
            source,
            labels,
            notes,
        }
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(&self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|source| source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.notes.is_empty() {
            None
        } else {
            Some(Box::new(
                self.notes
                    .iter()
                    .map(|note| note as &dyn miette::Diagnostic),
            ))
        }
    }
}

/// A secondary label in another file than the primary one, drawn as an
/// advice with its own snippet.
#[derive(Debug)]
struct Note<'a> {
    message: &'a str,
    source: Option<FileText<'a>>,
    span: Option<SourceSpan>,
}

impl<'a> Note<'a> {
    fn new(label: &'a Label, sources: &'a SourceMap) -> Note<'a> {
        let source = source_of(label.file, sources);
        let span = source
            .as_ref()
            .map(|source| source_span(source.text, label));
        Note {
            message: &label.message,
            source,
            span,
        }
    }
}

impl fmt::Display for Note<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for Note<'_> {}

impl miette::Diagnostic for Note<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|source| source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.span.map(|span| {
            Box::new(std::iter::once(LabeledSpan::new_primary_with_span(
                None, span,
            ))) as Box<dyn Iterator<Item = LabeledSpan>>
        })
    }
}

/// A problem outside any source file, see [`render_message`].
#[derive(Debug)]
struct Message<'a> {
    code: &'a str,
    severity: Severity,
    message: &'a str,
    help: Option<&'a str>,
}

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for Message<'_> {}

impl miette::Diagnostic for Message<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .map(|help| Box::new(help) as Box<dyn fmt::Display + 'b>)
    }
}

fn source_of(file: FileId, sources: &SourceMap) -> Option<FileText<'_>> {
    known_file(file, sources).map(|file| {
        let source = sources.get(file);
        FileText {
            path: &source.path,
            text: &source.text,
        }
    })
}

fn source_span(text: &str, label: &Label) -> SourceSpan {
    let (start, end) = clamp_span(text, label.span.start as usize, label.span.end as usize);
    SourceSpan::from(start..end)
}

/// miette draws a label without text as a bare underline; an empty message
/// means exactly that.
fn label_text(message: &str) -> Option<String> {
    (!message.is_empty()).then(|| message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Span;

    fn two_files() -> (SourceMap, FileId, FileId) {
        let mut sources = SourceMap::new();
        let job = sources.add(
            "job.flow",
            "import \"lib.flow\"\n\nlet n = tokens(1)\noutput total = n\n",
        );
        let lib = sources.add("lib.flow", "fn tokens(line: str) -> [str] = words(line)\n");
        (sources, job, lib)
    }

    fn mismatch(job: FileId, lib: FileId) -> Diagnostic {
        Diagnostic::error(
            "E0201",
            "expected `str`, found `int`",
            Label::new(job, Span::new(34, 35), "this is an `int`"),
        )
        .with_secondary(Label::new(job, Span::new(27, 33), "in this call"))
        .with_secondary(Label::new(
            lib,
            Span::new(10, 19),
            "parameter declared here",
        ))
        .with_help("convert it with `str(1)`")
    }

    #[test]
    fn plain_rendering_shows_labels_notes_and_help() {
        let (sources, job, lib) = two_files();
        let text = render(&[mismatch(job, lib)], &sources, RenderOptions::plain());
        insta::assert_snapshot!(text);
    }

    #[test]
    fn lint_shows_its_name_next_to_the_code() {
        let (sources, job, _) = two_files();
        let lint = Diagnostic::lint(
            "W0001",
            "unused-let",
            "`n` is never used",
            Label::new(job, Span::new(23, 24), ""),
        );
        let text = render(&[lint], &sources, RenderOptions::plain());
        insta::assert_snapshot!(text);
    }

    #[test]
    fn plain_rendering_has_no_escape_codes_and_colored_does() {
        let (sources, job, lib) = two_files();
        let diagnostics = [mismatch(job, lib)];
        let plain = render(&diagnostics, &sources, RenderOptions::plain());
        assert!(!plain.contains('\u{1b}'));
        assert!(plain.is_ascii());
        let colored = render(
            &diagnostics,
            &sources,
            RenderOptions {
                color: true,
                unicode: true,
                width: 100,
            },
        );
        assert!(colored.contains('\u{1b}'));
    }

    #[test]
    fn out_of_range_spans_and_files_do_not_panic() {
        let mut sources = SourceMap::new();
        let file = sources.add("é.flow", "é");
        let diagnostics = [
            Diagnostic::error(
                "E0001",
                "past the end",
                Label::new(file, Span::new(1, 99), "x"),
            ),
            Diagnostic::error("E0001", "reversed", Label::new(file, Span::new(2, 0), "y")),
            Diagnostic::error(
                "E0001",
                "unknown file",
                Label::new(FileId(7), Span::new(0, 1), "z"),
            )
            .with_secondary(Label::new(FileId(9), Span::new(0, 1), "elsewhere")),
        ];
        let text = render(&diagnostics, &sources, RenderOptions::plain());
        assert!(text.contains("past the end"));
        assert!(text.contains("unknown file"));
        for diagnostic in &diagnostics {
            let value = to_json(diagnostic, &sources);
            assert_eq!(value["code"], "E0001");
        }
        assert_eq!(to_json(&diagnostics[2], &sources)["file"], Value::Null);
    }

    #[test]
    fn json_has_paths_spans_and_one_based_positions() {
        let (sources, job, lib) = two_files();
        let value = to_json(&mismatch(job, lib), &sources);
        assert_eq!(value["code"], "E0201");
        assert_eq!(value["severity"], "error");
        assert_eq!(value["file"], "job.flow");
        assert_eq!(value["help"], "convert it with `str(1)`");
        assert_eq!(value["lint"], Value::Null);
        let labels = value["labels"].as_array().unwrap();
        assert_eq!(labels.len(), 3);
        assert_eq!(labels[0]["primary"], true);
        assert_eq!(labels[0]["start"], 34);
        assert_eq!(labels[0]["end"], 35);
        assert_eq!(labels[0]["line"], 3);
        assert_eq!(labels[0]["column"], 16);
        assert_eq!(labels[0]["end_column"], 17);
        assert_eq!(labels[2]["file"], "lib.flow");
        assert_eq!(labels[2]["line"], 1);
        assert_eq!(labels[2]["column"], 11);
        assert_eq!(labels[2]["primary"], false);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let mut sources = SourceMap::new();
        let file = sources.add("a.flow", "let s = \"żółw\" + x\n");
        let diagnostic = Diagnostic::error(
            "E0101",
            "unknown name `x`",
            Label::new(file, Span::new(20, 21), "not defined"),
        );
        let value = to_json(&diagnostic, &sources);
        assert_eq!(value["labels"][0]["column"], 18);
    }
}
