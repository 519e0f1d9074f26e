//! What the editor asks about a program: types under the cursor,
//! definitions, references, document symbols, completion and the standard
//! library's documentation.

use std::collections::HashMap;

use flow_lang::{FileId, Span};

use crate::program::{DefId, DefKind, Definition, Program};
use crate::std_decls::std_decl_file;

/// The type of an expression under the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeAt {
    pub span: Span,
    /// As a user writes it: `stream<(str, int)>`.
    pub ty: String,
}

/// A place in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    pub file: FileId,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct Index {
    definitions: Vec<Definition>,
    /// Every use of a name, sorted by file and position.
    references: Vec<(Location, DefId)>,
    /// Every expression's type, by file.
    types: HashMap<FileId, Vec<(Span, String)>>,
    /// The files each job sees, for completion.
    job_files: Vec<Vec<FileId>>,
    std_by_name: HashMap<String, Vec<DefId>>,
}

impl Index {
    pub(crate) fn build(program: &Program) -> Index {
        let mut references: Vec<(Location, DefId)> = program
            .name_refs
            .iter()
            .map(|((file, span), def)| {
                (
                    Location {
                        file: *file,
                        span: *span,
                    },
                    *def,
                )
            })
            .collect();
        references.sort();
        let mut types: HashMap<FileId, Vec<(Span, String)>> = HashMap::new();
        for ((file, span), ty) in &program.expr_types {
            types
                .entry(*file)
                .or_default()
                .push((*span, ty.to_string()));
        }
        for list in types.values_mut() {
            list.sort();
        }
        let mut std_by_name: HashMap<String, Vec<DefId>> = HashMap::new();
        for def in &program.definitions {
            if def.kind == DefKind::StdFn {
                std_by_name
                    .entry(def.name.clone())
                    .or_default()
                    .push(def.id);
            }
        }
        Index {
            definitions: program.definitions.clone(),
            references,
            types,
            job_files: program.jobs.iter().map(|j| j.files.clone()).collect(),
            std_by_name,
        }
    }

    pub fn definition(&self, id: DefId) -> Option<&Definition> {
        self.definitions.get(id.0 as usize)
    }

    /// Whether a definition belongs to the standard library (its file is one
    /// of [`flow_stdlib::DECL_FILES`], not a file of the analysis).
    pub fn is_std(&self, id: DefId) -> bool {
        self.definition(id)
            .is_some_and(|d| std_decl_file(d.file).is_some())
    }

    /// The type of the innermost expression that contains `offset`.
    pub fn type_at(&self, file: FileId, offset: usize) -> Option<TypeAt> {
        self.types
            .get(&file)?
            .iter()
            .filter(|(span, _)| span.contains(offset))
            .min_by_key(|(span, _)| span.len())
            .map(|(span, ty)| TypeAt {
                span: *span,
                ty: ty.clone(),
            })
    }

    /// The definition of the name at `offset`: a use of it, or its
    /// declaration.
    pub fn definition_at(&self, file: FileId, offset: usize) -> Option<&Definition> {
        let used = self
            .references
            .iter()
            .filter(|(loc, _)| loc.file == file && loc.span.contains(offset))
            .min_by_key(|(loc, _)| loc.span.len())
            .and_then(|(_, def)| self.definition(*def));
        used.or_else(|| {
            self.definitions
                .iter()
                .filter(|d| {
                    d.file == file && d.kind != DefKind::PolicyVar && d.span.contains(offset)
                })
                .min_by_key(|d| d.span.len())
        })
    }

    /// Every use of `def`, across files, in file and position order; with
    /// `include_declaration`, its declaration first.
    pub fn references(&self, def: DefId, include_declaration: bool) -> Vec<Location> {
        let mut out = Vec::new();
        if include_declaration
            && let Some(d) = self.definition(def)
            && std_decl_file(d.file).is_none()
            && d.kind != DefKind::PolicyVar
        {
            out.push(Location {
                file: d.file,
                span: d.span,
            });
        }
        out.extend(
            self.references
                .iter()
                .filter(|(_, d)| *d == def)
                .map(|(loc, _)| *loc),
        );
        out
    }

    /// The top-level definitions of a file, in source order (for document
    /// symbols), record fields included.
    pub fn definitions_in(&self, file: FileId) -> Vec<&Definition> {
        let mut out: Vec<&Definition> = self
            .definitions
            .iter()
            .filter(|d| d.file == file && !d.kind.is_local() && d.kind != DefKind::StdFn)
            .collect();
        out.sort_by_key(|d| (d.span.start, d.span.end));
        out.dedup_by_key(|d| (d.span.start, d.span.end));
        out
    }

    /// Every name of a file that the index knows, in source order: each
    /// declaration (locals included, with `true`) and each use (with
    /// `false`), with its definition. Semantic highlighting colours a whole
    /// file at once, so this is one pass rather than a query per name.
    pub fn names_in_file(&self, file: FileId) -> Vec<(Span, &Definition, bool)> {
        let first = self.references.partition_point(|(loc, _)| loc.file < file);
        let uses = self.references[first..]
            .iter()
            .take_while(|(loc, _)| loc.file == file)
            .filter_map(|(loc, def)| Some((loc.span, self.definition(*def)?, false)));
        let declarations = self
            .definitions
            .iter()
            .filter(|d| d.file == file && d.kind != DefKind::StdFn && d.kind != DefKind::PolicyVar)
            .map(|d| (d.span, d, true));
        let mut out: Vec<(Span, &Definition, bool)> = uses.chain(declarations).collect();
        out.sort_by_key(|(span, _, declaration)| (span.start, span.end, !declaration));
        out
    }

    /// Every name visible at `offset`: local bindings whose scope contains
    /// it (innermost first), the items of the jobs that contain the file,
    /// and the standard functions (one entry per name). Names hidden by a
    /// nearer binding are left out.
    pub fn names_in_scope(&self, file: FileId, offset: usize) -> Vec<&Definition> {
        let mut out: Vec<&Definition> = Vec::new();
        let mut locals: Vec<&Definition> = self
            .definitions
            .iter()
            .filter(|d| {
                d.file == file && d.kind.is_local() && d.scope.is_some_and(|s| s.contains(offset))
            })
            .collect();
        locals.sort_by_key(|d| std::cmp::Reverse(d.span.start));
        out.extend(locals);
        let files: Vec<FileId> = self
            .job_files
            .iter()
            .filter(|files| files.contains(&file))
            .flatten()
            .copied()
            .collect();
        out.extend(self.definitions.iter().filter(|d| {
            files.contains(&d.file)
                && !d.kind.is_local()
                && d.kind != DefKind::Field
                && d.kind != DefKind::StdFn
        }));
        let mut std: Vec<&Definition> = self
            .std_by_name
            .values()
            .filter_map(|ids| ids.first().and_then(|id| self.definition(*id)))
            .filter(|d| std_decl_file(d.file).is_none_or(|f| f.path != flow_stdlib::INPUTS_PATH))
            .collect();
        std.sort_by(|a, b| a.name.cmp(&b.name));
        out.extend(std);
        let mut seen = std::collections::HashSet::new();
        out.retain(|d| seen.insert(d.name.clone()));
        out
    }

    /// The declarations (every overload) of a standard function, with their
    /// signatures in `detail` and their docs.
    pub fn std_function(&self, name: &str) -> Vec<&Definition> {
        self.std_by_name
            .get(name)
            .map(|ids| ids.iter().filter_map(|id| self.definition(*id)).collect())
            .unwrap_or_default()
    }
}
