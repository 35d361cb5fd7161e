;; `app`: 1,000,000 rounds of: construct a counter, add through a borrow
;; three times, pass it back as an own (`total`); prints nothing, returns ok
;; if the checksum is right.
(module
  (import "meld:bench/counters" "[constructor]counter" (func $new (param i32) (result i32)))
  (import "meld:bench/counters" "[method]counter.add" (func $add (param i32 i32) (result i32)))
  (import "meld:bench/counters" "total" (func $total (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 32))
  (func (export "wasi:cli/run@0.2.0#run") (result i32) (local $i i32) (local $h i32) (local $sum i32)
    (loop $round
      (local.set $h (call $new (local.get $i)))
      (drop (call $add (local.get $h) (i32.const 1)))
      (drop (call $add (local.get $h) (i32.const 2)))
      (drop (call $add (local.get $h) (i32.const 3)))
      (local.set $sum (i32.add (local.get $sum) (call $total (local.get $h))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $round (i32.lt_u (local.get $i) (i32.const 1000000))))
    ;; sum of (i + 6) for i < 1e6, modulo 2^32
    (i32.ne (local.get $sum) (i32.const 1789293664))))
