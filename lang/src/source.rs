//! The set of source files one analysis looks at.

use serde::{Deserialize, Serialize};

use crate::span::{FileId, LineIndex};

/// One source file: the path it is known by and its text.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SourceFile {
    /// The path as shown to users, `/`-separated on every platform.
    pub path: String,
    pub text: String,
}

/// Every file of one analysis, indexed by [`FileId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
    line_indexes: Vec<LineIndex>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn add(&mut self, path: impl Into<String>, text: impl Into<String>) -> FileId {
        let text = text.into();
        self.line_indexes.push(LineIndex::new(&text));
        self.files.push(SourceFile {
            path: path.into(),
            text,
        });
        FileId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn line_index(&self, id: FileId) -> &LineIndex {
        &self.line_indexes[id.0 as usize]
    }

    pub fn find(&self, path: &str) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.path == path)
            .map(|i| FileId(i as u32))
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}
