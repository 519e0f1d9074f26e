//! CSV text of one value (RFC 4180 quoting, `\n` row ends).
//!
//! The rows are the elements of a list, or the value itself when it is not
//! a list. The header names the columns: a record's field names, `_0`,
//! `_1`, … for a tuple's fields, or `value` for any other element type (one
//! column). A cell is quoted when it holds `,`, `"`, `\r` or `\n` (with `"`
//! doubled), and when it is the empty only cell of its row, so that the
//! row is not an empty line, which CSV readers skip. Scalars are written as
//! `str()` writes them (floats in shortest round-trip form, `NaN`, `inf`,
//! `-inf`); a list, tuple or record inside a cell is written as its JSON
//! text.

use std::io::Write;

use flow_runtime::text::float_to_str;
use flow_runtime::{Value, ValueType};

use super::json::json_value;
use super::{OutputError, mismatch};

/// The column names of rows of type `row`.
pub(crate) fn column_names(row: &ValueType) -> Vec<String> {
    match row {
        ValueType::Record { fields, .. } => fields.iter().map(|(name, _)| name.clone()).collect(),
        ValueType::Tuple(items) => (0..items.len()).map(|i| format!("_{i}")).collect(),
        _ => vec![String::from("value")],
    }
}

/// The cells of one row of type `row`, unquoted.
pub(crate) fn row_cells(value: &Value, row: &ValueType) -> Result<Vec<String>, OutputError> {
    match (value, row) {
        (Value::Record(items), ValueType::Record { fields, .. }) if items.len() == fields.len() => {
            items
                .iter()
                .zip(fields)
                .map(|(item, (_, ty))| cell_text(item, ty))
                .collect()
        }
        (Value::Tuple(items), ValueType::Tuple(types)) if items.len() == types.len() => items
            .iter()
            .zip(types)
            .map(|(item, ty)| cell_text(item, ty))
            .collect(),
        (Value::Record(_) | Value::Tuple(_), ValueType::Record { .. } | ValueType::Tuple(_)) => {
            Err(mismatch(value, row))
        }
        _ => Ok(vec![cell_text(value, row)?]),
    }
}

/// The text of one cell.
fn cell_text(value: &Value, ty: &ValueType) -> Result<String, OutputError> {
    Ok(match (value, ty) {
        (Value::Int(n), ValueType::Int) => n.to_string(),
        (Value::Float(x), ValueType::Float) => float_to_str(*x),
        (Value::Bool(b), ValueType::Bool) => String::from(if *b { "true" } else { "false" }),
        (Value::Str(s), ValueType::Str) => s.clone(),
        _ => {
            let mut text = String::new();
            json_value(&mut text, value, ty)?;
            text
        }
    })
}

/// Appends one row, quoting cells as RFC 4180 requires.
fn push_row(out: &mut String, cells: &[String]) {
    for (index, cell) in cells.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let needs_quotes =
            cell.contains([',', '"', '\r', '\n']) || (cells.len() == 1 && cell.is_empty());
        if needs_quotes {
            out.push('"');
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(cell);
        }
    }
    out.push('\n');
}

/// Writes one value as CSV: the header, then a row per element (or one row
/// for a value that is not a list).
pub(crate) fn write_csv(
    out: &mut dyn Write,
    value: &Value,
    ty: &ValueType,
) -> Result<(), OutputError> {
    let (rows, row_ty): (&[Value], &ValueType) = match (value, ty) {
        (Value::List(items), ValueType::List(item_ty)) => (items, item_ty),
        (Value::List(_), _) => return Err(mismatch(value, ty)),
        _ => (std::slice::from_ref(value), ty),
    };
    let mut text = String::new();
    push_row(&mut text, &column_names(row_ty));
    out.write_all(text.as_bytes())?;
    for row in rows {
        text.clear();
        push_row(&mut text, &row_cells(row, row_ty)?);
        out.write_all(text.as_bytes())?;
    }
    Ok(())
}
