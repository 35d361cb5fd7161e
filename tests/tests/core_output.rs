//! Core-module output (`meld::Output::Core`, `meld-host fuse --emit core`):
//! one core module in the component model's `wasm32` build target.
//!
//! - every example and fixture: the core output validates, imports only
//!   `cm32p2|…` functions, turns back into a component with wit-component's
//!   `ComponentEncoder` (`wasm-tools component new`) that declares the
//!   input's world and runs exactly like the input (the resource fixtures
//!   are driven the same way in `tests/resources.rs`);
//! - a core-only host: the core output of the WASI command examples run with
//!   wasmtime's *core* API, the few `cm32p2|wasi:…` imports they use written
//!   by hand below, prints what the component prints;
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

/// What an embedded runtime does with the core output: wasmtime's core API
/// (`Module`, `Linker`; no component model), with the `cm32p2|wasi:…`
/// functions a command uses for stdio implemented here by hand, following
/// the canonical ABI (handles are `i32`s of the host's choosing; results go
/// through the return pointer into `cm32p2_memory`).
mod core_host {
    use meld_tests::Outcome;
    use wasmtime::{Caller, Extern, Linker, Module, Store, Val, ValType};

    #[derive(Default)]
    struct Host {
        stdout: Vec<u8>,
        stderr: Vec<u8>,
        exit: Option<i32>,
    }

    /// A host function of the core-only host.
    type HostFn =
        dyn Fn(Caller<'_, Host>, &[Val], &mut [Val]) -> wasmtime::Result<()> + Send + Sync;

    const STDIN: i32 = 1;
    const STDOUT: i32 = 2;
    const STDERR: i32 = 3;
    const POLLABLE: i32 = 4;

    /// The host's exit signal (`wasi:cli/exit`), unwound as an error.
    #[derive(Debug)]
    struct Exit;
    impl std::fmt::Display for Exit {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("exit")
        }
    }
    impl std::error::Error for Exit {}

    fn memory(caller: &mut Caller<'_, Host>) -> wasmtime::Memory {
        match caller.get_export("cm32p2_memory") {
            Some(Extern::Memory(m)) => m,
            _ => panic!("the module does not export cm32p2_memory"),
        }
    }

    fn write(caller: &mut Caller<'_, Host>, at: i32, bytes: &[u8]) {
        memory(caller)
            .write(caller, at as usize, bytes)
            .expect("return area inside cm32p2_memory");
    }

    fn i32_of(v: &Val) -> i32 {
        v.i32().expect("an i32 parameter")
    }

    /// Runs `core` as a `wasi:cli/run` command.
    pub fn run(core: &[u8]) -> Outcome {
        let engine = meld_tests::engine();
        let module = Module::new(engine, core).expect("the core output compiles");
        let mut linker = Linker::<Host>::new(engine);
        for import in module.imports() {
            let (m, name) = (import.module().to_string(), import.name().to_string());
            let ty = import
                .ty()
                .func()
                .expect("only functions are imported")
                .clone();
            let interface = m
                .strip_prefix("cm32p2|")
                .and_then(|i| i.split('@').next())
                .unwrap_or_else(|| panic!("unexpected import module {m}"))
                .to_string();
            let handler: Box<HostFn> = match (interface.as_str(), name.as_str()) {
                ("wasi:cli/stdin", "get-stdin") => Box::new(|_, _, r| {
                    r[0] = Val::I32(STDIN);
                    Ok(())
                }),
                ("wasi:cli/stdout", "get-stdout") => Box::new(|_, _, r| {
                    r[0] = Val::I32(STDOUT);
                    Ok(())
                }),
                ("wasi:cli/stderr", "get-stderr") => Box::new(|_, _, r| {
                    r[0] = Val::I32(STDERR);
                    Ok(())
                }),
                // result<u64, stream-error>: ok(1 MiB) at the return pointer.
                ("wasi:io/streams", "[method]output-stream.check-write") => {
                    Box::new(|mut c, p, _| {
                        let mut area = [0u8; 16];
                        area[8..].copy_from_slice(&(1u64 << 20).to_le_bytes());
                        write(&mut c, i32_of(&p[1]), &area);
                        Ok(())
                    })
                }
                // (this, ptr, len, retptr): result<_, stream-error> = ok.
                ("wasi:io/streams", "[method]output-stream.write")
                | ("wasi:io/streams", "[method]output-stream.blocking-write-and-flush") => {
                    Box::new(|mut c, p, _| {
                        let (this, ptr, len) = (i32_of(&p[0]), i32_of(&p[1]), i32_of(&p[2]));
                        let mut bytes = vec![0; len as usize];
                        memory(&mut c)
                            .read(&c, ptr as usize, &mut bytes)
                            .expect("contents inside cm32p2_memory");
                        match this {
                            STDOUT => c.data_mut().stdout.extend(bytes),
                            STDERR => c.data_mut().stderr.extend(bytes),
                            other => panic!("write to handle {other}"),
                        }
                        write(&mut c, i32_of(&p[3]), &[0]);
                        Ok(())
                    })
                }
                ("wasi:io/streams", "[method]output-stream.blocking-flush")
                | ("wasi:io/streams", "[method]output-stream.flush") => Box::new(|mut c, p, _| {
                    write(&mut c, i32_of(&p[1]), &[0]);
                    Ok(())
                }),
                ("wasi:io/streams", "[method]output-stream.subscribe") => Box::new(|_, _, r| {
                    r[0] = Val::I32(POLLABLE);
                    Ok(())
                }),
                ("wasi:io/poll", "[method]pollable.block") => Box::new(|_, _, _| Ok(())),
                // list<tuple<string, string>> / list<string>: empty.
                ("wasi:cli/environment", "get-environment")
                | ("wasi:cli/environment", "get-arguments") => Box::new(|mut c, p, _| {
                    write(&mut c, i32_of(&p[0]), &[0; 8]);
                    Ok(())
                }),
                // option<terminal-*>: none.
                ("wasi:cli/terminal-stdin", _)
                | ("wasi:cli/terminal-stdout", _)
                | ("wasi:cli/terminal-stderr", _) => Box::new(|mut c, p, _| {
                    write(&mut c, i32_of(&p[0]), &[0]);
                    Ok(())
                }),
                // result<_, _>: 0 is ok.
                ("wasi:cli/exit", "exit") => Box::new(|mut c, p, _| {
                    c.data_mut().exit = Some(i32_of(&p[0]));
                    Err(wasmtime::Error::new(Exit))
                }),
                (_, n) if n.ends_with("_drop") => Box::new(|_, _, _| Ok(())),
                _ => panic!("the core-only host does not provide {m}::{name}"),
            };
            linker
                .func_new(&m, &name, ty, move |c, p, r| handler(c, p, r))
                .unwrap();
        }
        let mut store = Store::new(engine, Host::default());
        let mut outcome = Outcome {
            stdout: Vec::new(),
            stderr: Vec::new(),
            result: None,
            exit_code: None,
            trapped: false,
        };
        let ran = (|| -> wasmtime::Result<i32> {
            let instance = linker.instantiate(&mut store, &module)?;
            let init = instance.get_typed_func::<(), ()>(&mut store, "cm32p2_initialize")?;
            init.call(&mut store, ())?;
            let run = instance
                .get_func(&mut store, "cm32p2|wasi:cli/run@0.2|run")
                .expect("the module exports run");
            assert_eq!(run.ty(&store).results().collect::<Vec<_>>().len(), 1);
            assert!(matches!(
                run.ty(&store).results().next(),
                Some(ValType::I32)
            ));
            let mut result = [Val::I32(0)];
            run.call(&mut store, &[], &mut result)?;
            let post = instance
                .get_func(&mut store, "cm32p2|wasi:cli/run@0.2|run_post")
                .expect("the module exports run_post");
            post.call(&mut store, &result, &mut [])?;
            Ok(result[0].unwrap_i32())
        })();
        match ran {
            Ok(0) => outcome.result = Some(Ok(())),
            Ok(_) => outcome.result = Some(Err(())),
            Err(e) if e.downcast_ref::<Exit>().is_some() => {
                outcome.exit_code = store.data().exit.map(|e| if e == 0 { 0 } else { 1 })
            }
            Err(_) => outcome.trapped = true,
        }
        outcome.stdout = std::mem::take(&mut store.data_mut().stdout);
        outcome.stderr = std::mem::take(&mut store.data_mut().stderr);
        outcome
    }
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
    assert_eq!(shout.ty().func().unwrap().params().len(), 3);
    assert!(module.get_export("cm32p2||echo").is_some());
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
    assert!(
        module
            .imports()
            .any(|i| i.module() == "cm32p2|meld:t/greet" && i.name() == "greet")
    );
    assert!(module.get_export("cm32p2|meld:t/greet|greet").is_some());
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
