//! The runtime module and its re-encoding: the embedded runtime imports
//! nothing, and a module with hand-built generated functions appended is
//! valid and runs under the executor's wasmtime host.

use flow_compiler::codegen::{self, ModuleBuilder, RuntimeModule, Signature, stage};
use flow_executor::host::{Failure, Host, HostConfig, StageInstance};
use flow_runtime::{Value, decode_value};
use wasm_encoder::{BlockType, Function, ValType};

use ValType::{I32, I64};

fn host() -> Host {
    Host::new(HostConfig::default()).expect("the host starts")
}

#[test]
fn runtime_imports_nothing_and_is_valid() {
    codegen::validate(codegen::runtime_wasm()).expect("the runtime is a valid import-free module");
    let runtime = RuntimeModule::embedded().expect("the runtime parses");
    for name in ["flow_abi_version", "flow_alloc", "flow_reset", "flow_error"] {
        assert!(
            runtime.exports.contains_key(name),
            "the runtime exports {name}"
        );
    }
    assert!(runtime.table_size >= 1);
}

/// Stage 0 counts the lines of a chunk; the body is written by hand with the
/// builder, the way lowering will emit a fused stage.
fn line_count_module() -> Vec<u8> {
    let mut builder = ModuleBuilder::new().expect("the runtime parses");
    let lines = builder
        .runtime_function("rt_input_lines", &[I32, I32, I32, I64], &[I32])
        .unwrap();
    let len = builder
        .runtime_function("rt_seq_len", &[I32], &[I64])
        .unwrap();
    let new = builder
        .runtime_function("rt_partial_new", &[I32, I64], &[I32])
        .unwrap();
    let count = builder
        .runtime_function("rt_partial_count", &[I32, I32], &[])
        .unwrap();
    let encode = builder
        .runtime_function("rt_partial_encode", &[I32], &[I64])
        .unwrap();

    let process = builder.declare(stage::process_signature());
    // Locals: 5 = partial, 6 = remaining lines.
    let mut body = Function::new([(1, I32), (1, I64)]);
    body.instructions()
        .i32_const(0)
        .i64_const(0)
        .call(new)
        .local_set(5)
        .local_get(0)
        .local_get(1)
        .i32_const(0)
        .local_get(4)
        .call(lines)
        .call(len)
        .local_set(6)
        .block(BlockType::Empty)
        .loop_(BlockType::Empty)
        .local_get(6)
        .i64_eqz()
        .br_if(1)
        .local_get(5)
        .i32_const(0)
        .call(count)
        .local_get(6)
        .i64_const(1)
        .i64_sub()
        .local_set(6)
        .br(0)
        .end()
        .end()
        .local_get(5)
        .call(encode)
        .end();
    builder.define(process, body).unwrap();
    builder.export("stage_0_process", process);
    stage::add_merge_and_finish(&mut builder, 0, None, 0).unwrap();

    // An int overflow reported the way generated arithmetic reports it.
    let fail = builder
        .runtime_function("rt_fail_overflow", &[I32, I32], &[])
        .unwrap();
    let overflowing = builder.declare(stage::process_signature());
    let mut body = Function::new([]);
    body.instructions()
        .i32_const(0)
        .i32_const(7)
        .call(fail)
        .unreachable()
        .end();
    builder.define(overflowing, body).unwrap();
    builder.export("stage_1_process", overflowing);

    // A trivial function with a type the runtime may not have.
    let answer = builder.declare(Signature::new(&[], &[ValType::F64]));
    let mut body = Function::new([]);
    body.instructions().f64_const(42.0.into()).end();
    builder.define(answer, body).unwrap();
    builder.export("answer", answer);

    let bytes = builder.finish().expect("re-encoding works");
    codegen::validate(&bytes).expect("the emitted module is valid");
    bytes
}

#[test]
fn appended_stage_runs_under_the_host() {
    let host = host();
    let module = host
        .load_stage(&line_count_module())
        .expect("the host accepts the module");
    let mut instance = StageInstance::new(&host, &module);
    let a = instance.process(0, b"one\ntwo\nthree\n", b"", 1).unwrap();
    let b = instance.process(0, b"four\r\nfive", b"", 4).unwrap();
    let merged = instance.merge(0, &a, &b).unwrap();
    let value = decode_value(&instance.finish(0, &merged).unwrap()).unwrap();
    assert_eq!(value, Value::Int(5));
    // Merging in the other order gives the same bytes.
    assert_eq!(instance.merge(0, &b, &a).unwrap(), merged);
}

#[test]
fn runtime_errors_reach_the_host_as_records() {
    let host = host();
    let module = host.load_stage(&line_count_module()).unwrap();
    let mut instance = StageInstance::new(&host, &module);
    let error = instance.process(1, b"x\n", b"", 1).unwrap_err();
    match error.failure {
        Failure::Runtime(record) => {
            assert_eq!(record.kind, "overflow");
            assert_eq!(record.message, "integer overflow in +");
            assert_eq!(record.span_id, 7);
        }
        other => panic!("expected a run-time error record, got {other:?}"),
    }
    // Invalid UTF-8 on line 2 of a chunk starting at line 10 names line 11.
    let error = instance.process(0, b"ok\n\xff\n", b"", 10).unwrap_err();
    match error.failure {
        Failure::Runtime(record) => {
            assert_eq!(record.kind, "bad-record");
            assert_eq!(record.position, 11);
        }
        other => panic!("expected a run-time error record, got {other:?}"),
    }
    // A merge of bytes that are no partial is an error, not a crash.
    assert!(instance.merge(0, b"\xff", b"").is_err());
    // The instance recovers after failures.
    let partial = instance.process(0, b"a\n", b"", 1).unwrap();
    let value = decode_value(&instance.finish(0, &partial).unwrap()).unwrap();
    assert_eq!(value, Value::Int(1));
}
