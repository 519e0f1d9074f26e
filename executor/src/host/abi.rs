//! The checks that a module received from a peer speaks the ABI of
//! `docs/abi.md` (stage modules) or LANGUAGE.md §8 (`extern fn` tools).
//!
//! Two passes: [`check_raw`] reads the module's import and export sections
//! before compiling, so a module with imports or without the ABI exports
//! costs no compilation; [`check_compiled`] checks the exact signatures on
//! the compiled module, which also covers modules loaded from a cache.
//! [`check_stage_version`] finally instantiates the module once and asks its
//! ABI version.

use wasmtime::wasmparser::{ExternalKind, Parser, Payload};
use wasmtime::{ExternType, FuncType, Instance, Module};

use super::sandbox::{self, Failure};
use super::{Host, LoadError, ModuleUse};

/// The stage ABI version this host speaks.
pub(crate) const ABI_VERSION: i32 = 1;

/// The function exports every stage module has, with their signatures.
const STAGE_FUNCTIONS: [(&str, &str); 4] = [
    ("flow_abi_version", "func () -> (i32)"),
    ("flow_alloc", "func (i32) -> (i32)"),
    ("flow_reset", "func () -> ()"),
    ("flow_error", "func () -> (i64)"),
];

/// The function exports a stage module may have (docs/abi.md); if it
/// does, with these signatures.
const OPTIONAL_STAGE_FUNCTIONS: [(&str, &str); 1] =
    [("flow_utf8_checked", "func (i32, i32) -> ()")];

/// The function exports every tool module has.
const TOOL_FUNCTIONS: [(&str, &str); 1] = [("flow_alloc", "func (i32) -> (i32)")];

fn required_functions(module_use: ModuleUse) -> &'static [(&'static str, &'static str)] {
    match module_use {
        ModuleUse::Stage => &STAGE_FUNCTIONS,
        ModuleUse::Tool => &TOOL_FUNCTIONS,
    }
}

/// The signature of a `stage_<k>_<step>` export, or `None` for names that
/// are not stage entry points.
fn stage_entry_signature(name: &str) -> Option<&'static str> {
    let rest = name.strip_prefix("stage_")?;
    let (index, step) = rest.split_once('_')?;
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match step {
        "process" => Some("func (i32, i32, i32, i32, i64) -> (i64)"),
        "merge" => Some("func (i32, i32, i32, i32) -> (i64)"),
        "finish" => Some("func (i32, i32) -> (i64)"),
        _ => None,
    }
}

/// Describes a function type the way the constants above spell signatures.
pub(crate) fn describe(ty: &FuncType) -> String {
    let params: Vec<String> = ty.params().map(|p| p.to_string()).collect();
    let results: Vec<String> = ty.results().map(|r| r.to_string()).collect();
    format!("func ({}) -> ({})", params.join(", "), results.join(", "))
}

fn kind_name(kind: ExternalKind) -> &'static str {
    match kind {
        ExternalKind::Func | ExternalKind::FuncExact => "a function",
        ExternalKind::Table => "a table",
        ExternalKind::Memory => "a memory",
        ExternalKind::Global => "a global",
        ExternalKind::Tag => "a tag",
    }
}

/// Checks the raw bytes: they parse, import nothing, and export the names
/// the ABI needs with the right kinds. Full validation and signatures are
/// left to compilation and [`check_compiled`].
pub(crate) fn check_raw(bytes: &[u8], module_use: ModuleUse) -> Result<(), LoadError> {
    let mut exports: Vec<(String, ExternalKind)> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|error| LoadError::Invalid(error.to_string()))? {
            Payload::ImportSection(reader) => {
                if let Some(import) = reader.into_imports().next() {
                    let import = import.map_err(|error| LoadError::Invalid(error.to_string()))?;
                    return Err(LoadError::Import {
                        module: import.module.to_owned(),
                        name: import.name.to_owned(),
                    });
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|error| LoadError::Invalid(error.to_string()))?;
                    exports.push((export.name.to_owned(), export.kind));
                }
            }
            // Components are a different format; a stage is a core module.
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => {
                return Err(LoadError::Invalid(
                    "a component, not a core WebAssembly module".to_owned(),
                ));
            }
            _ => {}
        }
    }
    let find = |name: &str| exports.iter().find(|(n, _)| n == name).map(|(_, k)| *k);
    match find("memory") {
        None => return Err(missing("memory", "a memory")),
        Some(ExternalKind::Memory) => {}
        Some(other) => return Err(wrong("memory", "a memory", kind_name(other))),
    }
    for (name, signature) in required_functions(module_use) {
        match find(name) {
            None => return Err(missing(name, signature)),
            Some(ExternalKind::Func | ExternalKind::FuncExact) => {}
            Some(other) => return Err(wrong(name, signature, kind_name(other))),
        }
    }
    Ok(())
}

/// Checks a compiled module: no imports, a 32-bit `memory`, the ABI
/// functions with their exact signatures, and (for stages) the optional
/// ABI functions it has and every `stage_<k>_<step>` export with their
/// signatures.
pub(crate) fn check_compiled(module: &Module, module_use: ModuleUse) -> Result<(), LoadError> {
    if let Some(import) = module.imports().next() {
        return Err(LoadError::Import {
            module: import.module().to_owned(),
            name: import.name().to_owned(),
        });
    }
    match module.get_export("memory") {
        None => return Err(missing("memory", "a memory")),
        Some(ExternType::Memory(memory)) if !memory.is_64() && !memory.is_shared() => {}
        Some(ExternType::Memory(_)) => {
            return Err(wrong(
                "memory",
                "an unshared 32-bit memory",
                "a 64-bit or shared memory",
            ));
        }
        Some(other) => return Err(wrong("memory", "a memory", extern_name(&other))),
    }
    for (name, signature) in required_functions(module_use) {
        check_function(module, name, signature)?;
    }
    if module_use == ModuleUse::Stage {
        for (name, signature) in OPTIONAL_STAGE_FUNCTIONS {
            if module.get_export(name).is_some() {
                check_function(module, name, signature)?;
            }
        }
        for export in module.exports() {
            if let Some(signature) = stage_entry_signature(export.name()) {
                check_function(module, export.name(), signature)?;
            }
        }
    }
    Ok(())
}

fn check_function(module: &Module, name: &str, signature: &str) -> Result<(), LoadError> {
    match module.get_export(name) {
        None => Err(missing(name, signature)),
        Some(ExternType::Func(ty)) => {
            let found = describe(&ty);
            if found == signature {
                Ok(())
            } else {
                Err(wrong(name, signature, &found))
            }
        }
        Some(other) => Err(wrong(name, signature, extern_name(&other))),
    }
}

fn extern_name(ty: &ExternType) -> &'static str {
    match ty {
        ExternType::Func(_) => "a function",
        ExternType::Global(_) => "a global",
        ExternType::Table(_) => "a table",
        ExternType::Memory(_) => "a memory",
        ExternType::Tag(_) => "a tag",
    }
}

fn missing(name: &str, expected: &str) -> LoadError {
    LoadError::MissingExport {
        name: name.to_owned(),
        expected: expected.to_owned(),
    }
}

fn wrong(name: &str, expected: &str, found: &str) -> LoadError {
    LoadError::WrongExport {
        name: name.to_owned(),
        expected: expected.to_owned(),
        found: found.to_owned(),
    }
}

/// Instantiates the module once, under the host's limits and deadline, and
/// checks that `flow_abi_version` returns [`ABI_VERSION`].
pub(crate) fn check_stage_version(host: &Host, module: &Module) -> Result<(), LoadError> {
    let deadline = host.config().deadline;
    let mut store = sandbox::new_store(host);
    sandbox::arm_deadline(&mut store, host.config(), deadline);
    let instance = Instance::new(&mut store, module, &[]).map_err(|error| {
        LoadError::Instantiation(sandbox::classify(&error, &store, deadline).to_string())
    })?;
    let version_fn = instance
        .get_typed_func::<(), i32>(&mut store, "flow_abi_version")
        .map_err(|error| LoadError::Instantiation(format!("{error:#}")))?;
    let found = version_fn.call(&mut store, ()).map_err(|error| {
        let failure: Failure = sandbox::classify(&error, &store, deadline);
        LoadError::Instantiation(format!("flow_abi_version {failure}"))
    })?;
    if found == ABI_VERSION {
        Ok(())
    } else {
        Err(LoadError::AbiVersion { found })
    }
}
