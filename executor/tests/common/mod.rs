//! Hand-written WAT stage modules shared by the executor's integration
//! tests: the ABI plumbing of `docs/abi.md` and a summing stage.

#![allow(dead_code)]

/// The ABI plumbing every test stage module shares: a bump allocator that
/// grows memory as needed, `flow_reset`, `flow_error` reading the `$error`
/// global, and the version. `body` adds the stage exports.
pub fn stage_module(body: &str) -> Vec<u8> {
    stage_module_with(body, "1", "")
}

/// Like [`stage_module`], with another ABI version and extra data segments.
pub fn stage_module_with(body: &str, version: &str, data: &str) -> Vec<u8> {
    let text = format!(
        r#"(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (global $error (mut i64) (i64.const 0))
  (func (export "flow_abi_version") (result i32) (i32.const {version}))
  (func $alloc (export "flow_alloc") (param $len i32) (result i32)
    (local $ptr i32) (local $end i32)
    (local.set $ptr (global.get $heap))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (block $fits
      (br_if $fits (i32.le_u (local.get $end) (i32.mul (memory.size) (i32.const 65536))))
      (br_if $fits (i32.ne
        (memory.grow (i32.sub (i32.add (i32.shr_u (local.get $end) (i32.const 16)) (i32.const 1))
                              (memory.size)))
        (i32.const -1)))
      unreachable)
    (global.set $heap (local.get $end))
    (local.get $ptr))
  (func (export "flow_reset") (global.set $heap (i32.const 4096)))
  (func (export "flow_error") (result i64) (global.get $error))
  ;; The sum of the little-endian i64s in [ptr, ptr + len).
  (func $sum (param $ptr i32) (param $len i32) (result i64)
    (local $total i64) (local $end i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (i32.add (local.get $ptr) (i32.const 8)) (local.get $end)))
        (local.set $total (i64.add (local.get $total) (i64.load (local.get $ptr))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 8)))
        (br $next)))
    (local.get $total))
  ;; Writes one i64 into fresh memory and returns it as (ptr << 32 | 8).
  (func $result_i64 (param $value i64) (result i64)
    (local $ptr i32)
    (local.set $ptr (call $alloc (i32.const 8)))
    (i64.store (local.get $ptr) (local.get $value))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.const 8)))
  {data}
  {body}
)"#
    );
    wat::parse_str(&text).expect("test module is valid WAT")
}

/// Stage 0 sums: `process` adds the i64s of the chunk, the i64s of the
/// context and `first`; `merge` adds two partials; `finish` doubles, so a
/// test can tell it ran.
pub const SUM_STAGE: &str = r#"
  (func (export "stage_0_process")
        (param $in i32) (param $in_len i32) (param $ctx i32) (param $ctx_len i32) (param $first i64)
        (result i64)
    (call $result_i64
      (i64.add (i64.add (call $sum (local.get $in) (local.get $in_len))
                        (call $sum (local.get $ctx) (local.get $ctx_len)))
               (local.get $first))))
  (func (export "stage_0_merge") (param $a i32) (param $a_len i32) (param $b i32) (param $b_len i32)
        (result i64)
    (call $result_i64 (i64.add (call $sum (local.get $a) (local.get $a_len))
                               (call $sum (local.get $b) (local.get $b_len)))))
  (func (export "stage_0_finish") (param $p i32) (param $p_len i32) (result i64)
    (call $result_i64 (i64.mul (call $sum (local.get $p) (local.get $p_len)) (i64.const 2))))
"#;
