//! The reference interpreter on every example job (with small data written
//! here) and on run-time errors, against values computed by hand.

mod common;

use flow_compiler::interp::{Chunk, InterpError, RunInput, run_job};
use flow_compiler::lower::{Lowered, lower};
use flow_runtime::Value;

/// Lowers a one-file job given by its text.
fn lowered(path: &str, source: &str) -> Lowered {
    let analysis = common::analyze_files(&[(path, source)]);
    assert!(
        !analysis.has_errors(),
        "the job has errors:\n{}",
        common::render(&analysis)
    );
    let root = analysis.program.jobs[0].root;
    lower(&analysis, root).expect("the job lowers")
}

/// Lowers an example job from `examples/<name>/job.flow`.
fn example(name: &str) -> Lowered {
    let path = format!("{}/../examples/{name}/job.flow", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).expect("the example exists");
    lowered(&format!("examples/{name}/job.flow"), &source)
}

fn run(
    lowered: &Lowered,
    chunks: Vec<Vec<Chunk>>,
    params: &[(&str, Value)],
) -> Vec<(String, Value)> {
    let input = RunInput {
        chunks,
        params: RunInput::params(lowered, params).expect("params"),
    };
    run_job(lowered, &input).unwrap_or_else(|e| panic!("the job failed: {e}"))
}

fn run_err(lowered: &Lowered, chunks: Vec<Vec<Chunk>>) -> InterpError {
    let input = RunInput {
        chunks,
        params: RunInput::params(lowered, &[]).expect("params"),
    };
    match run_job(lowered, &input) {
        Ok(outputs) => panic!("the job succeeded: {outputs:?}"),
        Err(error) => error,
    }
}

fn output<'a>(outputs: &'a [(String, Value)], name: &str) -> &'a Value {
    &outputs
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no output `{name}`"))
        .1
}

fn s(text: &str) -> Value {
    Value::str(text)
}

fn pair(a: Value, b: Value) -> Value {
    Value::Tuple(vec![a, b])
}

fn list(items: Vec<Value>) -> Value {
    Value::List(items)
}

#[test]
fn wordcount() {
    let job = example("wordcount");
    let chunks = vec![vec![
        Chunk::text("The cat the dog\nA cat!\n"),
        Chunk::text("dog dog, CAT\n"),
    ]];
    let outputs = run(&job, chunks.clone(), &[]);
    assert_eq!(output(&outputs, "total_words"), &Value::Int(9));
    assert_eq!(
        output(&outputs, "top_words"),
        &list(vec![
            pair(s("cat"), Value::Int(3)),
            pair(s("dog"), Value::Int(3)),
            pair(s("the"), Value::Int(2)),
            pair(s("a"), Value::Int(1)),
        ])
    );
    // Ties in `top` keep the smaller element.
    let outputs = run(&job, chunks, &[("top_n", Value::Int(1))]);
    assert_eq!(
        output(&outputs, "top_words"),
        &list(vec![pair(s("cat"), Value::Int(3))])
    );
}

#[test]
fn outliers_in_three_phases() {
    let job = example("outliers");
    let chunks = vec![vec![
        Chunk::text("2\n4\n\n4\n4\n"),
        Chunk::text(" 5\n5\n7\n9\n"),
    ]];
    let outputs = run(&job, chunks, &[("k", Value::Float(1.5))]);
    assert_eq!(output(&outputs, "mean_value"), &Value::Float(5.0));
    assert_eq!(output(&outputs, "stddev"), &Value::Float(2.0));
    assert_eq!(output(&outputs, "outliers"), &list(vec![Value::Float(9.0)]));
    assert_eq!(output(&outputs, "n_outliers"), &Value::Int(1));
}

#[test]
fn collatz_tail_calls_loop() {
    let job = example("collatz");
    let chunks = vec![vec![
        Chunk::Range { start: 1, end: 3 },
        Chunk::Range { start: 3, end: 6 },
    ]];
    let outputs = run(&job, chunks, &[("limit", Value::Int(6))]);
    // Steps to reach 1: 1 → 0, 2 → 1, 3 → 7, 4 → 2, 5 → 5.
    let p = |n, steps| pair(Value::Int(n), Value::Int(steps));
    assert_eq!(
        output(&outputs, "longest"),
        &list(vec![p(3, 7), p(5, 5), p(4, 2), p(2, 1), p(1, 0)])
    );
    assert_eq!(output(&outputs, "total_steps"), &Value::Int(15));
    assert_eq!(output(&outputs, "over_200"), &Value::Int(0));

    // 77,031 takes 350 steps: far deeper than any stack if the self call
    // did not loop.
    let outputs = run(
        &job,
        vec![vec![Chunk::Range {
            start: 77_031,
            end: 77_032,
        }]],
        &[],
    );
    assert_eq!(output(&outputs, "total_steps"), &Value::Int(350));
    assert_eq!(output(&outputs, "over_200"), &Value::Int(1));
}

#[test]
fn montecarlo() {
    let job = example("montecarlo");
    let samples = 1_000;
    let chunks = vec![vec![
        Chunk::Range { start: 0, end: 400 },
        Chunk::Range {
            start: 400,
            end: samples,
        },
    ]];
    let outputs = run(&job, chunks, &[("samples", Value::Int(samples))]);
    let hits = (0..samples)
        .filter(|i| {
            let x = flow_runtime::table::rand(2 * i);
            let y = flow_runtime::table::rand(2 * i + 1);
            x * x + y * y <= 1.0
        })
        .count();
    let pi = 4.0 * hits as f64 / samples as f64;
    assert_eq!(output(&outputs, "pi"), &Value::Float(pi));
    assert_eq!(
        output(&outputs, "error"),
        &Value::Float((pi - std::f64::consts::PI).abs())
    );
    assert!((pi - std::f64::consts::PI).abs() < 0.2, "pi = {pi}");
}

#[test]
fn logscan() {
    let job = example("logscan");
    let chunks = vec![vec![
        Chunk::Files {
            files: vec![("a.log".into(), "ERROR code=E12\nok\n".into())],
            first_index: 0,
        },
        Chunk::Files {
            files: vec![
                ("b.log".into(), "info\nERROR code=E7\nERROR disk\n".into()),
                ("c.log".into(), "all fine\n".into()),
            ],
            first_index: 1,
        },
    ]];
    let outputs = run(&job, chunks, &[]);
    assert_eq!(
        output(&outputs, "errors_per_file"),
        &list(vec![
            pair(s("a.log"), Value::Int(1)),
            pair(s("b.log"), Value::Int(2))
        ])
    );
    assert_eq!(output(&outputs, "total_lines"), &Value::Int(6));
    assert_eq!(
        output(&outputs, "error_codes"),
        &list(vec![s("E12"), s("E7")])
    );
}

#[test]
fn weather() {
    let job = example("weather");
    let header = "station,date,temp_c,rain_mm\n";
    let second = Chunk::Text {
        bytes: b"Bergen,d2,12.0,3.0\n".to_vec(),
        first_line: 5,
        csv_header: Some(vec![
            "station".into(),
            "date".into(),
            "temp_c".into(),
            "rain_mm".into(),
        ]),
    };
    let first = Chunk::csv_file(&format!(
        "{header}Oslo,d1,20.5,1.5\nBergen,d1,26.0,10.0\nOslo,d2,27.0,0.25\n"
    ))
    .expect("a header");
    let outputs = run(&job, vec![vec![first, second]], &[]);
    assert_eq!(
        output(&outputs, "rain_by_station"),
        &list(vec![
            pair(s("Bergen"), Value::Float(13.0)),
            pair(s("Oslo"), Value::Float(1.75)),
        ])
    );
    assert_eq!(
        output(&outputs, "hot_days"),
        &list(vec![
            pair(s("Bergen"), Value::Int(1)),
            pair(s("Oslo"), Value::Int(1))
        ])
    );
    assert_eq!(output(&outputs, "mean_temp"), &Value::Float(21.375));
    let reading = |station: &str, date: &str, temp: f64, rain: f64| {
        Value::Record(vec![
            s(station),
            s(date),
            Value::Float(temp),
            Value::Float(rain),
        ])
    };
    assert_eq!(
        output(&outputs, "hottest"),
        &list(vec![
            reading("Oslo", "d2", 27.0, 0.25),
            reading("Bergen", "d1", 26.0, 10.0),
            reading("Oslo", "d1", 20.5, 1.5),
        ])
    );
    assert_eq!(output(&outputs, "coldest"), &Value::Float(12.0));
}

#[test]
fn weblog() {
    let job = example("weblog");
    let data = concat!(
        r#"{"route":"/a","status":200,"ms":100,"user":"u1"}"#,
        "\n",
        r#"{"route":"/b","status":500,"ms":300,"user":"u2"}"#,
        "\n\n",
        r#"{"route":"/a","status":503,"ms":400,"user":"u2","extra":1}"#,
        "\n",
        r#"{"route":"/c","status":200,"ms":50,"user":"u3"}"#,
        "\n",
    );
    let outputs = run(&job, vec![vec![Chunk::text(data)]], &[]);
    let p = |route: &str, n| pair(s(route), Value::Int(n));
    assert_eq!(
        output(&outputs, "per_route"),
        &list(vec![p("/a", 2), p("/b", 1), p("/c", 1)])
    );
    assert_eq!(
        output(&outputs, "errors"),
        &list(vec![p("/a", 1), p("/b", 1)])
    );
    assert_eq!(output(&outputs, "mean_ms"), &Value::Float(212.5));
    assert_eq!(
        output(&outputs, "slowest"),
        &list(vec![p("/a", 400), p("/b", 300), p("/c", 50)])
    );
    assert_eq!(output(&outputs, "slow_users"), &list(vec![s("u2")]));
}

#[test]
fn reviews_needs_its_tool() {
    // `extern fn` tools are WebAssembly, outside the interpreter's scope: a
    // call fails with the kind `unsupported` rather than computing
    // something else.
    let path = format!(
        "{}/../examples/reviews/job.flow",
        env!("CARGO_MANIFEST_DIR")
    );
    let source = std::fs::read_to_string(path).expect("the example exists");
    let job = lowered("examples/reviews/job.flow", &source);
    assert_eq!(
        job.ir.externs[0].module,
        "examples/reviews/tools/score.wasm"
    );
    let error = run_err(&job, vec![vec![Chunk::text("p1\tgood stuff\n")]]);
    assert_eq!(error.kind, "unsupported", "{error:?}");
    assert!(error.message.contains("extern fn `score`"), "{error:?}");

    // The same job with the tool replaced by a plain function.
    let source = source.replace(
        r#"extern fn score(text: str) -> float from "tools/score.wasm""#,
        "fn score(text: str) -> float = if contains(text, \"bad\") then -1.0 else 0.5",
    );
    let job = lowered("examples/reviews/job.flow", &source);
    let data = "p1\tgood stuff\np2\tbad\np1\tbad bad\nnot a review\np3\tok\n";
    let outputs = run(&job, vec![vec![Chunk::text(data)]], &[]);
    let p = |name: &str, n| pair(s(name), Value::Int(n));
    assert_eq!(
        output(&outputs, "reviews_per_product"),
        &list(vec![p("p1", 2), p("p2", 1), p("p3", 1)])
    );
    let f = |name: &str, x| pair(s(name), Value::Float(x));
    assert_eq!(
        output(&outputs, "most_negative"),
        &list(vec![f("p1", -1.0), f("p2", -1.0), f("p1", 0.5)])
    );
    assert_eq!(output(&outputs, "liked"), &list(vec![s("p3")]));
}

const DIVIDE: &str = r#"
input rows = lines("x.txt")
output ratios = rows |> map(l => 100 / to_int(l)) |> sum()
"#;

#[test]
fn division_by_zero_names_the_span_and_line() {
    let job = lowered("job.flow", DIVIDE);
    let error = run_err(
        &job,
        vec![vec![
            Chunk::text("5\n"),
            Chunk::Text {
                bytes: b"10\n0\n".to_vec(),
                first_line: 2,
                csv_header: None,
            },
        ]],
    );
    assert_eq!(error.kind, "division-by-zero");
    assert_eq!(error.position, 3);
    let span = error.span.expect("a span");
    let (_, at) = job.ir.spans.spans[span.0 as usize];
    assert_eq!(
        &DIVIDE[at.start as usize..at.end as usize],
        "100 / to_int(l)"
    );

    let error = run_err(&job, vec![vec![Chunk::text("5\nfive\n")]]);
    assert_eq!((error.kind.as_str(), error.position), ("parse", 2));
}

#[test]
fn errors_of_aggregations_and_lists() {
    let job = lowered(
        "job.flow",
        r#"
input rows = lines("x.txt")
output m = rows |> map(l => len(l)) |> mean()
"#,
    );
    let error = run_err(&job, vec![vec![]]);
    assert_eq!(error.kind, "empty");

    let job = lowered(
        "job.flow",
        r#"
input rows = lines("x.txt")
output third = rows |> map(l => get(words(l), 2)) |> collect()
"#,
    );
    let error = run_err(&job, vec![vec![Chunk::text("a b c\na b\n")]]);
    assert_eq!(
        (error.kind.as_str(), error.position, error.message.as_str()),
        ("index", 2, "index 2 is out of range for a list of length 2")
    );

    let job = lowered(
        "job.flow",
        r#"
input n = range(0, 3)
output big = n |> map(i => 9223372036854775807 + i) |> collect()
"#,
    );
    let error = run_err(&job, vec![vec![Chunk::Range { start: 0, end: 3 }]]);
    assert_eq!((error.kind.as_str(), error.position), ("overflow", 1));
}

#[test]
fn bad_csv_records_are_errors() {
    let job = lowered(
        "job.flow",
        r#"
type Row = { name: str, n: int }
input rows: Row = csv("x.csv")
output total = rows |> map(r => r.n) |> sum()
"#,
    );
    let chunk = Chunk::csv_file("name,n\na,1\nb,two\n").expect("a header");
    let error = run_err(&job, vec![vec![chunk]]);
    assert_eq!((error.kind.as_str(), error.position), ("bad-record", 3));
    let chunk = Chunk::csv_file("name,m\na,1\n").expect("a header");
    assert_eq!(run_err(&job, vec![vec![chunk]]).kind, "missing-field");
}

#[test]
fn list_operators_inside_functions() {
    let job = lowered(
        "job.flow",
        r#"
fn stats(xs: [int]) -> (int, int, [int], [(int, int)]) =
  (xs |> sum(), xs |> reduce((a, b) => a + b), xs |> distinct(), xs |> count_by(x => x % 2))
input rows = lines("x.txt")
output s = rows |> map(l => stats(words(l) |> map(w => to_int(w)))) |> collect()
output joined = rows |> map(l => join(split(l, " ") |> sort(by: w => -len(w)), "-")) |> collect()
"#,
    );
    let outputs = run(&job, vec![vec![Chunk::text("3 1 3 22\n")]], &[]);
    let i = Value::Int;
    assert_eq!(
        output(&outputs, "s"),
        &list(vec![Value::Tuple(vec![
            i(29),
            i(29),
            list(vec![i(1), i(3), i(22)]),
            list(vec![pair(i(0), i(1)), pair(i(1), i(3))]),
        ])])
    );
    assert_eq!(output(&outputs, "joined"), &list(vec![s("22-1-3-3")]));
}
