//! The runtime's operations: the canonical built-ins inner code calls, the
//! entry points of FACT's async adapters, and the scheduler that runs guest
//! code. Every call into guest code is made with no borrow of the state
//! held (guest code calls back into the runtime).
//!
//! One stack: where wasmtime suspends a fiber (a caller waiting for its
//! callee's first activation, `waitable-set.wait`, a sync lower of an async
//! callee, `thread.yield`, sync `subtask.cancel`), the runtime pushes a
//! frame and runs the scheduler in a nested loop until the frame's `Resume`
//! comes up (see `ASYNC.md`).

use crate::codes::{BLOCKED, Trap, callback, event, status};
use crate::fiber::{self, Dispatch};
use crate::glue;
use crate::state::{
    Call, Entity, Handle, Id, Next, Set, State, Stop, SyncCall, Thread, Waitable, Waiter, Work,
};
use crate::with;

/// The value of `r`, or the trap.
pub(crate) fn check<T>(r: Result<T, Trap>) -> T {
    match r {
        Ok(v) => v,
        Err(t) => glue::raise(t),
    }
}

pub(crate) fn trap_if(cond: bool, t: Trap) {
    if cond {
        glue::raise(t)
    }
}

/// The running task, for built-ins that need one.
pub(crate) fn current_task(s: &mut State) -> Result<Id, Trap> {
    match s.current {
        Thread::Task(t) => Ok(t),
        // A sync callee is not a task the built-ins can act on: wasmtime
        // traps these as invalid for a synchronous task.
        Thread::Sync(_) | Thread::Host => Err(Trap::CannotBlockSyncTask),
    }
}

/// The task that waits on a waitable set: the running task, or for the
/// callee of a sync→sync call one made for it on first use (as wasmtime
/// makes a task for such a callee when a built-in needs one), freed by
/// `exit-sync-call`.
fn waiting_task(s: &mut State) -> Result<Id, Trap> {
    let Thread::Sync(d) = s.current else {
        return current_task(s);
    };
    if let Some(t) = s.sync_calls[d as usize].task {
        return Ok(t);
    }
    let call = Call {
        adapter: u32::MAX,
        async_function: true,
        callback: false,
        return_sig: u32::MAX,
        return_memory: 0,
    };
    let t = s.new_task(0, call, None)?;
    let task = s.task(t);
    task.lower_pending = false;
    task.lift_pending = false;
    task.released = true;
    s.sync_calls[d as usize].task = Some(t);
    Ok(t)
}

/// Makes `to` the running thread (wasmtime's `set_thread`): the live
/// context slots and `task_may_block` of the old thread are saved, the new
/// thread's loaded. Returns the old thread.
#[inline]
pub(crate) fn switch(to: Thread) -> Thread {
    let live_may_block = glue::task_may_block();
    let (from, may_block) = with(|s| {
        let from = s.current;
        if from == to {
            return (from, None);
        }
        let live = s.context;
        match from {
            Thread::Host => {
                s.host_context = live;
                s.host_may_block = live_may_block;
            }
            Thread::Task(t) => {
                if let Some(Entity::Task(task)) = s.store.get_mut(t) {
                    task.context = live;
                }
            }
            Thread::Sync(d) => {
                let c = &mut s.sync_calls[d as usize];
                c.context = live;
                c.may_block = live_may_block;
            }
        }
        let (context, may_block) = match to {
            Thread::Host => (s.host_context, s.host_may_block),
            Thread::Task(t) => {
                let task = s.task(t);
                (task.context, task.may_block())
            }
            Thread::Sync(d) => {
                let c = s.sync_calls[d as usize];
                (c.context, c.may_block)
            }
        };
        s.context = context;
        s.current = to;
        (from, Some(may_block))
    });
    if let Some(m) = may_block {
        glue::set_may_block(m);
    }
    from
}

// ---------------------------------------------------------------------
// The scheduler

/// Pushes a frame: the caller is about to wait. Returns its id.
pub(crate) fn push_frame() -> u32 {
    with(|s| {
        let id = s.next_frame;
        s.next_frame = s.next_frame.wrapping_add(1);
        s.frames.push(crate::state::Frame {
            id,
            ..Default::default()
        });
        id
    })
}

pub(crate) fn pop_frame(id: u32) {
    with(|s| {
        let f = s.frames.pop();
        debug_assert_eq!(f.map(|f| f.id), Some(id));
    });
}

/// Blocks the running thread until waitable `w` (a subtask of a sync call,
/// an end of a sync read or write) has an event, running other work
/// meanwhile, and takes the event: the one it had when the wait was
/// resumed (see [`State::resume_deeper`]). `None` when the task suspended
/// instead (see [`crate::fiber`]): the built-in returns, and
/// [`finish_wait`] takes the event once it is resumed.
pub(crate) fn wait_for_event(w: Waitable) -> Option<u32> {
    let frame = wait_frame(w);
    if fiber::suspend(frame) {
        return None;
    }
    run_until(frame);
    Some(finish_wait(frame))
}

/// [`wait_for_event`] without suspending: a nested loop.
pub(crate) fn await_event(w: Waitable) -> u32 {
    let frame = wait_frame(w);
    run_until(frame);
    finish_wait(frame)
}

/// Pushes a frame waiting for waitable `w`'s event; its id.
fn wait_frame(w: Waitable) -> u32 {
    let frame = push_frame();
    with(|s| {
        if let Some(f) = s.frames.last_mut() {
            f.waits_on = Some(w);
        }
        let common = s.common(w);
        if common.event.is_some() {
            // Ready already: the waiter is woken at once (wasmtime's
            // suspend on a set with a ready member).
            s.high.push_front(Work::Resume(frame));
        } else {
            common.sync_waiter = Some(frame);
        }
    });
    frame
}

/// The event frame `frame` (the top of the stack, resumed) waited for;
/// pops the frame.
pub(crate) fn finish_wait(frame: u32) -> u32 {
    // Callers pass the frame on top of the stack: the one `wait_frame`
    // pushed and `run_until` returned for, or the one `fiber::resumed`
    // gave back (pushed again by `take_for_rewind`).
    let (taken, w) = with(|s| {
        let f = s.frames.last_mut().expect("the waiting frame is on top");
        (f.taken.take(), f.waits_on)
    });
    pop_frame(frame);
    // The frame went on once its `Resume` came up, and every `Resume` of
    // it follows an event of `w`: `set_event` pushes it after setting the
    // event, or it is pushed above because the event was there. Nothing
    // else takes that event meanwhile: a waitable with a sync waiter is in
    // no set (a subtask of a sync call or of a start has no handle yet; a
    // sync read or write traps if its end is in a set), so only
    // `resume_deeper` takes it, into `taken`.
    taken
        .or_else(|| with(|s| w.and_then(|w| s.take_event(w))))
        .expect("a resumed waiter has an event")
}

/// Runs queued work until frame `id` (the top of the stack) is resumed.
///
/// A `Resume` of a frame deeper on the stack is remembered: that frame
/// goes on when the frames above it return. With nothing left to run, the
/// runtime traps as wasmtime does (`AsyncDeadlock`), or with
/// [`Trap::StackOrder`] when a deeper frame was resumed and one stack
/// cannot return to it.
pub(crate) fn run_until(id: u32) {
    // Items run while a deeper frame is resumed: wasmtime would have
    // switched to it; one stack cannot, and when the frame on top waits for
    // what only that deeper frame can bring about (a task spinning on
    // `yield` meanwhile), nothing ever changes. After this many items the
    // runtime gives up with [`Trap::StackOrder`] rather than spin forever.
    const PATIENCE: u32 = 100_000;
    let mut patience = PATIENCE;
    loop {
        let next = with(|s| {
            if s.frames.last().is_some_and(|f| f.id == id && f.resumed) {
                return Err(());
            }
            let deeper_resumed = s.frames.iter().any(|f| f.id != id && f.resumed);
            let next = match s.pop_runnable(false) {
                Next::Work(w) => Some(w),
                _ => None,
            };
            Ok((next, deeper_resumed))
        });
        let Ok((next, deeper_resumed)) = next else {
            return;
        };
        if deeper_resumed {
            patience -= 1;
            trap_if(patience == 0, Trap::StackOrder);
        }
        match next {
            Some(Work::Resume(f)) if f == id => return,
            Some(Work::Resume(f)) if with(|s| fiber::is_suspended(s, f)) => rewind(f),
            Some(Work::Resume(f)) => with(|s| s.resume_deeper(f)),
            Some(work) => run_work(work),
            None if crate::outer::wait_for_host() => {}
            None => {
                let deeper = with(|s| s.frames.iter().any(|f| f.resumed));
                glue::raise(if deeper {
                    Trap::StackOrder
                } else {
                    Trap::AsyncDeadlock
                })
            }
        }
    }
}

/// Runs queued work until no work is left that the running root may run
/// (the outer boundary's loop), or until the host should have a turn; why
/// it stopped (see [`crate::outer`]).
pub fn run_all() -> Stop {
    loop {
        let next = with(|s| {
            // wasmtime polls the host's futures before every item: while a
            // host subtask is pending, the host has a turn before each.
            let queued = !(s.high.is_empty() && s.low.is_empty());
            if queued && !s.host_turn && s.unresolved_host_tasks().next().is_some() {
                return None;
            }
            let next = s.pop_runnable(true);
            if matches!(next, Next::Work(_)) {
                s.host_turn = false;
            }
            Some(next)
        });
        match next {
            None => return Stop::HostTurn,
            Some(Next::Empty) => return Stop::Idle,
            Some(Next::Handover(t)) => return Stop::Handover(t),
            Some(Next::Work(Work::Resume(f))) if with(|s| fiber::is_suspended(s, f)) => rewind(f),
            Some(Next::Work(Work::Resume(f))) => with(|s| s.resume_deeper(f)),
            Some(Next::Work(work)) => run_work(work),
        }
    }
}

/// Runs one start or delivery, or parks it when its instance cannot be
/// entered now.
fn run_work(work: Work) {
    if !with(|s| s.is_ready(work)) {
        with(|s| s.park(work));
        return;
    }
    match work {
        Work::Start(t) => start_task(t),
        Work::Deliver { task, set } => call_callback(task, set),
        Work::Resume(_) => unreachable!("resumes are handled by the loops"),
    }
}

/// Starts task `t` in its instance (wasmtime's `StartImplicit`).
fn start_task(t: Id) {
    let (instance, call) = with(|s| {
        let task = s.task(t);
        (task.instance, task.call)
    });
    let prev = switch(Thread::Task(t));
    with(|s| s.enter(instance));
    let kind = if call.callback {
        Dispatch::Start
    } else {
        Dispatch::RunSync
    };
    dispatch(t, kind, prev, (0, 0, 0), None);
}

/// Rewinds the task suspended at frame `f`: dispatches it again, as it
/// was, with the glue rewinding (see [`crate::fiber`]).
fn rewind(f: u32) {
    let (t, kind, base) = with(|s| fiber::take_for_rewind(s, f));
    let prev = switch(Thread::Task(t));
    dispatch(t, kind, prev, (0, 0, 0), Some(base));
}

/// Calls task `t`'s code (it is the running thread, in its instance;
/// `prev` ran before) through `kind`, with event `ev` for a callback, or
/// rewinding the buffer at `rewind`; then, unless the task suspended, goes
/// on as its return requires.
fn dispatch(t: Id, kind: Dispatch, prev: Thread, ev: (u32, u32, u32), rewind: Option<u32>) {
    let (instance, adapter) = with(|s| {
        let task = s.task(t);
        (task.instance, task.call.adapter)
    });
    fiber::begin(t, kind);
    if let Some(base) = rewind {
        glue::unwind_set(fiber::REWINDING, base);
    }
    let code = match kind {
        Dispatch::Start => glue::call_start(adapter, t),
        Dispatch::RunSync => {
            // The glue lowers the parameters (`started`), calls the
            // callee, leaves the instance (`sync_callee_returned`), lowers
            // the results as the caller (`[async-return]`), runs
            // post-return and completes the task (`sync_callee_done`).
            glue::call_run_sync(adapter, t);
            0
        }
        Dispatch::Callback => glue::call_callback(adapter, t, ev.0, ev.1, ev.2),
    };
    if fiber::end() {
        // Suspended: still in its instance, as a suspended fiber is.
        switch(prev);
        return;
    }
    match kind {
        Dispatch::Start | Dispatch::Callback => {
            with(|s| s.leave(instance));
            switch(prev);
            on_callback_code(t, code);
        }
        Dispatch::RunSync => {
            switch(prev);
            exit_task(t);
        }
    }
}

/// The task's thread is done (wasmtime's `cleanup_thread`).
pub(crate) fn exit_task(t: Id) {
    let lift_pending = with(|s| {
        let task = s.task(t);
        task.exited = true;
        task.lift_pending
    });
    trap_if(lift_pending, Trap::NoAsyncResult);
    with(|s| {
        s.end_thread(t);
        s.maybe_delete(t);
    });
}

/// Calls task `t`'s callback with its next event, and acts on the code
/// it returns.
fn call_callback(t: Id, set: Option<Id>) {
    let (instance, ev) = with(|s| {
        let ev = s.next_event(t, set, true).unwrap_or((event::NONE, 0, 0));
        (s.task(t).instance, ev)
    });
    let prev = switch(Thread::Task(t));
    with(|s| s.enter(instance));
    dispatch(t, Dispatch::Callback, prev, ev, None);
}

/// Acts on what a callback-lifted task returned (wasmtime's
/// `handle_callback_code`).
fn on_callback_code(t: Id, code: u32) {
    match code & 0xf {
        callback::EXIT => exit_task(t),
        callback::YIELD => {
            let may_block = with(|s| {
                let task = s.task(t);
                if task.own_event.is_none() {
                    task.own_event = Some(event::NONE);
                }
                task.may_block()
            });
            if may_block {
                with(|s| s.push_low(Work::Deliver { task: t, set: None }));
            } else {
                call_callback(t, None);
            }
        }
        callback::WAIT => {
            let may_block = with(|s| s.task(t).may_block());
            trap_if(!may_block, Trap::CannotBlockSyncTask);
            check(with(|s| {
                let (instance, thread, has_event) = {
                    let task = s.task(t);
                    (task.instance, task.thread, task.own_event.is_some())
                };
                let set = s.set_handle(instance, code >> 4)?;
                if has_event || !s.set(set).ready.is_empty() {
                    s.push_high(Work::Deliver {
                        task: t,
                        set: Some(set),
                    });
                } else {
                    s.set(set).waiting.insert(thread, Waiter::Callback(t));
                    s.task(t).wake_on_cancel = Some(set);
                }
                Ok(())
            }));
        }
        _ => glue::raise(Trap::UnsupportedCallbackCode),
    }
}

/// Blocks the running thread until subtask `t` has a new event, running
/// other work meanwhile (the caller's fiber suspended on its sync-call set).
fn wait_for_subtask(t: Id) -> u32 {
    await_event(Waitable::Guest(t))
}

// ---------------------------------------------------------------------
// FACT's async adapters

/// `[prepare-call]`: a new task for the call `call` from `caller_instance`
/// into `callee_instance`; the glue then stores the lowered parameters in
/// [`params`]. A sync caller of an async-typed function must be allowed to
/// block (wasmtime's `prepare_call`: `CannotBlockSyncTask`).
pub fn prepare_call(
    call: Call,
    caller_instance: u32,
    callee_instance: u32,
    sync_caller: bool,
) -> Id {
    if sync_caller && call.async_function {
        trap_if(!glue::task_may_block(), Trap::CannotBlockSyncTask);
    }
    check(with(|s| {
        let t = s.new_task(callee_instance, call, Some(caller_instance))?;
        s.prepared = Some(t);
        Ok(t)
    }))
}

/// The task the last [`prepare_call`] made (FACT calls `[start-call]` right
/// after `[prepare-call]`).
fn take_prepared() -> Id {
    with(|s| s.prepared.take()).expect("`[start-call]` follows `[prepare-call]`")
}

/// `async [start-call]` of the task just prepared.
pub fn async_start_prepared() -> u32 {
    async_start(take_prepared())
}

/// `sync [start-call]` of the task just prepared, or of the task whose
/// caller suspended in it (a rewind).
pub fn sync_start_prepared() -> u64 {
    if let Some(frame) = fiber::resumed() {
        let w = with(|s| s.frames.last().and_then(|f| f.waits_on));
        // A rewind re-enters the built-in that suspended: this one, whose
        // frame `sync_start_from` made with `wait_for_event(Guest(t))`.
        let Some(Waitable::Guest(t)) = w else {
            unreachable!("a suspended sync start waits on its subtask")
        };
        let ev = finish_wait(frame);
        return sync_start_from(t, Some(ev));
    }
    sync_start(take_prepared())
}

/// Where the glue stores task `t`'s lowered parameters (17 slots of 8
/// bytes, the retptr last).
pub fn params(t: Id) -> *mut u64 {
    with(|s| s.task(t).params.as_mut_ptr())
}

/// `async [start-call]`: starts prepared task `t` for an async caller and
/// returns the packed status (`RETURNED`, or `STARTING` / `STARTED` with a
/// new subtask handle in the caller's table, `handle << 4 | status`).
pub fn async_start(t: Id) -> u32 {
    with(|s| s.push_high(Work::Start(t)));
    let ev = wait_for_subtask(t);
    with(|s| {
        let task = s.task(t);
        if ev == status::RETURNED {
            task.common.terminal_delivered = true;
            task.released = true;
            s.maybe_delete(t);
            return status::RETURNED;
        }
        let caller = task.caller_instance.expect("an inner caller");
        let h = check(
            s.instance(caller)
                .handles
                .insert(Handle::Subtask(Waitable::Guest(t))),
        );
        s.task(t).common.handle = Some(h);
        h << 4 | ev
    })
}

/// `sync [start-call]`: starts prepared task `t` for a sync caller, blocks
/// until it returns and gives its one flat result (if any).
pub fn sync_start(t: Id) -> u64 {
    with(|s| s.push_high(Work::Start(t)));
    sync_start_from(t, None)
}

/// The rest of [`sync_start`], from subtask event `ev` when the caller
/// was resumed with one. The caller may suspend: the result is then
/// meaningless (the glue unwinds).
fn sync_start_from(t: Id, mut ev: Option<u32>) -> u64 {
    loop {
        let e = match ev.take() {
            Some(e) => e,
            None => match wait_for_event(Waitable::Guest(t)) {
                Some(e) => e,
                None => return 0,
            },
        };
        if e == status::RETURNED {
            break;
        }
    }
    with(|s| {
        let task = s.task(t);
        task.common.terminal_delivered = true;
        task.released = true;
        let r = task.result;
        s.maybe_delete(t);
        r
    })
}

/// Called by the start glue once `[async-start]` has lowered the
/// parameters into the callee: the caller sees STARTED.
pub fn started(t: Id) {
    with(|s| {
        s.task(t).lower_pending = false;
        s.set_event(Waitable::Guest(t), status::STARTED);
    });
}

/// Called by the glue when a sync-lifted callee (started by an async
/// lower) has returned: the instance is left and the results are lowered
/// as the caller (`[async-return]` follows).
pub fn sync_callee_returned(t: Id) {
    let (instance, caller) = with(|s| {
        let task = s.task(t);
        task.lift_pending = false;
        (task.instance, task.caller)
    });
    with(|s| s.leave(instance));
    switch(caller);
}

/// Called by the glue after `[async-return]` and post-return of a
/// sync-lifted callee: the task returned.
pub fn sync_callee_done(t: Id) {
    switch(Thread::Task(t));
    complete(t, status::RETURNED);
}

/// Stores a sync caller's one flat result (by the `[async-return]` glue).
pub fn set_result(t: Id, value: u64) {
    with(|s| s.task(t).result = value);
}

/// The task resolved: its caller sees `st` (wasmtime's `task_complete`).
fn complete(t: Id, st: u32) {
    with(|s| s.set_event(Waitable::Guest(t), st));
}

// ---------------------------------------------------------------------
// Task built-ins

/// `task.return` begins: checks the running task may return with
/// signature `sig` (and `memory` plus one, 0 when `task.return` names no
/// memory; wasmtime's `task_return`) and switches to its caller's thread for
/// `[async-return]`. Returns the task (the glue finds the adapter by
/// [`adapter_of`]).
pub fn task_return_begin(sig: u32, memory: u32) -> Id {
    let (t, caller) = check(with(|s| {
        let t = current_task(s)?;
        let task = s.task(t);
        if !task.lift_pending {
            return Err(Trap::TaskCancelOrReturnTwice);
        }
        task.lift_pending = false;
        if task.call.return_sig != sig || (memory != 0 && memory != task.call.return_memory) {
            return Err(Trap::TaskReturnInvalid);
        }
        Ok((t, task.caller))
    }));
    switch(caller);
    t
}

/// `task.return` ends: back on the task's thread, the task returned.
pub fn task_return_end(t: Id) {
    switch(Thread::Task(t));
    complete(t, status::RETURNED);
}

/// Whether task `t` has neither returned nor been cancelled: at the end of
/// its first activation, its borrow scope is then parked.
pub fn lift_pending(t: Id) -> bool {
    with(|s| s.task(t).lift_pending)
}

/// Task `t`'s borrow scope was parked as `scope` (the resource runtime's).
pub fn set_scope(t: Id, scope: u32) {
    with(|s| s.task(t).scope = Some(scope));
}

/// Takes the running task's parked borrow scope, if any (`task.return` and
/// `task.cancel` end it).
pub fn take_scope() -> Option<u32> {
    with(|s| match s.current {
        Thread::Task(t) => s.task(t).scope.take(),
        _ => None,
    })
}

/// The adapter of task `t`.
pub fn adapter_of(t: Id) -> u32 {
    with(|s| s.task(t).call.adapter)
}

/// `task.cancel`.
pub fn task_cancel() {
    let t = check(with(|s| {
        let t = current_task(s)?;
        let task = s.task(t);
        if !task.cancel_sent {
            return Err(Trap::TaskCancelNotCancelled);
        }
        if !task.lift_pending {
            return Err(Trap::TaskCancelOrReturnTwice);
        }
        task.lift_pending = false;
        Ok(t)
    }));
    complete(t, status::RETURN_CANCELLED);
}

/// `backpressure.inc` / `backpressure.dec` of `instance`: a `u16` that
/// traps on over- and underflow; at 0 the calls waiting to enter go on.
pub fn backpressure(instance: u32, increment: bool) {
    check(with(|s| {
        let inst = s.instance(instance);
        let bp = if increment {
            inst.backpressure.checked_add(1)
        } else {
            inst.backpressure.checked_sub(1)
        };
        inst.backpressure = bp.ok_or(Trap::BackpressureOverflow)?;
        if bp == Some(0) {
            s.release_pending(instance);
        }
        Ok(())
    }))
}

/// `thread.yield`: lets other work run (when the task may block) and
/// returns 1 if the task was cancelled (only when `cancellable`).
pub fn thread_yield(cancellable: bool) -> u32 {
    let take_cancel = |s: &mut State, t: Id| {
        let task = s.task(t);
        if cancellable && task.own_event == Some(event::TASK_CANCELLED) {
            task.own_event = None;
            return true;
        }
        false
    };
    if let Some(frame) = fiber::resumed() {
        // Resumed after suspending in the yield below.
        pop_frame(frame);
        let t = check(with(current_task));
        return u32::from(with(|s| {
            s.task(t).yield_cancellable = false;
            take_cancel(s, t)
        }));
    }
    // The callee of a sync→sync call has no task of its own here (wasmtime
    // makes one on demand): it yields if it may block, and is never
    // cancelled.
    if matches!(with(|s| s.current), Thread::Sync(_)) {
        if glue::task_may_block() {
            yield_now(false);
        }
        return 0;
    }
    let (t, may_block) = check(with(|s| {
        let t = current_task(s)?;
        Ok((t, s.task(t).may_block()))
    }));
    if with(|s| take_cancel(s, t)) {
        return 1;
    }
    if may_block {
        with(|s| s.task(t).yield_cancellable = cancellable);
        if yield_now(true) {
            return 0;
        }
        with(|s| s.task(t).yield_cancellable = false);
    }
    u32::from(with(|s| take_cancel(s, t)))
}

/// Lets the work queued so far run before the running thread goes on;
/// whether the task suspended instead (only when `may_suspend`; see
/// [`crate::fiber`]).
fn yield_now(may_suspend: bool) -> bool {
    let frame = push_frame();
    with(|s| s.push_low(Work::Resume(frame)));
    if may_suspend && fiber::suspend(frame) {
        return true;
    }
    run_until(frame);
    pop_frame(frame);
    false
}

/// `context.get i32 n`.
pub fn context_get(n: u32) -> u32 {
    with(|s| s.context[n as usize])
}

/// `context.set i32 n`.
pub fn context_set(n: u32, value: u32) {
    with(|s| s.context[n as usize] = value);
}

/// `enter-sync-call`: a sync→sync adapter's callee starts with fresh zero
/// context slots.
pub fn enter_sync_call() {
    let depth = with(|s| {
        s.sync_calls.push(SyncCall {
            outer: s.current,
            context: [0; 2],
            may_block: false,
            task: None,
        });
        s.sync_calls.len() as u32 - 1
    });
    let may_block = glue::task_may_block();
    with(|s| s.sync_calls[depth as usize].may_block = may_block);
    switch(Thread::Sync(depth));
}

/// `exit-sync-call`: the caller's context slots come back.
pub fn exit_sync_call() {
    let outer = with(|s| s.sync_calls.last().expect("a sync call").outer);
    switch(outer);
    with(|s| {
        if let Some(t) = s.sync_calls.pop().and_then(|c| c.task) {
            s.end_thread(t);
            s.store.remove(t);
        }
    });
}

// ---------------------------------------------------------------------
// Waitables

/// `waitable-set.new` in `instance`: the new set's handle.
pub fn waitable_set_new(instance: u32) -> u32 {
    check(with(|s| {
        let set = s.store.insert(Entity::Set(Set {
            instance,
            ..Set::default()
        }))?;
        s.instance(instance).handles.insert(Handle::Set(set))
    }))
}

/// `waitable-set.drop`.
pub fn waitable_set_drop(instance: u32, h: u32) {
    check(with(|s| {
        let set = s.set_handle(instance, h)?;
        s.instance(instance).handles.remove(h);
        let st = s.set(set);
        if !st.waiting.is_empty() {
            return Err(Trap::WaitableSetDropHasWaiters);
        }
        if st.members > 0 {
            return Err(Trap::SetHasMembers);
        }
        s.store.remove(set);
        Ok(())
    }))
}

/// `waitable.join`: moves waitable `w` into set `set` (0: out of any set);
/// a pending event makes it ready there at once.
pub fn waitable_join(instance: u32, w: u32, set: u32) {
    check(with(|s| {
        let waitable = s.waitable_handle(instance, w)?;
        let new = if set == 0 {
            None
        } else {
            Some(s.set_handle(instance, set)?)
        };
        join(s, waitable, new);
        Ok(())
    }))
}

pub(crate) fn join(s: &mut State, w: Waitable, new: Option<Id>) {
    if let Some(old) = s.common(w).set.take() {
        let old = s.set(old);
        old.members -= 1;
        old.ready.remove(&w);
    }
    if let Some(new) = new {
        s.set(new).members += 1;
        let common = s.common(w);
        common.set = Some(new);
        if let Some(ev) = common.event {
            s.set_event(w, ev);
        }
    }
}

/// `waitable-set.wait`: blocks until the running task or the set has an
/// event; returns the event code, with handle and payload in
/// [`event_out`].
pub fn waitable_set_wait(instance: u32, h: u32, cancellable: bool) -> u32 {
    let resumed = fiber::resumed();
    if resumed.is_none() {
        trap_if(!glue::task_may_block(), Trap::CannotBlockSyncTask);
    }
    let (t, set) = check(with(|s| Ok((waiting_task(s)?, s.set_handle(instance, h)?))));
    if let Some(frame) = resumed {
        end_set_wait(t, frame);
    }
    loop {
        if let Some(ev) = with(|s| take_event_out(s, t, set, cancellable)) {
            return ev;
        }
        let frame = push_frame();
        with(|s| {
            let task = s.task(t);
            let thread = task.thread;
            if cancellable {
                // `subtask.cancel` wakes it with TASK_CANCELLED.
                task.wake_on_cancel = Some(set);
            }
            s.set(set).waiting.insert(thread, Waiter::Frame(frame));
        });
        if fiber::suspend(frame) {
            return 0;
        }
        run_until(frame);
        end_set_wait(t, frame);
    }
}

/// Task `t`'s wait on a set at frame `frame` (resumed) is over.
fn end_set_wait(t: Id, frame: u32) {
    pop_frame(frame);
    with(|s| s.task(t).wake_on_cancel = None);
}

/// `waitable-set.poll`: the event if there is one, else `NONE`.
pub fn waitable_set_poll(instance: u32, h: u32, cancellable: bool) -> u32 {
    let (t, set) = check(with(|s| Ok((waiting_task(s)?, s.set_handle(instance, h)?))));
    with(|s| {
        take_event_out(s, t, set, cancellable).unwrap_or_else(|| {
            s.event_out = [0, 0];
            event::NONE
        })
    })
}

fn take_event_out(s: &mut State, t: Id, set: Id, cancellable: bool) -> Option<u32> {
    let (code, handle, payload) = s.next_event(t, Some(set), cancellable)?;
    s.event_out = [handle, payload];
    Some(code)
}

/// Where `waitable-set.wait` / `poll` leave the event's handle and payload
/// (two `u32`s) for the glue to copy into guest memory.
pub fn event_out() -> *const u32 {
    with(|s| s.event_out.as_ptr())
}

/// `subtask.drop`: traps unless the subtask resolved and its last event
/// was delivered.
pub fn subtask_drop(instance: u32, h: u32) {
    let host: Option<u32> = check(with(|s| {
        let w = s.subtask_handle(instance, h)?;
        join(s, w, None);
        s.instance(instance).handles.remove(h);
        let t = match w {
            Waitable::Guest(t) => t,
            Waitable::Host(id) => {
                let Some(Entity::HostTask(ht)) = s.store.get(id) else {
                    unreachable!("host subtask {id} is live")
                };
                let ht = *ht;
                // Resolved, and its terminal status delivered.
                if !ht.common.terminal_delivered || ht.common.event.is_some() {
                    return Err(Trap::SubtaskDropNotResolved);
                }
                s.store.remove(id);
                s.host_tasks.remove(&ht.host);
                return Ok(Some(ht.host));
            }
            // `subtask_handle` returned it: only `Handle::Subtask` holds a
            // `Host` or `Guest` waitable, never an end.
            Waitable::End(_) => unreachable!("a subtask handle"),
        };
        let task = s.task(t);
        if task.lift_pending || task.common.event.is_some() {
            return Err(Trap::SubtaskDropNotResolved);
        }
        task.released = true;
        s.maybe_delete(t);
        Ok(None)
    }));
    if let Some(host) = host {
        glue::drop_host_subtask(host);
    }
}

/// `subtask.cancel` of a host subtask: the host's `subtask.cancel`.
fn cancel_host(id: Id, async_: bool) -> u32 {
    let (host, done) = with(|s| {
        let Some(Entity::HostTask(ht)) = s.store.get(id) else {
            unreachable!("host subtask {id} is live")
        };
        (ht.host, ht.common.terminal_delivered)
    });
    trap_if(done, Trap::SubtaskCancelAfterTerminal);
    // The wrapper's sync `subtask.cancel` traps on a subtask in a set:
    // it leaves the host set first.
    glue::join_host(host, 0);
    let st = glue::cancel_host_subtask(host, async_);
    if st != BLOCKED {
        with(|s| {
            let c = s.common(Waitable::Host(id));
            c.event = None;
            c.terminal_delivered = true;
        });
    }
    st
}

/// `subtask.cancel` (sync, or async when `async_`): returns the terminal
/// status, `START_CANCELLED` for a call that had not started, or `BLOCKED`
/// (async only) when the callee has not resolved yet.
pub fn subtask_cancel(instance: u32, h: u32, async_: bool) -> u32 {
    if !async_ {
        trap_if(!glue::task_may_block(), Trap::CannotBlockSyncTask);
    }
    let w = check(with(|s| {
        let w = s.subtask_handle(instance, h)?;
        if !async_ && s.common(w).set.is_some() {
            return Err(Trap::WaitableSyncAndAsync);
        }
        Ok(w)
    }));
    let t = match w {
        Waitable::Guest(t) => t,
        Waitable::Host(id) => return cancel_host(id, async_),
        // `subtask_handle` returned it: never an end (see `subtask_drop`).
        Waitable::End(_) => unreachable!("a subtask handle"),
    };
    let (lower_pending, lift_pending) = with(|s| {
        let task = s.task(t);
        (task.lower_pending, task.lift_pending)
    });
    if lower_pending {
        let found = with(|s| {
            let task = s.task(t);
            task.lower_pending = false;
            task.lift_pending = false;
            task.exited = true;
            s.end_thread(t);
            s.unqueue(t)
        });
        trap_if(!found, Trap::SubtaskCancelAfterTerminal);
        return status::START_CANCELLED;
    }
    if !lift_pending {
        return cancel_finish(t);
    }
    let woken = with(|s| {
        let task = s.task(t);
        task.cancel_sent = true;
        task.own_event = Some(event::TASK_CANCELLED);
        let thread = task.thread;
        if task.yield_cancellable {
            // Its resumption is queued: the caller's yield lets it run.
            return Some(());
        }
        let set = task.wake_on_cancel.take()?;
        let item = match s.set(set).waiting.remove(&thread) {
            // A frame in a cancellable `waitable-set.wait`.
            Some(Waiter::Frame(f)) => Work::Resume(f),
            _ => Work::Deliver { task: t, set: None },
        };
        s.push_high(item);
        Some(())
    });
    // The caller yields so that the callee sees its cancellation.
    if woken.is_some() {
        // Not a blocker of the unwind pass: never suspends.
        yield_now(false);
    }
    cancel_after_yield(t, async_)
}

/// [`subtask_cancel`] of guest subtask `t` after the caller's yield: the
/// terminal status, or BLOCKED (async) or a wait (sync) while the callee
/// has not resolved.
fn cancel_after_yield(t: Id, async_: bool) -> u32 {
    if !with(|s| s.task(t).lift_pending) {
        return cancel_finish(t);
    }
    if async_ {
        return BLOCKED;
    }
    // A sync cancel waits for the callee to resolve, in a nested loop:
    // `subtask.cancel` is not one of the unwind pass's blockers (Rust
    // guests cancel in destructors, which would put most of their code on
    // paths to it; see ASYNC.md).
    loop {
        let e = wait_for_subtask(t);
        if e >= status::RETURNED {
            with(|s| s.task(t).common.event = Some(e));
            break;
        }
    }
    cancel_finish(t)
}

/// The terminal status of guest subtask `t`, delivered by `subtask.cancel`.
fn cancel_finish(t: Id) -> u32 {
    let ev = with(|s| s.take_event(Waitable::Guest(t)));
    match ev {
        Some(st @ (status::RETURNED | status::RETURN_CANCELLED)) => {
            with(|s| s.task(t).common.terminal_delivered = true);
            st
        }
        _ => glue::raise(Trap::SubtaskCancelAfterTerminal),
    }
}
