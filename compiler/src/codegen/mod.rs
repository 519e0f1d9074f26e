//! WebAssembly code generation: one stage module per job (docs/abi.md).
//!
//! A stage module is the runtime library (`flow-runtime` built for wasm32 by
//! `compiler/build.rs`, see [`runtime_wasm`]) with generated functions
//! appended by [`ModuleBuilder`]. Generated code keeps `int`, `float` and
//! `bool` unboxed (`i64`, `f64`, `i32`) and handles every heap value
//! (`str`, lists, tuples, records) as an `i32` pointer to a runtime `Value`
//! in the arena; operations on heap values are calls to runtime exports.
//!
//! Every module this crate emits passes [`validate`].

pub mod emit;
pub mod expr;
pub mod job;
mod module;
pub mod stage;

pub use module::{ModuleBuilder, RuntimeModule, Signature, runtime_wasm, validate};

use std::fmt;

/// Why code generation failed. Well-typed programs only meet
/// [`CodegenError::Unsupported`]; the other variants are compiler bugs or a
/// broken build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodegenError {
    /// The embedded runtime module is not what code generation expects.
    Runtime(String),
    /// An emitted module failed validation.
    Invalid(String),
    /// A construct that code generation does not handle yet.
    Unsupported(String),
    /// An inconsistency inside the compiler.
    Internal(String),
}

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodegenError::Runtime(message) => write!(f, "runtime library: {message}"),
            CodegenError::Invalid(message) => write!(f, "invalid module emitted: {message}"),
            CodegenError::Unsupported(message) => write!(f, "not supported yet: {message}"),
            CodegenError::Internal(message) => write!(f, "internal compiler error: {message}"),
        }
    }
}

impl std::error::Error for CodegenError {}
