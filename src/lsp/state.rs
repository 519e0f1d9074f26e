//! The server's state: open documents, the analysis of each, and the
//! diagnostics last published.
//!
//! Every open document is the root of its own analysis, exactly as
//! `flowc check <that file>` would analyse it, with the files it imports
//! read from open buffers first and from the disk otherwise. Changes only
//! mark documents dirty; [`State::refresh`] re-analyses the roots that saw
//! a changed file (a burst of edits costs one analysis) and publishes the
//! diagnostics that differ from what was published before.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};

use flow_compiler::{Analysis, AnalysisCache, SourceProvider};
use lsp_types::Uri;

use super::diagnostics::convert_all;
use super::uri::path_to_uri;
use crate::disk::read_source;

/// One open buffer.
#[derive(Debug)]
pub struct Document {
    /// The URI the client opened it under, used verbatim in replies.
    pub uri: Uri,
    pub text: String,
    pub version: i32,
}

/// An analysis and its diagnostics, converted once.
#[derive(Debug)]
pub struct Analysed {
    pub analysis: Analysis,
    diagnostics: BTreeMap<String, Vec<lsp_types::Diagnostic>>,
}

/// Serves open buffers first and the disk otherwise.
struct OverlayProvider<'a> {
    documents: &'a HashMap<String, Document>,
}

impl SourceProvider for OverlayProvider<'_> {
    fn read(&self, path: &str) -> Result<String, String> {
        match self.documents.get(path) {
            Some(document) => Ok(document.text.clone()),
            None => read_source(path),
        }
    }
}

#[derive(Debug, Default)]
pub struct State {
    /// Open documents by path.
    pub documents: HashMap<String, Document>,
    /// The analysis of each open document, by its path.
    analyses: HashMap<String, Analysed>,
    /// What the next analysis of each open document can reuse from its
    /// last one (the parsed items of its files), by the document's path.
    caches: HashMap<String, AnalysisCache>,
    /// Paths whose text changed since the last refresh (opened, edited,
    /// closed or saved).
    dirty: BTreeSet<String>,
    /// What was last published, by path, so unchanged lists are not sent
    /// again and cleared files get an empty list.
    published: BTreeMap<String, Vec<lsp_types::Diagnostic>>,
}

/// A `textDocument/publishDiagnostics` to send.
#[derive(Debug)]
pub struct Publish {
    pub uri: Uri,
    pub diagnostics: Vec<lsp_types::Diagnostic>,
    pub version: Option<i32>,
}

impl State {
    pub fn open(&mut self, path: String, document: Document) {
        self.documents.insert(path.clone(), document);
        self.dirty.insert(path);
    }

    pub fn close(&mut self, path: &str) {
        self.documents.remove(path);
        self.analyses.remove(path);
        self.caches.remove(path);
        self.dirty.insert(path.to_string());
    }

    /// Marks a file changed (edited, or saved on disk by someone else).
    pub fn touch(&mut self, path: &str) {
        self.dirty.insert(path.to_string());
    }

    pub fn is_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// The analysis whose root is the open document at `path`.
    pub fn analysis(&self, path: &str) -> Option<&Analysis> {
        self.analyses.get(path).map(|analysed| &analysed.analysis)
    }

    /// The URI to show for a path: the one its buffer was opened under, or
    /// a `file:` URI.
    pub fn uri_of(&self, path: &str) -> Option<Uri> {
        match self.documents.get(path) {
            Some(document) => Some(document.uri.clone()),
            None => path_to_uri(path),
        }
    }

    /// Re-analyses the open documents that saw a changed file and returns
    /// the diagnostics to publish. An analysis that panics (a compiler bug)
    /// keeps the document's previous analysis and is reported in the log.
    pub fn refresh(&mut self) -> Vec<Publish> {
        let dirty = std::mem::take(&mut self.dirty);
        let stale: Vec<String> = self
            .documents
            .keys()
            .filter(|path| {
                dirty.contains(*path)
                    || self.analyses.get(*path).is_none_or(|analysed| {
                        dirty
                            .iter()
                            .any(|changed| analysed.analysis.sources.find(changed).is_some())
                    })
            })
            .cloned()
            .collect();
        // Freeing a large analysis takes milliseconds (a 5,000-line file:
        // about 8 ms); the replaced ones are freed on another thread after
        // the diagnostics are out.
        let mut replaced: Vec<Analysed> = Vec::new();
        for root in &stale {
            let provider = OverlayProvider {
                documents: &self.documents,
            };
            let roots = [root.clone()];
            let cache = self.caches.entry(root.clone()).or_default();
            let analysed = catch_unwind(AssertUnwindSafe(|| {
                let analysis = flow_compiler::analyze_incremental(&roots, &provider, cache);
                let diagnostics = convert_all(&analysis);
                Analysed {
                    analysis,
                    diagnostics,
                }
            }));
            match analysed {
                Ok(analysed) => {
                    replaced.extend(self.analyses.insert(root.clone(), analysed));
                }
                Err(_) => {
                    // The cache may be half updated: start the next
                    // analysis of this document from scratch.
                    self.caches.remove(root);
                    eprintln!("flowc lsp: the analysis of `{root}` panicked; keeping the last one")
                }
            }
        }
        let publish = self.diagnostics_to_publish(&stale);
        if !replaced.is_empty() {
            std::thread::spawn(move || drop(replaced));
        }
        publish
    }

    /// The union of every analysis' diagnostics per file, compared with
    /// what was published. The documents in `reanalysed` are published even
    /// when unchanged, so a client learns that its latest version was checked.
    fn diagnostics_to_publish(&mut self, reanalysed: &[String]) -> Vec<Publish> {
        let mut current: BTreeMap<String, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
        let mut roots: Vec<&String> = self.analyses.keys().collect();
        roots.sort();
        for root in roots {
            for (path, diagnostics) in &self.analyses[root].diagnostics {
                let list = current.entry(path.clone()).or_default();
                for diagnostic in diagnostics {
                    if !list.contains(diagnostic) {
                        list.push(diagnostic.clone());
                    }
                }
            }
        }
        // Files whose last list was not empty and now have none are cleared.
        for path in self.published.keys().chain(reanalysed) {
            current.entry(path.clone()).or_default();
        }
        let mut out = Vec::new();
        for (path, diagnostics) in current {
            let unchanged = self
                .published
                .get(&path)
                .map_or(diagnostics.is_empty(), |last| *last == diagnostics);
            if unchanged && !reanalysed.contains(&path) {
                continue;
            }
            let Some(uri) = self.uri_of(&path) else {
                continue;
            };
            out.push(Publish {
                uri,
                version: self.documents.get(&path).map(|d| d.version),
                diagnostics: diagnostics.clone(),
            });
            if diagnostics.is_empty() {
                self.published.remove(&path);
            } else {
                self.published.insert(path, diagnostics);
            }
        }
        out
    }
}
