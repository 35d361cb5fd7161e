;; Found by the differential fuzzer (meld-fuzz): an outer export that lifts a
;; host function's lowering straight back out, with no core code in between,
;; gave E0100 "host lowering without a slot". The host function must reach the
;; fused module as an import and the export must call it.
(component
  (import "host-return-two" (func $f (result u32)))
  (core func $low (canon lower (func $f)))
  (func (export "f") (result u32) (canon lift (core func $low))))
(assert_return (invoke "f") (u32.const 2))

;; The same inside an inner component, with a host resource handle passed
;; through: constructed by the host, lowered and lifted straight back out.
(component
  (import "host" (instance $host
    (export "resource1" (type $r (sub resource)))
    (export "[constructor]resource1" (func (param "r" u32) (result (own $r))))
    (export "[static]resource1.assert" (func (param "r" (own $r)) (param "rep" u32)))))
  (alias export $host "resource1" (type $r))
  (alias export $host "[constructor]resource1" (func $new))
  (alias export $host "[static]resource1.assert" (func $assert))
  (component $inner
    (import "r" (type $r (sub resource)))
    (import "new" (func $new (param "r" u32) (result (own $r))))
    (import "assert" (func $assert (param "r" (own $r)) (param "rep" u32)))
    (core func $new-low (canon lower (func $new)))
    (core func $assert-low (canon lower (func $assert)))
    (core module $m
      (import "" "new" (func $new (param i32) (result i32)))
      (import "" "assert" (func $assert (param i32 i32)))
      (func (export "run") (param i32)
        (call $assert (call $new (local.get 0)) (local.get 0))))
    (core instance $i (instantiate $m (with "" (instance (export "new" (func $new-low)) (export "assert" (func $assert-low))))))
    (func (export "new") (param "r" u32) (result (own $r)) (canon lift (core func $new-low)))
    (func (export "run") (param "rep" u32) (canon lift (core func $i "run"))))
  (instance $x (instantiate $inner (with "r" (type $r)) (with "new" (func $new)) (with "assert" (func $assert))))
  (export "run" (func $x "run")))
(assert_return (invoke "run" (u32.const 7)))
(assert_return (invoke "run" (u32.const 42)))
