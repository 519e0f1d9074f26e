//! `analyze_incremental` gives exactly what `analyze` gives: after every
//! edit of a random sequence, an analysis through one `AnalysisCache` kept
//! over the whole sequence has the same diagnostics, syntax trees, types,
//! definitions, name and call resolutions as an analysis from scratch. The
//! job is two files (a root importing a library), and edits go to either,
//! so the per-file caches and the files' ids are exercised too.

use std::collections::HashMap;

use flow_compiler::{Analysis, AnalysisCache, analyze, analyze_incremental};
use proptest::prelude::*;

const ROOTS: &[&str] = &[
    include_str!("../../tests/ui/ok_every_construct.flow"),
    include_str!("../../tests/ui/ok_blocks_and_lambdas.flow"),
    include_str!("../../tests/ui/ok_multi_phase.flow"),
    include_str!("../../examples/wordcount/job.flow"),
    include_str!("../../examples/weather/job.flow"),
];

const LIBRARY: &str = "/// Loud.\nfn shout(s: str) -> str = upper(s) + \"!\"\n\ntype Pair = { a: int, b: str }\n\nfn twice(x: int) -> int = x * 2\n";

/// What an edit inserts: text that breaks, fixes, adds, uses or renames
/// items, so that types and names change between versions.
const SNIPPETS: &[&str] = &[
    "",
    "x",
    "1",
    "1.5",
    "\"s\"",
    " ",
    "\n",
    "(",
    ")",
    "{",
    "}",
    "|>",
    ".",
    "=",
    "\nlet y = 2\n",
    "\noutput z = y + 1\n",
    "\noutput s = shout(\"a\")\n",
    "\noutput t = twice(3) + twice(4)\n",
    "\nfn f(a: int) -> int = a\n",
    "\nimport \"lib.flow\"\n",
    "\ntype Row = { n: int }\n",
    "shout(",
    "twice(",
    " |> map(w => w) |> count()",
    "😀",
    "/// doc\n",
    "// note\n",
];

#[derive(Clone, Debug)]
struct Edit {
    /// True for the library, false for the root.
    library: bool,
    /// Where, as a fraction of the text's length in 1/10,000.
    at: u32,
    remove: usize,
    insert: &'static str,
}

fn edit() -> impl Strategy<Value = Edit> {
    (
        prop::bool::weighted(0.2),
        0..=10_000u32,
        0..10usize,
        prop::sample::select(SNIPPETS),
    )
        .prop_map(|(library, at, remove, insert)| Edit {
            library,
            at,
            remove,
            insert,
        })
}

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

/// Everything an analysis found, in one comparable text: hash maps as
/// sorted lists.
fn summary(analysis: &Analysis) -> String {
    let sorted = |mut lines: Vec<String>| {
        lines.sort();
        lines.join("\n")
    };
    let program = &analysis.program;
    format!(
        "diagnostics: {:#?}\nmodules: {:#?}\njobs: {}\ndefinitions: {}\ntypes:\n{}\nnames:\n{}\ncalls:\n{}\nshadowing: {:?}",
        analysis.diagnostics,
        analysis.modules,
        serde_json::to_string(&program.jobs).unwrap_or_default(),
        serde_json::to_string(&program.definitions).unwrap_or_default(),
        sorted(
            program
                .expr_types
                .iter()
                .map(|(at, ty)| format!("{at:?} {ty:?}"))
                .collect()
        ),
        sorted(
            program
                .name_refs
                .iter()
                .map(|(at, def)| format!("{at:?} {def:?}"))
                .collect()
        ),
        sorted(
            program
                .call_targets
                .iter()
                .map(|(at, def)| format!("{at:?} {def:?}"))
                .collect()
        ),
        program.shadowing,
    )
}

fn check(root: &str, edits: &[Edit]) -> Result<(), TestCaseError> {
    let mut files: HashMap<String, String> = HashMap::new();
    files.insert(
        "job/main.flow".to_string(),
        format!("import \"lib.flow\"\n{root}"),
    );
    files.insert("job/lib.flow".to_string(), LIBRARY.to_string());
    let roots = vec!["job/main.flow".to_string()];
    let mut cache = AnalysisCache::new();
    prop_assert_eq!(
        summary(&analyze_incremental(&roots, &files, &mut cache)),
        summary(&analyze(&roots, &files))
    );
    for (step, edit) in edits.iter().enumerate() {
        let path = if edit.library {
            "job/lib.flow"
        } else {
            "job/main.flow"
        };
        if let Some(text) = files.get_mut(path) {
            apply(text, edit);
        }
        let incremental = summary(&analyze_incremental(&roots, &files, &mut cache));
        let scratch = summary(&analyze(&roots, &files));
        prop_assert!(
            incremental == scratch,
            "step {} ({:?}): the incremental analysis differs from scratch\n{}",
            step,
            edit,
            first_difference(&incremental, &scratch)
        );
    }
    Ok(())
}

/// The first line where two summaries differ, with both versions.
fn first_difference(left: &str, right: &str) -> String {
    left.lines()
        .zip(right.lines())
        .enumerate()
        .find(|(_, (l, r))| l != r)
        .map_or_else(
            || "one summary is longer".to_string(),
            |(line, (l, r))| format!("line {line}:\n  incremental: {l}\n  scratch:     {r}"),
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    #[test]
    fn random_edits_analyse_as_from_scratch(
        root in prop::sample::select(ROOTS),
        edits in prop::collection::vec(edit(), 1..16),
    ) {
        check(root, &edits)?;
    }
}

/// The cache is used: an edit of one item of the root parses that item
/// only, and the untouched library is not parsed again.
#[test]
fn an_edit_reuses_the_other_items() {
    let mut files: HashMap<String, String> = HashMap::new();
    files.insert(
        "main.flow".to_string(),
        "import \"lib.flow\"\nlet a = twice(1)\noutput b = a + 1\n".to_string(),
    );
    files.insert("lib.flow".to_string(), LIBRARY.to_string());
    let roots = vec!["main.flow".to_string()];
    let mut cache = AnalysisCache::new();
    analyze_incremental(&roots, &files, &mut cache);
    if let Some(main) = files.get_mut("main.flow") {
        *main = main.replace("a + 1", "a + 100");
    }
    let analysis = analyze_incremental(&roots, &files, &mut cache);
    assert_eq!(summary(&analysis), summary(&analyze(&roots, &files)));
    let main = cache
        .parse_stats("main.flow")
        .expect("main.flow was parsed");
    assert_eq!((main.reused, main.parsed), (2, 1));
    let library = cache.parse_stats("lib.flow").expect("lib.flow was parsed");
    assert_eq!((library.reused, library.parsed), (3, 0));
}
