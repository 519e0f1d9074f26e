//! The one error type of the runtime.
//!
//! Nothing in the runtime panics on bad data: decoding untrusted bytes, bad
//! text given to `to_int`, an overflowing sum, a malformed input row, all
//! return a [`RuntimeError`]. The host turns it into a job failure, adding
//! what only it knows (the file name, the absolute line number).

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;

/// Why a runtime operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeError {
    /// Bytes that should hold an encoded value or partial result do not.
    /// `offset` is the byte offset where decoding gave up.
    Malformed {
        /// What was being decoded and what was wrong.
        what: String,
        /// Byte offset into the decoded buffer.
        offset: usize,
    },
    /// An `int` computation overflowed 64 bits.
    IntOverflow {
        /// The operation, such as `sum`.
        operation: &'static str,
    },
    /// An `int` division or remainder by zero.
    DivisionByZero {
        /// The operator: `/` or `%`.
        operation: &'static str,
    },
    /// A float given to `int`, `floor`, `ceil` or `round` has no `int`
    /// value: NaN, an infinity, or beyond 64 bits.
    FloatToInt {
        /// The function, such as `round`.
        operation: &'static str,
        /// The float as `str(x)` spells it.
        value: String,
    },
    /// An aggregation that needs at least one element got none.
    Empty {
        /// The aggregation, such as `min`.
        aggregation: &'static str,
    },
    /// Two partial results of different aggregations were merged.
    Mismatch {
        /// What was expected and what was found.
        what: String,
    },
    /// `to_int` or `to_float` got text that is not a number.
    BadNumber {
        /// The offending text (shortened if long).
        text: String,
        /// `int` or `float`.
        target: &'static str,
    },
    /// A regular expression does not compile.
    Regex {
        /// Byte offset into the pattern.
        position: usize,
        /// What is wrong there.
        message: String,
    },
    /// An input row or line does not decode as the declared type.
    Input {
        /// Line number within the chunk, starting at 1.
        line: u64,
        /// Byte offset of the start of that line within the chunk.
        byte_offset: usize,
        /// The field concerned, if any.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
}

impl RuntimeError {
    /// The stable name of the error's kind, the `kind` of the error record
    /// of docs/abi.md: `overflow`, `division-by-zero`, `parse`, `empty`,
    /// `bad-record`, `missing-field` or `internal`.
    pub fn kind(&self) -> &'static str {
        match self {
            RuntimeError::IntOverflow { .. } | RuntimeError::FloatToInt { .. } => "overflow",
            RuntimeError::DivisionByZero { .. } => "division-by-zero",
            RuntimeError::Empty { .. } => "empty",
            RuntimeError::BadNumber { .. } | RuntimeError::Regex { .. } => "parse",
            RuntimeError::Input { message, .. }
                if message.starts_with(crate::decode::MISSING_FIELD) =>
            {
                "missing-field"
            }
            RuntimeError::Input { .. } => "bad-record",
            RuntimeError::Malformed { .. } | RuntimeError::Mismatch { .. } => "internal",
        }
    }

    /// The error's message without the chunk-relative line and byte of an
    /// [`RuntimeError::Input`]: what a stage reports, once the host has
    /// turned the line into a position in the input file (the chunk's own
    /// numbers would change with the split).
    pub fn message_in_input(&self) -> String {
        match self {
            RuntimeError::Input {
                field: Some(field),
                message,
                ..
            } => format!("field `{field}`: {message}"),
            RuntimeError::Input { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// A [`RuntimeError::Malformed`] at `offset`.
    pub fn malformed(what: impl Into<String>, offset: usize) -> Self {
        RuntimeError::Malformed {
            what: what.into(),
            offset,
        }
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuntimeError::Malformed { what, offset } => {
                write!(f, "malformed data at byte {offset}: {what}")
            }
            RuntimeError::IntOverflow { operation } => {
                write!(f, "integer overflow in {operation}")
            }
            RuntimeError::DivisionByZero { operation } => {
                write!(f, "division by zero in {operation}")
            }
            RuntimeError::FloatToInt { operation, value } => {
                write!(f, "{operation}({value}) does not fit in an int")
            }
            RuntimeError::Empty { aggregation } => {
                write!(f, "{aggregation} of an empty stream")
            }
            RuntimeError::Mismatch { what } => write!(f, "mismatched partial results: {what}"),
            RuntimeError::BadNumber { text, target } => {
                write!(f, "{text:?} is not a valid {target}")
            }
            RuntimeError::Regex { position, message } => {
                write!(
                    f,
                    "invalid regular expression at byte {position}: {message}"
                )
            }
            RuntimeError::Input {
                line,
                byte_offset,
                field,
                message,
            } => {
                write!(f, "line {line} (byte {byte_offset})")?;
                if let Some(field) = field {
                    write!(f, ", field `{field}`")?;
                }
                write!(f, ": {message}")
            }
        }
    }
}

impl core::error::Error for RuntimeError {}

/// The result type of the runtime.
pub type Result<T> = core::result::Result<T, RuntimeError>;
