//! A small layout algebra in the style of Wadler's "prettier printer": a
//! document is text plus optional line breaks grouped so that each group is
//! printed either entirely on one line or with all of its breaks taken.
//!
//! A group is printed flat when it and the text after it up to the next
//! possible break fit in the width; otherwise its breaks become newlines.
//! Hard line breaks (used for comments and between items) force every
//! enclosing group to break, which is how a comment keeps its own line.

/// A document to lay out.
#[derive(Clone, Debug)]
pub(crate) enum Doc {
    /// Text without newlines.
    Text(String),
    /// A space when flat, a newline when broken.
    Line,
    /// Nothing when flat, a newline when broken.
    SoftLine,
    /// Always a newline; forces every enclosing group to break.
    HardLine,
    /// A newline unless the current line is still empty; forces every
    /// enclosing group to break. Puts a comment on a line of its own without
    /// leaving an empty line when one was already started.
    FreshLine,
    /// Prints nothing but forces every enclosing group to break; placed after
    /// an end-of-line comment so that the next break is taken.
    BreakParent,
    /// A space unless the current line is empty or already ends with one.
    Gap,
    /// The first text when the enclosing group is broken, the second when flat
    /// (a trailing comma only in the broken form).
    IfBreak(&'static str, &'static str),
    /// Lines inside are indented by one more level.
    Indent(Box<Doc>),
    /// Printed flat if it fits, broken otherwise. `forced` records whether it
    /// contains a hard break, computed once when the group is built.
    Group {
        doc: Box<Doc>,
        forced: bool,
    },
    Concat(Vec<Doc>),
}

/// The number of spaces per indentation level.
const INDENT: usize = 2;

pub(crate) fn text(s: impl Into<String>) -> Doc {
    Doc::Text(s.into())
}

pub(crate) fn concat(parts: Vec<Doc>) -> Doc {
    Doc::Concat(parts)
}

pub(crate) fn indent(doc: Doc) -> Doc {
    Doc::Indent(Box::new(doc))
}

pub(crate) fn group(doc: Doc) -> Doc {
    let forced = forces_break(&doc);
    Doc::Group {
        doc: Box::new(doc),
        forced,
    }
}

/// Whether `doc` contains a hard break outside any nested group that is
/// already known to be forced (nested groups carry their own flag).
fn forces_break(doc: &Doc) -> bool {
    match doc {
        Doc::HardLine | Doc::FreshLine | Doc::BreakParent => true,
        Doc::Text(_) | Doc::Gap | Doc::Line | Doc::SoftLine | Doc::IfBreak(..) => false,
        Doc::Indent(inner) => forces_break(inner),
        Doc::Group { forced, .. } => *forced,
        Doc::Concat(parts) => parts.iter().any(forces_break),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

/// Accumulates output, writing a line's indentation only once text follows
/// on it so that no line ends with spaces.
struct Writer {
    out: String,
    column: usize,
    pending_indent: Option<usize>,
}

impl Writer {
    fn write(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(spaces) = self.pending_indent.take() {
            self.out.extend(std::iter::repeat_n(' ', spaces));
            self.column = spaces;
        }
        self.out.push_str(s);
        self.column += s.chars().count();
    }

    fn newline(&mut self, indent: usize) {
        self.out.push('\n');
        self.column = 0;
        self.pending_indent = Some(indent);
    }

    /// Whether nothing has been written on the current line yet.
    fn at_line_start(&self) -> bool {
        self.pending_indent.is_some() || self.out.is_empty()
    }

    /// The column the next text will start at.
    fn next_column(&self) -> usize {
        self.pending_indent.unwrap_or(self.column)
    }
}

/// Lays `doc` out in `width` columns.
pub(crate) fn print(doc: &Doc, width: usize) -> String {
    let mut writer = Writer {
        out: String::new(),
        column: 0,
        pending_indent: None,
    };
    let mut stack: Vec<(usize, Mode, &Doc)> = vec![(0, Mode::Break, doc)];
    while let Some((level, mode, doc)) = stack.pop() {
        match doc {
            Doc::Text(s) => writer.write(s),
            Doc::Line | Doc::SoftLine | Doc::HardLine => {
                if matches!(doc, Doc::HardLine) || mode == Mode::Break {
                    writer.newline(level * INDENT);
                } else if matches!(doc, Doc::Line) {
                    writer.write(" ");
                }
            }
            Doc::FreshLine => {
                if !writer.at_line_start() {
                    writer.newline(level * INDENT);
                }
            }
            Doc::BreakParent => {}
            Doc::Gap => {
                if !writer.at_line_start() && !writer.out.ends_with(' ') {
                    writer.write(" ");
                }
            }
            Doc::IfBreak(broken, flat) => {
                writer.write(if mode == Mode::Break { broken } else { flat });
            }
            Doc::Indent(inner) => stack.push((level + 1, mode, inner)),
            Doc::Group { doc: inner, forced } => {
                let remaining = width.saturating_sub(writer.next_column()) as isize;
                let mode = if !*forced && fits(inner, &stack, remaining) {
                    Mode::Flat
                } else {
                    Mode::Break
                };
                stack.push((level, mode, inner));
            }
            Doc::Concat(parts) => {
                for part in parts.iter().rev() {
                    stack.push((level, mode, part));
                }
            }
        }
    }
    writer.out
}

/// Whether `doc` printed flat, followed by what is on the stack up to its
/// next line break, fits in `remaining` columns.
fn fits(doc: &Doc, rest: &[(usize, Mode, &Doc)], mut remaining: isize) -> bool {
    let mut todo: Vec<(Mode, &Doc)> = vec![(Mode::Flat, doc)];
    let mut rest_index = rest.len();
    loop {
        let (mode, doc) = match todo.pop() {
            Some(next) => next,
            None => {
                if rest_index == 0 {
                    return true;
                }
                rest_index -= 1;
                let (_, mode, doc) = rest[rest_index];
                (mode, doc)
            }
        };
        match doc {
            Doc::Text(s) => {
                remaining -= s.chars().count() as isize;
                if remaining < 0 {
                    return false;
                }
            }
            Doc::Line | Doc::SoftLine => {
                if mode == Mode::Break {
                    return true;
                }
                if matches!(doc, Doc::Line) {
                    remaining -= 1;
                    if remaining < 0 {
                        return false;
                    }
                }
            }
            Doc::HardLine | Doc::FreshLine => return true,
            Doc::BreakParent => {}
            Doc::Gap => {
                remaining -= 1;
                if remaining < 0 {
                    return false;
                }
            }
            Doc::IfBreak(broken, flat) => {
                let s = if mode == Mode::Break { broken } else { flat };
                remaining -= s.chars().count() as isize;
                if remaining < 0 {
                    return false;
                }
            }
            Doc::Indent(inner) => todo.push((mode, inner)),
            Doc::Group { doc: inner, forced } => {
                let mode = if *forced { Mode::Break } else { mode };
                todo.push((mode, inner));
            }
            Doc::Concat(parts) => {
                for part in parts.iter().rev() {
                    todo.push((mode, part));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: &[&str]) -> Doc {
        let mut inner = Vec::new();
        for (index, arg) in args.iter().enumerate() {
            if index > 0 {
                inner.push(text(","));
                inner.push(Doc::Line);
            } else {
                inner.push(Doc::SoftLine);
            }
            inner.push(text(*arg));
        }
        inner.push(Doc::IfBreak(",", ""));
        group(concat(vec![
            text(format!("{name}(")),
            indent(concat(inner)),
            Doc::SoftLine,
            text(")"),
        ]))
    }

    #[test]
    fn a_group_that_fits_stays_flat() {
        assert_eq!(print(&call("f", &["a", "b"]), 80), "f(a, b)");
    }

    #[test]
    fn a_group_that_does_not_fit_breaks_with_trailing_comma() {
        assert_eq!(
            print(&call("f", &["alpha", "beta"]), 8),
            "f(\n  alpha,\n  beta,\n)"
        );
    }

    #[test]
    fn text_after_a_group_counts_towards_its_width() {
        // `f(a)` fits in 5 columns alone but not with the text that follows
        // it on the same line.
        let doc = concat(vec![call("f", &["a"]), text(" + more")]);
        assert_eq!(print(&doc, 5), "f(\n  a,\n) + more");
    }

    #[test]
    fn a_hard_line_breaks_the_enclosing_group() {
        let doc = group(concat(vec![
            text("["),
            indent(concat(vec![
                Doc::SoftLine,
                text("1,"),
                Doc::HardLine,
                text("2"),
            ])),
            Doc::SoftLine,
            text("]"),
        ]));
        assert_eq!(print(&doc, 80), "[\n  1,\n  2\n]");
    }

    #[test]
    fn fresh_line_does_not_leave_an_empty_line_and_lines_have_no_trailing_spaces() {
        let doc = indent(concat(vec![
            Doc::HardLine,
            Doc::FreshLine,
            text("a"),
            Doc::FreshLine,
            text("b"),
            Doc::HardLine,
            Doc::HardLine,
            text("c"),
        ]));
        assert_eq!(print(&doc, 80), "\n  a\n  b\n\n  c");
    }
}
