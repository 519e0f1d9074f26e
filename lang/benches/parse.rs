//! How long `flow_lang::parse` takes on a large file: the generated
//! 5,000-line job of the checker benchmark (`compiler/benches/check.rs`),
//! so the two figures can be compared.
//!
//! Run with `cargo bench -p flow-lang --bench parse`; it prints the median,
//! minimum and maximum over 31 runs (the target is a median under 40 ms).
//! A number among the arguments sets the run count instead (`1` under
//! `valgrind --tool=callgrind`, whose instruction counts do not depend on
//! what else the machine is doing). Not a test: timings are never asserted.

use std::time::{Duration, Instant};

use flow_lang::{FileId, parse};

mod generated_job;

use generated_job::generate;

fn main() {
    let text = generate(5_000);
    let line_count = text.lines().count();

    // Warm up once, and make sure the generated job parses cleanly: a
    // benchmark of syntax errors would measure the wrong thing.
    let parsed = parse(FileId(0), &text);
    assert!(
        parsed.diagnostics.is_empty(),
        "the generated job has syntax errors: {:?}",
        parsed.diagnostics.first()
    );

    let runs = std::env::args()
        .find_map(|arg| arg.parse::<usize>().ok())
        .unwrap_or(31)
        .max(1);
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(parse(FileId(0), std::hint::black_box(&text)));
            start.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    println!(
        "parse of a {line_count}-line file ({} bytes): median {:.1} ms (min {:.1}, max {:.1}, {runs} runs)",
        text.len(),
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
}
