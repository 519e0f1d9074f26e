//! Inline checked `int` arithmetic, run under the wasmtime host, against the
//! reference semantics of `flow_runtime::numbers`: equal results, and the
//! same error kind where the reference fails.

use flow_compiler::codegen::emit::{IntArith, IntOp, Scratch};
use flow_compiler::codegen::{self, ModuleBuilder, stage};
use flow_executor::host::{Failure, Host, HostConfig, StageInstance};
use flow_runtime::{RuntimeError, Value, decode_value, numbers};
use proptest::prelude::*;
use wasm_encoder::{Function, MemArg, ValType};

use ValType::{I32, I64};

/// The operations under test, by stage index.
const OPERATIONS: [&str; 7] = ["+", "-", "*", "/", "%", "neg", "abs"];

fn reference(operation: usize, a: i64, b: i64) -> Result<i64, RuntimeError> {
    match operation {
        0 => numbers::int_add(a, b),
        1 => numbers::int_sub(a, b),
        2 => numbers::int_mul(a, b),
        3 => numbers::int_div(a, b),
        4 => numbers::int_rem(a, b),
        5 => numbers::int_neg(a),
        _ => numbers::int_abs(a),
    }
}

/// Stage `k` reads two little-endian `i64`s from its chunk, applies
/// operation `k`, and returns the encoded `int`.
fn arithmetic_module() -> Vec<u8> {
    let mut builder = ModuleBuilder::new().unwrap();
    let arith = IntArith::new(&builder).unwrap();
    let box_int = builder
        .runtime_function("rt_box_int", &[I64], &[I32])
        .unwrap();
    let encode = builder
        .runtime_function("rt_encode", &[I32], &[I64])
        .unwrap();
    let at = |offset| MemArg {
        offset,
        align: 3,
        memory_index: 0,
    };
    for (index, _) in OPERATIONS.iter().enumerate() {
        let process = builder.declare(stage::process_signature());
        let mut body = Function::new([(3, I64)]);
        let scratch = Scratch { a: 5, b: 6, r: 7 };
        let mut sink = body.instructions();
        sink.local_get(0).i64_load(at(0));
        match index {
            5 => arith.negate(&mut sink, 11, scratch),
            6 => arith.abs(&mut sink, 11, scratch),
            _ => {
                let op = [IntOp::Add, IntOp::Sub, IntOp::Mul, IntOp::Div, IntOp::Rem][index];
                sink.local_get(0).i64_load(at(8));
                arith.binary(&mut sink, op, 11, scratch);
            }
        }
        sink.call(box_int).call(encode).end();
        builder.define(process, body).unwrap();
        builder.export(&format!("stage_{index}_process"), process);
    }
    let bytes = builder.finish().unwrap();
    codegen::validate(&bytes).expect("the emitted module is valid");
    bytes
}

struct Harness {
    instance: StageInstance,
}

impl Harness {
    fn new() -> Harness {
        let host = Host::new(HostConfig::default()).unwrap();
        let module = host.load_stage(&arithmetic_module()).unwrap();
        Harness {
            instance: StageInstance::new(&host, &module),
        }
    }

    fn check(&mut self, operation: usize, a: i64, b: i64) {
        let mut input = a.to_le_bytes().to_vec();
        input.extend_from_slice(&b.to_le_bytes());
        let got = self.instance.process(operation as u32, &input, b"", 1);
        let name = OPERATIONS[operation];
        match (reference(operation, a, b), got) {
            (Ok(expected), Ok(bytes)) => {
                assert_eq!(
                    decode_value(&bytes).unwrap(),
                    Value::Int(expected),
                    "{a} {name} {b}"
                );
            }
            (Err(expected), Err(error)) => match error.failure {
                Failure::Runtime(record) => {
                    assert_eq!(record.kind, expected.kind(), "{a} {name} {b}");
                    assert_eq!(record.span_id, 11);
                }
                other => panic!("{a} {name} {b}: expected an error record, got {other:?}"),
            },
            (expected, got) => panic!("{a} {name} {b}: expected {expected:?}, got {got:?}"),
        }
    }
}

#[test]
fn edge_values_match_the_reference() {
    let edges = [
        i64::MIN,
        i64::MIN + 1,
        -(1 << 32),
        -3,
        -2,
        -1,
        0,
        1,
        2,
        3,
        1 << 32,
        3_037_000_500,
        i64::MAX - 1,
        i64::MAX,
    ];
    let mut harness = Harness::new();
    for operation in 0..OPERATIONS.len() {
        for a in edges {
            for b in edges {
                harness.check(operation, a, b);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn random_operands_match_the_reference(
        operation in 0..OPERATIONS.len(),
        a in prop_oneof![any::<i64>(), -100i64..100, (-4_000_000_000i64..4_000_000_000)],
        b in prop_oneof![any::<i64>(), -100i64..100, (-4_000_000_000i64..4_000_000_000)],
    ) {
        thread_local! {
            static HARNESS: std::cell::RefCell<Option<Harness>> = const { std::cell::RefCell::new(None) };
        }
        HARNESS.with(|harness| {
            harness
                .borrow_mut()
                .get_or_insert_with(Harness::new)
                .check(operation, a, b);
        });
    }
}
