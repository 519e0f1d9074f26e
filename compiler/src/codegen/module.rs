//! Stage modules as the runtime `.wasm` plus linked tools plus generated
//! code.
//!
//! [`RuntimeModule`] describes the embedded runtime (its function count,
//! types, exports and function table) so generated code can call runtime
//! functions by name. [`ModuleBuilder`] collects the generated functions,
//! their types, globals, exports and function-table entries, and
//! [`ModuleBuilder::finish`] re-encodes the runtime with them appended
//! (wasm-encoder's `reencode`). Appending keeps every index of the runtime
//! valid: the runtime imports nothing, so new items simply follow its own.
//!
//! `extern fn` tool modules ([`ToolModule`]) are appended between the
//! runtime and the generated code, in every index space: each tool's
//! types, functions, tables, memory, globals, element and data segments
//! follow the runtime's (and the earlier tools'), with every index inside
//! the tool shifted by the same amount ([`ToolShifter`]). A tool's memory
//! therefore becomes memory 1, 2, … of the stage module (multi-memory), its
//! data segments initialise that memory, and its exports are dropped:
//! generated code calls its functions directly.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::OnceLock;

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    CodeSection, ConstExpr, DataCountSection, DataSection, ElementSection, Elements, ExportKind,
    ExportSection, Function, FunctionSection, GlobalSection, GlobalType, MemorySection, SectionId,
    StartSection, TableSection, TypeSection, ValType,
};
use wasmparser::{Parser, Payload, TypeRef};

use super::CodegenError;
use super::tool::{ItemCounts, ToolModule};

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
    /// How many items of each index space the runtime defines.
    pub counts: ItemCounts,
    /// The runtime's start function, if it has one.
    pub start: Option<u32>,
    /// Whether the runtime has a data count section.
    pub has_data_count: bool,
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
        let mut counts = ItemCounts::default();
        let mut start = None;
        let mut has_data_count = false;
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
                    counts.tables = reader.count();
                    if let Some(table) = reader.into_iter().next() {
                        table_size = Some(table.map_err(bad)?.ty.initial);
                    }
                }
                Payload::MemorySection(reader) => counts.memories = reader.count(),
                Payload::GlobalSection(reader) => counts.globals = reader.count(),
                Payload::ElementSection(reader) => counts.elements = reader.count(),
                Payload::DataSection(reader) => counts.datas = reader.count(),
                Payload::DataCountSection { .. } => has_data_count = true,
                Payload::StartSection { func, .. } => start = Some(func),
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
        counts.types = u32::try_from(types.len()).unwrap_or(u32::MAX);
        counts.functions = u32::try_from(function_types.len()).unwrap_or(u32::MAX);
        if counts.memories != 1 {
            return Err(CodegenError::Runtime(format!(
                "the runtime module defines {} memories, code generation expects one",
                counts.memories
            )));
        }
        Ok(RuntimeModule {
            type_count: counts.types,
            function_count: counts.functions,
            counts,
            start,
            has_data_count,
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
    /// Linked tools, in order, each with the counts of everything before it.
    tools: Vec<(ToolModule, ItemCounts)>,
    /// The counts of the runtime and every tool: where generated items start.
    base: ItemCounts,
    types: Vec<Signature>,
    type_indices: HashMap<Signature, u32>,
    /// Per new function: its type index and its body once defined.
    functions: Vec<(u32, Option<Function>)>,
    exports: Vec<(String, u32)>,
    /// Runtime exports whose name now names a generated function.
    replaced_exports: HashMap<String, u32>,
    /// New mutable globals: type and initial value.
    globals: Vec<(ValType, ConstExpr)>,
    start: Option<u32>,
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
            tools: Vec::new(),
            base: runtime.counts,
            types: Vec::new(),
            type_indices: HashMap::new(),
            functions: Vec::new(),
            exports: Vec::new(),
            replaced_exports: HashMap::new(),
            globals: Vec::new(),
            start: None,
            table_entries: Vec::new(),
        }
    }

    /// A builder over the embedded runtime with `tools` linked after it, in
    /// this order.
    pub fn with_tools(tools: Vec<ToolModule>) -> Result<ModuleBuilder, CodegenError> {
        let mut builder = ModuleBuilder::new()?;
        for tool in tools {
            let before = builder.base;
            builder.base = before.plus(tool.counts);
            builder.tools.push((tool, before));
        }
        Ok(builder)
    }

    /// The index of function `index` of linked tool `tool` in the stage
    /// module.
    pub fn tool_function(&self, tool: usize, index: u32) -> Result<u32, CodegenError> {
        self.tools
            .get(tool)
            .map(|(_, before)| before.functions + index)
            .ok_or_else(|| CodegenError::Internal(format!("no linked tool {tool}")))
    }

    /// The memory index of linked tool `tool`'s memory.
    pub fn tool_memory(&self, tool: usize) -> Result<u32, CodegenError> {
        self.tools
            .get(tool)
            .map(|(_, before)| before.memories)
            .ok_or_else(|| CodegenError::Internal(format!("no linked tool {tool}")))
    }

    /// The start functions of the linked tools, as stage-module indices.
    pub fn tool_starts(&self) -> Vec<u32> {
        self.tools
            .iter()
            .filter_map(|(tool, before)| tool.start.map(|start| before.functions + start))
            .collect()
    }

    /// A new mutable global of type `ty` starting at `init`; returns its
    /// index.
    pub fn global(&mut self, ty: ValType, init: ConstExpr) -> u32 {
        self.globals.push((ty, init));
        self.base.globals + self.globals.len() as u32 - 1
    }

    /// Makes the runtime's export `name` name function `index` instead.
    pub fn replace_export(&mut self, name: &str, index: u32) {
        self.replaced_exports.insert(name.to_owned(), index);
    }

    /// Makes function `index` (`() -> ()`) the module's start function.
    pub fn set_start(&mut self, index: u32) {
        self.start = Some(index);
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
        let index = self.base.types + self.types.len() as u32;
        self.types.push(signature.clone());
        self.type_indices.insert(signature, index);
        index
    }

    /// Reserves a new function with `signature` and returns its index; its
    /// body is given later with [`ModuleBuilder::define`], so functions can
    /// call each other in any order.
    pub fn declare(&mut self, signature: Signature) -> u32 {
        let ty = self.type_index(signature);
        let index = self.base.functions + self.functions.len() as u32;
        self.functions.push((ty, None));
        index
    }

    /// Gives the body of a function reserved with [`ModuleBuilder::declare`].
    pub fn define(&mut self, index: u32, body: Function) -> Result<(), CodegenError> {
        let slot = index
            .checked_sub(self.base.functions)
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

    /// [`ModuleBuilder::define`] then [`ModuleBuilder::export`]: the body of
    /// a declared export.
    pub fn define_export(
        &mut self,
        index: u32,
        body: Function,
        name: &str,
    ) -> Result<(), CodegenError> {
        self.define(index, body)?;
        self.export(name, index);
        Ok(())
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
                    self.base.functions as usize + offset
                ))
            })?;
            function_types.push(ty);
            bodies.push(body);
        }
        let total_datas = self.base.datas;
        let needs_data_count =
            self.runtime.has_data_count || self.tools.iter().any(|(tool, _)| tool.has_data_count);
        let mut appender = Appender {
            types: self.types,
            function_types,
            bodies,
            exports: self.exports,
            replaced_exports: self.replaced_exports,
            globals: self.globals,
            start: self.start,
            tools: self.tools,
            table_entries: self.table_entries,
            table_size: self.runtime.table_size,
            data_count: needs_data_count.then_some(total_datas),
            written: Vec::new(),
        };
        let mut module = wasm_encoder::Module::new();
        appender
            .parse_core_module(&mut module, Parser::new(0), RUNTIME_WASM)
            .map_err(|error| CodegenError::Runtime(format!("re-encoding failed: {error}")))?;
        Ok(module.finish())
    }
}

/// The re-encoder: copies the runtime and appends the linked tools' items
/// and the generated ones to the sections they belong in.
struct Appender {
    types: Vec<Signature>,
    function_types: Vec<u32>,
    bodies: Vec<Function>,
    exports: Vec<(String, u32)>,
    replaced_exports: HashMap<String, u32>,
    globals: Vec<(ValType, ConstExpr)>,
    start: Option<u32>,
    tools: Vec<(ToolModule, ItemCounts)>,
    table_entries: Vec<u32>,
    table_size: u64,
    /// The data count section's value, when the module needs one.
    data_count: Option<u32>,
    /// Sections already written, so a section the runtime lacks is written
    /// once, in its place, when something is appended to it.
    written: Vec<SectionId>,
}

/// Re-encodes one tool with every index shifted past the items before it.
struct ToolShifter {
    before: ItemCounts,
}

impl Reencode for ToolShifter {
    type Error = Infallible;

    fn type_index(&mut self, ty: u32) -> Result<u32, reencode::Error<Infallible>> {
        Ok(self.before.types + ty)
    }

    fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Infallible>> {
        Ok(self.before.functions + func)
    }

    fn table_index(&mut self, table: u32) -> Result<u32, reencode::Error<Infallible>> {
        Ok(self.before.tables + table)
    }

    fn memory_index(&mut self, memory: u32) -> Result<u32, reencode::Error<Infallible>> {
        Ok(self.before.memories + memory)
    }

    fn global_index(&mut self, global: u32) -> Result<u32, reencode::Error<Infallible>> {
        Ok(self.before.globals + global)
    }

    fn element_index(&mut self, element: u32) -> Result<u32, reencode::Error<Infallible>> {
        Ok(self.before.elements + element)
    }

    fn data_index(&mut self, data: u32) -> Result<u32, reencode::Error<Infallible>> {
        Ok(self.before.datas + data)
    }
}

type ReencodeResult = Result<(), reencode::Error<Infallible>>;

impl Appender {
    /// Runs `add` on every section payload of every tool, with the tool's
    /// shifter.
    fn for_each_tool(
        &self,
        mut add: impl FnMut(&mut ToolShifter, Payload<'_>) -> ReencodeResult,
    ) -> ReencodeResult {
        for (tool, before) in &self.tools {
            let mut shifter = ToolShifter { before: *before };
            for payload in Parser::new(0).parse_all(&tool.bytes) {
                add(&mut shifter, payload?)?;
            }
        }
        Ok(())
    }

    fn add_types(&mut self, types: &mut TypeSection) -> ReencodeResult {
        self.for_each_tool(|shifter, payload| match payload {
            Payload::TypeSection(reader) => shifter.parse_type_section(types, reader),
            _ => Ok(()),
        })?;
        for signature in &self.types {
            types
                .ty()
                .function(signature.params.clone(), signature.results.clone());
        }
        Ok(())
    }

    fn add_functions(&mut self, functions: &mut FunctionSection) -> ReencodeResult {
        self.for_each_tool(|shifter, payload| match payload {
            Payload::FunctionSection(reader) => shifter.parse_function_section(functions, reader),
            _ => Ok(()),
        })?;
        for ty in &self.function_types {
            functions.function(*ty);
        }
        Ok(())
    }

    fn add_tables(&mut self, tables: &mut TableSection) -> ReencodeResult {
        self.for_each_tool(|shifter, payload| match payload {
            Payload::TableSection(reader) => {
                for table in reader {
                    shifter.parse_table(tables, table?)?;
                }
                Ok(())
            }
            _ => Ok(()),
        })
    }

    fn add_memories(&mut self, memories: &mut MemorySection) -> ReencodeResult {
        self.for_each_tool(|shifter, payload| match payload {
            Payload::MemorySection(reader) => shifter.parse_memory_section(memories, reader),
            _ => Ok(()),
        })
    }

    fn add_globals(&mut self, globals: &mut GlobalSection) -> ReencodeResult {
        self.for_each_tool(|shifter, payload| match payload {
            Payload::GlobalSection(reader) => shifter.parse_global_section(globals, reader),
            _ => Ok(()),
        })?;
        for (ty, init) in &self.globals {
            globals.global(
                GlobalType {
                    val_type: *ty,
                    mutable: true,
                    shared: false,
                },
                init,
            );
        }
        Ok(())
    }

    fn add_exports(&mut self, exports: &mut ExportSection) {
        for (name, index) in &self.exports {
            exports.export(name, ExportKind::Func, *index);
        }
    }

    fn add_elements(&mut self, elements: &mut ElementSection) -> ReencodeResult {
        // Tool segments come before the generated one, so their element
        // indices are the ones the shifter gives.
        self.for_each_tool(|shifter, payload| match payload {
            Payload::ElementSection(reader) => shifter.parse_element_section(elements, reader),
            _ => Ok(()),
        })?;
        if !self.table_entries.is_empty() {
            elements.active(
                None,
                &ConstExpr::i32_const(self.table_size as i32),
                Elements::Functions(self.table_entries.as_slice().into()),
            );
        }
        Ok(())
    }

    fn add_code(&mut self, code: &mut CodeSection) -> ReencodeResult {
        self.for_each_tool(|shifter, payload| match payload {
            Payload::CodeSectionEntry(body) => shifter.parse_function_body(code, body),
            _ => Ok(()),
        })?;
        for body in &self.bodies {
            code.function(body);
        }
        Ok(())
    }

    fn add_data(&mut self, data: &mut DataSection) -> ReencodeResult {
        self.for_each_tool(|shifter, payload| match payload {
            Payload::DataSection(reader) => shifter.parse_data_section(data, reader),
            _ => Ok(()),
        })
    }

    /// Whether anything is appended to section `id`, so a runtime without
    /// that section gets one.
    fn adds_to(&self, id: SectionId) -> bool {
        let tools_have =
            |has: fn(&ItemCounts) -> bool| self.tools.iter().any(|(tool, _)| has(&tool.counts));
        match id {
            SectionId::Type => !self.types.is_empty() || tools_have(|c| c.types > 0),
            SectionId::Function | SectionId::Code => {
                !self.function_types.is_empty() || tools_have(|c| c.functions > 0)
            }
            SectionId::Table => tools_have(|c| c.tables > 0),
            SectionId::Memory => tools_have(|c| c.memories > 0),
            SectionId::Global => !self.globals.is_empty() || tools_have(|c| c.globals > 0),
            SectionId::Export => !self.exports.is_empty(),
            SectionId::Start => self.start.is_some(),
            SectionId::Element => !self.table_entries.is_empty() || tools_have(|c| c.elements > 0),
            SectionId::DataCount => self.data_count.is_some(),
            SectionId::Data => tools_have(|c| c.datas > 0),
            SectionId::Custom | SectionId::Import | SectionId::Tag => false,
        }
    }

    /// Writes section `id` holding only the appended items.
    fn write_missing(
        &mut self,
        module: &mut wasm_encoder::Module,
        id: SectionId,
    ) -> ReencodeResult {
        match id {
            SectionId::Type => {
                let mut section = TypeSection::new();
                self.add_types(&mut section)?;
                module.section(&section);
            }
            SectionId::Function => {
                let mut section = FunctionSection::new();
                self.add_functions(&mut section)?;
                module.section(&section);
            }
            SectionId::Table => {
                let mut section = TableSection::new();
                self.add_tables(&mut section)?;
                module.section(&section);
            }
            SectionId::Memory => {
                let mut section = MemorySection::new();
                self.add_memories(&mut section)?;
                module.section(&section);
            }
            SectionId::Global => {
                let mut section = GlobalSection::new();
                self.add_globals(&mut section)?;
                module.section(&section);
            }
            SectionId::Export => {
                let mut section = ExportSection::new();
                self.add_exports(&mut section);
                module.section(&section);
            }
            SectionId::Start => {
                if let Some(function_index) = self.start {
                    module.section(&StartSection { function_index });
                }
            }
            SectionId::Element => {
                let mut section = ElementSection::new();
                self.add_elements(&mut section)?;
                module.section(&section);
            }
            SectionId::DataCount => {
                if let Some(count) = self.data_count {
                    module.section(&DataCountSection { count });
                }
            }
            SectionId::Code => {
                let mut section = CodeSection::new();
                self.add_code(&mut section)?;
                module.section(&section);
            }
            SectionId::Data => {
                let mut section = DataSection::new();
                self.add_data(&mut section)?;
                module.section(&section);
            }
            SectionId::Custom | SectionId::Import | SectionId::Tag => {}
        }
        self.written.push(id);
        Ok(())
    }
}

/// Every section id that can be appended to, in module order.
const APPENDABLE: [SectionId; 11] = [
    SectionId::Type,
    SectionId::Function,
    SectionId::Table,
    SectionId::Memory,
    SectionId::Global,
    SectionId::Export,
    SectionId::Start,
    SectionId::Element,
    SectionId::DataCount,
    SectionId::Code,
    SectionId::Data,
];

/// The position of a section in a module, in the order the binary format
/// requires (data count comes before code).
fn section_rank(id: SectionId) -> u8 {
    use SectionId as S;
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
    ) -> ReencodeResult {
        reencode::utils::parse_type_section(self, types, section)?;
        self.add_types(types)?;
        self.written.push(SectionId::Type);
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> ReencodeResult {
        reencode::utils::parse_function_section(self, functions, section)?;
        self.add_functions(functions)?;
        self.written.push(SectionId::Function);
        Ok(())
    }

    fn parse_table_section(
        &mut self,
        tables: &mut TableSection,
        section: wasmparser::TableSectionReader<'_>,
    ) -> ReencodeResult {
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
        self.add_tables(tables)?;
        self.written.push(SectionId::Table);
        Ok(())
    }

    fn parse_memory_section(
        &mut self,
        memories: &mut MemorySection,
        section: wasmparser::MemorySectionReader<'_>,
    ) -> ReencodeResult {
        reencode::utils::parse_memory_section(self, memories, section)?;
        self.add_memories(memories)?;
        self.written.push(SectionId::Memory);
        Ok(())
    }

    fn parse_global_section(
        &mut self,
        globals: &mut GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> ReencodeResult {
        reencode::utils::parse_global_section(self, globals, section)?;
        self.add_globals(globals)?;
        self.written.push(SectionId::Global);
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> ReencodeResult {
        for export in section {
            let export = export?;
            match self.replaced_exports.get(export.name) {
                Some(index) if matches!(export.kind, wasmparser::ExternalKind::Func) => {
                    exports.export(export.name, ExportKind::Func, *index);
                }
                _ => self.parse_export(exports, export)?,
            }
        }
        self.add_exports(exports);
        self.written.push(SectionId::Export);
        Ok(())
    }

    fn start_section(&mut self, start: u32) -> Result<u32, reencode::Error<Infallible>> {
        // A generated start function calls the runtime's own first.
        self.written.push(SectionId::Start);
        Ok(self.start.unwrap_or(start))
    }

    fn parse_element_section(
        &mut self,
        elements: &mut ElementSection,
        section: wasmparser::ElementSectionReader<'_>,
    ) -> ReencodeResult {
        reencode::utils::parse_element_section(self, elements, section)?;
        self.add_elements(elements)?;
        self.written.push(SectionId::Element);
        Ok(())
    }

    fn data_count(&mut self, count: u32) -> Result<u32, reencode::Error<Infallible>> {
        self.written.push(SectionId::DataCount);
        Ok(self.data_count.unwrap_or(count))
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> ReencodeResult {
        reencode::utils::parse_code_section(self, code, section)?;
        self.add_code(code)?;
        self.written.push(SectionId::Code);
        Ok(())
    }

    fn parse_data_section(
        &mut self,
        data: &mut DataSection,
        section: wasmparser::DataSectionReader<'_>,
    ) -> ReencodeResult {
        reencode::utils::parse_data_section(self, data, section)?;
        self.add_data(data)?;
        self.written.push(SectionId::Data);
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> ReencodeResult {
        // A section the runtime lacks but that gets appended items is
        // written just before the first section that must follow it.
        for id in APPENDABLE {
            let passed = before.is_none_or(|next| section_rank(next) > section_rank(id));
            if passed && !self.written.contains(&id) && self.adds_to(id) {
                self.write_missing(module, id)?;
            }
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
