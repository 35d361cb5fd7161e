//! Bad input gets one error diagnostic with its own stable code, never a
//! panic and never bytes; the same for component and core output
//! (`meld_tests::refusal`).

use meld::Code;

fn code_of(input: &[u8]) -> Code {
    let diags = meld_tests::refusal(input);
    assert!(!diags.is_empty());
    assert!(!diags[0].message.is_empty());
    diags[0].code
}

/// A small valid component: a module exporting a function, lifted.
fn valid_component() -> Vec<u8> {
    wat::parse_str(
        r#"(component
             (core module $m (func (export "f") (result i32) i32.const 7))
             (core instance $i (instantiate $m))
             (func (export "f") (result u32) (canon lift (core func $i "f"))))"#,
    )
    .unwrap()
}

#[test]
fn empty_input() {
    assert_eq!(code_of(&[]), Code::EmptyInput);
}

#[test]
fn random_bytes() {
    // Deterministic pseudo-random bytes (xorshift), not starting with `\0asm`.
    let mut x = 0x2545F4914F6CDD1Du64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    assert_ne!(&bytes[..4], b"\0asm");
    assert_eq!(code_of(&bytes), Code::NotWasm);
}

#[test]
fn core_module() {
    let m = wat::parse_str("(module (func (export \"f\")))").unwrap();
    assert_eq!(code_of(&m), Code::CoreModule);
}

#[test]
fn truncated_component() {
    let c = valid_component();
    for cut in [9, c.len() / 2, c.len() - 1] {
        let d = meld_tests::refusal(&c[..cut]);
        assert_eq!(d[0].code, Code::Truncated, "cut at {cut}: {:?}", d[0]);
        assert_eq!(d[0].offset, Some(cut as u64));
    }
}

#[test]
fn invalid_component() {
    // Lifts a core function with the wrong core signature.
    let c = wat::parse_str(
        r#"(component
             (core module $m (func (export "f") (result i64) i64.const 7))
             (core instance $i (instantiate $m))
             (func (export "f") (result u32) (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    let d = meld_tests::refusal(&c);
    assert_eq!(d[0].code, Code::Invalid, "{:?}", d[0]);
    // Where and what the validator (with the features Meld accepts) finds.
    let error = wasmparser::Validator::new_with_features(meld::translate::features())
        .validate_all(&c)
        .err()
        .expect("the component is invalid");
    assert_eq!(d[0].offset, Some(error.offset() as u64), "{:?}", d[0]);
    assert!(
        d[0].message.contains(error.message()),
        "{:?} does not say {:?}",
        d[0].message,
        error.message()
    );
}

#[test]
fn valid_small_component_fuses() {
    let out = meld::fuse(&valid_component()).expect("fuses");
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&out)
        .unwrap();
}

/// Two different resource types where one is expected: the validator's
/// message names its process-wide resource ids, which Meld leaves out so
/// that the same input always gets the same diagnostic (a `meld-fuzz fuse`
/// finding: seed 11, cases 120527 and 311659). `refusal` fuses the input
/// twice, to a component and to a core module, and compares.
#[test]
fn resource_mismatch_is_reported_the_same_each_time() {
    let c = wat::parse_str(
        r#"(component
             (type $a (resource (rep i32)))
             (type $b (resource (rep i32)))
             (component $c
               (import "r" (type $r (sub resource)))
               (import "x" (type (eq $r))))
             (instance (instantiate $c (with "r" (type $a)) (with "x" (type $b)))))"#,
    )
    .unwrap();
    let first = meld_tests::refusal(&c);
    assert_eq!(first[0].code, Code::Invalid, "{:?}", first[0]);
    assert!(
        first[0].message.contains("resource types are not the same"),
        "{}",
        first[0].message
    );
    assert!(
        !first[0].message.contains("ResourceId"),
        "{}",
        first[0].message
    );
    assert_eq!(first, meld_tests::refusal(&c));
}
