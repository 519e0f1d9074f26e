//! The on-disk cache of compiled modules.
//!
//! An artifact is named `<module hash>-<engine key>.cwasm`: the blake3 hash
//! of the module's bytes and a key of the engine's compatibility (wasmtime
//! version, target, compilation settings), so a host built differently never
//! even opens another's artifact. The file holds the blake3 checksum of the
//! serialized module followed by the serialized module: a torn or corrupted
//! file fails the checksum and is recompiled, and wasmtime itself refuses an
//! artifact from an incompatible engine. Files are written to a temporary
//! name and renamed, so a reader never sees a half-written artifact.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::{Engine, Module};

use super::ModuleHash;

/// Length of the checksum at the start of every artifact file.
const CHECKSUM_LEN: usize = 32;

/// The disk cache in one folder for one engine.
pub(crate) struct DiskCache {
    dir: PathBuf,
    engine_key: String,
}

/// What a lookup found.
pub(crate) enum Lookup {
    /// A valid artifact, deserialized.
    Hit(Module),
    /// No artifact for this module and engine.
    Absent,
    /// An artifact that failed its checksum or that wasmtime refused.
    Rejected,
}

impl DiskCache {
    pub(crate) fn new(dir: &Path, engine: &Engine) -> DiskCache {
        DiskCache {
            dir: dir.to_path_buf(),
            engine_key: engine_key(engine),
        }
    }

    fn path(&self, hash: ModuleHash) -> PathBuf {
        self.dir
            .join(format!("{}-{}.cwasm", hash.to_hex(), self.engine_key))
    }

    /// Reads and deserializes the artifact of `hash`, if there is a sound one.
    pub(crate) fn read(&self, engine: &Engine, hash: ModuleHash) -> Lookup {
        let bytes = match fs::read(self.path(hash)) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Lookup::Absent,
            // An unreadable file is as good as a corrupt one: recompile.
            Err(_) => return Lookup::Rejected,
        };
        let Some((checksum, artifact)) = bytes.split_at_checked(CHECKSUM_LEN) else {
            return Lookup::Rejected;
        };
        if blake3::hash(artifact).as_bytes() != checksum {
            return Lookup::Rejected;
        }
        match deserialize(engine, artifact) {
            Ok(module) => Lookup::Hit(module),
            Err(_) => Lookup::Rejected,
        }
    }

    /// Serializes `module` and stores it atomically as the artifact of `hash`.
    pub(crate) fn write(&self, hash: ModuleHash, module: &Module) -> io::Result<()> {
        let artifact = module.serialize().map_err(io::Error::other)?;
        fs::create_dir_all(&self.dir)?;
        let path = self.path(hash);
        let temporary = self.dir.join(format!(
            ".{}-{}-{}.tmp",
            hash.to_hex(),
            std::process::id(),
            next_temporary_id()
        ));
        let mut contents = Vec::with_capacity(CHECKSUM_LEN + artifact.len());
        contents.extend_from_slice(blake3::hash(&artifact).as_bytes());
        contents.extend_from_slice(&artifact);
        let written = fs::write(&temporary, &contents).and_then(|()| fs::rename(&temporary, &path));
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written
    }
}

/// Turns checked artifact bytes back into a module.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, artifact: &[u8]) -> wasmtime::Result<Module> {
    // SAFETY: `Module::deserialize` trusts its input to be machine code that
    // wasmtime produced; feeding it arbitrary bytes could run arbitrary code.
    // These bytes come only from an artifact file that this cache wrote with
    // `Module::serialize` (the cache folder is the user's own), named by the
    // blake3 hash of the module's source bytes and by the engine's
    // compatibility key, written to a temporary file and renamed into place
    // so it is never seen half-written, and prefixed with the blake3 checksum
    // of the serialized bytes, which `read` verified just before this call:
    // a torn write, a truncation or bit rot fails the checksum and never gets
    // here. An artifact from another wasmtime version or configuration
    // carries a different engine key and is refused by wasmtime's own header
    // check, which returns an error rather than loading it.
    unsafe { Module::deserialize(engine, artifact) }
}

/// A short stable key of the engine's compatibility: equal for engines whose
/// artifacts are interchangeable.
fn engine_key(engine: &Engine) -> String {
    let mut hasher = Blake3Hasher(blake3::Hasher::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let digest = hasher.0.finalize();
    digest.to_hex()[..16].to_owned()
}

/// Feeds `std::hash::Hash` into blake3, whose output (unlike `DefaultHasher`)
/// is the same in every build and every process.
struct Blake3Hasher(blake3::Hasher);

impl Hasher for Blake3Hasher {
    fn finish(&self) -> u64 {
        let digest = self.0.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest.as_bytes()[..8]);
        u64::from_le_bytes(first)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// Distinguishes temporary files of concurrent writers in one process.
fn next_temporary_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
