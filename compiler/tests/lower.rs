//! Lowering snapshots: small programs in the compact text form of the IR
//! (`impl Display for JobIr`).

mod common;

use flow_compiler::lower::lower;

fn ir_text(source: &str) -> String {
    let analysis = common::analyze_files(&[("job.flow", source)]);
    assert!(!analysis.has_errors(), "{}", common::render(&analysis));
    let root = analysis.program.jobs[0].root;
    let lowered = lower(&analysis, root).expect("the job lowers");
    lowered.ir.to_string()
}

#[test]
fn pipes_named_arguments_and_function_names() {
    insta::assert_snapshot!(ir_text(
        r#"
param top_n: int = 3
input corpus = lines("a.txt")
fn tokens(line: str) -> [str] = line |> lower |> words
let counts = corpus |> flat_map(tokens) |> count_by(w => w)
output top_words = counts |> top(top_n, by: p => p.1)
output longest = corpus |> map(len) |> max()
"#
    ));
}

#[test]
fn tail_calls_blocks_and_checked_arithmetic() {
    insta::assert_snapshot!(ir_text(
        r#"
fn steps(n: int, acc: int) -> int =
  if n == 1 then acc else { let next = if n % 2 == 0 then n / 2 else 3 * n + 1; steps(next, acc + 1) }
fn not_tail(n: int) -> int = if n <= 0 then 0 else 1 + not_tail(n - 1)
input xs = range(1, 10)
output total = xs |> map(n => steps(n, 0) + not_tail(2)) |> sum()
"#
    ));
}

#[test]
fn phases_read_values_from_ctx() {
    insta::assert_snapshot!(ir_text(
        r#"
type Row = { city: str, temp: float }
param k: float = 2.0
input rows: Row = csv("a.csv")
let mu = rows |> map(r => r.temp) |> mean()
let n = rows |> count()
output far = rows |> filter(r => abs(r.temp - mu) > k) |> map(r => Row { temp: r.temp, city: upper(r.city) }) |> collect()
output share = float(rows |> filter(r => r.temp > mu) |> count()) / float(n)
"#
    ));
}
