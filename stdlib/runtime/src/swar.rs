//! Eight bytes at a time ("SIMD within a register"): the byte scans that
//! stages spend most of their time in (finding line ends, lower-casing,
//! finding words), done on one `u64` per step instead of byte by byte.
//!
//! On wasm32 a `u64` is a native `i64` and an unaligned eight-byte load is
//! one instruction, while every byte of a byte loop costs a load, compares
//! and a branch under Cranelift. Each function here is exact, not a
//! heuristic: the tests compare every one with its byte-by-byte meaning.
//!
//! Bytes are read little-endian, so byte `i` of a slice is bits
//! `8i..8i+8` of the word and the first matching byte is the lowest set
//! marker bit ([`first_marked`]).

/// `0x01` in every byte.
const ONES: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte: the marker bit of each byte.
pub const HIGH: u64 = 0x8080_8080_8080_8080;

/// The eight bytes of `bytes` (exactly eight long) as an array.
#[inline(always)]
pub fn eight(bytes: &[u8]) -> [u8; 8] {
    let mut word = [0u8; 8];
    word.copy_from_slice(bytes);
    word
}

/// The eight bytes at `at`, little-endian, when all of them are in
/// `bytes`.
#[inline(always)]
pub fn load(bytes: &[u8], at: usize) -> Option<u64> {
    let window = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(eight(window)))
}

/// The byte offset of the first byte whose marker bit is set in `marks`
/// (which has no other bits set), if any.
#[inline(always)]
pub fn first_marked(marks: u64) -> Option<usize> {
    if marks == 0 {
        None
    } else {
        Some((marks.trailing_zeros() / 8) as usize)
    }
}

/// Marks the bytes of `word` equal to `byte`: exact for the lowest marked
/// byte, which is all [`first_marked`] reads (a byte above a match may be
/// marked falsely by the borrow).
#[inline(always)]
pub fn marks_first_equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGH
}

/// Marks the bytes of `word` that are at least `low`, for a word of ASCII
/// bytes (each below 0x80) and `low` in `1..=0x80`: adding `0x80 - low`
/// to each byte sets its marker bit exactly when it is at least `low`, and
/// never carries into the next byte.
#[inline(always)]
fn marks_at_least(ascii: u64, low: u8) -> u64 {
    ascii.wrapping_add(ONES * u64::from(0x80 - low)) & HIGH
}

/// Marks the bytes of an ASCII `word` (every byte below 0x80) that lie in
/// `low..=high` (with `high < 0x7F`).
#[inline(always)]
fn marks_in_range(ascii: u64, low: u8, high: u8) -> u64 {
    marks_at_least(ascii, low) & !marks_at_least(ascii, high + 1)
}

/// `word` with the ASCII capitals `A` to `Z` lower-cased, for a word of
/// ASCII bytes (every byte below 0x80).
#[inline(always)]
pub fn ascii_lower(ascii: u64) -> u64 {
    // A capital's marker bit shifted down two is 0x20, the case bit.
    ascii | (marks_in_range(ascii, b'A', b'Z') >> 2)
}

/// Marks the ASCII alphanumeric bytes (`0-9`, `A-Z`, `a-z`) of a word of
/// ASCII bytes.
#[inline(always)]
pub fn marks_ascii_alphanumeric(ascii: u64) -> u64 {
    // Setting the case bit folds capitals onto small letters; it moves no
    // digit into a letter's range or back.
    let folded = ascii | (ONES * 0x20);
    marks_in_range(ascii, b'0', b'9') | marks_in_range(folded, b'a', b'z')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words that put every byte value in every position, and random ones.
    fn words() -> impl Iterator<Item = [u8; 8]> {
        let every_byte = (0..=255u8).flat_map(|b| {
            (0..8).map(move |i| {
                let mut w = *b"aZ9 .\n\x7f\x80";
                w[i] = b;
                w
            })
        });
        let mut state = 0x1234_5678_9abc_def0u64;
        let random = (0..20_000).map(move |_| {
            state = crate::table::splitmix64(state);
            state.to_le_bytes()
        });
        every_byte.chain(random)
    }

    fn ascii(w: [u8; 8]) -> [u8; 8] {
        w.map(|b| b & 0x7F)
    }

    fn bits(marks: u64) -> [bool; 8] {
        core::array::from_fn(|i| marks >> (8 * i + 7) & 1 == 1)
    }

    #[test]
    fn first_equal_finds_the_first_match() {
        for w in words() {
            for byte in [b'\n', b'\r', 0, 0x80, 0xFF] {
                let found = first_marked(marks_first_equal(u64::from_le_bytes(w), byte));
                assert_eq!(found, w.iter().position(|b| *b == byte), "{w:?} {byte}");
            }
        }
    }

    #[test]
    fn ascii_lower_is_to_ascii_lowercase() {
        for w in words().map(ascii) {
            let lowered = ascii_lower(u64::from_le_bytes(w)).to_le_bytes();
            assert_eq!(lowered, w.map(|b| b.to_ascii_lowercase()), "{w:?}");
        }
    }

    #[test]
    fn alphanumeric_marks_are_is_ascii_alphanumeric() {
        for w in words().map(ascii) {
            let marks = bits(marks_ascii_alphanumeric(u64::from_le_bytes(w)));
            assert_eq!(marks, w.map(|b| b.is_ascii_alphanumeric()), "{w:?}");
        }
    }

    #[test]
    fn load_needs_eight_bytes() {
        let bytes = b"0123456789";
        assert_eq!(load(bytes, 2), Some(u64::from_le_bytes(*b"23456789")));
        assert_eq!(load(bytes, 3), None);
        assert_eq!(load(bytes, usize::MAX), None);
    }
}
