//! The component-model async runtime (`guest/async-runtime/`, compiled by
//! `build.rs`): its binary and its contract with the planner, the names and
//! core signatures of what it exports and imports.
//!
//! The planner links it when the input uses component-model async
//! (`link/planner/concurrency.rs`; design in `ASYNC.md`).

use crate::sig::CoreSig;
use wasm_encoder::ValType::{I32, I64};

/// The runtime's core module: one memory of its own, imports from
/// [`GLUE_MODULE`], exports [`RuntimeFunc`]s.
pub fn module() -> &'static [u8] {
    include_bytes!(concat!(env!("OUT_DIR"), "/async_runtime.wasm"))
}

/// The module name of the runtime's imports ([`GlueFunc`]).
pub const GLUE_MODULE: &str = "meld:async-glue";

macro_rules! contract {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal ($($p:ident),*) -> ($($r:ident),*),)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name { $($(#[$vm])* $v,)* }

        impl $name {
            /// Every member.
            pub const ALL: &[$name] = &[$($name::$v,)*];

            /// The export or import name.
            pub fn name(self) -> &'static str {
                match self { $($name::$v => $s,)* }
            }

            /// The member named `name`.
            pub fn parse(name: &str) -> Option<Self> {
                match name { $($s => Some($name::$v),)* _ => None }
            }

            /// Its core signature.
            pub fn sig(self) -> CoreSig {
                match self { $($name::$v => CoreSig::new(vec![$($p),*], vec![$($r),*]),)* }
            }
        }
    };
}

contract! {
    /// The runtime's exports. Instance arguments are inner component
    /// instance numbers; handles are per instance, starting at 1.
    RuntimeFunc {
        /// `(instances, shared)`: sets up that many inner instances; with
        /// `shared`, their handle tables are the resource runtime's
        /// ([`GlueFunc::HandleAlloc`]).
        Init = "init" (I32, I32) -> (),
        /// `(adapter, flags, return_sig, return_memory, caller, callee) ->
        /// task`: FACT's `[prepare-call]` (flags: 1 async-typed, 2 callback,
        /// 4 sync caller; `return_sig` is `result type << 2 | encoding`,
        /// `return_memory` the lift's memory plus one).
        PrepareCall = "prepare-call" (I32, I32, I32, I32, I32, I32) -> (I32),
        /// `(task) -> ptr`: 17 slots of 8 bytes for the lowered parameters.
        Params = "params" (I32) -> (I32),
        /// `() -> status`: `async [start-call]` of the task just prepared.
        AsyncStart = "async-start" () -> (I32),
        /// `() -> result`: `sync [start-call]` of the task just prepared,
        /// its one flat result.
        SyncStart = "sync-start" () -> (I64),
        /// `(instance, async-typed) -> task`: the host calls a sync-ABI
        /// export of `instance`.
        HostCallBegin = "host-call-begin" (I32, I32) -> (I32),
        /// `()`: the running task, called by the host, is done (after its
        /// post-return, if any).
        HostCallEnd = "host-call-end" () -> (),
        /// `(instance, adapter, return_sig, return_memory) -> task`: the
        /// host calls an export lifted with the async ABI.
        OuterStart = "outer-start" (I32, I32, I32, I32) -> (I32),
        /// `(task) -> callback code`: starts it, runs inner work.
        OuterRun = "outer-run" (I32) -> (I32),
        /// `(task, event, handle, payload) -> callback code`: the host
        /// called its callback.
        OuterDrive = "outer-drive" (I32, I32, I32, I32) -> (I32),
        /// `(instance, status) -> status`: the wrapper's async lower of a
        /// host import returned `status` (its handle the host's); the
        /// status for the caller, with a handle of its table.
        HostSubtask = "host-subtask" (I32, I32) -> (I32),
        Started = "started" (I32) -> (),
        SyncCalleeReturned = "sync-callee-returned" (I32) -> (),
        SyncCalleeDone = "sync-callee-done" (I32) -> (),
        SetResult = "set-result" (I32, I64) -> (),
        /// `(return_sig, memory + 1 or 0) -> task`, then the glue's
        /// `[async-return]`, then `task-return-end(task)`.
        TaskReturnBegin = "task-return-begin" (I32, I32) -> (I32),
        TaskReturnEnd = "task-return-end" (I32) -> (),
        AdapterOf = "adapter-of" (I32) -> (I32),
        TaskCancel = "task.cancel" () -> (),
        BackpressureInc = "backpressure.inc" (I32) -> (),
        BackpressureDec = "backpressure.dec" (I32) -> (),
        /// `(cancellable) -> cancelled`.
        ThreadYield = "thread.yield" (I32) -> (I32),
        ContextGet = "context.get" (I32) -> (I32),
        ContextSet = "context.set" (I32, I32) -> (),
        EnterSyncCall = "enter-sync-call" () -> (),
        ExitSyncCall = "exit-sync-call" () -> (),
        WaitableSetNew = "waitable-set.new" (I32) -> (I32),
        WaitableSetDrop = "waitable-set.drop" (I32, I32) -> (),
        WaitableJoin = "waitable.join" (I32, I32, I32) -> (),
        /// `(instance, set, cancellable) -> event code`; handle and payload
        /// at `event-out()`.
        WaitableSetWait = "waitable-set.wait" (I32, I32, I32) -> (I32),
        WaitableSetPoll = "waitable-set.poll" (I32, I32, I32) -> (I32),
        EventOut = "event-out" () -> (I32),
        SubtaskDrop = "subtask.drop" (I32, I32) -> (),
        /// `(instance, subtask, async) -> status or BLOCKED`.
        SubtaskCancel = "subtask.cancel" (I32, I32, I32) -> (I32),
        /// Runs queued work until none is left.
        Run = "run" () -> (),
        /// `(ty, instance)`: the handle table of stream or future type `ty`
        /// (`table << 1 | future`, wasmtime-environ's
        /// `TypeStreamTableIndex` / `TypeFutureTableIndex`) is `instance`'s.
        TransmitTable = "transmit-table" (I32, I32) -> (),
        /// `(ty) -> write << 32 | read`: `stream.new` / `future.new`.
        TransmitNew = "transmit.new" (I32) -> (I64),
        /// `(ty, handle, addr, count, flags) -> count << 4 | code or
        /// BLOCKED`: a read or write (flags: 1 a write, 2 async).
        TransmitCopy = "transmit.copy" (I32, I32, I32, I32, I32) -> (I32),
        /// `(ty, handle, flags) -> result`: `cancel-read` / `cancel-write`
        /// (flags: 1 cancel-write, 2 async).
        TransmitCancel = "transmit.cancel" (I32, I32, I32) -> (I32),
        /// `(ty, handle, writable)`: `drop-readable` / `drop-writable`.
        TransmitDrop = "transmit.drop" (I32, I32, I32) -> (),
        /// `(task) -> bool`: the task has neither returned nor been
        /// cancelled (its borrow scope is parked at the end of its first
        /// activation).
        LiftPending = "lift-pending" (I32) -> (I32),
        /// `(task, scope)`: the resource runtime's parked scope of the task.
        SetScope = "set-scope" (I32, I32) -> (),
        /// `() -> scope or 0`: takes the running task's parked scope.
        TakeScope = "take-scope" () -> (I32),
        /// `(handle, src ty, dst ty) -> handle`: FACT's `stream-transfer` /
        /// `future-transfer` of a readable end.
        TransmitTransfer = "transmit.transfer" (I32, I32, I32) -> (I32),
    }
}

contract! {
    /// What the runtime imports from the fused module ([`GLUE_MODULE`]).
    GlueFunc {
        /// `(adapter, task) -> callback code`: `[async-start]`, `started`,
        /// the callback-lifted callee.
        Start = "start" (I32, I32) -> (I32),
        /// `(adapter, task)`: a sync-lifted callee started by an async lower.
        RunSync = "run_sync" (I32, I32) -> (),
        /// `(adapter, task, event, handle, payload) -> callback code`.
        Callback = "callback" (I32, I32, I32, I32, I32) -> (I32),
        GetTaskMayBlock = "get_task_may_block" () -> (I32),
        SetTaskMayBlock = "set_task_may_block" (I32) -> (),
        /// `(code)`: traps.
        Trap = "trap" (I32) -> (),
        /// `() -> set`: the wrapper's `waitable-set.new`.
        HostSetNew = "host_set_new" () -> (I32),
        /// `(subtask, set)`: the wrapper's `waitable.join`.
        HostJoin = "host_join" (I32, I32) -> (),
        /// `(subtask)`: the wrapper's `subtask.drop`.
        HostSubtaskDrop = "host_subtask_drop" (I32) -> (),
        /// `(subtask, async) -> status`: the wrapper's `subtask.cancel`.
        HostSubtaskCancel = "host_subtask_cancel" (I32, I32) -> (I32),
        /// `(set, ptr) -> event code`: the wrapper's `waitable-set.wait`,
        /// the handle and payload written at `ptr` in the runtime's memory.
        HostWait = "host_wait" (I32, I32) -> (I32),
        /// `(set, ptr) -> event code`: the wrapper's `waitable-set.poll`,
        /// as [`GlueFunc::HostWait`].
        HostPoll = "host_poll" (I32, I32) -> (I32),
        /// `(instance) -> handle`: a handle in the resource runtime's table
        /// of the instance (only when the tables are shared).
        HandleAlloc = "handle_alloc" (I32) -> (I32),
        /// `(instance, handle)`: frees it.
        HandleFree = "handle_free" (I32, I32) -> (),
        /// `() -> writable << 32 | readable`: the wrapper's `stream.new` of
        /// its element-less wakeup stream.
        HostWakeNew = "host_wake_new" () -> (I64),
        /// `(readable) -> status`: the wrapper's async `stream.read` of
        /// one item.
        HostWakeRead = "host_wake_read" (I32) -> (I32),
        /// `(writable) -> status`: the wrapper's async `stream.write` of
        /// one item.
        HostWakeWrite = "host_wake_write" (I32) -> (I32),
        /// `(state, data)`: sets the unwind pass's globals (0 normal, 1
        /// unwinding, 2 rewinding; the buffer descriptor's address in the
        /// runtime's memory); see `link/unwind`.
        UnwindSet = "unwind_set" (I32, I32) -> (),
        /// `() -> bool`: the unwind pass instrumented the fused module.
        UnwindEnabled = "unwind_enabled" () -> (I32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::{Parser, Payload, TypeRef, Validator};

    /// The compiled runtime validates, exports exactly [`RuntimeFunc`] and
    /// imports exactly [`GlueFunc`], with the signatures given here.
    #[test]
    fn the_runtime_keeps_its_contract() {
        let bytes = module();
        let types = Validator::new()
            .validate_all(bytes)
            .expect("the runtime validates");
        let val = |t: &wasmparser::ValType| match t {
            wasmparser::ValType::I32 => I32,
            wasmparser::ValType::I64 => I64,
            other => panic!("unexpected {other:?}"),
        };
        let sig_of = |f: u32| {
            let id = types.as_ref().core_function_at(f);
            let f = types[id].unwrap_func();
            CoreSig::new(
                f.params().iter().map(val).collect(),
                f.results().iter().map(val).collect(),
            )
        };
        let mut imports = Vec::new();
        let mut exports = Vec::new();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.unwrap() {
                Payload::ImportSection(s) => {
                    for (i, imp) in s.into_imports().enumerate() {
                        let imp = imp.unwrap();
                        assert_eq!(imp.module, GLUE_MODULE);
                        assert!(matches!(imp.ty, TypeRef::Func(_)), "{}", imp.name);
                        let f = GlueFunc::parse(imp.name)
                            .unwrap_or_else(|| panic!("unexpected import {}", imp.name));
                        assert_eq!(sig_of(i as u32), f.sig(), "{}", imp.name);
                        imports.push(f);
                    }
                }
                Payload::ExportSection(s) => {
                    for e in s {
                        let e = e.unwrap();
                        if e.kind != wasmparser::ExternalKind::Func {
                            continue;
                        }
                        let f = RuntimeFunc::parse(e.name)
                            .unwrap_or_else(|| panic!("unexpected export {}", e.name));
                        assert_eq!(sig_of(e.index), f.sig(), "{}", e.name);
                        exports.push(f);
                    }
                }
                _ => {}
            }
        }
        for f in GlueFunc::ALL {
            assert!(imports.contains(f), "{f:?} is not imported");
        }
        for f in RuntimeFunc::ALL {
            assert!(exports.contains(f), "{f:?} is not exported");
        }
    }
}
