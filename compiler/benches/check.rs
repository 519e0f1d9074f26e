//! How long the one analysis takes on a large job: a generated 5,000-line
//! `.flow` file is parsed, resolved, type-checked and linted, as `flowc
//! check` does.
//!
//! Run with `cargo bench -p flow-compiler --bench check`; it prints the
//! median, minimum and maximum over several runs (the target is a median
//! under 100 ms). Not a test: timings are never asserted.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use flow_compiler::analyze;

// The same generated job as the parse benchmark of flow-lang.
#[path = "../../lang/benches/generated_job.rs"]
mod generated_job;

use generated_job::generate;

fn main() {
    let text = generate(5_000);
    let line_count = text.lines().count();
    let files: HashMap<String, String> = [("job.flow".to_string(), text)].into();
    let roots = vec!["job.flow".to_string()];

    // Warm up once, and make sure the generated job is valid: a benchmark of
    // a job full of errors would measure the wrong thing.
    let analysis = analyze(&roots, &files);
    assert!(
        analysis.diagnostics.is_empty(),
        "the generated job has diagnostics: {:?}",
        analysis.diagnostics.first()
    );

    let mut times: Vec<Duration> = (0..15)
        .map(|_| {
            let start = Instant::now();
            let analysis = analyze(&roots, &files);
            let elapsed = start.elapsed();
            std::hint::black_box(analysis);
            elapsed
        })
        .collect();
    times.sort();
    let text = &files["job.flow"];
    let mut parse_times: Vec<Duration> = (0..15)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(flow_lang::parse(flow_lang::FileId(0), text));
            start.elapsed()
        })
        .collect();
    parse_times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    println!(
        "check of a {line_count}-line job: median {:.1} ms (min {:.1}, max {:.1}, 15 runs)",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
    println!(
        "of which parsing alone: median {:.1} ms",
        ms(parse_times[parse_times.len() / 2])
    );
}
