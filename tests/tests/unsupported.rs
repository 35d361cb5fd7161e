//! Features Meld does not fuse yet are refused with their own diagnostic code
//! and the byte offset of the first use — never a panic, never wrong output;
//! the same for component and core output (`meld_tests::refusal`).
//! Each case here once made the fuser panic.

use meld::Code;

/// The byte offset of the first async function type (`(func async)`) in
/// a component's type sections, nested components included.
fn first_async_func_type(bytes: &[u8]) -> Option<u64> {
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::ComponentTypeSection(types) = payload.unwrap() {
            for ty in types.into_iter_with_offsets() {
                let (offset, ty) = ty.unwrap();
                if let wasmparser::ComponentType::Func(f) = ty
                    && f.async_
                {
                    return Some(offset as u64);
                }
            }
        }
    }
    None
}

fn refused(wat: &str) -> meld::Diagnostic {
    let bytes = wat::parse_str(wat).unwrap();
    let mut diags = meld_tests::refusal(&bytes);
    diags.remove(0)
}

/// An async lift without a callback (stackful): wasmtime-environ's adapter
/// compiler asserted on async adapters when translation ran without
/// concurrency support. It needs a stack of its own: E0015.
#[test]
fn async_lift_between_inner_components() {
    let wat = r#"(component
  (component $callee
    (core module $m (func (export "f")))
    (core instance $i (instantiate $m))
    (type $t (func async))
    (func (export "f") (type $t) (canon lift (core func $i "f") async)))
  (component $caller
    (import "f" (func $f async))
    (core func $f (canon lower (func $f)))
    (core module $m (import "" "f" (func)) (func (export "g") call 0))
    (core instance $i (instantiate $m (with "" (instance (export "f" (func $f))))))
    (func (export "g") (canon lift (core func $i "g"))))
  (instance $a (instantiate $callee))
  (instance $b (instantiate $caller (with "f" (func $a "f"))))
  (export "g" (func $b "g")))"#;
    let d = refused(wat);
    let bytes = wat::parse_str(wat).unwrap();
    assert_eq!(d.code, Code::UnsupportedStackful, "{d:?}");
    assert!(
        d.message.contains("an async lift without a callback"),
        "{d:?}"
    );
    // The first use: `(type $t (func async))` in `$callee`.
    assert_eq!(d.offset, first_async_func_type(&bytes), "{d:?}");
    assert_eq!(d.offset, Some(72), "{d:?}");
}

/// A function imported under an interface name is valid but not WIT;
/// wit-parser's decoder panics on it.
#[test]
fn function_imported_under_an_interface_name() {
    let d = refused(r#"(component (import "wasi:http/types" (func)))"#);
    assert_eq!(d.code, Code::WorldDecode, "{d:?}");
    assert_eq!(d.offset, Some(0x12), "{d:?}");
}

/// Core output of a composition whose outer world is async (here an
/// export typed `async`) is refused with its own code, E0016 (component
/// output of the same input fuses: see `async_calls.rs`,
/// `an_async_typed_export_lifted_sync_fuses`; inner-only async fuses to
/// core output: `async_core_output.rs`).
#[test]
fn core_output_of_async_is_refused() {
    let bytes = wat::parse_str(ASYNC_TYPED_SYNC_LIFT).unwrap();
    let d = meld::fuse_with(&bytes, &meld::Options::with_output(meld::Output::Core))
        .expect_err("core output of async is refused")
        .remove(0);
    assert_eq!(d.code, Code::AsyncCoreOutput, "{d:?}");
    assert!(d.message.contains("core output"), "{d:?}");
    assert_eq!(d.offset, first_async_func_type(&bytes), "{d:?}");
}

/// An export typed `async`, lifted with the sync ABI.
const ASYNC_TYPED_SYNC_LIFT: &str = r#"(component
  (core module $m (func (export "f")))
  (core instance $i (instantiate $m))
  (type $t (func async))
  (func (export "f") (type $t) (canon lift (core func $i "f"))))"#;
