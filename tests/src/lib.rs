//! Shared helpers of Meld's integration tests.
//!
//! - [`run_command`]: runs a component exporting `wasi:cli/run` under wasmtime
//!   with WASI and captures what is observable (stdout, stderr, exit status,
//!   trap);
//! - [`world_wit`]: the component's outer world decoded by wit-component,
//!   printed as WIT, for exact comparison;
//! - [`core_modules`]: every core module in a component (nested ones
//!   included) with its number of function bodies;
//! - [`call_export`] and [`Trapped`]: a call that returns a value or traps,
//!   with where and why ([`trap_message`]), so that a test asserts the trap
//!   itself, not only that something failed.
//!
//! Modules:
//! - [`conformance`]: the runner of the component model's reference tests
//!   (`tests/conformance.rs`), over [`wast_split`], which cuts `.wast`
//!   files into components and their directives;
//! - [`core_host`]: a host for Meld's core output on wasmtime's core API
//!   (`tests/core_output.rs`).

pub mod conformance;
pub mod core_host;
pub mod wast_split;

use std::path::PathBuf;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The bundled example compositions: (name, bytes). `resources` and
/// `reexport` pass resources between their inner components.
pub fn examples() -> Vec<(String, Vec<u8>)> {
    ["calc", "chain", "resources", "reexport"]
        .iter()
        .map(|n| {
            let path = repo().join("examples").join(format!("{n}.wasm"));
            let bytes =
                std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            (n.to_string(), bytes)
        })
        .collect()
}

/// Everything observable of one run of a command component.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Bytes written to stdout.
    pub stdout: Vec<u8>,
    /// Bytes written to stderr.
    pub stderr: Vec<u8>,
    /// `Ok(())` when `run` returned `ok`, `Err(())` when it returned `err`;
    /// `None` when it trapped or exited through `wasi:cli/exit`.
    pub result: Option<Result<(), ()>>,
    /// Exit code given to `wasi:cli/exit`, if any.
    pub exit_code: Option<i32>,
    /// Whether execution trapped (instantiation included).
    pub trapped: bool,
}

/// Store data of a component run with WASI (stdio captured by the caller).
pub struct Host {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl Default for Host {
    /// WASI with no stdio, arguments, environment or filesystem.
    fn default() -> Self {
        Host {
            ctx: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        }
    }
}

/// Instantiates the component `bytes` with WASI (no stdio, arguments,
/// environment or filesystem), for components driven through their exports.
pub fn instantiate_with_wasi(
    bytes: &[u8],
) -> anyhow::Result<(Store<Host>, wasmtime::component::Instance)> {
    let engine = engine();
    let component = Component::new(engine, bytes)?;
    let mut linker = Linker::<Host>::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    let mut store = Store::new(engine, Host::default());
    let instance = linker.instantiate(&mut store, &component)?;
    Ok((store, instance))
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// The engine used to run components under test (one per process).
pub fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).expect("engine")
    })
}

/// Runs `wasi:cli/run` of the component `bytes` with stdio captured, no
/// arguments, no environment, no filesystem.
pub fn run_command(bytes: &[u8]) -> anyhow::Result<Outcome> {
    let engine = engine();
    let component = Component::new(engine, bytes)?;
    let mut linker = Linker::<Host>::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    let stdout = MemoryOutputPipe::new(1 << 20);
    let stderr = MemoryOutputPipe::new(1 << 20);
    let ctx = WasiCtx::builder()
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .build();
    let mut store = Store::new(
        engine,
        Host {
            ctx,
            table: ResourceTable::new(),
        },
    );
    let mut result = None;
    let mut exit_code = None;
    let mut trapped = false;
    match wasmtime_wasi::p2::bindings::sync::Command::instantiate(&mut store, &component, &linker) {
        Ok(cmd) => match cmd.wasi_cli_run().call_run(&mut store) {
            Ok(r) => result = Some(r),
            Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Some(exit) => exit_code = Some(exit.0),
                None => trapped = true,
            },
        },
        Err(_) => trapped = true,
    }
    Ok(Outcome {
        stdout: stdout.contents().to_vec(),
        stderr: stderr.contents().to_vec(),
        result,
        exit_code,
        trapped,
    })
}

/// The outer world of a component printed as WIT (wit-component's decoder and
/// printer, as `meld::inspect::world_wit` runs them).
pub fn world_wit(bytes: &[u8]) -> anyhow::Result<String> {
    meld::inspect::world_wit(bytes).map_err(anyhow::Error::msg)
}

/// Every core module of a component, depth-first in binary order, with its
/// number of function bodies (0 for modules with no program code).
pub fn core_modules(bytes: &[u8]) -> anyhow::Result<Vec<usize>> {
    let mut out = Vec::new();
    let mut depth_module: Vec<bool> = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload? {
            wasmparser::Payload::Version { encoding, .. } => {
                let is_module = encoding == wasmparser::Encoding::Module;
                if is_module {
                    out.push(0);
                }
                depth_module.push(is_module);
            }
            wasmparser::Payload::CodeSectionStart { count, .. } => {
                if let Some(last) = out.last_mut() {
                    *last += count as usize;
                }
            }
            wasmparser::Payload::End(_) => {
                depth_module.pop();
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The function names in every `name` section of `component` (the fused
/// core module's included), in order.
pub fn function_names(component: &[u8]) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        if let wasmparser::Payload::CustomSection(c) = payload?
            && let wasmparser::KnownCustom::Name(reader) = c.as_known()
        {
            for sub in reader {
                if let wasmparser::Name::Function(map) = sub? {
                    for naming in map {
                        names.push(naming?.name.to_string());
                    }
                }
            }
        }
    }
    Ok(names)
}

/// Where and why a run of a component trapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trapped {
    /// Instantiation trapped (a start function, an initializer), with
    /// [`trap_message`].
    Instantiating(String),
    /// The call trapped, with [`trap_message`].
    Calling(String),
}

/// What a trap says: for a wasm trap ([`wasmtime::Trap`], e.g. an
/// `unreachable` in the fused module's intrinsics), its description
/// (`wasm trap: …`); for an error raised by wasmtime's runtime (a string
/// transcoder finding invalid UTF-8, …), the innermost error's text.
pub fn trap_message(e: &wasmtime::Error) -> String {
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => e.root_cause().to_string(),
    }
}

/// Instantiates `bytes` with no imports and calls its export `name` with
/// `args`, expecting one result: the result, or where and why it trapped.
///
/// # Panics
/// When `bytes` does not compile or has no export `name`: that is no trap,
/// and must not pass for one.
pub fn call_export(
    bytes: &[u8],
    name: &str,
    args: &[wasmtime::component::Val],
) -> Result<wasmtime::component::Val, Trapped> {
    let engine = engine();
    let component =
        Component::new(engine, bytes).unwrap_or_else(|e| panic!("the component compiles: {e:?}"));
    let mut store = Store::new(engine, ());
    let instance = wasmtime::component::Linker::new(engine)
        .instantiate(&mut store, &component)
        .map_err(|e| Trapped::Instantiating(trap_message(&e)))?;
    let func = instance
        .get_func(&mut store, name)
        .unwrap_or_else(|| panic!("no export {name:?}"));
    let mut results = [wasmtime::component::Val::Bool(false)];
    func.call(&mut store, args, &mut results)
        .map_err(|e| Trapped::Calling(trap_message(&e)))?;
    let [r] = results;
    Ok(r)
}

/// Fuses `input` into one core module (`meld::Output::Core`, the component
/// model's `wasm32` build target).
pub fn fuse_core(name: &str, input: &[u8]) -> Vec<u8> {
    meld::fuse_with(input, &meld::Options::with_output(meld::Output::Core))
        .unwrap_or_else(|d| panic!("{name}: fusing to a core module failed: {d:?}"))
}

/// Turns a core module of the `wasm32` build target back into a component
/// with wit-component's `ComponentEncoder` (what `wasm-tools component new`
/// runs), from the world in its `component-type` custom section.
pub fn rewrap(core: &[u8]) -> anyhow::Result<Vec<u8>> {
    wit_component::ComponentEncoder::default()
        .module(core)?
        .validate(true)
        .encode()
}

/// The core output of `input`, checked and wrapped back into a component:
/// it is a valid core module (not a component) that imports nothing but
/// `cm32p2|…` functions; re-wrapped with [`rewrap`], it declares the
/// input's world ([`world_items`]). Returns the re-wrapped component, to be
/// run against the input.
pub fn core_roundtrip(name: &str, input: &[u8]) -> Vec<u8> {
    let core = fuse_core(name, input);
    assert!(
        wasmparser::Parser::is_core_wasm(&core),
        "{name}: the core output is not a core module"
    );
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&core)
        .unwrap_or_else(|e| panic!("{name}: invalid core output: {e}"));
    for payload in wasmparser::Parser::new(0).parse_all(&core) {
        if let wasmparser::Payload::ImportSection(s) = payload.unwrap() {
            for imp in s.into_imports() {
                let imp = imp.unwrap();
                assert!(
                    imp.module.starts_with("cm32p2")
                        && matches!(imp.ty, wasmparser::TypeRef::Func(_)),
                    "{name}: unexpected import {}::{}",
                    imp.module,
                    imp.name
                );
            }
        }
    }
    let component = rewrap(&core).unwrap_or_else(|e| panic!("{name}: re-wrapping failed: {e:#}"));
    assert_eq!(
        world_items(input).unwrap(),
        world_items(&component).unwrap(),
        "{name}: the re-wrapped core output declares another world"
    );
    component
}

/// A component's outer world as a map from each imported or exported item
/// (`import <name>`, `export <name> func <f>`, `import <name> type <t>`) to
/// its type written out structurally. Two components declare the same world
/// exactly when their maps are equal, whatever the order of the items
/// (which `wasm-tools component new` chooses itself).
pub fn world_items(bytes: &[u8]) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    use wit_parser::WorldItem;
    let wit_component::DecodedWasm::Component(resolve, world) = wit_component::decode(bytes)?
    else {
        anyhow::bail!("not a component");
    };
    let w = &resolve.worlds[world];
    let mut out = std::collections::BTreeMap::new();
    for (dir, items) in [("import", &w.imports), ("export", &w.exports)] {
        for (key, item) in items {
            let k = format!("{dir} {}", resolve.name_world_key(key));
            match item {
                WorldItem::Function(f) => {
                    out.insert(k, wit_func(&resolve, f));
                }
                WorldItem::Type { id, .. } => {
                    out.insert(k, wit_def(&resolve, *id));
                }
                WorldItem::Interface { id, .. } => {
                    let i = &resolve.interfaces[*id];
                    out.insert(k.clone(), "interface".into());
                    for (n, t) in &i.types {
                        out.insert(format!("{k} type {n}"), wit_def(&resolve, *t));
                    }
                    for (n, f) in &i.functions {
                        out.insert(format!("{k} func {n}"), wit_func(&resolve, f));
                    }
                }
            }
        }
    }
    Ok(out)
}

fn wit_func(r: &wit_parser::Resolve, f: &wit_parser::Function) -> String {
    let params: Vec<String> = f
        .params
        .iter()
        .map(|p| format!("{}: {}", p.name, wit_ty(r, &p.ty)))
        .collect();
    let result = f.result.as_ref().map(|t| wit_ty(r, t)).unwrap_or_default();
    format!("func({}) -> {result}", params.join(", "))
}

fn wit_ty(r: &wit_parser::Resolve, t: &wit_parser::Type) -> String {
    let wit_parser::Type::Id(id) = t else {
        return format!("{t:?}").to_lowercase();
    };
    let d = &r.types[*id];
    match (&d.name, d.owner) {
        (Some(n), wit_parser::TypeOwner::Interface(i)) => {
            let iface = r
                .id_of(i)
                .or_else(|| r.interfaces[i].name.clone())
                .unwrap_or_else(|| "<inline>".into());
            format!("{iface}.{n}")
        }
        (Some(n), _) => n.clone(),
        (None, _) => wit_def(r, *id),
    }
}

fn wit_def(r: &wit_parser::Resolve, id: wit_parser::TypeId) -> String {
    use wit_parser::{Handle, TypeDefKind as K};
    let ty = |t: &wit_parser::Type| wit_ty(r, t);
    let opt = |t: &Option<wit_parser::Type>| t.as_ref().map(ty).unwrap_or_else(|| "_".into());
    let join = |v: Vec<String>| v.join(", ");
    match &r.types[id].kind {
        K::Record(rec) => format!(
            "record {{{}}}",
            join(
                rec.fields
                    .iter()
                    .map(|f| format!("{}: {}", f.name, ty(&f.ty)))
                    .collect()
            )
        ),
        K::Resource => "resource".into(),
        K::Handle(Handle::Own(t)) => format!("own<{}>", wit_ty(r, &wit_parser::Type::Id(*t))),
        K::Handle(Handle::Borrow(t)) => {
            format!("borrow<{}>", wit_ty(r, &wit_parser::Type::Id(*t)))
        }
        K::Flags(f) => format!(
            "flags {{{}}}",
            join(f.flags.iter().map(|f| f.name.clone()).collect())
        ),
        K::Tuple(t) => format!("tuple<{}>", join(t.types.iter().map(ty).collect())),
        K::Variant(v) => format!(
            "variant {{{}}}",
            join(
                v.cases
                    .iter()
                    .map(|c| format!("{}({})", c.name, opt(&c.ty)))
                    .collect()
            )
        ),
        K::Enum(e) => format!(
            "enum {{{}}}",
            join(e.cases.iter().map(|c| c.name.clone()).collect())
        ),
        K::Option(t) => format!("option<{}>", ty(t)),
        K::Result(res) => format!("result<{}, {}>", opt(&res.ok), opt(&res.err)),
        K::List(t) => format!("list<{}>", ty(t)),
        K::Type(t) => format!("= {}", ty(t)),
        other => format!("{other:?}"),
    }
}

/// The `wasm-opt` of npm's `binaryen` (installed by `tests/run.sh` into
/// `tests/tools/`), or `$MELD_WASM_OPT`.
///
/// # Errors
/// When neither exists.
pub fn wasm_opt() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("MELD_WASM_OPT") {
        return Ok(PathBuf::from(p));
    }
    let p = repo().join("tests/tools/node_modules/.bin/wasm-opt");
    anyhow::ensure!(
        p.exists(),
        "{} is missing: run tests/run.sh, or `npm ci --prefix tests/tools`, or set MELD_WASM_OPT",
        p.display()
    );
    Ok(p)
}

/// `wasm-opt -O` on a core module, with the features Meld's output uses
/// (WebAssembly 2.0 and multi-memory).
///
/// # Errors
/// When `wasm-opt` is missing ([`wasm_opt`]) or fails.
pub fn wasm_opt_o(core: &[u8]) -> anyhow::Result<Vec<u8>> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("meld-wasm-opt-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (input, output) = (dir.join("in.wasm"), dir.join("out.wasm"));
    std::fs::write(&input, core)?;
    let status = std::process::Command::new(wasm_opt()?)
        .args(["-O", "--enable-multivalue", "--enable-reference-types"])
        .args(["--enable-bulk-memory", "--enable-nontrapping-float-to-int"])
        .args([
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-multimemory",
        ])
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .status()?;
    anyhow::ensure!(status.success(), "wasm-opt failed: {status}");
    let out = std::fs::read(&output)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(out)
}

/// `run(workload, 100)` of `examples/bench.wasm` (or a component with its
/// world) for every workload shape: the checksums, in a fixed order.
pub fn bench_checksums(bytes: &[u8]) -> Vec<wasmtime::component::Val> {
    use wasmtime::component::Val;
    let (mut store, instance) = instantiate_with_wasi(bytes).unwrap();
    let run = instance.get_func(&mut store, "run").unwrap();
    [
        "noop",
        "echo",
        "echo-unicode",
        "sum",
        "scale",
        "resource",
        "mix",
    ]
    .iter()
    .map(|w| {
        let mut r = [Val::U64(0)];
        run.call(
            &mut store,
            &[Val::Enum(w.to_string()), Val::U32(100)],
            &mut r,
        )
        .unwrap_or_else(|e| panic!("{w}: {e:?}"));
        let [r] = r;
        r
    })
    .collect()
}

/// The diagnostics for `input`, which must not fuse: the same for component
/// and core output (asserted), so that a refusal never depends on the
/// output kind.
pub fn refusal(input: &[u8]) -> meld::Diagnostics {
    let component = meld::fuse(input).expect_err("the input must not fuse");
    let core = meld::fuse_with(input, &meld::Options::with_output(meld::Output::Core))
        .expect_err("the input must not fuse to a core module either");
    assert_eq!(
        component, core,
        "component and core output are refused differently"
    );
    component
}

/// Runs `f` to completion on this thread, polling it until it is ready:
/// for wasmtime's concurrent API in tests and benchmarks, where nothing
/// waits on I/O (a pending future has always already asked to be woken).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Noop;
    impl Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    let waker = Waker::from(std::sync::Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
