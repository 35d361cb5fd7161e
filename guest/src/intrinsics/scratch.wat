;; The outer instance's scratch memory (intrinsic).
;;
;; Outer imports and exports whose signatures carry resource handles are
;; adapted by FACT between an inner instance and a virtual outer instance
;; (`translate/boundary.rs`). The outer side's strings, lists and spilled
;; parameters or results live here only for the duration of one call: the
;; wrapper lowers and lifts with this memory and `realloc`, and the
;; post-return (`reset*`, one per core result type) frees everything.
;;
;; Between a reset and the next, nothing here outlives the call it serves:
;; a host function cannot call back into the guest, and an export's
;; parameters are copied into the inner instance before its code runs.
(module
  (memory (export "memory") 0)
  (global $top (mut i32) (i32.const 0))

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

  (func $reset (global.set $top (i32.const 0)))
  (func (export "reset") (call $reset))
  (func (export "reset-i32") (param i32) (call $reset))
  (func (export "reset-i64") (param i64) (call $reset))
  (func (export "reset-f32") (param f32) (call $reset))
  (func (export "reset-f64") (param f64) (call $reset)))
