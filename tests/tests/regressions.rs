//! Small compositions that once fused wrongly or not at all, each with the
//! call that showed it. Every case runs before and after fusion and must
//! give the same results.

use meld_tests::call_export;
use wasmtime::component::Val;

fn same_behaviour(wat: &str, calls: &[(&str, Vec<Val>)]) {
    let input = wat::parse_str(wat).unwrap();
    let fused = meld::fuse(&input).unwrap_or_else(|d| panic!("{d:?}"));
    for (name, args) in calls {
        let before = call_export(&input, name, args);
        assert!(before.is_some(), "{name} should succeed on the input");
        assert_eq!(before, call_export(&fused, name, args), "{name}({args:?})");
    }
}

/// A world whose exported functions each have their own type: the world type
/// interleaves type declarations and exports (values/numerics.wast). Was
/// refused with E0006.
#[test]
fn exports_interleaved_with_their_types() {
    same_behaviour(
        r#"(component
  (core module $m
    (func (export "to-bool") (param i32) (result i32) local.get 0)
    (func (export "to-s8") (param i32) (result i32) local.get 0))
  (core instance $i (instantiate $m))
  (func (export "to-bool") (param "x" u32) (result bool) (canon lift (core func $i "to-bool")))
  (func (export "to-s8") (param "x" u32) (result s8) (canon lift (core func $i "to-s8"))))"#,
        &[
            ("to-bool", vec![Val::U32(2)]),
            ("to-s8", vec![Val::U32(0x1ff)]),
            ("to-s8", vec![Val::U32(0x80)]),
        ],
    );
}
