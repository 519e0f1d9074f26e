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
fn call_value(module: &[u8], index: u32, ctx: &[u8]) -> Result<Value, String> {
    use wasmtime::{Engine, Instance, Module, Store};
    let engine = Engine::default();
    let module = Module::new(&engine, module).map_err(|e| e.to_string())?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).map_err(|e| e.to_string())?;
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
    Text(Vec<&'static str>),
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
            let result = call_value(module_bytes, value.index, &encode_value(&Value::Tuple(ctx)))
                .unwrap_or_else(|e| panic!("value_{} ({}) failed: {e}", value.index, value.name));
            values[value.index as usize] = Some(result);
        }
    };
    for phase in 0..plan.phase_count() {
        compute_values(&stage_results, &mut values);
        for stage in plan.stages.iter().filter(|s| s.phase == phase) {
            let mut ctx = vec![Value::str("")];
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
                Chunks::Text(chunks) => {
                    assert_eq!(input.source, PlanSource::Lines);
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
    assert_eq!(package.plan.stages.len(), 2, "{:#?}", package.plan.stages);
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
