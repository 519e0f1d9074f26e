//! The generated job both front-end benchmarks measure
//! (`cargo bench -p flow-lang --bench parse`,
//! `cargo bench -p flow-compiler --bench check`), so their figures compare.

/// A job of about `lines` lines in the style of the examples: records,
/// functions with blocks and tail recursion, params, inputs, multi-phase
/// lets and outputs, each group numbered so every name is unique.
pub fn generate(lines: usize) -> String {
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
