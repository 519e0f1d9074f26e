;; Integer, float and bool functions for the extern_numbers case. A start
;; function sets $half, so a stage module that did not run it computes 0.
(module
  (memory (export "memory") 1)
  (global $half (mut f64) (f64.const 0))
  (func $init (global.set $half (f64.const 0.5)))
  (start $init)
  (func (export "flow_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "collatz_steps") (param $n i64) (result i64)
    (local $steps i64)
    (block $done
      (loop $next
        (br_if $done (i64.le_s (local.get $n) (i64.const 1)))
        (if (i64.eqz (i64.and (local.get $n) (i64.const 1)))
          (then (local.set $n (i64.shr_s (local.get $n) (i64.const 1))))
          (else (local.set $n (i64.add (i64.mul (local.get $n) (i64.const 3)) (i64.const 1)))))
        (local.set $steps (i64.add (local.get $steps) (i64.const 1)))
        (br $next)))
    (local.get $steps))
  ;; Answers 7 for true: any non-zero i32 is true.
  (func (export "is_prime") (param $n i64) (result i32)
    (local $d i64)
    (if (i64.lt_s (local.get $n) (i64.const 2)) (then (return (i32.const 0))))
    (local.set $d (i64.const 2))
    (block $done
      (loop $next
        (br_if $done (i64.gt_s (i64.mul (local.get $d) (local.get $d)) (local.get $n)))
        (if (i64.eqz (i64.rem_s (local.get $n) (local.get $d))) (then (return (i32.const 0))))
        (local.set $d (i64.add (local.get $d) (i64.const 1)))
        (br $next)))
    (i32.const 7))
  (func (export "scale") (param $x f64) (param $k i64) (result f64)
    (f64.mul (local.get $x) (f64.convert_i64_s (local.get $k))))
  (func (export "halve") (param $x f64) (result f64)
    (f64.mul (local.get $x) (global.get $half))))
