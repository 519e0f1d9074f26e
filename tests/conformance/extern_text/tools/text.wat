;; String functions for the extern_text case. A bump allocator hands out
;; memory from 4096 on; every export resets it when it returns, since the
;; caller copies a result out before it allocates again. The separator of
;; `pair` comes from a data segment.
(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 4096))
  (data (i32.const 16) "<->")
  (func $alloc (export "flow_alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $next))
    (global.set $next (i32.add (local.get $ptr) (local.get $len)))
    (block $enough
      (loop $grow
        (br_if $enough (i32.le_u (global.get $next) (i32.mul (memory.size) (i32.const 65536))))
        (if (i32.lt_s (memory.grow (i32.const 1)) (i32.const 0)) (then (unreachable)))
        (br $grow)))
    (local.get $ptr))
  (func $result (param $ptr i32) (param $len i32) (result i64)
    (global.set $next (i32.const 4096))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))
  (func (export "reverse") (param $s i32) (param $len i32) (result i64)
    (local $out i32) (local $i i32)
    (local.set $out (call $alloc (local.get $len)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (i32.store8
          (i32.add (local.get $out) (local.get $i))
          (i32.load8_u (i32.sub (i32.add (local.get $s) (local.get $len))
                                (i32.add (local.get $i) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $result (local.get $out) (local.get $len)))
  (func (export "pair") (param $a i32) (param $a_len i32) (param $b i32) (param $b_len i32) (result i64)
    (local $out i32) (local $len i32)
    (local.set $len (i32.add (i32.add (local.get $a_len) (i32.const 3)) (local.get $b_len)))
    (local.set $out (call $alloc (local.get $len)))
    (memory.copy (local.get $out) (local.get $a) (local.get $a_len))
    (memory.copy (i32.add (local.get $out) (local.get $a_len)) (i32.const 16) (i32.const 3))
    (memory.copy (i32.add (i32.add (local.get $out) (local.get $a_len)) (i32.const 3))
                 (local.get $b) (local.get $b_len))
    (call $result (local.get $out) (local.get $len)))
  (func (export "vowels") (param $s i32) (param $len i32) (result i64)
    (local $i i32) (local $count i64) (local $c i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $c (i32.or (i32.load8_u (i32.add (local.get $s) (local.get $i))) (i32.const 32)))
        (if (i32.or (i32.or (i32.eq (local.get $c) (i32.const 97)) (i32.eq (local.get $c) (i32.const 101)))
                    (i32.or (i32.or (i32.eq (local.get $c) (i32.const 105)) (i32.eq (local.get $c) (i32.const 111)))
                            (i32.eq (local.get $c) (i32.const 117))))
          (then (local.set $count (i64.add (local.get $count) (i64.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (global.set $next (i32.const 4096))
    (local.get $count))
  (func (export "repeat") (param $s i32) (param $len i32) (param $n i64) (result i64)
    (local $out i32) (local $k i32) (local $times i32)
    (local.set $times (i32.wrap_i64 (select (i64.const 0) (local.get $n) (i64.lt_s (local.get $n) (i64.const 0)))))
    (local.set $out (call $alloc (i32.mul (local.get $len) (local.get $times))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $times)))
        (memory.copy (i32.add (local.get $out) (i32.mul (local.get $k) (local.get $len)))
                     (local.get $s) (local.get $len))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (call $result (local.get $out) (i32.mul (local.get $len) (local.get $times)))))
