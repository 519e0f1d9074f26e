//! Tests of every output layout on values of every type, and of the atomic
//! file writers on real temporary folders.

use super::*;

fn record_type() -> ValueType {
    ValueType::Record {
        name: String::from("Row"),
        fields: vec![
            (String::from("city"), ValueType::Str),
            (String::from("temp"), ValueType::Float),
            (String::from("n"), ValueType::Int),
        ],
    }
}

fn row(city: &str, temp: f64, n: i64) -> Value {
    Value::Record(vec![Value::str(city), Value::Float(temp), Value::Int(n)])
}

fn rows_type() -> ValueType {
    ValueType::List(Box::new(record_type()))
}

fn rows() -> Value {
    Value::List(vec![row("Oslo", 1.5, 3), row("Quito, EC", f64::NAN, -20)])
}

fn render(format: OutputFormat, outputs: &[NamedOutput<'_>]) -> String {
    let mut out = Vec::new();
    render_outputs(&mut out, format, outputs, &TableOptions::default()).expect("renders");
    String::from_utf8(out).expect("UTF-8")
}

fn file_content(format: FileFormat, value: &Value, ty: &ValueType) -> String {
    let mut out = Vec::new();
    render_file_content(&mut out, format, value, ty).expect("renders");
    String::from_utf8(out).expect("UTF-8")
}

/// A fresh folder under the system's temporary folder.
fn temporary_folder(label: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let folder = std::env::temp_dir().join(format!(
        "flow-output-test-{label}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&folder);
    fs::create_dir_all(&folder).expect("temporary folder");
    folder
}

fn folder_entries(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .expect("readable")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn json_is_one_object_in_declaration_order_with_exact_numbers() {
    let total_ty = ValueType::Float;
    let total = Value::Float(2.0);
    let tiny = Value::Float(0.1 + 0.2);
    let specials_ty = ValueType::List(Box::new(ValueType::Float));
    let specials = Value::List(vec![
        Value::Float(f64::INFINITY),
        Value::Float(f64::NEG_INFINITY),
        Value::Float(f64::NAN),
        Value::Float(1e300),
    ]);
    let pair_ty = ValueType::Tuple(vec![ValueType::Str, ValueType::Bool]);
    let pair = Value::Tuple(vec![Value::str("a\"b\\c\n\u{1}é"), Value::Bool(true)]);
    let rows_ty = rows_type();
    let rows = rows();
    let outputs = [
        NamedOutput {
            name: "total",
            value: &total,
            ty: &total_ty,
        },
        NamedOutput {
            name: "tiny",
            value: &tiny,
            ty: &total_ty,
        },
        NamedOutput {
            name: "specials",
            value: &specials,
            ty: &specials_ty,
        },
        NamedOutput {
            name: "pair",
            value: &pair,
            ty: &pair_ty,
        },
        NamedOutput {
            name: "rows",
            value: &rows,
            ty: &rows_ty,
        },
    ];
    assert_eq!(
        render(OutputFormat::Json, &outputs),
        concat!(
            r#"{"total":2.0,"tiny":0.30000000000000004,"specials":["inf","-inf","NaN",1e300],"#,
            r#""pair":["a\"b\\c\n\u0001é",true],"#,
            r#""rows":[{"city":"Oslo","temp":1.5,"n":3},{"city":"Quito, EC","temp":"NaN","n":-20}]}"#,
            "\n"
        )
    );
    assert_eq!(render(OutputFormat::Json, &[]), "{}\n");
}

#[test]
fn json_floats_read_back_as_the_same_float() {
    for x in [
        0.1,
        1.0 / 3.0,
        -2.5e-8,
        123456789.0,
        f64::MIN_POSITIVE,
        f64::MAX,
        -0.0,
    ] {
        let mut text = String::new();
        json::json_float(&mut text, x);
        let back: f64 = text.parse().expect("a JSON number");
        assert_eq!(back.to_bits(), x.to_bits(), "{text}");
        assert!(text.contains(['.', 'e']), "{text} must not read as an int");
    }
}

#[test]
fn jsonl_has_a_line_per_list_element_and_one_for_other_values() {
    let count = Value::Int(7);
    let empty = Value::List(Vec::new());
    let rows_ty = rows_type();
    let rows = rows();
    let outputs = [
        NamedOutput {
            name: "count",
            value: &count,
            ty: &ValueType::Int,
        },
        NamedOutput {
            name: "none",
            value: &empty,
            ty: &rows_ty,
        },
        NamedOutput {
            name: "rows",
            value: &rows,
            ty: &rows_ty,
        },
    ];
    assert_eq!(
        render(OutputFormat::Jsonl, &outputs),
        concat!(
            "{\"output\":\"count\",\"value\":7}\n",
            "{\"output\":\"rows\",\"value\":{\"city\":\"Oslo\",\"temp\":1.5,\"n\":3}}\n",
            "{\"output\":\"rows\",\"value\":{\"city\":\"Quito, EC\",\"temp\":\"NaN\",\"n\":-20}}\n",
        )
    );
    assert_eq!(
        file_content(FileFormat::Jsonl, &rows, &rows_ty),
        "{\"city\":\"Oslo\",\"temp\":1.5,\"n\":3}\n{\"city\":\"Quito, EC\",\"temp\":\"NaN\",\"n\":-20}\n"
    );
}

#[test]
fn csv_has_headers_from_fields_and_quotes_as_rfc_4180() {
    let rows_ty = rows_type();
    let rows = Value::List(vec![
        row("Oslo", 1.5, 3),
        row("Quito, EC", f64::NEG_INFINITY, -20),
        row("say \"hi\"\r\nnow", 0.0, 0),
    ]);
    assert_eq!(
        file_content(FileFormat::Csv, &rows, &rows_ty),
        "city,temp,n\nOslo,1.5,3\n\"Quito, EC\",-inf,-20\n\"say \"\"hi\"\"\r\nnow\",0.0,0\n"
    );
    let pairs_ty = ValueType::List(Box::new(ValueType::Tuple(vec![
        ValueType::Str,
        ValueType::List(Box::new(ValueType::Int)),
    ])));
    let pairs = Value::List(vec![Value::Tuple(vec![
        Value::str("a"),
        Value::List(vec![Value::Int(1), Value::Int(2)]),
    ])]);
    assert_eq!(
        file_content(FileFormat::Csv, &pairs, &pairs_ty),
        "_0,_1\na,\"[1,2]\"\n"
    );
    let words_ty = ValueType::List(Box::new(ValueType::Str));
    let words = Value::List(vec![Value::str("x"), Value::str("")]);
    assert_eq!(
        file_content(FileFormat::Csv, &words, &words_ty),
        "value\nx\n\"\"\n"
    );
    assert_eq!(
        file_content(FileFormat::Csv, &Value::Float(0.5), &ValueType::Float),
        "value\n0.5\n"
    );
}

#[test]
fn csv_on_standard_output_names_each_block() {
    let count = Value::Int(7);
    let rows_ty = rows_type();
    let rows = Value::List(vec![row("Oslo", 1.5, 3)]);
    let outputs = [
        NamedOutput {
            name: "count",
            value: &count,
            ty: &ValueType::Int,
        },
        NamedOutput {
            name: "rows",
            value: &rows,
            ty: &rows_ty,
        },
    ];
    assert_eq!(
        render(OutputFormat::Csv, &outputs),
        "# count\nvalue\n7\n\n# rows\ncity,temp,n\nOslo,1.5,3\n"
    );
}

#[test]
fn table_aligns_columns_and_truncates_long_lists() {
    let rows_ty = rows_type();
    let many = Value::List(
        (0..5)
            .map(|i| row(&"ab".repeat(i), f64::from(i as u8) * 10.0, i as i64))
            .collect(),
    );
    let label = Value::str("tab\there");
    let outputs = [
        NamedOutput {
            name: "label",
            value: &label,
            ty: &ValueType::Str,
        },
        NamedOutput {
            name: "rows",
            value: &many,
            ty: &rows_ty,
        },
    ];
    let mut out = Vec::new();
    let options = TableOptions {
        max_rows: 3,
        max_cell_chars: 60,
    };
    render_outputs(&mut out, OutputFormat::Table, &outputs, &options).expect("renders");
    assert_eq!(
        String::from_utf8(out).expect("UTF-8"),
        concat!(
            "label = \"tab\\there\"\n",
            "\n",
            "rows: 5 rows\n",
            "  city  temp  n\n",
            "  ----  ----  -\n",
            "         0.0  0\n",
            "  ab    10.0  1\n",
            "  abab  20.0  2\n",
            "  … 2 more rows\n",
        )
    );
}

#[test]
fn table_shows_compound_scalars_as_flow_literals() {
    let ty = ValueType::Tuple(vec![ValueType::Int, record_type()]);
    let value = Value::Tuple(vec![Value::Int(1), row("Oslo", 2.0, 3)]);
    let empty = Value::List(Vec::new());
    let list_ty = ValueType::List(Box::new(ValueType::Int));
    let outputs = [
        NamedOutput {
            name: "pair",
            value: &value,
            ty: &ty,
        },
        NamedOutput {
            name: "nothing",
            value: &empty,
            ty: &list_ty,
        },
    ];
    assert_eq!(
        render(OutputFormat::Table, &outputs),
        "pair = (1, { city: \"Oslo\", temp: 2.0, n: 3 })\n\nnothing = []\n"
    );
}

#[test]
fn a_value_of_the_wrong_shape_is_an_error_not_a_panic() {
    let rows_ty = rows_type();
    let wrong = Value::List(vec![Value::Record(vec![Value::Int(1)])]);
    for format in OutputFormat::ALL {
        let outputs = [NamedOutput {
            name: "rows",
            value: &wrong,
            ty: &rows_ty,
        }];
        let mut out = Vec::new();
        let result = render_outputs(&mut out, format, &outputs, &TableOptions::default());
        assert!(
            matches!(result, Err(OutputError::Mismatch { .. })),
            "{format:?}: {result:?}"
        );
    }
    let error = mismatch(&Value::Int(3), &ValueType::Str);
    assert_eq!(
        error.to_string(),
        "internal error: an output of type `str` holds the int 3"
    );
}

#[test]
fn formats_are_found_by_name_and_extension() {
    for format in OutputFormat::ALL {
        assert_eq!(OutputFormat::from_name(format.name()), Some(format));
    }
    assert_eq!(OutputFormat::from_name("yaml"), None);
    assert_eq!(
        FileFormat::for_path(Path::new("out/a.JSON")),
        Some(FileFormat::Json)
    );
    assert_eq!(
        FileFormat::for_path(Path::new("a.jsonl")),
        Some(FileFormat::Jsonl)
    );
    assert_eq!(
        FileFormat::for_path(Path::new("a.csv")),
        Some(FileFormat::Csv)
    );
    assert_eq!(FileFormat::for_path(Path::new("a.txt")), None);
    assert_eq!(FileFormat::for_path(Path::new("csv")), None);
}

#[test]
fn output_files_create_folders_and_replace_the_target_whole() {
    let folder = temporary_folder("write");
    let target = folder.join("deep/er/rows.csv");
    let rows_ty = rows_type();
    let written = write_output_file(&target, &rows(), &rows_ty).expect("written");
    assert_eq!(written, target);
    assert_eq!(
        fs::read_to_string(&target).expect("readable"),
        "city,temp,n\nOslo,1.5,3\n\"Quito, EC\",NaN,-20\n"
    );
    // A second write replaces the file and leaves no temporary file behind.
    write_output_file(&target, &Value::List(Vec::new()), &rows_ty).expect("written");
    assert_eq!(
        fs::read_to_string(&target).expect("readable"),
        "city,temp,n\n"
    );
    assert_eq!(folder_entries(&folder.join("deep/er")), vec!["rows.csv"]);
    let json = folder.join("total.json");
    write_output_file(&json, &Value::Float(3.0), &ValueType::Float).expect("written");
    assert_eq!(fs::read_to_string(&json).expect("readable"), "3.0\n");
    let _ = fs::remove_dir_all(&folder);
}

#[test]
fn a_failed_write_leaves_neither_target_nor_temporary_file() {
    let folder = temporary_folder("fail");
    let rows_ty = rows_type();
    let wrong = Value::List(vec![row("Oslo", 1.5, 3), Value::Int(1)]);
    let target = folder.join("rows.jsonl");
    let result = write_output_file(&target, &wrong, &rows_ty);
    assert!(
        matches!(result, Err(OutputError::Mismatch { .. })),
        "{result:?}"
    );
    assert!(folder_entries(&folder).is_empty());
    // An existing file is kept as it was when the new content fails.
    fs::write(&target, "old\n").expect("written");
    assert!(write_output_file(&target, &wrong, &rows_ty).is_err());
    assert_eq!(fs::read_to_string(&target).expect("readable"), "old\n");
    assert_eq!(folder_entries(&folder), vec!["rows.jsonl"]);
    let unknown = write_output_file(&folder.join("rows.txt"), &rows(), &rows_ty);
    assert!(matches!(unknown, Err(OutputError::UnknownExtension { .. })));
    assert_eq!(folder_entries(&folder), vec!["rows.jsonl"]);
    let _ = fs::remove_dir_all(&folder);
}

#[test]
fn staged_files_appear_only_when_committed() {
    let folder = temporary_folder("stage");
    let rows_ty = rows_type();
    let first = stage_output_file(&folder.join("a.json"), &rows(), &rows_ty).expect("staged");
    let second =
        stage_output_file(&folder.join("b.json"), &Value::Int(1), &ValueType::Int).expect("staged");
    assert_eq!(folder_entries(&folder).len(), 2);
    assert!(
        folder_entries(&folder)
            .iter()
            .all(|name| name.ends_with(".tmp"))
    );
    // The job fails before committing: dropping the staged files removes them.
    drop(second);
    assert_eq!(first.target(), folder.join("a.json"));
    first.commit().expect("committed");
    assert_eq!(folder_entries(&folder), vec!["a.json"]);
    let _ = fs::remove_dir_all(&folder);
}

#[test]
fn a_file_that_cannot_be_created_is_an_error_naming_it() {
    let folder = temporary_folder("blocked");
    // A file where a folder is needed.
    fs::write(folder.join("blocker"), "x").expect("written");
    let target = folder.join("blocker/out.json");
    let error = write_output_file(&target, &Value::Int(1), &ValueType::Int).expect_err("fails");
    assert!(matches!(error, OutputError::File { .. }), "{error:?}");
    assert!(error.to_string().contains("blocker"), "{error}");
    let _ = fs::remove_dir_all(&folder);
}
