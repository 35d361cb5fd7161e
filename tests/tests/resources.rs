//! Resources at the outer boundary: a composition that exports a resource
//! (`tests/fixtures/res-export.wat`) driven from Rust through wasmtime's
//! component API, as given, fused, and fused to a core module then wrapped
//! back (`meld_tests::core_roundtrip`): the host constructs, calls methods
//! with borrows, passes owns back in and drops them, through handles nested
//! in lists too; the destructor runs exactly once per resource.

use anyhow::{Context, Result};
use meld_tests::*;
use wasmtime::Store;
use wasmtime::component::{Component, ComponentExportIndex, Instance, Linker, ResourceAny, Val};

fn fixture() -> Vec<u8> {
    let path = repo().join("tests/fixtures/res-export.wat");
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

struct Driver {
    store: Store<()>,
    instance: Instance,
    api: ComponentExportIndex,
    lists: ComponentExportIndex,
}

impl Driver {
    fn new(bytes: &[u8]) -> Result<Self> {
        let engine = engine();
        let component = Component::new(engine, bytes)?;
        let mut store = Store::new(engine, ());
        let instance = Linker::<()>::new(engine).instantiate(&mut store, &component)?;
        let api = instance
            .get_export_index(&mut store, None, "meld:t/api")
            .context("export meld:t/api")?;
        let lists = instance
            .get_export_index(&mut store, None, "meld:t/lists")
            .context("export meld:t/lists")?;
        Ok(Driver {
            store,
            instance,
            api,
            lists,
        })
    }

    fn call(&mut self, lists: bool, name: &str, params: &[Val]) -> Result<Val> {
        let parent = if lists { self.lists } else { self.api };
        let idx = self
            .instance
            .get_export_index(&mut self.store, Some(&parent), name)
            .with_context(|| format!("export {name}"))?;
        let func = self
            .instance
            .get_func(&mut self.store, idx)
            .with_context(|| format!("func {name}"))?;
        let mut results = [Val::Bool(false)];
        func.call(&mut self.store, params, &mut results)?;
        Ok(results[0].clone())
    }

    fn resource(v: Val) -> Result<ResourceAny> {
        match v {
            Val::Resource(r) => Ok(r),
            other => anyhow::bail!("expected a resource, got {other:?}"),
        }
    }

    fn drops(&mut self) -> Result<Val> {
        self.call(false, "drops", &[])
    }
}

/// Runs the scenario; returns one line per observation.
fn transcript(bytes: &[u8]) -> Result<Vec<String>> {
    let mut d = Driver::new(bytes)?;
    let mut out = Vec::new();
    let a = Driver::resource(d.call(false, "[constructor]r", &[Val::U32(7)])?)?;
    let b = Driver::resource(d.call(false, "[constructor]r", &[Val::U32(8)])?)?;
    out.push(format!(
        "get a = {:?}",
        d.call(false, "[method]r.get", &[Val::Resource(a)])?
    ));
    out.push(format!(
        "consume b = {:?}",
        d.call(false, "consume", &[Val::Resource(b)])?
    ));
    out.push(format!("drops = {:?}", d.drops()?));
    let two = d.call(true, "make-two", &[Val::U32(3), Val::U32(4)])?;
    let Val::List(two) = two else {
        anyhow::bail!("make-two returned {two:?}")
    };
    out.push(format!("make-two: {} handles", two.len()));
    let x = Driver::resource(two[0].clone())?;
    let y = Driver::resource(two[1].clone())?;
    let borrows = Val::List(vec![Val::Resource(a), Val::Resource(x), Val::Resource(y)]);
    out.push(format!(
        "sum [a, x, y] = {:?}",
        d.call(true, "sum", &[borrows])?
    ));
    x.resource_drop(&mut d.store)?;
    out.push(format!("drop x; drops = {:?}", d.drops()?));
    out.push(format!(
        "consume y = {:?}",
        d.call(false, "consume", &[Val::Resource(y)])?
    ));
    out.push(format!("drops = {:?}", d.drops()?));
    out.push(format!(
        "sum [] = {:?}",
        d.call(true, "sum", &[Val::List(vec![])])?
    ));
    a.resource_drop(&mut d.store)?;
    out.push(format!("drop a; drops = {:?}", d.drops()?));
    Ok(out)
}

#[test]
fn exported_resource_lives_and_dies_as_unfused() {
    let input = fixture();
    let fused = meld::fuse(&input).unwrap_or_else(|d| panic!("fusing failed: {d:?}"));
    assert_eq!(world_wit(&input).unwrap(), world_wit(&fused).unwrap());
    let before = transcript(&input).expect("input runs");
    let after = transcript(&fused).expect("fused runs");
    let via_core = transcript(&core_roundtrip("res-export.wat", &input)).expect("core runs");
    let expected = [
        "get a = U32(7)",
        "consume b = U32(8)",
        "drops = U32(1)",
        "make-two: 2 handles",
        "sum [a, x, y] = U32(14)",
        "drop x; drops = U32(2)",
        "consume y = U32(4)",
        "drops = U32(3)",
        "sum [] = U32(0)",
        "drop a; drops = U32(4)",
    ];
    assert_eq!(before, expected, "the input itself");
    assert_eq!(after, before, "fused differs from the input");
    assert_eq!(via_core, before, "the core output differs from the input");
}

/// `tests/fixtures/stream-handoff.wasm`: one component obtains the host's
/// stdout and hands it to another, as a borrow and as an own (which the
/// other drops); the host stream crosses two inner tables and the outer
/// boundary both ways.
#[test]
fn host_stream_handed_between_components() {
    let path = repo().join("tests/fixtures/stream-handoff.wasm");
    let input = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fused = meld::fuse(&input).unwrap_or_else(|d| panic!("fusing failed: {d:?}"));
    assert_eq!(world_wit(&input).unwrap(), world_wit(&fused).unwrap());
    let before = run_command(&input).unwrap();
    let after = run_command(&fused).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&before.stdout),
        "1: written by writer-lib through a borrowed stdout\n\
         2: written by writer-lib, which then drops stdout\n\
         3: a fresh stdout handle, borrowed again\n",
        "the input itself"
    );
    assert_eq!(before.result, Some(Ok(())));
    assert_eq!(before, after, "fused differs from the input");
}

/// The Rust-guest compositions with resources (`examples/resources.wasm`,
/// `examples/reexport.wasm`; `tests/examples.rs` compares their whole runs):
/// here, that what they print shows the resource traffic the comparison
/// relies on — handle numbers and destructor counts — so that an equal
/// output cannot come from a run that did nothing.
#[test]
fn resource_examples_print_handles_and_destructor_counts() {
    for (name, marks) in [
        (
            "resources",
            &[
                "merge(a, b): handle 5 name \"a+b\" value 21",
                "c (reuses a freed handle): handle 5",
                "[end] dtors 14 live 0",
            ][..],
        ),
        (
            "reexport",
            &[
                "add(w, 2.25): handle 1 get 3.75",
                "counter: handle 7 bump 301 bump 302",
                "[end] leaf float dtors 8, mid wfloat dtors 5, counter dtors 1",
            ][..],
        ),
    ] {
        let (_, input) = examples().into_iter().find(|(n, _)| n == name).unwrap();
        let fused = meld::fuse(&input).unwrap_or_else(|d| panic!("{name}: {d:?}"));
        let before = run_command(&input).unwrap();
        let after = run_command(&fused).unwrap();
        let text = String::from_utf8_lossy(&before.stdout);
        for mark in marks {
            assert!(text.contains(mark), "{name}: missing {mark:?} in:\n{text}");
        }
        assert_eq!(before, after, "{name}: fused differs");
    }
}

/// A host resource for `tests/fixtures/host-resource.wat`.
struct HostRes;

/// What the host saw: resources it made, destructor calls with their reps.
#[derive(Default)]
struct HostLog {
    made: u32,
    dropped: Vec<u32>,
}

/// Runs `tests/fixtures/host-resource.wat` with a host that provides
/// `meld:h/host`; returns one line per observation.
fn host_resource_transcript(bytes: &[u8]) -> Result<Vec<String>> {
    use wasmtime::component::{Resource, ResourceType};
    let engine = engine();
    let component = Component::new(engine, bytes)?;
    let mut linker = Linker::<HostLog>::new(engine);
    let mut host = linker.root();
    let mut host = host.instance("meld:h/host")?;
    host.resource("res", ResourceType::host::<HostRes>(), |mut cx, rep| {
        cx.data_mut().dropped.push(rep);
        Ok(())
    })?;
    host.func_wrap("make", |mut cx, (v,): (u32,)| {
        cx.data_mut().made += 1;
        Ok((Resource::<HostRes>::new_own(v),))
    })?;
    host.func_wrap("value", |_cx, (r,): (Resource<HostRes>,)| {
        Ok((r.rep() * 10,))
    })?;
    let mut store = Store::new(engine, HostLog::default());
    let instance = linker.instantiate(&mut store, &component)?;
    let api = instance
        .get_export_index(&mut store, None, "meld:h/api")
        .context("export meld:h/api")?;
    let func = |store: &mut Store<HostLog>, name: &str| {
        let idx = instance
            .get_export_index(&mut *store, Some(&api), name)
            .with_context(|| format!("export {name}"))?;
        instance
            .get_func(&mut *store, idx)
            .with_context(|| format!("func {name}"))
    };
    let mut out = Vec::new();
    let call = |store: &mut Store<HostLog>, name: &str, arg: Val| -> Result<Val> {
        let f = func(store, name)?;
        let mut results = [Val::Bool(false)];
        f.call(&mut *store, &[arg], &mut results)?;
        Ok(results[0].clone())
    };
    // A host-made resource lent to the export (borrow), then moved in (own).
    let own = Resource::<HostRes>::new_own(7);
    let any = ResourceAny::try_from_resource(own, &mut store)?;
    out.push(format!(
        "peek(7) = {:?}",
        call(&mut store, "peek", Val::Resource(any))?
    ));
    out.push(format!(
        "peek again = {:?}",
        call(&mut store, "peek", Val::Resource(any))?
    ));
    out.push(format!(
        "take(7) = {:?}",
        call(&mut store, "take", Val::Resource(any))?
    ));
    out.push(format!("dropped {:?}", store.data().dropped));
    // A resource made by the host at the guest's request, handed out.
    let given = call(&mut store, "give", Val::U32(3))?;
    let Val::Resource(given) = given else {
        anyhow::bail!("give returned {given:?}")
    };
    out.push(format!("made {}", store.data().made));
    out.push(format!(
        "peek(given) = {:?}",
        call(&mut store, "peek", Val::Resource(given))?
    ));
    given.resource_drop(&mut store)?;
    out.push(format!("dropped {:?}", store.data().dropped));
    Ok(out)
}

#[test]
fn host_resources_cross_the_outer_boundary_both_ways() {
    let path = repo().join("tests/fixtures/host-resource.wat");
    let input = wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fused = meld::fuse(&input).unwrap_or_else(|d| panic!("fusing failed: {d:?}"));
    let before = host_resource_transcript(&input).expect("input runs");
    let after = host_resource_transcript(&fused).expect("fused runs");
    let via_core =
        host_resource_transcript(&core_roundtrip("host-resource.wat", &input)).expect("core runs");
    let expected = [
        "peek(7) = U32(70)",
        "peek again = U32(70)",
        "take(7) = U32(70)",
        "dropped [7]",
        "made 1",
        "peek(given) = U32(30)",
        "dropped [7, 3]",
    ];
    assert_eq!(before, expected, "the input itself");
    assert_eq!(after, before, "fused differs from the input");
    assert_eq!(via_core, before, "the core output differs from the input");
}

/// Calls `iface#name` of `instance` with `params`; returns its one result
/// (or `Bool(false)` when it has none).
fn call_export<T>(
    store: &mut Store<T>,
    instance: &Instance,
    iface: &str,
    name: &str,
    params: &[Val],
) -> Result<Val> {
    let parent = instance
        .get_export_index(&mut *store, None, iface)
        .with_context(|| format!("export {iface}"))?;
    let idx = instance
        .get_export_index(&mut *store, Some(&parent), name)
        .with_context(|| format!("export {iface}#{name}"))?;
    let func = instance
        .get_func(&mut *store, idx)
        .with_context(|| format!("func {name}"))?;
    let mut results = vec![Val::Bool(false); func.ty(&*store).results().len()];
    func.call(&mut *store, params, &mut results)?;
    Ok(results.into_iter().next().unwrap_or(Val::Bool(false)))
}

/// Drives `examples/res-export.wasm` (res-mid + res-leaf, Rust guests): the
/// outer world exports `wrapped` with two resources (the intermediate's
/// `wfloat`, the leaf's `float`) and `counters` (the intermediate's counter
/// wrapping the leaf's).
fn res_export_transcript(bytes: &[u8]) -> Result<Vec<String>> {
    let (mut store, instance) = instantiate_with_wasi(bytes)?;
    let s = &mut store;
    let w = "meld:reexport/wrapped";
    let c = "meld:reexport/counters";
    let res = |v: Val| Driver::resource(v);
    let mut out = Vec::new();
    let call =
        |s: &mut Store<Host>, i: &str, n: &str, p: &[Val]| call_export(s, &instance, i, n, p);
    let w1 = res(call(s, w, "[constructor]wfloat", &[Val::Float64(2.0)])?)?;
    out.push(format!(
        "get = {:?}",
        call(s, w, "[method]wfloat.get", &[Val::Resource(w1)])?
    ));
    let w2 = res(call(
        s,
        w,
        "[static]wfloat.add",
        &[Val::Resource(w1), Val::Float64(1.0)],
    )?)?;
    out.push(format!(
        "add(w, 1) get = {:?}",
        call(s, w, "[method]wfloat.get", &[Val::Resource(w2)])?
    ));
    out.push(format!(
        "dtors after add = {:?}",
        call(s, w, "dtor-count", &[])?
    ));
    let Val::List(parts) = call(
        s,
        w,
        "[method]wfloat.split",
        &[Val::Resource(w2), Val::U32(2)],
    )?
    else {
        anyhow::bail!("split did not return a list")
    };
    let (p0, p1) = (res(parts[0].clone())?, res(parts[1].clone())?);
    let all = Val::List(vec![
        Val::Resource(w2),
        Val::Resource(p0),
        Val::Resource(p1),
    ]);
    out.push(format!(
        "total = {:?}",
        call(s, w, "[static]wfloat.total", &[all])?
    ));
    let f = res(call(
        s,
        w,
        "[static]wfloat.into-leaf",
        &[Val::Resource(p0)],
    )?)?;
    let sum = res(call(
        s,
        w,
        "sum-leaf",
        &[Val::Resource(f), Val::Resource(f)],
    )?)?;
    out.push(format!(
        "dtors after into-leaf = {:?}",
        call(s, w, "dtor-count", &[])?
    ));
    p1.resource_drop(&mut *s)?;
    out.push(format!(
        "dtors after dropping a part = {:?}",
        call(s, w, "dtor-count", &[])?
    ));
    let k = res(call(s, c, "[constructor]counter", &[Val::U32(4)])?)?;
    out.push(format!(
        "bump = {:?}",
        call(s, c, "[method]counter.bump", &[Val::Resource(k)])?
    ));
    out.push(format!(
        "read = {:?}",
        call(s, c, "read", &[Val::Resource(k)])?
    ));
    k.resource_drop(&mut *s)?;
    out.push(format!(
        "counter dtors = {:?}",
        call(s, c, "dtor-count", &[])?
    ));
    for r in [w2, f, sum] {
        r.resource_drop(&mut *s)?;
    }
    out.push(format!(
        "dtors at the end = {:?}",
        call(s, w, "dtor-count", &[])?
    ));
    Ok(out)
}

#[test]
fn rust_composition_exporting_resources_runs_as_unfused() {
    let path = repo().join("examples/res-export.wasm");
    let input = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fused = meld::fuse(&input).unwrap_or_else(|d| panic!("fusing failed: {d:?}"));
    assert_eq!(world_wit(&input).unwrap(), world_wit(&fused).unwrap());
    let before = res_export_transcript(&input).expect("input runs");
    let after = res_export_transcript(&fused).expect("fused runs");
    let via_core =
        res_export_transcript(&core_roundtrip("res-export.wasm", &input)).expect("core runs");
    let expected = [
        "get = Float64(2.0)",
        "add(w, 1) get = Float64(3.0)",
        "dtors after add = U32(1)",
        "total = Float64(9.0)",
        "dtors after into-leaf = U32(2)",
        "dtors after dropping a part = U32(3)",
        "bump = U32(401)",
        "read = U32(401)",
        "counter dtors = U32(1)",
        "dtors at the end = U32(4)",
    ];
    assert_eq!(before, expected, "the input itself");
    assert_eq!(after, before, "fused differs from the input");
    assert_eq!(via_core, before, "the core output differs from the input");
}

/// Runs `tests/fixtures/scratch-floor.wat` with a host that provides
/// `meld:h/host`: `named(v)` for a few `v`, each result as (the host rep of
/// the handle, the string).
fn scratch_floor_transcript(bytes: &[u8]) -> Result<Vec<String>> {
    use wasmtime::component::{Resource, ResourceType};
    let engine = engine();
    let component = Component::new(engine, bytes)?;
    let mut linker = Linker::<HostLog>::new(engine);
    let mut host = linker.root();
    let mut host = host.instance("meld:h/host")?;
    host.resource("res", ResourceType::host::<HostRes>(), |mut cx, rep| {
        cx.data_mut().dropped.push(rep);
        Ok(())
    })?;
    host.func_wrap("make", |mut cx, (v,): (u32,)| {
        cx.data_mut().made += 1;
        Ok((Resource::<HostRes>::new_own(v),))
    })?;
    let mut store = Store::new(engine, HostLog::default());
    let instance = linker.instantiate(&mut store, &component)?;
    let api = instance
        .get_export_index(&mut store, None, "meld:h/api")
        .context("export meld:h/api")?;
    let idx = instance
        .get_export_index(&mut store, Some(&api), "named")
        .context("export named")?;
    let named = instance.get_func(&mut store, idx).context("func named")?;
    let mut out = Vec::new();
    for v in [5, 7, 12] {
        let mut results = [Val::Bool(false)];
        named.call(&mut store, &[Val::U32(v)], &mut results)?;
        let Val::Tuple(items) = &results[0] else {
            anyhow::bail!("named returned {:?}", results[0]);
        };
        let [Val::Resource(r), Val::String(s)] = &items[..] else {
            anyhow::bail!("named returned {items:?}");
        };
        let r = Resource::<HostRes>::try_from_resource_any(*r, &mut store)?;
        out.push(format!("named({v}) = ({}, {s:?})", r.rep()));
    }
    out.push(format!("made {}", store.data().made));
    Ok(out)
}

/// Regression: an outer import's post-return freed the whole scratch
/// memory, so the return area of the outer export calling it was reused for
/// the export's string, and the result came back corrupted.
#[test]
fn export_return_area_survives_the_imports_it_calls() {
    let path = repo().join("tests/fixtures/scratch-floor.wat");
    let input = wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fused = meld::fuse(&input).unwrap_or_else(|d| panic!("fusing failed: {d:?}"));
    let before = scratch_floor_transcript(&input).expect("input runs");
    let after = scratch_floor_transcript(&fused).expect("fused runs");
    let via_core =
        scratch_floor_transcript(&core_roundtrip("scratch-floor.wat", &input)).expect("core runs");
    let expected = [
        "named(5) = (5, \"made 5\")",
        "named(7) = (7, \"made 7\")",
        "named(12) = (12, \"made 2\")",
        "made 3",
    ];
    assert_eq!(before, expected, "the input itself");
    assert_eq!(after, before, "fused differs from the input");
    assert_eq!(via_core, before, "the core output differs from the input");
}
