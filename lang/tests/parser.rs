//! Parser tests: every construct of LANGUAGE.md, precedence and
//! associativity, docs and comments, every syntax error code, and recovery.
//! The helpers in `parser_support` render trees as S-expressions.

mod parser_support;

use flow_lang::ast::{BinaryOp, ExprKind, ItemKind};
use flow_lang::{FileId, Span, parse};
use parser_support::{diagnostics, expr, render};

const EXAMPLE: &str = r#"//! Word frequencies over a text corpus.

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

/// 10,000 nested parentheses around a name.
fn nested() -> String {
    format!("let x = {}a{}\n", "(".repeat(10_000), ")".repeat(10_000))
}

fn text_of(source: &str, span: Span) -> &str {
    &source[span.range()]
}

#[test]
fn spans_of_items_names_and_expressions() {
    let source = "/// doc\nlet total: int = a + f(b, by: c.0)   // trailing\n\nparam p\n";
    let result = parse(FileId(0), source);
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
    let [first, second] = result.module.items.as_slice() else {
        panic!("two items expected");
    };
    assert_eq!(
        text_of(source, first.span),
        "let total: int = a + f(b, by: c.0)"
    );
    assert_eq!(text_of(source, second.span), "param p");
    let ItemKind::Let(decl) = &first.kind else {
        panic!("a let expected");
    };
    assert_eq!(text_of(source, decl.name.span), "total");
    assert_eq!(
        text_of(source, decl.ty.as_ref().map(|t| t.span).unwrap_or_default()),
        "int"
    );
    assert_eq!(text_of(source, decl.value.span), "a + f(b, by: c.0)");
    let ExprKind::Binary { op_span, rhs, .. } = &decl.value.kind else {
        panic!("a binary expression expected");
    };
    assert_eq!(text_of(source, *op_span), "+");
    assert_eq!(text_of(source, rhs.span), "f(b, by: c.0)");
    let ExprKind::Call { args, .. } = &rhs.kind else {
        panic!("a call expected");
    };
    let named = &args[1];
    assert_eq!(
        text_of(
            source,
            named.name.as_ref().map(|n| n.span).unwrap_or_default()
        ),
        "by"
    );
    assert_eq!(text_of(source, named.value.span), "c.0");
    let ExprKind::TupleIndex { index_span, .. } = &named.value.kind else {
        panic!("a tuple index expected");
    };
    assert_eq!(text_of(source, *index_span), "0");

    let source = "let x = t.0.1";
    let result = parse(FileId(0), source);
    let ItemKind::Let(decl) = &result.module.items[0].kind else {
        panic!("a let expected");
    };
    let ExprKind::TupleIndex {
        base, index_span, ..
    } = &decl.value.kind
    else {
        panic!("a tuple index expected");
    };
    assert_eq!(text_of(source, *index_span), "1");
    assert_eq!(text_of(source, base.span), "t.0");
    assert_eq!(text_of(source, decl.value.span), "t.0.1");
}

#[test]
fn spans_of_params_lambdas_and_literals() {
    let source = "output o = xs |> map((x: int, y) => -4 MiB) to \"o.csv\"";
    let result = parse(FileId(0), source);
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
    let ItemKind::Output(decl) = &result.module.items[0].kind else {
        panic!("an output expected");
    };
    assert_eq!(
        text_of(source, decl.to.as_ref().map(|t| t.span).unwrap_or_default()),
        "\"o.csv\""
    );
    let ExprKind::Binary { rhs, .. } = &decl.value.kind else {
        panic!("a pipe expected");
    };
    let ExprKind::Call { args, .. } = &rhs.kind else {
        panic!("a call expected");
    };
    let lambda = &args[0].value;
    assert_eq!(text_of(source, lambda.span), "(x: int, y) => -4 MiB");
    let ExprKind::Lambda { params, body } = &lambda.kind else {
        panic!("a lambda expected");
    };
    assert_eq!(text_of(source, params[0].span), "x: int");
    assert_eq!(text_of(source, params[1].span), "y");
    assert_eq!(text_of(source, body.span), "-4 MiB");
    let ExprKind::Unary { operand, .. } = &body.kind else {
        panic!("a negation expected");
    };
    assert_eq!(text_of(source, operand.span), "4 MiB");
}

#[test]
fn every_comment_is_listed_in_order_with_exact_spans() {
    let source = "//! file\r\n// line\n/// item\nlet a = [1, // inside\n  2] ////four\n// end";
    let result = parse(FileId(0), source);
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
    let listed: Vec<String> = result
        .module
        .comments
        .iter()
        .map(|c| format!("{:?} {:?} {:?}", c.kind, c.text, text_of(source, c.span)))
        .collect();
    insta::assert_snapshot!(listed.join("\n"), @r#"
    FileDoc " file" "//! file"
    Line " line" "// line"
    ItemDoc " item" "/// item"
    Line " inside" "// inside"
    Line "//four" "////four"
    Line " end" "// end"
    "#);
    assert_eq!(result.module.docs.as_deref(), Some("file"));
    assert_eq!(result.module.items[0].docs.as_deref(), Some("item"));
}

#[test]
fn comment_markers_inside_strings_are_text() {
    insta::assert_snapshot!(render("let url = \"http://example.com\" // real\n"), @r#"let url = "http://example.com""#);
    assert_eq!(
        parse(FileId(0), "let url = \"a//b\"").module.comments.len(),
        0
    );
}

#[test]
fn crlf_line_endings() {
    let source = "param n: int = 1\r\n/// doc\r\nlet x = n\r\n  |> f\r\n";
    let result = parse(FileId(0), source);
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
    assert_eq!(result.module.items.len(), 2);
    assert_eq!(result.module.items[1].docs.as_deref(), Some("doc"));
    assert_eq!(
        text_of(source, result.module.items[1].span),
        "let x = n\r\n  |> f"
    );
}

#[test]
fn large_file_parses_quickly_and_completely() {
    let mut source = String::new();
    for i in 0..1_000 {
        source.push_str(&format!(
            "/// Stage {i}.\nlet s{i} = corpus\n  |> map(x => x + {i})\n  |> filter(p => p.1 > 0 and p.0 != \"\")\nfn f{i}(a: int, b: [str]) -> int = if a > 0 then a * 2 else {{ let y = a; y - 1 }}\n"
        ));
    }
    assert_eq!(source.lines().count(), 5_000);
    let started = std::time::Instant::now();
    let result = parse(FileId(0), &source);
    let elapsed = started.elapsed();
    assert!(
        result.diagnostics.is_empty(),
        "{:?}",
        result.diagnostics.first()
    );
    assert_eq!(result.module.items.len(), 2_000);
    // Generous even for an unoptimised build on a slow machine; the release
    // build takes a few milliseconds.
    assert!(elapsed.as_secs() < 5, "took {elapsed:?}");
}

#[test]
fn arbitrary_bytes_and_edge_inputs_do_not_panic() {
    for input in [
        "\u{FEFF}let a = 1",
        "\"",
        "\"\\",
        "\"\\u{",
        "\"\\u{12",
        "let x = \"\\é\"",
        "0x",
        "1e+",
        "let",
        "fn",
        "fn (",
        "policy {",
        "}}}}",
        ")))",
        "let x = t.99999999999",
        "let x = -",
        "é",
        "\0\0",
        "let x = 1 MiB MiB",
    ] {
        let result = parse(FileId(0), input);
        parser_support::assert_spans_inside(&result, input);
    }
}

#[test]
fn deep_but_allowed_nesting_of_every_kind_parses() {
    let depth = 95;
    let inputs = [
        format!("let x = {}1{}", "{ ".repeat(depth), " }".repeat(depth)),
        format!("let x = {}1", "if a then b else ".repeat(depth)),
        format!(
            "let x = {}1",
            "if ".repeat(depth / 2) + &"c then 1 else 2 ".repeat(0)
        ),
        format!("let x: {}int{} = 1", "[".repeat(depth), "]".repeat(depth)),
        format!(
            "let x: {}int{} = 1",
            "stream<".repeat(depth / 2),
            ">".repeat(depth / 2)
        ),
        format!("let x = {}1", "not -".repeat(depth / 2)),
        format!("let x = {}a{}", "f(".repeat(depth), ")".repeat(depth)),
        format!("let x = {}1{}", "R { a: ".repeat(depth), " }".repeat(depth)),
    ];
    for input in &inputs {
        let result = parse(FileId(0), input);
        parser_support::assert_spans_inside(&result, input);
        // Nothing here is too deep, so only ordinary syntax errors (the
        // unfinished `if`s) may be reported.
        assert!(
            result.diagnostics.iter().all(|d| d.code != "E0007"),
            "{input}"
        );
    }
}

#[test]
fn example_program() {
    insta::assert_snapshot!(render(EXAMPLE), @r#"file docs: "Word frequencies over a text corpus."
param top_n: int = 100
input corpus = (call lines "data/*.txt")
docs: "Lower-cased words of one line."
fn tokens(line: str) -> [str] = (|> (|> line lower) words)
let counts = (|> (|> corpus (call flat_map tokens)) (call count_by (lambda (w) w)))
output top_words = (|> counts (call top top_n (by: (lambda (p) (. p 1)))))
policy { split = (size 4194304 MiB); fanout = 8; depth = 3; delegate when (> work (size 33554432 MiB)) }"#);
}

#[test]
fn every_item() {
    insta::assert_snapshot!(render(r#"import "lib/text_utils.flow"
type Row = { city: str, temp: float }
param threshold: float = 0.5
param name: str
param limit = 10
input rows: Row = csv("data/*.csv")
fn hot(r: Row) -> bool = r.temp > threshold
extern fn score(s: str) -> float from "tools/score.wasm"
let hot_rows = rows |> filter(hot)
output n_hot = hot_rows |> count()
output hot_list = hot_rows |> collect() to "out/hot.csv"
let typed: int = 3
"#), @r#"import "lib/text_utils.flow"
type Row = { city: str, temp: float }
param threshold: float = 0.5
param name: str
param limit = 10
input rows: Row = (call csv "data/*.csv")
fn hot(r: Row) -> bool = (> (. r temp) threshold)
extern fn score(s: str) -> float from "tools/score.wasm"
let hot_rows = (|> rows (call filter hot))
output n_hot = (|> hot_rows (call count))
output hot_list = (|> hot_rows (call collect)) to "out/hot.csv"
let typed: int = 3"#);
}

#[test]
fn trailing_commas() {
    insta::assert_snapshot!(render(r#"type P = { a: int, b: str, }
fn f(a: int, b: int,) -> (int, int,) = (a, b,)
let xs = [1, 2,]
let r = P { a: 1, b: "x", }
let c = f(1, 2,)
"#), @r#"type P = { a: int, b: str }
fn f(a: int, b: int) -> (int, int) = (tuple a b)
let xs = (list 1 2)
let r = (record P (a: 1) (b: "x"))
let c = (call f 1 2)"#);
}

#[test]
fn full_policy() {
    insta::assert_snapshot!(render(r#"policy {
  split     = 4 MiB        // chunk size
  fanout    = 8
  depth     = 3
  delegate when work > 32 MiB and peers > 0
  select    = capacity
  retries   = 2
  timeout   = 60s
  replicate = 1
}
"#), @r#"policy { split = (size 4194304 MiB); fanout = 8; depth = 3; delegate when (and (> work (size 33554432 MiB)) (> peers 0)); select = capacity; retries = 2; timeout = (duration 60000 s); replicate = 1 }"#);
}

#[test]
fn empty_policy_and_record_type() {
    insta::assert_snapshot!(render(r#"policy {}
type Empty = {}
"#), @r#"policy {  }
type Empty = {  }"#);
}

#[test]
fn stdlib_only_syntax() {
    insta::assert_snapshot!(render(r#"fn map<T, U>(xs: [T], f: fn(T) -> U) -> [U]
fn sum<N: Num>(xs: stream<N>) -> N
fn lower(s: str) -> str
fn apply(f: fn() -> int, g: fn(int, str,) -> (int, str)) -> int = f()
"#), @r#"fn map<T, U>(xs: [T], f: fn(T) -> U) -> [U]
fn sum<N: Num>(xs: stream<N>) -> N
fn lower(s: str) -> str
fn apply(f: fn() -> int, g: fn(int, str) -> (int, str)) -> int = (call f)"#);
}

#[test]
fn types() {
    insta::assert_snapshot!(render(r#"let a: [[int]] = x
let b: (int, [str], (bool, float)) = x
let c: () = x
let d: (int) = x
let e: (int,) = x
let f: stream<(str, int)> = x
let g: Map<str, [int],> = x
let h: fn([int]) -> fn(int) -> bool = x
"#), @r#"let a: [[int]] = x
let b: (int, [str], (bool, float)) = x
let c: () = x
let d: int = x
let e: (int,) = x
let f: stream<(str, int)> = x
let g: Map<str, [int]> = x
let h: fn([int]) -> fn(int) -> bool = x"#);
}

#[test]
fn empty_file() {
    insta::assert_snapshot!(render(r#""#), @r#""#);
}

#[test]
fn only_comments() {
    insta::assert_snapshot!(render(r#"// one
/// two
//! three
"#), @r#"file docs: "three""#);
}

#[test]
fn precedence_mul_add() {
    insta::assert_snapshot!(expr(r#"1 + 2 * 3 - 4 / 5 % 6"#), @r#"(- (+ 1 (* 2 3)) (% (/ 4 5) 6))"#);
}

#[test]
fn left_associative() {
    insta::assert_snapshot!(expr(r#"a - b - c"#), @r#"(- (- a b) c)"#);
}

#[test]
fn left_associative_mul() {
    insta::assert_snapshot!(expr(r#"a / b * c"#), @r#"(* (/ a b) c)"#);
}

#[test]
fn comparison_below_additive() {
    insta::assert_snapshot!(expr(r#"a + 1 < b * 2"#), @r#"(< (+ a 1) (* b 2))"#);
}

#[test]
fn and_binds_tighter_than_or() {
    insta::assert_snapshot!(expr(r#"a or b and c or d"#), @r#"(or (or a (and b c)) d)"#);
}

#[test]
fn logical_below_comparison() {
    insta::assert_snapshot!(expr(r#"a == b and c != d or e >= f and g <= h"#), @r#"(or (and (== a b) (!= c d)) (and (>= e f) (<= g h)))"#);
}

#[test]
fn pipe_is_lowest() {
    insta::assert_snapshot!(expr(r#"xs |> map(f) |> sum() + 1 |> g"#), @r#"(|> (|> (|> xs (call map f)) (+ (call sum) 1)) g)"#);
}

#[test]
fn pipe_after_or() {
    insta::assert_snapshot!(expr(r#"a or b |> f"#), @r#"(|> (or a b) f)"#);
}

#[test]
fn unary_binds_tighter_than_binary() {
    insta::assert_snapshot!(expr(r#"-a * -b + not c"#), @r#"(+ (* (- a) (- b)) (not c))"#);
}

#[test]
fn postfix_binds_tighter_than_unary() {
    insta::assert_snapshot!(expr(r#"-r.temp.x"#), @r#"(- (. (. r temp) x))"#);
}

#[test]
fn not_not() {
    insta::assert_snapshot!(expr(r#"not not a == b"#), @r#"(== (not (not a)) b)"#);
}

#[test]
fn minus_minus() {
    insta::assert_snapshot!(expr(r#"- -1"#), @r#"(- (- 1))"#);
}

#[test]
fn calls_and_named_args() {
    insta::assert_snapshot!(expr(r#"top(10, by: p => p.1)(x)(y, z: 1)"#), @r#"(call (call (call top 10 (by: (lambda (p) (. p 1)))) x) y (z: 1))"#);
}

#[test]
fn call_no_args() {
    insta::assert_snapshot!(expr(r#"count()"#), @r#"(call count)"#);
}

#[test]
fn field_access() {
    insta::assert_snapshot!(expr(r#"r.city.name"#), @r#"(. (. r city) name)"#);
}

#[test]
fn tuple_index_chain() {
    insta::assert_snapshot!(expr(r#"t.0.1"#), @r#"(. (. t 0) 1)"#);
}

#[test]
fn tuple_index_then_field() {
    insta::assert_snapshot!(expr(r#"t.1.name.0"#), @r#"(. (. (. t 1) name) 0)"#);
}

#[test]
fn tuple_index_spaced() {
    insta::assert_snapshot!(expr(r#"t . 0 . 2"#), @r#"(. (. t 0) 2)"#);
}

#[test]
fn lambda_single() {
    insta::assert_snapshot!(expr(r#"x => x + 1"#), @r#"(lambda (x) (+ x 1))"#);
}

#[test]
fn lambda_many() {
    insta::assert_snapshot!(expr(r#"(a, b) => a + b"#), @r#"(lambda (a, b) (+ a b))"#);
}

#[test]
fn lambda_typed() {
    insta::assert_snapshot!(expr(r#"(x: int, ys: [str]) => x"#), @r#"(lambda (x: int, ys: [str]) x)"#);
}

#[test]
fn lambda_no_params() {
    insta::assert_snapshot!(expr(r#"() => 1"#), @r#"(lambda () 1)"#);
}

#[test]
fn lambda_nested() {
    insta::assert_snapshot!(expr(r#"x => y => x + y"#), @r#"(lambda (x) (lambda (y) (+ x y)))"#);
}

#[test]
fn lambda_body_takes_pipe() {
    insta::assert_snapshot!(expr(r#"xs |> map(x => x |> f)"#), @r#"(|> xs (call map (lambda (x) (|> x f))))"#);
}

#[test]
fn tuples() {
    insta::assert_snapshot!(expr(r#"(1, "a", (2, 3))"#), @r#"(tuple 1 "a" (tuple 2 3))"#);
}

#[test]
fn one_tuple() {
    insta::assert_snapshot!(expr(r#"(1,)"#), @r#"(tuple 1)"#);
}

#[test]
fn empty_tuple() {
    insta::assert_snapshot!(expr(r#"()"#), @r#"(tuple)"#);
}

#[test]
fn paren() {
    insta::assert_snapshot!(expr(r#"((1 + 2)) * 3"#), @r#"(* (paren (paren (+ 1 2))) 3)"#);
}

#[test]
fn lists() {
    insta::assert_snapshot!(expr(r#"[[], [1], [1, 2]]"#), @r#"(list (list) (list 1) (list 1 2))"#);
}

#[test]
fn record_literal() {
    insta::assert_snapshot!(expr(r#"Row { city: "Oslo", temp: 1.5 }"#), @r#"(record Row (city: "Oslo") (temp: 1.5))"#);
}

#[test]
fn record_empty() {
    insta::assert_snapshot!(expr(r#"Unit {}"#), @r#"(record Unit)"#);
}

#[test]
fn if_then_else() {
    insta::assert_snapshot!(expr(r#"if a < b then a else b"#), @r#"(if (< a b) a b)"#);
}

#[test]
fn if_else_extends_right() {
    insta::assert_snapshot!(expr(r#"if c then 1 else 2 + 3 |> f"#), @r#"(if c 1 (|> (+ 2 3) f))"#);
}

#[test]
fn else_if_chain() {
    insta::assert_snapshot!(expr(r#"if a then 1 else if b then 2 else 3"#), @r#"(if a 1 (if b 2 3))"#);
}

#[test]
fn if_in_operand() {
    insta::assert_snapshot!(expr(r#"1 + (if c then 2 else 3)"#), @r#"(+ 1 (paren (if c 2 3)))"#);
}

#[test]
fn block() {
    insta::assert_snapshot!(expr(r#"{ let x = 1; let y: int = x * 2; x + y }"#), @r#"(block (let x 1) (let y: int (* x 2)) (+ x y))"#);
}

#[test]
fn block_no_lets() {
    insta::assert_snapshot!(expr(r#"{ 42 }"#), @r#"(block 42)"#);
}

#[test]
fn block_nested() {
    insta::assert_snapshot!(expr(r#"{ let f = x => { let y = x; y }; f(1) }"#), @r#"(block (let f (lambda (x) (block (let y x) y))) (call f 1))"#);
}

#[test]
fn bools_and_names() {
    insta::assert_snapshot!(expr(r#"true and false or letter"#), @r#"(or (and true false) letter)"#);
}

#[test]
fn keywords_prefix_names() {
    insta::assert_snapshot!(expr(r#"[lets, iff, notx, ora, android, fnord, type_]"#), @r#"(list lets iff notx ora android fnord type_)"#);
}

#[test]
fn integers() {
    insta::assert_snapshot!(expr(r#"[42, 1_000_000, 0xff, 0XFF, 0x_7fff_ffff_ffff_ffff, 9223372036854775807]"#), @r#"(list 42 1000000 255 255 9223372036854775807 9223372036854775807)"#);
}

#[test]
fn floats() {
    insta::assert_snapshot!(expr(r#"[3.25, 1e-9, 2.5e3, 2_000_000.0, 1E+2, 0.5]"#), @r#"(list 3.25 1e-9 2500.0 2000000.0 100.0 0.5)"#);
}

#[test]
fn int_min() {
    insta::assert_snapshot!(expr(r#"-9223372036854775808"#), @r#"-9223372036854775808"#);
}

#[test]
fn int_min_hex() {
    insta::assert_snapshot!(expr(r#"-0x8000000000000000"#), @r#"-9223372036854775808"#);
}

#[test]
fn negative_literal_stays_unary() {
    insta::assert_snapshot!(expr(r#"-5"#), @r#"(- 5)"#);
}

#[test]
fn int_min_with_postfix_is_out_of_range() {
    insta::assert_snapshot!(expr(r#"-9223372036854775808.abs"#), @r#"(- (. <error> abs))
E0003 9..28 "9223372036854775808": integer literal out of range [does not fit in a 64-bit `int`] help: the largest `int` is 9223372036854775807; for larger numbers use a float such as `9223372036854775808.0`"#);
}

#[test]
fn strings() {
    insta::assert_snapshot!(expr(r#"["plain", "tab\tnew\nline\rcr", "quote \" backslash \\", "\u{1F600}\u{e9}", ""]"#), @r#"(list "plain" "tab\tnew\nline\rcr" "quote \" backslash \\" "😀é" "")"#);
}

#[test]
fn utf8_string() {
    insta::assert_snapshot!(expr(r#""héllo wörld ✓""#), @r#""héllo wörld ✓""#);
}

#[test]
fn sizes() {
    insta::assert_snapshot!(expr(r#"[4 MiB, 512KB, 1B, 2 GiB, 3	KiB, 10 MB, 1 GB, 0x10 B]"#), @r#"(list (size 4194304 MiB) (size 512000 KB) (size 1 B) (size 2147483648 GiB) (size 3072 KiB) (size 10000000 MB) (size 1000000000 GB) (size 16 B))"#);
}

#[test]
fn durations() {
    insta::assert_snapshot!(expr(r#"[250ms, 30s, 5m, 2h]"#), @r#"(list (duration 250 ms) (duration 30000 s) (duration 300000 m) (duration 7200000 h))"#);
}

#[test]
fn size_then_operator() {
    insta::assert_snapshot!(expr(r#"work > 32 MiB and peers > 0"#), @r#"(and (> work (size 33554432 MiB)) (> peers 0))"#);
}

#[test]
fn docs_attach() {
    insta::assert_snapshot!(render(r#"//! File doc line one.
//!   indented second line
// not a doc

/// Doc of a.
///Second line without space.
///   kept indentation
let a = 1

/// Doc separated by a comment is lost.
// plain
let b = 2
let c = 3 // trailing
/// Dangling doc at the end.
"#), @r#"file docs: "File doc line one.\n  indented second line"
docs: "Doc of a.\nSecond line without space.\n  kept indentation"
let a = 1
let b = 2
let c = 3"#);
}

#[test]
fn error_unexpected_token() {
    insta::assert_snapshot!(diagnostics(r#"let x = f(a = 1)
"#), @r#"E0001 12..13 "=": expected one of `,`, `)`, found `=` [expected one of `,`, `)`] help: named arguments are written `name: value`"#);
}

#[test]
fn error_missing_expression() {
    insta::assert_snapshot!(diagnostics(r#"let x =
"#), @r#"E0001 6..7 "=": expected an expression, found end of file [expected an expression after this]"#);
}

#[test]
fn error_missing_expression_before_next_item() {
    insta::assert_snapshot!(diagnostics(r#"let x =
let y = 2
"#), @r#"E0001 6..7 "=": expected an expression, found keyword `let` [expected an expression after this]"#);
}

#[test]
fn error_juxtaposition() {
    insta::assert_snapshot!(diagnostics(r#"let x = 1 2
"#), @r#"E0001 10..11 "2": expected an operator or the end of the item, found number `2` [expected an operator or the end of the item]"#);
}

#[test]
fn error_missing_paren() {
    insta::assert_snapshot!(diagnostics(r#"let x = f(1, 2
let y = 3
"#), @r#"E0001 13..14 "2": expected one of `,`, `)`, found keyword `let` [expected one of `,`, `)` after this]"#);
}

#[test]
fn error_unterminated_string() {
    insta::assert_snapshot!(diagnostics(r#"input x = lines("data.txt)
output y = 1
"#), @r#"E0002 16..26 "\"data.txt)": unterminated string [this string has no closing `"` on its line] help: close the string with `"`; to put a line break in a string, write `\n`"#);
}

#[test]
fn error_unterminated_string_alone() {
    insta::assert_snapshot!(render(r#"import "lib.flow
"#), @r#"import "lib.flow"
E0002 7..16 "\"lib.flow": unterminated string [this string has no closing `"` on its line] help: close the string with `"`; to put a line break in a string, write `\n`"#);
}

#[test]
fn error_integer_out_of_range() {
    insta::assert_snapshot!(diagnostics(r#"let x = 9223372036854775808
let y = 0x1_0000_0000_0000_0000
let z = 99999999999999999999999
"#), @r#"E0003 8..27 "9223372036854775808": integer literal out of range [does not fit in a 64-bit `int`] help: the largest `int` is 9223372036854775807; for larger numbers use a float such as `9223372036854775808.0`
E0003 36..59 "0x1_0000_0000_0000_0000": integer literal out of range [does not fit in a 64-bit `int`]
E0003 68..91 "99999999999999999999999": integer literal out of range [does not fit in a 64-bit `int`]"#);
}

#[test]
fn error_float_out_of_range() {
    insta::assert_snapshot!(diagnostics(r#"let x = 1e999
"#), @r#"E0003 8..13 "1e999": float literal out of range [too large for a 64-bit float]"#);
}

#[test]
fn error_size_out_of_range() {
    insta::assert_snapshot!(diagnostics(r#"let x = 9000000000 GiB
let y = 9000000000000000GB
let z = 9223372036854775807h
"#), @r#"E0003 8..22 "9000000000 GiB": size out of range [more bytes than a 64-bit `int` holds]
E0003 31..49 "9000000000000000GB": size out of range [more bytes than a 64-bit `int` holds]
E0003 58..78 "9223372036854775807h": duration out of range [more milliseconds than a 64-bit `int` holds]"#);
}

#[test]
fn error_invalid_escape() {
    insta::assert_snapshot!(render(r#"let x = "a\qb"
"#), @r#"let x = "a\\qb"
E0004 10..12 "\\q": unknown escape `\q` in a string [not an escape] help: the escapes are \n \t \r \\ \" and \u{…}; write `\\` for a backslash"#);
}

#[test]
fn error_invalid_unicode_escape() {
    insta::assert_snapshot!(diagnostics(r#"let a = "\u{D800}"
let b = "\u{110000}"
let c = "\u1234"
let d = "\u{}"
let e = "\u{1234567}"
"#), @r#"E0008 9..17 "\\u{D800}": invalid Unicode escape: `D800` is not a Unicode scalar value [invalid escape] help: write `\u{1F600}`: hex digits of a code point up to 10FFFF, not a surrogate
E0008 28..38 "\\u{110000}": invalid Unicode escape: `110000` is not a Unicode scalar value [invalid escape] help: write `\u{1F600}`: hex digits of a code point up to 10FFFF, not a surrogate
E0008 49..51 "\\u": invalid Unicode escape: a Unicode escape is written `\u{…}` with one to six hex digits [invalid escape] help: write `\u{1F600}`: hex digits of a code point up to 10FFFF, not a surrogate
E0008 66..68 "\\u": invalid Unicode escape: a Unicode escape is written `\u{…}` with one to six hex digits [invalid escape] help: write `\u{1F600}`: hex digits of a code point up to 10FFFF, not a surrogate
E0008 81..83 "\\u": invalid Unicode escape: a Unicode escape is written `\u{…}` with one to six hex digits [invalid escape] help: write `\u{1F600}`: hex digits of a code point up to 10FFFF, not a surrogate"#);
}

#[test]
fn error_malformed_number() {
    insta::assert_snapshot!(diagnostics(r#"let a = 12abc
let b = 0xfg
let c = 1.5ms
let d = 1e
let e = 2.5 MiB
"#), @r#"E0005 8..13 "12abc": unexpected `abc` after the number `12` [not a size unit (B, KiB, MiB, GiB, KB, MB, GB) or a duration unit (ms, s, m, h)]
E0005 22..26 "0xfg": malformed hexadecimal number `0xfg` [hex digits are 0-9 and a-f]
E0005 35..40 "1.5ms": unexpected `ms` after the number `1.5` [sizes and durations are whole numbers]
E0005 49..51 "1e": unexpected `e` after the number `1` [not a size unit (B, KiB, MiB, GiB, KB, MB, GB) or a duration unit (ms, s, m, h)]
E0005 60..67 "2.5 MiB": a size must be a whole number [sizes are written like `4 MiB` or `512 KB`]"#);
}

#[test]
fn error_chained_comparison() {
    insta::assert_snapshot!(expr(r#"a < b < c"#), @r#"(< (< a b) c)
E0006 14..15 "<": comparison operators cannot be chained: `<` follows `<` [second comparison] help: compare twice and join with `and`: `a < b and b < c`"#);
}

#[test]
fn error_chained_equality() {
    insta::assert_snapshot!(expr(r#"a == b != c + 1"#), @r#"(!= (== a b) (+ c 1))
E0006 15..17 "!=": comparison operators cannot be chained: `!=` follows `==` [second comparison] help: compare twice and join with `and`: `a == b and b != c`"#);
}

#[test]
fn error_nesting_too_deep() {
    insta::assert_snapshot!(diagnostics(&nested()), @r#"E0007 108..109 "(": this item nests too deeply (more than 100 levels) [nesting limit reached here] help: name intermediate results with `let` or split the work into functions"#);
}

#[test]
fn error_nesting_too_deep_without_brackets() {
    insta::assert_snapshot!(diagnostics(&format!("let f = {}0\n", "x => ".repeat(5_000))), @r#"E0007 510..512 "=>": this item nests too deeply (more than 100 levels) [nesting limit reached here] help: name intermediate results with `let` or split the work into functions"#);
}

#[test]
fn nesting_just_below_the_limit_parses() {
    insta::assert_snapshot!(diagnostics(&format!("let x = {}1{}\n", "[(".repeat(48), ")]".repeat(48))), @r#""#);
}

#[test]
fn long_flat_operator_chains_are_not_nesting() {
    // 500 operators in a row are one level of nesting to a reader; only the
    // tree-depth limit (600) applies to them.
    for op in ["+", "*", "|>", "and", "-", "%"] {
        let input = format!("let x = 1{}\n", format!(" {op} 1").repeat(500));
        let result = parse(FileId(0), &input);
        assert!(
            result.diagnostics.is_empty(),
            "{op}: {:?}",
            result.diagnostics
        );
        parser_support::assert_spans_inside(&result, &input);
    }
    // Chains side by side (arguments, list elements) do not add up.
    let argument = format!("1{}", " + 1".repeat(550));
    let input = format!("let x = f({argument}, {argument}, [{argument}, {argument}])\n");
    insta::assert_snapshot!(diagnostics(&input), @"");
}

#[test]
fn a_long_chain_builds_a_left_associative_tree() {
    let input = format!("let x = a{}\n", " + b".repeat(500));
    let result = parse(FileId(0), &input);
    let Some(ItemKind::Let(decl)) = result.module.items.first().map(|i| &i.kind) else {
        panic!("expected a let: {:?}", result.diagnostics);
    };
    // Walking down the left operands visits every operator once.
    let mut depth = 0;
    let mut expr = &decl.value;
    while let ExprKind::Binary { op, lhs, .. } = &expr.kind {
        assert_eq!(*op, BinaryOp::Add);
        depth += 1;
        expr = lhs;
    }
    assert_eq!(depth, 500);
    assert!(matches!(&expr.kind, ExprKind::Name(name) if name.name == "a"));
}

#[test]
fn error_operator_chain_deeper_than_the_tree_limit() {
    insta::assert_snapshot!(diagnostics(&format!("let x = 1{}\n", " + 1".repeat(601))), @r#"E0012 2410..2411 "+": this expression is too long (more than 600 operators in a row, nesting included) [length limit reached here] help: name parts of the expression with `let`, or sum a list with `sum()`"#);
}

#[test]
fn error_operator_chains_inside_nesting_add_up() {
    // Ten levels of 100 operators each: the nesting is only 10, but the
    // tree is 1,010 levels deep, more than the 600 allowed.
    let level = format!("1{}", " + 1".repeat(100));
    let input = format!(
        "let x = {}{level}{}\n",
        format!("({level} + ").repeat(10),
        ")".repeat(10)
    );
    let result = parse(FileId(0), &input);
    let codes: Vec<&str> = result.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["E0012"]);
}

#[test]
fn error_unknown_character() {
    insta::assert_snapshot!(diagnostics(r#"let a = b ! c
let d = e @ f
let g = h && i
"#), @r#"E0009 10..11 "!": unexpected character `!` [not part of any token] help: write `not x` for negation and `!=` for inequality
E0009 24..25 "@": unexpected character `@` [not part of any token] help: remove it, or put it inside a string
E0009 38..39 "&": unexpected character `&` [not part of any token] help: write `and` for logical conjunction"#);
}

#[test]
fn error_keyword_as_name() {
    insta::assert_snapshot!(diagnostics(r#"let let = 1
fn f(type: int) = 1
"#), @r#"E0010 4..7 "let": `let` is a keyword and cannot be used as a name [expected a name] help: choose another name, such as `let_`
E0010 17..21 "type": `type` is a keyword and cannot be used as a name [expected a name or `)`] help: choose another name, such as `type_`"#);
}

#[test]
fn error_junk_before_first_item() {
    insta::assert_snapshot!(render(r#"x = 1
let y = 2
"#), @r#"let y = 2
E0001 0..1 "x": expected an item (`let`, `fn`, `output`, `input`, `param`, …), found identifier `x` [expected an item (`let`, `fn`, `output`, `input`, `param`, …)]"#);
}

#[test]
fn error_semicolon_after_item() {
    insta::assert_snapshot!(diagnostics(r#"let y = 2;
"#), @r#"E0001 9..10 ";": expected an operator or the end of the item, found `;` [expected an operator or the end of the item] help: items are not followed by `;`; remove it"#);
}

#[test]
fn error_missing_else() {
    insta::assert_snapshot!(diagnostics(r#"let y = if a then b
"#), @r#"E0001 18..19 "b": expected `else`, found end of file [expected `else` after this]"#);
}

#[test]
fn recovery_three_mistakes() {
    insta::assert_snapshot!(render(r#"param n: int = 10

let a = (1 +
input rows: Row = csv("x.csv")

fn f(x: int -> int = x
let good = n * 2

output o = good to
output p = a
"#), @r#"param n: int = 10
let a = <error>
input rows: Row = (call csv "x.csv")
let good = (* n 2)
output o = <error>
output p = a
E0001 30..31 "+": expected an expression, found keyword `input` [expected an expression after this]
E0001 76..78 "->": expected one of `,`, `)`, found `->` [expected one of `,`, `)`]
E0001 121..123 "to": expected a string, found keyword `output` [expected a string after this]"#);
}

#[test]
fn recovery_unclosed_block() {
    insta::assert_snapshot!(render(r#"let a = { let x = 1;
output b = 2
let c = 3
"#), @r#"let a = <error>
output b = 2
let c = 3
E0001 19..20 ";": expected `let` or an expression, found keyword `output` [expected `let` or an expression after this]"#);
}

#[test]
fn comment_between_extern_and_fn() {
    insta::assert_snapshot!(render("extern // the scorer\nfn score(s: str) -> float from \"tools/score.wasm\"\n"), @r#"extern fn score(s: str) -> float from "tools/score.wasm""#);
}
