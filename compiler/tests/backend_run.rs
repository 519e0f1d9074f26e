//! End to end: `.flow` source → analysis → package (plan + stage module) →
//! the module run under the real wasmtime host, chunk by chunk, with merges
//! in two tree shapes, finish, and `value_<v>` → decoded values equal to
//! values computed by hand.

mod common;

use flow_compiler::package::{self, JobPackage};
use flow_compiler::plan::{PlanLiteral, PlanSource};
use flow_executor::host::{Host, HostConfig, StageInstance};
use flow_runtime::{Value, decode_value, encode_value};

/// Compiles a one-file job.
fn compile(source: &str) -> JobPackage {
    let analysis = common::analyze_files(&[("job.flow", source)]);
    assert!(
        !analysis.has_errors(),
        "the job has errors:\n{}",
        common::render(&analysis)
    );
    let root = analysis.program.jobs[0].root;
    let package = package::build(&analysis, root).expect("the job compiles");
    // Every package survives its container.
    let bytes = package.to_bytes();
    let back = JobPackage::from_bytes(&bytes).expect("the package reads back");
    assert_eq!(back, package);
    package
}

/// Calls `value_<index>(ctx)` directly through wasmtime (the host runs
/// stage exports only) and decodes the result.
fn call_value(
    compiled: &(wasmtime::Engine, wasmtime::Module),
    index: u32,
    ctx: &[u8],
) -> Result<Value, String> {
    use wasmtime::{Instance, Store};
    let (engine, module) = compiled;
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, module, &[]).map_err(|e| e.to_string())?;
    let memory = instance
        .get_memory(&mut store, "memory")
        .ok_or("no memory")?;
    let alloc = instance
        .get_typed_func::<i32, i32>(&mut store, "flow_alloc")
        .map_err(|e| e.to_string())?;
    let value = instance
        .get_typed_func::<(i32, i32), i64>(&mut store, &format!("value_{index}"))
        .map_err(|e| e.to_string())?;
    let error = instance
        .get_typed_func::<(), i64>(&mut store, "flow_error")
        .map_err(|e| e.to_string())?;
    let ptr = alloc
        .call(&mut store, ctx.len() as i32)
        .map_err(|e| e.to_string())?;
    memory
        .write(&mut store, ptr as usize, ctx)
        .map_err(|e| e.to_string())?;
    let read = |store: &mut Store<()>, packed: i64| {
        let (at, len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
        let mut out = vec![0; len];
        memory.read(&*store, at, &mut out).map(|_| out)
    };
    match value.call(&mut store, (ptr, ctx.len() as i32)) {
        Ok(packed) => {
            let bytes = read(&mut store, packed).map_err(|e| e.to_string())?;
            decode_value(&bytes).map_err(|e| e.to_string())
        }
        Err(trap) => {
            let packed = error.call(&mut store, ()).map_err(|e| e.to_string())?;
            let record = read(&mut store, packed).map_err(|e| e.to_string())?;
            Err(format!("{trap}: {:?}", decode_value(&record)))
        }
    }
}

/// A job's input data: per input, its chunks.
enum Chunks {
    /// `lines` or `jsonl` chunks.
    Text(Vec<&'static str>),
    /// A CSV header and the chunks after it.
    Csv(&'static str, Vec<&'static str>),
    Range(Vec<(i64, i64)>),
}

/// Runs a whole package: phases in order, every stage over its chunks,
/// partials merged left to right and as a balanced tree (which must agree),
/// then every value. Returns the outputs by name.
fn run(package: &JobPackage, data: &[Chunks], params: &[(&str, Value)]) -> Vec<(String, Value)> {
    let host = Host::new(HostConfig::default()).expect("the host starts");
    let module_bytes = package.module().expect("the plan's module");
    let module = host
        .load_stage(module_bytes)
        .expect("the host loads the module");
    let mut instance = StageInstance::new(&host, &module);
    let engine = wasmtime::Engine::default();
    let compiled = (
        engine.clone(),
        wasmtime::Module::new(&engine, module_bytes).expect("wasmtime compiles the module"),
    );
    let plan = &package.plan;
    let param_values: Vec<Value> = plan
        .params
        .iter()
        .map(|p| {
            params
                .iter()
                .find(|(name, _)| *name == p.name)
                .map(|(_, v)| v.clone())
                .or_else(|| {
                    p.default.as_ref().map(|d| match d {
                        PlanLiteral::Int(n) => Value::Int(*n),
                        PlanLiteral::Float(x) => Value::Float(*x),
                        PlanLiteral::Bool(b) => Value::Bool(*b),
                        PlanLiteral::Str(s) => Value::Str(s.clone()),
                    })
                })
                .expect("every param has a value")
        })
        .collect();
    let mut stage_results: Vec<Option<Value>> = vec![None; plan.stages.len()];
    let mut values: Vec<Option<Value>> = vec![None; plan.values.len()];
    let compute_values = |stage_results: &[Option<Value>], values: &mut Vec<Option<Value>>| {
        for value in &plan.values {
            if values[value.index as usize].is_some() {
                continue;
            }
            let ready = value
                .stages
                .iter()
                .all(|s| stage_results[*s as usize].is_some());
            if !ready {
                continue;
            }
            let mut ctx = vec![Value::str("")];
            ctx.extend(param_values.iter().cloned());
            ctx.extend(
                value
                    .stages
                    .iter()
                    .map(|s| stage_results[*s as usize].clone().unwrap()),
            );
            let result = call_value(&compiled, value.index, &encode_value(&Value::Tuple(ctx)))
                .unwrap_or_else(|e| panic!("value_{} ({}) failed: {e}", value.index, value.name));
            values[value.index as usize] = Some(result);
        }
    };
    for phase in 0..plan.phase_count() {
        compute_values(&stage_results, &mut values);
        for stage in plan.stages.iter().filter(|s| s.phase == phase) {
            let header = match &data[stage.input as usize] {
                Chunks::Csv(header, _) => header,
                _ => "",
            };
            let mut ctx = vec![Value::str(header)];
            ctx.extend(param_values.iter().cloned());
            ctx.extend(stage.uses.iter().map(|v| {
                values[*v as usize]
                    .clone()
                    .expect("an earlier phase computed it")
            }));
            let ctx = encode_value(&Value::Tuple(ctx));
            let input = &plan.inputs[stage.input as usize];
            let mut partials = Vec::new();
            match &data[stage.input as usize] {
                Chunks::Text(chunks) | Chunks::Csv(_, chunks) => {
                    assert!(matches!(
                        input.source,
                        PlanSource::Lines | PlanSource::Jsonl | PlanSource::Csv
                    ));
                    let mut first = 1;
                    for chunk in chunks {
                        partials.push(
                            instance
                                .process(stage.index, chunk.as_bytes(), &ctx, first)
                                .expect("process"),
                        );
                        first += chunk.lines().count() as i64;
                    }
                }
                Chunks::Range(ranges) => {
                    assert_eq!(input.source, PlanSource::Range);
                    for (start, end) in ranges {
                        let mut chunk = start.to_le_bytes().to_vec();
                        chunk.extend_from_slice(&end.to_le_bytes());
                        partials.push(
                            instance
                                .process(stage.index, &chunk, &ctx, *start)
                                .expect("process"),
                        );
                    }
                }
            }
            let mut left = partials[0].clone();
            for partial in &partials[1..] {
                left = instance.merge(stage.index, &left, partial).expect("merge");
            }
            let mut level = partials.clone();
            while level.len() > 1 {
                level = level
                    .chunks(2)
                    .map(|pair| match pair {
                        [a, b] => instance.merge(stage.index, a, b).expect("merge"),
                        [a] => a.clone(),
                        _ => unreachable!(),
                    })
                    .collect();
            }
            let left = decode_value(&instance.finish(stage.index, &left).expect("finish")).unwrap();
            let tree =
                decode_value(&instance.finish(stage.index, &level[0]).expect("finish")).unwrap();
            assert_eq!(
                left, tree,
                "both merge orders agree on stage {}",
                stage.index
            );
            stage_results[stage.index as usize] = Some(left);
            // A group pass runs after its members (it comes after every
            // stage): its value must be theirs, computed in one pass.
            if !stage.members.is_empty() {
                let members: Vec<Value> = stage
                    .members
                    .iter()
                    .map(|m| stage_results[*m as usize].clone().expect("members ran"))
                    .collect();
                assert_eq!(
                    stage_results[stage.index as usize],
                    Some(Value::Tuple(members)),
                    "group pass {} agrees with its stages",
                    stage.index
                );
            }
        }
    }
    compute_values(&stage_results, &mut values);
    plan.outputs()
        .map(|o| {
            (
                o.name.clone(),
                values[o.index as usize].clone().expect("computed"),
            )
        })
        .collect()
}

fn output<'o>(outputs: &'o [(String, Value)], name: &str) -> &'o Value {
    &outputs
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no output {name}"))
        .1
}

#[test]
fn wordcount_example_runs_end_to_end() {
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/wordcount/job.flow"
    ))
    .expect("the example exists");
    let package = compile(&source);
    // Two stages over the corpus, and the group pass computing both in one
    // read of it.
    assert_eq!(package.plan.stages.len(), 3, "{:#?}", package.plan.stages);
    assert_eq!(package.plan.stages[2].members, vec![0, 1]);
    assert_eq!(
        package.plan.passes(0).map(|s| s.index).collect::<Vec<_>>(),
        vec![2]
    );
    // Counts chosen without ties: the.5 cat.4 sat.3 on.2 mat.1.
    let chunks = vec![
        "The cat sat\non the mat\n",
        "The CAT, the cat!\r\nthe sat on\n",
        "cat sat\n",
    ];
    let outputs = run(&package, &[Chunks::Text(chunks)], &[]);
    assert_eq!(output(&outputs, "total_words"), &Value::Int(15));
    let pair = |w: &str, n: i64| Value::Tuple(vec![Value::str(w), Value::Int(n)]);
    assert_eq!(
        output(&outputs, "top_words"),
        &Value::List(vec![
            pair("the", 5),
            pair("cat", 4),
            pair("sat", 3),
            pair("on", 2),
            pair("mat", 1),
        ])
    );
    // `--param top_n=2` shortens the list.
    let outputs = run(
        &package,
        &[Chunks::Text(vec!["the the cat\n", "the cat sat\n"])],
        &[("top_n", Value::Int(2))],
    );
    assert_eq!(
        output(&outputs, "top_words"),
        &Value::List(vec![pair("the", 3), pair("cat", 2)])
    );
}

/// Word counts of `chunks` by Rust's own `to_lowercase` and
/// `char::is_alphanumeric`: an oracle independent of the runtime.
fn std_word_counts(chunks: &[&str]) -> Vec<Value> {
    let mut counts = std::collections::BTreeMap::<String, i64>::new();
    for chunk in chunks {
        for line in chunk.lines() {
            let lowered = line.to_lowercase();
            for word in lowered.split(|c: char| !c.is_alphanumeric()) {
                if !word.is_empty() {
                    *counts.entry(word.to_owned()).or_default() += 1;
                }
            }
        }
    }
    counts
        .into_iter()
        .map(|(w, n)| Value::Tuple(vec![Value::str(&w), Value::Int(n)]))
        .collect()
}

#[test]
fn words_of_lower_match_std_on_latin1_and_other_text() {
    // Latin-1 letters of both cases, dotted İ (whose lower case is two
    // scalar values) and Greek with its final sigma, through the walk over
    // the words of a lowered line.
    let job = "\
input corpus = lines(\"data/*.txt\")
output counts = corpus |> flat_map(l => words(lower(l))) |> count_by(w => w) |> sort()
output all_words = corpus |> flat_map(l => words(lower(l))) |> map(w => w) |> collect()
";
    let package = compile(job);
    let chunks = vec![
        "Déjà VU, déjà vu! ÀÉÎÕÜ àéîõü × ÷ Þorn þorn ÿ µ\n",
        "İstanbul ISTANBUL istanbul\r\nΟΔΟΣ οδος ΣΑΣ\n",
        "plain ASCII words, 42 and 42x\n",
    ];
    let outputs = run(&package, &[Chunks::Text(chunks.clone())], &[]);
    assert_eq!(
        output(&outputs, "counts"),
        &Value::List(std_word_counts(&chunks))
    );
    // Each word made a value of its own (`map`), lower-cased: `collect`
    // finishes them sorted.
    let mut expected: Vec<String> = chunks
        .iter()
        .flat_map(|chunk| chunk.lines())
        .flat_map(|line| {
            line.to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    expected.sort();
    let expected: Vec<Value> = expected.iter().map(|w| Value::str(w)).collect();
    assert_eq!(output(&outputs, "all_words"), &Value::List(expected));
}

const RANGE_JOB: &str = r#"
param n: int = 1000

input xs = range(0, n)

/// Collatz steps from x down to 1, tail-recursive.
fn steps(x: int, acc: int) -> int =
  if x == 1 then acc
  else if x % 2 == 0 then steps(x / 2, acc + 1)
  else steps(3 * x + 1, acc + 1)

let total = xs |> sum()
let avg = xs |> map(x => float(x)) |> mean()

output sum_of_all = total
output threes = xs |> filter(x => x % 3 == 0) |> count()
output longest = xs |> map(x => steps(x + 1, 0)) |> max()
output mean_by_hand = float(total) / float(n)
output above_mean = xs |> filter(x => float(x) > avg) |> count()
"#;

fn collatz(mut x: i64) -> i64 {
    let mut steps = 0;
    while x != 1 {
        x = if x % 2 == 0 { x / 2 } else { 3 * x + 1 };
        steps += 1;
    }
    steps
}

#[test]
fn range_job_with_a_tail_recursive_fn_and_a_second_phase() {
    let package = compile(RANGE_JOB);
    let n = 1000i64;
    let ranges = vec![(0, 300), (300, 301), (301, 777), (777, n)];
    let outputs = run(&package, &[Chunks::Range(ranges)], &[]);
    assert_eq!(output(&outputs, "sum_of_all"), &Value::Int(n * (n - 1) / 2));
    assert_eq!(
        output(&outputs, "threes"),
        &Value::Int((0..n).filter(|x| x % 3 == 0).count() as i64)
    );
    let longest = (0..n).map(|x| collatz(x + 1)).max().unwrap();
    assert_eq!(output(&outputs, "longest"), &Value::Int(longest));
    let mean = (n * (n - 1) / 2) as f64 / n as f64;
    assert_eq!(output(&outputs, "mean_by_hand"), &Value::Float(mean));
    assert_eq!(
        output(&outputs, "above_mean"),
        &Value::Int((0..n).filter(|x| *x as f64 > mean).count() as i64)
    );
    // `above_mean` needs `avg`, so it runs in a second phase.
    assert_eq!(package.plan.phase_count(), 2);
}

/// Sorts a list value (for results whose order the language leaves open).
fn sorted(value: &Value) -> Value {
    match value {
        Value::List(items) => {
            let mut items = items.clone();
            items.sort();
            Value::List(items)
        }
        other => other.clone(),
    }
}

const CSV_JOB: &str = r#"
type Row = { city: str, temp: float, n: int }

param threshold: float = 10.0

input rows: Row = csv("data/*.csv")

fn hot(r: Row) -> bool = r.temp > threshold

output hot_count = rows |> filter(hot) |> count()
output by_city = rows |> sum_by(r => r.city, r => r.n)
output temp_by_city = rows |> sum_by(r => r.city, r => r.temp)
output mean_temp = rows |> map(r => r.temp) |> mean()
output coldest = rows |> map(r => r.temp) |> min()
output warmest_row = rows |> top(1, by: r => r.temp)
output coolest_two = rows |> bottom(2, by: r => r.temp)
output cities = rows |> map(r => r.city) |> distinct()
output sorted_n = rows |> map(r => r.n) |> sort()
output sorted_rows = rows |> sort(by: r => (r.city, r.n)) |> map(r => r.n)
output product = rows |> map(r => r.n) |> reduce((a, b) => a * b)
output max_by_city = rows |> reduce_by(r => r.city, r => r.n, (a, b) => max(a, b))
output all_ns = rows |> map(r => r.n) |> collect()
output summary = {
  let c = rows |> count();
  (c, str(c) + " rows")
}
output per_city = rows
  |> count_by(r => r.city)
  |> map(p => p.0 + "=" + str(p.1))
  |> sort()
  |> join(",")
"#;

#[test]
fn csv_records_and_every_aggregation() {
    let package = compile(CSV_JOB);
    let data = Chunks::Csv(
        "city,temp,n",
        vec![
            "Oslo,5.5,2\nRome,20.0,3\n",
            "Oslo,-1.5,4\nLima,15.25,5\nRome,12.0,1\n",
        ],
    );
    let outputs = run(&package, &[data], &[]);
    let s = Value::str;
    let pair = |a: &str, b: Value| Value::Tuple(vec![s(a), b]);
    let row = |city: &str, temp: f64, n: i64| {
        Value::Record(vec![s(city), Value::Float(temp), Value::Int(n)])
    };
    assert_eq!(output(&outputs, "hot_count"), &Value::Int(3));
    assert_eq!(
        output(&outputs, "by_city"),
        &Value::List(vec![
            pair("Lima", Value::Int(5)),
            pair("Oslo", Value::Int(6)),
            pair("Rome", Value::Int(4)),
        ])
    );
    assert_eq!(
        output(&outputs, "temp_by_city"),
        &Value::List(vec![
            pair("Lima", Value::Float(15.25)),
            pair("Oslo", Value::Float(4.0)),
            pair("Rome", Value::Float(32.0)),
        ])
    );
    assert_eq!(output(&outputs, "mean_temp"), &Value::Float(10.25));
    assert_eq!(output(&outputs, "coldest"), &Value::Float(-1.5));
    assert_eq!(
        output(&outputs, "warmest_row"),
        &Value::List(vec![row("Rome", 20.0, 3)])
    );
    assert_eq!(
        output(&outputs, "coolest_two"),
        &Value::List(vec![row("Oslo", -1.5, 4), row("Oslo", 5.5, 2)])
    );
    assert_eq!(
        sorted(output(&outputs, "cities")),
        Value::List(vec![s("Lima"), s("Oslo"), s("Rome")])
    );
    let ints = |xs: &[i64]| Value::List(xs.iter().map(|x| Value::Int(*x)).collect());
    assert_eq!(output(&outputs, "sorted_n"), &ints(&[1, 2, 3, 4, 5]));
    assert_eq!(output(&outputs, "sorted_rows"), &ints(&[5, 2, 4, 1, 3]));
    assert_eq!(output(&outputs, "product"), &Value::Int(120));
    assert_eq!(
        output(&outputs, "max_by_city"),
        &Value::List(vec![
            pair("Lima", Value::Int(5)),
            pair("Oslo", Value::Int(4)),
            pair("Rome", Value::Int(3)),
        ])
    );
    assert_eq!(sorted(output(&outputs, "all_ns")), ints(&[1, 2, 3, 4, 5]));
    assert_eq!(
        output(&outputs, "summary"),
        &Value::Tuple(vec![Value::Int(5), s("5 rows")])
    );
    assert_eq!(output(&outputs, "per_city"), &s("Lima=1,Oslo=2,Rome=2"));
    // A param changes the filter.
    let data = Chunks::Csv("city,temp,n", vec!["Oslo,5.5,2\nRome,20.0,3\n"]);
    let outputs = run(&package, &[data], &[("threshold", Value::Float(0.0))]);
    assert_eq!(output(&outputs, "hot_count"), &Value::Int(2));
}

#[test]
fn jsonl_records_with_list_fields() {
    let package = compile(
        r#"
type Ev = { user: str, tags: [str], ms: int }
input evs: Ev = jsonl("e/*.jsonl")
output tag_counts = evs |> flat_map(e => e.tags) |> count_by(t => t)
output slow_users = evs |> filter(e => e.ms > 100) |> map(e => e.user) |> sort()
output total_ms = evs |> map(e => e.ms) |> sum()
"#,
    );
    let data = Chunks::Text(vec![
        "{\"user\": \"ann\", \"tags\": [\"a\", \"b\"], \"ms\": 150}\n",
        "{\"user\": \"bob\", \"tags\": [\"b\"], \"ms\": 20}\n{\"user\": \"cy\", \"tags\": [], \"ms\": 101}\n",
    ]);
    let outputs = run(&package, &[data], &[]);
    let s = Value::str;
    assert_eq!(
        output(&outputs, "tag_counts"),
        &Value::List(vec![
            Value::Tuple(vec![s("a"), Value::Int(1)]),
            Value::Tuple(vec![s("b"), Value::Int(2)]),
        ])
    );
    assert_eq!(
        output(&outputs, "slow_users"),
        &Value::List(vec![s("ann"), s("cy")])
    );
    assert_eq!(output(&outputs, "total_ms"), &Value::Int(271));
}

#[test]
fn scalar_text_list_tuple_and_record_values() {
    let package = compile(
        r#"
type Pair = { a: int, b: str }
param name: str = "World"
param k: int = 7
output greeting = "Hello, " + upper(name) + "!"
output texts = (len("héllo"), lower("ABC"), trim("  x "), words("a b,c"), split("a-b-c", "-"), contains("abc", "b"), starts_with("abc", "a"), ends_with("abc", "bc"), replace("aXbX", "X", "-"), substr("abcdef", 1, 3))
output numbers = (abs(0 - k), abs(-2.5), min(3, k), max(2.5, 1.0), sqrt(16.0), pow(2.0, 10.0), floor(2.7), ceil(2.1), round(-2.5), int(9.9), float(k), k / 2, k % 3, -k)
output parsed = (to_int("42"), to_float("1.5"), str(2.5), str(true), str(k))
output lists = ([1, 2] + [3], get([10, 20, 30], 1), len([1, 2, 3]), [3, 1, 2] |> sort(), [1, 2, 3, 4] |> filter(x => x % 2 == 0) |> map(x => x * 10), [[1], [2, 3]] |> flat_map(x => x), [1, 2, 3] |> sum())
output logic = (k > 3 and not (k == 7) or k != 8, if k < 0 then "neg" else "pos", { let a = k * 2; let b = a + 1; b }, matches("abc123", "[a-z]+[0-9]+"), "b" < "ab", 0.5 < 0.25)
output rec = Pair { b: "x", a: k }
output field = (Pair { a: k, b: "y" }).b
output tup = (k, "s").1
"#,
    );
    assert!(package.plan.stages.is_empty());
    let outputs = run(&package, &[], &[("name", Value::str("flow"))]);
    let s = Value::str;
    let i = Value::Int;
    let f = Value::Float;
    let b = Value::Bool;
    let strs = |xs: &[&str]| Value::List(xs.iter().map(|x| s(x)).collect());
    let ints = |xs: &[i64]| Value::List(xs.iter().map(|x| i(*x)).collect());
    assert_eq!(output(&outputs, "greeting"), &s("Hello, FLOW!"));
    assert_eq!(
        output(&outputs, "texts"),
        &Value::Tuple(vec![
            i(5),
            s("abc"),
            s("x"),
            strs(&["a", "b", "c"]),
            strs(&["a", "b", "c"]),
            b(true),
            b(true),
            b(true),
            s("a-b-"),
            s("bcd"),
        ])
    );
    assert_eq!(
        output(&outputs, "numbers"),
        &Value::Tuple(vec![
            i(7),
            f(2.5),
            i(3),
            f(2.5),
            f(4.0),
            f(1024.0),
            i(2),
            i(3),
            i(-3),
            i(9),
            f(7.0),
            i(3),
            i(1),
            i(-7),
        ])
    );
    assert_eq!(
        output(&outputs, "parsed"),
        &Value::Tuple(vec![i(42), f(1.5), s("2.5"), s("true"), s("7")])
    );
    assert_eq!(
        output(&outputs, "lists"),
        &Value::Tuple(vec![
            ints(&[1, 2, 3]),
            i(20),
            i(3),
            ints(&[1, 2, 3]),
            ints(&[20, 40]),
            ints(&[1, 2, 3]),
            i(6),
        ])
    );
    assert_eq!(
        output(&outputs, "logic"),
        &Value::Tuple(vec![b(true), s("pos"), i(15), b(true), b(false), b(false)])
    );
    assert_eq!(output(&outputs, "rec"), &Value::Record(vec![i(7), s("x")]));
    assert_eq!(output(&outputs, "field"), &s("y"));
    assert_eq!(output(&outputs, "tup"), &s("s"));
}

#[test]
fn run_time_errors_name_the_failing_expression_and_record() {
    use flow_executor::host::Failure;
    let source = "input xs = range(0, 10)\noutput boom = xs |> map(x => 9223372036854775807 - 5 + x) |> sum()\n";
    let package = compile(source);
    let host = Host::new(HostConfig::default()).unwrap();
    let module = host.load_stage(package.module().unwrap()).unwrap();
    let mut instance = StageInstance::new(&host, &module);
    let mut chunk = 0i64.to_le_bytes().to_vec();
    chunk.extend_from_slice(&10i64.to_le_bytes());
    let ctx = encode_value(&Value::Tuple(vec![Value::str("")]));
    let error = instance.process(0, &chunk, &ctx, 0).unwrap_err();
    let Failure::Runtime(record) = error.failure else {
        panic!("expected an error record, got {:?}", error.failure);
    };
    assert_eq!(record.kind, "overflow");
    assert_eq!(record.position, 6, "x = 6 is the first to overflow");
    let span = &package.plan.spans[record.span_id as usize];
    assert_eq!(span.file, "job.flow");
    assert_eq!(
        &source[span.start as usize..span.end as usize],
        "9223372036854775807 - 5 + x"
    );
}

#[test]
fn unsupported_constructs_are_errors_not_wrong_answers() {
    let analysis = common::analyze_files(&[(
        "job.flow",
        "extern fn score(s: str) -> float from \"tools/score.wasm\"\ninput ls = lines(\"*.txt\")\noutput total = ls |> map(l => score(l)) |> sum()\n",
    )]);
    assert!(!analysis.has_errors(), "{}", common::render(&analysis));
    let root = analysis.program.jobs[0].root;
    // Without the tool's bytes, the module is reported as not read (E0703).
    match package::build(&analysis, root) {
        Err(flow_compiler::codegen::CodegenError::Tools(diagnostics)) => {
            assert_eq!(diagnostics[0].code, "E0703", "{diagnostics:?}");
            assert!(
                diagnostics[0].message.contains("tools/score.wasm"),
                "{diagnostics:?}"
            );
        }
        other => panic!("expected a tool diagnostic, got {other:?}"),
    }
    // A reduce function that reads a param cannot run inside merge yet.
    let analysis = common::analyze_files(&[(
        "job.flow",
        "param k: int = 2\ninput xs = range(0, 5)\noutput r = xs |> reduce((a, b) => a + b + k)\n",
    )]);
    let root = analysis.program.jobs[0].root;
    assert!(matches!(
        package::build(&analysis, root),
        Err(flow_compiler::codegen::CodegenError::Unsupported(_))
    ));
}

#[test]
fn damaged_packages_are_rejected() {
    let package = compile("input xs = range(0, 3)\noutput n = xs |> count()\n");
    let bytes = package.to_bytes();
    for len in [0, 7, 8, 12, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            JobPackage::from_bytes(&bytes[..len]).is_err(),
            "truncated to {len}"
        );
    }
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert!(
        JobPackage::from_bytes(&flipped).is_err(),
        "a changed module byte"
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(JobPackage::from_bytes(&longer).is_err());
}

#[test]
fn every_example_compiles_or_names_what_is_unsupported() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    let mut compiled = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(dir.join("job.flow")) else {
            continue;
        };
        let analysis = common::analyze_files(&[("job.flow", &text)]);
        let root = analysis.program.jobs[0].root;
        // Tool modules are read from the example's folder, as `flowc` does.
        let tools: package::ToolFiles = package::tool_paths(&analysis, root)
            .into_iter()
            .map(|path| {
                let bytes = std::fs::read(dir.join(&path)).map_err(|e| e.to_string());
                (path, bytes)
            })
            .collect();
        match package::build_with_tools(&analysis, root, &tools) {
            Ok(package) => {
                flow_compiler::codegen::validate(package.module().unwrap()).unwrap();
                compiled.push(dir.display().to_string());
            }
            Err(flow_compiler::codegen::CodegenError::Unsupported(message)) => {
                eprintln!("{}: {message}", dir.display());
            }
            Err(other) => panic!("{}: {other}", dir.display()),
        }
    }
    eprintln!("compiled: {compiled:?}");
    assert!(compiled.len() >= 8, "only {compiled:?} compiled");
}
