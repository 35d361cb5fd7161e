//! Which functions the unwind pass instruments, and which of their calls
//! are *call sites* (calls that may unwind).
//!
//! A function is instrumented when it is on a path from a root to a
//! blocker: forward-reachable from a root and backward-reachable from a
//! blocker through the static call graph, never through an opaque function
//! (the runtime's own code, which is not instrumented and which an unwind
//! never crosses: every unwind stops at the innermost root). A
//! `call_indirect` of type `T` may reach every function of type `T` whose
//! address is taken (named by an element segment or a `ref.func`),
//! conservatively; a `call_ref` likewise.

use std::collections::HashSet;
use std::ops::Range;
use wasmparser::{ElementItems, FunctionBody, Operator};

/// What one function body calls.
#[derive(Default)]
pub(super) struct Calls {
    /// Direct callees (`call`, `return_call`).
    pub direct: Vec<u32>,
    /// Type indices of indirect calls (`call_indirect`, `call_ref` and
    /// their `return_` forms).
    pub indirect: Vec<u32>,
}

impl Calls {
    /// The calls in `body`; `ref_funcs` gains the targets of its `ref.func`s.
    pub fn of(body: &FunctionBody<'_>, ref_funcs: &mut HashSet<u32>) -> wasmparser::Result<Self> {
        let mut calls = Calls::default();
        let mut ops = body.get_operators_reader()?;
        while !ops.eof() {
            match ops.read()? {
                Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                    calls.direct.push(function_index)
                }
                Operator::CallIndirect { type_index, .. }
                | Operator::ReturnCallIndirect { type_index, .. }
                | Operator::CallRef { type_index }
                | Operator::ReturnCallRef { type_index } => calls.indirect.push(type_index),
                Operator::RefFunc { function_index } => {
                    ref_funcs.insert(function_index);
                }
                _ => {}
            }
        }
        Ok(calls)
    }
}

/// The functions named by element segments (their addresses are taken).
pub(super) fn elem_funcs(
    elems: &[wasmparser::Element<'_>],
    into: &mut HashSet<u32>,
) -> wasmparser::Result<()> {
    for e in elems {
        match &e.items {
            ElementItems::Functions(r) => {
                for f in r.clone() {
                    into.insert(f?);
                }
            }
            ElementItems::Expressions(_, r) => {
                for expr in r.clone() {
                    let mut ops = expr?.get_operators_reader();
                    while !ops.eof() {
                        if let Operator::RefFunc { function_index } = ops.read()? {
                            into.insert(function_index);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// The call graph of a module: `calls[f]` for every function (empty for
/// imports), the canonical type of every function, and the functions
/// whose address is taken.
pub(super) struct Graph {
    /// Per function index: what it calls (imports call nothing).
    pub calls: Vec<Calls>,
    /// Per function index: its type, as a canonical id (equal ids, equal
    /// types).
    pub types: Vec<u32>,
    /// Canonical type id of every type index.
    pub type_ids: Vec<u32>,
    /// Functions whose address is taken.
    pub address_taken: HashSet<u32>,
}

impl Graph {
    /// Functions an indirect call of type index `ty` may reach.
    fn indirect_targets(&self, ty: u32) -> impl Iterator<Item = u32> + '_ {
        let id = self.type_ids.get(ty as usize).copied();
        self.address_taken
            .iter()
            .copied()
            .filter(move |f| self.types.get(*f as usize).copied() == id)
    }

    /// Every function `f` may call.
    fn callees(&self, f: u32) -> Vec<u32> {
        let Some(c) = self.calls.get(f as usize) else {
            return Vec::new();
        };
        let mut out = c.direct.clone();
        for &ty in &c.indirect {
            out.extend(self.indirect_targets(ty));
        }
        out
    }
}

/// What the pass instruments.
pub(super) struct Selection {
    /// The functions to instrument, in increasing order.
    pub functions: Vec<u32>,
    /// The functions a call site may call: instrumented ones and blockers.
    pub unwinding: HashSet<u32>,
}

impl Selection {
    /// The functions on a path from one of `roots` to one of `blockers`
    /// that are not `opaque`.
    pub fn new(graph: &Graph, roots: &[u32], blockers: &[u32], opaque: &[Range<u32>]) -> Self {
        let n = graph.calls.len();
        let is_opaque = |f: u32| opaque.iter().any(|r| r.contains(&f));
        // Forward from the roots.
        let mut forward = vec![false; n];
        let mut stack: Vec<u32> = roots.iter().copied().filter(|f| !is_opaque(*f)).collect();
        while let Some(f) = stack.pop() {
            let Some(seen) = forward.get_mut(f as usize) else {
                continue;
            };
            if std::mem::replace(seen, true) {
                continue;
            }
            stack.extend(graph.callees(f).into_iter().filter(|g| !is_opaque(*g)));
        }
        // Backward from the blockers, over the forward-reachable part.
        let mut callers: Vec<Vec<u32>> = vec![Vec::new(); n];
        for f in (0..n as u32).filter(|f| forward[*f as usize]) {
            for g in graph.callees(f) {
                if let Some(c) = callers.get_mut(g as usize) {
                    c.push(f);
                }
            }
        }
        let mut backward = vec![false; n];
        let mut stack: Vec<u32> = Vec::new();
        for &b in blockers {
            stack.extend(callers.get(b as usize).into_iter().flatten().copied());
        }
        while let Some(f) = stack.pop() {
            if !forward[f as usize] || std::mem::replace(&mut backward[f as usize], true) {
                continue;
            }
            stack.extend(callers[f as usize].iter().copied());
        }
        let functions: Vec<u32> = (0..n as u32).filter(|f| backward[*f as usize]).collect();
        let mut unwinding: HashSet<u32> = functions.iter().copied().collect();
        unwinding.extend(blockers.iter().copied());
        Selection {
            functions,
            unwinding,
        }
    }
}
