//! `extern fn` tools linked into stage modules, run under the real wasmtime
//! host: every index space of a tool survives linking (tables and
//! `call_indirect`, globals, passive data with `memory.init`, a start
//! function), two tools keep two memories, a trap inside a tool is an
//! `extern` error naming the call and the record, and a tool's memory is
//! bounded by the host's limit.

mod common;

use flow_compiler::package::{self, JobPackage, ToolFiles};
use flow_executor::host::{Failure, Host, HostConfig, StageInstance};
use flow_runtime::{Value, decode_value, encode_value};

/// Compiles a one-file job whose tools are given as WebAssembly text.
fn compile(source: &str, tools: &[(&str, &str)]) -> JobPackage {
    let analysis = common::analyze_files(&[("job.flow", source)]);
    assert!(
        !analysis.has_errors(),
        "the job has errors:\n{}",
        common::render(&analysis)
    );
    let root = analysis.program.jobs[0].root;
    let files: ToolFiles = tools
        .iter()
        .map(|(path, text)| {
            let bytes = wat::parse_str(text).expect("test WAT parses");
            (path.to_string(), Ok(bytes))
        })
        .collect();
    package::build_with_tools(&analysis, root, &files).expect("the job compiles")
}

/// Runs stage 0 of a job over `range(start, end)` in one chunk and
/// finishes it.
fn run_range(
    package: &JobPackage,
    config: HostConfig,
    start: i64,
    end: i64,
) -> Result<Value, Failure> {
    let host = Host::new(config).expect("host");
    let module = host.load_stage(package.module().unwrap()).expect("loads");
    let mut instance = StageInstance::new(&host, &module);
    let chunk = [start.to_le_bytes(), end.to_le_bytes()].concat();
    let ctx = encode_value(&Value::Tuple(vec![Value::str("")]));
    let partial = instance
        .process(0, &chunk, &ctx, start)
        .map_err(|e| e.failure)?;
    let finished = instance.finish(0, &partial).map_err(|e| e.failure)?;
    Ok(decode_value(&finished).expect("a value"))
}

const TABLES_AND_DATA: &str = r#"
(module
  (memory (export "memory") 1)
  (type $unary (func (param i64) (result i64)))
  (table 2 funcref)
  (elem (i32.const 0) $double $square)
  (global $base (mut i64) (i64.const 0))
  (data $ten "\0a\00\00\00\00\00\00\00")
  (func $init
    (memory.init $ten (i32.const 64) (i32.const 0) (i32.const 8))
    (data.drop $ten)
    (global.set $base (i64.load (i32.const 64))))
  (start $init)
  (func $double (param i64) (result i64) (i64.mul (local.get 0) (i64.const 2)))
  (func $square (param i64) (result i64) (i64.mul (local.get 0) (local.get 0)))
  (func (export "flow_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "apply") (param $which i64) (param $x i64) (result i64)
    (i64.add (global.get $base)
      (call_indirect (type $unary) (local.get $x) (i32.wrap_i64 (local.get $which))))))
"#;

#[test]
fn tables_globals_passive_data_and_start_functions_survive_linking() {
    let package = compile(
        "extern fn apply(which: int, x: int) -> int from \"t.wasm\"\n\
         input ids = range(0, 10)\n\
         output total = ids |> map(x => apply(x % 2, x)) |> sum()\n",
        &[("t.wasm", TABLES_AND_DATA)],
    );
    let expected: i64 = (0..10)
        .map(|x: i64| 10 + if x % 2 == 0 { 2 * x } else { x * x })
        .sum();
    assert_eq!(
        run_range(&package, HostConfig::default(), 0, 10),
        Ok(Value::Int(expected))
    );
    assert_eq!(package.plan.tools.len(), 1);
    assert_eq!(package.plan.tools[0].functions, vec!["apply".to_owned()]);
}

/// Two tools with data at the same address: each keeps its own memory.
const EXCLAIM: &str = r#"
(module
  (memory (export "memory") 1)
  (data (i32.const 16) "!")
  (func (export "flow_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "exclaim") (param $s i32) (param $len i32) (result i64)
    (memory.copy (i32.const 2048) (local.get $s) (local.get $len))
    (memory.copy (i32.add (i32.const 2048) (local.get $len)) (i32.const 16) (i32.const 1))
    (i64.or (i64.shl (i64.const 2048) (i64.const 32))
            (i64.extend_i32_u (i32.add (local.get $len) (i32.const 1))))))
"#;

const WEIGH: &str = r#"
(module
  (memory (export "memory") 1)
  (data (i32.const 16) "\03")
  (func (export "flow_alloc") (param i32) (result i32) (i32.const 512))
  (func (export "weigh") (param $s i32) (param $len i32) (result i64)
    (i64.extend_i32_u (i32.mul (local.get $len) (i32.load8_u (i32.const 16))))))
"#;

#[test]
fn two_tools_keep_two_memories() {
    let package = compile(
        "extern fn exclaim(s: str) -> str from \"a.wasm\"\n\
         extern fn weigh(s: str) -> int from \"b.wasm\"\n\
         input ids = range(0, 20)\n\
         output total = ids |> map(x => weigh(exclaim(str(x)))) |> sum()\n",
        &[("a.wasm", EXCLAIM), ("b.wasm", WEIGH)],
    );
    // `str(x)` plus "!", weighed at 3 per byte.
    let expected: i64 = (0..20)
        .map(|x: i64| 3 * (x.to_string().len() as i64 + 1))
        .sum();
    assert_eq!(
        run_range(&package, HostConfig::default(), 0, 20),
        Ok(Value::Int(expected))
    );
    assert_eq!(package.plan.tools.len(), 2);
}

#[test]
fn a_trap_inside_a_tool_names_the_call_and_the_record() {
    let source = "extern fn inverse(x: int) -> int from \"t.wasm\"\n\
                  input ids = range(0, 100)\n\
                  output total = ids |> map(x => inverse(x)) |> sum()\n";
    let package = compile(
        source,
        &[(
            "t.wasm",
            r#"(module (memory (export "memory") 1)
                 (func (export "flow_alloc") (param i32) (result i32) (i32.const 0))
                 (func (export "inverse") (param i64) (result i64)
                   (i64.div_s (i64.const 1000) (i64.sub (local.get 0) (i64.const 57)))))"#,
        )],
    );
    let Err(Failure::Runtime(record)) = run_range(&package, HostConfig::default(), 0, 100) else {
        panic!("expected an error record");
    };
    assert_eq!(record.kind, "extern");
    assert_eq!(record.position, 57);
    assert!(
        record
            .message
            .contains("extern fn `inverse` (t.wasm) trapped"),
        "{}",
        record.message
    );
    assert!(
        record.message.contains("divide by zero"),
        "{}",
        record.message
    );
    let span = &package.plan.spans[record.span_id as usize];
    assert_eq!(
        &source[span.start as usize..span.end as usize],
        "inverse(x)"
    );
}

#[test]
fn a_tool_memory_is_bounded_by_the_host_limit() {
    let package = compile(
        "extern fn hog(x: int) -> int from \"t.wasm\"\n\
         input ids = range(0, 100)\n\
         output total = ids |> map(x => hog(x)) |> sum()\n",
        &[(
            "t.wasm",
            r#"(module (memory (export "memory") 1)
                 (func (export "flow_alloc") (param i32) (result i32) (i32.const 0))
                 (func (export "hog") (param i64) (result i64)
                   (if (i32.lt_s (memory.grow (i32.const 160)) (i32.const 0)) (then (unreachable)))
                   (local.get 0)))"#,
        )],
    );
    let limit = 64 << 20;
    let config = HostConfig {
        max_memory_bytes: limit,
        ..HostConfig::default()
    };
    assert_eq!(
        run_range(&package, config, 0, 100),
        Err(Failure::MemoryLimitExceeded { limit_bytes: limit })
    );
    // Ten calls of 10 MiB each fit in a larger limit.
    let roomy = HostConfig {
        max_memory_bytes: 256 << 20,
        ..HostConfig::default()
    };
    assert_eq!(run_range(&package, roomy, 0, 10), Ok(Value::Int(45)));
}
