//! Shim devirtualisation in link: a `wit-component`-style indirect-call shim
//! whose table slot is fixed becomes a direct call; where the slot could
//! change, or be called before it is filled, the shim stays and behaves as
//! unfused.

use meld_tests::{Trapped, trap_message};
use wasmtime::Store;
use wasmtime::component::{Component, Linker, Val};

/// `$caller`'s main module imports `f` through a shim (`call_indirect` of
/// slot 0 of the shim's table), filled by a fixup module with the lowered
/// `f` of `$callee` (x + 1). `main_extra` is spliced into the main module,
/// `main_imports_table` also gives it the shim's table, twice: as table 0
/// (`host.table`) and table 1 (`host.table-again`). The caller also exports
/// the main module's `clear` when `main_extra` defines it.
fn composition(main_extra: &str, main_imports_table: bool) -> Vec<u8> {
    let table_import = if main_imports_table {
        r#"(import "host" "table" (table 1 1 funcref))
           (import "host" "table-again" (table 1 1 funcref))"#
    } else {
        ""
    };
    let table_export = if main_imports_table {
        r#"(export "table" (table $shim "$imports"))
           (export "table-again" (table $shim "$imports"))"#
    } else {
        ""
    };
    let has_clear = main_extra.contains("\"clear\"");
    let clear_lift = if has_clear {
        r#"(func (export "clear") (canon lift (core func $main "clear")))"#
    } else {
        ""
    };
    let clear_export = if has_clear {
        r#"(export "clear" (func $caller "clear"))"#
    } else {
        ""
    };
    wat::parse_str(format!(
        r#"(component
  (component $callee
    (core module $m (func (export "f") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))
    (core instance $i (instantiate $m))
    (func (export "f") (param "x" u32) (result u32) (canon lift (core func $i "f"))))
  (component $caller
    (import "f" (func $f (param "x" u32) (result u32)))
    (core module $shim_m
      (type $t (func (param i32) (result i32)))
      (table (export "$imports") 1 1 funcref)
      (func (export "0") (type $t) local.get 0 i32.const 0 call_indirect (type $t)))
    (core instance $shim (instantiate $shim_m))
    (core module $main
      (import "host" "f" (func $f (param i32) (result i32)))
      {table_import}
      {main_extra}
      (func (export "run") (param i32) (result i32) (call $f (local.get 0))))
    (core instance $main (instantiate $main
      (with "host" (instance (export "f" (func $shim "0")) {table_export}))))
    (core func $lowered (canon lower (func $f)))
    (core module $fixup
      (type $t (func (param i32) (result i32)))
      (import "" "0" (func (type $t)))
      (import "" "$imports" (table 1 1 funcref))
      (elem (i32.const 0) func 0))
    (core instance (instantiate $fixup (with "" (instance
      (export "0" (func $lowered))
      (export "$imports" (table $shim "$imports"))))))
    (func (export "run") (param "x" u32) (result u32) (canon lift (core func $main "run")))
    {clear_lift})
  (instance $callee (instantiate $callee))
  (instance $caller (instantiate $caller (with "f" (func $callee "f"))))
  (export "run" (func $caller "run"))
  {clear_export})"#
    ))
    .expect("test composition parses")
}

/// `run(41)`, or where and why it trapped.
fn run(bytes: &[u8]) -> Result<Val, Trapped> {
    meld_tests::call_export(bytes, "run", &[Val::U32(41)])
}

/// Number of `call_indirect` instructions in all code of `component`.
fn call_indirects(component: &[u8]) -> usize {
    let mut n = 0;
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
            let mut ops = body.get_operators_reader().unwrap();
            while !ops.eof() {
                if let wasmparser::Operator::CallIndirect { .. } = ops.read().unwrap() {
                    n += 1;
                }
            }
        }
    }
    n
}

#[test]
fn a_shim_with_a_fixed_slot_becomes_a_direct_call() {
    let input = composition("", false);
    let output = meld::fuse(&input).unwrap();
    assert_eq!(run(&input), Ok(Val::U32(42)));
    assert_eq!(run(&output), Ok(Val::U32(42)));
    assert_eq!(call_indirects(&input), 1);
    assert_eq!(
        call_indirects(&output),
        0,
        "the shim's indirect call is left"
    );
}

#[test]
fn a_shim_whose_table_can_change_stays() {
    // `clear` is never called, but it could empty the slot.
    let input = composition(
        r#"(func (export "clear") (table.set 0 (i32.const 0) (ref.null func)))"#,
        true,
    );
    let output = meld::fuse(&input).unwrap();
    assert_eq!(run(&input), Ok(Val::U32(42)));
    assert_eq!(run(&output), Ok(Val::U32(42)));
    assert_eq!(call_indirects(&output), 1);
}

/// The table is imported twice; `clear` empties the slot through the second
/// import. After it, `run` traps unfused, so it must trap fused.
#[test]
fn a_shim_whose_table_changes_through_a_second_import_stays() {
    let input = composition(
        r#"(func (export "clear") (table.set 1 (i32.const 0) (ref.null func)))"#,
        true,
    );
    let output = meld::fuse(&input).unwrap();
    for bytes in [&input, &output] {
        let engine = meld_tests::engine();
        let component = Component::new(engine, bytes).unwrap();
        let mut store = Store::new(engine, ());
        let instance = Linker::new(engine)
            .instantiate(&mut store, &component)
            .unwrap();
        let run = instance.get_func(&mut store, "run").unwrap();
        let clear = instance.get_func(&mut store, "clear").unwrap();
        let mut r = [Val::U32(0)];
        run.call(&mut store, &[Val::U32(41)], &mut r).unwrap();
        assert_eq!(r[0], Val::U32(42));
        clear.call(&mut store, &[], &mut []).unwrap();
        let err = run
            .call(&mut store, &[Val::U32(41)], &mut r)
            .expect_err("run after clear must trap");
        assert_eq!(
            trap_message(&err),
            "wasm trap: uninitialized element",
            "run after clear must trap on the emptied slot"
        );
    }
}

#[test]
fn a_shim_called_before_its_slot_is_filled_still_traps() {
    // The main module's start function calls `f` before the fixup module
    // fills the table: unfused, that is a call through a null entry.
    let input = composition(
        r#"(func $early (drop (call $f (i32.const 0)))) (start $early)"#,
        false,
    );
    let output = meld::fuse(&input).unwrap();
    let trap = Err(Trapped::Instantiating(
        "wasm trap: uninitialized element".into(),
    ));
    assert_eq!(run(&input), trap, "the input should trap at instantiation");
    assert_eq!(
        run(&output),
        trap,
        "the fused output must trap the same way"
    );
}
