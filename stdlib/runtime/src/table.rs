//! A deterministic hash table keyed by encoded values, the stable `hash`,
//! and the pure `rand`.
//!
//! # The hash function
//!
//! [`hash_bytes`] is the same on every platform and every run (no random
//! seed: results must not depend on the peer). It reads the input as 64-bit
//! little-endian words, the last one zero-padded:
//!
//! ```text
//! h = 0x243f6a8885a308d3 ^ (len · 0x9e3779b97f4a7c15)
//! for each word w:  h = rotl(h ^ w, 23) · 0x9e3779b97f4a7c15 ; h ^= h >> 29
//! result = mix64(h)
//! ```
//!
//! with all arithmetic wrapping modulo 2^64 and `mix64` the SplitMix64
//! finaliser (`z ^= z >> 30; z ·= 0xbf58476d1ce4e5b9; z ^= z >> 27;
//! z ·= 0x94d049bb133111eb; z ^= z >> 31`). It is not cryptographic; the
//! table resolves collisions by comparing keys.
//!
//! Flow's `hash(x)` is [`hash_value`]: `hash_bytes` of the canonical encoding
//! of `x`, reinterpreted as `i64`. `rand(seed)` is [`rand`]: the top 53 bits
//! of `splitmix64(seed)` divided by 2^53, so it lies in `[0, 1)`.
//!
//! # The table
//!
//! [`ByteTable`] maps byte strings (canonical value encodings) to values of
//! any type. Entries live in insertion order in a vector; an open-addressing
//! index with linear probing finds them. A short key (most words, every
//! number) lives inside its entry, so comparing it reads no other memory. Iteration order is insertion order,
//! and [`ByteTable::into_sorted`] gives entries sorted by key bytes, which is
//! what canonical partial encodings use.

use crate::encode::encode_value;
use crate::swar::eight;
use crate::value::Value;
use alloc::vec;
use alloc::vec::Vec;

const SEED: u64 = 0x243f_6a88_85a3_08d3;
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 finaliser: a bijective mix of 64 bits.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One step of SplitMix64 from `state`: `mix64(state + golden ratio)`.
pub fn splitmix64(state: u64) -> u64 {
    mix64(state.wrapping_add(GOLDEN))
}

/// The stable hash of a byte string described in the module doc.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = SEED ^ (bytes.len() as u64).wrapping_mul(GOLDEN);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        h = step(h, u64::from_le_bytes(eight(chunk)));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // Byte by byte: a copy of variable length would be a `memory.copy`
        // call on wasm32, dearer than these few shifts.
        let mut word = 0u64;
        for (index, byte) in rest.iter().enumerate() {
            word |= u64::from(*byte) << (8 * index);
        }
        h = step(h, word);
    }
    mix64(h)
}

/// Whether two byte strings are equal, eight bytes at a time: on wasm32
/// `==` on slices calls a `memcmp` that compares byte by byte, and table
/// keys (encoded words, numbers) are short.
fn bytes_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut left = a.chunks_exact(8);
    let mut right = b.chunks_exact(8);
    for (x, y) in (&mut left).zip(&mut right) {
        if u64::from_le_bytes(eight(x)) != u64::from_le_bytes(eight(y)) {
            return false;
        }
    }
    let (x, y) = (left.remainder(), right.remainder());
    (0..x.len()).all(|index| x[index] == y[index])
}

/// The order of two byte strings, exactly `a.cmp(b)` (a property test
/// checks), eight bytes at a time: on wasm32 slice comparison calls a
/// `memcmp` that goes byte by byte, and partials sort every table's keys.
pub fn bytes_cmp(a: &[u8], b: &[u8]) -> core::cmp::Ordering {
    let mut left = a.chunks_exact(8);
    let mut right = b.chunks_exact(8);
    for (x, y) in (&mut left).zip(&mut right) {
        // Big-endian: the first byte is the most significant.
        match u64::from_be_bytes(eight(x)).cmp(&u64::from_be_bytes(eight(y))) {
            core::cmp::Ordering::Equal => {}
            order => return order,
        }
    }
    // At most one side still has whole words; compare what is left byte
    // by byte (the shorter tail first on a tie).
    let done = a.len().min(b.len()) / 8 * 8;
    a[done..].cmp(&b[done..])
}

fn step(h: u64, word: u64) -> u64 {
    let h = (h ^ word).rotate_left(23).wrapping_mul(GOLDEN);
    h ^ (h >> 29)
}

/// Flow's `hash(x)`: the stable hash of the canonical encoding of `x`.
pub fn hash_value(value: &Value) -> i64 {
    hash_bytes(&encode_value(value)) as i64
}

/// Flow's `rand(seed)`: a float in `[0, 1)`, a pure function of `seed`.
pub fn rand(seed: i64) -> f64 {
    (splitmix64(seed as u64) >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// The longest key kept inside its entry.
const INLINE: usize = 22;

/// The bytes of a key: inside the entry up to [`INLINE`] bytes, else on
/// the heap.
#[derive(Clone, Debug)]
enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Vec<u8>),
}

impl Key {
    fn new(key: &[u8]) -> Key {
        if key.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            // Byte by byte: a copy of a few bytes as a `memory.copy` call
            // on wasm32 costs more.
            for (slot, byte) in bytes.iter_mut().zip(key) {
                *slot = *byte;
            }
            Key::Inline {
                len: key.len() as u8,
                bytes,
            }
        } else {
            Key::Heap(Vec::from(key))
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Key::Heap(bytes) => bytes,
        }
    }

    fn into_vec(self) -> Vec<u8> {
        match self {
            Key::Inline { .. } => Vec::from(self.as_slice()),
            Key::Heap(bytes) => bytes,
        }
    }
}

/// A hash table from byte strings to `V`, deterministic in every respect.
#[derive(Clone, Debug, Default)]
pub struct ByteTable<V> {
    /// Key, value and hash, in insertion order.
    entries: Vec<(Key, V, u64)>,
    /// Open-addressing slots: 0 is empty, otherwise entry index + 1.
    slots: Vec<u32>,
}

impl<V> ByteTable<V> {
    /// An empty table.
    pub fn new() -> Self {
        ByteTable {
            entries: Vec::new(),
            slots: Vec::new(),
        }
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table has no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn find(&self, key: &[u8], hash: u64) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut slot = (hash as usize) & mask;
        loop {
            match self.slots[slot] {
                0 => return Err(slot),
                index => {
                    let (entry_key, _, entry_hash) = &self.entries[index as usize - 1];
                    if *entry_hash == hash && bytes_equal(entry_key.as_slice(), key) {
                        return Ok(index as usize - 1);
                    }
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let capacity = (self.slots.len() * 2).max(16);
        self.slots = vec![0; capacity];
        let mask = capacity - 1;
        for (index, (_, _, hash)) in self.entries.iter().enumerate() {
            let mut slot = (*hash as usize) & mask;
            while self.slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            self.slots[slot] = index as u32 + 1;
        }
    }

    /// The value for `key`, if present.
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        if self.slots.is_empty() {
            return None;
        }
        let index = self.find(key, hash_bytes(key)).ok()?;
        Some(&self.entries[index].1)
    }

    /// The value for `key`, inserting `make()` first if absent.
    pub fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> V) -> &mut V {
        // Keep the load factor at most one half so probes stay short.
        if (self.entries.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let hash = hash_bytes(key);
        let index = match self.find(key, hash) {
            Ok(index) => index,
            Err(slot) => {
                self.entries.push((Key::new(key), make(), hash));
                self.slots[slot] = self.entries.len() as u32;
                self.entries.len() - 1
            }
        };
        &mut self.entries[index].1
    }

    /// The value for `key`, mutably, if present.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        if self.slots.is_empty() {
            return None;
        }
        let index = self.find(key, hash_bytes(key)).ok()?;
        Some(&mut self.entries[index].1)
    }

    /// Sets the value for `key`, returning the previous one.
    pub fn insert(&mut self, key: &[u8], value: V) -> Option<V> {
        if (self.entries.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let hash = hash_bytes(key);
        match self.find(key, hash) {
            Ok(index) => Some(core::mem::replace(&mut self.entries[index].1, value)),
            Err(slot) => {
                self.entries.push((Key::new(key), value, hash));
                self.slots[slot] = self.entries.len() as u32;
                None
            }
        }
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.entries.iter().map(|(k, v, _)| (k.as_slice(), v))
    }

    /// All entries, sorted by key bytes.
    pub fn into_sorted(self) -> Vec<(Vec<u8>, V)> {
        let mut entries: Vec<(Vec<u8>, V)> = self
            .entries
            .into_iter()
            .map(|(k, v, _)| (k.into_vec(), v))
            .collect();
        // Keys are distinct, so an unstable sort gives the one order.
        entries.sort_unstable_by(|a, b| bytes_cmp(&a.0, &b.0));
        entries
    }

    /// Merges `other` into `self`, combining values of keys in both.
    pub fn merge_with(&mut self, other: ByteTable<V>, mut combine: impl FnMut(&mut V, V)) {
        for (key, value, hash) in other.entries {
            if (self.entries.len() + 1) * 2 > self.slots.len() {
                self.grow();
            }
            match self.find(key.as_slice(), hash) {
                Ok(index) => combine(&mut self.entries[index].1, value),
                Err(slot) => {
                    self.entries.push((key, value, hash));
                    self.slots[slot] = self.entries.len() as u32;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn bytes_equal_is_slice_equality(
            a in proptest::collection::vec(0u8..4, 0..40),
            b in proptest::collection::vec(0u8..4, 0..40),
        ) {
            proptest::prop_assert_eq!(bytes_equal(&a, &b), a == b);
            proptest::prop_assert!(bytes_equal(&a, &a));
        }

        #[test]
        fn bytes_cmp_is_slice_order(
            a in proptest::collection::vec(0u8..4, 0..40),
            b in proptest::collection::vec(0u8..4, 0..40),
        ) {
            proptest::prop_assert_eq!(bytes_cmp(&a, &b), a.cmp(&b));
            proptest::prop_assert_eq!(bytes_cmp(&a, &a), core::cmp::Ordering::Equal);
        }
    }

    #[test]
    fn hashes_are_pinned() {
        // These values are part of the language's contract (`hash` is stable
        // across peers and releases); a change here is a breaking change.
        assert_eq!(hash_bytes(b""), mix64(SEED));
        assert_eq!(hash_bytes(b"abc"), 7_974_858_643_451_990_183_u64);
        assert_eq!(hash_value(&Value::Int(1)), hash_bytes(&[1, 2]) as i64);
        assert_ne!(hash_bytes(b"a"), hash_bytes(b"a\0"));
    }

    #[test]
    fn rand_is_in_unit_interval_and_pure() {
        for seed in -1000..1000 {
            let x = rand(seed);
            assert!((0.0..1.0).contains(&x));
            assert_eq!(x.to_bits(), rand(seed).to_bits());
        }
        assert_ne!(rand(1), rand(2));
        assert!(rand(i64::MIN) < 1.0 && rand(i64::MAX) < 1.0);
    }

    #[test]
    fn table_counts_and_sorts() {
        let mut table: ByteTable<u64> = ByteTable::new();
        for word in ["b", "a", "b", "c", "b", "a"] {
            *table.get_or_insert_with(word.as_bytes(), || 0) += 1;
        }
        assert_eq!(table.len(), 3);
        assert_eq!(table.get(b"b"), Some(&3));
        assert_eq!(table.get(b"z"), None);
        let sorted = table.into_sorted();
        assert_eq!(
            sorted,
            vec![(b"a".to_vec(), 2), (b"b".to_vec(), 3), (b"c".to_vec(), 1)]
        );
    }

    #[test]
    fn table_survives_growth_and_merges() {
        let mut left: ByteTable<u64> = ByteTable::new();
        let mut right: ByteTable<u64> = ByteTable::new();
        for n in 0u32..5000 {
            *left.get_or_insert_with(&n.to_le_bytes(), || 0) += 1;
            *right.get_or_insert_with(&(n / 2).to_le_bytes(), || 0) += 1;
        }
        left.merge_with(right, |a, b| *a += b);
        assert_eq!(left.len(), 5000);
        assert_eq!(left.get(&10u32.to_le_bytes()), Some(&3));
        assert_eq!(left.get(&4000u32.to_le_bytes()), Some(&1));
        assert_eq!(left.iter().map(|(_, v)| *v).sum::<u64>(), 10000);
    }
}
