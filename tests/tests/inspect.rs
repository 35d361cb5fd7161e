//! `inspect`: the world as WIT, the wiring of the components that hold code
//! (nested compositions looked through), and the mark Meld leaves on its
//! outputs.

use meld::inspect::{Edge, Inspection, Node, NodeKind, inspect};

/// The version Meld writes into its outputs' `producers` section: the guest
/// crate's, which is the workspace's, as is this crate's.
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn example(name: &str) -> Vec<u8> {
    let path = meld_tests::repo()
        .join("examples")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every `examples/*.wasm`, by file stem, in name order.
fn all_examples() -> Vec<(String, Vec<u8>)> {
    let dir = meld_tests::repo().join("examples");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

fn components(i: &Inspection) -> Vec<&Node> {
    i.nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Component)
        .collect()
}

/// The id of the one node of `kind` named `name`.
fn node(i: &Inspection, kind: NodeKind, name: &str) -> u32 {
    let found: Vec<&Node> = i
        .nodes
        .iter()
        .filter(|n| n.kind == kind && n.name == name)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {kind:?} node `{name}` in {:#?}",
        i.nodes
    );
    found[0].id
}

fn edge(source: u32, target: u32, name: &str) -> Edge {
    Edge {
        source,
        target,
        name: name.to_string(),
    }
}

/// Node ids are their indices, and every edge joins two existing nodes.
fn assert_well_formed(what: &str, i: &Inspection) {
    for (k, n) in i.nodes.iter().enumerate() {
        assert_eq!(n.id as usize, k, "{what}: node ids are indices");
        assert!(!n.name.is_empty(), "{what}: node {k} has a name");
    }
    let n = i.nodes.len() as u32;
    for e in &i.edges {
        assert!(
            e.source < n && e.target < n,
            "{what}: edge {e:?} refers to a node that does not exist ({n} nodes)"
        );
        assert_ne!(e.source, e.target, "{what}: self edge {e:?}");
        assert!(!e.name.is_empty(), "{what}: edge {e:?} has no name");
    }
    let mut unique = std::collections::HashSet::new();
    for e in &i.edges {
        assert!(
            unique.insert((e.source, e.target, &e.name)),
            "{what}: duplicate edge {e:?}"
        );
    }
}

#[test]
fn chain_example_looks_through_the_nested_composition() {
    // chain.wasm is `wac plug app --plug (wac plug middle --plug leaf)`: the
    // top level instantiates the nested (middle + leaf) composition and the
    // app; inspect shows the three components that hold code.
    let chain = example("chain");
    let i = inspect(&chain).unwrap();
    assert_well_formed("chain", &i);
    assert_eq!(i.world, meld_tests::world_wit(&chain).unwrap());
    assert_eq!(i.fused_by, None);
    let names: Vec<&str> = components(&i).iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "component 0: example:chain/leaf",
            "component 1: example:chain/middle",
            "component 2: wasi:cli/run@0.2.0",
        ],
        "{:#?}",
        i.nodes
    );
    let leaf = node(&i, NodeKind::Component, names[0]);
    let middle = node(&i, NodeKind::Component, names[1]);
    let app = node(&i, NodeKind::Component, names[2]);
    let run = node(&i, NodeKind::HostExport, "wasi:cli/run@0.2.0");
    // The edges between code: leaf → middle → app → the host.
    let inner: Vec<&Edge> = i
        .edges
        .iter()
        .filter(|e| i.nodes[e.source as usize].kind == NodeKind::Component)
        .collect();
    assert_eq!(
        inner,
        [
            &edge(leaf, middle, "example:chain/leaf"),
            &edge(middle, app, "example:chain/middle"),
            &edge(app, run, "wasi:cli/run@0.2.0"),
        ],
        "{:#?}",
        i.edges
    );
    // Outer imports reach every component the composition hands them to.
    let stdout = node(&i, NodeKind::HostImport, "wasi:cli/stdout@0.2.6");
    for target in [leaf, middle, app] {
        assert!(
            i.edges
                .contains(&edge(stdout, target, "wasi:cli/stdout@0.2.6")),
            "stdout → {target}: {:#?}",
            i.edges
        );
    }
    // Every edge into a component comes from a host import or a component;
    // host imports supply only what they are named.
    for e in &i.edges {
        let source = &i.nodes[e.source as usize];
        if source.kind == NodeKind::HostImport {
            assert_eq!(e.name, source.name, "{e:?}");
            assert!(e.name.starts_with("wasi:"), "{e:?}");
        }
        assert_ne!(source.kind, NodeKind::HostExport, "{e:?}");
    }
}

#[test]
fn resources_example_wiring() {
    // resources.wasm: res-app ← res-lib, one level of composition.
    let bytes = example("resources");
    let i = inspect(&bytes).unwrap();
    assert_well_formed("resources", &i);
    let names: Vec<&str> = components(&i).iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "component 0: meld:resources/things, meld:resources/writer",
            "component 1: wasi:cli/run@0.2.0",
        ],
        "{:#?}",
        i.nodes
    );
    let lib = node(&i, NodeKind::Component, names[0]);
    let app = node(&i, NodeKind::Component, names[1]);
    let run = node(&i, NodeKind::HostExport, "wasi:cli/run@0.2.0");
    for e in [
        edge(lib, app, "meld:resources/things"),
        edge(lib, app, "meld:resources/writer"),
        edge(app, run, "wasi:cli/run@0.2.0"),
    ] {
        assert!(i.edges.contains(&e), "{e:?} in {:#?}", i.edges);
    }
}

#[test]
fn every_example_inspects() {
    let examples = all_examples();
    assert!(
        examples.len() >= 6,
        "{:?}",
        examples.iter().map(|e| &e.0).collect::<Vec<_>>()
    );
    for (name, bytes) in examples {
        let i = inspect(&bytes).unwrap_or_else(|d| panic!("{name}: {d:?}"));
        assert_well_formed(&name, &i);
        assert_eq!(i.fused_by, None, "{name}");
        assert!(
            components(&i).len() >= 2,
            "{name}: every example composes at least two components: {:#?}",
            i.nodes
        );
        // Each outer export is supplied by some component.
        for n in i.nodes.iter().filter(|n| n.kind == NodeKind::HostExport) {
            assert!(
                i.edges
                    .iter()
                    .any(|e| e.target == n.id
                        && i.nodes[e.source as usize].kind == NodeKind::Component),
                "{name}: nothing supplies {n:?}: {:#?}",
                i.edges
            );
        }
    }
}

#[test]
fn fused_output_is_marked_and_is_one_component() {
    let chain = example("chain");
    let fused = meld::fuse(&chain).unwrap();
    let i = inspect(&fused).unwrap();
    assert_well_formed("fused chain", &i);
    assert_eq!(i.fused_by, Some(format!("meld {VERSION}")));
    assert_eq!(i.world, inspect(&chain).unwrap().world);
    let names: Vec<&str> = components(&i).iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["component 0: wasi:cli/run@0.2.0"], "{:#?}", i.nodes);
    let fused_component = node(&i, NodeKind::Component, names[0]);
    let run = node(&i, NodeKind::HostExport, "wasi:cli/run@0.2.0");
    assert!(
        i.edges
            .contains(&edge(fused_component, run, "wasi:cli/run@0.2.0")),
        "{:#?}",
        i.edges
    );
    // Every outer import goes to the one component.
    for n in i.nodes.iter().filter(|n| n.kind == NodeKind::HostImport) {
        assert!(
            i.edges.contains(&edge(n.id, fused_component, &n.name)),
            "{n:?}: {:#?}",
            i.edges
        );
    }
    // The same imports as the input.
    let imports = |i: &Inspection| -> Vec<String> {
        let mut v: Vec<String> = i
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::HostImport)
            .map(|n| n.name.clone())
            .collect();
        v.sort();
        v
    };
    assert_eq!(imports(&i), imports(&inspect(&chain).unwrap()));
}

/// The `processed-by` entries of the top-level `producers` section.
fn processed_by(bytes: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut depth = 0;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.unwrap() {
            wasmparser::Payload::Version { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth -= 1,
            wasmparser::Payload::CustomSection(c) if depth == 1 => {
                if let wasmparser::KnownCustom::Producers(r) = c.as_known() {
                    for field in r {
                        let field = field.unwrap();
                        if field.name == "processed-by" {
                            for v in field.values {
                                let v = v.unwrap();
                                out.push((v.name.to_string(), v.version.to_string()));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn both_outputs_carry_a_producers_section() {
    let chain = example("chain");
    let meld = vec![("meld".to_string(), VERSION.to_string())];
    assert_eq!(processed_by(&meld::fuse(&chain).unwrap()), meld);
    let core = meld_tests::fuse_core("chain", &chain);
    assert_eq!(processed_by(&core), meld);
    // Fusing is deterministic, mark included.
    assert_eq!(meld::fuse(&chain).unwrap(), meld::fuse(&chain).unwrap());
}

#[test]
fn a_single_component_is_one_node() {
    let bytes = wat::parse_str(
        r#"(component
             (import "f" (func $f (result u32)))
             (core module $m
               (import "" "f" (func $f (result i32)))
               (func (export "g") (result i32) call $f))
             (core func $lf (canon lower (func $f)))
             (core instance $h (export "f" (func $lf)))
             (core instance $i (instantiate $m (with "" (instance $h))))
             (func (export "g") (result u32) (canon lift (core func $i "g"))))"#,
    )
    .unwrap();
    let i = inspect(&bytes).unwrap();
    assert_well_formed("single", &i);
    let names: Vec<(NodeKind, &str)> = i.nodes.iter().map(|n| (n.kind, n.name.as_str())).collect();
    assert_eq!(
        names,
        [
            (NodeKind::Component, "component 0: g"),
            (NodeKind::HostImport, "f"),
            (NodeKind::HostExport, "g"),
        ]
    );
    assert_eq!(i.edges, [edge(1, 0, "f"), edge(0, 2, "g")]);
}

#[test]
fn nested_definitions_and_outer_aliases_are_followed() {
    // A composition whose inner composition instantiates, through an outer
    // alias, a component defined at the top level, and re-exports one
    // function of it under another name.
    let bytes = wat::parse_str(
        r#"(component
             (component $leaf
               (core module $m (func (export "v") (result i32) i32.const 7))
               (core instance $i (instantiate $m))
               (func (export "v") (result u32) (canon lift (core func $i "v"))))
             (component $user
               (import "v" (func $v (result u32)))
               (core func $lv (canon lower (func $v)))
               (core module $m
                 (import "" "v" (func $v (result i32)))
                 (func (export "w") (result i32) call $v))
               (core instance $h (export "v" (func $lv)))
               (core instance $i (instantiate $m (with "" (instance $h))))
               (func (export "w") (result u32) (canon lift (core func $i "w"))))
             (component $mid
               (alias outer 1 $leaf (component $leaf))
               (instance $l (instantiate $leaf))
               (instance $bundle (export "value" (func $l "v")))
               (export "bundle" (instance $bundle)))
             (instance $mid (instantiate $mid))
             (alias export $mid "bundle" (instance $b))
             (instance $u (instantiate $user (with "v" (func $b "value"))))
             (export "w" (func $u "w")))"#,
    )
    .unwrap();
    let i = inspect(&bytes).unwrap();
    assert_well_formed("outer alias", &i);
    let names: Vec<(NodeKind, &str)> = i.nodes.iter().map(|n| (n.kind, n.name.as_str())).collect();
    assert_eq!(
        names,
        [
            (NodeKind::Component, "component 0: v"),
            (NodeKind::Component, "component 1: w"),
            (NodeKind::HostExport, "w"),
        ]
    );
    assert_eq!(i.edges, [edge(0, 1, "v"), edge(1, 2, "w")]);
}

#[test]
fn bad_input_is_diagnosed() {
    assert_eq!(inspect(&[]).unwrap_err()[0].code, meld::Code::EmptyInput);
    let core = wat::parse_str("(module)").unwrap();
    assert_eq!(inspect(&core).unwrap_err()[0].code, meld::Code::CoreModule);
}

/// A component defining `$c0` (with code) and `$c1`…`$c<levels>`, each
/// instantiating the one before `copies` times; the top instantiates the last.
fn nested_instantiations(levels: usize, copies: usize) -> Vec<u8> {
    let mut wat = String::from(
        "(component\n (component $c0 (core module $m) (core instance (instantiate $m)))\n",
    );
    for k in 1..=levels {
        wat += &format!(
            " (component $c{k} (alias outer 1 $c{} (component $inner)) {})\n",
            k - 1,
            "(instance (instantiate $inner)) ".repeat(copies)
        );
    }
    wat += &format!(" (instance (instantiate $c{levels})))");
    wat::parse_str(&wat).unwrap()
}

#[test]
fn nested_compositions_count_every_instance() {
    let i = inspect(&nested_instantiations(3, 2)).unwrap();
    let names: Vec<&str> = components(&i).iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names.len(), 8, "{names:?}");
    assert_eq!(names[7], "component 7");
    assert!(i.edges.is_empty(), "{:#?}", i.edges);
}

#[test]
fn limits_are_diagnostics_not_panics() {
    // 2^40 instances of the innermost component.
    let d = inspect(&nested_instantiations(40, 2)).unwrap_err();
    assert_eq!(d[0].code, meld::Code::ImplementationLimit, "{d:?}");
    // Nesting deeper than inspect evaluates.
    let d = inspect(&nested_instantiations(100, 1)).unwrap_err();
    assert_eq!(d[0].code, meld::Code::ImplementationLimit, "{d:?}");
    assert!(d[0].message.contains("deep"), "{d:?}");
    // Instances of instances of …, deeper than inspect follows exports (and
    // within wasmparser 0.254's own limit: past 127 levels an assertion of
    // its validator fails).
    let mut wat = String::from(
        "(component
           (component $c
             (core module $m (func (export \"f\")))
             (core instance $i (instantiate $m))
             (func (export \"f\") (canon lift (core func $i \"f\"))))
           (instance $x (instantiate $c))
           (alias export $x \"f\" (func $f))
           (instance $i0 (export \"f\" (func $f)))\n",
    );
    for k in 1..=100 {
        wat += &format!("(instance $i{k} (export \"i\" (instance $i{})))\n", k - 1);
    }
    wat += "(export \"deep\" (instance $i100)))";
    let i = inspect(&wat::parse_str(&wat).unwrap()).unwrap();
    assert_well_formed("deep instances", &i);
    let c = node(&i, NodeKind::Component, "component 0: f");
    let deep = node(&i, NodeKind::HostExport, "deep");
    assert_eq!(i.edges, [edge(c, deep, "deep")]);
}
