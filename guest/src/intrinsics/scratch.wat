;; The outer instance's scratch memory (intrinsic).
;;
;; Outer imports and exports that go through boundary adapters (those with
;; resource handles; for core output, all of them) are adapted by FACT
;; between an inner instance and a virtual outer instance
;; (`translate/boundary.rs`). The outer side's strings, lists and spilled
;; parameters or results live here only for the duration of one call: the
;; host (or the component wrapper) lowers and lifts with this memory and
;; `realloc`. For core output it is the build target's `cm32p2_memory`.
;;
;; Allocation is a bump pointer `$top` with a `$floor` under it:
;;
;; - an outer export call begins with `enter` (the export's entry shim),
;;   once the host's parameters and the return area are allocated:
;;   `$floor` = `$top`, so that nothing below is freed while the call runs;
;; - an outer import called from inside (the host's function adapted) ends
;;   with `release*` (its post-return): `$top` = `$floor`, freeing what the
;;   import's parameters and results took once they are copied;
;; - the export ends with `reset*` (its post-return): everything is free.
;;
;; A host function cannot call back into the guest, and exports are not
;; reentered, so one floor is enough. Allocation starts at 8: no allocation
;; is ever at address 0, which C-style hosts take for a failed allocation.
(module
  (memory (export "memory") 0)
  (global $top (mut i32) (i32.const 8))
  (global $floor (mut i32) (i32.const 8))

  ;; `realloc(old_ptr, old_size, align, new_size)`: bump allocation; a
  ;; reallocation copies the old bytes. Traps when the memory cannot grow.
  (func (export "realloc") (param $old i32) (param $old_size i32) (param $align i32)
                           (param $size i32) (result i32)
    (local $p i32) (local $end i32) (local $have i32)
    (local.set $p (i32.and (i32.add (global.get $top) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $p) (local.get $size)))
    (if (i32.lt_u (local.get $end) (local.get $p)) (then unreachable))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq (i32.const -1)
              (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have))
                                               (i32.const 0xffff))
                                      (i32.const 16))))
          (then unreachable))))
    (if (local.get $old_size)
      (then
        (memory.copy (local.get $p) (local.get $old)
          (select (local.get $old_size) (local.get $size)
                  (i32.lt_u (local.get $old_size) (local.get $size))))))
    (global.set $top (local.get $end))
    (local.get $p))

  ;; An outer export call begins: what is allocated so far stays.
  (func (export "enter") (global.set $floor (global.get $top)))

  ;; An outer import call ends (post-returns, one per core result type).
  (func $release (global.set $top (global.get $floor)))
  (func (export "release") (call $release))
  (func (export "release-i32") (param i32) (call $release))
  (func (export "release-i64") (param i64) (call $release))
  (func (export "release-f32") (param f32) (call $release))
  (func (export "release-f64") (param f64) (call $release))

  ;; An outer export call ends (post-returns, one per core result type).
  (func $reset (global.set $top (i32.const 8)) (global.set $floor (i32.const 8)))
  (func (export "reset") (call $reset))
  (func (export "reset-i32") (param i32) (call $reset))
  (func (export "reset-i64") (param i64) (call $reset))
  (func (export "reset-f32") (param f32) (call $reset))
  (func (export "reset-f64") (param f64) (call $reset)))
