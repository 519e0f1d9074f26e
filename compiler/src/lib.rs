//! The Flow compiler's front half: names, types and lints, behind one entry
//! point, [`analyze`], shared by the command line and the language server.
//!
//! - [`load`]: reads root files and their imports through a [`SourceProvider`].
//! - [`std_decls`]: the standard library's signatures, parsed from the
//!   declarations in `flow-stdlib`.
//! - [`types`]: types and the unifier.
//! - `check`: items and expressions of one job; [`policy`] for the policy.
//! - [`lints`]: warnings, each in its own module.
//! - [`program`]: what the checker learned, for later passes; [`index`] for
//!   the editor.
//!
//! Invariant: no IO happens here. Files come from the provider; diagnostics
//! go out as data.

mod check;
pub mod codegen;
pub mod codes;
pub mod index;
pub mod interp;
pub mod ir;
pub mod lints;
pub mod load;
pub mod lower;
pub mod package;
pub mod plan;
pub mod policy;
pub mod program;
pub mod std_decls;
pub mod types;

use std::collections::HashMap;

use flow_lang::{Diagnostic, FileId, Severity};

pub use index::{Index, Location, TypeAt};
pub use policy::{CheckedPolicy, PolicyInt, Select};
pub use program::{DefId, DefKind, Definition, Program};
pub use types::Ty;

/// Where source text comes from: the CLI reads the disk, the language server hands unsaved buffers.
pub trait SourceProvider {
    /// `path` is '/'-separated, as given or as resolved from an import.
    fn read(&self, path: &str) -> Result<String, String>;
}

/// A [`SourceProvider`] over files held in memory, by path (tests, tools).
impl SourceProvider for HashMap<String, String> {
    fn read(&self, path: &str) -> Result<String, String> {
        self.get(path)
            .cloned()
            .ok_or_else(|| "no such file".to_string())
    }
}

/// Everything one analysis found.
#[derive(Debug)]
pub struct Analysis {
    /// Every file read (roots and imports).
    pub sources: flow_lang::SourceMap,
    pub modules: Vec<(FileId, flow_lang::ast::Module)>,
    /// Parse + check + lints, sorted by file then position, deduplicated.
    pub diagnostics: Vec<Diagnostic>,
    /// The typed program (whatever could be typed even with errors).
    pub program: Program,
    /// For the editor.
    pub index: Index,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// The syntax tree of a file.
    pub fn module(&self, file: FileId) -> Option<&flow_lang::ast::Module> {
        self.modules
            .iter()
            .find(|(f, _)| *f == file)
            .map(|(_, m)| m)
    }

    /// The standard library file behind a [`Definition::file`] that is not
    /// in [`Analysis::sources`].
    pub fn std_file(file: FileId) -> Option<&'static flow_stdlib::DeclFile> {
        std_decls::std_decl_file(file)
    }
}

/// What one analysis can reuse from the previous one of the same roots: the
/// parsed items of every file, by path (see [`flow_lang::incremental`]).
/// The language server keeps one per open document; [`analyze_incremental`]
/// with it gives exactly what [`analyze`] gives.
#[derive(Debug, Default)]
pub struct AnalysisCache {
    parses: HashMap<String, flow_lang::ParseCache>,
}

impl AnalysisCache {
    pub fn new() -> AnalysisCache {
        AnalysisCache::default()
    }

    /// The parse cache of the file at `path`.
    pub fn parse_cache(&mut self, path: &str) -> &mut flow_lang::ParseCache {
        self.parses.entry(path.to_string()).or_default()
    }

    /// How the latest parse of the file at `path` went, if it was parsed.
    pub fn parse_stats(&self, path: &str) -> Option<flow_lang::incremental::CacheStats> {
        self.parses.get(path).map(flow_lang::ParseCache::stats)
    }

    /// Drops the caches of files the latest analysis no longer read.
    fn keep_files(&mut self, mut read: impl FnMut(&str) -> bool) {
        self.parses.retain(|path, _| read(path));
    }
}

/// Reads, parses and checks every root file and the files they import. Each
/// root is one job. Never panics on any input.
pub fn analyze(roots: &[String], provider: &dyn SourceProvider) -> Analysis {
    analyze_with(roots, provider, None)
}

/// [`analyze`], reusing from `cache` what did not change since the last
/// analysis through it (and updating it): the same result, sooner.
pub fn analyze_incremental(
    roots: &[String],
    provider: &dyn SourceProvider,
    cache: &mut AnalysisCache,
) -> Analysis {
    analyze_with(roots, provider, Some(cache))
}

fn analyze_with(
    roots: &[String],
    provider: &dyn SourceProvider,
    cache: Option<&mut AnalysisCache>,
) -> Analysis {
    let std = std_decls::stdlib();
    let loaded = load::load(roots, provider, cache);
    let mut program = Program::default();
    for (i, f) in std.fns.iter().enumerate() {
        program.definitions.push(Definition {
            id: DefId(i as u32),
            name: f.sig.name.clone(),
            kind: DefKind::StdFn,
            file: f.file,
            span: f.name_span,
            item_span: f.item_span,
            docs: f.docs.clone(),
            detail: f.sig.display(),
            scope: None,
        });
    }
    let mut diagnostics = loaded.diagnostics;
    for job in &loaded.jobs {
        check::Checker::new(std, &loaded.modules, job, &mut program, &mut diagnostics).run();
    }
    diagnostics.extend(lints::run(&loaded.modules, &program));
    diagnostics.sort_by(|a, b| {
        (
            a.primary.file,
            a.primary.span.start,
            a.primary.span.end,
            &a.code,
            &a.message,
        )
            .cmp(&(
                b.primary.file,
                b.primary.span.start,
                b.primary.span.end,
                &b.code,
                &b.message,
            ))
    });
    diagnostics.dedup();
    let index = Index::build(&program);
    let mut modules: Vec<(FileId, flow_lang::ast::Module)> = loaded.modules.into_iter().collect();
    modules.sort_by_key(|(f, _)| *f);
    Analysis {
        sources: loaded.sources,
        modules,
        diagnostics,
        program,
        index,
    }
}
