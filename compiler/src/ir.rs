//! The intermediate representation between the checked syntax tree and
//! WebAssembly: typed, resolved and desugared.
//!
//! - Every expression carries its [`IrType`]; streams never appear inside an
//!   expression (they live in a stage's [`StreamStep`] chain).
//! - Locals are numbered per body ([`Body::locals`]); names are gone.
//! - Pipes are plain calls, named arguments are positional, standard calls
//!   are a closed [`Builtin`] enum and list operators a closed [`ListOp`]
//!   enum whose function arguments are inline [`Lambda`]s (a function name
//!   passed as `filter(hot)` became a lambda calling it).
//! - Self calls in tail position are [`ExprKind::TailCall`].
//! - Every operation that can fail at run time carries a [`SpanId`] into the
//!   job's [`SpanTable`], which error records name.

use flow_lang::{FileId, Span};
use serde::{Deserialize, Serialize};

/// The type of a value after checking: no streams, no variables.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IrType {
    Int,
    Float,
    Bool,
    Str,
    List(Box<IrType>),
    Tuple(Vec<IrType>),
    /// A record type by name, with its field types in declared order.
    Record(String, Vec<(String, IrType)>),
}

impl IrType {
    /// The run-time type descriptor the executor uses for inputs, params
    /// and outputs.
    pub fn value_type(&self) -> flow_runtime::ValueType {
        use flow_runtime::ValueType;
        match self {
            IrType::Int => ValueType::Int,
            IrType::Float => ValueType::Float,
            IrType::Bool => ValueType::Bool,
            IrType::Str => ValueType::Str,
            IrType::List(item) => ValueType::List(Box::new(item.value_type())),
            IrType::Tuple(items) => {
                ValueType::Tuple(items.iter().map(IrType::value_type).collect())
            }
            IrType::Record(name, fields) => ValueType::Record {
                name: name.clone(),
                fields: fields
                    .iter()
                    .map(|(field, ty)| (field.clone(), ty.value_type()))
                    .collect(),
            },
        }
    }

    /// Whether values of this type are heap handles in generated code.
    pub fn is_heap(&self) -> bool {
        !matches!(self, IrType::Int | IrType::Float | IrType::Bool)
    }

    /// The element type of a list.
    pub fn element(&self) -> Option<&IrType> {
        match self {
            IrType::List(element) => Some(element),
            _ => None,
        }
    }

    /// The types of the fields of a tuple or record.
    pub fn fields(&self) -> Vec<IrType> {
        match self {
            IrType::Tuple(items) => items.clone(),
            IrType::Record(_, fields) => fields.iter().map(|(_, ty)| ty.clone()).collect(),
            _ => Vec::new(),
        }
    }
}

/// An index into the job's [`SpanTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SpanId(pub u32);

/// The source spans run-time errors can name, by [`SpanId`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpanTable {
    pub spans: Vec<(FileId, Span)>,
}

impl SpanTable {
    /// The id of a span, added if new.
    pub fn intern(&mut self, file: FileId, span: Span) -> SpanId {
        if let Some(index) = self.spans.iter().position(|s| *s == (file, span)) {
            return SpanId(index as u32);
        }
        self.spans.push((file, span));
        SpanId(self.spans.len() as u32 - 1)
    }
}

/// A local of one [`Body`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LocalId(pub u32);

/// A user function of the job, by index into [`JobIr::functions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FnId(pub u32);

/// An `extern fn` of the job, by index into [`JobIr::externs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExternId(pub u32);

/// An `extern fn`: an export of a WebAssembly tool module (LANGUAGE.md §8)
/// that code generation links into the stage module.
#[derive(Clone, Debug, PartialEq)]
pub struct ExternFn {
    pub name: String,
    /// Parameter types: `int`, `float`, `bool` or `str`.
    pub params: Vec<IrType>,
    /// The result type: `int`, `float`, `bool` or `str`.
    pub ret: IrType,
    /// The module's path as the command line reaches it (`/`-separated):
    /// the declaring file's folder joined with the path written.
    pub module: String,
    /// The path literal in the source, which diagnostics about the module
    /// point at.
    pub module_span: (FileId, Span),
}

/// A typed expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: IrType,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
}

/// Binary operators; the operand type says which instructions implement
/// them. `and` and `or` short-circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Local(LocalId),
    /// The job parameter with this index (in [`JobIr::params`] order).
    Param(u32),
    /// The finished value of aggregation stage `k`; only in value bodies.
    StageResult(u32),
    /// The value of plan value `v` computed by an earlier phase; only in
    /// stage bodies.
    Value(u32),
    /// `let local = value; body`.
    Let {
        local: LocalId,
        value: Box<Expr>,
        body: Box<Expr>,
    },
    If {
        cond: Box<Expr>,
        then_branch: Box<Expr>,
        else_branch: Box<Expr>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
        span: SpanId,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        span: SpanId,
    },
    Tuple(Vec<Expr>),
    List(Vec<Expr>),
    /// A record literal, fields in declared order.
    Record(Vec<Expr>),
    /// Field `index` of a tuple or record.
    Field {
        base: Box<Expr>,
        index: u32,
    },
    /// A call of a user function.
    Call {
        function: FnId,
        args: Vec<Expr>,
    },
    /// A self call in tail position: becomes a jump to the function's start.
    TailCall {
        args: Vec<Expr>,
    },
    /// A call of an `extern fn`; a trap inside the tool is reported at
    /// `span`.
    ExternCall {
        function: ExternId,
        args: Vec<Expr>,
        span: SpanId,
    },
    Builtin {
        op: Builtin,
        args: Vec<Expr>,
        span: SpanId,
    },
    /// A list operator over a list value.
    ListOp(Box<ListOpExpr>),
}

/// A function argument of an operator, inlined where the operator runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Lambda {
    pub params: Vec<LocalId>,
    pub body: Expr,
}

/// The scalar and text functions of the standard library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    Abs,
    Min2,
    Max2,
    Sqrt,
    Pow,
    Exp,
    Ln,
    Floor,
    Ceil,
    Round,
    ToFloat,
    ToInt,
    Hash,
    Rand,
    StrLen,
    Lower,
    Upper,
    Trim,
    Words,
    Split,
    Join,
    Contains,
    StartsWith,
    EndsWith,
    Replace,
    Substr,
    Matches,
    ParseInt,
    ParseFloat,
    Str,
    ListLen,
    Get,
}

/// Operators over a list or a stream. Element-wise ones apply per element;
/// the others are aggregations with a partial in the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ListOp {
    Map,
    Filter,
    FlatMap,
    Count,
    Sum,
    Min,
    Max,
    Mean,
    Reduce,
    CountBy,
    SumBy,
    ReduceBy,
    Distinct,
    Top,
    Bottom,
    Sort,
    SortBy,
    Collect,
}

impl ListOp {
    /// Whether the operator applies element by element (fused into a
    /// stage's chain rather than aggregating).
    pub fn is_elementwise(self) -> bool {
        matches!(self, ListOp::Map | ListOp::Filter | ListOp::FlatMap)
    }

    /// The operator's name in the language.
    pub fn name(self) -> &'static str {
        match self {
            ListOp::Map => "map",
            ListOp::Filter => "filter",
            ListOp::FlatMap => "flat_map",
            ListOp::Count => "count",
            ListOp::Sum => "sum",
            ListOp::Min => "min",
            ListOp::Max => "max",
            ListOp::Mean => "mean",
            ListOp::Reduce => "reduce",
            ListOp::CountBy => "count_by",
            ListOp::SumBy => "sum_by",
            ListOp::ReduceBy => "reduce_by",
            ListOp::Distinct => "distinct",
            ListOp::Top => "top",
            ListOp::Bottom => "bottom",
            ListOp::Sort | ListOp::SortBy => "sort",
            ListOp::Collect => "collect",
        }
    }
}

/// `op(list, args…, lambdas…)`.
#[derive(Clone, Debug, PartialEq)]
pub struct ListOpExpr {
    pub op: ListOp,
    pub list: Expr,
    /// The non-function arguments (`n` of `top` and `bottom`).
    pub args: Vec<Expr>,
    /// The function arguments in parameter order.
    pub lambdas: Vec<Lambda>,
    pub span: SpanId,
}

/// Locals of one generated function, by [`LocalId`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Body {
    pub locals: Vec<IrType>,
}

impl Body {
    /// A new local of type `ty`.
    pub fn local(&mut self, ty: IrType) -> LocalId {
        self.locals.push(ty);
        LocalId(self.locals.len() as u32 - 1)
    }
}

/// A user function: its parameters are its first locals.
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    pub name: String,
    pub params: Vec<LocalId>,
    pub ret: IrType,
    pub body: Expr,
    pub locals: Body,
}

/// Where a stage's records come from, by index into [`JobIr::inputs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputId(pub u32);

/// One element-wise step of a stage's chain.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamStep {
    pub op: ListOp,
    pub lambda: Lambda,
    /// The element type after the step.
    pub output: IrType,
}

/// One aggregation over an input: the fused chain and the aggregation.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    pub input: InputId,
    /// The local holding each record, of the input's element type.
    pub record: LocalId,
    pub steps: Vec<StreamStep>,
    pub aggregation: ListOp,
    /// `n` of `top` and `bottom`, evaluated once per chunk.
    pub args: Vec<Expr>,
    /// The aggregation's function arguments, over the last element type.
    pub lambdas: Vec<Lambda>,
    /// The type of the elements reaching the aggregation.
    pub element: IrType,
    /// The type of the finished value.
    pub result: IrType,
    pub span: SpanId,
    pub locals: Body,
}

/// A let or output computed from parameters and stage results.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueDef {
    pub name: String,
    pub expr: Expr,
    pub locals: Body,
}

/// The lowered job.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobIr {
    pub params: Vec<IrType>,
    pub inputs: Vec<IrType>,
    pub functions: Vec<Function>,
    pub externs: Vec<ExternFn>,
    pub stages: Vec<Stage>,
    pub values: Vec<ValueDef>,
    pub spans: SpanTable,
}

/// Calls `visit` on `expr` and every expression inside it, lambdas included.
pub fn walk(expr: &Expr, visit: &mut impl FnMut(&Expr)) {
    visit(expr);
    match &expr.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Str(_)
        | ExprKind::Local(_)
        | ExprKind::Param(_)
        | ExprKind::StageResult(_)
        | ExprKind::Value(_) => {}
        ExprKind::Let { value, body, .. } => {
            walk(value, visit);
            walk(body, visit);
        }
        ExprKind::If {
            cond,
            then_branch,
            else_branch,
        } => {
            walk(cond, visit);
            walk(then_branch, visit);
            walk(else_branch, visit);
        }
        ExprKind::Unary { operand, .. } => walk(operand, visit),
        ExprKind::Binary { lhs, rhs, .. } => {
            walk(lhs, visit);
            walk(rhs, visit);
        }
        ExprKind::Field { base, .. } => walk(base, visit),
        ExprKind::Tuple(items)
        | ExprKind::List(items)
        | ExprKind::Record(items)
        | ExprKind::Call { args: items, .. }
        | ExprKind::TailCall { args: items }
        | ExprKind::ExternCall { args: items, .. }
        | ExprKind::Builtin { args: items, .. } => {
            for item in items {
                walk(item, visit);
            }
        }
        ExprKind::ListOp(op) => {
            walk(&op.list, visit);
            for arg in &op.args {
                walk(arg, visit);
            }
            for lambda in &op.lambdas {
                walk(&lambda.body, visit);
            }
        }
    }
}

/// Whether two lambdas compute the same thing: equal up to the numbering of
/// their locals, spans included (so a failure names the same source either
/// way). A group pass runs a step that several of its stages share once.
pub fn same_lambda(a: &Lambda, b: &Lambda) -> bool {
    if a.params.len() != b.params.len() {
        return false;
    }
    let mut pairs: Vec<(LocalId, LocalId)> = a
        .params
        .iter()
        .copied()
        .zip(b.params.iter().copied())
        .collect();
    same_expr(&a.body, &b.body, &mut pairs)
}

/// [`same_lambda`] for expressions; `pairs` holds the locals bound so far on
/// each side, in correspondence. IR locals are unique within a body, so
/// there is no shadowing to undo.
fn same_expr(a: &Expr, b: &Expr, pairs: &mut Vec<(LocalId, LocalId)>) -> bool {
    fn all(a: &[Expr], b: &[Expr], pairs: &mut Vec<(LocalId, LocalId)>) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_expr(x, y, pairs))
    }
    use ExprKind as K;
    if a.ty != b.ty {
        return false;
    }
    match (&a.kind, &b.kind) {
        (K::Int(x), K::Int(y)) => x == y,
        (K::Float(x), K::Float(y)) => x.to_bits() == y.to_bits(),
        (K::Bool(x), K::Bool(y)) => x == y,
        (K::Str(x), K::Str(y)) => x == y,
        // A local is the same when both sides bound it at the same place; a
        // local bound outside the lambdas is never taken for the same.
        (K::Local(x), K::Local(y)) => {
            pairs.iter().any(|pair| pair == &(*x, *y))
                && !pairs.iter().any(|(p, q)| (p == x) != (q == y))
        }
        (K::Param(x), K::Param(y))
        | (K::StageResult(x), K::StageResult(y))
        | (K::Value(x), K::Value(y)) => x == y,
        (
            K::Let {
                local: x,
                value: xv,
                body: xb,
            },
            K::Let {
                local: y,
                value: yv,
                body: yb,
            },
        ) => {
            if !same_expr(xv, yv, pairs) {
                return false;
            }
            pairs.push((*x, *y));
            same_expr(xb, yb, pairs)
        }
        (
            K::If {
                cond: xc,
                then_branch: xt,
                else_branch: xe,
            },
            K::If {
                cond: yc,
                then_branch: yt,
                else_branch: ye,
            },
        ) => same_expr(xc, yc, pairs) && same_expr(xt, yt, pairs) && same_expr(xe, ye, pairs),
        (
            K::Unary {
                op: xo,
                operand: x,
                span: xs,
            },
            K::Unary {
                op: yo,
                operand: y,
                span: ys,
            },
        ) => xo == yo && xs == ys && same_expr(x, y, pairs),
        (
            K::Binary {
                op: xo,
                lhs: xl,
                rhs: xr,
                span: xs,
            },
            K::Binary {
                op: yo,
                lhs: yl,
                rhs: yr,
                span: ys,
            },
        ) => xo == yo && xs == ys && same_expr(xl, yl, pairs) && same_expr(xr, yr, pairs),
        (K::Tuple(x), K::Tuple(y)) | (K::List(x), K::List(y)) | (K::Record(x), K::Record(y)) => {
            all(x, y, pairs)
        }
        (K::Field { base: x, index: xi }, K::Field { base: y, index: yi }) => {
            xi == yi && same_expr(x, y, pairs)
        }
        (
            K::Call {
                function: xf,
                args: x,
            },
            K::Call {
                function: yf,
                args: y,
            },
        ) => xf == yf && all(x, y, pairs),
        (K::TailCall { args: x }, K::TailCall { args: y }) => all(x, y, pairs),
        (
            K::ExternCall {
                function: xf,
                args: x,
                span: xs,
            },
            K::ExternCall {
                function: yf,
                args: y,
                span: ys,
            },
        ) => xf == yf && xs == ys && all(x, y, pairs),
        (
            K::Builtin {
                op: xo,
                args: x,
                span: xs,
            },
            K::Builtin {
                op: yo,
                args: y,
                span: ys,
            },
        ) => xo == yo && xs == ys && all(x, y, pairs),
        (K::ListOp(x), K::ListOp(y)) => {
            if x.op != y.op
                || x.span != y.span
                || x.lambdas.len() != y.lambdas.len()
                || !same_expr(&x.list, &y.list, pairs)
                || !all(&x.args, &y.args, pairs)
            {
                return false;
            }
            x.lambdas.iter().zip(&y.lambdas).all(|(xl, yl)| {
                if xl.params.len() != yl.params.len() {
                    return false;
                }
                pairs.extend(xl.params.iter().copied().zip(yl.params.iter().copied()));
                same_expr(&xl.body, &yl.body, pairs)
            })
        }
        _ => false,
    }
}

/// A compact text form of the IR, one item per line, for snapshots and
/// debugging: locals print as `%n`, params as `$n`, stage results as
/// `stage#k`, plan values as `value#v`, spans as `@s`.
impl std::fmt::Display for JobIr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, ty) in self.params.iter().enumerate() {
            writeln!(f, "param ${index}: {}", type_text(ty))?;
        }
        for (index, ty) in self.inputs.iter().enumerate() {
            writeln!(f, "input {index}: {}", type_text(ty))?;
        }
        for (index, function) in self.externs.iter().enumerate() {
            let params: Vec<String> = function.params.iter().map(type_text).collect();
            writeln!(
                f,
                "extern#{index} {}({}) -> {} from {:?}",
                function.name,
                params.join(", "),
                type_text(&function.ret),
                function.module
            )?;
        }
        for (index, function) in self.functions.iter().enumerate() {
            let params: Vec<String> = function
                .params
                .iter()
                .map(|p| format!("%{}", p.0))
                .collect();
            writeln!(
                f,
                "fn#{index} {}({}) -> {} = {}",
                function.name,
                params.join(", "),
                type_text(&function.ret),
                expr_text(&function.body)
            )?;
        }
        for (index, stage) in self.stages.iter().enumerate() {
            writeln!(
                f,
                "stage#{index} over input {} as %{}:",
                stage.input.0, stage.record.0
            )?;
            for step in &stage.steps {
                writeln!(f, "  {} {}", step.op.name(), lambda_text(&step.lambda))?;
            }
            let mut parts: Vec<String> = stage.args.iter().map(expr_text).collect();
            parts.extend(stage.lambdas.iter().map(lambda_text));
            writeln!(
                f,
                "  => {}({}) @{} : {}",
                stage.aggregation.name(),
                parts.join(", "),
                stage.span.0,
                type_text(&stage.result)
            )?;
        }
        for (index, value) in self.values.iter().enumerate() {
            writeln!(
                f,
                "value#{index} {} = {}",
                value.name,
                expr_text(&value.expr)
            )?;
        }
        Ok(())
    }
}

/// A type as the language writes it.
pub fn type_text(ty: &IrType) -> String {
    match ty {
        IrType::Int => "int".to_owned(),
        IrType::Float => "float".to_owned(),
        IrType::Bool => "bool".to_owned(),
        IrType::Str => "str".to_owned(),
        IrType::List(element) => format!("[{}]", type_text(element)),
        IrType::Tuple(items) => {
            let items: Vec<String> = items.iter().map(type_text).collect();
            format!("({})", items.join(", "))
        }
        IrType::Record(name, _) => name.clone(),
    }
}

fn lambda_text(lambda: &Lambda) -> String {
    let params: Vec<String> = lambda.params.iter().map(|p| format!("%{}", p.0)).collect();
    format!("|{}| {}", params.join(", "), expr_text(&lambda.body))
}

fn list_text(items: &[Expr]) -> String {
    items.iter().map(expr_text).collect::<Vec<_>>().join(", ")
}

/// An expression in prefix form.
pub fn expr_text(expr: &Expr) -> String {
    match &expr.kind {
        ExprKind::Int(n) => n.to_string(),
        ExprKind::Float(x) => format!("{x:?}"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Local(local) => format!("%{}", local.0),
        ExprKind::Param(index) => format!("${index}"),
        ExprKind::StageResult(index) => format!("stage#{index}"),
        ExprKind::Value(index) => format!("value#{index}"),
        ExprKind::Let { local, value, body } => {
            format!(
                "let %{} = {}; {}",
                local.0,
                expr_text(value),
                expr_text(body)
            )
        }
        ExprKind::If {
            cond,
            then_branch,
            else_branch,
        } => format!(
            "if {} then {} else {}",
            expr_text(cond),
            expr_text(then_branch),
            expr_text(else_branch)
        ),
        ExprKind::Unary { op, operand, span } => {
            format!("{op:?}@{}({})", span.0, expr_text(operand))
        }
        ExprKind::Binary { op, lhs, rhs, span } => format!(
            "{op:?}.{}@{}({}, {})",
            type_text(&lhs.ty),
            span.0,
            expr_text(lhs),
            expr_text(rhs)
        ),
        ExprKind::Tuple(items) => format!("({})", list_text(items)),
        ExprKind::List(items) => format!("[{}]", list_text(items)),
        ExprKind::Record(items) => format!("{} {{{}}}", type_text(&expr.ty), list_text(items)),
        ExprKind::Field { base, index } => format!("{}.{index}", expr_text(base)),
        ExprKind::Call { function, args } => format!("fn#{}({})", function.0, list_text(args)),
        ExprKind::TailCall { args } => format!("tailcall({})", list_text(args)),
        ExprKind::ExternCall {
            function,
            args,
            span,
        } => format!("extern#{}@{}({})", function.0, span.0, list_text(args)),
        ExprKind::Builtin { op, args, span } => format!("{op:?}@{}({})", span.0, list_text(args)),
        ExprKind::ListOp(op) => {
            let mut parts = vec![expr_text(&op.list)];
            parts.extend(op.args.iter().map(expr_text));
            parts.extend(op.lambdas.iter().map(lambda_text));
            format!("{}@{}({})", op.op.name(), op.span.0, parts.join(", "))
        }
    }
}
