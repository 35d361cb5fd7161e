//! Core-module output (`meld::Output::Core`, `meld-host fuse --emit core`):
//! one core module in the component model's `wasm32` build target.
//!
//! - every example and fixture: the core output validates, imports only
//!   `cm32p2|…` functions, turns back into a component with wit-component's
//!   `ComponentEncoder` (`wasm-tools component new`) that declares the
//!   input's world and runs exactly like the input (the resource fixtures
//!   are driven the same way in `tests/resources.rs`);
//! - a core-only host ([`meld_tests::core_host`]): the core output of the
//!   WASI command examples run with wasmtime's *core* API, the few
//!   `cm32p2|wasi:…` imports they use written by hand, prints what the
//!   component prints;
//! - core tools: `wasm-opt -O` (npm `binaryen`) on the core output, wrapped
//!   back, runs the same and is smaller;
//! - strings at the outer boundary in `utf16` components reach the host as
//!   `utf8` and back.

use meld_tests::*;
use wasmtime::component::Val;

/// The command compositions: the examples and the stream hand-off fixture.
fn commands() -> Vec<(String, Vec<u8>)> {
    let mut all = examples();
    let path = repo().join("tests/fixtures/stream-handoff.wasm");
    all.push((
        "stream-handoff".into(),
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    ));
    all
}

#[test]
fn commands_round_trip_through_a_core_module() {
    for (name, input) in commands() {
        let rewrapped = core_roundtrip(&name, &input);
        let before = run_command(&input).unwrap();
        let after = run_command(&rewrapped).unwrap();
        assert_eq!(
            before.result,
            Some(Ok(())),
            "{name}: the input should succeed"
        );
        assert!(
            !before.stdout.is_empty(),
            "{name}: the input prints nothing"
        );
        assert_eq!(
            String::from_utf8_lossy(&before.stdout),
            String::from_utf8_lossy(&after.stdout),
            "{name}: stdout differs"
        );
        assert_eq!(before, after, "{name}: observable behaviour differs");
    }
}

#[test]
fn bench_composition_round_trips_through_a_core_module() {
    let input = std::fs::read(repo().join("examples/bench.wasm")).unwrap();
    let rewrapped = core_roundtrip("bench", &input);
    let before = bench_checksums(&input);
    assert!(before.windows(2).all(|w| w[0] != w[1]), "{before:?}");
    assert_eq!(before, bench_checksums(&rewrapped));
}

#[test]
fn core_output_is_deterministic() {
    for (name, input) in commands() {
        assert_eq!(fuse_core(&name, &input), fuse_core(&name, &input), "{name}");
    }
}

/// The build target's exports, by name: `cm32p2_memory`, `cm32p2_realloc`,
/// `cm32p2_initialize`, and each world function with its `_post`.
#[test]
fn core_output_exports_the_build_target_names() {
    let (_, input) = examples().into_iter().find(|(n, _)| n == "calc").unwrap();
    let core = fuse_core("calc", &input);
    let module = wasmtime::Module::new(engine(), &core).unwrap();
    let mut exports: Vec<String> = module.exports().map(|e| e.name().to_string()).collect();
    exports.sort();
    assert_eq!(
        exports,
        [
            "cm32p2_initialize",
            "cm32p2_memory",
            "cm32p2_realloc",
            "cm32p2|wasi:cli/run@0.2|run",
            "cm32p2|wasi:cli/run@0.2|run_post",
        ]
    );
    // Every `cm32p2|…` import once, though both inner components import
    // most of them.
    let imports: Vec<(String, String)> = module
        .imports()
        .map(|i| (i.module().to_string(), i.name().to_string()))
        .collect();
    let mut unique = imports.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(imports.len(), unique.len(), "{imports:?}");
    assert!(imports.contains(&(
        "cm32p2|wasi:io/streams@0.2".into(),
        "[method]output-stream.blocking-flush".into()
    )));
}

#[test]
fn core_only_host_runs_the_core_output_of_commands() {
    for (name, input) in commands() {
        let core = fuse_core(&name, &input);
        let before = run_command(&input).unwrap();
        let after = core_host::run(&core);
        assert!(
            before.stdout.len() > 100,
            "{name}: the input prints too little"
        );
        assert_eq!(
            String::from_utf8_lossy(&before.stdout),
            String::from_utf8_lossy(&after.stdout),
            "{name}: stdout differs"
        );
        assert_eq!(before, after, "{name}: observable behaviour differs");
    }
}

/// `wasm-opt -O` (binaryen) optimises across the former component
/// boundaries; the result, wrapped back, behaves the same and is smaller.
#[test]
fn wasm_opt_output_runs_the_same_and_is_smaller() {
    for (name, input) in commands() {
        let core = fuse_core(&name, &input);
        let optimised = wasm_opt_o(&core).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        println!(
            "{name}: core module {} bytes, after wasm-opt -O {} bytes",
            core.len(),
            optimised.len()
        );
        assert!(
            optimised.len() < core.len(),
            "{name}: wasm-opt -O did not shrink it"
        );
        let rewrapped = rewrap(&optimised).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert_eq!(
            world_items(&input).unwrap(),
            world_items(&rewrapped).unwrap()
        );
        assert_eq!(
            run_command(&input).unwrap(),
            run_command(&rewrapped).unwrap(),
            "{name}: behaviour differs after wasm-opt"
        );
    }
}

/// A component exporting `echo: func(s: string) -> string` in `encoding`,
/// which calls the host's `shout: func(s: string) -> string` and appends
/// `!`. With `middleware`, both are `greet` of the interface
/// `meld:t/greet`, imported and exported under the same name.
fn echo_component(encoding: &str, middleware: bool) -> Vec<u8> {
    let (unit, shift) = match encoding {
        "utf16" => ("i32.store16", 1),
        _ => ("i32.store8", 0),
    };
    let (import, export) = if middleware {
        (
            r#"(import "meld:t/greet" (instance $host (export "greet" (func (param "s" string) (result string)))))
  (alias export $host "greet" (func $shout))"#,
            r#"(instance $greet (export "greet" (func $echo)))
  (export "meld:t/greet" (instance $greet))"#,
        )
    } else {
        (
            r#"(import "shout" (func $shout (param "s" string) (result string)))"#,
            r#"(export "echo" (func $echo))"#,
        )
    };
    wat::parse_str(format!(
        r#"(component
  {import}
  (core module $libc
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and
        (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $size)))
      (memory.copy (local.get $p) (local.get $old) (local.get $old_size))
      local.get $p))
  (core instance $libc (instantiate $libc))
  (core func $shout (canon lower (func $shout) (memory (core memory $libc "mem")) (realloc (core func $libc "realloc")) string-encoding={encoding}))
  (core module $m
    (import "libc" "mem" (memory 1))
    (import "libc" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
    (import "host" "shout" (func $shout (param i32 i32 i32)))
    ;; echo(ptr, units) -> retptr: shout(s) with "!" (one code unit) appended.
    (func (export "echo") (param $p i32) (param $n i32) (result i32)
      (local $q i32) (local $m i32) (local $r i32)
      (call $shout (local.get $p) (local.get $n) (i32.const 16))
      (local.set $q (i32.load (i32.const 16)))
      (local.set $m (i32.load (i32.const 20)))
      (local.set $r (call $realloc (i32.const 0) (i32.const 0) (i32.const 2)
                       (i32.shl (i32.add (local.get $m) (i32.const 1)) (i32.const {shift}))))
      (memory.copy (local.get $r) (local.get $q) (i32.shl (local.get $m) (i32.const {shift})))
      ({unit} (i32.add (local.get $r) (i32.shl (local.get $m) (i32.const {shift}))) (i32.const 33))
      (i32.store (i32.const 32) (local.get $r))
      (i32.store (i32.const 36) (i32.add (local.get $m) (i32.const 1)))
      i32.const 32))
  (core instance $i (instantiate $m
    (with "libc" (instance $libc))
    (with "host" (instance (export "shout" (func $shout))))))
  (func $echo (param "s" string) (result string)
    (canon lift (core func $i "echo") (memory (core memory $libc "mem")) (realloc (core func $libc "realloc")) string-encoding={encoding}))
  {export})"#
    ))
    .unwrap()
}

/// Calls `echo` of the component `bytes` (or `greet` of `meld:t/greet`)
/// with a host `shout` (`greet`) that upper-cases; `None` if it traps.
fn echo(bytes: &[u8], s: &str, middleware: bool) -> Option<String> {
    let engine = engine();
    let component = wasmtime::component::Component::new(engine, bytes).unwrap();
    let mut linker = wasmtime::component::Linker::<()>::new(engine);
    let shout = |_: wasmtime::StoreContextMut<'_, ()>, (s,): (String,)| Ok((s.to_uppercase(),));
    if middleware {
        let mut root = linker.root();
        root.instance("meld:t/greet")
            .unwrap()
            .func_wrap("greet", shout)
            .unwrap();
    } else {
        linker.root().func_wrap("shout", shout).unwrap();
    }
    let mut store = wasmtime::Store::new(engine, ());
    let instance = linker.instantiate(&mut store, &component).ok()?;
    let f = if middleware {
        let greet = instance.get_export_index(&mut store, None, "meld:t/greet")?;
        let idx = instance.get_export_index(&mut store, Some(&greet), "greet")?;
        instance.get_func(&mut store, idx)?
    } else {
        instance.get_func(&mut store, "echo")?
    };
    let mut r = [Val::Bool(false)];
    f.call(&mut store, &[Val::String(s.into())], &mut r).ok()?;
    match &r[0] {
        Val::String(s) => Some(s.clone()),
        other => panic!("echo returned {other:?}"),
    }
}

/// A core function's parameter and result types, e.g. `(i32 i32) -> (i32)`.
fn signature(ty: wasmtime::ExternType) -> String {
    let f = ty.func().expect("a function");
    let list = |t: &mut dyn Iterator<Item = wasmtime::ValType>| {
        t.map(|t| t.to_string()).collect::<Vec<_>>().join(" ")
    };
    format!(
        "({}) -> ({})",
        list(&mut f.params()),
        list(&mut f.results())
    )
}

/// `func(s: string) -> string` lowered, as the host provides it: the
/// string's pointer and length in utf8, and the return pointer.
const LOWERED_STRING_TO_STRING: &str = "(i32 i32 i32) -> ()";
/// `func(s: string) -> string` lifted, as the host calls it: the string's
/// pointer and length in utf8; the result's pointer back.
const LIFTED_STRING_TO_STRING: &str = "(i32 i32) -> (i32)";

const STRINGS: [&str; 4] = ["", "hello", "grüße, 世界 🎉", "ab€ab€ab€ab€ab€ab€"];

#[test]
fn utf16_strings_cross_the_core_boundary_as_utf8() {
    let input = echo_component("utf16", false);
    let rewrapped = core_roundtrip("utf16", &input);
    let core = fuse_core("utf16", &input);
    // The host side of the core module is utf8: the imported `shout` takes
    // (ptr, len) of utf8 bytes in `cm32p2_memory`, with a return pointer.
    let module = wasmtime::Module::new(engine(), &core).unwrap();
    let shout = module
        .imports()
        .find(|i| i.module() == "cm32p2" && i.name() == "shout")
        .expect("shout is imported as cm32p2::shout");
    assert_eq!(signature(shout.ty()), LOWERED_STRING_TO_STRING);
    assert_eq!(
        signature(module.get_export("cm32p2||echo").expect("echo is exported")),
        LIFTED_STRING_TO_STRING
    );
    let long = "ab€".repeat(1000);
    for s in STRINGS.iter().copied().chain([long.as_str()]) {
        let expected = format!("{}!", s.to_uppercase());
        assert_eq!(
            echo(&input, s, false).as_deref(),
            Some(expected.as_str()),
            "input, {s:?}"
        );
        assert_eq!(
            echo(&rewrapped, s, false).as_deref(),
            Some(expected.as_str()),
            "via core, {s:?}"
        );
    }
}

/// An interface imported and exported under the same name (a middleware):
/// `cm32p2|meld:t/greet` `greet` is the import, `cm32p2|meld:t/greet|greet`
/// the export.
#[test]
fn middleware_imports_and_exports_one_interface() {
    let input = echo_component("utf8", true);
    let rewrapped = core_roundtrip("middleware", &input);
    let module = wasmtime::Module::new(engine(), fuse_core("middleware", &input)).unwrap();
    let greet = module
        .imports()
        .find(|i| i.module() == "cm32p2|meld:t/greet" && i.name() == "greet")
        .expect("greet is imported");
    assert_eq!(signature(greet.ty()), LOWERED_STRING_TO_STRING);
    assert_eq!(
        signature(
            module
                .get_export("cm32p2|meld:t/greet|greet")
                .expect("greet is exported")
        ),
        LIFTED_STRING_TO_STRING
    );
    for s in STRINGS {
        let expected = format!("{}!", s.to_uppercase());
        assert_eq!(
            echo(&input, s, true).as_deref(),
            Some(expected.as_str()),
            "input, {s:?}"
        );
        assert_eq!(
            echo(&rewrapped, s, true).as_deref(),
            Some(expected.as_str()),
            "via core, {s:?}"
        );
    }
}
