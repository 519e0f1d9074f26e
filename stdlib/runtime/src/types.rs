//! Runtime type descriptors: the shape of a value as the compiler, the
//! runtime and the host all need to know it.
//!
//! The static type system lives in `flow-compiler`; this is its run-time
//! shadow, with nothing but what running a job needs: decoding inputs into
//! records, printing records with their field names, and reading `--param`
//! values. The job plan carries a [`ValueType`] for every input element,
//! param and output, so the host never needs the compiler.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The run-time type of a Flow value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ValueType {
    /// `int`.
    Int,
    /// `float`.
    Float,
    /// `bool`.
    Bool,
    /// `str`.
    Str,
    /// `[T]`.
    List(Box<ValueType>),
    /// `(A, B, …)`.
    Tuple(Vec<ValueType>),
    /// A record: its name and its fields in declared order.
    Record {
        /// The record type's name.
        name: String,
        /// Field names and types in declared order.
        fields: Vec<(String, ValueType)>,
    },
}

impl ValueType {
    /// The type as a Flow programmer writes it, for messages.
    pub fn display(&self) -> String {
        match self {
            ValueType::Int => String::from("int"),
            ValueType::Float => String::from("float"),
            ValueType::Bool => String::from("bool"),
            ValueType::Str => String::from("str"),
            ValueType::List(item) => format!("[{}]", item.display()),
            ValueType::Tuple(items) => {
                let inner: Vec<String> = items.iter().map(ValueType::display).collect();
                if items.len() == 1 {
                    format!("({},)", inner.join(", "))
                } else {
                    format!("({})", inner.join(", "))
                }
            }
            ValueType::Record { name, .. } => name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn types_display_as_written() {
        let row = ValueType::Record {
            name: String::from("Row"),
            fields: vec![(String::from("a"), ValueType::Int)],
        };
        let t = ValueType::Tuple(vec![ValueType::List(Box::new(ValueType::Str)), row]);
        assert_eq!(t.display(), "([str], Row)");
        assert_eq!(
            ValueType::Tuple(vec![ValueType::Float]).display(),
            "(float,)"
        );
    }
}
