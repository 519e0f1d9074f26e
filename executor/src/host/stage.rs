//! [`StageInstance`]: one instance of a stage module, owned by one worker
//! thread, calling the `process`, `merge` and `finish` exports of
//! `docs/abi.md`.
//!
//! Every call allocates its inputs with `flow_alloc`, writes them, calls the
//! export under a deadline, copies the `(ptr, len)` result out after
//! checking it lies in memory, and calls `flow_reset`. A failure discards the
//! instance (its memory may be in any state); the next call makes a fresh
//! one.

use std::fmt;
use std::time::Duration;

use wasmtime::{Instance, Memory, Store, TypedFunc};

use super::error_record;
use super::sandbox::{self, Failure, Limits};
use super::{Host, StageModule};

/// Which export of a stage was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// `stage_<k>_process`: one chunk into a partial.
    Process,
    /// `stage_<k>_merge`: two partials into one.
    Merge,
    /// `stage_<k>_finish`: a partial into the final value.
    Finish,
    /// `value_<k>`: a let or output computed from params and finished
    /// stage results (the `k` is the value's index in the job plan).
    Value,
}

impl Step {
    /// The step's name in export names.
    pub fn name(self) -> &'static str {
        match self {
            Step::Process => "process",
            Step::Merge => "merge",
            Step::Finish => "finish",
            Step::Value => "value",
        }
    }

    /// The export implementing this step of stage (or value) `stage`.
    pub fn export_name(self, stage: u32) -> String {
        match self {
            Step::Value => format!("value_{stage}"),
            _ => format!("stage_{stage}_{}", self.name()),
        }
    }
}

/// A failed stage call: which stage and step, and what went wrong. A
/// [`Failure::Runtime`] carries the span id that names the source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageError {
    /// The index of the aggregation in the job plan.
    pub stage: u32,
    /// The export that was called.
    pub step: Step,
    /// What went wrong.
    pub failure: Failure,
}

impl StageError {
    /// The index into the job plan's span table, when the module reported a
    /// run-time error.
    pub fn span_id(&self) -> Option<i64> {
        match &self.failure {
            Failure::Runtime(record) => Some(record.span_id),
            _ => None,
        }
    }
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stage {} ({}) {}",
            self.stage,
            self.step.name(),
            self.failure
        )
    }
}

impl std::error::Error for StageError {}

/// One instance of a stage module. Not shared between threads: each worker
/// makes its own from the shared [`StageModule`].
pub struct StageInstance {
    host: Host,
    module: StageModule,
    deadline: Duration,
    /// `None` before the first call and after a failure.
    live: Option<Live>,
}

impl fmt::Debug for StageInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StageInstance")
            .field("module", &self.module.hash)
            .field("deadline", &self.deadline)
            .field("instantiated", &self.live.is_some())
            .finish()
    }
}

/// An instantiated module and the ABI functions every call uses.
struct Live {
    store: Store<Limits>,
    instance: Instance,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    reset: TypedFunc<(), ()>,
    error: TypedFunc<(), i64>,
    /// `flow_utf8_checked`, if the module has it (docs/abi.md): told that
    /// a chunk is UTF-8, the module does not check it again.
    utf8_checked: Option<TypedFunc<(i32, i32), ()>>,
}

impl StageInstance {
    /// An instance of `module` with the host's deadline. The module is
    /// instantiated on the first call, so this cannot fail.
    pub fn new(host: &Host, module: &StageModule) -> StageInstance {
        StageInstance {
            host: host.clone(),
            module: module.clone(),
            deadline: host.config().deadline,
            live: None,
        }
    }

    /// Changes the deadline of each later call.
    pub fn set_deadline(&mut self, deadline: Duration) {
        self.deadline = deadline;
    }

    /// The module this instance runs.
    pub fn module(&self) -> &StageModule {
        &self.module
    }

    /// Runs `stage_<stage>_process` on one chunk: `input` is the chunk,
    /// `ctx` the encoded job context, `first` the position of the chunk's
    /// first record. Returns the partial.
    pub fn process(
        &mut self,
        stage: u32,
        input: &[u8],
        ctx: &[u8],
        first: i64,
    ) -> Result<Vec<u8>, StageError> {
        self.call(stage, Step::Process, &[input, ctx], Some(first))
    }

    /// Runs `stage_<stage>_merge` on two partials. Returns the merged one.
    pub fn merge(&mut self, stage: u32, a: &[u8], b: &[u8]) -> Result<Vec<u8>, StageError> {
        self.call(stage, Step::Merge, &[a, b], None)
    }

    /// Runs `value_<value>` on an encoded context (docs/abi.md). Returns the
    /// encoded value.
    pub fn value(&mut self, value: u32, ctx: &[u8]) -> Result<Vec<u8>, StageError> {
        self.call(value, Step::Value, &[ctx], None)
    }

    /// Runs `stage_<stage>_finish` on a partial. Returns the encoded value.
    pub fn finish(&mut self, stage: u32, partial: &[u8]) -> Result<Vec<u8>, StageError> {
        self.call(stage, Step::Finish, &[partial], None)
    }

    fn call(
        &mut self,
        stage: u32,
        step: Step,
        buffers: &[&[u8]],
        first: Option<i64>,
    ) -> Result<Vec<u8>, StageError> {
        let deadline = self.deadline;
        let error = |failure| StageError {
            stage,
            step,
            failure,
        };
        let mut live = match self.live.take() {
            Some(live) => live,
            None => self.instantiate().map_err(error)?,
        };
        let result = live.call(
            &self.host,
            &step.export_name(stage),
            buffers,
            first,
            deadline,
        );
        // Only an instance whose every call succeeded is kept.
        if result.is_ok() {
            self.live = Some(live);
        }
        result.map_err(error)
    }

    fn instantiate(&self) -> Result<Live, Failure> {
        let mut store = sandbox::new_store(&self.host);
        sandbox::arm_deadline(&mut store, self.host.config(), self.deadline);
        let instance = Instance::new(&mut store, &self.module.module, &[]).map_err(|error| {
            match sandbox::classify(&error, &store, self.deadline) {
                Failure::Trap { message, .. } => Failure::Instantiation(message),
                other => other,
            }
        })?;
        // The module passed `check_compiled` when it was loaded, so these
        // lookups only fail if that check is wrong; they still return errors.
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| Failure::MissingExport("memory".to_owned()))?;
        let alloc = typed_func(&instance, &mut store, "flow_alloc", "func (i32) -> (i32)")?;
        let reset = typed_func(&instance, &mut store, "flow_reset", "func () -> ()")?;
        let error = typed_func(&instance, &mut store, "flow_error", "func () -> (i64)")?;
        // Optional: a module without it checks every chunk itself.
        let utf8_checked = match instance.get_func(&mut store, "flow_utf8_checked") {
            None => None,
            Some(_) => Some(typed_func(
                &instance,
                &mut store,
                "flow_utf8_checked",
                "func (i32, i32) -> ()",
            )?),
        };
        Ok(Live {
            store,
            instance,
            memory,
            alloc,
            reset,
            error,
            utf8_checked,
        })
    }
}

/// Looks up an export with the signature the call needs; `expected` spells
/// that signature for the error message.
fn typed_func<Params, Results>(
    instance: &Instance,
    store: &mut Store<Limits>,
    name: &str,
    expected: &str,
) -> Result<TypedFunc<Params, Results>, Failure>
where
    Params: wasmtime::WasmParams,
    Results: wasmtime::WasmResults,
{
    let func = instance
        .get_func(&mut *store, name)
        .ok_or_else(|| Failure::MissingExport(name.to_owned()))?;
    func.typed::<Params, Results>(&*store)
        .map_err(|_| Failure::WrongSignature {
            export: name.to_owned(),
            expected: expected.to_owned(),
            found: super::abi::describe(&func.ty(&*store)),
        })
}

impl Live {
    fn call(
        &mut self,
        host: &Host,
        export: &str,
        buffers: &[&[u8]],
        first: Option<i64>,
        deadline: Duration,
    ) -> Result<Vec<u8>, Failure> {
        sandbox::arm_deadline(&mut self.store, host.config(), deadline);
        let mut pointers = Vec::with_capacity(buffers.len());
        for buffer in buffers {
            pointers.push(sandbox::write_bytes(
                &mut self.store,
                self.memory,
                &self.alloc,
                buffer,
                deadline,
            )?);
        }
        let called = match (pointers.as_slice(), first) {
            ([(in_ptr, in_len), (ctx_ptr, ctx_len)], Some(first)) => {
                // A native check of the chunk is several times faster than
                // the module's own; a chunk that is not UTF-8 is left for
                // the module to find the bad line in.
                if let Some(utf8_checked) = &self.utf8_checked
                    && simdutf8::basic::from_utf8(buffers[0]).is_ok()
                {
                    utf8_checked
                        .call(&mut self.store, (*in_ptr, *in_len))
                        .map_err(|error| sandbox::classify(&error, &self.store, deadline))?;
                }
                let func = typed_func::<(i32, i32, i32, i32, i64), i64>(
                    &self.instance,
                    &mut self.store,
                    export,
                    "func (i32, i32, i32, i32, i64) -> (i64)",
                )?;
                func.call(
                    &mut self.store,
                    (*in_ptr, *in_len, *ctx_ptr, *ctx_len, first),
                )
            }
            ([(a_ptr, a_len), (b_ptr, b_len)], None) => {
                let func = typed_func::<(i32, i32, i32, i32), i64>(
                    &self.instance,
                    &mut self.store,
                    export,
                    "func (i32, i32, i32, i32) -> (i64)",
                )?;
                func.call(&mut self.store, (*a_ptr, *a_len, *b_ptr, *b_len))
            }
            ([(p_ptr, p_len)], None) => {
                let func = typed_func::<(i32, i32), i64>(
                    &self.instance,
                    &mut self.store,
                    export,
                    "func (i32, i32) -> (i64)",
                )?;
                func.call(&mut self.store, (*p_ptr, *p_len))
            }
            _ => {
                return Err(Failure::Malformed(format!(
                    "{} buffers do not match any stage export",
                    buffers.len()
                )));
            }
        };
        let packed = match called {
            Ok(packed) => packed,
            Err(error) => return Err(self.explain_trap(host, &error, deadline)),
        };
        let (ptr, len) = sandbox::unpack(packed);
        let result = sandbox::read_bytes(&self.store, self.memory, ptr, len, "the result")?;
        sandbox::arm_deadline(&mut self.store, host.config(), deadline);
        self.reset
            .call(&mut self.store, ())
            .map_err(|error| sandbox::classify(&error, &self.store, deadline))?;
        Ok(result)
    }

    /// Turns a failed stage call into a [`Failure`]: deadline and memory
    /// limit first (the module's own record is not trustworthy then), then
    /// the module's error record if it wrote one, else the bare trap.
    fn explain_trap(
        &mut self,
        host: &Host,
        error: &wasmtime::Error,
        deadline: Duration,
    ) -> Failure {
        let trap = sandbox::classify(error, &self.store, deadline);
        if !matches!(trap, Failure::Trap { .. }) {
            return trap;
        }
        sandbox::arm_deadline(&mut self.store, host.config(), deadline);
        let packed = match self.error.call(&mut self.store, ()) {
            Ok(0) => return trap,
            Ok(packed) => packed,
            Err(second) => {
                return Failure::Malformed(format!(
                    "the module {trap}, then flow_error failed too: {}",
                    sandbox::classify(&second, &self.store, deadline)
                ));
            }
        };
        let (ptr, len) = sandbox::unpack(packed);
        match sandbox::read_bytes(&self.store, self.memory, ptr, len, "the error record") {
            Ok(bytes) => match error_record::decode(&bytes) {
                // A trap inside an `extern fn` tool: the module knows the
                // call, the host knows why it trapped.
                Ok(mut record) if record.kind == "extern" => {
                    if let Failure::Trap {
                        code: Some(code), ..
                    } = &trap
                    {
                        let reason = code.to_string();
                        let reason = reason.strip_prefix("wasm trap: ").unwrap_or(&reason);
                        record.message = format!("{}: {reason}", record.message);
                    }
                    Failure::Runtime(record)
                }
                Ok(record) => Failure::Runtime(record),
                Err(reason) => Failure::Malformed(format!(
                    "the module {trap}, and its error record is unreadable: {reason}"
                )),
            },
            Err(Failure::Malformed(reason)) => {
                Failure::Malformed(format!("the module {trap}, and {reason}"))
            }
            Err(other) => other,
        }
    }
}
