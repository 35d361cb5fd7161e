;; Found by values/concat.wast and values/numerics.wast: types exported at the
;; top level are not a WIT world (E0010). Import-free components are now
;; re-declared from their translated types, signatures naming the exports.
(component
  (core module $m
    (memory (export "mem") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 256)
    (func (export "sum") (param i32 i32 i32) (result i32)
      (i32.add (local.get 1) (local.get 2)))
    (func (export "bits") (result i32) i32.const 0x105))
  (core instance $i (instantiate $m))
  (type $pair (record (field "s" string) (field "n" u32)))
  (export $pair' "pair" (type $pair))
  (type $f9 (flags "a" "b" "c" "d" "e" "f" "g" "h" "i"))
  (export $f9' "f9" (type $f9))
  (func (export "sum") (param "p" $pair') (result u32)
    (canon lift (core func $i "sum") (memory (core memory $i "mem")) (realloc (core func $i "realloc"))))
  (func (export "bits") (result $f9') (canon lift (core func $i "bits"))))
(assert_return (invoke "sum" (record.const (field "s" str.const "héllo") (field "n" u32.const 7))) (u32.const 13))
(assert_return (invoke "bits") (flags.const "a" "c" "i"))
