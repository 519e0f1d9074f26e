//! The inputs of a job on the peer that submits it (LANGUAGE.md §4): globs
//! resolved on this machine's disk, and each input cut into an ordered,
//! deterministic list of chunks that the scheduler hands out by
//! [`ChunkId`] and the stage workers read through [`ChunkSource`].
//!
//! - `lines`, `csv`, `jsonl`: each matched file is cut into chunks of about
//!   `split` bytes at record boundaries (see [`chunker`]); a chunk is a byte
//!   range of one file with the line number of its first line. A CSV file's
//!   first line is its header: it is in no chunk, and [`InputChunks::header`]
//!   gives it for the chunk's `ctx` (docs/abi.md). A UTF-8 byte order mark
//!   at the start of a file is skipped.
//! - `files`: chunks of `split` whole files, consecutive in sorted order
//!   (`split` counts files here, one by default, as docs/language.md §7
//!   says). A chunk's bytes are the encoded list of `(path, content)`
//!   tuples; `first` is the index of its first file. Its size for the
//!   scheduler is the files' total size in bytes.
//! - `range(a, b)`: chunks of `split` integers, 16 bytes each (start and
//!   end as little-endian `i64`); `first` is the chunk's start.
//!
//! The same files, contents and `split` always give the same chunks, in
//! the same order, with the same ids: chunk ids number the chunks of all
//! files in sorted file order. Files are only scanned when planning (with a
//! bounded buffer) and each chunk is read again with a seek when a worker
//! processes it, so no input is ever held in memory whole.
//!
//! Planning is bounded too: an input may have at most [`MAX_CHUNKS`]
//! chunks; a larger one asks for a larger `split`.

mod chunker;
mod glob;

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};

use flow_runtime::{Value, encode_value};

use crate::coverage::ChunkId;
use crate::stage_worker::{ChunkBytes, ChunkSource};
use crate::work::Work;

/// The most chunks one input may have. Each planned chunk costs a few dozen
/// bytes on the submitting peer and in the scheduler, so this bounds the
/// memory of a run whose `split` is far too small for its input.
pub const MAX_CHUNKS: usize = 1 << 24;

/// Which built-in source an input reads, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSource {
    /// `lines("glob")`.
    Lines(String),
    /// `csv("glob")`.
    Csv(String),
    /// `jsonl("glob")`.
    Jsonl(String),
    /// `files("glob")`.
    Files(String),
    /// `range(start, end)`: `start` inclusive, `end` exclusive.
    Range(i64, i64),
}

impl InputSource {
    /// The source as the program spells it, for messages.
    pub fn display(&self) -> String {
        match self {
            InputSource::Lines(glob) => format!("lines({glob:?})"),
            InputSource::Csv(glob) => format!("csv({glob:?})"),
            InputSource::Jsonl(glob) => format!("jsonl({glob:?})"),
            InputSource::Files(glob) => format!("files({glob:?})"),
            InputSource::Range(start, end) => format!("range({start}, {end})"),
        }
    }
}

/// One file an input reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The path as users see it: relative to the `.flow` file's folder (as
    /// the glob spells it), `/`-separated on every platform.
    pub path: String,
    /// Where the file is on this machine's disk.
    pub disk_path: PathBuf,
}

/// Where the records of one chunk are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkPlace {
    /// Bytes `bytes` of file `file` (an index into [`InputChunks::files`]),
    /// whose first line is line `first_line` (1-based) of that file.
    Text {
        /// The file's index.
        file: u32,
        /// The byte range.
        bytes: Range<u64>,
        /// The 1-based line number of the first line.
        first_line: i64,
    },
    /// Whole files `files` (indices into [`InputChunks::files`]).
    Files {
        /// The files' indices.
        files: Range<u32>,
    },
    /// The integers `items`.
    Range {
        /// The integers, end exclusive.
        items: Range<i64>,
    },
}

/// Why an input cannot be planned or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// The glob does not parse.
    BadGlob {
        /// The glob as written.
        glob: String,
        /// Why.
        reason: String,
    },
    /// The glob matches no file.
    NoMatch {
        /// The glob as written.
        glob: String,
        /// The folder it was resolved in.
        base_dir: String,
    },
    /// A file or folder could not be read.
    Unreadable {
        /// The path (shown form for files, disk form for folders).
        path: String,
        /// The operating system's reason.
        reason: String,
        /// The glob being expanded, when the error happened expanding it.
        glob: Option<String>,
    },
    /// A CSV file's first line is not a usable header.
    BadHeader {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The input would have more than `limit` chunks.
    TooManyChunks {
        /// The file or source being cut.
        input: String,
        /// The limit ([`MAX_CHUNKS`]).
        limit: usize,
    },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::BadGlob { glob, reason } => write!(f, "bad glob `{glob}`: {reason}"),
            InputError::NoMatch { glob, base_dir } => {
                write!(f, "the glob `{glob}` matches no file in `{base_dir}`")
            }
            InputError::Unreadable {
                path,
                reason,
                glob: Some(glob),
            } => write!(f, "cannot read `{path}` while expanding `{glob}`: {reason}"),
            InputError::Unreadable { path, reason, .. } => {
                write!(f, "cannot read `{path}`: {reason}")
            }
            InputError::BadHeader { path, reason } => {
                write!(f, "`{path}` has no usable CSV header: {reason}")
            }
            InputError::TooManyChunks { input, limit } => write!(
                f,
                "{input} would be cut into more than {limit} chunks: use a larger `split` in the policy"
            ),
        }
    }
}

impl std::error::Error for InputError {}

/// The files `glob` matches below `base_dir`, sorted by their shown path;
/// matching nothing is an error naming the glob. The glob syntax is that of
/// the [`glob`] module.
pub fn expand_glob(base_dir: &Path, glob: &str) -> Result<Vec<InputFile>, InputError> {
    let files = glob::Glob::parse(glob)?.expand(base_dir)?;
    if files.is_empty() {
        return Err(InputError::NoMatch {
            glob: glob.to_string(),
            base_dir: base_dir.display().to_string(),
        });
    }
    Ok(files)
}

/// The `split` of an input whose policy gives none (docs/language.md §7):
/// 4 MiB of text for `lines`, `csv` and `jsonl`, one file for `files`,
/// 100 000 items for `range`.
pub fn default_split(source: &InputSource) -> u64 {
    match source {
        InputSource::Lines(_) | InputSource::Csv(_) | InputSource::Jsonl(_) => 4 << 20,
        InputSource::Files(_) => 1,
        InputSource::Range(..) => 100_000,
    }
}

/// How the chunks of an input are kept: planned text and file chunks are
/// stored, range chunks are computed from their index.
#[derive(Debug, Clone)]
enum Plan {
    Stored(Vec<ChunkPlace>),
    Range { start: i64, end: i64, step: u64 },
}

/// The planned chunks of one input, and the reader of their bytes.
#[derive(Debug, Clone)]
pub struct InputChunks {
    source: InputSource,
    files: Vec<InputFile>,
    /// The CSV header of each file (`None` for other sources, and for an
    /// empty CSV file).
    headers: Vec<Option<String>>,
    /// The size in bytes of each file when it was planned.
    file_sizes: Vec<u64>,
    plan: Plan,
}

impl InputChunks {
    /// Resolves the input's glob in `base_dir` (the declaring `.flow` file's
    /// folder) and plans its chunks of about `split` bytes (`lines`, `csv`,
    /// `jsonl`), `split` files (`files`) or `split` items (`range`); a
    /// `split` of 0 counts as 1 (see [`default_split`] when the policy
    /// gives none). Every error happens here, before any work starts.
    pub fn plan(
        source: &InputSource,
        base_dir: &Path,
        split: u64,
    ) -> Result<InputChunks, InputError> {
        let split = split.max(1);
        match source {
            InputSource::Range(start, end) => Self::plan_range(source, *start, *end, split),
            InputSource::Files(glob) => {
                let files = expand_glob(base_dir, glob)?;
                if files.len() > MAX_CHUNKS {
                    return Err(InputError::TooManyChunks {
                        input: source.display(),
                        limit: MAX_CHUNKS,
                    });
                }
                let sizes = files
                    .iter()
                    .map(file_size)
                    .collect::<Result<Vec<u64>, InputError>>()?;
                let per_chunk = usize::try_from(split).unwrap_or(usize::MAX);
                let chunks = (0..files.len())
                    .step_by(per_chunk)
                    .map(|first| ChunkPlace::Files {
                        files: to_u32(first)
                            ..to_u32(first.saturating_add(per_chunk).min(files.len())),
                    })
                    .collect();
                Ok(InputChunks {
                    source: source.clone(),
                    headers: vec![None; files.len()],
                    files,
                    file_sizes: sizes,
                    plan: Plan::Stored(chunks),
                })
            }
            InputSource::Lines(glob) | InputSource::Csv(glob) | InputSource::Jsonl(glob) => {
                let csv = matches!(source, InputSource::Csv(_));
                let files = expand_glob(base_dir, glob)?;
                let mut chunks = Vec::new();
                let mut headers = Vec::with_capacity(files.len());
                let mut sizes = Vec::with_capacity(files.len());
                for (index, file) in files.iter().enumerate() {
                    let mut reader =
                        File::open(&file.disk_path).map_err(|error| InputError::Unreadable {
                            path: file.path.clone(),
                            reason: error.to_string(),
                            glob: None,
                        })?;
                    let budget = MAX_CHUNKS.saturating_sub(chunks.len());
                    let scanned = chunker::scan(&mut reader, &file.path, csv, split, budget)?;
                    let index = to_u32(index);
                    sizes.push(scanned.cuts.last().map_or(0, |cut| cut.end));
                    chunks.extend(scanned.cuts.into_iter().map(|cut| ChunkPlace::Text {
                        file: index,
                        bytes: cut.start..cut.end,
                        first_line: cut.first_line,
                    }));
                    headers.push(scanned.header);
                }
                Ok(InputChunks {
                    source: source.clone(),
                    files,
                    headers,
                    file_sizes: sizes,
                    plan: Plan::Stored(chunks),
                })
            }
        }
    }

    fn plan_range(
        source: &InputSource,
        start: i64,
        end: i64,
        step: u64,
    ) -> Result<InputChunks, InputError> {
        let plan = InputChunks {
            source: source.clone(),
            files: Vec::new(),
            headers: Vec::new(),
            file_sizes: Vec::new(),
            plan: Plan::Range { start, end, step },
        };
        if plan.len() > MAX_CHUNKS {
            return Err(InputError::TooManyChunks {
                input: source.display(),
                limit: MAX_CHUNKS,
            });
        }
        Ok(plan)
    }

    /// The source this input reads.
    pub fn source(&self) -> &InputSource {
        &self.source
    }

    /// The matched files, in chunk order (empty for `range`).
    pub fn files(&self) -> &[InputFile] {
        &self.files
    }

    /// How many chunks there are. An input whose files hold no records
    /// (empty files, or CSV files with only a header) has none.
    pub fn len(&self) -> usize {
        match &self.plan {
            Plan::Stored(chunks) => chunks.len(),
            Plan::Range { start, end, step } => {
                let items = (i128::from(*end) - i128::from(*start)).max(0);
                let chunks = (items + i128::from(*step) - 1) / i128::from(*step);
                usize::try_from(chunks).unwrap_or(usize::MAX)
            }
        }
    }

    /// Whether there are no chunks.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where chunk `chunk` is, or `None` past the last chunk.
    pub fn chunk(&self, chunk: ChunkId) -> Option<ChunkPlace> {
        let index = chunk.0 as usize;
        match &self.plan {
            Plan::Stored(chunks) => chunks.get(index).cloned(),
            Plan::Range { start, end, step } => {
                if index >= self.len() {
                    return None;
                }
                let offset = i128::from(*step) * index as i128;
                let first = i128::from(*start) + offset;
                let last = (first + i128::from(*step)).min(i128::from(*end));
                Some(ChunkPlace::Range {
                    items: i64::try_from(first).ok()?..i64::try_from(last).ok()?,
                })
            }
        }
    }

    /// The size of every chunk, in chunk order: bytes for text and `files`
    /// inputs, items for `range`. Never 0, so every chunk weighs something
    /// in the scheduler.
    pub fn sizes(&self) -> Vec<u64> {
        (0..self.len())
            .map(|index| {
                let size = match self.chunk(ChunkId(to_u32(index))) {
                    Some(ChunkPlace::Text { bytes, .. }) => bytes.end - bytes.start,
                    Some(ChunkPlace::Files { files }) => files
                        .map(|file| self.file_sizes.get(file as usize).copied().unwrap_or(0))
                        .sum(),
                    Some(ChunkPlace::Range { items }) => {
                        u64::try_from(i128::from(items.end) - i128::from(items.start)).unwrap_or(0)
                    }
                    None => 0,
                };
                size.max(1)
            })
            .collect()
    }

    /// Every chunk with its size, as the scheduler's [`Work`] of a whole
    /// phase at the origin.
    pub fn work(&self) -> Work {
        Work::from_sizes(&self.sizes())
    }

    /// The CSV header of the file chunk `chunk` comes from, without its line
    /// ending: the first field of the chunk's `ctx`. `None` for other
    /// inputs.
    pub fn header(&self, chunk: ChunkId) -> Option<&str> {
        match self.chunk(chunk)? {
            ChunkPlace::Text { file, .. } => self.headers.get(file as usize)?.as_deref(),
            _ => None,
        }
    }

    /// The distinct CSV headers of the input's files, sorted (empty for
    /// other inputs). When there is one, a single `ctx` serves every chunk.
    pub fn distinct_headers(&self) -> Vec<&str> {
        let mut headers: Vec<&str> = self.headers.iter().filter_map(|h| h.as_deref()).collect();
        headers.sort_unstable();
        headers.dedup();
        headers
    }

    /// The chunks whose file has CSV header `header`, in order: when the
    /// files of an input have different headers, each group of chunks runs
    /// with its own `ctx`.
    pub fn chunks_with_header(&self, header: &str) -> Vec<ChunkId> {
        (0..self.len())
            .map(|index| ChunkId(to_u32(index)))
            .filter(|&chunk| self.header(chunk) == Some(header))
            .collect()
    }

    /// The bytes of chunk `chunk` and its `first` position, as
    /// [`ChunkSource::read`] gives them; the error is a sentence.
    fn read_chunk(&self, chunk: ChunkId) -> Result<ChunkBytes, String> {
        let place = self
            .chunk(chunk)
            .ok_or_else(|| format!("chunk {} is not part of this input", chunk.0))?;
        match place {
            ChunkPlace::Text {
                file,
                bytes,
                first_line,
            } => {
                let file = self
                    .files
                    .get(file as usize)
                    .ok_or_else(|| format!("chunk {} names no file", chunk.0))?;
                let len = usize::try_from(bytes.end - bytes.start)
                    .map_err(|_| String::from("the chunk is too large for this machine"))?;
                let mut reader =
                    File::open(&file.disk_path).map_err(|e| format!("cannot open: {e}"))?;
                reader
                    .seek(SeekFrom::Start(bytes.start))
                    .map_err(|e| format!("cannot read: {e}"))?;
                let mut out = vec![0u8; len];
                reader.read_exact(&mut out).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::UnexpectedEof {
                        String::from("the file became shorter after the job started")
                    } else {
                        format!("cannot read: {e}")
                    }
                })?;
                Ok(ChunkBytes {
                    bytes: out,
                    first: first_line,
                })
            }
            ChunkPlace::Files { files } => {
                let mut items = Vec::with_capacity(files.len());
                for index in files.clone() {
                    let file = self
                        .files
                        .get(index as usize)
                        .ok_or_else(|| format!("chunk {} names no file", chunk.0))?;
                    let bytes = std::fs::read(&file.disk_path)
                        .map_err(|e| format!("cannot read `{}`: {e}", file.path))?;
                    let content = String::from_utf8(bytes)
                        .map_err(|_| format!("`{}` is not UTF-8 text", file.path))?;
                    items.push(Value::Tuple(vec![
                        Value::Str(file.path.clone()),
                        Value::Str(content),
                    ]));
                }
                Ok(ChunkBytes {
                    bytes: encode_value(&Value::List(items)),
                    first: i64::from(files.start),
                })
            }
            ChunkPlace::Range { items } => {
                let mut bytes = Vec::with_capacity(16);
                bytes.extend_from_slice(&items.start.to_le_bytes());
                bytes.extend_from_slice(&items.end.to_le_bytes());
                Ok(ChunkBytes {
                    bytes,
                    first: items.start,
                })
            }
        }
    }
}

impl ChunkSource for InputChunks {
    fn read(&self, chunk: ChunkId) -> Result<ChunkBytes, String> {
        self.read_chunk(chunk)
    }

    fn describe(&self, chunk: ChunkId) -> String {
        match self.chunk(chunk) {
            Some(ChunkPlace::Text { file, .. }) => self
                .files
                .get(file as usize)
                .map_or_else(|| self.source.display(), |f| f.path.clone()),
            Some(ChunkPlace::Files { files }) => {
                let first = self
                    .files
                    .get(files.start as usize)
                    .map_or_else(|| self.source.display(), |f| f.path.clone());
                match files.len() {
                    0 | 1 => first,
                    2 => format!("{first} and 1 more file"),
                    n => format!("{first} and {} more files", n - 1),
                }
            }
            Some(ChunkPlace::Range { items }) => {
                format!(
                    "{} (items {}..{})",
                    self.source.display(),
                    items.start,
                    items.end
                )
            }
            None => self.source.display(),
        }
    }
}

/// The size of a file on disk.
fn file_size(file: &InputFile) -> Result<u64, InputError> {
    std::fs::metadata(&file.disk_path)
        .map(|meta| meta.len())
        .map_err(|error| InputError::Unreadable {
            path: file.path.clone(),
            reason: error.to_string(),
            glob: None,
        })
}

/// An index as a `u32`; chunk and file counts are bounded by
/// [`MAX_CHUNKS`], so saturating never happens in practice.
fn to_u32(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `files` chunk holding a file that is not UTF-8 text fails when it
    /// is read (not when planned), and the message names the file, since
    /// the chunk's description names only its first file.
    #[test]
    fn a_files_chunk_that_is_not_text_fails_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("flow-input-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(dir.join("bin/a.txt"), b"text").unwrap();
        std::fs::write(dir.join("bin/b.dat"), b"\xff\xfe").unwrap();
        let input = InputChunks::plan(&InputSource::Files("bin/*".into()), &dir, 100);
        let error = input.unwrap().read(ChunkId(0)).unwrap_err();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(error, "`bin/b.dat` is not UTF-8 text");
    }

    #[test]
    fn chunks_are_grouped_by_their_file_header() {
        let dir = std::env::temp_dir().join(format!("flow-input-headers-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("1.csv"), b"a,b\n1,2\n3,4\n").unwrap();
        std::fs::write(dir.join("2.csv"), b"b,a\n5,6\n").unwrap();
        std::fs::write(dir.join("3.csv"), b"a,b\n7,8\n").unwrap();
        let input = InputChunks::plan(&InputSource::Csv("*.csv".into()), &dir, 1);
        let _ = std::fs::remove_dir_all(&dir);
        let input = input.unwrap();
        assert_eq!(input.distinct_headers(), vec!["a,b", "b,a"]);
        assert_eq!(
            input.chunks_with_header("a,b"),
            vec![ChunkId(0), ChunkId(1), ChunkId(3)]
        );
        assert_eq!(input.chunks_with_header("b,a"), vec![ChunkId(2)]);
        assert!(input.chunks_with_header("c").is_empty());
    }
}
