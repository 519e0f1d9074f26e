//! A job's outputs, rendered for `flowc run` (LANGUAGE.md §10) and written
//! to the files of `to "path"` (IO).
//!
//! Every value is rendered with its [`ValueType`], which carries what the
//! bare [`Value`] lacks: record field names and their declared order. A
//! value that does not have the shape of its type is an
//! [`OutputError::Mismatch`], never a panic.
//!
//! Formats on standard output ([`render_outputs`]), for the outputs in
//! declaration order:
//!
//! - [`OutputFormat::Json`]: one object `{"name":value,…}` on one line, in
//!   the exact form of §10: `int` and `float` as numbers, floats in shortest
//!   round-trip form (always with a `.` or an exponent, so `2.0` stays a
//!   float), non-finite floats as the strings `"NaN"`, `"inf"`, `"-inf"`;
//!   lists, streams and tuples as arrays; records as objects with their
//!   fields in declared order.
//! - [`OutputFormat::Jsonl`]: one line `{"output":name,"value":element}`
//!   per element of a list output, and one such line holding the whole
//!   value for an output that is not a list (a scalar, tuple or record). An
//!   empty list gives no line.
//! - [`OutputFormat::Csv`]: per output a line `# name`, then RFC 4180 CSV:
//!   a header, then a row per element of a list (or one row for a value that
//!   is not a list). The header is a record's field names, `_0`, `_1`, … for
//!   a tuple, or `value` for any other element type. Outputs are separated
//!   by an empty line. See [`csv`](self) rules below.
//! - [`OutputFormat::Table`], the default: `name = value` for a value that
//!   is not a list or an empty list; for a non-empty list `name: N rows` and
//!   an aligned table (record fields, `.0`, `.1`, … for tuples, `value`
//!   otherwise) of at most [`TableOptions::max_rows`] rows, then
//!   `… N more rows`. Outputs are separated by an empty line.
//!
//! CSV cells: scalars as `str()` writes them (`NaN`, `inf`, `-inf`); a list,
//! tuple or record inside a cell as its JSON text; a cell is quoted when it
//! holds `,`, `"`, CR or LF (with `"` doubled), or when it is the only cell
//! of its row and empty, so the row is not an empty line.
//!
//! Files ([`write_output_file`], [`stage_output_file`]): the format comes
//! from the extension. `.json` holds the JSON of the value (no wrapping
//! object), `.jsonl` one element of a list per line (or the one value that
//! is not a list), `.csv` the CSV of the value without the `# name` line.
//! Paths are relative to the working directory; missing folders are
//! created; the bytes go to a temporary file in the target's folder that is
//! renamed over the target only when complete, so a failure leaves no
//! partial file.

mod csv;
mod json;
mod table;

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use flow_runtime::{Value, ValueType};

pub use table::TableOptions;

/// How `flowc run` prints its outputs (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// Aligned tables and `name = value` lines, for people.
    #[default]
    Table,
    /// One JSON object holding every output.
    Json,
    /// JSON lines, one per list element.
    Jsonl,
    /// CSV blocks, one per output.
    Csv,
}

impl OutputFormat {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [OutputFormat; 4] = [
        OutputFormat::Table,
        OutputFormat::Json,
        OutputFormat::Jsonl,
        OutputFormat::Csv,
    ];

    /// The format named `name` on the command line (`table`, `json`,
    /// `jsonl`, `csv`).
    pub fn from_name(name: &str) -> Option<OutputFormat> {
        OutputFormat::ALL
            .into_iter()
            .find(|format| format.name() == name)
    }

    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Table => "table",
            OutputFormat::Json => "json",
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::Csv => "csv",
        }
    }
}

/// The format of a `to "path"` file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// `.json`: the value's JSON.
    Json,
    /// `.jsonl`: one element per line.
    Jsonl,
    /// `.csv`: a header and a row per element.
    Csv,
}

impl FileFormat {
    /// The format for `path`'s extension (ASCII case ignored), if it is one
    /// of `.json`, `.jsonl`, `.csv`.
    pub fn for_path(path: &Path) -> Option<FileFormat> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "json" => Some(FileFormat::Json),
            "jsonl" => Some(FileFormat::Jsonl),
            "csv" => Some(FileFormat::Csv),
            _ => None,
        }
    }
}

/// One output of a job: its name, value and declared type.
#[derive(Debug, Clone, Copy)]
pub struct NamedOutput<'a> {
    /// The output's name in the program.
    pub name: &'a str,
    /// The computed value.
    pub value: &'a Value,
    /// The output's type.
    pub ty: &'a ValueType,
}

/// Why an output could not be rendered or written.
#[derive(Debug)]
pub enum OutputError {
    /// The value does not have the shape of its type (a damaged plan or
    /// result; the checker's types make this impossible for sound programs).
    Mismatch {
        /// The type, as Flow spells it.
        expected: String,
        /// What the value is (`an int`, `a list of 3`, …).
        found: String,
    },
    /// Writing to the destination stream failed.
    Io(io::Error),
    /// A `to "path"` file has an extension that is not `.json`, `.jsonl` or
    /// `.csv`.
    UnknownExtension {
        /// The path as given.
        path: PathBuf,
    },
    /// Creating, writing or renaming a `to "path"` file failed.
    File {
        /// The path as given.
        path: PathBuf,
        /// What was being done (`create folder`, `write`, `rename`).
        action: &'static str,
        /// The system's error.
        source: io::Error,
    },
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputError::Mismatch { expected, found } => {
                write!(
                    f,
                    "internal error: an output of type `{expected}` holds {found}"
                )
            }
            OutputError::Io(error) => write!(f, "cannot write the output: {error}"),
            OutputError::UnknownExtension { path } => write!(
                f,
                "cannot write `{}`: the file name must end in .json, .jsonl or .csv",
                path.display()
            ),
            OutputError::File {
                path,
                action,
                source,
            } => write!(f, "cannot {action} `{}`: {source}", path.display()),
        }
    }
}

impl std::error::Error for OutputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OutputError::Io(error) | OutputError::File { source: error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for OutputError {
    fn from(error: io::Error) -> Self {
        OutputError::Io(error)
    }
}

/// The error for `value` not having the shape of `ty`.
pub(crate) fn mismatch(value: &Value, ty: &ValueType) -> OutputError {
    let found = match value {
        Value::Int(n) => format!("the int {n}"),
        Value::Float(x) => format!("the float {x}"),
        Value::Bool(b) => format!("the bool {b}"),
        Value::Str(_) => String::from("a str"),
        Value::List(items) => format!("a list of {}", items.len()),
        Value::Tuple(items) => format!("a tuple of {}", items.len()),
        Value::Record(items) => format!("a record of {} fields", items.len()),
    };
    OutputError::Mismatch {
        expected: ty.display(),
        found,
    }
}

/// Prints every output, in the order given, in `format` (see the module
/// documentation for each layout). `table` bounds the table layout and is
/// ignored by the others.
pub fn render_outputs(
    out: &mut dyn Write,
    format: OutputFormat,
    outputs: &[NamedOutput<'_>],
    table: &TableOptions,
) -> Result<(), OutputError> {
    match format {
        OutputFormat::Json => {
            out.write_all(b"{")?;
            for (index, output) in outputs.iter().enumerate() {
                let mut key = String::new();
                if index > 0 {
                    key.push(',');
                }
                json::json_string(&mut key, output.name);
                key.push(':');
                out.write_all(key.as_bytes())?;
                json::write_json(out, output.value, output.ty)?;
            }
            out.write_all(b"}\n")?;
        }
        OutputFormat::Jsonl => {
            for output in outputs {
                json::write_jsonl(out, output.value, output.ty, Some(output.name))?;
            }
        }
        OutputFormat::Csv => {
            for (index, output) in outputs.iter().enumerate() {
                if index > 0 {
                    out.write_all(b"\n")?;
                }
                // The name line is a comment for people; CSV readers that
                // do not know `#` see one extra first row.
                let mut heading = String::from("# ");
                heading.push_str(&output.name.replace(['\r', '\n'], " "));
                heading.push('\n');
                out.write_all(heading.as_bytes())?;
                csv::write_csv(out, output.value, output.ty)?;
            }
        }
        OutputFormat::Table => {
            for (index, output) in outputs.iter().enumerate() {
                if index > 0 {
                    out.write_all(b"\n")?;
                }
                table::write_table(out, output.name, output.value, output.ty, table)?;
            }
        }
    }
    Ok(())
}

/// Renders one value as the content of a file of `format` (see the module
/// documentation).
pub fn render_file_content(
    out: &mut dyn Write,
    format: FileFormat,
    value: &Value,
    ty: &ValueType,
) -> Result<(), OutputError> {
    match format {
        FileFormat::Json => {
            json::write_json(out, value, ty)?;
            out.write_all(b"\n")?;
        }
        FileFormat::Jsonl => json::write_jsonl(out, value, ty, None)?,
        FileFormat::Csv => csv::write_csv(out, value, ty)?,
    }
    Ok(())
}

/// A `to "path"` file whose content is complete in a temporary file beside
/// its target, waiting for [`StagedFile::commit`] to rename it into place.
/// Dropping it without committing removes the temporary file, so a job that
/// fails after staging some outputs leaves none of them behind.
#[derive(Debug)]
pub struct StagedFile {
    target: PathBuf,
    temporary: Option<PathBuf>,
}

impl StagedFile {
    /// The path the file will have once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Renames the temporary file over the target (atomic on one file
    /// system, which the shared folder guarantees).
    pub fn commit(mut self) -> Result<PathBuf, OutputError> {
        let Some(temporary) = self.temporary.take() else {
            return Ok(self.target.clone());
        };
        if let Err(source) = fs::rename(&temporary, &self.target) {
            let _ = fs::remove_file(&temporary);
            return Err(OutputError::File {
                path: self.target.clone(),
                action: "rename into",
                source,
            });
        }
        Ok(self.target.clone())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if let Some(temporary) = self.temporary.take() {
            let _ = fs::remove_file(temporary);
        }
    }
}

/// Distinguishes temporary files of one process, so two outputs staged at
/// once never share one.
static TEMPORARY_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `value`, in the format of `path`'s extension, to a temporary file
/// beside `path` (creating missing folders), ready to be committed. `path`
/// is relative to the working directory when not absolute.
pub fn stage_output_file(
    path: &Path,
    value: &Value,
    ty: &ValueType,
) -> Result<StagedFile, OutputError> {
    let Some(format) = FileFormat::for_path(path) else {
        return Err(OutputError::UnknownExtension {
            path: path.to_path_buf(),
        });
    };
    stage_file(path, |out| render_file_content(out, format, value, ty))
}

/// Writes `value` to `path` (see [`stage_output_file`]) and commits it at
/// once.
pub fn write_output_file(
    path: &Path,
    value: &Value,
    ty: &ValueType,
) -> Result<PathBuf, OutputError> {
    stage_output_file(path, value, ty)?.commit()
}

/// Writes whatever `fill` writes to a temporary file beside `path`, flushed
/// to disk, ready to be committed; on any failure the temporary file is
/// removed.
pub fn stage_file(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), OutputError>,
) -> Result<StagedFile, OutputError> {
    let file_error = |action: &'static str| {
        move |source: io::Error| OutputError::File {
            path: path.to_path_buf(),
            action,
            source,
        }
    };
    let Some(file_name) = path.file_name() else {
        return Err(OutputError::File {
            path: path.to_path_buf(),
            action: "write",
            source: io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"),
        });
    };
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&folder).map_err(file_error("create the folder of"))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(file_name);
    temporary_name.push(format!(
        ".{}-{}.tmp",
        std::process::id(),
        TEMPORARY_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let temporary = folder.join(temporary_name);
    let file = File::create(&temporary).map_err(file_error("create a temporary file for"))?;
    // From here on the guard removes the temporary file on every early
    // return.
    let staged = StagedFile {
        target: path.to_path_buf(),
        temporary: Some(temporary),
    };
    let mut writer = BufWriter::new(file);
    match fill(&mut writer) {
        Ok(()) => {}
        Err(OutputError::Io(source)) => return Err(file_error("write")(source)),
        Err(other) => return Err(other),
    }
    let file = writer
        .into_inner()
        .map_err(|error| file_error("write")(error.into_error()))?;
    file.sync_all().map_err(file_error("write"))?;
    Ok(staged)
}

#[cfg(test)]
mod tests;
