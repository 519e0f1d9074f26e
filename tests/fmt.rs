//! `flowc fmt` over the repository's corpus: formatting is idempotent and
//! keeps every comment, on every example and UI test that parses.

mod corpus;

use flow_lang::{FileId, format, parse};

/// The text of every comment, in order, as the parser saw it.
fn comments(text: &str) -> Vec<String> {
    let parsed = parse(FileId(0), text);
    parsed
        .module
        .comments
        .iter()
        .map(|c| c.text.trim_end().to_string())
        .collect()
}

#[test]
fn formatting_is_idempotent_and_keeps_comments() {
    let mut formatted_count = 0;
    for (path, text) in corpus::programs() {
        let parsed = parse(FileId(0), &text);
        if !parsed.diagnostics.is_empty() {
            continue;
        }
        let once = format(&parsed.module, &text);
        let reparsed = parse(FileId(0), &once);
        assert!(
            reparsed.diagnostics.is_empty(),
            "{}: formatted text does not parse:\n{once}",
            path.display()
        );
        let twice = format(&reparsed.module, &once);
        assert_eq!(once, twice, "{}: not idempotent", path.display());
        assert_eq!(
            comments(&text),
            comments(&once),
            "{}: comments changed",
            path.display()
        );
        formatted_count += 1;
    }
    assert!(
        formatted_count >= 60,
        "only {formatted_count} programs formatted"
    );
}
