//! The runtime driven natively through a mock of the glue: each test
//! scripts what guest code does when it is started or called back, and
//! checks the statuses, handles, events and traps against what wasmtime 48
//! gives for the same calls (`concurrent.rs`; the fixtures'
//! transcripts in `tests/tests/async_calls.rs` check the same end to end).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::codes::{Trap, callback, event, status};
use crate::driver::*;
use crate::glue::{self, Mock};
use crate::outer::*;
use crate::state::Call;
use crate::{init, with};

type StartFn = Rc<dyn Fn(u32) -> u32>;
type CallbackFn = Rc<dyn Fn(u32, u32, u32, u32) -> u32>;

/// Guest code by adapter: the first call (after the parameters are
/// lowered) and the callback.
#[derive(Default)]
struct Script {
    start: RefCell<HashMap<u32, StartFn>>,
    callback: RefCell<HashMap<u32, CallbackFn>>,
    log: RefCell<Vec<String>>,
}

/// Whether the scripted code is being rewound (instrumented code skips
/// what it ran before the call it unwound from).
fn rewinding() -> bool {
    glue::unwind_state() == crate::fiber::REWINDING
}

/// Whether the scripted code is unwinding (instrumented code returns at
/// once).
fn unwinding() -> bool {
    glue::unwind_state() == crate::fiber::UNWINDING
}

impl Mock for Script {
    fn start(&self, adapter: u32, task: u32) -> u32 {
        if !rewinding() {
            started(task);
        }
        let f = self.start.borrow()[&adapter].clone();
        f(task)
    }
    fn run_sync(&self, adapter: u32, task: u32) {
        if !rewinding() {
            started(task);
        }
        let f = self.start.borrow()[&adapter].clone();
        let r = f(task);
        if unwinding() {
            return;
        }
        sync_callee_returned(task);
        set_result(task, u64::from(r));
        sync_callee_done(task);
    }
    fn callback(&self, adapter: u32, task: u32, ev: u32, h: u32, p: u32) -> u32 {
        let f = self.callback.borrow()[&adapter].clone();
        f(task, ev, h, p)
    }
}

/// A runtime of `instances` instances and an empty script.
fn setup(instances: u32) -> Rc<Script> {
    init(instances);
    glue::set_may_block(true);
    let script = Rc::new(Script::default());
    glue::install(script.clone());
    script
}

impl Script {
    fn on_start(&self, adapter: u32, f: impl Fn(u32) -> u32 + 'static) {
        self.start.borrow_mut().insert(adapter, Rc::new(f));
    }
    fn on_callback(&self, adapter: u32, f: impl Fn(u32, u32, u32, u32) -> u32 + 'static) {
        self.callback.borrow_mut().insert(adapter, Rc::new(f));
    }
    fn log(&self, line: impl Into<String>) {
        self.log.borrow_mut().push(line.into());
    }
    fn lines(&self) -> Vec<String> {
        self.log.borrow().clone()
    }
}

fn call(adapter: u32) -> Call {
    Call {
        adapter,
        async_function: true,
        callback: true,
        return_sig: 7,
        return_memory: 1,
    }
}

/// `task.return` with signature 7.
fn ret() {
    let t = task_return_begin(7, 0);
    task_return_end(t);
}

/// The trap `f` raises.
fn trap_of(f: impl FnOnce()) -> Trap {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    match r {
        Ok(()) => panic!("no trap"),
        Err(e) => *e.downcast::<Trap>().expect("a runtime trap"),
    }
}

/// A callback code: WAIT on a new, empty waitable set of `instance`.
fn wait_on_a_new_set(instance: u32) -> u32 {
    callback::WAIT | waitable_set_new(instance) << 4
}

fn event_of(t: u32) -> Option<u32> {
    with(|s| s.task(t).common.event)
}

#[test]
fn a_callee_that_returns_at_once_gives_returned_and_no_handle() {
    let g = setup(2);
    let g2 = g.clone();
    g.on_start(0, move |_| {
        g2.log("callee runs");
        ret();
        callback::EXIT
    });
    let t = prepare_call(call(0), 0, 1, false);
    assert_eq!(async_start(t), status::RETURNED);
    assert_eq!(g.lines(), ["callee runs"]);
    // The task is gone: its id is free again.
    assert!(with(|s| s.store.get(t).is_none()));
    // No handle was allocated: the next one is 1.
    assert_eq!(waitable_set_new(0), 1);
}

#[test]
fn a_yielding_callee_is_started_then_returns_on_a_later_turn() {
    let g = setup(2);
    g.on_start(0, |_| callback::YIELD);
    let g2 = g.clone();
    g.on_callback(0, move |_, ev, h, p| {
        g2.log(format!("callback {ev} {h} {p}"));
        ret();
        callback::EXIT
    });
    let t = prepare_call(call(0), 0, 1, false);
    // STARTED, subtask handle 1 in the caller's table.
    assert_eq!(async_start(t), 1 << 4 | status::STARTED);
    assert!(g.lines().is_empty());
    run_all();
    // A yield is delivered as (NONE, 0, 0).
    assert_eq!(g.lines(), ["callback 0 0 0"]);
    assert_eq!(event_of(t), Some(status::RETURNED));
    // Resolved and its event not taken yet: dropping it traps.
    assert_eq!(trap_of(|| subtask_drop(0, 1)), Trap::SubtaskDropNotResolved);
}

#[test]
fn the_callee_of_a_sync_call_may_yield_and_wait() {
    // wasmtime makes a task for such a callee when a built-in needs one.
    let g = setup(2);
    g.on_start(0, |_| callback::YIELD);
    let g2 = g.clone();
    g.on_callback(0, move |_, _, _, _| {
        g2.log("callee returns");
        ret();
        callback::EXIT
    });
    let t = prepare_call(call(0), 0, 1, false);
    assert_eq!(async_start(t), 1 << 4 | status::STARTED);
    glue::set_may_block(true);
    enter_sync_call();
    // A yield lets other work run and is never cancelled.
    assert_eq!(thread_yield(true), 0);
    assert_eq!(g.lines(), ["callee returns"]);
    let set = waitable_set_new(0);
    waitable_join(0, 1, set);
    assert_eq!(waitable_set_wait(0, set, false), event::SUBTASK);
    assert_eq!(with(|s| s.event_out), [1, status::RETURNED]);
    exit_sync_call();
    // The task made for the wait is gone with the call.
    assert!(with(|s| s.sync_calls.is_empty()));
}

#[test]
fn backpressure_holds_a_call_until_it_is_lowered() {
    let g = setup(2);
    let g2 = g.clone();
    g.on_start(0, move |_| {
        g2.log("entered");
        ret();
        callback::EXIT
    });
    backpressure(1, true);
    let t = prepare_call(call(0), 0, 1, false);
    assert_eq!(async_start(t), 1 << 4 | status::STARTING);
    assert!(g.lines().is_empty());
    backpressure(1, false);
    run_all();
    assert_eq!(g.lines(), ["entered"]);
    assert_eq!(event_of(t), Some(status::RETURNED));
    assert_eq!(
        trap_of(|| backpressure(1, false)),
        Trap::BackpressureOverflow
    );
}

#[test]
fn a_callback_waiting_on_a_set_gets_its_subtask_events() {
    // Caller (adapter 0, instance 1) calls callee (adapter 1, instance 2),
    // which yields once; the caller joins the subtask to a set and waits.
    let g = setup(3);
    let g2 = g.clone();
    g.on_start(0, move |_| {
        let sub = prepare_call(call(1), 1, 2, false);
        let st = async_start(sub);
        g2.log(format!("caller: status {st:#x}"));
        let set = waitable_set_new(1);
        waitable_join(1, st >> 4, set);
        callback::WAIT | set << 4
    });
    let g3 = g.clone();
    g.on_callback(0, move |_, ev, h, p| {
        g3.log(format!("caller: event {ev} {h} {p}"));
        subtask_drop(1, h);
        ret();
        callback::EXIT
    });
    g.on_start(1, |_| callback::YIELD);
    let g4 = g.clone();
    g.on_callback(1, move |_, _, _, _| {
        g4.log("callee returns");
        ret();
        callback::EXIT
    });
    let t = prepare_call(call(0), 0, 1, false);
    assert_eq!(async_start(t), 1 << 4 | status::STARTED);
    run_all();
    assert_eq!(
        g.lines(),
        [
            "caller: status 0x11",
            "callee returns",
            "caller: event 1 1 2",
        ]
    );
    assert_eq!(event_of(t), Some(status::RETURNED));
}

#[test]
fn a_sync_caller_blocks_until_the_async_callee_returns() {
    let g = setup(2);
    g.on_start(0, |_| callback::YIELD);
    let count = Rc::new(RefCell::new(0));
    g.on_callback(0, move |t, _, _, _| {
        *count.borrow_mut() += 1;
        if *count.borrow() < 3 {
            return callback::YIELD;
        }
        let r = task_return_begin(7, 0);
        set_result(r, 42);
        task_return_end(r);
        let _ = t;
        callback::EXIT
    });
    let t = prepare_call(call(0), 0, 1, true);
    assert_eq!(sync_start(t), 42);
    assert!(with(|s| s.store.get(t).is_none()));
}

#[test]
fn a_sync_caller_that_may_not_block_traps() {
    setup(2);
    glue::set_may_block(false);
    assert_eq!(
        trap_of(|| {
            prepare_call(call(0), 0, 1, true);
        }),
        Trap::CannotBlockSyncTask
    );
}

#[test]
fn cancelling_a_call_that_has_not_started_returns_start_cancelled() {
    let g = setup(2);
    g.on_start(0, |_| unreachable!("never starts"));
    backpressure(1, true);
    let t = prepare_call(call(0), 0, 1, false);
    assert_eq!(async_start(t), 1 << 4 | status::STARTING);
    assert_eq!(subtask_cancel(0, 1, false), status::START_CANCELLED);
    backpressure(1, false);
    run_all();
}

#[test]
fn cancelling_a_waiting_callee_delivers_task_cancelled() {
    let g = setup(3);
    // The callee waits on an empty set; cancelled, it calls task.cancel.
    g.on_start(0, |_| wait_on_a_new_set(1));
    let g2 = g.clone();
    g.on_callback(0, move |_, ev, h, p| {
        g2.log(format!("callee: event {ev} {h} {p}"));
        task_cancel();
        callback::EXIT
    });
    let t = prepare_call(call(0), 2, 1, false);
    let st = async_start(t);
    assert_eq!(st, 1 << 4 | status::STARTED);
    // A task of instance 2 cancels it (sync): it sees RETURN_CANCELLED.
    let r = subtask_cancel(2, 1, false);
    assert_eq!(r, status::RETURN_CANCELLED);
    assert_eq!(
        g.lines(),
        [format!("callee: event {} 0 0", event::TASK_CANCELLED)]
    );
    subtask_drop(2, 1);
    assert!(with(|s| s.store.get(t).is_none()));
}

#[test]
fn handles_are_shared_and_reused_last_freed_first() {
    setup(1);
    let a = waitable_set_new(0);
    let b = waitable_set_new(0);
    let c = waitable_set_new(0);
    assert_eq!((a, b, c), (1, 2, 3));
    waitable_set_drop(0, 1);
    waitable_set_drop(0, 3);
    assert_eq!(waitable_set_new(0), 3);
    assert_eq!(waitable_set_new(0), 1);
    assert_eq!(trap_of(|| waitable_set_drop(0, 9)), Trap::UnknownHandle);
}

#[test]
fn misuse_traps_where_wasmtime_traps() {
    let g = setup(2);
    // task.return twice.
    g.on_start(0, |_| {
        ret();
        ret();
        callback::EXIT
    });
    let t = prepare_call(call(0), 0, 1, false);
    assert_eq!(
        trap_of(|| {
            async_start(t);
        }),
        Trap::TaskCancelOrReturnTwice
    );

    let g = setup(2);
    // task.return with another signature.
    g.on_start(0, |_| {
        task_return_begin(8, 0);
        callback::EXIT
    });
    let t = prepare_call(call(0), 0, 1, false);
    assert_eq!(
        trap_of(|| {
            async_start(t);
        }),
        Trap::TaskReturnInvalid
    );

    let g = setup(2);
    // EXIT without task.return.
    g.on_start(0, |_| callback::EXIT);
    let t = prepare_call(call(0), 0, 1, false);
    assert_eq!(
        trap_of(|| {
            async_start(t);
        }),
        Trap::NoAsyncResult
    );

    let g = setup(2);
    // An unknown callback code.
    g.on_start(0, |_| 3);
    let t = prepare_call(call(0), 0, 1, false);
    assert_eq!(
        trap_of(|| {
            async_start(t);
        }),
        Trap::UnsupportedCallbackCode
    );

    let g = setup(2);
    // task.cancel when not cancelled.
    g.on_start(0, |_| {
        task_cancel();
        callback::EXIT
    });
    let t = prepare_call(call(0), 0, 1, false);
    assert_eq!(
        trap_of(|| {
            async_start(t);
        }),
        Trap::TaskCancelNotCancelled
    );

    // A set with members cannot be dropped; nor one with a waiter.
    let g = setup(2);
    g.on_start(0, |_| callback::YIELD);
    let t = prepare_call(call(0), 0, 1, false);
    let h = async_start(t) >> 4;
    let set = waitable_set_new(0);
    waitable_join(0, h, set);
    assert_eq!(trap_of(|| waitable_set_drop(0, set)), Trap::SetHasMembers);

    // waitable-set.wait where the task may not block.
    setup(1);
    glue::set_may_block(false);
    assert_eq!(
        trap_of(|| {
            waitable_set_wait(0, 1, false);
        }),
        Trap::CannotBlockSyncTask
    );
}

#[test]
fn nothing_left_to_run_is_a_deadlock() {
    let g = setup(2);
    // A sync caller of a callee that waits forever.
    g.on_start(0, |_| wait_on_a_new_set(1));
    let t = prepare_call(call(0), 0, 1, true);
    assert_eq!(
        trap_of(|| {
            sync_start(t);
        }),
        Trap::AsyncDeadlock
    );
}

#[test]
fn context_slots_belong_to_the_thread() {
    let g = setup(2);
    context_set(0, 5);
    g.on_start(0, |_| {
        assert_eq!(context_get(0), 0, "a task starts with zero slots");
        context_set(0, 9);
        callback::YIELD
    });
    g.on_callback(0, |_, _, _, _| {
        assert_eq!(context_get(0), 9, "its slots are kept across callbacks");
        ret();
        callback::EXIT
    });
    let t = prepare_call(call(0), 0, 1, false);
    async_start(t);
    assert_eq!(context_get(0), 5, "the caller's slots come back");
    run_all();
    assert_eq!(context_get(0), 5);
    enter_sync_call();
    assert_eq!(context_get(0), 0);
    context_set(0, 1);
    exit_sync_call();
    assert_eq!(context_get(0), 5);
}

#[test]
fn a_deeper_frame_that_must_go_first_is_a_stack_order_trap() {
    // The host starts M (lifted sync, adapter 0) with an async call; M calls
    // Y (adapter 1) synchronously; Y yields until M's caller does something,
    // which on one stack it never can (conformance: async-calls-sync.wast).
    let g = setup(3);
    g.on_start(0, |_| {
        let y = prepare_call(call(1), 1, 2, true);
        sync_start(y) as u32
    });
    g.on_start(1, |_| callback::YIELD);
    g.on_callback(1, |_, _, _, _| callback::YIELD);
    let mut m = call(0);
    m.callback = false;
    let t = prepare_call(m, 0, 1, false);
    assert_eq!(
        trap_of(|| {
            async_start(t);
        }),
        Trap::StackOrder
    );
}

#[test]
fn a_sync_callee_that_blocks_suspends_and_its_caller_goes_on() {
    // As above, in a module the unwind pass instrumented: M suspends in
    // its sync call, the caller sees STARTED, and M is rewound once Y
    // returns (conformance: async-calls-sync.wast).
    let g = setup(3);
    glue::enable_unwind();
    let g2 = g.clone();
    g.on_start(0, move |_| {
        // Instrumented code skips what it ran before the call it left.
        if !rewinding() {
            g2.log("M calls Y");
            prepare_call(call(1), 1, 2, true);
        }
        let r = sync_start_prepared() as u32;
        if !unwinding() {
            g2.log("M goes on");
        }
        r
    });
    let go = Rc::new(std::cell::Cell::new(false));
    g.on_start(1, |_| callback::YIELD);
    let (g3, go2) = (g.clone(), go.clone());
    g.on_callback(1, move |_, _, _, _| {
        if !go2.get() {
            return callback::YIELD;
        }
        g3.log("Y returns");
        ret();
        callback::EXIT
    });
    let mut m = call(0);
    m.callback = false;
    let t = prepare_call(m, 0, 1, false);
    assert_eq!(async_start(t), 1 << 4 | status::STARTED);
    assert_eq!(g.lines(), ["M calls Y"]);
    assert_eq!(with(|s| s.frames.len()), 0, "M's frame is off the stack");
    go.set(true);
    assert!(matches!(run_all(), crate::state::Stop::Idle));
    assert_eq!(g.lines(), ["M calls Y", "Y returns", "M goes on"]);
    assert_eq!(event_of(t), Some(status::RETURNED));
    assert_eq!(glue::unwind_state(), crate::fiber::NORMAL);
}

#[test]
fn a_host_subtask_is_waited_for_through_the_host() {
    let g = setup(2);
    glue::HOST.with(|h| h.borrow_mut().clear());
    g.on_start(0, |_| {
        // The wrapper's async lower of a host import said STARTED, host
        // handle 9.
        let h = host_subtask(1, 9 << 4 | status::STARTED);
        assert_eq!(h, 1 << 4 | status::STARTED);
        let set = waitable_set_new(1);
        waitable_join(1, 1, set);
        callback::WAIT | set << 4
    });
    let g2 = g.clone();
    g.on_callback(0, move |_, ev, h, p| {
        g2.log(format!("event {ev} {h} {p}"));
        subtask_drop(1, h);
        ret();
        callback::EXIT
    });
    let t = outer_start(1, 0, 7, 1);
    // Nothing inner can run: the host is asked to wait on its set.
    assert_eq!(outer_run(t), callback::WAIT | 100 << 4);
    assert_eq!(
        glue::HOST.with(|h| h.borrow().clone()),
        ["set-new", "join 9 100"]
    );
    // The host's event for its handle 9 reaches the inner waiter.
    assert_eq!(
        outer_drive(t, event::SUBTASK, 9, status::RETURNED),
        callback::EXIT
    );
    assert_eq!(
        g.lines(),
        [format!("event {} 1 {}", event::SUBTASK, status::RETURNED)]
    );
    assert_eq!(
        glue::HOST.with(|h| h.borrow().clone()),
        ["set-new", "join 9 100", "drop 9"]
    );
}

/// Two outer tasks in one instance: `a` waits (on the host: nothing of
/// its own can happen), `b` queues a callback of `a`, which only the host
/// can run, in `a`'s callback: `b` stops there, wakes `a` through the
/// wakeup stream of `a`'s port, and the host's call of `a`'s callback runs
/// it.
#[test]
fn a_call_of_another_outer_task_is_handed_over_to_the_host() {
    let g = setup(2);
    glue::HOST.with(|h| h.borrow_mut().clear());
    g.on_start(0, |_| wait_on_a_new_set(1));
    let g2 = g.clone();
    g.on_callback(0, move |_, ev, h, p| {
        g2.log(format!("a: event {ev} {h} {p}"));
        ret();
        callback::EXIT
    });
    let a = outer_start(1, 0, 7, 1);
    // Idle, not returned: it waits on its port's set (the host reports a
    // deadlock if nothing else ever happens), rather than trapping.
    assert_eq!(outer_run(a), callback::WAIT | 100 << 4);
    g.on_start(1, move |_| {
        with(|s| s.push_high(crate::state::Work::Deliver { task: a, set: None }));
        ret();
        callback::EXIT
    });
    let b = outer_start(1, 1, 7, 1);
    assert_eq!(outer_run(b), callback::EXIT);
    assert!(g.lines().is_empty(), "b ran a's callback");
    assert_eq!(
        glue::HOST.with(|h| h.borrow().clone()),
        [
            "set-new",
            "wake-new",
            "join 200 100",
            "wake-read 200",
            "wake-write 201"
        ]
    );
    assert_eq!(
        outer_drive(a, event::STREAM_READ, 200, 1 << 4),
        callback::EXIT
    );
    assert_eq!(g.lines(), [format!("a: event {} 0 0", event::NONE)]);
}

/// The scheduler's choice with several outer tasks: a start or callback
/// of a host-driven task other than the running one is never taken; it
/// is a handover when it comes first (top level), skipped otherwise
/// (nested loops), and reported for a wakeup.
#[test]
fn only_the_running_outer_task_runs_its_own_calls() {
    use crate::state::{Next, Root, Work};
    let _g = setup(3);
    let a = outer_start(1, 0, 7, 1);
    let b = outer_start(1, 1, 7, 1);
    let inner = prepare_call(call(2), 1, 2, false);
    with(|s| {
        for t in [a, b] {
            s.outer.insert(
                t,
                Root {
                    driven: true,
                    ..Root::default()
                },
            );
        }
        s.roots.push(b);
        s.push_high(Work::Deliver { task: a, set: None });
        s.push_high(Work::Start(inner));
        s.push_low(Work::Deliver { task: b, set: None });
        assert_eq!(s.pop_runnable(true), Next::Handover(a));
        assert_eq!(s.bound_elsewhere(), [a]);
        assert_eq!(s.pop_runnable(false), Next::Work(Work::Start(inner)));
        assert_eq!(
            s.pop_runnable(false),
            Next::Work(Work::Deliver { task: b, set: None })
        );
        assert_eq!(s.pop_runnable(false), Next::Empty);
        assert_eq!(s.pop_runnable(true), Next::Handover(a));
    });
}

// ---------------------------------------------------------------------
// Streams and futures (element-less), as wasmtime 48's
// `futures_and_streams.rs` runs them between guest instances.

mod transmit {
    use super::*;
    use crate::codes::{BLOCKED, copy};
    use crate::state::Waitable;
    use crate::transmit::{self as tx, register_table};

    /// Stream type 0 and future type 1 in instance 0; stream type 2 in
    /// instance 1.
    fn setup_types() -> Rc<Script> {
        let g = setup(2);
        register_table(0, 0);
        register_table(1, 0);
        register_table(2, 1);
        g
    }

    const STREAM: u32 = 0;
    const FUTURE: u32 = 1;
    const ASYNC: bool = true;

    fn split(pair: u64) -> (u32, u32) {
        (pair as u32, (pair >> 32) as u32)
    }

    /// The store id of handle `h` of instance `i` (an end).
    fn end_id(i: u32, h: u32) -> u32 {
        match with(|s| s.handle(i, h)) {
            Ok(crate::state::Handle::End { end, .. }) => end,
            // Unit-test helper: a wrong handle fails the test that asked.
            other => panic!("handle {h} is not an end: {other:?}"),
        }
    }

    fn event(i: u32, h: u32) -> Option<u32> {
        let e = end_id(i, h);
        with(|s| s.common(Waitable::End(e)).event)
    }

    #[test]
    fn new_puts_the_readable_end_first_and_packs_write_high() {
        setup_types();
        let (r, w) = split(tx::new(STREAM));
        assert_eq!((r, w), (1, 2));
        // wasmtime's order of store ids: the state, the write end, the read end.
        assert!(end_id(0, w) < end_id(0, r));
        let (r2, w2) = split(tx::new(FUTURE));
        assert_eq!((r2, w2), (3, 4));
    }

    #[test]
    fn the_second_operation_completes_and_the_first_gets_the_event() {
        setup_types();
        let (r, w) = split(tx::new(STREAM));
        assert_eq!(tx::copy(STREAM, r, 0, 4, false, ASYNC), BLOCKED);
        // The writer offers 2 of the 4 wanted: it completes; the reader's
        // event says 2 and it stays pending for the rest.
        assert_eq!(
            tx::copy(STREAM, w, 0, 2, true, ASYNC),
            2 << 4 | copy::COMPLETED
        );
        assert_eq!(event(0, r), Some(2 << 4 | copy::COMPLETED));
        // More before the event is delivered adds to it.
        assert_eq!(
            tx::copy(STREAM, w, 0, 5, true, ASYNC),
            2 << 4 | copy::COMPLETED
        );
        assert_eq!(event(0, r), Some(4 << 4 | copy::COMPLETED));
        // A write with nobody reading waits.
        assert_eq!(tx::copy(STREAM, w, 0, 1, true, ASYNC), BLOCKED);
        // A second operation on a busy end traps.
        assert_eq!(
            trap_of(|| {
                tx::copy(STREAM, w, 0, 1, true, ASYNC);
            }),
            Trap::ConcurrentStreamOp
        );
    }

    #[test]
    fn zero_length_operations_ask_for_readiness() {
        setup_types();
        let (r, w) = split(tx::new(STREAM));
        // A zero-length write meets a pending read: only the write
        // completes, the reader stays pending and hears nothing.
        assert_eq!(tx::copy(STREAM, r, 0, 3, false, ASYNC), BLOCKED);
        assert_eq!(tx::copy(STREAM, w, 0, 0, true, ASYNC), copy::COMPLETED);
        assert_eq!(event(0, r), None);
        assert_eq!(
            tx::copy(STREAM, w, 0, 3, true, ASYNC),
            3 << 4 | copy::COMPLETED
        );
        // A read meeting a zero-length write: the writer hears COMPLETED(0)
        // and the read waits.
        let (r, w) = split(tx::new(STREAM));
        assert_eq!(tx::copy(STREAM, w, 0, 0, true, ASYNC), BLOCKED);
        assert_eq!(tx::copy(STREAM, r, 0, 2, false, ASYNC), BLOCKED);
        assert_eq!(event(0, w), Some(copy::COMPLETED));
    }

    #[test]
    fn cancel_after_a_partial_copy_reports_cancelled_with_the_count() {
        setup_types();
        let (r, w) = split(tx::new(STREAM));
        assert_eq!(tx::copy(STREAM, r, 0, 8, false, ASYNC), BLOCKED);
        assert_eq!(
            tx::copy(STREAM, w, 0, 4, true, ASYNC),
            4 << 4 | copy::COMPLETED
        );
        assert_eq!(
            tx::cancel(STREAM, r, false, ASYNC),
            4 << 4 | copy::CANCELLED
        );
        // Nothing pending now: the end reads again, and a cancel with
        // nothing pending traps.
        assert_eq!(
            trap_of(|| {
                tx::cancel(STREAM, r, false, ASYNC);
            }),
            Trap::CancelNothingPending
        );
        assert_eq!(tx::copy(STREAM, r, 0, 1, false, ASYNC), BLOCKED);
        assert_eq!(tx::cancel(STREAM, r, false, ASYNC), copy::CANCELLED);
        assert_eq!(
            trap_of(|| {
                tx::cancel(STREAM, w, false, ASYNC);
            }),
            Trap::WrongEnd
        );
    }

    #[test]
    fn a_drop_reaches_the_other_end_even_when_idle() {
        setup_types();
        let (r, w) = split(tx::new(STREAM));
        tx::drop_end(STREAM, w, true);
        // wasmtime sets DROPPED on the idle reader's slot.
        assert_eq!(event(0, r), Some(copy::DROPPED));
        assert_eq!(tx::copy(STREAM, r, 0, 1, false, ASYNC), copy::DROPPED);
        assert_eq!(
            trap_of(|| {
                tx::copy(STREAM, r, 0, 1, false, ASYNC);
            }),
            Trap::ReadAfterDropped
        );
        // Both ends gone: the three ids are free again.
        let id = end_id(0, r);
        assert!(with(|s| s.store.get(id).is_some()));
        tx::drop_end(STREAM, r, false);
        let (r2, w2) = split(tx::new(STREAM));
        assert_eq!((r2, w2), (1, 2));
    }

    #[test]
    fn a_pending_read_hears_the_writer_drop() {
        setup_types();
        let (r, w) = split(tx::new(STREAM));
        assert_eq!(tx::copy(STREAM, r, 0, 2, false, ASYNC), BLOCKED);
        assert_eq!(trap_of(|| tx::drop_end(STREAM, r, false)), Trap::BusyEnd);
        let (r, w) = {
            // the trap removed nothing: start over on a fresh runtime
            let _ = (r, w);
            setup_types();
            split(tx::new(STREAM))
        };
        assert_eq!(tx::copy(STREAM, r, 0, 2, false, ASYNC), BLOCKED);
        tx::drop_end(STREAM, w, true);
        assert_eq!(event(0, r), Some(copy::DROPPED));
    }

    #[test]
    fn a_future_must_be_written_once_and_read_once() {
        setup_types();
        let (r, w) = split(tx::new(FUTURE));
        assert_eq!(
            trap_of(|| tx::drop_end(FUTURE, w, true)),
            Trap::FutureDropUnwritten
        );
        setup_types();
        let (r2, w2) = split(tx::new(FUTURE));
        assert_eq!((r2, w2), (r, w));
        assert_eq!(tx::copy(FUTURE, w, 0, 1, true, ASYNC), BLOCKED);
        // Futures report no count.
        assert_eq!(tx::copy(FUTURE, r, 0, 1, false, ASYNC), copy::COMPLETED);
        assert_eq!(event(0, w), Some(copy::COMPLETED));
        assert_eq!(
            trap_of(|| {
                tx::copy(FUTURE, r, 0, 1, false, ASYNC);
            }),
            Trap::FutureReadTwice
        );
    }

    #[test]
    fn a_readable_end_moves_to_another_instance() {
        setup_types();
        let (r, w) = split(tx::new(STREAM));
        assert_eq!(
            trap_of(|| {
                tx::transfer(w, STREAM, 2);
            }),
            Trap::WrongEnd
        );
        setup_types();
        let (r, w) = (r, w);
        let _ = split(tx::new(STREAM));
        let set = waitable_set_new(1);
        assert_eq!(set, 1);
        let moved = tx::transfer(r, STREAM, 2);
        assert_eq!(moved, 2);
        assert!(with(|s| s.handle(0, r)).is_err());
        // It reads in its new instance, with its new type.
        assert_eq!(tx::copy(2, moved, 0, 1, false, ASYNC), BLOCKED);
        assert_eq!(
            tx::copy(STREAM, w, 0, 1, true, ASYNC),
            1 << 4 | copy::COMPLETED
        );
        assert_eq!(event(1, moved), Some(1 << 4 | copy::COMPLETED));
        // A busy end cannot move.
        assert_eq!(
            trap_of(|| {
                tx::transfer(moved, 2, STREAM);
            }),
            Trap::BusyEnd
        );
    }
}
