//! A sentiment score for one line of text, exported with the ABI of Flow's
//! `extern fn` (LANGUAGE.md §8): the module imports nothing, exports
//! `memory` and `flow_alloc(len: i32) -> i32`, and `score(ptr, len) -> f64`
//! takes a `str` as a pointer and a length into its own memory.
//!
//! The score is (positive words − negative words) / words, in [-1, 1].

#![no_std]

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Space the host writes strings into. One string at a time is enough for
/// `score`, so the allocator hands out the start of this buffer, growing
/// memory when a string is larger than what is there.
static mut BUFFER_START: usize = 0;

#[unsafe(no_mangle)]
pub extern "C" fn flow_alloc(len: i32) -> i32 {
    let pages_needed = (len as usize).div_ceil(65536) + 1;
    unsafe {
        if BUFFER_START == 0 {
            let old_pages = core::arch::wasm32::memory_grow(0, pages_needed);
            BUFFER_START = old_pages * 65536;
        } else {
            let have = core::arch::wasm32::memory_size(0) * 65536 - BUFFER_START;
            if have < len as usize {
                core::arch::wasm32::memory_grow(0, pages_needed);
            }
        }
        BUFFER_START as i32
    }
}

const POSITIVE: &[&[u8]] = &[
    b"good", b"great", b"love", b"excellent", b"fast", b"nice", b"happy", b"perfect", b"best",
    b"recommend",
];
const NEGATIVE: &[&[u8]] = &[
    b"bad", b"slow", b"broken", b"terrible", b"hate", b"awful", b"worst", b"refund", b"poor",
    b"never",
];

fn eq_ignore_case(word: &[u8], known: &[u8]) -> bool {
    word.len() == known.len() && word.iter().zip(known).all(|(a, b)| a.to_ascii_lowercase() == *b)
}

#[unsafe(no_mangle)]
pub extern "C" fn score(ptr: i32, len: i32) -> f64 {
    let text = unsafe { core::slice::from_raw_parts(ptr as *const u8, len as usize) };
    let (mut words, mut balance) = (0i32, 0i32);
    for word in text.split(|b| !b.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        words += 1;
        if POSITIVE.iter().any(|k| eq_ignore_case(word, k)) {
            balance += 1;
        } else if NEGATIVE.iter().any(|k| eq_ignore_case(word, k)) {
            balance -= 1;
        }
    }
    if words == 0 { 0.0 } else { balance as f64 / words as f64 }
}
