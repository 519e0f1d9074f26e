//! The canonical layout of a `.flow` file, printed by `flowc fmt`.
//!
//! [`format`] prints a parsed [`Module`] back as text. The rules:
//!
//! - Two spaces per indentation level; lines are kept within 80 columns
//!   where the layout allows it.
//! - One item per line group. A blank line between two items (or between
//!   comments at the top level or inside `policy`) is kept when the source had
//!   at least one there; runs of blank lines become one; none are added.
//! - A pipeline `a |> f |> g` stays on one line when it fits, otherwise every
//!   `|> stage` goes on its own line, indented under the head. Other chains of
//!   binary operators break the same way, with the operator starting the line.
//! - Calls, lists, tuples, parameter lists, record literals and record types
//!   stay on one line when they fit, otherwise they put one element per line
//!   with a trailing comma. `policy` puts one entry per line, with the `=` of
//!   its settings aligned.
//! - Literals are printed as the user spelled them (`1_000_000`, `0xff`,
//!   `2.5e3`, string escapes) because the syntax tree cannot reproduce that
//!   spelling; sizes get exactly one space before the unit (`4 MiB`) and
//!   durations none (`30s`). A literal's value never changes.
//! - Parentheses written in the source are kept; others are added only where
//!   the tree would otherwise print as a different tree.
//! - Every comment is kept, in its place: leading comments and doc comments
//!   on their own lines, end-of-line comments at the end of the same line.
//!   A comment inside an expression forces the groups around it to break so
//!   that the comment keeps a line of its own. Trailing spaces of comments
//!   are removed.
//! - Line endings are always `\n`, even when the source used `\r\n`, and the
//!   output ends with exactly one newline (an empty file stays empty).
//!
//! The formatter assumes the module parsed without errors (`flowc fmt`
//! refuses files with syntax errors); on a tree with error nodes it still
//! prints something and never panics, but the result is unspecified.

mod doc;

use crate::ast::{
    Arg, BinaryOp, BlockLet, Comment, Expr, ExprKind, Field, FieldInit, GenericParam, Item,
    ItemKind, Module, Param, PolicyEntry, StrLit, TypeExpr, TypeExprKind, UnaryOp,
};
use crate::span::Span;
use doc::{Doc, concat, group, indent, text};

/// The width the layout tries to stay within.
const WIDTH: usize = 80;

/// The canonical layout of a parsed module. `source` is the text it was
/// parsed from (used to find blank lines, to place comments and to reprint
/// literals as written).
pub fn format(module: &Module, source: &str) -> String {
    let mut comments: Vec<&Comment> = module.comments.iter().collect();
    comments.sort_by_key(|c| c.span.start);
    let mut formatter = Formatter {
        source,
        comments,
        next_comment: 0,
    };
    let doc = formatter.module(module);
    let printed = doc::print(&doc, WIDTH);
    let trimmed = printed.trim_end();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}\n")
    }
}

/// Builds the layout document of one module, consuming its comments in
/// source order as the printing reaches their positions.
struct Formatter<'a> {
    source: &'a str,
    comments: Vec<&'a Comment>,
    /// The first comment not printed yet.
    next_comment: usize,
}

impl<'a> Formatter<'a> {
    // ----- comments and source positions -------------------------------------

    /// The next unprinted comment if it starts before `pos`.
    fn peek_comment_before(&self, pos: usize) -> Option<&'a Comment> {
        self.comments
            .get(self.next_comment)
            .copied()
            .filter(|c| (c.span.start as usize) < pos)
    }

    /// Takes every unprinted comment that starts before `pos`.
    fn take_comments_before(&mut self, pos: usize) -> Vec<&'a Comment> {
        let mut taken = Vec::new();
        while let Some(comment) = self.peek_comment_before(pos) {
            taken.push(comment);
            self.next_comment += 1;
        }
        taken
    }

    /// The comment as it is printed: its source text without trailing
    /// spaces or carriage return.
    fn comment_text(&self, comment: &Comment) -> String {
        match self.source.get(comment.span.range()) {
            Some(slice) if slice.starts_with("//") => slice.trim_end().to_string(),
            _ => {
                let marker = match comment.kind {
                    crate::ast::CommentKind::Line => "//",
                    crate::ast::CommentKind::ItemDoc => "///",
                    crate::ast::CommentKind::FileDoc => "//!",
                };
                format!("{marker}{}", comment.text.trim_end())
            }
        }
    }

    /// Whether code precedes the comment on its line (an end-of-line
    /// comment), as opposed to a comment on a line of its own.
    fn is_trailing(&self, comment: &Comment) -> bool {
        let start = (comment.span.start as usize).min(self.source.len());
        let before = self.source.get(..start).unwrap_or("");
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        before
            .get(line_start..)
            .is_some_and(|line| !line.trim().is_empty())
    }

    /// Whether the source has an empty line between `pos` and the code or
    /// comment before it.
    fn blank_line_before(&self, pos: usize) -> bool {
        let before = self.source.get(..pos.min(self.source.len())).unwrap_or("");
        let mut newlines = 0;
        for ch in before.chars().rev() {
            match ch {
                '\n' => newlines += 1,
                ' ' | '\t' | '\r' => {}
                _ => break,
            }
        }
        newlines >= 2
    }

    /// An end-of-line comment that ends the current line before a break
    /// leading to the code at `pos`: printed after a space, and it forces the
    /// enclosing groups to take their breaks so that it stays last on its line.
    fn trailing_comment(&mut self, pos: usize) -> Doc {
        match self.peek_comment_before(pos) {
            Some(comment) if self.is_trailing(comment) => {
                self.next_comment += 1;
                concat(vec![
                    Doc::Gap,
                    text(self.comment_text(comment)),
                    Doc::BreakParent,
                ])
            }
            _ => concat(Vec::new()),
        }
    }

    /// Comments before `pos` printed on lines of their own, each followed by
    /// a newline; for use right after a break, just before the code at `pos`.
    fn leading_comments(&mut self, pos: usize) -> Vec<Doc> {
        let mut parts = Vec::new();
        for comment in self.take_comments_before(pos) {
            parts.push(text(self.comment_text(comment)));
            parts.push(Doc::HardLine);
        }
        parts
    }

    /// Comments before `pos` that no layout rule placed (they sit somewhere
    /// unusual, such as between a keyword and a name). They are printed where
    /// the printing is, each keeping a line of its own, so none is lost.
    fn stray_comments(&mut self, pos: usize) -> Vec<Doc> {
        let mut parts = Vec::new();
        for comment in self.take_comments_before(pos) {
            if self.is_trailing(comment) {
                parts.push(Doc::Gap);
                parts.push(text(self.comment_text(comment)));
            } else {
                parts.push(Doc::FreshLine);
                parts.push(text(self.comment_text(comment)));
            }
            parts.push(Doc::HardLine);
        }
        parts
    }

    /// The position of the closing bracket `close` that ends at `end`, or
    /// `end` itself when the byte before it is not that bracket.
    fn close_position(&self, end: usize, close: u8) -> usize {
        match end.checked_sub(1) {
            Some(before) if self.source.as_bytes().get(before) == Some(&close) => before,
            _ => end,
        }
    }

    /// The position of the first `wanted` byte at or after `pos`, skipping
    /// whitespace, comments and a trailing comma; `pos` when something else
    /// comes first.
    fn find_after(&self, pos: usize, wanted: u8) -> usize {
        let bytes = self.source.as_bytes();
        let mut i = pos;
        while let Some(&b) = bytes.get(i) {
            if b == wanted {
                return i;
            }
            if b.is_ascii_whitespace() || b == b',' {
                i += 1;
            } else if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
                while bytes.get(i).is_some_and(|&b| b != b'\n') {
                    i += 1;
                }
            } else {
                break;
            }
        }
        pos
    }

    // ----- module and items --------------------------------------------------

    fn module(&mut self, module: &Module) -> Doc {
        let mut parts = Vec::new();
        let mut first = true;
        for (index, item) in module.items.iter().enumerate() {
            let start = item.span.start as usize;
            for comment in self.take_comments_before(start) {
                self.line_break(&mut parts, &mut first, comment.span.start as usize);
                parts.push(text(self.comment_text(comment)));
            }
            self.line_break(&mut parts, &mut first, start);
            parts.push(self.item(item));
            let end = item.span.end as usize;
            let stray = self.stray_after_item(end);
            let had_stray = !stray.is_empty();
            parts.extend(stray);
            let next_start = module
                .items
                .get(index + 1)
                .map_or(self.source.len(), |next| next.span.start as usize);
            let trailing = self.trailing_comment(next_start);
            if had_stray && !is_empty(&trailing) {
                // The line already ends with a comment, so this one needs a
                // line of its own.
                parts.push(Doc::HardLine);
            }
            parts.push(trailing);
        }
        for comment in self.take_comments_before(usize::MAX) {
            self.line_break(&mut parts, &mut first, comment.span.start as usize);
            parts.push(text(self.comment_text(comment)));
        }
        parts.push(Doc::HardLine);
        concat(parts)
    }

    /// Comments inside an item's span that no layout rule placed: printed on
    /// lines of their own right after the item, so they stay with it.
    fn stray_after_item(&mut self, end: usize) -> Vec<Doc> {
        let mut parts = Vec::new();
        for comment in self.take_comments_before(end) {
            parts.push(Doc::HardLine);
            parts.push(text(self.comment_text(comment)));
        }
        parts
    }

    /// Ends the previous top-level line (keeping one blank line if the source
    /// had any before `pos`); nothing before the first line of the file.
    fn line_break(&self, parts: &mut Vec<Doc>, first: &mut bool, pos: usize) {
        if !*first {
            parts.push(Doc::HardLine);
            if self.blank_line_before(pos) {
                parts.push(Doc::HardLine);
            }
        }
        *first = false;
    }

    fn item(&mut self, item: &Item) -> Doc {
        let end = item.span.end as usize;
        match &item.kind {
            ItemKind::Import(import) => {
                let mut parts = vec![text("import ")];
                parts.extend(self.stray_comments(import.path.span.start as usize));
                parts.push(self.str_lit(&import.path));
                concat(parts)
            }
            ItemKind::Type(decl) => {
                let close = self.close_position(end, b'}');
                concat(vec![
                    text(format!("type {} =", decl.name.name)),
                    text(" "),
                    self.record_type(&decl.fields, close),
                ])
            }
            ItemKind::Param(decl) => {
                let mut parts = vec![text(format!("param {}", decl.name.name))];
                if let Some(ty) = &decl.ty {
                    parts.push(text(": "));
                    parts.push(self.type_expr(ty));
                }
                if let Some(default) = &decl.default {
                    parts.push(text(" ="));
                    parts.push(self.space_then(default));
                }
                concat(parts)
            }
            ItemKind::Input(decl) => {
                let mut parts = vec![text(format!("input {}", decl.name.name))];
                if let Some(ty) = &decl.ty {
                    parts.push(text(": "));
                    parts.push(self.type_expr(ty));
                }
                parts.push(text(" ="));
                parts.push(self.space_then(&decl.source));
                concat(parts)
            }
            ItemKind::Fn(decl) => {
                let mut parts = vec![text(format!("fn {}", decl.name.name))];
                parts.push(self.generics(&decl.generics));
                // The `(` of the parameters follows the name or the `>` that
                // closes the generic parameters.
                let after_header = match decl.generics.last() {
                    Some(last) => {
                        let end = last
                            .bound
                            .as_ref()
                            .map_or(last.name.span.end, |b| b.span.end);
                        self.find_after(end as usize, b'>') + 1
                    }
                    None => decl.name.span.end as usize,
                };
                parts.push(self.params(&decl.params, after_header));
                if let Some(ret) = &decl.ret {
                    parts.push(text(" -> "));
                    parts.push(self.type_expr(ret));
                }
                if let Some(body) = &decl.body {
                    parts.push(text(" ="));
                    parts.push(self.value_after_eq(body));
                }
                concat(parts)
            }
            ItemKind::Extern(decl) => {
                let mut parts = vec![text(format!("extern fn {}", decl.name.name))];
                parts.push(self.params(&decl.params, decl.name.span.end as usize));
                if let Some(ret) = &decl.ret {
                    parts.push(text(" -> "));
                    parts.push(self.type_expr(ret));
                }
                parts.push(text(" from "));
                parts.extend(self.stray_comments(decl.module.span.start as usize));
                parts.push(self.str_lit(&decl.module));
                concat(parts)
            }
            ItemKind::Let(decl) => {
                let mut parts = vec![text(format!("let {}", decl.name.name))];
                if let Some(ty) = &decl.ty {
                    parts.push(text(": "));
                    parts.push(self.type_expr(ty));
                }
                parts.push(text(" ="));
                parts.push(self.value_after_eq(&decl.value));
                concat(parts)
            }
            ItemKind::Output(decl) => {
                let mut parts = vec![
                    text(format!("output {} =", decl.name.name)),
                    self.value_after_eq(&decl.value),
                ];
                if let Some(to) = &decl.to {
                    parts.push(text(" to "));
                    parts.extend(self.stray_comments(to.span.start as usize));
                    parts.push(self.str_lit(to));
                }
                concat(parts)
            }
            ItemKind::Policy(policy) => {
                let close = self.close_position(end, b'}');
                self.policy(&policy.entries, close)
            }
        }
    }

    /// `policy { … }`: one entry per line, the `=` of settings aligned, blank
    /// lines between entries and comments kept (at most one).
    fn policy(&mut self, entries: &[PolicyEntry], close: usize) -> Doc {
        let key_width = entries
            .iter()
            .filter_map(|entry| match entry {
                PolicyEntry::Setting { key, .. } => Some(key.name.chars().count()),
                PolicyEntry::DelegateWhen { .. } => None,
            })
            .max()
            .unwrap_or(0);
        let mut inner = Vec::new();
        let first_pos = entries.first().map_or(close, entry_start);
        let opening_comment = self.trailing_comment(first_pos);
        let mut first = true;
        for entry in entries {
            let start = entry_start(entry);
            for comment in self.take_comments_before(start) {
                self.block_line_break(&mut inner, &mut first, comment.span.start as usize);
                inner.push(text(self.comment_text(comment)));
            }
            self.block_line_break(&mut inner, &mut first, start);
            match entry {
                PolicyEntry::Setting { key, value, .. } => {
                    let padding = key_width.saturating_sub(key.name.chars().count());
                    inner.push(text(format!("{}{} =", key.name, " ".repeat(padding))));
                    inner.push(self.space_then(value));
                }
                PolicyEntry::DelegateWhen { predicate, .. } => {
                    inner.push(text("delegate when"));
                    inner.push(self.space_then(predicate));
                }
            }
            // The next thing after this entry: the next entry or the `}`.
            let next = entries
                .iter()
                .map(entry_start)
                .find(|&pos| pos > start)
                .unwrap_or(close);
            inner.push(self.trailing_comment(next));
        }
        for comment in self.take_comments_before(close) {
            self.block_line_break(&mut inner, &mut first, comment.span.start as usize);
            inner.push(text(self.comment_text(comment)));
        }
        if inner.is_empty() {
            if is_empty(&opening_comment) {
                return text("policy {}");
            }
            return concat(vec![
                text("policy {"),
                opening_comment,
                Doc::HardLine,
                text("}"),
            ]);
        }
        concat(vec![
            text("policy {"),
            opening_comment,
            indent(concat(inner)),
            Doc::HardLine,
            text("}"),
        ])
    }

    /// A new line inside a block of lines, with one blank line before it if
    /// the source had any (never right after the opening brace).
    fn block_line_break(&self, parts: &mut Vec<Doc>, first: &mut bool, pos: usize) {
        parts.push(Doc::HardLine);
        if !*first && self.blank_line_before(pos) {
            parts.push(Doc::HardLine);
        }
        *first = false;
    }

    fn generics(&mut self, generics: &[GenericParam]) -> Doc {
        if generics.is_empty() {
            return concat(Vec::new());
        }
        let list: Vec<String> = generics
            .iter()
            .map(|g| match &g.bound {
                Some(bound) => format!("{}: {}", g.name.name, bound.name),
                None => g.name.name.clone(),
            })
            .collect();
        text(format!("<{}>", list.join(", ")))
    }

    /// A parenthesised parameter list whose `(` follows `after`.
    fn params(&mut self, params: &[Param], after: usize) -> Doc {
        let open = self.find_after(after, b'(');
        let search_from = params.last().map_or(open + 1, |p| p.span.end as usize);
        let close = self.find_after(search_from, b')');
        self.sequence(
            "(",
            params,
            |p| p.span.start as usize,
            |f, p| f.param(p),
            ")",
            close,
            false,
        )
    }

    fn param(&mut self, param: &Param) -> Doc {
        match &param.ty {
            Some(ty) => concat(vec![
                text(format!("{}: ", param.name.name)),
                self.type_expr(ty),
            ]),
            None => text(param.name.name.clone()),
        }
    }

    /// `{ field: T, … }` of a record type.
    fn record_type(&mut self, fields: &[Field], close: usize) -> Doc {
        // A record type the author wrote one field per line stays that way:
        // such declarations read as a table of fields.
        let broken_by_author = fields.first().is_some_and(|first| {
            let start = first.name.span.start as usize;
            let open = self
                .source
                .get(..start)
                .and_then(|before| before.rfind('{'));
            open.and_then(|open| self.source.get(open..start))
                .is_some_and(|between| between.contains('\n'))
        });
        let layout = self.sequence(
            "{",
            fields,
            |field| field.name.span.start as usize,
            |f, field| {
                concat(vec![
                    text(format!("{}: ", field.name.name)),
                    f.type_expr(&field.ty),
                ])
            },
            "}",
            close,
            true,
        );
        match layout {
            Doc::Group { doc, .. } if broken_by_author => {
                group(concat(vec![Doc::BreakParent, *doc]))
            }
            layout => layout,
        }
    }

    /// A comma-separated list between brackets: on one line when it fits,
    /// otherwise one element per line with a trailing comma. `padded` puts
    /// spaces inside the brackets on one line (`{ a: 1 }`).
    #[allow(clippy::too_many_arguments)]
    fn sequence<T>(
        &mut self,
        open: &str,
        elements: &[T],
        position: impl Fn(&T) -> usize,
        mut print: impl FnMut(&mut Self, &T) -> Doc,
        close: &str,
        close_pos: usize,
        padded: bool,
    ) -> Doc {
        let edge_line = || if padded { Doc::Line } else { Doc::SoftLine };
        let mut inner = Vec::new();
        for (index, element) in elements.iter().enumerate() {
            let pos = position(element);
            if index > 0 {
                inner.push(text(","));
            }
            inner.push(self.trailing_comment(pos));
            inner.push(if index == 0 { edge_line() } else { Doc::Line });
            inner.extend(self.leading_comments(pos));
            inner.push(print(self, element));
        }
        if !elements.is_empty() {
            inner.push(Doc::IfBreak(",", ""));
        }
        let closing_comment = self.trailing_comment(close_pos);
        let has_closing_comment =
            !matches!(&closing_comment, Doc::Concat(parts) if parts.is_empty());
        inner.push(closing_comment);
        let dangling = self.take_comments_before(close_pos);
        if elements.is_empty() && dangling.is_empty() && !has_closing_comment {
            return text(format!("{open}{close}"));
        }
        for (index, comment) in dangling.iter().enumerate() {
            if elements.is_empty() && index == 0 {
                inner.push(edge_line());
            } else {
                inner.push(Doc::HardLine);
            }
            inner.push(text(self.comment_text(comment)));
            inner.push(Doc::BreakParent);
        }
        group(concat(vec![
            text(open),
            indent(concat(inner)),
            edge_line(),
            text(close),
        ]))
    }

    // ----- types --------------------------------------------------------------

    fn type_expr(&mut self, ty: &TypeExpr) -> Doc {
        let mut parts = self.stray_comments(ty.span.start as usize);
        match &ty.kind {
            TypeExprKind::Named { name, args } => {
                parts.push(text(name.name.clone()));
                if !args.is_empty() {
                    parts.push(text("<"));
                    for (index, arg) in args.iter().enumerate() {
                        if index > 0 {
                            parts.push(text(", "));
                        }
                        parts.push(self.type_expr(arg));
                    }
                    parts.push(text(">"));
                }
            }
            TypeExprKind::List(element) => {
                parts.push(text("["));
                parts.push(self.type_expr(element));
                parts.push(text("]"));
            }
            TypeExprKind::Tuple(elements) => {
                parts.push(text("("));
                for (index, element) in elements.iter().enumerate() {
                    if index > 0 {
                        parts.push(text(", "));
                    }
                    parts.push(self.type_expr(element));
                }
                // `(T,)` is a 1-tuple; `(T)` would be `T` in parentheses.
                if elements.len() == 1 {
                    parts.push(text(","));
                }
                parts.push(text(")"));
            }
            TypeExprKind::Fn { params, ret } => {
                parts.push(text("fn("));
                for (index, param) in params.iter().enumerate() {
                    if index > 0 {
                        parts.push(text(", "));
                    }
                    parts.push(self.type_expr(param));
                }
                parts.push(text(") -> "));
                parts.push(self.type_expr(ret));
            }
        }
        concat(parts)
    }

    // ----- expressions ----------------------------------------------------------

    /// ` expr` after `=`, `when` or `=>`. Comments between the two move the
    /// expression to the next line, indented, so that each keeps its line.
    /// The value of a `fn`, `let` or `output` after its `=`. An `if` that
    /// does not fit on the line moves below the `=`, indented, so its
    /// `then` and `else` branches line up instead of trailing the header.
    fn value_after_eq(&mut self, expr: &Expr) -> Doc {
        let start = expr.span.start as usize;
        if matches!(expr.kind, ExprKind::If { .. }) && self.peek_comment_before(start).is_none() {
            return group(indent(concat(vec![Doc::Line, self.expr(expr)])));
        }
        self.space_then(expr)
    }

    fn space_then(&mut self, expr: &Expr) -> Doc {
        let start = expr.span.start as usize;
        if self.peek_comment_before(start).is_none() {
            return concat(vec![text(" "), self.expr(expr)]);
        }
        let mut parts = vec![self.trailing_comment(start)];
        let mut below = vec![Doc::HardLine];
        below.extend(self.leading_comments(start));
        below.push(self.expr(expr));
        parts.push(indent(concat(below)));
        concat(parts)
    }

    fn expr(&mut self, expr: &Expr) -> Doc {
        let mut parts = self.stray_comments(expr.span.start as usize);
        let end = expr.span.end as usize;
        let body = match &expr.kind {
            ExprKind::Int(value) => text(self.int_literal(expr.span, *value)),
            ExprKind::Float(value) => text(self.float_literal(expr.span, *value)),
            ExprKind::Str(value) => text(self.string_literal(expr.span, value)),
            ExprKind::Bool(value) => text(if *value { "true" } else { "false" }),
            ExprKind::Size { bytes, unit } => {
                let written = self
                    .source
                    .get(expr.span.range())
                    .and_then(|slice| slice.strip_suffix(unit.as_str()))
                    .map(str::trim)
                    .filter(|number| is_int_literal(number));
                match written {
                    Some(number) => text(format!("{number} {}", unit.as_str())),
                    None if bytes % unit.bytes() == 0 => {
                        text(format!("{} {}", bytes / unit.bytes(), unit.as_str()))
                    }
                    None => text(format!("{bytes} B")),
                }
            }
            ExprKind::Duration { millis, unit } => {
                let written = self
                    .source
                    .get(expr.span.range())
                    .and_then(|slice| slice.strip_suffix(unit.as_str()))
                    .map(str::trim)
                    .filter(|number| is_int_literal(number));
                match written {
                    Some(number) => text(format!("{number}{}", unit.as_str())),
                    None if millis % unit.millis() == 0 => {
                        text(format!("{}{}", millis / unit.millis(), unit.as_str()))
                    }
                    None => text(format!("{millis}ms")),
                }
            }
            ExprKind::Name(name) => text(name.name.clone()),
            ExprKind::Call { callee, args } => {
                let callee_doc = self.postfix_base(callee);
                let close = self.close_position(end, b')');
                let args_doc =
                    self.sequence("(", args, arg_start, |f, arg| f.arg(arg), ")", close, false);
                concat(vec![callee_doc, args_doc])
            }
            ExprKind::Lambda { params, body } => {
                let head = match params.as_slice() {
                    [single] if single.ty.is_none() => text(single.name.name.clone()),
                    _ => {
                        let close = self.find_after(
                            params
                                .last()
                                .map_or(expr.span.start as usize + 1, |p| p.span.end as usize),
                            b')',
                        );
                        self.sequence(
                            "(",
                            params,
                            |p| p.span.start as usize,
                            |f, p| f.param(p),
                            ")",
                            close,
                            false,
                        )
                    }
                };
                concat(vec![head, text(" =>"), self.space_then(body)])
            }
            ExprKind::Tuple(elements) => {
                if let [element] = elements.as_slice() {
                    // A one-element tuple needs its comma to stay a tuple.
                    concat(vec![text("("), self.expr(element), text(",)")])
                } else {
                    let close = self.close_position(end, b')');
                    self.sequence(
                        "(",
                        elements,
                        |e| e.span.start as usize,
                        |f, e| f.expr(e),
                        ")",
                        close,
                        false,
                    )
                }
            }
            ExprKind::Paren(inner) => {
                let close = self.close_position(end, b')');
                let inner_doc = self.expr(inner);
                let closing = self.stray_comments(close);
                let mut parts = vec![text("("), inner_doc];
                parts.extend(closing);
                parts.push(text(")"));
                concat(parts)
            }
            ExprKind::List(elements) => {
                let close = self.close_position(end, b']');
                self.sequence(
                    "[",
                    elements,
                    |e| e.span.start as usize,
                    |f, e| f.expr(e),
                    "]",
                    close,
                    false,
                )
            }
            ExprKind::Record { name, fields } => {
                let close = self.close_position(end, b'}');
                let fields_doc = self.sequence(
                    "{",
                    fields,
                    |field: &FieldInit| field.name.span.start as usize,
                    |f, field| {
                        concat(vec![
                            text(format!("{}:", field.name.name)),
                            f.space_then(&field.value),
                        ])
                    },
                    "}",
                    close,
                    true,
                );
                concat(vec![text(format!("{} ", name.name)), fields_doc])
            }
            ExprKind::Field { base, field } => concat(vec![
                self.postfix_base(base),
                text(format!(".{}", field.name)),
            ]),
            ExprKind::TupleIndex { base, index, .. } => {
                concat(vec![self.postfix_base(base), text(format!(".{index}"))])
            }
            ExprKind::If {
                cond,
                then_branch,
                else_branch,
            } => self.if_expr(cond, then_branch, else_branch),
            ExprKind::Block { lets, result } => {
                let close = self.close_position(end, b'}');
                self.block(lets, result, close)
            }
            ExprKind::Unary { op, operand, .. } => {
                let operand_doc = match operand.kind {
                    ExprKind::Binary { .. } | ExprKind::Lambda { .. } | ExprKind::If { .. } => {
                        self.parenthesised(operand)
                    }
                    _ => self.expr(operand),
                };
                let op_text = match op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Not => "not ",
                };
                concat(vec![text(op_text), operand_doc])
            }
            ExprKind::Binary { op, .. } => self.binary_chain(expr, *op),
            ExprKind::Error => text(
                self.source
                    .get(expr.span.range())
                    .map(str::trim)
                    .unwrap_or("")
                    .to_string(),
            ),
        };
        parts.push(body);
        concat(parts)
    }

    fn arg(&mut self, arg: &Arg) -> Doc {
        match &arg.name {
            Some(name) => concat(vec![
                text(format!("{}:", name.name)),
                self.space_then(&arg.value),
            ]),
            None => self.expr(&arg.value),
        }
    }

    fn parenthesised(&mut self, expr: &Expr) -> Doc {
        concat(vec![text("("), self.expr(expr), text(")")])
    }

    /// The callee of a call or the base of a field access: anything looser
    /// than a postfix expression needs parentheses there.
    fn postfix_base(&mut self, base: &Expr) -> Doc {
        match base.kind {
            ExprKind::Binary { .. }
            | ExprKind::Unary { .. }
            | ExprKind::Lambda { .. }
            | ExprKind::If { .. } => self.parenthesised(base),
            _ => self.expr(base),
        }
    }

    /// `if c then a else b` on one line when it fits, otherwise
    /// `if c then`, the branch indented, `else`, the branch indented. An
    /// `else if` continues on the `else` line.
    fn if_expr(&mut self, cond: &Expr, then_branch: &Expr, else_branch: &Expr) -> Doc {
        let cond_doc = self.expr(cond);
        let then_start = then_branch.span.start as usize;
        let then_comment = self.trailing_comment(then_start);
        let mut then_part = vec![then_comment, Doc::Line];
        then_part.extend(self.leading_comments(then_start));
        then_part.push(self.expr(then_branch));
        let else_start = else_branch.span.start as usize;
        let before_else = self.trailing_comment(else_start);
        let mut parts = vec![
            text("if "),
            cond_doc,
            text(" then"),
            indent(concat(then_part)),
            before_else,
            Doc::Line,
        ];
        parts.extend(self.leading_comments(else_start));
        parts.push(text("else"));
        if matches!(else_branch.kind, ExprKind::If { .. }) {
            parts.push(text(" "));
            parts.push(self.expr(else_branch));
        } else {
            parts.push(indent(concat(vec![Doc::Line, self.expr(else_branch)])));
        }
        group(concat(parts))
    }

    /// `{ let x = e1; let y = e2; e3 }` on one line when it fits, otherwise
    /// one `let` per line and the result last.
    fn block(&mut self, lets: &[BlockLet], result: &Expr, close: usize) -> Doc {
        let mut inner = Vec::new();
        for binding in lets {
            let start = binding.span.start as usize;
            inner.push(self.trailing_comment(start));
            inner.push(Doc::Line);
            inner.extend(self.leading_comments(start));
            inner.push(text(format!("let {}", binding.name.name)));
            if let Some(ty) = &binding.ty {
                inner.push(text(": "));
                inner.push(self.type_expr(ty));
            }
            inner.push(text(" ="));
            inner.push(self.space_then(&binding.value));
            inner.push(text(";"));
        }
        let result_start = result.span.start as usize;
        inner.push(self.trailing_comment(result_start));
        inner.push(Doc::Line);
        inner.extend(self.leading_comments(result_start));
        inner.push(self.expr(result));
        inner.push(self.trailing_comment(close));
        for comment in self.take_comments_before(close) {
            inner.push(Doc::HardLine);
            inner.push(text(self.comment_text(comment)));
        }
        group(concat(vec![
            text("{"),
            indent(concat(inner)),
            Doc::Line,
            text("}"),
        ]))
    }

    /// A chain of binary operators of one precedence (`a |> f |> g`,
    /// `a + b - c`): on one line when it fits, otherwise every operator starts
    /// a line indented under the first operand.
    fn binary_chain(&mut self, expr: &Expr, op: BinaryOp) -> Doc {
        let precedence = op.precedence();
        // Walk down the left spine collecting the operators of this
        // precedence; comparisons do not chain, so they stop at one.
        let mut links: Vec<(BinaryOp, Span, &Expr)> = Vec::new();
        let mut head = expr;
        while let ExprKind::Binary {
            op,
            op_span,
            lhs,
            rhs,
        } = &head.kind
        {
            if op.precedence() != precedence || (op.is_comparison() && !links.is_empty()) {
                break;
            }
            links.push((*op, *op_span, rhs));
            head = lhs;
        }
        links.reverse();
        let head_doc = self.operand(head, precedence, false);
        let mut rest = Vec::new();
        let mut previous_end = head.span.end as usize;
        for (link_op, op_span, rhs) in links {
            let op_start = op_span.start as usize;
            // A pipeline the author wrote one stage per line stays that way:
            // reading a pipeline top to bottom is its point.
            let broken_by_author = link_op == BinaryOp::Pipe
                && self
                    .source
                    .get(previous_end..op_start)
                    .is_some_and(|between| between.contains('\n'));
            previous_end = rhs.span.end as usize;
            rest.push(self.trailing_comment(op_start));
            if broken_by_author {
                rest.push(Doc::BreakParent);
            }
            rest.push(Doc::Line);
            rest.extend(self.leading_comments(op_start));
            let after_op = self.trailing_comment(rhs.span.start as usize);
            if is_empty(&after_op) {
                rest.push(text(format!("{} ", link_op.as_str())));
            } else {
                // A comment after the operator ends its line; the operand
                // follows on the next one.
                rest.push(text(link_op.as_str()));
                rest.push(after_op);
                rest.push(Doc::HardLine);
            }
            rest.push(self.operand(rhs, precedence, true));
        }
        group(concat(vec![head_doc, indent(concat(rest))]))
    }

    /// An operand of a binary operator of `precedence`, parenthesised when
    /// printing it bare would parse differently.
    fn operand(&mut self, operand: &Expr, precedence: u8, is_rhs: bool) -> Doc {
        let needs_parens = match &operand.kind {
            ExprKind::Binary { op, .. } => {
                op.precedence() < precedence
                    || (is_rhs && op.precedence() == precedence)
                    || (!is_rhs && op.is_comparison() && precedence == op.precedence())
            }
            // A lambda or `if` extends as far right as it can, so only the
            // last operand may be one without parentheses.
            ExprKind::Lambda { .. } | ExprKind::If { .. } => !is_rhs,
            _ => false,
        };
        if needs_parens {
            self.parenthesised(operand)
        } else {
            self.expr(operand)
        }
    }

    // ----- literals ------------------------------------------------------------

    fn int_literal(&self, span: Span, value: i64) -> String {
        match self.source.get(span.range()) {
            Some(slice) if is_int_literal(slice) => slice.to_string(),
            _ => value.to_string(),
        }
    }

    fn float_literal(&self, span: Span, value: f64) -> String {
        match self.source.get(span.range()) {
            Some(slice) if is_float_literal(slice) => slice.to_string(),
            _ => {
                // Debug formatting is the shortest text that reads back as
                // the same value, and always has a `.` or an exponent.
                format!("{value:?}")
            }
        }
    }

    fn string_literal(&self, span: Span, value: &str) -> String {
        match self.source.get(span.range()) {
            // A literal spanning a `\r\n` line ending is re-escaped so that
            // the output has `\n` endings and the value stays the same.
            Some(slice)
                if slice.len() >= 2
                    && slice.starts_with('"')
                    && slice.ends_with('"')
                    && !slice.contains('\r') =>
            {
                slice.to_string()
            }
            _ => escape_string(value),
        }
    }

    fn str_lit(&self, lit: &StrLit) -> Doc {
        text(self.string_literal(lit.span, &lit.value))
    }
}

/// Whether `doc` prints nothing at all (an absent comment).
fn is_empty(doc: &Doc) -> bool {
    matches!(doc, Doc::Concat(parts) if parts.is_empty())
}

fn entry_start(entry: &PolicyEntry) -> usize {
    match entry {
        PolicyEntry::Setting { key, .. } => key.span.start as usize,
        PolicyEntry::DelegateWhen { span, .. } => span.start as usize,
    }
}

fn arg_start(arg: &Arg) -> usize {
    match &arg.name {
        Some(name) => name.span.start as usize,
        None => arg.value.span.start as usize,
    }
}

/// Whether `text` is spelled like an integer literal (`42`, `1_000`, `0xff`).
fn is_int_literal(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `text` is spelled like a float literal (`3.25`, `1e-9`).
fn is_float_literal(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '_' | '.' | 'e' | 'E' | '+' | '-'))
}

/// A string literal whose value is `value`, using the language's escapes.
fn escape_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for ch in value.chars() {
        match ch {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.push_str(&format!("\\u{{{:X}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
