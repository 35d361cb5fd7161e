//! Dead-code removal in link: the fused module keeps what the outer exports,
//! the instantiation path and reachable element segments reach, and nothing
//! else; what is kept keeps its name and its behaviour.

use meld_tests::{Trapped, function_names};
use wasmtime::component::Val;

/// `$callee` lifts `len: func(s: string) -> u32` (strings in `to`); its core
/// module also holds a function nothing calls, an export nothing lifts, a
/// global only the former reads, a function reached only through its table,
/// and one reached only by `ref.func`. `$caller` (strings in `from`) exports
/// `run: func() -> u32`, which passes a 5-character string to `len`.
fn composition(from: &str, to: &str) -> Vec<u8> {
    let (text, units) = match from {
        "utf16" => ("h\\00e\\00l\\00l\\00o\\00", 5),
        _ => ("hello", 5),
    };
    wat::parse_str(format!(
        r#"(component
  (component $callee
    (core module $m
      (type $t (func (result i32)))
      (memory (export "mem") 1)
      (global $used_g (mut i32) (i32.const 100))
      (global $unused_g (mut i32) (i32.const 7))
      (table 1 funcref)
      (elem (i32.const 0) $via_table)
      (elem declare func $by_ref_func)
      (func $via_table (type $t) global.get $used_g)
      (func $by_ref_func (type $t) i32.const 3)
      (func $helper (result i32)
        (drop (ref.func $by_ref_func))
        (call_indirect (type $t) (i32.const 0)))
      (func $never_called (result i32) global.get $unused_g)
      (func $exported_but_unused (export "unused") (result i32) call $never_called)
      (func $realloc (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 1024)
      (func $len (export "len") (param i32 i32) (result i32)
        (i32.add (local.get 1) (call $helper))))
    (core instance $i (instantiate $m))
    (func (export "len") (param "s" string) (result u32)
      (canon lift (core func $i "len") (memory (core memory $i "mem"))
        (realloc (core func $i "realloc")) string-encoding={to})))
  (component $caller
    (import "len" (func $len (param "s" string) (result u32)))
    (core module $libc
      (memory (export "mem") 1)
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 2048))
    (core instance $libc (instantiate $libc))
    (core func $len (canon lower (func $len) (memory (core memory $libc "mem"))
      (realloc (core func $libc "realloc")) string-encoding={from}))
    (core module $m
      (import "host" "len" (func $len (param i32 i32) (result i32)))
      (import "libc" "mem" (memory 1))
      (data (i32.const 16) "{text}")
      (func $run (export "run") (result i32) (call $len (i32.const 16) (i32.const {units}))))
    (core instance $i (instantiate $m
      (with "host" (instance (export "len" (func $len))))
      (with "libc" (instance $libc))))
    (func (export "run") (result u32) (canon lift (core func $i "run"))))
  (instance $callee (instantiate $callee))
  (instance $caller (instantiate $caller (with "len" (func $callee "len"))))
  (export "run" (func $caller "run")))"#
    ))
    .expect("test composition parses")
}

fn run(bytes: &[u8]) -> Val {
    meld_tests::call_export(bytes, "run", &[]).expect("run returns")
}

#[test]
fn unreachable_functions_are_removed_and_the_rest_keeps_names_and_behaviour() {
    let input = composition("utf8", "utf8");
    let output = meld::fuse(&input).unwrap();
    // 5 bytes + the global read through the table (100).
    assert_eq!(run(&input), Val::U32(105));
    assert_eq!(run(&output), Val::U32(105));

    let names = function_names(&output).unwrap();
    for kept in [
        "len",
        "helper",
        "via_table",
        "by_ref_func",
        "realloc",
        "run",
        "meld:init",
    ] {
        assert!(
            names.iter().any(|n| n == kept),
            "`{kept}` was removed: {names:?}"
        );
    }
    for gone in ["never_called", "exported_but_unused"] {
        assert!(
            !names.iter().any(|n| n == gone),
            "`{gone}` was kept: {names:?}"
        );
    }
    // The unfused input holds all of them.
    let before = function_names(&input).unwrap();
    for present in ["never_called", "exported_but_unused", "helper"] {
        assert!(before.iter().any(|n| n == present), "{before:?}");
    }
}

/// One transcoder instance holds every transcoder; only the ones the
/// adapters call (and their helpers) stay.
#[test]
fn only_the_transcoders_in_use_are_kept() {
    let names = |from, to| {
        let input = composition(from, to);
        let output = meld::fuse(&input).unwrap();
        assert_eq!(run(&input), run(&output), "{from} -> {to}");
        function_names(&output).unwrap()
    };
    let utf8 = names("utf8", "utf8");
    assert!(utf8.iter().any(|n| n == "validate_utf8"), "{utf8:?}");
    for gone in ["utf16_decode", "utf16_encode", "inflate_latin1"] {
        assert!(
            !utf8.iter().any(|n| n == gone),
            "utf8 -> utf8 keeps `{gone}`: {utf8:?}"
        );
    }
    let utf16 = names("utf16", "utf16");
    assert!(utf16.iter().any(|n| n == "utf16_decode"), "{utf16:?}");
    for gone in ["utf8_decode", "validate_utf8", "utf8_encode"] {
        assert!(
            !utf16.iter().any(|n| n == gone),
            "utf16 -> utf16 keeps `{gone}`: {utf16:?}"
        );
    }
}

/// Calls `name` (no parameters) of `bytes`: its result, or where and why it
/// trapped.
fn call_u32(bytes: &[u8], name: &str) -> Result<Val, Trapped> {
    meld_tests::call_export(bytes, name, &[])
}

/// A live recursion group of two types and no `[] -> []` type among the
/// live ones: the generated `init` gets a type of its own, after every live
/// type (a group holds several).
#[test]
fn init_type_follows_multi_type_recursion_groups() {
    let input = wat::parse_str(
        r#"(component
  (core module $m
    (rec (type $a (struct (field i32))) (type $b (struct (field i64))))
    (func (export "f") (result i32) (struct.get $a 0 (struct.new $a (i32.const 7)))))
  (core instance $i (instantiate $m))
  (func (export "f") (result u32) (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    let output = meld::fuse(&input).unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(call_u32(&input, "f"), Ok(Val::U32(7)));
    assert_eq!(call_u32(&output, "f"), Ok(Val::U32(7)));
}

/// `$a` refers to itself, `$b` to `$a`: different types, though both are
/// "a function taking a nullable reference to the first of them". A
/// `call_indirect` expecting `$b` on a function of type `$a` traps; fused
/// too, so the two must not be merged as one type.
#[test]
fn a_self_referencing_type_is_not_merged_with_one_referring_to_it() {
    let input = wat::parse_str(
        r#"(component
  (core module $m
    (type $a (func (param (ref null $a))))
    (type $b (func (param (ref null $a))))
    (table 1 1 funcref)
    (elem (i32.const 0) $f)
    (func $f (type $a))
    (func (export "call-as-a") (result i32)
      (call_indirect (type $a) (ref.null $a) (i32.const 0)) (i32.const 1))
    (func (export "call-as-b") (result i32)
      (call_indirect (type $b) (ref.null $a) (i32.const 0)) (i32.const 1)))
  (core instance $i (instantiate $m))
  (func (export "call-as-a") (result u32) (canon lift (core func $i "call-as-a")))
  (func (export "call-as-b") (result u32) (canon lift (core func $i "call-as-b"))))"#,
    )
    .unwrap();
    let output = meld::fuse(&input).unwrap_or_else(|d| panic!("{d:?}"));
    for bytes in [&input, &output] {
        assert_eq!(call_u32(bytes, "call-as-a"), Ok(Val::U32(1)));
        assert_eq!(
            call_u32(bytes, "call-as-b"),
            Err(Trapped::Calling(
                "wasm trap: indirect call type mismatch".into()
            )),
            "a signature mismatch must trap"
        );
    }
}
