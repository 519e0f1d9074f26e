;; `score` answers an i32 where `-> float` needs an f64
;; (error_extern_signature).
(module
  (memory (export "memory") 1)
  (func (export "flow_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "score") (param i32 i32) (result i32) (i32.const 0)))
