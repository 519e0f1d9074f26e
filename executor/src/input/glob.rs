//! Glob expansion for the file inputs (`lines`, `csv`, `jsonl`, `files`).
//!
//! A glob is a `/`-separated path relative to the folder of the `.flow` file
//! that declares the input (or absolute, when it starts with `/`). Each
//! component is matched against one file or folder name:
//!
//! - `*` matches any run of characters (possibly empty), `?` exactly one;
//! - `[abc]`, `[a-z]` match one character of the class, `[!…]` or `[^…]`
//!   one character outside it; a `]` right after `[` (or `[!`) is a member,
//!   so `[]]` matches `]`; `[*]` matches a literal `*`;
//! - a component that is exactly `**` matches zero or more folders, so
//!   `data/**/*.txt` finds `data/a.txt` and `data/x/y/b.txt`; a trailing
//!   `**` matches every file below;
//! - `.` components are ignored and `..` goes up, as in any path.
//!
//! As in a shell, a name that starts with `.` is matched only by a component
//! that starts with a literal `.`, and `**` does not enter folders whose name
//! starts with `.`; so `data/*` does not pick up `data/.DS_Store`. `**` does
//! not follow symbolic links to folders (which could loop); a component that
//! names a linked folder explicitly, or with a pattern, does.
//!
//! Only files match (a symbolic link to a file counts as one). Matches are
//! reported with the path as the glob spells it (relative, `/`-separated on
//! every platform), sorted by that path's bytes, each once.
//!
//! `\` separates components like `/`, on every platform, so a job written
//! on Windows (`data\*.csv`) runs the same when submitted from Linux; it is
//! never an escape. A glob is absolute when it starts with `/` or with a
//! drive letter (`C:/data/*.csv`, `C:\data\*.csv`), which only names a
//! folder on Windows; matches under it are shown as `C:/data/a.csv`.
//!
//! This is written here rather than taken from a crate because the rules are
//! short, must be exactly those of the language reference, and the
//! expansion needs its own walk anyway (sorted, relative, no link loops).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{InputError, InputFile};

/// One component of a glob.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Component {
    /// A name without pattern characters: looked up directly.
    Literal(String),
    /// A name pattern.
    Pattern(Vec<Token>),
    /// `**`: any number of folders.
    AnyFolders,
}

/// One element of a name pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// This exact character.
    Char(char),
    /// `?`.
    AnyChar,
    /// `*`.
    AnyRun,
    /// `[…]`: inclusive character ranges (a single character is a range of
    /// one), negated with `!` or `^`.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A parsed glob: where to start and the components to match below it.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    text: String,
    /// The root of an absolute glob, as shown: `/` or a drive such as
    /// `C:/`; `None` for a glob relative to the job's folder.
    root: Option<String>,
    components: Vec<Component>,
}

/// The drive of a glob that starts with one (`C:/…` or `C:\…`), as `C:/`.
fn drive_root(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    match bytes {
        [letter, b':', b'/' | b'\\', ..] if letter.is_ascii_alphabetic() => {
            Some(format!("{}:/", char::from(*letter)))
        }
        _ => None,
    }
}

impl Glob {
    /// Parses `text`; an empty glob or an unclosed `[` is an error.
    pub(crate) fn parse(text: &str) -> Result<Glob, InputError> {
        let bad = |reason: &str| InputError::BadGlob {
            glob: text.to_string(),
            reason: reason.to_string(),
        };
        if text.is_empty() {
            return Err(bad("the glob is empty"));
        }
        let (root, rest) = match drive_root(text) {
            Some(drive) => (Some(drive), &text[3..]),
            None if text.starts_with(['/', '\\']) => (Some("/".to_string()), text),
            None => (None, text),
        };
        let mut components = Vec::new();
        for part in rest.split(['/', '\\']) {
            if part.is_empty() || part == "." {
                continue;
            }
            if part == "**" {
                // `a/**/**/b` means the same as `a/**/b`; one is enough.
                if components.last() != Some(&Component::AnyFolders) {
                    components.push(Component::AnyFolders);
                }
                continue;
            }
            let tokens = parse_name_pattern(part).map_err(|reason| bad(&reason))?;
            if tokens.iter().all(|t| matches!(t, Token::Char(_))) {
                components.push(Component::Literal(part.to_string()));
            } else {
                components.push(Component::Pattern(tokens));
            }
        }
        if components.is_empty() {
            return Err(bad("the glob names no file"));
        }
        Ok(Glob {
            text: text.to_string(),
            root,
            components,
        })
    }

    /// The files the glob matches below `base_dir`, sorted by their shown
    /// path, each once.
    pub(crate) fn expand(&self, base_dir: &Path) -> Result<Vec<InputFile>, InputError> {
        let (root, prefix) = match &self.root {
            Some(root) => (PathBuf::from(root), root.as_str()),
            None => (base_dir.to_path_buf(), ""),
        };
        let mut found = Vec::new();
        let mut walk = Walk {
            glob: &self.text,
            found: &mut found,
        };
        walk.visit(&root, prefix, &self.components)?;
        found.sort_by(|a: &InputFile, b: &InputFile| a.path.cmp(&b.path));
        found.dedup_by(|a, b| a.path == b.path);
        Ok(found)
    }
}

/// The state of one expansion.
struct Walk<'a> {
    glob: &'a str,
    found: &'a mut Vec<InputFile>,
}

/// What a path on disk is, following symbolic links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Folder,
    Other,
}

fn kind_of(path: &Path) -> Kind {
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => Kind::File,
        Ok(meta) if meta.is_dir() => Kind::Folder,
        _ => Kind::Other,
    }
}

/// `prefix` joined with `name` in the shown, `/`-separated form.
fn shown_join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else if prefix.ends_with('/') {
        format!("{prefix}{name}")
    } else {
        format!("{prefix}/{name}")
    }
}

impl Walk<'_> {
    /// Matches `components` below folder `dir`, shown as `shown`.
    fn visit(
        &mut self,
        dir: &Path,
        shown: &str,
        components: &[Component],
    ) -> Result<(), InputError> {
        let Some((first, rest)) = components.split_first() else {
            return Ok(());
        };
        match first {
            Component::Literal(name) => {
                let path = dir.join(name);
                let shown = shown_join(shown, name);
                match (rest.is_empty(), kind_of(&path)) {
                    (true, Kind::File) => self.found.push(InputFile {
                        path: shown,
                        disk_path: path,
                    }),
                    (false, Kind::Folder) => self.visit(&path, &shown, rest)?,
                    _ => {}
                }
            }
            Component::Pattern(tokens) => {
                let allow_dot = matches!(tokens.first(), Some(Token::Char('.')));
                for (name, path, kind) in self.entries(dir)? {
                    if (name.starts_with('.') && !allow_dot) || !matches_name(tokens, &name) {
                        continue;
                    }
                    let shown = shown_join(shown, &name);
                    match (rest.is_empty(), kind) {
                        (true, Kind::File) => self.found.push(InputFile {
                            path: shown,
                            disk_path: path,
                        }),
                        (false, Kind::Folder) => self.visit(&path, &shown, rest)?,
                        _ => {}
                    }
                }
            }
            Component::AnyFolders => {
                if rest.is_empty() {
                    // A trailing `**` matches every file below.
                    let everything = [Component::Pattern(vec![Token::AnyRun])];
                    self.visit(dir, shown, &everything)?;
                } else {
                    // Zero folders: the rest matches right here.
                    self.visit(dir, shown, rest)?;
                }
                for (name, path, _) in self.entries(dir)? {
                    if name.starts_with('.') {
                        continue;
                    }
                    // `**` descends only into real folders, never through a
                    // symbolic link, so a link cycle cannot make it loop.
                    let is_real_folder = fs::symlink_metadata(&path)
                        .map(|meta| meta.is_dir())
                        .unwrap_or(false);
                    if is_real_folder {
                        let shown = shown_join(shown, &name);
                        self.visit(&path, &shown, components)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The entries of folder `dir` with their names and kinds. A folder
    /// that does not exist has none; one that cannot be read is an error,
    /// since skipping it would silently drop input.
    fn entries(&self, dir: &Path) -> Result<Vec<(String, PathBuf, Kind)>, InputError> {
        let unreadable = |error: io::Error| InputError::Unreadable {
            path: dir.display().to_string(),
            reason: error.to_string(),
            glob: Some(self.glob.to_string()),
        };
        let reader = match fs::read_dir(dir) {
            Ok(reader) => reader,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            // A file where the glob expects a folder matches nothing.
            Err(_) if kind_of(dir) != Kind::Folder => return Ok(Vec::new()),
            Err(error) => return Err(unreadable(error)),
        };
        let mut entries = Vec::new();
        for entry in reader {
            let entry = entry.map_err(unreadable)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let kind = kind_of(&path);
            entries.push((name, path, kind));
        }
        Ok(entries)
    }
}

/// Parses one name pattern into tokens.
fn parse_name_pattern(part: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = part.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while let Some(&c) = chars.get(at) {
        match c {
            '*' => {
                // Runs of `*` (including `**` inside a name) mean one `*`.
                if tokens.last() != Some(&Token::AnyRun) {
                    tokens.push(Token::AnyRun);
                }
                at += 1;
            }
            '?' => {
                tokens.push(Token::AnyChar);
                at += 1;
            }
            '[' => {
                let (token, next) = parse_class(&chars, at)
                    .ok_or_else(|| format!("`[` in `{part}` has no closing `]`"))?;
                tokens.push(token);
                at = next;
            }
            other => {
                tokens.push(Token::Char(other));
                at += 1;
            }
        }
    }
    Ok(tokens)
}

/// Parses the class that opens at `chars[open]`; returns it and the index
/// after its `]`, or `None` when it is not closed.
fn parse_class(chars: &[char], open: usize) -> Option<(Token, usize)> {
    let mut at = open + 1;
    let negated = matches!(chars.get(at), Some('!' | '^'));
    if negated {
        at += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(at)?;
        if c == ']' && !first {
            return Some((Token::Class { negated, ranges }, at + 1));
        }
        first = false;
        // `a-z` is a range unless the `-` is last before `]`.
        match (chars.get(at + 1), chars.get(at + 2)) {
            (Some('-'), Some(&end)) if end != ']' => {
                ranges.push((c, end));
                at += 3;
            }
            _ => {
                ranges.push((c, c));
                at += 1;
            }
        }
    }
}

/// Whether `name` matches `tokens` as a whole.
fn matches_name(tokens: &[Token], name: &str) -> bool {
    let chars: Vec<char> = name.chars().collect();
    // Iterative matching with one backtrack point (the latest `*`): linear
    // in practice and never exponential, whatever the pattern.
    let (mut t, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < chars.len() {
        match tokens.get(t) {
            Some(Token::AnyRun) => {
                star = Some((t, n));
                t += 1;
                continue;
            }
            Some(token) if chars.get(n).is_some_and(|&c| token_matches(token, c)) => {
                t += 1;
                n += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((star_t, star_n)) => {
                // Let the latest `*` swallow one more character and retry.
                t = star_t + 1;
                n = star_n + 1;
                star = Some((star_t, star_n + 1));
            }
            None => return false,
        }
    }
    tokens[t.min(tokens.len())..]
        .iter()
        .all(|token| *token == Token::AnyRun)
}

fn token_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Char(expected) => *expected == c,
        Token::AnyChar => true,
        Token::AnyRun => true,
        Token::Class { negated, ranges } => {
            let inside = ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
            inside != *negated
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        matches_name(&parse_name_pattern(pattern).unwrap(), name)
    }

    #[test]
    fn name_patterns_match_as_documented() {
        assert!(matches("*.txt", "a.txt"));
        assert!(matches("*.txt", ".txt"));
        assert!(!matches("*.txt", "a.txt.gz"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("[a-c]x", "bx"));
        assert!(!matches("[!a-c]x", "bx"));
        assert!(matches("[^a-c]x", "dx"));
        assert!(matches("[]]", "]"));
        assert!(matches("[*]", "*"));
        assert!(!matches("[*]", "a"));
        assert!(matches("[a-]", "-"));
        assert!(matches("*a*b*", "xxaxxbxx"));
        assert!(!matches("*a*b*", "xxbxxaxx"));
        assert!(matches("ü*", "über"));
        assert!(matches("*", ""));
    }

    #[test]
    fn bad_globs_are_errors() {
        assert!(matches!(Glob::parse(""), Err(InputError::BadGlob { .. })));
        assert!(matches!(Glob::parse("./"), Err(InputError::BadGlob { .. })));
        let error = Glob::parse("data/[ab.txt").unwrap_err();
        assert!(error.to_string().contains("data/[ab.txt"), "{error}");
    }

    /// The components and root of a glob, for comparing spellings.
    fn shape(text: &str) -> (Option<String>, Vec<Component>) {
        let glob = Glob::parse(text).unwrap();
        (glob.root, glob.components)
    }

    #[test]
    fn backslashes_separate_folders_and_drive_letters_make_globs_absolute() {
        assert_eq!(shape("data\\*.txt"), shape("data/*.txt"));
        assert_eq!(shape("a\\**\\b.csv"), shape("a/**/b.csv"));
        assert_eq!(shape("data/*.txt").0, None);
        assert_eq!(shape("/srv/*.txt").0.as_deref(), Some("/"));
        assert_eq!(shape("\\srv\\*.txt").0.as_deref(), Some("/"));
        let (root, components) = shape("C:\\data\\*.csv");
        assert_eq!(root.as_deref(), Some("C:/"));
        assert_eq!(components, shape("data/*.csv").1);
        assert_eq!(shape("d:/x/y.txt").0.as_deref(), Some("d:/"));
        // A colon elsewhere, or a drive without a separator, is a name.
        assert_eq!(shape("C:data.txt").0, None);
        assert_eq!(shape("ab:/x.txt").0, None);
    }

    #[test]
    fn a_glob_with_backslashes_expands_like_one_with_slashes() {
        let dir = std::env::temp_dir().join(format!("flowc-glob-{}", std::process::id()));
        fs::create_dir_all(dir.join("data").join("deep")).unwrap();
        fs::write(dir.join("data").join("a.txt"), "a\n").unwrap();
        fs::write(dir.join("data").join("deep").join("b.txt"), "b\n").unwrap();
        let paths = |glob: &str| -> Vec<String> {
            Glob::parse(glob)
                .unwrap()
                .expand(&dir)
                .unwrap()
                .into_iter()
                .map(|file| file.path)
                .collect()
        };
        assert_eq!(paths("data\\**\\*.txt"), ["data/a.txt", "data/deep/b.txt"]);
        assert_eq!(paths("data\\**\\*.txt"), paths("data/**/*.txt"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_long_pattern_does_not_backtrack_exponentially() {
        let name = "a".repeat(200);
        assert!(!matches("*a*a*a*a*a*a*a*a*a*a*b", &name));
    }
}
