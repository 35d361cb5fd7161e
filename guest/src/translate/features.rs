//! Finds uses of component-model features Meld refuses, before translation.
//!
//! Component-model async must be refused before `wasmtime-environ` compiles
//! adapters: with `concurrency_support` off (see [`super::tunables`]) FACT
//! asserts that no adapter is async. So every level of the input (nested
//! components included) is scanned for async function types, `stream` /
//! `future` / `error-context` types, async canonical options and the
//! canonical built-ins of async and threads.

use crate::diagnostics::{Code, Diagnostic};
use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentDefinedType, ComponentType,
    ComponentTypeDeclaration, InstanceTypeDeclaration, Parser, Payload, PrimitiveValType,
};

/// Returns E0007 (async) or E0006 (threads) for the first such use, with its
/// byte offset. Input that does not parse is left to the validator.
pub fn refuse_unsupported(input: &[u8]) -> Result<(), Diagnostic> {
    for payload in Parser::new(0).parse_all(input) {
        let Ok(payload) = payload else { return Ok(()) };
        match payload {
            Payload::ComponentTypeSection(s) => {
                for ty in s.into_iter_with_offsets() {
                    let Ok((offset, ty)) = ty else { return Ok(()) };
                    if let Some(what) = async_in_type(&ty) {
                        return Err(async_at(what, offset));
                    }
                }
            }
            Payload::ComponentCanonicalSection(s) => {
                for f in s.into_iter_with_offsets() {
                    let Ok((offset, f)) = f else { return Ok(()) };
                    check_canonical(&f, offset)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn async_at(what: &str, offset: usize) -> Diagnostic {
    Diagnostic::error(
        Code::UnsupportedAsync,
        format!("unsupported: component-model async ({what})"),
    )
    .at(offset as u64)
    .note("Meld fuses synchronous compositions; async support is planned")
}

fn check_canonical(f: &CanonicalFunction, offset: usize) -> Result<(), Diagnostic> {
    use CanonicalFunction as C;
    let async_options = |options: &[CanonicalOption]| {
        options
            .iter()
            .any(|o| matches!(o, CanonicalOption::Async | CanonicalOption::Callback(_)))
    };
    match f {
        C::Lift { options, .. } | C::Lower { options, .. } => {
            if async_options(options) {
                return Err(async_at("an async `canon lift` or `canon lower`", offset));
            }
            Ok(())
        }
        C::ResourceNew { .. } | C::ResourceDrop { .. } | C::ResourceRep { .. } => Ok(()),
        C::ThreadSpawnRef { .. }
        | C::ThreadSpawnIndirect { .. }
        | C::ThreadAvailableParallelism => Err(Diagnostic::error(
            Code::Unsupported,
            "unsupported: shared-everything threads (`thread.*` built-ins)",
        )
        .at(offset as u64)),
        _ => Err(async_at(
            "an async or thread built-in such as `task.return`, `stream.new` or `context.get`",
            offset,
        )),
    }
}

/// The async feature a type uses, if any.
fn async_in_type(ty: &ComponentType<'_>) -> Option<&'static str> {
    match ty {
        ComponentType::Func(f) if f.async_ => Some("an async function type"),
        ComponentType::Func(_) | ComponentType::Resource { .. } => None,
        ComponentType::Defined(d) => match d {
            ComponentDefinedType::Future(_) => Some("a `future` type"),
            ComponentDefinedType::Stream(_) => Some("a `stream` type"),
            ComponentDefinedType::Primitive(PrimitiveValType::ErrorContext) => {
                Some("the `error-context` type")
            }
            _ => None,
        },
        ComponentType::Component(decls) => decls.iter().find_map(|d| match d {
            ComponentTypeDeclaration::Type(t) => async_in_type(t),
            _ => None,
        }),
        ComponentType::Instance(decls) => decls.iter().find_map(|d| match d {
            InstanceTypeDeclaration::Type(t) => async_in_type(t),
            _ => None,
        }),
    }
}
