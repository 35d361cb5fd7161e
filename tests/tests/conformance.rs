//! Conformance: the component model's reference tests
//! (`../shared/conformance/**/*.wast`), run against every component as given
//! and as fused by Meld.
//!
//! # What is run
//!
//! Every top-level component of a `.wast` file is a *unit*: the directive that
//! defines it (`(component …)`, `(component definition $C …)`, or a component
//! inside `(assert_trap …)` / `(assert_unlinkable …)`), plus every later
//! directive that acts on it: `(component instance $i $C)` of it, and every
//! `invoke` / `assert_return` / `assert_trap` / `assert_exhaustion` addressed
//! to the current instance while that instance comes from this component. In
//! wasmtime's wast runner every component instance lives in a store of its
//! own, so a unit runs exactly as it would inside the whole file.
//!
//! Each unit becomes a wast text of its own, run twice by `wasmtime-wast`
//! (`WastContext::run_wast`, the same code wasmtime's test suite uses): once
//! with the definition as written, once with the definition re-spelt as
//! `(component [definition] [$id] binary "<meld::fuse(bytes)>")`; the other
//! directives are kept verbatim, and each directive stays on its original
//! line, so errors name lines of the real file. Re-spelling the definition was
//! chosen over `precompile_load`: that hook needs a `.cwasm` for every module
//! of the file (there is no fallback, and a missing file fails the directive),
//! which breaks `assert_invalid`; text is also easier to reason about.
//!
//! Components inside `assert_invalid` / `assert_malformed` are not units:
//! they are fused once each and must be refused with a diagnostic (counted as
//! `invalid`; `inv-accepted` when Meld returns bytes for them, `inv-panic`
//! when it panics). Core modules at top level and `register` do not occur in
//! the reference tests; the runner refuses files that use them rather than
//! splitting them wrongly.
//!
//! # Columns (per file, per folder `dir/*`, and `TOTAL`)
//!
//! - `seen`: units (valid components with their directives);
//! - `orig`: units whose directives all pass against the original;
//! - `fused`: units whose directives all pass against the fused bytes;
//! - `failing`: Meld is wrong: it panicked (also counted in `panic`), or
//!   reported E0100, or refused a component the original runs with a
//!   non-'unsupported' diagnostic, or its output fails a directive the
//!   original passes (or does not compile);
//! - `both-fail`: the original fails too, and Meld produced output or a
//!   diagnostic that is neither 'unsupported' nor E0100;
//! - `unsupported`: refused with E0006–E0010, per code (last column).
//!
//! So `seen = fused + failing + both-fail + Σ unsupported`.
//!
//! # Expectations
//!
//! `tests/conformance/expected.txt` holds the table; the test fails when the
//! counts differ in either direction. `MELD_BLESS=1 cargo test -p meld-tests
//! --release --test conformance` rewrites it. `--nocapture` shows the table
//! and one line per failing unit (`MELD_CONFORMANCE_VERBOSE=1` also lists
//! why originals fail). `MELD_CONFORMANCE_DIR` overrides where the
//! `.wast` files are read from.
//!
//! Both sides run on one engine: the component model with every proposal
//! the reference tests use (async, more async builtins, stackful async,
//! threading, error-context, fixed-length lists, maps, `implements`,
//! exceptions), Cranelift without optimisation (the tests are tiny;
//! compilation is the cost), and fuel metering so that a runaway loop ends as
//! a trap. Calls go through the async API (`Async::Yes`): async-lifted
//! exports, which occur outside `async/` too, cannot be called through the
//! sync one, and for sync exports the two behave the same. Units run in
//! parallel, one per core at a time.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::Instant;

use wasmtime::{Config, Engine, OptLevel};
use wasmtime_wast::{Async, SpectestConfig, WastContext};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, Wat};

/// Fuel for every store: far more than any reference test needs.
const FUEL: u64 = 2_000_000_000;

// ---------------------------------------------------------------------------
// Reading the files into units

/// One `.wast` file.
struct File {
    /// Path relative to the conformance folder, `/`-separated.
    name: String,
    src: String,
    /// Byte offset of the start of every line.
    line_starts: Vec<usize>,
}

impl File {
    fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset)
    }

    /// The first source line of the directive on `line`, shortened.
    fn directive_on(&self, line: usize) -> String {
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let text = self.src[start..].lines().next().unwrap_or("").trim();
        shorten(text, 80)
    }
}

/// A component and the directives that concern it.
struct Unit {
    file: usize,
    /// 1-based number of the component within its file.
    index: usize,
    line: usize,
    /// Byte range of the defining directive.
    def: (usize, usize),
    /// The defining directive re-spelt around other bytes: `header`, the
    /// bytes as a wast string, `trailer`.
    header: String,
    trailer: String,
    bytes: Vec<u8>,
    /// Byte ranges of the other directives, in order.
    rest: Vec<(usize, usize)>,
}

/// A component inside `assert_invalid` / `assert_malformed`.
struct Invalid {
    file: usize,
    line: usize,
    bytes: Vec<u8>,
}

/// Byte ranges of the top-level s-expressions of a wast text.
fn top_level(src: &str) -> Vec<(usize, usize)> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut start, mut i) = (0usize, 0usize, 0usize);
    while i < b.len() {
        match (b[i], b.get(i + 1).copied()) {
            (b';', Some(b';')) => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            (b'(', Some(b';')) => {
                let mut nest = 0usize;
                while i < b.len() {
                    if b[i..].starts_with(b"(;") {
                        nest += 1;
                        i += 2;
                    } else if b[i..].starts_with(b";)") {
                        nest -= 1;
                        i += 2;
                        if nest == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            (b'"', _) => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            (b'(', _) => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            (b')', _) => {
                depth = depth.checked_sub(1).expect("unbalanced `)`");
                if depth == 0 {
                    out.push((start, i + 1));
                }
            }
            _ => {}
        }
        i += 1;
    }
    assert_eq!(depth, 0, "unbalanced `(`");
    out
}

fn wast_string(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3 + 2);
    s.push('"');
    for b in bytes {
        write!(s, "\\{b:02x}").unwrap();
    }
    s.push('"');
    s
}

fn wast_text_string(text: &str) -> String {
    let mut s = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if c == ' ' || c.is_ascii_graphic() => s.push(c),
            c => write!(s, "\\u{{{:x}}}", c as u32).unwrap(),
        }
    }
    s.push('"');
    s
}

fn wast_id(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-./:<=>?@\\^_`|~".contains(c));
    if plain {
        format!("${name}")
    } else {
        format!("${}", wast_text_string(name))
    }
}

fn is_component(q: &QuoteWat<'_>) -> bool {
    matches!(
        q,
        QuoteWat::Wat(Wat::Component(_)) | QuoteWat::QuoteComponent(..)
    )
}

/// Splits one file into units and invalid components.
fn split(file_index: usize, file: &File, units: &mut Vec<Unit>, invalid: &mut Vec<Invalid>) {
    let name = &file.name;
    let mut lexer = Lexer::new(&file.src);
    // As `WastContext::run_wast` does.
    lexer.allow_confusing_unicode(name.ends_with("names.wast"));
    let buf = ParseBuffer::new_with_lexer(lexer).unwrap_or_else(|e| panic!("{name}: {e}"));
    let ast = parser::parse::<Wast>(&buf).unwrap_or_else(|e| panic!("{name}: {e}"));
    let extents = top_level(&file.src);
    assert_eq!(
        extents.len(),
        ast.directives.len(),
        "{name}: top-level s-expressions and wast directives differ"
    );

    let first = units.len();
    let mut by_name: HashMap<Option<String>, usize> = HashMap::new();
    let mut current: Option<usize> = None;
    for (mut d, range) in ast.directives.into_iter().zip(extents) {
        let offset = d.span().offset();
        assert!(
            range.0 < offset && offset < range.1,
            "{name}: directive outside its extent"
        );
        let line = file.line_of(range.0);
        let at = format!("{name}:{line}");
        let mut new_unit = |bytes: Vec<u8>, header: String, trailer: String| {
            units.push(Unit {
                file: file_index,
                index: units.len() - first + 1,
                line,
                def: range,
                header,
                trailer,
                bytes,
                rest: Vec::new(),
            });
            units.len() - 1
        };
        match &mut d {
            WastDirective::Module(q) | WastDirective::ModuleDefinition(q) => {
                assert!(
                    is_component(q),
                    "{at}: top-level core modules are not supported"
                );
                let id = q.name().map(|id| id.name().to_string());
                let bytes = q.encode().unwrap_or_else(|e| panic!("{at}: {e}"));
                let definition = matches!(d, WastDirective::ModuleDefinition(_));
                let header = format!(
                    "(component{}{} binary ",
                    if definition { " definition" } else { "" },
                    id.as_deref()
                        .map(|n| format!(" {}", wast_id(n)))
                        .unwrap_or_default()
                );
                let u = new_unit(bytes, header, ")".into());
                if definition {
                    by_name.insert(id, u);
                } else {
                    current = Some(u);
                }
            }
            WastDirective::ModuleInstance { module, .. } => {
                let key = module.map(|id| id.name().to_string());
                let u = *by_name
                    .get(&key)
                    .unwrap_or_else(|| panic!("{at}: no definition named {key:?}"));
                units[u].rest.push(range);
                current = Some(u);
            }
            WastDirective::AssertTrap {
                exec: WastExecute::Wat(w),
                message,
                ..
            } => {
                let (bytes, trailer) = standalone(&at, w, message);
                new_unit(bytes, "(assert_trap (component binary ".into(), trailer);
            }
            WastDirective::AssertUnlinkable {
                module: w, message, ..
            } => {
                let (bytes, trailer) = standalone(&at, w, message);
                new_unit(
                    bytes,
                    "(assert_unlinkable (component binary ".into(),
                    trailer,
                );
            }
            WastDirective::AssertInvalid { module, .. }
            | WastDirective::AssertMalformed { module, .. } => {
                // Text that does not even parse has no bytes to fuse.
                if is_component(module)
                    && let Ok(bytes) = module.encode()
                {
                    invalid.push(Invalid {
                        file: file_index,
                        line,
                        bytes,
                    });
                }
            }
            WastDirective::Invoke(_)
            | WastDirective::AssertReturn { .. }
            | WastDirective::AssertTrap { .. }
            | WastDirective::AssertExhaustion { .. }
            | WastDirective::AssertException { .. }
            | WastDirective::AssertSuspension { .. } => {
                let u = current.unwrap_or_else(|| panic!("{at}: no current component"));
                units[u].rest.push(range);
            }
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. } => {}
            WastDirective::Register { .. }
            | WastDirective::Thread(_)
            | WastDirective::Wait { .. } => {
                panic!("{at}: `register` and threads are not supported by this runner")
            }
        }
    }
}

/// The bytes of a component inside `assert_trap` / `assert_unlinkable`, and
/// the text that closes the directive after them.
fn standalone(at: &str, w: &mut Wat<'_>, message: &str) -> (Vec<u8>, String) {
    assert!(
        matches!(w, Wat::Component(_)),
        "{at}: core modules are not supported"
    );
    let bytes = w.encode().unwrap_or_else(|e| panic!("{at}: {e}"));
    (bytes, format!(") {})", wast_text_string(message)))
}

/// The wast text of a unit, with the original definition or with `fused`.
/// Every directive starts on its original line.
fn unit_text(file: &File, unit: &Unit, fused: Option<&[u8]>) -> String {
    let mut out = String::new();
    let mut line = 1;
    let def_text = match fused {
        None => file.src[unit.def.0..unit.def.1].to_string(),
        Some(bytes) => any_trap(&format!(
            "{}{}{}",
            unit.header,
            wast_string(bytes),
            unit.trailer
        )),
    };
    let parts = std::iter::once((unit.def.0, def_text)).chain(unit.rest.iter().map(|&(s, e)| {
        let text = &file.src[s..e];
        (
            s,
            if fused.is_some() {
                any_trap(text)
            } else {
                text.to_string()
            },
        )
    }));
    for (start, text) in parts {
        let target = file.line_of(start);
        while line < target {
            out.push('\n');
            line += 1;
        }
        line += text.matches('\n').count();
        out.push_str(&text);
        out.push('\n');
        line += 1;
    }
    out
}

/// For the fused side: an `assert_trap` expects any trap, not wasmtime's
/// message. wasmtime's texts ("unaligned pointer", "invalid variant
/// discriminant") come from its runtime and adapters; in the fused module the
/// same checks run in wasm, where a trap is `unreachable`. The directive still
/// must trap, on the same directive: the empty string is in every text.
fn any_trap(directive: &str) -> String {
    if !directive.trim_start().starts_with("(assert_trap") {
        return directive.to_string();
    }
    let Some(end) = directive.rfind('"') else {
        return directive.to_string();
    };
    let bytes = directive.as_bytes();
    let mut start = end;
    while start > 0 {
        start -= 1;
        if bytes[start] == b'"' && (start == 0 || bytes[start - 1] != b'\\') {
            return format!("{}\"\"{}", &directive[..start], &directive[end + 1..]);
        }
    }
    directive.to_string()
}

// ---------------------------------------------------------------------------
// Running

thread_local! {
    /// Set while running code whose panics are caught and reported.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
            } else {
                default(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic into `Err(message)`.
fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    QUIET.with(|q| q.set(true));
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    r.map_err(|payload| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into())
    })
}

fn engine() -> Engine {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .wasm_component_model_async(true)
        .wasm_component_model_more_async_builtins(true)
        .wasm_component_model_async_stackful(true)
        .wasm_component_model_threading(true)
        .wasm_component_model_error_context(true)
        .wasm_component_model_fixed_length_lists(true)
        .wasm_component_model_map(true)
        .wasm_component_model_implements(true)
        .wasm_exceptions(true)
        .cranelift_opt_level(OptLevel::None)
        .parallel_compilation(false)
        .consume_fuel(true);
    Engine::new(&config).expect("engine")
}

/// Which side of the comparison a wast run is.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    /// The component as written: every directive checked to the letter.
    Original,
    /// The fused component: `assert_trap` must trap on the same directive,
    /// but not with the same message. wasmtime's messages ("unaligned
    /// pointer", "invalid variant discriminant") come from its own runtime;
    /// the fused module raises the same traps from wasm, where every trap is
    /// `unreachable`. Trap places are compared, texts are not.
    Fused,
}

/// Runs a wast text; `Err` holds the first failure.
fn run_wast(engine: &Engine, name: &str, text: &str, side: Side) -> Result<(), String> {
    match catch(|| {
        // The async API: async-lifted exports (in `async/`, but also in
        // `values/` and elsewhere) cannot be called through the sync one.
        let mut cx = WastContext::new(engine, Async::Yes, |store| {
            store.set_fuel(FUEL).expect("fuel is on");
        });
        cx.generate_dwarf(false);
        cx.ignore_error_messages(side == Side::Fused);
        // wasmtime's test host (`host-return-two`, `host` with a resource,
        // …): the reference tests do not import it, Meld's regression
        // fixtures do, to keep host functions in the composition.
        cx.register_spectest(&SpectestConfig {
            use_shared_memory: false,
            suppress_prints: true,
        })?;
        cx.run_wast(name, text.as_bytes())
    }) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(panic) => Err(format!("wasmtime panicked: {panic}")),
    }
}

enum Fuse {
    Ok(Vec<u8>),
    Refused(&'static str, String),
    Panicked(String),
}

fn fuse(bytes: &[u8]) -> Fuse {
    match catch(|| meld::fuse(bytes)) {
        Ok(Ok(out)) => Fuse::Ok(out),
        Ok(Err(diags)) => match diags.first() {
            Some(d) => Fuse::Refused(d.code.as_str(), d.to_string()),
            None => Fuse::Refused("none", "an error without diagnostics".into()),
        },
        Err(panic) => Fuse::Panicked(panic),
    }
}

fn is_unsupported(code: &str) -> bool {
    matches!(code, "E0006" | "E0007" | "E0008" | "E0009" | "E0010")
}

/// What happened to one unit, fused.
enum Verdict {
    Pass,
    Unsupported(&'static str),
    /// The original fails too; Meld's answer is not 'unsupported' or E0100.
    BothFail,
    Failing {
        panic: bool,
        why: String,
    },
}

struct UnitResult {
    orig: Result<(), String>,
    verdict: Verdict,
}

fn run_unit(engine: &Engine, file: &File, unit: &Unit) -> UnitResult {
    let orig = run_wast(
        engine,
        &file.name,
        &unit_text(file, unit, None),
        Side::Original,
    );
    let verdict = match fuse(&unit.bytes) {
        Fuse::Panicked(p) => Verdict::Failing {
            panic: true,
            why: format!("meld::fuse panicked: {p}"),
        },
        Fuse::Refused(code, _) if is_unsupported(code) => Verdict::Unsupported(code),
        Fuse::Refused(code, msg) if code == "E0100" || orig.is_ok() => Verdict::Failing {
            panic: false,
            why: format!("refused ({code}): {msg}"),
        },
        Fuse::Refused(..) => Verdict::BothFail,
        Fuse::Ok(out) => match run_wast(
            engine,
            &file.name,
            &unit_text(file, unit, Some(&out)),
            Side::Fused,
        ) {
            Ok(()) => Verdict::Pass,
            Err(_) if orig.is_err() => Verdict::BothFail,
            Err(e) => {
                let line = e
                    .strip_prefix("failed directive on ")
                    .and_then(|s| s.split(':').nth(1))
                    .and_then(|l| l.trim().parse::<usize>().ok());
                let directive = line
                    .map(|l| format!("line {l} `{}`: ", file.directive_on(l)))
                    .unwrap_or_default();
                Verdict::Failing {
                    panic: false,
                    why: format!("{directive}{e}"),
                }
            }
        },
    };
    UnitResult { orig, verdict }
}

fn shorten(s: &str, max: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= max {
        s
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

// ---------------------------------------------------------------------------
// Counting

#[derive(Default, Clone)]
struct Counts {
    seen: usize,
    orig: usize,
    fused: usize,
    failing: usize,
    panic: usize,
    both_fail: usize,
    invalid: usize,
    inv_accepted: usize,
    inv_panic: usize,
    unsupported: BTreeMap<&'static str, usize>,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.seen += o.seen;
        self.orig += o.orig;
        self.fused += o.fused;
        self.failing += o.failing;
        self.panic += o.panic;
        self.both_fail += o.both_fail;
        self.invalid += o.invalid;
        self.inv_accepted += o.inv_accepted;
        self.inv_panic += o.inv_panic;
        for (k, v) in &o.unsupported {
            *self.unsupported.entry(k).or_default() += v;
        }
    }

    fn row(&self, key: &str) -> String {
        let unsupported = if self.unsupported.is_empty() {
            "-".to_string()
        } else {
            self.unsupported
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        format!(
            "{key:<58} {:>5} {:>5} {:>5} {:>7} {:>5} {:>9} {:>7} {:>12} {:>9}  {unsupported}",
            self.seen,
            self.orig,
            self.fused,
            self.failing,
            self.panic,
            self.both_fail,
            self.invalid,
            self.inv_accepted,
            self.inv_panic,
        )
    }
}

const HEADER: &str = "# file                                                      seen  orig fused failing panic both-fail invalid inv-accepted inv-panic  unsupported";

fn table(files: &[File], per_file: &[Counts]) -> String {
    let mut out = String::new();
    let mut folders: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut total = Counts::default();
    for (f, c) in files.iter().zip(per_file) {
        out.push_str(&c.row(&f.name));
        out.push('\n');
        let folder = f.name.split_once('/').map_or("", |(d, _)| d);
        folders.entry(folder).or_default().add(c);
        total.add(c);
    }
    for (folder, c) in &folders {
        out.push_str(&c.row(&format!("{folder}/*")));
        out.push('\n');
    }
    out.push_str(&total.row("TOTAL"));
    out.push('\n');
    out
}

/// Rows by key, each a list of tokens (so that alignment does not matter).
fn rows(text: &str) -> BTreeMap<String, Vec<String>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut t = l.split_whitespace().map(str::to_string);
            let key = t.next().unwrap();
            (key, t.collect())
        })
        .collect()
}

// ---------------------------------------------------------------------------

fn conformance_dir() -> PathBuf {
    match std::env::var_os("MELD_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance"),
    }
}

fn wast_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut folders: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    for folder in folders {
        let mut names: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "wast"))
            .collect();
        names.sort();
        for p in names {
            out.push(
                p.strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
    out
}

/// The component model's reference tests. When they are not beside the
/// repository (a clone elsewhere than in the workspace that holds
/// `shared/`), the suite is skipped with a message; `MELD_CONFORMANCE_DIR`
/// points at another copy.
#[test]
fn conformance() {
    let dir = conformance_dir();
    if !dir.is_dir() {
        eprintln!(
            "SKIPPED: the reference tests are not at {} (set MELD_CONFORMANCE_DIR)",
            dir.display()
        );
        return;
    }
    run_suite(
        &dir,
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/expected.txt"),
    );
}

/// Meld's own regression fixtures: one small `.wast` per bug found by the
/// reference tests, with the directive that failed (`tests/regressions/`).
#[test]
fn regressions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    run_suite(&root, &root.join("expected.txt"));
}

/// Runs every `.wast` under `dir/<folder>/` and compares the counts with
/// `expected_path` (rewritten instead when `MELD_BLESS` is set).
fn run_suite(dir: &Path, expected_path: &Path) {
    install_panic_hook();
    let started = Instant::now();
    let files: Vec<File> = wast_files(dir)
        .into_iter()
        .map(|name| {
            let src = std::fs::read_to_string(dir.join(&name)).unwrap();
            let line_starts = std::iter::once(0)
                .chain(src.match_indices('\n').map(|(i, _)| i + 1))
                .collect();
            File {
                name,
                src,
                line_starts,
            }
        })
        .collect();
    assert!(!files.is_empty(), "no .wast files in {}", dir.display());

    let mut units = Vec::new();
    let mut invalid = Vec::new();
    for (i, f) in files.iter().enumerate() {
        split(i, f, &mut units, &mut invalid);
    }

    // Work through the units (the expensive part) and the invalid components
    // on every core; results land in slots by index.
    let engine = engine();
    let unit_results: Vec<Mutex<Option<UnitResult>>> =
        units.iter().map(|_| Mutex::new(None)).collect();
    let invalid_results: Vec<Mutex<Option<Fuse>>> =
        invalid.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let jobs = units.len() + invalid.len();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                install_panic_hook();
                loop {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    if j >= jobs {
                        break;
                    }
                    if j < units.len() {
                        let u = &units[j];
                        let r = run_unit(&engine, &files[u.file], u);
                        *unit_results[j].lock().unwrap() = Some(r);
                    } else {
                        let k = j - units.len();
                        let r = fuse(&invalid[k].bytes);
                        *invalid_results[k].lock().unwrap() = Some(r);
                    }
                }
            });
        }
    });

    let mut per_file = vec![Counts::default(); files.len()];
    let mut failures = Vec::new();
    let verbose = std::env::var_os("MELD_CONFORMANCE_VERBOSE").is_some();
    let mut original_failures = Vec::new();
    for (u, r) in units.iter().zip(unit_results) {
        let r = r.into_inner().unwrap().expect("every unit ran");
        if let Err(e) = &r.orig {
            original_failures.push(format!(
                "{} #{} (line {}): {}",
                files[u.file].name,
                u.index,
                u.line,
                shorten(e, 600)
            ));
        }
        let c = &mut per_file[u.file];
        c.seen += 1;
        c.orig += r.orig.is_ok() as usize;
        match r.verdict {
            Verdict::Pass => c.fused += 1,
            Verdict::Unsupported(code) => *c.unsupported.entry(code).or_default() += 1,
            Verdict::BothFail => c.both_fail += 1,
            Verdict::Failing { panic, why } => {
                c.failing += 1;
                c.panic += panic as usize;
                failures.push(format!(
                    "{} #{} (line {}): {}",
                    files[u.file].name,
                    u.index,
                    u.line,
                    shorten(&why, 600)
                ));
            }
        }
    }
    for (inv, r) in invalid.iter().zip(invalid_results) {
        let c = &mut per_file[inv.file];
        c.invalid += 1;
        match r
            .into_inner()
            .unwrap()
            .expect("every invalid component ran")
        {
            Fuse::Refused(..) => {}
            Fuse::Ok(_) => {
                c.inv_accepted += 1;
                failures.push(format!(
                    "{} (line {}): an invalid component was fused",
                    files[inv.file].name, inv.line
                ));
            }
            Fuse::Panicked(p) => {
                c.inv_panic += 1;
                failures.push(format!(
                    "{} (line {}): meld::fuse panicked on an invalid component: {}",
                    files[inv.file].name,
                    inv.line,
                    shorten(&p, 300)
                ));
            }
        }
    }

    let actual = table(&files, &per_file);
    println!("{HEADER}\n{actual}");
    if !failures.is_empty() {
        println!("fused failures:");
        for f in &failures {
            println!("  {f}");
        }
    }
    if verbose && !original_failures.is_empty() {
        println!("original failures:");
        for f in &original_failures {
            println!("  {f}");
        }
    }
    println!(
        "conformance: {} units, {} invalid components, {} threads, {:.1}s",
        units.len(),
        invalid.len(),
        threads,
        started.elapsed().as_secs_f64()
    );

    if std::env::var_os("MELD_BLESS").is_some_and(|v| !v.is_empty() && v != "0") {
        let text = format!(
            "# Expected results of tests/tests/conformance.rs (columns: see its doc comment).\n\
             # Regenerate with: MELD_BLESS=1 cargo test -p meld-tests --release --test conformance\n\
             {HEADER}\n{actual}"
        );
        std::fs::create_dir_all(expected_path.parent().unwrap()).unwrap();
        std::fs::write(expected_path, text).unwrap();
        println!("blessed {}", expected_path.display());
        return;
    }
    let expected = std::fs::read_to_string(expected_path).unwrap_or_default();
    let (want, got) = (rows(&expected), rows(&actual));
    let mut diff = String::new();
    for key in want
        .keys()
        .chain(got.keys().filter(|k| !want.contains_key(*k)))
    {
        if want.get(key) != got.get(key) {
            let show = |r: Option<&Vec<String>>| r.map_or("(none)".into(), |t| t.join(" "));
            writeln!(
                diff,
                "  {key}\n    expected: {}\n    actual:   {}",
                show(want.get(key)),
                show(got.get(key))
            )
            .unwrap();
        }
    }
    assert!(
        diff.is_empty(),
        "conformance counts differ from {}:\n{diff}\
         (columns: seen orig fused failing panic both-fail invalid inv-accepted inv-panic unsupported)\n\
         If the change is intended, run: MELD_BLESS=1 cargo test -p meld-tests --release --test conformance",
        expected_path.display()
    );
}
