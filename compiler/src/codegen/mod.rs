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
pub mod externs;
pub mod job;
mod module;
pub mod stage;
pub mod tool;

pub use module::{ModuleBuilder, RuntimeModule, Signature, runtime_wasm, validate};
pub use tool::{ToolModule, abi_signature};

use std::fmt;

/// Why code generation failed. Well-typed programs only meet
/// [`CodegenError::Unsupported`] and [`CodegenError::Tools`]; the other
/// variants are compiler bugs or a broken build.
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
    /// `extern fn` tool modules that are missing, unreadable, or do not fit
    /// their declarations: program errors (E0703–E0705) found when the job
    /// is compiled.
    Tools(Vec<flow_lang::Diagnostic>),
}

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodegenError::Runtime(message) => write!(f, "runtime library: {message}"),
            CodegenError::Invalid(message) => write!(f, "invalid module emitted: {message}"),
            CodegenError::Unsupported(message) => write!(f, "not supported yet: {message}"),
            CodegenError::Internal(message) => write!(f, "internal compiler error: {message}"),
            CodegenError::Tools(diagnostics) => {
                let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
                write!(f, "{}", messages.join("; "))
            }
        }
    }
}

impl std::error::Error for CodegenError {}
