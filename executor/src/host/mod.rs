//! The WebAssembly host: runs compiled stage modules and `extern fn` tools in
//! a sandbox (DESIGN.md decision 5, the ABI of `docs/abi.md`).
//!
//! - [`Host`] (one per process, cheap to clone) owns the wasmtime engine, the
//!   epoch ticker thread that enforces deadlines, and the cache of compiled
//!   modules, in memory and on disk, keyed by the blake3 hash of the module
//!   bytes.
//! - [`Host::load_stage`] and [`Host::load_tool`] validate a module received
//!   from a possibly hostile peer and compile it (or find it compiled).
//! - [`StageInstance`] (one per worker thread) calls a stage module's
//!   `process`, `merge` and `finish` exports; [`ToolInstance`] calls the
//!   exports of an `extern fn` tool with Flow scalars.
//!
//! Every instance lives in its own store with a bounded memory, a deadline
//! per call, no imports and no WASI: a module can only compute on the bytes
//! it is given and hand bytes back.
//!
//! ```no_run
//! use flow_executor::host::{Host, HostConfig, StageInstance};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let host = Host::new(HostConfig::default())?;
//! let module = host.load_stage(&std::fs::read("job.wasm")?)?;
//! let mut instance = StageInstance::new(&host, &module);
//! let partial = instance.process(0, b"some chunk\n", b"", 1)?;
//! let merged = instance.merge(0, &partial, &partial)?;
//! let value = instance.finish(0, &merged)?;
//! # let _ = value;
//! # Ok(())
//! # }
//! ```

mod abi;
mod cache;
pub mod error_record;
mod sandbox;
mod stage;
mod tool;

pub use error_record::ErrorRecord;
pub use sandbox::Failure;
pub use stage::{StageError, StageInstance, Step};
pub use tool::{ToolError, ToolInstance, ToolType, ToolValue};

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, Module, OptLevel};

/// How the host sandboxes modules and where it keeps compiled ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// Folder of compiled artifacts (the CLI passes `~/.cache/flowc/modules`).
    /// `None` keeps compiled modules in memory only.
    pub cache_dir: Option<PathBuf>,
    /// The most linear memory one instance may have, in bytes: all its
    /// memories together (a stage's own and those of its linked tools).
    pub max_memory_bytes: usize,
    /// How long one call into a module may run before it is interrupted.
    pub deadline: Duration,
    /// How often the epoch ticker advances the engine's epoch: the
    /// granularity of deadlines.
    pub epoch_tick: Duration,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            cache_dir: None,
            max_memory_bytes: 1 << 30,
            deadline: Duration::from_secs(60),
            epoch_tick: Duration::from_millis(10),
        }
    }
}

/// The blake3 hash of a module's bytes: its name everywhere (DESIGN.md
/// decision 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleHash(pub [u8; 32]);

impl ModuleHash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> ModuleHash {
        ModuleHash(*blake3::hash(bytes).as_bytes())
    }

    /// The hash as 64 lowercase hexadecimal digits.
    pub fn to_hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }
}

impl fmt::Display for ModuleHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Counters of what the module cache did, for tests and `--verbose` output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostStats {
    /// Modules compiled by cranelift.
    pub compilations: u64,
    /// Loads answered from the in-memory cache.
    pub memory_hits: u64,
    /// Loads answered by deserializing an artifact from the disk cache.
    pub disk_hits: u64,
    /// Artifacts found on disk but rejected (corrupt, truncated, or built by
    /// an incompatible engine) and therefore recompiled.
    pub disk_rejected: u64,
    /// Artifacts that could not be written to the disk cache (the cache is
    /// best effort: the module is still used).
    pub disk_write_failures: u64,
}

/// Why the host could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInitError(pub String);

impl fmt::Display for HostInitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot start the WebAssembly host: {}", self.0)
    }
}

impl std::error::Error for HostInitError {}

/// Why a module was refused or could not be prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The bytes are not a valid WebAssembly module.
    Invalid(String),
    /// The module imports something; Flow modules must import nothing.
    Import {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
    },
    /// A required export is absent.
    MissingExport {
        /// The export's name.
        name: String,
        /// What it should be, e.g. `func (i32) -> i32`.
        expected: String,
    },
    /// An export exists with the wrong kind or signature.
    WrongExport {
        /// The export's name.
        name: String,
        /// What it should be.
        expected: String,
        /// What it is.
        found: String,
    },
    /// `flow_abi_version` returned a version this host does not speak.
    AbiVersion {
        /// The version the module reported.
        found: i32,
    },
    /// The module could not be instantiated or trapped while reporting its
    /// ABI version (start function, initial memory over the limit, …).
    Instantiation(String),
    /// The engine could not compile the module.
    Compile(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Invalid(reason) => write!(f, "not a valid WebAssembly module: {reason}"),
            LoadError::Import { module, name } => write!(
                f,
                "the module imports `{module}::{name}`, but Flow modules may import nothing"
            ),
            LoadError::MissingExport { name, expected } => {
                write!(f, "the module does not export `{name}` ({expected})")
            }
            LoadError::WrongExport {
                name,
                expected,
                found,
            } => write!(f, "the export `{name}` is {found}, expected {expected}"),
            LoadError::AbiVersion { found } => write!(
                f,
                "the module speaks stage ABI version {found}, this host speaks version {}",
                abi::ABI_VERSION
            ),
            LoadError::Instantiation(reason) => {
                write!(f, "the module could not be instantiated: {reason}")
            }
            LoadError::Compile(reason) => write!(f, "the module could not be compiled: {reason}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// A validated, compiled stage module, ready to instantiate.
#[derive(Clone)]
pub struct StageModule {
    hash: ModuleHash,
    module: Module,
}

impl StageModule {
    /// The blake3 hash of the module bytes.
    pub fn hash(&self) -> ModuleHash {
        self.hash
    }
}

impl fmt::Debug for StageModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StageModule")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// A validated, compiled `extern fn` tool module, ready to instantiate.
#[derive(Clone)]
pub struct ToolModule {
    hash: ModuleHash,
    module: Module,
}

impl ToolModule {
    /// The blake3 hash of the module bytes.
    pub fn hash(&self) -> ModuleHash {
        self.hash
    }
}

impl fmt::Debug for ToolModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolModule")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// The WebAssembly host of one process. Clones share the engine, the cache
/// and the epoch ticker; the ticker stops when the last clone (and the last
/// instance, which holds one) is dropped.
#[derive(Clone)]
pub struct Host {
    inner: Arc<HostInner>,
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

struct HostInner {
    engine: Engine,
    config: HostConfig,
    /// Compiled modules by the hash of their bytes. Validation is per use
    /// (stage or tool) and cheap, so the map holds modules of either use.
    modules: Mutex<HashMap<ModuleHash, Module>>,
    counters: Counters,
    /// Declared last so the ticker thread is joined after everything else is
    /// dropped; it only holds an engine handle of its own.
    _ticker: EpochTicker,
}

#[derive(Default)]
struct Counters {
    compilations: AtomicU64,
    memory_hits: AtomicU64,
    disk_hits: AtomicU64,
    disk_rejected: AtomicU64,
    disk_write_failures: AtomicU64,
}

/// Which ABI a loaded module must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ModuleUse {
    Stage,
    Tool,
}

impl Host {
    /// Creates the engine (epoch interruption on, cranelift optimising for
    /// speed) and starts the epoch ticker thread.
    /// Without the ticker deadlines could not fire, so failing to start its
    /// thread is an error rather than a silently weaker sandbox.
    pub fn new(config: HostConfig) -> Result<Host, HostInitError> {
        let mut engine_config = Config::new();
        engine_config.epoch_interruption(true);
        // A stage module with `extern fn` tools linked in has one memory per
        // tool besides its own (docs/abi.md); wasmtime enables multi-memory
        // by default, and the sandbox depends on it, so it is stated here.
        engine_config.wasm_multi_memory(true);
        engine_config.cranelift_opt_level(OptLevel::Speed);
        // `FLOWC_PERFMAP=1` writes /tmp/perf-PID.map so that `perf record`
        // names the functions of stage modules (for profiling stages).
        if std::env::var_os("FLOWC_PERFMAP").is_some_and(|v| v == "1") {
            engine_config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&engine_config)
            .map_err(|error| HostInitError(format!("cannot create the engine: {error}")))?;
        let ticker = EpochTicker::start(engine.clone(), config.epoch_tick).map_err(|error| {
            HostInitError(format!("cannot start the epoch ticker thread: {error}"))
        })?;
        Ok(Host {
            inner: Arc::new(HostInner {
                engine,
                config,
                modules: Mutex::new(HashMap::new()),
                counters: Counters::default(),
                _ticker: ticker,
            }),
        })
    }

    /// The configuration the host was created with.
    pub fn config(&self) -> &HostConfig {
        &self.inner.config
    }

    /// What the module cache has done so far.
    pub fn stats(&self) -> HostStats {
        let counters = &self.inner.counters;
        HostStats {
            compilations: counters.compilations.load(Ordering::Relaxed),
            memory_hits: counters.memory_hits.load(Ordering::Relaxed),
            disk_hits: counters.disk_hits.load(Ordering::Relaxed),
            disk_rejected: counters.disk_rejected.load(Ordering::Relaxed),
            disk_write_failures: counters.disk_write_failures.load(Ordering::Relaxed),
        }
    }

    /// Validates and compiles (or finds compiled) a stage module: it must
    /// import nothing, export `memory`, `flow_abi_version() -> i32` returning
    /// 1, `flow_alloc`, `flow_reset` and `flow_error` with the signatures of
    /// `docs/abi.md`, and every `stage_<k>_*` export must have its ABI
    /// signature.
    pub fn load_stage(&self, bytes: &[u8]) -> Result<StageModule, LoadError> {
        let (hash, module) = self.load(bytes, ModuleUse::Stage)?;
        abi::check_stage_version(self, &module)?;
        Ok(StageModule { hash, module })
    }

    /// Validates and compiles (or finds compiled) an `extern fn` tool
    /// module: it must import nothing and export `memory` and
    /// `flow_alloc(len: i32) -> i32` (LANGUAGE.md §8).
    pub fn load_tool(&self, bytes: &[u8]) -> Result<ToolModule, LoadError> {
        let (hash, module) = self.load(bytes, ModuleUse::Tool)?;
        Ok(ToolModule { hash, module })
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Finds the module in memory, then on disk, and compiles it only when
    /// neither has it. The ABI check runs on every path, so a module cached
    /// for one use is still checked for the other.
    fn load(&self, bytes: &[u8], module_use: ModuleUse) -> Result<(ModuleHash, Module), LoadError> {
        let hash = ModuleHash::of(bytes);
        let counters = &self.inner.counters;
        let cached = self
            .inner
            .modules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&hash)
            .cloned();
        if let Some(module) = cached {
            counters.memory_hits.fetch_add(1, Ordering::Relaxed);
            abi::check_compiled(&module, module_use)?;
            return Ok((hash, module));
        }

        // Cheap checks on the raw bytes first, so a module with imports or
        // without the ABI exports costs no compilation.
        abi::check_raw(bytes, module_use)?;

        let disk_cache = self
            .inner
            .config
            .cache_dir
            .as_deref()
            .map(|dir| cache::DiskCache::new(dir, &self.inner.engine));
        let mut from_disk = None;
        if let Some(disk_cache) = &disk_cache {
            match disk_cache.read(&self.inner.engine, hash) {
                cache::Lookup::Hit(module) => from_disk = Some(module),
                cache::Lookup::Absent => {}
                cache::Lookup::Rejected => {
                    counters.disk_rejected.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let module = match from_disk {
            Some(module) => {
                counters.disk_hits.fetch_add(1, Ordering::Relaxed);
                abi::check_compiled(&module, module_use)?;
                module
            }
            None => {
                let module = Module::new(&self.inner.engine, bytes)
                    .map_err(|error| LoadError::Invalid(format!("{error:#}")))?;
                counters.compilations.fetch_add(1, Ordering::Relaxed);
                abi::check_compiled(&module, module_use)?;
                if let Some(disk_cache) = &disk_cache
                    && disk_cache.write(hash, &module).is_err()
                {
                    counters.disk_write_failures.fetch_add(1, Ordering::Relaxed);
                }
                module
            }
        };
        self.inner
            .modules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(hash, module.clone());
        Ok((hash, module))
    }
}

/// A thread that advances the engine's epoch every tick, so a store whose
/// epoch deadline passes traps at its next check. Dropping it stops and joins
/// the thread.
struct EpochTicker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine, tick: Duration) -> std::io::Result<EpochTicker> {
        let (stop, stopped) = mpsc::channel::<()>();
        // A zero tick would spin; one millisecond is already finer than any
        // deadline worth setting.
        let tick = tick.max(Duration::from_millis(1));
        let thread = std::thread::Builder::new()
            .name("flow-epoch-ticker".to_owned())
            .spawn(move || {
                // The sender is only ever dropped, never used: a disconnect is
                // the signal to stop, and it wakes the wait at once.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
                    engine.increment_epoch();
                }
            });
        match thread {
            Ok(thread) => Ok(EpochTicker {
                stop: Some(stop),
                thread: Some(thread),
            }),
            Err(error) => Err(error),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The number of live threads of this process with the ticker's name
    /// (Linux truncates thread names to 15 bytes).
    #[cfg(target_os = "linux")]
    fn ticker_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .map(|tasks| {
                tasks
                    .filter_map(Result::ok)
                    .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
                    .filter(|name| name.trim_end() == "flow-epoch-tick")
                    .count()
            })
            .unwrap_or(0)
    }

    /// Whether the count of ticker threads becomes `expected` within two
    /// seconds: a new thread names itself only once it runs.
    #[cfg(target_os = "linux")]
    fn ticker_threads_become(expected: usize) -> bool {
        let give_up = std::time::Instant::now() + Duration::from_secs(2);
        while ticker_threads() != expected {
            if std::time::Instant::now() > give_up {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    // This is the only test in the library that creates a host, so no other
    // test's ticker can be counted here.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_ticker_thread_stops_when_the_last_clone_is_dropped() {
        assert_eq!(ticker_threads(), 0);
        let host = Host::new(HostConfig::default()).expect("host");
        let clone = host.clone();
        assert!(ticker_threads_become(1));
        drop(host);
        assert_eq!(ticker_threads(), 1, "a clone still holds the host");
        drop(clone);
        // The drop joined the thread, so it is gone at once.
        assert_eq!(ticker_threads(), 0);
    }

    #[test]
    fn module_hashes_are_blake3_of_the_bytes() {
        let hash = ModuleHash::of(b"abc");
        assert_eq!(
            hash.to_hex(),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
        assert_eq!(hash.to_string(), hash.to_hex());
    }
}
