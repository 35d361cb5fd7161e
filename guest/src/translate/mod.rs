//! Stage 1, **translate**: validate the input and flatten it into wasmtime's
//! instance graph.
//!
//! `wasmtime_environ::component::Translator` validates the component, inlines
//! nested components, instances and aliases into an ordered list of
//! [`GlobalInitializer`]s, and compiles a FACT adapter module for every inner
//! lift→lower pair. Those adapter modules come back beside the input's own
//! core modules, as plain wasm bytes.
//!
//! Before translation, [`preflight`] classifies input that is not a component
//! at all (empty, not wasm, a core module, truncated) so that each kind gets
//! its own diagnostic code.

pub mod boundary;
mod features;

use crate::diagnostics::{Code, Diagnostic};
use crate::sig::CoreSig;
use std::collections::HashMap;
use wasmparser::{Encoding, Parser, Payload, Validator, WasmFeatures};
use wasmtime_environ::component::ExportIndex;
use wasmtime_environ::component::{
    Component, ComponentTypes, ComponentTypesBuilder, Trampoline, TrampolineIndex, Translator,
};
use wasmtime_environ::{PrimaryMap, ScopeVec, StaticModuleIndex, Tunables};

/// The flattened input: the instance graph, its types, and the bytes of every
/// core module it instantiates (the input's own modules and FACT adapters).
pub struct Translation {
    /// Initializers, imports, exports and canonical options of the input.
    pub component: Component,
    /// Component-level trampolines (`canon lower` of imports, transcoders, ...)
    /// referred to by `CoreDef::Trampoline`.
    pub trampolines: PrimaryMap<TrampolineIndex, Trampoline>,
    /// Interface types referred to by `component`.
    pub types: ComponentTypes,
    /// Bytes of each static core module, indexed like `StaticModuleIndex`.
    pub modules: PrimaryMap<StaticModuleIndex, Vec<u8>>,
    /// Per static module: whether FACT compiled it (an adapter module; the
    /// input's own modules have their offset in the input, FACT's none).
    pub fact: PrimaryMap<StaticModuleIndex, bool>,
    /// FACT adapters for outer imports and exports that carry handles.
    pub boundary: boundary::Boundary,
    /// The input uses component-model async: translated with
    /// `concurrency_support`, linked with the async runtime.
    pub concurrency: bool,
    /// The byte offset of the input's first use of component-model async.
    pub async_offset: Option<u64>,
    /// `task.return`'s core signature for each export lifted with the async
    /// ABI.
    pub task_returns: HashMap<ExportIndex, CoreSig>,
}

/// Tunables used for translation, identical on every host.
///
/// `Tunables::default_host()` differs between 64-bit and 32-bit hosts; Meld runs
/// natively (64-bit) and as a wasm32 guest and must produce the same bytes on
/// both, so the 64-bit defaults are used everywhere. Only two fields influence
/// the FACT adapters: `debug_adapter_modules` (off) and `concurrency_support`,
/// on only for input that uses component-model async (`concurrency`): with
/// it, FACT's adapters track tasks, context slots and `task_may_block`
/// around every call (wasmtime-environ `fact/trampoline.rs`), which a
/// synchronous composition does not need.
pub fn tunables(concurrency: bool) -> Tunables {
    let mut t = Tunables::default_u64();
    t.debug_adapter_modules = false;
    t.concurrency_support = concurrency;
    t
}

/// The wasm features Meld accepts. Component-model async and threading are
/// accepted by the validator only so that they can be refused with their own
/// diagnostics (E0007, E0006) rather than called invalid.
pub fn features() -> WasmFeatures {
    let mut f = WasmFeatures::default();
    f |= WasmFeatures::MULTI_MEMORY
        | WasmFeatures::COMPONENT_MODEL
        | WasmFeatures::CM_ASYNC
        | WasmFeatures::CM_MORE_ASYNC_BUILTINS
        | WasmFeatures::CM_ASYNC_STACKFUL
        | WasmFeatures::CM_ERROR_CONTEXT
        | WasmFeatures::CM_THREADING
        | WasmFeatures::CM_FIXED_LENGTH_LISTS
        | WasmFeatures::CM_MAP
        | WasmFeatures::CM_IMPLEMENTS;
    f
}

/// Classifies input that cannot be a component before running the validator.
///
/// # Errors
/// E0001 for empty input, E0002 when the header is not wasm, E0003 for a core
/// module, E0004 when the binary ends inside a section.
pub fn preflight(input: &[u8]) -> Result<(), Diagnostic> {
    if input.is_empty() {
        return Err(Diagnostic::error(
            Code::EmptyInput,
            "the input is empty; expected a component binary",
        ));
    }
    if input.len() < 8 || &input[0..4] != b"\0asm" {
        return Err(Diagnostic::error(
            Code::NotWasm,
            "the input is not WebAssembly: it does not start with the `\\0asm` magic and a version",
        )
        .at(0));
    }
    let mut parser = Parser::new(0);
    let mut offset = 0usize;
    loop {
        let before = parser.clone();
        match parser.parse(&input[offset..], true) {
            Ok(wasmparser::Chunk::Parsed { consumed, payload }) => {
                match &payload {
                    Payload::Version {
                        encoding: Encoding::Module,
                        ..
                    } => {
                        return Err(Diagnostic::error(
                            Code::CoreModule,
                            "the input is a core module, not a component",
                        )
                        .at(0)
                        .note("wrap it first, e.g. `wasm-tools component new module.wasm -o component.wasm`"));
                    }
                    Payload::ModuleSection {
                        unchecked_range, ..
                    }
                    | Payload::ComponentSection {
                        unchecked_range, ..
                    } => {
                        // Nested items are skipped here; the validator reads them.
                        offset += consumed;
                        let len = unchecked_range.end - unchecked_range.start;
                        if offset + len > input.len() {
                            return Err(truncated(input.len()));
                        }
                        offset += len;
                        continue;
                    }
                    Payload::End(_) => return Ok(()),
                    _ => {}
                }
                offset += consumed;
            }
            Ok(wasmparser::Chunk::NeedMoreData(_)) => return Err(truncated(input.len())),
            Err(e) => {
                // The same bytes read as a stream that may go on: if the
                // parser only wants more data, the binary is cut short.
                let mut streaming = before;
                if let Ok(wasmparser::Chunk::NeedMoreData(_)) =
                    streaming.parse(&input[offset..], false)
                {
                    return Err(truncated(input.len()));
                }
                // A header that is not a known version, or a malformed section
                // header: classify as not-wasm at offset 0, invalid elsewhere.
                if e.offset() < 8 {
                    return Err(Diagnostic::error(
                        Code::NotWasm,
                        format!(
                            "the input is not a WebAssembly binary Meld can read: {}",
                            e.message()
                        ),
                    )
                    .at(e.offset() as u64));
                }
                return Err(invalid(&e));
            }
        }
    }
}

/// E0006 for strings in 64-bit memories, which the transcoders (and FACT's
/// 32-bit adapters Meld links) do not handle.
pub fn memory64_strings_unsupported() -> Diagnostic {
    Diagnostic::error(
        Code::Unsupported,
        "unsupported: strings in 64-bit memories (memory64)",
    )
}

fn truncated(len: usize) -> Diagnostic {
    Diagnostic::error(
        Code::Truncated,
        "the input is truncated: it ends in the middle of a section",
    )
    .at(len as u64)
}

fn invalid(e: &wasmparser::BinaryReaderError) -> Diagnostic {
    Diagnostic::error(
        Code::Invalid,
        format!(
            "the input is not a valid component: {}",
            stable_message(e.message())
        ),
    )
    .at(e.offset() as u64)
}

/// The validator's `message` without the resource ids it ends with
/// (`resource types are not the same (ResourceId { globally_unique_id: N,
/// .. } vs. ..)`): they count validators per process, so leaving them in
/// would make the same input give different diagnostics in one process.
fn stable_message(message: &str) -> &str {
    message
        .find(" (ResourceId")
        .map_or(message, |at| &message[..at])
}

/// What [`validate_input`] learnt about a valid input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validated {
    /// Whether the input needs the exception-handling proposal: it does not
    /// validate without it.
    pub needs_exceptions: bool,
}

/// Classifies and validates `input` (E0001–E0005), before anything else:
/// invalid input is reported as such whatever features it uses.
///
/// Valid input is validated once without exception handling (most input
/// needs none, and [`translate`] then compiles leaner adapters) and only
/// when that fails with every feature Meld accepts.
///
/// # Errors
/// As [`preflight`], and E0005 with the validator's message and offset.
pub fn validate_input(input: &[u8]) -> Result<Validated, Diagnostic> {
    preflight(input)?;
    if Validator::new_with_features(lean_features())
        .validate_all(input)
        .is_ok()
    {
        return Ok(Validated {
            needs_exceptions: false,
        });
    }
    Validator::new_with_features(features())
        .validate_all(input)
        .map_err(|e| invalid(&e))?;
    Ok(Validated {
        needs_exceptions: true,
    })
}

/// Every feature Meld accepts but exception handling.
fn lean_features() -> WasmFeatures {
    features().difference(WasmFeatures::EXCEPTIONS | WasmFeatures::LEGACY_EXCEPTIONS)
}

/// Validates and translates `input`.
///
/// Input that validates without the exception-handling feature
/// ([`validate_input`]) is translated without it: FACT then emits no
/// exception barriers, so the adapters are smaller and the output does not
/// require exceptions from its host. Only input that needs exceptions is
/// translated with them.
///
/// `output` decides which outer functions get boundary adapters (see
/// [`boundary`]): those with handles for component output, all of them for
/// core output.
///
/// # Errors
/// E0005 for an invalid component (with the validator's message and offset).
pub fn translate(input: &[u8], output: crate::Output) -> Result<Translation, Diagnostic> {
    // The translator validates again, cheaply; see `validate_input`.
    let validated = validate_input(input)?;
    let async_use = features::first_async_use(input)?;
    let features = if validated.needs_exceptions {
        features()
    } else {
        lean_features()
    };
    // What of async is not fused yet is refused by the planner, each case
    // with its own message; a translation error of async input is reported
    // at the input's first async use.
    let mut t =
        translate_with(input, features, output, async_use.is_some()).map_err(
            |e| match async_use {
                Some(u) if !e.code.is_async() => u.refusal().note(e.message),
                _ => e,
            },
        )?;
    t.async_offset = async_use.map(|u| u.offset as u64);
    Ok(t)
}

fn translate_with(
    input: &[u8],
    features: WasmFeatures,
    output: crate::Output,
    concurrency: bool,
) -> Result<Translation, Diagnostic> {
    let tunables = tunables(concurrency);
    let scope = ScopeVec::new();
    let mut validator = Validator::new_with_features(features);
    let mut types = ComponentTypesBuilder::new(&validator);
    let (translation, modules) = Translator::new(&tunables, &mut validator, &mut types, &scope)
        .translate(input)
        .map_err(
            |e| match e.downcast_ref::<wasmparser::BinaryReaderError>() {
                Some(b) => invalid(b),
                // Valid input the translator has no implementation for (e.g.
                // an imported function exported again as it is).
                None if format!("{e:#}").contains("not implemented") => Diagnostic::error(
                    Code::Unsupported,
                    format!("unsupported: {e:#}"),
                )
                .note("Meld translates components with wasmtime's translator, which does not implement this"),
                None => Diagnostic::error(
                    Code::Invalid,
                    format!("the input is not a valid component: {e:#}"),
                ),
            },
        )?;
    let fact = modules
        .iter()
        .map(|(_, m)| m.wasm_module_offset == 0)
        .collect();
    let modules = modules.into_iter().map(|(_, m)| m.wasm.to_vec()).collect();
    // Boundary adapters are sync→sync between the wrapper and an inner
    // instance: the task of an outer call is the async runtime's entry's,
    // so they track none (FACT's lean shape).
    let boundary = boundary::compile(
        &translation.component,
        &translation.trampolines,
        &mut types,
        &mut validator,
        &self::tunables(false),
        features,
        output,
    )?;
    let task_returns = task_return_sigs(&translation.component, &types)?;
    let (types, _) = types.finish(&translation.component);
    Ok(Translation {
        component: translation.component,
        trampolines: translation.trampolines,
        types,
        modules,
        fact,
        boundary,
        concurrency,
        async_offset: None,
        task_returns,
    })
}

/// The core signature of `task.return` for each export lifted with the
/// async ABI: its results flattened (canonical ABI `flatten_functype`,
/// 'lower' of `task.return`'s parameters: at most 16 flat values, else one
/// pointer), as the wrapper's `canon task.return` takes them.
fn task_return_sigs(
    c: &Component,
    types: &ComponentTypesBuilder,
) -> Result<HashMap<ExportIndex, CoreSig>, Diagnostic> {
    use wasmtime_environ::component::{Export, FlatType, MAX_FLAT_PARAMS};
    let mut out = HashMap::new();
    for (export, item) in c.export_items.iter() {
        let Export::LiftedFunction { ty, options, .. } = item else {
            continue;
        };
        if !c.options[*options].async_ {
            continue;
        }
        let results = types[types[*ty].results].types.clone();
        let mut flat = Vec::new();
        let mut fits = true;
        for r in results.iter() {
            match types.flat_types(r) {
                Some(f) => flat.extend(f.memory32.iter().map(|t| match t {
                    FlatType::I32 => wasm_encoder::ValType::I32,
                    FlatType::I64 => wasm_encoder::ValType::I64,
                    FlatType::F32 => wasm_encoder::ValType::F32,
                    FlatType::F64 => wasm_encoder::ValType::F64,
                })),
                None => fits = false,
            }
        }
        if !fits || flat.len() > MAX_FLAT_PARAMS {
            flat = vec![wasm_encoder::ValType::I32];
        }
        out.insert(export, CoreSig::new(flat, Vec::new()));
    }
    Ok(out)
}
