//! The fused module keeps the function names of the modules it links, so that
//! traps and profiles of fused output point at the original functions.

fn fused_core_function_names(component: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        if let wasmparser::Payload::CustomSection(c) = payload.unwrap()
            && let wasmparser::KnownCustom::Name(reader) = c.as_known()
        {
            for sub in reader {
                if let wasmparser::Name::Function(map) = sub.unwrap() {
                    names.extend(map.into_iter().map(|n| n.unwrap().name.to_string()));
                }
            }
        }
    }
    names
}

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
    let names = fused_core_function_names(&meld::fuse(&input).unwrap());
    for expected in ["the_answer", "entry", "meld:init"] {
        assert!(
            names.iter().any(|n| n == expected),
            "missing {expected} in {names:?}"
        );
    }
}
