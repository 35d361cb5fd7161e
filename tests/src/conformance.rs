//! Conformance: the component model's reference tests
//! (`../shared/conformance/**/*.wast`), run against every component as given
//! and as fused by Meld. The tests are `tests/tests/conformance.rs`; this is
//! the runner they call.
//!
//! # What is run
//!
//! Every top-level component of a `.wast` file is a *unit*
//! ([`crate::wast_split`] cuts the files): the directive that defines it,
//! plus every later directive that acts on it. In wasmtime's wast runner
//! every component instance lives in a store of its own, so a unit runs
//! exactly as it would inside the whole file.
//!
//! Each unit becomes a wast text of its own, run twice by `wasmtime-wast`
//! (`WastContext::run_wast`, the same code wasmtime's test suite uses,
//! called by the test through a [`RunWast`]): once with the definition as
//! written, once with the definition re-spelt as
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
//! when it panics).
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
//! - `unsupported`: refused with E0006–E0010, E0015 or E0016, per code (last
//!   column).
//!
//! So `seen = fused + failing + both-fail + Σ unsupported`.
//!
//! # Expectations
//!
//! `tests/conformance/expected.txt` holds the table; the test fails when the
//! counts differ in either direction. `MELD_BLESS=1 cargo test -p meld-tests
//! --release --test conformance` rewrites it, and the table of folder counts
//! in `tests/conformance/README.md` ([`readme_counts`]). `--nocapture`
//! shows the table and one line per failing unit
//! (`MELD_CONFORMANCE_VERBOSE=1` also lists why originals fail).
//!
//! # Where the reference tests are
//!
//! `MELD_CONFORMANCE_DIR`, or else `../shared/conformance` beside the
//! repository ([`reference_dir`]). When they are not there the test
//! *fails*: a suite that is not found must not pass. `MELD_SKIP_CONFORMANCE=1`
//! skips it on purpose (with a `SKIPPED` line on stderr), for clones
//! without the reference tests ([`locate_reference_tests`]).
//!
//! Units run in parallel, one per core at a time.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::Instant;

use crate::wast_split::{File, Invalid, Unit, shorten, split, unit_text};

/// The environment variable that points at another copy of the reference
/// tests.
pub const DIR_VAR: &str = "MELD_CONFORMANCE_DIR";

/// The environment variable that skips the reference tests on purpose.
pub const SKIP_VAR: &str = "MELD_SKIP_CONFORMANCE";

/// Which side of the comparison a wast run is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    /// The component as written: every directive checked to the letter.
    Original,
    /// The fused component: `assert_trap` must trap on the same directive,
    /// but not with the same message. wasmtime's messages ("unaligned
    /// pointer", "invalid variant discriminant") come from its own runtime;
    /// the fused module raises the same traps from wasm, where every trap is
    /// `unreachable`. Trap places are compared, texts are not (the runner
    /// empties the messages: [`crate::wast_split::any_trap`]); a runner
    /// should not compare error messages on this side either.
    Fused,
}

/// Runs a wast text (file name for messages, text, side) under
/// `wasmtime-wast`; `Err` holds the first failure. A panic inside is caught
/// and reported as a failure of the unit.
pub type RunWast<'a> = dyn Fn(&str, &str, Side) -> Result<(), String> + Sync + 'a;

// ---------------------------------------------------------------------------
// Finding the reference tests

/// Where the reference tests are: `$MELD_CONFORMANCE_DIR`, or else
/// `shared/conformance` beside the repository.
pub fn reference_dir() -> PathBuf {
    match std::env::var_os(DIR_VAR) {
        Some(d) => PathBuf::from(d),
        None => crate::repo().join("../shared/conformance"),
    }
}

/// Whether `$MELD_SKIP_CONFORMANCE` is set (to anything but empty or `0`).
pub fn skip_requested() -> bool {
    flag(SKIP_VAR)
}

fn flag(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| !v.is_empty() && v != "0")
}

/// What to do about the reference tests at `dir`: `Ok(Some(dir))` to run
/// them, `Ok(None)` to skip them (only when `skip` says so), and `Err`
/// (why, and how to fix it) when they are not there and no skip was asked
/// for.
pub fn locate_reference_tests(dir: PathBuf, skip: bool) -> Result<Option<PathBuf>, String> {
    if skip {
        Ok(None)
    } else if dir.is_dir() {
        Ok(Some(dir))
    } else {
        Err(format!(
            "the component model's reference tests are not at {}: point {DIR_VAR} at a copy \
             of them, or set {SKIP_VAR}=1 to skip the conformance suite on purpose",
            dir.display()
        ))
    }
}

/// The `.wast` files under `dir/<folder>/`, relative to `dir`, sorted.
pub fn wast_files(dir: &Path) -> Vec<String> {
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

fn run_wast(run: &RunWast<'_>, name: &str, text: &str, side: Side) -> Result<(), String> {
    match catch(|| run(name, text, side)) {
        Ok(r) => r,
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
    matches!(
        code,
        "E0006" | "E0007" | "E0008" | "E0009" | "E0010" | "E0015" | "E0016"
    )
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

fn run_unit(run: &RunWast<'_>, file: &File, unit: &Unit) -> UnitResult {
    let orig = run_wast(
        run,
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
            run,
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

/// The header line of the table (a comment in `expected.txt`).
pub const HEADER: &str = "# file                                                      seen  orig fused failing panic both-fail invalid inv-accepted inv-panic  unsupported";

/// The column names of the table, after the key.
pub const COLUMNS: [&str; 10] = [
    "seen",
    "orig",
    "fused",
    "failing",
    "panic",
    "both-fail",
    "invalid",
    "inv-accepted",
    "inv-panic",
    "unsupported",
];

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

/// Rows of a table (`expected.txt`) by key, each a list of tokens (so that
/// alignment does not matter); `#` lines are comments.
pub fn rows(text: &str) -> BTreeMap<String, Vec<String>> {
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
// The suite

/// Runs every `.wast` under `dir/<folder>/` through `run` and compares the
/// counts with `expected_path`. When `MELD_BLESS` is set, rewrites
/// `expected_path` instead and returns `true`.
///
/// # Panics
/// When the counts differ from `expected_path` (with the rows that differ),
/// when `dir` holds no `.wast` file, or when a file cannot be split
/// ([`split`]).
pub fn run_suite(dir: &Path, expected_path: &Path, run: &RunWast<'_>) -> bool {
    install_panic_hook();
    let started = Instant::now();
    let files: Vec<File> = wast_files(dir)
        .into_iter()
        .map(|name| {
            let src = std::fs::read_to_string(dir.join(&name))
                .unwrap_or_else(|e| panic!("reading {name}: {e}"));
            File::new(name, src)
        })
        .collect();
    assert!(!files.is_empty(), "no .wast files in {}", dir.display());

    let mut units: Vec<Unit> = Vec::new();
    let mut invalid: Vec<Invalid> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        split(i, f, &mut units, &mut invalid);
    }

    // Work through the units (the expensive part) and the invalid components
    // on every core; results land in slots by index.
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
                        let r = run_unit(run, &files[u.file], u);
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
    let verbose = flag("MELD_CONFORMANCE_VERBOSE");
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

    if blessing() {
        let text = format!(
            "# Expected results of the conformance runner, tests/src/conformance.rs (columns: see its doc comment).\n\
             # Regenerate with: MELD_BLESS=1 cargo test -p meld-tests --release --test conformance\n\
             {HEADER}\n{actual}"
        );
        std::fs::create_dir_all(expected_path.parent().unwrap()).unwrap();
        std::fs::write(expected_path, text).unwrap();
        println!("blessed {}", expected_path.display());
        return true;
    }
    let expected = std::fs::read_to_string(expected_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", expected_path.display()));
    let diff = diff_rows(&expected, &actual);
    assert!(
        diff.is_empty(),
        "conformance counts differ from {}:\n{diff}\
         (columns: {})\n\
         If the change is intended, run: MELD_BLESS=1 cargo test -p meld-tests --release --test conformance",
        expected_path.display(),
        COLUMNS.join(" ")
    );
    false
}

/// Whether `MELD_BLESS` asks for expectations to be rewritten.
pub fn blessing() -> bool {
    flag("MELD_BLESS")
}

/// The rows that differ between two tables, expected and actual, one
/// entry per key; empty when they agree.
fn diff_rows(expected: &str, actual: &str) -> String {
    let (want, got) = (rows(expected), rows(actual));
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
    diff
}

// ---------------------------------------------------------------------------
// The README's counts

/// The line before the folder table in `tests/conformance/README.md`.
pub const README_BEGIN: &str =
    "<!-- counts: generated from expected.txt; MELD_BLESS=1 rewrites them -->";
/// The line after it.
pub const README_END: &str = "<!-- end of counts -->";

/// The folder rows (`dir/*`) and `TOTAL` of an `expected.txt` table, as
/// the markdown table `tests/conformance/README.md` shows between
/// [`README_BEGIN`] and [`README_END`], followed by a sentence on what
/// fails.
///
/// # Panics
/// When `expected` has no `TOTAL` row, or a row with too few columns.
pub fn readme_counts(expected: &str) -> String {
    let rows = rows(expected);
    let mut out = format!("| folder | {} |\n| --- |", COLUMNS.join(" | "));
    for c in COLUMNS {
        out.push_str(if c == "unsupported" {
            " --- |"
        } else {
            " ---: |"
        });
    }
    out.push('\n');
    let total = rows.get("TOTAL").expect("a TOTAL row");
    let folders = rows
        .iter()
        .filter(|(k, _)| k.ends_with("/*"))
        .map(|(k, v)| (format!("`{k}`"), v));
    for (key, cells) in folders.chain([("total".to_string(), total)]) {
        writeln!(out, "| {key} | {} |", cells_of(&key, cells).join(" | ")).unwrap();
    }
    let cells = cells_of("TOTAL", total);
    let col = |name: &str| -> usize {
        let i = COLUMNS.iter().position(|c| *c == name).unwrap();
        cells[i]
            .parse()
            .unwrap_or_else(|e| panic!("TOTAL {name}: {e}"))
    };
    let (seen, orig, fused) = (col("seen"), col("orig"), col("fused"));
    let (failing, panics, both_fail) = (col("failing"), col("panic"), col("both-fail"));
    let (inv_accepted, inv_panic) = (col("inv-accepted"), col("inv-panic"));
    out.push('\n');
    write!(
        out,
        "Of {seen} units, {orig} pass as originals and {fused} pass fused. "
    )
    .unwrap();
    if failing == 0 {
        out.push_str("No unit fails fused (`failing` is 0)");
    } else {
        write!(
            out,
            "{failing} units fail fused ({panics} of them by a panic; `-- --nocapture` lists them)"
        )
        .unwrap();
    }
    if both_fail == 0 {
        out.push_str(
            "; every other unit is refused with an 'unsupported' diagnostic (last column).",
        );
    } else {
        write!(
            out,
            "; {both_fail} fail as originals too (`both-fail`), the others are refused with an \
             'unsupported' diagnostic (last column)."
        )
        .unwrap();
    }
    if inv_accepted + inv_panic > 0 {
        write!(
            out,
            " Of the invalid components, {inv_accepted} are fused anyway (`inv-accepted`) and \
             {inv_panic} make Meld panic (`inv-panic`)."
        )
        .unwrap();
    }
    out.push('\n');
    out
}

fn cells_of(key: &str, cells: &[String]) -> Vec<String> {
    assert_eq!(
        cells.len(),
        COLUMNS.len(),
        "row {key}: {} cells, expected {}",
        cells.len(),
        COLUMNS.len()
    );
    cells
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if COLUMNS[i] == "unsupported" && c != "-" {
                c.replace(',', ", ")
            } else {
                c.clone()
            }
        })
        .collect()
}

/// The generated part of `readme`: the text between [`README_BEGIN`] and
/// [`README_END`] (without them), or `None` when the markers are missing.
pub fn readme_generated_part(readme: &str) -> Option<&str> {
    let start = readme.find(README_BEGIN)? + README_BEGIN.len();
    let end = start + readme[start..].find(README_END)?;
    Some(readme[start..end].trim_matches('\n'))
}

/// `readme` with its generated part replaced by `counts`.
///
/// # Panics
/// When the markers are missing.
pub fn readme_with_counts(readme: &str, counts: &str) -> String {
    let start = readme
        .find(README_BEGIN)
        .expect("the README has the count markers")
        + README_BEGIN.len();
    let end = start
        + readme[start..]
            .find(README_END)
            .expect("the README has the count markers");
    format!(
        "{}\n{}\n{}",
        &readme[..start],
        counts.trim_matches('\n'),
        &readme[end..]
    )
}

/// The `(folder, code)` pairs of the 'unsupported' column of the folder
/// rows of an `expected.txt` table.
pub fn unsupported_by_folder(expected: &str) -> std::collections::BTreeSet<(String, String)> {
    rows(expected)
        .into_iter()
        .filter_map(|(k, cells)| Some((k.strip_suffix("/*")?.to_string(), cells)))
        .flat_map(|(folder, cells)| {
            let last = cells.last().cloned().unwrap_or_default();
            last.split(',')
                .filter(|c| *c != "-" && !c.is_empty())
                .map(|c| (folder.clone(), c.split(':').next().unwrap().to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPECTED: &str = "# comment\n\
        # file seen orig fused failing panic both-fail invalid inv-accepted inv-panic unsupported\n\
        a/x.wast   3 3 2 0 0 0 1 0 0 E0007:1\n\
        b/y.wast   2 1 1 0 0 0 4 1 0 -\n\
        a/*        3 3 2 0 0 0 1 0 0 E0007:1\n\
        b/*        2 1 1 0 0 0 4 1 0 -\n\
        TOTAL      5 4 3 0 0 0 5 1 0 E0006:1,E0007:1\n";

    #[test]
    fn a_missing_suite_fails_unless_skipped() {
        let missing = PathBuf::from("/nonexistent/meld-conformance");
        let err = locate_reference_tests(missing.clone(), false).unwrap_err();
        assert!(err.contains("/nonexistent/meld-conformance"), "{err}");
        assert!(err.contains(SKIP_VAR) && err.contains(DIR_VAR), "{err}");
        assert_eq!(locate_reference_tests(missing, true), Ok(None));
        let here = crate::repo().join("tests/regressions");
        assert_eq!(
            locate_reference_tests(here.clone(), false),
            Ok(Some(here.clone()))
        );
        // Skipping is skipping, whether the tests are there or not.
        assert_eq!(locate_reference_tests(here, true), Ok(None));
    }

    #[test]
    fn rows_ignore_alignment_and_comments() {
        let r = rows(EXPECTED);
        assert_eq!(r.len(), 5);
        assert_eq!(
            r["TOTAL"],
            [
                "5",
                "4",
                "3",
                "0",
                "0",
                "0",
                "5",
                "1",
                "0",
                "E0006:1,E0007:1"
            ]
        );
        assert_eq!(diff_rows(EXPECTED, &EXPECTED.replace("   ", " ")), "");
        let diff = diff_rows(
            EXPECTED,
            &EXPECTED.replace("b/y.wast   2 1 1", "b/y.wast 2 1 0"),
        );
        assert_eq!(
            diff,
            "  b/y.wast\n    expected: 2 1 1 0 0 0 4 1 0 -\n    actual:   2 1 0 0 0 0 4 1 0 -\n"
        );
        let diff = diff_rows(EXPECTED, "c/z.wast 1 1 1 0 0 0 0 0 0 -");
        assert!(
            diff.contains("  c/z.wast\n    expected: (none)\n"),
            "{diff}"
        );
        assert!(diff.contains("  TOTAL\n    expected: 5 4 3"), "{diff}");
    }

    #[test]
    fn readme_counts_are_the_folder_rows() {
        let counts = readme_counts(EXPECTED);
        let lines: Vec<&str> = counts.lines().collect();
        assert_eq!(
            lines[..5],
            [
                "| folder | seen | orig | fused | failing | panic | both-fail | invalid | inv-accepted | inv-panic | unsupported |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
                "| `a/*` | 3 | 3 | 2 | 0 | 0 | 0 | 1 | 0 | 0 | E0007:1 |",
                "| `b/*` | 2 | 1 | 1 | 0 | 0 | 0 | 4 | 1 | 0 | - |",
                "| total | 5 | 4 | 3 | 0 | 0 | 0 | 5 | 1 | 0 | E0006:1, E0007:1 |",
            ]
        );
        assert_eq!(
            lines[6],
            "Of 5 units, 4 pass as originals and 3 pass fused. No unit fails fused (`failing` is 0); \
             every other unit is refused with an 'unsupported' diagnostic (last column). \
             Of the invalid components, 1 are fused anyway (`inv-accepted`) and 0 make Meld \
             panic (`inv-panic`)."
        );
        let failing = readme_counts(&EXPECTED.replace("TOTAL      5 4 3 0 0", "TOTAL 5 4 3 2 1"));
        assert!(
            failing.contains("2 units fail fused (1 of them by a panic; "),
            "{failing}"
        );
    }

    #[test]
    fn readme_generated_part_is_replaced() {
        let readme = format!("# T\n\nbefore\n{README_BEGIN}\nold\ntable\n{README_END}\nafter\n");
        assert_eq!(readme_generated_part(&readme), Some("old\ntable"));
        assert_eq!(
            readme_with_counts(&readme, "new\n"),
            format!("# T\n\nbefore\n{README_BEGIN}\nnew\n{README_END}\nafter\n")
        );
        assert_eq!(readme_generated_part("no markers"), None);
    }

    #[test]
    fn unsupported_codes_by_folder() {
        let pairs: Vec<(String, String)> = unsupported_by_folder(EXPECTED).into_iter().collect();
        assert_eq!(pairs, [("a".to_string(), "E0007".to_string())]);
    }
}
