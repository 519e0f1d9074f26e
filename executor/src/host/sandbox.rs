//! What stage and tool instances share: the store with its memory limit and
//! deadline, moving bytes in and out of module memory with bounds checks, and
//! the classification of a failed call into a [`Failure`].
//!
//! A module may be hostile: every pointer and length it returns is checked
//! against its memory before the host reads or writes, and no failure panics.

use std::fmt;
use std::time::Duration;

use wasmtime::{Memory, ResourceLimiter, Store, Trap, TypedFunc};

use super::error_record::ErrorRecord;
use super::{Host, HostConfig};

/// Why a call into a module failed. After any failure the instance is
/// discarded and a fresh one is made on next use, since its memory may be in
/// any state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The module reported a run-time error (overflow, bad record, …) in its
    /// error record, then trapped.
    Runtime(ErrorRecord),
    /// The call ran past its deadline and was interrupted.
    DeadlineExceeded {
        /// The deadline of one call.
        deadline: Duration,
    },
    /// The module tried to grow its memory past the limit.
    MemoryLimitExceeded {
        /// The most memory one instance may have, in bytes.
        limit_bytes: usize,
    },
    /// The module trapped without an error record (out-of-bounds access,
    /// stack overflow, `unreachable`, …).
    Trap {
        /// Wasmtime's trap code, when the failure was a trap.
        code: Option<Trap>,
        /// Wasmtime's description of the failure, with the module's
        /// backtrace when there is one.
        message: String,
    },
    /// The module returned something the ABI does not allow: a pointer or
    /// length outside its memory, an unreadable error record, a string that
    /// is not UTF-8.
    Malformed(String),
    /// The export to call does not exist.
    MissingExport(String),
    /// The export exists with another signature.
    WrongSignature {
        /// The export's name.
        export: String,
        /// The signature the call needs.
        expected: String,
        /// The export's signature.
        found: String,
    },
    /// A fresh instance could not be created.
    Instantiation(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Runtime(record) => write!(f, "run-time error {record}"),
            Failure::DeadlineExceeded { deadline } => {
                write!(f, "ran longer than its deadline of {deadline:?}")
            }
            Failure::MemoryLimitExceeded { limit_bytes } => {
                write!(
                    f,
                    "needed more than its memory limit of {limit_bytes} bytes"
                )
            }
            // The trap code says it all; the message (with wasmtime's
            // backtrace) stays in the value for whoever debugs the module.
            Failure::Trap {
                code: Some(code), ..
            } => write!(f, "trapped ({code})"),
            Failure::Trap {
                code: None,
                message,
            } => write!(f, "failed: {message}"),
            Failure::Malformed(reason) => write!(f, "broke the module ABI: {reason}"),
            Failure::MissingExport(name) => write!(f, "has no export `{name}`"),
            Failure::WrongSignature {
                export,
                expected,
                found,
            } => write!(f, "export `{export}` is {found}, expected {expected}"),
            Failure::Instantiation(reason) => write!(f, "could not be instantiated: {reason}"),
        }
    }
}

/// The data of every store: the memory limit, what the instance's memories
/// hold together, and whether the limit was hit.
pub(crate) struct Limits {
    max_memory_bytes: usize,
    /// The bytes of every memory of the instance together: a stage module
    /// with linked `extern fn` tools has one memory per tool besides its
    /// own, and the limit bounds them all.
    used_bytes: usize,
    /// The growth most recently allowed, taken back if the engine then
    /// fails it (past the memory's own maximum).
    last_growth: Option<usize>,
    /// Set when a memory or table asked for more than allowed, so a trap that
    /// follows (the module's allocator giving up) is reported as the memory
    /// limit rather than as a bare `unreachable`.
    exceeded: bool,
}

/// At most this many table elements per table: far beyond what a compiled
/// stage needs, small enough that a table cannot be a way around the memory
/// limit.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Refusing makes `memory.grow` return -1, as WebAssembly specifies;
        // a module may cope with that, and if it traps instead the flag names
        // the cause.
        let growth = desired.saturating_sub(current);
        let total = self.used_bytes.saturating_add(growth);
        let allowed = total <= self.max_memory_bytes;
        if allowed {
            self.used_bytes = total;
            self.last_growth = Some(growth);
        } else {
            self.exceeded = true;
            self.last_growth = None;
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        if let Some(growth) = self.last_growth.take() {
            self.used_bytes = self.used_bytes.saturating_sub(growth);
        }
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= MAX_TABLE_ELEMENTS;
        if !allowed {
            self.exceeded = true;
        }
        Ok(allowed)
    }

    fn instances(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        16
    }
}

/// At most this many memories per instance: a stage module's own and one
/// per linked `extern fn` tool module (the compiler links at most 15).
const MAX_MEMORIES: usize = 16;

/// A store for one instance, with the host's memory limit.
pub(crate) fn new_store(host: &Host) -> Store<Limits> {
    let mut store = Store::new(
        host.engine(),
        Limits {
            max_memory_bytes: host.config().max_memory_bytes,
            used_bytes: 0,
            last_growth: None,
            exceeded: false,
        },
    );
    store.limiter(|limits| limits);
    store.epoch_deadline_trap();
    store
}

/// Arms the deadline for the next call: the store traps once the epoch
/// ticker has advanced past `deadline`. The ticker may tick right after this,
/// so one tick is added to never cut a call short.
pub(crate) fn arm_deadline(store: &mut Store<Limits>, config: &HostConfig, deadline: Duration) {
    let tick = config.epoch_tick.max(Duration::from_millis(1)).as_nanos();
    let ticks = deadline.as_nanos().div_ceil(tick).saturating_add(1);
    store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
    store.data_mut().exceeded = false;
}

/// Classifies an error from instantiating or calling a module. It does not
/// look at the module's error record: callers that speak the stage ABI do
/// that first.
pub(crate) fn classify(
    error: &wasmtime::Error,
    store: &Store<Limits>,
    deadline: Duration,
) -> Failure {
    let code = error.downcast_ref::<Trap>().copied();
    if code == Some(Trap::Interrupt) {
        return Failure::DeadlineExceeded { deadline };
    }
    if store.data().exceeded {
        return Failure::MemoryLimitExceeded {
            limit_bytes: store.data().max_memory_bytes,
        };
    }
    Failure::Trap {
        code,
        message: format!("{error:#}"),
    }
}

/// Splits an ABI result `ptr << 32 | len` into its two unsigned halves.
pub(crate) fn unpack(packed: i64) -> (u32, u32) {
    let bits = packed as u64;
    // Truncation is the point: each half is one 32-bit number.
    ((bits >> 32) as u32, bits as u32)
}

/// Copies `len` bytes at `ptr` out of module memory, or says why it cannot.
pub(crate) fn read_bytes(
    store: &Store<Limits>,
    memory: Memory,
    ptr: u32,
    len: u32,
    what: &str,
) -> Result<Vec<u8>, Failure> {
    let data = memory.data(store);
    let start = usize::try_from(ptr).ok();
    let end = start.and_then(|start| start.checked_add(usize::try_from(len).ok()?));
    match (start, end) {
        (Some(start), Some(end)) => data
            .get(start..end)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| out_of_bounds(what, ptr, len, data.len())),
        _ => Err(out_of_bounds(what, ptr, len, data.len())),
    }
}

fn out_of_bounds(what: &str, ptr: u32, len: u32, memory_len: usize) -> Failure {
    Failure::Malformed(format!(
        "{what} ({len} bytes at {ptr}) lies outside the module's {memory_len}-byte memory"
    ))
}

/// Asks the module for space with `flow_alloc` and writes `bytes` there.
/// Returns the pointer and length as the ABI passes them.
pub(crate) fn write_bytes(
    store: &mut Store<Limits>,
    memory: Memory,
    alloc: &TypedFunc<i32, i32>,
    bytes: &[u8],
    deadline: Duration,
) -> Result<(i32, i32), Failure> {
    let len = i32::try_from(bytes.len()).map_err(|_| {
        Failure::Malformed(format!(
            "an input of {} bytes does not fit a 32-bit module",
            bytes.len()
        ))
    })?;
    let ptr = alloc
        .call(&mut *store, len)
        .map_err(|error| classify(&error, store, deadline))?;
    // Pointers are unsigned offsets carried in an i32.
    let offset = ptr as u32 as usize;
    memory.write(&mut *store, offset, bytes).map_err(|_| {
        Failure::Malformed(format!(
            "flow_alloc({len}) returned {} where {len} bytes do not fit in memory",
            ptr as u32
        ))
    })?;
    Ok((ptr, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_memory_bytes: usize) -> Limits {
        Limits {
            max_memory_bytes,
            used_bytes: 0,
            last_growth: None,
            exceeded: false,
        }
    }

    #[test]
    fn the_limit_bounds_every_memory_of_an_instance_together() {
        let mut limits = limits(100);
        // A stage's memory and a tool's memory, created at 40 bytes each.
        assert!(limits.memory_growing(0, 40, None).unwrap());
        assert!(limits.memory_growing(0, 40, None).unwrap());
        // Growing either by more than the 20 bytes left is refused.
        assert!(!limits.memory_growing(40, 70, None).unwrap());
        assert!(limits.exceeded);
        assert!(limits.memory_growing(40, 60, None).unwrap());
        assert_eq!(limits.used_bytes, 100);
    }

    #[test]
    fn a_growth_the_engine_then_fails_is_given_back() {
        let mut limits = limits(100);
        assert!(limits.memory_growing(0, 90, None).unwrap());
        limits
            .memory_grow_failed(wasmtime::Error::msg("past the maximum"))
            .unwrap();
        assert_eq!(limits.used_bytes, 0);
        // Only the growth just allowed is given back, once.
        limits
            .memory_grow_failed(wasmtime::Error::msg("again"))
            .unwrap();
        assert_eq!(limits.used_bytes, 0);
        assert!(limits.memory_growing(0, 100, None).unwrap());
    }
}
