//! Running components under wasmtime, in-process: one engine for both forms
//! (unfused and fused), WASI with nothing granted, compilation kept apart
//! from the timed calls.

use std::time::{Duration, Instant};
use wasmtime::component::{Component, Func, Instance, InstancePre, Linker, ResourceTable, Val};
use wasmtime::{Config, Engine, ProfilingStrategy, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Store data: WASI with no stdio, arguments, environment or filesystem.
pub struct Host {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// Store data with nothing granted.
pub fn host() -> Host {
    Host {
        ctx: WasiCtx::builder().build(),
        table: ResourceTable::new(),
    }
}

/// The engine every measurement uses. `perfmap` writes `/tmp/perf-<pid>.map`
/// so that `perf record` names the JIT-compiled functions.
pub fn engine(perfmap: bool) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    if perfmap {
        config.profiler(if std::env::var_os("MELD_BENCH_JITDUMP").is_some() {
            ProfilingStrategy::JitDump
        } else {
            ProfilingStrategy::PerfMap
        });
    }
    Ok(Engine::new(&config)?)
}

/// A component compiled and pre-instantiated against WASI.
pub struct Prepared {
    pre: InstancePre<Host>,
}

impl Prepared {
    /// Compiles `bytes` (not timed here: see [`compile_time`]).
    pub fn new(engine: &Engine, bytes: &[u8]) -> anyhow::Result<Self> {
        let component = Component::new(engine, bytes)?;
        let mut linker = Linker::<Host>::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        Ok(Prepared {
            pre: linker.instantiate_pre(&component)?,
        })
    }

    /// A fresh store and instance.
    pub fn instantiate(&self) -> anyhow::Result<Running> {
        let mut store = Store::new(self.pre.engine(), host());
        let instance = self.pre.instantiate(&mut store)?;
        Ok(Running { store, instance })
    }

    /// The time of `InstancePre::instantiate` alone (the store is made
    /// before the clock starts), one sample.
    pub fn instantiate_time(&self) -> anyhow::Result<Duration> {
        let mut store = Store::new(self.pre.engine(), host());
        let t = Instant::now();
        self.pre.instantiate(&mut store)?;
        Ok(t.elapsed())
    }
}

/// An instantiated component.
pub struct Running {
    store: Store<Host>,
    instance: Instance,
}

impl Running {
    fn func(&mut self, name: &str) -> anyhow::Result<Func> {
        self.instance
            .get_func(&mut self.store, name)
            .ok_or_else(|| anyhow::anyhow!("no export `{name}`"))
    }

    /// Calls export `name` with `args`, expecting one result, and returns it
    /// with the time of the call (post-return included: wasmtime 48 runs it
    /// as part of the call).
    pub fn call(&mut self, name: &str, args: &[Val]) -> anyhow::Result<(Val, Duration)> {
        let func = self.func(name)?;
        let mut results = [Val::Bool(false)];
        let t = Instant::now();
        func.call(&mut self.store, args, &mut results)?;
        let elapsed = t.elapsed();
        let [result] = results;
        Ok((result, elapsed))
    }
}

impl Running {
    /// Calls `wasi:cli/run` of a command component; fails if it returns
    /// `err` or traps.
    pub fn run_command(&mut self) -> anyhow::Result<()> {
        let cmd = wasmtime_wasi::p2::bindings::sync::Command::new(&mut self.store, &self.instance)?;
        cmd.wasi_cli_run()
            .call_run(&mut self.store)?
            .map_err(|()| anyhow::anyhow!("the command returned err"))
    }
}

/// The time of `Engine::precompile_component` on `bytes`, one sample.
pub fn compile_time(engine: &Engine, bytes: &[u8]) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let compiled = engine.precompile_component(bytes)?;
    let elapsed = t.elapsed();
    drop(compiled);
    Ok(elapsed)
}
