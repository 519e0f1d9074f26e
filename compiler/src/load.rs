//! Reading the root files and everything they import, through a
//! [`SourceProvider`], with import cycles and unreadable files reported at
//! the import that names them.

use std::collections::HashMap;

use flow_lang::ast::{ItemKind, Module};
use flow_lang::{Diagnostic, FileId, Label, SourceMap, Span};

use crate::codes;
use crate::{AnalysisCache, SourceProvider};

/// The files of one job: the root first, then every file it imports,
/// directly or not, each once.
#[derive(Clone, Debug)]
pub struct JobFiles {
    pub root: FileId,
    pub files: Vec<FileId>,
}

#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: SourceMap,
    pub modules: HashMap<FileId, Module>,
    pub diagnostics: Vec<Diagnostic>,
    pub jobs: Vec<JobFiles>,
}

/// The folder part of a `/`-separated path (empty for a bare file name).
fn folder(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[..i],
        None => "",
    }
}

/// Joins `relative` to `base_folder` and removes `.` and `..` segments.
/// Leading `..` that climb above the start are kept.
pub fn resolve_import(base_folder: &str, relative: &str) -> String {
    let absolute = relative.starts_with('/');
    let joined = if absolute || base_folder.is_empty() {
        relative.to_string()
    } else {
        format!("{base_folder}/{relative}")
    };
    let rooted = joined.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for segment in joined.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let body = parts.join("/");
    if rooted { format!("/{body}") } else { body }
}

impl Loaded {
    fn add_file(
        &mut self,
        path: &str,
        text: String,
        cache: &mut Option<&mut AnalysisCache>,
    ) -> FileId {
        let file = self.sources.add(path, text);
        let text = &self.sources.get(file).text;
        let parsed = match cache {
            Some(cache) => flow_lang::parse_incremental(file, text, cache.parse_cache(path)),
            None => flow_lang::parse(file, text),
        };
        self.diagnostics.extend(parsed.diagnostics);
        self.modules.insert(file, parsed.module);
        file
    }

    /// Visits `file` and its imports depth first; `stack` holds the files
    /// being visited (for cycles), `seen` the files of this job.
    fn visit(
        &mut self,
        file: FileId,
        provider: &dyn SourceProvider,
        cache: &mut Option<&mut AnalysisCache>,
        stack: &mut Vec<FileId>,
        seen: &mut Vec<FileId>,
    ) {
        if seen.contains(&file) {
            return;
        }
        seen.push(file);
        stack.push(file);
        let imports: Vec<(String, Span)> = self
            .modules
            .get(&file)
            .map(|m| {
                m.items
                    .iter()
                    .filter_map(|item| match &item.kind {
                        ItemKind::Import(import) => {
                            Some((import.path.value.clone(), import.path.span))
                        }
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let base = folder(&self.sources.get(file).path).to_string();
        for (relative, span) in imports {
            if !relative.ends_with(".flow") {
                self.diagnostics.push(
                    Diagnostic::error(
                        codes::IMPORT_PATH,
                        format!("`{relative}` is not a `.flow` file"),
                        Label::new(file, span, "imports must name a `.flow` file"),
                    )
                    .with_help("import a Flow source file such as `import \"lib/text.flow\"`"),
                );
                continue;
            }
            let path = resolve_import(&base, &relative);
            let target = match self.sources.find(&path) {
                Some(existing) => existing,
                None => match provider.read(&path) {
                    Ok(text) => self.add_file(&path, text, cache),
                    Err(reason) => {
                        self.diagnostics.push(Diagnostic::error(
                            codes::IMPORT_UNREADABLE,
                            format!("cannot read `{path}`: {reason}"),
                            Label::new(file, span, "imported here"),
                        ));
                        continue;
                    }
                },
            };
            if let Some(pos) = stack.iter().position(|f| *f == target) {
                let mut cycle: Vec<String> = stack[pos..]
                    .iter()
                    .map(|f| self.sources.get(*f).path.clone())
                    .collect();
                cycle.push(self.sources.get(target).path.clone());
                self.diagnostics.push(
                    Diagnostic::error(
                        codes::IMPORT_CYCLE,
                        format!("import cycle: {}", cycle.join(" → ")),
                        Label::new(file, span, "this import closes the cycle"),
                    )
                    .with_help("move what both files need into a third file that both import"),
                );
                continue;
            }
            self.visit(target, provider, cache, stack, seen);
        }
        stack.pop();
    }
}

/// Reads every root and its imports, parsing each file incrementally
/// through `cache` when there is one.
pub fn load(
    roots: &[String],
    provider: &dyn SourceProvider,
    mut cache: Option<&mut AnalysisCache>,
) -> Loaded {
    let mut loaded = Loaded::default();
    for root in roots {
        let file = match loaded.sources.find(root) {
            Some(existing) => existing,
            None => match provider.read(root) {
                Ok(text) => loaded.add_file(root, text, &mut cache),
                Err(reason) => {
                    let file = loaded.add_file(root, String::new(), &mut cache);
                    loaded.diagnostics.push(Diagnostic::error(
                        codes::IMPORT_UNREADABLE,
                        format!("cannot read `{root}`: {reason}"),
                        Label::new(file, Span::new(0, 0), "this file"),
                    ));
                    continue;
                }
            },
        };
        if loaded.jobs.iter().any(|j| j.root == file) {
            continue;
        }
        let mut seen = Vec::new();
        loaded.visit(file, provider, &mut cache, &mut Vec::new(), &mut seen);
        loaded.jobs.push(JobFiles {
            root: file,
            files: seen,
        });
    }
    if let Some(cache) = cache {
        cache.keep_files(|path| loaded.sources.find(path).is_some());
    }
    loaded
}

#[cfg(test)]
mod tests {
    use super::resolve_import;

    #[test]
    fn imports_resolve_relative_to_the_importing_folder() {
        assert_eq!(resolve_import("jobs", "lib/x.flow"), "jobs/lib/x.flow");
        assert_eq!(
            resolve_import("jobs/a", "../lib/./x.flow"),
            "jobs/lib/x.flow"
        );
        assert_eq!(resolve_import("", "../x.flow"), "../x.flow");
        assert_eq!(resolve_import("a", "../../x.flow"), "../x.flow");
        assert_eq!(resolve_import("a", "/abs/x.flow"), "/abs/x.flow");
    }
}
