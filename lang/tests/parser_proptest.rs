//! Property tests: the parser never panics, whatever the input, and every
//! diagnostic points inside the text (on character boundaries).

use flow_lang::{FileId, parse};
use proptest::prelude::*;

/// Tokens of the language and some that are not, to build plausible and
/// implausible programs alike.
const TOKENS: &[&str] = &[
    "param",
    "input",
    "let",
    "fn",
    "type",
    "extern",
    "from",
    "output",
    "to",
    "policy",
    "delegate",
    "when",
    "if",
    "then",
    "else",
    "and",
    "or",
    "not",
    "true",
    "false",
    "import",
    "x",
    "Row",
    "letter",
    "int",
    "stream",
    "_a1",
    "0",
    "42",
    "1_000",
    "0xff",
    "3.25",
    "1e-9",
    "9223372036854775808",
    "4 MiB",
    "512KB",
    "30s",
    "250ms",
    "12abc",
    "\"s\"",
    "\"\\n\"",
    "\"\\q\"",
    "\"\\u{1F600}\"",
    "\"open",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ";",
    ".",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "|>",
    "=>",
    "->",
    "!",
    "@",
    "é",
    "// c\n",
    "/// d\n",
    "//! f\n",
    "\n",
    " ",
    "\t",
    "\r\n",
    ".0",
    ".1",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|tokens| {
        let mut text = String::new();
        for token in tokens {
            text.push_str(token);
            text.push(' ');
        }
        text
    })
}

fn check(input: &str) {
    let result = parse(FileId(0), input);
    for diagnostic in &result.diagnostics {
        let span = diagnostic.primary.span;
        assert!(span.start <= span.end, "{span:?} in {input:?}");
        assert!((span.end as usize) <= input.len(), "{span:?} in {input:?}");
        assert!(
            input.is_char_boundary(span.start as usize),
            "{span:?} in {input:?}"
        );
        assert!(
            input.is_char_boundary(span.end as usize),
            "{span:?} in {input:?}"
        );
        assert!(diagnostic.code.starts_with("E00"), "{}", diagnostic.code);
    }
    for item in &result.module.items {
        assert!((item.span.end as usize) <= input.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn random_strings_do_not_panic(input in "\\PC{0,60}") {
        check(&input);
    }

    #[test]
    fn random_bytes_of_flow_characters_do_not_panic(input in "[a-z0-9_ \n(){}\\[\\],.:;=<>+*/%|!\"\\\\-]{0,80}") {
        check(&input);
    }

    #[test]
    fn token_soups_do_not_panic(input in token_soup()) {
        check(&input);
    }

    #[test]
    fn valid_items_survive_a_broken_neighbour(soup in token_soup()) {
        // A good item after any garbage on earlier lines is still parsed.
        // (`output` rather than `let`: a `let` line inside an unclosed block
        // brace is read as a block binding, by design.)
        let input = format!("{soup}\noutput survivor = 1\n");
        let result = parse(FileId(0), &input);
        let names: Vec<&str> = result
            .module
            .items
            .iter()
            .filter_map(|item| item.kind.name().map(|n| n.name.as_str()))
            .collect();
        prop_assert!(names.contains(&"survivor"), "{input:?} gave {names:?}");
    }
}
