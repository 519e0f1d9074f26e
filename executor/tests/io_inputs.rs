//! The input side of `flowc run` on real files: glob expansion, chunk
//! planning at record boundaries (LF, CRLF, CSV quoted newlines), chunk
//! bytes as docs/abi.md describes them, and a property test that chunks of
//! every split from 1 to 64 bytes cover each file exactly once without
//! splitting a record.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use flow_executor::ChunkId;
use flow_executor::input::{ChunkPlace, InputChunks, InputError, InputSource, expand_glob};
use flow_executor::stage_worker::ChunkSource;
use flow_runtime::decode::{csv_rows, lines};
use flow_runtime::{Value, decode_value};
use proptest::prelude::*;

/// A fresh folder under the system's temporary folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("flow-io-inputs-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn write(&self, relative: &str, bytes: &[u8]) {
        let path = self.0.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn shown(files: &[flow_executor::input::InputFile]) -> Vec<&str> {
    files.iter().map(|f| f.path.as_str()).collect()
}

fn all_chunks(input: &InputChunks) -> Vec<ChunkPlace> {
    (0..input.len() as u32)
        .map(|i| input.chunk(ChunkId(i)).unwrap())
        .collect()
}

#[test]
fn globs_expand_sorted_relative_and_slash_separated() {
    let dir = TempDir::new();
    for name in [
        "data/b.txt",
        "data/a.txt",
        "data/a.csv",
        "data/x/c.txt",
        "data/x/y/d.txt",
        "data/.hidden.txt",
        "data/.git/e.txt",
        "data/file1.txt",
        "data/file2.txt",
        "data/fileA.txt",
    ] {
        dir.write(name, b"x\n");
    }
    let expand = |glob: &str| expand_glob(dir.path(), glob).map(|files| shown(&files).join(" "));
    assert_eq!(
        expand("data/*.txt").unwrap(),
        "data/a.txt data/b.txt data/file1.txt data/file2.txt data/fileA.txt"
    );
    assert_eq!(
        expand("data/file?.txt").unwrap(),
        "data/file1.txt data/file2.txt data/fileA.txt"
    );
    assert_eq!(
        expand("data/file[0-9].txt").unwrap(),
        "data/file1.txt data/file2.txt"
    );
    assert_eq!(expand("data/file[!0-9].txt").unwrap(), "data/fileA.txt");
    assert_eq!(
        expand("data/**/*.txt").unwrap(),
        "data/a.txt data/b.txt data/file1.txt data/file2.txt data/fileA.txt data/x/c.txt data/x/y/d.txt"
    );
    assert_eq!(expand("**/d.txt").unwrap(), "data/x/y/d.txt");
    assert_eq!(expand("data/x/**").unwrap(), "data/x/c.txt data/x/y/d.txt");
    assert_eq!(expand("./data//a.csv").unwrap(), "data/a.csv");
    assert_eq!(expand("data/.*.txt").unwrap(), "data/.hidden.txt");
    assert_eq!(expand("data/*/../a.csv").unwrap(), "data/x/../a.csv");
    // A folder is not a file.
    assert!(matches!(expand("data/x"), Err(InputError::NoMatch { .. })));
}

#[test]
fn a_glob_that_matches_nothing_is_an_error_naming_it() {
    let dir = TempDir::new();
    dir.write("data/a.txt", b"x\n");
    let error = expand_glob(dir.path(), "data/*.csv").unwrap_err();
    assert!(matches!(&error, InputError::NoMatch { glob, .. } if glob == "data/*.csv"));
    assert!(error.to_string().contains("`data/*.csv`"), "{error}");
    let error = InputChunks::plan(
        &InputSource::Lines("missing/**/*.txt".into()),
        dir.path(),
        10,
    )
    .unwrap_err();
    assert!(error.to_string().contains("missing/**/*.txt"), "{error}");
    let error = expand_glob(dir.path(), "data/[a.txt").unwrap_err();
    assert!(matches!(error, InputError::BadGlob { .. }));
}

#[test]
fn lines_are_cut_at_line_ends_with_their_line_numbers() {
    let dir = TempDir::new();
    dir.write("a.txt", b"one\ntwo\nthree\nfour");
    dir.write("b.txt", b"five\r\nsix\r\n");
    let input = InputChunks::plan(&InputSource::Lines("*.txt".into()), dir.path(), 5).unwrap();
    assert_eq!(
        all_chunks(&input),
        vec![
            ChunkPlace::Text {
                file: 0,
                bytes: 0..8,
                first_line: 1
            },
            ChunkPlace::Text {
                file: 0,
                bytes: 8..14,
                first_line: 3
            },
            ChunkPlace::Text {
                file: 0,
                bytes: 14..18,
                first_line: 4
            },
            ChunkPlace::Text {
                file: 1,
                bytes: 0..6,
                first_line: 1
            },
            ChunkPlace::Text {
                file: 1,
                bytes: 6..11,
                first_line: 2
            },
        ]
    );
    assert_eq!(input.sizes(), vec![8, 6, 4, 6, 5]);
    let chunk = input.read(ChunkId(1)).unwrap();
    assert_eq!(chunk.bytes, b"three\n");
    assert_eq!(chunk.first, 3);
    assert_eq!(input.read(ChunkId(2)).unwrap().bytes, b"four");
    let chunk = input.read(ChunkId(4)).unwrap();
    assert_eq!(chunk.bytes, b"six\r\n");
    assert_eq!(input.describe(ChunkId(4)), "b.txt");
    assert!(input.read(ChunkId(5)).is_err());
    assert_eq!(input.header(ChunkId(0)), None);
}

#[test]
fn csv_headers_are_per_file_and_a_quoted_newline_is_never_cut() {
    let dir = TempDir::new();
    // With split 5 the planner cuts at the first record end at or after
    // byte 16; the `\n` at byte 17 is inside the quoted field "ab\r\ncd",
    // so it is not one, and the cut comes after the row, at byte 23.
    dir.write("a.csv", b"name,note\r\nx,\"ab\r\ncd\"\r\ny,z\r\n");
    dir.write("b.csv", b"note,name\n\"q\"\"\n\",w\n");
    let input = InputChunks::plan(&InputSource::Csv("*.csv".into()), dir.path(), 5).unwrap();
    let chunks = all_chunks(&input);
    assert_eq!(
        chunks,
        vec![
            ChunkPlace::Text {
                file: 0,
                bytes: 11..23,
                first_line: 2
            },
            ChunkPlace::Text {
                file: 0,
                bytes: 23..28,
                first_line: 4
            },
            ChunkPlace::Text {
                file: 1,
                bytes: 10..19,
                first_line: 2
            },
        ]
    );
    assert_eq!(input.header(ChunkId(0)), Some("name,note"));
    assert_eq!(input.header(ChunkId(2)), Some("note,name"));
    assert_eq!(input.distinct_headers(), vec!["name,note", "note,name"]);
    let first = input.read(ChunkId(0)).unwrap();
    let rows = csv_rows(&first.bytes).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].fields,
        vec!["x".to_string(), "ab\r\ncd".to_string()]
    );
    let last = input.read(ChunkId(2)).unwrap();
    assert_eq!(
        csv_rows(&last.bytes).unwrap()[0].fields,
        vec!["q\"\n".to_string(), "w".to_string()]
    );
}

#[test]
fn a_csv_file_with_only_a_header_has_no_chunks() {
    let dir = TempDir::new();
    dir.write("a.csv", b"a,b\n");
    dir.write("b.csv", b"");
    let input = InputChunks::plan(&InputSource::Csv("*.csv".into()), dir.path(), 8).unwrap();
    assert!(input.is_empty());
    assert_eq!(input.files().len(), 2);
}

#[test]
fn files_chunks_are_encoded_lists_of_whole_files() {
    let dir = TempDir::new();
    dir.write("docs/a.md", b"aaaa");
    dir.write("docs/b.md", b"bb");
    dir.write("docs/c.md", b"cccccc");
    dir.write("docs/d.md", b"d");
    let input = InputChunks::plan(&InputSource::Files("docs/*.md".into()), dir.path(), 5).unwrap();
    assert_eq!(
        all_chunks(&input),
        vec![
            ChunkPlace::Files { files: 0..2 },
            ChunkPlace::Files { files: 2..3 },
            ChunkPlace::Files { files: 3..4 },
        ]
    );
    assert_eq!(input.sizes(), vec![6, 6, 1]);
    let chunk = input.read(ChunkId(0)).unwrap();
    assert_eq!(chunk.first, 0);
    assert_eq!(
        decode_value(&chunk.bytes).unwrap(),
        Value::List(vec![
            Value::Tuple(vec![Value::str("docs/a.md"), Value::str("aaaa")]),
            Value::Tuple(vec![Value::str("docs/b.md"), Value::str("bb")]),
        ])
    );
    assert_eq!(input.read(ChunkId(2)).unwrap().first, 3);
    assert_eq!(input.describe(ChunkId(0)), "docs/a.md and 1 more file");
}

#[test]
fn a_files_input_that_is_not_text_fails_when_read_naming_the_file() {
    let dir = TempDir::new();
    dir.write("bin/x.dat", b"\xff\xfe");
    let input = InputChunks::plan(&InputSource::Files("bin/*".into()), dir.path(), 5).unwrap();
    let error = input.read(ChunkId(0)).unwrap_err();
    assert!(error.contains("bin/x.dat"), "{error}");
}

#[test]
fn range_chunks_are_sixteen_bytes_of_bounds() {
    let input = InputChunks::plan(&InputSource::Range(-5, 20), Path::new("."), 10).unwrap();
    assert_eq!(
        all_chunks(&input),
        vec![
            ChunkPlace::Range { items: -5..5 },
            ChunkPlace::Range { items: 5..15 },
            ChunkPlace::Range { items: 15..20 },
        ]
    );
    assert_eq!(input.sizes(), vec![10, 10, 5]);
    let chunk = input.read(ChunkId(2)).unwrap();
    let mut expected = 15i64.to_le_bytes().to_vec();
    expected.extend_from_slice(&20i64.to_le_bytes());
    assert_eq!(chunk.bytes, expected);
    assert!(
        InputChunks::plan(&InputSource::Range(3, 3), Path::new("."), 10)
            .unwrap()
            .is_empty()
    );
    assert!(
        InputChunks::plan(&InputSource::Range(9, 3), Path::new("."), 10)
            .unwrap()
            .is_empty()
    );
    // The extreme bounds neither overflow nor make too many chunks.
    let wide = InputChunks::plan(
        &InputSource::Range(i64::MIN, i64::MAX),
        Path::new("."),
        u64::MAX,
    )
    .unwrap();
    assert_eq!(
        all_chunks(&wide),
        vec![ChunkPlace::Range {
            items: i64::MIN..i64::MAX
        }]
    );
    let error = InputChunks::plan(&InputSource::Range(0, i64::MAX), Path::new("."), 1).unwrap_err();
    assert!(matches!(error, InputError::TooManyChunks { .. }));
    assert_eq!(input.work().coverage().chunks().count(), 3);
}

#[test]
fn a_file_that_shrinks_after_planning_is_an_error_when_read() {
    let dir = TempDir::new();
    dir.write("a.txt", b"one\ntwo\nthree\n");
    let input = InputChunks::plan(&InputSource::Lines("a.txt".into()), dir.path(), 1).unwrap();
    dir.write("a.txt", b"one\n");
    assert_eq!(input.read(ChunkId(0)).unwrap().bytes, b"one\n");
    let error = input.read(ChunkId(2)).unwrap_err();
    assert!(error.contains("shorter"), "{error}");
}

#[test]
fn planning_is_deterministic() {
    let dir = TempDir::new();
    dir.write("d/2.txt", b"a\nbb\nccc\n");
    dir.write("d/1.txt", b"dddd\ne\n");
    let plan = || {
        all_chunks(&InputChunks::plan(&InputSource::Lines("d/*".into()), dir.path(), 3).unwrap())
    };
    assert_eq!(plan(), plan());
}

/// Checks the chunks of one text file for one split: they are contiguous,
/// cover the body exactly, end on record ends, and decode to the same
/// records (with the same absolute line numbers) as the whole body.
fn check_cover(dir: &TempDir, content: &[u8], csv: bool, split: u64) -> Result<(), TestCaseError> {
    let source = if csv {
        InputSource::Csv("f.csv".into())
    } else {
        InputSource::Lines("f.csv".into())
    };
    let input = InputChunks::plan(&source, dir.path(), split).unwrap();
    let body_start = if csv {
        content
            .iter()
            .position(|&b| b == b'\n')
            .map_or(content.len(), |i| i + 1)
    } else {
        0
    };
    let body_first_line: u64 = if csv { 2 } else { 1 };
    let mut at = body_start as u64;
    let mut joined = Vec::new();
    let mut records = Vec::new();
    for index in 0..input.len() {
        let place = input.chunk(ChunkId(index as u32)).unwrap();
        let ChunkPlace::Text {
            file: 0,
            bytes,
            first_line,
        } = place
        else {
            return Err(TestCaseError::fail(format!("unexpected chunk {place:?}")));
        };
        prop_assert_eq!(bytes.start, at, "chunks are contiguous");
        prop_assert!(bytes.end > bytes.start, "no empty chunk");
        let chunk = input.read(ChunkId(index as u32)).unwrap();
        prop_assert_eq!(
            &chunk.bytes[..],
            &content[bytes.start as usize..bytes.end as usize]
        );
        prop_assert_eq!(chunk.first, first_line);
        let expected_line = body_first_line
            + content[body_start..bytes.start as usize]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
        prop_assert_eq!(first_line as u64, expected_line);
        if bytes.end < content.len() as u64 {
            prop_assert_eq!(
                chunk.bytes.last(),
                Some(&b'\n'),
                "a chunk that is not last ends a line"
            );
            prop_assert!(
                bytes.end - bytes.start >= split,
                "a chunk that is not last reaches the split"
            );
        }
        if csv {
            for row in csv_rows(&chunk.bytes).unwrap() {
                records.push((row.line + first_line as u64 - 1, row.fields));
            }
        } else {
            for line in lines(&chunk.bytes).unwrap() {
                records.push((
                    line.number + first_line as u64 - 1,
                    vec![line.text.to_string()],
                ));
            }
        }
        joined.extend_from_slice(&chunk.bytes);
        at = bytes.end;
    }
    prop_assert_eq!(
        at,
        content.len() as u64,
        "the chunks reach the end of the file"
    );
    prop_assert_eq!(&joined[..], &content[body_start..]);
    let body = &content[body_start..];
    let whole: Vec<(u64, Vec<String>)> = if csv {
        csv_rows(body)
            .unwrap()
            .into_iter()
            .map(|row| (row.line + body_first_line - 1, row.fields))
            .collect()
    } else {
        lines(body)
            .unwrap()
            .into_iter()
            .map(|line| (line.number, vec![line.text.to_string()]))
            .collect()
    };
    prop_assert_eq!(records, whole);
    Ok(())
}

/// A CSV field: plain text, or quoted text holding commas, quotes, LF and
/// CRLF.
fn csv_field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 ]{0,6}",
        "[a-z,\"\n]{0,6}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
        "[a-z]{0,3}".prop_map(|s| format!("\"{s}\r\n{s}\"")),
    ]
}

/// A CSV file: a header, then rows of 1 to 3 fields with LF or CRLF ends,
/// sometimes an empty line, sometimes no final line end.
fn csv_file() -> impl Strategy<Value = Vec<u8>> {
    let row = (
        prop::collection::vec(csv_field(), 1..4),
        prop_oneof!["\n", "\r\n", "\n\n"],
    );
    (prop::collection::vec(row, 0..12), any::<bool>()).prop_map(|(rows, final_end)| {
        let mut text = String::from("a,b,c\r\n");
        let count = rows.len();
        for (index, (fields, end)) in rows.into_iter().enumerate() {
            text.push_str(&fields.join(","));
            if index + 1 < count || final_end {
                text.push_str(&end);
            }
        }
        text.into_bytes()
    })
}

/// A text file of short lines, LF or CRLF, empty lines included.
fn lines_file() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(("[a-zé\"]{0,8}", prop_oneof!["\n", "\r\n"]), 0..16),
        any::<bool>(),
    )
        .prop_map(|(lines, final_end)| {
            let mut text = String::new();
            let count = lines.len();
            for (index, (line, end)) in lines.into_iter().enumerate() {
                text.push_str(&line);
                if index + 1 < count || final_end {
                    text.push_str(&end);
                }
            }
            text.into_bytes()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn csv_chunks_of_every_split_cover_the_file_once(content in csv_file()) {
        let dir = TempDir::new();
        dir.write("f.csv", &content);
        for split in 1..=64 {
            check_cover(&dir, &content, true, split)?;
        }
    }

    #[test]
    fn line_chunks_of_every_split_cover_the_file_once(content in lines_file()) {
        let dir = TempDir::new();
        dir.write("f.csv", &content);
        for split in 1..=64 {
            check_cover(&dir, &content, false, split)?;
        }
    }
}
