//! `matches(s, regex)`: regular expressions of the standard library (§7).
//!
//! # Syntax
//! Patterns use the syntax of Rust's `regex` crate (as the `regex-syntax`
//! crate parses it), with Unicode mode on:
//! - literals, `.` (any scalar value except `\n`), classes `[a-z]`,
//!   `[^…]`, `[[:alpha:]]`, `\d \w \s` and their negations (Unicode-aware:
//!   `\d` matches `٣`, `\w` matches `é`), Unicode properties `\p{Greek}`,
//!   `\pL`, `\p{Lu}`, `\p{Alphabetic}`, `\p{Age:6.0}` and their negations
//!   `\P{…}` (every property table of `regex-syntax` is built in, so a
//!   pattern means the same on every peer);
//! - repetition `* + ? {n} {n,} {n,m}` and the lazy forms `*?` …;
//! - groups `(…)`, `(?:…)`, `(?P<name>…)`, alternation `|`;
//! - anchors `^ $ \A \z`, Unicode word boundaries `\b \B`;
//! - flags `(?i)` (Unicode simple case folding), `(?m)`, `(?s)`, `(?x)`,
//!   `(?U)`, `(?R)`, also scoped as `(?i:…)`.
//!
//! Backreferences and look-around do not exist in this syntax: such a
//! pattern is an error, as is any other pattern that does not parse.
//!
//! # Meaning
//! `matches(s, p)` is true when `p` matches somewhere in `s`; anchor it with
//! `^…$` to require the whole text. The empty pattern matches every text.
//!
//! # Cost
//! Matching runs on automata (a lazy DFA, falling back to a Pike VM), never
//! by backtracking, so the time is linear in the length of `s` for a given
//! pattern: `(a|a)*b` over a long run of `a`s takes microseconds, not
//! centuries. Patterns nest at most [`NEST_LIMIT`] deep and compile to at
//! most [`NFA_SIZE_LIMIT`] bytes of automaton (`a{1000}{1000}` is too large);
//! beyond those limits the pattern is an error rather than a memory hog.
//!
//! # Errors
//! A bad pattern is a [`RuntimeError::Regex`] holding the byte offset into
//! the pattern and a one-line reason, such as
//! `invalid regular expression at byte 3: unclosed group`.
//!
//! # Caching
//! Patterns are nearly always literals, so a stage compiles each one once:
//! a [`RegexCache`] keeps the [`RegexCache::CAPACITY`] most recently used
//! compiled patterns. The runtime keeps no global state, so whoever runs a
//! stage owns its cache (and must drop or clear it before freeing the memory
//! it lives in).

use crate::error::{Result, RuntimeError};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use regex_automata::meta;
use regex_automata::nfa::thompson::WhichCaptures;

/// How deep groups and repetitions may nest in a pattern.
pub const NEST_LIMIT: u32 = 100;

/// The largest compiled automaton, in bytes, a pattern may need.
pub const NFA_SIZE_LIMIT: usize = 2 << 20;

/// The memory, in bytes, the lazy DFA of one pattern may use while matching;
/// past it the matcher falls back to the slower Pike VM, still linear.
const LAZY_DFA_CAPACITY: usize = 512 << 10;

/// A compiled pattern.
#[derive(Clone, Debug)]
pub struct Regex {
    automaton: meta::Regex,
}

impl Regex {
    /// Compiles `pattern`, or explains where and why it is not a valid one.
    pub fn new(pattern: &str) -> Result<Regex> {
        let hir = regex_syntax::ParserBuilder::new()
            .nest_limit(NEST_LIMIT)
            .unicode(true)
            .utf8(true)
            .build()
            .parse(pattern)
            .map_err(syntax_error)?;
        let config = meta::Config::new()
            .nfa_size_limit(Some(NFA_SIZE_LIMIT))
            .hybrid_cache_capacity(LAZY_DFA_CAPACITY)
            // `matches` never reports groups, so the automata need not
            // track them.
            .which_captures(WhichCaptures::Implicit);
        let automaton = meta::Builder::new()
            .configure(config)
            .build_from_hir(&hir)
            .map_err(|error| RuntimeError::Regex {
                position: 0,
                message: match error.size_limit() {
                    Some(limit) => format!(
                        "the pattern needs an automaton larger than the limit of {limit} bytes"
                    ),
                    None => error.to_string(),
                },
            })?;
        Ok(Regex { automaton })
    }

    /// Whether the pattern matches somewhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.automaton.is_match(text)
    }
}

/// A [`RuntimeError::Regex`] from a parse error, with its byte offset and
/// the short reason (the full `Display` of the parser draws a diagram over
/// several lines, which an error record does not want).
fn syntax_error(error: regex_syntax::Error) -> RuntimeError {
    let (position, message) = match &error {
        regex_syntax::Error::Parse(parse) => (parse.span().start.offset, parse.kind().to_string()),
        regex_syntax::Error::Translate(translate) => {
            (translate.span().start.offset, translate.kind().to_string())
        }
        other => (0, other.to_string()),
    };
    RuntimeError::Regex { position, message }
}

/// `matches(s, pattern)`, compiling the pattern for this one call.
pub fn matches(text: &str, pattern: &str) -> Result<bool> {
    Ok(Regex::new(pattern)?.is_match(text))
}

/// A compiled pattern in a [`RegexCache`], with its own scratch memory so a
/// match needs no allocation once warm.
#[derive(Debug)]
struct Entry {
    pattern: String,
    regex: Regex,
    scratch: meta::Cache,
}

/// The most recently used compiled patterns.
#[derive(Debug, Default)]
pub struct RegexCache {
    /// Most recently used first; at most [`RegexCache::CAPACITY`] long.
    entries: Vec<Entry>,
    compilations: u64,
}

impl RegexCache {
    /// How many compiled patterns the cache keeps.
    pub const CAPACITY: usize = 16;

    /// An empty cache.
    pub fn new() -> RegexCache {
        RegexCache::default()
    }

    /// `matches(text, pattern)`, compiling `pattern` only if it is not among
    /// the most recently used. A bad pattern is an error every time it is
    /// used (errors are not cached: the first one ends the stage anyway).
    pub fn matches(&mut self, text: &str, pattern: &str) -> Result<bool> {
        let found = self
            .entries
            .iter()
            .position(|entry| entry.pattern == pattern);
        match found {
            Some(index) => {
                // Move the hit to the front so eviction drops the least
                // recently used pattern.
                if let Some(used) = self.entries.get_mut(..=index) {
                    used.rotate_right(1);
                }
            }
            None => {
                let regex = Regex::new(pattern)?;
                self.compilations += 1;
                let scratch = regex.automaton.create_cache();
                self.entries.insert(
                    0,
                    Entry {
                        pattern: String::from(pattern),
                        regex,
                        scratch,
                    },
                );
                self.entries.truncate(Self::CAPACITY);
            }
        }
        Ok(match self.entries.first_mut() {
            Some(entry) => entry
                .regex
                .automaton
                .is_match_with(&mut entry.scratch, &regex_automata::Input::new(text)),
            // Unreachable: the pattern was just found or inserted at the front.
            None => Regex::new(pattern)?.is_match(text),
        })
    }

    /// How many compiled patterns the cache holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache holds no compiled pattern.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many patterns this cache has compiled since it was created.
    pub fn compilations(&self) -> u64 {
        self.compilations
    }

    /// Drops every compiled pattern.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use proptest::prelude::*;

    fn is_match(text: &str, pattern: &str) -> bool {
        matches(text, pattern).unwrap()
    }

    #[test]
    fn matches_anywhere_unless_anchored() {
        assert!(is_match("haystack", "st"));
        assert!(!is_match("haystack", "^st"));
        assert!(is_match("haystack", "^hay.*k$"));
        assert!(is_match("", ""));
        assert!(is_match("anything", ""));
        assert!(is_match("", "^$"));
        assert!(!is_match("x", "^$"));
        assert!(is_match("a1b22", r"^[a-z]\d[a-z]\d{2}$"));
        assert!(is_match("ab\ncd", "(?m)^cd$"));
        assert!(!is_match("ab\ncd", "^cd$"));
        assert!(!is_match("a\nb", "a.b"));
        assert!(is_match("a\nb", "(?s)a.b"));
    }

    #[test]
    fn documented_syntax_is_supported() {
        assert!(is_match("x9", r"^[\w&&[^\d]]\d$"));
        assert!(!is_match("c", r"^[a-z--c]$"));
        assert!(is_match("ab", "(?x) a  b  # spaced out"));
        assert!(is_match("A b", "(?i)a(?-i) b"));
        assert!(!is_match("A B", "(?i)a(?-i) b"));
        assert!(is_match("a\r\nb", "(?mR)^a$"));
        assert!(is_match("😀", r"^\u{1F600}$"));
        assert!(is_match("\x7F", r"^\x7F$"));
        assert!(is_match("aaa", "^a{2,3}?$"));
        assert!(is_match("2024-01-31", r"^(?P<year>\d{4})-\d{2}-\d{2}$"));
        assert!(is_match("a.b", r"^a\.b$") && !is_match("axb", r"^a\.b$"));
    }

    #[test]
    fn unicode_aware() {
        assert!(is_match("é", r"^\w$"));
        assert!(is_match("٣", r"^\d$"));
        assert!(is_match("😀", "^.$"));
        assert!(is_match("ΣΑΣ", "(?i)^σας$"));
        assert!(is_match("straße", r"^\p{Latin}+$"));
        assert!(is_match("Ωmega", r"^\p{Greek}"));
        // Every Unicode table is built in, in wasm as natively.
        assert!(is_match("a", r"^\p{Age:1.1}$"));
        assert!(!is_match("😀", r"^\p{Age:1.1}$"));
        assert!(is_match("👍🏽", r"^\p{Emoji}"));
        assert!(is_match("\u{3000}", r"^\s$"));
        assert!(is_match("naïve café", r"\bcafé\b"));
        assert!(!is_match("cafés", r"\bcafé\b"));
    }

    #[test]
    fn bad_patterns_are_errors_with_a_position() {
        let cases = [
            ("ab(c", 2, "unclosed group"),
            ("a)", 1, "unopened group"),
            ("[z-a]", 1, "invalid character class range"),
            ("x{3,1}", 1, "invalid repetition count range"),
            (r"\p{Klingon}", 0, "Unicode property not found"),
            ("(?=a)", 0, "look-around"),
            (r"(a)\1", 3, "backreferences are not supported"),
            ("*", 0, "repetition operator missing expression"),
        ];
        for (pattern, position, reason) in cases {
            match matches("text", pattern) {
                Err(RuntimeError::Regex {
                    position: at,
                    message,
                }) => {
                    assert_eq!(at, position, "{pattern}: {message}");
                    assert!(message.contains(reason), "{pattern}: {message}");
                    assert!(!message.contains('\n'), "{pattern}: {message}");
                }
                other => panic!("{pattern}: expected a regex error, got {other:?}"),
            }
        }
        let error = matches("", "ab(c").unwrap_err().to_string();
        assert_eq!(
            error,
            "invalid regular expression at byte 2: unclosed group"
        );
        assert_eq!(matches("", "ab(c").unwrap_err().kind(), "parse");
    }

    #[test]
    fn oversized_patterns_are_errors() {
        match matches("a", "a{1000}{1000}") {
            Err(RuntimeError::Regex { message, .. }) => {
                assert!(message.contains("larger than the limit"), "{message}")
            }
            other => panic!("expected a size error, got {other:?}"),
        }
        let deep = "(".repeat(200) + &")".repeat(200);
        assert!(matches!(
            matches("", &deep),
            Err(RuntimeError::Regex { message, .. }) if message.contains("nest")
        ));
    }

    #[test]
    fn pathological_patterns_run_in_linear_time() {
        // A backtracking matcher needs about 2^n steps for these; n = 20,000
        // would not finish in the lifetime of the machine.
        let run = "a".repeat(20_000);
        for pattern in [
            "^(a|a)*b$",
            "^(a*)*b$",
            "^(a+a+)+b$",
            "(x+x+)+y",
            "^(a|aa)*c",
        ] {
            assert!(!is_match(&run, pattern), "{pattern}");
        }
        let mut cache = RegexCache::new();
        let spaced = " ".repeat(50_000) + "x";
        assert!(!cache.matches(&spaced, r"^\s*$").unwrap());
        assert!(cache.matches(&spaced, r"^\s*x$").unwrap());
    }

    #[test]
    fn the_cache_compiles_each_pattern_once() {
        let mut cache = RegexCache::new();
        for line in ["error: disk", "ok", "error: net", "warning"] {
            let expected = line.starts_with("error");
            assert_eq!(cache.matches(line, "^error:"), Ok(expected));
        }
        assert_eq!(cache.compilations(), 1);
        assert_eq!(cache.len(), 1);
        assert!(cache.matches("x", "(").is_err());
        assert_eq!(cache.len(), 1);

        // Fill past the capacity; the pattern used in between stays cached.
        for n in 0..RegexCache::CAPACITY + 4 {
            let pattern = format!("^{n}$");
            assert_eq!(cache.matches(&n.to_string(), &pattern), Ok(true));
            assert_eq!(cache.matches("error: again", "^error:"), Ok(true));
        }
        assert_eq!(cache.len(), RegexCache::CAPACITY);
        assert_eq!(cache.compilations(), 1 + RegexCache::CAPACITY as u64 + 4);
        // The oldest numbered pattern was evicted: using it compiles again.
        assert_eq!(cache.matches("0", "^0$"), Ok(true));
        assert_eq!(cache.compilations(), 2 + RegexCache::CAPACITY as u64 + 4);
        cache.clear();
        assert!(cache.is_empty());
    }

    proptest! {
        #[test]
        fn literal_patterns_agree_with_contains(text in "[ab.]{0,12}", needle in "[ab]{0,4}") {
            prop_assert_eq!(matches(&text, &needle), Ok(text.contains(&needle)));
        }

        #[test]
        fn arbitrary_patterns_never_panic(text in ".{0,16}", pattern in ".{0,16}") {
            let mut cache = RegexCache::new();
            let fresh = matches(&text, &pattern);
            prop_assert_eq!(cache.matches(&text, &pattern), fresh.clone());
            prop_assert_eq!(cache.matches(&text, &pattern), fresh);
        }
    }
}
