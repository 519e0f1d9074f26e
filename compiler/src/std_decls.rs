//! The standard library's signatures, built once from the declarations in
//! `flow-stdlib` by the same parser users' files go through.
//!
//! Declaration files get file ids above [`STD_FILE_BASE`] so that their spans
//! can never be confused with a user file's; they are not part of an
//! analysis's [`flow_lang::SourceMap`].

use std::collections::HashMap;
use std::sync::OnceLock;

use flow_lang::ast::{ItemKind, TypeExpr, TypeExprKind};
use flow_lang::{Diagnostic, FileId, Label, Span};

use crate::codes;
use crate::types::{Bound, Ty};

/// File ids of declaration files are `STD_FILE_BASE + i`.
pub const STD_FILE_BASE: u32 = 0x8000_0000;

/// The file id of declaration file number `i` of [`flow_stdlib::DECL_FILES`].
pub fn std_file_id(i: usize) -> FileId {
    FileId(STD_FILE_BASE + i as u32)
}

/// The declaration file behind a standard library file id.
pub fn std_decl_file(file: FileId) -> Option<&'static flow_stdlib::DeclFile> {
    file.0
        .checked_sub(STD_FILE_BASE)
        .and_then(|i| flow_stdlib::DECL_FILES.get(i as usize))
}

/// A function signature: the standard library's, a user `fn`'s or an
/// `extern fn`'s. Generic parameters appear as [`Ty::Gen`].
#[derive(Clone, Debug, PartialEq)]
pub struct Signature {
    pub name: String,
    pub generics: Vec<(String, Option<Bound>)>,
    pub params: Vec<(String, Ty)>,
    pub ret: Ty,
}

impl Signature {
    /// The signature as declared: `fn top<T, K>(xs: [T], n: int, by: fn(T) -> K) -> [T]`.
    pub fn display(&self) -> String {
        let names: Vec<Ty> = self
            .generics
            .iter()
            .map(|(name, _)| Ty::Record(name.clone()))
            .collect();
        let mut out = format!("fn {}", self.name);
        if !self.generics.is_empty() {
            let generics: Vec<String> = self
                .generics
                .iter()
                .map(|(name, bound)| match bound {
                    Some(bound) => format!("{name}: {}", bound.name()),
                    None => name.clone(),
                })
                .collect();
            out.push_str(&format!("<{}>", generics.join(", ")));
        }
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(name, ty)| format!("{name}: {}", ty.substitute(&names)))
            .collect();
        out.push_str(&format!(
            "({}) -> {}",
            params.join(", "),
            self.ret.substitute(&names)
        ));
        out
    }
}

/// One declared standard function (one overload).
#[derive(Clone, Debug)]
pub struct StdFn {
    pub sig: Signature,
    pub docs: Option<String>,
    pub file: FileId,
    pub name_span: Span,
    pub item_span: Span,
    /// Declared in the inputs file: valid only as an `input` source.
    pub is_source: bool,
}

/// The parsed and checked standard library.
#[derive(Debug)]
pub struct StdLib {
    /// Every function in declaration order; the position is its `DefId`.
    pub fns: Vec<StdFn>,
    /// Positions in `fns` by name, overloads in declaration order.
    pub by_name: HashMap<String, Vec<usize>>,
    /// Problems in the declarations: always empty unless the library has a bug.
    pub diagnostics: Vec<Diagnostic>,
}

/// The standard library, parsed on first use.
pub fn stdlib() -> &'static StdLib {
    static STDLIB: OnceLock<StdLib> = OnceLock::new();
    STDLIB.get_or_init(load)
}

fn load() -> StdLib {
    let mut lib = StdLib {
        fns: Vec::new(),
        by_name: HashMap::new(),
        diagnostics: Vec::new(),
    };
    for (i, decl) in flow_stdlib::DECL_FILES.iter().enumerate() {
        let file = std_file_id(i);
        let parsed = flow_lang::parse(file, decl.text);
        lib.diagnostics.extend(parsed.diagnostics);
        for item in &parsed.module.items {
            let ItemKind::Fn(f) = &item.kind else {
                lib.diagnostics.push(Diagnostic::error(
                    codes::NOT_IN_LIBRARY,
                    "the standard library declares only functions",
                    Label::new(file, item.span, "not a function"),
                ));
                continue;
            };
            if f.body.is_some() {
                lib.diagnostics.push(Diagnostic::error(
                    codes::MISSING_BODY,
                    "a standard library declaration has no body",
                    Label::new(file, item.span, "has a body"),
                ));
            }
            let mut generics = Vec::new();
            for g in &f.generics {
                let bound = match &g.bound {
                    Some(b) => match Bound::from_name(&b.name) {
                        Some(bound) => Some(bound),
                        None => {
                            lib.diagnostics.push(Diagnostic::error(
                                codes::UNKNOWN_TYPE,
                                format!("unknown bound `{}`", b.name),
                                Label::new(file, b.span, "not a bound"),
                            ));
                            None
                        }
                    },
                    None => None,
                };
                generics.push((g.name.name.clone(), bound));
            }
            let mut convert = |te: &TypeExpr| std_type(te, &generics, file, &mut lib.diagnostics);
            let params: Vec<(String, Ty)> = f
                .params
                .iter()
                .map(|p| {
                    let ty = match &p.ty {
                        Some(te) => convert(te),
                        None => Ty::Error,
                    };
                    (p.name.name.clone(), ty)
                })
                .collect();
            let ret = match &f.ret {
                Some(te) => convert(te),
                None => Ty::Error,
            };
            if f.params.iter().any(|p| p.ty.is_none()) || f.ret.is_none() {
                lib.diagnostics.push(Diagnostic::error(
                    codes::MISSING_ANNOTATION,
                    "a standard library declaration annotates every type",
                    Label::new(file, item.span, "missing a type"),
                ));
            }
            lib.by_name
                .entry(f.name.name.clone())
                .or_default()
                .push(lib.fns.len());
            lib.fns.push(StdFn {
                sig: Signature {
                    name: f.name.name.clone(),
                    generics,
                    params,
                    ret,
                },
                docs: item.docs.clone(),
                file,
                name_span: f.name.span,
                item_span: item.span,
                is_source: decl.path == flow_stdlib::INPUTS_PATH,
            });
        }
    }
    lib
}

fn std_type(
    te: &TypeExpr,
    generics: &[(String, Option<Bound>)],
    file: FileId,
    diagnostics: &mut Vec<Diagnostic>,
) -> Ty {
    let mut convert = |t: &TypeExpr| std_type(t, generics, file, diagnostics);
    match &te.kind {
        TypeExprKind::List(inner) => Ty::List(Box::new(convert(inner))),
        TypeExprKind::Tuple(items) => Ty::Tuple(items.iter().map(&mut convert).collect()),
        TypeExprKind::Fn { params, ret } => Ty::Fn(
            params.iter().map(&mut convert).collect(),
            Box::new(convert(ret)),
        ),
        TypeExprKind::Named { name, args } => {
            let arity_ok = |n: usize| args.len() == n;
            let ty = match name.name.as_str() {
                "int" if arity_ok(0) => Some(Ty::Int),
                "float" if arity_ok(0) => Some(Ty::Float),
                "bool" if arity_ok(0) => Some(Ty::Bool),
                "str" if arity_ok(0) => Some(Ty::Str),
                "stream" if arity_ok(1) => args.first().map(|a| Ty::Stream(Box::new(convert(a)))),
                other if arity_ok(0) => generics
                    .iter()
                    .position(|(g, _)| g == other)
                    .map(|i| Ty::Gen(i as u32)),
                _ => None,
            };
            match ty {
                Some(ty) => ty,
                None => {
                    diagnostics.push(Diagnostic::error(
                        codes::UNKNOWN_TYPE,
                        format!(
                            "unknown type `{}` in a standard library declaration",
                            name.name
                        ),
                        Label::new(file, te.span, "unknown type"),
                    ));
                    Ty::Error
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declarations_parse_and_check_cleanly() {
        let lib = stdlib();
        assert!(lib.diagnostics.is_empty(), "{:#?}", lib.diagnostics);
        for name in [
            "map",
            "filter",
            "flat_map",
            "count",
            "sum",
            "min",
            "max",
            "mean",
            "reduce",
            "count_by",
            "sum_by",
            "reduce_by",
            "distinct",
            "top",
            "bottom",
            "sort",
            "collect",
            "len",
            "lower",
            "upper",
            "trim",
            "words",
            "split",
            "join",
            "contains",
            "starts_with",
            "ends_with",
            "replace",
            "substr",
            "matches",
            "to_int",
            "to_float",
            "str",
            "abs",
            "sqrt",
            "pow",
            "exp",
            "ln",
            "floor",
            "ceil",
            "round",
            "float",
            "int",
            "get",
            "hash",
            "rand",
            "lines",
            "csv",
            "jsonl",
            "files",
            "range",
        ] {
            assert!(lib.by_name.contains_key(name), "`{name}` is not declared");
        }
    }

    #[test]
    fn every_declaration_has_docs() {
        for f in &stdlib().fns {
            assert!(f.docs.is_some(), "`{}` has no doc comment", f.sig.name);
        }
    }

    #[test]
    fn signatures_display_like_declarations() {
        let lib = stdlib();
        let top = &lib.fns[lib.by_name["top"][0]];
        assert_eq!(
            top.sig.display(),
            "fn top<T, K>(xs: [T], n: int, by: fn(T) -> K) -> [T]"
        );
        let sum = &lib.fns[lib.by_name["sum"][1]];
        assert_eq!(sum.sig.display(), "fn sum<N: Num>(xs: stream<N>) -> N");
    }
}
