//! `meld-host run`: runs a command component (one exporting `wasi:cli/run`)
//! under wasmtime with WASI, so that an input and its fused output can be
//! compared by eye. Unlike the fuser guest, the component gets the terminal's
//! stdio and its arguments; still no filesystem, network or environment.

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::error::Context as _;
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

/// Runs `wasi:cli/run` of the command component `bytes` with inherited stdio
/// and `args` (the first is the program name). Returns the exit status: 0 when
/// `run` returns `ok`, 1 when it returns `err`, or the code passed to
/// `wasi:cli/exit`.
///
/// # Errors
/// When the component does not compile, does not link against WASI 0.2, or
/// traps; the error says which.
pub fn run_command(bytes: &[u8], args: &[String]) -> anyhow::Result<i32> {
    let engine = Engine::new(&Config::new()).context("cannot set up wasmtime")?;
    let component = Component::new(&engine, bytes).context("cannot compile the component")?;
    let mut linker = Linker::<WasiState>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).context("cannot link WASI")?;
    let wasi = WasiCtx::builder().inherit_stdio().args(args).build();
    let mut store = Store::new(
        &engine,
        WasiState {
            wasi,
            table: ResourceTable::new(),
        },
    );
    let command =
        wasmtime_wasi::p2::bindings::sync::Command::instantiate(&mut store, &component, &linker)
            .context("cannot instantiate the component as a `wasi:cli/command`")?;
    match command.wasi_cli_run().call_run(&mut store) {
        Ok(Ok(())) => Ok(0),
        Ok(Err(())) => Ok(1),
        Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(anyhow::Error::from(e).context("the component trapped")),
        },
    }
}
