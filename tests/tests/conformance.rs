//! Conformance: the component model's reference tests
//! (`../shared/conformance/**/*.wast`) and Meld's regression fixtures
//! (`tests/regressions/`), each component run as given and as fused by
//! Meld. The runner is [`meld_tests::conformance`] (its doc comment says
//! what a unit is and what each column counts); this file gives it
//! wasmtime's wast runner on an engine with the features the reference
//! tests use.
//!
//! - `conformance`: the reference tests against
//!   `tests/conformance/expected.txt`. When they are not found (at
//!   `MELD_CONFORMANCE_DIR`, or else `../shared/conformance` beside the
//!   repository) the test **fails**; `MELD_SKIP_CONFORMANCE=1` skips it on
//!   purpose.
//! - `regressions`: the fixtures against `tests/regressions/expected.txt`.
//! - `readme_counts_agree_with_expected`: the folder counts in
//!   `tests/conformance/README.md` are those of `expected.txt`, and its table
//!   of refusal reasons names exactly the folders and codes refused.
//!
//! `MELD_BLESS=1 cargo test -p meld-tests --release --test conformance`
//! rewrites the expectations (and the README's counts); `-- --nocapture`
//! shows the table and one line per failing unit.
//!
//! Both sides run on one engine: the component model with every proposal
//! the reference tests use (async, more async builtins, stackful async,
//! threading, error-context, fixed-length lists, maps, `implements`,
//! exceptions), Cranelift without optimisation (the tests are tiny;
//! compilation is the cost), and fuel metering so that a runaway loop ends as
//! a trap. Calls go through the async API (`Async::Yes`): async-lifted
//! exports, which occur outside `async/` too, cannot be called through the
//! sync one, and for sync exports the two behave the same.

use std::path::Path;

use meld_tests::conformance::{self, Side};
use wasmtime::{Config, Engine, OptLevel};
use wasmtime_wast::{Async, SpectestConfig, WastContext};

/// Fuel for every store: far more than any reference test needs.
const FUEL: u64 = 2_000_000_000;

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

/// Runs a wast text under `wasmtime-wast`; `Err` holds the first failure.
fn run_wast(engine: &Engine, name: &str, text: &str, side: Side) -> Result<(), String> {
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
    })
    .map_err(|e| format!("{e:#}"))?;
    cx.run_wast(name, text.as_bytes())
        .map_err(|e| format!("{e:#}"))
}

/// Runs the `.wast` files under `dir` against `expected`; true when it
/// blessed (rewrote) `expected` instead of comparing.
fn run_suite(dir: &Path, expected: &Path) -> bool {
    let engine = engine();
    conformance::run_suite(dir, expected, &|name, text, side| {
        run_wast(&engine, name, text, side)
    })
}

fn here() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The component model's reference tests. Missing reference tests fail
/// this test unless `MELD_SKIP_CONFORMANCE=1`
/// ([`conformance::locate_reference_tests`]).
#[test]
fn conformance() {
    let dir = match conformance::locate_reference_tests(
        conformance::reference_dir(),
        conformance::skip_requested(),
    ) {
        Ok(Some(dir)) => dir,
        Ok(None) => {
            eprintln!(
                "SKIPPED: the conformance suite ({} is set)",
                conformance::SKIP_VAR
            );
            return;
        }
        Err(why) => panic!("{why}"),
    };
    let expected = here().join("conformance/expected.txt");
    if run_suite(&dir, &expected) {
        let readme_path = here().join("conformance/README.md");
        let readme = std::fs::read_to_string(&readme_path).unwrap();
        let counts = conformance::readme_counts(&std::fs::read_to_string(&expected).unwrap());
        std::fs::write(
            &readme_path,
            conformance::readme_with_counts(&readme, &counts),
        )
        .unwrap();
        println!("blessed {}", readme_path.display());
    }
}

/// Meld's own regression fixtures: one small `.wast` per bug found by the
/// reference tests, with the directive that failed (`tests/regressions/`).
#[test]
fn regressions() {
    let root = here().join("regressions");
    run_suite(&root, &root.join("expected.txt"));
}

/// `tests/conformance/README.md` shows the folder counts of `expected.txt`
/// (generated by [`conformance::readme_counts`] between its markers) and
/// gives a reason for every folder and code in the 'unsupported' column,
/// and for no other.
#[test]
fn readme_counts_agree_with_expected() {
    let expected = std::fs::read_to_string(here().join("conformance/expected.txt")).unwrap();
    let readme = std::fs::read_to_string(here().join("conformance/README.md")).unwrap();
    let counts = conformance::readme_counts(&expected);
    let shown = conformance::readme_generated_part(&readme).unwrap_or_else(|| {
        panic!(
            "tests/conformance/README.md lacks the lines `{}` and `{}` around its counts",
            conformance::README_BEGIN,
            conformance::README_END
        )
    });
    // While blessing, the `conformance` test rewrites both files.
    if !conformance::blessing() {
        assert_eq!(
            shown.trim(),
            counts.trim(),
            "tests/conformance/README.md shows other counts than expected.txt; \
             MELD_BLESS=1 cargo test -p meld-tests --release --test conformance rewrites them"
        );
    }

    // The reasons table: `| folder | code(s) | reason |` rows after the
    // `## Why units are refused` heading, codes separated by `/`.
    let reasons = readme
        .split_once("## Why units are refused")
        .expect("a section `## Why units are refused`")
        .1;
    let mut given = std::collections::BTreeSet::new();
    for line in reasons.lines().take_while(|l| !l.starts_with("## ")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || cells[1] == "folder" || cells[1].starts_with("---") {
            continue;
        }
        let folder = cells[1].trim_matches('`').trim_end_matches('/');
        for code in cells[2].split('/') {
            given.insert((folder.to_string(), code.trim().to_string()));
        }
    }
    assert_eq!(
        given,
        conformance::unsupported_by_folder(&expected),
        "the reasons in tests/conformance/README.md (left) are not for the folders and codes \
         refused in expected.txt (right)"
    );
}
