//! Tests of the formatter: one snapshot per construct and comment position,
//! each checked for idempotence and for keeping the syntax tree, plus a
//! property test over randomly generated programs.

use flow_lang::ast::Module;
use flow_lang::{FileId, format, parse};
use proptest::prelude::*;
use serde_json::Value;

/// Parses `text`, failing the test if it has any diagnostic.
fn parse_clean(text: &str) -> Module {
    let result = parse(FileId(0), text);
    assert!(
        result.diagnostics.is_empty(),
        "unexpected diagnostics {:#?} for:\n{text}",
        result.diagnostics
    );
    result.module
}

/// The module as JSON with every span zeroed and comment text without
/// trailing spaces (the formatter trims them), so that two parses of
/// differently laid out text compare equal when they mean the same.
fn shape(module: &Module) -> Value {
    let mut value = serde_json::to_value(module).expect("a module serialises to JSON");
    normalise(&mut value);
    value
}

fn normalise(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                match key.as_str() {
                    "span" | "op_span" | "index_span" => *field = Value::Null,
                    // Comment texts and doc texts lose trailing spaces.
                    "text" | "docs" => {
                        if let Value::String(s) = field {
                            *s = s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
                        }
                    }
                    _ => normalise(field),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

/// Formats `input`, checks that formatting again changes nothing and that the
/// formatted text parses to the same tree, and returns the formatted text.
fn check(input: &str) -> String {
    let module = parse_clean(input);
    let formatted = format(&module, input);
    let reparsed = parse_clean(&formatted);
    assert_eq!(
        shape(&reparsed),
        shape(&module),
        "formatting changed the tree of:\n{input}\n--- formatted:\n{formatted}"
    );
    let again = format(&reparsed, &formatted);
    assert_eq!(
        again, formatted,
        "formatting is not idempotent for:\n{input}\n--- first:\n{formatted}"
    );
    assert!(formatted.is_empty() || formatted.ends_with('\n') && !formatted.ends_with("\n\n"));
    formatted
}

// ----- items -----------------------------------------------------------------

#[test]
fn language_reference_example() {
    let input = r#"//! Word frequencies over a text corpus.

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
    insta::assert_snapshot!(check(input), @r#"
    //! Word frequencies over a text corpus.

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
    "#);
}

#[test]
fn every_item_kind() {
    let input = r#"import   "lib/text_utils.flow"
type Row = {city:str,temp:float}
param threshold:float=0.5
param name = "x"
input rows:Row=csv("data/*.csv")
fn hot(r:Row)->bool=r.temp>threshold
extern fn score(s:str)->float from "tools/score.wasm"
let hot_rows=rows|>filter(hot)
output n_hot=hot_rows|>count()
output hot_list = hot_rows |> collect() to "out/hot.csv"
"#;
    insta::assert_snapshot!(check(input), @r#"
    import "lib/text_utils.flow"
    type Row = { city: str, temp: float }
    param threshold: float = 0.5
    param name = "x"
    input rows: Row = csv("data/*.csv")
    fn hot(r: Row) -> bool = r.temp > threshold
    extern fn score(s: str) -> float from "tools/score.wasm"
    let hot_rows = rows |> filter(hot)
    output n_hot = hot_rows |> count()
    output hot_list = hot_rows |> collect() to "out/hot.csv"
    "#);
}

#[test]
fn blank_lines_between_items_are_kept_but_collapsed() {
    let input = "let a = 1\nlet b = 2\n\n\n\nlet c = 3\n\n\n";
    insta::assert_snapshot!(check(input), @r#"
    let a = 1
    let b = 2

    let c = 3
    "#);
}

#[test]
fn long_record_type_breaks_one_field_per_line() {
    let input = "type Reading = { station: str, timestamp: int, temperature: float, humidity: float, ok: bool }";
    insta::assert_snapshot!(check(input), @r#"
    type Reading = {
      station: str,
      timestamp: int,
      temperature: float,
      humidity: float,
      ok: bool,
    }
    "#);
}

#[test]
fn generic_and_bodiless_functions() {
    let input = "fn map<T,U>(xs:[T],f:fn(T)->U)->[U]\nfn sum<N:Num>(xs:stream<N>)->N\nfn pair()->(int,str)=(1,\"a\")";
    insta::assert_snapshot!(check(input), @r#"
    fn map<T, U>(xs: [T], f: fn(T) -> U) -> [U]
    fn sum<N: Num>(xs: stream<N>) -> N
    fn pair() -> (int, str) = (1, "a")
    "#);
}

#[test]
fn policy_aligns_settings_one_per_line() {
    let input = "policy { split = 4MiB fanout=8 timeout = 60s delegate when work > 32 MiB and peers > 0 select = capacity }";
    insta::assert_snapshot!(check(input), @r#"
    policy {
      split   = 4 MiB
      fanout  = 8
      timeout = 60s
      delegate when work > 32 MiB and peers > 0
      select  = capacity
    }
    "#);
}

#[test]
fn empty_policy_and_file() {
    insta::assert_snapshot!(check("policy {   }"), @r#"policy {}"#);
    assert_eq!(check(""), "");
    assert_eq!(check("\n\n  \n"), "");
}

// ----- expressions -------------------------------------------------------------

#[test]
fn operators_get_spaces_and_keep_parentheses() {
    let input = "let a = -x*(y+z)%2-not b\nlet c = (a)\nlet d = x==1 and y!=2 or not(z<=3)";
    insta::assert_snapshot!(check(input), @r#"
    let a = -x * (y + z) % 2 - not b
    let c = (a)
    let d = x == 1 and y != 2 or not (z <= 3)
    "#);
}

#[test]
fn literals_keep_their_spelling() {
    let input = "let a = [1_000_000,0xff,2.5e3,1e-9,2_000_000.0,\"tab\\there \\u{1F600}\",true,false]\npolicy { split = 512KB timeout = 250ms retries = 2 }";
    insta::assert_snapshot!(check(input), @r#"
    let a = [
      1_000_000,
      0xff,
      2.5e3,
      1e-9,
      2_000_000.0,
      "tab\there \u{1F600}",
      true,
      false,
    ]
    policy {
      split   = 512 KB
      timeout = 250ms
      retries = 2
    }
    "#);
}

#[test]
fn calls_lambdas_tuples_records_fields() {
    let input = "let a = f( x , by : p=>p.1 )\nlet b = ((a,b)=>a+b)\nlet c = (x:int)=>x\nlet d = (1,\"two\")\nlet e = Row{city:\"Oslo\",temp:1.5}.city\nlet f = t.0";
    insta::assert_snapshot!(check(input), @r#"
    let a = f(x, by: p => p.1)
    let b = ((a, b) => a + b)
    let c = (x: int) => x
    let d = (1, "two")
    let e = Row { city: "Oslo", temp: 1.5 }.city
    let f = t.0
    "#);
}

#[test]
fn if_and_blocks() {
    let input = "let a = if x>1 then \"big\" else \"small\"\nlet b = { let x = 1; let y: int = x+1; x*y }\nlet c = if a then 1 else if b then 2 else 3";
    insta::assert_snapshot!(check(input), @r#"
    let a = if x > 1 then "big" else "small"
    let b = { let x = 1; let y: int = x + 1; x * y }
    let c = if a then 1 else if b then 2 else 3
    "#);
}

#[test]
fn long_if_and_block_break() {
    let input = "fn classify(reading: float) -> str = if reading > threshold_for_alerts then \"alert\" else \"normal reading\"\nfn f(x: int) -> int = { let doubled_value = x * 2; let tripled_value = x * 3; doubled_value + tripled_value }";
    insta::assert_snapshot!(check(input), @r#"
    fn classify(reading: float) -> str =
      if reading > threshold_for_alerts then "alert" else "normal reading"
    fn f(x: int) -> int = {
      let doubled_value = x * 2;
      let tripled_value = x * 3;
      doubled_value + tripled_value
    }
    "#);
}

#[test]
fn short_pipeline_stays_on_one_line() {
    let input = "let counts = corpus |>   flat_map(tokens) |> count_by(w => w)";
    insta::assert_snapshot!(check(input), @r#"let counts = corpus |> flat_map(tokens) |> count_by(w => w)"#);
}

#[test]
fn pipeline_keeps_the_authors_line_breaks() {
    let input = "let counts = corpus\n  |> flat_map(tokens)\n  |> count_by(w => w)";
    insta::assert_snapshot!(check(input), @r#"
    let counts = corpus
      |> flat_map(tokens)
      |> count_by(w => w)
    "#);
}

#[test]
fn record_type_keeps_one_field_per_line_when_written_so() {
    let input = "type Row = {\n  city: str,\n  temp: float\n}\ntype Pair = { a: int, b: int }";
    insta::assert_snapshot!(check(input), @r#"
    type Row = {
      city: str,
      temp: float,
    }
    type Pair = { a: int, b: int }
    "#);
}

#[test]
fn long_pipeline_breaks_one_stage_per_line() {
    let input = "output result = readings |> filter(r => r.temperature > threshold) |> map(r => (r.station, r.temperature)) |> sum_by(p => p.0, p => p.1) |> top(10, by: p => p.1)";
    insta::assert_snapshot!(check(input), @r#"
    output result = readings
      |> filter(r => r.temperature > threshold)
      |> map(r => (r.station, r.temperature))
      |> sum_by(p => p.0, p => p.1)
      |> top(10, by: p => p.1)
    "#);
}

#[test]
fn long_call_and_list_break_with_trailing_comma() {
    let input = "let a = replace_everything(the_first_argument_value, the_second_argument_value, by: the_third)\nlet b = [\"alpha\", \"beta\", \"gamma\", \"delta\", \"epsilon\", \"zeta\", \"eta\", \"theta\", \"iota\"]\nlet c = [1, 2,]";
    insta::assert_snapshot!(check(input), @r#"
    let a = replace_everything(
      the_first_argument_value,
      the_second_argument_value,
      by: the_third,
    )
    let b = [
      "alpha",
      "beta",
      "gamma",
      "delta",
      "epsilon",
      "zeta",
      "eta",
      "theta",
      "iota",
    ]
    let c = [1, 2]
    "#);
}

#[test]
fn long_boolean_chain_breaks_before_operators() {
    let input = "policy { delegate when work > 32 MiB and peers > 0 and depth < 3 and capacity > 0.5 and chunks > 1 }";
    insta::assert_snapshot!(check(input), @r#"
    policy {
      delegate when work > 32 MiB
        and peers > 0
        and depth < 3
        and capacity > 0.5
        and chunks > 1
    }
    "#);
}

// ----- comments -------------------------------------------------------------

#[test]
fn comments_before_after_and_between_items() {
    let input = "//! File doc.\n//! Second line.\n\n// A leading comment.\n\n/// Doc of a.\nlet a = 1 // why a\n// Between.\nlet b = 2   \n\n// At the end.\n\n// Really the end.   \n";
    insta::assert_snapshot!(check(input), @r#"
    //! File doc.
    //! Second line.

    // A leading comment.

    /// Doc of a.
    let a = 1 // why a
    // Between.
    let b = 2

    // At the end.

    // Really the end.
    "#);
}

#[test]
fn comments_between_pipeline_stages_keep_their_lines() {
    let input = "let counts = corpus // the input\n  // split into words\n  |> flat_map(tokens) // one per word\n  |> count_by(w => w)";
    insta::assert_snapshot!(check(input), @r#"
    let counts = corpus // the input
      // split into words
      |> flat_map(tokens) // one per word
      |> count_by(w => w)
    "#);
}

#[test]
fn comments_inside_policy() {
    let input = "policy { // tuned by hand\n  // chunking\n  split = 4 MiB // chunk size\n\n  fanout = 8\n  // spread only big work\n  delegate when work > 32 MiB\n  // the end\n}";
    insta::assert_snapshot!(check(input), @r#"
    policy { // tuned by hand
      // chunking
      split  = 4 MiB // chunk size

      fanout = 8
      // spread only big work
      delegate when work > 32 MiB
      // the end
    }
    "#);
}

#[test]
fn comments_inside_lists_and_calls_force_breaks() {
    let input = "let xs = [1, // one\n 2]\nlet y = f(a, // first\n  // about b\n  b // last\n)\nlet z = g(\n  // nothing yet\n)";
    insta::assert_snapshot!(check(input), @r#"
    let xs = [
      1, // one
      2,
    ]
    let y = f(
      a, // first
      // about b
      b, // last
    )
    let z = g(
      // nothing yet
    )
    "#);
}

#[test]
fn comments_after_equals_and_operators() {
    let input = "let a = // explained below\n  1\nlet b =\n  // the answer\n  42\nlet c = 1 + // left\n  2\nfn f(x: int) -> int = { // block\n  let y = x; // copy\n  y // result\n}";
    insta::assert_snapshot!(check(input), @r#"
    let a = // explained below
      1
    let b =
      // the answer
      42
    let c = 1
      + // left
      2
    fn f(x: int) -> int = { // block
      let y = x; // copy
      y // result
    }
    "#);
}

#[test]
fn comments_in_record_type_and_if() {
    let input = "type Row = {\n  city: str, // name\n  // in celsius\n  temp: float\n}\nlet a = if c // cond\n  then 1 // one\n  else 2";
    insta::assert_snapshot!(check(input), @r#"
    type Row = {
      city: str, // name
      // in celsius
      temp: float,
    }
    let a =
      if c then // cond
        1 // one
      else
        2
    "#);
}

#[test]
fn crlf_input_gives_lf_output() {
    let input = "// one\r\nlet a = 1 // two\r\n\r\nlet b = \"x\"\r\n";
    let formatted = check(input);
    assert!(!formatted.contains('\r'));
    insta::assert_snapshot!(formatted, @r#"
    // one
    let a = 1 // two

    let b = "x"
    "#);
}

// ----- random programs -----------------------------------------------------------

/// A generated expression: its tokens, and how it binds. Tokens are joined
/// later with random whitespace and comments in between.
#[derive(Clone, Debug)]
struct GenExpr {
    tokens: Vec<String>,
    binding: Binding,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Binding {
    /// A literal, name, call, bracketed form: safe anywhere.
    Atom,
    /// A unary or binary operation.
    Operator,
    /// A lambda or `if`, which extends as far right as it can.
    Greedy,
}

fn atom(tokens: Vec<String>) -> GenExpr {
    GenExpr {
        tokens,
        binding: Binding::Atom,
    }
}

fn paren(e: GenExpr) -> GenExpr {
    let mut tokens = vec!["(".to_string()];
    tokens.extend(e.tokens);
    tokens.push(")".to_string());
    atom(tokens)
}

fn comma_list(open: &str, elements: Vec<GenExpr>, close: &str) -> Vec<String> {
    let mut tokens = vec![open.to_string()];
    for (index, element) in elements.into_iter().enumerate() {
        if index > 0 {
            tokens.push(",".to_string());
        }
        tokens.extend(element.tokens);
    }
    tokens.push(close.to_string());
    tokens
}

fn gen_expr() -> impl Strategy<Value = GenExpr> {
    let leaf = prop_oneof![
        prop::sample::select(vec![
            "x", "y", "top_n", "1", "42", "1_000", "0xff", "3.25", "2.5e3", "1e-9", "\"s\\n\"",
            "\"a b\"", "true", "false", "4 MiB", "512KB",
        ])
        .prop_map(|s| atom(vec![s.to_string()])),
    ];
    leaf.prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec![
                    "+", "-", "*", "/", "%", "==", "!=", "<", ">=", "and", "or", "|>",
                ]),
                inner.clone(),
                any::<(bool, bool)>()
            )
                .prop_map(|(lhs, op, rhs, (wrap_lhs, wrap_rhs))| {
                    let lhs = match lhs.binding {
                        Binding::Greedy => paren(lhs),
                        Binding::Operator if wrap_lhs => paren(lhs),
                        _ => lhs,
                    };
                    let rhs = match rhs.binding {
                        Binding::Greedy => paren(rhs),
                        Binding::Operator if wrap_rhs => paren(rhs),
                        _ => rhs,
                    };
                    let mut tokens = lhs.tokens;
                    tokens.push(op.to_string());
                    tokens.extend(rhs.tokens);
                    GenExpr {
                        tokens,
                        binding: Binding::Operator,
                    }
                }),
            (prop::sample::select(vec!["-", "not"]), inner.clone()).prop_map(|(op, operand)| {
                let operand = if operand.binding == Binding::Atom {
                    operand
                } else {
                    paren(operand)
                };
                let mut tokens = vec![op.to_string()];
                tokens.extend(operand.tokens);
                GenExpr {
                    tokens,
                    binding: Binding::Operator,
                }
            }),
            (
                prop::sample::select(vec!["f", "count_by", "top"]),
                prop::collection::vec(inner.clone(), 0..4),
                prop::option::of(inner.clone())
            )
                .prop_map(|(callee, args, named)| {
                    let mut tokens = comma_list(&format!("{callee}("), args.clone(), ")");
                    if let Some(named) = named {
                        tokens.pop();
                        if !args.is_empty() {
                            tokens.push(",".to_string());
                        }
                        tokens.push("by:".to_string());
                        tokens.extend(named.tokens);
                        tokens.push(")".to_string());
                    }
                    atom(tokens)
                }),
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|elements| atom(comma_list("[", elements, "]"))),
            prop::collection::vec(inner.clone(), 2..4)
                .prop_map(|elements| atom(comma_list("(", elements, ")"))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| {
                let mut tokens = vec!["Row".to_string(), "{".to_string(), "a:".to_string()];
                tokens.extend(a.tokens);
                tokens.push(",".to_string());
                tokens.push("b:".to_string());
                tokens.extend(b.tokens);
                tokens.push("}".to_string());
                atom(tokens)
            }),
            (
                inner.clone(),
                prop::sample::select(vec![".name", ".0", ".1"])
            )
                .prop_map(|(base, access)| {
                    let mut base = if base.binding == Binding::Atom {
                        base
                    } else {
                        paren(base)
                    };
                    if let Some(last) = base.tokens.last_mut() {
                        last.push_str(access);
                    }
                    base
                }),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, a, b)| {
                let mut tokens = vec!["if".to_string()];
                tokens.extend(c.tokens);
                tokens.push("then".to_string());
                tokens.extend(a.tokens);
                tokens.push("else".to_string());
                tokens.extend(b.tokens);
                GenExpr {
                    tokens,
                    binding: Binding::Greedy,
                }
            }),
            (any::<bool>(), inner.clone()).prop_map(|(two, body)| {
                let mut tokens = if two {
                    vec!["(a, b)".to_string()]
                } else {
                    vec!["p".to_string()]
                };
                tokens.push("=>".to_string());
                tokens.extend(body.tokens);
                GenExpr {
                    tokens,
                    binding: Binding::Greedy,
                }
            }),
            (inner.clone(), inner.clone()).prop_map(|(value, result)| {
                let mut tokens = vec!["{".to_string(), "let".to_string(), "v".to_string()];
                tokens.push("=".to_string());
                tokens.extend(value.tokens);
                tokens.push(";".to_string());
                tokens.extend(result.tokens);
                tokens.push("}".to_string());
                atom(tokens)
            }),
        ]
    })
}

/// One top-level item as tokens.
fn gen_item() -> impl Strategy<Value = Vec<String>> {
    let words = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
    prop_oneof![
        gen_expr().prop_map(move |e| {
            let mut tokens = words("let v =");
            tokens.extend(e.tokens);
            tokens
        }),
        gen_expr().prop_map(move |e| {
            let mut tokens = words("output o =");
            tokens.extend(e.tokens);
            tokens
        }),
        gen_expr().prop_map(move |e| {
            let mut tokens = words("output o =");
            tokens.extend(e.tokens);
            tokens.extend(words("to \"out/o.csv\""));
            tokens
        }),
        gen_expr().prop_map(move |e| {
            let mut tokens = words("fn g ( a: int , b: [str] ) -> int =");
            tokens.extend(e.tokens);
            tokens
        }),
        gen_expr().prop_map(move |e| {
            let mut tokens = words("param p: int =");
            tokens.extend(e.tokens);
            tokens
        }),
        Just(words("type Row = { a: int , b: (str, float) }")),
        Just(words("input rows: Row = csv(\"data/*.csv\")")),
        Just(words("import \"lib/x.flow\"")),
        Just(words("extern fn score ( s: str ) -> float from \"s.wasm\"")),
        (gen_expr(), gen_expr()).prop_map(move |(a, b)| {
            // The unit of a size must stay on the number's line, so `4 MiB`
            // is one token.
            let mut tokens = words("policy { split =");
            tokens.push("4 MiB".to_string());
            tokens.extend(words("fanout ="));
            tokens.extend(a.tokens);
            tokens.extend(words("delegate when"));
            tokens.extend(b.tokens);
            tokens.push("}".to_string());
            tokens
        }),
    ]
}

/// What goes between two tokens: mostly a space, sometimes a newline or a
/// comment at the end of the line or on a line of its own.
const SEPARATORS: &[&str] = &[
    " ",
    " ",
    " ",
    " ",
    " ",
    " ",
    "\n  ",
    " // c\n",
    "\n  // own line\n  ",
];

/// What goes before an item: a newline, a blank line, comments, doc comments.
const ITEM_SEPARATORS: &[&str] = &[
    "\n",
    "\n",
    "\n\n",
    "\n\n\n",
    " // trailing\n",
    "\n// leading\n",
    "\n\n// section\n\n",
    "\n/// doc\n",
];

fn gen_program() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::collection::vec(
            (
                gen_item(),
                prop::sample::select(ITEM_SEPARATORS),
                prop::collection::vec(prop::sample::select(SEPARATORS), 64),
            ),
            1..5,
        ),
        prop::sample::select(vec!["", "\n", " // end\n", "\n\n// the end\n"]),
    )
        .prop_map(|(file_doc, items, ending)| {
            let mut program = String::new();
            if file_doc {
                program.push_str("//! File doc.\n");
            }
            for (index, (tokens, before, separators)) in items.into_iter().enumerate() {
                if index > 0 {
                    program.push_str(before);
                }
                for (i, token) in tokens.iter().enumerate() {
                    if i > 0 {
                        program.push_str(separators.get(i % separators.len()).unwrap_or(&" "));
                    }
                    program.push_str(token);
                }
            }
            program.push_str(ending);
            program
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_format_idempotently_and_keep_their_tree(program in gen_program()) {
        let result = parse(FileId(0), &program);
        // The generator can write chained comparisons, which do not parse.
        prop_assume!(result.diagnostics.is_empty());
        let formatted = check(&program);
        prop_assert_eq!(
            formatted.matches("//").count(),
            program.matches("//").count(),
            "a comment was lost"
        );
    }
}

/// Every example program of the repository formats idempotently, keeps its
/// tree and every comment.
#[test]
fn repository_examples_format_cleanly() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut checked = 0;
    let mut folders = vec![examples];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "flow") {
                let text = std::fs::read_to_string(&path).expect("an example is UTF-8 text");
                let formatted = check(&text);
                assert_eq!(
                    formatted.matches("//").count(),
                    text.matches("//").count(),
                    "a comment was lost in {}",
                    path.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "no example found");
}

#[test]
fn one_tuple_type_keeps_its_comma() {
    let input = "fn f(p: (int,)) -> (int,) = p";
    insta::assert_snapshot!(check(input), @"fn f(p: (int,)) -> (int,) = p");
}

#[test]
fn long_operator_chains_format_within_the_stack() {
    // Up to the tree-depth limit, on a test thread's small stack: the parser
    // and the formatter recurse once per operator of a chain, so this is the
    // deepest tree they can be given. (The JSON comparison of `check` is left
    // out: serde's derived serialiser needs more stack per level than a test
    // thread has for a tree this deep in a debug build.)
    let depth = flow_lang::parser::MAX_TREE_DEPTH;
    for (input, operator) in [
        (format!("let total = 1{}\n", " + 1".repeat(depth)), "+"),
        (
            format!("let words = lines{}\n", " |> trim".repeat(depth)),
            "|>",
        ),
    ] {
        let module = parse_clean(&input);
        let formatted = format(&module, &input);
        assert_eq!(formatted.matches(operator).count(), depth);
        let again = format(&parse_clean(&formatted), &formatted);
        assert_eq!(again, formatted);
    }
}
