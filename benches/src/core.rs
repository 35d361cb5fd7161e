//! The `core` table: Meld's core-module output (`wasm32` build target)
//! beside the input and the component output, per composition: sizes (with
//! the core module after `wasm-opt -O`) and run time under wasmtime.
//!
//! The core forms run as wasmtime runs them: wrapped back into components
//! with wit-component's `ComponentEncoder` (`wasm-tools component new`).
//! Run time is a fresh instance plus one call: `wasi:cli/run` for the
//! command examples, `run(mix, rounds)` for `examples/bench.wasm`;
//! `res-export` (driven through its resource API) is measured for size only.

use crate::runner::{Prepared, Running};
use crate::{Args, inputs, median, ms};
use anyhow::Context;
use meld_tests::{rewrap, wasm_opt_o};
use std::time::{Duration, Instant};
use wasmtime::component::Val;

/// Rounds of `run(mix, rounds)` of `examples/bench.wasm` per sample.
const MIX_ROUNDS: u32 = 100_000;

/// One sample: instantiate `p` and make its one call.
fn sample(p: &Prepared, name: &str, rounds: u32) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let mut running: Running = p.instantiate()?;
    if name == "bench" {
        running.call("run", &[Val::Enum("mix".into()), Val::U32(rounds)])?;
    } else {
        running.run_command()?;
    }
    Ok(t.elapsed())
}

pub fn table(args: &Args, engine: &wasmtime::Engine) -> anyhow::Result<()> {
    let rounds = args.rounds(MIX_ROUNDS);
    println!(
        "## Core-module output: size (bytes) and run time (instantiate + one call; median of {}), \
         core forms wrapped back with `wasm-tools component new`\n",
        args.samples
    );
    println!(
        "| composition | input | component | core | core -O | run: input | component | core | core -O |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, input) in inputs::compositions()? {
        let component = meld::fuse(&input).map_err(|d| anyhow::anyhow!("{name}: {d:?}"))?;
        let core = meld::fuse_with(&input, &meld::Options::with_output(meld::Output::Core))
            .map_err(|d| anyhow::anyhow!("{name}: {d:?}"))?;
        let optimised = wasm_opt_o(&core).with_context(|| format!("{name}: wasm-opt"))?;
        let forms = [
            input.clone(),
            component.clone(),
            rewrap(&core)?,
            rewrap(&optimised)?,
        ];
        let times = if name == "res-export" {
            vec!["–".to_string(); 4]
        } else {
            let prepared = forms
                .iter()
                .map(|f| Prepared::new(engine, f))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut samples = vec![Vec::new(); 4];
            for s in 0..args.samples {
                for k in 0..4 {
                    // Rotate which form goes first, so drift hits all alike.
                    let k = (k + s) % 4;
                    samples[k].push(sample(&prepared[k], &name, rounds)?);
                }
            }
            samples.into_iter().map(|t| ms(median(t))).collect()
        };
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            input.len(),
            component.len(),
            core.len(),
            optimised.len(),
            times.join(" | ")
        );
    }
    println!();
    Ok(())
}
