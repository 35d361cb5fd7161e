//! The outer boundary: the host's calls into the fused module and the
//! host's subtasks.
//!
//! The host sees one component instance where wasmtime ran several, so it
//! sees only the host-level tasks ("roots"): each outer call lifted with a
//! callback (the host drives it through the wrapper's callback) and each
//! sync call into an export. Inner work of any root may run while the host
//! runs any root, except the start and callbacks of a host-driven task:
//! its `task.return` is the wrapper's, which applies to the host's current
//! task, so they run only in that task's own callback. When such a call
//! comes first in the queue, the running root hands over: it wakes that
//! task and YIELDs to the host (wasmtime would run that call next).
//!
//! A root that waits on the host waits on a waitable set of the wrapper of
//! its own, its port (several roots waiting on one set would take each
//! other's events): the host subtasks its calls began, and an element-less
//! stream of the wrapper through which another root wakes it (a read, then
//! a write: the read completes at once and the host delivers STREAM_READ
//! to the waiting callback). Never a loop on `poll`.

use crate::codes::{callback, event, status};
use crate::driver::{check, current_task, exit_task, run_all, switch};
use crate::glue;
use crate::state::{
    Call, Common, Entity, Handle, HostTask, Id, Port, Root, State, Stop, Thread, Waitable,
};
use crate::with;
use alloc::vec::Vec;

/// The host calls an export of `instance` lifted with the sync ABI (of a
/// function typed `async` when `async_function`): the call runs as a task
/// of its own, which may block when async-typed.
pub fn host_call_begin(instance: u32, async_function: bool) -> Id {
    let call = Call {
        adapter: u32::MAX,
        async_function,
        callback: false,
        return_sig: u32::MAX,
        return_memory: 0,
    };
    let t = check(with(|s| {
        let t = s.new_task(instance, call, None)?;
        let task = s.task(t);
        task.lower_pending = false;
        task.released = true;
        Ok(t)
    }));
    with(|s| enter_root(s, t, false));
    switch(Thread::Task(t));
    t
}

/// The host's call of [`host_call_begin`] returned (and its post-return
/// ran, in the task): the running task is done, the host thread runs again.
pub fn host_call_end() {
    let t = check(with(current_task));
    with(|s| s.task(t).lift_pending = false);
    switch(Thread::Host);
    exit_task(t);
    wake_others();
    release_root(t);
    with(|s| s.roots.pop());
}

/// The host calls an export of `instance` lifted with the async ABI and a
/// callback: a task for it (its glue is `adapter`'s), whose `task.return`
/// must have signature `return_sig` (and `return_memory`). The entry then
/// stores the parameters ([`crate::driver::params`]) and runs it
/// ([`outer_run`]).
pub fn outer_start(instance: u32, adapter: u32, return_sig: u32, return_memory: u32) -> Id {
    let call = Call {
        adapter,
        async_function: true,
        callback: true,
        return_sig,
        return_memory,
    };
    check(with(|s| {
        let t = s.new_task(instance, call, None)?;
        s.task(t).released = true;
        Ok(t)
    }))
}

/// Starts outer task `t` and runs inner work; returns the callback code
/// for the host ([`drive`]).
pub fn outer_run(t: Id) -> u32 {
    with(|s| {
        enter_root(s, t, true);
        s.host_turn = true;
        s.push_high(crate::state::Work::Start(t));
    });
    drive(t)
}

/// The host called outer task `t`'s callback with an event (of a host
/// subtask, or its wakeup): inner work runs; returns the callback code.
pub fn outer_drive(t: Id, event: u32, handle: u32, payload: u32) -> u32 {
    with(|s| {
        enter_root(s, t, true);
        s.host_turn = true;
    });
    host_event(event, handle, payload);
    if event == event::NONE {
        // Called back after a YIELD: the host's events for this root's
        // port that came meanwhile (it was not waiting on it).
        poll_port(t);
    }
    drive(t)
}

/// Runs inner work for root `t` until none is left that it may run, wakes
/// the roots whose calls are queued, and tells the host what `t` does
/// next ([`outer_code`]).
fn drive(t: Id) -> u32 {
    let stop = run_all();
    let code = outer_code(t, stop);
    wake_others();
    with(|s| s.roots.pop());
    code
}

/// What outer task `t` tells the host when it may run nothing more now:
/// EXIT once it has exited; YIELD when another host-driven task's call
/// comes first or the host should have a turn (`stop`); else WAIT on its
/// port: its host subtasks may resolve, and another root (one the host
/// has not even called yet) may wake it. Only the host knows when nothing
/// can happen any more: wasmtime then reports the deadlock as it does for
/// the composition. A task that has returned, with no host subtask of its
/// port pending, exits: the host has its result.
fn outer_code(t: Id, stop: Stop) -> u32 {
    let (gone, lift_pending) = with(|s| match s.store.get(t) {
        Some(Entity::Task(task)) if !task.exited => (false, task.lift_pending),
        _ => (true, false),
    });
    if gone {
        release_root(t);
        return callback::EXIT;
    }
    if stop != Stop::Idle {
        return callback::YIELD;
    }
    let pending = with(|s| {
        s.outer
            .get(&t)
            .and_then(|r| r.port)
            .is_some_and(|p| host_pending(s, p))
    });
    if !pending && !lift_pending {
        release_root(t);
        return callback::EXIT;
    }
    let set = port_set(port_of(t));
    with(|s| {
        if let Some(r) = s.outer.get_mut(&t) {
            r.waiting = true;
        }
    });
    callback::WAIT | set << 4
}

/// Takes every event ready in root `t`'s port (one `waitable-set.poll`
/// each, and one that finds none).
fn poll_port(t: Id) {
    let Some(p) = with(|s| s.outer.get(&t).and_then(|r| r.port)) else {
        return;
    };
    while with(|s| host_pending(s, p)) {
        let (code, handle, payload) = glue::poll_host(port_set(p));
        if code == event::NONE {
            break;
        }
        host_event(code, handle, payload);
    }
}

/// `t` becomes the running root (a live one, when new).
fn enter_root(s: &mut State, t: Id, driven: bool) {
    match s.outer.get_mut(&t) {
        Some(r) => r.waiting = false,
        None => {
            s.outer.insert(
                t,
                Root {
                    port: None,
                    driven,
                    waiting: false,
                },
            );
        }
    }
    s.roots.push(t);
}

/// Root `t` is done: its port is freed, its pending host subtasks first
/// moved to the port of a waiting root (whose callback then gets their
/// events); without one they stay, and the next root to take a port takes
/// that one (last freed first).
fn release_root(t: Id) {
    let Some(root) = with(|s| s.outer.remove(&t)) else {
        return;
    };
    let Some(port) = root.port else {
        return;
    };
    let heir = with(|s| {
        s.outer
            .iter()
            .find(|(_, r)| r.waiting)
            .and_then(|(_, r)| r.port)
    });
    if let Some(heir) = heir {
        let set = port_set(heir);
        for (id, host) in with(|s| pending_in(s, port)) {
            glue::join_host(host, set);
            with(|s| {
                if let Some(Entity::HostTask(ht)) = s.store.get_mut(id) {
                    ht.port = heir;
                }
            });
        }
    }
    with(|s| s.free_ports.push(port));
}

/// The port of root `t`, made (or taken from the free ones) on first use.
fn port_of(t: Id) -> u32 {
    if let Some(p) = with(|s| s.outer.get(&t).and_then(|r| r.port)) {
        return p;
    }
    let p = take_port();
    with(|s| {
        if let Some(r) = s.outer.get_mut(&t) {
            r.port = Some(p);
        }
    });
    p
}

/// A free port, or a new one (a new set of the wrapper).
fn take_port() -> u32 {
    if let Some(p) = with(|s| s.free_ports.pop()) {
        return p;
    }
    let set = glue::new_host_set();
    with(|s| {
        s.ports.push(Port { set, wake: None });
        (s.ports.len() - 1) as u32
    })
}

/// The port of the running root; outside any (instantiation), the free
/// port the next root takes.
fn current_port() -> u32 {
    match with(|s| s.roots.last().copied()) {
        Some(t) => port_of(t),
        None => {
            let p = take_port();
            with(|s| s.free_ports.push(p));
            p
        }
    }
}

fn port_set(p: u32) -> u32 {
    with(|s| s.ports[p as usize].set)
}

/// The host subtasks of port `p` not resolved yet: (id, host handle).
fn pending_in(s: &State, p: u32) -> Vec<(Id, u32)> {
    s.unresolved_host_tasks()
        .filter(|&(_, _, port)| port == p)
        .map(|(id, host, _)| (id, host))
        .collect()
}

/// Whether a host subtask of port `p` has not resolved yet.
fn host_pending(s: &State, p: u32) -> bool {
    s.unresolved_host_tasks().any(|(_, _, port)| port == p)
}

/// Wakes every waiting host-driven root whose start or callback is queued:
/// the host runs its callback once the running root returns to it.
fn wake_others() {
    for t in with(|s| s.bound_elsewhere()) {
        let waiting = with(|s| s.outer.get(&t).and_then(|r| r.port.filter(|_| r.waiting)));
        if let Some(p) = waiting {
            wake(t, p);
        }
    }
}

/// Wakes root `t`, waiting on port `p`: a read of the port's wakeup stream
/// (which blocks: no write is pending), then a write, which completes it;
/// the host delivers STREAM_READ to `t`'s callback.
fn wake(t: Id, p: u32) {
    let wake = match with(|s| s.ports[p as usize].wake) {
        Some(w) => w,
        None => {
            let ends = glue::new_wake_stream();
            let w = (ends as u32, (ends >> 32) as u32);
            glue::join_host(w.0, port_set(p));
            with(|s| s.ports[p as usize].wake = Some(w));
            w
        }
    };
    glue::read_wake(wake.0);
    glue::write_wake(wake.1);
    with(|s| {
        if let Some(r) = s.outer.get_mut(&t) {
            r.waiting = false;
        }
    });
}

/// No inner work is left while a frame of the stack waits: if a host
/// subtask of the running root's port has not resolved, the runtime blocks
/// in the host's `waitable-set.wait` on that set and takes the event it
/// gets (wasmtime's event loop waits on the host's futures alike). Whether
/// it waited.
pub(crate) fn wait_for_host() -> bool {
    let Some(t) = with(|s| s.roots.last().copied()) else {
        return false;
    };
    let Some(p) = with(|s| s.outer.get(&t).and_then(|r| r.port)) else {
        return false;
    };
    if !with(|s| host_pending(s, p)) {
        return false;
    }
    let (code, handle, payload) = glue::wait_host(port_set(p));
    host_event(code, handle, payload);
    true
}

/// A host subtask began: the wrapper's async lower of a host import,
/// called by `instance`, returned `status` (`RETURNED`, or `STARTING` /
/// `STARTED` with the host's handle). Returns the status the caller sees:
/// the same, with a handle of the caller's table. The host subtask joins
/// the running root's port.
pub fn host_subtask(instance: u32, status: u32) -> u32 {
    let (code, host) = (status & 0xf, status >> 4);
    if code == status::RETURNED {
        return status::RETURNED;
    }
    let port = current_port();
    let h = check(with(|s| {
        let id = s.store.insert(Entity::HostTask(HostTask {
            host,
            port,
            common: Common::default(),
        }))?;
        s.host_tasks.insert(host, id);
        let h = s
            .instance(instance)
            .handles
            .insert(Handle::Subtask(Waitable::Host(id)))?;
        s.common(Waitable::Host(id)).handle = Some(h);
        Ok(h)
    }));
    glue::join_host(host, port_set(port));
    h << 4 | code
}

/// The host delivered an event to a root: of one of its subtasks (it
/// becomes that subtask's event), or of a port's wakeup stream (nothing
/// to do: the root runs).
fn host_event(event: u32, host: u32, payload: u32) {
    if event != event::SUBTASK {
        return;
    }
    with(|s| {
        if let Some(&id) = s.host_tasks.get(&host) {
            s.set_event(Waitable::Host(id), payload);
        }
    });
}
