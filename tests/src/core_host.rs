//! A core-only host: what an embedded runtime does with Meld's core output
//! (`meld::Output::Core`). It runs the core module with wasmtime's *core*
//! API (`Module`, `Linker`; no component model), with the `cm32p2|wasi:…`
//! functions a command uses for stdio implemented here by hand, following
//! the canonical ABI (handles are `i32`s of the host's choosing; results go
//! through the return pointer into `cm32p2_memory`). Any other import is
//! refused (a panic naming it).
//!
//! Used by `tests/core_output.rs`: the core output of the WASI command
//! examples, run here, prints what the component prints.

use crate::Outcome;
use wasmtime::{Caller, Extern, Linker, Module, Store, Val, ValType};

#[derive(Default)]
struct Host {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit: Option<i32>,
}

/// A host function of the core-only host.
type HostFn = dyn Fn(Caller<'_, Host>, &[Val], &mut [Val]) -> wasmtime::Result<()> + Send + Sync;

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

/// Runs `core` as a `wasi:cli/run` command: instantiates it, calls
/// `cm32p2_initialize`, then `run` and its `run_post`. The [`Outcome`] is
/// the one [`crate::run_command`] gives for a component (an exit through
/// `wasi:cli/exit` is an `exit_code` of 0 or 1).
///
/// # Panics
/// When the module does not compile, imports something this host does not
/// provide, or lacks the exports of a command.
pub fn run(core: &[u8]) -> Outcome {
    let engine = crate::engine();
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
            ("wasi:io/streams", "[method]output-stream.check-write") => Box::new(|mut c, p, _| {
                let mut area = [0u8; 16];
                area[8..].copy_from_slice(&(1u64 << 20).to_le_bytes());
                write(&mut c, i32_of(&p[1]), &area);
                Ok(())
            }),
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
