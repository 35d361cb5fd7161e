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
    /// A digest of Meld's outputs (component and core) for the examples,
    /// the fixtures, every `.wast` component, the differential cases and
    /// the fuse cases of a seed, one line per input: for refactorings that
    /// must not change a byte (run before and after, compare with `diff`).
    /// Known caveat: a composition that passes several resource types to one
    /// instantiation is fused to different bytes in different processes
    /// (wasmtime-environ 48 numbers resource tables in the iteration order
    /// of a `HashMap` of instantiation arguments); such lines differ between
    /// runs of the same build, so compare them over several runs.
    Digest(Run),
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
        Target::Digest(r) => run_digest(&r),
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
    let (mut with_handles, mut trapped, mut asynk) = (0u64, 0u64, 0u64);
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
                asynk += u64::from(shape.async_);
            }
            Verdict::Skipped => skipped += 1,
            failure => {
                failures += 1;
                report(r, "differential", case, &failure.to_string(), wasm, wat);
            }
        }
    }
    println!(
        "differential: {ran} cases in {:.1} s ({same} same, of which {with_handles} pass handles, {asynk} make async calls and {trapped} end in a trap; {skipped} skipped, {failures} failures), seed {}",
        start.elapsed().as_secs_f64(),
        r.seed
    );
    failures
}

/// The bundled examples and the test fixtures (binary), to mutate.
fn seeds() -> Vec<Vec<u8>> {
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
    examples
}

/// Input `case` of the fuse fuzzer with `seed`. Cases 0 mod 4: raw bytes
/// behind a component header; 2 mod 4: a wasm-smith module in a component,
/// half of them with a few bytes changed; odd cases: an example with a few
/// bytes changed.
fn fuse_input(seed: u64, case: u64, examples: &[Vec<u8>]) -> Vec<u8> {
    let noise = bytes_for(seed, case, 256);
    if case.is_multiple_of(4) || (case % 2 == 1 && examples.is_empty()) {
        let mut b = noise.clone();
        b.splice(0..0, *b"\0asm\x0d\0\x01\0");
        b
    } else if case % 4 == 2 {
        let data = bytes_for(seed, case, 2048);
        let mut b = smith::component(&mut Unstructured::new(&data)).unwrap_or(noise.clone());
        if noise[1] % 2 == 1 {
            mutate(&mut b, &noise);
        }
        b
    } else {
        let mut b = examples[(case as usize / 2) % examples.len()].clone();
        mutate(&mut b, &noise);
        b
    }
}

fn run_fuse(r: &Run) -> u64 {
    let examples = seeds();
    let start = Instant::now();
    let (mut ran, mut failures) = (0u64, 0u64);
    for case in cases(r) {
        ran += 1;
        let input = fuse_input(r.seed, case, &examples);
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

/// `meld-fuzz digest`: prints `<input> <component output> <core output>`
/// per input, each output as a 64-bit FNV-1a of its bytes or the codes of
/// its diagnostics, then a digest of all lines.
fn run_digest(r: &Run) -> u64 {
    fn fnv(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }
    let outputs = |input: &[u8]| -> String {
        [meld::Output::Component, meld::Output::Core]
            .map(
                |output| match meld::fuse_with(input, &meld::Options::with_output(output)) {
                    Ok(bytes) => format!("{:016x}", fnv(&bytes)),
                    Err(d) => d
                        .iter()
                        .map(|d| d.code.as_str())
                        .collect::<Vec<_>>()
                        .join("+"),
                },
            )
            .join(" ")
    };
    let mut lines = Vec::new();
    for (i, example) in seeds().iter().enumerate() {
        lines.push(format!("seed-input {i} {}", outputs(example)));
    }
    for (name, component) in wast_components() {
        lines.push(format!("wast {name} {}", outputs(&component)));
    }
    let engine = engine();
    for case in cases(r) {
        let data = bytes_for(r.seed, case, 4096);
        if let (Some((_, wasm)), _) = differential(&engine, &data) {
            lines.push(format!("differential {case} {}", outputs(&wasm)));
        }
    }
    let examples = seeds();
    for case in cases(r) {
        let input = fuse_input(r.seed, case, &examples);
        lines.push(format!("fuse {case} {}", outputs(&input)));
    }
    for line in &lines {
        println!("{line}");
    }
    println!(
        "digest {:016x} of {} inputs, seed {}",
        fnv(lines.join("\n").as_bytes()),
        lines.len(),
        r.seed
    );
    0
}

/// Every module and component defined in the `.wast` files of the
/// conformance suite (`../shared/conformance`) and of `tests/regressions`,
/// named `<file>#<n>`, in path order.
fn wast_components() -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "wast") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(std::path::Path::new("../shared/conformance"), &mut files);
    walk(std::path::Path::new("tests/regressions"), &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let Ok(buffer) = wast::parser::ParseBuffer::new(&text) else {
            continue;
        };
        let Ok(wast) = wast::parser::parse::<wast::Wast>(&buffer) else {
            continue;
        };
        for (n, directive) in wast.directives.into_iter().enumerate() {
            let mut quoted = match directive {
                wast::WastDirective::Module(q) | wast::WastDirective::ModuleDefinition(q) => q,
                _ => continue,
            };
            if let Ok(bytes) = quoted.encode() {
                out.push((format!("{}#{n}", file.display()), bytes));
            }
        }
    }
    out
}
