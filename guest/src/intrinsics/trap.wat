;; The `trap` intrinsic FACT adapters call with a reason code
;; (`wasmtime_environ::Trap`: invalid discriminant, string out of bounds,
;; cannot leave component, ...). wasmtime raises a trap carrying that reason;
;; a core module can only trap, so the code is dropped.
(module
  (func (export "trap") (param $reason i32)
    unreachable))
