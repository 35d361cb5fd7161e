//! The async table: round trips of component-model async calls between two
//! inner components (`examples/async-calls.wasm`: the runner's
//! `scenarios#bench(rounds, yielding)` awaits the library's `ping`, which
//! returns at once, or `ping-yield`, which yields once first), composed and
//! fused, under wasmtime with component-model async, in one run.
//!
//! Composed, wasmtime runs every call through its host libcalls
//! (`prepare_call`, `start_call`, the event loop); fused, it is a call into
//! the runtime Meld links into the module.

use crate::runner::{Host, host};
use crate::{Args, fuse, inputs, median, ms, ratio};
use anyhow::{Context as _, bail};
use meld_tests::block_on;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Config, Engine, Store};

/// Rounds per sample of each workload.
const ROUNDS: u32 = 200_000;

/// The workloads: name and `yielding`.
const WORKLOADS: &[(&str, bool)] = &[("ping", false), ("ping-yield", true)];

/// An engine with component-model async on (`-W component-model-async=y`).
fn engine(perfmap: bool) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.wasm_component_model_async(true);
    config.concurrency_support(true);
    if perfmap {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    Ok(Engine::new(&config)?)
}

/// `bytes` compiled and pre-instantiated against WASI and the fixture's
/// host import `meld:async-demo/clock` (never called by the benchmark).
fn prepare(engine: &Engine, bytes: &[u8]) -> anyhow::Result<InstancePre<Host>> {
    let component = Component::new(engine, bytes)?;
    let mut linker = Linker::<Host>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    linker
        .instance("meld:async-demo/clock")?
        .func_wrap_concurrent("tick", |_, (ms,): (u32,)| {
            Box::pin(async move { Ok((ms + 1,)) })
        })?;
    Ok(linker.instantiate_pre(&component)?)
}

/// One sample: a fresh instance, then the timed call of
/// `bench(rounds, yielding)`; its result and time.
fn sample(pre: &InstancePre<Host>, rounds: u32, yielding: bool) -> anyhow::Result<(u64, Duration)> {
    let mut store = Store::new(pre.engine(), host());
    block_on(async {
        let instance = pre.instantiate_async(&mut store).await?;
        let iface = instance
            .get_export_index(&mut store, None, "meld:async-demo/scenarios")
            .context("no export meld:async-demo/scenarios")?;
        let index = instance
            .get_export_index(&mut store, Some(&iface), "bench")
            .context("no export bench")?;
        let f = instance.get_typed_func::<(u32, bool), (u64,)>(&mut store, index)?;
        let t = Instant::now();
        let (r,) = store
            .run_concurrent(async move |a| f.call_concurrent(a, (rounds, yielding)).await)
            .await??;
        Ok((r, t.elapsed()))
    })
}

/// Prints the async table.
pub fn table(args: &Args) -> anyhow::Result<()> {
    let engine = engine(args.perfmap)?;
    let input = inputs::read("examples/async-calls.wasm")?;
    let unfused = prepare(&engine, &input)?;
    let fused = prepare(&engine, &fuse("async-calls", &input)?)?;
    let [run_unfused, run_fused] = args.forms();
    println!(
        "## Run time: async round trips between two inner components (examples/async-calls.wasm), median of {}\n",
        args.samples
    );
    println!("| workload | rounds | unfused | fused | fused/unfused |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for &(name, yielding) in WORKLOADS {
        if args.workload.as_deref().is_some_and(|w| w != name) {
            continue;
        }
        let rounds = args.rounds(ROUNDS);
        let (mut tu, mut tf) = (Vec::new(), Vec::new());
        for s in 0..args.samples {
            let mut results = [None, None];
            let order = if s % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            for is_fused in order {
                if (is_fused && !run_fused) || (!is_fused && !run_unfused) {
                    continue;
                }
                let pre = if is_fused { &fused } else { &unfused };
                let (r, t) = sample(pre, rounds, yielding).with_context(|| {
                    format!("{name} ({})", if is_fused { "fused" } else { "unfused" })
                })?;
                if is_fused { &mut tf } else { &mut tu }.push(t);
                results[usize::from(is_fused)] = Some(r);
            }
            if let [Some(x), Some(y)] = results
                && x != y
            {
                bail!("{name}: fused result {y} differs from unfused {x}");
            }
        }
        let (u, f) = (median(tu), median(tf));
        println!(
            "| {name} | {rounds} | {} | {} | {} |",
            ms(u),
            ms(f),
            ratio(f, u)
        );
    }
    println!();
    Ok(())
}
