//! The checker: names, items and types of one job.
//!
//! One [`Checker`] runs per job (a root file and its imports). It first
//! collects every item's name (duplicates are reported here), then builds
//! record types and function signatures, checks inputs, function bodies,
//! `let`s and outputs (each `let` on first use, which is how cycles are
//! found), then the policy. Expressions are checked bidirectionally in
//! [`expr`]: an expected type flows into lambdas, which is how
//! `top(3, by: p => p.1)` knows what `p` is.

pub(crate) mod expr;
mod items;

use std::collections::HashMap;

use flow_lang::Ident;
use flow_lang::ast::{Expr, Module, StrLit, TypeExpr};
use flow_lang::{Diagnostic, FileId, Label, Span};

use crate::load::JobFiles;
use crate::program::{DefId, DefKind, Definition, Program};
use crate::std_decls::{Signature, StdLib};
use crate::types::{Infer, Ty};

/// What a top-level name of a job refers to.
#[derive(Clone, Debug)]
pub(crate) enum Global {
    Type(DefId),
    Param {
        def: DefId,
        ty: Ty,
    },
    Input {
        def: DefId,
        ty: Ty,
    },
    /// A `let` or an `output`, by position in [`Checker::values`].
    Value {
        def: DefId,
        index: usize,
    },
    /// A user `fn` or `extern fn`, by position in [`Checker::user_sigs`].
    Fn {
        def: DefId,
        index: usize,
    },
}

impl Global {
    pub(crate) fn def(&self) -> DefId {
        match self {
            Global::Type(def)
            | Global::Param { def, .. }
            | Global::Input { def, .. }
            | Global::Value { def, .. }
            | Global::Fn { def, .. } => *def,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct RecordEntry {
    pub def: DefId,
    /// Name, type, definition of the field, and the span of its name.
    pub fields: Vec<(String, Ty, DefId, Span)>,
}

#[derive(Clone, Debug)]
enum ValueState {
    Todo,
    Active,
    Done(Ty),
}

/// A `let` or `output` waiting to be checked, being checked, or done.
#[derive(Debug)]
pub(crate) struct ValueEntry<'a> {
    file: FileId,
    name: &'a Ident,
    annotation: Option<&'a TypeExpr>,
    value: &'a Expr,
    is_output: bool,
    to: Option<&'a StrLit>,
    def: DefId,
    state: ValueState,
}

#[derive(Clone, Debug)]
pub(crate) struct Local {
    pub(crate) name: String,
    pub(crate) def: DefId,
    pub(crate) ty: Ty,
    /// How many lambdas enclosed the binding when it was made.
    pub(crate) lambda_level: u32,
}
pub(crate) struct Checker<'a> {
    pub(crate) std: &'static StdLib,
    pub(crate) modules: &'a HashMap<FileId, Module>,
    pub(crate) job: &'a JobFiles,
    pub(crate) program: &'a mut Program,
    pub(crate) diagnostics: &'a mut Vec<Diagnostic>,
    pub(crate) infer: Infer,
    pub(crate) globals: HashMap<String, Global>,
    pub(crate) records: HashMap<String, RecordEntry>,
    pub(crate) user_sigs: Vec<Signature>,
    pub(crate) values: Vec<ValueEntry<'a>>,
    /// Positions in `values` being checked, outermost first.
    pub(crate) value_stack: Vec<usize>,
    /// Positions in `values` in the order they were finished.
    pub(crate) value_order: Vec<usize>,
    pub(crate) scopes: Vec<Vec<Local>>,
    pub(crate) lambda_depth: u32,
    pub(crate) in_fn_body: bool,
    pub(crate) in_policy: bool,
    pub(crate) file: FileId,
    /// Types recorded during checking, resolved at the end.
    pub(crate) pending_types: Vec<(FileId, Span, Ty)>,
    /// Types of definitions whose hover text is filled in at the end.
    pub(crate) pending_details: Vec<(DefId, Ty)>,
    /// Generic parameters of the user function whose signature is being
    /// lowered: already an error (E0107), so they lower to `Ty::Error`.
    pub(crate) rejected_generics: Vec<String>,
}

/// The closest candidate to `name`, if one is close enough to be a typo.
pub(crate) fn suggest<'s>(
    name: &str,
    candidates: impl IntoIterator<Item = &'s str>,
) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        // Optimal string alignment counts a swap of two neighbouring letters
        // (`ctiy` for `city`) as one edit, the most common typo.
        .map(|c| (strsim::osa_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, c)| c.to_string())
}

impl<'a> Checker<'a> {
    pub(crate) fn new(
        std: &'static StdLib,
        modules: &'a HashMap<FileId, Module>,
        job: &'a JobFiles,
        program: &'a mut Program,
        diagnostics: &'a mut Vec<Diagnostic>,
    ) -> Checker<'a> {
        Checker {
            std,
            modules,
            job,
            program,
            diagnostics,
            infer: Infer::default(),
            globals: HashMap::new(),
            records: HashMap::new(),
            user_sigs: Vec::new(),
            values: Vec::new(),
            value_stack: Vec::new(),
            value_order: Vec::new(),
            scopes: Vec::new(),
            lambda_depth: 0,
            in_fn_body: false,
            in_policy: false,
            file: job.root,
            pending_types: Vec::new(),
            pending_details: Vec::new(),
            rejected_generics: Vec::new(),
        }
    }

    pub(crate) fn error(
        &mut self,
        code: &str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> &mut Diagnostic {
        let diagnostic = Diagnostic::error(code, message, Label::new(self.file, span, label));
        self.diagnostics.push(diagnostic);
        let last = self.diagnostics.len() - 1;
        &mut self.diagnostics[last]
    }

    pub(crate) fn label(&self, span: Span, message: impl Into<String>) -> Label {
        Label::new(self.file, span, message)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn define(
        &mut self,
        name: &str,
        kind: DefKind,
        span: Span,
        item_span: Span,
        docs: Option<String>,
        detail: String,
        scope: Option<Span>,
    ) -> DefId {
        let id = DefId(self.program.definitions.len() as u32);
        self.program.definitions.push(Definition {
            id,
            name: name.to_string(),
            kind,
            file: self.file,
            span,
            item_span,
            docs,
            detail,
            scope,
        });
        id
    }

    pub(crate) fn refer(&mut self, span: Span, def: DefId) {
        self.program.name_refs.insert((self.file, span), def);
    }

    pub(crate) fn record_type(&mut self, span: Span, ty: &Ty) {
        self.pending_types.push((self.file, span, ty.clone()));
    }

    pub(crate) fn lookup_local(&self, name: &str) -> Option<&Local> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|scope| scope.iter().rev())
            .find(|local| local.name == name)
    }

    /// Adds a local binding to the innermost scope, noting what it hides.
    pub(crate) fn bind_local(&mut self, name: &Ident, def: DefId, ty: Ty) {
        let hidden = self
            .lookup_local(&name.name)
            .map(|l| l.def)
            .or_else(|| self.globals.get(&name.name).map(Global::def))
            .or_else(|| {
                self.std
                    .by_name
                    .get(&name.name)
                    .and_then(|ids| ids.first())
                    .map(|i| DefId(*i as u32))
            });
        if let Some(hidden) = hidden {
            self.program.shadowing.push((def, hidden));
        }
        self.pending_details.push((def, ty.clone()));
        let local = Local {
            name: name.name.clone(),
            def,
            ty,
            lambda_level: self.lambda_depth,
        };
        match self.scopes.last_mut() {
            Some(scope) => scope.push(local),
            None => self.scopes.push(vec![local]),
        }
    }

    /// Every name visible here, for "did you mean".
    pub(crate) fn visible_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .scopes
            .iter()
            .flat_map(|s| s.iter().map(|l| l.name.clone()))
            .collect();
        names.extend(self.globals.keys().cloned());
        names.extend(self.std.by_name.keys().cloned());
        names
    }

    /// Lowers a type written in a user file.
    pub(crate) fn lower_type(&mut self, te: &TypeExpr) -> Ty {
        use flow_lang::ast::TypeExprKind;
        match &te.kind {
            TypeExprKind::List(inner) => Ty::List(Box::new(self.lower_type(inner))),
            TypeExprKind::Tuple(items) => {
                Ty::Tuple(items.iter().map(|t| self.lower_type(t)).collect())
            }
            TypeExprKind::Fn { .. } => {
                self.error(
                    crate::codes::FN_TYPE_OUTSIDE_STD,
                    "function types can only be written in the standard library",
                    te.span,
                    "function type",
                )
                .help =
                    Some("declare a `fn` and pass it by name, or pass a lambda `x => …`".into());
                Ty::Error
            }
            TypeExprKind::Named { name, args } => {
                let scalar = match name.name.as_str() {
                    "int" => Some(Ty::Int),
                    "float" => Some(Ty::Float),
                    "bool" => Some(Ty::Bool),
                    "str" => Some(Ty::Str),
                    _ => None,
                };
                if name.name == "stream" {
                    self.error(
                        crate::codes::STREAM_TYPE_WRITTEN,
                        "`stream<T>` cannot be written in a program",
                        te.span,
                        "stream type",
                    )
                    .help = Some(
                        "streams come only from `input`s and the stages built on them; inside a function use a list `[T]`"
                            .into(),
                    );
                    return Ty::Error;
                }
                if !args.is_empty() {
                    self.error(
                        crate::codes::UNKNOWN_TYPE,
                        format!("`{}` takes no type arguments", name.name),
                        te.span,
                        "no type arguments here",
                    );
                    return Ty::Error;
                }
                if let Some(ty) = scalar {
                    return ty;
                }
                if self.rejected_generics.contains(&name.name) {
                    return Ty::Error;
                }
                if let Some(record) = self.records.get(&name.name) {
                    let def = record.def;
                    self.refer(name.span, def);
                    return Ty::Record(name.name.clone());
                }
                let mut candidates: Vec<&str> = vec!["int", "float", "bool", "str"];
                candidates.extend(self.records.keys().map(String::as_str));
                let hint = suggest(&name.name, candidates);
                let diagnostic = self.error(
                    crate::codes::UNKNOWN_TYPE,
                    format!("unknown type `{}`", name.name),
                    name.span,
                    "not a type",
                );
                diagnostic.help = Some(match hint {
                    Some(h) => format!("did you mean `{h}`?"),
                    None => "declare it with `type Name = { field: type }`".to_string(),
                });
                Ty::Error
            }
        }
    }

    /// Unifies `found` with `expected`, reporting a mismatch at `span`.
    pub(crate) fn expect(&mut self, found: &Ty, expected: &Ty, span: Span) -> bool {
        match self.infer.unify(expected, found) {
            Ok(()) => true,
            Err(_) => {
                let expected = self.infer.resolve(expected);
                let found = self.infer.resolve(found);
                self.mismatch(&expected, &found, span);
                false
            }
        }
    }

    pub(crate) fn mismatch(&mut self, expected: &Ty, found: &Ty, span: Span) {
        let numbers = matches!(
            (expected, found),
            (Ty::Int, Ty::Float) | (Ty::Float, Ty::Int)
        );
        if numbers {
            let conversion = if *expected == Ty::Float {
                "float"
            } else {
                "int"
            };
            self.error(
                crate::codes::MIXED_NUMBERS,
                format!("expected `{expected}`, found `{found}`"),
                span,
                format!("this is `{found}`"),
            )
            .help = Some(format!(
                "there are no implicit conversions: write `{conversion}(…)` around it"
            ));
        } else {
            self.error(
                crate::codes::MISMATCH,
                format!("expected `{expected}`, found `{found}`"),
                span,
                format!("expected `{expected}`"),
            );
        }
    }

    /// Checks the job and stores what it learned in the program.
    pub(crate) fn run(mut self) {
        items::check_job(&mut self);
    }
}
