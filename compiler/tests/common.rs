//! Test helpers: analyse in-memory files and render diagnostics compactly.
#![allow(dead_code)]

use std::collections::HashMap;

use flow_compiler::{Analysis, analyze};

/// Analyses `files` (path, text); the first is the root.
pub fn analyze_files(files: &[(&str, &str)]) -> Analysis {
    let provider: HashMap<String, String> = files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    let roots = vec![files[0].0.to_string()];
    analyze(&roots, &provider)
}

/// One line per diagnostic (`CODE line:col message`), then its labels and
/// help, indented. Positions are 1-based; a label in another file than the
/// primary one names its file.
pub fn render(analysis: &Analysis) -> String {
    let mut out = String::new();
    let position = |file, offset: u32| {
        let (line, col) = analysis.sources.line_index(file).line_col(offset as usize);
        format!("{}:{}", line + 1, col + 1)
    };
    for d in &analysis.diagnostics {
        let file = analysis.sources.get(d.primary.file);
        let prefix = if d.primary.file.0 == 0 {
            String::new()
        } else {
            format!("{} ", file.path)
        };
        out.push_str(&format!(
            "{} {prefix}{} {}\n",
            d.code,
            position(d.primary.file, d.primary.span.start),
            d.message
        ));
        out.push_str(&format!("  > {}\n", d.primary.message));
        for s in &d.secondary {
            let in_file = if s.file == d.primary.file {
                String::new()
            } else {
                format!("{} ", analysis.sources.get(s.file).path)
            };
            out.push_str(&format!(
                "  - {in_file}{} {}\n",
                position(s.file, s.span.start),
                s.message
            ));
        }
        if let Some(help) = &d.help {
            out.push_str(&format!("  help: {help}\n"));
        }
    }
    out
}

/// The rendered diagnostics of one in-memory file.
pub fn check(src: &str) -> String {
    render(&analyze_files(&[("job.flow", src)]))
}

/// The rendered diagnostics of several in-memory files, the first the root.
pub fn check_files(files: &[(&str, &str)]) -> String {
    render(&analyze_files(files))
}
