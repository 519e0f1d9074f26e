//! `--param name=value`, parsed by the param's declared type.

use flow_compiler::ir::IrType;
use flow_compiler::plan::{JobPlan, PlanLiteral};
use flow_runtime::Value;

/// Every param's value in the plan's order: the command line's, or the
/// default. The error is a sentence naming the param.
pub fn resolve(plan: &JobPlan, given: &[String]) -> Result<Vec<Value>, String> {
    let mut values: Vec<Option<Value>> = plan
        .params
        .iter()
        .map(|p| p.default.as_ref().map(literal))
        .collect();
    let mut seen: Vec<&str> = Vec::new();
    for argument in given {
        let Some((name, text)) = argument.split_once('=') else {
            return Err(format!("`--param {argument}` needs the form name=value"));
        };
        let name = name.trim();
        if seen.contains(&name) {
            return Err(format!("param `{name}` is given twice"));
        }
        seen.push(name);
        let Some(index) = plan.params.iter().position(|p| p.name == name) else {
            let known: Vec<String> = plan
                .params
                .iter()
                .map(|p| format!("`{}`", p.name))
                .collect();
            return Err(if known.is_empty() {
                format!("this job has no param `{name}`")
            } else {
                format!(
                    "this job has no param `{name}`; its params are {}",
                    known.join(", ")
                )
            });
        };
        let param = &plan.params[index];
        values[index] = Some(parse(&param.ty, text).ok_or_else(|| {
            format!(
                "param `{name}` is {}, and `{text}` is not {}",
                type_name(&param.ty),
                type_name(&param.ty)
            )
        })?);
    }
    plan.params
        .iter()
        .zip(values)
        .map(|(param, value)| {
            value.ok_or_else(|| {
                format!(
                    "param `{}` has no default: give it with `--param {}=…`",
                    param.name, param.name
                )
            })
        })
        .collect()
}

fn literal(literal: &PlanLiteral) -> Value {
    match literal {
        PlanLiteral::Int(n) => Value::Int(*n),
        PlanLiteral::Float(x) => Value::Float(*x),
        PlanLiteral::Bool(b) => Value::Bool(*b),
        PlanLiteral::Str(s) => Value::Str(s.clone()),
    }
}

fn type_name(ty: &IrType) -> &'static str {
    match ty {
        IrType::Int => "an int",
        IrType::Float => "a float",
        IrType::Bool => "a bool",
        _ => "a str",
    }
}

/// The value of `text` as `ty`: ints with optional `_` separators, floats
/// (also `inf`, `-inf`, `NaN`), `true`/`false`, any text for `str`.
fn parse(ty: &IrType, text: &str) -> Option<Value> {
    match ty {
        IrType::Int => text.trim().replace('_', "").parse().ok().map(Value::Int),
        IrType::Float => {
            let t = text.trim().replace('_', "");
            match t.as_str() {
                "inf" => Some(Value::Float(f64::INFINITY)),
                "-inf" => Some(Value::Float(f64::NEG_INFINITY)),
                "NaN" => Some(Value::Float(f64::NAN)),
                _ => t
                    .parse()
                    .ok()
                    .filter(|x: &f64| x.is_finite())
                    .map(Value::Float),
            }
        }
        IrType::Bool => match text.trim() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => Some(Value::Str(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_by_type() {
        assert_eq!(parse(&IrType::Int, "1_000"), Some(Value::Int(1000)));
        assert_eq!(parse(&IrType::Int, "three"), None);
        assert_eq!(parse(&IrType::Float, "2.5"), Some(Value::Float(2.5)));
        assert_eq!(
            parse(&IrType::Float, "-inf"),
            Some(Value::Float(f64::NEG_INFINITY))
        );
        assert_eq!(parse(&IrType::Bool, "yes"), None);
        assert_eq!(parse(&IrType::Str, " a b "), Some(Value::str(" a b ")));
    }
}
