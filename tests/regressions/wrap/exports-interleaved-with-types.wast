;; Found by values/numerics.wast: a world whose exported functions each have
;; their own type interleaves type declarations and exports; Meld refused it
;; (E0006) until the wrapper re-emitted every world declaration with index
;; remapping.
(component
  (core module $m
    (func (export "to-bool") (param i32) (result i32) local.get 0)
    (func (export "to-s8") (param i32) (result i32) local.get 0))
  (core instance $i (instantiate $m))
  (func (export "to-bool") (param "x" u32) (result bool) (canon lift (core func $i "to-bool")))
  (func (export "to-s8") (param "x" u32) (result s8) (canon lift (core func $i "to-s8"))))
(assert_return (invoke "to-bool" (u32.const 2)) (bool.const true))
(assert_return (invoke "to-s8" (u32.const 0x1ff)) (s8.const -1))
