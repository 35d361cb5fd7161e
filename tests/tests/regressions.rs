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

/// Top-level type exports (values/concat.wast, values/numerics.wast): not a
/// WIT world, so the exports are re-declared from the translated types, with
/// signatures referring to the exported type names. Was refused with E0010.
#[test]
fn top_level_type_exports() {
    same_behaviour(
        r#"(component
  (core module $m
    (memory (export "mem") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 256)
    (func (export "sum") (param i32 i32 i32) (result i32)
      (i32.add (local.get 1) (local.get 2)))
    (func (export "bits") (result i32) i32.const 0x1ff))
  (core instance $i (instantiate $m))
  (type $pair (record (field "s" string) (field "n" u32)))
  (export $pair' "pair" (type $pair))
  (type $f9 (flags "a" "b" "c" "d" "e" "f" "g" "h" "i"))
  (export $f9' "f9" (type $f9))
  (func (export "sum") (param "p" $pair') (result u32)
    (canon lift (core func $i "sum") (memory (core memory $i "mem")) (realloc (core func $i "realloc"))))
  (func (export "bits") (result $f9') (canon lift (core func $i "bits"))))"#,
        &[
            ("sum", vec![Val::Record(vec![("s".into(), Val::String("héllo".into())), ("n".into(), Val::U32(7))])]),
            ("bits", vec![]),
        ],
    );
}
