//! Tasks with stacks of their own: a task that blocks unwinds its wasm
//! stack into a buffer and goes on later by rewinding it (Meld's unwind
//! pass instrumented the fused module's functions between the glue's
//! dispatchers and the blocking built-ins; `guest/src/link/unwind/`).
//!
//! wasmtime runs each task on a fiber: a blocked task suspends and the
//! code that started it goes on. On one stack, the runtime calls a task's
//! code through a *dispatch* (`start`, `run_sync`, `callback` of the glue).
//! When a blocking built-in runs in the task of the innermost dispatch,
//! with nothing of the runtime's own between them (no nested loop), the
//! task suspends: the built-in moves its frame here, asks the glue to
//! unwind and returns; every instrumented function saves itself and
//! returns up to the dispatcher, whose caller in the runtime
//! ([`crate::driver`]) leaves the task suspended (still in its instance, as
//! a suspended fiber is). The frame's `Resume` later rewinds it: the
//! runtime dispatches the task again with the glue rewinding, and the
//! built-in, called again with its arguments, finds its frame
//! ([`resumed`]) and goes on as after a nested loop.
//!
//! Where the module was not instrumented (the pass declined it), or the
//! blocking task is not the innermost dispatch's (a sync→sync callee, a
//! call from the host, a nested loop between), the built-in runs a nested
//! loop as before.

use crate::glue;
use crate::state::{Frame, Id, State, Thread};
use crate::with;
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

/// The unwind pass's states (its `state` global).
pub const NORMAL: u32 = 0;
/// Unwinding: each instrumented function saves itself and returns.
pub const UNWINDING: u32 = 1;
/// Rewinding: each instrumented function reloads itself and re-enters the
/// call it left.
pub const REWINDING: u32 = 2;

/// Bytes of a suspended task's buffer: the records (locals and call site)
/// of the instrumented functions on its stack. An unwind that needs more
/// traps (`unreachable` in the function that finds no room).
const BUFFER_BYTES: usize = 64 * 1024;

/// How the runtime called a task's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dispatch {
    /// The first activation of a callback-lifted callee (glue `start`).
    Start,
    /// A sync-lifted callee of an async lower (glue `run_sync`).
    RunSync,
    /// A callback activation (glue `callback`).
    Callback,
}

/// A dispatch in progress.
#[derive(Clone, Copy, Debug)]
struct Active {
    task: Id,
    kind: Dispatch,
    /// `State::frames.len()` when it began.
    frames: usize,
}

/// A suspended task.
struct Suspended {
    task: Id,
    kind: Dispatch,
    /// The blocking built-in's frame, off the frame stack meanwhile.
    frame: Frame,
    /// `{cur, end}` then the records; its address is stable (boxed).
    buffer: Box<[u32]>,
}

/// The runtime's view of suspended tasks.
#[derive(Default)]
pub struct Fibers {
    /// Whether the fused module was instrumented (asked once).
    enabled: Option<bool>,
    active: Vec<Active>,
    suspended: Vec<Suspended>,
    /// An unwind started and not yet seen by its dispatch.
    unwinding: bool,
    /// A rewind in progress: the frame its built-in resumes, and the
    /// buffer it reads (freed when the built-in is reached).
    rewinding: Option<(u32, Box<[u32]>)>,
}

fn enabled() -> bool {
    if let Some(e) = with(|s| s.fibers.enabled) {
        return e;
    }
    let e = glue::unwind_enabled();
    with(|s| s.fibers.enabled = Some(e));
    e
}

/// The runtime is about to call task `t`'s code through dispatch `kind`.
pub fn begin(t: Id, kind: Dispatch) {
    with(|s| {
        // A rewind's frame is on the stack already: it is the task's own.
        let frames = s.frames.len() - usize::from(s.fibers.rewinding.is_some());
        s.fibers.active.push(Active {
            task: t,
            kind,
            frames,
        })
    });
}

/// The dispatch begun last returned; whether its task suspended (then the
/// glue is back to normal).
pub fn end() -> bool {
    let unwound = with(|s| {
        s.fibers.active.pop();
        core::mem::take(&mut s.fibers.unwinding)
    });
    if unwound {
        glue::unwind_set(NORMAL, 0);
    }
    unwound
}

/// Suspends the running task at frame `frame` (the top of the stack,
/// registered as a waiter) when it can: whether it did (the built-in then
/// returns at once, its result ignored).
pub fn suspend(frame: u32) -> bool {
    if !enabled() {
        return false;
    }
    let base = with(|s| {
        let Thread::Task(t) = s.current else {
            return None;
        };
        let a = *s.fibers.active.last()?;
        let on_top = s.frames.last().is_some_and(|f| f.id == frame);
        // A host-driven outer task's code runs only in its own host
        // callback (`crate::outer`): it is not suspended.
        let driven = s.outer.get(&t).is_some_and(|r| r.driven);
        if a.task != t || !on_top || s.frames.len() != a.frames + 1 || driven {
            return None;
        }
        let frame = s.frames.pop()?;
        let mut buffer = vec![0u32; BUFFER_BYTES / 4].into_boxed_slice();
        let base = buffer.as_mut_ptr() as usize as u32;
        buffer[0] = base + 8;
        buffer[1] = base + BUFFER_BYTES as u32;
        s.fibers.suspended.push(Suspended {
            task: t,
            kind: a.kind,
            frame,
            buffer,
        });
        s.fibers.unwinding = true;
        Some(base)
    });
    match base {
        Some(base) => {
            glue::unwind_set(UNWINDING, base);
            true
        }
        None => false,
    }
}

/// Whether frame `f` is a suspended task's.
pub fn is_suspended(s: &State, f: u32) -> bool {
    s.fibers.suspended.iter().any(|x| x.frame.id == f)
}

/// Takes suspended frame `f` back for a rewind: its frame goes on top of
/// the stack; the task, how it was dispatched and its buffer's address.
pub fn take_for_rewind(s: &mut State, f: u32) -> (Id, Dispatch, u32) {
    // The driver rewinds only a frame `is_suspended` found here.
    let i = s
        .fibers
        .suspended
        .iter()
        .position(|x| x.frame.id == f)
        .expect("a suspended frame");
    let x = s.fibers.suspended.swap_remove(i);
    s.frames.push(x.frame);
    let base = x.buffer.as_ptr() as usize as u32;
    s.fibers.rewinding = Some((f, x.buffer));
    (x.task, x.kind, base)
}

/// Called first by every built-in that may suspend: the frame it resumes
/// when this call is a rewind's (the glue is back to normal), else `None`.
pub fn resumed() -> Option<u32> {
    let r = with(|s| s.fibers.rewinding.take());
    r.map(|(f, buffer)| {
        glue::unwind_set(NORMAL, 0);
        drop(buffer);
        f
    })
}
