//! How results are shown and written: JSON in the exact form of the
//! language contract (§10), JSON lines, CSV and a table for people; files
//! for `to "path"` written atomically (a temporary file beside the target,
//! then a rename), so a failed job leaves no half-written output.

use std::fmt::Write as _;
use std::path::Path;

use flow_compiler::ir::IrType;
use flow_runtime::Value;

/// A value as JSON: `int` and `float` as numbers (floats in shortest
/// round-trip form, always with a `.` or an exponent; non-finite floats as
/// the strings `"NaN"`, `"inf"`, `"-inf"`), lists and tuples as arrays,
/// records as objects with their fields in declared order.
pub fn json(value: &Value, ty: &IrType) -> String {
    let mut out = String::new();
    write_json(&mut out, value, ty);
    out
}

fn write_json(out: &mut String, value: &Value, ty: &IrType) {
    match value {
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(x) => out.push_str(&json_float(*x)),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Str(s) => out.push_str(&json_string(s)),
        Value::List(items) => {
            let element = ty.element().cloned().unwrap_or(IrType::Int);
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item, &element);
            }
            out.push(']');
        }
        Value::Tuple(items) => {
            let types = ty.fields();
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item, types.get(i).unwrap_or(&IrType::Int));
            }
            out.push(']');
        }
        Value::Record(fields) => {
            let declared: &[(String, IrType)] = match ty {
                IrType::Record(_, declared) => declared,
                _ => &[],
            };
            out.push('{');
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let (name, field_ty) = declared
                    .get(i)
                    .map_or((format!("_{i}"), IrType::Int), |(n, t)| {
                        (n.clone(), t.clone())
                    });
                out.push_str(&json_string(&name));
                out.push(':');
                write_json(out, field, &field_ty);
            }
            out.push('}');
        }
    }
}

/// A float in shortest round-trip form, as JSON.
pub fn json_float(x: f64) -> String {
    if x.is_nan() {
        "\"NaN\"".to_string()
    } else if x.is_infinite() {
        if x > 0.0 { "\"inf\"" } else { "\"-inf\"" }.to_string()
    } else {
        // serde_json prints floats with ryu: shortest round-trip, and an
        // integral value keeps its `.0`, so a float never reads as an int.
        serde_json::Value::from(x).to_string()
    }
}

fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// Every output as one JSON object `{ "name": value, … }` in declaration
/// order.
pub fn json_object(outputs: &[(String, Value, IrType)]) -> String {
    let mut out = String::from("{");
    for (i, (name, value, ty)) in outputs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&json_string(name));
        out.push(':');
        write_json(&mut out, value, ty);
    }
    out.push('}');
    out
}

/// JSON lines: for each output, one line per element of a list
/// (`{"output": name, "value": element}`), or one line for any other value.
pub fn jsonl(outputs: &[(String, Value, IrType)]) -> String {
    let mut out = String::new();
    for (name, value, ty) in outputs {
        match (value, ty.element()) {
            (Value::List(items), Some(element)) => {
                for item in items {
                    let _ = writeln!(
                        out,
                        "{{\"output\":{},\"value\":{}}}",
                        json_string(name),
                        json(item, element)
                    );
                }
            }
            _ => {
                let _ = writeln!(
                    out,
                    "{{\"output\":{},\"value\":{}}}",
                    json_string(name),
                    json(value, ty)
                );
            }
        }
    }
    out
}

/// The column names of a list's rows: record fields, `_0`, `_1`… for
/// tuples, `value` for scalars.
fn columns(element: &IrType) -> Vec<String> {
    match element {
        IrType::Record(_, fields) => fields.iter().map(|(n, _)| n.clone()).collect(),
        IrType::Tuple(items) => (0..items.len()).map(|i| format!("_{i}")).collect(),
        _ => vec!["value".to_string()],
    }
}

/// The cells of one row, as text.
fn cells(value: &Value, element: &IrType) -> Vec<String> {
    match value {
        Value::Tuple(items) | Value::Record(items) => {
            let types = element.fields();
            items
                .iter()
                .enumerate()
                .map(|(i, v)| cell(v, types.get(i).unwrap_or(&IrType::Int)))
                .collect()
        }
        other => vec![cell(other, element)],
    }
}

fn cell(value: &Value, ty: &IrType) -> String {
    match value {
        Value::Str(s) => s.clone(),
        Value::Float(x) => json_float(*x).trim_matches('"').to_string(),
        other => json(other, ty),
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A list as CSV (RFC 4180): a header row, then a row per element. Any
/// other value is a one-row table with a `value` column.
pub fn csv(value: &Value, ty: &IrType) -> String {
    let (rows, element): (Vec<&Value>, IrType) = match (value, ty.element()) {
        (Value::List(items), Some(element)) => (items.iter().collect(), element.clone()),
        _ => (vec![value], ty.clone()),
    };
    let mut out = String::new();
    let header: Vec<String> = columns(&element).iter().map(|c| csv_field(c)).collect();
    let _ = writeln!(out, "{}", header.join(","));
    for row in rows {
        let fields: Vec<String> = cells(row, &element).iter().map(|c| csv_field(c)).collect();
        let _ = writeln!(out, "{}", fields.join(","));
    }
    out
}

/// Every output as CSV blocks: `# name` then the CSV of its value, blocks
/// separated by an empty line.
pub fn csv_blocks(outputs: &[(String, Value, IrType)]) -> String {
    let blocks: Vec<String> = outputs
        .iter()
        .map(|(name, value, ty)| format!("# {name}\n{}", csv(value, ty)))
        .collect();
    blocks.join("\n")
}

/// How many rows of a list the table shows before "… N more rows".
const TABLE_ROWS: usize = 50;

/// For people: `name = value` for single values, an aligned table under
/// `name:` for lists.
pub fn table(outputs: &[(String, Value, IrType)]) -> String {
    let mut out = String::new();
    for (name, value, ty) in outputs {
        match (value, ty.element()) {
            (Value::List(items), Some(element)) => {
                let _ = writeln!(out, "{name}: {} rows", items.len());
                let header = columns(element);
                let rows: Vec<Vec<String>> = items
                    .iter()
                    .take(TABLE_ROWS)
                    .map(|item| cells(item, element))
                    .collect();
                let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
                for row in &rows {
                    for (i, c) in row.iter().enumerate() {
                        if let Some(w) = widths.get_mut(i) {
                            *w = (*w).max(c.chars().count());
                        }
                    }
                }
                let line = |cells: &[String]| {
                    let padded: Vec<String> = cells
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            let width = widths.get(i).copied().unwrap_or(0);
                            format!("{c}{}", " ".repeat(width.saturating_sub(c.chars().count())))
                        })
                        .collect();
                    format!("  {}", padded.join("  ").trim_end())
                };
                let _ = writeln!(out, "{}", line(&header));
                for row in &rows {
                    let _ = writeln!(out, "{}", line(row));
                }
                if items.len() > TABLE_ROWS {
                    let _ = writeln!(out, "  … {} more rows", items.len() - TABLE_ROWS);
                }
            }
            _ => {
                let _ = writeln!(out, "{name} = {}", cell(value, ty));
            }
        }
    }
    out
}

/// Writes `text` to `path` atomically: folders are created, the text goes
/// to a temporary file in the same folder, which is then renamed over the
/// target.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_string());
    let temporary = path.with_file_name(format!(".{name}.flowc-{}.tmp", std::process::id()));
    std::fs::write(&temporary, text)
        .map_err(|e| format!("cannot write {}: {e}", temporary.display()))?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        format!("cannot write {}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row_type() -> IrType {
        IrType::Record(
            "Row".into(),
            vec![("city".into(), IrType::Str), ("temp".into(), IrType::Float)],
        )
    }

    #[test]
    fn json_is_the_contract_form() {
        let ty = IrType::List(Box::new(row_type()));
        let value = Value::List(vec![Value::Record(vec![
            Value::str("Oslo \"N\""),
            Value::Float(2.0),
        ])]);
        assert_eq!(json(&value, &ty), r#"[{"city":"Oslo \"N\"","temp":2.0}]"#);
        assert_eq!(json_float(f64::NAN), "\"NaN\"");
        assert_eq!(json_float(f64::NEG_INFINITY), "\"-inf\"");
        assert_eq!(json_float(0.1), "0.1");
        assert_eq!(json_float(1e300), "1e+300");
    }

    #[test]
    fn csv_quotes_and_names_columns() {
        let ty = IrType::List(Box::new(IrType::Tuple(vec![IrType::Str, IrType::Int])));
        let value = Value::List(vec![Value::Tuple(vec![Value::str("a,b"), Value::Int(3)])]);
        assert_eq!(csv(&value, &ty), "_0,_1\n\"a,b\",3\n");
        let records = Value::List(vec![Value::Record(vec![
            Value::str("x"),
            Value::Float(1.5),
        ])]);
        assert_eq!(
            csv(&records, &IrType::List(Box::new(row_type()))),
            "city,temp\nx,1.5\n"
        );
    }

    #[test]
    fn table_aligns_and_truncates() {
        let ty = IrType::List(Box::new(IrType::Int));
        let value = Value::List((0..60).map(Value::Int).collect());
        let shown = table(&[("n".into(), value, ty)]);
        assert!(shown.starts_with("n: 60 rows\n  value\n  0\n"));
        assert!(shown.ends_with("  … 10 more rows\n"));
    }

    #[test]
    fn atomic_writes_create_folders_and_leave_no_temporary() {
        let dir = std::env::temp_dir().join(format!("flowc-out-{}", std::process::id()));
        let target = dir.join("a/b/out.json");
        write_atomically(&target, "[1]").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "[1]");
        let leftovers: Vec<_> = std::fs::read_dir(target.parent().unwrap())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
