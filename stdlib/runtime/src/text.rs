//! The text functions of the standard library (§7).
//!
//! Positions and lengths count Unicode scalar values (Rust `char`s), never
//! bytes. Case mapping is Unicode's full mapping (`"ß"` upper-cases to
//! `"SS"`), as `core`/`alloc` implement it, independent of any locale.
//!
//! Decisions where the language is silent:
//! - `words(s)` splits on every scalar value that is not alphanumeric
//!   (Unicode `Alphabetic` or `Numeric`), so `_`, `'` and combining marks
//!   separate words too: `words("don't snake_case")` is
//!   `["don", "t", "snake", "case"]`. Text in NFC keeps accented letters whole.
//! - `trim` removes Unicode `White_Space` at both ends.
//! - `split(s, "")` gives each scalar value of `s` as its own string
//!   (`split("", "")` is `[]`); otherwise `split` gives the pieces between
//!   non-overlapping occurrences found left to right, so `split("", ",")`
//!   is `[""]` and `split("a,", ",")` is `["a", ""]`.
//! - `replace(s, "", to)` returns `s` unchanged (there is nothing to
//!   replace); otherwise occurrences are replaced left to right, without
//!   overlap.
//! - `substr(s, start, count)` clamps: a negative `start` or `count` counts
//!   as 0, and the piece stops at the end of `s`. It never fails.
//! - `to_int` accepts optional surrounding whitespace, an optional `+` or
//!   `-`, and ASCII decimal digits (no `_`, no hex); anything else, or a
//!   value outside 64 bits, is an error.
//! - `to_float` accepts optional surrounding whitespace and a decimal number
//!   with optional sign, fraction and exponent (`1`, `-2.5`, `.5`, `1e-9`),
//!   or `inf`, `infinity`, `nan` in any letter case with an optional sign;
//!   anything else is an error. Out-of-range values round to infinity or
//!   zero as IEEE parsing does.
//! - `str(x)` of a float is its shortest round-trip digits: plain decimal
//!   with at least one fractional digit (`2.0`, `0.1`, `-0.0`, `0.0001`) when
//!   `x` is zero or `1e-4 <= |x| < 1e16`, else scientific (`1e16`, `1e-5`,
//!   `1.5e-7`, `1.2345678901234568e17`); the
//!   non-finite values are `NaN`, `inf` and `-inf`. These are exactly the
//!   spellings of `--format json` (§10). `str` of an int is decimal, of a
//!   bool `true`/`false`, of a string the string itself.

use crate::error::{Result, RuntimeError};
use crate::swar;
use crate::value::Value;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// `len(s)`: the number of Unicode scalar values.
pub fn len(s: &str) -> i64 {
    s.chars().count() as i64
}

/// `lower(s)`: exactly `str::to_lowercase`, faster on mostly-ASCII text.
///
/// One pass over the bytes into an output of about the same capacity:
/// ASCII eight bytes at a time ([`swar::ascii_lower`] of a window, up to
/// its first non-ASCII byte), Latin-1 letters mapped directly (neither
/// changes length), other scalar values one by one with
/// `char::to_lowercase`. That is `str::to_lowercase`
/// except for one rule: a capital sigma lower-cases to a final `ς` at the
/// end of a word, which depends on its neighbours. Text with a capital
/// sigma takes the standard path, so the result never differs (a property
/// test checks both).
pub fn lower(s: &str) -> String {
    let bytes = s.as_bytes();
    // Eight bytes more than the input: a window is always stored whole.
    let mut out = Vec::with_capacity(bytes.len() + 8);
    let mut at = 0;
    while at < bytes.len() {
        if let Some(window) = swar::load(bytes, at) {
            // The window's bytes up to its first non-ASCII one, lower-cased:
            // all eight are stored (one store) and the rest cut off again.
            let non_ascii = window & swar::HIGH;
            out.extend_from_slice(&swar::ascii_lower(window & !swar::HIGH).to_le_bytes());
            let Some(offset) = swar::first_marked(non_ascii) else {
                at += 8;
                continue;
            };
            out.truncate(out.len() - 8 + offset);
            at += offset;
        }
        let byte = bytes[at];
        if byte.is_ascii() {
            out.push(byte.to_ascii_lowercase());
            at += 1;
            continue;
        }
        // One non-ASCII scalar value (`at` is always on a boundary).
        if let Some(code) = latin1_at(bytes, at) {
            // Still in U+0080..U+00FF: two bytes, lead 0xC2 or 0xC3.
            let lowered = latin1_lowercase(code);
            out.extend_from_slice(&[0xC0 | (lowered >> 6) as u8, 0x80 | (lowered & 0x3F) as u8]);
            at += 2;
            continue;
        }
        let Some(c) = s[at..].chars().next() else {
            break;
        };
        if c == '\u{3a3}' {
            return s.to_lowercase();
        }
        for lowered in c.to_lowercase() {
            out.extend_from_slice(lowered.encode_utf8(&mut [0; 4]).as_bytes());
        }
        at += c.len_utf8();
    }
    utf8_built(out)
}

/// The `String` of bytes built only from whole UTF-8 encodings of scalar
/// values (ASCII bytes among them), which needs no second check: checking
/// every lower-cased line again would cost as much as lower-casing it.
#[allow(unsafe_code)]
fn utf8_built(bytes: Vec<u8>) -> String {
    debug_assert!(core::str::from_utf8(&bytes).is_ok());
    // SAFETY: the callers push only ASCII bytes and complete encodings of
    // `char`s, so `bytes` is valid UTF-8.
    unsafe { String::from_utf8_unchecked(bytes) }
}

/// The Latin-1 Supplement scalar value (U+0080 to U+00FF) whose two-byte
/// UTF-8 encoding starts at byte `at`, if that is what is there: the
/// common non-ASCII letters of Western European text, which `lower` and
/// `words` then handle without Unicode's tables.
#[inline(always)]
fn latin1_at(bytes: &[u8], at: usize) -> Option<u32> {
    match bytes.get(at..at + 2)? {
        [lead @ (0xC2 | 0xC3), next] => {
            Some((u32::from(*lead & 0x1F) << 6) | u32::from(*next & 0x3F))
        }
        _ => None,
    }
}

/// `char::to_lowercase` of a Latin-1 Supplement scalar value, which is one
/// scalar value: the capitals À to Þ (except ×) move up by 0x20, everything
/// else is already lower case or uncased. A test checks all 128.
#[inline(always)]
fn latin1_lowercase(code: u32) -> u32 {
    match code {
        0xC0..=0xD6 | 0xD8..=0xDE => code + 0x20,
        _ => code,
    }
}

/// `char::is_alphanumeric` of a Latin-1 Supplement scalar value: ª, ², ³,
/// µ, ¹, º, ¼ to ¾ and the letters À to ÿ except × and ÷. A test checks
/// all 128.
#[inline(always)]
fn latin1_alphanumeric(code: u32) -> bool {
    matches!(
        code,
        0xAA | 0xB2 | 0xB3 | 0xB5 | 0xB9 | 0xBA | 0xBC..=0xBE | 0xC0..=0xD6 | 0xD8..=0xF6 | 0xF8..=0xFF
    )
}

/// Whether the scalar value at byte `at` of `s` (a boundary) is
/// alphanumeric, and its width in bytes; `None` past the end.
#[inline(always)]
fn word_char_at(s: &str, at: usize) -> Option<(bool, usize)> {
    let bytes = s.as_bytes();
    let byte = *bytes.get(at)?;
    if byte.is_ascii() {
        return Some((byte.is_ascii_alphanumeric(), 1));
    }
    if let Some(code) = latin1_at(bytes, at) {
        return Some((latin1_alphanumeric(code), 2));
    }
    let c = s[at..].chars().next()?;
    Some((c.is_alphanumeric(), c.len_utf8()))
}

/// `upper(s)`.
pub fn upper(s: &str) -> String {
    s.to_uppercase()
}

/// `trim(s)`.
pub fn trim(s: &str) -> &str {
    s.trim()
}

/// `words(s)`: maximal runs of alphanumeric scalar values.
///
/// A byte scan: ASCII and Latin-1 scalar values are classified directly,
/// only others are decoded and asked `char::is_alphanumeric`.
pub fn words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for_each_word(s, |word| out.push(word));
    out
}

/// Calls `f` with each of [`words`] in order, without collecting them (so
/// a caller can build its own list directly).
pub fn for_each_word<'a>(s: &'a str, mut f: impl FnMut(&'a str)) {
    let mut at = 0;
    while let Some((begin, end)) = next_word(s, at) {
        f(&s[begin..end]);
        at = end;
    }
}

/// The byte range of the first of [`words`] that starts at or after byte
/// `at` of `s` (a boundary), if any: how a stage walks the words of a
/// string one by one without building their list.
///
/// Eight bytes at a time where there are eight: a window marks its ASCII
/// alphanumerics and its non-ASCII bytes. The first marked byte is where a
/// word may start; if it is ASCII, a word does start there, and most words
/// end inside the same window, at its first ASCII separator. A non-ASCII
/// byte is classified on its own by [`word_char_at`].
#[inline]
pub fn next_word(s: &str, mut at: usize) -> Option<(usize, usize)> {
    let bytes = s.as_bytes();
    // Skip what separates words.
    let begin = loop {
        if let Some(window) = swar::load(bytes, at) {
            let non_ascii = window & swar::HIGH;
            let alphanumeric = swar::marks_ascii_alphanumeric(window & !swar::HIGH) & !non_ascii;
            let Some(offset) = swar::first_marked(non_ascii | alphanumeric) else {
                at += 8;
                continue;
            };
            at += offset;
            if (alphanumeric >> (8 * offset)) & 0x80 != 0 {
                // A word starts at `at`; the bytes of the window after it
                // that end it or need a closer look:
                let stops = (non_ascii | (!alphanumeric & swar::HIGH)) >> (8 * offset);
                return Some(match swar::first_marked(stops) {
                    Some(length) if (non_ascii >> (8 * (offset + length))) & 0x80 == 0 => {
                        (at, at + length)
                    }
                    Some(length) => (at, word_end(s, at + length)),
                    None => (at, word_end(s, at - offset + 8)),
                });
            }
        }
        match word_char_at(s, at)? {
            (true, _) => break at,
            (false, width) => at += width,
        }
    };
    Some((begin, word_end(s, begin)))
}

/// Where the word that runs on at byte `at` of `s` (a boundary) ends: at
/// the first scalar value from `at` on that is not alphanumeric, or the end.
#[inline]
fn word_end(s: &str, mut at: usize) -> usize {
    let bytes = s.as_bytes();
    loop {
        if let Some(window) = swar::load(bytes, at) {
            let non_ascii = window & swar::HIGH;
            let stops =
                non_ascii | (!swar::marks_ascii_alphanumeric(window & !swar::HIGH) & swar::HIGH);
            match swar::first_marked(stops) {
                Some(offset) => at += offset,
                None => {
                    at += 8;
                    continue;
                }
            }
        }
        match word_char_at(s, at) {
            Some((true, width)) => at += width,
            _ => return at,
        }
    }
}

/// `split(s, sep)`.
pub fn split<'a>(s: &'a str, sep: &str) -> Vec<&'a str> {
    if sep.is_empty() {
        s.char_indices()
            .map(|(i, c)| &s[i..i + c.len_utf8()])
            .collect()
    } else {
        s.split(sep).collect()
    }
}

/// `join(xs, sep)`.
pub fn join<S: AsRef<str>>(pieces: &[S], sep: &str) -> String {
    let mut out = String::new();
    for (index, piece) in pieces.iter().enumerate() {
        if index > 0 {
            out.push_str(sep);
        }
        out.push_str(piece.as_ref());
    }
    out
}

/// `contains(s, sub)`.
pub fn contains(s: &str, sub: &str) -> bool {
    s.contains(sub)
}

/// `starts_with(s, prefix)`.
pub fn starts_with(s: &str, prefix: &str) -> bool {
    s.starts_with(prefix)
}

/// `ends_with(s, suffix)`.
pub fn ends_with(s: &str, suffix: &str) -> bool {
    s.ends_with(suffix)
}

/// `replace(s, from, to)`.
pub fn replace(s: &str, from: &str, to: &str) -> String {
    if from.is_empty() {
        String::from(s)
    } else {
        s.replace(from, to)
    }
}

/// `substr(s, start, count)`, clamped as the module doc says.
pub fn substr(s: &str, start: i64, count: i64) -> &str {
    // Negative counts as 0, and a count beyond `usize` (wasm32 has 32 bits)
    // as "to the end": every platform clamps alike.
    let clamp = |n: i64| usize::try_from(n.max(0)).unwrap_or(usize::MAX);
    let (start, count) = (clamp(start), clamp(count));
    let byte_at = |n: usize| s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
    let begin = byte_at(start);
    let rest = &s[begin..];
    let end = rest
        .char_indices()
        .nth(count)
        .map_or(rest.len(), |(i, _)| i);
    &rest[..end]
}

fn bad_number(text: &str, target: &'static str) -> RuntimeError {
    let mut shown: String = text.chars().take(40).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    RuntimeError::BadNumber {
        text: shown,
        target,
    }
}

/// `to_int(s)`.
pub fn to_int(s: &str) -> Result<i64> {
    let body = s.trim();
    let digits = body.strip_prefix(['+', '-']).unwrap_or(body);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_number(s, "int"));
    }
    body.parse::<i64>().map_err(|_| bad_number(s, "int"))
}

/// `to_float(s)`.
pub fn to_float(s: &str) -> Result<f64> {
    let body = s.trim();
    let unsigned = body.strip_prefix(['+', '-']).unwrap_or(body);
    let word = unsigned.to_ascii_lowercase();
    let is_special = matches!(word.as_str(), "inf" | "infinity" | "nan");
    // Rust's parser accepts exactly the decimal forms documented above once
    // the special words are handled; checking the characters first keeps
    // its other spellings out of the contract.
    let is_decimal = !unsigned.is_empty()
        && unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && unsigned.bytes().any(|b| b.is_ascii_digit());
    if !is_special && !is_decimal {
        return Err(bad_number(s, "float"));
    }
    body.parse::<f64>().map_err(|_| bad_number(s, "float"))
}

/// `str(x)` of a float, spelled as the module doc says.
pub fn float_to_str(x: f64) -> String {
    // Rust's `Debug` for f64 prints the shortest round-trip digits, with the
    // exact spellings and notation thresholds documented above.
    format!("{x:?}")
}

/// `str(x)` of any scalar; lists, tuples and records are an error.
pub fn scalar_to_str(value: &Value) -> Result<String> {
    Ok(match value {
        Value::Int(n) => n.to_string(),
        Value::Float(x) => float_to_str(*x),
        Value::Bool(b) => String::from(if *b { "true" } else { "false" }),
        Value::Str(s) => s.clone(),
        other => {
            return Err(RuntimeError::Mismatch {
                what: format!("str of a {}", other.kind_name()),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    /// Text mixing ASCII, accented and other letters, digits, marks,
    /// sigmas and punctuation: the cases the fast paths of `lower` and
    /// `words` treat differently.
    fn mixed_text() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "a",
            "Z",
            "q",
            "0",
            "9",
            " ",
            ",",
            "_",
            "'",
            "-",
            "\n",
            "\t",
            "é",
            "É",
            "ß",
            "ẞ",
            "İ",
            "Σ",
            "σ",
            "ς",
            "ΑΣ",
            "ΌΣΟΣ",
            "Ⅻ",
            "½",
            "²",
            "\u{301}",
            "日本",
            "ǅ",
            "ﬁ",
            "\u{10400}",
            "🙂",
            "\u{0}",
        ]);
        prop::collection::vec(pieces, 0..24).prop_map(|p| p.concat())
    }

    proptest! {
        #[test]
        fn lower_is_the_standard_full_case_mapping(text in mixed_text()) {
            prop_assert_eq!(lower(&text), text.to_lowercase());
        }

        #[test]
        fn lower_of_any_text_is_the_standard_one(text in any::<String>()) {
            prop_assert_eq!(lower(&text), text.to_lowercase());
        }

        #[test]
        fn words_are_the_standard_split_on_non_alphanumerics(text in mixed_text()) {
            prop_assert_eq!(words(&text), standard_words(&text));
        }

        #[test]
        fn words_of_any_text_are_the_standard_split(text in any::<String>()) {
            prop_assert_eq!(words(&text), standard_words(&text));
        }
    }

    /// The definition `words` must agree with, written the obvious way.
    fn standard_words(text: &str) -> Vec<&str> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect()
    }

    #[test]
    fn the_latin1_shortcuts_agree_with_unicode_for_every_scalar_value() {
        for code in 0x80u32..=0xFF {
            let c = char::from_u32(code).unwrap();
            let lowered: Vec<char> = c.to_lowercase().collect();
            assert_eq!(
                lowered,
                [char::from_u32(latin1_lowercase(code)).unwrap()],
                "lower of U+{code:04X}"
            );
            assert_eq!(
                latin1_alphanumeric(code),
                c.is_alphanumeric(),
                "alphanumeric U+{code:04X}"
            );
            let mut buffer = [0u8; 4];
            let encoded = c.encode_utf8(&mut buffer).as_bytes();
            assert_eq!(latin1_at(encoded, 0), Some(code));
        }
        assert_eq!(latin1_at("é".as_bytes(), 1), None);
        assert_eq!(latin1_at("ā".as_bytes(), 0), None);
    }

    #[test]
    fn lower_keeps_the_final_sigma_rule() {
        assert_eq!(lower("ΟΔΟΣ ΑΣ Σ"), "ΟΔΟΣ ΑΣ Σ".to_lowercase());
        assert!(lower("ΟΔΟΣ").ends_with('ς'));
        assert_eq!(lower("İx"), "i\u{307}x");
        assert_eq!(lower("ABC déF"), "abc déf");
    }

    #[test]
    fn lengths_count_scalar_values() {
        assert_eq!(len(""), 0);
        assert_eq!(len("héllo"), 5);
        assert_eq!(len("😀a"), 2);
    }

    #[test]
    fn case_mapping_is_full_unicode() {
        assert_eq!(upper("straße"), "STRASSE");
        assert_eq!(lower("ΑΒΓ Ä"), "αβγ ä");
        assert_eq!(lower("İ"), "i\u{307}");
        assert_eq!(trim("\u{3000} a b \n"), "a b");
    }

    #[test]
    fn words_are_alphanumeric_runs() {
        assert_eq!(
            words("Hello, wörld! x2 — 42"),
            vec!["Hello", "wörld", "x2", "42"]
        );
        assert_eq!(words("  ...  "), Vec::<&str>::new());
        assert_eq!(words("日本語 テキスト"), vec!["日本語", "テキスト"]);
    }

    #[test]
    fn words_split_on_punctuation_marks_and_underscores() {
        assert_eq!(words("don't snake_case"), vec!["don", "t", "snake", "case"]);
        // A decomposed accent (a combining mark) is not alphanumeric; the
        // composed letter is.
        assert_eq!(words("cafe\u{301}!"), vec!["cafe"]);
        assert_eq!(words("caf\u{e9}!"), vec!["caf\u{e9}"]);
        assert_eq!(words("½ Ⅻ ²"), vec!["½", "Ⅻ", "²"]);
        assert_eq!(words(""), Vec::<&str>::new());
        assert_eq!(words("a\u{0}b\tc\r\nd"), vec!["a", "b", "c", "d"]);
    }

    #[test]
    fn edge_cases_of_empty_text() {
        assert_eq!(lower(""), "");
        assert_eq!(upper(""), "");
        assert_eq!(trim("   "), "");
        assert!(contains("", ""));
        assert!(!contains("", "a"));
        assert!(starts_with("", "") && ends_with("abc", ""));
        assert_eq!(replace("", "a", "b"), "");
        assert_eq!(replace("aaa", "a", ""), "");
        assert_eq!(substr("", 0, 5), "");
        assert_eq!(substr("abc", 0, 0), "");
        assert_eq!(join(&[""], ","), "");
        assert_eq!(join(&["", ""], ","), ",");
        assert_eq!(split(",", ","), vec!["", ""]);
    }

    #[test]
    fn splitting_and_joining() {
        assert_eq!(split("a,b,,c", ","), vec!["a", "b", "", "c"]);
        assert_eq!(split("a,", ","), vec!["a", ""]);
        assert_eq!(split("", ","), vec![""]);
        assert_eq!(split("hé", ""), vec!["h", "é"]);
        assert_eq!(split("", ""), Vec::<&str>::new());
        assert_eq!(split("a::b", "::"), vec!["a", "b"]);
        assert_eq!(join(&["a", "b", "c"], ", "), "a, b, c");
        assert_eq!(join::<&str>(&[], ", "), "");
    }

    #[test]
    fn searching_and_replacing() {
        assert!(contains("haystack", "st"));
        assert!(contains("x", ""));
        assert!(starts_with("haystack", "hay") && !starts_with("hay", "haystack"));
        assert!(ends_with("haystack", "stack"));
        assert_eq!(replace("aaa", "aa", "b"), "ba");
        assert_eq!(replace("abc", "", "x"), "abc");
        assert_eq!(replace("a.b.c", ".", "::"), "a::b::c");
    }

    #[test]
    fn substr_clamps() {
        assert_eq!(substr("héllo", 1, 3), "éll");
        assert_eq!(substr("héllo", 3, 100), "lo");
        assert_eq!(substr("héllo", 10, 2), "");
        assert_eq!(substr("héllo", -2, 2), "hé");
        assert_eq!(substr("héllo", 1, -1), "");
        assert_eq!(substr("héllo", i64::MAX, i64::MAX), "");
    }

    #[test]
    fn parsing_numbers() {
        assert_eq!(to_int(" 42 "), Ok(42));
        assert_eq!(to_int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(to_int("+7"), Ok(7));
        for bad in ["", "-", "9223372036854775808", "1_000", "0x10", "4.0", "١٢"] {
            assert!(to_int(bad).is_err(), "{bad}");
        }
        assert_eq!(to_float("2.5"), Ok(2.5));
        assert_eq!(to_float(" -1e-9"), Ok(-1e-9));
        assert_eq!(to_float(".5"), Ok(0.5));
        assert_eq!(to_float("5."), Ok(5.0));
        assert_eq!(to_float("1e-400"), Ok(0.0));
        assert_eq!(to_float("-inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(to_float("Infinity"), Ok(f64::INFINITY));
        assert!(to_float("NaN").unwrap().is_nan());
        assert_eq!(to_float("1e999"), Ok(f64::INFINITY));
        for bad in [
            "", "e5", ".", "1.2.3", "abc", "1,5", "infinit", "0x1p3", "--1",
        ] {
            assert!(to_float(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scalars_print() {
        let cases = [
            (2.0, "2.0"),
            (0.1, "0.1"),
            (-0.0, "-0.0"),
            (1e16, "1e16"),
            (1e15, "1000000000000000.0"),
            (1e-4, "0.0001"),
            (1e-5, "1e-5"),
            (123456789012345680.0, "1.2345678901234568e17"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e308"),
            (1.5e-7, "1.5e-7"),
            (123456.789, "123456.789"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "NaN"),
        ];
        for (x, text) in cases {
            assert_eq!(float_to_str(x), text);
        }
        assert_eq!(scalar_to_str(&Value::Int(-5)), Ok(String::from("-5")));
        assert_eq!(scalar_to_str(&Value::Bool(true)), Ok(String::from("true")));
        assert_eq!(
            scalar_to_str(&Value::Bool(false)),
            Ok(String::from("false"))
        );
        assert_eq!(
            scalar_to_str(&Value::Int(i64::MIN)),
            Ok(String::from("-9223372036854775808"))
        );
        assert_eq!(scalar_to_str(&Value::Float(0.5)), Ok(String::from("0.5")));
        assert_eq!(scalar_to_str(&Value::str("")), Ok(String::new()));
        assert!(scalar_to_str(&Value::Tuple(vec![Value::Int(1)])).is_err());
        assert!(scalar_to_str(&Value::Record(vec![])).is_err());
        assert_eq!(scalar_to_str(&Value::str("x")), Ok(String::from("x")));
        assert!(scalar_to_str(&Value::List(vec![])).is_err());
    }

    proptest! {
        #[test]
        fn floats_round_trip_through_text(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            let back = to_float(&float_to_str(x)).unwrap();
            prop_assert!(back.to_bits() == bits || (x.is_nan() && back.is_nan()));
        }

        #[test]
        fn ints_round_trip_through_text(n in any::<i64>()) {
            prop_assert_eq!(to_int(&n.to_string()), Ok(n));
        }

        #[test]
        fn substr_never_panics(s in ".{0,12}", start in any::<i64>(), count in any::<i64>()) {
            let piece = substr(&s, start, count);
            prop_assert!(s.contains(piece));
        }
    }
}
