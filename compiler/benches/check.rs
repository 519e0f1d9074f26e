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

/// A job of about `lines` lines in the style of the examples: records,
/// functions with blocks and tail recursion, params, inputs, multi-phase
/// lets and outputs, each group numbered so every name is unique.
fn generate(lines: usize) -> String {
    let mut out = String::from(
        "//! A generated job for the checker benchmark.\n\
         input corpus = lines(\"data/*.txt\")\n\
         input ids = range(0, 1_000_000)\n",
    );
    let mut group = 0;
    while out.lines().count() < lines {
        let g = group;
        out.push_str(&format!(
            "\n/// Group {g}.\n\
             type Row{g} = {{ city: str, temp: float, count: int }}\n\
             param limit{g}: int = {g}\n\
             input rows{g}: Row{g} = csv(\"data/rows{g}/*.csv\")\n\
             fn hot{g}(r: Row{g}) -> bool = r.temp > 20.5 and r.count < limit{g}\n\
             fn steps{g}(n: int, acc: int) -> int =\n  \
               if n <= 1 then acc\n  \
               else if n % 2 == 0 then steps{g}(n / 2, acc + 1)\n  \
               else steps{g}(3 * n + 1, acc + 1)\n\
             fn words{g}(line: str) -> [str] = {{\n  \
               let lowered = lower(line);\n  \
               lowered |> words |> filter(w => len(w) > 2)\n\
             }}\n\
             let total{g} = rows{g} |> map(r => r.temp) |> sum()\n\
             let n{g} = rows{g} |> count()\n\
             output mean{g} = total{g} / float(n{g})\n\
             output hot_cities{g} = rows{g} |> filter(hot{g}) |> count_by(r => r.city) |> top(10, by: p => p.1)\n\
             output longest{g} = ids |> map(i => (steps{g}(i, 0), i)) |> max()\n\
             output common{g} = corpus |> flat_map(words{g}) |> count_by(w => w) |> sort(by: p => -p.1)\n"
        ));
        group += 1;
    }
    out
}

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
