//! JSON text of values (LANGUAGE.md §10): `int` and `float` as numbers
//! (floats in shortest round-trip form, non-finite ones as the strings
//! `"NaN"`, `"inf"`, `"-inf"`), `str` as strings, `bool`, lists and tuples as
//! arrays, records as objects with their fields in declared order.
//!
//! Also the JSON lines layout of one value: one line per element of a list,
//! or one line holding a value that is not a list.

use std::fmt::Write as _;
use std::io::Write;

use flow_runtime::text::float_to_str;
use flow_runtime::{Value, ValueType};

use super::{OutputError, mismatch};

/// Appends the JSON text of `value`, of type `ty`, on one line.
pub(crate) fn json_value(
    out: &mut String,
    value: &Value,
    ty: &ValueType,
) -> Result<(), OutputError> {
    match (value, ty) {
        (Value::Int(n), ValueType::Int) => {
            let _ = write!(out, "{n}");
        }
        (Value::Float(x), ValueType::Float) => json_float(out, *x),
        (Value::Bool(b), ValueType::Bool) => out.push_str(if *b { "true" } else { "false" }),
        (Value::Str(s), ValueType::Str) => json_string(out, s),
        (Value::List(items), ValueType::List(item_ty)) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                json_value(out, item, item_ty)?;
            }
            out.push(']');
        }
        (Value::Tuple(items), ValueType::Tuple(types)) if items.len() == types.len() => {
            out.push('[');
            for (index, (item, item_ty)) in items.iter().zip(types).enumerate() {
                if index > 0 {
                    out.push(',');
                }
                json_value(out, item, item_ty)?;
            }
            out.push(']');
        }
        (Value::Record(items), ValueType::Record { fields, .. }) if items.len() == fields.len() => {
            out.push('{');
            for (index, (item, (name, item_ty))) in items.iter().zip(fields).enumerate() {
                if index > 0 {
                    out.push(',');
                }
                json_string(out, name);
                out.push(':');
                json_value(out, item, item_ty)?;
            }
            out.push('}');
        }
        _ => return Err(mismatch(value, ty)),
    }
    Ok(())
}

/// A float: the shortest text that reads back as the same float (as
/// `str(x)` spells it, always with a `.` or an exponent), or a string for
/// the non-finite ones.
pub(crate) fn json_float(out: &mut String, x: f64) {
    if x.is_finite() {
        out.push_str(&float_to_str(x));
    } else {
        out.push('"');
        out.push_str(&float_to_str(x));
        out.push('"');
    }
}

/// A JSON string literal: `"` and `\` escaped, control characters as
/// `\n`, `\r`, `\t`, `\b`, `\f` or `\u00XX`; everything else as is (UTF-8).
pub(crate) fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes one value as JSON on one line, a list element at a time so a
/// long list is never held as one string.
pub(crate) fn write_json(
    out: &mut dyn Write,
    value: &Value,
    ty: &ValueType,
) -> Result<(), OutputError> {
    let mut text = String::new();
    if let (Value::List(items), ValueType::List(item_ty)) = (value, ty) {
        out.write_all(b"[")?;
        for (index, item) in items.iter().enumerate() {
            text.clear();
            if index > 0 {
                text.push(',');
            }
            json_value(&mut text, item, item_ty)?;
            out.write_all(text.as_bytes())?;
        }
        out.write_all(b"]")?;
    } else {
        json_value(&mut text, value, ty)?;
        out.write_all(text.as_bytes())?;
    }
    Ok(())
}

/// Writes one value as JSON lines: each element of a list on its own line,
/// or a value that is not a list on one line. `wrap` wraps every line as
/// `{"output":NAME,"value":…}`.
pub(crate) fn write_jsonl(
    out: &mut dyn Write,
    value: &Value,
    ty: &ValueType,
    wrap: Option<&str>,
) -> Result<(), OutputError> {
    let mut text = String::new();
    let mut line =
        |out: &mut dyn Write, value: &Value, ty: &ValueType| -> Result<(), OutputError> {
            text.clear();
            if let Some(name) = wrap {
                text.push_str("{\"output\":");
                json_string(&mut text, name);
                text.push_str(",\"value\":");
            }
            json_value(&mut text, value, ty)?;
            if wrap.is_some() {
                text.push('}');
            }
            text.push('\n');
            out.write_all(text.as_bytes())?;
            Ok(())
        };
    match (value, ty) {
        (Value::List(items), ValueType::List(item_ty)) => {
            for item in items {
                line(out, item, item_ty)?;
            }
        }
        _ => line(out, value, ty)?,
    }
    Ok(())
}
