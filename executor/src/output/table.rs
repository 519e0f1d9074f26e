//! The human-readable layout of `flowc run`'s default output.
//!
//! A value that is not a list, or an empty list, is one line `name = value`
//! with the value as Flow source spells it (`"text"` quoted and escaped,
//! `(1, "a")`, `{ city: "Oslo", temp: 1.5 }`, `[1, 2]`). A non-empty list is
//! `name: N rows` and an aligned table below it, indented by two spaces: one
//! column per record field (headed by its name) or tuple field (headed
//! `.0`, `.1`, …), or a single column `value` for other elements. Numbers
//! are right-aligned, everything else left-aligned; text in cells is shown
//! without quotes, with control characters escaped so rows stay one line.
//! Cells longer than `max_cell_chars` characters are cut with `…`, and
//! after `max_rows` rows a last line says `… N more rows`.

use std::fmt::Write as _;
use std::io::Write;

use flow_runtime::text::float_to_str;
use flow_runtime::{Value, ValueType};

use super::{OutputError, mismatch};

/// How much of a long output the table layout shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableOptions {
    /// Rows shown per list before `… N more rows`.
    pub max_rows: usize,
    /// Characters shown per cell before it is cut with `…`.
    pub max_cell_chars: usize,
}

impl Default for TableOptions {
    /// 50 rows of at most 60 characters per cell.
    fn default() -> Self {
        TableOptions {
            max_rows: 50,
            max_cell_chars: 60,
        }
    }
}

/// Appends `value` as Flow source spells it.
pub(crate) fn flow_literal(
    out: &mut String,
    value: &Value,
    ty: &ValueType,
) -> Result<(), OutputError> {
    match (value, ty) {
        (Value::Str(s), ValueType::Str) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    other => push_escaped_char(out, other),
                }
            }
            out.push('"');
        }
        (Value::List(items), ValueType::List(item_ty)) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                flow_literal(out, item, item_ty)?;
            }
            out.push(']');
        }
        (Value::Tuple(items), ValueType::Tuple(types)) if items.len() == types.len() => {
            out.push('(');
            for (index, (item, item_ty)) in items.iter().zip(types).enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                flow_literal(out, item, item_ty)?;
            }
            if items.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        (Value::Record(items), ValueType::Record { fields, .. }) if items.len() == fields.len() => {
            out.push_str("{ ");
            for (index, (item, (name, item_ty))) in items.iter().zip(fields).enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                out.push_str(name);
                out.push_str(": ");
                flow_literal(out, item, item_ty)?;
            }
            out.push_str(" }");
        }
        _ => out.push_str(&scalar_text(value, ty)?),
    }
    Ok(())
}

/// Control characters as Flow escapes (`\n`, `\t`, `\r`, `\u{…}`), every
/// other character as is.
fn push_escaped_char(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if c.is_control() => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

/// The text of an `int`, `float` or `bool`.
fn scalar_text(value: &Value, ty: &ValueType) -> Result<String, OutputError> {
    match (value, ty) {
        (Value::Int(n), ValueType::Int) => Ok(n.to_string()),
        (Value::Float(x), ValueType::Float) => Ok(float_to_str(*x)),
        (Value::Bool(b), ValueType::Bool) => Ok(String::from(if *b { "true" } else { "false" })),
        _ => Err(mismatch(value, ty)),
    }
}

/// The text of one table cell: text unquoted (control characters escaped),
/// compound values as Flow literals, cut to `max_chars` characters.
fn cell_text(value: &Value, ty: &ValueType, max_chars: usize) -> Result<String, OutputError> {
    let mut text = String::new();
    match (value, ty) {
        (Value::Str(s), ValueType::Str) => s.chars().for_each(|c| push_escaped_char(&mut text, c)),
        _ => flow_literal(&mut text, value, ty)?,
    }
    if text.chars().count() > max_chars {
        let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
        cut.push('…');
        text = cut;
    }
    Ok(text)
}

/// The column headers, types and cells of one row of type `row`.
fn columns(row: &ValueType) -> Vec<(String, &ValueType)> {
    match row {
        ValueType::Record { fields, .. } => {
            fields.iter().map(|(name, ty)| (name.clone(), ty)).collect()
        }
        ValueType::Tuple(types) => types
            .iter()
            .enumerate()
            .map(|(i, ty)| (format!(".{i}"), ty))
            .collect(),
        other => vec![(String::from("value"), other)],
    }
}

fn row_cells(value: &Value, row: &ValueType, max_chars: usize) -> Result<Vec<String>, OutputError> {
    match (value, row) {
        (Value::Record(items), ValueType::Record { fields, .. }) if items.len() == fields.len() => {
            items
                .iter()
                .zip(fields)
                .map(|(item, (_, ty))| cell_text(item, ty, max_chars))
                .collect()
        }
        (Value::Tuple(items), ValueType::Tuple(types)) if items.len() == types.len() => items
            .iter()
            .zip(types)
            .map(|(item, ty)| cell_text(item, ty, max_chars))
            .collect(),
        (_, ValueType::Record { .. } | ValueType::Tuple(_)) => Err(mismatch(value, row)),
        _ => Ok(vec![cell_text(value, row, max_chars)?]),
    }
}

/// Writes one named output in the table layout.
pub(crate) fn write_table(
    out: &mut dyn Write,
    name: &str,
    value: &Value,
    ty: &ValueType,
    options: &TableOptions,
) -> Result<(), OutputError> {
    let (items, row_ty) = match (value, ty) {
        (Value::List(items), ValueType::List(row_ty)) if !items.is_empty() => {
            (items, row_ty.as_ref())
        }
        _ => {
            let mut line = format!("{name} = ");
            flow_literal(&mut line, value, ty)?;
            line.push('\n');
            out.write_all(line.as_bytes())?;
            return Ok(());
        }
    };
    let columns = columns(row_ty);
    let shown = items.len().min(options.max_rows.max(1));
    let mut rows = Vec::with_capacity(shown);
    for item in items.iter().take(shown) {
        rows.push(row_cells(item, row_ty, options.max_cell_chars.max(2))?);
    }
    let mut widths: Vec<usize> = columns
        .iter()
        .map(|(header, _)| header.chars().count())
        .collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let right_aligned: Vec<bool> = columns
        .iter()
        .map(|(_, ty)| matches!(ty, ValueType::Int | ValueType::Float))
        .collect();
    let count_noun = if items.len() == 1 { "row" } else { "rows" };
    let mut text = format!("{name}: {} {count_noun}\n", items.len());
    let headers: Vec<String> = columns.iter().map(|(header, _)| header.clone()).collect();
    push_line(&mut text, &headers, &widths, &right_aligned);
    let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    push_line(&mut text, &rules, &widths, &right_aligned);
    for row in &rows {
        push_line(&mut text, row, &widths, &right_aligned);
    }
    let hidden = items.len() - shown;
    if hidden > 0 {
        let noun = if hidden == 1 { "row" } else { "rows" };
        let _ = writeln!(text, "  … {hidden} more {noun}");
    }
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// Appends one aligned, indented line; the last column is not padded, so
/// lines carry no trailing spaces.
fn push_line(out: &mut String, cells: &[String], widths: &[usize], right_aligned: &[bool]) {
    let mut line = String::from("  ");
    let last = cells.len().saturating_sub(1);
    for (index, ((cell, width), right)) in cells.iter().zip(widths).zip(right_aligned).enumerate() {
        if index > 0 {
            line.push_str("  ");
        }
        let pad = width.saturating_sub(cell.chars().count());
        if *right {
            line.push_str(&" ".repeat(pad));
            line.push_str(cell);
        } else {
            line.push_str(cell);
            if index < last {
                line.push_str(&" ".repeat(pad));
            }
        }
    }
    out.push_str(&line);
    out.push('\n');
}
