//! `meld-host`: the native Meld command line. See `meld-host --help`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::LazyLock;

use clap::{Parser, Subcommand};
use meld_host::input::{self, Format, Input, ReadError};
use meld_host::run::{Failure, Outcome};
use meld_host::{CacheStatus, Fuser, GuestFailure, Severity};

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
Input: IN may be a component in the binary format or in the text format \
(WAT, as `wasm-tools` writes it); `-` reads stdin.

Output: `-o FILE` replaces a regular file atomically (a temporary file beside \
it, renamed into place once complete, with the old file's permissions), \
follows a symbolic link to its target, and writes a device, FIFO or \
descriptor path (`/dev/null`, `/dev/stdout`, `>(cmd)`) in place without \
replacing it. `-o -` writes to stdout.

Exit status: 0 on success; 1 if the input cannot be fused, inspected or run \
(diagnostics are printed to stderr) or IN/OUT cannot be read/written; 2 on a \
usage error, when the component given to `run` traps, or on an internal error \
(the Meld guest trapped: a bug in Meld; please report it with the output of \
`meld-host --version`).

The compiled fuser is cached in $MELD_CACHE_DIR, else $XDG_CACHE_HOME/meld, \
else ~/.cache/meld (an empty MELD_CACHE_DIR disables the cache); the first \
run compiles it, which takes a few seconds.";

#[derive(Parser)]
#[command(
    name = "meld-host",
    version = SHORT_VERSION.as_str(),
    long_version = LONG_VERSION.as_str(),
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `-V`: `0.1.0 (guest <digest>, wasmtime 48.0.8)`.
static SHORT_VERSION: LazyLock<String> = LazyLock::new(|| {
    meld_host::identity()
        .trim_start_matches("meld-host ")
        .to_string()
});

/// `--version`: Meld's version, the guest's digest and size, wasmtime's
/// version, one per line.
static LONG_VERSION: LazyLock<String> = LazyLock::new(meld_host::long_version);

#[derive(Subcommand)]
enum Command {
    /// Fuse the component IN into a component whose code is one core module
    /// (or, with `--emit core`, into one plain core module).
    ///
    /// On success OUT is written and nothing is printed. On failure the
    /// diagnostics are printed to stderr like compiler errors, and OUT is
    /// left untouched: a regular file is written to a temporary file beside
    /// it and renamed into place only once complete.
    #[command(after_help = AFTER_HELP)]
    Fuse(FuseArgs),

    /// Run a component under wasmtime with WASI 0.2, e.g. an input and its
    /// fused output, to compare what they do.
    ///
    /// Without `--invoke`, FILE must be a command (export `wasi:cli/run`):
    /// it gets the terminal's stdin, stdout and stderr and the arguments
    /// after FILE, and the exit status is its own: 0 when `run` returns ok,
    /// 1 when it returns err, or the code it passed to `wasi:cli/exit`.
    /// With `--invoke`, any component: the function is called and its
    /// results are printed to stdout in WAVE, one per line. A component
    /// that traps exits with 2 and a message on stderr; a file that is not
    /// a component, imports more than WASI 0.2, is not a command, or has no
    /// such function exits with 1. No filesystem, network or environment.
    #[command(after_help = AFTER_HELP)]
    Run(RunArgs),

    /// Describe a component without fusing it: its outer world as WIT, the
    /// components inside it (nested compositions looked through), the edges
    /// between them, the host imports each one uses and who supplies the
    /// outer exports. On Meld's own output, says that it is fused and by
    /// which Meld.
    #[command(after_help = AFTER_HELP)]
    Inspect(InspectArgs),
}

#[derive(clap::Args)]
struct InspectArgs {
    /// The component to describe (binary or text format); `-` reads stdin.
    #[arg(value_name = "IN")]
    input: PathBuf,

    /// Print the description as JSON, for tools: `world` (WIT text),
    /// `fused_by` (`"meld 0.1.0"` or null), `nodes` (`id`, `kind`:
    /// component | host-import | host-export, `name`) and `edges` (`source`,
    /// `target`, `name`: the item the source supplies to the target).
    #[arg(long)]
    json: bool,

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
    /// The component to run (binary or text format); `-` reads stdin.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Call this exported function instead of `wasi:cli/run`, as wasmtime
    /// does: `NAME(ARGS)` with the arguments in the WebAssembly Value
    /// Encoding (WAVE), e.g. `--invoke 'add(1, 2)'`, `--invoke
    /// 'greet("you")'`, `--invoke 'sum([1, 2, 3])'`. NAME is the function's
    /// own name, looked up at the top level and in every exported instance;
    /// it must be unique.
    #[arg(long, value_name = "CALL")]
    invoke: Option<String>,

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
    /// The component to fuse, in the binary or the text format (WAT); `-`
    /// reads stdin.
    #[arg(value_name = "IN")]
    input: PathBuf,

    /// Where to write the output; `-` writes it to stdout (refused for the
    /// binary format when stdout is a terminal). A regular file is replaced
    /// atomically; a device, FIFO or descriptor path is written in place.
    /// Required.
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,

    /// Write the output in the text format (WAT) instead of the binary one.
    #[arg(short = 't', long = "wat")]
    wat: bool,

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

/// What a command was doing, for the closing line of its diagnostics.
#[derive(Clone, Copy)]
enum Verb {
    Fuse,
    Inspect,
    Run,
}

impl Verb {
    fn as_str(self) -> &'static str {
        match self {
            Verb::Fuse => "fuse",
            Verb::Inspect => "inspect",
            Verb::Run => "run",
        }
    }
}

/// Reads IN as binary or text; on failure prints why and returns exit
/// status 1.
fn read_input(path: &Path, verb: Verb) -> Result<Input, ExitCode> {
    match input::read(path) {
        Ok(input) => Ok(input),
        Err(ReadError::Io(message)) => {
            eprintln!("error: {message}");
            Err(ExitCode::from(1))
        }
        Err(ReadError::Text(diagnostic)) => {
            let name = input::display_name(path);
            Err(report(&[*diagnostic], &name, Format::Text, verb))
        }
    }
}

/// Loads the fuser (the guest) with `cache_dir`; an internal error (exit
/// status 2) when it cannot be loaded.
fn load_fuser(cache_dir: Option<&Path>, limits: &LimitArgs) -> Result<Fuser, ExitCode> {
    match Fuser::with_cache_dir(cache_dir) {
        Ok(mut fuser) => {
            fuser.set_limits(limits.limits());
            Ok(fuser)
        }
        Err(e) => {
            eprintln!("error: internal error: cannot load the Meld fuser: {e:#}");
            eprintln!("  = note: {}", meld_host::identity());
            Err(ExitCode::from(2))
        }
    }
}

fn inspect(args: InspectArgs) -> ExitCode {
    let input = match read_input(&args.input, Verb::Inspect) {
        Ok(input) => input,
        Err(code) => return code,
    };
    let mut fuser = match load_fuser(meld_host::default_cache_dir().as_deref(), &args.limits) {
        Ok(f) => f,
        Err(code) => return code,
    };
    match fuser.inspect(&input.bytes) {
        Ok(Ok(i)) => {
            let text = if args.json {
                meld_host::view::json(&i) + "\n"
            } else {
                meld_host::view::text(&i)
            };
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: cannot write to stdout: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Ok(Err(diagnostics)) => report(&diagnostics, &input.name, input.format, Verb::Inspect),
        Err(e) => internal_error(&e, &input.name, Verb::Inspect),
    }
}

fn run(args: RunArgs) -> ExitCode {
    let input = match read_input(&args.file, Verb::Run) {
        Ok(input) => input,
        Err(code) => return code,
    };
    if input.format != Format::Binary && input.format != Format::Text {
        let diagnostic = meld_host::Diagnostic {
            severity: Severity::Error,
            code: String::new(),
            message: "this is not WebAssembly".to_string(),
            offset: None,
            notes: input
                .format
                .not_wasm_note()
                .into_iter()
                .map(str::to_string)
                .collect(),
        };
        return report(&[diagnostic], &input.name, Format::Binary, Verb::Run);
    }
    let mut argv = vec![input.name.clone()];
    argv.extend(args.args);
    match meld_host::run::run(&input.bytes, &argv, args.invoke.as_deref()) {
        Ok(Outcome::Exit(code)) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Ok(Outcome::Returned(results)) => {
            let mut stdout = std::io::stdout().lock();
            let written = results
                .iter()
                .try_for_each(|r| writeln!(stdout, "{r}"))
                .and_then(|()| stdout.flush());
            match written {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: cannot write to stdout: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Err(e) => {
            let diagnostic = meld_host::Diagnostic {
                severity: Severity::Error,
                code: String::new(),
                message: e.message,
                offset: None,
                notes: e.notes,
            };
            let _ = write!(
                std::io::stderr().lock(),
                "{}",
                meld_host::render(&diagnostic, &input.name)
            );
            match e.failure {
                Failure::Trap => ExitCode::from(2),
                Failure::BadInput => ExitCode::from(1),
            }
        }
    }
}

fn fuse(args: FuseArgs) -> ExitCode {
    let to_stdout = input::is_dash(&args.output);
    if to_stdout && !args.wat && std::io::stdout().is_terminal() {
        eprintln!(
            "error: refusing to write WebAssembly binary to a terminal; redirect stdout, use `-o FILE`, or `-t` for text"
        );
        return ExitCode::from(1);
    }

    let input = match read_input(&args.input, Verb::Fuse) {
        Ok(input) => input,
        Err(code) => return code,
    };

    let start = std::time::Instant::now();
    let cache_dir = if args.no_cache {
        None
    } else {
        meld_host::default_cache_dir()
    };
    let mut fuser = match load_fuser(cache_dir.as_deref(), &args.limits) {
        Ok(fuser) => fuser,
        Err(code) => return code,
    };
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
    let result = fuser.fuse_with(&input.bytes, emit);
    if args.verbose {
        eprintln!(
            "meld-host: fuse call {:.3}s, total {:.3}s",
            fuse_start.elapsed().as_secs_f64(),
            start.elapsed().as_secs_f64()
        );
    }
    let mut output = match result {
        Ok(Ok(output)) => output,
        Ok(Err(diagnostics)) => {
            return report(&diagnostics, &input.name, input.format, Verb::Fuse);
        }
        Err(e) => return internal_error(&e, &input.name, Verb::Fuse),
    };
    if args.wat {
        match wasmprinter::print_bytes(&output) {
            Ok(text) => output = text.into_bytes(),
            Err(e) => {
                eprintln!("error: internal error: cannot print the output as text: {e:#}");
                eprintln!("  = note: {}", meld_host::identity());
                return ExitCode::from(2);
            }
        }
    }

    let written = if to_stdout {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&output).and_then(|()| stdout.flush())
    } else {
        meld_host::output::write_output(&args.output, &output)
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

/// Prints the diagnostics like a compiler does, then `could not <verb>`;
/// exit status 1. A diagnostic that the input is not wasm gets a note on
/// whether it looks like text (`format`); an internal error (E0100) gets
/// meld-host's identity, for the bug report.
fn report(
    diagnostics: &[meld_host::Diagnostic],
    input_name: &str,
    format: Format,
    verb: Verb,
) -> ExitCode {
    let mut stderr = std::io::stderr().lock();
    for d in diagnostics {
        let mut d = d.clone();
        if d.code == NOT_WASM_CODE
            && let Some(note) = format.not_wasm_note()
        {
            d.notes.push(note.to_string());
        }
        if d.code == INTERNAL_CODE {
            d.notes.push(meld_host::identity());
        }
        let _ = write!(stderr, "{}", meld_host::render(&d, input_name));
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == meld_host::Severity::Error)
        .count();
    let verb = verb.as_str();
    let _ = match errors {
        0 => writeln!(stderr, "error: could not {verb} `{input_name}`"),
        1 => writeln!(
            stderr,
            "error: could not {verb} `{input_name}` due to 1 previous error"
        ),
        n => writeln!(
            stderr,
            "error: could not {verb} `{input_name}` due to {n} previous errors"
        ),
    };
    ExitCode::from(1)
}

/// The guest's diagnostic code for bytes that are not wasm (E0002).
const NOT_WASM_CODE: &str = "E0002";
/// The guest's diagnostic code for an internal error (E0100).
const INTERNAL_CODE: &str = "E0100";

/// The guest trapped or could not be called: a bug in Meld; exit status 2.
fn internal_error(e: &anyhow::Error, input_name: &str, verb: Verb) -> ExitCode {
    let mut stderr = std::io::stderr().lock();
    let verb = match verb {
        Verb::Fuse => "fusing",
        Verb::Inspect => "inspecting",
        Verb::Run => "running",
    };
    let _ = writeln!(
        stderr,
        "error: internal error while {verb} `{input_name}`: {e}"
    );
    let _ = writeln!(
        stderr,
        "  = note: this is a bug in Meld, not a problem with the input; please report it \
         at https://github.com/meld-dev/meld/issues, with the input if you can share it"
    );
    let _ = writeln!(stderr, "  = note: {}", meld_host::identity());
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
