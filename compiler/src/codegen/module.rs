//! Stage modules as the runtime `.wasm` plus generated code.
//!
//! [`RuntimeModule`] describes the embedded runtime (its function count,
//! types, exports and function table) so generated code can call runtime
//! functions by name. [`ModuleBuilder`] collects the generated functions,
//! their types, exports and function-table entries, and
//! [`ModuleBuilder::finish`] re-encodes the runtime with them appended
//! (wasm-encoder's `reencode`). Appending keeps every index of the runtime
//! valid: the runtime imports nothing, so new functions simply follow its
//! own.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::OnceLock;

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    CodeSection, ConstExpr, ElementSection, Elements, ExportKind, ExportSection, Function,
    FunctionSection, TableSection, TypeSection, ValType,
};
use wasmparser::{Parser, Payload, TypeRef};

use super::CodegenError;

/// The runtime library built for wasm32 by `compiler/build.rs`.
static RUNTIME_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/flow_runtime.wasm"));

/// The bytes of the runtime library module (`flow-runtime` built for
/// `wasm32-unknown-unknown`), before any generated code is appended.
pub fn runtime_wasm() -> &'static [u8] {
    RUNTIME_WASM
}

/// A function signature: parameter and result types.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Signature {
    /// Parameter types.
    pub params: Vec<ValType>,
    /// Result types.
    pub results: Vec<ValType>,
}

impl Signature {
    /// A signature from parameter and result types.
    pub fn new(params: &[ValType], results: &[ValType]) -> Signature {
        Signature {
            params: params.to_vec(),
            results: results.to_vec(),
        }
    }
}

/// What code generation needs to know about the runtime module.
#[derive(Debug)]
pub struct RuntimeModule {
    /// The number of types in the runtime's type section.
    pub type_count: u32,
    /// The number of functions the runtime defines (it imports none).
    pub function_count: u32,
    /// Exported functions by name: index and signature.
    pub exports: HashMap<String, (u32, Signature)>,
    /// The initial size of function table 0, where new entries start.
    pub table_size: u64,
}

impl RuntimeModule {
    /// The runtime embedded in this compiler, parsed once.
    pub fn embedded() -> Result<&'static RuntimeModule, CodegenError> {
        static PARSED: OnceLock<Result<RuntimeModule, CodegenError>> = OnceLock::new();
        PARSED
            .get_or_init(|| RuntimeModule::parse(RUNTIME_WASM))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Reads what code generation needs from a runtime module.
    pub fn parse(bytes: &[u8]) -> Result<RuntimeModule, CodegenError> {
        let bad = |error: wasmparser::BinaryReaderError| {
            CodegenError::Runtime(format!("the runtime module does not parse: {error}"))
        };
        let mut types: Vec<Option<Signature>> = Vec::new();
        let mut function_types: Vec<u32> = Vec::new();
        let mut exported: Vec<(String, u32)> = Vec::new();
        let mut table_size = None;
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.map_err(bad)? {
                Payload::TypeSection(reader) => {
                    for ty in reader.into_iter_err_on_gc_types() {
                        let ty = ty.map_err(bad)?;
                        let convert = |types: &[wasmparser::ValType]| {
                            types
                                .iter()
                                .map(|ty| val_type(*ty))
                                .collect::<Option<Vec<_>>>()
                        };
                        types.push(match (convert(ty.params()), convert(ty.results())) {
                            (Some(params), Some(results)) => Some(Signature { params, results }),
                            _ => None,
                        });
                    }
                }
                Payload::ImportSection(reader) => {
                    if let Some(import) = reader.into_imports().next() {
                        let import = import.map_err(bad)?;
                        return Err(CodegenError::Runtime(format!(
                            "the runtime module imports `{}::{}`, but stage modules must import nothing",
                            import.module, import.name
                        )));
                    }
                }
                Payload::FunctionSection(reader) => {
                    for ty in reader {
                        function_types.push(ty.map_err(bad)?);
                    }
                }
                Payload::TableSection(reader) => {
                    if let Some(table) = reader.into_iter().next() {
                        table_size = Some(table.map_err(bad)?.ty.initial);
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export.map_err(bad)?;
                        if matches!(export.kind, wasmparser::ExternalKind::Func) {
                            exported.push((export.name.to_owned(), export.index));
                        }
                    }
                }
                _ => {}
            }
        }
        let mut exports = HashMap::new();
        for (name, index) in exported {
            let signature = function_types
                .get(index as usize)
                .and_then(|ty| types.get(*ty as usize))
                .and_then(Clone::clone);
            if let Some(signature) = signature {
                exports.insert(name, (index, signature));
            }
        }
        Ok(RuntimeModule {
            type_count: u32::try_from(types.len()).unwrap_or(u32::MAX),
            function_count: u32::try_from(function_types.len()).unwrap_or(u32::MAX),
            exports,
            table_size: table_size.ok_or_else(|| {
                CodegenError::Runtime("the runtime module has no function table".to_owned())
            })?,
        })
    }

    /// The index of the exported runtime function `name`, checked against
    /// the signature generated code calls it with.
    pub fn function(&self, name: &str, signature: &Signature) -> Result<u32, CodegenError> {
        match self.exports.get(name) {
            Some((index, found)) if found == signature => Ok(*index),
            Some((_, found)) => Err(CodegenError::Runtime(format!(
                "the runtime function `{name}` has the signature {found:?}, code generation expects {signature:?}"
            ))),
            None => Err(CodegenError::Runtime(format!(
                "the runtime does not export `{name}`"
            ))),
        }
    }
}

fn val_type(ty: wasmparser::ValType) -> Option<ValType> {
    match ty {
        wasmparser::ValType::I32 => Some(ValType::I32),
        wasmparser::ValType::I64 => Some(ValType::I64),
        wasmparser::ValType::F32 => Some(ValType::F32),
        wasmparser::ValType::F64 => Some(ValType::F64),
        wasmparser::ValType::V128 => Some(ValType::V128),
        wasmparser::ValType::Ref(_) => None,
    }
}

/// Generated functions, types, exports and table entries, to be appended to
/// the runtime module.
#[derive(Debug)]
pub struct ModuleBuilder {
    runtime: &'static RuntimeModule,
    types: Vec<Signature>,
    type_indices: HashMap<Signature, u32>,
    /// Per new function: its type index and its body once defined.
    functions: Vec<(u32, Option<Function>)>,
    exports: Vec<(String, u32)>,
    table_entries: Vec<u32>,
}

impl ModuleBuilder {
    /// A builder over the embedded runtime.
    pub fn new() -> Result<ModuleBuilder, CodegenError> {
        Ok(ModuleBuilder::over(RuntimeModule::embedded()?))
    }

    /// A builder over a given runtime description.
    pub fn over(runtime: &'static RuntimeModule) -> ModuleBuilder {
        ModuleBuilder {
            runtime,
            types: Vec::new(),
            type_indices: HashMap::new(),
            functions: Vec::new(),
            exports: Vec::new(),
            table_entries: Vec::new(),
        }
    }

    /// The runtime this builder extends.
    pub fn runtime(&self) -> &'static RuntimeModule {
        self.runtime
    }

    /// The index of the exported runtime function `name` with `signature`.
    pub fn runtime_function(
        &self,
        name: &str,
        params: &[ValType],
        results: &[ValType],
    ) -> Result<u32, CodegenError> {
        self.runtime
            .function(name, &Signature::new(params, results))
    }

    /// The index of a type with this signature among the new types.
    pub fn type_index(&mut self, signature: Signature) -> u32 {
        if let Some(index) = self.type_indices.get(&signature) {
            return *index;
        }
        let index = self.runtime.type_count + self.types.len() as u32;
        self.types.push(signature.clone());
        self.type_indices.insert(signature, index);
        index
    }

    /// Reserves a new function with `signature` and returns its index; its
    /// body is given later with [`ModuleBuilder::define`], so functions can
    /// call each other in any order.
    pub fn declare(&mut self, signature: Signature) -> u32 {
        let ty = self.type_index(signature);
        let index = self.runtime.function_count + self.functions.len() as u32;
        self.functions.push((ty, None));
        index
    }

    /// Gives the body of a function reserved with [`ModuleBuilder::declare`].
    pub fn define(&mut self, index: u32, body: Function) -> Result<(), CodegenError> {
        let slot = index
            .checked_sub(self.runtime.function_count)
            .and_then(|i| self.functions.get_mut(i as usize))
            .ok_or_else(|| {
                CodegenError::Internal(format!("function {index} was never declared"))
            })?;
        slot.1 = Some(body);
        Ok(())
    }

    /// Exports function `index` as `name`.
    pub fn export(&mut self, name: &str, index: u32) {
        self.exports.push((name.to_owned(), index));
    }

    /// Puts function `index` into the function table and returns the table
    /// slot: the value of a function pointer the runtime can call.
    pub fn table_slot(&mut self, index: u32) -> i32 {
        if let Some(position) = self.table_entries.iter().position(|f| *f == index) {
            return (self.runtime.table_size + position as u64) as i32;
        }
        self.table_entries.push(index);
        (self.runtime.table_size + self.table_entries.len() as u64 - 1) as i32
    }

    /// The runtime module with everything added, re-encoded.
    pub fn finish(self) -> Result<Vec<u8>, CodegenError> {
        let mut bodies = Vec::with_capacity(self.functions.len());
        let mut function_types = Vec::with_capacity(self.functions.len());
        for (offset, (ty, body)) in self.functions.into_iter().enumerate() {
            let body = body.ok_or_else(|| {
                CodegenError::Internal(format!(
                    "function {} was declared but never defined",
                    self.runtime.function_count as usize + offset
                ))
            })?;
            function_types.push(ty);
            bodies.push(body);
        }
        let mut appender = Appender {
            types: self.types,
            function_types,
            bodies,
            exports: self.exports,
            table_entries: self.table_entries,
            table_size: self.runtime.table_size,
            elements_written: false,
        };
        let mut module = wasm_encoder::Module::new();
        appender
            .parse_core_module(&mut module, Parser::new(0), RUNTIME_WASM)
            .map_err(|error| CodegenError::Runtime(format!("re-encoding failed: {error}")))?;
        Ok(module.finish())
    }
}

/// The re-encoder: copies the runtime and appends the new items to the
/// sections they belong in.
struct Appender {
    types: Vec<Signature>,
    function_types: Vec<u32>,
    bodies: Vec<Function>,
    exports: Vec<(String, u32)>,
    table_entries: Vec<u32>,
    table_size: u64,
    elements_written: bool,
}

impl Appender {
    fn append_elements(&mut self, elements: &mut ElementSection) {
        if !self.elements_written && !self.table_entries.is_empty() {
            elements.active(
                None,
                &ConstExpr::i32_const(self.table_size as i32),
                Elements::Functions(self.table_entries.as_slice().into()),
            );
        }
        self.elements_written = true;
    }
}

/// The position of a section in a module, in the order the binary format
/// requires (data count comes before code).
fn section_rank(id: wasm_encoder::SectionId) -> u8 {
    use wasm_encoder::SectionId as S;
    match id {
        S::Custom => 0,
        S::Type => 1,
        S::Import => 2,
        S::Function => 3,
        S::Table => 4,
        S::Memory => 5,
        S::Tag => 6,
        S::Global => 7,
        S::Export => 8,
        S::Start => 9,
        S::Element => 10,
        S::DataCount => 11,
        S::Code => 12,
        S::Data => 13,
    }
}

impl Reencode for Appender {
    type Error = Infallible;

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        for signature in &self.types {
            types
                .ty()
                .function(signature.params.clone(), signature.results.clone());
        }
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_function_section(self, functions, section)?;
        for ty in &self.function_types {
            functions.function(*ty);
        }
        Ok(())
    }

    fn parse_table_section(
        &mut self,
        tables: &mut TableSection,
        section: wasmparser::TableSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let added = self.table_entries.len() as u64;
        for (index, table) in section.into_iter().enumerate() {
            let table = table?;
            let mut ty = self.table_type(table.ty)?;
            if index == 0 {
                ty.minimum += added;
                ty.maximum = ty.maximum.map(|maximum| maximum + added);
            }
            match table.init {
                wasmparser::TableInit::RefNull => {
                    tables.table(ty);
                }
                wasmparser::TableInit::Expr(expr) => {
                    tables.table_with_init(ty, &self.const_expr(expr)?);
                }
            }
        }
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_export_section(self, exports, section)?;
        for (name, index) in &self.exports {
            exports.export(name, ExportKind::Func, *index);
        }
        Ok(())
    }

    fn parse_element_section(
        &mut self,
        elements: &mut ElementSection,
        section: wasmparser::ElementSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_element_section(self, elements, section)?;
        self.append_elements(elements);
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_code_section(self, code, section)?;
        for body in &self.bodies {
            code.function(body);
        }
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        _after: Option<wasm_encoder::SectionId>,
        before: Option<wasm_encoder::SectionId>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        // A runtime without an element section gets one for the new table
        // entries, just before the first section that must follow it.
        let element_rank = section_rank(wasm_encoder::SectionId::Element);
        let passed_elements = before.is_none_or(|next| section_rank(next) > element_rank);
        if passed_elements && !self.elements_written && !self.table_entries.is_empty() {
            let mut elements = ElementSection::new();
            self.append_elements(&mut elements);
            module.section(&elements);
        }
        Ok(())
    }
}

/// Checks that `bytes` is a valid module that imports nothing.
pub fn validate(bytes: &[u8]) -> Result<(), CodegenError> {
    let mut validator =
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::default());
    validator
        .validate_all(bytes)
        .map_err(|error| CodegenError::Invalid(error.to_string()))?;
    for payload in Parser::new(0).parse_all(bytes) {
        if let Ok(Payload::ImportSection(reader)) = payload
            && let Some(Ok(import)) = reader.into_imports().next()
        {
            let kind = match import.ty {
                TypeRef::Func(_) | TypeRef::FuncExact(_) => "function",
                TypeRef::Table(_) => "table",
                TypeRef::Memory(_) => "memory",
                TypeRef::Global(_) => "global",
                TypeRef::Tag(_) => "tag",
            };
            return Err(CodegenError::Invalid(format!(
                "the module imports the {kind} `{}::{}`",
                import.module, import.name
            )));
        }
    }
    Ok(())
}
