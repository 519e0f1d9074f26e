//! Incremental parsing gives exactly what parsing from scratch gives: after
//! every edit of a random sequence, `parse_incremental` with one cache kept
//! over the whole sequence returns the same tree (every span, every doc
//! comment) and the same diagnostics as `parse` of the edited text. The
//! edits insert, delete and replace text at random places of real programs:
//! keywords that start or end items, brackets, quotes, newlines, comments,
//! astral characters.

use flow_lang::{FileId, ParseCache, parse, parse_incremental};
use proptest::prelude::*;

/// Programs that together use every construct of the language.
const PROGRAMS: &[&str] = &[
    include_str!("../../tests/ui/ok_every_construct.flow"),
    include_str!("../../tests/ui/ok_blocks_and_lambdas.flow"),
    include_str!("../../tests/ui/ok_policy_every_key.flow"),
    include_str!("../../tests/ui/ok_long_operator_chain.flow"),
    include_str!("../../examples/wordcount/job.flow"),
    include_str!("../../examples/weather/job.flow"),
];

/// What an edit inserts.
const SNIPPETS: &[&str] = &[
    "",
    "x",
    "1",
    " ",
    "\n",
    "\r\n",
    "(",
    ")",
    "{",
    "}",
    "[",
    "\"",
    "|>",
    "=>",
    ".",
    ".0",
    "=",
    ";",
    "let ",
    "\nlet y = 2\n",
    "\noutput z = y + 1\n",
    "\nfn f(a: int) -> int = a\n",
    "type ",
    "policy {",
    "// note\n",
    "/// doc\n",
    "//! file doc\n",
    "😀",
    "é",
    "if ",
    " then ",
    " else ",
    "4 MiB",
    "9223372036854775808",
    "\"\\q\"",
];

/// One edit: at a fraction of the text, remove a few bytes and insert a
/// snippet.
#[derive(Clone, Debug)]
struct Edit {
    /// Where, as a fraction of the text's length in 1/10,000.
    at: u32,
    remove: usize,
    insert: &'static str,
}

fn edit() -> impl Strategy<Value = Edit> {
    (0..=10_000u32, 0..12usize, prop::sample::select(SNIPPETS))
        .prop_map(|(at, remove, insert)| Edit { at, remove, insert })
}

/// Applies `edit` to `text`, on character boundaries.
fn apply(text: &mut String, edit: &Edit) {
    let mut start = (text.len() as u64 * u64::from(edit.at) / 10_000) as usize;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + edit.remove).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    text.replace_range(start..end, edit.insert);
}

/// Parses every version incrementally with one cache and from scratch, and
/// asserts they agree.
fn check(program: &str, edits: &[Edit]) -> Result<(), TestCaseError> {
    let file = FileId(3);
    let mut cache = ParseCache::new();
    let mut text = program.to_string();
    prop_assert_eq!(
        parse_incremental(file, &text, &mut cache),
        parse(file, &text)
    );
    for (step, edit) in edits.iter().enumerate() {
        apply(&mut text, edit);
        let incremental = parse_incremental(file, &text, &mut cache);
        let scratch = parse(file, &text);
        prop_assert_eq!(
            incremental,
            scratch,
            "step {} ({:?}) of text:\n{}",
            step,
            edit,
            text
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_edits_parse_as_from_scratch(
        program in prop::sample::select(PROGRAMS),
        edits in prop::collection::vec(edit(), 1..25),
    ) {
        check(program, &edits)?;
    }
}

/// The cache does its job: an edit inside one item re-parses that item
/// only, and an edit that moves every later item re-parses none of them.
#[test]
fn an_edit_reparses_only_the_changed_item() {
    let program =
        "param a: int = 1\n\nlet b = a + 1\n\nfn f(x: int) -> int = x * b\n\noutput c = f(2)\n";
    let mut cache = ParseCache::new();
    let first = parse_incremental(FileId(0), program, &mut cache);
    assert_eq!(first, parse(FileId(0), program));
    assert_eq!(cache.stats().parsed, 4);
    assert_eq!(cache.stats().reused, 0);
    assert_eq!(cache.len(), 4);

    // Changing `b`'s value (and its length) keeps the other three items.
    let edited = program.replace("a + 1", "a + 100");
    let second = parse_incremental(FileId(0), &edited, &mut cache);
    assert_eq!(second, parse(FileId(0), &edited));
    assert_eq!((cache.stats().reused, cache.stats().parsed), (3, 1));
    // The replaced `let` is dropped from the cache.
    assert_eq!(cache.len(), 4);

    // Blank lines at the top move everything: all four come from the cache,
    // shifted.
    let moved = format!("\n\n\n{edited}");
    let third = parse_incremental(FileId(0), &moved, &mut cache);
    assert_eq!(third, parse(FileId(0), &moved));
    assert_eq!((cache.stats().reused, cache.stats().parsed), (4, 0));
}

/// Diagnostics of a cached item (an integer out of range) move with it and
/// name the file of the current parse.
#[test]
fn cached_diagnostics_move_with_their_item() {
    let program = "let big = 9223372036854775808\n";
    let mut cache = ParseCache::new();
    let first = parse_incremental(FileId(0), program, &mut cache);
    assert_eq!(first.diagnostics.len(), 1);
    let moved = format!("// a comment\n{program}");
    let second = parse_incremental(FileId(7), &moved, &mut cache);
    assert_eq!(cache.stats().reused, 1);
    assert_eq!(second, parse(FileId(7), &moved));
}
