//! Inputs of a run: globs resolved on this machine's disk, and each input
//! cut into chunks at record boundaries, read lazily when a worker needs
//! them (files are never read whole into memory, except `files` inputs,
//! whose records are whole files).
//!
//! Globs are relative to the folder of the `.flow` file that declares the
//! input, support `*`, `?`, `[…]` and `**`, and expand in sorted order of
//! their `/`-separated relative paths. A glob that matches nothing is an
//! error before any work starts.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flow_compiler::plan::PlanSource;
use flow_executor::coverage::ChunkId;
use flow_executor::stage_worker::{ChunkBytes, ChunkSource};
use flow_runtime::{Value, encode_value};

/// One input file: its path as users see it and where it is on disk.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Relative to the `.flow` file's folder, `/`-separated.
    pub shown: String,
    pub path: PathBuf,
}

/// Where one chunk's records are.
#[derive(Debug, Clone)]
enum ChunkPlace {
    /// Bytes `[offset, offset + len)` of file `file`, whose first line is
    /// line `first_line` of that file.
    Text {
        file: usize,
        offset: u64,
        len: u64,
        first_line: i64,
    },
    /// Whole files `[start, end)` of the input.
    Files { start: usize, end: usize },
    /// The integers `[start, end)`.
    Range { start: i64, end: i64 },
}

/// The chunks of one input.
#[derive(Debug)]
pub struct InputChunks {
    source: PlanSource,
    files: Vec<InputFile>,
    /// The CSV header of each file (CSV inputs only).
    headers: Vec<String>,
    chunks: Vec<ChunkPlace>,
}

impl InputChunks {
    /// Number of chunks.
    pub fn len(&self) -> usize {
        self.chunks.len()
    }

    /// The size of every chunk in bytes or items, for the scheduler.
    pub fn sizes(&self) -> Vec<u64> {
        self.chunks
            .iter()
            .map(|c| match c {
                ChunkPlace::Text { len, .. } => (*len).max(1),
                ChunkPlace::Files { start, end } => (end - start) as u64,
                ChunkPlace::Range { start, end } => end.saturating_sub(*start).max(1) as u64,
            })
            .collect()
    }

    /// The CSV header of the file a chunk comes from (empty otherwise).
    pub fn header_of(&self, chunk: ChunkId) -> &str {
        match self.chunks.get(chunk.0 as usize) {
            Some(ChunkPlace::Text { file, .. }) => {
                self.headers.get(*file).map_or("", String::as_str)
            }
            _ => "",
        }
    }

    /// Whether every chunk shares one header (so one `ctx` serves all).
    pub fn distinct_headers(&self) -> Vec<String> {
        let mut headers = self.headers.clone();
        headers.sort();
        headers.dedup();
        headers
    }

    /// The chunks whose file has `header`, for CSV inputs whose files
    /// differ in column order.
    pub fn chunks_with_header(&self, header: &str) -> Vec<ChunkId> {
        (0..self.chunks.len() as u32)
            .map(ChunkId)
            .filter(|c| self.header_of(*c) == header)
            .collect()
    }
}

/// Resolves an input's glob and cuts its files into chunks of about
/// `split` bytes (text inputs) or `split` items (`range`, `files`).
pub fn plan_text_input(
    source: PlanSource,
    base_dir: &Path,
    glob: &str,
    split: u64,
) -> Result<InputChunks, String> {
    let files = expand_glob(base_dir, glob)?;
    let mut chunks = Vec::new();
    let mut headers = Vec::new();
    if source == PlanSource::Files {
        let per_chunk = split.max(1) as usize;
        let mut start = 0;
        while start < files.len() {
            let end = (start + per_chunk).min(files.len());
            chunks.push(ChunkPlace::Files { start, end });
            start = end;
        }
        return Ok(InputChunks {
            source,
            files,
            headers,
            chunks,
        });
    }
    for (index, file) in files.iter().enumerate() {
        let (header, body_start, body_line) = if source == PlanSource::Csv {
            let (header, header_len) = read_csv_header(&file.path)
                .map_err(|e| format!("cannot read {}: {e}", file.shown))?;
            (header, header_len, 2)
        } else {
            (String::new(), 0, 1)
        };
        headers.push(header);
        cut_file(
            &file.path,
            index,
            body_start,
            body_line,
            split.max(1),
            source == PlanSource::Csv,
            &mut chunks,
        )
        .map_err(|e| format!("cannot read {}: {e}", file.shown))?;
    }
    Ok(InputChunks {
        source,
        files,
        headers,
        chunks,
    })
}

/// Cuts `[start, end)` of a `range` into chunks of `split` items.
pub fn plan_range(start: i64, end: i64, split: u64) -> InputChunks {
    let mut chunks = Vec::new();
    let step = i64::try_from(split.max(1)).unwrap_or(i64::MAX);
    let mut at = start;
    while at < end {
        let next = at.saturating_add(step).min(end);
        chunks.push(ChunkPlace::Range {
            start: at,
            end: next,
        });
        at = next;
    }
    InputChunks {
        source: PlanSource::Range,
        files: Vec::new(),
        headers: Vec::new(),
        chunks,
    }
}

/// The first line of a CSV file (without its line ending) and the byte
/// length of that line with its ending.
fn read_csv_header(path: &Path) -> std::io::Result<(String, u64)> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut line = Vec::new();
    let len = reader.read_until(b'\n', &mut line)? as u64;
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    let header = String::from_utf8(line).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "the header is not UTF-8")
    })?;
    Ok((header, len))
}

/// Scans a file from `start` with a bounded buffer and records chunks of
/// about `split` bytes that end at a line end (outside CSV quotes).
fn cut_file(
    path: &Path,
    file: usize,
    start: u64,
    first_line: i64,
    split: u64,
    csv_quotes: bool,
    chunks: &mut Vec<ChunkPlace>,
) -> std::io::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 16, File::open(path)?);
    reader.seek(SeekFrom::Start(start))?;
    let mut chunk_start = start;
    let mut chunk_line = first_line;
    let mut position = start;
    let mut lines_in_chunk: i64 = 0;
    let mut in_quotes = false;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        for &byte in &buffer[..read] {
            position += 1;
            if csv_quotes && byte == b'"' {
                in_quotes = !in_quotes;
            }
            if byte == b'\n' {
                lines_in_chunk += 1;
                if !in_quotes && position - chunk_start >= split {
                    chunks.push(ChunkPlace::Text {
                        file,
                        offset: chunk_start,
                        len: position - chunk_start,
                        first_line: chunk_line,
                    });
                    chunk_start = position;
                    chunk_line += lines_in_chunk;
                    lines_in_chunk = 0;
                }
            }
        }
    }
    if position > chunk_start {
        chunks.push(ChunkPlace::Text {
            file,
            offset: chunk_start,
            len: position - chunk_start,
            first_line: chunk_line,
        });
    }
    Ok(())
}

impl ChunkSource for InputChunks {
    fn read(&self, chunk: ChunkId) -> Result<ChunkBytes, String> {
        match self.chunks.get(chunk.0 as usize) {
            Some(ChunkPlace::Text {
                file,
                offset,
                len,
                first_line,
            }) => {
                let input = self.files.get(*file).ok_or("no such file")?;
                let mut handle = File::open(&input.path).map_err(|e| e.to_string())?;
                handle
                    .seek(SeekFrom::Start(*offset))
                    .map_err(|e| e.to_string())?;
                let mut bytes = Vec::with_capacity(*len as usize);
                handle
                    .take(*len)
                    .read_to_end(&mut bytes)
                    .map_err(|e| e.to_string())?;
                Ok(ChunkBytes {
                    bytes,
                    first: *first_line,
                })
            }
            Some(ChunkPlace::Files { start, end }) => {
                let mut items = Vec::new();
                for input in self.files.get(*start..*end).unwrap_or(&[]) {
                    let content = std::fs::read(&input.path)
                        .map_err(|e| format!("cannot read {}: {e}", input.shown))?;
                    let content = String::from_utf8(content)
                        .map_err(|_| format!("{} is not UTF-8 text", input.shown))?;
                    items.push(Value::Tuple(vec![
                        Value::Str(input.shown.clone()),
                        Value::Str(content),
                    ]));
                }
                Ok(ChunkBytes {
                    bytes: encode_value(&Value::List(items)),
                    first: *start as i64 + 1,
                })
            }
            Some(ChunkPlace::Range { start, end }) => {
                let mut bytes = start.to_le_bytes().to_vec();
                bytes.extend_from_slice(&end.to_le_bytes());
                Ok(ChunkBytes {
                    bytes,
                    first: *start,
                })
            }
            None => Err(format!("no chunk {}", chunk.0)),
        }
    }

    fn describe(&self, chunk: ChunkId) -> String {
        match self.chunks.get(chunk.0 as usize) {
            Some(ChunkPlace::Text {
                file, first_line, ..
            }) => {
                let shown = self.files.get(*file).map_or("?", |f| f.shown.as_str());
                format!("{shown} (from line {first_line})")
            }
            Some(ChunkPlace::Files { start, .. }) => {
                let shown = self.files.get(*start).map_or("?", |f| f.shown.as_str());
                format!("file {shown}")
            }
            Some(ChunkPlace::Range { start, end }) => format!("range {start}..{end}"),
            None => format!("chunk {}", chunk.0),
        }
    }
}

impl InputChunks {
    /// The file a text chunk comes from and its first line, to turn a
    /// record position inside the chunk into "file line N".
    pub fn file_of(&self, chunk: ChunkId) -> Option<(&str, i64)> {
        match self.chunks.get(chunk.0 as usize)? {
            ChunkPlace::Text {
                file, first_line, ..
            } => Some((self.files.get(*file)?.shown.as_str(), *first_line)),
            ChunkPlace::Files { start, .. } => Some((self.files.get(*start)?.shown.as_str(), 1)),
            ChunkPlace::Range { .. } => None,
        }
    }

    /// The input's kind.
    pub fn source(&self) -> PlanSource {
        self.source
    }
}

/// The files under `base` matching `glob`, sorted by relative path.
pub fn expand_glob(base: &Path, glob: &str) -> Result<Vec<InputFile>, String> {
    let glob = glob.replace('\\', "/");
    let segments: Vec<&str> = glob.split('/').filter(|s| !s.is_empty()).collect();
    let mut found = Vec::new();
    walk(base, "", &segments, &mut found);
    found.sort_by(|a: &InputFile, b| a.shown.cmp(&b.shown));
    found.dedup_by(|a, b| a.shown == b.shown);
    if found.is_empty() {
        return Err(format!(
            "`{glob}` matches no file (relative to {})",
            if base.as_os_str().is_empty() {
                ".".to_string()
            } else {
                base.display().to_string()
            }
        ));
    }
    Ok(found)
}

fn walk(dir: &Path, shown: &str, segments: &[&str], out: &mut Vec<InputFile>) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    let join = |name: &str| {
        if shown.is_empty() {
            name.to_string()
        } else {
            format!("{shown}/{name}")
        }
    };
    let here = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if *first == "**" {
        // `**` matches zero folders…
        walk(dir, shown, rest, out);
        // …or any number of them.
        let Ok(entries) = std::fs::read_dir(here) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                let name = entry.file_name().to_string_lossy().into_owned();
                walk(&dir.join(&name), &join(&name), segments, out);
            }
        }
        return;
    }
    if *first == "." {
        walk(dir, shown, rest, out);
        return;
    }
    if *first == ".." {
        walk(&dir.join(".."), &join(".."), rest, out);
        return;
    }
    let Ok(entries) = std::fs::read_dir(here) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !matches_segment(first, &name) {
            continue;
        }
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if rest.is_empty() {
            if !is_dir {
                out.push(InputFile {
                    shown: join(&name),
                    path: dir.join(&name),
                });
            }
        } else if is_dir {
            walk(&dir.join(&name), &join(&name), rest, out);
        }
    }
}

/// Whether a file name matches one glob segment (`*`, `?`, `[abc]`,
/// `[a-z]`, `[!x]`). A leading dot is matched only by a literal dot.
pub fn matches_segment(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    matches_from(&pattern, &name)
}

fn matches_from(pattern: &[char], name: &[char]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|skip| matches_from(&pattern[1..], &name[skip..])),
        Some('?') => !name.is_empty() && matches_from(&pattern[1..], &name[1..]),
        Some('[') => {
            let Some(close) = pattern
                .iter()
                .skip(1)
                .position(|c| *c == ']')
                .map(|p| p + 1)
            else {
                return name.first() == Some(&'[') && matches_from(&pattern[1..], &name[1..]);
            };
            let Some(c) = name.first() else {
                return false;
            };
            let mut class = &pattern[1..close];
            let negated = matches!(class.first(), Some('!' | '^'));
            if negated {
                class = &class[1..];
            }
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= *c && *c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == *c;
                    i += 1;
                }
            }
            hit != negated && matches_from(&pattern[close + 1..], &name[1..])
        }
        Some(p) => name.first() == Some(p) && matches_from(&pattern[1..], &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_segments_match_like_a_shell() {
        assert!(matches_segment("*.txt", "a.txt"));
        assert!(!matches_segment("*.txt", "a.csv"));
        assert!(matches_segment("a?c", "abc"));
        assert!(matches_segment("[a-c]x", "bx"));
        assert!(!matches_segment("[!a-c]x", "bx"));
        assert!(!matches_segment("*", ".hidden"));
        assert!(matches_segment(".*", ".hidden"));
        assert!(matches_segment("été*", "été.txt"));
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("flowc-inputs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn double_star_crosses_folders_and_results_are_sorted() {
        let dir = temp_dir("glob");
        for path in ["b.log", "x/a.log", "x/y/c.log", "x/y/c.txt"] {
            let full = dir.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, "1\n").unwrap();
        }
        let shown: Vec<String> = expand_glob(&dir, "**/*.log")
            .unwrap()
            .into_iter()
            .map(|f| f.shown)
            .collect();
        assert_eq!(shown, ["b.log", "x/a.log", "x/y/c.log"]);
        assert!(expand_glob(&dir, "nothing/*.log").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn chunks_cover_every_line_once_at_every_split_size() {
        let dir = temp_dir("chunks");
        let text = "one\r\ntwo\nthree \"quoted\nnewline\"\nfour\nlast without end";
        std::fs::write(dir.join("a.txt"), text).unwrap();
        for split in 1..=40 {
            let input = plan_text_input(PlanSource::Lines, &dir, "*.txt", split).unwrap();
            let mut joined = Vec::new();
            let mut expected_line = 1;
            for chunk in 0..input.len() as u32 {
                let bytes = input.read(ChunkId(chunk)).unwrap();
                assert_eq!(bytes.first, expected_line, "split {split}");
                expected_line += bytes.bytes.iter().filter(|b| **b == b'\n').count() as i64;
                assert!(chunk as usize + 1 == input.len() || bytes.bytes.ends_with(b"\n"));
                joined.extend(bytes.bytes);
            }
            assert_eq!(joined, text.as_bytes(), "split {split}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn csv_chunks_skip_the_header_and_never_cut_inside_quotes() {
        let dir = temp_dir("csv");
        let text = "name,note\na,\"x\ny\"\nb,plain\n";
        std::fs::write(dir.join("a.csv"), text).unwrap();
        for split in 1..=20 {
            let input = plan_text_input(PlanSource::Csv, &dir, "*.csv", split).unwrap();
            assert_eq!(input.header_of(ChunkId(0)), "name,note");
            let first = input.read(ChunkId(0)).unwrap();
            assert_eq!(first.first, 2);
            assert!(first.bytes.starts_with(b"a,\"x\ny\"\n"), "split {split}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ranges_split_into_items() {
        let input = plan_range(0, 10, 4);
        assert_eq!(input.sizes(), [4, 4, 2]);
        let last = input.read(ChunkId(2)).unwrap();
        assert_eq!(last.bytes.len(), 16);
        assert!(plan_range(5, 5, 4).len() == 0);
    }
}
