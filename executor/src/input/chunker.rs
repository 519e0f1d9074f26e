//! Planning the chunks of one text file: a single streaming pass with a
//! bounded buffer that finds record boundaries and line numbers.
//!
//! A chunk is a byte range `[start, end)` of the file that holds whole
//! records. Planning cuts a chunk at the first record end at or after
//! `start + split` bytes, so every chunk but a file's last holds at least
//! `split` bytes and at most `split` plus one record. A record ends after a
//! `\n` (a `\r` before it stays with it, so CRLF files cut the same way);
//! for CSV, a `\n` inside a quoted field does not end the record, which the
//! scanner knows by tracking the quote state of RFC 4180 byte by byte.
//!
//! The scan reads the file once, [`BUFFER_BYTES`] at a time, and keeps only
//! the chunk boundaries; the chunk bytes themselves are read again with a
//! seek when a worker processes the chunk.

use std::io::{self, Read};

use super::InputError;

/// How many bytes the scanner reads at a time.
pub(crate) const BUFFER_BYTES: usize = 64 * 1024;

/// The longest CSV header line accepted; a longer first line is almost
/// certainly not a header, and holding it whole must stay bounded.
pub(crate) const MAX_HEADER_BYTES: usize = 1024 * 1024;

/// The UTF-8 byte order mark, skipped at the start of a text file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One planned chunk of a text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TextCut {
    /// The first byte of the chunk.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// The 1-based line number of the chunk's first line in the file.
    pub first_line: i64,
}

/// What scanning one file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scanned {
    /// The CSV header line without its line ending (CSV only; `None` for
    /// an empty file).
    pub header: Option<String>,
    /// The chunks, in file order, covering the body exactly.
    pub cuts: Vec<TextCut>,
}

/// Where a CSV scan is within a row, as RFC 4180 reads it. A quote opens a
/// quoted field only at the start of a field, as the runtime's decoder
/// reads it; text that breaks the format is an error in the decoder,
/// whichever chunk it lands in, so the scanner only has to agree with it on
/// well-formed rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CsvState {
    FieldStart,
    Unquoted,
    Quoted,
    /// A `"` inside a quoted field: the field's end, or the first half of
    /// an escaped `""`.
    QuoteInQuoted,
}

impl CsvState {
    /// The state after byte `b`, and whether `b` ends a record.
    fn step(self, b: u8) -> (CsvState, bool) {
        match (self, b) {
            (CsvState::Quoted, b'"') => (CsvState::QuoteInQuoted, false),
            (CsvState::Quoted, _) => (CsvState::Quoted, false),
            (CsvState::QuoteInQuoted, b'"') => (CsvState::Quoted, false),
            (CsvState::FieldStart, b'"') => (CsvState::Quoted, false),
            (_, b',') => (CsvState::FieldStart, false),
            (_, b'\n') => (CsvState::FieldStart, true),
            _ => (CsvState::Unquoted, false),
        }
    }
}

/// Reads into `buf` until it is full or the reader is at its end; returns
/// how many bytes were read.
fn fill(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Adds the chunk `start..end` whose first line is `first_line`, unless
/// the input already has `max_chunks` chunks.
fn push_cut(
    cuts: &mut Vec<TextCut>,
    start: u64,
    end: u64,
    first_line: i64,
    max_chunks: usize,
    shown: &str,
) -> Result<(), InputError> {
    if cuts.len() >= max_chunks {
        return Err(InputError::TooManyChunks {
            input: shown.to_string(),
            limit: max_chunks,
        });
    }
    cuts.push(TextCut {
        start,
        end,
        first_line,
    });
    Ok(())
}

/// How many `\n` bytes `bytes` holds.
fn count_line_ends(bytes: &[u8]) -> i64 {
    memchr::memchr_iter(b'\n', bytes).count() as i64
}

/// Scans a text file read from `reader` (shown to users as `shown`) into
/// chunks of about `split` bytes. With `csv`, the first line is the header
/// and is not in any chunk. A UTF-8 byte order mark at the start of the file
/// is skipped. More than `max_chunks` chunks is an error.
pub(crate) fn scan(
    reader: &mut dyn Read,
    shown: &str,
    csv: bool,
    split: u64,
    max_chunks: usize,
) -> Result<Scanned, InputError> {
    let split = split.max(1);
    let unreadable = |error: io::Error| InputError::Unreadable {
        path: shown.to_string(),
        reason: error.to_string(),
        glob: None,
    };
    let mut buf = vec![0u8; BUFFER_BYTES];
    let mut cuts = Vec::new();
    // Absolute offset of `buf[0]` in the file.
    let mut buf_offset: u64 = 0;
    let mut len = fill(reader, &mut buf).map_err(unreadable)?;
    let mut at = if buf.get(..len).is_some_and(|b| b.starts_with(BOM)) {
        BOM.len()
    } else {
        0
    };

    let mut header: Option<Vec<u8>> = None;
    let mut in_header = csv;
    let mut line: i64 = 1;
    let mut chunk_start: u64 = at as u64;
    let mut chunk_line: i64 = 1;
    let mut state = CsvState::FieldStart;

    while len > 0 {
        let block = buf.get(at..len).unwrap_or(&[]);
        if in_header {
            let end = block.iter().position(|&b| b == b'\n');
            let taken = end.map_or(block.len(), |i| i + 1);
            let bytes = header.get_or_insert_with(Vec::new);
            bytes.extend_from_slice(block.get(..taken).unwrap_or(&[]));
            if bytes.len() > MAX_HEADER_BYTES {
                return Err(InputError::BadHeader {
                    path: shown.to_string(),
                    reason: format!("the first line is longer than {MAX_HEADER_BYTES} bytes"),
                });
            }
            at += taken;
            if end.is_some() {
                in_header = false;
                line = 2;
                chunk_line = 2;
                chunk_start = buf_offset + at as u64;
            }
        } else if !csv {
            // Plain lines: only the first line end at or past `split` bytes
            // into the chunk cuts it, so the bytes before it are only
            // counted for line numbers (`memchr`'s SIMD count),
            // not looked at one by one.
            let mut i = 0;
            while i < block.len() {
                let position = buf_offset + (at + i) as u64;
                // A line end at `position` ends the chunk from here on.
                let cut_from = chunk_start + split - 1;
                if position < cut_from {
                    let skip = usize::try_from(cut_from - position)
                        .unwrap_or(usize::MAX)
                        .min(block.len() - i);
                    line += count_line_ends(&block[i..i + skip]);
                    i += skip;
                    continue;
                }
                let Some(offset) = memchr::memchr(b'\n', &block[i..]) else {
                    break;
                };
                line += 1;
                i += offset + 1;
                let end = buf_offset + (at + i) as u64;
                push_cut(&mut cuts, chunk_start, end, chunk_line, max_chunks, shown)?;
                chunk_start = end;
                chunk_line = line;
            }
            at = len;
        } else {
            // CSV: a line end inside quotes does not end a record.
            for (i, &b) in block.iter().enumerate() {
                let (next, ends_record) = state.step(b);
                state = next;
                if b == b'\n' {
                    line += 1;
                }
                if !ends_record {
                    continue;
                }
                let end = buf_offset + (at + i + 1) as u64;
                if end - chunk_start >= split {
                    push_cut(&mut cuts, chunk_start, end, chunk_line, max_chunks, shown)?;
                    chunk_start = end;
                    chunk_line = line;
                }
            }
            at = len;
        }
        if at >= len {
            buf_offset += len as u64;
            len = fill(reader, &mut buf).map_err(unreadable)?;
            at = 0;
        }
    }
    let total = buf_offset;
    if !in_header && chunk_start < total {
        push_cut(&mut cuts, chunk_start, total, chunk_line, max_chunks, shown)?;
    }
    let header = match header {
        None => None,
        Some(mut bytes) => {
            while matches!(bytes.last(), Some(b'\n' | b'\r')) {
                bytes.pop();
            }
            Some(String::from_utf8(bytes).map_err(|_| InputError::BadHeader {
                path: shown.to_string(),
                reason: String::from("the header line is not UTF-8 text"),
            })?)
        }
    };
    Ok(Scanned { header, cuts })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns at most `step` bytes per call, to exercise
    /// short reads.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.bytes.len());
            out[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    fn cut(bytes: &[u8], csv: bool, split: u64) -> Scanned {
        scan(&mut Trickle { bytes, step: 3 }, "t", csv, split, usize::MAX).unwrap()
    }

    fn ranges(scanned: &Scanned) -> Vec<(u64, u64, i64)> {
        scanned
            .cuts
            .iter()
            .map(|c| (c.start, c.end, c.first_line))
            .collect()
    }

    #[test]
    fn lines_cut_after_the_split_at_a_line_end() {
        let s = cut(b"ab\ncd\nef\ngh", false, 4);
        assert_eq!(ranges(&s), vec![(0, 6, 1), (6, 11, 3)]);
        assert_eq!(s.header, None);
        let s = cut(b"ab\r\ncd\r\n", false, 1);
        assert_eq!(ranges(&s), vec![(0, 4, 1), (4, 8, 2)]);
    }

    #[test]
    fn csv_header_is_left_out_and_quotes_hold_newlines() {
        let s = cut(b"a,b\r\n1,\"x\ny\"\n2,z\n", true, 1);
        assert_eq!(s.header.as_deref(), Some("a,b"));
        assert_eq!(ranges(&s), vec![(5, 13, 2), (13, 17, 4)]);
        let s = cut(b"a,b", true, 1);
        assert_eq!(s.header.as_deref(), Some("a,b"));
        assert!(s.cuts.is_empty());
        let s = cut(b"", true, 1);
        assert_eq!(s.header, None);
        assert!(s.cuts.is_empty());
    }

    #[test]
    fn escaped_quotes_keep_the_field_open() {
        let s = cut(b"h\n\"a\"\"\nb\"\nc\n", true, 1);
        assert_eq!(ranges(&s), vec![(2, 10, 2), (10, 12, 4)]);
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let s = cut(b"\xEF\xBB\xBFx\ny\n", false, 1);
        assert_eq!(ranges(&s), vec![(3, 5, 1), (5, 7, 2)]);
        let s = cut(b"\xEF\xBB\xBFname\nx\n", true, 100);
        assert_eq!(s.header.as_deref(), Some("name"));
        assert_eq!(ranges(&s), vec![(8, 10, 2)]);
    }

    #[test]
    fn too_many_chunks_is_an_error() {
        let error = scan(&mut &b"a\nb\nc\n"[..], "f.txt", false, 1, 2).unwrap_err();
        assert!(matches!(error, InputError::TooManyChunks { limit: 2, .. }));
    }

    #[test]
    fn a_header_that_is_not_utf8_is_an_error() {
        let error = scan(&mut &b"\xff\xfe\n1\n"[..], "f.csv", true, 1, 10).unwrap_err();
        assert!(error.to_string().contains("f.csv"), "{error}");
    }
}
