//! Meld: static fusion of WebAssembly components.
//!
//! [`fuse`] takes the bytes of a component — usually a composition of several
//! inner components — and returns a component with the same outer world whose
//! program code is one core module. The pipeline, as it runs:
//!
//! ```text
//! bytes ─▶ translate ─▶ plan ─▶ merge (devirt, listcopy, live, unwind) ─▶ wrap ─▶ validate ─▶ bytes
//!                        │
//!                   intrinsics (the library of runtime modules the plan uses)
//! ```
//!
//! - [`translate`]: validation and flattening by `wasmtime-environ`, with the
//!   FACT adapter modules it compiles for every inner lift→lower pair;
//! - [`link`]: the planner ([`link::planner`]) lists every core instance (inner
//!   modules, adapters, and the [`intrinsics`] it pulls in: instance flags,
//!   `trap`, string transcoders, host stubs, the resource runtime) with what
//!   satisfies each import; [`link::merge`] re-encodes them into one module,
//!   with passes of its own: devirtualisation (calls through the host
//!   table that can be direct), plain-data list copies as `memory.copy`
//!   ([`link::listcopy`]), dead-code removal and, for async
//!   compositions, the unwind pass ([`link::unwind`]: tasks that block
//!   unwind their stacks and are rewound later);
//! - [`wrap`]: the component around the fused module, re-declaring the input's
//!   world (or, for core output, the build target's names);
//! - [`validate`]: the output is validated before it is returned.

pub mod diagnostics;
pub mod inspect;
pub mod intrinsics;
pub mod link;
pub mod sig;
pub mod translate;
pub mod validate;
pub mod wrap;

#[cfg(target_arch = "wasm32")]
mod component;

pub use diagnostics::{Code, Diagnostic, Diagnostics, Severity};

/// What [`fuse_with`] produces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Output {
    /// A component with the input's outer world whose program code is one
    /// core module (the default).
    #[default]
    Component,
    /// One core module in the component model's `wasm32` build target
    /// (`design/mvp/BuildTargets.md`): the world's functions imported and
    /// exported under `cm32p2|…` names, one host-facing memory
    /// `cm32p2_memory`, `cm32p2_realloc`, `cm32p2_initialize`, `utf8`
    /// strings, and the world embedded as a `component-type` custom section
    /// (so `wasm-tools component new` turns it back into a component).
    Core,
}

/// Options of [`fuse_with`]; more may come (build with
/// [`Options::with_output`] or from [`Options::default`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Options {
    /// The kind of output.
    pub output: Output,
}

impl Options {
    /// The default options, with output `output`.
    pub fn with_output(output: Output) -> Self {
        Options { output }
    }
}

/// Fuses the component `input` into a component whose program code is one core
/// module, with the same outer imports and exports: [`fuse_with`] and the
/// default [`Options`].
///
/// Deterministic: the same input gives the same bytes on every host.
///
/// # Errors
/// Diagnostics (never a panic) for input that is not a valid component
/// (E0001–E0005), uses a feature Meld does not fuse yet (E0006–E0010), is
/// too large to fuse into one module (E0011: more memories, tables, … than
/// WebAssembly implementations accept), or — a bug — when the produced
/// output fails validation (E0100).
pub fn fuse(input: &[u8]) -> Result<Vec<u8>, Diagnostics> {
    fuse_with(input, &Options::default())
}

/// Fuses the component `input` into the output `options` asks for: a
/// component ([`Output::Component`]) or a core module in the `wasm32` build
/// target ([`Output::Core`]).
///
/// Deterministic: the same input and options give the same bytes on every
/// host.
///
/// # Errors
/// As [`fuse`], with the same diagnostics for both outputs; core output of a
/// component whose outer world is not WIT is E0010.
pub fn fuse_with(input: &[u8], options: &Options) -> Result<Vec<u8>, Diagnostics> {
    fuse_one(input, options.output).map_err(|d| vec![d])
}

fn fuse_one(input: &[u8], output: Output) -> Result<Vec<u8>, Diagnostic> {
    let translation = translate::translate(input, output)?;
    // The outer world, decoded as WIT. A component with no imports whose
    // exports are not WIT (top-level type exports) is re-declared from the
    // translated types instead (component output only: the core output's
    // names come from the world).
    let world = match wrap::world::World::of(input) {
        Ok(world) => Some(world),
        Err(_) if !wrap::world::has_imports(input) && output == Output::Component => None,
        Err(d) => return Err(d),
    };
    let planned = link::planner::plan(&translation, output).map_err(|d| {
        // What of async is refused is found in the translated graph, which
        // has no offsets: point at the input's first use of async.
        match translation.async_offset {
            Some(at) if d.code.is_async() && d.offset.is_none() => d
                .at(at)
                .note("the offset is the input's first use of component-model async"),
            _ => d,
        }
    })?;
    let fused = link::merge::merge(&planned.plan).map_err(|e| match e {
        link::merge::LinkError::Limit { .. } => Diagnostic::error(
            Code::ImplementationLimit,
            format!("the input is too large to fuse into one core module: {e}"),
        )
        .note("every core instance keeps its own memories, tables and segments: a module instantiated N times brings N copies")
        .note("the limits are the JS API's (https://webassembly.github.io/spec/js-api/#limits), which wasmparser and browsers enforce"),
        e => Diagnostic::error(Code::Internal, format!("internal error while linking: {e}")),
    })?;
    match (output, world) {
        (Output::Component, world) => {
            // The fused module is validated as part of the output component: once.
            let output = wrap::wrap(&translation, &planned, &fused, world.as_ref())?;
            validate::validate(&output, "component")?;
            Ok(output)
        }
        (Output::Core, Some(world)) => {
            let output = wrap::core::wrap(&translation, &planned, &fused, &world)?;
            validate::validate(&output, "core module")?;
            Ok(output)
        }
        (Output::Core, None) => Err(Diagnostic::error(
            Code::Internal,
            "internal error: core output without a world",
        )),
    }
}
