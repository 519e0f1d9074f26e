//! The exports of the runtime `.wasm` (wasm32 only).
//!
//! This is the thin, unsafe layer between generated code (and the host) and
//! the safe runtime: functions on raw pointers into linear memory, exported
//! under stable names. Conventions, shared with `extern fn` tools (§8):
//! - a byte string argument is `(ptr: i32, len: i32)`;
//! - a byte string result is an `i64` holding `ptr << 32 | len`, allocated in
//!   the arena (valid until the next `rt_reset`);
//! - `bool` is `i32` 0/1; an operation that can fail returns a negative
//!   `i32` (or `-1` as `i64`) and leaves the error message for
//!   `rt_last_error`.
//!
//! The code generator defines the rest of the ABI as it needs it.

#![allow(unsafe_code)]

use crate::arena;
use crate::error::RuntimeError;
use crate::exact_sum::ExactSum;
use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // A panic is a bug in the runtime, not bad data; trap so the host
    // reports the chunk as failed.
    core::arch::wasm32::unreachable()
}

/// The message of the most recent error, for `rt_last_error`.
struct LastError(RefCell<String>);

// SAFETY: wasm32-unknown-unknown modules run on one thread.
unsafe impl Sync for LastError {}

static LAST_ERROR: LastError = LastError(RefCell::new(String::new()));

fn fail(error: RuntimeError) {
    if let Ok(mut slot) = LAST_ERROR.0.try_borrow_mut() {
        *slot = error.to_string();
    }
}

/// Leaks `bytes` into the arena and packs them as `ptr << 32 | len`.
fn give(bytes: Vec<u8>) -> i64 {
    let bytes = bytes.leak();
    ((bytes.as_ptr() as usize as i64) << 32) | bytes.len() as i64
}

/// The byte string at `(ptr, len)`.
///
/// # Safety
/// `ptr..ptr + len` must be initialised linear memory that stays unchanged
/// for `'a`; the callers' contract with the host and generated code.
unsafe fn bytes<'a>(ptr: i32, len: i32) -> &'a [u8] {
    if len <= 0 {
        return &[];
    }
    // SAFETY: guaranteed by this function's contract.
    unsafe { core::slice::from_raw_parts(ptr as usize as *const u8, len as usize) }
}

/// Allocates `len` bytes for the host to write an input into; 0 if memory
/// is exhausted.
#[unsafe(no_mangle)]
pub extern "C" fn flow_alloc(len: i32) -> i32 {
    arena::allocate(len.max(0) as usize) as usize as i32
}

/// Frees everything allocated since the previous reset; the host calls it
/// between chunks, once it has copied the results out.
#[unsafe(no_mangle)]
pub extern "C" fn rt_reset() {
    arena::reset();
    if let Ok(mut slot) = LAST_ERROR.0.try_borrow_mut() {
        *slot = String::new();
    }
}

/// The message of the last error as `ptr << 32 | len`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_last_error() -> i64 {
    let message = LAST_ERROR
        .0
        .try_borrow()
        .map(|s| s.clone())
        .unwrap_or_default();
    give(message.into_bytes())
}

/// Flow's `hash` of the encoded value at `(ptr, len)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_hash(ptr: i32, len: i32) -> i64 {
    // SAFETY: the caller passes a live byte string.
    crate::table::hash_bytes(unsafe { bytes(ptr, len) }) as i64
}

/// Flow's `rand(seed)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_rand(seed: i64) -> f64 {
    crate::table::rand(seed)
}

/// A new exact sum accumulator, as a handle valid until `rt_reset`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_exact_new() -> i32 {
    Box::leak(Box::new(ExactSum::new())) as *mut ExactSum as usize as i32
}

/// The accumulator behind a handle from `rt_exact_new`.
///
/// # Safety
/// `handle` must come from `rt_exact_new` since the last `rt_reset`, with no
/// other reference to it alive.
unsafe fn exact<'a>(handle: i32) -> &'a mut ExactSum {
    // SAFETY: guaranteed by this function's contract.
    unsafe { &mut *(handle as usize as *mut ExactSum) }
}

/// Adds a float to an accumulator.
#[unsafe(no_mangle)]
pub extern "C" fn rt_exact_add(handle: i32, x: f64) {
    // SAFETY: generated code passes handles from `rt_exact_new`.
    unsafe { exact(handle) }.add(x);
}

/// Adds an int to an accumulator.
#[unsafe(no_mangle)]
pub extern "C" fn rt_exact_add_int(handle: i32, n: i64) {
    // SAFETY: generated code passes handles from `rt_exact_new`.
    unsafe { exact(handle) }.add_int(n);
}

/// The correctly rounded sum of an accumulator.
#[unsafe(no_mangle)]
pub extern "C" fn rt_exact_round(handle: i32) -> f64 {
    // SAFETY: generated code passes handles from `rt_exact_new`.
    unsafe { exact(handle) }.round()
}

/// The canonical encoding of an accumulator as `ptr << 32 | len`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_exact_encode(handle: i32) -> i64 {
    // SAFETY: generated code passes handles from `rt_exact_new`.
    give(unsafe { exact(handle) }.encode())
}

/// Merges the encoded accumulator at `(ptr, len)` into `handle`; 0 on
/// success, -1 on malformed bytes.
#[unsafe(no_mangle)]
pub extern "C" fn rt_exact_merge_encoded(handle: i32, ptr: i32, len: i32) -> i32 {
    // SAFETY: the caller passes a live byte string.
    match ExactSum::decode(unsafe { bytes(ptr, len) }) {
        Ok(other) => {
            // SAFETY: generated code passes handles from `rt_exact_new`.
            unsafe { exact(handle) }.merge(&other);
            0
        }
        Err(error) => {
            fail(error);
            -1
        }
    }
}
