;; Instance flags of one inner component instance (intrinsic).
;;
;; wasmtime 48 keeps one flag per component instance in a mutable i32 global:
;; `may_leave` (1: the instance may call out of itself; 0: it may not, e.g.
;; while its `realloc` or `post-return` runs under an adapter). FACT adapters
;; read, clear and restore it; the host stubs check it before calling out.
;; It starts out true, as in wasmtime's runtime (vm/component.rs).
(module
  (global (export "flags") (mut i32) (i32.const 1)))
