//! The fused module keeps the function names of the modules it links, so that
//! traps and profiles of fused output point at the original functions.

#[test]
fn function_names_survive_fusion() {
    let input = wat::parse_str(
        r#"(component
             (core module $m
               (func $the_answer (result i32) i32.const 42)
               (func $entry (export "f") (result i32) call $the_answer))
             (core instance $i (instantiate $m))
             (func (export "f") (result u32) (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    let names = meld_tests::function_names(&meld::fuse(&input).unwrap()).unwrap();
    for expected in ["the_answer", "entry", "meld:init"] {
        assert!(
            names.iter().any(|n| n == expected),
            "missing {expected} in {names:?}"
        );
    }
}
