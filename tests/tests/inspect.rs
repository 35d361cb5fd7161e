//! `inspect`: the world as WIT and the top-level wiring of a composition.

use meld::inspect::{NodeKind, inspect};

#[test]
fn chain_example_wiring() {
    let (_, chain) = meld_tests::examples()
        .into_iter()
        .find(|(n, _)| n == "chain")
        .unwrap();
    let i = inspect(&chain).unwrap();
    assert_eq!(i.world, meld_tests::world_wit(&chain).unwrap());
    let id = |pred: &dyn Fn(&meld::inspect::Node) -> bool| {
        i.nodes.iter().find(|n| pred(n)).map(|n| n.id).unwrap()
    };
    let middle = id(&|n| n.kind == NodeKind::Component && n.name.contains("example:chain/middle"));
    let app = id(&|n| n.kind == NodeKind::Component && n.name.contains("wasi:cli/run"));
    let run = id(&|n| n.kind == NodeKind::HostExport && n.name.starts_with("wasi:cli/run"));
    let stdout = id(&|n| n.kind == NodeKind::HostImport && n.name.starts_with("wasi:cli/stdout"));
    let has = |from, to, name: &str| {
        i.edges
            .iter()
            .any(|e| e.source == from && e.target == to && e.name.starts_with(name))
    };
    assert!(has(middle, app, "example:chain/middle"), "{:#?}", i.edges);
    assert!(has(app, run, "wasi:cli/run"), "{:#?}", i.edges);
    assert!(has(stdout, app, "wasi:cli/stdout"), "{:#?}", i.edges);
    assert!(has(stdout, middle, "wasi:cli/stdout"), "{:#?}", i.edges);
}

#[test]
fn bad_input_is_diagnosed() {
    assert_eq!(inspect(&[]).unwrap_err()[0].code, meld::Code::EmptyInput);
}
