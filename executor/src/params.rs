//! `--param name=value`: the values of a job's `param`s, parsed by their
//! declared types (LANGUAGE.md §3), or their defaults.
//!
//! Spellings accepted, by type:
//!
//! | type | accepted |
//! |---|---|
//! | `int` | an optional sign and decimal digits, or `0x` and hex digits; `_` between digits (`1_000`); 64-bit range |
//! | `float` | what `to_float` accepts (`2.5`, `-1e-9`, `3`, `inf`, `-inf`, `NaN`, any case), `_` between digits |
//! | `bool` | `true` or `false` |
//! | `str` | the text after the first `=`, exactly (spaces and further `=` kept; may be empty) |
//!
//! Surrounding whitespace is ignored for `int`, `float` and `bool`. Every
//! problem is reported, not only the first: an argument without `=`, an
//! unknown name, a name given twice, a value that does not parse, and a
//! param without default that is not given.

use std::fmt;

use flow_runtime::text::to_float;
use flow_runtime::{Value, ValueType};

/// A `param` as the job plan declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDecl {
    /// The name.
    pub name: String,
    /// The declared type: `int`, `float`, `bool` or `str`.
    pub ty: ValueType,
    /// The default, if the declaration has one.
    pub default: Option<Value>,
}

/// One problem with the `--param` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamError {
    /// An argument is not of the form `name=value`.
    Malformed {
        /// The argument as given.
        argument: String,
    },
    /// No param has this name.
    Unknown {
        /// The name given.
        name: String,
        /// The job's param names, in declaration order.
        known: Vec<String>,
    },
    /// The param is given more than once.
    Duplicate {
        /// The name.
        name: String,
    },
    /// The value does not parse as the declared type.
    BadValue {
        /// The name.
        name: String,
        /// The declared type as written in Flow (`int`, …).
        ty: String,
        /// The text given.
        text: String,
    },
    /// The param has no default and was not given.
    Missing {
        /// The name.
        name: String,
        /// The declared type as written in Flow.
        ty: String,
    },
    /// The declared type is not one a param can have (the checker rejects
    /// such programs; this guards a damaged plan).
    UnsupportedType {
        /// The name.
        name: String,
        /// The declared type as written in Flow.
        ty: String,
    },
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Malformed { argument } => {
                write!(f, "`--param {argument}` is not of the form name=value")
            }
            ParamError::Unknown { name, known } if known.is_empty() => {
                write!(f, "unknown param `{name}`: this job declares no params")
            }
            ParamError::Unknown { name, known } => {
                let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
                write!(
                    f,
                    "unknown param `{name}`; the job's params are {}",
                    list.join(", ")
                )
            }
            ParamError::Duplicate { name } => write!(f, "param `{name}` is given more than once"),
            ParamError::BadValue { name, ty, text } => {
                write!(
                    f,
                    "param `{name}` is {} and `{text}` is not {}",
                    article(ty),
                    article(ty)
                )
            }
            ParamError::Missing { name, ty } => write!(
                f,
                "param `{name}: {ty}` has no default: give it with `--param {name}=VALUE`"
            ),
            ParamError::UnsupportedType { name, ty } => {
                write!(
                    f,
                    "param `{name}` has type `{ty}`, which cannot be given on the command line"
                )
            }
        }
    }
}

impl std::error::Error for ParamError {}

/// `int` → "an int", `float` → "a float".
fn article(ty: &str) -> String {
    let vowel = ty.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {ty}", if vowel { "an" } else { "a" })
}

/// The value of every declared param, in declaration order: the one given
/// as `name=value` in `arguments` (the text after `--param`), or the
/// default. Every problem found is returned, in argument order and then
/// declaration order.
pub fn resolve_params(
    decls: &[ParamDecl],
    arguments: &[String],
) -> Result<Vec<Value>, Vec<ParamError>> {
    let mut given: Vec<Option<Value>> = vec![None; decls.len()];
    let mut seen: Vec<bool> = vec![false; decls.len()];
    let mut errors = Vec::new();
    for argument in arguments {
        let Some((name, text)) = argument.split_once('=') else {
            errors.push(ParamError::Malformed {
                argument: argument.clone(),
            });
            continue;
        };
        let name = name.trim();
        if name.is_empty() {
            errors.push(ParamError::Malformed {
                argument: argument.clone(),
            });
            continue;
        }
        let Some(index) = decls.iter().position(|d| d.name == name) else {
            errors.push(ParamError::Unknown {
                name: name.to_string(),
                known: decls.iter().map(|d| d.name.clone()).collect(),
            });
            continue;
        };
        let (Some(decl), Some(seen_before)) = (decls.get(index), seen.get_mut(index)) else {
            continue;
        };
        if *seen_before {
            // Reported once per name, however often it repeats.
            if !errors
                .iter()
                .any(|e| matches!(e, ParamError::Duplicate { name: n } if n == name))
            {
                errors.push(ParamError::Duplicate {
                    name: name.to_string(),
                });
            }
            continue;
        }
        *seen_before = true;
        match parse_param_value(&decl.ty, text) {
            Some(value) => {
                if let Some(slot) = given.get_mut(index) {
                    *slot = Some(value);
                }
            }
            None if !is_param_type(&decl.ty) => errors.push(ParamError::UnsupportedType {
                name: decl.name.clone(),
                ty: decl.ty.display(),
            }),
            None => errors.push(ParamError::BadValue {
                name: decl.name.clone(),
                ty: decl.ty.display(),
                text: text.to_string(),
            }),
        }
    }
    let mut values = Vec::with_capacity(decls.len());
    for ((decl, value), was_given) in decls.iter().zip(given).zip(seen) {
        match value.or_else(|| decl.default.clone()) {
            Some(value) => values.push(value),
            // Given but not parsed: that is already reported.
            None if was_given => {}
            None => errors.push(ParamError::Missing {
                name: decl.name.clone(),
                ty: decl.ty.display(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// Whether a param may have type `ty`.
fn is_param_type(ty: &ValueType) -> bool {
    matches!(
        ty,
        ValueType::Int | ValueType::Float | ValueType::Bool | ValueType::Str
    )
}

/// Parses `text` as a value of type `ty`, with the spellings of the module
/// documentation; `None` when it does not parse or `ty` is not a param
/// type.
pub fn parse_param_value(ty: &ValueType, text: &str) -> Option<Value> {
    match ty {
        ValueType::Int => parse_int(text.trim()).map(Value::Int),
        ValueType::Float => {
            let digits = without_digit_separators(text.trim())?;
            to_float(&digits).ok().map(Value::Float)
        }
        ValueType::Bool => match text.trim() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        ValueType::Str => Some(Value::Str(text.to_string())),
        _ => None,
    }
}

/// `text` without the `_` separators between digits; an `_` anywhere else
/// (leading, trailing, doubled, next to a sign or point) is an error.
fn without_digit_separators(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    for (index, c) in text.char_indices() {
        if c == '_' {
            let before = index.checked_sub(1).and_then(|i| bytes.get(i));
            let after = bytes.get(index + 1);
            let between_digits = before.is_some_and(u8::is_ascii_hexdigit)
                && after.is_some_and(u8::is_ascii_hexdigit);
            if !between_digits {
                return None;
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// An `int`: decimal or `0x` hex, optional sign, `_` between digits.
fn parse_int(text: &str) -> Option<i64> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (radix, digits) = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(hex) => (16, hex),
        None => (10, body),
    };
    let digits = without_digit_separators(digits)?;
    let valid = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
    if !valid {
        return None;
    }
    // Parsing with the sign attached lets `-9223372036854775808` fit.
    let signed = if negative {
        format!("-{digits}")
    } else {
        digits
    };
    i64::from_str_radix(&signed, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(name: &str, ty: ValueType, default: Option<Value>) -> ParamDecl {
        ParamDecl {
            name: name.to_string(),
            ty,
            default,
        }
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_parse_by_type() {
        let int = |t| parse_param_value(&ValueType::Int, t);
        assert_eq!(int("1_000"), Some(Value::Int(1000)));
        assert_eq!(int(" -42 "), Some(Value::Int(-42)));
        assert_eq!(int("0xff"), Some(Value::Int(255)));
        assert_eq!(int("-9223372036854775808"), Some(Value::Int(i64::MIN)));
        assert_eq!(int("9223372036854775808"), None);
        assert_eq!(int("1__0"), None);
        assert_eq!(int("_1"), None);
        assert_eq!(int("1.0"), None);
        assert_eq!(int(""), None);
        let float = |t| parse_param_value(&ValueType::Float, t);
        assert_eq!(float("2.5"), Some(Value::Float(2.5)));
        assert_eq!(float("3"), Some(Value::Float(3.0)));
        assert_eq!(float("1_000.5"), Some(Value::Float(1000.5)));
        assert_eq!(float("-inf"), Some(Value::Float(f64::NEG_INFINITY)));
        assert_eq!(float("inf"), Some(Value::Float(f64::INFINITY)));
        assert!(matches!(float("NaN"), Some(Value::Float(x)) if x.is_nan()));
        assert_eq!(float("2.5x"), None);
        let boolean = |t| parse_param_value(&ValueType::Bool, t);
        assert_eq!(boolean("true"), Some(Value::Bool(true)));
        assert_eq!(boolean("yes"), None);
        assert_eq!(
            parse_param_value(&ValueType::Str, " a=b "),
            Some(Value::str(" a=b "))
        );
    }

    #[test]
    fn given_values_and_defaults_fill_every_param_in_order() {
        let decls = [
            decl("top_n", ValueType::Int, Some(Value::Int(100))),
            decl("label", ValueType::Str, None),
            decl("cut", ValueType::Float, Some(Value::Float(0.5))),
        ];
        let values = resolve_params(&decls, &args(&["label=a=b", "cut=0.9"])).unwrap();
        assert_eq!(
            values,
            vec![Value::Int(100), Value::str("a=b"), Value::Float(0.9)]
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let decls = [
            decl("n", ValueType::Int, None),
            decl("on", ValueType::Bool, Some(Value::Bool(false))),
            decl("s", ValueType::Str, None),
        ];
        let errors = resolve_params(
            &decls,
            &args(&["n=three", "x=1", "on=true", "on=false", "on=true", "oops"]),
        )
        .unwrap_err();
        assert_eq!(
            errors,
            vec![
                ParamError::BadValue {
                    name: "n".into(),
                    ty: "int".into(),
                    text: "three".into()
                },
                ParamError::Unknown {
                    name: "x".into(),
                    known: vec!["n".into(), "on".into(), "s".into()]
                },
                ParamError::Duplicate { name: "on".into() },
                ParamError::Malformed {
                    argument: "oops".into()
                },
                ParamError::Missing {
                    name: "s".into(),
                    ty: "str".into()
                },
            ]
        );
        assert_eq!(
            errors[0].to_string(),
            "param `n` is an int and `three` is not an int"
        );
        assert_eq!(
            errors[4].to_string(),
            "param `s: str` has no default: give it with `--param s=VALUE`"
        );
    }

    #[test]
    fn an_unknown_name_in_a_job_without_params_says_so() {
        let errors = resolve_params(&[], &args(&["n=1"])).unwrap_err();
        assert_eq!(
            errors[0].to_string(),
            "unknown param `n`: this job declares no params"
        );
    }
}
