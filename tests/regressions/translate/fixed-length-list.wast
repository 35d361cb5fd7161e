;; Found by values/concat.wast and binary.wast: maps and fixed-length lists are
;; valid with the features wasmtime enables; Meld called such components
;; invalid (E0005) until its validator accepted the same features.
(component
  (core module $m
    (func (export "first") (param i32 i32 i32) (result i32) local.get 0)
    (func (export "id") (param i32) (result i32) local.get 0))
  (core instance $i (instantiate $m))
  (func (export "first") (param "xs" (list u32 3)) (result u32) (canon lift (core func $i "first")))
  (func (export "id") (param "x" u32) (result u32) (canon lift (core func $i "id"))))
(assert_return (invoke "id" (u32.const 7)) (u32.const 7))
