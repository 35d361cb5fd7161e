//! Inner-only component-model async in both of Meld's outputs: a sync outer
//! world over async calls between inner components fuses to a component
//! and to a core module (the `wasm32` build target, wrapped back with
//! wit-component), and each runs as the composition does under wasmtime
//! with component-model async; an async outer world is refused for core
//! output with its own code (E0016), since the host's async built-ins have
//! no standard ABI in a core module.
//!
//! The composition: `$Lib` exports `now` (an async function lifted with a
//! callback that returns in its first activation) and `later` (one that
//! yields `n` times first); `$App` exports the sync `run: func(x: u32) ->
//! u32`, which calls both through async lowers (a sync-typed task may not
//! block, so it does not wait) and returns `now`'s result, the status of
//! `later`'s call and whether that call already returned (`later` goes on
//! after `run` returns).

mod concurrent;

use concurrent::call;

const COMPOSITION: &str = r#"(component
  (component $Lib
    (core module $M
      (import "" "task.return" (func $task.return (param i32)))
      (import "" "context.get" (func $context.get (result i32)))
      (import "" "context.set" (func $context.set (param i32)))
      (global $done (mut i32) (i32.const 0))
      (func (export "now") (param $x i32) (result i32)
        (call $task.return (i32.add (i32.mul (local.get $x) (i32.const 10)) (global.get $done)))
        (i32.const 0 (; EXIT ;)))
      (func (export "later") (param $n i32) (result i32)
        (call $context.set (local.get $n))
        (call $step))
      (func $step (result i32)
        (if (call $context.get)
          (then
            (call $context.set (i32.sub (call $context.get) (i32.const 1)))
            (return (i32.const 1 (; YIELD ;)))))
        (global.set $done (i32.add (global.get $done) (i32.const 1)))
        (call $task.return (global.get $done))
        (i32.const 0 (; EXIT ;)))
      (func (export "cb") (param i32 i32 i32) (result i32) (call $step)))
    (canon task.return (result u32) (core func $task.return))
    (canon context.get i32 0 (core func $context.get))
    (canon context.set i32 0 (core func $context.set))
    (core instance $m (instantiate $M (with "" (instance
      (export "task.return" (func $task.return))
      (export "context.get" (func $context.get))
      (export "context.set" (func $context.set))))))
    (func (export "now") async (param "x" u32) (result u32)
      (canon lift (core func $m "now") async (callback (core func $m "cb"))))
    (func (export "later") async (param "n" u32) (result u32)
      (canon lift (core func $m "later") async (callback (core func $m "cb")))))
  (component $App
    (import "now" (func $now async (param "x" u32) (result u32)))
    (import "later" (func $later async (param "n" u32) (result u32)))
    (core module $Memory (memory (export "mem") 1))
    (core instance $memory (instantiate $Memory))
    (core func $now (canon lower (func $now) async (memory (core memory $memory "mem"))))
    (core func $later (canon lower (func $later) async (memory (core memory $memory "mem"))))
    (core module $M
      (import "" "mem" (memory 1))
      (import "" "now" (func $now (param i32 i32) (result i32)))
      (import "" "later" (func $later (param i32 i32) (result i32)))
      ;; run(x) = now's result * 256 + later's status * 16 + 1 if later
      ;; returned at once; `later` yields x % 3 times.
      (func (export "run") (param $x i32) (result i32)
        (local $r i32) (local $s i32)
        (local.set $s (call $now (local.get $x) (i32.const 0)))
        (if (i32.ne (local.get $s) (i32.const 2 (; RETURNED ;))) (then unreachable))
        (local.set $r (i32.shl (i32.load (i32.const 0)) (i32.const 8)))
        (local.set $s (call $later (i32.rem_u (local.get $x) (i32.const 3)) (i32.const 4)))
        (i32.or (local.get $r)
          (i32.or (i32.shl (i32.and (local.get $s) (i32.const 0xf)) (i32.const 4))
                  (i32.eq (local.get $s) (i32.const 2))))))
    (core instance $m (instantiate $M (with "" (instance
      (export "mem" (memory $memory "mem"))
      (export "now" (func $now))
      (export "later" (func $later))))))
    (func (export "run") (param "x" u32) (result u32) (canon lift (core func $m "run"))))
  (instance $lib (instantiate $Lib))
  (instance $app (instantiate $App (with "now" (func $lib "now")) (with "later" (func $lib "later"))))
  (export "run" (func $app "run")))"#;

/// `run(x)` for each of `xs`, each in a fresh instance.
fn runs(bytes: &[u8], xs: &[u32]) -> Vec<Result<(u32,), String>> {
    xs.iter()
        .map(|&x| call::<(u32,), (u32,)>(bytes, "", "run", (x,)))
        .collect()
}

#[test]
fn inner_only_async_runs_the_same_in_both_outputs() {
    let input = wat::parse_str(COMPOSITION).unwrap();
    let xs = [0, 1, 2, 7];
    let composed = runs(&input, &xs);
    // `later` returns at once when it does not yield (x % 3 == 0), else
    // its call is STARTED (1) and goes on after `run` returns.
    let expected: Vec<Result<(u32,), String>> = xs
        .iter()
        .map(|&x| {
            let later = if x % 3 == 0 { 2 << 4 | 1 } else { 1 << 4 };
            Ok(((x * 10) << 8 | later,))
        })
        .collect();
    assert_eq!(composed, expected, "the composition under wasmtime");
    let component = meld::fuse(&input).expect("component output");
    assert_eq!(runs(&component, &xs), composed, "component output");
    let core = meld_tests::core_roundtrip("inner-only async", &input);
    assert_eq!(runs(&core, &xs), composed, "core output, wrapped back");
}

/// The same library under an async outer world: `run` is exported as the
/// library's `later` itself. Component output fuses it; core output is
/// refused with E0016, at the input's first use of async.
#[test]
fn core_output_of_an_async_outer_world_is_refused() {
    let wat = COMPOSITION.replace(
        r#"(export "run" (func $app "run"))"#,
        r#"(export "run" (func $app "run")) (export "later" (func $lib "later"))"#,
    );
    let input = wat::parse_str(&wat).unwrap();
    meld::fuse(&input).expect("component output");
    let d = meld::fuse_with(&input, &meld::Options::with_output(meld::Output::Core))
        .expect_err("core output of an async outer world")
        .remove(0);
    assert_eq!(d.code, meld::Code::AsyncCoreOutput, "{d:?}");
    assert_eq!(d.code.as_str(), "E0016");
    assert!(
        d.message.contains("the outer export `later` is async"),
        "{d:?}"
    );
    assert!(d.offset.is_some(), "{d:?}");
}

/// An outer import typed `async` makes the outer world async too: E0016,
/// naming the import.
#[test]
fn core_output_of_an_async_outer_import_is_refused() {
    let input = wat::parse_str(
        r#"(component
  (import "tick" (func $tick async))
  (core func $tick (canon lower (func $tick)))
  (core module $M
    (import "" "tick" (func $tick))
    (func (export "run") (call $tick)))
  (core instance $m (instantiate $M (with "" (instance (export "tick" (func $tick))))))
  (func (export "run") (canon lift (core func $m "run"))))"#,
    )
    .unwrap();
    let d = meld::fuse_with(&input, &meld::Options::with_output(meld::Output::Core))
        .expect_err("core output of an async outer import")
        .remove(0);
    assert_eq!(d.code, meld::Code::AsyncCoreOutput, "{d:?}");
    assert!(
        d.message.contains("the outer import `tick` is async"),
        "{d:?}"
    );
}
