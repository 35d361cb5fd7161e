//! Degenerate compositions the differential fuzzer (`fuzz/`) generates,
//! each once a finding, kept as regressions: fused (and fused to a core
//! module, wrapped back) they run as given.

use meld_tests::*;
use wasmtime::component::{Component, Linker, Val};

/// Calls export `f` of `bytes` with `x`, the host's `h` doubling; `None`
/// on a trap.
fn call(bytes: &[u8], x: u32) -> Option<u32> {
    let engine = engine();
    let component = Component::new(engine, bytes).unwrap();
    let mut linker = Linker::<()>::new(engine);
    linker
        .root()
        .func_wrap("h", |_, (x,): (u32,)| Ok((x.wrapping_mul(2),)))
        .unwrap();
    let mut store = wasmtime::Store::new(engine, ());
    let instance = linker.instantiate(&mut store, &component).ok()?;
    let f = instance.get_func(&mut store, "f")?;
    let mut r = [Val::U32(0)];
    f.call(&mut store, &[Val::U32(x)], &mut r).ok()?;
    match r[0] {
        Val::U32(v) => Some(v),
        _ => None,
    }
}

/// The host's function lowered and the lowered core function lifted
/// straight back out as the outer export (found by `meld-fuzz
/// differential`; was E0100 "host lowering without a slot").
#[test]
fn host_function_lowered_and_lifted_straight_out() {
    let input = wat::parse_str(
        r#"(component
  (import "h" (func $h (param "x" u32) (result u32)))
  (core func $low (canon lower (func $h)))
  (func $f (param "x" u32) (result u32) (canon lift (core func $low)))
  (export "f" (func $f)))"#,
    )
    .unwrap();
    let fused = meld::fuse(&input).unwrap_or_else(|d| panic!("{d:?}"));
    let via_core = core_roundtrip("lower-lift", &input);
    for x in [0, 21, u32::MAX] {
        let expected = Some(x.wrapping_mul(2));
        assert_eq!(call(&input, x), expected);
        assert_eq!(call(&fused, x), expected, "fused");
        assert_eq!(call(&via_core, x), expected, "via core");
    }
}
