//! Finds uses of component-model async and threads, before translation.
//!
//! Whether the input uses async decides how it is translated: FACT's
//! adapters track tasks only with `concurrency_support` on (see
//! [`super::tunables`]), and with it off FACT asserts that no adapter is
//! async. A composition without async is translated without it and fuses to
//! the same bytes as before async existed. So every level of the input
//! (nested components included) is scanned for async function types,
//! `stream` / `future` / `error-context` types, async canonical options and
//! the canonical built-ins of async and threads.

use crate::diagnostics::{Code, Diagnostic};
use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentDefinedType, ComponentType,
    ComponentTypeDeclaration, InstanceTypeDeclaration, Parser, Payload, PrimitiveValType,
};

/// The first use of component-model async in an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsyncUse {
    /// What it is, e.g. "an async function type".
    pub what: &'static str,
    /// Its byte offset in the input.
    pub offset: usize,
}

impl AsyncUse {
    /// E0007 for this use, with its offset.
    pub fn refusal(self) -> Diagnostic {
        Diagnostic::error(
            Code::UnsupportedAsync,
            format!("unsupported: component-model async ({})", self.what),
        )
        .at(self.offset as u64)
        .note("Meld fuses synchronous compositions; async support is being built (issue 19)")
    }
}

/// The first use of component-model async, if any.
///
/// # Errors
/// E0006 for shared-everything threads (`thread.spawn*`,
/// `thread.available-parallelism`), which wasmtime does not translate.
/// Input that does not parse is left to the validator.
pub fn first_async_use(input: &[u8]) -> Result<Option<AsyncUse>, Diagnostic> {
    let mut first = None;
    let mut note = |what, offset| {
        first.get_or_insert(AsyncUse { what, offset });
    };
    for payload in Parser::new(0).parse_all(input) {
        let Ok(payload) = payload else { break };
        match payload {
            Payload::ComponentTypeSection(s) => {
                for ty in s.into_iter_with_offsets() {
                    let Ok((offset, ty)) = ty else { break };
                    if let Some(what) = async_in_type(&ty) {
                        note(what, offset);
                    }
                }
            }
            Payload::ComponentCanonicalSection(s) => {
                for f in s.into_iter_with_offsets() {
                    let Ok((offset, f)) = f else { break };
                    if let Some(what) = async_in_canonical(&f, offset)? {
                        note(what, offset);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(first)
}

/// The async feature a canonical function uses, if any.
fn async_in_canonical(
    f: &CanonicalFunction,
    offset: usize,
) -> Result<Option<&'static str>, Diagnostic> {
    use CanonicalFunction as C;
    let async_options = |options: &[CanonicalOption]| {
        options
            .iter()
            .any(|o| matches!(o, CanonicalOption::Async | CanonicalOption::Callback(_)))
    };
    match f {
        C::Lift { options, .. } | C::Lower { options, .. } => {
            Ok(async_options(options).then_some("an async `canon lift` or `canon lower`"))
        }
        C::ResourceNew { .. } | C::ResourceDrop { .. } | C::ResourceRep { .. } => Ok(None),
        C::ThreadSpawnRef { .. }
        | C::ThreadSpawnIndirect { .. }
        | C::ThreadAvailableParallelism => Err(Diagnostic::error(
            Code::Unsupported,
            "unsupported: shared-everything threads (`thread.*` built-ins)",
        )
        .at(offset as u64)),
        _ => Ok(Some(
            "an async or thread built-in such as `task.return`, `stream.new` or `context.get`",
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
