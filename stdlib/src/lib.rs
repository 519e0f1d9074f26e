//! Declarations of the Flow standard library, with their documentation.
//!
//! The standard library is declared in Flow itself, in the `.flow` files of
//! `decls/`: one declaration per function (several for an overloaded one),
//! each with a `///` doc comment, generic parameters with bounds (`N: Num`
//! is `int` or `float`, `T: Scalar` is `int`, `float`, `bool` or `str`) and
//! no body, because the implementation is built into the compiler and the
//! runtime. The checker in `flow-compiler` parses these files once and builds
//! every signature from them; hover shows their doc comments.

/// One file of standard library declarations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeclFile {
    /// A path for diagnostics and the editor, such as `<std>/text.flow`.
    pub path: &'static str,
    /// The Flow text of the declarations.
    pub text: &'static str,
}

/// The file whose functions are input sources, valid only as the source of
/// an `input` item.
pub const INPUTS_PATH: &str = "<std>/inputs.flow";

/// Every declaration file, in a fixed order.
pub const DECL_FILES: &[DeclFile] = &[
    DeclFile {
        path: INPUTS_PATH,
        text: include_str!("../decls/inputs.flow"),
    },
    DeclFile {
        path: "<std>/text.flow",
        text: include_str!("../decls/text.flow"),
    },
    DeclFile {
        path: "<std>/numbers.flow",
        text: include_str!("../decls/numbers.flow"),
    },
    DeclFile {
        path: "<std>/collections.flow",
        text: include_str!("../decls/collections.flow"),
    },
];

/// The generic bounds the declarations may use, with what they admit.
pub const BOUNDS: &[(&str, &str)] = &[
    ("Num", "`int` or `float`"),
    ("Scalar", "`int`, `float`, `bool` or `str`"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declaration_file_has_a_distinct_path_and_text() {
        for (i, a) in DECL_FILES.iter().enumerate() {
            assert!(!a.text.trim().is_empty(), "{} is empty", a.path);
            for b in &DECL_FILES[i + 1..] {
                assert_ne!(a.path, b.path);
            }
        }
    }
}
