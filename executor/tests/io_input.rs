//! The input side of `flowc run` on real files: globs over real folders,
//! chunk planning of LF, CRLF and quoted-newline CSV files, the bytes the
//! stage workers read, and (by property) that every `split` from 1 to 64
//! bytes covers each file exactly once without splitting a record.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use flow_executor::ChunkId;
use flow_executor::input::{ChunkPlace, InputChunks, InputError, InputSource, expand_glob};
use flow_executor::stage_worker::ChunkSource;
use flow_runtime::decode::{csv_rows, lines};
use flow_runtime::{Value, decode_value};
use proptest::prelude::*;

/// A fresh, empty folder under the system's temporary folder, removed when
/// dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "flow-io-test-{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("scratch folder");
        Scratch(path)
    }

    fn write(&self, relative: &str, bytes: &[u8]) {
        let path = self.0.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("folder");
        }
        fs::write(path, bytes).expect("written");
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn shown_paths(scratch: &Scratch, glob: &str) -> Vec<String> {
    expand_glob(scratch.path(), glob)
        .expect("matches")
        .into_iter()
        .map(|file| file.path)
        .collect()
}

/// Every chunk of `input`: its place and the bytes a worker reads.
fn read_all(input: &InputChunks) -> Vec<(ChunkPlace, Vec<u8>, i64)> {
    (0..input.len())
        .map(|index| {
            let id = ChunkId(u32::try_from(index).expect("small"));
            let place = input.chunk(id).expect("planned");
            let read = input.read(id).expect("readable");
            (place, read.bytes, read.first)
        })
        .collect()
}

#[test]
fn globs_match_real_folders_sorted_relative_and_slash_separated() {
    let scratch = Scratch::new("glob");
    for name in [
        "data/b.txt",
        "data/a.txt",
        "data/x/y/c.txt",
        "data/x/d.csv",
        "data/.hidden.txt",
        "data/.git/e.txt",
        "data/ab.txt",
        "other/z.txt",
    ] {
        scratch.write(name, b"x\n");
    }
    assert_eq!(
        shown_paths(&scratch, "data/**/*.txt"),
        vec!["data/a.txt", "data/ab.txt", "data/b.txt", "data/x/y/c.txt"]
    );
    assert_eq!(
        shown_paths(&scratch, "data/?.txt"),
        vec!["data/a.txt", "data/b.txt"]
    );
    assert_eq!(shown_paths(&scratch, "data/[!a].txt"), vec!["data/b.txt"]);
    assert_eq!(
        shown_paths(&scratch, "data/[a-b]b.txt"),
        vec!["data/ab.txt"]
    );
    assert_eq!(shown_paths(&scratch, "*/*/*.csv"), vec!["data/x/d.csv"]);
    assert_eq!(
        shown_paths(&scratch, "./data/.h*"),
        vec!["data/.hidden.txt"]
    );
    assert_eq!(
        shown_paths(&scratch, "data/x/../b.txt"),
        vec!["data/x/../b.txt"]
    );
    let error = expand_glob(scratch.path(), "data/*.json").expect_err("no match");
    assert!(matches!(error, InputError::NoMatch { .. }));
    assert!(error.to_string().contains("`data/*.json`"), "{error}");
}

#[test]
fn an_input_without_matches_fails_before_any_chunk_is_planned() {
    let scratch = Scratch::new("nomatch");
    scratch.write("a.txt", b"x\n");
    for source in [
        InputSource::Lines(String::from("logs/*.log")),
        InputSource::Csv(String::from("*.csv")),
        InputSource::Jsonl(String::from("*.jsonl")),
        InputSource::Files(String::from("*.md")),
    ] {
        let error = InputChunks::plan(&source, scratch.path(), 10).expect_err("no match");
        assert!(matches!(error, InputError::NoMatch { .. }), "{error:?}");
    }
    let error = InputChunks::plan(&InputSource::Lines(String::from("[a")), scratch.path(), 10)
        .expect_err("bad glob");
    assert!(matches!(error, InputError::BadGlob { .. }), "{error:?}");
}

#[test]
fn crlf_lines_are_cut_after_the_line_feed_with_line_numbers() {
    let scratch = Scratch::new("crlf");
    scratch.write("a.txt", b"one\r\ntwo\r\nthree\r\nfour");
    let input = InputChunks::plan(
        &InputSource::Lines(String::from("*.txt")),
        scratch.path(),
        8,
    )
    .expect("planned");
    let chunks = read_all(&input);
    let bytes: Vec<&[u8]> = chunks
        .iter()
        .map(|(_, bytes, _)| bytes.as_slice())
        .collect();
    assert_eq!(bytes, vec![&b"one\r\ntwo\r\n"[..], &b"three\r\nfour"[..]]);
    let firsts: Vec<i64> = chunks.iter().map(|(_, _, first)| *first).collect();
    assert_eq!(firsts, vec![1, 3]);
    assert_eq!(input.sizes(), vec![10, 11]);
    assert_eq!(input.describe(ChunkId(1)), "a.txt");
    let texts: Vec<&str> = lines(bytes[1])
        .expect("UTF-8")
        .iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(texts, vec!["three", "four"]);
}

#[test]
fn a_quoted_csv_newline_across_the_split_point_stays_in_one_chunk() {
    let scratch = Scratch::new("csvquote");
    // Each file has its own header; the split point (8 bytes into the body)
    // falls inside the quoted field of the first row.
    scratch.write(
        "a.csv",
        b"id,text\r\n1,\"hello\r\nworld, \"\"again\"\"\"\r\n2,x\r\n",
    );
    scratch.write("b.csv", b"text,id\n\"q\nr\",3\n");
    let input = InputChunks::plan(&InputSource::Csv(String::from("*.csv")), scratch.path(), 8)
        .expect("planned");
    let chunks = read_all(&input);
    assert_eq!(chunks.len(), 3);
    assert_eq!(chunks[0].1, b"1,\"hello\r\nworld, \"\"again\"\"\"\r\n");
    assert_eq!(chunks[0].2, 2);
    assert_eq!(chunks[1].1, b"2,x\r\n");
    assert_eq!(chunks[1].2, 4);
    assert_eq!(chunks[2].1, b"\"q\nr\",3\n");
    assert_eq!(chunks[2].2, 2);
    let rows = csv_rows(&chunks[0].1).expect("parses");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].fields, vec!["1", "hello\r\nworld, \"again\""]);
    assert_eq!(input.header(ChunkId(0)), Some("id,text"));
    assert_eq!(input.header(ChunkId(1)), Some("id,text"));
    assert_eq!(input.header(ChunkId(2)), Some("text,id"));
    assert_eq!(input.distinct_headers(), vec!["id,text", "text,id"]);
    assert_eq!(input.describe(ChunkId(2)), "b.csv");
}

#[test]
fn a_csv_file_with_only_a_header_has_no_chunks() {
    let scratch = Scratch::new("csvempty");
    scratch.write("a.csv", b"id,text\n");
    scratch.write("b.csv", b"");
    let input = InputChunks::plan(&InputSource::Csv(String::from("*.csv")), scratch.path(), 8)
        .expect("planned");
    assert!(input.is_empty());
    assert_eq!(input.files().len(), 2);
}

#[test]
fn files_chunks_carry_encoded_path_and_content_tuples() {
    let scratch = Scratch::new("files");
    scratch.write("docs/a.md", b"alpha");
    scratch.write("docs/b.md", b"be");
    scratch.write("docs/c.md", b"gamma gamma");
    let input = InputChunks::plan(
        &InputSource::Files(String::from("docs/*.md")),
        scratch.path(),
        2,
    )
    .expect("planned");
    let chunks = read_all(&input);
    let places: Vec<ChunkPlace> = chunks.iter().map(|(place, _, _)| place.clone()).collect();
    assert_eq!(
        places,
        vec![
            ChunkPlace::Files { files: 0..2 },
            ChunkPlace::Files { files: 2..3 }
        ]
    );
    let first = decode_value(&chunks[0].1).expect("decodes");
    assert_eq!(
        first,
        Value::List(vec![
            Value::Tuple(vec![Value::str("docs/a.md"), Value::str("alpha")]),
            Value::Tuple(vec![Value::str("docs/b.md"), Value::str("be")]),
        ])
    );
    assert_eq!(chunks[1].2, 2);
    assert_eq!(input.sizes(), vec![7, 11]);
    assert_eq!(input.describe(ChunkId(0)), "docs/a.md and 1 more file");
}

#[test]
fn range_chunks_are_split_items_as_two_little_endian_ints() {
    let input = InputChunks::plan(&InputSource::Range(-3, 7), Path::new("."), 4).expect("planned");
    let chunks = read_all(&input);
    let expected = [(-3i64, 1i64), (1, 5), (5, 7)];
    assert_eq!(chunks.len(), expected.len());
    for ((place, bytes, first), (start, end)) in chunks.iter().zip(expected) {
        assert_eq!(*place, ChunkPlace::Range { items: start..end });
        let mut want = start.to_le_bytes().to_vec();
        want.extend_from_slice(&end.to_le_bytes());
        assert_eq!(*bytes, want);
        assert_eq!(*first, start);
    }
    assert_eq!(input.sizes(), vec![4, 4, 2]);
    assert!(
        InputChunks::plan(&InputSource::Range(5, 5), Path::new("."), 4)
            .expect("planned")
            .is_empty()
    );
    let huge = InputChunks::plan(&InputSource::Range(i64::MIN, i64::MAX), Path::new("."), 1);
    assert!(matches!(huge, Err(InputError::TooManyChunks { .. })));
    let whole = InputChunks::plan(
        &InputSource::Range(i64::MIN, i64::MAX),
        Path::new("."),
        u64::MAX,
    )
    .expect("planned");
    assert_eq!(
        whole.chunk(ChunkId(0)),
        Some(ChunkPlace::Range {
            items: i64::MIN..i64::MAX
        })
    );
}

#[test]
fn a_file_that_shrinks_after_planning_is_a_read_error() {
    let scratch = Scratch::new("shrink");
    scratch.write("a.txt", b"0123456789\nabc\n");
    let input = InputChunks::plan(
        &InputSource::Lines(String::from("a.txt")),
        scratch.path(),
        1,
    )
    .expect("planned");
    scratch.write("a.txt", b"01\n");
    let error = input.read(ChunkId(1)).expect_err("shorter");
    assert!(error.contains("shorter"), "{error}");
    assert!(input.read(ChunkId(9)).is_err());
}

/// One generated CSV field: plain text, or text needing quotes.
fn csv_field() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-c ,\"\n\r]{0,6}").expect("regex")
}

/// A CSV file with a header and rows, as text, with the fields of each row.
fn csv_file() -> impl Strategy<Value = (Vec<u8>, Vec<Vec<String>>)> {
    (
        proptest::collection::vec(proptest::collection::vec(csv_field(), 2), 0..8),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(rows, crlf, final_newline)| {
            let newline = if crlf { "\r\n" } else { "\n" };
            let mut text = format!("left,right{newline}");
            for (index, row) in rows.iter().enumerate() {
                let cells: Vec<String> = row
                    .iter()
                    .map(|field| {
                        if field.contains([',', '"', '\n', '\r']) {
                            format!("\"{}\"", field.replace('"', "\"\""))
                        } else {
                            field.clone()
                        }
                    })
                    .collect();
                text.push_str(&cells.join(","));
                if index + 1 < rows.len() || final_newline {
                    text.push_str(newline);
                }
            }
            (text.into_bytes(), rows)
        })
}

/// A text file of lines (LF or CRLF, with or without a final line end).
fn text_file() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(
            proptest::string::string_regex("[a-z ]{0,9}").expect("regex"),
            0..10,
        ),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, final_newline)| {
            let newline = if crlf { "\r\n" } else { "\n" };
            let mut text = lines.join(newline);
            if final_newline && !lines.is_empty() {
                text.push_str(newline);
            }
            text.into_bytes()
        })
}

/// Checks that the chunks of file `file_index` are contiguous, cover
/// `body_start..file_len`, and start at the right line numbers; returns
/// the chunks' bytes in order.
fn check_cover(
    chunks: &[(ChunkPlace, Vec<u8>, i64)],
    file_index: u32,
    content: &[u8],
    body_start: u64,
) -> Vec<Vec<u8>> {
    let mut next = body_start;
    let mut out = Vec::new();
    for (place, bytes, first) in chunks {
        let ChunkPlace::Text {
            file,
            bytes: range,
            first_line,
        } = place
        else {
            panic!("a text chunk, not {place:?}");
        };
        if *file != file_index {
            continue;
        }
        assert_eq!(range.start, next, "chunks are contiguous");
        assert!(range.end > range.start, "no empty chunk");
        let start = usize::try_from(range.start).expect("small");
        let newlines_before = content[..start].iter().filter(|b| **b == b'\n').count();
        assert_eq!(*first_line, 1 + newlines_before as i64);
        assert_eq!(*first, *first_line);
        out.push(bytes.clone());
        next = range.end;
    }
    let file_len = content.len() as u64;
    assert_eq!(
        next.max(body_start),
        file_len.max(body_start),
        "the chunks reach the file's end"
    );
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_split_covers_csv_files_once_without_splitting_a_row(
        files in proptest::collection::vec(csv_file(), 1..3),
    ) {
        let scratch = Scratch::new("propcsv");
        for (index, (bytes, _)) in files.iter().enumerate() {
            scratch.write(&format!("in/{index}.csv"), bytes);
        }
        let source = InputSource::Csv(String::from("in/*.csv"));
        for split in 1..=64u64 {
            let input = InputChunks::plan(&source, scratch.path(), split).expect("planned");
            let again = InputChunks::plan(&source, scratch.path(), split).expect("planned");
            let places: Vec<_> = (0..input.len()).map(|i| input.chunk(ChunkId(i as u32))).collect();
            let places_again: Vec<_> = (0..again.len()).map(|i| again.chunk(ChunkId(i as u32))).collect();
            prop_assert_eq!(places, places_again, "planning is deterministic");
            let chunks = read_all(&input);
            for (index, (bytes, rows)) in files.iter().enumerate() {
                let header_end = bytes.iter().position(|b| *b == b'\n').map_or(bytes.len(), |i| i + 1);
                let pieces = check_cover(&chunks, index as u32, bytes, header_end as u64);
                let mut parsed = Vec::new();
                for piece in &pieces {
                    for row in csv_rows(piece).expect("every chunk parses on its own") {
                        parsed.push(row.fields);
                    }
                }
                // Rows of two empty fields are `,`, which parses as two
                // empty fields, so every row comes back whole.
                prop_assert_eq!(&parsed, rows, "split {}", split);
            }
        }
    }

    #[test]
    fn every_split_covers_text_files_once_at_line_ends(
        files in proptest::collection::vec(text_file(), 1..3),
    ) {
        let scratch = Scratch::new("proplines");
        for (index, bytes) in files.iter().enumerate() {
            scratch.write(&format!("{index}.txt"), bytes);
        }
        let source = InputSource::Lines(String::from("*.txt"));
        for split in 1..=64u64 {
            let input = InputChunks::plan(&source, scratch.path(), split).expect("planned");
            let chunks = read_all(&input);
            for (index, bytes) in files.iter().enumerate() {
                let pieces = check_cover(&chunks, index as u32, bytes, 0);
                let last = pieces.len().saturating_sub(1);
                for (position, piece) in pieces.iter().enumerate() {
                    if position < last {
                        prop_assert!(piece.ends_with(b"\n"), "a chunk ends at a line end");
                        prop_assert!(piece.len() as u64 >= split, "a chunk holds at least split bytes");
                    }
                }
                let whole: Vec<u8> = pieces.concat();
                prop_assert_eq!(&whole, bytes);
                let from_chunks: Vec<String> = pieces
                    .iter()
                    .flat_map(|piece| lines(piece).expect("UTF-8").into_iter().map(|l| l.text.to_string()))
                    .collect();
                let from_file: Vec<String> =
                    lines(bytes).expect("UTF-8").into_iter().map(|l| l.text.to_string()).collect();
                prop_assert_eq!(from_chunks, from_file);
            }
        }
    }
}
