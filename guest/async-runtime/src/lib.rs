//! Meld's component-model async runtime: the part of the fused module that
//! wasmtime's `concurrent.rs` is for the input. Per inner component
//! instance a handle table (shared with resources), backpressure and the
//! calls waiting to enter; per task its state, context slots and events;
//! waitable sets; a scheduler with wasmtime's two queues, run on one stack.
//!
//! `no_std`, no dependencies: `guest/build.rs` compiles this file with
//! rustc alone to a core module for `wasm32-unknown-unknown`, which the
//! planner links like the other intrinsics. Natively it is an ordinary
//! crate whose unit tests drive the runtime through a mock of the glue.
//!
//! Design and status: `guest/src/intrinsics/ASYNC.md`.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod codes;
pub mod driver;
pub mod fiber;
pub mod glue;
pub mod map;
pub mod outer;
pub mod slab;
pub mod state;
pub mod transmit;

#[cfg(all(not(test), target_arch = "wasm32"))]
mod wasm;

#[cfg(test)]
mod tests;

use state::State;

#[cfg(not(test))]
static mut STATE: Option<State> = None;

/// Runs `f` on the runtime's state. Never held across a call into guest
/// code (guest code calls back into the runtime).
#[cfg(not(test))]
pub fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    // SAFETY: the runtime runs on one thread, and no caller keeps the
    // reference beyond `f`, which makes no call into guest code.
    #[allow(static_mut_refs)]
    unsafe {
        f(STATE.as_mut().expect("the runtime is initialised"))
    }
}

/// Sets up the runtime for `instances` inner component instances, whose
/// handle tables are the resource runtime's when `shared`.
#[cfg(not(test))]
pub fn init(instances: u32, shared: bool) {
    #[allow(static_mut_refs)]
    unsafe {
        STATE = Some(State::new(instances, shared));
    }
}

#[cfg(test)]
std::thread_local! {
    static STATE: core::cell::RefCell<Option<State>> = const { core::cell::RefCell::new(None) };
}

/// Runs `f` on this test thread's runtime state (a `RefCell`: a borrow
/// held across a call into guest code would panic).
#[cfg(test)]
pub fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(s.borrow_mut().as_mut().expect("the runtime is initialised")))
}

/// Sets up this test thread's runtime for `instances` inner instances.
#[cfg(test)]
pub fn init(instances: u32) {
    STATE.with(|s| *s.borrow_mut() = Some(State::new(instances, false)));
}
