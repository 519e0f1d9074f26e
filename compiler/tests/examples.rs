//! The shipped examples and LANGUAGE.md's example check without any
//! diagnostic.

mod common;

use common::check;

#[test]
fn every_example_checks_clean() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path().join("job.flow");
        if let Ok(text) = std::fs::read_to_string(&path) {
            seen += 1;
            assert_eq!(check(&text), "", "{}", path.display());
        }
    }
    assert!(seen >= 5, "found only {seen} examples");
}

#[test]
fn the_language_example_checks_clean() {
    let src = r#"//! Word frequencies over a text corpus.

param top_n: int = 100

input corpus = lines("data/*.txt")

/// Lower-cased words of one line.
fn tokens(line: str) -> [str] = line |> lower |> words

let counts = corpus
  |> flat_map(tokens)
  |> count_by(w => w)

output top_words = counts |> top(top_n, by: p => p.1)

policy {
  split  = 4 MiB
  fanout = 8
  depth  = 3
  delegate when work > 32 MiB
}
"#;
    assert_eq!(check(src), "");
}
