//! Meld: static fusion of WebAssembly components.
//!
//! [`fuse`] takes the bytes of a component — usually a composition of several
//! inner components — and returns a component with the same outer world whose
//! program code is one core module. The pipeline, one module per stage:
//!
//! ```text
//! bytes ─▶ translate ─▶ link ─▶ intrinsics ─▶ wrap ─▶ validate ─▶ bytes
//! ```
//!
//! - [`translate`]: validation and flattening by `wasmtime-environ`, with the
//!   FACT adapter modules it compiles for every inner lift→lower pair;
//! - [`link`]: every core instance (inner modules, adapters, intrinsics) merged
//!   into one module;
//! - [`intrinsics`]: instance flags, `trap`, string transcoders, host stubs;
//! - [`wrap`]: the component around the fused module, re-declaring the input's
//!   world;
//! - [`validate`]: the output is validated before it is returned.

pub mod diagnostics;
pub mod inspect;
pub mod intrinsics;
pub mod link;
pub mod translate;
pub mod validate;
pub mod wrap;

#[cfg(target_arch = "wasm32")]
mod component;

pub use diagnostics::{Code, Diagnostic, Diagnostics, Severity};

/// Fuses the component `input` into a component whose program code is one core
/// module, with the same outer imports and exports.
///
/// Deterministic: the same input gives the same bytes on every host.
///
/// # Errors
/// Diagnostics (never a panic) for input that is not a valid component
/// (E0001–E0005), uses a feature Meld does not fuse yet (E0006–E0010), or —
/// a bug — when the produced output fails validation (E0100).
pub fn fuse(input: &[u8]) -> Result<Vec<u8>, Diagnostics> {
    fuse_one(input).map_err(|d| vec![d])
}

fn fuse_one(input: &[u8]) -> Result<Vec<u8>, Diagnostic> {
    let translation = translate::translate(input)?;
    // The outer world, decoded as WIT. A component with no imports whose
    // exports are not WIT (top-level type exports) is re-declared from the
    // translated types instead.
    let world = match wrap::world::World::of(input) {
        Ok(world) => Some(world),
        Err(_) if !wrap::world::has_imports(input) => None,
        Err(d) => return Err(d),
    };
    let graph = link::graph::build(&translation)?;
    let fused = link::merge::merge(&graph.plan).map_err(|e| {
        Diagnostic::error(Code::Internal, format!("internal error while linking: {e}"))
    })?;
    // The fused module is validated as part of the output component: once.
    let output = wrap::wrap(&translation, &graph, &fused, world.as_ref())?;
    validate::validate(&output, "component")?;
    Ok(output)
}
