//! Misuse of component-model async between two inner components traps
//! fused where it traps composed: one test per trap kind of issue 19's
//! item 3 that a component can reach (reentrance, a waitable set dropped
//! with waiters and a subtask dropped before it resolved are also covered
//! by the reference tests `trap-on-reenter.wast`, `drop-waitable-set.wast`,
//! `drop-subtask.wast`).
//!
//! Each case is a composition of a caller `$C` and a callee `$D` written in
//! WAT (no Rust guest can misuse the ABI): `$C.run` calls `$D.f` (an async
//! function lifted with a callback, lowered async) and waits for it, or
//! `$D.g` (a sync function); a case replaces one of the core functions with
//! a misuse. The composition runs under wasmtime with component-model async
//! as given and as fused by Meld: both must trap on the same call (the
//! composed run with wasmtime's message for that trap; the fused run with
//! a trap of the fused module, whose runtime traps with `unreachable`).

mod concurrent;

use concurrent::call;

/// `$D`'s core functions by default: `f` returns 42 through `task.return`
/// and EXIT, `f_cb` is never called, `g` returns 7.
const F: &str = r#"
      (func (export "f") (result i32)
        (call $task.return (i32.const 42))
        (i32.const 0 (; EXIT ;)))"#;
const F_CB: &str = r#"
      (func (export "f_cb") (param i32 i32 i32) (result i32) unreachable)"#;
const G: &str = r#"
      (func (export "g") (result i32) (i32.const 7))"#;

/// `$C.run` by default: calls `f` (async lower, result at 16), waits for
/// its subtask to return if it has not, then returns `f`'s result plus
/// `g()`.
const RUN: &str = r#"
      (func (export "run") (result i32)
        (local $ret i32) (local $sub i32) (local $ws i32)
        (local.set $ret (call $f (i32.const 16)))
        (if (i32.ne (i32.and (local.get $ret) (i32.const 0xf)) (i32.const 2 (; RETURNED ;)))
          (then
            (local.set $sub (i32.shr_u (local.get $ret) (i32.const 4)))
            (local.set $ws (call $ws.new))
            (call $join (local.get $sub) (local.get $ws))
            (loop $wait
              (drop (call $ws.wait (local.get $ws) (i32.const 32)))
              (br_if $wait (i32.ne (i32.load (i32.const 36)) (i32.const 2 (; RETURNED ;)))))))
        (i32.add (i32.load (i32.const 16)) (call $g)))"#;

/// The composition with `$D`'s functions `d` (defining `f`, `f_cb`, `g`)
/// and `$C`'s `c` (defining `run`).
fn composition(d: &str, c: &str) -> Vec<u8> {
    let text = format!(
        r#"(component
  (component $D
    (core module $Memory (memory (export "mem") 1))
    (core instance $memory (instantiate $Memory))
    (core module $DM
      (import "" "mem" (memory 1))
      (import "" "task.return" (func $task.return (param i32)))
      (import "" "task.return0" (func $task.return0))
      (import "" "task.cancel" (func $task.cancel))
      (import "" "waitable-set.new" (func $ws.new (result i32)))
      (import "" "waitable-set.wait" (func $ws.wait (param i32 i32) (result i32)))
      (import "" "waitable-set.drop" (func $ws.drop (param i32)))
      (import "" "stream.new" (func $stream.new (result i64)))
      (import "" "stream.read" (func $stream.read (param i32 i32 i32) (result i32)))
      (import "" "stream.drop-writable" (func $stream.drop-writable (param i32)))
      (import "" "future.new" (func $future.new (result i64)))
      (import "" "future.drop-writable" (func $future.drop-writable (param i32)))
      (global $set (mut i32) (i32.const 0))
      {d}
    )
    (type $ST (stream))
    (type $FT (future))
    (canon task.return (result u32) (core func $task.return))
    (canon task.return (core func $task.return0))
    (canon task.cancel (core func $task.cancel))
    (canon waitable-set.new (core func $ws.new))
    (canon waitable-set.wait (memory (core memory $memory "mem")) (core func $ws.wait))
    (canon waitable-set.drop (core func $ws.drop))
    (canon stream.new $ST (core func $stream.new))
    (canon stream.read $ST async (core func $stream.read))
    (canon stream.drop-writable $ST (core func $stream.drop-writable))
    (canon future.new $FT (core func $future.new))
    (canon future.drop-writable $FT (core func $future.drop-writable))
    (core instance $dm (instantiate $DM (with "" (instance
      (export "mem" (memory $memory "mem"))
      (export "task.return" (func $task.return))
      (export "task.return0" (func $task.return0))
      (export "task.cancel" (func $task.cancel))
      (export "waitable-set.new" (func $ws.new))
      (export "waitable-set.wait" (func $ws.wait))
      (export "waitable-set.drop" (func $ws.drop))
      (export "stream.new" (func $stream.new))
      (export "stream.read" (func $stream.read))
      (export "stream.drop-writable" (func $stream.drop-writable))
      (export "future.new" (func $future.new))
      (export "future.drop-writable" (func $future.drop-writable))
    ))))
    (func (export "f") async (result u32)
      (canon lift (core func $dm "f") async (callback (core func $dm "f_cb"))))
    (func (export "g") (result u32) (canon lift (core func $dm "g")))
  )
  (component $C
    (import "f" (func $f async (result u32)))
    (import "g" (func $g (result u32)))
    (core module $Memory (memory (export "mem") 1))
    (core instance $memory (instantiate $Memory))
    (core module $CM
      (import "" "mem" (memory 1))
      (import "" "f" (func $f (param i32) (result i32)))
      (import "" "g" (func $g (result i32)))
      (import "" "waitable-set.new" (func $ws.new (result i32)))
      (import "" "waitable-set.wait" (func $ws.wait (param i32 i32) (result i32)))
      (import "" "waitable.join" (func $join (param i32 i32)))
      (import "" "subtask.drop" (func $subtask.drop (param i32)))
      {c}
    )
    (canon lower (func $f) async (memory (core memory $memory "mem")) (core func $f'))
    (canon lower (func $g) (core func $g'))
    (canon waitable-set.new (core func $ws.new))
    (canon waitable-set.wait (memory (core memory $memory "mem")) (core func $ws.wait))
    (canon waitable.join (core func $join))
    (canon subtask.drop (core func $subtask.drop))
    (core instance $cm (instantiate $CM (with "" (instance
      (export "mem" (memory $memory "mem"))
      (export "f" (func $f'))
      (export "g" (func $g'))
      (export "waitable-set.new" (func $ws.new))
      (export "waitable-set.wait" (func $ws.wait))
      (export "waitable.join" (func $join))
      (export "subtask.drop" (func $subtask.drop))
    ))))
    (func (export "run") async (result u32) (canon lift (core func $cm "run")))
  )
  (instance $d (instantiate $D))
  (instance $c (instantiate $C (with "f" (func $d "f")) (with "g" (func $d "g"))))
  (func (export "run") (alias export $c "run"))
)"#
    );
    wat::parse_str(&text).unwrap_or_else(|e| panic!("the test's WAT: {e}"))
}

/// `run()` of the composition, as given and as fused.
fn run_both(d: &str, c: &str) -> [Result<u32, String>; 2] {
    let input = composition(d, c);
    let fused = meld::fuse(&input).unwrap_or_else(|e| panic!("does not fuse: {e:?}"));
    [&input, &fused].map(|bytes| call::<(), (u32,)>(bytes, "", "run", ()).map(|(r,)| r))
}

/// Both forms trap: the composed one with wasmtime's `message`.
fn traps(d: &str, c: &str, message: &str) {
    let [input, fused] = run_both(d, c);
    let e = input.expect_err("the composition traps");
    assert!(
        e.contains(message),
        "composed: expected {message:?}, got {e}"
    );
    let e = fused.expect_err("the fused output traps");
    assert!(
        e.contains("wasm trap") || e.contains("unreachable"),
        "fused: not a trap: {e}"
    );
}

#[test]
fn without_misuse_both_return() {
    let d = format!("{F}{F_CB}{G}");
    assert_eq!(run_both(&d, RUN), [Ok(49), Ok(49)]);
}

#[test]
fn task_return_twice() {
    let f = r#"
      (func (export "f") (result i32)
        (call $task.return (i32.const 42))
        (call $task.return (i32.const 42))
        (i32.const 0))"#;
    traps(&format!("{f}{F_CB}{G}"), RUN, "called more than once");
}

#[test]
fn task_return_with_the_wrong_type() {
    let f = r#"
      (func (export "f") (result i32)
        (call $task.return0)
        (i32.const 0))"#;
    traps(
        &format!("{f}{F_CB}{G}"),
        RUN,
        "invalid `task.return` signature",
    );
}

#[test]
fn exit_without_a_result() {
    let f = r#"
      (func (export "f") (result i32) (i32.const 0 (; EXIT ;)))"#;
    traps(&format!("{f}{F_CB}{G}"), RUN, "failed to produce a result");
}

#[test]
fn task_cancel_of_a_task_not_cancelled() {
    let f = r#"
      (func (export "f") (result i32)
        (call $task.cancel)
        (i32.const 0))"#;
    traps(&format!("{f}{F_CB}{G}"), RUN, "has not been cancelled");
}

#[test]
fn an_unknown_callback_code() {
    let f = r#"
      (func (export "f") (result i32)
        (call $task.return (i32.const 42))
        (i32.const 5))"#;
    traps(&format!("{f}{F_CB}{G}"), RUN, "unsupported callback code");
}

#[test]
fn blocking_in_a_sync_task() {
    let g = r#"
      (func (export "g") (result i32)
        (call $ws.wait (call $ws.new) (i32.const 0)))"#;
    traps(
        &format!("{F}{F_CB}{g}"),
        RUN,
        "cannot block a synchronous task",
    );
}

#[test]
fn a_waitable_set_dropped_with_a_waiter() {
    // `f` waits on a set that `g`, called meanwhile, drops.
    let f = r#"
      (func (export "f") (result i32)
        (global.set $set (call $ws.new))
        (i32.or (i32.const 2 (; WAIT ;)) (i32.shl (global.get $set) (i32.const 4))))"#;
    let g = r#"
      (func (export "g") (result i32)
        (call $ws.drop (global.get $set))
        (i32.const 7))"#;
    let run = r#"
      (func (export "run") (result i32)
        (drop (call $f (i32.const 16)))
        (call $g))"#;
    traps(
        &format!("{f}{F_CB}{g}"),
        run,
        "cannot drop waitable set with waiters",
    );
}

#[test]
fn a_subtask_dropped_before_it_resolved() {
    let f = r#"
      (func (export "f") (result i32)
        (i32.or (i32.const 2 (; WAIT ;)) (i32.shl (call $ws.new) (i32.const 4))))"#;
    let run = r#"
      (func (export "run") (result i32)
        (call $subtask.drop (i32.shr_u (call $f (i32.const 16)) (i32.const 4)))
        (i32.const 0))"#;
    traps(
        &format!("{f}{F_CB}{G}"),
        run,
        "cannot drop a subtask which has not yet resolved",
    );
}

#[test]
fn a_future_dropped_before_it_was_written() {
    let g = r#"
      (func (export "g") (result i32)
        (call $future.drop-writable
          (i32.wrap_i64 (i64.shr_u (call $future.new) (i64.const 32))))
        (i32.const 7))"#;
    traps(
        &format!("{F}{F_CB}{g}"),
        RUN,
        "without first writing a value",
    );
}

#[test]
fn a_stream_read_after_its_writer_dropped() {
    // The first read reports DROPPED (1; anything else returns, and the
    // test fails); the second traps.
    let g = r#"
      (func (export "g") (result i32)
        (local $pair i64) (local $r i32) (local $first i32)
        (local.set $pair (call $stream.new))
        (local.set $r (i32.wrap_i64 (local.get $pair)))
        (call $stream.drop-writable (i32.wrap_i64 (i64.shr_u (local.get $pair) (i64.const 32))))
        (local.set $first (call $stream.read (local.get $r) (i32.const 0) (i32.const 1)))
        (if (i32.ne (local.get $first) (i32.const 1))
          (then (return (i32.add (local.get $first) (i32.const 1000)))))
        (call $stream.read (local.get $r) (i32.const 0) (i32.const 1)))"#;
    traps(&format!("{F}{F_CB}{g}"), RUN, "cannot read");
}
