//! Files on disk, seen through `/`-separated paths on every platform.
//!
//! The compiler names files by the strings it is given and joins import
//! paths with `/`; this module is where those strings meet the file system.

use std::collections::HashMap;
use std::path::Path;

use flow_compiler::SourceProvider;

/// Reads source files from disk for the checker.
///
/// Files the command line already read (to report unreadable ones before
/// analysis) are kept, so each file is read once and the checker sees the
/// same text that was validated.
#[derive(Debug, Default)]
pub struct DiskProvider {
    preloaded: HashMap<String, String>,
}

impl DiskProvider {
    pub fn new() -> DiskProvider {
        DiskProvider::default()
    }

    /// Remembers the text of a file already read under `path`.
    pub fn preload(&mut self, path: String, text: String) {
        self.preloaded.insert(path, text);
    }
}

impl SourceProvider for DiskProvider {
    fn read(&self, path: &str) -> Result<String, String> {
        match self.preloaded.get(path) {
            Some(text) => Ok(text.clone()),
            None => read_source(path),
        }
    }
}

/// Reads a UTF-8 text file named by a `/`-separated path; the error is a
/// sentence fit for a diagnostic.
pub fn read_source(path: &str) -> Result<String, String> {
    std::fs::read_to_string(Path::new(path)).map_err(|error| describe_io_error(&error))
}

/// The most bytes a WebAssembly tool module may have: far beyond any real
/// tool, and small enough that reading it cannot exhaust memory.
const MAX_TOOL_BYTES: u64 = 256 << 20;

/// Reads an `extern fn` tool module, describing a failure as a sentence.
pub fn read_tool_module(path: &str) -> Result<Vec<u8>, String> {
    let path = Path::new(path);
    let metadata = std::fs::metadata(path).map_err(|error| describe_io_error(&error))?;
    if metadata.is_dir() {
        return Err("it is a directory".to_string());
    }
    if metadata.len() > MAX_TOOL_BYTES {
        return Err(format!(
            "it has {} bytes, more than the {MAX_TOOL_BYTES} a tool module may have",
            metadata.len()
        ));
    }
    std::fs::read(path).map_err(|error| describe_io_error(&error))
}

/// Writes a file, describing a failure as a sentence.
pub fn write_source(path: &str, text: &str) -> Result<(), String> {
    std::fs::write(Path::new(path), text).map_err(|error| describe_io_error(&error))
}

fn describe_io_error(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::InvalidData => "the file is not valid UTF-8 text".to_string(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
        _ => error.to_string(),
    }
}

/// The path of a command-line argument as users and the compiler see it:
/// `/`-separated on every platform.
pub fn display_path(argument: &str) -> String {
    if cfg!(windows) {
        argument.replace('\\', "/")
    } else {
        argument.to_string()
    }
}
