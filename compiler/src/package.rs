//! A compiled job as one shippable unit: the [`JobPlan`] and the stage
//! modules it names, keyed by the blake3 hex digest of their bytes.
//!
//! [`build_with_tools`] also checks the job's `extern fn` tool modules,
//! whose bytes the caller read ([`tool_paths`] says which files): a module
//! that is missing, unreadable, not a tool (LANGUAGE.md §8), or without an
//! export of the right signature is a program error with a code
//! (E0703–E0705), reported as [`CodegenError::Tools`]. The tools are linked
//! into the stage module, and the plan names each by its digest.
//!
//! The container ([`JobPackage::to_bytes`]) is small and self-describing:
//!
//! ```text
//! magic    8 bytes   "FLOWPKG1"
//! plan     u32 LE length, then the plan as JSON (UTF-8)
//! count    u32 LE number of modules
//! module   count times: u32 LE name length, the name (the hex digest),
//!          u64 LE byte length, the module's bytes
//! ```
//!
//! [`JobPackage::from_bytes`] checks the magic, every length and every
//! digest, so a truncated or altered package is an error, never a panic.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use flow_lang::{Diagnostic, FileId, Label};

use crate::Analysis;
use crate::codegen::externs::ExternBindings;
use crate::codegen::tool::{self, MAX_TOOL_MODULES, ToolModule};
use crate::codegen::{CodegenError, job};
use crate::codes;
use crate::ir::ExternFn;
use crate::lower;
use crate::plan::{JobPlan, PlanTool};

/// The first bytes of every package.
const MAGIC: &[u8; 8] = b"FLOWPKG1";

/// A compiled job.
#[derive(Clone, Debug, PartialEq)]
pub struct JobPackage {
    pub plan: JobPlan,
    /// Stage modules by the blake3 hex digest of their bytes.
    pub modules: BTreeMap<String, Vec<u8>>,
}

/// Why bytes are not a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageError(pub String);

impl fmt::Display for PackageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a job package: {}", self.0)
    }
}

impl std::error::Error for PackageError {}

/// The blake3 hex digest of module bytes.
pub fn module_digest(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// The contents of the files [`tool_paths`] names, by path, or why one
/// could not be read.
pub type ToolFiles = BTreeMap<String, Result<Vec<u8>, String>>;

/// The `extern fn` module files of the job whose root is `root`, each once,
/// as the command line reaches them (`/`-separated): what a caller of
/// [`build_with_tools`] reads.
pub fn tool_paths(analysis: &Analysis, root: FileId) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    if let Some(job) = analysis.program.job(root) {
        for info in &job.externs {
            let declaring = &analysis.sources.get(info.file).path;
            let path = lower::resolve_module_path(declaring, &info.module);
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    paths
}

/// Compiles the job whose root file is `root` (from an analysis without
/// errors) into its plan and validated stage module. A job with `extern
/// fn`s needs [`build_with_tools`].
pub fn build(analysis: &Analysis, root: FileId) -> Result<JobPackage, CodegenError> {
    build_with_tools(analysis, root, &ToolFiles::new())
}

/// [`build`] with the bytes of the job's tool modules, which are checked
/// and linked into the stage module.
pub fn build_with_tools(
    analysis: &Analysis,
    root: FileId,
    files: &ToolFiles,
) -> Result<JobPackage, CodegenError> {
    let lowered = lower::lower(analysis, root)?;
    let (bindings, tools) = bind_tools(&lowered.ir.externs, files)?;
    let module = job::generate_linked(&lowered.ir, &lowered.plan, &bindings)?;
    let digest = module_digest(&module);
    let mut plan = lowered.plan;
    plan.module = digest.clone();
    plan.tools = tools;
    let mut modules = BTreeMap::new();
    modules.insert(digest, module);
    Ok(JobPackage { plan, modules })
}

/// Checks every `extern fn`'s module and export, and says which tool
/// export each one calls.
fn bind_tools(
    externs: &[ExternFn],
    files: &ToolFiles,
) -> Result<(ExternBindings, Vec<PlanTool>), CodegenError> {
    let mut bindings = ExternBindings::default();
    let mut plan_tools: Vec<PlanTool> = Vec::new();
    let mut diagnostics = Vec::new();
    // The tool of each path, `None` once a problem with it was reported.
    let mut by_path: HashMap<&str, Option<usize>> = HashMap::new();
    for function in externs {
        let (file, span) = function.module_span;
        let path = function.module.as_str();
        let tool_index = match by_path.get(path) {
            Some(known) => *known,
            None => {
                let loaded = match files.get(path) {
                    None => Err(Diagnostic::error(
                        codes::TOOL_UNREADABLE,
                        format!("the module `{path}` of `extern fn {}` was not read", function.name),
                        Label::new(file, span, "not read"),
                    )),
                    Some(Err(reason)) => Err(Diagnostic::error(
                        codes::TOOL_UNREADABLE,
                        format!("cannot read `{path}`: {reason}"),
                        Label::new(file, span, "this module"),
                    )
                    .with_help("build the tool first, or fix the path: it is relative to the folder of this file")),
                    Some(Ok(bytes)) => ToolModule::parse(bytes.clone()).map_err(|problem| {
                        Diagnostic::error(
                            codes::TOOL_INVALID,
                            format!("`{path}` is not an extern fn tool module: {problem}"),
                            Label::new(file, span, "this module"),
                        )
                        .with_help("a tool imports nothing and exports `memory` and `flow_alloc(len: i32) -> i32` (see `flowc explain E0704`)")
                    }),
                };
                let index = match loaded {
                    Ok(module) => Some(
                        match bindings
                            .tools
                            .iter()
                            .position(|t| t.digest == module.digest)
                        {
                            Some(index) => index,
                            None => {
                                plan_tools.push(PlanTool {
                                    path: path.to_owned(),
                                    digest: module.digest.clone(),
                                    functions: Vec::new(),
                                });
                                bindings.tools.push(module);
                                bindings.tools.len() - 1
                            }
                        },
                    ),
                    Err(diagnostic) => {
                        diagnostics.push(diagnostic);
                        None
                    }
                };
                by_path.insert(path, index);
                index
            }
        };
        let Some(tool_index) = tool_index else {
            continue;
        };
        let Some(module) = bindings.tools.get(tool_index) else {
            return Err(CodegenError::Internal("a tool index out of range".into()));
        };
        let expected = tool::abi_signature(&function.params, &function.ret);
        match module.function(&function.name) {
            Some((index, found)) if *found == expected => {
                bindings.functions.push((tool_index, *index));
                if let Some(plan_tool) = plan_tools.get_mut(tool_index) {
                    plan_tool.functions.push(function.name.clone());
                }
            }
            Some((_, found)) => diagnostics.push(
                Diagnostic::error(
                    codes::TOOL_SIGNATURE,
                    format!(
                        "`{}` in `{path}` does not have the signature its declaration gives",
                        function.name
                    ),
                    Label::new(
                        file,
                        span,
                        format!(
                            "exports {}, the declaration needs {}",
                            tool::describe(found),
                            tool::describe(&expected)
                        ),
                    ),
                )
                .with_help("int is i64, float f64, bool i32; a str parameter is (ptr: i32, len: i32) and a str result an i64 holding ptr << 32 | len"),
            ),
            None => diagnostics.push(
                Diagnostic::error(
                    codes::TOOL_SIGNATURE,
                    format!("`{path}` does not export a function `{}`", function.name),
                    Label::new(file, span, format!("no `{}` here", function.name)),
                )
                .with_help("an extern fn binds the module's export of the same name"),
            ),
        }
    }
    if !diagnostics.is_empty() {
        return Err(CodegenError::Tools(diagnostics));
    }
    if bindings.tools.len() > MAX_TOOL_MODULES {
        return Err(CodegenError::Unsupported(format!(
            "{} tool modules in one job (at most {MAX_TOOL_MODULES})",
            bindings.tools.len()
        )));
    }
    Ok((bindings, plan_tools))
}

impl JobPackage {
    /// The stage module the plan names.
    pub fn module(&self) -> Option<&[u8]> {
        self.modules.get(&self.plan.module).map(Vec::as_slice)
    }

    /// The package in the container format of this module's docs.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A plan is plain data (strings, numbers, enums), which always
        // serializes; an empty plan would be rejected by `from_bytes`.
        let plan = serde_json::to_vec(&self.plan).unwrap_or_default();
        let mut out = Vec::with_capacity(
            16 + plan.len() + self.modules.values().map(|m| m.len() + 80).sum::<usize>(),
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(plan.len() as u32).to_le_bytes());
        out.extend_from_slice(&plan);
        out.extend_from_slice(&(self.modules.len() as u32).to_le_bytes());
        for (name, bytes) in &self.modules {
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            out.extend_from_slice(bytes);
        }
        out
    }

    /// Reads a package written by [`JobPackage::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<JobPackage, PackageError> {
        let mut reader = Reader { bytes, at: 0 };
        if reader.take(MAGIC.len())? != MAGIC {
            return Err(PackageError("the magic bytes are wrong".into()));
        }
        let plan_len = reader.u32()? as usize;
        let plan: JobPlan = serde_json::from_slice(reader.take(plan_len)?)
            .map_err(|e| PackageError(format!("the plan: {e}")))?;
        let count = reader.u32()?;
        let mut modules = BTreeMap::new();
        for _ in 0..count {
            let name_len = reader.u32()? as usize;
            let name = std::str::from_utf8(reader.take(name_len)?)
                .map_err(|_| PackageError("a module name is not UTF-8".into()))?
                .to_owned();
            let len = usize::try_from(reader.u64()?)
                .map_err(|_| PackageError("a module is too large".into()))?;
            let module = reader.take(len)?.to_vec();
            if module_digest(&module) != name {
                return Err(PackageError(format!(
                    "module {name} does not have that digest"
                )));
            }
            modules.insert(name, module);
        }
        if reader.at != bytes.len() {
            return Err(PackageError("bytes after the last module".into()));
        }
        if !modules.contains_key(&plan.module) {
            return Err(PackageError(format!(
                "the plan's module {} is missing",
                plan.module
            )));
        }
        Ok(JobPackage { plan, modules })
    }
}

/// A cursor over the container's bytes.
struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn take(&mut self, len: usize) -> Result<&'b [u8], PackageError> {
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| PackageError("truncated".into()))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<u32, PackageError> {
        let mut word = [0u8; 4];
        word.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(word))
    }

    fn u64(&mut self) -> Result<u64, PackageError> {
        let mut word = [0u8; 8];
        word.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(word))
    }
}
