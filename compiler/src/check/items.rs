//! Items: collecting names, record types, params, inputs, functions,
//! `let`s and outputs of one job, then assembling its [`Job`].

use flow_lang::ast::{Expr, ExprKind, FnDecl, InputDecl, Item, ItemKind, ParamDecl, UnaryOp};
use flow_lang::{FileId, Span};

use super::{Checker, Global, RecordEntry, ValueEntry, ValueState};
use crate::codes;
use crate::program::{
    DefKind, ExternInfo, FnInfo, InputInfo, Job, LetInfo, Literal, OutputFormat, OutputInfo,
    ParamInfo, RecordType, SourceKind, SubmitValue,
};
use crate::std_decls::Signature;
use crate::types::Ty;

pub(super) fn check_job<'a>(c: &mut Checker<'a>) {
    let modules = c.modules;
    let files: Vec<FileId> = c.job.files.clone();
    let items: Vec<(FileId, &Item)> = files
        .iter()
        .filter_map(|f| modules.get(f).map(|m| (*f, m)))
        .flat_map(|(f, m)| m.items.iter().map(move |i| (f, i)))
        .collect();

    collect_names(c, &items);
    let records = build_records(c, &items);
    let params = check_params(c, &items);
    let (fns, externs) = build_signatures(c, &items);
    let inputs = check_inputs(c, &items);
    check_fn_bodies(c, &items);

    // Lets and outputs, each checked on first use; the rest in order here.
    for index in 0..c.values.len() {
        c.value_type(index);
    }
    let mut outputs = Vec::new();
    for index in 0..c.values.len() {
        if c.values[index].is_output
            && let Some(info) = check_output(c, index)
        {
            outputs.push(info);
        }
    }

    let policies: Vec<(FileId, &Item)> = items
        .iter()
        .filter(|(_, i)| matches!(i.kind, ItemKind::Policy(_)))
        .copied()
        .collect();
    let mut policy = crate::policy::CheckedPolicy::default();
    if let Some((file, item)) = policies.first()
        && let ItemKind::Policy(p) = &item.kind
    {
        c.file = *file;
        policy = c.check_policy(p);
    }
    if let Some((first_file, first)) = policies.first() {
        for (file, item) in policies.iter().skip(1) {
            c.file = *file;
            let first_label = flow_lang::Label::new(*first_file, first.span, "the first policy");
            c.error(
                codes::SECOND_POLICY,
                "a job has at most one policy",
                item.span,
                "second policy",
            )
            .secondary
            .push(first_label);
        }
    }

    let root = c.job.root;
    let root_items = modules
        .get(&root)
        .map(|m| m.items.as_slice())
        .unwrap_or(&[]);
    let is_library = root_items.iter().all(|i| {
        matches!(
            i.kind,
            ItemKind::Import(_) | ItemKind::Type(_) | ItemKind::Fn(_) | ItemKind::Extern(_)
        )
    });
    if !is_library
        && outputs.is_empty()
        && !items
            .iter()
            .any(|(_, i)| matches!(i.kind, ItemKind::Output(_)))
    {
        c.file = root;
        c.error(
            codes::NO_OUTPUT,
            "this job has no output",
            Span::new(0, 0),
            "in this file",
        )
        .help = Some("add an output, such as `output total = rows |> count()`".into());
    }

    // Resolve every recorded type now that inference is complete.
    for (file, span, ty) in std::mem::take(&mut c.pending_types) {
        let ty = c.infer.resolve(&ty);
        c.program.expr_types.insert((file, span), ty);
    }
    for (def, ty) in std::mem::take(&mut c.pending_details) {
        let ty = c.infer.resolve(&ty);
        if let Some(d) = c.program.definitions.get_mut(def.0 as usize) {
            d.detail = ty.to_string();
        }
    }

    let lets = c
        .value_order
        .clone()
        .into_iter()
        .filter(|i| !c.values[*i].is_output)
        .map(|i| {
            let entry = &c.values[i];
            let ty = match &entry.state {
                ValueState::Done(ty) => c.infer.resolve(ty),
                _ => Ty::Error,
            };
            LetInfo {
                name: entry.name.name.clone(),
                ty,
                file: entry.file,
                def: entry.def,
            }
        })
        .collect();
    let job = Job {
        root,
        files,
        is_library,
        records,
        params,
        inputs: inputs
            .into_iter()
            .map(|mut i| {
                i.element = c.infer.resolve(&i.element);
                i
            })
            .collect(),
        fns,
        externs,
        lets,
        outputs,
        policy,
    };
    c.program.jobs.push(job);
}

/// Registers every named item; reports duplicates and items an imported
/// file may not hold.
fn collect_names<'a>(c: &mut Checker<'a>, items: &[(FileId, &'a Item)]) {
    let mut first_seen: std::collections::HashMap<String, (FileId, Span)> =
        std::collections::HashMap::new();
    for (file, item) in items {
        c.file = *file;
        if *file != c.job.root
            && !matches!(
                item.kind,
                ItemKind::Import(_) | ItemKind::Type(_) | ItemKind::Fn(_) | ItemKind::Extern(_)
            )
        {
            c.error(
                codes::NOT_IN_LIBRARY,
                "an imported file may declare only types and functions",
                item.span,
                "not allowed in an imported file",
            )
            .help = Some("move this item into the job's own file".into());
            continue;
        }
        let Some(name) = item.kind.name() else {
            continue;
        };
        if let Some((first_file, first_span)) = first_seen.get(&name.name).copied() {
            c.error(
                codes::DUPLICATE_NAME,
                format!("`{}` is defined more than once", name.name),
                name.span,
                "defined again here",
            )
            .secondary
            .push(flow_lang::Label::new(
                first_file,
                first_span,
                "first defined here",
            ));
            continue;
        }
        first_seen.insert(name.name.clone(), (*file, name.span));
        let docs = item.docs.clone();
        let (kind, global) = match &item.kind {
            ItemKind::Type(_) => (DefKind::Type, None),
            ItemKind::Param(_) => (DefKind::Param, None),
            ItemKind::Input(_) => (DefKind::Input, None),
            ItemKind::Fn(_) => (DefKind::Fn, None),
            ItemKind::Extern(_) => (DefKind::ExternFn, None),
            ItemKind::Let(d) => (DefKind::Let, Some((&d.ty, &d.value, None))),
            ItemKind::Output(d) => (DefKind::Output, Some((&None, &d.value, d.to.as_ref()))),
            ItemKind::Import(_) | ItemKind::Policy(_) => continue,
        };
        let def = c.define(
            &name.name,
            kind,
            name.span,
            item.span,
            docs,
            String::new(),
            None,
        );
        if let Some(std_ids) = c.std.by_name.get(&name.name)
            && let Some(first) = std_ids.first()
        {
            c.program
                .shadowing
                .push((def, crate::program::DefId(*first as u32)));
        }
        let entry = match (kind, global) {
            (DefKind::Type, _) => Global::Type(def),
            (DefKind::Param, _) => Global::Param { def, ty: Ty::Error },
            (DefKind::Input, _) => Global::Input { def, ty: Ty::Error },
            (DefKind::Fn | DefKind::ExternFn, _) => Global::Fn {
                def,
                index: usize::MAX,
            },
            (_, Some((annotation, value, to))) => {
                let index = c.values.len();
                c.values.push(ValueEntry {
                    file: *file,
                    name,
                    annotation: annotation.as_ref(),
                    value,
                    is_output: kind == DefKind::Output,
                    to,
                    def,
                    state: ValueState::Todo,
                });
                Global::Value { def, index }
            }
            _ => continue,
        };
        c.globals.insert(name.name.clone(), entry);
    }
}

fn build_records<'a>(c: &mut Checker<'a>, items: &[(FileId, &'a Item)]) -> Vec<RecordType> {
    // First make every record name known, so fields may name each other.
    for (_, item) in items {
        if let ItemKind::Type(decl) = &item.kind
            && let Some(Global::Type(def)) = c.globals.get(&decl.name.name)
        {
            let def = *def;
            c.records
                .entry(decl.name.name.clone())
                .or_insert(RecordEntry {
                    def,
                    fields: Vec::new(),
                });
        }
    }
    let mut out = Vec::new();
    for (file, item) in items {
        let ItemKind::Type(decl) = &item.kind else {
            continue;
        };
        let Some(Global::Type(def)) = c.globals.get(&decl.name.name).cloned() else {
            continue;
        };
        if c.program.definitions[def.0 as usize].span != decl.name.span {
            continue;
        }
        c.file = *file;
        let mut fields: Vec<(String, Ty, crate::program::DefId, Span)> = Vec::new();
        for field in &decl.fields {
            let ty = c.lower_type(&field.ty);
            if let Some((_, _, _, first)) = fields.iter().find(|f| f.0 == field.name.name) {
                let first = *first;
                let label = c.label(first, "first declared here");
                c.error(
                    codes::DUPLICATE_MEMBER,
                    format!("field `{}` is declared twice", field.name.name),
                    field.name.span,
                    "declared again here",
                )
                .secondary
                .push(label);
                continue;
            }
            let field_def = c.define(
                &field.name.name,
                DefKind::Field,
                field.name.span,
                field.name.span.to(field.ty.span),
                None,
                ty.to_string(),
                None,
            );
            fields.push((field.name.name.clone(), ty, field_def, field.name.span));
        }
        let detail = format!(
            "type {} = {{ {} }}",
            decl.name.name,
            fields
                .iter()
                .map(|(n, t, _, _)| format!("{n}: {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        c.program.definitions[def.0 as usize].detail = detail;
        if let Some(entry) = c.records.get_mut(&decl.name.name) {
            entry.fields = fields.clone();
        }
        out.push(RecordType {
            name: decl.name.name.clone(),
            fields: fields.into_iter().map(|(n, t, _, _)| (n, t)).collect(),
            def,
        });
    }
    // A record that contains itself other than through a list has no finite
    // value.
    for record in &out {
        if contains_record(
            c,
            &Ty::Record(record.name.clone()),
            &record.name,
            &mut Vec::new(),
            true,
        ) {
            let def = &c.program.definitions[record.def.0 as usize];
            let (file, span) = (def.file, def.span);
            c.file = file;
            c.error(
                codes::RECURSIVE_RECORD,
                format!("record `{}` contains itself", record.name),
                span,
                "recursive record",
            )
            .help = Some("hold the nested values in a list `[T]`, which may be empty".into());
        }
    }
    out
}

fn contains_record(
    c: &Checker<'_>,
    ty: &Ty,
    target: &str,
    visiting: &mut Vec<String>,
    top: bool,
) -> bool {
    match ty {
        Ty::Record(name) => {
            if !top && name == target {
                return true;
            }
            if visiting.contains(name) {
                return false;
            }
            visiting.push(name.clone());
            let fields = c
                .records
                .get(name)
                .map(|r| r.fields.clone())
                .unwrap_or_default();
            fields
                .iter()
                .any(|(_, t, _, _)| contains_record(c, t, target, visiting, false))
        }
        Ty::Tuple(ts) => ts
            .iter()
            .any(|t| contains_record(c, t, target, visiting, false)),
        _ => false,
    }
}

/// The value of a literal (possibly negated) and its type.
pub(super) fn literal_value(expr: &Expr) -> Option<(Literal, Ty)> {
    match &expr.kind {
        ExprKind::Int(v) => Some((Literal::Int(*v), Ty::Int)),
        ExprKind::Size { bytes, .. } => Some((Literal::Int(*bytes), Ty::Int)),
        ExprKind::Float(v) => Some((Literal::Float(*v), Ty::Float)),
        ExprKind::Bool(v) => Some((Literal::Bool(*v), Ty::Bool)),
        ExprKind::Str(v) => Some((Literal::Str(v.clone()), Ty::Str)),
        ExprKind::Paren(inner) => literal_value(inner),
        ExprKind::Unary {
            op: UnaryOp::Neg,
            operand,
            ..
        } => match literal_value(operand)? {
            (Literal::Int(v), Ty::Int) => Some((Literal::Int(v.checked_neg()?), Ty::Int)),
            (Literal::Float(v), Ty::Float) => Some((Literal::Float(-v), Ty::Float)),
            _ => None,
        },
        _ => None,
    }
}

fn check_params<'a>(c: &mut Checker<'a>, items: &[(FileId, &'a Item)]) -> Vec<ParamInfo> {
    let mut out = Vec::new();
    for (file, item) in items {
        let ItemKind::Param(decl) = &item.kind else {
            continue;
        };
        let Some(Global::Param { def, .. }) = c.globals.get(&decl.name.name).cloned() else {
            continue;
        };
        if c.program.definitions[def.0 as usize].span != decl.name.span {
            continue;
        }
        c.file = *file;
        let (ty, default) = check_param(c, decl);
        c.record_param(&decl.name.name, def, &ty);
        out.push(ParamInfo {
            name: decl.name.name.clone(),
            ty,
            default,
            def,
        });
    }
    out
}

fn check_param<'a>(c: &mut Checker<'a>, decl: &ParamDecl) -> (Ty, Option<Literal>) {
    let declared = decl.ty.as_ref().map(|te| {
        let ty = c.lower_type(te);
        if !ty.is_scalar() && !ty.is_error() {
            c.error(
                codes::PARAM_TYPE,
                format!("a param cannot have type `{ty}`"),
                te.span,
                "not int, float, bool or str",
            )
            .help = Some(
                "params are given on the command line: use `int`, `float`, `bool` or `str`".into(),
            );
            return Ty::Error;
        }
        ty
    });
    let default = match &decl.default {
        Some(expr) => match literal_value(expr) {
            Some((value, ty)) => {
                c.record_type(expr.span, &ty);
                if let Some(declared) = &declared
                    && !c.expect(&ty, declared, expr.span)
                {
                    return (declared.clone(), None);
                }
                Some((value, ty))
            }
            None => {
                c.error(
                    codes::PARAM_DEFAULT_NOT_LITERAL,
                    "a param's default must be a literal",
                    expr.span,
                    "not a literal",
                )
                .help = Some(
                    "write the value itself, such as `100`, `0.5`, `true` or `\"text\"`".into(),
                );
                return (declared.unwrap_or(Ty::Error), None);
            }
        },
        None => None,
    };
    match (declared, default) {
        (Some(ty), default) => (ty, default.map(|(v, _)| v)),
        (None, Some((value, ty))) => (ty, Some(value)),
        (None, None) => {
            c.error(
                codes::PARAM_UNTYPED,
                format!(
                    "param `{}` has neither a type nor a default",
                    decl.name.name
                ),
                decl.name.span,
                "type unknown",
            )
            .help = Some(format!(
                "write its type, such as `param {}: int`",
                decl.name.name
            ));
            (Ty::Error, None)
        }
    }
}

impl Checker<'_> {
    fn record_param(&mut self, name: &str, def: crate::program::DefId, ty: &Ty) {
        self.program.definitions[def.0 as usize].detail = ty.to_string();
        if let Some(Global::Param { ty: slot, .. }) = self.globals.get_mut(name) {
            *slot = ty.clone();
        }
    }
}

/// Builds the signatures of user `fn`s and `extern fn`s.
fn build_signatures<'a>(
    c: &mut Checker<'a>,
    items: &[(FileId, &'a Item)],
) -> (Vec<FnInfo>, Vec<ExternInfo>) {
    let mut fns = Vec::new();
    let mut externs = Vec::new();
    for (file, item) in items {
        let (name, params, ret, is_extern) = match &item.kind {
            ItemKind::Fn(f) => (&f.name, &f.params, &f.ret, false),
            ItemKind::Extern(f) => (&f.name, &f.params, &f.ret, true),
            _ => continue,
        };
        let Some(Global::Fn { def, .. }) = c.globals.get(&name.name).cloned() else {
            continue;
        };
        if c.program.definitions[def.0 as usize].span != name.span {
            continue;
        }
        c.file = *file;
        c.rejected_generics.clear();
        if let ItemKind::Fn(f) = &item.kind {
            // The generic names were reported once (E0107); their uses in the
            // signature are not unknown types on top of that.
            c.rejected_generics = f.generics.iter().map(|g| g.name.name.clone()).collect();
            if let Some(first) = f.generics.first() {
                let span = first.name.span.to(f
                    .generics
                    .last()
                    .map(|g| g.name.span)
                    .unwrap_or(first.name.span));
                c.error(
                    codes::GENERICS_OUTSIDE_STD,
                    "generic parameters can only be declared in the standard library",
                    span,
                    "generic parameters",
                )
                .help = Some("write the concrete types of the parameters".into());
            }
            if f.body.is_none() {
                c.error(
                    codes::MISSING_BODY,
                    format!("function `{}` has no body", name.name),
                    name.span,
                    "no `= expression`",
                )
                .help = Some("write its body after `=`; to call WebAssembly, declare an `extern fn … from \"tool.wasm\"`".into());
            }
        }
        let mut sig_params: Vec<(String, Ty)> = Vec::new();
        for p in params.iter() {
            let ty = match &p.ty {
                Some(te) => c.lower_type(te),
                None => {
                    c.error(
                        codes::MISSING_ANNOTATION,
                        format!("parameter `{}` needs a type", p.name.name),
                        p.name.span,
                        "no type",
                    )
                    .help = Some(format!(
                        "write `{}: type`; function parameters are always annotated",
                        p.name.name
                    ));
                    Ty::Error
                }
            };
            if let Some((_, _)) = sig_params.iter().find(|(n, _)| *n == p.name.name) {
                c.error(
                    codes::DUPLICATE_MEMBER,
                    format!("parameter `{}` is declared twice", p.name.name),
                    p.name.span,
                    "declared again here",
                );
            }
            if is_extern && !ty.is_scalar() && !ty.is_error() {
                c.error(
                    codes::EXTERN_NOT_SCALAR,
                    format!("an extern fn cannot take `{ty}`"),
                    p.span,
                    "not int, float, bool or str",
                )
                .help =
                    Some("WebAssembly tools exchange `int`, `float`, `bool` and `str` only".into());
            }
            sig_params.push((p.name.name.clone(), ty));
        }
        let ret_ty = match ret {
            Some(te) => {
                let ty = c.lower_type(te);
                if is_extern && !ty.is_scalar() && !ty.is_error() {
                    c.error(
                        codes::EXTERN_NOT_SCALAR,
                        format!("an extern fn cannot return `{ty}`"),
                        te.span,
                        "not int, float, bool or str",
                    )
                    .help = Some(
                        "WebAssembly tools exchange `int`, `float`, `bool` and `str` only".into(),
                    );
                }
                ty
            }
            None => {
                c.error(
                    codes::MISSING_ANNOTATION,
                    format!("function `{}` needs a return type", name.name),
                    name.span,
                    "no return type",
                )
                .help = Some("write `-> type` after the parameters".into());
                Ty::Error
            }
        };
        c.rejected_generics.clear();
        let sig = Signature {
            name: name.name.clone(),
            generics: Vec::new(),
            params: sig_params.clone(),
            ret: ret_ty.clone(),
        };
        let mut detail = sig.display();
        if let ItemKind::Extern(f) = &item.kind {
            detail = format!("extern {detail} from \"{}\"", f.module.value);
            if !f.module.value.ends_with(".wasm") {
                c.error(
                    codes::EXTERN_PATH,
                    format!("`{}` is not a `.wasm` file", f.module.value),
                    f.module.span,
                    "expected a path ending in `.wasm`",
                )
                .help = Some("name the WebAssembly module that exports the function, such as `\"tools/score.wasm\"`".into());
            }
            externs.push(ExternInfo {
                name: name.name.clone(),
                params: sig_params,
                ret: ret_ty,
                module: f.module.value.clone(),
                file: *file,
                def,
            });
        } else {
            fns.push(FnInfo {
                name: name.name.clone(),
                params: sig_params,
                ret: ret_ty,
                file: *file,
                def,
            });
        }
        c.program.definitions[def.0 as usize].detail = detail;
        let index = c.user_sigs.len();
        c.user_sigs.push(sig);
        c.globals
            .insert(name.name.clone(), Global::Fn { def, index });
    }
    (fns, externs)
}

fn check_fn_bodies<'a>(c: &mut Checker<'a>, items: &[(FileId, &'a Item)]) {
    for (file, item) in items {
        let ItemKind::Fn(f) = &item.kind else {
            continue;
        };
        let Some(Global::Fn { def, index }) = c.globals.get(&f.name.name).cloned() else {
            continue;
        };
        if c.program.definitions[def.0 as usize].span != f.name.span {
            continue;
        }
        c.file = *file;
        check_fn_body(c, f, index);
    }
}

fn check_fn_body<'a>(c: &mut Checker<'a>, f: &'a FnDecl, index: usize) {
    let Some(body) = &f.body else { return };
    let Some(sig) = c.user_sigs.get(index).cloned() else {
        return;
    };
    c.scopes.push(Vec::new());
    c.in_fn_body = true;
    for (p, (_, ty)) in f.params.iter().zip(sig.params.iter()) {
        let def = c.define(
            &p.name.name,
            DefKind::FnParam,
            p.name.span,
            p.span,
            None,
            ty.to_string(),
            Some(body.span),
        );
        c.bind_local(&p.name, def, ty.clone());
    }
    c.check_expr(body, Some(&sig.ret));
    c.in_fn_body = false;
    c.scopes.pop();
}

fn source_kind(name: &str) -> Option<SourceKind> {
    match name {
        "lines" => Some(SourceKind::Lines),
        "csv" => Some(SourceKind::Csv),
        "jsonl" => Some(SourceKind::Jsonl),
        "files" => Some(SourceKind::Files),
        "range" => Some(SourceKind::Range),
        _ => None,
    }
}

fn check_inputs<'a>(c: &mut Checker<'a>, items: &[(FileId, &'a Item)]) -> Vec<InputInfo> {
    let mut out = Vec::new();
    for (file, item) in items {
        let ItemKind::Input(decl) = &item.kind else {
            continue;
        };
        let Some(Global::Input { def, .. }) = c.globals.get(&decl.name.name).cloned() else {
            continue;
        };
        if c.program.definitions[def.0 as usize].span != decl.name.span {
            continue;
        }
        c.file = *file;
        let info = check_input(c, decl, def, *file);
        let element = info
            .as_ref()
            .map(|i| i.element.clone())
            .unwrap_or(Ty::Error);
        let ty = Ty::Stream(Box::new(element));
        c.program.definitions[def.0 as usize].detail = c.infer.resolve(&ty).to_string();
        if let Some(Global::Input { ty: slot, .. }) = c.globals.get_mut(&decl.name.name) {
            *slot = ty;
        }
        out.extend(info);
    }
    out
}

fn check_input<'a>(
    c: &mut Checker<'a>,
    decl: &'a InputDecl,
    def: crate::program::DefId,
    file: FileId,
) -> Option<InputInfo> {
    let annotation = decl.ty.as_ref().map(|te| (c.lower_type(te), te.span));
    let call = match &decl.source.kind {
        ExprKind::Call { callee, args } => match &callee.kind {
            ExprKind::Name(name) => source_kind(&name.name).map(|kind| (kind, name, args)),
            _ => None,
        },
        _ => None,
    };
    let Some((kind, callee_name, args)) = call else {
        if !matches!(decl.source.kind, ExprKind::Error) {
            c.error(
                codes::UNKNOWN_SOURCE,
                "an input reads from `lines`, `csv`, `jsonl`, `files` or `range`",
                decl.source.span,
                "not an input source",
            )
            .help = Some("for example `input corpus = lines(\"data/*.txt\")`".into());
        }
        return None;
    };
    let needs_record = matches!(kind, SourceKind::Csv | SourceKind::Jsonl);
    let mut expected = None;
    if needs_record {
        match &annotation {
            Some((Ty::Record(name), span)) => {
                if kind == SourceKind::Csv {
                    let fields = c
                        .records
                        .get(name)
                        .map(|r| r.fields.clone())
                        .unwrap_or_default();
                    for (field, ty, _, field_span) in fields {
                        if !ty.is_scalar() && !ty.is_error() {
                            let label = c.label(field_span, format!("`{field}` is `{ty}`"));
                            c.error(
                                codes::CSV_FIELD_NOT_SCALAR,
                                format!("CSV field `{field}` of `{name}` must be a scalar, not `{ty}`"),
                                *span,
                                "read from CSV here",
                            )
                            .with_secondary_mut(label)
                            .help = Some("CSV cells hold `int`, `float`, `bool` or `str`; use `jsonl` for nested values".into());
                        }
                    }
                }
                expected = Some(Ty::Stream(Box::new(Ty::Record(name.clone()))));
            }
            Some((Ty::Error, _)) => expected = Some(Ty::Stream(Box::new(Ty::Error))),
            Some((other, span)) => {
                c.error(
                    codes::RECORD_ANNOTATION_REQUIRED,
                    format!(
                        "`{}` reads records, but `{other}` is not a record type",
                        callee_name.name
                    ),
                    *span,
                    "not a record type",
                )
                .help = Some(
                    "declare `type Row = { field: type, … }` and write `input name: Row = …`"
                        .into(),
                );
                expected = Some(Ty::Stream(Box::new(Ty::Error)));
            }
            None => {
                c.error(
                    codes::RECORD_ANNOTATION_REQUIRED,
                    format!(
                        "`{}` needs the record type of its elements",
                        callee_name.name
                    ),
                    decl.name.span,
                    "element type unknown",
                )
                .help = Some(format!(
                    "declare `type Row = {{ … }}` and write `input {}: Row = {}(…)`",
                    decl.name.name, callee_name.name
                ));
                expected = Some(Ty::Stream(Box::new(Ty::Error)));
            }
        }
    }
    let arg_refs: Vec<super::expr::ArgIn<'_>> = args
        .iter()
        .map(|a| super::expr::ArgIn {
            name: a.name.as_ref(),
            expr: &a.value,
        })
        .collect();
    let source_ty = c.call_named(decl.source.span, callee_name, arg_refs, true);
    if let Some(expected) = &expected {
        let _ = c.infer.unify(expected, &source_ty);
    } else if let Some((ann, span)) = &annotation {
        let wanted = Ty::Stream(Box::new(ann.clone()));
        if c.infer.unify(&wanted, &source_ty).is_err() {
            let found = c.infer.resolve(&source_ty);
            let element = match &found {
                Ty::Stream(e) => e.to_string(),
                other => other.to_string(),
            };
            c.error(
                codes::INPUT_ANNOTATION_MISMATCH,
                format!(
                    "`{}` gives `{element}` elements, not `{ann}`",
                    callee_name.name
                ),
                *span,
                format!("`{element}` expected"),
            )
            .help = Some("remove the annotation or make it match the source".into());
        }
    }
    c.record_type(decl.source.span, &source_ty);
    let mut submit = Vec::new();
    for arg in args {
        submit.push(submit_value(c, &arg.value, kind == SourceKind::Range));
    }
    let element = match c.infer.resolve(&source_ty) {
        Ty::Stream(e) => *e,
        _ => Ty::Error,
    };
    Some(InputInfo {
        name: decl.name.name.clone(),
        source: kind,
        element,
        args: submit,
        file,
        def,
    })
}

/// Checks that an input's argument is known when the job is submitted.
fn submit_value<'a>(c: &mut Checker<'a>, expr: &Expr, expressions_allowed: bool) -> SubmitValue {
    if let Some((value, _)) = literal_value(expr) {
        return SubmitValue::Literal(value);
    }
    if let ExprKind::Name(name) = &expr.kind
        && let Some(Global::Param { .. }) = c.globals.get(&name.name)
    {
        return SubmitValue::Param(name.name.clone());
    }
    if expressions_allowed && only_literals_and_params(c, expr) {
        return SubmitValue::Expr(expr.span);
    }
    let what = if expressions_allowed {
        "an expression over literals and params"
    } else {
        "a string literal or a `str` param"
    };
    c.error(
        codes::NOT_SUBMIT_CONSTANT,
        format!("this must be known when the job starts: {what}"),
        expr.span,
        "computed while the job runs",
    )
    .help = Some("inputs are opened before any work starts; use a literal or a `param`".into());
    SubmitValue::Expr(expr.span)
}

fn only_literals_and_params(c: &Checker<'_>, expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Str(_)
        | ExprKind::Bool(_)
        | ExprKind::Size { .. }
        | ExprKind::Error => true,
        ExprKind::Name(name) => matches!(c.globals.get(&name.name), Some(Global::Param { .. })),
        ExprKind::Paren(inner) => only_literals_and_params(c, inner),
        ExprKind::Unary { operand, .. } => only_literals_and_params(c, operand),
        ExprKind::Binary { op, lhs, rhs, .. } => {
            *op != flow_lang::ast::BinaryOp::Pipe
                && only_literals_and_params(c, lhs)
                && only_literals_and_params(c, rhs)
        }
        _ => false,
    }
}

trait SecondaryMut {
    fn with_secondary_mut(&mut self, label: flow_lang::Label) -> &mut Self;
}

impl SecondaryMut for flow_lang::Diagnostic {
    fn with_secondary_mut(&mut self, label: flow_lang::Label) -> &mut Self {
        self.secondary.push(label);
        self
    }
}

impl Checker<'_> {
    /// The type of the `let` or `output` number `index`, checking it first if
    /// needed; a `let` met again while being checked closes a cycle.
    pub(super) fn value_type(&mut self, index: usize) -> Ty {
        let Some(entry) = self.values.get(index) else {
            return Ty::Error;
        };
        match &entry.state {
            ValueState::Done(ty) => return ty.clone(),
            ValueState::Active => {
                let pos = self
                    .value_stack
                    .iter()
                    .position(|i| *i == index)
                    .unwrap_or(0);
                let cycle: Vec<usize> = self.value_stack[pos..].to_vec();
                let mut names: Vec<String> = cycle
                    .iter()
                    .map(|i| self.values[*i].name.name.clone())
                    .collect();
                names.push(self.values[index].name.name.clone());
                let first = &self.values[index];
                let (file, span) = (first.file, first.name.span);
                let secondary: Vec<flow_lang::Label> = cycle
                    .iter()
                    .skip(1)
                    .map(|i| {
                        let e = &self.values[*i];
                        flow_lang::Label::new(
                            e.file,
                            e.name.span,
                            format!("`{}` is part of the cycle", e.name.name),
                        )
                    })
                    .collect();
                let saved = self.file;
                self.file = file;
                let d = self.error(
                    codes::LET_CYCLE,
                    format!("`{}` depends on itself: {}", names[0], names.join(" → ")),
                    span,
                    "defined in terms of itself",
                );
                d.secondary.extend(secondary);
                d.help = Some("break the cycle: a value cannot be computed from itself".into());
                self.file = saved;
                return Ty::Error;
            }
            ValueState::Todo => {}
        }
        self.values[index].state = ValueState::Active;
        self.value_stack.push(index);
        let saved_file = self.file;
        let saved_scopes = std::mem::take(&mut self.scopes);
        let saved = (self.lambda_depth, self.in_fn_body, self.in_policy);
        self.lambda_depth = 0;
        self.in_fn_body = false;
        self.in_policy = false;
        let (file, annotation, value, def, name) = {
            let e = &self.values[index];
            (e.file, e.annotation, e.value, e.def, e.name)
        };
        self.file = file;
        let expected = annotation.map(|te| self.lower_type(te));
        let mut ty = self.check_expr(value, expected.as_ref());
        if let Some(expected) = expected {
            ty = expected;
        }
        let resolved = self.infer.resolve(&ty);
        if resolved.contains_var() && !resolved.contains_error() {
            self.error(
                codes::CANNOT_INFER,
                format!("cannot infer the type of `{}`: `{resolved}`", name.name),
                name.span,
                "type not fully known",
            )
            .help = Some(format!(
                "annotate it, such as `let {}: [int] = …`",
                name.name
            ));
        }
        self.program.definitions[def.0 as usize].detail = resolved.to_string();
        self.file = saved_file;
        self.scopes = saved_scopes;
        (self.lambda_depth, self.in_fn_body, self.in_policy) = saved;
        self.value_stack.pop();
        self.values[index].state = ValueState::Done(ty.clone());
        self.value_order.push(index);
        ty
    }
}

fn check_output<'a>(c: &mut Checker<'a>, index: usize) -> Option<OutputInfo> {
    let ty = c.value_type(index);
    let ty = c.infer.resolve(&ty);
    let entry = &c.values[index];
    let (file, name, def, to, value_span) = (
        entry.file,
        entry.name,
        entry.def,
        entry.to,
        entry.value.span,
    );
    c.file = file;
    if matches!(ty, Ty::Fn(..)) {
        c.error(
            codes::FN_OUTPUT,
            format!(
                "output `{}` is a function, which cannot be printed or written",
                name.name
            ),
            value_span,
            format!("`{ty}`"),
        )
        .help = Some("call the function: write `f(x)` rather than `f`".into());
    }
    let mut target = None;
    if let Some(to) = to {
        let format = if to.value.ends_with(".csv") {
            Some(OutputFormat::Csv)
        } else if to.value.ends_with(".jsonl") {
            Some(OutputFormat::Jsonl)
        } else if to.value.ends_with(".json") {
            Some(OutputFormat::Json)
        } else {
            None
        };
        match format {
            None => {
                c.error(
                    codes::OUTPUT_EXTENSION,
                    format!("cannot tell how to write `{}`", to.value),
                    to.span,
                    "unknown extension",
                )
                .help = Some("end the path with `.csv`, `.jsonl` or `.json`".into());
            }
            Some(format) => {
                check_output_shape(c, &ty, format, value_span, to.span);
                target = Some((to.value.clone(), format));
            }
        }
    }
    Some(OutputInfo {
        name: name.name.clone(),
        ty,
        to: target,
        file,
        def,
    })
}

fn check_output_shape<'a>(
    c: &mut Checker<'a>,
    ty: &Ty,
    format: OutputFormat,
    value_span: Span,
    to_span: Span,
) {
    if ty.contains_error() || format == OutputFormat::Json {
        return;
    }
    let element = match ty {
        Ty::List(e) | Ty::Stream(e) => Some(e.as_ref().clone()),
        _ => None,
    };
    let ok = match (format, &element) {
        (OutputFormat::Jsonl, Some(_)) => true,
        (OutputFormat::Csv, Some(e)) => match e {
            Ty::Record(name) => c
                .records
                .get(name)
                .is_some_and(|r| r.fields.iter().all(|f| f.1.is_scalar() || f.1.is_error())),
            Ty::Tuple(items) => items.iter().all(|t| t.is_scalar() || t.is_error()),
            other => other.is_scalar(),
        },
        _ => false,
    };
    if !ok {
        let (what, help) = match format {
            OutputFormat::Csv => (
                "a `.csv` output needs a list or stream of records, tuples or scalars whose fields are `int`, `float`, `bool` or `str`",
                "write it to `.jsonl` or `.json`, or map each element to a flat tuple or record",
            ),
            _ => (
                "a `.jsonl` output needs a list or stream (one element per line)",
                "write a single value to a `.json` file",
            ),
        };
        let label = c.label(to_span, "written here");
        c.error(
            codes::CSV_OUTPUT_SHAPE,
            format!("{what}, not `{ty}`"),
            value_span,
            format!("`{ty}`"),
        )
        .with_secondary_mut(label)
        .help = Some(help.into());
    }
}
