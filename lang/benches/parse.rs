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
