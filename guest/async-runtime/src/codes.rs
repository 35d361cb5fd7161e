//! The numbers of the async ABI, as the canonical ABI defines them
//! (`definitions.py`: `EventCode`, `CallbackCode`, `Subtask.State`,
//! `CopyResult`) and wasmtime 48 implements them (`concurrent.rs`), and the
//! traps the runtime raises where wasmtime raises them.

/// Event codes delivered by `waitable-set.wait` / `poll` and to callbacks.
pub mod event {
    pub const NONE: u32 = 0;
    pub const SUBTASK: u32 = 1;
    pub const STREAM_READ: u32 = 2;
    pub const STREAM_WRITE: u32 = 3;
    pub const FUTURE_READ: u32 = 4;
    pub const FUTURE_WRITE: u32 = 5;
    pub const TASK_CANCELLED: u32 = 6;
}

/// A subtask's state, the payload of a `SUBTASK` event and (packed with
/// the handle as `handle << 4 | status`) the result of an async lower.
pub mod status {
    pub const STARTING: u32 = 0;
    pub const STARTED: u32 = 1;
    pub const RETURNED: u32 = 2;
    pub const START_CANCELLED: u32 = 3;
    pub const RETURN_CANCELLED: u32 = 4;
}

/// What a callback-ABI function returns: `code | set << 4`.
pub mod callback {
    pub const EXIT: u32 = 0;
    pub const YIELD: u32 = 1;
    pub const WAIT: u32 = 2;
}

/// The result code of a stream or future copy, in its low 4 bits (the
/// count above): `count << 4 | code`.
pub mod copy {
    pub const COMPLETED: u32 = 0;
    pub const DROPPED: u32 = 1;
    pub const CANCELLED: u32 = 2;
}

/// The result of an async `subtask.cancel` (and of stream and future
/// operations) that has not completed yet.
pub const BLOCKED: u32 = 0xffff_ffff;

/// Handles are below this (wasmtime's `MAX_HANDLE`; the spec's `2^28 - 1`).
pub const MAX_HANDLE: u32 = 1 << 28;

/// `START_FLAG_ASYNC_CALLEE` of FACT's `async [start-call]`: the callee is
/// lifted async.
pub const START_FLAG_ASYNC_CALLEE: u32 = 1;

/// `result_count_or_max` of `prepare-call` for an async caller: results
/// through the return pointer (FACT's `PREPARE_ASYNC_WITH_RESULT`) or none
/// (`PREPARE_ASYNC_NO_RESULT`).
pub const PREPARE_ASYNC_WITH_RESULT: u32 = u32::MAX - 1;
pub const PREPARE_ASYNC_NO_RESULT: u32 = u32::MAX;

/// Why the runtime traps. Each is raised where wasmtime 48 raises it; the
/// message is wasmtime's (`wasmtime_environ::Trap`), or for an invalid handle
/// the text of wasmtime's error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Trap {
    NoAsyncResult = 1,
    AsyncDeadlock,
    CannotBlockSyncTask,
    TaskCancelNotCancelled,
    TaskCancelOrReturnTwice,
    SubtaskCancelAfterTerminal,
    TaskReturnInvalid,
    WaitableSetDropHasWaiters,
    SubtaskDropNotResolved,
    BackpressureOverflow,
    UnsupportedCallbackCode,
    WaitableSyncAndAsync,
    /// A handle that is not in the instance's table.
    UnknownHandle,
    /// A handle of the wrong kind for the built-in.
    WrongHandleKind,
    /// `waitable-set.drop` of a set that still has members.
    SetHasMembers,
    /// More than [`MAX_HANDLE`] handles, or the runtime's memory exhausted.
    Exhausted,
    /// A lower-level frame must be resumed before the top one can finish:
    /// one stack cannot do what wasmtime's fibers do (see `ASYNC.md`).
    StackOrder,
    /// A stream read or write of `2^28` or more elements.
    StreamOpTooBig,
    /// A read on a writable end, a write on a readable one, or a second
    /// operation while one is pending.
    ConcurrentStreamOp,
    /// A read after the writer's drop was reported.
    ReadAfterDropped,
    /// A write after the reader's drop was reported.
    WriteAfterDropped,
    /// A future read again after its value was read.
    FutureReadTwice,
    /// A future written again after its value was written (or its reader
    /// dropped).
    FutureWriteTwice,
    /// `cancel-read` / `cancel-write` with no read / write pending.
    CancelNothingPending,
    /// A stream or future built-in given the other end.
    WrongEnd,
    /// Dropping or passing an end whose operation is pending.
    BusyEnd,
    /// A future's writable end dropped before a value was written.
    FutureDropUnwritten,
    /// Passing a readable end after the writer's drop was reported.
    LiftAfterDropped,
    /// Passing an end that is in a waitable set.
    LiftInSet,
    /// Passing a future's readable end after its value was read.
    LiftFutureDone,
}

impl Trap {
    /// The message wasmtime gives (or, for what wasmtime reports as an
    /// error rather than a trap code, its text).
    pub fn message(self) -> &'static str {
        match self {
            Trap::NoAsyncResult => "async-lifted export failed to produce a result",
            Trap::AsyncDeadlock => "deadlock detected: event loop cannot make further progress",
            Trap::CannotBlockSyncTask => "cannot block a synchronous task before returning",
            Trap::TaskCancelNotCancelled => {
                "`task.cancel` called by task which has not been cancelled"
            }
            Trap::TaskCancelOrReturnTwice => {
                "`task.return` or `task.cancel` called more than once for current task"
            }
            Trap::SubtaskCancelAfterTerminal => {
                "`subtask.cancel` called after terminal status delivered"
            }
            Trap::TaskReturnInvalid => {
                "invalid `task.return` signature and/or options for current task"
            }
            Trap::WaitableSetDropHasWaiters => "cannot drop waitable set with waiters",
            Trap::SubtaskDropNotResolved => "cannot drop a subtask which has not yet resolved",
            Trap::BackpressureOverflow => "backpressure counter overflow",
            Trap::UnsupportedCallbackCode => "unsupported callback code",
            Trap::WaitableSyncAndAsync => {
                "waitable cannot be used synchronously while added to a waitable set"
            }
            Trap::UnknownHandle => "unknown handle index",
            Trap::WrongHandleKind => "handle has the wrong type",
            Trap::SetHasMembers => "cannot drop waitable set with members",
            Trap::Exhausted => "too many handles or tasks",
            Trap::StreamOpTooBig => "stream read/write count too large",
            Trap::ConcurrentStreamOp => {
                "cannot have concurrent operations active on a future/stream"
            }
            Trap::ReadAfterDropped => {
                "cannot read after being notified that the writable end dropped"
            }
            Trap::WriteAfterDropped => {
                "cannot write after being notified that the readable end dropped"
            }
            Trap::FutureReadTwice => "cannot read from future after previous read succeeded",
            Trap::FutureWriteTwice => {
                "cannot write to future after previous write succeeded or readable end dropped"
            }
            Trap::CancelNothingPending => {
                "stream or future read or write cancelled when none is pending"
            }
            Trap::WrongEnd => "passed the wrong end of a stream or future",
            Trap::BusyEnd => "cannot remove busy stream or future",
            Trap::FutureDropUnwritten => {
                "cannot drop future write end without first writing a value"
            }
            Trap::LiftAfterDropped => {
                "cannot lift stream or future after being notified that the writable end dropped"
            }
            Trap::LiftInSet => "cannot lift stream or future while it's in a waitable set",
            Trap::LiftFutureDone => "cannot lift future after previous read succeeded",
            Trap::StackOrder => {
                "a task suspended deeper on the stack must resume first (meld runs async code on one stack)"
            }
        }
    }
}
