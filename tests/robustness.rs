//! Bad input never panics: the parser and the checker take mutated copies of
//! every program in the repository, random token soups and random bytes, and
//! must always return (a tree and diagnostics), never panic.
//!
//! The mutations are deterministic (a fixed-seed generator), so a failure
//! names the program and the mutation and reproduces exactly.

mod corpus;

use std::collections::HashMap;

use flow_compiler::analyze;
use proptest::prelude::*;

/// The stack of a program's main thread on Linux, where `flowc check`,
/// `flowc run` and `flowc lsp` run the analysis. The parser bounds the depth
/// of the tree it builds (`flow_lang::parser::MAX_TREE_DEPTH`) for this
/// stack; a test thread has only 2 MiB.
const MAIN_THREAD_STACK: usize = 8 << 20;

/// [`analyze_on_this_thread`] on a thread with the stack `flowc` gives it;
/// a panic there is a panic here.
fn analyze_text(text: &str) -> usize {
    let text = text.to_string();
    let worker = std::thread::Builder::new()
        .stack_size(MAIN_THREAD_STACK)
        .spawn(move || analyze_on_this_thread(&text))
        .expect("spawn an analysis thread");
    match worker.join() {
        Ok(count) => count,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Parses and checks `text` as the root `job.flow`, with one importable
/// library beside it, and returns the number of diagnostics.
fn analyze_on_this_thread(text: &str) -> usize {
    let mut files = HashMap::new();
    files.insert("job.flow".to_string(), text.to_string());
    files.insert(
        "lib/text.flow".to_string(),
        "fn shout(s: str) -> str = upper(s)\n".to_string(),
    );
    let analysis = analyze(&["job.flow".to_string()], &files);
    // Formatting a tree that parsed without errors must not panic either.
    if !analysis.has_errors() {
        let module = flow_lang::parse(flow_lang::FileId(0), text).module;
        let _ = flow_lang::format(&module, text);
    }
    analysis.diagnostics.len()
}

/// A small deterministic generator (SplitMix64) for the mutations.
struct Mutator(u64);

impl Mutator {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Pieces of Flow that mutations insert: tokens that start or end
/// constructs, so mutants reach deep into the grammar and the checker.
const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    ":",
    ".",
    "=>",
    "|>",
    "->",
    "=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "==",
    "<",
    ">=",
    "and",
    "or",
    "not",
    "if",
    "then",
    "else",
    "let",
    "fn",
    "type",
    "input",
    "output",
    "param",
    "policy",
    "import",
    "extern",
    "from",
    "to",
    "x",
    "xs",
    "0",
    "1.5",
    "\"s\"",
    "4 MiB",
    "30s",
    "//",
    "///",
    "\n",
    "\"",
    "\\",
    "é",
    "map",
    "count()",
    "stream<int>",
    "[int]",
    "Row",
    "delegate when",
    "_",
    "9223372036854775808",
    "\u{0}",
];

/// One mutant of `text`: delete, duplicate or insert a slice, swap two
/// lines, or cut the file short. Works on chars so mutants stay UTF-8.
fn mutate(text: &str, rng: &mut Mutator) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = rng.below(chars.len() + 1);
    let len = 1 + rng.below(8);
    let end = (at + len).min(chars.len());
    let mut out: Vec<char> = Vec::with_capacity(chars.len() + 16);
    match rng.below(5) {
        0 => {
            out.extend(&chars[..at]);
            out.extend(&chars[end..]);
        }
        1 => {
            out.extend(&chars[..end]);
            out.extend(&chars[at..]);
        }
        2 => {
            out.extend(&chars[..at]);
            out.extend(TOKENS[rng.below(TOKENS.len())].chars());
            out.extend(&chars[at..]);
        }
        3 => {
            let mut lines: Vec<&str> = text.lines().collect();
            if lines.len() > 1 {
                let a = rng.below(lines.len());
                let b = rng.below(lines.len());
                lines.swap(a, b);
            }
            return lines.join("\n");
        }
        _ => out.extend(&chars[..at]),
    }
    out.into_iter().collect()
}

#[test]
fn mutated_programs_never_panic() {
    let programs = corpus::programs();
    assert!(
        programs.len() >= 60,
        "corpus has {} programs",
        programs.len()
    );
    let mut rng = Mutator(0x5EED);
    let mut mutants = 0;
    for (path, text) in &programs {
        for round in 0..40 {
            // Stack a few mutations so mutants drift further from valid code.
            let mut mutant = text.clone();
            for _ in 0..=round % 3 {
                mutant = mutate(&mutant, &mut rng);
            }
            let outcome = std::panic::catch_unwind(|| analyze_text(&mutant));
            assert!(
                outcome.is_ok(),
                "panic on mutant {round} of {}:\n{mutant}",
                path.display()
            );
            mutants += 1;
        }
    }
    assert!(mutants >= 2_400);
}

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|tokens| tokens.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn token_soups_never_panic(soup in token_soup()) {
        analyze_text(&soup);
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        analyze_text(&text);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        analyze_text(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn deep_nesting_is_a_diagnostic_not_a_stack_overflow() {
    for depth in [200, 5_000, 50_000] {
        let text = format!("output a = {}1{}\n", "(".repeat(depth), ")".repeat(depth));
        assert!(analyze_text(&text) > 0);
        let text = format!("output a = {}1{}\n", "[".repeat(depth), "]".repeat(depth));
        assert!(analyze_text(&text) > 0);
        let text = format!("output a = {}true\n", "not ".repeat(depth));
        assert!(analyze_text(&text) > 0);
    }
}
