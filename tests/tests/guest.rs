//! The primary path: the fuser core compiled to a wasm32-wasip2 component and
//! run by `meld-host`'s library in wasmtime. It must give the same bytes as the
//! native library, and the same diagnostics for bad input — never a trap.

use meld_host::Fuser;

fn fuser() -> Fuser {
    // One cache shared by the test binaries, inside the target directory.
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("meld-cache");
    Fuser::with_cache_dir(Some(&cache)).expect("the guest loads")
}

#[test]
fn guest_and_native_library_give_identical_bytes() {
    let mut guest = fuser();
    for (name, input) in meld_tests::examples() {
        let native = meld::fuse(&input).unwrap_or_else(|d| panic!("{name}: native: {d:?}"));
        let from_guest = guest
            .fuse(&input)
            .unwrap_or_else(|e| panic!("{name}: the guest failed: {e:#}"))
            .unwrap_or_else(|d| panic!("{name}: guest diagnostics: {d:?}"));
        assert!(
            from_guest == native,
            "{name}: guest output ({} bytes) differs from native ({} bytes)",
            from_guest.len(),
            native.len()
        );
    }
}

/// `fuse-with` through the guest: core output byte-identical to the native
/// library's; component output identical to `fuse`.
#[test]
fn guest_core_output_matches_the_native_library() {
    let mut guest = fuser();
    let core = meld::Options::with_output(meld::Output::Core);
    for (name, input) in meld_tests::examples() {
        let native = meld::fuse_with(&input, &core).unwrap_or_else(|d| panic!("{name}: {d:?}"));
        let from_guest = guest
            .fuse_with(&input, meld_host::Emit::Core)
            .unwrap_or_else(|e| panic!("{name}: the guest failed: {e:#}"))
            .unwrap_or_else(|d| panic!("{name}: guest diagnostics: {d:?}"));
        assert!(from_guest == native, "{name}: guest core output differs");
        let component = guest
            .fuse_with(&input, meld_host::Emit::Component)
            .unwrap()
            .unwrap();
        assert!(component == meld::fuse(&input).unwrap(), "{name}");
    }
}

#[test]
fn bad_input_gives_the_same_diagnostics_through_the_guest() {
    let mut guest = fuser();
    let component = wat::parse_str(
        r#"(component
             (core module $m (func (export "f") (result i32) i32.const 7))
             (core instance $i (instantiate $m))
             (func (export "f") (result u32) (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    let invalid = wat::parse_str(
        r#"(component
             (core module $m (func (export "f") (result i64) i64.const 7))
             (core instance $i (instantiate $m))
             (func (export "f") (result u32) (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "E0001"),
        (
            "random bytes",
            (0..2048u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
            "E0002",
        ),
        ("core module", wat::parse_str("(module)").unwrap(), "E0003"),
        (
            "truncated component",
            component[..component.len() - 3].to_vec(),
            "E0004",
        ),
        ("invalid component", invalid, "E0005"),
    ];
    let mut codes = std::collections::HashSet::new();
    for (what, bytes, code) in cases {
        let native = meld::fuse(&bytes).expect_err(what);
        let from_guest = guest
            .fuse(&bytes)
            .unwrap_or_else(|e| panic!("{what}: the guest trapped: {e:#}"))
            .expect_err(what);
        assert_eq!(from_guest.len(), native.len(), "{what}");
        assert_eq!(from_guest[0].code, code, "{what}: {from_guest:?}");
        assert_eq!(from_guest[0].code, native[0].code.as_str(), "{what}");
        assert_eq!(from_guest[0].message, native[0].message, "{what}");
        assert_eq!(from_guest[0].offset, native[0].offset, "{what}");
        let core = guest
            .fuse_with(&bytes, meld_host::Emit::Core)
            .unwrap_or_else(|e| panic!("{what}: the guest trapped: {e:#}"))
            .expect_err(what);
        assert_eq!(core, from_guest, "{what}: core output refused differently");
        assert!(
            codes.insert(code),
            "each kind of bad input has its own code"
        );
    }
}
