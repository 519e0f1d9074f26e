//! The baseline of flowc's word-count benchmarks, as a library so that
//! `native-wordcount` (the multi-threaded program of `bench/wordcount.sh`)
//! and the one-thread stage benchmark (`benches/stage.rs`) count words with
//! the same hand-written code.

use std::collections::HashMap;

/// Counts the lower-cased words of each line of `text` (maximal runs of
/// Unicode alphanumeric characters, as Flow's `words`) into `counts`;
/// returns how many words there were.
pub fn count_words(text: &str, counts: &mut HashMap<String, u64>) -> u64 {
    let mut total = 0;
    for line in text.lines() {
        let lowered = line.to_lowercase();
        for word in lowered
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            total += 1;
            match counts.get_mut(word) {
                Some(n) => *n += 1,
                None => {
                    counts.insert(word.to_string(), 1);
                }
            }
        }
    }
    total
}

/// Cuts `text` into about `parts` pieces that end at line boundaries.
pub fn pieces(text: &str, parts: usize) -> Vec<&str> {
    pieces_of_size(text, text.len().div_ceil(parts.max(1)))
}

/// Cuts `text` into pieces of about `size` bytes that end at line
/// boundaries (each piece runs on to the end of the line it stops in).
pub fn pieces_of_size(text: &str, size: usize) -> Vec<&str> {
    let size = size.max(1);
    let mut out = Vec::with_capacity(text.len() / size + 1);
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + size).min(text.len());
        while end < text.len() && text.as_bytes()[end - 1] != b'\n' {
            end += 1;
        }
        out.push(&text[start..end]);
        start = end;
    }
    out
}
