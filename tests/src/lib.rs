//! Shared helpers of Meld's integration tests.
//!
//! - [`run_command`]: runs a component exporting `wasi:cli/run` under wasmtime
//!   with WASI and captures what is observable (stdout, stderr, exit status,
//!   trap);
//! - [`world_wit`]: the component's outer world decoded by wit-component,
//!   printed as WIT, for exact comparison;
//! - [`core_modules`]: every core module in a component (nested ones
//!   included) with its number of function bodies.

use std::path::PathBuf;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The bundled example compositions: (name, bytes). `resources` and
/// `reexport` pass resources between their inner components.
pub fn examples() -> Vec<(String, Vec<u8>)> {
    ["calc", "chain", "resources", "reexport"]
        .iter()
        .map(|n| {
            let path = repo().join("examples").join(format!("{n}.wasm"));
            let bytes =
                std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            (n.to_string(), bytes)
        })
        .collect()
}

/// Everything observable of one run of a command component.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Bytes written to stdout.
    pub stdout: Vec<u8>,
    /// Bytes written to stderr.
    pub stderr: Vec<u8>,
    /// `Ok(())` when `run` returned `ok`, `Err(())` when it returned `err`;
    /// `None` when it trapped or exited through `wasi:cli/exit`.
    pub result: Option<Result<(), ()>>,
    /// Exit code given to `wasi:cli/exit`, if any.
    pub exit_code: Option<i32>,
    /// Whether execution trapped (instantiation included).
    pub trapped: bool,
}

/// Store data of a component run with WASI (stdio captured by the caller).
pub struct Host {
    ctx: WasiCtx,
    table: ResourceTable,
}

/// Instantiates the component `bytes` with WASI (no stdio, arguments,
/// environment or filesystem), for components driven through their exports.
pub fn instantiate_with_wasi(
    bytes: &[u8],
) -> anyhow::Result<(Store<Host>, wasmtime::component::Instance)> {
    let engine = engine();
    let component = Component::new(engine, bytes)?;
    let mut linker = Linker::<Host>::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    let mut store = Store::new(
        engine,
        Host {
            ctx: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        },
    );
    let instance = linker.instantiate(&mut store, &component)?;
    Ok((store, instance))
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// The engine used to run components under test (one per process).
pub fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).expect("engine")
    })
}

/// Runs `wasi:cli/run` of the component `bytes` with stdio captured, no
/// arguments, no environment, no filesystem.
pub fn run_command(bytes: &[u8]) -> anyhow::Result<Outcome> {
    let engine = engine();
    let component = Component::new(engine, bytes)?;
    let mut linker = Linker::<Host>::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    let stdout = MemoryOutputPipe::new(1 << 20);
    let stderr = MemoryOutputPipe::new(1 << 20);
    let ctx = WasiCtx::builder()
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .build();
    let mut store = Store::new(
        engine,
        Host {
            ctx,
            table: ResourceTable::new(),
        },
    );
    let mut result = None;
    let mut exit_code = None;
    let mut trapped = false;
    match wasmtime_wasi::p2::bindings::sync::Command::instantiate(&mut store, &component, &linker) {
        Ok(cmd) => match cmd.wasi_cli_run().call_run(&mut store) {
            Ok(r) => result = Some(r),
            Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Some(exit) => exit_code = Some(exit.0),
                None => trapped = true,
            },
        },
        Err(_) => trapped = true,
    }
    Ok(Outcome {
        stdout: stdout.contents().to_vec(),
        stderr: stderr.contents().to_vec(),
        result,
        exit_code,
        trapped,
    })
}

/// The outer world of a component printed as WIT (wit-component's decoder and
/// printer, as `meld::inspect::world_wit` runs them).
pub fn world_wit(bytes: &[u8]) -> anyhow::Result<String> {
    meld::inspect::world_wit(bytes).map_err(anyhow::Error::msg)
}

/// Every core module of a component, depth-first in binary order, with its
/// number of function bodies (0 for modules with no program code).
pub fn core_modules(bytes: &[u8]) -> anyhow::Result<Vec<usize>> {
    let mut out = Vec::new();
    let mut depth_module: Vec<bool> = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload? {
            wasmparser::Payload::Version { encoding, .. } => {
                let is_module = encoding == wasmparser::Encoding::Module;
                if is_module {
                    out.push(0);
                }
                depth_module.push(is_module);
            }
            wasmparser::Payload::CodeSectionStart { count, .. } => {
                if let Some(last) = out.last_mut() {
                    *last += count as usize;
                }
            }
            wasmparser::Payload::End(_) => {
                depth_module.pop();
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The function names in every `name` section of `component` (the fused
/// core module's included), in order.
pub fn function_names(component: &[u8]) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        if let wasmparser::Payload::CustomSection(c) = payload?
            && let wasmparser::KnownCustom::Name(reader) = c.as_known()
        {
            for sub in reader {
                if let wasmparser::Name::Function(map) = sub? {
                    for naming in map {
                        names.push(naming?.name.to_string());
                    }
                }
            }
        }
    }
    Ok(names)
}

/// Instantiates `bytes` with no imports and calls its export `name` with
/// `args`, expecting one result; `None` if instantiation or the call traps.
pub fn call_export(
    bytes: &[u8],
    name: &str,
    args: &[wasmtime::component::Val],
) -> Option<wasmtime::component::Val> {
    let engine = engine();
    let component = Component::new(engine, bytes).ok()?;
    let mut store = Store::new(engine, ());
    let instance = wasmtime::component::Linker::new(engine)
        .instantiate(&mut store, &component)
        .ok()?;
    let func = instance.get_func(&mut store, name)?;
    let mut results = [wasmtime::component::Val::Bool(false)];
    func.call(&mut store, args, &mut results).ok()?;
    let [r] = results;
    Some(r)
}
