//! Component-model async (P3) calls between inner components: the fixtures
//! `examples/async-calls.wasm` (async-runner ← async-lib, with an async host
//! import) and `examples/async-chain.wasm` (async-front ← async-middle ←
//! async-leaf), built by `examples/build.sh` from the Rust guests beside it.
//!
//! Each scenario is an exported `async func` returning a transcript (the
//! results the caller saw, then the library's journal). It runs under
//! wasmtime 48 with component-model async, driven through the concurrent API
//! (`run_concurrent`, `call_concurrent`), and its transcript is pinned here:
//! these are wasmtime's answers, the oracle the fused output must match.
//!
//! Each scenario runs as composed and as fused by Meld (component output):
//! both transcripts must be wasmtime's.

mod concurrent;

use concurrent::call;

fn fixture(name: &str) -> Vec<u8> {
    let path = meld_tests::repo().join("examples").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The transcript of scenario `name` of `examples/async-calls.wasm`, run
/// as composed and as fused: both must be `expected`.
fn scenario(name: &str, expected: &[&str]) {
    let input = fixture("async-calls.wasm");
    let fused = fused("async-calls.wasm");
    for (what, bytes) in [("input", &input), ("fused", &fused)] {
        let (lines,): (Vec<String>,) = call(bytes, "meld:async-demo/scenarios", name, ())
            .unwrap_or_else(|e| panic!("scenario {name} ({what}): {e}"));
        assert_eq!(lines, self::lines(expected), "scenario {name} ({what})");
    }
}

/// `name` fused by Meld (once per test process).
fn fused(name: &'static str) -> Vec<u8> {
    static CACHE: std::sync::Mutex<Vec<(&'static str, Vec<u8>)>> =
        std::sync::Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap();
    if let Some((_, b)) = cache.iter().find(|(n, _)| *n == name) {
        return b.clone();
    }
    let b = meld::fuse(&fixture(name)).unwrap_or_else(|d| panic!("{name} does not fuse: {d:?}"));
    cache.push((name, b.clone()));
    b
}

fn lines(s: &[&str]) -> Vec<String> {
    s.iter().map(|l| l.to_string()).collect()
}

#[test]
fn basic_values_cross_async_calls() {
    scenario(
        "basic",
        &[
            "héllo wörld, dlröw olléh",
            "21",
            "-3 -6 q×-3",
            "peek 41",
            "get 41",
            "consume 82",
            "many: 4321",
            "--- journal",
            "echo héllo wörld",
            "peek 41",
            "consume 41",
            "counter 1041 dropped",
        ],
    );
}

#[test]
fn a_yielding_callee_lets_another_call_run() {
    scenario(
        "interleave",
        &[
            "spin 3",
            "between, neewteb",
            "--- journal",
            "spin 0",
            "echo between",
            "spin 1",
            "spin 2",
            "spin done",
        ],
    );
}

#[test]
fn backpressure_queues_calls_until_it_is_lowered() {
    scenario(
        "backpressure",
        &[
            "10 20 30",
            "--- journal",
            "guarded 1 enters",
            "guarded 1 leaves",
            "guarded 2 enters",
            "guarded 2 leaves",
            "guarded 3 enters",
            "guarded 3 leaves",
        ],
    );
}

#[test]
fn a_pending_subtask_is_cancelled() {
    scenario(
        "cancel",
        &[
            "never: None",
            "after, retfa",
            "--- journal",
            "never starts",
            "never cancelled",
            "echo after",
        ],
    );
}

#[test]
fn a_sync_lower_blocks_on_an_async_lift() {
    scenario("sync-call", &["sum 5050", "--- journal", "sum of 100"]);
}

#[test]
fn a_callee_awaits_an_async_host_import() {
    scenario(
        "host",
        &[
            "wait-host 12",
            "meanwhile, elihwnaem",
            "--- journal",
            "wait-host 5",
            "echo meanwhile",
            "tick 6",
        ],
    );
}

/// A borrow lent to an async callee outlives its first activation: the
/// callee yields, another call runs, then it reads the borrowed resource
/// (the task's borrow scope is parked until it returns).
#[test]
fn a_borrow_is_held_across_a_yield() {
    scenario(
        "borrow-wait",
        &[
            "peek-later 5",
            "during, gnirud",
            "get 5",
            "--- journal",
            "peek-later waits",
            "echo during",
            "peek-later 5",
            "counter 5 dropped",
        ],
    );
}

/// A library task wakes another through a Rust-level waker: wit-bindgen's
/// inter-task wakeup, an element-less `stream` whose both ends are in the
/// library (`stream.new`, an async `stream.read` joined to the task's set,
/// `stream.write` from the other task, the `STREAM_READ` event).
#[test]
fn one_task_wakes_another_through_an_element_less_stream() {
    scenario(
        "wakeup",
        &[
            "wait-signal 7",
            "--- journal",
            "wait-signal waits",
            "signal 7",
            "wait-signal got 7",
        ],
    );
}

/// The benchmarks' workload (`bench(rounds, yielding)`: sequential calls of
/// `ping` / `ping-yield`) gives the same sum composed and fused.
#[test]
fn the_benchmark_round_trips_agree() {
    let input = fixture("async-calls.wasm");
    let fused = fused("async-calls.wasm");
    for yielding in [false, true] {
        for (what, bytes) in [("input", &input), ("fused", &fused)] {
            let (r,): (u64,) = call(
                bytes,
                "meld:async-demo/scenarios",
                "bench",
                (100u32, yielding),
            )
            .unwrap_or_else(|e| panic!("{what}: {e}"));
            // sum of i + 1 for i in 0..100
            assert_eq!(r, 5050, "{what}, yielding {yielding}");
        }
    }
}

/// The runner lowers `wait-host-sync` synchronously: it blocks in the call
/// while the library awaits the host's `clock.tick`; fused, the runtime
/// blocks in the host's `waitable-set.wait` until the host subtask resolves.
#[test]
fn a_sync_lower_blocks_while_the_callee_awaits_the_host() {
    scenario(
        "host-sync",
        &["wait-host-sync 8", "--- journal", "wait-host 3", "tick 4"],
    );
}

/// async-front → async-middle (lifted sync) → async-leaf, fused: the same
/// answer as the composition.
#[test]
fn a_chain_async_then_sync_then_async() {
    let input = fixture("async-chain.wasm");
    let fused = fused("async-chain.wasm");
    for (what, bytes) in [("input", &input), ("fused", &fused)] {
        let (r,): (u32,) = call(bytes, "meld:async-demo/chain", "run", (7u32,))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        // relay(x) = double(x + 1) + 1 = 2x + 3.
        assert_eq!(r, 17 * 1000 + 217, "{what}");
    }
}

/// An export typed `async` and lifted with the sync ABI fuses: the host's
/// call runs as a task of the async runtime (entry and exit shims), and the
/// fused export keeps its `async` type.
#[test]
fn an_async_typed_export_lifted_sync_fuses() {
    let input = wat::parse_str(
        r#"(component
  (core module $m
    (import "" "context.get" (func $get (result i32)))
    (import "" "context.set" (func $set (param i32)))
    (func (export "f") (param i32) (result i32)
      (call $set (local.get 0))
      (i32.add (call $get) (i32.const 1))))
  (core func $get (canon context.get i32 0))
  (core func $set (canon context.set i32 0))
  (core instance $i (instantiate $m (with "" (instance
    (export "context.get" (func $get)) (export "context.set" (func $set))))))
  (type $t (func async (param "x" u32) (result u32)))
  (func (export "f") (type $t) (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    let fused = meld::fuse(&input).expect("fuses");
    for (what, bytes) in [("input", &input), ("fused", &fused)] {
        let (r,): (u32,) = call(bytes, "", "f", (41u32,)).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(r, 42, "{what}");
    }
}

/// Resource handles and waitable sets of one instance share one index
/// space, as in wasmtime (and the spec's one table per component
/// instance): a resource takes handle 1, a waitable set 2; once the
/// resource is dropped, the next set reuses 1.
#[test]
fn resources_and_waitables_share_one_handle_space() {
    let input = wat::parse_str(
        r#"(component
  (type $R (resource (rep i32)))
  (core module $m
    (import "" "resource.new" (func $new (param i32) (result i32)))
    (import "" "resource.drop" (func $drop (param i32)))
    (import "" "waitable-set.new" (func $ws.new (result i32)))
    (func (export "f") (result i32)
      (local $r i32) (local $s1 i32) (local $s2 i32)
      (local.set $r (call $new (i32.const 7)))
      (local.set $s1 (call $ws.new))
      (call $drop (local.get $r))
      (local.set $s2 (call $ws.new))
      (i32.add (i32.mul (local.get $r) (i32.const 100))
               (i32.add (i32.mul (local.get $s1) (i32.const 10)) (local.get $s2)))))
  (core func $new (canon resource.new $R))
  (core func $drop (canon resource.drop $R))
  (core func $ws.new (canon waitable-set.new))
  (core instance $i (instantiate $m (with "" (instance
    (export "resource.new" (func $new))
    (export "resource.drop" (func $drop))
    (export "waitable-set.new" (func $ws.new))))))
  (type $t (func async (result u32)))
  (func (export "f") (type $t) (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    let fused = meld::fuse(&input).expect("fuses");
    for (what, bytes) in [("input", &input), ("fused", &fused)] {
        let (r,): (u32,) = call(bytes, "", "f", ()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(r, 121, "{what}");
    }
}

/// Several outer calls in flight at once in one instance, each lifted with
/// a callback: `a` waits for what `b` does (both through inner calls into
/// another component), so the inner work that lets `a` return runs in
/// `b`'s outer callback fused. Each call's result is the composition's:
/// `a`'s `task.return` runs in `a`'s own callback, and `a` waits (it does
/// not trap) while `b` has not been called yet.
#[test]
fn an_outer_call_returns_through_its_own_callback() {
    let path = meld_tests::repo().join("tests/fixtures/async/two-outer-calls.wat");
    let input = wat::parse_file(&path).expect("the fixture parses");
    let fused = meld::fuse(&input).expect("fuses");
    for (what, bytes) in [("input", &input), ("fused", &fused)] {
        let results: Vec<Result<(u32,), String>> =
            concurrent::call_together(bytes, "", vec![("a", ()), ("b", ())])
                .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(results, [Ok((107,)), Ok((1,))], "{what}");
    }
}

/// The fixture's scenarios in flight together in one instance: each
/// call's own results (its transcript before the library's journal) are
/// the composition's, fused. The journal, which the calls share, holds
/// their steps in the order they ran: an order among independent outer
/// calls the component model leaves open, and the fused module's differs
/// from wasmtime's (its inner work runs in one host callback at a time;
/// `ASYNC.md`, "Several outer calls").
#[test]
fn outer_calls_in_flight_together_agree() {
    let input = fixture("async-calls.wasm");
    let fused = fused("async-calls.wasm");
    let groups: &[&[&str]] = &[
        &["host", "interleave"],
        &["interleave", "host"],
        &["basic", "host", "wakeup"],
        &["host-sync", "interleave"],
        &["host", "host-sync"],
        &["backpressure", "cancel", "sync-call"],
        &["borrow-wait", "wakeup", "host"],
    ];
    let own = |r: &Result<(Vec<String>,), String>| -> Result<Vec<String>, String> {
        r.clone().map(|(lines,)| {
            lines
                .into_iter()
                .take_while(|l| l != "--- journal")
                .collect()
        })
    };
    for funcs in groups {
        let run = |bytes: &[u8]| -> Vec<Result<Vec<String>, String>> {
            concurrent::call_together::<(), (Vec<String>,)>(
                bytes,
                "meld:async-demo/scenarios",
                funcs.iter().map(|f| (*f, ())).collect(),
            )
            .unwrap_or_else(|e| panic!("{funcs:?}: {e}"))
            .iter()
            .map(own)
            .collect()
        };
        let expected = run(&input);
        for (f, r) in funcs.iter().zip(&expected) {
            assert!(r.is_ok(), "{f} in {funcs:?} as composed: {r:?}");
        }
        assert_eq!(run(&fused), expected, "{funcs:?} fused");
    }
}
