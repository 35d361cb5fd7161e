//! `meld-fuzz`: Meld's fuzzers on stable Rust, for a fixed number of
//! deterministic cases (CI) or for a while (by hand). Case `n` of seed `s`
//! is always the same input, so a failure reproduces with
//! `--seed s --first n --cases 1`.

use arbitrary::Unstructured;
use clap::{Parser, Subcommand};
use meld_fuzz::{Verdict, bytes_for, differential, engine, fuse_properties, smith};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    version,
    about = "Meld's fuzzers on stable Rust: deterministic cases, reproducers on failure"
)]
struct Cli {
    #[command(subcommand)]
    target: Target,
}

#[derive(Subcommand)]
enum Target {
    /// Random compositions run as given and fused (component and core
    /// output): every result, every value the host receives and every trap
    /// must agree.
    Differential(Run),
    /// Bytes into `meld::fuse`: random bytes, wasm-smith modules in
    /// components, and the bundled examples and test fixtures, the last two
    /// with random bytes changed. Never a panic or an internal error, every
    /// output valid, the same output twice.
    Fuse(Run),
}

#[derive(clap::Args)]
struct Run {
    /// The seed; case `n` of a seed is always the same input.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The first case.
    #[arg(long, default_value_t = 0)]
    first: u64,
    /// How many cases (stops earlier at --seconds).
    #[arg(long, default_value_t = 1000)]
    cases: u64,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    /// Where reproducers go.
    #[arg(long, default_value = "target/fuzz-reproducers")]
    out: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let failures = match cli.target {
        Target::Differential(r) => run_differential(&r),
        Target::Fuse(r) => run_fuse(&r),
    };
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn cases(r: &Run) -> impl Iterator<Item = u64> + '_ {
    let deadline = Instant::now() + Duration::from_secs(r.seconds);
    (r.first..r.first + r.cases).take_while(move |_| Instant::now() < deadline)
}

/// Changes 1 to 4 bytes of `b`, chosen by `noise`.
fn mutate(b: &mut [u8], noise: &[u8]) {
    for pair in noise.chunks(4).take(1 + noise[0] as usize % 4) {
        let at = u32::from_le_bytes([pair[0], pair[1], pair[2], 0]) as usize % b.len();
        b[at] = pair[3];
    }
}

fn report(r: &Run, kind: &str, case: u64, what: &str, wasm: Option<&[u8]>, wat: Option<&str>) {
    let _ = std::fs::create_dir_all(&r.out);
    let stem = r.out.join(format!("{kind}-seed{}-case{case}", r.seed));
    if let Some(w) = wasm {
        let _ = std::fs::write(stem.with_extension("wasm"), w);
    }
    if let Some(w) = wat {
        let _ = std::fs::write(stem.with_extension("wat"), w);
    }
    eprintln!(
        "FAIL {kind} case {case} (reproduce: meld-fuzz {kind} --seed {} --first {case} --cases 1; files {}.*)\n{what}\n",
        r.seed,
        stem.display()
    );
}

fn run_differential(r: &Run) -> u64 {
    let engine = engine();
    let start = Instant::now();
    let (mut ran, mut same, mut skipped, mut failures) = (0u64, 0u64, 0u64, 0u64);
    let (mut with_handles, mut trapped) = (0u64, 0u64);
    for case in cases(r) {
        ran += 1;
        let data = bytes_for(r.seed, case, 4096);
        let (made, verdict) = differential(&engine, &data);
        let (wat, wasm) = match &made {
            Some((wat, wasm)) => (Some(wat.as_str()), Some(wasm.as_slice())),
            None => (None, None),
        };
        match verdict {
            Verdict::Same(shape) => {
                same += 1;
                with_handles += u64::from(shape.handles);
                trapped += u64::from(shape.trapped);
            }
            Verdict::Skipped => skipped += 1,
            failure => {
                failures += 1;
                report(r, "differential", case, &failure.to_string(), wasm, wat);
            }
        }
    }
    println!(
        "differential: {ran} cases in {:.1} s ({same} same, of which {with_handles} pass handles and {trapped} end in a trap; {skipped} skipped, {failures} failures), seed {}",
        start.elapsed().as_secs_f64(),
        r.seed
    );
    failures
}

fn run_fuse(r: &Run) -> u64 {
    // The bundled examples and the test fixtures, to mutate.
    let mut examples: Vec<Vec<u8>> = [
        "calc",
        "chain",
        "resources",
        "reexport",
        "res-export",
        "bench",
    ]
    .iter()
    .filter_map(|n| std::fs::read(format!("examples/{n}.wasm")).ok())
    .collect();
    if let Ok(dir) = std::fs::read_dir("tests/fixtures") {
        let mut paths: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            match p.extension().and_then(|e| e.to_str()) {
                Some("wat") => examples.extend(wat::parse_file(&p).ok()),
                Some("wasm") => examples.extend(std::fs::read(&p).ok()),
                _ => {}
            }
        }
    }
    let start = Instant::now();
    let (mut ran, mut failures) = (0u64, 0u64);
    for case in cases(r) {
        ran += 1;
        let noise = bytes_for(r.seed, case, 256);
        // Cases 0 mod 4: raw bytes behind a component header; 2 mod 4: a
        // wasm-smith module in a component, half of them with a few bytes
        // changed; odd cases: an example with a few bytes changed.
        let input = if case % 4 == 0 || (case % 2 == 1 && examples.is_empty()) {
            let mut b = noise.clone();
            b.splice(0..0, *b"\0asm\x0d\0\x01\0");
            b
        } else if case % 4 == 2 {
            let data = bytes_for(r.seed, case, 2048);
            let mut b = smith::component(&mut Unstructured::new(&data)).unwrap_or(noise.clone());
            if noise[1] % 2 == 1 {
                mutate(&mut b, &noise);
            }
            b
        } else {
            let mut b = examples[(case as usize / 2) % examples.len()].clone();
            mutate(&mut b, &noise);
            b
        };
        let outcome = std::panic::catch_unwind(|| fuse_properties(&input));
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(p) => Some(format!(
                "panic: {}",
                p.downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| p.downcast_ref::<&str>().copied())
                    .unwrap_or("?")
            )),
        };
        if let Some(e) = failure {
            failures += 1;
            report(r, "fuse", case, &e, Some(&input), None);
        }
    }
    println!(
        "fuse: {ran} cases in {:.1} s ({failures} failures), seed {}",
        start.elapsed().as_secs_f64(),
        r.seed
    );
    failures
}
