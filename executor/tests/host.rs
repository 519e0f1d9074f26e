//! The WebAssembly host against real wasmtime: hand-written stage modules in
//! WAT that implement the ABI of `docs/abi.md` (and some that break it on
//! purpose), the module cache on disk, and the real `extern fn` tool of the
//! reviews example.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flow_executor::host::error_record::{self, ErrorRecord};
use flow_executor::host::{
    Failure, Host, HostConfig, LoadError, StageError, StageInstance, Step, ToolInstance, ToolType,
    ToolValue,
};
use wasmtime::Trap;

mod common;

use common::{SUM_STAGE, stage_module, stage_module_with};

/// Stage 1 reports a run-time error: it points `$error` at the record in the
/// data segment at offset 1024, then traps.
fn failing_stage(record: &ErrorRecord) -> Vec<u8> {
    let encoded = error_record::encode(record);
    let escaped: String = encoded.iter().map(|byte| format!("\\{byte:02x}")).collect();
    let data = format!(r#"(data (i32.const 1024) "{escaped}")"#);
    let body = format!(
        r#"(func (export "stage_1_process") (param i32 i32 i32 i32 i64) (result i64)
             (global.set $error (i64.const {packed}))
             unreachable)"#,
        packed = (1024i64 << 32) | encoded.len() as i64
    );
    stage_module_with(&format!("{SUM_STAGE}{body}"), "1", &data)
}

/// Stage 2 never returns; stage 3 grows memory until refused, then traps;
/// stage 4 returns a result far outside memory; stage 5 returns a length
/// that runs past the end of memory; stage 6 traps with no error record.
const MISBEHAVING_STAGES: &str = r#"
  (func (export "stage_2_process") (param i32 i32 i32 i32 i64) (result i64)
    (loop $forever (br $forever))
    unreachable)
  (func (export "stage_3_process") (param i32 i32 i32 i32 i64) (result i64)
    (loop $grow
      (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable)
  (func (export "stage_4_process") (param i32 i32 i32 i32 i64) (result i64)
    (i64.const 0xFFFF000000000010))
  (func (export "stage_5_process") (param i32 i32 i32 i32 i64) (result i64)
    (i64.const 0x00000400FFFFFFFF))
  (func (export "stage_6_process") (param i32 i32 i32 i32 i64) (result i64)
    unreachable)
"#;

fn i64s(values: &[i64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn as_i64(bytes: &[u8]) -> i64 {
    i64::from_le_bytes(bytes.try_into().expect("an 8-byte result"))
}

fn test_config() -> HostConfig {
    HostConfig {
        cache_dir: None,
        max_memory_bytes: 4 << 20,
        deadline: Duration::from_secs(5),
        epoch_tick: Duration::from_millis(5),
    }
}

fn host() -> Host {
    Host::new(test_config()).expect("the host starts")
}

/// A fresh, empty folder under the system temp dir for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("flow-host-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn cache_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("cache dir exists")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
        .collect();
    files.sort();
    files
}

#[test]
fn process_merge_finish_sum_little_endian_i64s() {
    let host = host();
    let module = host
        .load_stage(&stage_module(SUM_STAGE))
        .expect("valid stage");
    let mut instance = StageInstance::new(&host, &module);
    let a = instance
        .process(0, &i64s(&[1, 2, 3]), &i64s(&[100]), 1000)
        .expect("process");
    assert_eq!(as_i64(&a), 1106);
    let b = instance.process(0, &i64s(&[-7]), &[], 0).expect("process");
    assert_eq!(as_i64(&b), -7);
    let merged = instance.merge(0, &a, &b).expect("merge");
    assert_eq!(as_i64(&merged), 1099);
    let value = instance.finish(0, &merged).expect("finish");
    assert_eq!(as_i64(&value), 2198);
    // Empty inputs are legal chunks.
    assert_eq!(as_i64(&instance.process(0, &[], &[], 0).expect("empty")), 0);
}

#[test]
fn many_calls_reuse_the_arena() {
    // Each call allocates its inputs; without `flow_reset` between calls the
    // 4 MiB limit would be hit long before the last one.
    let host = host();
    let module = host
        .load_stage(&stage_module(SUM_STAGE))
        .expect("valid stage");
    let mut instance = StageInstance::new(&host, &module);
    let chunk = i64s(&vec![1; 16 * 1024]);
    for _ in 0..100 {
        let partial = instance.process(0, &chunk, &[], 0).expect("process");
        assert_eq!(as_i64(&partial), 16 * 1024);
    }
}

#[test]
fn run_time_error_record_is_decoded_and_instance_recovers() {
    let record = ErrorRecord {
        kind: "overflow".to_owned(),
        message: "the sum overflowed int".to_owned(),
        span_id: 7,
        position: 42,
    };
    let host = host();
    let module = host
        .load_stage(&failing_stage(&record))
        .expect("valid stage");
    let mut instance = StageInstance::new(&host, &module);
    let error = instance
        .process(1, b"x", b"", 1)
        .expect_err("stage 1 fails");
    assert_eq!(
        error,
        StageError {
            stage: 1,
            step: Step::Process,
            failure: Failure::Runtime(record),
        }
    );
    assert_eq!(error.span_id(), Some(7));
    let text = error.to_string();
    assert!(text.contains("stage 1 (process)"), "{text}");
    assert!(text.contains("the sum overflowed int"), "{text}");
    // The failed instance was discarded; the next call gets a fresh one
    // whose error record is clear.
    let partial = instance
        .process(0, &i64s(&[5]), &[], 0)
        .expect("fresh instance");
    assert_eq!(as_i64(&partial), 5);
}

#[test]
fn infinite_loop_hits_the_deadline() {
    let host = host();
    let module = host
        .load_stage(&stage_module(&format!("{SUM_STAGE}{MISBEHAVING_STAGES}")))
        .expect("valid stage");
    let mut instance = StageInstance::new(&host, &module);
    instance.set_deadline(Duration::from_millis(200));
    let started = Instant::now();
    let error = instance.process(2, b"", b"", 0).expect_err("never returns");
    let elapsed = started.elapsed();
    assert_eq!(error.stage, 2);
    assert_eq!(
        error.failure,
        Failure::DeadlineExceeded {
            deadline: Duration::from_millis(200)
        }
    );
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(error.to_string().contains("stage 2"), "{error}");
    // The instance still works after the interruption.
    instance.set_deadline(Duration::from_secs(5));
    assert_eq!(
        as_i64(&instance.process(0, &i64s(&[3]), &[], 0).expect("ok")),
        3
    );
}

#[test]
fn growing_past_the_memory_limit_is_reported() {
    let host = host();
    let module = host
        .load_stage(&stage_module(&format!("{SUM_STAGE}{MISBEHAVING_STAGES}")))
        .expect("valid stage");
    let mut instance = StageInstance::new(&host, &module);
    let error = instance.process(3, b"", b"", 0).expect_err("runs out");
    assert_eq!(
        error.failure,
        Failure::MemoryLimitExceeded {
            limit_bytes: 4 << 20
        }
    );
    // An input larger than the limit fails in `flow_alloc` the same way.
    let error = instance
        .process(0, &vec![0; 5 << 20], &[], 0)
        .expect_err("input too big for the limit");
    assert_eq!(
        error.failure,
        Failure::MemoryLimitExceeded {
            limit_bytes: 4 << 20
        }
    );
}

#[test]
fn hostile_results_are_errors_not_panics() {
    let host = host();
    let module = host
        .load_stage(&stage_module(&format!("{SUM_STAGE}{MISBEHAVING_STAGES}")))
        .expect("valid stage");
    let mut instance = StageInstance::new(&host, &module);
    for stage in [4, 5] {
        let error = instance
            .process(stage, b"abc", b"", 0)
            .expect_err("bad result");
        assert!(
            matches!(&error.failure, Failure::Malformed(reason) if reason.contains("outside")),
            "{error:?}"
        );
    }
    let error = instance.process(6, b"", b"", 0).expect_err("bare trap");
    assert!(
        matches!(
            error.failure,
            Failure::Trap {
                code: Some(Trap::UnreachableCodeReached),
                ..
            }
        ),
        "{error:?}"
    );
    // A stage the module does not have.
    let error = instance.merge(9, b"", b"").expect_err("no stage 9");
    assert_eq!(
        error.failure,
        Failure::MissingExport("stage_9_merge".to_owned())
    );
}

#[test]
fn hostile_allocator_and_error_record_are_errors_not_panics() {
    let bad_alloc = wat::parse_str(
        r#"(module
          (memory (export "memory") 1)
          (func (export "flow_abi_version") (result i32) (i32.const 1))
          ;; Out of bounds for any non-empty input, in bounds for empty ones.
          (func (export "flow_alloc") (param i32) (result i32)
            (select (i32.const -16) (i32.const 0) (local.get 0)))
          (func (export "flow_reset"))
          (func (export "flow_error") (result i64) (i64.const 0x0000FFFF00001000))
          (func (export "stage_0_process") (param i32 i32 i32 i32 i64) (result i64) unreachable))"#,
    )
    .expect("valid WAT");
    let host = host();
    let module = host
        .load_stage(&bad_alloc)
        .expect("loads: its exports are right");
    let mut instance = StageInstance::new(&host, &module);
    let error = instance
        .process(0, b"some bytes", b"", 0)
        .expect_err("bad alloc");
    assert!(
        matches!(&error.failure, Failure::Malformed(reason) if reason.contains("flow_alloc")),
        "{error:?}"
    );
    // With empty inputs the call itself runs, traps, and the error record
    // pointer is out of bounds.
    let error = instance.process(0, b"", b"", 0).expect_err("bad record");
    assert!(
        matches!(&error.failure, Failure::Malformed(reason) if reason.contains("error record")),
        "{error:?}"
    );
}

#[test]
fn unreadable_error_record_is_malformed() {
    let body = r#"(func (export "stage_0_process") (param i32 i32 i32 i32 i64) (result i64)
        (global.set $error (i64.const 0x0000040000000003))
        unreachable)"#;
    let module_bytes = stage_module_with(body, "1", r#"(data (i32.const 1024) "\ff\ff\ff")"#);
    let host = host();
    let module = host.load_stage(&module_bytes).expect("valid stage");
    let mut instance = StageInstance::new(&host, &module);
    let error = instance.process(0, b"", b"", 0).expect_err("fails");
    assert!(
        matches!(&error.failure, Failure::Malformed(reason) if reason.contains("unreadable")),
        "{error:?}"
    );
}

#[test]
fn modules_with_imports_are_rejected() {
    let with_import = wat::parse_str(
        r#"(module
          (import "env" "clock" (func $clock (result i64)))
          (memory (export "memory") 1)
          (func (export "flow_abi_version") (result i32) (i32.const 1))
          (func (export "flow_alloc") (param i32) (result i32) (i32.const 0))
          (func (export "flow_reset"))
          (func (export "flow_error") (result i64) (call $clock)))"#,
    )
    .expect("valid WAT");
    let host = host();
    let error = host
        .load_stage(&with_import)
        .expect_err("imports are refused");
    assert_eq!(
        error,
        LoadError::Import {
            module: "env".to_owned(),
            name: "clock".to_owned()
        }
    );
    assert_eq!(host.stats().compilations, 0, "rejected before compiling");
    assert!(host.load_tool(&with_import).is_err());
}

#[test]
fn missing_or_wrong_exports_are_rejected() {
    let host = host();
    let no_reset = wat::parse_str(
        r#"(module
          (memory (export "memory") 1)
          (func (export "flow_abi_version") (result i32) (i32.const 1))
          (func (export "flow_alloc") (param i32) (result i32) (i32.const 0))
          (func (export "flow_error") (result i64) (i64.const 0)))"#,
    )
    .expect("valid WAT");
    assert!(matches!(
        host.load_stage(&no_reset),
        Err(LoadError::MissingExport { name, .. }) if name == "flow_reset"
    ));
    // A tool needs only memory and flow_alloc, so the same module is a
    // valid tool.
    host.load_tool(&no_reset).expect("a valid tool");

    let no_memory = wat::parse_str(
        r#"(module (func (export "flow_alloc") (param i32) (result i32) (i32.const 0)))"#,
    )
    .expect("valid WAT");
    assert!(matches!(
        host.load_tool(&no_memory),
        Err(LoadError::MissingExport { name, .. }) if name == "memory"
    ));

    // The shared plumbing alone, with no stage, is a valid module.
    host.load_stage(&stage_module(""))
        .expect("the base module is valid");
    let wrong_alloc = wat::parse_str(
        r#"(module
          (memory (export "memory") 1)
          (func (export "flow_abi_version") (result i32) (i32.const 1))
          (func (export "flow_alloc") (param i64) (result i32) (i32.const 0))
          (func (export "flow_reset"))
          (func (export "flow_error") (result i64) (i64.const 0)))"#,
    )
    .expect("valid WAT");
    assert_eq!(
        host.load_stage(&wrong_alloc).err(),
        Some(LoadError::WrongExport {
            name: "flow_alloc".to_owned(),
            expected: "func (i32) -> (i32)".to_owned(),
            found: "func (i64) -> (i32)".to_owned(),
        })
    );

    let wrong_stage =
        stage_module(r#"(func (export "stage_3_finish") (param i32) (result i64) (i64.const 0))"#);
    assert!(matches!(
        host.load_stage(&wrong_stage),
        Err(LoadError::WrongExport { name, .. }) if name == "stage_3_finish"
    ));

    let version_two = stage_module_with(SUM_STAGE, "2", "");
    assert_eq!(
        host.load_stage(&version_two).err(),
        Some(LoadError::AbiVersion { found: 2 })
    );
}

#[test]
fn initial_memory_over_the_limit_is_rejected_at_load() {
    let huge = wat::parse_str(
        r#"(module
          (memory (export "memory") 256)
          (func (export "flow_abi_version") (result i32) (i32.const 1))
          (func (export "flow_alloc") (param i32) (result i32) (i32.const 0))
          (func (export "flow_reset"))
          (func (export "flow_error") (result i64) (i64.const 0)))"#,
    )
    .expect("valid WAT");
    let error = host().load_stage(&huge).expect_err("16 MiB > 4 MiB");
    assert!(
        matches!(&error, LoadError::Instantiation(reason) if reason.contains("memory limit")),
        "{error:?}"
    );
}

#[test]
fn garbage_is_rejected_without_panic() {
    let host = host();
    let valid = stage_module(SUM_STAGE);
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"not wasm at all".to_vec(),
        b"\0asm".to_vec(),
        b"\0asm\x01\0\0\0\x01\xff\xff\xff\xff\x0f".to_vec(),
        valid[..valid.len() / 2].to_vec(),
    ];
    // Flip bytes all over a valid module: each result must be a clean
    // rejection or a module that still passes every check.
    for position in (8..valid.len()).step_by(7) {
        let mut mutated = valid.clone();
        mutated[position] ^= 0x5a;
        inputs.push(mutated);
    }
    for bytes in &inputs {
        if let Ok(module) = host.load_stage(bytes) {
            // A mutation that kept the module valid must still run safely.
            let mut instance = StageInstance::new(&host, &module);
            let _ = instance.process(0, &i64s(&[1]), &[], 0);
        }
    }
    assert!(matches!(host.load_stage(&[]), Err(LoadError::Invalid(_))));
    assert!(matches!(
        host.load_tool(b"garbage"),
        Err(LoadError::Invalid(_))
    ));
}

#[test]
fn compiled_modules_are_cached_in_memory_and_on_disk() {
    let dir = temp_dir("cache");
    let config = HostConfig {
        cache_dir: Some(dir.clone()),
        ..test_config()
    };
    let bytes = stage_module(SUM_STAGE);

    let first = Host::new(config.clone()).expect("host");
    let module = first.load_stage(&bytes).expect("valid");
    first.load_stage(&bytes).expect("valid");
    assert_eq!(first.stats().compilations, 1);
    assert_eq!(first.stats().memory_hits, 1);
    assert_eq!(cache_files(&dir).len(), 1);
    let name = cache_files(&dir)[0]
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .expect("utf-8 name");
    assert!(name.starts_with(&module.hash().to_hex()), "{name}");
    drop(first);

    // A new host (as a new process would have) skips compilation.
    let second = Host::new(config.clone()).expect("host");
    let module = second.load_stage(&bytes).expect("from disk");
    assert_eq!(second.stats().compilations, 0);
    assert_eq!(second.stats().disk_hits, 1);
    let mut instance = StageInstance::new(&second, &module);
    assert_eq!(
        as_i64(&instance.process(0, &i64s(&[4, 5]), &[], 0).expect("ok")),
        9
    );
    drop(instance);
    drop(second);

    // Corrupt the artifact: one flipped byte in the middle, then garbage.
    let path = &cache_files(&dir)[0];
    let mut artifact = std::fs::read(path).expect("read artifact");
    let middle = artifact.len() / 2;
    artifact[middle] ^= 0xff;
    std::fs::write(path, &artifact).expect("corrupt artifact");
    let third = Host::new(config.clone()).expect("host");
    let module = third.load_stage(&bytes).expect("recompiled");
    assert_eq!(third.stats().compilations, 1);
    assert_eq!(third.stats().disk_rejected, 1);
    let mut instance = StageInstance::new(&third, &module);
    assert_eq!(
        as_i64(&instance.process(0, &i64s(&[6]), &[], 0).expect("ok")),
        6
    );
    drop(instance);
    drop(third);

    for garbage in [Vec::new(), vec![0u8; 10], vec![0xab; 4096]] {
        std::fs::write(path, &garbage).expect("overwrite artifact");
        let host = Host::new(config.clone()).expect("host");
        host.load_stage(&bytes).expect("recompiled");
        assert_eq!(host.stats().compilations, 1);
        assert_eq!(host.stats().disk_rejected, 1);
    }

    // The recompiled artifact was written back and is sound again.
    let last = Host::new(config).expect("host");
    last.load_stage(&bytes).expect("from disk");
    assert_eq!(last.stats().compilations, 0);
    assert_eq!(last.stats().disk_hits, 1);
    drop(last);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_rejected_module_is_not_cached() {
    let dir = temp_dir("rejected");
    let config = HostConfig {
        cache_dir: Some(dir.clone()),
        ..test_config()
    };
    let host = Host::new(config).expect("host");
    let bad = stage_module(r#"(func (export "stage_0_merge") (result i64) (i64.const 0))"#);
    assert!(host.load_stage(&bad).is_err());
    assert!(cache_files(&dir).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

fn score_wasm() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/reviews/tools/score.wasm");
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn score_tool_from_the_reviews_example() {
    let host = host();
    let module = host
        .load_tool(&score_wasm())
        .expect("score.wasm is a valid tool");
    let mut tool = ToolInstance::new(&host, &module);
    // Six words; "great", "fast" and "love" are positive: 3 / 6.
    let text = "Great kettle, boils fast. Love it!";
    let value = tool
        .call("score", &[ToolValue::Str(text.to_owned())], ToolType::Float)
        .expect("score runs");
    assert_eq!(value, ToolValue::Float(0.5));
    // "terrible" and "refund" are negative, "never" too: -3 / 5.
    let value = tool
        .call(
            "score",
            &[ToolValue::Str(
                "Terrible. Never again, refund please".to_owned(),
            )],
            ToolType::Float,
        )
        .expect("score runs");
    assert_eq!(value, ToolValue::Float(-3.0 / 5.0));
    assert_eq!(
        tool.call("score", &[ToolValue::Str(String::new())], ToolType::Float),
        Ok(ToolValue::Float(0.0))
    );
    // A long review makes the tool grow its memory.
    let long = "good ".repeat(100_000);
    assert_eq!(
        tool.call("score", &[ToolValue::Str(long)], ToolType::Float),
        Ok(ToolValue::Float(1.0))
    );
    // The Flow signature must match the export's.
    let error = tool
        .call("score", &[ToolValue::Int(3)], ToolType::Float)
        .expect_err("wrong types");
    assert!(
        matches!(error.failure, Failure::WrongSignature { .. }),
        "{error:?}"
    );
    let error = tool
        .call("missing", &[], ToolType::Int)
        .expect_err("no such export");
    assert_eq!(error.failure, Failure::MissingExport("missing".to_owned()));
}

#[test]
fn tool_scalars_strings_and_failures() {
    let tool_bytes = wat::parse_str(
        r#"(module
          (memory (export "memory") 1)
          (global $heap (mut i32) (i32.const 1024))
          (func (export "flow_alloc") (param $len i32) (result i32)
            (local $ptr i32)
            (local.set $ptr (global.get $heap))
            (global.set $heap (i32.add (local.get $ptr) (local.get $len)))
            (local.get $ptr))
          (func (export "add") (param i64 i64) (result i64)
            (i64.add (local.get 0) (local.get 1)))
          (func (export "not") (param i32) (result i32) (i32.eqz (local.get 0)))
          (func (export "half") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5)))
          ;; Returns its second string argument: (ptr << 32 | len).
          (func (export "second") (param i32 i32 i32 i32) (result i64)
            (i64.or (i64.shl (i64.extend_i32_u (local.get 2)) (i64.const 32))
                    (i64.extend_i32_u (local.get 3))))
          (func (export "bad_str") (result i64) (i64.const 0x0000000000FFFFFF))
          (func (export "spin") (result i64) (loop $l (br $l)) (i64.const 0))
          (func (export "boom") (param i64 i64) (result i64)
            (i64.div_s (local.get 0) (local.get 1))))"#,
    )
    .expect("valid WAT");
    let host = host();
    let module = host.load_tool(&tool_bytes).expect("valid tool");
    let mut tool = ToolInstance::new(&host, &module);
    assert_eq!(
        tool.call(
            "add",
            &[ToolValue::Int(40), ToolValue::Int(2)],
            ToolType::Int
        ),
        Ok(ToolValue::Int(42))
    );
    assert_eq!(
        tool.call("not", &[ToolValue::Bool(false)], ToolType::Bool),
        Ok(ToolValue::Bool(true))
    );
    assert_eq!(
        tool.call("half", &[ToolValue::Float(3.0)], ToolType::Float),
        Ok(ToolValue::Float(1.5))
    );
    assert_eq!(
        tool.call(
            "second",
            &[
                ToolValue::Str("first".to_owned()),
                ToolValue::Str("zweite ✓".to_owned())
            ],
            ToolType::Str
        ),
        Ok(ToolValue::Str("zweite ✓".to_owned()))
    );
    let error = tool
        .call("bad_str", &[], ToolType::Str)
        .expect_err("out of memory bounds");
    assert!(matches!(error.failure, Failure::Malformed(_)), "{error:?}");
    let error = tool
        .call(
            "boom",
            &[ToolValue::Int(1), ToolValue::Int(0)],
            ToolType::Int,
        )
        .expect_err("division by zero");
    assert!(
        matches!(
            error.failure,
            Failure::Trap {
                code: Some(Trap::IntegerDivisionByZero),
                ..
            }
        ),
        "{error:?}"
    );
    tool.set_deadline(Duration::from_millis(100));
    let started = Instant::now();
    let error = tool.call("spin", &[], ToolType::Int).expect_err("deadline");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(error.failure, Failure::DeadlineExceeded { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("`spin`"), "{error}");
    // After the failures a fresh instance answers again.
    assert_eq!(
        tool.call(
            "add",
            &[ToolValue::Int(1), ToolValue::Int(1)],
            ToolType::Int
        ),
        Ok(ToolValue::Int(2))
    );
}

#[test]
fn instances_run_on_many_threads_from_one_host() {
    let host = host();
    let module = host
        .load_stage(&stage_module(SUM_STAGE))
        .expect("valid stage");
    let workers: Vec<_> = (0..4i64)
        .map(|worker| {
            let host = host.clone();
            let module = module.clone();
            std::thread::spawn(move || {
                let mut instance = StageInstance::new(&host, &module);
                let partial = instance
                    .process(0, &i64s(&[worker, 10]), &[], 0)
                    .expect("process");
                as_i64(&partial)
            })
        })
        .collect();
    let sums: Vec<i64> = workers
        .into_iter()
        .map(|worker| worker.join().expect("worker thread"))
        .collect();
    assert_eq!(sums, vec![10, 11, 12, 13]);
}

#[test]
fn host_is_shared_and_instances_move_to_workers() {
    fn shared<T: Send + Sync + Clone>() {}
    fn movable<T: Send>() {}
    shared::<Host>();
    shared::<flow_executor::host::StageModule>();
    shared::<flow_executor::host::ToolModule>();
    movable::<StageInstance>();
    movable::<ToolInstance>();
}

#[test]
fn error_messages_name_the_stage_and_the_cause() {
    let host = host();
    let module = host
        .load_stage(&stage_module(&format!("{SUM_STAGE}{MISBEHAVING_STAGES}")))
        .expect("valid stage");
    let mut instance = StageInstance::new(&host, &module);
    instance.set_deadline(Duration::from_millis(50));
    let messages: Vec<String> = [2, 3, 4, 6]
        .into_iter()
        .map(|stage| {
            instance
                .process(stage, b"", b"", 0)
                .expect_err("fails")
                .to_string()
        })
        .collect();
    assert_eq!(
        messages[0],
        "stage 2 (process) ran longer than its deadline of 50ms"
    );
    assert_eq!(
        messages[1],
        "stage 3 (process) needed more than its memory limit of 4194304 bytes"
    );
    assert!(messages[2].starts_with("stage 4 (process) broke the module ABI: the result"));
    assert_eq!(
        messages[3],
        "stage 6 (process) trapped (wasm trap: wasm `unreachable` instruction executed)"
    );
}

/// Stage 7 returns 1 when the host said its chunk is UTF-8
/// (`flow_utf8_checked` of exactly the chunk's bytes), else 0, and forgets
/// the mark.
const UTF8_MARK_STAGE: &str = r#"
  (global $checked_ptr (mut i32) (i32.const -1))
  (global $checked_len (mut i32) (i32.const -1))
  (func (export "flow_utf8_checked") (param i32 i32)
    (global.set $checked_ptr (local.get 0))
    (global.set $checked_len (local.get 1)))
  (func (export "stage_7_process") (param $in i32) (param $in_len i32) (param i32 i32 i64) (result i64)
    (local $marked i64)
    (local.set $marked (i64.extend_i32_u (i32.and
      (i32.eq (global.get $checked_ptr) (local.get $in))
      (i32.eq (global.get $checked_len) (local.get $in_len)))))
    (global.set $checked_ptr (i32.const -1))
    (global.set $checked_len (i32.const -1))
    (call $result_i64 (local.get $marked)))
"#;

#[test]
fn the_host_tells_a_module_which_chunks_are_utf8() {
    let host = host();
    let module = host
        .load_stage(&stage_module(&format!("{SUM_STAGE}{UTF8_MARK_STAGE}")))
        .expect("valid stage");
    let mut instance = StageInstance::new(&host, &module);
    let marked = |instance: &mut StageInstance, chunk: &[u8]| {
        as_i64(&instance.process(7, chunk, &[], 1).expect("process"))
    };
    assert_eq!(marked(&mut instance, "café, naïve\r\nÉté\n".as_bytes()), 1);
    assert_eq!(marked(&mut instance, b""), 1);
    // Not UTF-8: the module is left to find the bad line itself.
    assert_eq!(marked(&mut instance, b"ok\nbad \xff\n"), 0);
    assert_eq!(marked(&mut instance, b"cut short \xc3"), 0);
    // A module without the export runs as before.
    let plain = host
        .load_stage(&stage_module(SUM_STAGE))
        .expect("valid stage");
    let mut plain = StageInstance::new(&host, &plain);
    assert_eq!(
        as_i64(&plain.process(0, &i64s(&[5]), &[], 0).expect("process")),
        5
    );
}

#[test]
fn a_utf8_mark_export_of_another_signature_is_refused() {
    let host = host();
    let body = format!(r#"{SUM_STAGE}(func (export "flow_utf8_checked") (param i64))"#);
    let error = host
        .load_stage(&stage_module(&body))
        .expect_err("the export has the wrong signature");
    assert!(
        matches!(&error, LoadError::WrongExport { name, .. } if name == "flow_utf8_checked"),
        "{error:?}"
    );
}
