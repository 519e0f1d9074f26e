//! [`ToolInstance`]: one instance of an `extern fn` tool module (LANGUAGE.md
//! §8), calling its exports with Flow scalars under the same memory limit
//! and deadline as stages.
//!
//! `int` travels as `i64`, `float` as `f64`, `bool` as `i32`, a `str`
//! argument as `(ptr: i32, len: i32)` after the host writes it into memory
//! from the tool's `flow_alloc`, and a `str` result as an `i64` holding
//! `ptr << 32 | len`.

use std::fmt;
use std::time::Duration;

use wasmtime::{Func, FuncType, Instance, Memory, Store, TypedFunc, Val, ValType};

use super::sandbox::{self, Failure, Limits};
use super::{Host, ToolModule};

/// The Flow type of a tool parameter or result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolType {
    /// `int`, as `i64`.
    Int,
    /// `float`, as `f64`.
    Float,
    /// `bool`, as `i32` (0 is false).
    Bool,
    /// `str`, as `(ptr, len)` in and `ptr << 32 | len` out.
    Str,
}

impl ToolType {
    fn params(self) -> &'static [ValType] {
        match self {
            ToolType::Int => &[ValType::I64],
            ToolType::Float => &[ValType::F64],
            ToolType::Bool => &[ValType::I32],
            ToolType::Str => &[ValType::I32, ValType::I32],
        }
    }

    fn result(self) -> ValType {
        match self {
            ToolType::Int | ToolType::Str => ValType::I64,
            ToolType::Float => ValType::F64,
            ToolType::Bool => ValType::I32,
        }
    }
}

/// A Flow scalar passed to or returned by a tool.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolValue {
    /// An `int`.
    Int(i64),
    /// A `float`.
    Float(f64),
    /// A `bool`.
    Bool(bool),
    /// A `str`.
    Str(String),
}

impl ToolValue {
    /// The value's Flow type.
    pub fn ty(&self) -> ToolType {
        match self {
            ToolValue::Int(_) => ToolType::Int,
            ToolValue::Float(_) => ToolType::Float,
            ToolValue::Bool(_) => ToolType::Bool,
            ToolValue::Str(_) => ToolType::Str,
        }
    }
}

/// A failed tool call: the export called and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    /// The export that was called.
    pub function: String,
    /// What went wrong.
    pub failure: Failure,
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "extern fn `{}` {}", self.function, self.failure)
    }
}

impl std::error::Error for ToolError {}

/// One instance of a tool module, owned by one worker thread.
pub struct ToolInstance {
    host: Host,
    module: ToolModule,
    deadline: Duration,
    /// `None` before the first call and after a failure.
    live: Option<Live>,
}

impl fmt::Debug for ToolInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolInstance")
            .field("module", &self.module.hash)
            .field("deadline", &self.deadline)
            .field("instantiated", &self.live.is_some())
            .finish()
    }
}

struct Live {
    store: Store<Limits>,
    instance: Instance,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
}

impl ToolInstance {
    /// An instance of `module` with the host's deadline, instantiated on the
    /// first call.
    pub fn new(host: &Host, module: &ToolModule) -> ToolInstance {
        ToolInstance {
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

    /// Calls the export `function` with `args`, expecting a result of type
    /// `result`. The export's signature must be the one these types give.
    pub fn call(
        &mut self,
        function: &str,
        args: &[ToolValue],
        result: ToolType,
    ) -> Result<ToolValue, ToolError> {
        let error = |failure| ToolError {
            function: function.to_owned(),
            failure,
        };
        let mut live = match self.live.take() {
            Some(live) => live,
            None => self.instantiate().map_err(error)?,
        };
        let outcome = live.call(&self.host, function, args, result, self.deadline);
        if outcome.is_ok() {
            self.live = Some(live);
        }
        outcome.map_err(error)
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
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| Failure::MissingExport("memory".to_owned()))?;
        let alloc_func = instance
            .get_func(&mut store, "flow_alloc")
            .ok_or_else(|| Failure::MissingExport("flow_alloc".to_owned()))?;
        let alloc = alloc_func
            .typed::<i32, i32>(&store)
            .map_err(|_| Failure::WrongSignature {
                export: "flow_alloc".to_owned(),
                expected: "func (i32) -> (i32)".to_owned(),
                found: super::abi::describe(&alloc_func.ty(&store)),
            })?;
        Ok(Live {
            store,
            instance,
            memory,
            alloc,
        })
    }
}

impl Live {
    fn call(
        &mut self,
        host: &Host,
        function: &str,
        args: &[ToolValue],
        result: ToolType,
        deadline: Duration,
    ) -> Result<ToolValue, Failure> {
        let func = self.checked_func(function, args, result)?;
        sandbox::arm_deadline(&mut self.store, host.config(), deadline);
        let mut params = Vec::with_capacity(args.len() * 2);
        for arg in args {
            match arg {
                ToolValue::Int(value) => params.push(Val::I64(*value)),
                ToolValue::Float(value) => params.push(Val::F64(value.to_bits())),
                ToolValue::Bool(value) => params.push(Val::I32(i32::from(*value))),
                ToolValue::Str(text) => {
                    let (ptr, len) = sandbox::write_bytes(
                        &mut self.store,
                        self.memory,
                        &self.alloc,
                        text.as_bytes(),
                        deadline,
                    )?;
                    params.push(Val::I32(ptr));
                    params.push(Val::I32(len));
                }
            }
        }
        let mut results = [Val::I32(0)];
        func.call(&mut self.store, &params, &mut results)
            .map_err(|error| sandbox::classify(&error, &self.store, deadline))?;
        match (result, &results[0]) {
            (ToolType::Int, Val::I64(value)) => Ok(ToolValue::Int(*value)),
            (ToolType::Float, Val::F64(bits)) => Ok(ToolValue::Float(f64::from_bits(*bits))),
            (ToolType::Bool, Val::I32(value)) => Ok(ToolValue::Bool(*value != 0)),
            (ToolType::Str, Val::I64(packed)) => {
                let (ptr, len) = sandbox::unpack(*packed);
                let bytes =
                    sandbox::read_bytes(&self.store, self.memory, ptr, len, "the str result")?;
                String::from_utf8(bytes)
                    .map(ToolValue::Str)
                    .map_err(|_| Failure::Malformed("the str result is not UTF-8".to_owned()))
            }
            (expected, found) => Err(Failure::Malformed(format!(
                "returned {:?} where a {expected:?} was expected",
                found.ty(&self.store)
            ))),
        }
    }

    /// The export, after checking its signature is the one the Flow types
    /// of the call give.
    fn checked_func(
        &mut self,
        function: &str,
        args: &[ToolValue],
        result: ToolType,
    ) -> Result<Func, Failure> {
        let func = self
            .instance
            .get_func(&mut self.store, function)
            .ok_or_else(|| Failure::MissingExport(function.to_owned()))?;
        let params: Vec<ValType> = args
            .iter()
            .flat_map(|arg| arg.ty().params().iter().cloned())
            .collect();
        let expected = FuncType::new(self.store.engine(), params, [result.result()]);
        let found = func.ty(&self.store);
        let expected_text = super::abi::describe(&expected);
        let found_text = super::abi::describe(&found);
        if expected_text == found_text {
            Ok(func)
        } else {
            Err(Failure::WrongSignature {
                export: function.to_owned(),
                expected: expected_text,
                found: found_text,
            })
        }
    }
}
