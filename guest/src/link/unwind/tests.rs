//! The unwind pass, run: `tests.wat` as written (the blocker answers at
//! once) against the instrumented module (every blocker call unwinds to the
//! root, which is called again to rewind), under wasmtime; results and the
//! log of side effects must agree.

use super::{Error, Spec, instrument};
use std::ops::Range;
use wasmtime::{Caller, Engine, Extern, Func, Instance, Module, Store, Val};

/// The test host's state.
#[derive(Default)]
struct Host {
    /// Every blocker call unwinds first.
    unwind: bool,
    /// What the module did: `log` values, and `BLOCKED - x` for each
    /// blocker call.
    log: Vec<i64>,
    /// Unwinds so far.
    unwinds: u32,
}

/// Log entries of blocker calls are at most this.
const BLOCKED: i64 = -1_000_000;

// Test-only: the panics below are assertions on the test module, which
// exports `state`.
fn state(caller: &mut Caller<'_, Host>) -> i32 {
    match caller.get_export("state") {
        Some(Extern::Global(g)) => g.get(&mut *caller).unwrap_i32(),
        _ => panic!("the test module exports `state`"),
    }
}

fn set_state(caller: &mut Caller<'_, Host>, value: i32) {
    match caller.get_export("state") {
        Some(Extern::Global(g)) => g.set(&mut *caller, Val::I32(value)).unwrap(),
        _ => panic!("the test module exports `state`"),
    }
}

/// A blocker: unwinds on its first call when the host says so, answers
/// `real` otherwise (and when called again by the rewind).
fn blocker(caller: &mut Caller<'_, Host>, x: i32, real: i32) -> i32 {
    match state(caller) {
        2 => {
            set_state(caller, 0);
            real
        }
        0 => {
            caller.data_mut().log.push(BLOCKED - i64::from(x));
            if caller.data().unwind {
                caller.data_mut().unwinds += 1;
                set_state(caller, 1);
                0
            } else {
                real
            }
        }
        s => panic!("blocker called in state {s}"),
    }
}

fn instantiate(engine: &Engine, bytes: &[u8], unwind: bool) -> (Store<Host>, Instance) {
    let module = Module::new(engine, bytes).unwrap();
    let mut store = Store::new(
        engine,
        Host {
            unwind,
            ..Host::default()
        },
    );
    let block = Func::wrap(&mut store, |mut c: Caller<'_, Host>, x: i32| {
        blocker(&mut c, x, x.wrapping_mul(10) + 1)
    });
    let block_ref = Func::wrap(
        &mut store,
        |mut c: Caller<'_, Host>, r: Option<Func>, x: i32| {
            assert!(r.is_none(), "the constant reference is kept");
            blocker(&mut c, x, x.wrapping_mul(3) + 2)
        },
    );
    let log = Func::wrap(&mut store, |mut c: Caller<'_, Host>, v: i64| {
        c.data_mut().log.push(v)
    });
    let instance = Instance::new(
        &mut store,
        &module,
        &[block.into(), block_ref.into(), log.into()],
    )
    .unwrap();
    // The buffer descriptor at 0 of `buffers`: records from 16 to 4096.
    let buffers = instance.get_memory(&mut store, "buffers").unwrap();
    buffers.write(&mut store, 0, &16u32.to_le_bytes()).unwrap();
    buffers
        .write(&mut store, 4, &4096u32.to_le_bytes())
        .unwrap();
    (store, instance)
}

/// Calls export `name` with `arg` until it returns without unwinding; its
/// result or trap.
fn run(store: &mut Store<Host>, instance: &Instance, name: &str, arg: i32) -> Result<i32, String> {
    let f = instance
        .get_typed_func::<i32, i32>(&mut *store, name)
        .unwrap();
    let state = instance.get_global(&mut *store, "state").unwrap();
    let buffers = instance.get_memory(&mut *store, "buffers").unwrap();
    loop {
        let r = match f.call(&mut *store, arg) {
            Ok(r) => r,
            Err(e) => return Err(format!("{:?}", e.downcast_ref::<wasmtime::Trap>())),
        };
        match state.get(&mut *store).unwrap_i32() {
            0 => {
                let mut cur = [0u8; 4];
                buffers.read(&*store, 0, &mut cur).unwrap();
                assert_eq!(u32::from_le_bytes(cur), 16, "every record was popped");
                return Ok(r);
            }
            1 => state.set(&mut *store, Val::I32(2)).unwrap(),
            s => panic!("returned in state {s}"),
        }
    }
}

fn module() -> Vec<u8> {
    wat::parse_str(include_str!("tests.wat")).unwrap()
}

fn export_index(bytes: &[u8], kind: wasmparser::ExternalKind, name: &str) -> u32 {
    for p in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::ExportSection(s) = p.unwrap() {
            for e in s {
                let e = e.unwrap();
                if e.name == name && e.kind == kind {
                    return e.index;
                }
            }
        }
    }
    panic!("no export {name}")
}

const ROOTS: [&str; 6] = [
    "operands",
    "loop",
    "branches",
    "indirect",
    "nested",
    "untouched",
];

fn spec(bytes: &[u8]) -> Spec {
    use wasmparser::ExternalKind as K;
    Spec {
        roots: ROOTS
            .iter()
            .map(|n| export_index(bytes, K::Func, n))
            .collect(),
        blockers: vec![0, 1],
        opaque: vec![Range { start: 0, end: 3 }],
        memory: export_index(bytes, K::Memory, "buffers"),
        state: export_index(bytes, K::Global, "state"),
        data: export_index(bytes, K::Global, "data"),
        enabled: None,
        host_tables: Vec::new(),
    }
}

#[test]
fn unwound_and_rewound_calls_give_what_direct_calls_give() {
    let original = module();
    let (instrumented, report) = instrument(&original, &spec(&original)).unwrap().unwrap();
    if std::env::var_os("MELD_DUMP").is_some() {
        eprintln!("{}", wasmprinter::print_bytes(&instrumented).unwrap());
    }
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&instrumented)
        .unwrap();
    // leaf, double, and the five roots that reach the blocker.
    assert_eq!(report.functions, vec![3, 4, 6, 7, 8, 9, 10]);
    let engine = Engine::default();
    for name in ROOTS {
        for arg in [0, 1, 3, 5, 11, 2, 12] {
            let (mut s0, i0) = instantiate(&engine, &original, false);
            let expected = run(&mut s0, &i0, name, arg);
            for unwind in [false, true] {
                let (mut s1, i1) = instantiate(&engine, &instrumented, unwind);
                let got = run(&mut s1, &i1, name, arg);
                assert_eq!(got, expected, "{name}({arg}), unwinding: {unwind}");
                assert_eq!(
                    s1.data().log,
                    s0.data().log,
                    "{name}({arg}) log, unwinding: {unwind}"
                );
                let blocked = s0.data().log.iter().filter(|v| **v <= BLOCKED).count() as u32;
                let unwinds = s1.data().unwinds;
                assert_eq!(unwinds, if unwind { blocked } else { 0 }, "{name}({arg})");
            }
        }
    }
}

#[test]
fn a_root_that_reaches_no_blocker_is_left_alone() {
    let original = module();
    let mut spec = spec(&original);
    spec.roots = vec![export_index(
        &original,
        wasmparser::ExternalKind::Func,
        "untouched",
    )];
    assert_eq!(instrument(&original, &spec).unwrap(), None);
}

#[test]
fn a_reference_kept_across_a_call_is_refused() {
    let wat = r#"(module
      (import "host" "block" (func $block (param i32) (result i32)))
      (memory 1)
      (global $state (mut i32) (i32.const 0))
      (global $data (mut i32) (i32.const 0))
      (func (export "f") (param funcref) (result i32)
        (drop (call $block (i32.const 1)))
        (ref.is_null (local.get 0))))"#;
    let bytes = wat::parse_str(wat).unwrap();
    let spec = Spec {
        roots: vec![1],
        blockers: vec![0],
        opaque: vec![Range { start: 0, end: 1 }],
        memory: 0,
        state: 0,
        data: 1,
        enabled: None,
        host_tables: Vec::new(),
    };
    assert!(matches!(
        instrument(&bytes, &spec),
        Err(Error::Unsupported { function: 1, .. })
    ));
}
