//! Meld's fuzzers: generators, oracles and their properties, shared by the
//! `cargo fuzz` targets (`fuzz/targets/`) and the `meld-fuzz` binary that
//! runs them for a fixed number of cases on stable Rust (CI).
//!
//! - [`differential`]: a generated component run as given and as fused
//!   (component and core output); every observable must agree. Three kinds:
//!   chains of components passing random values and handles ([`compose`],
//!   [`types`], [`values`], [`oracle`]), resource lifecycles between a
//!   definer and a client ([`lifecycle`]), random core modules in a
//!   component ([`smith`]), and chains of component-model async calls
//!   ([`async_chain`]).
//! - [`fuse_properties`]: any bytes into `meld::fuse` (both outputs): never a
//!   panic, every output valid, the same input twice gives the same bytes.

pub mod async_chain;
pub mod compose;
pub mod lifecycle;
pub mod oracle;
pub mod smith;
pub mod types;
pub mod values;

use arbitrary::Unstructured;
use wasmtime::Config;
pub use wasmtime::Engine;

/// The engine both forms run in.
pub fn engine() -> Engine {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.parallel_compilation(false);
    Engine::new(&config).expect("engine")
}

/// What a differential case that agreed was made of.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Its functions pass handles (own or borrow).
    pub handles: bool,
    /// Its run ended in a trap (in both forms).
    pub trapped: bool,
    /// It is a chain of component-model async calls ([`async_chain`]).
    pub async_: bool,
}

/// What one differential case showed.
#[derive(Debug)]
pub enum Verdict {
    /// Input, fused output and expectation agree.
    Same(Shape),
    /// The bytes did not make a whole case (not enough data).
    Skipped,
    /// The generator made an invalid composition (a bug in the generator).
    Invalid(String),
    /// The unfused composition did not behave as expected (a bug in the
    /// generator or in wasmtime), with both transcripts.
    Reference(String),
    /// Meld refused a composition it should fuse.
    Refused(String),
    /// Meld's output differs from the input: a bug in Meld.
    Mismatch(String),
}

/// A differential case from `data`: the composition's WAT and bytes, and
/// the verdict. Of every nine cases, two are resource lifecycles
/// ([`lifecycle`]), one a random core module in a component ([`smith`]),
/// one a chain of async calls ([`async_chain`]), the others chains of
/// components ([`compose`]) with calls ([`oracle`]).
pub fn differential(engine: &Engine, data: &[u8]) -> (Option<(String, Vec<u8>)>, Verdict) {
    let mut u = Unstructured::new(data);
    match u.int_in_range(0..=8u8) {
        Ok(0 | 1) => lifecycle_case(engine, &mut u),
        Ok(2) => smith_case(engine, &mut u),
        Ok(3) => async_case(&mut u),
        Ok(_) => chain_case(engine, &mut u),
        Err(_) => (None, Verdict::Skipped),
    }
}

/// A chain of component-model async calls: the component output must
/// agree with the input; so must the core output of a sync outer world
/// (inner-only async), while that of an async outer world is refused with
/// E0016 (no core ABI for the host's async built-ins is standardised).
fn async_case(u: &mut Unstructured<'_>) -> (Option<(String, Vec<u8>)>, Verdict) {
    let Ok(case) = async_chain::Case::generate(u) else {
        return (None, Verdict::Skipped);
    };
    let expected = async_chain::expected(&case);
    let wat = case.wat();
    let bytes = wat::parse_str(&wat).map_err(|e| e.to_string());
    if let Ok(b) = &bytes
        && !case.outer_sync
    {
        match meld::fuse_with(b, &meld::Options::with_output(meld::Output::Core)) {
            Err(d) if d.iter().all(|d| d.code == meld::Code::AsyncCoreOutput) => {}
            other => {
                return (
                    Some((wat, b.clone())),
                    Verdict::Mismatch(format!(
                        "core output of an async export not refused with E0016: {other:?}"
                    )),
                );
            }
        }
    }
    let outputs: &[meld::Output] = if case.outer_sync {
        BOTH
    } else {
        &[meld::Output::Component]
    };
    compare(
        wat,
        bytes,
        outputs,
        |bytes| async_chain::run(bytes, &case),
        |before| {
            expected
                .as_ref()
                .filter(|e| *e != before)
                .map(|e| format!("expected {e:?}"))
        },
        |before| Shape {
            handles: false,
            trapped: before
                .iter()
                .any(|o| matches!(o, async_chain::Observed::Trapped(_))),
            async_: true,
        },
    )
}

/// A random core module in a component, called with random values.
fn smith_case(engine: &Engine, u: &mut Unstructured<'_>) -> (Option<(String, Vec<u8>)>, Verdict) {
    let Ok(Some(case)) = smith::generate(u, engine) else {
        return (None, Verdict::Skipped);
    };
    let text = format!(
        "(; a wasm-smith module in a component (see the .wasm); calls: {:?} ;)\n",
        case.calls
    );
    compare(
        text,
        Ok(case.component.clone()),
        BOTH,
        |bytes| smith::run(engine, bytes, &case),
        |_| None,
        |before| Shape {
            handles: false,
            trapped: matches!(before.last(), Some(oracle::Observed::Trapped(_))),
            async_: false,
        },
    )
}

/// A chain of components called with random values.
fn chain_case(engine: &Engine, u: &mut Unstructured<'_>) -> (Option<(String, Vec<u8>)>, Verdict) {
    let Ok(comp) = compose::Composition::generate(u) else {
        return (None, Verdict::Skipped);
    };
    let Ok(calls) = oracle::calls(u, &comp) else {
        return (None, Verdict::Skipped);
    };
    // With a faulty component, the unfused run may trap anywhere from the
    // faulty function's first call on; without, it must be as expected.
    let faulty = comp
        .links
        .iter()
        .any(|l| matches!(l, compose::Link::Faulty(..)));
    let expected = oracle::expected(&calls);
    let handles = comp
        .funcs
        .iter()
        .flat_map(|f| f.params.iter().chain(&f.result))
        .any(types::Type::has_handles);
    let wat = comp.wat();
    let bytes = wat::parse_str(&wat).map_err(|e| e.to_string());
    compare(
        wat,
        bytes,
        BOTH,
        |bytes| oracle::run(engine, bytes, &comp.funcs, comp.resources, &calls),
        |before| (!faulty && *before != expected).then(|| format!("expected {expected:?}")),
        |before| Shape {
            handles,
            trapped: matches!(before.last(), Some(oracle::Observed::Trapped(_))),
            async_: false,
        },
    )
}

/// A resource lifecycle between a definer and a client.
fn lifecycle_case(
    engine: &Engine,
    u: &mut Unstructured<'_>,
) -> (Option<(String, Vec<u8>)>, Verdict) {
    let Ok(program) = lifecycle::Program::generate(u) else {
        return (None, Verdict::Skipped);
    };
    let expected = program.expected();
    let wat = program.wat();
    let bytes = wat::parse_str(&wat).map_err(|e| e.to_string());
    compare(
        wat,
        bytes,
        BOTH,
        |bytes| lifecycle::run(engine, bytes),
        |before| (!lifecycle::matches(&expected, before)).then(|| format!("expected {expected:?}")),
        |before| Shape {
            handles: true,
            trapped: before.1,
            async_: false,
        },
    )
}

/// Both of Meld's outputs.
const BOTH: &[meld::Output] = &[meld::Output::Component, meld::Output::Core];

/// The differential oracle of a generated component `bytes` (from `text`,
/// or the reason it is not a component): `run` gives what a run shows,
/// `unexpected` says what was expected when the unfused run is not as it
/// should be, then each of Meld's `outputs` (the core module re-wrapped as
/// a component) must show exactly what the input showed.
fn compare<T: PartialEq + std::fmt::Debug>(
    text: String,
    bytes: Result<Vec<u8>, String>,
    outputs: &[meld::Output],
    run: impl Fn(&[u8]) -> anyhow::Result<T>,
    unexpected: impl Fn(&T) -> Option<String>,
    shape: impl Fn(&T) -> Shape,
) -> (Option<(String, Vec<u8>)>, Verdict) {
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => return (Some((text, Vec::new())), Verdict::Invalid(e)),
    };
    let case = Some((text, bytes.clone()));
    let before = match run(&bytes) {
        Ok(t) => t,
        Err(e) => return (case, Verdict::Invalid(format!("{e:#}"))),
    };
    if let Some(expected) = unexpected(&before) {
        return (
            case,
            Verdict::Reference(format!("{expected}\nunfused {before:?}")),
        );
    }
    for &output in outputs {
        let fused = match meld::fuse_with(&bytes, &meld::Options::with_output(output)) {
            Ok(f) => f,
            Err(d) => return (case, Verdict::Refused(format!("{output:?}: {d:?}"))),
        };
        let runnable = match output {
            meld::Output::Core => match wit_component::ComponentEncoder::default()
                .module(&fused)
                .and_then(|e| e.validate(true).encode())
            {
                Ok(c) => c,
                Err(e) => {
                    return (
                        case,
                        Verdict::Mismatch(format!("core output does not re-wrap: {e:#}")),
                    );
                }
            },
            _ => fused,
        };
        match run(&runnable) {
            Ok(after) if after == before => {}
            Ok(after) => {
                return (
                    case,
                    Verdict::Mismatch(format!("{output:?}\nunfused {before:?}\nfused   {after:?}")),
                );
            }
            Err(e) => {
                return (
                    case,
                    Verdict::Mismatch(format!("{output:?}: does not run: {e:#}")),
                );
            }
        }
    }
    let shape = shape(&before);
    (case, Verdict::Same(shape))
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Same(_) => write!(f, "same"),
            Verdict::Skipped => write!(f, "skipped"),
            Verdict::Invalid(e) => write!(f, "generator: invalid composition: {e}"),
            Verdict::Reference(e) => write!(
                f,
                "the unfused run is not as expected (generator or wasmtime):\n{e}"
            ),
            Verdict::Refused(e) => write!(f, "Meld refused it: {e}"),
            Verdict::Mismatch(e) => write!(f, "MISMATCH (Meld):\n{e}"),
        }
    }
}

/// The properties of `meld::fuse` on any bytes: no panic (the caller
/// catches it), every output valid, the same input fused twice gives the
/// same bytes; and of `meld::inspect` (no panic, no internal error, every
/// edge between existing nodes, deterministic). Returns a description of the
/// first violation.
pub fn fuse_properties(data: &[u8]) -> Result<(), String> {
    let inspection = meld::inspect::inspect(data);
    match &inspection {
        Ok(i) => {
            let nodes = i.nodes.len() as u32;
            if let Some(e) = i
                .edges
                .iter()
                .find(|e| e.source >= nodes || e.target >= nodes)
            {
                return Err(format!("inspect: edge to a missing node: {e:?}"));
            }
        }
        Err(d) if d.iter().any(|d| d.code == meld::Code::Internal) => {
            return Err(format!("inspect: internal error: {d:?}"));
        }
        Err(_) => {}
    }
    if meld::inspect::inspect(data) != inspection {
        return Err("inspect: not deterministic".to_string());
    }
    for output in [meld::Output::Component, meld::Output::Core] {
        let options = meld::Options::with_output(output);
        let first = meld::fuse_with(data, &options);
        if let Ok(out) = &first {
            wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
                .validate_all(out)
                .map_err(|e| format!("{output:?}: invalid output: {e}"))?;
        }
        if let Err(d) = &first
            && d.iter().any(|d| d.code == meld::Code::Internal)
        {
            return Err(format!("{output:?}: internal error: {d:?}"));
        }
        if meld::fuse_with(data, &options) != first {
            return Err(format!("{output:?}: not deterministic"));
        }
    }
    Ok(())
}

/// Deterministic pseudo-random bytes (xorshift64*), for running the
/// generators without a fuzzing engine: case `n` of seed `s` is always the
/// same bytes.
pub fn bytes_for(seed: u64, case: u64, len: usize) -> Vec<u8> {
    // The seed is mixed by an odd multiplier before the low bit is forced
    // on: seeds 2k and 2k+1 would otherwise give the same cases.
    let mut x =
        (seed.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}
