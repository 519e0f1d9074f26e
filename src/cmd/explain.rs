//! `flowc explain CODE`: prints the entry of `docs/errors.md` for one
//! diagnostic code.
//!
//! The reference is compiled into the binary, so `explain` works without the
//! source tree and always matches the codes this build emits.

use clap::Args;

use super::Exit;
use crate::term::Terminal;

/// The diagnostics reference, embedded at build time.
const ERRORS_MD: &str = include_str!("../../docs/errors.md");

const EXAMPLES: &str = "\
EXAMPLES:
  flowc explain E0601      Explain an error code
  flowc explain e0601      Codes are not case sensitive
  flowc explain W0001      Explain a lint by its code";

/// Explain a diagnostic code in detail.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct ExplainArgs {
    /// A code such as `E0201` (error) or `W0001` (lint), or a lint's name.
    code: String,
}

pub fn run(args: &ExplainArgs, _terminal: &Terminal) -> Exit {
    let entries = entries(ERRORS_MD);
    match find(&entries, &args.code) {
        Some(entry) => {
            println!("{}: {}\n", entry.code, entry.title);
            println!("{}", entry.body);
            Exit::Success
        }
        None => {
            eprintln!("error: no diagnostic has the code `{}`", args.code.trim());
            match suggest(&entries, &args.code) {
                Some(code) => eprintln!("help: did you mean `{code}`?"),
                None => eprintln!("help: codes look like `E0201` or `W0001`"),
            }
            Exit::Errors
        }
    }
}

/// One `### CODE: title` section of the reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub code: &'a str,
    pub title: &'a str,
    /// The text up to the next heading, without surrounding blank lines.
    pub body: &'a str,
}

/// Splits the reference into entries. Headings inside fenced code blocks are
/// code, not headings.
pub fn entries(markdown: &str) -> Vec<Entry<'_>> {
    let mut entries = Vec::new();
    let mut current: Option<(&str, &str, usize)> = None;
    let mut in_fence = false;
    let mut offset = 0;
    for line in markdown.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let trimmed = line.trim_end();
        if trimmed.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || !trimmed.starts_with('#') {
            continue;
        }
        if let Some((code, title, body_start)) = current.take() {
            entries.push(entry(markdown, code, title, body_start, line_start));
        }
        current = parse_heading(trimmed).map(|(code, title)| (code, title, offset));
    }
    if let Some((code, title, body_start)) = current {
        entries.push(entry(markdown, code, title, body_start, markdown.len()));
    }
    entries
}

fn entry<'a>(
    markdown: &'a str,
    code: &'a str,
    title: &'a str,
    start: usize,
    end: usize,
) -> Entry<'a> {
    let body = markdown
        .get(start..end)
        .unwrap_or("")
        .trim_matches('\n')
        .trim_end();
    Entry { code, title, body }
}

/// `### E0201: mismatched types` gives `("E0201", "mismatched types")`.
fn parse_heading(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("### ")?;
    let (code, title) = rest.split_once(':')?;
    let code = code.trim();
    is_code(code).then_some((code, title.trim()))
}

fn is_code(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some('E' | 'W')) && text.len() == 5 && chars.all(|c| c.is_ascii_digit())
}

/// Finds an entry by code (any case) or by a lint name written in its title.
fn find<'a>(entries: &'a [Entry<'a>], query: &str) -> Option<&'a Entry<'a>> {
    let query = query.trim();
    entries
        .iter()
        .find(|entry| entry.code.eq_ignore_ascii_case(query))
        .or_else(|| {
            let quoted = format!("`{query}`");
            entries
                .iter()
                .find(|entry| entry.title == query || entry.title.contains(&quoted))
        })
}

/// The known code closest to what was asked, if one is close enough to be a
/// likely typo. Swapped digits count as one edit; among equally close codes
/// the one sharing the longest prefix (the same range) wins.
fn suggest<'a>(entries: &'a [Entry<'a>], query: &str) -> Option<&'a str> {
    let query = query.trim().to_ascii_uppercase();
    entries
        .iter()
        .map(|entry| {
            let distance = strsim::osa_distance(&query, entry.code);
            let shared_prefix = query
                .chars()
                .zip(entry.code.chars())
                .take_while(|(a, b)| a == b)
                .count();
            (distance, std::cmp::Reverse(shared_prefix), entry.code)
        })
        .filter(|(distance, _, _)| *distance <= 2)
        .min()
        .map(|(_, _, code)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# Diagnostics reference

## Syntax (E0001–E0099)

### E0001: unexpected token

The parser met a token it did not expect.

```flow
### E0002: this is code, not a heading
```

### W0001: unused `let` (`unused-let`)
A binding nobody reads.
## Next section
";

    #[test]
    fn splits_entries_at_headings_outside_code_fences() {
        let found = entries(SAMPLE);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].code, "E0001");
        assert_eq!(found[0].title, "unexpected token");
        assert!(found[0].body.starts_with("The parser met"));
        assert!(found[0].body.contains("### E0002"));
        assert!(found[0].body.ends_with("```"));
        assert_eq!(found[1].body, "A binding nobody reads.");
    }

    #[test]
    fn finds_by_code_in_any_case_and_by_lint_name() {
        let found = entries(SAMPLE);
        assert_eq!(find(&found, "e0001").map(|e| e.code), Some("E0001"));
        assert_eq!(find(&found, "unused-let").map(|e| e.code), Some("W0001"));
        assert_eq!(find(&found, "E0002"), None);
    }

    #[test]
    fn suggests_close_codes_only() {
        let found = entries(SAMPLE);
        assert_eq!(suggest(&found, "E0010"), Some("E0001"));
        assert_eq!(suggest(&found, "X9999"), None);
        let codes = "### E0010: a\nx\n### E0601: b\ny\n";
        assert_eq!(suggest(&entries(codes), "E0610"), Some("E0601"));
    }

    #[test]
    fn every_embedded_entry_has_a_body() {
        for entry in entries(ERRORS_MD) {
            assert!(!entry.body.is_empty(), "{} has no explanation", entry.code);
        }
    }
}
