//! The runtime's data: per inner component instance, per task, per waitable
//! set, and the scheduler's queues. Plain data and the operations that need
//! no call into guest code; [`crate::driver`] runs guest code.
//!
//! The model is the spec's (`definitions.py`: `ComponentInstance`, `Task`,
//! `Subtask`, `WaitableSet`) in the form wasmtime 48 gives it
//! (`concurrent.rs`: `GuestTask`, `WaitableCommon`, `WorkItem`), because the
//! fused module must behave as wasmtime runs the input: the same handle
//! numbers, the same event order, the same interleaving.

use alloc::collections::VecDeque;

use crate::map::{VecMap, VecSet};
use alloc::vec::Vec;

use crate::codes::{Trap, event, status};
use crate::slab::Slab;

/// A store-wide id (wasmtime's `ResourceTable` rep). Tasks, their implicit
/// threads and sync-call sets, and waitable sets draw from one numbering
/// with LIFO reuse, in the order wasmtime creates them; events of one set
/// are delivered in the order of these ids.
pub type Id = u32;

/// Something a waitable set can hold. The derived order is wasmtime's
/// delivery order (`Waitable: Ord`): host subtasks, then guest subtasks,
/// then stream and future ends, each by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Waitable {
    /// A subtask of an async host import (the outer boundary).
    Host(Id),
    /// A subtask calling another inner component.
    Guest(Id),
    /// One end of a stream or future (wasmtime's `TransmitHandle`).
    End(Id),
}

impl Waitable {
    /// Its store-wide id.
    pub fn id(self) -> Id {
        match self {
            Waitable::Host(i) | Waitable::Guest(i) | Waitable::End(i) => i,
        }
    }
}

/// What an instance's handle points at. One index space per instance,
/// shared with resource handles (whose data the resource runtime keeps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handle {
    /// Reserved for the resource runtime.
    Resource,
    Subtask(Waitable),
    Set(Id),
    /// An end of a stream or future of type `ty` (see
    /// [`crate::transmit`]), with its local state.
    End {
        end: Id,
        ty: u32,
        state: EndState,
    },
}

/// The local state of a stream or future end in its handle table
/// (wasmtime's `TransmitLocalState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndState {
    /// A readable end; `done`: it was told the writer dropped.
    Read { done: bool },
    /// A writable end; `done`: it was told the reader dropped (or, for a
    /// future, its value was written).
    Write { done: bool },
    /// A read or write is pending: its result is not delivered yet.
    Busy,
}

/// A unit of work for the scheduler (wasmtime's `WorkItem`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// Start a prepared task in its instance (`GuestCallKind::StartImplicit`).
    Start(Id),
    /// Call a callback-lifted task's callback with its next event
    /// (`GuestCallKind::DeliverEvent`).
    Deliver { task: Id, set: Option<Id> },
    /// Let the frame `n` of the stack go on (`WorkItem::ResumeFiber`).
    Resume(u32),
}

impl Work {
    fn task(self) -> Option<Id> {
        match self {
            Work::Start(t) | Work::Deliver { task: t, .. } => Some(t),
            Work::Resume(_) => None,
        }
    }
}

/// A host-level task: an outer task lifted with a callback, which the
/// host drives, or the task of a sync call into an export.
#[derive(Clone, Copy, Debug, Default)]
pub struct Root {
    /// Its port, once it has one.
    pub port: Option<u32>,
    /// The host drives it through the wrapper's callback: its own calls
    /// (start, callback) run only while the host runs it, since its
    /// `task.return` is the wrapper's, of the host's current task.
    pub driven: bool,
    /// Its callback returned WAIT on its port's set and the host has not
    /// called it since.
    pub waiting: bool,
}

/// A waitable set of the wrapper, on which a host-level task waits.
#[derive(Clone, Copy, Debug)]
pub struct Port {
    /// The set's handle in the wrapper's table.
    pub set: u32,
    /// An element-less stream of the wrapper (readable, writable end)
    /// whose readable end is in `set`: a read then a write of it wakes the
    /// task waiting on `set` (made on first use).
    pub wake: Option<(u32, u32)>,
}

/// What the scheduler takes next ([`State::pop_runnable`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// An item the running host-level task may run.
    Work(Work),
    /// The next item is a call of another host-driven task: only the host
    /// can run it, in that task's callback.
    Handover(Id),
    /// Nothing.
    Empty,
}

/// Why [`crate::driver::run_all`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Nothing is left that the running root may run.
    Idle,
    /// A call of this host-driven task comes first ([`Next::Handover`]).
    Handover(Id),
    /// An item comes next while host subtasks are pending: wasmtime polls
    /// the host's futures before every item, so the host gets a turn
    /// first.
    HostTurn,
}

/// Who waits on a waitable set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiter {
    /// A callback-lifted task that returned WAIT: its callback is called.
    Callback(Id),
    /// A frame of the stack blocked in `waitable-set.wait`, a sync lower or
    /// a sync `subtask.cancel`: it is resumed.
    Frame(u32),
}

/// Per inner component instance (the spec's `ComponentInstance`, wasmtime's
/// `InstanceState`).
pub struct Instance {
    pub handles: Handles,
    /// `backpressure.inc` / `dec`: a `u16`, over- and underflow trap.
    pub backpressure: u16,
    /// Set while a callback-lifted task (or a sync-lifted callee started
    /// by an async lower) of this instance runs.
    pub do_not_enter: bool,
    /// Calls that could not run yet, by `(task, thread)` id: released in
    /// that order (wasmtime's `partition_pending`).
    pub pending: VecMap<(Id, Id), Work>,
}

/// An instance's handle table: the runtime's own (handles from 1, the last
/// freed reused first), or, in a fused module with a resource runtime, the
/// resource runtime's table, so that resources and the runtime's handles
/// share one index space as in wasmtime (`glue::alloc_handle`): the runtime
/// then keeps only what each of its handles stands for.
pub struct Handles {
    own: Slab<Handle>,
    /// With a shared table: the handles' meanings, by handle.
    shared: Option<Vec<Option<Handle>>>,
    instance: u32,
}

impl Handles {
    fn new(instance: u32, shared: bool) -> Self {
        Handles {
            own: Slab::new(1),
            shared: shared.then(Vec::new),
            instance,
        }
    }

    /// A new handle for `value`.
    ///
    /// # Errors
    /// [`Trap::Exhausted`] beyond [`crate::codes::MAX_HANDLE`] handles.
    #[inline]
    pub fn insert(&mut self, value: Handle) -> Result<u32, Trap> {
        let Some(shared) = &mut self.shared else {
            return self.own.insert(value);
        };
        let h = crate::glue::alloc_handle(self.instance);
        let at = h as usize;
        if shared.len() <= at {
            shared.resize(at + 1, None);
        }
        shared[at] = Some(value);
        Ok(h)
    }

    #[inline]
    pub fn get(&self, h: u32) -> Option<&Handle> {
        match &self.shared {
            None => self.own.get(h),
            Some(shared) => shared.get(h as usize)?.as_ref(),
        }
    }

    #[inline]
    pub fn get_mut(&mut self, h: u32) -> Option<&mut Handle> {
        match &mut self.shared {
            None => self.own.get_mut(h),
            Some(shared) => shared.get_mut(h as usize)?.as_mut(),
        }
    }

    /// Removes handle `h`; it is the next one handed out.
    #[inline]
    pub fn remove(&mut self, h: u32) -> Option<Handle> {
        let Some(shared) = &mut self.shared else {
            return self.own.remove(h);
        };
        let v = shared.get_mut(h as usize)?.take()?;
        crate::glue::free_handle(self.instance, h);
        Some(v)
    }
}

impl Instance {
    fn new(instance: u32, shared: bool) -> Self {
        Instance {
            handles: Handles::new(instance, shared),
            backpressure: 0,
            do_not_enter: false,
            pending: VecMap::new(),
        }
    }
}

/// What the adapter needs to run a task; fixed per adapter by the planner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Call {
    /// The adapter: which glue thunks start the callee and return results.
    pub adapter: u32,
    /// The lifted function is typed `async`.
    pub async_function: bool,
    /// Lifted with a callback (else lifted sync; stackful lifts are refused
    /// by the planner).
    pub callback: bool,
    /// The signature `task.return` must give: its result type and string
    /// encoding, as one id the planner assigns (`type << 2 | encoding`).
    pub return_sig: u32,
    /// The lift's memory plus one (0: none): a `task.return` that names a
    /// memory must name this one.
    pub return_memory: u32,
}

/// What every subtask has as a waitable (wasmtime's `WaitableCommon`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Common {
    /// Its one event slot (last write wins): the subtask's status.
    pub event: Option<u32>,
    /// The set it joined.
    pub set: Option<Id>,
    /// Its handle in the caller's table (none for a caller told RETURNED
    /// at once, or a sync caller).
    pub handle: Option<u32>,
    /// The caller's frame blocked on its next event.
    pub sync_waiter: Option<u32>,
    /// The terminal status was delivered to the caller.
    pub terminal_delivered: bool,
}

/// A subtask of an async host import, lowered by the wrapper: the host's
/// handle for it, in the wrapper's table.
#[derive(Clone, Copy, Debug)]
pub struct HostTask {
    pub host: u32,
    /// The port ([`State::ports`]) whose host set holds it.
    pub port: u32,
    pub common: Common,
}

/// A task: a call into an inner instance, with the waitable its caller
/// sees (a `GuestTask` with its one implicit thread).
pub struct Task {
    pub instance: u32,
    pub call: Call,
    /// The thread that made the call, and its instance (`None` for the
    /// host, at the outer boundary).
    pub caller: Thread,
    pub caller_instance: Option<u32>,
    /// The caller holds no reference any more: it was told RETURNED at
    /// once, dropped the subtask, or was a sync caller that returned.
    pub released: bool,
    /// A sync caller's one flat result.
    pub result: u64,
    /// The implicit thread's id and its sync-call set's id (both only
    /// numbered: they order events like wasmtime's).
    pub thread: Id,
    pub sync_set: Id,
    /// Parameters not lowered into the callee yet.
    pub lower_pending: bool,
    /// Neither `task.return` nor `task.cancel` yet.
    pub lift_pending: bool,
    pub starting_sent: bool,
    pub cancel_sent: bool,
    pub exited: bool,
    /// The task's own next event: `NONE` after a yield or `TASK_CANCELLED`.
    pub own_event: Option<u32>,
    /// The set a callback WAIT or a cancellable `waitable-set.wait` is
    /// in, woken by cancellation.
    pub wake_on_cancel: Option<Id>,
    /// Suspended in a cancellable `thread.yield`: its resumption is
    /// queued; cancellation lets the canceller yield to it.
    pub yield_cancellable: bool,
    /// The task as its caller's subtask.
    pub common: Common,
    /// The resource runtime's borrow scope of the task, parked when its
    /// first activation ended before it returned; ended when it completes.
    pub scope: Option<u32>,
    /// The implicit thread's context slots (`context.get/set`).
    pub context: [u32; 2],
    /// The lowered parameters (retptr last, when there is one), stored by
    /// the prepare-call glue and read by the start glue; a sync caller's
    /// one flat result is left in `params[0]`.
    pub params: [u64; 17],
}

impl Task {
    /// wasmtime's `may_block`: an async-typed function, or one that has
    /// returned, may block.
    pub fn may_block(&self) -> bool {
        self.call.async_function || !self.lift_pending
    }
}

/// A waitable set.
#[derive(Default)]
pub struct Set {
    /// The instance whose table holds its handle.
    pub instance: u32,
    /// Members with an undelivered event, in delivery order.
    pub ready: VecSet<Waitable>,
    pub members: u32,
    /// Waiters by thread id (wasmtime's `waiting`, a `BTreeMap`).
    pub waiting: VecMap<Id, Waiter>,
}

/// What the store-wide ids name.
// Tasks are most of the entries: boxing them would cost an allocation per
// call for nothing (the slab is small).
#[allow(clippy::large_enum_variant)]
pub enum Entity {
    Task(Task),
    /// A task's implicit thread (numbered only).
    Thread,
    HostTask(HostTask),
    Set(Set),
    /// The state a stream or future's two ends share.
    Transmit(crate::transmit::Transmit),
    /// One end of a stream or future.
    End(crate::transmit::End),
}

/// The thread running inner code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Thread {
    /// No inner task: the host called in, or nothing runs.
    Host,
    /// A task's implicit thread.
    Task(Id),
    /// The callee of a sync→sync adapter, by depth in [`State::sync_calls`]
    /// (wasmtime materialises no task for these unless a built-in needs
    /// one).
    Sync(u32),
}

/// A sync→sync call in progress (`enter-sync-call` .. `exit-sync-call`).
#[derive(Clone, Copy, Debug)]
pub struct SyncCall {
    /// The thread that made the call.
    pub outer: Thread,
    /// The callee's context slots and `task_may_block` while it is not the
    /// running thread.
    pub context: [u32; 2],
    pub may_block: bool,
    /// A task made for the callee when it first waits on a waitable set.
    pub task: Option<Id>,
}

/// A frame of the one stack: a nested scheduler loop waiting to go on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Frame {
    pub id: u32,
    /// Its `Resume` was taken by a loop higher on the stack: it goes on as
    /// soon as the frames above it return.
    pub resumed: bool,
    /// The waitable whose event it waits for (a sync call's subtask, a
    /// sync read or write's end), if one.
    pub waits_on: Option<Waitable>,
    /// That event, taken when its `Resume` came up deeper on the stack:
    /// wasmtime's fiber would have taken it then (`take_event` right after
    /// the resume), so later events (a callee that goes on, above the
    /// frame, to return) stay for the caller to see afterwards.
    pub taken: Option<u32>,
}

impl State {
    /// The `Resume` of frame `f` came up in a loop higher on the stack: it
    /// goes on once the frames above return, with the event it waits for
    /// as it is now.
    pub fn resume_deeper(&mut self, f: u32) {
        let Some(i) = self.frames.iter().position(|fr| fr.id == f) else {
            return;
        };
        self.frames[i].resumed = true;
        if let Some(w) = self.frames[i].waits_on {
            self.frames[i].taken = self.take_event(w);
        }
    }
}

/// The runtime's whole state.
pub struct State {
    pub instances: Vec<Instance>,
    pub store: Slab<Entity>,
    pub high: VecDeque<Work>,
    pub low: VecDeque<Work>,
    pub frames: Vec<Frame>,
    /// Tasks suspended with their stacks unwound, and the dispatches in
    /// progress.
    pub fibers: crate::fiber::Fibers,
    pub next_frame: u32,
    pub current: Thread,
    /// The live context slots of the running thread.
    pub context: [u32; 2],
    pub sync_calls: Vec<SyncCall>,
    /// The host thread's context and `task_may_block` while an inner task
    /// runs.
    pub host_context: [u32; 2],
    pub host_may_block: bool,
    /// The last event `waitable-set.wait` / `poll` took: handle, payload.
    pub event_out: [u32; 2],
    /// The task the last `[prepare-call]` made, which the `[start-call]`
    /// right after it starts.
    pub prepared: Option<Id>,
    /// Host subtasks by the host's handle.
    pub host_tasks: VecMap<u32, Id>,
    /// The host-level tasks the host is running now, innermost last: the
    /// outer task whose callback runs, or the task of a sync call into an
    /// export ([`crate::outer`]).
    pub roots: Vec<Id>,
    /// Every live host-level task.
    pub outer: VecMap<Id, Root>,
    /// The wrapper's waitable sets, one per host-level task that waits on
    /// the host, reused last freed first.
    pub ports: Vec<Port>,
    pub free_ports: Vec<u32>,
    /// The host has had a turn since the last item ran.
    pub host_turn: bool,
    /// The inner instance whose table holds the ends of each stream and
    /// future type (`ty` of [`Handle::End`], [`crate::transmit`]).
    pub transmit_tables: Vec<u32>,
}

impl State {
    /// The state of a fused module with `instances` inner instances, whose
    /// handle tables are the resource runtime's when `shared`.
    pub fn new(instances: u32, shared: bool) -> Self {
        State {
            instances: (0..instances).map(|i| Instance::new(i, shared)).collect(),
            store: Slab::new(0),
            high: VecDeque::new(),
            low: VecDeque::new(),
            frames: Vec::new(),
            fibers: crate::fiber::Fibers::default(),
            next_frame: 0,
            current: Thread::Host,
            context: [0; 2],
            sync_calls: Vec::new(),
            host_context: [0; 2],
            host_may_block: false,
            event_out: [0; 2],
            prepared: None,
            host_tasks: VecMap::new(),
            roots: Vec::new(),
            outer: VecMap::new(),
            ports: Vec::new(),
            free_ports: Vec::new(),
            host_turn: false,
            transmit_tables: Vec::new(),
        }
    }

    #[inline]
    pub fn instance(&mut self, i: u32) -> &mut Instance {
        &mut self.instances[i as usize]
    }

    #[inline]
    pub fn task(&mut self, t: Id) -> &mut Task {
        match self.store.get_mut(t) {
            Some(Entity::Task(t)) => t,
            _ => unreachable!("task {t} is live"),
        }
    }

    #[inline]
    pub fn set(&mut self, s: Id) -> &mut Set {
        match self.store.get_mut(s) {
            Some(Entity::Set(s)) => s,
            _ => unreachable!("set {s} is live"),
        }
    }

    /// Handle `h` of instance `i`.
    #[inline]
    pub fn handle(&mut self, i: u32, h: u32) -> Result<Handle, Trap> {
        self.instance(i)
            .handles
            .get(h)
            .copied()
            .ok_or(Trap::UnknownHandle)
    }

    /// The set behind handle `h` of instance `i`.
    #[inline]
    pub fn set_handle(&mut self, i: u32, h: u32) -> Result<Id, Trap> {
        match self.handle(i, h)? {
            Handle::Set(s) => Ok(s),
            _ => Err(Trap::WrongHandleKind),
        }
    }

    /// The waitable behind handle `h` of instance `i`: a subtask or a
    /// stream or future end.
    #[inline]
    pub fn waitable_handle(&mut self, i: u32, h: u32) -> Result<Waitable, Trap> {
        match self.handle(i, h)? {
            Handle::Subtask(w) => Ok(w),
            Handle::End { end, .. } => Ok(Waitable::End(end)),
            _ => Err(Trap::WrongHandleKind),
        }
    }

    /// The subtask behind handle `h` of instance `i`.
    #[inline]
    pub fn subtask_handle(&mut self, i: u32, h: u32) -> Result<Waitable, Trap> {
        match self.handle(i, h)? {
            Handle::Subtask(w) => Ok(w),
            _ => Err(Trap::WrongHandleKind),
        }
    }

    /// A new task for `call` into `instance`, called by the running thread
    /// (wasmtime's `GuestTask::new`: the task, its thread's sync-call set,
    /// then the thread, in that order).
    pub fn new_task(
        &mut self,
        instance: u32,
        call: Call,
        caller_instance: Option<u32>,
    ) -> Result<Id, Trap> {
        let task = Task {
            instance,
            call,
            caller: self.current,
            caller_instance,
            released: false,
            result: 0,
            thread: 0,
            sync_set: 0,
            lower_pending: true,
            lift_pending: true,
            starting_sent: false,
            cancel_sent: false,
            exited: false,
            own_event: None,
            wake_on_cancel: None,
            yield_cancellable: false,
            common: Common::default(),
            scope: None,
            context: [0; 2],
            params: [0; 17],
        };
        let id = self.store.insert(Entity::Task(task))?;
        let sync_set = self.store.insert(Entity::Thread)?;
        let thread = self.store.insert(Entity::Thread)?;
        let t = self.task(id);
        t.sync_set = sync_set;
        t.thread = thread;
        Ok(id)
    }

    /// The task's thread ends (wasmtime's `cleanup_thread`): its ids are
    /// freed (thread, then sync-call set).
    pub fn end_thread(&mut self, t: Id) {
        let (thread, sync_set) = {
            let t = self.task(t);
            (t.thread, t.sync_set)
        };
        self.store.remove(thread);
        self.store.remove(sync_set);
    }

    /// Frees task `t`'s id once it has exited and its caller holds no
    /// reference (wasmtime's `ready_to_delete`).
    pub fn maybe_delete(&mut self, t: Id) {
        let task = self.task(t);
        if task.exited && task.released && !task.lift_pending {
            self.store.remove(t);
        }
    }

    /// `w` as a waitable.
    #[inline]
    pub fn common(&mut self, w: Waitable) -> &mut Common {
        match (w, self.store.get_mut(w.id())) {
            (Waitable::Guest(_), Some(Entity::Task(t))) => &mut t.common,
            (Waitable::Host(_), Some(Entity::HostTask(h))) => &mut h.common,
            (Waitable::End(_), Some(Entity::End(e))) => &mut e.common,
            _ => unreachable!("waitable {w:?} is live"),
        }
    }

    /// Sets `w`'s event (overwriting the one there) and wakes whoever waits
    /// for it (wasmtime's `set_event` and `mark_ready`).
    #[inline]
    pub fn set_event(&mut self, w: Waitable, code_status: u32) {
        let common = self.common(w);
        common.event = Some(code_status);
        if let Some(frame) = common.sync_waiter.take() {
            self.high.push_front(Work::Resume(frame));
            return;
        }
        if let Some(s) = common.set {
            let set = self.set(s);
            set.ready.insert(w);
            if let Some((_, waiter)) = set.waiting.pop_first() {
                self.wake(waiter, Some(s));
            }
        }
    }

    /// Queues what lets `waiter` go on.
    #[inline]
    pub fn wake(&mut self, waiter: Waiter, set: Option<Id>) {
        let item = match waiter {
            Waiter::Frame(f) => Work::Resume(f),
            Waiter::Callback(task) => {
                self.task(task).wake_on_cancel = None;
                Work::Deliver { task, set }
            }
        };
        self.high.push_front(item);
    }

    /// Takes `w`'s event (wasmtime's `take_event`).
    #[inline]
    pub fn take_event(&mut self, w: Waitable) -> Option<u32> {
        let common = self.common(w);
        let ev = common.event.take();
        if let Some(s) = common.set {
            self.set(s).ready.remove(&w);
        }
        ev
    }

    /// The next event for `task` waiting on `set`: its own event first,
    /// then the set's first ready member (wasmtime's `get_event`). Returns
    /// `(code, handle, payload)`.
    pub fn next_event(
        &mut self,
        task: Id,
        set: Option<Id>,
        cancellable: bool,
    ) -> Option<(u32, u32, u32)> {
        let t = self.task(task);
        if let Some(ev) = t.own_event
            && (cancellable || ev != event::TASK_CANCELLED)
        {
            t.own_event = None;
            return Some((ev, 0, 0));
        }
        let w = self.set(set?).ready.pop_first()?;
        let sub = self.common(w);
        // A waitable is in `ready` only while its event is set: `set_event`
        // inserts it, `take_event` and `join` remove it with the event.
        let payload = sub.event.take().expect("a ready waitable has an event");
        let handle = sub.handle.expect("a waitable in a set has a handle");
        if let Waitable::End(e) = w {
            let code = crate::transmit::deliver(self, e, payload);
            return Some((code, handle, payload));
        }
        if payload >= status::RETURNED {
            sub.terminal_delivered = true;
        }
        Some((event::SUBTASK, handle, payload))
    }

    /// Queues `work` at the back of the high-priority queue.
    #[inline]
    pub fn push_high(&mut self, work: Work) {
        self.high.push_front(work);
    }

    /// Queues `work` at the back of the low-priority queue.
    #[inline]
    pub fn push_low(&mut self, work: Work) {
        self.low.push_front(work);
    }

    /// The next item: one high-priority item, or a low-priority one when no
    /// high-priority item is left (wasmtime's `poll_until`).
    #[inline]
    pub fn pop(&mut self) -> Option<Work> {
        self.high.pop_back().or_else(|| self.low.pop_back())
    }

    /// The next item the running host-level task may run, in the order of
    /// [`State::pop`]: a start or a callback of a host-driven task other
    /// than the running one is left queued (its `task.return` is the
    /// host's for that task), and returned as a handover when `handover`
    /// and it comes first.
    pub fn pop_runnable(&mut self, handover: bool) -> Next {
        // One host-level task at most: everything queued is its own.
        if self.outer.len() <= 1 {
            return self.pop().map_or(Next::Empty, Next::Work);
        }
        let running = self.roots.last().copied();
        for high in [true, false] {
            let q = if high { &self.high } else { &self.low };
            for i in (0..q.len()).rev() {
                let w = q[i];
                let bound = w
                    .task()
                    .filter(|&t| Some(t) != running)
                    .filter(|t| self.outer.get(t).is_some_and(|r| r.driven));
                match bound {
                    Some(t) if handover => return Next::Handover(t),
                    Some(_) => {}
                    None => {
                        let q = if high { &mut self.high } else { &mut self.low };
                        q.remove(i);
                        return Next::Work(w);
                    }
                }
            }
        }
        Next::Empty
    }

    /// The host subtasks not resolved yet: (id, the host's handle, port).
    pub fn unresolved_host_tasks(&self) -> impl Iterator<Item = (Id, u32, u32)> + '_ {
        self.host_tasks
            .values()
            .filter_map(|&id| match self.store.get(id) {
                Some(Entity::HostTask(ht))
                    if ht.common.event.is_none_or(|e| e < status::RETURNED) =>
                {
                    Some((id, ht.host, ht.port))
                }
                _ => None,
            })
    }

    /// The host-driven tasks other than the running one with a start or a
    /// callback queued.
    pub fn bound_elsewhere(&self) -> Vec<Id> {
        let running = self.roots.last().copied();
        let mut out: Vec<Id> = Vec::new();
        for w in self.high.iter().chain(self.low.iter()) {
            if let Some(t) = w.task()
                && Some(t) != running
                && self.outer.get(&t).is_some_and(|r| r.driven)
                && !out.contains(&t)
            {
                out.push(t);
            }
        }
        out
    }

    /// Whether `work` can run now (wasmtime's `GuestCall::is_ready`).
    #[inline]
    pub fn is_ready(&mut self, work: Work) -> bool {
        match work {
            Work::Start(t) => {
                let i = self.task(t).instance;
                let inst = self.instance(i);
                !inst.do_not_enter && inst.backpressure == 0
            }
            Work::Deliver { task, .. } => {
                let i = self.task(task).instance;
                !self.instance(i).do_not_enter
            }
            Work::Resume(_) => true,
        }
    }

    /// Parks `work`, which is not ready; a task not started yet tells its
    /// caller STARTING, once (wasmtime's `handle_work_item`).
    pub fn park(&mut self, work: Work) {
        let t = work.task().expect("only calls are parked");
        let task = self.task(t);
        let (instance, thread) = (task.instance, task.thread);
        if !task.starting_sent {
            task.starting_sent = true;
            if matches!(work, Work::Start(_)) {
                self.set_event(Waitable::Guest(t), status::STARTING);
            }
        }
        self.instance(instance).pending.insert((t, thread), work);
    }

    /// Marks `instance` entered by a task (wasmtime's `enter_instance`).
    #[inline]
    pub fn enter(&mut self, instance: u32) {
        self.instance(instance).do_not_enter = true;
    }

    /// Leaves `instance` and requeues its parked calls that can run now, in
    /// id order (wasmtime's `exit_instance` and `partition_pending`).
    #[inline]
    pub fn leave(&mut self, instance: u32) {
        self.instance(instance).do_not_enter = false;
        self.release_pending(instance);
    }

    #[inline]
    pub fn release_pending(&mut self, instance: u32) {
        if self.instance(instance).pending.is_empty() {
            return;
        }
        let parked: Vec<((Id, Id), Work)> = self.instance(instance).pending.take().collect();
        for (key, work) in parked {
            if self.is_ready(work) {
                self.push_high(work);
            } else {
                self.instance(instance).pending.insert(key, work);
            }
        }
    }

    /// Removes every queued or parked call of task `t`; whether any was.
    pub fn unqueue(&mut self, t: Id) -> bool {
        let i = self.task(t).instance;
        let pending = &mut self.instance(i).pending;
        let before = pending.len();
        pending.retain(|(task, _), _| *task != t);
        let mut found = pending.len() != before;
        for q in [&mut self.high, &mut self.low] {
            let before = q.len();
            q.retain(|w| w.task() != Some(t));
            found |= q.len() != before;
        }
        found
    }
}
