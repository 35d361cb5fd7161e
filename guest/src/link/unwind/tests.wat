;; The unwind pass's test module (`tests.rs`): functions of many shapes
;; calling the blocker `$block` (an import the test host answers, first by
;; unwinding, then for real when the root is called again) and logging
;; what they do, so that a rewind that ran anything twice shows.
(module
  (type $ii (func (param i32) (result i32)))
  (import "host" "block" (func $block (param i32) (result i32)))
  (import "host" "block_ref" (func $block_ref (param funcref i32) (result i32)))
  (import "host" "log" (func $log (param i64)))
  (memory (export "memory") 1)
  (memory (export "buffers") 1)
  (global $state (export "state") (mut i32) (i32.const 0))
  (global $data (export "data") (mut i32) (i32.const 0))
  (global $sp (mut i32) (i32.const 1024))
  (table 4 funcref)
  (elem (i32.const 0) $leaf $double $plain)

  ;; Leaves.
  (func $leaf (type $ii)
    (call $log (i64.const 100))
    (i32.add (call $block (local.get 0)) (i32.const 1)))
  (func $double (type $ii)
    (i32.mul (call $leaf (local.get 0)) (i32.const 2)))
  (func $plain (type $ii)
    (i32.add (local.get 0) (i32.const 7)))

  ;; Operands of several types kept across calls.
  (func (export "operands") (param i32) (result i32)
    (local i64 f32 f64)
    (local.set 1 (i64.const 0x1_0000_0001))
    (local.set 2 (f32.const 1.5))
    (local.set 3 (f64.const 2.25))
    (i32.add
      (i32.mul (local.get 0) (call $block (i32.const 3)))
      (i32.add
        (i32.wrap_i64 (i64.add (local.get 1) (i64.extend_i32_u (call $block (i32.const 4)))))
        (i32.trunc_f64_s
          (f64.add
            (f64.promote_f32 (f32.mul (local.get 2) (f32.convert_i32_s (call $block (i32.const 5)))))
            (local.get 3))))))

  ;; A loop around a call, with a counter and a sum.
  (func (export "loop") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $again
      (call $log (i64.extend_i32_u (local.get $i)))
      (local.set $sum (i32.add (local.get $sum) (call $block (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum))

  ;; Blocks and ifs with results around calls, br_if carrying a value,
  ;; an early return from inside, dead code after a branch.
  (func (export "branches") (param i32) (result i32)
    (local $x i32)
    (local.set $x
      (block $b (result i32)
        (drop (br_if $b (i32.const 50) (i32.eqz (local.get 0))))
        (if (result i32) (i32.gt_s (local.get 0) (i32.const 10))
          (then (i32.add (call $block (local.get 0)) (i32.const 1000)))
          (else
            (block $inner (result i32)
              (br_if $inner (call $block (i32.const 7)) (i32.eq (local.get 0) (i32.const 5)))
              (call $log (i64.const 7))
              (br $b (i32.add (call $block (i32.const 8)) (i32.const 2000)))
              (call $log (i64.const 666))
              (i32.const 666))))))
    (if (i32.eq (local.get 0) (i32.const 3))
      (then (return (i32.add (local.get $x) (call $block (i32.const 9))))))
    (i32.add (local.get $x) (i32.const 1)))

  ;; Calls through a table, through a chain, a constant reference kept,
  ;; a mutable global changed between calls.
  (func (export "indirect") (param i32) (result i32)
    (local $r i32)
    (global.set $sp (i32.sub (global.get $sp) (i32.const 16)))
    (local.set $r (call_indirect (type $ii) (i32.const 11) (local.get 0)))
    (call $log (i64.extend_i32_s (local.get $r)))
    (local.set $r (i32.add (local.get $r)
      (call $block_ref (ref.null func) (call $double (i32.const 20)))))
    (global.set $sp (i32.add (global.get $sp) (i32.const 16)))
    (i32.add (local.get $r) (global.get $sp)))

  ;; An unmarked block and loop inside a marked one; a value left on the
  ;; stack below a block holding a call.
  (func (export "nested") (param i32) (result i32)
    (local $i i32)
    (i32.add
      (i32.const 3)
      (block (result i32)
        (block
          (loop
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if 1 (i32.ge_u (local.get $i) (local.get 0)))
            (br 0)))
        (i32.add (local.get $i) (call $leaf (local.get $i))))))

  ;; Not on a path to the blocker: left alone.
  (func (export "untouched") (param i32) (result i32)
    (call $plain (local.get 0)))
)
