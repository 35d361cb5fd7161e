;; Found by async/*.wast: async adapters made wasmtime-environ's FACT panic
;; (it asserts concurrency support). Async is now refused before translation
;; with E0007.
(component
  (component $callee
    (core module $m (func (export "f")))
    (core instance $i (instantiate $m))
    (type $t (func async))
    (func (export "f") (type $t) (canon lift (core func $i "f") async)))
  (component $caller
    (import "f" (func $f async))
    (core func $f (canon lower (func $f)))
    (core module $m (import "" "f" (func)) (func (export "g") call 0))
    (core instance $i (instantiate $m (with "" (instance (export "f" (func $f))))))
    (func (export "g") (canon lift (core func $i "g"))))
  (instance $a (instantiate $callee))
  (instance $b (instantiate $caller (with "f" (func $a "f"))))
  (export "g" (func $b "g")))
(assert_trap (invoke "g") "cannot block a synchronous task")
