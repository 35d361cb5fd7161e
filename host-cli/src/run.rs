//! `meld-host run`: runs a component under wasmtime with WASI 0.2, so that an
//! input and its fused output can be compared by eye.
//!
//! Two ways to run, as `wasmtime run` has them:
//! - a **command** (a component exporting `wasi:cli/run`): its `run` is
//!   called, and the exit status is the component's;
//! - any component with **`--invoke 'f(args)'`**: the exported function
//!   named `f` (found at the top level or in any exported instance, by its
//!   last name as wasmtime finds it) is called with the arguments, written in
//!   the WebAssembly Value Encoding (WAVE: `1`, `"text"`, `[1, 2]`,
//!   `{a: 1}`, `some(x)`, `ok(1)`, ...), and each result is printed as WAVE
//!   on a line of stdout.
//!
//! Unlike the fuser guest, the component gets the terminal's stdio and its
//! arguments; still no filesystem, network or environment.

use wasmtime::component::types::ComponentItem;
use wasmtime::component::wasm_wave::untyped::UntypedFuncCall;
use wasmtime::component::wasm_wave::wasm::{DisplayFunc, DisplayValue};
use wasmtime::component::{Component, Func, Linker, ResourceTable, Val};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

struct WasiState {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for WasiState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// How a run ended without an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A command's exit status: 0 when `run` returns `ok`, 1 when it returns
    /// `err`, or the code it passed to `wasi:cli/exit`.
    Exit(i32),
    /// `--invoke`: the function's results, each in WAVE.
    Returned(Vec<String>),
}

/// What kind of failure a [`RunError`] is; it decides the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The input cannot be run as asked: not a component, not valid, imports
    /// what meld-host does not provide, not a command, no such function, bad
    /// arguments. Exit status 1.
    BadInput,
    /// The component trapped. Exit status 2.
    Trap,
}

/// Why a run failed: a message and notes, rendered like a diagnostic.
#[derive(Debug, Clone)]
pub struct RunError {
    /// Bad input or trap.
    pub failure: Failure,
    /// What went wrong, one line.
    pub message: String,
    /// Further context, one line each (the trap's cause and backtrace, the
    /// exports one could `--invoke`, ...).
    pub notes: Vec<String>,
}

impl RunError {
    fn bad(message: impl Into<String>, notes: Vec<String>) -> RunError {
        RunError {
            failure: Failure::BadInput,
            message: message.into(),
            notes,
        }
    }

    /// A wasmtime error as a bad-input error with its causes as notes.
    fn bad_with_causes(message: impl Into<String>, e: &wasmtime::Error) -> RunError {
        RunError::bad(message, causes(e))
    }
}

/// The lines of `e`'s chain after the first, and a trap's backtrace.
fn causes(e: &wasmtime::Error) -> Vec<String> {
    e.chain()
        .map(|c| c.to_string())
        .flat_map(|s| s.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// Runs the component `bytes` (binary format): its `wasi:cli/run` when
/// `invoke` is `None`, else the call `invoke` describes (`f(args)` in WAVE).
/// `args` are the program's arguments (the first is its name).
///
/// # Errors
/// A [`RunError`] saying whether the input was bad or the component trapped.
pub fn run(bytes: &[u8], args: &[String], invoke: Option<&str>) -> Result<Outcome, RunError> {
    if bytes.starts_with(b"\0asm\x01\0\0\0") {
        return Err(RunError::bad(
            "this is a core module, not a component",
            vec![
                "meld-host run runs components; a core module that Meld emitted (`--emit core`) \
                  becomes one again with `wasm-tools component new`"
                    .to_string(),
            ],
        ));
    }
    let engine = Engine::new(&Config::new())
        .map_err(|e| RunError::bad_with_causes("cannot set up wasmtime", &e))?;
    let component = Component::new(&engine, bytes)
        .map_err(|e| RunError::bad_with_causes("this is not a valid component", &e))?;
    let mut linker = Linker::<WasiState>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
        .map_err(|e| RunError::bad_with_causes("cannot link WASI", &e))?;
    let wasi = WasiCtx::builder().inherit_stdio().args(args).build();
    let mut store = Store::new(
        &engine,
        WasiState {
            wasi,
            table: ResourceTable::new(),
        },
    );
    let instance = linker.instantiate(&mut store, &component).map_err(|e| {
        let mut notes = causes(&e);
        notes.push(
            "meld-host run provides WASI 0.2 (wasi:cli, wasi:io, wasi:clocks, wasi:random, ...) \
             with no filesystem or network, and nothing else"
                .to_string(),
        );
        match e.downcast_ref::<wasmtime::Trap>() {
            Some(_) => RunError {
                failure: Failure::Trap,
                message: "the component trapped while it was instantiated".to_string(),
                notes,
            },
            None => RunError::bad("cannot instantiate the component", notes),
        }
    })?;

    let Some(invoke) = invoke else {
        let command = wasmtime_wasi::p2::bindings::sync::Command::new(&mut store, &instance)
            .map_err(|_| {
                RunError::bad(
                    "this component is not a command: it does not export `wasi:cli/run`",
                    vec![format!(
                        "call one of its functions with `--invoke 'NAME(ARGS)'`; it exports {}",
                        list(&function_paths(&engine, &component))
                    )],
                )
            })?;
        return match command.wasi_cli_run().call_run(&mut store) {
            Ok(Ok(())) => Ok(Outcome::Exit(0)),
            Ok(Err(())) => Ok(Outcome::Exit(1)),
            Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Some(exit) => Ok(Outcome::Exit(exit.0)),
                None => Err(trapped("`wasi:cli/run`", &e)),
            },
        };
    };

    let call = UntypedFuncCall::parse(invoke).map_err(|e| {
        RunError::bad(
            format!("`--invoke {invoke}` is not a call: {e}"),
            vec!["write a call as wasmtime does, with arguments in WAVE: `add(1, 2)`, `greet(\"you\")`, `sum([1, 2, 3])`".to_string()],
        )
    })?;
    let name = call.name().to_string();
    let func = find_function(&engine, &component, &instance, &mut store, &name)?;
    let ty = func.ty(&store);
    let params: Vec<_> = ty.params().map(|(_, t)| t).collect();
    let values: Vec<Val> = call.to_wasm_params(&params).map_err(|e| {
        RunError::bad(
            format!("the arguments do not fit `{name}`: {e}"),
            vec![format!("`{name}` is `{}`", DisplayFunc(ty.clone()))],
        )
    })?;
    let mut results = vec![Val::Bool(false); ty.results().len()];
    func.call(&mut store, &values, &mut results)
        .map_err(|e| trapped(&format!("`{name}`"), &e))?;
    Ok(Outcome::Returned(
        results
            .iter()
            .map(|v| DisplayValue(v).to_string())
            .collect(),
    ))
}

/// A trap (or an exit from a non-command) in `what`, with its causes.
fn trapped(what: &str, e: &wasmtime::Error) -> RunError {
    RunError {
        failure: Failure::Trap,
        message: format!("the component trapped in {what}"),
        notes: causes(e),
    }
}

/// `a`, `a` and `b`, or `a`, `b` and `c`; `nothing` for none.
fn list(items: &[String]) -> String {
    match items {
        [] => "no functions".to_string(),
        [one] => format!("`{one}`"),
        [rest @ .., last] => format!(
            "{} and `{last}`",
            rest.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Every exported function as a path of export names, in export order:
/// `["example:calc/ops", "add"]`.
fn function_exports(engine: &Engine, component: &Component) -> Vec<Vec<String>> {
    fn walk(engine: &Engine, item: ComponentItem, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        match item {
            ComponentItem::ComponentFunc(_) => out.push(path),
            ComponentItem::ComponentInstance(i) => {
                for (name, item) in i.exports(engine) {
                    let mut p = path.clone();
                    p.push(name.to_string());
                    walk(engine, item.ty, p, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (name, item) in component.component_type().exports(engine) {
        walk(engine, item.ty, vec![name.to_string()], &mut out);
    }
    out
}

/// [`function_exports`] as `iface#func` strings.
fn function_paths(engine: &Engine, component: &Component) -> Vec<String> {
    function_exports(engine, component)
        .iter()
        .map(|p| p.join("#"))
        .collect()
}

/// The exported function whose last name is `name`; an error when there is
/// none or more than one.
fn find_function(
    engine: &Engine,
    component: &Component,
    instance: &wasmtime::component::Instance,
    store: &mut Store<WasiState>,
    name: &str,
) -> Result<Func, RunError> {
    let matches: Vec<Vec<String>> = function_exports(engine, component)
        .into_iter()
        .filter(|p| p.last().map(String::as_str) == Some(name))
        .collect();
    let path = match matches.as_slice() {
        [one] => one,
        [] => {
            return Err(RunError::bad(
                format!("this component exports no function named `{name}`"),
                vec![format!(
                    "it exports {}",
                    list(&function_paths(engine, component))
                )],
            ));
        }
        several => {
            return Err(RunError::bad(
                format!("several exported functions are named `{name}`"),
                vec![format!(
                    "they are {}; meld-host finds functions by their last name, as wasmtime does",
                    list(&several.iter().map(|p| p.join("#")).collect::<Vec<_>>())
                )],
            ));
        }
    };
    let mut index = None;
    for part in path {
        index = instance.get_export_index(&mut *store, index.as_ref(), part);
    }
    index
        .and_then(|i| instance.get_func(&mut *store, i))
        .ok_or_else(|| {
            RunError::bad(
                format!("cannot find the export `{}`", path.join("#")),
                vec![],
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        assert_eq!(list(&[]), "no functions");
        assert_eq!(list(&["a".into()]), "`a`");
        assert_eq!(
            list(&["a".into(), "b".into(), "c".into()]),
            "`a`, `b` and `c`"
        );
    }
}
