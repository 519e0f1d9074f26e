//! Lowering of expressions, calls, lambdas and stream pipelines.

use flow_lang::ast::{self, BinaryOp as AstBinary, ExprKind as Ast, UnaryOp as AstUnary};
use flow_lang::{FileId, Ident, Span};

use super::{Context, Lowerer, PendingStream, StreamRef};
use crate::codegen::CodegenError;
use crate::ir::{
    BinaryOp, Builtin, Expr, ExprKind, IrType, Lambda, ListOp, ListOpExpr, Stage, StreamStep,
    UnaryOp,
};
use crate::program::{DefId, DefKind};
use crate::std_decls::stdlib;
use crate::types::Ty;

/// One argument of a call; for a pipe the left side comes first.
#[derive(Clone, Copy, Debug)]
pub(super) struct ArgIn<'a> {
    name: Option<&'a Ident>,
    expr: &'a ast::Expr,
}

fn strip_parens(expr: &ast::Expr) -> &ast::Expr {
    match &expr.kind {
        Ast::Paren(inner) => strip_parens(inner),
        _ => expr,
    }
}

/// The list operator a standard function name stands for, given whether
/// it has a `by` argument (for `sort`) and how many arguments it has (for
/// `min` and `max`, which with two are the scalar builtins).
fn list_op(name: &str, arg_count: usize) -> Option<ListOp> {
    Some(match name {
        "map" => ListOp::Map,
        "filter" => ListOp::Filter,
        "flat_map" => ListOp::FlatMap,
        "count" => ListOp::Count,
        "sum" => ListOp::Sum,
        "min" if arg_count == 1 => ListOp::Min,
        "max" if arg_count == 1 => ListOp::Max,
        "mean" => ListOp::Mean,
        "reduce" => ListOp::Reduce,
        "count_by" => ListOp::CountBy,
        "sum_by" => ListOp::SumBy,
        "reduce_by" => ListOp::ReduceBy,
        "distinct" => ListOp::Distinct,
        "top" => ListOp::Top,
        "bottom" => ListOp::Bottom,
        "sort" if arg_count == 1 => ListOp::Sort,
        "sort" => ListOp::SortBy,
        "collect" => ListOp::Collect,
        _ => return None,
    })
}

/// The scalar builtin a standard function name stands for.
fn builtin(name: &str, first: Option<&IrType>) -> Option<Builtin> {
    Some(match name {
        "abs" => Builtin::Abs,
        "min" => Builtin::Min2,
        "max" => Builtin::Max2,
        "sqrt" => Builtin::Sqrt,
        "pow" => Builtin::Pow,
        "exp" => Builtin::Exp,
        "ln" => Builtin::Ln,
        "floor" => Builtin::Floor,
        "ceil" => Builtin::Ceil,
        "round" => Builtin::Round,
        "float" => Builtin::ToFloat,
        "int" => Builtin::ToInt,
        "hash" => Builtin::Hash,
        "rand" => Builtin::Rand,
        "len" if first == Some(&IrType::Str) => Builtin::StrLen,
        "len" => Builtin::ListLen,
        "lower" => Builtin::Lower,
        "upper" => Builtin::Upper,
        "trim" => Builtin::Trim,
        "words" => Builtin::Words,
        "split" => Builtin::Split,
        "join" => Builtin::Join,
        "contains" => Builtin::Contains,
        "starts_with" => Builtin::StartsWith,
        "ends_with" => Builtin::EndsWith,
        "replace" => Builtin::Replace,
        "substr" => Builtin::Substr,
        "matches" => Builtin::Matches,
        "to_int" => Builtin::ParseInt,
        "to_float" => Builtin::ParseFloat,
        "str" => Builtin::Str,
        "get" => Builtin::Get,
        _ => return None,
    })
}

impl<'a> Lowerer<'a> {
    /// The checked type of an expression, as written in the program.
    fn checked_type(&self, file: FileId, expr: &ast::Expr) -> Option<&'a Ty> {
        let program = &self.analysis.program;
        program
            .type_of(file, expr.span)
            .or_else(|| match &expr.kind {
                Ast::Paren(inner) => self.checked_type(file, inner),
                _ => None,
            })
    }

    fn type_at(&self, file: FileId, expr: &ast::Expr) -> Result<IrType, CodegenError> {
        match self.checked_type(file, expr) {
            Some(ty) => self.ir_type(ty),
            None => Err(CodegenError::Internal(format!(
                "no type recorded for the expression at {}",
                self.at(file, expr.span)
            ))),
        }
    }

    fn is_stream(&self, file: FileId, expr: &ast::Expr) -> bool {
        matches!(self.checked_type(file, expr), Some(Ty::Stream(_)))
    }

    /// The definition a name refers to.
    fn name_def(&self, file: FileId, name: &Ident) -> Result<DefId, CodegenError> {
        self.analysis
            .program
            .name_refs
            .get(&(file, name.span))
            .copied()
            .ok_or_else(|| {
                CodegenError::Internal(format!(
                    "`{}` at {} was never resolved",
                    name.name,
                    self.at(file, name.span)
                ))
            })
    }

    fn def_kind(&self, def: DefId) -> Result<DefKind, CodegenError> {
        self.analysis
            .program
            .definition(def)
            .map(|d| d.kind)
            .ok_or_else(|| CodegenError::Internal(format!("no definition {def:?}")))
    }

    /// A call or pipe: its target and its arguments in written order.
    fn call_parts(&self, file: FileId, expr: &'a ast::Expr) -> Option<(DefId, Vec<ArgIn<'a>>)> {
        let target = *self.analysis.program.call_targets.get(&(file, expr.span))?;
        let args = match &expr.kind {
            Ast::Call { args, .. } => args
                .iter()
                .map(|a| ArgIn {
                    name: a.name.as_ref(),
                    expr: &a.value,
                })
                .collect(),
            Ast::Binary {
                op: AstBinary::Pipe,
                lhs,
                rhs,
                ..
            } => {
                let mut all = vec![ArgIn {
                    name: None,
                    expr: lhs,
                }];
                if let Ast::Call { args, .. } = &strip_parens(rhs).kind {
                    all.extend(args.iter().map(|a| ArgIn {
                        name: a.name.as_ref(),
                        expr: &a.value,
                    }));
                }
                all
            }
            _ => return None,
        };
        Some((target, args))
    }

    /// Arguments in parameter order.
    fn positional(
        &self,
        file: FileId,
        span: Span,
        params: &[String],
        args: &[ArgIn<'a>],
    ) -> Result<Vec<&'a ast::Expr>, CodegenError> {
        let mut slots: Vec<Option<&'a ast::Expr>> = vec![None; params.len()];
        let mut next = 0;
        for arg in args {
            let index = match arg.name {
                Some(name) => params.iter().position(|p| *p == name.name),
                None => {
                    next += 1;
                    Some(next - 1)
                }
            };
            match index.and_then(|i| slots.get_mut(i)) {
                Some(slot) => *slot = Some(arg.expr),
                None => {
                    return Err(CodegenError::Internal(format!(
                        "arguments that do not fit the call at {}",
                        self.at(file, span)
                    )));
                }
            }
        }
        slots
            .into_iter()
            .map(|slot| {
                slot.ok_or_else(|| {
                    CodegenError::Internal(format!(
                        "a missing argument in the call at {}",
                        self.at(file, span)
                    ))
                })
            })
            .collect()
    }

    /// The name and parameter names of a standard function definition.
    fn std_signature(&self, def: DefId) -> Option<(String, Vec<String>)> {
        let kind = self.def_kind(def).ok()?;
        if kind != DefKind::StdFn {
            return None;
        }
        let f = stdlib().fns.get(def.0 as usize)?;
        Some((
            f.sig.name.clone(),
            f.sig.params.iter().map(|(n, _)| n.clone()).collect(),
        ))
    }

    /// Lowers an expression that may be a stream (a let or output).
    pub(super) fn lower_stream_or_expr(
        &mut self,
        file: FileId,
        expr: &'a ast::Expr,
    ) -> Result<StreamRef<'a>, CodegenError> {
        if self.is_stream(file, expr) {
            self.lower_stream(file, expr)
        } else {
            Ok(StreamRef::List(self.lower_expr(file, expr)?))
        }
    }

    /// Lowers a stream-typed expression.
    fn lower_stream(
        &mut self,
        file: FileId,
        expr: &'a ast::Expr,
    ) -> Result<StreamRef<'a>, CodegenError> {
        match &expr.kind {
            Ast::Paren(inner) => self.lower_stream(file, inner),
            Ast::Name(name) => {
                let def = self.name_def(file, name)?;
                match self.def_kind(def)? {
                    DefKind::Input => {
                        let input = *self.inputs.get(&def).ok_or_else(|| {
                            CodegenError::Internal(format!("unknown input `{}`", name.name))
                        })?;
                        Ok(StreamRef::Pending(PendingStream {
                            input,
                            steps: Vec::new(),
                        }))
                    }
                    DefKind::Let => {
                        let (let_file, item) = self.item(def)?;
                        let ast::ItemKind::Let(decl) = &item.kind else {
                            return Err(CodegenError::Internal("a let that is no let".to_owned()));
                        };
                        self.lower_stream(let_file, &decl.value)
                    }
                    _ => Err(self.unsupported("this stream", file, expr.span)),
                }
            }
            Ast::Call { .. }
            | Ast::Binary {
                op: AstBinary::Pipe,
                ..
            } => {
                let Some((def, args)) = self.call_parts(file, expr) else {
                    return Err(self.unsupported("this stream", file, expr.span));
                };
                let Some((name, params)) = self.std_signature(def) else {
                    return Err(self.unsupported("this stream", file, expr.span));
                };
                let Some(op) = list_op(&name, args.len()) else {
                    return Err(self.unsupported(
                        &format!("the stream source `{name}` outside an input"),
                        file,
                        expr.span,
                    ));
                };
                let args = self.positional(file, expr.span, &params, &args)?;
                let Some((source, rest)) = args.split_first() else {
                    return Err(CodegenError::Internal(
                        "a list operator without a list".into(),
                    ));
                };
                let source = self.lower_stream_or_expr(file, source)?;
                self.apply(file, expr, op, source, rest)
            }
            _ => Err(self.unsupported("this stream expression", file, expr.span)),
        }
    }

    /// Applies list operator `op` to a stream or list.
    fn apply(
        &mut self,
        file: FileId,
        call: &'a ast::Expr,
        op: ListOp,
        source: StreamRef<'a>,
        rest: &[&'a ast::Expr],
    ) -> Result<StreamRef<'a>, CodegenError> {
        match source {
            StreamRef::Pending(mut pending) => {
                if op.is_elementwise() {
                    let Some(function) = rest.first() else {
                        return Err(CodegenError::Internal("a step without a function".into()));
                    };
                    pending.steps.push((op, file, function));
                    Ok(StreamRef::Pending(pending))
                } else {
                    Ok(StreamRef::List(
                        self.aggregate(file, call, pending, op, rest)?,
                    ))
                }
            }
            StreamRef::List(list) => Ok(StreamRef::List(
                self.list_op_expr(file, call, op, list, rest)?,
            )),
        }
    }

    /// `op(list, rest…)` over a list value.
    fn list_op_expr(
        &mut self,
        file: FileId,
        call: &'a ast::Expr,
        op: ListOp,
        list: Expr,
        rest: &[&'a ast::Expr],
    ) -> Result<Expr, CodegenError> {
        let element = list
            .ty
            .element()
            .cloned()
            .ok_or_else(|| CodegenError::Internal("a list operator over a non-list".into()))?;
        let (args, lambdas) = self.operator_arguments(file, op, &element, rest)?;
        let ty = self.type_at(file, call)?;
        let span = self.span(file, call.span);
        Ok(Expr {
            kind: ExprKind::ListOp(Box::new(ListOpExpr {
                op,
                list,
                args,
                lambdas,
                span,
            })),
            ty,
        })
    }

    /// The plain arguments (`n`) and lambdas of operator `op` over elements
    /// of type `element`.
    fn operator_arguments(
        &mut self,
        file: FileId,
        op: ListOp,
        element: &IrType,
        rest: &[&'a ast::Expr],
    ) -> Result<(Vec<Expr>, Vec<Lambda>), CodegenError> {
        let mut args = Vec::new();
        let mut lambdas = Vec::new();
        match op {
            ListOp::Top | ListOp::Bottom => {
                if let [n, by] = rest {
                    args.push(self.lower_expr(file, n)?);
                    lambdas.push(self.lower_fn_arg(file, by, std::slice::from_ref(element))?);
                }
            }
            ListOp::Reduce => {
                if let [f] = rest {
                    lambdas.push(self.lower_fn_arg(
                        file,
                        f,
                        &[element.clone(), element.clone()],
                    )?);
                }
            }
            ListOp::ReduceBy => {
                if let [k, v, f] = rest {
                    lambdas.push(self.lower_fn_arg(file, k, std::slice::from_ref(element))?);
                    let value = self.lower_fn_arg(file, v, std::slice::from_ref(element))?;
                    let value_ty = value.body.ty.clone();
                    lambdas.push(value);
                    lambdas.push(self.lower_fn_arg(file, f, &[value_ty.clone(), value_ty])?);
                }
            }
            _ => {
                for function in rest {
                    lambdas.push(self.lower_fn_arg(
                        file,
                        function,
                        std::slice::from_ref(element),
                    )?);
                }
            }
        }
        let expected = match op {
            ListOp::Top | ListOp::Bottom => (1, 1),
            ListOp::Reduce => (0, 1),
            ListOp::ReduceBy => (0, 3),
            _ => (0, rest.len()),
        };
        if (args.len(), lambdas.len()) != expected {
            return Err(CodegenError::Internal(format!(
                "`{}` with unexpected arguments",
                op.name()
            )));
        }
        Ok((args, lambdas))
    }

    /// Makes a stage of a pending stream and its aggregation, and returns
    /// the stage's finished value (in the value being lowered).
    pub(super) fn aggregate(
        &mut self,
        file: FileId,
        call: &'a ast::Expr,
        pending: PendingStream<'a>,
        op: ListOp,
        rest: &[&'a ast::Expr],
    ) -> Result<Expr, CodegenError> {
        let result = self.type_at(file, call)?;
        let key = (file, call.span);
        let index = match self.stage_by_span.get(&key) {
            Some(index) => *index,
            None => {
                let input_info = self
                    .job
                    .inputs
                    .get(pending.input as usize)
                    .ok_or_else(|| CodegenError::Internal("unknown input".into()))?;
                let input_ty = self.ir_type(&input_info.element)?;
                let span = self.span(file, call.span);
                let result_ty = result.clone();
                let (stage, locals, _) = self.with_body(Context::Stage, |this| {
                    let record = this.body.local(input_ty.clone());
                    let mut element = input_ty.clone();
                    let mut steps = Vec::new();
                    for (step_op, step_file, function) in &pending.steps {
                        let lambda = this.lower_fn_arg(
                            *step_file,
                            function,
                            std::slice::from_ref(&element),
                        )?;
                        let output = match step_op {
                            ListOp::Map => lambda.body.ty.clone(),
                            ListOp::Filter => element.clone(),
                            _ => lambda.body.ty.element().cloned().ok_or_else(|| {
                                CodegenError::Internal("flat_map to a non-list".into())
                            })?,
                        };
                        element = output.clone();
                        steps.push(StreamStep {
                            op: *step_op,
                            lambda,
                            output,
                        });
                    }
                    let (args, lambdas) = this.operator_arguments(file, op, &element, rest)?;
                    Ok(Stage {
                        input: crate::ir::InputId(pending.input),
                        record,
                        steps,
                        aggregation: op,
                        args,
                        lambdas,
                        element,
                        result: result_ty,
                        span,
                        locals: crate::ir::Body::default(),
                    })
                })?;
                let index = self.stages.len() as u32;
                self.stages.push(Stage { locals, ..stage });
                self.stage_by_span.insert(key, index);
                index
            }
        };
        match &mut self.context {
            Context::Value { stages } => {
                if !stages.contains(&index) {
                    stages.push(index);
                }
                Ok(Expr {
                    kind: ExprKind::StageResult(index),
                    ty: result,
                })
            }
            _ => Err(self.unsupported(
                "an aggregation of a stream inside a stage or function",
                file,
                call.span,
            )),
        }
    }

    /// A function argument of an operator: a lambda, or the name of a
    /// function (which becomes a lambda calling it).
    fn lower_fn_arg(
        &mut self,
        file: FileId,
        expr: &'a ast::Expr,
        param_types: &[IrType],
    ) -> Result<Lambda, CodegenError> {
        let expr = strip_parens(expr);
        match &expr.kind {
            Ast::Lambda { params, body } => {
                if params.len() != param_types.len() {
                    return Err(CodegenError::Internal(format!(
                        "a lambda with {} parameters where {} are passed",
                        params.len(),
                        param_types.len()
                    )));
                }
                let mut locals = Vec::new();
                let mut saved = Vec::new();
                for (param, ty) in params.iter().zip(param_types) {
                    let local = self.body.local(ty.clone());
                    if let Some(def) = self.defs_by_name.get(&(file, param.name.span)) {
                        saved.push((*def, self.scope.insert(*def, local)));
                    }
                    locals.push(local);
                }
                let body = self.lower_expr(file, body);
                for (def, previous) in saved.into_iter().rev() {
                    match previous {
                        Some(previous) => self.scope.insert(def, previous),
                        None => self.scope.remove(&def),
                    };
                }
                Ok(Lambda {
                    params: locals,
                    body: body?,
                })
            }
            Ast::Name(name) => {
                let def = self.name_def(file, name)?;
                let locals: Vec<_> = param_types
                    .iter()
                    .map(|ty| self.body.local(ty.clone()))
                    .collect();
                let args: Vec<Expr> = locals
                    .iter()
                    .zip(param_types)
                    .map(|(local, ty)| Expr {
                        kind: ExprKind::Local(*local),
                        ty: ty.clone(),
                    })
                    .collect();
                let body = match self.def_kind(def)? {
                    DefKind::Fn => {
                        let function = *self.functions.get(&def).ok_or_else(|| {
                            CodegenError::Internal(format!("unknown fn `{}`", name.name))
                        })?;
                        let ret = self
                            .job
                            .fns
                            .get(function.0 as usize)
                            .map(|f| self.ir_type(&f.ret))
                            .transpose()?
                            .ok_or_else(|| CodegenError::Internal("unknown fn".into()))?;
                        Expr {
                            kind: ExprKind::Call { function, args },
                            ty: ret,
                        }
                    }
                    DefKind::StdFn => {
                        let f = stdlib()
                            .fns
                            .get(def.0 as usize)
                            .ok_or_else(|| CodegenError::Internal("unknown standard fn".into()))?;
                        let op = builtin(&f.sig.name, param_types.first()).ok_or_else(|| {
                            self.unsupported(
                                &format!("`{}` passed as a function", f.sig.name),
                                file,
                                expr.span,
                            )
                        })?;
                        let ty = builtin_result(op, param_types).ok_or_else(|| {
                            self.unsupported(
                                &format!("`{}` passed as a function", f.sig.name),
                                file,
                                expr.span,
                            )
                        })?;
                        let span = self.span(file, expr.span);
                        Expr {
                            kind: ExprKind::Builtin { op, args, span },
                            ty,
                        }
                    }
                    DefKind::ExternFn => {
                        let function = *self.externs.get(&def).ok_or_else(|| {
                            CodegenError::Internal(format!("unknown extern fn `{}`", name.name))
                        })?;
                        let ret = self
                            .lowered_externs
                            .get(function.0 as usize)
                            .map(|f| f.ret.clone())
                            .ok_or_else(|| CodegenError::Internal("unknown extern fn".into()))?;
                        let span = self.span(file, expr.span);
                        Expr {
                            kind: ExprKind::ExternCall {
                                function,
                                args,
                                span,
                            },
                            ty: ret,
                        }
                    }
                    _ => return Err(self.unsupported("this function argument", file, expr.span)),
                };
                Ok(Lambda {
                    params: locals,
                    body,
                })
            }
            _ => Err(self.unsupported("this function argument", file, expr.span)),
        }
    }

    /// Lowers a (non-stream) expression in the current body.
    pub(super) fn lower_expr(
        &mut self,
        file: FileId,
        expr: &'a ast::Expr,
    ) -> Result<Expr, CodegenError> {
        let node = |kind, ty| Ok(Expr { kind, ty });
        match &expr.kind {
            Ast::Int(n) => node(ExprKind::Int(*n), IrType::Int),
            Ast::Size { bytes, .. } => node(ExprKind::Int(*bytes), IrType::Int),
            Ast::Float(x) => node(ExprKind::Float(*x), IrType::Float),
            Ast::Bool(b) => node(ExprKind::Bool(*b), IrType::Bool),
            Ast::Str(s) => node(ExprKind::Str(s.clone()), IrType::Str),
            Ast::Paren(inner) => self.lower_expr(file, inner),
            Ast::Name(name) => self.lower_name(file, expr, name),
            Ast::Call { .. }
            | Ast::Binary {
                op: AstBinary::Pipe,
                ..
            } => self.lower_call(file, expr),
            Ast::Tuple(items) => {
                let items = items
                    .iter()
                    .map(|e| self.lower_expr(file, e))
                    .collect::<Result<Vec<_>, _>>()?;
                let ty = IrType::Tuple(items.iter().map(|e| e.ty.clone()).collect());
                node(ExprKind::Tuple(items), ty)
            }
            Ast::List(items) => {
                let ty = self.type_at(file, expr)?;
                let items = items
                    .iter()
                    .map(|e| self.lower_expr(file, e))
                    .collect::<Result<Vec<_>, _>>()?;
                node(ExprKind::List(items), ty)
            }
            Ast::Record { fields, .. } => {
                let ty = self.type_at(file, expr)?;
                let IrType::Record(_, declared) = &ty else {
                    return Err(CodegenError::Internal(
                        "a record literal of no record type".into(),
                    ));
                };
                let mut values = Vec::with_capacity(declared.len());
                for (field, _) in declared {
                    let init = fields
                        .iter()
                        .find(|f| f.name.name == *field)
                        .ok_or_else(|| {
                            CodegenError::Internal(format!("field `{field}` missing in a record"))
                        })?;
                    values.push(self.lower_expr(file, &init.value)?);
                }
                node(ExprKind::Record(values), ty)
            }
            Ast::Field { base, field } => {
                let base_ir = self.lower_expr(file, base)?;
                let IrType::Record(_, fields) = &base_ir.ty else {
                    return Err(CodegenError::Internal("a field of a non-record".into()));
                };
                let index = fields
                    .iter()
                    .position(|(name, _)| *name == field.name)
                    .ok_or_else(|| CodegenError::Internal(format!("no field `{}`", field.name)))?;
                let ty = fields[index].1.clone();
                node(
                    ExprKind::Field {
                        base: Box::new(base_ir),
                        index: index as u32,
                    },
                    ty,
                )
            }
            Ast::TupleIndex { base, index, .. } => {
                let base_ir = self.lower_expr(file, base)?;
                let ty = base_ir
                    .ty
                    .fields()
                    .get(*index as usize)
                    .cloned()
                    .ok_or_else(|| CodegenError::Internal("a tuple index out of range".into()))?;
                node(
                    ExprKind::Field {
                        base: Box::new(base_ir),
                        index: *index,
                    },
                    ty,
                )
            }
            Ast::If {
                cond,
                then_branch,
                else_branch,
            } => {
                let cond = self.lower_expr(file, cond)?;
                let then_branch = self.lower_expr(file, then_branch)?;
                let else_branch = self.lower_expr(file, else_branch)?;
                let ty = then_branch.ty.clone();
                node(
                    ExprKind::If {
                        cond: Box::new(cond),
                        then_branch: Box::new(then_branch),
                        else_branch: Box::new(else_branch),
                    },
                    ty,
                )
            }
            Ast::Block { lets, result } => self.lower_block(file, lets, result),
            Ast::Unary { op, operand, .. } => {
                let operand = self.lower_expr(file, operand)?;
                let ty = operand.ty.clone();
                let span = self.span(file, expr.span);
                let op = match op {
                    AstUnary::Neg => UnaryOp::Neg,
                    AstUnary::Not => UnaryOp::Not,
                };
                node(
                    ExprKind::Unary {
                        op,
                        operand: Box::new(operand),
                        span,
                    },
                    ty,
                )
            }
            Ast::Binary { op, lhs, rhs, .. } => {
                let op = match op {
                    AstBinary::Add => BinaryOp::Add,
                    AstBinary::Sub => BinaryOp::Sub,
                    AstBinary::Mul => BinaryOp::Mul,
                    AstBinary::Div => BinaryOp::Div,
                    AstBinary::Rem => BinaryOp::Rem,
                    AstBinary::Eq => BinaryOp::Eq,
                    AstBinary::Ne => BinaryOp::Ne,
                    AstBinary::Lt => BinaryOp::Lt,
                    AstBinary::Le => BinaryOp::Le,
                    AstBinary::Gt => BinaryOp::Gt,
                    AstBinary::Ge => BinaryOp::Ge,
                    AstBinary::And => BinaryOp::And,
                    AstBinary::Or => BinaryOp::Or,
                    AstBinary::Pipe => {
                        return Err(CodegenError::Internal("a pipe that is no call".into()));
                    }
                };
                let lhs = self.lower_expr(file, lhs)?;
                let rhs = self.lower_expr(file, rhs)?;
                let ty = match op {
                    BinaryOp::Add
                    | BinaryOp::Sub
                    | BinaryOp::Mul
                    | BinaryOp::Div
                    | BinaryOp::Rem => lhs.ty.clone(),
                    _ => IrType::Bool,
                };
                let span = self.span(file, expr.span);
                node(
                    ExprKind::Binary {
                        op,
                        lhs: Box::new(lhs),
                        rhs: Box::new(rhs),
                        span,
                    },
                    ty,
                )
            }
            Ast::Lambda { .. } => {
                Err(self.unsupported("a lambda outside an operator argument", file, expr.span))
            }
            Ast::Duration { .. } => Err(self.unsupported("a duration", file, expr.span)),
            Ast::Error => Err(CodegenError::Internal(
                "a parse error reached lowering".into(),
            )),
        }
    }

    fn lower_block(
        &mut self,
        file: FileId,
        lets: &'a [ast::BlockLet],
        result: &'a ast::Expr,
    ) -> Result<Expr, CodegenError> {
        let Some((first, rest)) = lets.split_first() else {
            return self.lower_expr(file, result);
        };
        let value = self.lower_expr(file, &first.value)?;
        let local = self.body.local(value.ty.clone());
        let def = self.defs_by_name.get(&(file, first.name.span)).copied();
        let previous = def.and_then(|def| self.scope.insert(def, local));
        let body = self.lower_block(file, rest, result);
        if let Some(def) = def {
            match previous {
                Some(previous) => self.scope.insert(def, previous),
                None => self.scope.remove(&def),
            };
        }
        let body = body?;
        let ty = body.ty.clone();
        Ok(Expr {
            kind: ExprKind::Let {
                local,
                value: Box::new(value),
                body: Box::new(body),
            },
            ty,
        })
    }

    fn lower_name(
        &mut self,
        file: FileId,
        expr: &'a ast::Expr,
        name: &Ident,
    ) -> Result<Expr, CodegenError> {
        let def = self.name_def(file, name)?;
        match self.def_kind(def)? {
            DefKind::Param => {
                let index = *self.params.get(&def).ok_or_else(|| {
                    CodegenError::Internal(format!("unknown param `{}`", name.name))
                })?;
                let ty = self.type_at(file, expr)?;
                Ok(Expr {
                    kind: ExprKind::Param(index),
                    ty,
                })
            }
            DefKind::FnParam | DefKind::LambdaParam | DefKind::BlockLet => {
                let local = *self.scope.get(&def).ok_or_else(|| {
                    CodegenError::Internal(format!("`{}` is not in scope", name.name))
                })?;
                let ty = self
                    .body
                    .locals
                    .get(local.0 as usize)
                    .cloned()
                    .ok_or_else(|| CodegenError::Internal("an unknown local".into()))?;
                Ok(Expr {
                    kind: ExprKind::Local(local),
                    ty,
                })
            }
            DefKind::Let => {
                let (let_file, item) = self.item(def)?;
                let ast::ItemKind::Let(decl) = &item.kind else {
                    return Err(CodegenError::Internal("a let that is no let".into()));
                };
                if self.is_stream(let_file, &decl.value) {
                    return Err(self.unsupported("a stream used as a value", file, expr.span));
                }
                match self.context {
                    Context::Value { .. } => self.lower_expr(let_file, &decl.value),
                    Context::Stage | Context::Function => {
                        if !self.let_reads_stages(def)? {
                            // Recomputing a let over params is cheaper than
                            // a phase.
                            let saved = std::mem::take(&mut self.scope);
                            let lowered = self.lower_expr(let_file, &decl.value);
                            self.scope = saved;
                            lowered
                        } else if matches!(self.context, Context::Stage) {
                            let value = self.let_value(def)?;
                            let ty = self.type_at(file, expr)?;
                            Ok(Expr {
                                kind: ExprKind::Value(value),
                                ty,
                            })
                        } else {
                            Err(self.unsupported(
                                "a function using a let computed from a stream",
                                file,
                                expr.span,
                            ))
                        }
                    }
                }
            }
            _ => Err(self.unsupported("this name as a value", file, expr.span)),
        }
    }

    fn lower_call(&mut self, file: FileId, expr: &'a ast::Expr) -> Result<Expr, CodegenError> {
        let Some((def, args)) = self.call_parts(file, expr) else {
            return Err(self.unsupported(
                "a call of something that is no function",
                file,
                expr.span,
            ));
        };
        match self.def_kind(def)? {
            DefKind::Fn => {
                let function = *self
                    .functions
                    .get(&def)
                    .ok_or_else(|| CodegenError::Internal("unknown fn".into()))?;
                let params: Vec<String> = self
                    .job
                    .fns
                    .get(function.0 as usize)
                    .map(|f| f.params.iter().map(|(n, _)| n.clone()).collect())
                    .unwrap_or_default();
                let args = self.positional(file, expr.span, &params, &args)?;
                let args = args
                    .into_iter()
                    .map(|a| self.lower_expr(file, a))
                    .collect::<Result<Vec<_>, _>>()?;
                let ty = self.type_at(file, expr)?;
                Ok(Expr {
                    kind: ExprKind::Call { function, args },
                    ty,
                })
            }
            DefKind::StdFn => {
                let Some((name, params)) = self.std_signature(def) else {
                    return Err(CodegenError::Internal("unknown standard fn".into()));
                };
                let args = self.positional(file, expr.span, &params, &args)?;
                if let Some(op) = list_op(&name, args.len()) {
                    let Some((source, rest)) = args.split_first() else {
                        return Err(CodegenError::Internal(
                            "a list operator without a list".into(),
                        ));
                    };
                    let source = self.lower_stream_or_expr(file, source)?;
                    return match self.apply(file, expr, op, source, rest)? {
                        StreamRef::List(value) => Ok(value),
                        StreamRef::Pending(_) => {
                            Err(self.unsupported("a stream used as a value", file, expr.span))
                        }
                    };
                }
                let args = args
                    .into_iter()
                    .map(|a| self.lower_expr(file, a))
                    .collect::<Result<Vec<_>, _>>()?;
                let first = args.first().map(|a| a.ty.clone());
                let op = builtin(&name, first.as_ref()).ok_or_else(|| {
                    self.unsupported(&format!("the standard function `{name}`"), file, expr.span)
                })?;
                let ty = self.type_at(file, expr)?;
                let span = self.span(file, expr.span);
                Ok(Expr {
                    kind: ExprKind::Builtin { op, args, span },
                    ty,
                })
            }
            DefKind::ExternFn => {
                let function = *self
                    .externs
                    .get(&def)
                    .ok_or_else(|| CodegenError::Internal("unknown extern fn".into()))?;
                let params: Vec<String> = self
                    .job
                    .externs
                    .get(function.0 as usize)
                    .map(|f| f.params.iter().map(|(n, _)| n.clone()).collect())
                    .unwrap_or_default();
                let args = self.positional(file, expr.span, &params, &args)?;
                let args = args
                    .into_iter()
                    .map(|a| self.lower_expr(file, a))
                    .collect::<Result<Vec<_>, _>>()?;
                let ty = self.type_at(file, expr)?;
                let span = self.span(file, expr.span);
                Ok(Expr {
                    kind: ExprKind::ExternCall {
                        function,
                        args,
                        span,
                    },
                    ty,
                })
            }
            _ => Err(self.unsupported("this call", file, expr.span)),
        }
    }
}

/// The result type of a builtin applied to arguments of these types, for
/// standard functions passed by name.
fn builtin_result(op: Builtin, args: &[IrType]) -> Option<IrType> {
    let first = args.first()?.clone();
    Some(match op {
        Builtin::Abs | Builtin::Min2 | Builtin::Max2 => first,
        Builtin::Sqrt | Builtin::Pow | Builtin::Exp | Builtin::Ln | Builtin::ToFloat => {
            IrType::Float
        }
        Builtin::Rand | Builtin::ParseFloat => IrType::Float,
        Builtin::Floor
        | Builtin::Ceil
        | Builtin::Round
        | Builtin::ToInt
        | Builtin::Hash
        | Builtin::StrLen
        | Builtin::ListLen
        | Builtin::ParseInt => IrType::Int,
        Builtin::Lower
        | Builtin::Upper
        | Builtin::Trim
        | Builtin::Join
        | Builtin::Replace
        | Builtin::Substr
        | Builtin::Str => IrType::Str,
        Builtin::Words | Builtin::Split => IrType::List(Box::new(IrType::Str)),
        Builtin::Contains | Builtin::StartsWith | Builtin::EndsWith | Builtin::Matches => {
            IrType::Bool
        }
        Builtin::Get => first.element()?.clone(),
    })
}
