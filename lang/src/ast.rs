//! The syntax tree of one `.flow` file.
//!
//! Every node carries the byte [`Span`] of the text it was parsed from. The
//! tree is what the source says, nothing more: names are not resolved, types
//! are not checked, and the pipe `x |> f(a)` is kept as written so that the
//! formatter can print it back. The checker in `flow-compiler` gives the tree
//! its meaning.
//!
//! Some constructs exist only so that the standard library can be declared in
//! the same language (generic parameters, function types, functions without a
//! body). The parser accepts them anywhere; the checker rejects them outside
//! the standard library with a diagnostic, so a user who writes one is told
//! why rather than met with a syntax error.

use serde::{Deserialize, Serialize};

use crate::span::{Ident, Span};

/// One parsed file: its items in source order plus everything the formatter
/// and the editor need that is not an item (file docs and comments).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Module {
    /// The text of the `//!` lines at the top of the file, without the
    /// markers, joined by newlines.
    pub docs: Option<String>,
    pub items: Vec<Item>,
    /// Every comment in the file (`//`, `///` and `//!`), in source order.
    /// Doc comments also appear in `docs` of their item; they are listed here
    /// too so that the formatter can keep every comment in place.
    pub comments: Vec<Comment>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommentKind {
    /// `// …`
    Line,
    /// `/// …`: documents the next item.
    ItemDoc,
    /// `//! …`: documents the file.
    FileDoc,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub kind: CommentKind,
    /// The text after the marker (`//`, `///` or `//!`), including any
    /// leading space, without the line ending.
    pub text: String,
    /// The whole comment, marker included, line ending excluded.
    pub span: Span,
}

/// A top-level declaration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The text of the `///` lines just before the item, without markers.
    pub docs: Option<String>,
    pub kind: ItemKind,
    /// From the first keyword to the end of the item (docs excluded).
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ItemKind {
    Import(Import),
    Type(TypeDecl),
    Param(ParamDecl),
    Input(InputDecl),
    Fn(FnDecl),
    Extern(ExternFn),
    Let(LetDecl),
    Output(OutputDecl),
    Policy(Policy),
}

impl ItemKind {
    /// The name this item declares, if it declares one.
    pub fn name(&self) -> Option<&Ident> {
        match self {
            ItemKind::Import(_) | ItemKind::Policy(_) => None,
            ItemKind::Type(d) => Some(&d.name),
            ItemKind::Param(d) => Some(&d.name),
            ItemKind::Input(d) => Some(&d.name),
            ItemKind::Fn(d) => Some(&d.name),
            ItemKind::Extern(d) => Some(&d.name),
            ItemKind::Let(d) => Some(&d.name),
            ItemKind::Output(d) => Some(&d.name),
        }
    }
}

/// `import "lib/text_utils.flow"`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Import {
    pub path: StrLit,
}

/// A string literal: its decoded value and the span of the quoted text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

/// `type Row = { city: str, temp: float }`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeDecl {
    pub name: Ident,
    pub fields: Vec<Field>,
}

/// `name: Type` inside a record type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub name: Ident,
    pub ty: TypeExpr,
}

/// `param threshold: float = 0.5`; the type or the default may be missing
/// (not both: the checker reports that).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamDecl {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub default: Option<Expr>,
}

/// `input rows: Row = csv("data/*.csv")`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputDecl {
    pub name: Ident,
    /// The element type, required for `csv` and `jsonl`.
    pub ty: Option<TypeExpr>,
    /// The source, written as a call such as `lines("data/*.txt")`. The
    /// checker knows which calls are sources.
    pub source: Expr,
}

/// `fn hot(r: Row) -> bool = r.temp > threshold`
///
/// In the standard library a function may be generic (`fn map<T, U>(…)`)
/// and may have no body (its implementation is built in).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FnDecl {
    pub name: Ident,
    pub generics: Vec<GenericParam>,
    pub params: Vec<Param>,
    pub ret: Option<TypeExpr>,
    pub body: Option<Expr>,
}

/// `T` or `N: Num` in `fn sum<N: Num>(…)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenericParam {
    pub name: Ident,
    pub bound: Option<Ident>,
}

/// A function parameter `name: Type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub span: Span,
}

/// `extern fn score(s: str) -> float from "tools/score.wasm"`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExternFn {
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: Option<TypeExpr>,
    pub module: StrLit,
}

/// `let hot_rows = rows |> filter(hot)`, optionally `let n: int = …`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LetDecl {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub value: Expr,
}

/// `output hot_list = hot_rows |> collect() to "out/hot.csv"`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputDecl {
    pub name: Ident,
    pub value: Expr,
    pub to: Option<StrLit>,
}

/// `policy { split = 4 MiB  delegate when work > 32 MiB }`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub entries: Vec<PolicyEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PolicyEntry {
    /// `key = value`
    Setting { key: Ident, value: Expr, span: Span },
    /// `delegate when predicate`; `span` covers the whole entry.
    DelegateWhen { predicate: Expr, span: Span },
}

/// A type as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TypeExprKind {
    /// `int`, `Row`, `T`, or an application such as `stream<T>`.
    Named { name: Ident, args: Vec<TypeExpr> },
    /// `[T]`
    List(Box<TypeExpr>),
    /// `(A, B)`; `()` is the empty tuple. A single type in parentheses is
    /// that type, not a tuple.
    Tuple(Vec<TypeExpr>),
    /// `fn(A, B) -> R`: only in standard library declarations.
    Fn {
        params: Vec<TypeExpr>,
        ret: Box<TypeExpr>,
    },
}

/// An expression.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    /// `4 MiB`: the value in bytes, with the unit as written.
    Size {
        bytes: i64,
        unit: SizeUnit,
    },
    /// `30s`: the value in milliseconds, with the unit as written. Only
    /// meaningful inside `policy`.
    Duration {
        millis: i64,
        unit: DurationUnit,
    },
    Name(Ident),
    /// `f(a, b, by: g)`. The callee is any expression; for the standard
    /// library and user functions it is a [`ExprKind::Name`].
    Call {
        callee: Box<Expr>,
        args: Vec<Arg>,
    },
    /// `x => e`, `(a, b) => e`, `(x: int) => e`
    Lambda {
        params: Vec<Param>,
        body: Box<Expr>,
    },
    /// `(a, b)`; a single parenthesised expression is [`ExprKind::Paren`].
    Tuple(Vec<Expr>),
    /// `(e)`: kept so that the formatter can print the parentheses back.
    Paren(Box<Expr>),
    /// `[a, b]`
    List(Vec<Expr>),
    /// `Row { city: "Oslo", temp: 1.5 }`
    Record {
        name: Ident,
        fields: Vec<FieldInit>,
    },
    /// `r.city`
    Field {
        base: Box<Expr>,
        field: Ident,
    },
    /// `t.0`
    TupleIndex {
        base: Box<Expr>,
        index: u32,
        index_span: Span,
    },
    If {
        cond: Box<Expr>,
        then_branch: Box<Expr>,
        else_branch: Box<Expr>,
    },
    /// `{ let x = e1; let y = e2; e3 }`
    Block {
        lets: Vec<BlockLet>,
        result: Box<Expr>,
    },
    Unary {
        op: UnaryOp,
        op_span: Span,
        operand: Box<Expr>,
    },
    /// Every binary operator, the pipe included (`BinaryOp::Pipe`).
    Binary {
        op: BinaryOp,
        op_span: Span,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// A placeholder where the parser could not build an expression; it has
    /// already reported why. The checker gives it an error type silently.
    Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SizeUnit {
    B,
    KiB,
    MiB,
    GiB,
    KB,
    MB,
    GB,
}

impl SizeUnit {
    pub fn bytes(self) -> i64 {
        match self {
            SizeUnit::B => 1,
            SizeUnit::KiB => 1 << 10,
            SizeUnit::MiB => 1 << 20,
            SizeUnit::GiB => 1 << 30,
            SizeUnit::KB => 1_000,
            SizeUnit::MB => 1_000_000,
            SizeUnit::GB => 1_000_000_000,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SizeUnit::B => "B",
            SizeUnit::KiB => "KiB",
            SizeUnit::MiB => "MiB",
            SizeUnit::GiB => "GiB",
            SizeUnit::KB => "KB",
            SizeUnit::MB => "MB",
            SizeUnit::GB => "GB",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DurationUnit {
    Ms,
    S,
    M,
    H,
}

impl DurationUnit {
    pub fn millis(self) -> i64 {
        match self {
            DurationUnit::Ms => 1,
            DurationUnit::S => 1_000,
            DurationUnit::M => 60_000,
            DurationUnit::H => 3_600_000,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DurationUnit::Ms => "ms",
            DurationUnit::S => "s",
            DurationUnit::M => "m",
            DurationUnit::H => "h",
        }
    }
}

/// A call argument, positional or named (`by: f`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
}

/// `field: value` in a record literal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldInit {
    pub name: Ident,
    pub value: Expr,
}

/// `let x = e;` (or `let x: T = e;`) inside a block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockLet {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinaryOp {
    Mul,
    Div,
    Rem,
    Add,
    Sub,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Pipe,
}

impl BinaryOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
            BinaryOp::Pipe => "|>",
        }
    }

    /// Binding strength: higher binds tighter. All binary operators are
    /// left-associative; comparisons do not chain (`a < b < c` is an error
    /// reported by the parser).
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 6,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => 4,
            BinaryOp::And => 3,
            BinaryOp::Or => 2,
            BinaryOp::Pipe => 1,
        }
    }

    pub fn is_comparison(self) -> bool {
        self.precedence() == 4
    }
}
