//! The exports of the runtime `.wasm` (wasm32 only).
//!
//! This is the thin, unsafe layer between generated code (and the host) and
//! the safe runtime: functions on raw pointers into linear memory, exported
//! under stable names. The stage ABI exports (`flow_*`) are documented in
//! docs/abi.md; the `rt_*` functions are what generated code calls.
//! Conventions:
//! - a byte string argument is `(ptr: i32, len: i32)`;
//! - a byte string result is an `i64` holding `ptr << 32 | len`, allocated in
//!   the arena (valid until the next `flow_reset`);
//! - `bool` is `i32` 0/1;
//! - a heap value (`str`, list, tuple, record, or a boxed scalar) is an `i32`
//!   handle: a pointer to a [`Value`] in the arena. Values are immutable once
//!   built (`rt_seq_push` only fills a sequence under construction), so a
//!   handle to an element of a list is a plain pointer into the list;
//! - an operation that can fail on user data takes a `span: i32` (the index
//!   of the source span in the job plan); on failure it writes the error
//!   record of docs/abi.md and traps, so it never returns an error value.

#![allow(unsafe_code)]

use crate::arena;
use crate::decode::{self, Chunk, Field, FieldType};
use crate::encode::{decode_value, encode_value, encode_value_into};
use crate::error::RuntimeError;
use crate::exact_sum::ExactSum;
use crate::numbers;
use crate::partial::Partial;
use crate::table;
use crate::text;
use crate::value::Value;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::cmp::Ordering;

/// The stage ABI version of docs/abi.md.
const ABI_VERSION: i32 = 1;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // A panic is a bug in the runtime, not bad data; trap without an error
    // record so the host reports the chunk as failed by a module fault.
    core::arch::wasm32::unreachable()
}

/// Single-threaded module state: wasm32-unknown-unknown modules run on one
/// thread, so plain cells are enough.
struct State {
    /// The encoded error record of the last failure, if any.
    error_record: RefCell<Option<Vec<u8>>>,
    /// The 1-based position of the record being processed (docs/abi.md), or
    /// -1. Generated code stores into it directly (see `rt_position_ptr`).
    position: Cell<i64>,
    /// The decoded job context of the current export call (a value handle),
    /// or 0. Generated exports set it on entry so that parameters can be
    /// read from any generated function (see `rt_ctx_set`).
    context: Cell<i32>,
    /// Where the next line of the chunk `rt_lines_text` took starts (see
    /// `rt_line_next`).
    line_cursor: Cell<usize>,
    /// The reused buffer `rt_partial_add_key` encodes keys into. It lives
    /// in the arena like everything else, so `flow_reset` forgets it.
    key_scratch: Cell<Vec<u8>>,
    /// The `(ptr, len)` the host last said it checked is UTF-8
    /// (`flow_utf8_checked`), until `flow_reset`.
    utf8_checked: Cell<Option<(i32, i32)>>,
}

// SAFETY: wasm32-unknown-unknown modules run on one thread.
unsafe impl Sync for State {}

static STATE: State = State {
    error_record: RefCell::new(None),
    position: Cell::new(-1),
    context: Cell::new(0),
    line_cursor: Cell::new(0),
    key_scratch: Cell::new(Vec::new()),
    utf8_checked: Cell::new(None),
};

/// Writes the error record `(kind, message, span, position)` and traps.
fn fail(kind: &str, message: String, span: i32) -> ! {
    fail_at(kind, message, span, STATE.position.get())
}

fn fail_at(kind: &str, message: String, span: i32, position: i64) -> ! {
    let record = Value::Tuple(alloc::vec![
        Value::str(kind),
        Value::Str(message),
        Value::Int(i64::from(span)),
        Value::Int(position),
    ]);
    if let Ok(mut slot) = STATE.error_record.try_borrow_mut() {
        *slot = Some(encode_value(&record));
    }
    core::arch::wasm32::unreachable()
}

/// Fails with a runtime error.
fn fail_with(error: RuntimeError, span: i32) -> ! {
    fail(error.kind(), error.to_string(), span)
}

/// Fails with an input error, whose line is counted from the chunk's first
/// record `first`.
fn fail_input(error: RuntimeError, span: i32, first: i64) -> ! {
    let position = match &error {
        RuntimeError::Input { line, .. } => first.saturating_add(*line as i64).saturating_sub(1),
        _ => STATE.position.get(),
    };
    fail_at(error.kind(), error.message_in_input(), span, position)
}

fn check<T>(result: crate::error::Result<T>, span: i32) -> T {
    match result {
        Ok(value) => value,
        Err(error) => fail_with(error, span),
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

/// Moves a value into the arena and returns its handle.
fn new_handle(value: Value) -> i32 {
    Box::leak(Box::new(value)) as *mut Value as usize as i32
}

/// The value behind a handle.
///
/// Generated code only passes handles it got from this module since the last
/// `flow_reset`; a null handle is a code generation bug and traps.
fn value<'a>(handle: i32) -> &'a Value {
    if handle == 0 {
        core::arch::wasm32::unreachable()
    }
    // SAFETY: handles point to live, immutable values in the arena (module
    // doc); the arena is only reset between calls from the host.
    unsafe { &*(handle as usize as *const Value) }
}

/// The value behind a handle of a sequence under construction.
fn value_mut<'a>(handle: i32) -> &'a mut Value {
    if handle == 0 {
        core::arch::wasm32::unreachable()
    }
    // SAFETY: as for `value`; generated code holds no other reference to a
    // sequence while it fills it.
    unsafe { &mut *(handle as usize as *mut Value) }
}

fn internal(what: &str) -> ! {
    fail("internal", format!("code generation bug: {what}"), -1)
}

fn as_str<'a>(handle: i32) -> &'a str {
    match value(handle) {
        Value::Str(s) => s,
        other => internal(&format!("expected a str, found a {}", other.kind_name())),
    }
}

fn as_seq<'a>(handle: i32) -> &'a [Value] {
    match value(handle) {
        Value::List(items) | Value::Tuple(items) | Value::Record(items) => items,
        other => internal(&format!(
            "expected a sequence, found a {}",
            other.kind_name()
        )),
    }
}

fn str_handle(text: &str) -> i32 {
    new_handle(Value::str(text))
}

fn str_list(pieces: Vec<&str>) -> i32 {
    new_handle(Value::List(pieces.into_iter().map(Value::str).collect()))
}

// ---------------------------------------------------------------------------
// The stage ABI (docs/abi.md).

/// The stage ABI version.
#[unsafe(no_mangle)]
pub extern "C" fn flow_abi_version() -> i32 {
    ABI_VERSION
}

/// Allocates `len` bytes for the host to write an input into; 0 if memory
/// is exhausted.
#[unsafe(no_mangle)]
pub extern "C" fn flow_alloc(len: i32) -> i32 {
    arena::allocate(len.max(0) as usize) as usize as i32
}

/// The host has checked that the `len` bytes at `ptr` (a chunk it wrote
/// there) are valid UTF-8, natively and so much faster than a wasm32 loop
/// can: the input functions given exactly those bytes (`rt_lines_text`,
/// `rt_input_lines`, `rt_input_csv`, `rt_input_jsonl`) check nothing. Holds
/// until `flow_reset`. A host that never calls it loses only speed.
#[unsafe(no_mangle)]
pub extern "C" fn flow_utf8_checked(ptr: i32, len: i32) {
    STATE.utf8_checked.set(Some((ptr, len)));
}

/// Frees everything allocated since the previous reset; the host calls it
/// between chunks, once it has copied the results out.
#[unsafe(no_mangle)]
pub extern "C" fn flow_reset() {
    // The record lives in the arena: forget it rather than free it into an
    // arena that is about to be reset.
    if let Ok(mut slot) = STATE.error_record.try_borrow_mut() {
        core::mem::forget(slot.take());
    }
    // Compiled patterns live in the arena too; they are dropped while their
    // memory is still intact, then recompiled on first use after the reset.
    #[cfg(feature = "regex")]
    if let Ok(mut cache) = REGEXES.0.try_borrow_mut() {
        drop(cache.take());
    }
    core::mem::forget(STATE.key_scratch.take());
    STATE.utf8_checked.set(None);
    STATE.position.set(-1);
    STATE.context.set(0);
    arena::reset();
}

/// The encoded error record of the last failure as `ptr << 32 | len`, or 0.
#[unsafe(no_mangle)]
pub extern "C" fn flow_error() -> i64 {
    let record = STATE
        .error_record
        .try_borrow()
        .ok()
        .and_then(|slot| slot.clone());
    match record {
        Some(bytes) => give(bytes),
        None => 0,
    }
}

/// The address of the current record position, so generated loops can
/// store it with one `i64.store` per record.
#[unsafe(no_mangle)]
pub extern "C" fn rt_position_ptr() -> i32 {
    STATE.position.as_ptr() as usize as i32
}

/// Records the decoded job context (a value handle) of the export being
/// run; generated `process` and `value_<k>` exports call it on entry.
#[unsafe(no_mangle)]
pub extern "C" fn rt_ctx_set(handle: i32) {
    STATE.context.set(handle);
}

/// The job context recorded by `rt_ctx_set` since the last reset; a call
/// without one is a code generation bug.
#[unsafe(no_mangle)]
pub extern "C" fn rt_ctx_get() -> i32 {
    match STATE.context.get() {
        0 => internal("the job context was read before it was set"),
        handle => handle,
    }
}

// ---------------------------------------------------------------------------
// Failures raised by generated code.

/// The names of the operators whose overflow generated code reports, by the
/// code it passes to `rt_fail_overflow`.
const OPERATORS: [&str; 8] = ["+", "-", "*", "/", "%", "negation", "abs", "int"];

/// Reports an `int` overflow of operator `operator` (an index into
/// `OPERATORS`) and traps.
#[unsafe(no_mangle)]
pub extern "C" fn rt_fail_overflow(operator: i32, span: i32) {
    let name = OPERATORS
        .get(operator as usize)
        .copied()
        .unwrap_or("arithmetic");
    fail("overflow", format!("integer overflow in {name}"), span)
}

/// Reports an `int` division or remainder by zero and traps.
#[unsafe(no_mangle)]
pub extern "C" fn rt_fail_division_by_zero(span: i32) {
    fail("division-by-zero", String::from("division by zero"), span)
}

/// Reports a float that `int(f)` or `round` cannot convert and traps.
#[unsafe(no_mangle)]
pub extern "C" fn rt_fail_float_to_int(x: f64, span: i32) {
    fail(
        "overflow",
        format!("{} does not fit in an int", text::float_to_str(x)),
        span,
    )
}

// ---------------------------------------------------------------------------
// Boxed scalars and sequences.

/// A `str` from UTF-8 bytes (invalid sequences become U+FFFD).
#[unsafe(no_mangle)]
pub extern "C" fn rt_str_new(ptr: i32, len: i32) -> i32 {
    // SAFETY: generated code passes bytes it owns in linear memory.
    let raw = unsafe { bytes(ptr, len) };
    new_handle(Value::Str(String::from_utf8_lossy(raw).into_owned()))
}

/// A boxed `int`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_box_int(n: i64) -> i32 {
    new_handle(Value::Int(n))
}

/// A boxed `float`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_box_float(x: f64) -> i32 {
    new_handle(Value::Float(x))
}

/// A boxed `bool`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_box_bool(b: i32) -> i32 {
    new_handle(Value::Bool(b != 0))
}

/// The `int` in a boxed value.
#[unsafe(no_mangle)]
pub extern "C" fn rt_unbox_int(handle: i32) -> i64 {
    match value(handle) {
        Value::Int(n) => *n,
        other => internal(&format!("expected an int, found a {}", other.kind_name())),
    }
}

/// The `float` in a boxed value.
#[unsafe(no_mangle)]
pub extern "C" fn rt_unbox_float(handle: i32) -> f64 {
    match value(handle) {
        Value::Float(x) => *x,
        other => internal(&format!("expected a float, found a {}", other.kind_name())),
    }
}

/// The `bool` in a boxed value.
#[unsafe(no_mangle)]
pub extern "C" fn rt_unbox_bool(handle: i32) -> i32 {
    match value(handle) {
        Value::Bool(b) => i32::from(*b),
        other => internal(&format!("expected a bool, found a {}", other.kind_name())),
    }
}

/// A new empty sequence: `kind` 0 is a list, 1 a tuple, 2 a record.
#[unsafe(no_mangle)]
pub extern "C" fn rt_seq_new(kind: i32, capacity: i32) -> i32 {
    let items = Vec::with_capacity(capacity.clamp(0, 1 << 16) as usize);
    new_handle(match kind {
        0 => Value::List(items),
        1 => Value::Tuple(items),
        _ => Value::Record(items),
    })
}

/// Appends a copy of `element` to a sequence under construction.
#[unsafe(no_mangle)]
pub extern "C" fn rt_seq_push(seq: i32, element: i32) {
    let element = value(element).clone();
    match value_mut(seq) {
        Value::List(items) | Value::Tuple(items) | Value::Record(items) => items.push(element),
        other => internal(&format!("push onto a {}", other.kind_name())),
    }
}

/// The number of elements of a list (or fields of a tuple or record).
#[unsafe(no_mangle)]
pub extern "C" fn rt_seq_len(seq: i32) -> i64 {
    as_seq(seq).len() as i64
}

/// Element `index` of a sequence, for indices generated code has checked or
/// knows (tuple and record fields, loops below the length).
#[unsafe(no_mangle)]
pub extern "C" fn rt_seq_at(seq: i32, index: i32) -> i32 {
    match as_seq(seq).get(index as usize) {
        Some(element) => element as *const Value as usize as i32,
        None => internal("element index out of range"),
    }
}

/// `get(xs, i)`: element `i` of a list; an index error outside `0..len`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_list_get(list: i32, index: i64, span: i32) -> i32 {
    let items = as_seq(list);
    match usize::try_from(index).ok().and_then(|i| items.get(i)) {
        Some(element) => element as *const Value as usize as i32,
        None => fail(
            "index",
            format!(
                "index {index} is out of range for a list of length {}",
                items.len()
            ),
            span,
        ),
    }
}

/// `a + b` of two strings or two lists.
#[unsafe(no_mangle)]
pub extern "C" fn rt_concat(a: i32, b: i32) -> i32 {
    new_handle(match (value(a), value(b)) {
        (Value::Str(x), Value::Str(y)) => {
            let mut joined = String::with_capacity(x.len() + y.len());
            joined.push_str(x);
            joined.push_str(y);
            Value::Str(joined)
        }
        (Value::List(x), Value::List(y)) => {
            let mut joined = Vec::with_capacity(x.len() + y.len());
            joined.extend(x.iter().cloned());
            joined.extend(y.iter().cloned());
            Value::List(joined)
        }
        (x, y) => internal(&format!(
            "concatenation of a {} and a {}",
            x.kind_name(),
            y.kind_name()
        )),
    })
}

/// The natural order of two values: -1, 0 or 1.
#[unsafe(no_mangle)]
pub extern "C" fn rt_compare(a: i32, b: i32) -> i32 {
    match value(a).cmp(value(b)) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

/// The natural order of two floats: -1, 0 or 1 (total: NaN last).
#[unsafe(no_mangle)]
pub extern "C" fn rt_compare_float(a: f64, b: f64) -> i32 {
    match crate::value::float_cmp(a, b) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

/// Decodes an encoded value (the job context, constants).
#[unsafe(no_mangle)]
pub extern "C" fn rt_decode(ptr: i32, len: i32, span: i32) -> i32 {
    // SAFETY: the host or generated code wrote these bytes.
    let raw = unsafe { bytes(ptr, len) };
    new_handle(check(decode_value(raw), span))
}

/// The canonical encoding of a value as `ptr << 32 | len`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_encode(handle: i32) -> i64 {
    give(encode_value(value(handle)))
}

// ---------------------------------------------------------------------------
// Text (LANGUAGE.md §7).

/// `len(s)` in Unicode scalar values.
#[unsafe(no_mangle)]
pub extern "C" fn rt_str_len(s: i32) -> i64 {
    text::len(as_str(s))
}

/// The UTF-8 bytes of a `str` as `ptr << 32 | len`, without copying: how
/// generated code passes a `str` to an `extern fn` tool, which copies the
/// bytes into the tool's own memory (docs/abi.md).
#[unsafe(no_mangle)]
pub extern "C" fn rt_str_bytes(s: i32) -> i64 {
    let bytes = as_str(s).as_bytes();
    ((bytes.as_ptr() as usize as i64) << 32) | bytes.len() as i64
}

/// `lower(s)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_lower(s: i32) -> i32 {
    new_handle(Value::Str(text::lower(as_str(s))))
}

/// `upper(s)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_upper(s: i32) -> i32 {
    new_handle(Value::Str(text::upper(as_str(s))))
}

/// `trim(s)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_trim(s: i32) -> i32 {
    str_handle(text::trim(as_str(s)))
}

/// `words(s)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_words(s: i32) -> i32 {
    // The list is built as the words are found: no list of slices first.
    let mut list = Vec::new();
    text::for_each_word(as_str(s), |word| list.push(Value::str(word)));
    new_handle(Value::List(list))
}

/// The next of `words(s)` from byte `at` on, as `start << 32 | end` byte
/// offsets into `s`, or -1 when there is none: a stage's `flat_map` over
/// `words(…)` walks the words with this instead of building their list.
#[unsafe(no_mangle)]
pub extern "C" fn rt_word_next(s: i32, at: i32) -> i64 {
    match text::next_word(as_str(s), at as u32 as usize) {
        Some((start, end)) => ((start as i64) << 32) | end as i64,
        None => -1,
    }
}

/// The `str` of bytes `start..end` of `s`, which `rt_word_next` found.
#[unsafe(no_mangle)]
pub extern "C" fn rt_str_slice(s: i32, start: i32, end: i32) -> i32 {
    match as_str(s).get(start as u32 as usize..end as u32 as usize) {
        Some(word) => new_handle(Value::str(word)),
        None => internal("a str slice off its boundaries"),
    }
}

/// `split(s, sep)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_split(s: i32, sep: i32) -> i32 {
    str_list(text::split(as_str(s), as_str(sep)))
}

/// `join(xs, sep)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_join(list: i32, sep: i32) -> i32 {
    let pieces: Vec<&str> = as_seq(list)
        .iter()
        .map(|piece| match piece {
            Value::Str(s) => s.as_str(),
            other => internal(&format!("join of a {}", other.kind_name())),
        })
        .collect();
    new_handle(Value::Str(text::join(&pieces, as_str(sep))))
}

/// `contains(s, sub)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_contains(s: i32, sub: i32) -> i32 {
    i32::from(text::contains(as_str(s), as_str(sub)))
}

/// `starts_with(s, prefix)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_starts_with(s: i32, prefix: i32) -> i32 {
    i32::from(text::starts_with(as_str(s), as_str(prefix)))
}

/// `ends_with(s, suffix)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_ends_with(s: i32, suffix: i32) -> i32 {
    i32::from(text::ends_with(as_str(s), as_str(suffix)))
}

/// `replace(s, from, to)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_replace(s: i32, from: i32, to: i32) -> i32 {
    new_handle(Value::Str(text::replace(
        as_str(s),
        as_str(from),
        as_str(to),
    )))
}

/// `substr(s, start, count)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_substr(s: i32, start: i64, count: i64) -> i32 {
    str_handle(text::substr(as_str(s), start, count))
}

/// `to_int(s)`; a `parse` error on bad text.
#[unsafe(no_mangle)]
pub extern "C" fn rt_to_int(s: i32, span: i32) -> i64 {
    check(text::to_int(as_str(s)), span)
}

/// `to_float(s)`; a `parse` error on bad text.
#[unsafe(no_mangle)]
pub extern "C" fn rt_to_float(s: i32, span: i32) -> f64 {
    check(text::to_float(as_str(s)), span)
}

/// `str(n)` of an int.
#[unsafe(no_mangle)]
pub extern "C" fn rt_int_to_str(n: i64) -> i32 {
    new_handle(Value::Str(n.to_string()))
}

/// `str(x)` of a float.
#[unsafe(no_mangle)]
pub extern "C" fn rt_float_to_str(x: f64) -> i32 {
    new_handle(Value::Str(text::float_to_str(x)))
}

/// `str(b)` of a bool.
#[unsafe(no_mangle)]
pub extern "C" fn rt_bool_to_str(b: i32) -> i32 {
    str_handle(if b != 0 { "true" } else { "false" })
}

/// The compiled patterns of `matches`, kept for the chunk.
#[cfg(feature = "regex")]
struct Regexes(RefCell<Option<crate::regex::RegexCache>>);

// SAFETY: wasm32-unknown-unknown modules run on one thread.
#[cfg(feature = "regex")]
unsafe impl Sync for Regexes {}

#[cfg(feature = "regex")]
static REGEXES: Regexes = Regexes(RefCell::new(None));

/// `matches(s, pattern)`; a `parse` error for a bad pattern.
#[cfg(feature = "regex")]
#[unsafe(no_mangle)]
pub extern "C" fn rt_matches(s: i32, pattern: i32, span: i32) -> i32 {
    let Ok(mut cache) = REGEXES.0.try_borrow_mut() else {
        internal("the regex cache is busy")
    };
    let cache = cache.get_or_insert_with(crate::regex::RegexCache::new);
    i32::from(check(cache.matches(as_str(s), as_str(pattern)), span))
}

// ---------------------------------------------------------------------------
// Numbers (LANGUAGE.md §7) that are not single wasm instructions.

/// `pow(x, y)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_pow(x: f64, y: f64) -> f64 {
    numbers::pow(x, y)
}

/// `exp(x)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_exp(x: f64) -> f64 {
    numbers::exp(x)
}

/// `ln(x)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_ln(x: f64) -> f64 {
    numbers::ln(x)
}

/// `int(f)`: truncates; an `overflow` error for NaN, infinities and floats
/// beyond 64 bits.
#[unsafe(no_mangle)]
pub extern "C" fn rt_float_to_int(x: f64, span: i32) -> i64 {
    check(numbers::float_to_int(x), span)
}

/// `floor(f)` as an `int`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_floor(x: f64, span: i32) -> i64 {
    check(numbers::floor(x), span)
}

/// `ceil(f)` as an `int`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_ceil(x: f64, span: i32) -> i64 {
    check(numbers::ceil(x), span)
}

/// `round(f)` as an `int`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_round(x: f64, span: i32) -> i64 {
    check(numbers::round(x), span)
}

/// `a % b` of floats.
#[unsafe(no_mangle)]
pub extern "C" fn rt_float_rem(a: f64, b: f64) -> f64 {
    numbers::float_rem(a, b)
}

/// `min(a, b)` of floats, in the natural order.
#[unsafe(no_mangle)]
pub extern "C" fn rt_float_min(a: f64, b: f64) -> f64 {
    numbers::float_min(a, b)
}

/// `max(a, b)` of floats, in the natural order.
#[unsafe(no_mangle)]
pub extern "C" fn rt_float_max(a: f64, b: f64) -> f64 {
    numbers::float_max(a, b)
}

/// `min(a, b)` of heap values, in the natural order.
#[unsafe(no_mangle)]
pub extern "C" fn rt_min_value(a: i32, b: i32) -> i32 {
    new_handle(numbers::min_value(value(a).clone(), value(b).clone()))
}

/// `max(a, b)` of heap values, in the natural order.
#[unsafe(no_mangle)]
pub extern "C" fn rt_max_value(a: i32, b: i32) -> i32 {
    new_handle(numbers::max_value(value(a).clone(), value(b).clone()))
}

// ---------------------------------------------------------------------------
// Determinism (LANGUAGE.md §7).

/// `hash(x)` of a heap value.
#[unsafe(no_mangle)]
pub extern "C" fn rt_hash_value(handle: i32) -> i64 {
    table::hash_value(value(handle))
}

/// `hash(n)` of an int.
#[unsafe(no_mangle)]
pub extern "C" fn rt_hash_int(n: i64) -> i64 {
    table::hash_value(&Value::Int(n))
}

/// `hash(x)` of a float.
#[unsafe(no_mangle)]
pub extern "C" fn rt_hash_float(x: f64) -> i64 {
    table::hash_value(&Value::Float(x))
}

/// `hash(b)` of a bool.
#[unsafe(no_mangle)]
pub extern "C" fn rt_hash_bool(b: i32) -> i64 {
    table::hash_value(&Value::Bool(b != 0))
}

/// Flow's `hash` of the encoded value at `(ptr, len)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_hash(ptr: i32, len: i32) -> i64 {
    // SAFETY: the caller passes a live byte string.
    table::hash_bytes(unsafe { bytes(ptr, len) }) as i64
}

/// Flow's `rand(seed)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_rand(seed: i64) -> f64 {
    table::rand(seed)
}

// ---------------------------------------------------------------------------
// Inputs (LANGUAGE.md §4, docs/abi.md "process inputs").

/// The chunk the host wrote at `(ptr, len)`, with its text if the host
/// said it checked exactly those bytes are UTF-8 (`flow_utf8_checked`).
fn chunk<'a>(ptr: i32, len: i32) -> Chunk<'a> {
    // SAFETY: the host wrote the chunk at `(ptr, len)`.
    let bytes = unsafe { bytes(ptr, len) };
    if STATE.utf8_checked.get() == Some((ptr, len)) {
        // SAFETY: the host checked exactly these bytes, and nothing writes
        // into a chunk once the host has written it.
        Chunk::checked(unsafe { core::str::from_utf8_unchecked(bytes) })
    } else {
        Chunk::from(bytes)
    }
}

/// The lines of a chunk as a list of `str`; a `bad-record` error names the
/// line (`first` is the chunk's first line number).
#[unsafe(no_mangle)]
pub extern "C" fn rt_input_lines(ptr: i32, len: i32, span: i32, first: i64) -> i32 {
    match decode::lines(chunk(ptr, len)) {
        Ok(lines) => new_handle(Value::List(
            lines
                .into_iter()
                .map(|line| Value::str(line.text))
                .collect(),
        )),
        Err(error) => fail_input(error, span, first),
    }
}

/// The text of a `lines` chunk as one `str`, checked to be UTF-8 (a
/// `bad-record` error names the first bad line; `first` is the chunk's
/// first line number), for a stage to walk its lines one by one with
/// `rt_line_next` instead of building a list of them.
#[unsafe(no_mangle)]
pub extern "C" fn rt_lines_text(ptr: i32, len: i32, span: i32, first: i64) -> i32 {
    let chunk = chunk(ptr, len);
    STATE.line_cursor.set(0);
    match chunk.text() {
        Ok(text) => str_handle(text),
        Err(_) => match decode::lines(chunk) {
            Err(error) => fail_input(error, span, first),
            Ok(_) => internal("a chunk both valid and not"),
        },
    }
}

/// The next line of the text `rt_lines_text` gave, as `start << 32 | end`
/// byte offsets (the line ending left out), or -1 after the last.
#[unsafe(no_mangle)]
pub extern "C" fn rt_line_next(text: i32) -> i64 {
    let start = STATE.line_cursor.get();
    match decode::next_line(as_str(text).as_bytes(), start) {
        Some((end, next)) => {
            STATE.line_cursor.set(next);
            ((start as i64) << 32) | end as i64
        }
        None => -1,
    }
}

/// Parses a field descriptor `name:type,name:type` (types `int`, `float`,
/// `bool`, `str`, `[T]`), written by the code generator.
fn parse_fields(descriptor: &str) -> Vec<Field> {
    fn field_type(text: &str) -> FieldType {
        match text {
            "int" => FieldType::Int,
            "float" => FieldType::Float,
            "bool" => FieldType::Bool,
            "str" => FieldType::Str,
            _ => match text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
                Some(item) => FieldType::List(Box::new(field_type(item))),
                None => internal("bad field descriptor"),
            },
        }
    }
    descriptor
        .split(',')
        .filter(|field| !field.is_empty())
        .map(|field| match field.split_once(':') {
            Some((name, ty)) => Field {
                name: String::from(name),
                ty: field_type(ty),
            },
            None => internal("bad field descriptor"),
        })
        .collect()
}

/// The records of a CSV chunk as a list; `header` is the file's header line
/// (`str`), `fields` the field descriptor (`str`).
#[unsafe(no_mangle)]
pub extern "C" fn rt_input_csv(
    ptr: i32,
    len: i32,
    header: i32,
    fields: i32,
    span: i32,
    first: i64,
) -> i32 {
    let chunk = chunk(ptr, len);
    let fields = parse_fields(as_str(fields));
    let header = match decode::csv_header(as_str(header).as_bytes()) {
        Ok(header) => header,
        Err(error) => fail_at(error.kind(), format!("CSV header: {error}"), span, 1),
    };
    match decode::decode_csv(chunk, &fields, Some(&header)) {
        Ok(records) => new_handle(Value::List(records)),
        Err(error) => fail_input(error, span, first),
    }
}

/// The records of a JSON-lines chunk as a list; `fields` is the field
/// descriptor (`str`).
#[unsafe(no_mangle)]
pub extern "C" fn rt_input_jsonl(ptr: i32, len: i32, fields: i32, span: i32, first: i64) -> i32 {
    let chunk = chunk(ptr, len);
    let fields = parse_fields(as_str(fields));
    match decode::decode_jsonl(chunk, &fields) {
        Ok(records) => new_handle(Value::List(records)),
        Err(error) => fail_input(error, span, first),
    }
}

/// The `(path, content)` tuples of a `files` chunk (an encoded list).
#[unsafe(no_mangle)]
pub extern "C" fn rt_input_files(ptr: i32, len: i32, span: i32) -> i32 {
    // SAFETY: the host wrote the chunk at `(ptr, len)`.
    let raw = unsafe { bytes(ptr, len) };
    match decode_value(raw) {
        Ok(list @ Value::List(_)) => new_handle(list),
        Ok(other) => fail(
            "bad-record",
            format!("a files chunk holds a {}, not a list", other.kind_name()),
            span,
        ),
        Err(error) => fail("bad-record", format!("a files chunk: {error}"), span),
    }
}

// ---------------------------------------------------------------------------
// Partial results (stage process, merge and finish).

/// The aggregations, by the code generated code passes to `rt_partial_new`.
fn new_partial(kind: i32, n: i64) -> Partial {
    match kind {
        0 => Partial::count(),
        1 => Partial::sum_int(),
        2 => Partial::sum_float(),
        3 => Partial::min(),
        4 => Partial::max(),
        5 => Partial::mean(),
        6 => Partial::reduce(),
        7 => Partial::count_by(),
        8 => Partial::sum_by_int(),
        9 => Partial::sum_by_float(),
        10 => Partial::reduce_by(),
        11 => Partial::distinct(),
        12 => Partial::top(n),
        13 => Partial::bottom(n),
        14 => Partial::sort_by(),
        15 => Partial::collect(),
        _ => internal("unknown aggregation"),
    }
}

fn partial<'a>(handle: i32) -> &'a mut Partial {
    if handle == 0 {
        core::arch::wasm32::unreachable()
    }
    // SAFETY: handles come from `rt_partial_new` since the last reset, and
    // generated code holds no other reference to the partial.
    unsafe { &mut *(handle as usize as *mut Partial) }
}

/// A generated reducer `(a, b) -> a ⊕ b` over value handles, by its slot in
/// the function table.
fn reducer(slot: i32) -> impl FnMut(Value, Value) -> crate::error::Result<Value> {
    if slot <= 0 {
        internal("reduce without a reducer");
    }
    // SAFETY: on wasm32 a function pointer is its index in the function
    // table; the code generator put a function of exactly this signature
    // at `slot` (and `call_indirect` checks the signature anyway).
    let function: extern "C" fn(i32, i32) -> i32 =
        unsafe { core::mem::transmute::<usize, extern "C" fn(i32, i32) -> i32>(slot as usize) };
    move |a: Value, b: Value| Ok(value(function(new_handle(a), new_handle(b))).clone())
}

/// An empty partial of aggregation `kind` (`n` for `top` and `bottom`).
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_new(kind: i32, n: i64) -> i32 {
    Box::leak(Box::new(new_partial(kind, n))) as *mut Partial as usize as i32
}

/// `count()`: one more element.
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_count(handle: i32, span: i32) {
    check(partial(handle).count_one(), span)
}

/// `count()`: `n` more elements, which the stage counted in a local.
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_count_many(handle: i32, n: i64, span: i32) {
    check(partial(handle).count_many(n as u64), span)
}

/// `sum()`, `mean()` of ints.
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_add_int(handle: i32, n: i64, span: i32) {
    check(partial(handle).add_int(n), span)
}

/// `sum()`, `mean()` of floats.
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_add_float(handle: i32, x: f64, span: i32) {
    check(partial(handle).add_float(x), span)
}

/// `min`, `max`, `distinct`, `collect`, `sort()`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_add_value(handle: i32, element: i32, span: i32) {
    check(partial(handle).add_value(value(element).clone()), span)
}

/// `count_by(k)`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_add_key(handle: i32, key: i32, span: i32) {
    add_key_encoded_by(handle, span, |out| encode_value_into(out, value(key)));
}

/// Adds to a `count_by` partial the key that `encode` writes, into one
/// buffer for every key's encoding: no allocation per element.
fn add_key_encoded_by(handle: i32, span: i32, encode: impl FnOnce(&mut Vec<u8>)) {
    let mut scratch = STATE.key_scratch.take();
    scratch.clear();
    encode(&mut scratch);
    let result = partial(handle).add_encoded_key(&scratch);
    STATE.key_scratch.replace(scratch);
    check(result, span)
}

/// `count_by(w => w)` of a word still inside its string: bytes
/// `start..end` of `s` (from `rt_word_next`), never made a value of its own.
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_add_key_slice(handle: i32, s: i32, start: i32, end: i32, span: i32) {
    let Some(word) = as_str(s).get(start as u32 as usize..end as u32 as usize) else {
        internal("a str slice off its boundaries")
    };
    // A short word's encoding (tag, one-byte length, bytes) is built on
    // the stack byte by byte: a `memory.copy` of a few bytes costs more.
    // The buffer is small because it is cleared for every word (a larger
    // one becomes a `memory.fill` call); longer words take the scratch
    // buffer.
    let bytes = word.as_bytes();
    if bytes.len() <= 30 {
        let mut key = [0u8; 32];
        key[0] = crate::encode::TAG_STR;
        key[1] = bytes.len() as u8;
        for (slot, byte) in key[2..].iter_mut().zip(bytes) {
            *slot = *byte;
        }
        return check(
            partial(handle).add_encoded_key(&key[..bytes.len() + 2]),
            span,
        );
    }
    add_key_encoded_by(handle, span, |out| {
        crate::encode::encode_str_into(out, word)
    });
}

/// `sum_by` (key, number), `top`, `bottom`, `sort(by:)` (key, element).
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_add_keyed(handle: i32, key: i32, element: i32, span: i32) {
    check(
        partial(handle).add_keyed(value(key).clone(), value(element).clone()),
        span,
    )
}

/// `reduce(f)` with the generated reducer at table slot `reducer_slot`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_add_reduced(handle: i32, element: i32, reducer_slot: i32, span: i32) {
    let mut combine = reducer(reducer_slot);
    check(
        partial(handle).add_reduced(value(element).clone(), &mut combine),
        span,
    )
}

/// `reduce_by(k, v, f)` with the generated reducer at `reducer_slot`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_add_keyed_reduced(
    handle: i32,
    key: i32,
    element: i32,
    reducer_slot: i32,
    span: i32,
) {
    let mut combine = reducer(reducer_slot);
    check(
        partial(handle).add_keyed_reduced(value(key), value(element).clone(), &mut combine),
        span,
    )
}

/// The canonical encoding of a partial, as `ptr << 32 | len`: the result of
/// `stage_<k>_process`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_encode(handle: i32) -> i64 {
    give(partial(handle).encode())
}

fn decode_partial(ptr: i32, len: i32, span: i32) -> Partial {
    // SAFETY: the host wrote the partial at `(ptr, len)`.
    match Partial::decode(unsafe { bytes(ptr, len) }) {
        Ok(partial) => partial,
        Err(error) => fail(
            "internal",
            format!("a partial result from a peer: {error}"),
            span,
        ),
    }
}

/// `stage_<k>_merge`: merges two encoded partials (with the reducer at
/// `reducer_slot` for `reduce` and `reduce_by`, 0 for none).
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_merge(
    a_ptr: i32,
    a_len: i32,
    b_ptr: i32,
    b_len: i32,
    reducer_slot: i32,
    span: i32,
) -> i64 {
    let mut a = decode_partial(a_ptr, a_len, span);
    let b = decode_partial(b_ptr, b_len, span);
    let merged = if reducer_slot > 0 {
        let mut combine = reducer(reducer_slot);
        a.merge_with(b, &mut combine)
    } else {
        a.merge(b)
    };
    check(merged, span);
    give(a.encode())
}

/// `stage_<k>_finish`: the final value of an encoded partial, encoded.
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_finish(ptr: i32, len: i32, span: i32) -> i64 {
    let finished = decode_partial(ptr, len, span).finish();
    give(encode_value(&check(finished, span)))
}

/// The members of a group pass as the code generator describes them:
/// `slot:span` per member, comma-separated, with the member's reducer slot
/// (0 for none) and the span id its errors name.
fn group_members(descriptor: i32) -> Vec<(i32, i32)> {
    as_str(descriptor)
        .split(',')
        .map(|member| {
            let parsed = member
                .split_once(':')
                .and_then(|(slot, span)| Some((slot.parse().ok()?, span.parse().ok()?)));
            parsed.unwrap_or_else(|| internal("bad group descriptor"))
        })
        .collect()
}

/// An empty group partial; the pass moves its members' partials in with
/// `rt_partial_group_push` once its records are done.
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_group_new() -> i32 {
    Box::leak(Box::new(Partial::Group(Vec::new()))) as *mut Partial as usize as i32
}

/// Moves the partial `member` into the group `group`, as its next member.
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_group_push(group: i32, member: i32) {
    let member = core::mem::replace(partial(member), Partial::count());
    match partial(group) {
        Partial::Group(members) => members.push(member),
        other => internal(&format!("a group push into a {} partial", other.name())),
    }
}

/// `stage_<g>_merge` of a group pass: merges two encoded group partials
/// member by member, each with its own reducer and span (`descriptor`, see
/// [`group_members`]).
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_merge_group(
    a_ptr: i32,
    a_len: i32,
    b_ptr: i32,
    b_len: i32,
    descriptor: i32,
    span: i32,
) -> i64 {
    let members = group_members(descriptor);
    let mut a = decode_partial(a_ptr, a_len, span);
    let b = decode_partial(b_ptr, b_len, span);
    let merged = a.merge_members(b, |index, a, b| {
        let Some(&(slot, member_span)) = members.get(index) else {
            return Err(RuntimeError::Mismatch {
                what: String::from("a group partial with more members than its pass"),
            });
        };
        let merged = if slot > 0 {
            a.merge_with(b, &mut reducer(slot))
        } else {
            a.merge(b)
        };
        check(merged, member_span);
        Ok(())
    });
    check(merged, span);
    give(a.encode())
}

/// `stage_<g>_finish` of a group pass: the tuple of its members' final
/// values, encoded; a member that cannot finish (`min` of nothing) fails
/// with its own span.
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_finish_group(ptr: i32, len: i32, descriptor: i32, span: i32) -> i64 {
    let members = group_members(descriptor);
    let partials = check(decode_partial(ptr, len, span).into_members(), span);
    if partials.len() != members.len() {
        fail(
            "internal",
            String::from("a group partial with another number of members than its pass"),
            span,
        );
    }
    let finished: Vec<Value> = partials
        .into_iter()
        .zip(&members)
        .map(|(member, &(_, member_span))| check(member.finish(), member_span))
        .collect();
    give(encode_value(&Value::Tuple(finished)))
}

/// The final value of a partial handle, as a value handle (for a later
/// phase computed in the same module, and for tests).
#[unsafe(no_mangle)]
pub extern "C" fn rt_partial_value(handle: i32, span: i32) -> i32 {
    let finished = partial(handle).clone().finish();
    new_handle(check(finished, span))
}

// ---------------------------------------------------------------------------
// Exact float sums.

/// A new exact sum accumulator, as a handle valid until `flow_reset`.
#[unsafe(no_mangle)]
pub extern "C" fn rt_exact_new() -> i32 {
    Box::leak(Box::new(ExactSum::new())) as *mut ExactSum as usize as i32
}

/// The accumulator behind a handle from `rt_exact_new`.
fn exact<'a>(handle: i32) -> &'a mut ExactSum {
    if handle == 0 {
        core::arch::wasm32::unreachable()
    }
    // SAFETY: generated code passes handles from `rt_exact_new` since the
    // last reset, with no other reference to them alive.
    unsafe { &mut *(handle as usize as *mut ExactSum) }
}

/// Adds a float to an accumulator.
#[unsafe(no_mangle)]
pub extern "C" fn rt_exact_add(handle: i32, x: f64) {
    exact(handle).add(x);
}

/// Adds an int to an accumulator.
#[unsafe(no_mangle)]
pub extern "C" fn rt_exact_add_int(handle: i32, n: i64) {
    exact(handle).add_int(n);
}

/// The correctly rounded sum of an accumulator.
#[unsafe(no_mangle)]
pub extern "C" fn rt_exact_round(handle: i32) -> f64 {
    exact(handle).round()
}
