;; Found by values/alignment.wast: the fused component traps where the input
;; traps, but with `unreachable` rather than wasmtime's message ("unaligned
;; pointer"), since the checks run in wasm. The runner compares trap places on
;; the fused side, not texts; this keeps a trap inside an adapter (a
;; misaligned list pointer between two inner components) under test.
(component
  (component $callee
    (core module $m
      (memory (export "mem") 1)
      (func (export "get") (result i32)
        (i32.store (i32.const 0) (i32.const 3))
        (i32.store (i32.const 4) (i32.const 1))
        i32.const 0))
    (core instance $i (instantiate $m))
    (func (export "get") (result (list u32)) (canon lift (core func $i "get") (memory (core memory $i "mem")))))
  (component $caller
    (import "get" (func $get (result (list u32))))
    (core module $libc
      (memory (export "mem") 1)
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 64))
    (core instance $libc (instantiate $libc))
    (core func $get (canon lower (func $get) (memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))))
    (core module $m
      (import "" "get" (func $get (param i32)))
      (func (export "run") (call $get (i32.const 16))))
    (core instance $i (instantiate $m (with "" (instance (export "get" (func $get))))))
    (func (export "run") (canon lift (core func $i "run"))))
  (instance $a (instantiate $callee))
  (instance $b (instantiate $caller (with "get" (func $a "get"))))
  (export "run" (func $b "run")))
(assert_trap (invoke "run") "unaligned pointer")
