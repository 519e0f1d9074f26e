;; The length of a line, and a trap (`unreachable`) on a line that starts
;; with `!`: the error_extern_trap case.
(module
  (memory (export "memory") 1)
  (func (export "flow_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "level") (param $s i32) (param $len i32) (result i64)
    (if (i32.and (i32.gt_u (local.get $len) (i32.const 0))
                 (i32.eq (i32.load8_u (local.get $s)) (i32.const 33)))
      (then (unreachable)))
    (i64.extend_i32_u (local.get $len))))
