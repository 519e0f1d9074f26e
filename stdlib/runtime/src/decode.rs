//! Input decoding: a chunk of bytes into lines, CSV records or JSON-lines
//! records (§4).
//!
//! Chunks are cut at line (or row) boundaries by the host and arrive as a
//! [`Chunk`]: their bytes, and their text if the host already checked they
//! are UTF-8 (then nothing here checks them again). Every error names
//! the line number within the chunk (from 1) and the byte offset of that
//! line's start, so the host can report "file X line N" by adding the
//! chunk's first line number.
//!
//! # Lines
//!
//! Lines end at `\n`; a `\r` before it is stripped too. A final line
//! without `\n` counts; a chunk ending in `\n` has no empty last line. Text
//! must be UTF-8.
//!
//! # CSV
//!
//! RFC 4180: fields separated by `,`, rows by `\n` or `\r\n`; a field in
//! double quotes may hold `,`, newlines and `""` (one quote). A quote inside
//! an unquoted field, anything but `,` or a row end after a closing quote,
//! and an unterminated quoted field are errors. Completely empty lines are
//! skipped. The first row of the file is the header; only the first chunk
//! holds it, so [`decode_csv`] takes the header separately for the others
//! (read it with [`csv_header`]). Header names are matched exactly to the
//! declared fields; extra columns are ignored, a missing one is an error
//! naming it, and so is a row too short to hold a needed column.
//!
//! # JSON lines
//!
//! Each non-blank line is one JSON object (RFC 8259, parsed here: objects,
//! arrays, strings with every escape including surrogate pairs, numbers,
//! `true`, `false`, `null`; nesting at most 128 deep). Fields are matched by
//! name; extra fields are ignored; when a name repeats, the last one wins.
//!
//! # Field conversion
//!
//! | declared | CSV text | JSON |
//! |---|---|---|
//! | `int` | as `to_int` | a number without fraction or exponent, in 64 bits |
//! | `float` | as `to_float` | any number, or the strings `"NaN"`, `"inf"`, `"-inf"` (the spellings of `--format json`) |
//! | `bool` | `true` or `false`, surrounding whitespace ignored | `true` or `false` |
//! | `str` | the field text, unchanged | a string |
//! | `[T]` | not allowed | an array of `T` |
//!
//! `null` is never a valid field value.

use crate::error::{Result, RuntimeError};
use crate::swar;
use crate::text;
use crate::value::Value;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The declared type of a record field read from an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// `int`.
    Int,
    /// `float`.
    Float,
    /// `bool`.
    Bool,
    /// `str`.
    Str,
    /// `[T]` (JSON lines only).
    List(Box<FieldType>),
}

impl FieldType {
    fn name(&self) -> String {
        match self {
            FieldType::Int => String::from("int"),
            FieldType::Float => String::from("float"),
            FieldType::Bool => String::from("bool"),
            FieldType::Str => String::from("str"),
            FieldType::List(item) => format!("[{}]", item.name()),
        }
    }
}

/// A declared record field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's name.
    pub name: String,
    /// The field's type.
    pub ty: FieldType,
}

/// One line of a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// Line number within the chunk, from 1.
    pub number: u64,
    /// Byte offset of the line's start within the chunk.
    pub byte_offset: usize,
    /// The text, without the line ending.
    pub text: &'a str,
}

/// How the message of every [`RuntimeError::Input`] about an absent field
/// starts; [`RuntimeError::kind`] reports those as `missing-field`.
pub const MISSING_FIELD: &str = "missing field";

fn input_error(
    line: u64,
    byte_offset: usize,
    field: Option<&str>,
    message: impl Into<String>,
) -> RuntimeError {
    RuntimeError::Input {
        line,
        byte_offset,
        field: field.map(String::from),
        message: message.into(),
    }
}

/// The bytes of a chunk, and their text when they are known to be UTF-8
/// (`flow_utf8_checked`: the host checked them natively, much faster than
/// a check here can).
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a> {
    bytes: &'a [u8],
    checked: Option<&'a str>,
}

impl<'a> Chunk<'a> {
    /// A chunk whose text is known to be UTF-8.
    pub fn checked(text: &'a str) -> Self {
        Chunk {
            bytes: text.as_bytes(),
            checked: Some(text),
        }
    }

    /// The chunk's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The chunk as text, checking it unless it is known to be UTF-8.
    pub fn text(&self) -> core::result::Result<&'a str, core::str::Utf8Error> {
        match self.checked {
            Some(text) => Ok(text),
            None => core::str::from_utf8(self.bytes),
        }
    }
}

impl<'a> From<&'a [u8]> for Chunk<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        Chunk {
            bytes,
            checked: None,
        }
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Chunk<'a> {
    fn from(bytes: &'a [u8; N]) -> Self {
        Chunk::from(bytes.as_slice())
    }
}

impl<'a> From<&'a Vec<u8>> for Chunk<'a> {
    fn from(bytes: &'a Vec<u8>) -> Self {
        Chunk::from(bytes.as_slice())
    }
}

/// Splits a chunk into lines.
pub fn lines<'a>(chunk: impl Into<Chunk<'a>>) -> Result<Vec<Line<'a>>> {
    let chunk = chunk.into();
    // Valid text (the usual case) is checked once as a whole; only a chunk
    // with invalid UTF-8 is checked line by line, to name the bad line.
    let Ok(text) = chunk.text() else {
        return lines_checked(chunk.bytes());
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut number = 1;
    while let Some((text_end, next)) = next_line(text.as_bytes(), start) {
        out.push(Line {
            number,
            byte_offset: start,
            text: &text[start..text_end],
        });
        number += 1;
        start = next;
    }
    Ok(out)
}

/// The line of `chunk` that starts at byte `start`, if `start` is not its
/// end: where its text ends (before `\n` or `\r\n`) and where the next
/// line starts. [`lines`] and a stage walking a chunk's lines one by one
/// (`rt_line_next`) cut lines with this.
#[inline]
pub fn next_line(chunk: &[u8], start: usize) -> Option<(usize, usize)> {
    if start >= chunk.len() {
        return None;
    }
    // Eight bytes at a time, then byte by byte in the last few.
    let mut at = start;
    let newline = loop {
        match swar::load(chunk, at) {
            Some(word) => match swar::first_marked(swar::marks_first_equal(word, b'\n')) {
                Some(offset) => break Some(at + offset),
                None => at += 8,
            },
            None => break chunk[at..].iter().position(|b| *b == b'\n').map(|i| at + i),
        }
    };
    let (end, next) = match newline {
        Some(end) => (end, end + 1),
        None => (chunk.len(), chunk.len()),
    };
    let text_end = if end > start && chunk[end - 1] == b'\r' {
        end - 1
    } else {
        end
    };
    Some((text_end, next))
}

/// [`lines`] of a chunk that is not all valid UTF-8: each line is checked
/// on its own, so the error names the first bad one.
fn lines_checked(chunk: &[u8]) -> Result<Vec<Line<'_>>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut number = 1;
    while start < chunk.len() {
        let end = chunk[start..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(chunk.len(), |i| start + i);
        let mut body = &chunk[start..end];
        if let Some(stripped) = body.strip_suffix(b"\r") {
            body = stripped;
        }
        let text = core::str::from_utf8(body).map_err(|e| {
            input_error(
                number,
                start,
                None,
                // The byte within the line: the line's number and file
                // come with the error, and a chunk's own offsets would
                // change with the split.
                format!("invalid UTF-8 at byte {} of the line", e.valid_up_to() + 1),
            )
        })?;
        out.push(Line {
            number,
            byte_offset: start,
            text,
        });
        number += 1;
        start = end + 1;
    }
    Ok(out)
}

/// One CSV row: its first line number, byte offset and fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvRow {
    /// Line number within the chunk where the row starts, from 1.
    pub line: u64,
    /// Byte offset of the row's start.
    pub byte_offset: usize,
    /// The unquoted fields.
    pub fields: Vec<String>,
}

/// Parses a chunk into CSV rows (skipping empty lines).
pub fn csv_rows<'a>(chunk: impl Into<Chunk<'a>>) -> Result<Vec<CsvRow>> {
    let chunk = chunk.into();
    let text = chunk.text().map_err(|e| {
        let chunk = chunk.bytes();
        let offset = e.valid_up_to();
        let before = &chunk[..offset];
        let line = 1 + before.iter().filter(|b| **b == b'\n').count() as u64;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        // The byte within the line, as for `lines`: a chunk's own offsets
        // change with the split.
        input_error(
            line,
            line_start,
            None,
            format!(
                "invalid UTF-8 at byte {} of the line",
                offset - line_start + 1
            ),
        )
    })?;
    let bytes = text.as_bytes();
    let mut rows = Vec::new();
    let mut position = 0;
    let mut line: u64 = 1;
    while position < bytes.len() {
        let row_start = position;
        let row_line = line;
        // An empty line is skipped, not read as a row of one empty field.
        if bytes[position] == b'\n' || bytes[position..].starts_with(b"\r\n") {
            position += if bytes[position] == b'\n' { 1 } else { 2 };
            line += 1;
            continue;
        }
        let mut fields = Vec::new();
        loop {
            let mut field = String::new();
            if bytes.get(position) == Some(&b'"') {
                position += 1;
                loop {
                    match bytes.get(position) {
                        None => {
                            return Err(input_error(
                                row_line,
                                row_start,
                                None,
                                "unterminated quoted field",
                            ));
                        }
                        Some(b'"') if bytes.get(position + 1) == Some(&b'"') => {
                            field.push('"');
                            position += 2;
                        }
                        Some(b'"') => {
                            position += 1;
                            break;
                        }
                        Some(_) => {
                            let next = text[position..]
                                .find(['"', '\n'])
                                .map_or(bytes.len(), |i| position + i);
                            let next = if next == position { position + 1 } else { next };
                            line += text[position..next].matches('\n').count() as u64;
                            field.push_str(&text[position..next]);
                            position = next;
                        }
                    }
                }
                match bytes.get(position) {
                    None | Some(b',') | Some(b'\n') => {}
                    Some(b'\r') if matches!(bytes.get(position + 1), Some(b'\n') | None) => {}
                    Some(_) => {
                        return Err(input_error(
                            row_line,
                            row_start,
                            None,
                            "unexpected text after a closing quote",
                        ));
                    }
                }
            } else {
                let end = text[position..]
                    .find([',', '\n'])
                    .map_or(bytes.len(), |i| position + i);
                let mut raw = &text[position..end];
                if bytes.get(end) != Some(&b',') {
                    raw = raw.strip_suffix('\r').unwrap_or(raw);
                }
                if raw.contains('"') {
                    return Err(input_error(
                        row_line,
                        row_start,
                        None,
                        "quote inside an unquoted field",
                    ));
                }
                field.push_str(raw);
                position = end;
                if bytes.get(position) != Some(&b',') && bytes.get(position) != Some(&b'\n') {
                    position = bytes.len();
                }
            }
            fields.push(field);
            match bytes.get(position) {
                Some(b',') => position += 1,
                Some(b'\r') => {
                    position += if bytes.get(position + 1) == Some(&b'\n') {
                        2
                    } else {
                        1
                    };
                    line += 1;
                    break;
                }
                Some(b'\n') => {
                    position += 1;
                    line += 1;
                    break;
                }
                _ => break,
            }
        }
        rows.push(CsvRow {
            line: row_line,
            byte_offset: row_start,
            fields,
        });
    }
    Ok(rows)
}

/// The header row at the start of the first chunk of a CSV file.
pub fn csv_header(first_chunk: &[u8]) -> Result<Vec<String>> {
    let end = first_chunk
        .iter()
        .position(|b| *b == b'\n')
        .map_or(first_chunk.len(), |i| i + 1);
    // The header row is read on its own; a quoted newline in a header name
    // is not supported and shows up as an unterminated field.
    let rows = csv_rows(&first_chunk[..end])?;
    rows.into_iter()
        .next()
        .map(|row| row.fields)
        .ok_or_else(|| input_error(1, 0, None, "no CSV header row"))
}

fn convert_text(
    text: &str,
    ty: &FieldType,
    line: u64,
    offset: usize,
    field: &str,
) -> Result<Value> {
    let wrong = |message: String| input_error(line, offset, Some(field), message);
    match ty {
        FieldType::Int => text::to_int(text)
            .map(Value::Int)
            .map_err(|e| wrong(format!("{e}"))),
        FieldType::Float => text::to_float(text)
            .map(Value::Float)
            .map_err(|e| wrong(format!("{e}"))),
        FieldType::Bool => match text.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(wrong(format!("{text:?} is not a valid bool"))),
        },
        FieldType::Str => Ok(Value::str(text)),
        FieldType::List(_) => Err(wrong(String::from("CSV fields cannot be lists"))),
    }
}

/// Decodes a CSV chunk into records of `fields` (in declared order). With
/// `header: None` the chunk's first row is the header; otherwise the chunk
/// holds only data rows and `header` is the file's header.
pub fn decode_csv<'a>(
    chunk: impl Into<Chunk<'a>>,
    fields: &[Field],
    header: Option<&[String]>,
) -> Result<Vec<Value>> {
    let mut rows = csv_rows(chunk)?.into_iter();
    let header_row;
    let header: &[String] = match header {
        Some(header) => header,
        None => {
            header_row = rows
                .next()
                .map(|r| r.fields)
                .ok_or_else(|| input_error(1, 0, None, "no CSV header row"))?;
            &header_row
        }
    };
    let mut columns = Vec::with_capacity(fields.len());
    for field in fields {
        let column = header
            .iter()
            .position(|name| *name == field.name)
            .ok_or_else(|| {
                input_error(
                    1,
                    0,
                    Some(&field.name),
                    "missing field: no CSV column has this name",
                )
            })?;
        columns.push(column);
    }
    let mut records = Vec::new();
    for row in rows {
        let mut values = Vec::with_capacity(fields.len());
        for (field, column) in fields.iter().zip(&columns) {
            let text = row.fields.get(*column).ok_or_else(|| {
                input_error(
                    row.line,
                    row.byte_offset,
                    Some(&field.name),
                    format!("the row has no column {}", column + 1),
                )
            })?;
            values.push(convert_text(
                text,
                &field.ty,
                row.line,
                row.byte_offset,
                &field.name,
            )?);
        }
        records.push(Value::Record(values));
    }
    Ok(records)
}

/// A parsed JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as its source text (validated).
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object's members in source order.
    Object(Vec<(String, Json)>),
}

const MAX_JSON_DEPTH: usize = 128;

struct JsonParser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    position: usize,
}

/// Parses one JSON document; on failure gives the byte offset and reason.
pub fn parse_json(text: &str) -> core::result::Result<Json, (usize, String)> {
    let mut parser = JsonParser {
        bytes: text.as_bytes(),
        text,
        position: 0,
    };
    let value = parser.value(0)?;
    parser.skip_space();
    if parser.position != parser.bytes.len() {
        return Err(parser.fail("trailing characters after the JSON value"));
    }
    Ok(value)
}

impl JsonParser<'_> {
    fn fail(&self, message: &str) -> (usize, String) {
        (self.position, String::from(message))
    }

    fn skip_space(&mut self) {
        while matches!(
            self.bytes.get(self.position),
            Some(b' ' | b'\t' | b'\n' | b'\r')
        ) {
            self.position += 1;
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> core::result::Result<Json, (usize, String)> {
        if self.bytes[self.position..].starts_with(word.as_bytes()) {
            self.position += word.len();
            Ok(value)
        } else {
            Err(self.fail("invalid literal"))
        }
    }

    fn value(&mut self, depth: usize) -> core::result::Result<Json, (usize, String)> {
        self.skip_space();
        match self.bytes.get(self.position) {
            None => Err(self.fail("unexpected end of JSON")),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[' | b'{') if depth >= MAX_JSON_DEPTH => {
                Err(self.fail("JSON nested too deeply"))
            }
            Some(b'[') => {
                self.position += 1;
                let mut items = Vec::new();
                self.skip_space();
                if self.bytes.get(self.position) == Some(&b']') {
                    self.position += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_space();
                    match self.bytes.get(self.position) {
                        Some(b',') => self.position += 1,
                        Some(b']') => {
                            self.position += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(self.fail("expected `,` or `]`")),
                    }
                }
            }
            Some(b'{') => {
                self.position += 1;
                let mut members = Vec::new();
                self.skip_space();
                if self.bytes.get(self.position) == Some(&b'}') {
                    self.position += 1;
                    return Ok(Json::Object(members));
                }
                loop {
                    self.skip_space();
                    if self.bytes.get(self.position) != Some(&b'"') {
                        return Err(self.fail("expected a member name"));
                    }
                    let name = self.string()?;
                    self.skip_space();
                    if self.bytes.get(self.position) != Some(&b':') {
                        return Err(self.fail("expected `:`"));
                    }
                    self.position += 1;
                    members.push((name, self.value(depth + 1)?));
                    self.skip_space();
                    match self.bytes.get(self.position) {
                        Some(b',') => self.position += 1,
                        Some(b'}') => {
                            self.position += 1;
                            return Ok(Json::Object(members));
                        }
                        _ => return Err(self.fail("expected `,` or `}`")),
                    }
                }
            }
            Some(_) => Err(self.fail("unexpected character")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.position;
        while self
            .bytes
            .get(self.position)
            .is_some_and(u8::is_ascii_digit)
        {
            self.position += 1;
        }
        self.position - start
    }

    fn number(&mut self) -> core::result::Result<Json, (usize, String)> {
        let start = self.position;
        if self.bytes.get(self.position) == Some(&b'-') {
            self.position += 1;
        }
        let int_start = self.position;
        let int_digits = self.digits();
        if int_digits == 0 || (int_digits > 1 && self.bytes[int_start] == b'0') {
            return Err(self.fail("invalid number"));
        }
        if self.bytes.get(self.position) == Some(&b'.') {
            self.position += 1;
            if self.digits() == 0 {
                return Err(self.fail("invalid number"));
            }
        }
        if matches!(self.bytes.get(self.position), Some(b'e' | b'E')) {
            self.position += 1;
            if matches!(self.bytes.get(self.position), Some(b'+' | b'-')) {
                self.position += 1;
            }
            if self.digits() == 0 {
                return Err(self.fail("invalid number"));
            }
        }
        Ok(Json::Number(String::from(&self.text[start..self.position])))
    }

    fn hex4(&mut self) -> core::result::Result<u32, (usize, String)> {
        let digits = self
            .bytes
            .get(self.position..self.position + 4)
            .ok_or_else(|| self.fail("short \\u escape"))?;
        let mut code = 0;
        for digit in digits {
            let value = (*digit as char)
                .to_digit(16)
                .ok_or_else(|| self.fail("invalid \\u escape"))?;
            code = code * 16 + value;
        }
        self.position += 4;
        Ok(code)
    }

    fn string(&mut self) -> core::result::Result<String, (usize, String)> {
        self.position += 1;
        let mut out = String::new();
        loop {
            let run_end = self.text[self.position..]
                .find(['"', '\\'])
                .map(|i| self.position + i);
            let Some(run_end) = run_end else {
                return Err(self.fail("unterminated string"));
            };
            let run = &self.text[self.position..run_end];
            if run.chars().any(|c| (c as u32) < 0x20) {
                return Err(self.fail("control character in a string"));
            }
            out.push_str(run);
            self.position = run_end + 1;
            if self.bytes[run_end] == b'"' {
                return Ok(out);
            }
            let escape = *self
                .bytes
                .get(self.position)
                .ok_or_else(|| self.fail("unterminated escape"))?;
            self.position += 1;
            let c = match escape {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let high = self.hex4()?;
                    let code = if (0xd800..0xdc00).contains(&high) {
                        if !self.bytes[self.position..].starts_with(b"\\u") {
                            return Err(self.fail("lone high surrogate"));
                        }
                        self.position += 2;
                        let low = self.hex4()?;
                        if !(0xdc00..0xe000).contains(&low) {
                            return Err(self.fail("invalid low surrogate"));
                        }
                        0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
                    } else {
                        high
                    };
                    char::from_u32(code).ok_or_else(|| self.fail("lone low surrogate"))?
                }
                _ => return Err(self.fail("invalid escape")),
            };
            out.push(c);
        }
    }
}

fn convert_json(json: &Json, ty: &FieldType) -> core::result::Result<Value, String> {
    let found = || match json {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    };
    let wrong = || format!("expected {}, found {}", ty.name(), found());
    match (ty, json) {
        (FieldType::Int, Json::Number(text)) => {
            if text.contains(['.', 'e', 'E']) {
                return Err(format!("{text} is not an int"));
            }
            text.parse::<i64>()
                .map(Value::Int)
                .map_err(|_| format!("{text} does not fit in an int"))
        }
        (FieldType::Float, Json::Number(text)) => {
            text.parse::<f64>().map(Value::Float).map_err(|_| wrong())
        }
        (FieldType::Float, Json::String(text)) => match text.as_str() {
            "NaN" => Ok(Value::Float(f64::NAN)),
            "inf" => Ok(Value::Float(f64::INFINITY)),
            "-inf" => Ok(Value::Float(f64::NEG_INFINITY)),
            _ => Err(wrong()),
        },
        (FieldType::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
        (FieldType::Str, Json::String(s)) => Ok(Value::Str(s.clone())),
        (FieldType::List(item), Json::Array(items)) => items
            .iter()
            .map(|j| convert_json(j, item))
            .collect::<core::result::Result<Vec<Value>, String>>()
            .map(Value::List),
        _ => Err(wrong()),
    }
}

/// Decodes a JSON-lines chunk into records of `fields` (in declared order).
pub fn decode_jsonl<'a>(chunk: impl Into<Chunk<'a>>, fields: &[Field]) -> Result<Vec<Value>> {
    let mut records = Vec::new();
    for line in lines(chunk)? {
        if line.text.trim().is_empty() {
            continue;
        }
        let json = parse_json(line.text).map_err(|(offset, message)| {
            input_error(
                line.number,
                line.byte_offset,
                None,
                format!("invalid JSON at column {}: {message}", offset + 1),
            )
        })?;
        let Json::Object(members) = json else {
            return Err(input_error(
                line.number,
                line.byte_offset,
                None,
                "the line is not a JSON object",
            ));
        };
        let mut values = Vec::with_capacity(fields.len());
        for field in fields {
            let member = members.iter().rev().find(|(name, _)| *name == field.name);
            let Some((_, json)) = member else {
                return Err(input_error(
                    line.number,
                    line.byte_offset,
                    Some(&field.name),
                    MISSING_FIELD,
                ));
            };
            let value = convert_json(json, &field.ty).map_err(|message| {
                input_error(line.number, line.byte_offset, Some(&field.name), message)
            })?;
            values.push(value);
        }
        records.push(Value::Record(values));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    fn schema(fields: &[(&str, FieldType)]) -> Vec<Field> {
        fields
            .iter()
            .map(|(n, t)| Field {
                name: String::from(*n),
                ty: t.clone(),
            })
            .collect()
    }

    fn texts(chunk: &[u8]) -> Vec<&str> {
        lines(chunk).unwrap().into_iter().map(|l| l.text).collect()
    }

    #[test]
    fn lines_strip_endings() {
        assert_eq!(texts(b"a\nb\r\nc"), vec!["a", "b", "c"]);
        assert_eq!(texts(b"a\n\nb\n"), vec!["a", "", "b"]);
        assert_eq!(texts(b""), Vec::<&str>::new());
        assert_eq!(texts(b"\r\n"), vec![""]);
        let all = lines(b"x\nyy\nz").unwrap();
        assert_eq!((all[2].number, all[2].byte_offset), (3, 5));
        let error = lines(b"ok\nbad \xff\n").unwrap_err();
        assert!(
            matches!(
                error,
                RuntimeError::Input {
                    line: 2,
                    byte_offset: 3,
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn csv_rows_follow_rfc_4180() {
        let rows =
            csv_rows(b"a,b\r\n\"x,1\",\"say \"\"hi\"\"\"\n\"multi\nline\",\n\nlast,").unwrap();
        let fields: Vec<Vec<String>> = rows.iter().map(|r| r.fields.clone()).collect();
        let s = |x: &str| String::from(x);
        assert_eq!(
            fields,
            vec![
                vec![s("a"), s("b")],
                vec![s("x,1"), s("say \"hi\"")],
                vec![s("multi\nline"), s("")],
                vec![s("last"), s("")]
            ]
        );
        assert_eq!(
            rows.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![1, 2, 3, 6]
        );
        assert!(csv_rows(b"a,\"b").is_err());
        assert!(csv_rows(b"a,b\"c\n").is_err());
        assert!(csv_rows(b"\"a\"b,c\n").is_err());
        assert_eq!(csv_rows(b"\"\"\r\n").unwrap()[0].fields, vec![s("")]);
    }

    #[test]
    fn csv_records_map_columns_to_fields() {
        let fields = schema(&[
            ("temp", FieldType::Float),
            ("city", FieldType::Str),
            ("n", FieldType::Int),
        ]);
        let chunk = b"city,extra,temp,n\nOslo,x,1.5,3\n\"Rio, BR\",y,-2,4\n";
        let records = decode_csv(chunk, &fields, None).unwrap();
        assert_eq!(
            records,
            vec![
                Value::Record(vec![Value::Float(1.5), Value::str("Oslo"), Value::Int(3)]),
                Value::Record(vec![
                    Value::Float(-2.0),
                    Value::str("Rio, BR"),
                    Value::Int(4)
                ]),
            ]
        );
        let header = csv_header(chunk).unwrap();
        let later = decode_csv(b"Bergen,z,0.5,1\n", &fields, Some(&header)).unwrap();
        assert_eq!(later.len(), 1);
    }

    #[test]
    fn csv_errors_name_rows_and_fields() {
        let fields = schema(&[("city", FieldType::Str), ("temp", FieldType::Float)]);
        let missing = decode_csv(b"city\nOslo\n", &fields, None).unwrap_err();
        assert!(
            matches!(&missing, RuntimeError::Input { field: Some(f), .. } if f == "temp"),
            "{missing:?}"
        );
        let bad = decode_csv(b"city,temp\nOslo,1\nRio,warm\n", &fields, None).unwrap_err();
        assert!(
            matches!(&bad, RuntimeError::Input { line: 3, byte_offset: 17, field: Some(f), .. } if f == "temp"),
            "{bad:?}"
        );
        let short = decode_csv(b"city,temp\nOslo\n", &fields, None).unwrap_err();
        assert!(
            matches!(&short, RuntimeError::Input { line: 2, .. }),
            "{short:?}"
        );
        let flags = schema(&[("ok", FieldType::Bool)]);
        assert_eq!(
            decode_csv(b"ok\ntrue\n false\n", &flags, None)
                .unwrap()
                .len(),
            2
        );
        assert!(decode_csv(b"ok\nyes\n", &flags, None).is_err());
    }

    #[test]
    fn json_parses_the_whole_grammar() {
        let json = parse_json(
            r#" {"a": [1, -2.5e3, true, false, null], "b": "\u00e9\ud83d\ude00\n\"\\\/"} "#,
        )
        .unwrap();
        let Json::Object(members) = json else {
            panic!("not an object")
        };
        assert_eq!(members[1].1, Json::String(String::from("é😀\n\"\\/")));
        for bad in [
            "",
            "{",
            "[1,]",
            "01",
            "1.",
            "-",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"a\tb\"",
            "{\"a\" 1}",
            "tru",
            "1 2",
            "\"\\x\"",
        ] {
            assert!(parse_json(bad).is_err(), "{bad}");
        }
        let deep = "[".repeat(MAX_JSON_DEPTH + 1);
        assert!(parse_json(&deep).is_err());
    }

    #[test]
    fn jsonl_records_by_field_name() {
        let fields = schema(&[
            ("name", FieldType::Str),
            ("n", FieldType::Int),
            ("x", FieldType::Float),
            ("tags", FieldType::List(Box::new(FieldType::Str))),
        ]);
        let chunk = b"{\"x\": 1, \"n\": 2, \"name\": \"a\", \"tags\": [\"p\"], \"extra\": {}}\n\n{\"name\":\"b\",\"n\":-1,\"x\":\"NaN\",\"tags\":[]}\r\n";
        let records = decode_jsonl(chunk, &fields).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[0],
            Value::Record(vec![
                Value::str("a"),
                Value::Int(2),
                Value::Float(1.0),
                Value::List(vec![Value::str("p")])
            ])
        );
        let missing = decode_jsonl(b"{\"name\":\"a\"}\n{}", &fields[..1]).unwrap_err();
        assert!(
            matches!(&missing, RuntimeError::Input { line: 2, byte_offset: 13, field: Some(f), .. } if f == "name")
        );
        let wrong = decode_jsonl(b"{\"name\": 3}", &fields[..1]).unwrap_err();
        assert!(matches!(&wrong, RuntimeError::Input { field: Some(f), .. } if f == "name"));
        assert!(decode_jsonl(b"{\"n\": 1.5}", &fields[1..2]).is_err());
        assert!(decode_jsonl(b"{\"n\": 99999999999999999999}", &fields[1..2]).is_err());
        assert!(decode_jsonl(b"[1]", &fields[1..2]).is_err());
        assert!(decode_jsonl(b"{\"n\": null}", &fields[1..2]).is_err());
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let fields = schema(&[("a", FieldType::Int), ("b", FieldType::List(Box::new(FieldType::Float)))]);
            let _ = lines(&bytes);
            let _ = csv_rows(&bytes);
            let _ = decode_csv(&bytes, &fields[..1], None);
            let _ = decode_jsonl(&bytes, &fields);
        }

        #[test]
        fn lines_are_the_standard_split_at_line_ends(text in "[a\r\n ]{0,40}") {
            // The definition: pieces between `\n`s, a last empty one
            // dropped, each without one trailing `\r`.
            let mut expected: Vec<&str> = text.split('\n').collect();
            if expected.last() == Some(&"") {
                expected.pop();
            }
            let expected: Vec<&str> = expected
                .into_iter()
                .map(|line| line.strip_suffix('\r').unwrap_or(line))
                .collect();
            prop_assert_eq!(texts(text.as_bytes()), expected);
        }

        #[test]
        fn jsonish_text_never_panics(text in "[{}\\[\\]\",:0-9a-z\\\\ .eE+-]{0,40}") {
            let _ = parse_json(&text);
        }

        #[test]
        fn quoted_csv_round_trips(cells in proptest::collection::vec("[a-z,\"\n ]{0,6}", 1..5)) {
            let line: Vec<String> = cells.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
            let text = format!("{}\r\n", line.join(","));
            let rows = csv_rows(text.as_bytes()).unwrap();
            prop_assert_eq!(&rows[0].fields, &cells);
        }
    }
}
