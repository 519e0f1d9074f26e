//! The fused word-count stage against hand-written Rust, on one thread
//! (issue #3: the WebAssembly stage at least 60% of native speed).
//!
//! The `count_by` stage of `examples/wordcount/job.flow` (`flat_map(tokens)
//! |> count_by(w => w)`, fused into one `process` export) is compiled by the
//! real compiler and run by the real wasmtime host over a generated corpus
//! cut into 4 MiB chunks at line boundaries, the job's own split: `process`
//! per chunk, `merge` of the partials in order, `finish`. The baseline,
//! `native_wordcount::count_words` (the code of `bench/wordcount.sh`'s
//! native program), does the same work in plain Rust on the same chunk
//! bytes: check UTF-8, lower-case each line, take maximal runs of
//! alphanumeric characters, count them in a hash table per chunk, merge
//! the tables. Both results are compared word by word before any figure is
//! printed, so a broken stage cannot look fast.
//!
//! Run with `cargo bench -p flowc --bench stage [-- MIB [RUNS]]` (defaults:
//! 64 MiB, 5 runs). It prints the median of each side and the ratio.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use flow_compiler::package::{self, JobPackage};
use flow_executor::host::{Host, HostConfig, StageInstance};
use flow_runtime::{Value, decode_value, encode_value};

/// The job's chunk size (`split = 4 MiB` in its policy).
const CHUNK: usize = 4 << 20;

fn main() {
    let numbers: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let mib = numbers.first().copied().unwrap_or(64);
    let runs = numbers.get(1).copied().unwrap_or(5).max(1);

    let text = corpus(mib << 20);
    let chunks = native_wordcount::pieces_of_size(&text, CHUNK);
    let job = compile_wordcount();
    let stage = job
        .plan
        .stages
        .iter()
        .find(|s| s.aggregation == "count_by")
        .expect("the word count has a count_by stage")
        .index;
    // The context of docs/abi.md: the CSV header (none), then the params
    // (`top_n`), then the values the stage uses (none).
    let context = encode_value(&Value::Tuple(vec![
        Value::Str(String::new()),
        Value::Int(20),
    ]));
    let host = Host::new(HostConfig::default()).expect("the host starts");
    let module = host
        .load_stage(job.module().expect("the plan names its module"))
        .expect("the stage module loads");
    let mut instance = StageInstance::new(&host, &module);

    let mut wasm_times = Vec::new();
    let mut native_times = Vec::new();
    let mut wasm_result = Vec::new();
    let mut native_result = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let mut merged: Option<Vec<u8>> = None;
        for chunk in &chunks {
            let partial = instance
                .process(stage, chunk.as_bytes(), &context, 1)
                .expect("the stage processes a chunk");
            merged = Some(match merged {
                None => partial,
                Some(m) => instance.merge(stage, &m, &partial).expect("merge"),
            });
        }
        let finished = instance
            .finish(stage, &merged.unwrap_or_default())
            .expect("finish");
        wasm_times.push(started.elapsed());
        wasm_result = counts_of(&finished);

        let started = Instant::now();
        let mut total: HashMap<String, u64> = HashMap::new();
        for chunk in &chunks {
            // The stage gets bytes and checks they are UTF-8; so does this.
            let text = std::str::from_utf8(chunk.as_bytes()).expect("the corpus is UTF-8");
            let mut counts = HashMap::new();
            native_wordcount::count_words(text, &mut counts);
            for (word, n) in counts {
                *total.entry(word).or_insert(0) += n;
            }
        }
        let mut list: Vec<(String, i64)> = total
            .into_iter()
            .map(|(word, n)| (word, n as i64))
            .collect();
        list.sort();
        native_times.push(started.elapsed());
        native_result = list;
    }
    assert_eq!(
        wasm_result.len(),
        native_result.len(),
        "the stage and the baseline find different numbers of distinct words"
    );
    assert!(
        wasm_result == native_result,
        "the stage and the baseline count differently"
    );

    let wasm = median(&mut wasm_times);
    let native = median(&mut native_times);
    let rate = |d: Duration| mib as f64 / d.as_secs_f64();
    println!(
        "fused word-count stage, {mib} MiB in {} chunks of 4 MiB, one thread, {runs} runs, {} distinct words",
        chunks.len(),
        wasm_result.len()
    );
    println!(
        "  wasm stage (wasmtime): median {:>8.1} ms  {:>7.1} MiB/s",
        wasm.as_secs_f64() * 1e3,
        rate(wasm)
    );
    println!(
        "  native Rust baseline : median {:>8.1} ms  {:>7.1} MiB/s",
        native.as_secs_f64() * 1e3,
        rate(native)
    );
    println!(
        "  the stage runs at {:.0}% of native speed (native time / stage time = {:.3})",
        100.0 * native.as_secs_f64() / wasm.as_secs_f64(),
        native.as_secs_f64() / wasm.as_secs_f64()
    );
}

/// The word-count example, compiled by the real compiler from its file.
fn compile_wordcount() -> JobPackage {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/wordcount/job.flow");
    let text = std::fs::read_to_string(path).expect("the example is readable");
    let provider: HashMap<String, String> = [("job.flow".to_string(), text)].into();
    let analysis = flow_compiler::analyze(&["job.flow".to_string()], &provider);
    assert!(!analysis.has_errors(), "the example checks clean");
    let root = analysis.program.jobs[0].root;
    package::build(&analysis, root).expect("the example compiles")
}

/// The finished `count_by` value as a sorted list of (word, count).
fn counts_of(encoded: &[u8]) -> Vec<(String, i64)> {
    let value = decode_value(encoded).expect("the finished value decodes");
    let Value::List(items) = value else {
        panic!("count_by finishes into a list, not {value:?}");
    };
    let mut out: Vec<(String, i64)> = items
        .into_iter()
        .map(|item| match item {
            Value::Tuple(pair) => match pair.as_slice() {
                [Value::Str(w), Value::Int(n)] => (w.clone(), *n),
                other => panic!("a (str, int) pair, not {other:?}"),
            },
            other => panic!("a tuple, not {other:?}"),
        })
        .collect();
    out.sort();
    out
}

/// A deterministic corpus of `bytes` bytes: a Zipf-like choice from a
/// vocabulary with mixed case, accented letters and punctuation, as
/// `bench/gen_corpus.py` writes (generated here so the benchmark needs
/// nothing but cargo).
fn corpus(bytes: usize) -> String {
    let syllables = [
        "ka", "lo", "mi", "ne", "ru", "sa", "te", "vi", "zo", "é", "ña", "ø", "da", "qu", "ri",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let vocabulary: Vec<String> = (0..20_000)
        .map(|i| {
            let parts = 1 + (next() % 4) as usize;
            let mut word: String = (0..parts)
                .map(|_| syllables[(next() % syllables.len() as u64) as usize])
                .collect();
            if i % 7 == 0 {
                word = word.to_uppercase();
            } else if i % 5 == 0 {
                let mut chars = word.chars();
                word = chars.next().map_or_else(String::new, |c| {
                    c.to_uppercase().chain(chars).collect::<String>()
                });
            }
            word
        })
        .collect();
    let punctuation = [" ", " ", " ", " ", ", ", ". ", "; ", " - ", "! "];
    let mut text = String::with_capacity(bytes + 128);
    let mut on_line = 0;
    while text.len() < bytes {
        // A Zipf-like rank: the smaller of a few uniform draws, squared.
        let u = (next() % 1_000_000) as f64 / 1_000_000.0;
        let rank = ((u * u * u) * vocabulary.len() as f64) as usize;
        text.push_str(&vocabulary[rank.min(vocabulary.len() - 1)]);
        on_line += 1;
        if on_line >= 8 + (next() % 8) as usize {
            text.push('\n');
            on_line = 0;
        } else {
            text.push_str(punctuation[(next() % punctuation.len() as u64) as usize]);
        }
    }
    text.push('\n');
    text
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}
