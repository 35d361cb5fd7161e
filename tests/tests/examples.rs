//! The bundled example compositions, fused with the native library: the
//! output validates, holds one core module with code, declares the same world,
//! and runs exactly like the input.

use meld_tests::*;

fn fused(name: &str, input: &[u8]) -> Vec<u8> {
    meld::fuse(input).unwrap_or_else(|d| panic!("{name}: fusing failed: {d:?}"))
}

#[test]
fn outputs_validate() {
    for (name, input) in examples() {
        let out = fused(&name, &input);
        let mut v = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all());
        v.validate_all(&out)
            .unwrap_or_else(|e| panic!("{name}: invalid output: {e}"));
    }
}

#[test]
fn outputs_hold_exactly_one_core_module_with_code() {
    for (name, input) in examples() {
        let before = core_modules(&input).unwrap();
        assert!(
            before.iter().filter(|&&n| n > 0).count() >= 2,
            "{name}: the input should hold several modules with code: {before:?}"
        );
        let after = core_modules(&fused(&name, &input)).unwrap();
        let with_code = after.iter().filter(|&&n| n > 0).count();
        assert_eq!(
            with_code, 1,
            "{name}: function bodies per core module: {after:?}"
        );
    }
}

#[test]
fn outputs_declare_the_input_world() {
    for (name, input) in examples() {
        let before = world_wit(&input).unwrap();
        let after = world_wit(&fused(&name, &input)).unwrap();
        assert!(
            before.contains("export wasi:cli/run"),
            "{name}: unexpected world:\n{before}"
        );
        assert_eq!(before, after, "{name}: worlds differ");
    }
}

#[test]
fn outputs_behave_like_their_inputs() {
    for (name, input) in examples() {
        let before = run_command(&input).unwrap();
        let after = run_command(&fused(&name, &input)).unwrap();
        assert!(
            !before.trapped,
            "{name}: the input itself traps: {}",
            String::from_utf8_lossy(&before.stderr)
        );
        assert_eq!(
            before.result,
            Some(Ok(())),
            "{name}: the input should succeed"
        );
        assert!(
            before.stdout.len() > 200,
            "{name}: the input prints too little to compare"
        );
        assert_eq!(
            String::from_utf8_lossy(&before.stdout),
            String::from_utf8_lossy(&after.stdout),
            "{name}: stdout differs"
        );
        assert_eq!(before, after, "{name}: observable behaviour differs");
    }
}

#[test]
fn fusing_is_deterministic() {
    for (name, input) in examples() {
        assert_eq!(fused(&name, &input), fused(&name, &input), "{name}");
    }
}

/// `examples/bench.wasm` (the benchmarks' workload, not a command): every
/// workload shape gives the same checksum fused and unfused.
#[test]
fn bench_composition_gives_the_same_checksums() {
    let input = std::fs::read(repo().join("examples/bench.wasm")).unwrap();
    let output = fused("bench", &input);
    let before = bench_checksums(&input);
    assert!(before.windows(2).all(|w| w[0] != w[1]), "{before:?}");
    assert_eq!(before, bench_checksums(&output));
}

/// The fixtures too, component and core output, several times each
/// (`tests/fixtures/host-resource.wat` exports an instance made of items,
/// whose exports wasmtime's translator lists in a different order every
/// run: found by `meld-fuzz fuse`).
#[test]
fn fixtures_fuse_deterministically() {
    let dir = repo().join("tests/fixtures");
    let mut inputs = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("wat") => inputs.push((path.clone(), wat::parse_file(&path).unwrap())),
            Some("wasm") => inputs.push((path.clone(), std::fs::read(&path).unwrap())),
            _ => {}
        }
    }
    assert!(inputs.len() >= 4, "{} fixtures", inputs.len());
    for (path, input) in inputs {
        for output in [meld::Output::Component, meld::Output::Core] {
            let options = meld::Options::with_output(output);
            let first = meld::fuse_with(&input, &options).unwrap();
            for _ in 0..4 {
                assert!(
                    meld::fuse_with(&input, &options).unwrap() == first,
                    "{}: {output:?} output differs between runs",
                    path.display()
                );
            }
        }
    }
}
