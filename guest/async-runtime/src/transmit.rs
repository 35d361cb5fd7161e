//! Streams and futures whose two ends live in inner component instances:
//! `stream.new` / `future.new`, reads and writes that meet (the second to
//! arrive completes, the first gets an event), cancellation, drops, and the
//! transfer of a readable end to another instance when FACT lowers a
//! `stream<T>` / `future<T>` value.
//!
//! The model is wasmtime 48's (`futures_and_streams.rs`: `TransmitState`,
//! `TransmitHandle`, `guest_read` / `guest_write`, `on_delivery`,
//! `host_drop_reader` / `host_drop_writer`, `lift_index_to_transmit`), which
//! is the spec's `SharedStreamImpl` / `SharedFutureImpl` (`definitions.py`)
//! with the differences the conformance tests pin down: a cancel after a
//! partial copy reports CANCELLED with the count, an end whose peer drops
//! while it is idle still gets a DROPPED event, and events of one set are
//! delivered by id.
//!
//! Element copies: only element-less `stream` and `future` are planned
//! today (the planner refuses a payload type), so a rendezvous transfers a
//! count and nothing else. An [`Offer`] keeps its address for the copies of
//! payload types.
//!
//! A type `ty` is `table << 1 | future`, with `table` wasmtime-environ's
//! `TypeStreamTableIndex` or `TypeFutureTableIndex`: one per type and inner
//! instance, whose handle table holds its ends ([`State::transmit_tables`]).

use crate::codes::{BLOCKED, MAX_HANDLE, Trap, copy, event};
use crate::driver::{check, join, trap_if};
use crate::glue;
use crate::state::{Common, EndState, Entity, Handle, Id, State, Waitable};
use crate::with;

/// A read or write waiting for the other side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offer {
    /// Elements still wanted (or offered).
    pub count: u32,
    /// Where the next element goes (or comes from) in the guest's memory.
    pub addr: u32,
}

/// What one side of a stream or future does (wasmtime's `ReadState` /
/// `WriteState`, guest cases).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Open,
    Ready(Offer),
    Dropped,
}

/// The state the two ends share (wasmtime's `TransmitState`).
#[derive(Debug)]
pub struct Transmit {
    pub future: bool,
    pub write_end: Id,
    pub read_end: Id,
    pub write: Side,
    pub read: Side,
    /// A future's value went across, or its write saw the reader dropped.
    pub done: bool,
}

/// One end (wasmtime's `TransmitHandle`): a waitable with one event slot.
#[derive(Debug)]
pub struct End {
    pub common: Common,
    pub transmit: Id,
    /// This end reads.
    pub readable: bool,
    /// Its type now (a readable end passed to another instance changes
    /// type).
    pub ty: u32,
    /// The code of the event in `common.event` (STREAM_READ …
    /// FUTURE_WRITE).
    pub event_code: u32,
    /// That event reports the result of this end's pending operation
    /// (wasmtime's `pending: Some`): its delivery ends the operation.
    pub op_event: bool,
}

/// Whether `ty` is a future type.
pub fn is_future(ty: u32) -> bool {
    ty & 1 != 0
}

/// `copy(n)`: the payload of a completed copy of `n` elements (0 for
/// futures, which report no count).
fn completed(future: bool, n: u32) -> u32 {
    if future {
        copy::COMPLETED
    } else {
        n << 4 | copy::COMPLETED
    }
}

fn transmit(s: &mut State, id: Id) -> &mut Transmit {
    match s.store.get_mut(id) {
        Some(Entity::Transmit(t)) => t,
        // Callers pass an end's `transmit`, freed only with both ends
        // (`drop_end`, `Side::Dropped`), after which no handle names it.
        _ => unreachable!("transmit {id} is live"),
    }
}

fn end(s: &mut State, id: Id) -> &mut End {
    match s.store.get_mut(id) {
        Some(Entity::End(e)) => e,
        // Callers pass an id from a live `Handle::End` or a live transmit's
        // ends: ends are freed only with their transmit.
        _ => unreachable!("end {id} is live"),
    }
}

/// The instance whose table holds ends of type `ty`.
fn table_of(s: &State, ty: u32) -> Result<u32, Trap> {
    s.transmit_tables
        .get(ty as usize)
        .copied()
        .filter(|&i| i != u32::MAX)
        .ok_or(Trap::WrongHandleKind)
}

/// Registers the instance of type `ty`'s table (at initialisation).
pub fn register_table(ty: u32, instance: u32) {
    with(|s| {
        let at = ty as usize;
        if s.transmit_tables.len() <= at {
            s.transmit_tables.resize(at + 1, u32::MAX);
        }
        s.transmit_tables[at] = instance;
    });
}

/// Handle `h` of type `ty`: its instance, end and local state.
fn lookup(s: &mut State, ty: u32, h: u32) -> Result<(u32, Id, EndState), Trap> {
    let i = table_of(s, ty)?;
    match s.handle(i, h)? {
        Handle::End { end, ty: t, state } if t == ty => Ok((i, end, state)),
        _ => Err(Trap::WrongHandleKind),
    }
}

fn set_local(s: &mut State, instance: u32, h: u32, new: EndState) {
    if let Some(Handle::End { state, .. }) = s.instance(instance).handles.get_mut(h) {
        *state = new;
    }
}

/// Sets end `e`'s event (wasmtime's `set_event` on a `TransmitHandle`).
fn set_event(s: &mut State, e: Id, code: u32, payload: u32, op: bool) {
    let en = end(s, e);
    en.event_code = code;
    en.op_event = op;
    s.set_event(Waitable::End(e), payload);
}

/// Reports a drop to end `e`, merged with an event not delivered yet
/// (wasmtime's `update_event`): a future keeps its old event, a stream's
/// count stays with the code DROPPED.
fn update_dropped(s: &mut State, e: Id, code: u32, op: bool) {
    let old_op = end(s, e).op_event;
    let old_code = end(s, e).event_code;
    let (code, payload, op) = match s.take_event(Waitable::End(e)) {
        None => (code, copy::DROPPED, op),
        Some(old) if is_future(end(s, e).ty) => (old_code, old, old_op),
        Some(old) => (old_code, old & !0xf | copy::DROPPED, old_op || op),
    };
    set_event(s, e, code, payload, op);
}

/// The event of end `e` (payload `payload`, just taken from its slot) is
/// delivered: if it reports the end's operation, the operation is over
/// (wasmtime's `on_delivery`). Returns the event's code.
pub fn deliver(s: &mut State, e: Id, payload: u32) -> u32 {
    let en = end(s, e);
    let code = en.event_code;
    if !core::mem::take(&mut en.op_event) {
        return code;
    }
    let (ty, handle, readable, tid) = (en.ty, en.common.handle, en.readable, en.transmit);
    let done = payload & 0xf == copy::DROPPED;
    if let (Some(h), Ok(i)) = (handle, table_of(s, ty)) {
        let state = if readable {
            EndState::Read { done }
        } else {
            EndState::Write { done }
        };
        set_local(s, i, h, state);
    }
    if !is_future(ty) {
        let t = transmit(s, tid);
        *(if readable { &mut t.read } else { &mut t.write }) = Side::Open;
    }
    code
}

/// The event codes of a read and a write end.
fn codes(future: bool) -> (u32, u32) {
    if future {
        (event::FUTURE_READ, event::FUTURE_WRITE)
    } else {
        (event::STREAM_READ, event::STREAM_WRITE)
    }
}

/// `stream.new` / `future.new` of type `ty`: a new stream or future, its
/// readable end first in the table; returns `write << 32 | read`.
pub fn new(ty: u32) -> u64 {
    check(with(|s| {
        let future = is_future(ty);
        let instance = table_of(s, ty)?;
        let tid = s.store.insert(Entity::Transmit(Transmit {
            future,
            write_end: 0,
            read_end: 0,
            write: Side::Open,
            read: Side::Open,
            done: false,
        }))?;
        let end_of = |readable: bool| {
            Entity::End(End {
                common: Common::default(),
                transmit: tid,
                readable,
                ty,
                event_code: 0,
                op_event: false,
            })
        };
        // wasmtime's `new_transmit`: the state, the write end, the read end.
        let w = s.store.insert(end_of(false))?;
        let r = s.store.insert(end_of(true))?;
        let t = transmit(s, tid);
        t.write_end = w;
        t.read_end = r;
        let handles = &mut s.instance(instance).handles;
        let ri = handles.insert(Handle::End {
            end: r,
            ty,
            state: EndState::Read { done: false },
        })?;
        let wi = handles.insert(Handle::End {
            end: w,
            ty,
            state: EndState::Write { done: false },
        })?;
        end(s, r).common.handle = Some(ri);
        end(s, w).common.handle = Some(wi);
        Ok(u64::from(wi) << 32 | u64::from(ri))
    }))
}

/// `stream.read` / `stream.write` / `future.read` / `future.write` of
/// `count` elements at `addr` through handle `h` of type `ty` (`write`:
/// a write); sync unless `async_`. Returns `count << 4 | code`, or
/// [`BLOCKED`] (async only).
pub fn copy(ty: u32, h: u32, addr: u32, count: u32, write: bool, async_: bool) -> u32 {
    trap_if(count >= MAX_HANDLE, Trap::StreamOpTooBig);
    // wasmtime checks that the task may block before anything else.
    if !async_ {
        trap_if(!glue::task_may_block(), Trap::CannotBlockSyncTask);
    }
    let future = is_future(ty);
    let (instance, e, result) = check(with(|s| {
        let (instance, e, state) = lookup(s, ty, h)?;
        match (state, write) {
            (EndState::Write { done: true }, true) => return Err(Trap::WriteAfterDropped),
            (EndState::Read { done: true }, false) => return Err(Trap::ReadAfterDropped),
            (EndState::Write { .. }, true) | (EndState::Read { .. }, false) => {}
            _ => return Err(Trap::ConcurrentStreamOp),
        }
        set_local(s, instance, h, EndState::Busy);
        let tid = end(s, e).transmit;
        let t = transmit(s, tid);
        if t.done {
            return Err(if write {
                Trap::FutureWriteTwice
            } else {
                Trap::FutureReadTwice
            });
        }
        let (read_code, write_code) = codes(future);
        let offer = Side::Ready(Offer { count, addr });
        let (theirs, other_end, other_code) = if write {
            (&mut t.read, t.read_end, read_code)
        } else {
            (&mut t.write, t.write_end, write_code)
        };
        let old = *theirs;
        *theirs = if old == Side::Dropped {
            Side::Dropped
        } else {
            Side::Open
        };
        let result = match old {
            Side::Open => {
                *(if write { &mut t.write } else { &mut t.read }) = offer;
                BLOCKED
            }
            Side::Dropped => {
                if future {
                    t.done = true;
                }
                copy::DROPPED
            }
            Side::Ready(their) => {
                if future {
                    t.done = true;
                }
                // Zero-length operations ask whether the other side is
                // ready: only the zero-length one completes, the other
                // stays pending; when both are zero-length, only the writer
                // hears of it (wasmtime's `guest_write` / `guest_read`).
                let (mine_done, their_event, their_left) = if write {
                    (
                        count == 0 || their.count > 0,
                        count > 0,
                        count < their.count || (count == 0 && their.count == 0),
                    )
                } else {
                    (
                        their.count > 0,
                        their.count == 0 || count > 0,
                        count < their.count,
                    )
                };
                let k = count.min(their.count);
                if their_event {
                    let old = s.take_event(Waitable::End(other_end));
                    let old_code = end(s, other_end).event_code;
                    let before = match old {
                        Some(p)
                            if !future && old_code == other_code && p & 0xf == copy::COMPLETED =>
                        {
                            p >> 4
                        }
                        _ => 0,
                    };
                    set_event(
                        s,
                        other_end,
                        other_code,
                        completed(future, k + before),
                        true,
                    );
                }
                let t = transmit(s, tid);
                if their_left {
                    let theirs = if write { &mut t.read } else { &mut t.write };
                    *theirs = Side::Ready(Offer {
                        count: their.count - k,
                        addr: their.addr,
                    });
                }
                if mine_done {
                    completed(future, k)
                } else {
                    *(if write { &mut t.write } else { &mut t.read }) = offer;
                    BLOCKED
                }
            }
        };
        Ok((instance, e, result))
    }));
    let result = if result == BLOCKED && !async_ {
        wait(e)
    } else {
        result
    };
    if result != BLOCKED {
        let done = result & 0xf == copy::DROPPED;
        let state = if write {
            EndState::Write { done }
        } else {
            EndState::Read {
                done: done && !future,
            }
        };
        with(|s| set_local(s, instance, h, state));
    }
    result
}

/// A sync read or write blocks until end `e` has its result (wasmtime's
/// `wait_for_read` / `wait_for_write`), running other work meanwhile.
fn wait(e: Id) -> u32 {
    check(with(|s| {
        if s.common(Waitable::End(e)).set.is_some() {
            Err(Trap::WaitableSyncAndAsync)
        } else {
            Ok(())
        }
    }));
    let payload = crate::driver::await_event(Waitable::End(e));
    with(|s| deliver(s, e, payload));
    payload
}

/// `cancel-read` / `cancel-write` (`write`) of handle `h` of type `ty`.
/// Between inner instances nothing is in flight, so it never blocks:
/// returns the pending result (CANCELLED with the count of a partial
/// stream copy), or CANCELLED.
pub fn cancel(ty: u32, h: u32, write: bool, async_: bool) -> u32 {
    if !async_ {
        trap_if(!glue::task_may_block(), Trap::CannotBlockSyncTask);
    }
    let future = is_future(ty);
    check(with(|s| {
        let (instance, e, state) = lookup(s, ty, h)?;
        match (state, write) {
            (EndState::Busy, _) => {}
            (EndState::Write { .. }, true) | (EndState::Read { .. }, false) => {
                return Err(Trap::CancelNothingPending);
            }
            _ => return Err(Trap::WrongEnd),
        }
        if !async_ && s.common(Waitable::End(e)).set.is_some() {
            return Err(Trap::WaitableSyncAndAsync);
        }
        let result = match s.take_event(Waitable::End(e)) {
            Some(p) => {
                deliver(s, e, p);
                if !future && p & 0xf == copy::COMPLETED {
                    p & !0xf | copy::CANCELLED
                } else {
                    p
                }
            }
            None => copy::CANCELLED,
        };
        let tid = end(s, e).transmit;
        let t = transmit(s, tid);
        let mine = if write { &mut t.write } else { &mut t.read };
        if matches!(mine, Side::Ready(_)) {
            *mine = Side::Open;
        }
        if let Some(Handle::End {
            state: EndState::Busy,
            ..
        }) = s.instance(instance).handles.get(h)
        {
            let state = if write {
                EndState::Write { done: false }
            } else {
                EndState::Read { done: false }
            };
            set_local(s, instance, h, state);
        }
        Ok(result)
    }))
}

/// `drop-readable` / `drop-writable` (`writable`) of handle `h` of type
/// `ty`: the other end hears DROPPED; when both ends are gone the stream
/// or future is freed.
pub fn drop_end(ty: u32, h: u32, writable: bool) {
    let future = is_future(ty);
    check(with(|s| {
        let (instance, e, state) = lookup(s, ty, h)?;
        let done = match (state, writable) {
            (EndState::Busy, _) => return Err(Trap::BusyEnd),
            (EndState::Write { done }, true) | (EndState::Read { done }, false) => done,
            _ => return Err(Trap::WrongEnd),
        };
        s.instance(instance).handles.remove(h);
        join(s, Waitable::End(e), None);
        let tid = end(s, e).transmit;
        let t = transmit(s, tid);
        let (read_code, write_code) = codes(future);
        if writable && future && t.write == Side::Open && !done && !t.done {
            return Err(Trap::FutureDropUnwritten);
        }
        // wasmtime reports an idle reader's drop of a future already done
        // with a stream event code (`host_drop_writer`).
        let idle_read_code = if future && (done || t.done) {
            event::STREAM_READ
        } else {
            read_code
        };
        let (other_end, other_code, idle_code) = if writable {
            t.write = Side::Dropped;
            (t.read_end, read_code, idle_read_code)
        } else {
            t.read = Side::Dropped;
            (t.write_end, write_code, write_code)
        };
        let theirs = if writable { &mut t.read } else { &mut t.write };
        let old = *theirs;
        *theirs = if old == Side::Dropped {
            Side::Dropped
        } else {
            Side::Open
        };
        match old {
            Side::Ready(_) => update_dropped(s, other_end, other_code, true),
            Side::Open => update_dropped(s, other_end, idle_code, false),
            Side::Dropped => {
                // wasmtime's `delete_transmit`: the state, then the write
                // end, then the read end.
                let (w, r) = (t.write_end, t.read_end);
                s.store.remove(tid);
                s.store.remove(w);
                s.store.remove(r);
            }
        }
        Ok(())
    }))
}

/// FACT's `stream-transfer` / `future-transfer`: the readable end `h` of
/// type `src` moves to the table of type `dst` (lifted from one instance,
/// lowered into another); returns its new handle.
pub fn transfer(h: u32, src: u32, dst: u32) -> u32 {
    check(with(|s| {
        let (instance, e, state) = lookup(s, src, h)?;
        let done = match state {
            EndState::Read { done } => done,
            EndState::Busy => return Err(Trap::BusyEnd),
            EndState::Write { .. } => return Err(Trap::WrongEnd),
        };
        s.instance(instance).handles.remove(h);
        if done {
            return Err(Trap::LiftAfterDropped);
        }
        if s.common(Waitable::End(e)).set.is_some() {
            return Err(Trap::LiftInSet);
        }
        s.common(Waitable::End(e)).handle = None;
        let tid = end(s, e).transmit;
        if transmit(s, tid).done {
            return Err(Trap::LiftFutureDone);
        }
        let to = table_of(s, dst)?;
        let nh = s.instance(to).handles.insert(Handle::End {
            end: e,
            ty: dst,
            state: EndState::Read { done: false },
        })?;
        let en = end(s, e);
        en.ty = dst;
        en.common.handle = Some(nh);
        Ok(nh)
    }))
}
