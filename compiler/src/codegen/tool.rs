//! `extern fn` tool modules (LANGUAGE.md §8): checking a module against the
//! ABI and the Flow declarations that bind it, and the numbers the linker
//! needs to append it to a stage module (docs/abi.md, "`extern fn` tools").
//!
//! A tool is validated as WebAssembly 2.0 (no threads, no 64-bit or second
//! memory, no exceptions): it must import nothing, define exactly one
//! memory and export it as `memory`, and export `flow_alloc(len: i32) ->
//! i32`. Each `extern fn` bound to it needs an export of its name whose
//! signature is the one its Flow types give ([`abi_signature`]).

use std::collections::HashMap;

use wasm_encoder::ValType;
use wasmparser::{ExternalKind, Parser, Payload, Validator, WasmFeatures};

use super::Signature;
use crate::ir::IrType;

/// The most tool modules one job may link: each is a memory of the stage
/// instance, and the host bounds the memories of one instance.
pub const MAX_TOOL_MODULES: usize = 15;

/// How many items of each index space a module defines, and so how far the
/// items appended after them are shifted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ItemCounts {
    pub types: u32,
    pub functions: u32,
    pub tables: u32,
    pub memories: u32,
    pub globals: u32,
    pub elements: u32,
    pub datas: u32,
}

impl ItemCounts {
    /// The counts of two modules laid one after the other.
    pub fn plus(self, other: ItemCounts) -> ItemCounts {
        ItemCounts {
            types: self.types + other.types,
            functions: self.functions + other.functions,
            tables: self.tables + other.tables,
            memories: self.memories + other.memories,
            globals: self.globals + other.globals,
            elements: self.elements + other.elements,
            datas: self.datas + other.datas,
        }
    }
}

/// A tool module that passed [`ToolModule::parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolModule {
    /// The module's bytes, as read from disk.
    pub bytes: Vec<u8>,
    /// The blake3 hex digest of the bytes, its name in the job plan.
    pub digest: String,
    pub counts: ItemCounts,
    /// The module's start function, which the linked stage module runs at
    /// instantiation.
    pub start: Option<u32>,
    /// Whether the module has a data count section (needed by
    /// `memory.init` and `data.drop`).
    pub has_data_count: bool,
    /// Exported functions by name: index and signature.
    exports: HashMap<String, (u32, Signature)>,
}

/// The wasm features a tool may use: WebAssembly 2.0 (bulk memory,
/// reference types, multi-value, SIMD, sign extension, saturating
/// conversions) plus extended constant expressions and tail calls, which
/// linking handles like any other instruction.
fn tool_features() -> WasmFeatures {
    WasmFeatures::WASM2 | WasmFeatures::EXTENDED_CONST | WasmFeatures::TAIL_CALL
}

impl ToolModule {
    /// Checks `bytes` against the tool ABI. The error says, in one
    /// sentence, what is wrong with the module.
    pub fn parse(bytes: Vec<u8>) -> Result<ToolModule, String> {
        Validator::new_with_features(tool_features())
            .validate_all(&bytes)
            .map_err(|error| {
                format!(
                    "it is not a valid WebAssembly 2.0 module ({})",
                    error.message()
                )
            })?;
        let mut counts = ItemCounts::default();
        let mut types: Vec<Option<Signature>> = Vec::new();
        let mut function_types: Vec<u32> = Vec::new();
        let mut exported: Vec<(String, ExternalKind, u32)> = Vec::new();
        let mut start = None;
        let mut has_data_count = false;
        let bad = |error: wasmparser::BinaryReaderError| format!("it does not parse ({error})");
        for payload in Parser::new(0).parse_all(&bytes) {
            match payload.map_err(bad)? {
                Payload::TypeSection(reader) => {
                    for group in reader {
                        for sub in group.map_err(bad)?.into_types() {
                            types.push(match &sub.composite_type.inner {
                                wasmparser::CompositeInnerType::Func(ty) => signature(ty),
                                _ => None,
                            });
                        }
                    }
                }
                Payload::ImportSection(reader) => {
                    if let Some(import) = reader.into_imports().next() {
                        let import = import.map_err(bad)?;
                        return Err(format!(
                            "it imports `{}::{}`, but tools must import nothing",
                            import.module, import.name
                        ));
                    }
                }
                Payload::FunctionSection(reader) => {
                    for ty in reader {
                        function_types.push(ty.map_err(bad)?);
                    }
                }
                Payload::TableSection(reader) => counts.tables = reader.count(),
                Payload::MemorySection(reader) => counts.memories = reader.count(),
                Payload::GlobalSection(reader) => counts.globals = reader.count(),
                Payload::ElementSection(reader) => counts.elements = reader.count(),
                Payload::DataSection(reader) => counts.datas = reader.count(),
                Payload::DataCountSection { .. } => has_data_count = true,
                Payload::StartSection { func, .. } => start = Some(func),
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export.map_err(bad)?;
                        exported.push((export.name.to_owned(), export.kind, export.index));
                    }
                }
                _ => {}
            }
        }
        counts.types = u32::try_from(types.len()).unwrap_or(u32::MAX);
        counts.functions = u32::try_from(function_types.len()).unwrap_or(u32::MAX);
        if counts.memories != 1 {
            return Err("it defines no memory, but a tool needs one to receive strings".into());
        }
        match exported.iter().find(|(name, _, _)| name == "memory") {
            Some((_, ExternalKind::Memory, 0)) => {}
            Some(_) => return Err("its export `memory` is not its memory".into()),
            None => return Err("it does not export its memory as `memory`".into()),
        }
        let mut exports = HashMap::new();
        for (name, kind, index) in exported {
            if !matches!(kind, ExternalKind::Func | ExternalKind::FuncExact) {
                continue;
            }
            let signature = function_types
                .get(index as usize)
                .and_then(|ty| types.get(*ty as usize))
                .cloned()
                .flatten();
            if let Some(signature) = signature {
                exports.insert(name, (index, signature));
            }
        }
        let alloc = Signature::new(&[ValType::I32], &[ValType::I32]);
        match exports.get("flow_alloc") {
            Some((_, found)) if *found == alloc => {}
            Some((_, found)) => {
                return Err(format!(
                    "its `flow_alloc` is {}, not func (i32) -> (i32)",
                    describe(found)
                ));
            }
            None => return Err("it does not export `flow_alloc(len: i32) -> i32`".into()),
        }
        let digest = blake3::hash(&bytes).to_hex().to_string();
        Ok(ToolModule {
            bytes,
            digest,
            counts,
            start,
            has_data_count,
            exports,
        })
    }

    /// The index and signature of the exported function `name`.
    pub fn function(&self, name: &str) -> Option<&(u32, Signature)> {
        self.exports.get(name)
    }

    /// The index of the tool's `flow_alloc`, which [`ToolModule::parse`]
    /// checked exists.
    pub fn alloc(&self) -> u32 {
        self.exports
            .get("flow_alloc")
            .map_or(0, |(index, _)| *index)
    }
}

fn signature(ty: &wasmparser::FuncType) -> Option<Signature> {
    let convert = |types: &[wasmparser::ValType]| {
        types
            .iter()
            .map(|ty| match ty {
                wasmparser::ValType::I32 => Some(ValType::I32),
                wasmparser::ValType::I64 => Some(ValType::I64),
                wasmparser::ValType::F32 => Some(ValType::F32),
                wasmparser::ValType::F64 => Some(ValType::F64),
                wasmparser::ValType::V128 => Some(ValType::V128),
                wasmparser::ValType::Ref(_) => None,
            })
            .collect::<Option<Vec<_>>>()
    };
    Some(Signature {
        params: convert(ty.params())?,
        results: convert(ty.results())?,
    })
}

/// The wasm signature of an `extern fn` with these Flow types (LANGUAGE.md
/// §8): `int` is `i64`, `float` `f64`, `bool` `i32`; a `str` parameter is
/// `(ptr: i32, len: i32)` and a `str` result an `i64` holding
/// `ptr << 32 | len`.
pub fn abi_signature(params: &[IrType], ret: &IrType) -> Signature {
    let mut wasm_params = Vec::new();
    for param in params {
        match param {
            IrType::Float => wasm_params.push(ValType::F64),
            IrType::Bool => wasm_params.push(ValType::I32),
            IrType::Str => wasm_params.extend([ValType::I32, ValType::I32]),
            _ => wasm_params.push(ValType::I64),
        }
    }
    let result = match ret {
        IrType::Float => ValType::F64,
        IrType::Bool => ValType::I32,
        _ => ValType::I64,
    };
    Signature {
        params: wasm_params,
        results: vec![result],
    }
}

/// A signature as WebAssembly text spells it: `func (i32, i32) -> (f64)`.
pub fn describe(signature: &Signature) -> String {
    let names = |types: &[ValType]| {
        types
            .iter()
            .map(|ty| match ty {
                ValType::I32 => "i32",
                ValType::I64 => "i64",
                ValType::F32 => "f32",
                ValType::F64 => "f64",
                ValType::V128 => "v128",
                ValType::Ref(_) => "ref",
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "func ({}) -> ({})",
        names(&signature.params),
        names(&signature.results)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(wat_text: &str, expect: Result<(), &str>) {
        let bytes = wat::parse_str(wat_text).expect("test WAT parses");
        match (ToolModule::parse(bytes), expect) {
            (Ok(_), Ok(())) => {}
            (Err(found), Err(wanted)) => {
                assert!(found.contains(wanted), "`{found}` lacks `{wanted}`")
            }
            (found, wanted) => panic!("got {found:?}, expected {wanted:?}"),
        }
    }

    #[test]
    fn tool_modules_are_checked_against_the_abi() {
        let alloc = r#"(func (export "flow_alloc") (param i32) (result i32) i32.const 16)"#;
        check(
            &format!(r#"(module (memory (export "memory") 1) {alloc})"#),
            Ok(()),
        );
        check(
            &format!(r#"(module (import "env" "f" (func)) (memory (export "memory") 1) {alloc})"#),
            Err("imports `env::f`"),
        );
        check(&format!("(module {alloc})"), Err("defines no memory"));
        check(
            &format!(r#"(module (memory 1) {alloc})"#),
            Err("does not export its memory"),
        );
        check(
            r#"(module (memory (export "memory") 1))"#,
            Err("does not export `flow_alloc"),
        );
        check(
            r#"(module (memory (export "memory") 1) (func (export "flow_alloc") (param i64) (result i32) i32.const 0))"#,
            Err("func (i64) -> (i32)"),
        );
        check(
            &format!(r#"(module (memory (export "memory") i64 1) {alloc})"#),
            Err("not a valid WebAssembly 2.0 module"),
        );
    }

    /// The conformance tools are checked in as `.wat` and `.wasm`
    /// (`tests/conformance/generate.py` assembles them): they must agree.
    #[test]
    fn checked_in_tool_modules_are_their_text_assembled() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance");
        let mut checked = 0;
        for case in std::fs::read_dir(root).expect("the conformance folder") {
            let tools = case.expect("an entry").path().join("tools");
            let Ok(entries) = std::fs::read_dir(&tools) else {
                continue;
            };
            for entry in entries {
                let path = entry.expect("an entry").path();
                if path.extension().is_some_and(|e| e == "wat") {
                    let assembled = wat::parse_file(&path).expect("the WAT parses");
                    let wasm = path.with_extension("wasm");
                    let checked_in = std::fs::read(&wasm).expect("the .wasm is checked in");
                    assert!(
                        assembled == checked_in,
                        "{} is stale: run tests/conformance/generate.py",
                        wasm.display()
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 5, "only {checked} tool modules");
    }

    #[test]
    fn abi_signatures_follow_the_language_contract() {
        let text = |params: &[IrType], ret: &IrType| describe(&abi_signature(params, ret));
        assert_eq!(
            text(&[IrType::Str], &IrType::Float),
            "func (i32, i32) -> (f64)"
        );
        assert_eq!(
            text(&[IrType::Int, IrType::Bool], &IrType::Str),
            "func (i64, i32) -> (i64)"
        );
        assert_eq!(text(&[], &IrType::Bool), "func () -> (i32)");
    }
}
