//! Valid input too large to fuse into one core module gets its own
//! diagnostic (E0011) with the figure, never an internal error (it was
//! E0100 "memories count exceeds limit of 100" from validation): here a
//! module with a memory instantiated 101 times, each instance used (so that
//! dead-code removal keeps every memory), where a module may have at most
//! 100 memories.

/// `n` instances of a module with a memory, each calling the previous one.
fn chain_of_instances(n: usize) -> Vec<u8> {
    let mut wat = String::from(
        r#"(component
  (core module $first (memory 1) (data (i32.const 0) "\01") (func (export "f") (result i32) (i32.load (i32.const 0))))
  (core module $next
    (import "prev" "f" (func $prev (result i32)))
    (memory 1)
    (data (i32.const 0) "\01")
    (func (export "f") (result i32) (i32.add (i32.load (i32.const 0)) (call $prev))))
  (core instance $i0 (instantiate $first))
"#,
    );
    for k in 1..n {
        wat.push_str(&format!(
            "  (core instance $i{k} (instantiate $next (with \"prev\" (instance $i{}))))\n",
            k - 1
        ));
    }
    wat.push_str(&format!(
        "  (func (export \"f\") (result u32) (canon lift (core func $i{} \"f\"))))",
        n - 1
    ));
    wat::parse_str(wat).unwrap()
}

#[test]
fn too_many_memories_is_an_implementation_limit() {
    let input = chain_of_instances(101);
    let d = meld::fuse(&input).expect_err("too many memories");
    assert_eq!(d[0].code, meld::Code::ImplementationLimit, "{:?}", d[0]);
    assert!(
        d[0].message.contains("101 memories") && d[0].message.contains("100"),
        "{}",
        d[0].message
    );
    assert!(!d[0].notes.is_empty());
    // The core output has one memory more (`cm32p2_memory`): 102.
    let core = meld::fuse_with(&input, &meld::Options::with_output(meld::Output::Core))
        .expect_err("too many memories");
    assert_eq!(
        core[0].code,
        meld::Code::ImplementationLimit,
        "{:?}",
        core[0]
    );
    assert!(
        core[0].message.contains("102 memories"),
        "{}",
        core[0].message
    );
}

#[test]
fn a_hundred_memories_still_fuse() {
    let input = chain_of_instances(100);
    let out = meld::fuse(&input).unwrap_or_else(|d| panic!("{d:?}"));
    // Each instance adds the byte at address 0 of its own memory: 100.
    let expected = Ok(wasmtime::component::Val::U32(100));
    assert_eq!(meld_tests::call_export(&input, "f", &[]), expected);
    assert_eq!(meld_tests::call_export(&out, "f", &[]), expected);
}
