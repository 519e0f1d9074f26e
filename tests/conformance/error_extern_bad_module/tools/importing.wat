;; Not a tool: it imports a function (error_extern_bad_module).
(module
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (func (export "flow_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "score") (param i32 i32) (result f64) (f64.const 0)))
