//! The runtime as a core module: its exports (what the glue, the built-in
//! shims and FACT's async imports call), its allocator and its panic
//! handler. Export names are the contract with the planner.

use core::alloc::{GlobalAlloc, Layout};

use crate::driver::*;
use crate::outer::*;
use crate::state::Call;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Power-of-two size classes with free lists, bump-allocated from
/// `__heap_base` upwards, growing memory by whole pages.
struct Heap;

const CLASSES: usize = 32;
static mut FREE: [usize; CLASSES] = [0; CLASSES];
static mut BUMP: usize = 0;
static mut END: usize = 0;

unsafe extern "C" {
    static __heap_base: u8;
}

unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let size = layout.size().max(layout.align()).max(8).next_power_of_two();
        let class = size.trailing_zeros() as usize;
        // SAFETY: one thread; the free lists hold blocks this allocator
        // handed out, each starting with the next block's address.
        unsafe {
            if FREE[class] != 0 {
                let p = FREE[class];
                FREE[class] = *(p as *const usize);
                return p as *mut u8;
            }
            if BUMP == 0 {
                BUMP = &raw const __heap_base as usize;
                END = core::arch::wasm32::memory_size(0) * 65536;
            }
            let p = (BUMP + size - 1) & !(size - 1);
            if p + size > END {
                let pages = (p + size - END).div_ceil(65536);
                if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
                    return core::ptr::null_mut();
                }
                END += pages * 65536;
            }
            BUMP = p + size;
            p as *mut u8
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        let size = layout.size().max(layout.align()).max(8).next_power_of_two();
        let class = size.trailing_zeros() as usize;
        // SAFETY: `p` is a block of this class, no longer used.
        unsafe {
            *(p as *mut usize) = FREE[class];
            FREE[class] = p as usize;
        }
    }
}

#[global_allocator]
static HEAP: Heap = Heap;

#[unsafe(export_name = "init")]
extern "C" fn export_init(instances: u32, shared: u32) {
    crate::init(instances, shared != 0)
}

#[unsafe(export_name = "prepare-call")]
extern "C" fn export_prepare_call(
    adapter: u32,
    flags: u32,
    return_sig: u32,
    return_memory: u32,
    caller: u32,
    callee: u32,
) -> u32 {
    // flags: bit 0 the function type is async, bit 1 lifted with a
    // callback, bit 2 the caller lowered sync.
    let call = Call {
        adapter,
        async_function: flags & 1 != 0,
        callback: flags & 2 != 0,
        return_sig,
        return_memory,
    };
    prepare_call(call, caller, callee, flags & 4 != 0)
}

#[unsafe(export_name = "params")]
extern "C" fn export_params(task: u32) -> *mut u64 {
    params(task)
}

#[unsafe(export_name = "async-start")]
extern "C" fn export_async_start() -> u32 {
    async_start_prepared()
}

#[unsafe(export_name = "sync-start")]
extern "C" fn export_sync_start() -> u64 {
    sync_start_prepared()
}

#[unsafe(export_name = "host-call-begin")]
extern "C" fn export_host_call_begin(instance: u32, async_function: u32) -> u32 {
    host_call_begin(instance, async_function != 0)
}

#[unsafe(export_name = "outer-start")]
extern "C" fn export_outer_start(
    instance: u32,
    adapter: u32,
    return_sig: u32,
    return_memory: u32,
) -> u32 {
    outer_start(instance, adapter, return_sig, return_memory)
}

#[unsafe(export_name = "outer-run")]
extern "C" fn export_outer_run(task: u32) -> u32 {
    outer_run(task)
}

#[unsafe(export_name = "outer-drive")]
extern "C" fn export_outer_drive(task: u32, event: u32, handle: u32, payload: u32) -> u32 {
    outer_drive(task, event, handle, payload)
}

#[unsafe(export_name = "host-subtask")]
extern "C" fn export_host_subtask(instance: u32, status: u32) -> u32 {
    host_subtask(instance, status)
}

#[unsafe(export_name = "host-call-end")]
extern "C" fn export_host_call_end() {
    host_call_end()
}

#[unsafe(export_name = "started")]
extern "C" fn export_started(task: u32) {
    started(task)
}

#[unsafe(export_name = "sync-callee-returned")]
extern "C" fn export_sync_callee_returned(task: u32) {
    sync_callee_returned(task)
}

#[unsafe(export_name = "sync-callee-done")]
extern "C" fn export_sync_callee_done(task: u32) {
    sync_callee_done(task)
}

#[unsafe(export_name = "set-result")]
extern "C" fn export_set_result(task: u32, value: u64) {
    set_result(task, value)
}

#[unsafe(export_name = "task-return-begin")]
extern "C" fn export_task_return_begin(sig: u32, memory: u32) -> u32 {
    task_return_begin(sig, memory)
}

#[unsafe(export_name = "task-return-end")]
extern "C" fn export_task_return_end(task: u32) {
    task_return_end(task)
}

#[unsafe(export_name = "adapter-of")]
extern "C" fn export_adapter_of(task: u32) -> u32 {
    adapter_of(task)
}

#[unsafe(export_name = "task.cancel")]
extern "C" fn export_task_cancel() {
    task_cancel()
}

#[unsafe(export_name = "backpressure.inc")]
extern "C" fn export_backpressure_inc(instance: u32) {
    backpressure(instance, true)
}

#[unsafe(export_name = "backpressure.dec")]
extern "C" fn export_backpressure_dec(instance: u32) {
    backpressure(instance, false)
}

#[unsafe(export_name = "thread.yield")]
extern "C" fn export_thread_yield(cancellable: u32) -> u32 {
    thread_yield(cancellable != 0)
}

#[unsafe(export_name = "context.get")]
extern "C" fn export_context_get(slot: u32) -> u32 {
    context_get(slot)
}

#[unsafe(export_name = "context.set")]
extern "C" fn export_context_set(slot: u32, value: u32) {
    context_set(slot, value)
}

#[unsafe(export_name = "enter-sync-call")]
extern "C" fn export_enter_sync_call() {
    enter_sync_call()
}

#[unsafe(export_name = "exit-sync-call")]
extern "C" fn export_exit_sync_call() {
    exit_sync_call()
}

#[unsafe(export_name = "waitable-set.new")]
extern "C" fn export_waitable_set_new(instance: u32) -> u32 {
    waitable_set_new(instance)
}

#[unsafe(export_name = "waitable-set.drop")]
extern "C" fn export_waitable_set_drop(instance: u32, set: u32) {
    waitable_set_drop(instance, set)
}

#[unsafe(export_name = "waitable.join")]
extern "C" fn export_waitable_join(instance: u32, waitable: u32, set: u32) {
    waitable_join(instance, waitable, set)
}

#[unsafe(export_name = "waitable-set.wait")]
extern "C" fn export_waitable_set_wait(instance: u32, set: u32, cancellable: u32) -> u32 {
    waitable_set_wait(instance, set, cancellable != 0)
}

#[unsafe(export_name = "waitable-set.poll")]
extern "C" fn export_waitable_set_poll(instance: u32, set: u32, cancellable: u32) -> u32 {
    waitable_set_poll(instance, set, cancellable != 0)
}

#[unsafe(export_name = "event-out")]
extern "C" fn export_event_out() -> *const u32 {
    event_out()
}

#[unsafe(export_name = "subtask.drop")]
extern "C" fn export_subtask_drop(instance: u32, subtask: u32) {
    subtask_drop(instance, subtask)
}

#[unsafe(export_name = "subtask.cancel")]
extern "C" fn export_subtask_cancel(instance: u32, subtask: u32, async_: u32) -> u32 {
    subtask_cancel(instance, subtask, async_ != 0)
}

#[unsafe(export_name = "run")]
extern "C" fn export_run() {
    run_all();
}

#[unsafe(export_name = "transmit-table")]
extern "C" fn export_transmit_table(ty: u32, instance: u32) {
    crate::transmit::register_table(ty, instance)
}

#[unsafe(export_name = "transmit.new")]
extern "C" fn export_transmit_new(ty: u32) -> u64 {
    crate::transmit::new(ty)
}

#[unsafe(export_name = "transmit.copy")]
extern "C" fn export_transmit_copy(ty: u32, handle: u32, addr: u32, count: u32, flags: u32) -> u32 {
    // flags: bit 0 a write, bit 1 async.
    crate::transmit::copy(ty, handle, addr, count, flags & 1 != 0, flags & 2 != 0)
}

#[unsafe(export_name = "transmit.cancel")]
extern "C" fn export_transmit_cancel(ty: u32, handle: u32, flags: u32) -> u32 {
    // flags: bit 0 cancel-write, bit 1 async.
    crate::transmit::cancel(ty, handle, flags & 1 != 0, flags & 2 != 0)
}

#[unsafe(export_name = "transmit.drop")]
extern "C" fn export_transmit_drop(ty: u32, handle: u32, writable: u32) {
    crate::transmit::drop_end(ty, handle, writable != 0)
}

#[unsafe(export_name = "transmit.transfer")]
extern "C" fn export_transmit_transfer(handle: u32, src: u32, dst: u32) -> u32 {
    crate::transmit::transfer(handle, src, dst)
}

#[unsafe(export_name = "lift-pending")]
extern "C" fn export_lift_pending(task: u32) -> u32 {
    u32::from(lift_pending(task))
}

#[unsafe(export_name = "set-scope")]
extern "C" fn export_set_scope(task: u32, scope: u32) {
    set_scope(task, scope)
}

#[unsafe(export_name = "take-scope")]
extern "C" fn export_take_scope() -> u32 {
    // Parked scopes have the top bit set: 0 is none.
    take_scope().unwrap_or(0)
}
