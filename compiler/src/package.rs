//! A compiled job as one shippable unit: the [`JobPlan`] and the stage
//! modules it names, keyed by the blake3 hex digest of their bytes.
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

use std::collections::BTreeMap;
use std::fmt;

use flow_lang::FileId;

use crate::Analysis;
use crate::codegen::{CodegenError, job};
use crate::lower;
use crate::plan::JobPlan;

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

/// Compiles the job whose root file is `root` (from an analysis without
/// errors) into its plan and validated stage module.
pub fn build(analysis: &Analysis, root: FileId) -> Result<JobPackage, CodegenError> {
    let lowered = lower::lower(analysis, root)?;
    let module = job::generate(&lowered.ir, &lowered.plan)?;
    let digest = module_digest(&module);
    let mut plan = lowered.plan;
    plan.module = digest.clone();
    let mut modules = BTreeMap::new();
    modules.insert(digest, module);
    Ok(JobPackage { plan, modules })
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
