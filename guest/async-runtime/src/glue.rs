//! Calls from the runtime into the fused module: the per-adapter thunks
//! Meld generates (they know the adapter's signature, memories and
//! callee), the `task_may_block` global FACT's adapters read, and traps.
//!
//! In the fused module these are imports of the runtime's core module
//! (module `meld:async-glue`), resolved by the linker. In the native unit
//! tests they are a mock installed per test thread.

#[cfg(not(test))]
pub use imp::*;
#[cfg(test)]
pub use mock::*;

#[cfg(not(test))]
mod imp {
    #[link(wasm_import_module = "meld:async-glue")]
    unsafe extern "C" {
        fn start(adapter: u32, task: u32) -> u32;
        fn run_sync(adapter: u32, task: u32);
        fn callback(adapter: u32, task: u32, event: u32, handle: u32, payload: u32) -> u32;
        fn get_task_may_block() -> u32;
        fn host_set_new() -> u32;
        fn host_join(host: u32, set: u32);
        fn host_subtask_drop(host: u32);
        fn host_subtask_cancel(host: u32, async_: u32) -> u32;
        fn set_task_may_block(value: u32);
        fn trap(code: u32) -> !;
        fn handle_alloc(instance: u32) -> u32;
        fn host_wait(set: u32, ptr: *mut u32) -> u32;
        fn host_poll(set: u32, ptr: *mut u32) -> u32;
        fn handle_free(instance: u32, handle: u32);
        fn host_wake_new() -> u64;
        fn host_wake_read(readable: u32) -> u32;
        fn host_wake_write(writable: u32) -> u32;
        #[link_name = "unwind_set"]
        fn unwind_set_(state: u32, data: u32);
        #[link_name = "unwind_enabled"]
        fn unwind_enabled_() -> u32;
    }

    /// Sets the unwind pass's `state` and `data` globals (see
    /// [`crate::fiber`]).
    pub fn unwind_set(state: u32, data: u32) {
        unsafe { self::unwind_set_(state, data) }
    }
    /// Whether the fused module was instrumented by the unwind pass.
    pub fn unwind_enabled() -> bool {
        unsafe { self::unwind_enabled_() != 0 }
    }

    /// The wrapper's `stream.new` of its element-less wakeup stream:
    /// `writable << 32 | readable`.
    pub fn new_wake_stream() -> u64 {
        unsafe { host_wake_new() }
    }
    /// The wrapper's async `stream.read` of one element-less item (it
    /// blocks until [`write_wake`]).
    pub fn read_wake(readable: u32) {
        unsafe { host_wake_read(readable) };
    }
    /// The wrapper's async `stream.write` of one element-less item: it
    /// completes the pending read.
    pub fn write_wake(writable: u32) {
        unsafe { host_wake_write(writable) };
    }

    pub fn alloc_handle(instance: u32) -> u32 {
        unsafe { handle_alloc(instance) }
    }
    /// The wrapper's `waitable-set.wait` on host set `set`: `(code,
    /// handle, payload)`.
    pub fn wait_host(set: u32) -> (u32, u32, u32) {
        let mut out = [0u32; 2];
        let code = unsafe { host_wait(set, out.as_mut_ptr()) };
        (code, out[0], out[1])
    }
    /// The wrapper's `waitable-set.poll` of host set `set`: `(code,
    /// handle, payload)`, `code` NONE when no event is ready.
    pub fn poll_host(set: u32) -> (u32, u32, u32) {
        let mut out = [0u32; 2];
        let code = unsafe { host_poll(set, out.as_mut_ptr()) };
        (code, out[0], out[1])
    }
    pub fn free_handle(instance: u32, handle: u32) {
        unsafe { handle_free(instance, handle) }
    }

    pub fn call_start(adapter: u32, task: u32) -> u32 {
        unsafe { start(adapter, task) }
    }
    pub fn call_run_sync(adapter: u32, task: u32) {
        unsafe { run_sync(adapter, task) }
    }
    pub fn call_callback(adapter: u32, task: u32, event: u32, handle: u32, payload: u32) -> u32 {
        unsafe { callback(adapter, task, event, handle, payload) }
    }
    pub fn task_may_block() -> bool {
        unsafe { get_task_may_block() != 0 }
    }
    pub fn set_may_block(value: bool) {
        unsafe { set_task_may_block(value as u32) }
    }
    pub fn raise(code: crate::codes::Trap) -> ! {
        unsafe { trap(code as u32) }
    }
    pub fn new_host_set() -> u32 {
        unsafe { host_set_new() }
    }
    pub fn join_host(host: u32, set: u32) {
        unsafe { host_join(host, set) }
    }
    pub fn drop_host_subtask(host: u32) {
        unsafe { host_subtask_drop(host) }
    }
    pub fn cancel_host_subtask(host: u32, async_: bool) -> u32 {
        unsafe { host_subtask_cancel(host, async_ as u32) }
    }
}

#[cfg(test)]
mod mock {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    /// What a test's guest code does when the runtime calls it.
    pub trait Mock {
        /// A callback-lifted callee's first call: lower the parameters
        /// (the glue calls [`crate::driver::started`]), run, return the
        /// callback code.
        fn start(&self, adapter: u32, task: u32) -> u32;
        /// A sync-lifted callee started by an async lower.
        fn run_sync(&self, adapter: u32, task: u32);
        fn callback(&self, adapter: u32, task: u32, event: u32, handle: u32, payload: u32) -> u32;
    }

    thread_local! {
        static MOCK: RefCell<Option<Rc<dyn Mock>>> = const { RefCell::new(None) };
        static MAY_BLOCK: Cell<bool> = const { Cell::new(false) };
    }

    pub fn install(mock: Rc<dyn Mock>) {
        MOCK.with(|m| *m.borrow_mut() = Some(mock));
    }

    /// Runs `f` on the mock; no borrow is held while it runs, so that it
    /// can call the runtime (and, through it, itself) again.
    fn with_mock<R>(f: impl FnOnce(&dyn Mock) -> R) -> R {
        let mock = MOCK
            .with(|m| m.borrow().clone())
            .expect("a mock is installed");
        f(&*mock)
    }

    pub fn call_start(adapter: u32, task: u32) -> u32 {
        with_mock(|m| m.start(adapter, task))
    }
    pub fn call_run_sync(adapter: u32, task: u32) {
        with_mock(|m| m.run_sync(adapter, task))
    }
    pub fn call_callback(adapter: u32, task: u32, event: u32, handle: u32, payload: u32) -> u32 {
        with_mock(|m| m.callback(adapter, task, event, handle, payload))
    }
    pub fn task_may_block() -> bool {
        MAY_BLOCK.with(Cell::get)
    }
    pub fn set_may_block(value: bool) {
        MAY_BLOCK.with(|c| c.set(value))
    }
    pub fn raise(code: crate::codes::Trap) -> ! {
        std::panic::panic_any(code)
    }
    thread_local! {
        /// What the mock host did: `set-new`, `join h s`, `drop h`,
        /// `cancel h`.
        pub static HOST: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }
    pub fn new_host_set() -> u32 {
        HOST.with(|h| h.borrow_mut().push("set-new".into()));
        100
    }
    pub fn join_host(host: u32, set: u32) {
        HOST.with(|h| h.borrow_mut().push(format!("join {host} {set}")));
    }
    pub fn drop_host_subtask(host: u32) {
        HOST.with(|h| h.borrow_mut().push(format!("drop {host}")));
    }
    pub fn new_wake_stream() -> u64 {
        HOST.with(|h| h.borrow_mut().push("wake-new".into()));
        201 << 32 | 200
    }
    pub fn read_wake(readable: u32) {
        HOST.with(|h| h.borrow_mut().push(format!("wake-read {readable}")));
    }
    pub fn write_wake(writable: u32) {
        HOST.with(|h| h.borrow_mut().push(format!("wake-write {writable}")));
    }
    pub fn poll_host(set: u32) -> (u32, u32, u32) {
        HOST.with(|h| h.borrow_mut().push(format!("poll {set}")));
        (crate::codes::event::NONE, 0, 0)
    }
    pub fn wait_host(_set: u32) -> (u32, u32, u32) {
        // Test-only mock: no unit test makes a host subtask, so
        // `host_pending` never returns a set to wait on.
        unreachable!("no host subtask waits in the unit tests")
    }
    /// The unit tests use the runtime's own handle tables.
    pub fn alloc_handle(_instance: u32) -> u32 {
        // Test-only mock: `init` in the unit tests passes `shared = false`,
        // so `Handles` never calls the glue.
        unreachable!("handle tables are not shared in the unit tests")
    }
    pub fn free_handle(_instance: u32, _handle: u32) {
        // Test-only mock: `init` in the unit tests passes `shared = false`,
        // so `Handles` never calls the glue.
        unreachable!("handle tables are not shared in the unit tests")
    }
    pub fn cancel_host_subtask(host: u32, _async: bool) -> u32 {
        HOST.with(|h| h.borrow_mut().push(format!("cancel {host}")));
        crate::codes::status::RETURN_CANCELLED
    }
    thread_local! {
        /// Whether the scripted guest code can unwind (an instrumented
        /// module), and the unwind pass's state it would see.
        static UNWIND: Cell<(bool, u32)> = const { Cell::new((false, 0)) };
    }
    /// Lets tasks suspend: the test's scripts act as instrumented code
    /// (see `tests.rs`).
    pub fn enable_unwind() {
        UNWIND.with(|u| u.set((true, 0)));
    }
    /// The state instrumented code would read.
    pub fn unwind_state() -> u32 {
        UNWIND.with(|u| u.get().1)
    }
    pub fn unwind_enabled() -> bool {
        UNWIND.with(|u| u.get().0)
    }
    pub fn unwind_set(state: u32, data: u32) {
        assert!(state == 0 || data != 0, "a buffer to unwind into");
        UNWIND.with(|u| u.set((true, state)));
    }
}
