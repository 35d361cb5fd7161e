//! `meld-bench`: Meld's fused output against the composition it came from,
//! under wasmtime, in one process, side by side.
//!
//! Prints Markdown tables (medians of `--samples` samples; unfused and
//! fused samples alternate, so that drift of the machine hits both alike):
//!
//! 1. **run**: time of `run(workload, rounds)` of `examples/bench.wasm` (Rust
//!    guests) per workload shape, and of `run(rounds)` of a generated echo
//!    composition per string-encoding pair; compiled beforehand, so compile
//!    time is apart. The checksums of both forms must agree, or the bench
//!    fails.
//! 2. **instantiate**: `InstancePre::instantiate` per composition.
//! 3. **compile**: `Engine::precompile_component` per composition.
//! 4. **size**: bytes of input and output, with and without `name` /
//!    `component-name` custom sections.
//! 5. **async**: round trips of component-model async calls between two
//!    inner components (`examples/async-calls.wasm`), returning at once and
//!    after a yield, under wasmtime with component-model async.
//! 6. **core**: the core-module output (`--emit core`) beside the input and
//!    the component output: sizes, with `wasm-opt -O`, and run times.
//!
//! Run by hand (`benches/run.sh` adds fuse times with hyperfine); never by
//! the tests.

mod async_calls;
mod core;
mod inputs;
mod runner;

use anyhow::{Context, bail};
use clap::Parser;
use runner::{Prepared, compile_time, engine};
use std::time::Duration;
use wasmtime::component::Val;

#[derive(Parser)]
#[command(
    version,
    about = "Fused vs unfused under wasmtime: run, instantiation and compile time, size"
)]
struct Args {
    /// Samples per measurement (the median is reported).
    #[arg(long, default_value_t = 5)]
    samples: usize,
    /// Instantiations per sample of the instantiation time (their mean is one sample).
    #[arg(long, default_value_t = 50)]
    instances: u32,
    /// Multiplies every workload's rounds (e.g. 0.1 for a quick look).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Only the tables named (run, strings, instantiate, compile, size, async, core); all when absent.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Only this workload or string pair (e.g. `echo`, `utf8-utf16`), for profiling.
    #[arg(long)]
    workload: Option<String>,
    /// Only the fused (or only the unfused) form, for profiling one of them.
    #[arg(long, value_parser = ["fused", "unfused"])]
    form: Option<String>,
    /// Write /tmp/perf-<pid>.map for `perf record` (names the JIT code).
    #[arg(long)]
    perfmap: bool,
    /// Fuse with this command (`FUSER IN OUT`, e.g. an earlier build of
    /// `examples/fuse.rs`) instead of this build's library: for before/after
    /// comparisons.
    #[arg(long, value_name = "PATH")]
    fuser: Option<std::path::PathBuf>,
    /// Write bench.fused.wasm and both forms precompiled (`.cwasm`, ELF:
    /// `objdump -d` shows the machine code) to this directory, then exit.
    #[arg(long, value_name = "DIR")]
    save: Option<std::path::PathBuf>,
}

impl Args {
    fn wants(&self, table: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|t| t == table)
    }
    fn rounds(&self, base: u32) -> u32 {
        ((f64::from(base) * self.scale) as u32).max(1)
    }
    fn forms(&self) -> [bool; 2] {
        match self.form.as_deref() {
            Some("fused") => [false, true],
            Some("unfused") => [true, false],
            _ => [true, true],
        }
    }
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs.get(xs.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn ratio(fused: Duration, unfused: Duration) -> String {
    if unfused.is_zero() {
        return "–".into();
    }
    format!("{:.2}", fused.as_secs_f64() / unfused.as_secs_f64())
}

/// The fuser `--fuser` names, if any (set once in `main`).
static FUSER: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();

fn fuse(name: &str, bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let Some(Some(fuser)) = FUSER.get() else {
        return meld::fuse(bytes).map_err(|d| anyhow::anyhow!("fusing {name}: {d:?}"));
    };
    let dir = std::env::temp_dir().join(format!("meld-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (input, output) = (dir.join("in.wasm"), dir.join("out.wasm"));
    std::fs::write(&input, bytes)?;
    let status = std::process::Command::new(fuser)
        .arg(&input)
        .arg(&output)
        .status()?;
    if !status.success() {
        bail!("fusing {name} with {}: {status}", fuser.display());
    }
    Ok(std::fs::read(&output)?)
}

/// Times `call` on both forms, `samples` times each, alternating which form
/// goes first; returns the medians (unfused, fused). The results of both
/// forms must be equal.
fn side_by_side(
    args: &Args,
    what: &str,
    unfused: &Prepared,
    fused: &Prepared,
    export: &str,
    call_args: &[Val],
) -> anyhow::Result<(Duration, Duration)> {
    let [run_unfused, run_fused] = args.forms();
    let mut a = unfused.instantiate()?;
    let mut b = fused.instantiate()?;
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for s in 0..args.samples {
        let order: [bool; 2] = if s % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        let mut results = [None, None];
        for is_fused in order {
            if (is_fused && !run_fused) || (!is_fused && !run_unfused) {
                continue;
            }
            let (running, times) = if is_fused {
                (&mut b, &mut tb)
            } else {
                (&mut a, &mut ta)
            };
            let (value, t) = running.call(export, call_args).with_context(|| {
                format!("{what} ({})", if is_fused { "fused" } else { "unfused" })
            })?;
            times.push(t);
            results[usize::from(is_fused)] = Some(value);
        }
        if let [Some(x), Some(y)] = &results
            && x != y
        {
            bail!("{what}: fused result {y:?} differs from unfused {x:?}");
        }
    }
    Ok((median(ta), median(tb)))
}

fn run_table(args: &Args, engine: &wasmtime::Engine) -> anyhow::Result<()> {
    let input = inputs::read("examples/bench.wasm")?;
    let unfused = Prepared::new(engine, &input)?;
    let fused = Prepared::new(engine, &fuse("bench", &input)?)?;
    println!(
        "## Run time: examples/bench.wasm (Rust guests), median of {}\n",
        args.samples
    );
    println!("| workload | rounds | unfused | fused | fused/unfused |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for &(workload, base) in inputs::WORKLOADS {
        if args.workload.as_deref().is_some_and(|w| w != workload) {
            continue;
        }
        let rounds = args.rounds(base);
        let call = [Val::Enum(workload.into()), Val::U32(rounds)];
        let (u, f) = side_by_side(args, workload, &unfused, &fused, "run", &call)?;
        println!(
            "| {workload} | {rounds} | {} | {} | {} |",
            ms(u),
            ms(f),
            ratio(f, u)
        );
    }
    println!();
    Ok(())
}

fn strings_table(args: &Args, engine: &wasmtime::Engine) -> anyhow::Result<()> {
    let rounds = args.rounds(inputs::STRING_ROUNDS);
    println!(
        "## Run time: string echo per encoding pair (generated, 64 ASCII characters), median of {}\n",
        args.samples
    );
    println!("| caller → callee → caller | rounds | unfused | fused | fused/unfused |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for from in inputs::ENCODINGS {
        for to in inputs::ENCODINGS {
            let name = format!("{from}-{to}");
            if args.workload.as_deref().is_some_and(|w| w != name) {
                continue;
            }
            let input = inputs::string_pair(from, to)?;
            let unfused = Prepared::new(engine, &input)?;
            let fused = Prepared::new(engine, &fuse(&name, &input)?)?;
            let (u, f) = side_by_side(args, &name, &unfused, &fused, "run", &[Val::U32(rounds)])?;
            println!(
                "| {from} → {to} → {from} | {rounds} | {} | {} | {} |",
                ms(u),
                ms(f),
                ratio(f, u)
            );
        }
    }
    println!();
    Ok(())
}

fn instantiate_table(args: &Args, engine: &wasmtime::Engine) -> anyhow::Result<()> {
    println!(
        "## Instantiation: `InstancePre::instantiate`, median of {} samples of {} each\n",
        args.samples, args.instances
    );
    println!("| composition | unfused | fused | fused/unfused |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, input) in inputs::compositions()? {
        let unfused = Prepared::new(engine, &input)?;
        let fused = Prepared::new(engine, &fuse(&name, &input)?)?;
        let (mut ta, mut tb) = (Vec::new(), Vec::new());
        for _ in 0..args.samples {
            for (p, times) in [(&unfused, &mut ta), (&fused, &mut tb)] {
                let mut total = Duration::ZERO;
                for _ in 0..args.instances {
                    total += p.instantiate_time()?;
                }
                times.push(total / args.instances);
            }
        }
        let (u, f) = (median(ta), median(tb));
        println!("| {name} | {} | {} | {} |", us(u), us(f), ratio(f, u));
    }
    println!();
    Ok(())
}

fn compile_table(args: &Args, engine: &wasmtime::Engine) -> anyhow::Result<()> {
    println!(
        "## Compile time: `Engine::precompile_component` (Cranelift), median of {}\n",
        args.samples
    );
    println!("| composition | unfused | fused | fused/unfused |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, input) in inputs::compositions()? {
        let output = fuse(&name, &input)?;
        let (mut ta, mut tb) = (Vec::new(), Vec::new());
        for _ in 0..args.samples {
            ta.push(compile_time(engine, &input)?);
            tb.push(compile_time(engine, &output)?);
        }
        let (u, f) = (median(ta), median(tb));
        println!("| {name} | {} | {} | {} |", ms(u), ms(f), ratio(f, u));
    }
    println!();
    Ok(())
}

/// Bytes of `name` and `component-name` custom sections at every nesting
/// level, headers included.
fn name_section_bytes(bytes: &[u8]) -> anyhow::Result<usize> {
    let mut total = 0;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::CustomSection(c) = payload?
            && matches!(c.name(), "name" | "component-name")
        {
            let len = c.range().len();
            let leb = (usize::BITS - len.leading_zeros()).div_ceil(7).max(1) as usize;
            total += 1 + leb + len;
        }
    }
    Ok(total)
}

fn size_table() -> anyhow::Result<()> {
    println!("## Size (bytes)\n");
    println!(
        "| composition | input | fused | fused/input | input without names | fused without names | ratio without names |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, input) in inputs::compositions()? {
        let output = fuse(&name, &input)?;
        let (i, o) = (input.len(), output.len());
        let (ib, ob) = (
            i - name_section_bytes(&input)?,
            o - name_section_bytes(&output)?,
        );
        println!(
            "| {name} | {i} | {o} | {:.2} | {ib} | {ob} | {:.2} |",
            o as f64 / i as f64,
            ob as f64 / ib as f64
        );
    }
    println!();
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    FUSER.get_or_init(|| args.fuser.clone());
    let engine = engine(args.perfmap)?;
    if let Some(dir) = &args.save {
        let input = inputs::read("examples/bench.wasm")?;
        let fused = fuse("bench", &input)?;
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("bench.fused.wasm"), &fused)?;
        std::fs::write(
            dir.join("bench.cwasm"),
            engine.precompile_component(&input)?,
        )?;
        std::fs::write(
            dir.join("bench.fused.cwasm"),
            engine.precompile_component(&fused)?,
        )?;
        return Ok(());
    }
    if args.wants("run") {
        run_table(&args, &engine)?;
    }
    if args.wants("strings") {
        strings_table(&args, &engine)?;
    }
    if args.wants("instantiate") {
        instantiate_table(&args, &engine)?;
    }
    if args.wants("compile") {
        compile_table(&args, &engine)?;
    }
    if args.wants("size") {
        size_table()?;
    }
    if args.wants("async") {
        async_calls::table(&args)?;
    }
    if args.wants("core") {
        core::table(&args, &engine)?;
    }
    Ok(())
}
