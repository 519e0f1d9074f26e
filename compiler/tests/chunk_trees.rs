//! Per-operator chunk-tree tests (issue #3): for every aggregation, the
//! same input split into 1, 2, 7 and 64 chunks, each chunk processed by the
//! real stage module, the partials merged in several tree shapes (left
//! fold, right fold, balanced, seeded random trees that also swap operands)
//! and finished, gives the same bytes as the one-chunk run; and that run
//! equals the reference interpreter's.
//!
//! One job holds every operator as an `output`, so the module is compiled
//! once for all the tests; each operator is its own `#[test]` through
//! [`check`].

mod harness;

use std::sync::OnceLock;

use flow_compiler::interp::{self, Chunk, RunInput};
use flow_executor::host::{Host, HostConfig, StageInstance, StageModule};
use flow_runtime::{Value, encode_value};
use harness::{ChunkData, Job, failure_kind};

/// Every aggregation of the contract over one `lines` input. Each line is
/// `<int> <float> <word> <special float>`.
const JOB: &str = r#"
input ls = lines("data/*.txt")

fn field(l: str, i: int) -> str = get(split(l, " "), i)
fn n(l: str) -> int = to_int(field(l, 0))
fn x(l: str) -> float = to_float(field(l, 1))
fn w(l: str) -> str = field(l, 2)
fn sx(l: str) -> float = to_float(field(l, 3))

output r_count = ls |> count()
output r_sum_int = ls |> map(n) |> sum()
output r_sum_float = ls |> map(x) |> sum()
output r_mean_int = ls |> map(n) |> mean()
output r_mean_float = ls |> map(x) |> mean()
output r_min_int = ls |> map(n) |> min()
output r_max_int = ls |> map(n) |> max()
output r_min_special = ls |> map(sx) |> min()
output r_max_special = ls |> map(sx) |> max()
output r_min_line = ls |> min()
output r_top = ls |> top(9, by: l => n(l) % 7)
output r_bottom = ls |> bottom(9, by: l => w(l))
output r_sort = ls |> map(sx) |> sort()
output r_sort_by = ls |> sort(by: l => (w(l), n(l) % 3))
output r_distinct = ls |> map(w) |> distinct()
output r_distinct_special = ls |> map(sx) |> distinct()
output r_count_by = ls |> count_by(w)
output r_sum_by_int = ls |> sum_by(w, n)
output r_sum_by_float = ls |> sum_by(w, x)
output r_reduce_by = ls |> reduce_by(w, n, (a, b) => max(a, b))
output r_reduce = ls |> map(n) |> reduce((a, b) => a + b)
output r_reduce_tuples = ls |> map(l => (w(l), n(l))) |> reduce((a, b) => min(a, b))
output r_collect = ls |> map(l => (n(l) % 5, w(l))) |> collect()
"#;

/// How many lines the input has.
const LINES: usize = 300;

/// Floats whose naive sum depends on the order of additions.
const FLOATS: &[&str] = &[
    "1e16", "1.0", "-1e16", "0.1", "0.2", "0.3", "1e-10", "3.0e15", "-3.0e15", "2.5", "-0.5",
    "1e300", "-1e300", "7e-300",
];

/// Floats whose order is delicate: signed zeros, infinities, NaN.
const SPECIALS: &[&str] = &["0.0", "-0.0", "inf", "-inf", "nan", "1.5", "-1.5", "1e-320"];

const WORDS: &[&str] = &[
    "apple", "pear", "fig", "Apple", "é", "straße", "kiwi", "fig", "plum", "z",
];

/// A deterministic generator (splitmix64), so every run sees the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The input's lines.
fn lines() -> Vec<String> {
    let mut rng = Rng(7);
    (0..LINES)
        .map(|_| {
            let n = rng.below(2_000_001) as i64 - 1_000_000;
            format!(
                "{n} {} {} {}",
                FLOATS[rng.below(FLOATS.len())],
                WORDS[rng.below(WORDS.len())],
                SPECIALS[rng.below(SPECIALS.len())]
            )
        })
        .collect()
}

/// The lines cut into `count` contiguous chunks of whole lines (sizes
/// differ; none is empty), with the 1-based line number of each first line.
fn split(lines: &[String], count: usize) -> Vec<ChunkData> {
    let mut chunks = Vec::new();
    let mut start = 0;
    for index in 0..count {
        let end = (lines.len() * (index + 1) / count).max(start + 1);
        let mut bytes = lines[start..end].join("\n").into_bytes();
        // Some chunks end with CRLF or with no line end at all.
        bytes.extend_from_slice(match index % 3 {
            0 => b"\n".as_slice(),
            1 => b"\r\n",
            _ if end == lines.len() => b"",
            _ => b"\n",
        });
        chunks.push(ChunkData {
            bytes,
            first: start as i64 + 1,
            header: String::new(),
        });
        start = end;
    }
    chunks
}

/// The job, compiled once, and its module loaded once.
struct Shared {
    job: Job,
    host: Host,
    module: StageModule,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let job = harness::compile(JOB);
        let host = Host::new(HostConfig::default()).expect("the host starts");
        let module = host
            .load_stage(job.package.module().expect("the plan's module"))
            .expect("the host loads the module");
        Shared { job, host, module }
    })
}

/// How partials are merged into one.
#[derive(Clone, Copy, Debug)]
enum Shape {
    LeftFold,
    RightFold,
    Balanced,
    /// Repeatedly merges two partials picked at random (in either operand
    /// order), as peers merge whatever arrives.
    Random(u64),
}

fn merge_tree(
    instance: &mut StageInstance,
    stage: u32,
    partials: &[Vec<u8>],
    shape: Shape,
) -> Vec<u8> {
    let mut merge = |a: &[u8], b: &[u8]| {
        instance
            .merge(stage, a, b)
            .unwrap_or_else(|e| panic!("merge failed: {}", failure_kind(&e)))
    };
    match shape {
        Shape::LeftFold => {
            let mut acc = partials[0].clone();
            for p in &partials[1..] {
                acc = merge(&acc, p);
            }
            acc
        }
        Shape::RightFold => {
            let mut acc = partials[partials.len() - 1].clone();
            for p in partials[..partials.len() - 1].iter().rev() {
                acc = merge(p, &acc);
            }
            acc
        }
        Shape::Balanced => {
            let mut level = partials.to_vec();
            while level.len() > 1 {
                level = level
                    .chunks(2)
                    .map(|pair| match pair {
                        [a, b] => merge(a, b),
                        [a] => a.clone(),
                        _ => unreachable!("chunks(2) gives one or two"),
                    })
                    .collect();
            }
            level.remove(0)
        }
        Shape::Random(seed) => {
            let mut rng = Rng(seed);
            let mut pool = partials.to_vec();
            while pool.len() > 1 {
                let a = pool.swap_remove(rng.below(pool.len()));
                let b = pool.swap_remove(rng.below(pool.len()));
                let merged = if rng.below(2) == 0 {
                    merge(&a, &b)
                } else {
                    merge(&b, &a)
                };
                pool.push(merged);
            }
            pool.remove(0)
        }
    }
}

/// The finished value of output `name`'s stage over `chunks` merged as
/// `shape`, encoded.
fn run(instance: &mut StageInstance, stage: u32, chunks: &[ChunkData], shape: Shape) -> Vec<u8> {
    let ctx = harness::ctx("", &[], []);
    let partials: Vec<Vec<u8>> = chunks
        .iter()
        .map(|chunk| {
            instance
                .process(stage, &chunk.bytes, &ctx, chunk.first)
                .unwrap_or_else(|e| panic!("process failed: {}", failure_kind(&e)))
        })
        .collect();
    let merged = merge_tree(instance, stage, &partials, shape);
    instance
        .finish(stage, &merged)
        .unwrap_or_else(|e| panic!("finish failed: {}", failure_kind(&e)))
}

/// The property for output `name`: every split and tree shape gives the
/// bytes of the one-chunk run, which equal the interpreter's value; the
/// output's value export passes the stage result through unchanged.
fn check(name: &str) {
    let shared = shared();
    let plan = &shared.job.package.plan;
    let value = plan
        .values
        .iter()
        .find(|v| v.name == format!("r_{name}"))
        .unwrap_or_else(|| panic!("no output `r_{name}`"));
    let [stage] = value.stages[..] else {
        panic!("`{name}` reads one stage, not {:?}", value.stages);
    };
    let mut instance = StageInstance::new(&shared.host, &shared.module);
    let lines = lines();
    let reference = run(&mut instance, stage, &split(&lines, 1), Shape::LeftFold);
    for count in [2, 7, 64] {
        let chunks = split(&lines, count);
        assert_eq!(chunks.len(), count);
        let shapes = [
            Shape::LeftFold,
            Shape::RightFold,
            Shape::Balanced,
            Shape::Random(count as u64),
            Shape::Random(1000 + count as u64),
            Shape::Random(2000 + count as u64),
        ];
        for shape in shapes {
            let bytes = run(&mut instance, stage, &chunks, shape);
            assert!(
                bytes == reference,
                "`{name}` over {count} chunks merged as {shape:?} gives {:?}, one chunk gives {:?}",
                flow_runtime::decode_value(&bytes),
                flow_runtime::decode_value(&reference)
            );
        }
    }
    // The interpreter agrees with the one-chunk run, bit for bit.
    let input = RunInput {
        chunks: vec![vec![Chunk::text(&(lines.join("\n") + "\n"))]],
        params: Vec::new(),
    };
    let interpreted = interp::run_value(&shared.job.lowered, &input, value.index)
        .unwrap_or_else(|e| panic!("the interpreter fails on `{name}`: {e}"));
    assert_eq!(
        encode_value(&interpreted),
        reference,
        "`{name}`: the interpreter gives {interpreted:?}"
    );
    let result = flow_runtime::decode_value(&reference).expect("the result decodes");
    let ctx = harness::ctx("", &[], [result]);
    let through_value = instance
        .value(value.index, &ctx)
        .unwrap_or_else(|e| panic!("value_{} failed: {}", value.index, failure_kind(&e)));
    assert_eq!(through_value, reference, "`{name}` is its stage's result");
}

/// A value that a test also checks by hand, decoded from the one-chunk run.
fn one_chunk_value(name: &str) -> Value {
    let shared = shared();
    let value = shared
        .job
        .package
        .plan
        .values
        .iter()
        .find(|v| v.name == format!("r_{name}"))
        .expect("the output exists");
    let mut instance = StageInstance::new(&shared.host, &shared.module);
    let bytes = run(
        &mut instance,
        value.stages[0],
        &split(&lines(), 1),
        Shape::LeftFold,
    );
    flow_runtime::decode_value(&bytes).expect("the result decodes")
}

#[test]
fn count() {
    check("count");
    assert_eq!(one_chunk_value("count"), Value::Int(LINES as i64));
}

#[test]
fn sum_int() {
    check("sum_int");
}

/// The correctly rounded sum of `xs` by Shewchuk's algorithm (as Python's
/// `math.fsum`): an oracle independent of the runtime's exact accumulator.
fn fsum(xs: &[f64]) -> f64 {
    let mut partials: Vec<f64> = Vec::new();
    for &item in xs {
        let mut x = item;
        let mut kept = 0;
        for j in 0..partials.len() {
            let mut y = partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        partials.truncate(kept);
        partials.push(x);
    }
    let Some(mut n) = partials.len().checked_sub(1) else {
        return 0.0;
    };
    let mut hi = partials[n];
    let mut lo = 0.0;
    while n > 0 {
        let x = hi;
        n -= 1;
        let y = partials[n];
        hi = x + y;
        lo = y - (hi - x);
        if lo != 0.0 {
            break;
        }
    }
    // Round half to even across the remaining partials.
    if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
        let y = lo * 2.0;
        let x = hi + y;
        if y == x - hi {
            hi = x;
        }
    }
    hi
}

#[test]
fn sum_float_is_correctly_rounded() {
    check("sum_float");
    let xs: Vec<f64> = lines()
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap().parse::<f64>().unwrap())
        .collect();
    // The data makes naive summation order-dependent...
    let forward: f64 = xs.iter().sum();
    let backward: f64 = xs.iter().rev().sum();
    assert_ne!(forward.to_bits(), backward.to_bits());
    // ...and the stage gives the correctly rounded sum.
    assert_eq!(one_chunk_value("sum_float"), Value::Float(fsum(&xs)));
}

#[test]
fn mean_int() {
    check("mean_int");
}

#[test]
fn mean_float() {
    check("mean_float");
}

#[test]
fn min_int() {
    check("min_int");
}

#[test]
fn max_int() {
    check("max_int");
}

#[test]
fn min_of_signed_zeros_infinities_and_nan() {
    check("min_special");
}

#[test]
fn max_of_signed_zeros_infinities_and_nan() {
    check("max_special");
}

#[test]
fn min_of_strings() {
    check("min_line");
}

#[test]
fn top() {
    check("top");
}

#[test]
fn bottom() {
    check("bottom");
}

#[test]
fn sort() {
    check("sort");
}

#[test]
fn sort_by() {
    check("sort_by");
}

#[test]
fn distinct() {
    check("distinct");
}

#[test]
fn distinct_of_special_floats() {
    check("distinct_special");
}

#[test]
fn count_by() {
    check("count_by");
}

#[test]
fn sum_by_int() {
    check("sum_by_int");
}

#[test]
fn sum_by_float() {
    check("sum_by_float");
}

#[test]
fn reduce_by() {
    check("reduce_by");
}

#[test]
fn reduce() {
    check("reduce");
}

#[test]
fn reduce_over_tuples() {
    check("reduce_tuples");
}

#[test]
fn collect() {
    check("collect");
}
