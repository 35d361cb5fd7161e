//! Random resource lifecycles between two components: a definer and a
//! client, written as WAT, with the transcript a correct run gives.
//!
//! The definer `D` defines resource types `r0` (and `r1`) with `(rep i32)`
//! and a destructor that reports `dropped(k, rep)` to the host, and exports
//! for each type `K`:
//!
//! - `newK: func(rep: u32) -> own<rK>` (`resource.new`);
//! - `getK: func(h: borrow<rK>) -> u32`, the rep (a borrow lent to the
//!   resource's definer arrives as its rep);
//! - `takeK: func(h: own<rK>) -> u32`, the rep, then `resource.drop` (the
//!   destructor runs);
//! - `take-listK: func(hs: list<own<rK>>) -> u32`, the same for each
//!   handle in order, returning a checksum of the reps.
//!
//! The client `C` imports them and exports `run: func()`, a straight-line
//! program of [`Op`]s over eight handle slots; it reports each rep it gets
//! back and each handle it is given to the host (`saw(0, rep)`,
//! `saw(1, handle)`). A run's transcript is those reports and the
//! destructor calls, in order. Reps and destructor calls are known in
//! advance ([`Program::expected`]); handle values depend on the handle
//! table's allocation (CanonicalABI.md, `Table.add`), so they are compared
//! only between the input and its fused form. A program may end with a
//! misuse that traps (a handle that never was, a handle of the other
//! type), which must trap at the same place in both forms.

use crate::compose::LIBC;
use arbitrary::{Result, Unstructured};
use std::fmt::Write as _;

/// How many handle slots the client's program has.
const SLOTS: usize = 8;

/// One step of the client's program.
#[derive(Clone, Debug)]
pub enum Op {
    /// `slot = newK(rep)`; reports the handle.
    New {
        /// The slot, empty before.
        slot: usize,
        /// The resource type.
        k: u32,
        /// The rep.
        rep: u32,
    },
    /// `getK(borrow slot)`; reports the rep.
    Get {
        /// The slot, holding a handle of `rK`.
        slot: usize,
        /// Its resource type.
        k: u32,
    },
    /// `takeK(slot)`: the handle moves to the definer, which drops it;
    /// reports the rep.
    Take {
        /// The slot, holding a handle of `rK`; empty after.
        slot: usize,
        /// Its resource type.
        k: u32,
    },
    /// `take-listK([slots…])`; reports the checksum.
    TakeList {
        /// The slots, each holding a handle of `rK`; empty after.
        slots: Vec<usize>,
        /// Their resource type.
        k: u32,
    },
    /// `resource.drop` of the slot's handle by the client.
    Drop {
        /// The slot, holding a handle of `rK`; empty after.
        slot: usize,
        /// Its resource type.
        k: u32,
    },
    /// A misuse that traps: `resource.drop` of handle 1000, which no table
    /// holds, or of a live handle as the other resource type.
    Misuse {
        /// `Some((slot, k))`: the slot's handle, of `rK`, dropped as the
        /// other type; `None`: handle 1000 dropped as `r0`.
        handle: Option<(usize, u32)>,
    },
}

/// A generated lifecycle: the resource types and the client's program.
#[derive(Clone, Debug)]
pub struct Program {
    /// How many resource types the definer defines (1 or 2).
    pub resources: u32,
    /// The client's program.
    pub ops: Vec<Op>,
}

/// One report of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The client got a rep (or a checksum of reps) back.
    Rep(u32),
    /// The client was given a handle (`None` in expectations: any value).
    Handle(Option<u32>),
    /// The destructor of `rK` ran for a rep.
    Dropped(u32, u32),
}

impl Program {
    /// A random program.
    pub fn generate(u: &mut Unstructured<'_>) -> Result<Program> {
        let resources = u.int_in_range(1..=2)?;
        let mut slots: [Option<(u32, u32)>; SLOTS] = [None; SLOTS];
        let mut ops = Vec::new();
        for _ in 0..u.int_in_range(1..=24)? {
            let live: Vec<usize> = (0..SLOTS).filter(|s| slots[*s].is_some()).collect();
            let empty: Vec<usize> = (0..SLOTS).filter(|s| slots[*s].is_none()).collect();
            let op = match u.int_in_range(0..=9)? {
                0..=3 if !empty.is_empty() => {
                    let slot = *u.choose(&empty)?;
                    let (k, rep) = (u.int_in_range(0..=resources - 1)?, u.arbitrary()?);
                    slots[slot] = Some((k, rep));
                    Op::New { slot, k, rep }
                }
                4 | 5 if !live.is_empty() => {
                    let slot = *u.choose(&live)?;
                    Op::Get {
                        slot,
                        k: slots[slot].map_or(0, |s| s.0),
                    }
                }
                6 if !live.is_empty() => {
                    let slot = *u.choose(&live)?;
                    let k = slots[slot].take().map_or(0, |s| s.0);
                    Op::Take { slot, k }
                }
                7 if !live.is_empty() => {
                    let slot = *u.choose(&live)?;
                    let k = slots[slot].take().map_or(0, |s| s.0);
                    Op::Drop { slot, k }
                }
                8 if !live.is_empty() => {
                    let k = slots[*u.choose(&live)?].map_or(0, |s| s.0);
                    let mut chosen = Vec::new();
                    for s in live {
                        if slots[s].is_some_and(|(sk, _)| sk == k) && u.arbitrary()? {
                            slots[s] = None;
                            chosen.push(s);
                        }
                    }
                    Op::TakeList { slots: chosen, k }
                }
                9 if u.ratio(1, 4)? => {
                    let handle = if resources == 2 && !live.is_empty() {
                        let slot = *u.choose(&live)?;
                        Some((slot, slots[slot].map_or(0, |s| s.0)))
                    } else {
                        None
                    };
                    ops.push(Op::Misuse { handle });
                    break;
                }
                _ => continue,
            };
            ops.push(op);
        }
        Ok(Program { resources, ops })
    }

    /// The transcript a correct run gives, and whether it ends in a trap.
    pub fn expected(&self) -> (Vec<Event>, bool) {
        let mut slots: [Option<(u32, u32)>; SLOTS] = [None; SLOTS];
        let mut out = Vec::new();
        for op in &self.ops {
            match op {
                Op::New { slot, k, rep } => {
                    slots[*slot] = Some((*k, *rep));
                    out.push(Event::Handle(None));
                }
                Op::Get { slot, .. } => out.push(Event::Rep(slots[*slot].map_or(0, |s| s.1))),
                Op::Take { slot, k } => {
                    let rep = slots[*slot].take().map_or(0, |s| s.1);
                    out.push(Event::Dropped(*k, rep));
                    out.push(Event::Rep(rep));
                }
                Op::Drop { slot, k } => {
                    let rep = slots[*slot].take().map_or(0, |s| s.1);
                    out.push(Event::Dropped(*k, rep));
                }
                Op::TakeList { slots: chosen, k } => {
                    let mut sum = 0u32;
                    for s in chosen {
                        let rep = slots[*s].take().map_or(0, |s| s.1);
                        out.push(Event::Dropped(*k, rep));
                        sum = sum.wrapping_mul(31).wrapping_add(rep);
                    }
                    out.push(Event::Rep(sum));
                }
                Op::Misuse { .. } => return (out, true),
            }
        }
        (out, false)
    }

    /// The composition as a component, in WAT: imports `dropped` and
    /// `saw`, exports `run`.
    pub fn wat(&self) -> String {
        let ks = 0..self.resources;
        let mut w = String::from(
            "(component\n  (import \"dropped\" (func $dropped (param \"k\" u32) (param \"rep\" u32)))\n  \
             (import \"saw\" (func $saw (param \"what\" u32) (param \"v\" u32)))\n",
        );
        self.definer(&mut w);
        self.client(&mut w);
        w.push_str("  (instance $d (instantiate $D (with \"dropped\" (func $dropped))))\n");
        w.push_str("  (instance $c (instantiate $C (with \"saw\" (func $saw))");
        for k in ks {
            let _ = write!(w, " (with \"r{k}\" (type $d \"r{k}\"))");
            for f in ["new", "get", "take", "take-list"] {
                let _ = write!(w, " (with \"{f}{k}\" (func $d \"{f}{k}\"))");
            }
        }
        w.push_str("))\n  (export \"run\" (func $c \"run\"))\n)\n");
        w
    }

    /// The function types of the definer's exports for `rK`, over the
    /// resource type named `r`.
    fn func_types(k: u32, r: &str) -> [(String, String); 4] {
        [
            (
                format!("new{k}"),
                format!("(param \"rep\" u32) (result (own {r}))"),
            ),
            (
                format!("get{k}"),
                format!("(param \"h\" (borrow {r})) (result u32)"),
            ),
            (
                format!("take{k}"),
                format!("(param \"h\" (own {r})) (result u32)"),
            ),
            (
                format!("take-list{k}"),
                format!("(param \"hs\" (list (own {r}))) (result u32)"),
            ),
        ]
    }

    fn definer(&self, w: &mut String) {
        w.push_str("  (component $D\n    (import \"dropped\" (func $dropped (param \"k\" u32) (param \"rep\" u32)))\n");
        w.push_str(LIBC);
        w.push_str(
            "  (core func $low-dropped (canon lower (func $dropped)))\n  (core module $dt\n    \
             (import \"host\" \"dropped\" (func $dropped (param i32 i32)))\n",
        );
        for k in 0..self.resources {
            let _ = writeln!(
                w,
                "    (func (export \"dtor{k}\") (param i32) (call $dropped (i32.const {k}) (local.get 0)))"
            );
        }
        w.push_str("  )\n  (core instance $dt (instantiate $dt (with \"host\" (instance (export \"dropped\" (func $low-dropped))))))\n");
        for k in 0..self.resources {
            let _ = writeln!(
                w,
                "  (type $r{k} (resource (rep i32) (dtor (core func $dt \"dtor{k}\"))))\n  \
                 (core func $new{k} (canon resource.new $r{k}))\n  \
                 (core func $rep{k} (canon resource.rep $r{k}))\n  \
                 (core func $drop{k} (canon resource.drop $r{k}))"
            );
        }
        w.push_str("  (core module $ops\n    (import \"libc\" \"mem\" (memory 1))\n");
        for k in 0..self.resources {
            let _ = writeln!(
                w,
                "    (import \"r\" \"new{k}\" (func $new{k} (param i32) (result i32)))\n    \
                 (import \"r\" \"rep{k}\" (func $rep{k} (param i32) (result i32)))\n    \
                 (import \"r\" \"drop{k}\" (func $drop{k} (param i32)))"
            );
        }
        for k in 0..self.resources {
            let _ = writeln!(
                w,
                "    (func (export \"new{k}\") (param i32) (result i32) (call $new{k} (local.get 0)))\n    \
                 (func (export \"get{k}\") (param i32) (result i32) (local.get 0))\n    \
                 (func (export \"take{k}\") (param i32) (result i32) (local $r i32)\n      \
                   (local.set $r (call $rep{k} (local.get 0))) (call $drop{k} (local.get 0)) (local.get $r))\n    \
                 (func (export \"take-list{k}\") (param $p i32) (param $n i32) (result i32) (local $sum i32) (local $h i32)\n      \
                   (block (loop (br_if 1 (i32.eqz (local.get $n)))\n        \
                     (local.set $h (i32.load (local.get $p)))\n        \
                     (local.set $sum (i32.add (i32.mul (local.get $sum) (i32.const 31)) (call $rep{k} (local.get $h))))\n        \
                     (call $drop{k} (local.get $h))\n        \
                     (local.set $p (i32.add (local.get $p) (i32.const 4)))\n        \
                     (local.set $n (i32.sub (local.get $n) (i32.const 1)))\n        \
                     (br 0)))\n      \
                   (local.get $sum))"
            );
        }
        w.push_str("  )\n  (core instance $ops (instantiate $ops (with \"libc\" (instance $libc)) (with \"r\" (instance");
        for k in 0..self.resources {
            for f in ["new", "rep", "drop"] {
                let _ = write!(w, " (export \"{f}{k}\" (func ${f}{k}))");
            }
        }
        w.push_str("))))\n");
        for k in 0..self.resources {
            let _ = writeln!(w, "  (export $e{k} \"r{k}\" (type $r{k}))");
            let inner = Self::func_types(k, &format!("$r{k}"));
            let outer = Self::func_types(k, &format!("$e{k}"));
            for ((name, ty), (_, ety)) in inner.iter().zip(&outer) {
                let _ = writeln!(
                    w,
                    "  (func $lift-{name} {ty} (canon lift (core func $ops \"{name}\") (memory (core memory $libc \"mem\")) (realloc (core func $libc \"realloc\"))))\n  \
                     (export \"{name}\" (func $lift-{name}) (func {ety}))"
                );
            }
        }
        w.push_str("  )\n");
    }

    fn client(&self, w: &mut String) {
        w.push_str("  (component $C\n    (import \"saw\" (func $saw (param \"what\" u32) (param \"v\" u32)))\n");
        for k in 0..self.resources {
            let _ = writeln!(w, "  (import \"r{k}\" (type $r{k} (sub resource)))");
            for (name, ty) in Self::func_types(k, &format!("$r{k}")) {
                let _ = writeln!(w, "  (import \"{name}\" (func ${name} {ty}))");
            }
        }
        w.push_str(LIBC);
        w.push_str("  (core func $low-saw (canon lower (func $saw)))\n");
        let opts = "(memory (core memory $libc \"mem\")) (realloc (core func $libc \"realloc\"))";
        for k in 0..self.resources {
            for (name, _) in Self::func_types(k, "") {
                let _ = writeln!(
                    w,
                    "  (core func $low-{name} (canon lower (func ${name}) {opts}))"
                );
            }
            let _ = writeln!(w, "  (core func $drop{k} (canon resource.drop $r{k}))");
        }
        w.push_str(
            "  (core module $prog\n    \
             (import \"libc\" \"realloc\" (func $realloc (param i32 i32 i32 i32) (result i32)))\n    \
             (import \"libc\" \"mem\" (memory 1))\n    \
             (import \"c\" \"saw\" (func $saw (param i32 i32)))\n",
        );
        for k in 0..self.resources {
            let _ = writeln!(
                w,
                "    (import \"c\" \"new{k}\" (func $new{k} (param i32) (result i32)))\n    \
                 (import \"c\" \"get{k}\" (func $get{k} (param i32) (result i32)))\n    \
                 (import \"c\" \"take{k}\" (func $take{k} (param i32) (result i32)))\n    \
                 (import \"c\" \"take-list{k}\" (func $take-list{k} (param i32 i32) (result i32)))\n    \
                 (import \"c\" \"drop{k}\" (func $drop{k} (param i32)))"
            );
        }
        w.push_str("    (func (export \"run\") (local $list i32)");
        for s in 0..SLOTS {
            let _ = write!(w, " (local $h{s} i32)");
        }
        w.push('\n');
        for op in &self.ops {
            w.push_str("      ");
            match op {
                Op::New { slot, k, rep } => {
                    let _ = write!(
                        w,
                        "(local.set $h{slot} (call $new{k} (i32.const {})))\n      \
                         (call $saw (i32.const 1) (local.get $h{slot}))",
                        *rep as i32
                    );
                }
                Op::Get { slot, k } => {
                    let _ = write!(
                        w,
                        "(call $saw (i32.const 0) (call $get{k} (local.get $h{slot})))"
                    );
                }
                Op::Take { slot, k } => {
                    let _ = write!(
                        w,
                        "(call $saw (i32.const 0) (call $take{k} (local.get $h{slot})))"
                    );
                }
                Op::Drop { slot, k } => {
                    let _ = write!(w, "(call $drop{k} (local.get $h{slot}))");
                }
                Op::TakeList { slots, k } => {
                    let _ = write!(
                        w,
                        "(local.set $list (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const {})))",
                        4 * slots.len()
                    );
                    for (i, s) in slots.iter().enumerate() {
                        let _ = write!(
                            w,
                            "\n      (i32.store offset={} (local.get $list) (local.get $h{s}))",
                            4 * i
                        );
                    }
                    let _ = write!(
                        w,
                        "\n      (call $saw (i32.const 0) (call $take-list{k} (local.get $list) (i32.const {})))",
                        slots.len()
                    );
                }
                Op::Misuse {
                    handle: Some((s, k)),
                } => {
                    let _ = write!(w, "(call $drop{} (local.get $h{s}))", 1 - k);
                }
                Op::Misuse { handle: None } => w.push_str("(call $drop0 (i32.const 1000))"),
            }
            w.push('\n');
        }
        w.push_str("    )\n  )\n  (core instance $prog (instantiate $prog (with \"libc\" (instance $libc)) (with \"c\" (instance (export \"saw\" (func $low-saw))");
        for k in 0..self.resources {
            for f in ["new", "get", "take", "take-list"] {
                let _ = write!(w, " (export \"{f}{k}\" (func $low-{f}{k}))");
            }
            let _ = write!(w, " (export \"drop{k}\" (func $drop{k}))");
        }
        w.push_str("))))\n  (func (export \"run\") (canon lift (core func $prog \"run\")))\n  )\n");
    }
}

/// Whether a run's transcript `seen` is the `expected` one (any handle
/// value where a handle is expected).
pub fn matches(expected: &(Vec<Event>, bool), seen: &(Vec<Event>, bool)) -> bool {
    expected.1 == seen.1
        && expected.0.len() == seen.0.len()
        && expected.0.iter().zip(&seen.0).all(|(e, s)| match (e, s) {
            (Event::Handle(None), Event::Handle(_)) => true,
            (e, s) => e == s,
        })
}

/// Runs the program's component `bytes` once (`run`), with a host that
/// records `saw` and `dropped`: the transcript, and whether it trapped.
///
/// # Errors
/// When the component does not compile or instantiate.
pub fn run(engine: &wasmtime::Engine, bytes: &[u8]) -> anyhow::Result<(Vec<Event>, bool)> {
    use wasmtime::component::{Component, Linker, Val};
    let component = Component::new(engine, bytes)?;
    let mut linker = Linker::<Vec<Event>>::new(engine);
    let pair = |params: &[Val]| match params {
        [Val::U32(a), Val::U32(b)] => Ok((*a, *b)),
        other => Err(wasmtime::Error::msg(format!(
            "unexpected parameters {other:?}"
        ))),
    };
    linker
        .root()
        .func_new("saw", move |mut cx, _ty, params, _results| {
            let (what, v) = pair(params)?;
            cx.data_mut().push(if what == 0 {
                Event::Rep(v)
            } else {
                Event::Handle(Some(v))
            });
            Ok(())
        })?;
    linker
        .root()
        .func_new("dropped", move |mut cx, _ty, params, _results| {
            let (k, rep) = pair(params)?;
            cx.data_mut().push(Event::Dropped(k, rep));
            Ok(())
        })?;
    let mut store = wasmtime::Store::new(engine, Vec::new());
    let instance = linker.instantiate(&mut store, &component)?;
    let func = instance
        .get_func(&mut store, "run")
        .ok_or_else(|| anyhow::anyhow!("no export run"))?;
    let trapped = func.call(&mut store, &[], &mut []).is_err();
    Ok((std::mem::take(store.data_mut()), trapped))
}
