//! `meld-host`: the native Meld command line. See `meld-host --help`.

use std::ffi::OsStr;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use meld_host::{CacheStatus, Fuser, GuestFailure};

const ABOUT: &str = "Meld: static fusion of WebAssembly components";

const LONG_ABOUT: &str = "\
Meld: static fusion of WebAssembly components.

Meld takes one component, usually a composition of several inner components \
(made with `wac` or `wasm-tools compose`), and produces a component with the \
same outer world (the same imports and exports) whose program code is one core \
module: every inner core module, every canonical-ABI adapter between inner \
components and the runtime pieces a component host would otherwise supply, \
linked statically. With `--emit core` the output is instead one plain core module in the component model's `wasm32` build target, for runtimes and tools without component-model support.

meld-host runs the Meld fuser, itself a WebAssembly component, in an embedded \
wasmtime. The fuser gets the input bytes and nothing else: no files, no \
network, no environment variables, no arguments.";

const AFTER_HELP: &str = "\
Exit status: 0 on success; 1 if the input cannot be fused (diagnostics are \
printed to stderr) or IN/OUT cannot be read/written; 2 on a usage error or an \
internal error (the Meld guest trapped: a bug in Meld).

The compiled fuser is cached in $MELD_CACHE_DIR, else $XDG_CACHE_HOME/meld, \
else ~/.cache/meld (an empty MELD_CACHE_DIR disables the cache).";

#[derive(Parser)]
#[command(name = "meld-host", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fuse the component IN into a component whose code is one core module
    /// (or, with `--emit core`, into one plain core module).
    ///
    /// On success OUT is written (replacing any existing file) and nothing is
    /// printed. On failure the diagnostics are printed to stderr like compiler
    /// errors, and OUT is left untouched: it is written to a temporary file
    /// beside it and renamed into place only once complete.
    #[command(after_help = AFTER_HELP)]
    Fuse(FuseArgs),

    /// Run a command component (one that exports `wasi:cli/run`), e.g. an
    /// input and its fused output, to compare what they print.
    ///
    /// The component gets the terminal's stdin, stdout and stderr and the
    /// arguments after FILE; no filesystem, network or environment. The exit
    /// status is the component's: 0 when `run` returns ok, 1 when it returns
    /// err, the code it passed to `wasi:cli/exit`, or 2 if it traps.
    Run(RunArgs),

    /// Describe a component without fusing it: its outer world as WIT and
    /// who supplies what to whom among its top-level instances (the host's
    /// imports, the inner component instances, the outer exports).
    Inspect(InspectArgs),
}

#[derive(clap::Args)]
struct InspectArgs {
    /// The component to describe; `-` reads stdin.
    #[arg(value_name = "IN")]
    input: PathBuf,

    #[command(flatten)]
    limits: LimitArgs,
}

/// Bounds on the fuser (the guest component) for one run.
#[derive(clap::Args)]
struct LimitArgs {
    /// The most memory the fuser may use: bytes, or with a unit `KiB`,
    /// `MiB`, `GiB` (`K`, `M`, `G` alike). Running out is error E0012.
    #[arg(long, value_name = "SIZE", default_value = "2GiB", value_parser = parse_size)]
    max_memory: u64,

    /// The longest the fuser may run, in seconds (fractions allowed, or with
    /// a unit `ms`, `s`, `min`). Running out is error E0013.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_duration)]
    timeout: std::time::Duration,
}

impl LimitArgs {
    fn limits(&self) -> meld_host::Limits {
        meld_host::Limits {
            max_memory: self.max_memory,
            timeout: self.timeout,
        }
    }
}

/// `--max-memory`: `1073741824`, `512MiB`, `2G`, `1.5GiB`.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        other => return Err(format!("unknown unit `{other}` (use KiB, MiB or GiB)")),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 512MiB, 2GiB)"))?;
    let bytes = n * scale as f64;
    if !(bytes >= 65536.0 && bytes < 2f64.powi(48)) {
        return Err(format!("`{s}` is out of range (at least 64KiB)"));
    }
    Ok(bytes as u64)
}

/// `--timeout`: `60`, `0.5`, `250ms`, `2min`.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "min" => 60.0,
        other => return Err(format!("unknown unit `{other}` (use ms, s or min)")),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 60, 2.5, 500ms)"))?;
    let secs = n * scale;
    if !(secs > 0.0 && secs < 1e9) {
        return Err(format!("`{s}` is out of range (more than 0)"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[derive(clap::Args)]
struct RunArgs {
    /// The command component to run.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Arguments passed to the component (after its name).
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    args: Vec<String>,
}

#[derive(clap::Args)]
struct FuseArgs {
    /// The component to fuse (a `.wasm` component binary); `-` reads stdin.
    #[arg(value_name = "IN")]
    input: PathBuf,

    /// Where to write the fused component; `-` writes it to stdout (refused
    /// when stdout is a terminal). Required.
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,

    /// What to write: `component` (the default), a component with IN's
    /// world whose code is one core module; or `core`, one core module in
    /// the component model's `wasm32` build target, for runtimes and tools
    /// without component-model support: IN's world imported and exported as
    /// `cm32p2|<interface>` / `cm32p2|<interface>|<func>`, one memory
    /// `cm32p2_memory`, `cm32p2_realloc`, `cm32p2_initialize` (call it
    /// first), utf8 strings, and the world embedded, so that `wasm-tools
    /// component new OUT` makes a component of it again.
    #[arg(long, value_enum, value_name = "KIND", default_value_t = EmitArg::Component)]
    emit: EmitArg,

    /// Do not read or write the compiled-fuser cache: compile the fuser from
    /// scratch (takes seconds).
    #[arg(long)]
    no_cache: bool,

    /// Print to stderr how the fuser was loaded (cache hit or compile) and
    /// how long each step took.
    #[arg(short, long)]
    verbose: bool,

    #[command(flatten)]
    limits: LimitArgs,
}

/// `--emit`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum EmitArg {
    /// A component (the default).
    Component,
    /// A core module (the `wasm32` build target).
    Core,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Fuse(args) => fuse(args),
        Command::Run(args) => run(args),
        Command::Inspect(args) => inspect(args),
    }
}

fn inspect(args: InspectArgs) -> ExitCode {
    let (name, input) = match read_input(&args.input) {
        Ok(read) => read,
        Err(code) => return code,
    };
    let mut fuser = match Fuser::with_cache_dir(meld_host::default_cache_dir().as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: internal error: cannot load the Meld fuser: {e:#}");
            return ExitCode::from(2);
        }
    };
    fuser.set_limits(args.limits.limits());
    match fuser.inspect(&input) {
        Ok(Ok(i)) => {
            println!("{}", i.world.trim_end());
            println!("\n// wiring (source --[item]--> target):");
            let label = |id: u32| {
                i.nodes
                    .iter()
                    .find(|n| n.0 == id)
                    .map_or(String::new(), |n| format!("{} `{}`", n.1, n.2))
            };
            for (source, target, item) in &i.edges {
                println!("//   {} --[{item}]--> {}", label(*source), label(*target));
            }
            ExitCode::SUCCESS
        }
        Ok(Err(diagnostics)) => report(&diagnostics, &name),
        Err(e) => internal_error(&e, &name),
    }
}

fn run(args: RunArgs) -> ExitCode {
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", args.file.display());
            return ExitCode::from(1);
        }
    };
    let mut argv = vec![args.file.display().to_string()];
    argv.extend(args.args);
    match meld_host::run::run_command(&bytes, &argv) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_dash(path: &Path) -> bool {
    path.as_os_str() == OsStr::new("-")
}

/// How diagnostics name the input: its path, or `<stdin>` for `-`.
fn display_name(path: &Path) -> String {
    if is_dash(path) {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Reads IN (`-` for stdin); on failure prints the error and returns exit
/// status 1.
fn read_input(path: &Path) -> Result<(String, Vec<u8>), ExitCode> {
    let name = display_name(path);
    let bytes = if is_dash(path) {
        let mut buf = Vec::new();
        std::io::stdin().lock().read_to_end(&mut buf).map(|_| buf)
    } else {
        std::fs::read(path)
    };
    bytes.map(|b| (name.clone(), b)).map_err(|e| {
        eprintln!("error: cannot read `{name}`: {e}");
        ExitCode::from(1)
    })
}

fn fuse(args: FuseArgs) -> ExitCode {
    let input_name = display_name(&args.input);
    let to_stdout = is_dash(&args.output);
    if to_stdout && std::io::stdout().is_terminal() {
        eprintln!(
            "error: refusing to write WebAssembly binary to a terminal; redirect stdout or use `-o FILE`"
        );
        return ExitCode::from(1);
    }

    let input = match read_input(&args.input) {
        Ok((_, bytes)) => bytes,
        Err(code) => return code,
    };

    let start = std::time::Instant::now();
    let cache_dir = if args.no_cache {
        None
    } else {
        meld_host::default_cache_dir()
    };
    let mut fuser = match Fuser::with_cache_dir(cache_dir.as_deref()) {
        Ok(fuser) => fuser,
        Err(e) => {
            eprintln!("error: internal error: cannot load the Meld fuser: {e:#}");
            return ExitCode::from(2);
        }
    };
    fuser.set_limits(args.limits.limits());
    if args.verbose {
        let how = match fuser.cache_status() {
            CacheStatus::Hit(p) => format!("loaded from cache {}", p.display()),
            CacheStatus::Written(p) => format!("compiled, cached in {}", p.display()),
            CacheStatus::Unwritable(p) => format!("compiled, could not cache in {}", p.display()),
            CacheStatus::Disabled => "compiled, cache disabled".to_string(),
        };
        eprintln!(
            "meld-host: fuser {how} in {:.3}s",
            fuser.load_time().as_secs_f64()
        );
    }

    let fuse_start = std::time::Instant::now();
    let emit = match args.emit {
        EmitArg::Component => meld_host::Emit::Component,
        EmitArg::Core => meld_host::Emit::Core,
    };
    let result = fuser.fuse_with(&input, emit);
    if args.verbose {
        eprintln!(
            "meld-host: fuse call {:.3}s, total {:.3}s",
            fuse_start.elapsed().as_secs_f64(),
            start.elapsed().as_secs_f64()
        );
    }
    let output = match result {
        Ok(Ok(output)) => output,
        Ok(Err(diagnostics)) => return report(&diagnostics, &input_name),
        Err(e) => return internal_error(&e, &input_name),
    };

    let written = if to_stdout {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&output).and_then(|()| stdout.flush())
    } else {
        write_atomically(&args.output, &output)
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let out = if to_stdout {
                "<stdout>".to_string()
            } else {
                args.output.display().to_string()
            };
            eprintln!("error: cannot write `{out}`: {e}");
            ExitCode::from(1)
        }
    }
}

/// Prints the diagnostics like a compiler does; exit status 1.
fn report(diagnostics: &[meld_host::Diagnostic], input_name: &str) -> ExitCode {
    let mut stderr = std::io::stderr().lock();
    for d in diagnostics {
        let _ = writeln!(stderr, "{}", meld_host::render(d, input_name));
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == meld_host::Severity::Error)
        .count();
    let _ = match errors {
        0 => writeln!(stderr, "error: could not fuse `{input_name}`"),
        1 => writeln!(
            stderr,
            "error: could not fuse `{input_name}` due to 1 previous error"
        ),
        n => writeln!(
            stderr,
            "error: could not fuse `{input_name}` due to {n} previous errors"
        ),
    };
    ExitCode::from(1)
}

/// The guest trapped or could not be called: a bug in Meld; exit status 2.
fn internal_error(e: &anyhow::Error, input_name: &str) -> ExitCode {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(
        stderr,
        "error: internal error while fusing `{input_name}`: {e}"
    );
    let _ = writeln!(
        stderr,
        "  = note: this is a bug in Meld, not a problem with the input; please report it \
         at https://github.com/meld-dev/meld/issues, with the input if you can share it"
    );
    for cause in e.chain().skip(1) {
        let _ = writeln!(
            stderr,
            "  = caused by: {}",
            cause.to_string().trim_end().replace('\n', "\n    ")
        );
    }
    if let Some(failure) = e.downcast_ref::<GuestFailure>() {
        let text = failure.stderr.trim_end();
        if !text.is_empty() {
            let _ = writeln!(stderr, "  = guest stderr:");
            for line in text.lines() {
                let _ = writeln!(stderr, "    | {line}");
            }
        }
    }
    ExitCode::from(2)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over
/// `path`: `path` is either untouched or complete, never partial.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"))?;
    let tmp = dir.join(format!(
        ".{}.meld-tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
