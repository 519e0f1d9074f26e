//! The baseline of flowc's word-count benchmarks: the same job as
//! `examples/wordcount/job.flow`, written by hand in plain Rust.
//!
//! Usage: `native-wordcount FILE [THREADS] [TOP_N]`. It reads the file,
//! cuts it into one piece per thread at line boundaries, counts the
//! lower-cased words of each line (maximal runs of Unicode alphanumeric
//! characters, as Flow's `words`) in a hash table per thread, merges the
//! tables, and prints the total and the `TOP_N` most frequent words (ties:
//! the smaller word first), like the Flow job's two outputs.

use std::collections::HashMap;
use std::process::ExitCode;

use native_wordcount::{count_words, pieces};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: native-wordcount FILE [THREADS] [TOP_N]");
        return ExitCode::from(2);
    };
    let threads = args
        .get(2)
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let top_n: usize = args.get(3).and_then(|t| t.parse().ok()).unwrap_or(20);
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("cannot read {path}: {error}");
            return ExitCode::from(1);
        }
    };
    let results: Vec<(u64, HashMap<String, u64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = pieces(&text, threads)
            .into_iter()
            .map(|piece| {
                scope.spawn(move || {
                    let mut counts = HashMap::new();
                    let total = count_words(piece, &mut counts);
                    (total, counts)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut total = 0;
    let mut merged: HashMap<String, u64> = HashMap::new();
    for (piece_total, counts) in results {
        total += piece_total;
        for (word, n) in counts {
            *merged.entry(word).or_insert(0) += n;
        }
    }
    let mut ranked: Vec<(String, u64)> = merged.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(top_n);
    println!("total_words = {total}");
    for (word, n) in ranked {
        println!("{word}\t{n}");
    }
    ExitCode::SUCCESS
}
