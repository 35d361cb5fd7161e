//! `meld_host`: runs the Meld guest component in wasmtime.
//!
//! The fuser core of Meld (crate `meld`, in `guest/`) is compiled to a
//! `wasm32-wasip2` component exporting `meld:fuser/fuser` (see `wit/fuser.wit`).
//! `build.rs` builds that component and this crate embeds it; meld-host never
//! links the fuser library itself, it only calls the guest through its WIT
//! interface:
//!
//! ```no_run
//! let mut fuser = meld_host::Fuser::new()?;
//! let input = std::fs::read("composed.wasm")?;
//! match fuser.fuse(&input)? {
//!     Ok(fused) => std::fs::write("fused.wasm", fused)?,
//!     Err(diagnostics) => {
//!         for d in &diagnostics {
//!             eprint!("{}", meld_host::render(d, "composed.wasm"));
//!         }
//!     }
//! }
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! # Sandbox
//!
//! The guest runs with no filesystem (no preopened directories), no network
//! (TCP, UDP and name lookup all denied), no environment variables, no
//! arguments beyond its name and no stdin. Its stdout goes nowhere; its stderr
//! is captured (up to 64 KiB) and only shown when the guest traps. Bytes in,
//! bytes out. Every [`Fuser::fuse`] call gets a fresh instance, so one call
//! cannot affect the next.
//!
//! Each call is bounded ([`Limits`]): the guest's linear memory (default
//! 2 GiB) and the call's wall-clock time (default 60 s, by epoch
//! interruption). Running out of either is reported as a diagnostic of its
//! own (E0012, E0013), like any refusal of the input.
//!
//! # Compilation cache
//!
//! Compiling the guest to native code takes a while, so the compiled
//! component is serialized to a cache directory ([`default_cache_dir`]) and
//! loaded from there by later runs. The cache file name is a 128-bit FNV-1a hash
//! of the guest bytes, the meld-host version and wasmtime's own
//! compatibility hash of the engine (wasmtime version, target, compiler flags,
//! enabled wasm features, tunables), so a different guest or engine never picks
//! up a stale entry. A cache that cannot be read or written is skipped silently.

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::error::Context as _;
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::pipe::{MemoryOutputPipe, SinkOutputStream};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub mod input;
pub mod output;
pub mod run;
pub mod view;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "meld",
    });
}

use bindings::exports::meld::fuser::fuser as wit;

/// The Meld guest component (built for `wasm32-wasip2` by `build.rs`).
pub const GUEST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/meld.wasm"));

/// FNV-1a 128 of [`GUEST`], as 32 hex digits, computed by `build.rs` (so that
/// a start of meld-host does not hash 4 MB).
const GUEST_DIGEST: &str = include_str!(concat!(env!("OUT_DIR"), "/meld.wasm.fnv128"));

include!("fnv.rs");

/// The wasmtime release meld-host embeds (from `Cargo.lock`, by `build.rs`).
pub const WASMTIME_VERSION: &str = include_str!(concat!(env!("OUT_DIR"), "/wasmtime.version"));

/// Who meld-host is, on one line, for bug reports and the notes of internal
/// errors: `meld-host 0.1.0 (guest <FNV-1a 128 of the guest>, wasmtime 48.0.8)`.
pub fn identity() -> String {
    format!(
        "meld-host {} (guest {GUEST_DIGEST}, wasmtime {WASMTIME_VERSION})",
        env!("CARGO_PKG_VERSION")
    )
}

/// What `meld-host --version` prints after `meld-host `: Meld's version, the
/// embedded guest component's FNV-1a 128 digest and the wasmtime release.
pub fn long_version() -> String {
    format!(
        "{}\nguest:    meld {} (fnv1a-128 {GUEST_DIGEST}, {} bytes)\nwasmtime: {WASMTIME_VERSION}",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_VERSION"),
        GUEST.len()
    )
}

/// Environment variable that overrides the cache directory.
pub const CACHE_DIR_ENV: &str = "MELD_CACHE_DIR";

/// How much of the guest's stderr is kept for a trap report.
const STDERR_CAPACITY: usize = 64 * 1024;

/// Bounds on every guest call of a [`Fuser`] ([`Fuser::set_limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most linear memory the guest may have, in bytes (its memory grows
    /// in 64 KiB pages; a growth past this traps the call).
    pub max_memory: u64,
    /// The longest one call may take, instantiation included (wall-clock,
    /// checked by epoch interruption at function entries and loop heads).
    pub timeout: Duration,
}

impl Default for Limits {
    /// 2 GiB of memory, 60 s.
    fn default() -> Self {
        Limits {
            max_memory: 2 << 30,
            timeout: Duration::from_secs(60),
        }
    }
}

/// Diagnostic code of a call that ran out of memory ([`Limits::max_memory`]).
pub const MEMORY_LIMIT_CODE: &str = "E0012";
/// Diagnostic code of a call that ran out of time ([`Limits::timeout`]).
pub const TIME_LIMIT_CODE: &str = "E0013";

/// The store's resource limiter: refuses memory growth past the limit and
/// records that it did.
pub(crate) struct GuestLimiter {
    max_memory: usize,
    /// The size a refused growth asked for, in bytes.
    refused: Option<usize>,
}

impl wasmtime::ResourceLimiter for GuestLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.refused = Some(desired);
            // An error (not `Ok(false)`): the call traps at once, rather
            // than the guest's allocator aborting on a failed growth.
            wasmtime::bail!("the guest's memory would grow past --max-memory");
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 10_000_000)
    }
}

/// What [`Fuser::fuse_with`] produces (mirrors `output` in `wit/fuser.wit`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Emit {
    /// A component with the input's world whose code is one core module.
    #[default]
    Component,
    /// One core module in the component model's `wasm32` build target
    /// (`cm32p2|…` imports and exports, `cm32p2_memory`, `cm32p2_realloc`,
    /// `cm32p2_initialize`), the world embedded as a `component-type`
    /// custom section.
    Core,
}

/// How serious a [`Diagnostic`] is (mirrors `severity` in `wit/fuser.wit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The input cannot be fused; no output is produced.
    Error,
    /// The output is produced, but something deserves attention.
    Warning,
    /// Extra information.
    Note,
}

impl Severity {
    /// The word a compiler would print: `error`, `warning`, `note`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One finding of the guest about the input (mirrors `diagnostic` in
/// `wit/fuser.wit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// Stable code, `E0001`...; the table is in `guest/src/diagnostics.rs`.
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// Byte offset into the input, when known.
    pub offset: Option<u64>,
    /// Further context, one line each.
    pub notes: Vec<String>,
}

impl From<wit::Diagnostic> for Diagnostic {
    fn from(d: wit::Diagnostic) -> Self {
        Diagnostic {
            severity: match d.severity {
                wit::Severity::Error => Severity::Error,
                wit::Severity::Warning => Severity::Warning,
                wit::Severity::Note => Severity::Note,
            },
            code: d.code,
            message: d.message,
            offset: d.offset,
            notes: d.notes,
        }
    }
}

/// Renders `diag` like a compiler message, ending in a newline:
///
/// ```text
/// error[E0005]: message
///   --> input.wasm @ byte 0x1f
///   = note: first note
/// ```
///
/// `input_name` is how the input is called in the `-->` line (a path, or
/// `<stdin>`); the `@ byte` part appears only when the offset is known.
pub fn render(diag: &Diagnostic, input_name: &str) -> String {
    let mut out = String::new();
    out.push_str(diag.severity.as_str());
    if !diag.code.is_empty() {
        let _ = write!(out, "[{}]", diag.code);
    }
    let _ = writeln!(out, ": {}", diag.message);
    let _ = write!(out, "  --> {input_name}");
    if let Some(offset) = diag.offset {
        let _ = write!(out, " @ byte {offset:#x}");
    }
    out.push('\n');
    for note in &diag.notes {
        let _ = writeln!(out, "  = note: {note}");
    }
    out
}

/// The guest failed while fusing: it trapped (a panic, an out-of-bounds
/// access, ...) or the host could not complete the call. Always a bug in Meld,
/// never a problem with the input. [`Fuser::fuse`] returns it inside its
/// `anyhow::Error` (find it with `downcast_ref::<GuestFailure>()`), with the
/// trap and its wasm backtrace as the error's source chain.
#[derive(Debug, Clone)]
pub struct GuestFailure {
    /// Whether the guest trapped (as opposed to a host-side failure).
    pub trapped: bool,
    /// What the guest wrote to stderr before failing (a panic message, most
    /// likely); at most 64 KiB.
    pub stderr: String,
}

impl std::fmt::Display for GuestFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.trapped {
            f.write_str("the Meld guest trapped while fusing")
        } else {
            f.write_str("the Meld guest could not be called")
        }
    }
}

impl std::error::Error for GuestFailure {}

/// Where the compiled guest came from, see [`Fuser::cache_status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    /// Loaded from this cache file: no compilation.
    Hit(PathBuf),
    /// Compiled; then written to this cache file.
    Written(PathBuf),
    /// Compiled; the cache at this path could not be written (skipped).
    Unwritable(PathBuf),
    /// Compiled; no cache in use (`--no-cache`, or no cache directory known).
    Disabled,
}

/// The Meld guest, compiled and ready to fuse.
pub struct Fuser {
    engine: Engine,
    pre: bindings::MeldPre<WasiState>,
    cache_status: CacheStatus,
    load_time: Duration,
    limits: Limits,
}

/// What a store holds: a WASI context and its resource table (the guest's
/// empty one, or the one `meld-host run` gives a command).
pub(crate) struct WasiState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    /// The guest's memory limit.
    pub(crate) limiter: GuestLimiter,
}

impl WasiView for WasiState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl Fuser {
    /// Loads the guest, using the cache in [`default_cache_dir`] if there is
    /// one (compiling the guest and filling the cache otherwise).
    ///
    /// # Errors
    /// When the engine cannot be set up or the guest cannot be compiled or
    /// linked; all bugs or platform problems, not input problems.
    pub fn new() -> anyhow::Result<Fuser> {
        Fuser::with_cache_dir(default_cache_dir().as_deref())
    }

    /// Like [`Fuser::new`], with the cache in `cache_dir`, or no cache at all
    /// when `None`.
    ///
    /// # Errors
    /// As [`Fuser::new`].
    pub fn with_cache_dir(cache_dir: Option<&Path>) -> anyhow::Result<Fuser> {
        let start = std::time::Instant::now();
        let engine = Engine::new(&engine_config()).context("cannot set up wasmtime")?;
        let (component, cache_status) = load_component(&engine, cache_dir)?;

        let mut linker = Linker::<WasiState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).context("cannot link WASI")?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .context("cannot link the Meld guest")?;
        let pre = bindings::MeldPre::new(instance_pre)
            .context("the Meld guest does not export `meld:fuser/fuser`")?;
        Ok(Fuser {
            engine,
            pre,
            cache_status,
            load_time: start.elapsed(),
            limits: Limits::default(),
        })
    }

    /// Bounds every later call by `limits` (instead of [`Limits::default`]).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The bounds of every call.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Where the compiled guest came from.
    pub fn cache_status(&self) -> &CacheStatus {
        &self.cache_status
    }

    /// How long loading the guest took (compilation or cache load, plus
    /// linking).
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// Fuses the component `input` with the guest, in a fresh instance.
    ///
    /// Returns `Ok(Ok(bytes))` with the fused component, or `Ok(Err(diags))`
    /// when the guest rejects the input (at least one of `diags` is an error).
    ///
    /// # Errors
    /// `Err` when the guest trapped or could not be instantiated: a bug in
    /// Meld. The error then carries a [`GuestFailure`] with the guest's stderr.
    pub fn fuse(&mut self, input: &[u8]) -> anyhow::Result<Result<Vec<u8>, Vec<Diagnostic>>> {
        self.call(|meld, store| meld.meld_fuser_fuser().call_fuse(store, input))
            .map(|r| {
                r.and_then(|r| r.map_err(|diags| diags.into_iter().map(Diagnostic::from).collect()))
            })
    }

    /// Fuses the component `input` into the output `emit` asks for (the
    /// guest's `fuse-with`), in a fresh instance: a component
    /// ([`Emit::Component`], as [`Fuser::fuse`]) or one core module in the
    /// component model's `wasm32` build target ([`Emit::Core`]).
    ///
    /// # Errors
    /// As [`Fuser::fuse`].
    pub fn fuse_with(
        &mut self,
        input: &[u8],
        emit: Emit,
    ) -> anyhow::Result<Result<Vec<u8>, Vec<Diagnostic>>> {
        let options = wit::Options {
            output: match emit {
                Emit::Component => wit::Output::Component,
                Emit::Core => wit::Output::Core,
            },
        };
        self.call(|meld, store| {
            meld.meld_fuser_fuser()
                .call_fuse_with(store, input, options)
        })
        .map(|r| {
            r.and_then(|r| r.map_err(|diags| diags.into_iter().map(Diagnostic::from).collect()))
        })
    }

    /// Describes the component `input` (its world as WIT text and its
    /// top-level wiring) with the guest's `inspect`, in a fresh instance.
    ///
    /// # Errors
    /// As [`Fuser::fuse`].
    pub fn inspect(&mut self, input: &[u8]) -> anyhow::Result<Result<Inspection, Vec<Diagnostic>>> {
        self.call(|meld, store| meld.meld_fuser_fuser().call_inspect(store, input))
            .map(|r| {
                r.and_then(|r| {
                    r.map(Inspection::from)
                        .map_err(|diags| diags.into_iter().map(Diagnostic::from).collect())
                })
            })
    }

    /// Runs `f` on a fresh guest instance with an empty WASI context, within
    /// [`Fuser::limits`]: `Ok(Err(diagnostic))` when a limit stopped it; a
    /// trap otherwise becomes an error carrying a [`GuestFailure`].
    fn call<R>(
        &mut self,
        f: impl FnOnce(&bindings::Meld, &mut Store<WasiState>) -> wasmtime::Result<R>,
    ) -> anyhow::Result<Result<R, Vec<Diagnostic>>> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtx::builder()
            .arg("meld")
            .stdout(SinkOutputStream)
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let limits = self.limits;
        let mut store = Store::new(
            &self.engine,
            WasiState {
                wasi,
                table: ResourceTable::new(),
                limiter: GuestLimiter {
                    max_memory: usize::try_from(limits.max_memory).unwrap_or(usize::MAX),
                    refused: None,
                },
            },
        );
        store.limiter(|s| &mut s.limiter);
        // The deadline is one epoch away; a watchdog thread advances the
        // engine's epoch once the timeout has passed, unless the call ends
        // first (the channel then closes).
        store.set_epoch_deadline(1);
        store.epoch_deadline_trap();
        let (done, watch) = std::sync::mpsc::channel::<()>();
        let engine = self.engine.clone();
        let watchdog = std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                watch.recv_timeout(limits.timeout)
            {
                engine.increment_epoch();
            }
        });
        let result = self
            .pre
            .instantiate(&mut store)
            .and_then(|meld| f(&meld, &mut store));
        drop(done);
        let _ = watchdog.join();
        let refused = store.data().limiter.refused;
        if result.is_err() {
            if let Some(desired) = refused {
                return Ok(Err(vec![limit_diagnostic(
                    MEMORY_LIMIT_CODE,
                    format!(
                        "fusing needs more memory than the limit of {}: the fuser asked for {}",
                        bytes(limits.max_memory),
                        bytes(desired as u64)
                    ),
                    "raise it with `--max-memory` (e.g. `--max-memory 4GiB`)",
                )]));
            }
            if let Err(e) = &result
                && e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt)
            {
                return Ok(Err(vec![limit_diagnostic(
                    TIME_LIMIT_CODE,
                    format!(
                        "fusing took longer than the limit of {:.3} s",
                        limits.timeout.as_secs_f64()
                    ),
                    "raise it with `--timeout` (seconds, e.g. `--timeout 300`)",
                )]));
            }
        }
        result.map(Ok).map_err(|err| {
            let failure = GuestFailure {
                trapped: err.downcast_ref::<wasmtime::Trap>().is_some(),
                stderr: String::from_utf8_lossy(&stderr.contents()).into_owned(),
            };
            anyhow::Error::from(err).context(failure)
        })
    }
}

/// The result of [`Fuser::inspect`] (mirrors `inspection` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// The outer world as WIT text.
    pub world: String,
    /// Nodes: (id, kind, name), kind one of `component`, `host-import`, `host-export`.
    pub nodes: Vec<(u32, &'static str, String)>,
    /// Edges: (source, target, name).
    pub edges: Vec<(u32, u32, String)>,
    /// `meld 0.1.0` when the input is Meld's output (its `producers` section).
    pub fused_by: Option<String>,
}

impl From<wit::Inspection> for Inspection {
    fn from(i: wit::Inspection) -> Self {
        Inspection {
            world: i.world,
            nodes: i
                .nodes
                .into_iter()
                .map(|n| {
                    let kind = match n.kind {
                        wit::NodeKind::Component => "component",
                        wit::NodeKind::HostImport => "host-import",
                        wit::NodeKind::HostExport => "host-export",
                    };
                    (n.id, kind, n.name)
                })
                .collect(),
            edges: i
                .edges
                .into_iter()
                .map(|e| (e.source, e.target, e.name))
                .collect(),
            fused_by: i.fused_by,
        }
    }
}

/// A diagnostic of meld-host's own (a limit), as the guest would report it.
fn limit_diagnostic(code: &str, message: String, note: &str) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        code: code.to_string(),
        message,
        offset: None,
        notes: vec![note.to_string()],
    }
}

/// `n` bytes for a person: `2 GiB`, `512 MiB`, `1000 bytes`.
pub fn bytes(n: u64) -> String {
    for (unit, name) in [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
        if n >= unit && n.is_multiple_of(unit / 16) {
            let v = n as f64 / unit as f64;
            return if n.is_multiple_of(unit) {
                format!("{} {name}", n / unit)
            } else {
                format!("{v:.2} {name}")
            };
        }
    }
    format!("{n} bytes")
}

/// The engine configuration; part of the cache key through
/// [`Engine::precompile_compatibility_hash`].
fn engine_config() -> Config {
    let mut config = Config::new();
    // The time limit of every call (`Limits::timeout`).
    config.epoch_interruption(true);
    // Not read from `WASMTIME_BACKTRACE_DETAILS`: the compiled code, and so
    // the cache entry, must not depend on the environment.
    config.wasm_backtrace_details(wasmtime::WasmBacktraceDetails::Disable);
    config
}

/// The cache directory: `$MELD_CACHE_DIR` if set (an empty value disables
/// the cache), else `$XDG_CACHE_HOME/meld`, else `~/.cache/meld` (on
/// Windows `%LOCALAPPDATA%\meld`); `None` if none of these is known.
pub fn default_cache_dir() -> Option<PathBuf> {
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = std::env::var_os(CACHE_DIR_ENV) {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return Some(dir.join("meld"));
    }
    if cfg!(windows)
        && let Some(dir) = var("LOCALAPPDATA")
    {
        return Some(dir.join("meld"));
    }
    var("HOME").map(|home| home.join(".cache").join("meld"))
}

/// The name of the cache file for the embedded guest under `engine`:
/// `guest-<32 hex digits>.cwasm`.
pub fn cache_file_name(engine: &Engine) -> String {
    let mut h = Fnv128::default();
    "meld-host compiled-guest cache v2".hash(&mut h);
    env!("CARGO_PKG_VERSION").hash(&mut h);
    engine.precompile_compatibility_hash().hash(&mut h);
    GUEST_DIGEST.hash(&mut h);
    format!("guest-{:032x}.cwasm", h.0)
}

fn load_component(
    engine: &Engine,
    cache_dir: Option<&Path>,
) -> anyhow::Result<(Component, CacheStatus)> {
    let Some(dir) = cache_dir else {
        return Ok((compile(engine)?, CacheStatus::Disabled));
    };
    let path = dir.join(cache_file_name(engine));
    if path.is_file() {
        // SAFETY: `deserialize_file` trusts the file to hold code that
        // `Component::serialize` of a compatible engine produced, since it
        // maps that code as executable. That holds here: only meld-host
        // writes `guest-*.cwasm` into this directory, the name is a hash of
        // exactly the guest bytes and the engine's compatibility hash (and
        // wasmtime still checks its own version/config header), and the file
        // is written to a temporary name and renamed into place, so it is
        // never seen half-written, nor changed while mapped (a rewrite
        // replaces the directory entry, not the mapped contents). Anyone able
        // to write into the user's cache directory can already run code as
        // that user.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok((component, CacheStatus::Hit(path))),
            Err(_) => { /* stale or damaged: recompile and overwrite */ }
        }
    }
    let component = compile(engine)?;
    let status = match write_cache(&component, dir, &path) {
        Ok(()) => CacheStatus::Written(path),
        Err(_) => CacheStatus::Unwritable(path),
    };
    Ok((component, status))
}

fn compile(engine: &Engine) -> anyhow::Result<Component> {
    Ok(Component::new(engine, GUEST).context("cannot compile the Meld guest")?)
}

/// Writes the serialized `component` to `path` atomically
/// ([`output::write_output`]: temporary file in the same directory, then
/// rename), and removes older `guest-*.cwasm`
/// entries, which belong to earlier guests or engines.
fn write_cache(component: &Component, dir: &Path, path: &Path) -> anyhow::Result<()> {
    let bytes = component.serialize()?;
    std::fs::create_dir_all(dir)?;
    output::write_output(path, &bytes)?;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("guest-")
                && name.ends_with(".cwasm")
                && Some(entry.file_name().as_os_str()) != path.file_name()
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_is_a_component() {
        assert!(GUEST.starts_with(&[0, b'a', b's', b'm', 0x0d, 0, 1, 0]));
    }

    #[test]
    fn guest_digest_is_the_fnv128_of_the_guest() {
        let mut h = Fnv128::default();
        h.write(GUEST);
        assert_eq!(GUEST_DIGEST, format!("{:032x}", h.0));
    }

    #[test]
    fn fnv128_known_value() {
        // FNV-1a 128 of "a".
        let mut h = Fnv128::default();
        h.write(b"a");
        assert_eq!(h.0, 0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964);
    }

    #[test]
    fn render_like_a_compiler() {
        let d = Diagnostic {
            severity: Severity::Error,
            code: "E0005".into(),
            message: "invalid component".into(),
            offset: Some(0x1f),
            notes: vec!["first".into(), "second".into()],
        };
        assert_eq!(
            render(&d, "in.wasm"),
            "error[E0005]: invalid component\n  --> in.wasm @ byte 0x1f\n  = note: first\n  = note: second\n"
        );
        let d = Diagnostic {
            offset: None,
            notes: vec![],
            severity: Severity::Warning,
            ..d
        };
        assert_eq!(
            render(&d, "<stdin>"),
            "warning[E0005]: invalid component\n  --> <stdin>\n"
        );
    }
}
