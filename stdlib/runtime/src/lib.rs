//! The runtime library of Flow stage modules.
//!
//! Every stage module the compiler emits is this crate, built for
//! `wasm32-unknown-unknown`, with the generated functions appended: they call
//! the runtime through the exports of the `wasm_abi` module. The same crate is
//! built natively too, so the host decodes partial results and final values
//! with exactly the code the peers ran, and the tests run natively.
//!
//! The crate is `no_std` with `alloc`: everything here is plain portable Rust
//! over `core` and `alloc`. On native targets `std` is linked only so that the
//! usual panic handler and allocator exist; no `std` item is used.
//!
//! Contents:
//! - [`value`]: the dynamic [`Value`] and its natural order.
//! - [`encode`]: the canonical byte encoding of values and the [`Reader`] used
//!   to decode untrusted bytes.
//! - [`exact_sum`]: correctly rounded float sums and means.
//! - [`numbers`]: checked `int` arithmetic and the numeric functions.
//! - [`table`]: the deterministic hash table, `hash` and `rand`.
//! - [`swar`]: byte scans eight bytes at a time (line ends, case, words).
//! - [`partial`]: the partial result of every stream aggregation.
//! - [`text`], [`regex`]: the text functions of the standard library.
//! - [`decode`]: lines, CSV and JSON-lines input decoding.
//! - [`types`]: [`ValueType`], the run-time shape of values.
//! - [`policy`]: the `delegate when` predicate as a flat program every peer
//!   evaluates.

#![no_std]

extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

pub mod decode;
pub mod encode;
pub mod error;
pub mod exact_sum;
pub mod numbers;
pub mod partial;
pub mod policy;
#[cfg(feature = "regex")]
pub mod regex;
pub mod swar;
pub mod table;
pub mod text;
pub mod types;
pub mod value;

#[cfg(target_arch = "wasm32")]
#[path = "alloc.rs"]
mod arena;
#[cfg(target_arch = "wasm32")]
mod wasm_abi;

pub use encode::{Reader, decode_value, encode_value};
pub use error::RuntimeError;
pub use exact_sum::ExactSum;
pub use types::ValueType;
pub use value::Value;
