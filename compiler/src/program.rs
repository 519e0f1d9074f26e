//! The typed program: what the checker learned about every job, for the
//! compiler's later passes and for the editor.
//!
//! Expressions keep living in the syntax tree ([`crate::Analysis::modules`]);
//! the tables here are keyed by `(file, span)` of the expression or name they
//! describe, so a later pass walks the tree and looks up what it needs.

use std::collections::HashMap;

use flow_lang::{FileId, Span};
use serde::Serialize;

use crate::policy::CheckedPolicy;
use crate::types::Ty;

/// Identifies a [`Definition`] of [`Program::definitions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct DefId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum DefKind {
    Param,
    Input,
    Let,
    Output,
    Fn,
    ExternFn,
    Type,
    /// A field of a record type.
    Field,
    /// A function of the standard library (one overload).
    StdFn,
    /// A parameter of a user function.
    FnParam,
    LambdaParam,
    /// `let` inside a block.
    BlockLet,
    /// `work`, `chunks`, … inside `delegate when`.
    PolicyVar,
}

impl DefKind {
    /// In words, for hover and messages.
    pub fn describe(self) -> &'static str {
        match self {
            DefKind::Param => "param",
            DefKind::Input => "input",
            DefKind::Let => "let",
            DefKind::Output => "output",
            DefKind::Fn => "fn",
            DefKind::ExternFn => "extern fn",
            DefKind::Type => "type",
            DefKind::Field => "field",
            DefKind::StdFn => "standard fn",
            DefKind::FnParam => "parameter",
            DefKind::LambdaParam => "lambda parameter",
            DefKind::BlockLet => "local let",
            DefKind::PolicyVar => "policy variable",
        }
    }

    /// Whether the definition is local to a function, lambda, block or
    /// policy, as opposed to an item of a file or the standard library.
    pub fn is_local(self) -> bool {
        matches!(
            self,
            DefKind::FnParam | DefKind::LambdaParam | DefKind::BlockLet | DefKind::PolicyVar
        )
    }
}

/// Something a name can refer to.
#[derive(Clone, Debug, Serialize)]
pub struct Definition {
    pub id: DefId,
    pub name: String,
    pub kind: DefKind,
    /// The file that declares it; for the standard library a file id of
    /// [`crate::std_decls::std_file_id`], not in [`crate::Analysis::sources`].
    pub file: FileId,
    /// The span of the declared name.
    pub span: Span,
    /// The span of the whole declaration.
    pub item_span: Span,
    pub docs: Option<String>,
    /// The type, or for functions the signature, as shown on hover.
    pub detail: String,
    /// For local definitions, where the name is visible.
    pub scope: Option<Span>,
}

/// A record type of a job.
#[derive(Clone, Debug, Serialize)]
pub struct RecordType {
    pub name: String,
    pub fields: Vec<(String, Ty)>,
    pub def: DefId,
}

/// A literal value known at check time (a param default).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Literal {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
}

#[derive(Clone, Debug, Serialize)]
pub struct ParamInfo {
    pub name: String,
    pub ty: Ty,
    /// `None`: the value must come from `--param name=value`.
    pub default: Option<Literal>,
    pub def: DefId,
}

/// Which built-in source an input reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SourceKind {
    Lines,
    Csv,
    Jsonl,
    Files,
    Range,
}

/// A value fixed when the job is submitted: a literal or a param.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum SubmitValue {
    Literal(Literal),
    Param(String),
    /// Any other expression over literals and params (range bounds); its
    /// span in the input's file.
    Expr(Span),
}

#[derive(Clone, Debug, Serialize)]
pub struct InputInfo {
    pub name: String,
    pub source: SourceKind,
    /// The element type of the stream.
    pub element: Ty,
    /// The glob (for `lines`, `csv`, `jsonl`, `files`) or the bounds (`range`).
    pub args: Vec<SubmitValue>,
    pub file: FileId,
    pub def: DefId,
}

#[derive(Clone, Debug, Serialize)]
pub struct FnInfo {
    pub name: String,
    pub params: Vec<(String, Ty)>,
    pub ret: Ty,
    pub file: FileId,
    pub def: DefId,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExternInfo {
    pub name: String,
    pub params: Vec<(String, Ty)>,
    pub ret: Ty,
    /// The `.wasm` path as written, relative to the declaring file's folder.
    pub module: String,
    pub file: FileId,
    pub def: DefId,
}

#[derive(Clone, Debug, Serialize)]
pub struct LetInfo {
    pub name: String,
    pub ty: Ty,
    pub file: FileId,
    pub def: DefId,
}

/// How an output with `to "path"` is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum OutputFormat {
    Csv,
    Jsonl,
    Json,
}

#[derive(Clone, Debug, Serialize)]
pub struct OutputInfo {
    pub name: String,
    pub ty: Ty,
    pub to: Option<(String, OutputFormat)>,
    pub file: FileId,
    pub def: DefId,
}

/// One job: a root file with everything it imports.
#[derive(Clone, Debug, Serialize)]
pub struct Job {
    pub root: FileId,
    /// The root first, then the files it imports.
    pub files: Vec<FileId>,
    /// A root with only types, functions and imports is a library: it needs
    /// no output.
    pub is_library: bool,
    pub records: Vec<RecordType>,
    pub params: Vec<ParamInfo>,
    pub inputs: Vec<InputInfo>,
    pub fns: Vec<FnInfo>,
    pub externs: Vec<ExternInfo>,
    /// Lets in an order where each comes after the lets it uses.
    pub lets: Vec<LetInfo>,
    /// Outputs in declaration order (the order `--format json` prints).
    pub outputs: Vec<OutputInfo>,
    pub policy: CheckedPolicy,
}

/// Everything the checker computed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Program {
    pub jobs: Vec<Job>,
    /// Every definition: the standard library's first, then the jobs'.
    pub definitions: Vec<Definition>,
    /// The resolved type of every expression, by `(file, span)`.
    #[serde(skip)]
    pub expr_types: HashMap<(FileId, Span), Ty>,
    /// What each name (in an expression, a type or a record literal) refers to.
    #[serde(skip)]
    pub name_refs: HashMap<(FileId, Span), DefId>,
    /// The function (user, extern or the standard library overload) each call
    /// resolved to, by the span of the call or pipe expression.
    #[serde(skip)]
    pub call_targets: HashMap<(FileId, Span), DefId>,
    /// Local bindings that hide another definition: (the new one, the hidden one).
    #[serde(skip)]
    pub shadowing: Vec<(DefId, DefId)>,
}

impl Program {
    pub fn definition(&self, id: DefId) -> Option<&Definition> {
        self.definitions.get(id.0 as usize)
    }

    /// The job whose root is `file`.
    pub fn job(&self, root: FileId) -> Option<&Job> {
        self.jobs.iter().find(|j| j.root == root)
    }

    /// The type of the expression at exactly this span.
    pub fn type_of(&self, file: FileId, span: Span) -> Option<&Ty> {
        self.expr_types.get(&(file, span))
    }
}
