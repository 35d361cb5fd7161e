//! Which functions the unwind pass instruments, and which of their calls
//! are *call sites* (calls that may unwind).
//!
//! A function is instrumented when it is on a path from a root to a
//! blocker: forward-reachable from a root and backward-reachable from a
//! blocker through the static call graph, never through an opaque function
//! (the runtime's own code, which is not instrumented and which an unwind
//! never crosses: every unwind stops at the innermost root). A
//! `call_indirect` of type `T` through a *closed* table (defined, not
//! exported, never written by code: only its active element segments fill
//! it) may reach the functions of type `T` those segments put in it; through
//! any other table, and by `call_ref`, every function of type `T` whose
//! address is taken (named by an element segment or a `ref.func`).

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use wasmparser::{ElementItems, FunctionBody, Operator};

/// What one function body calls.
#[derive(Default)]
pub(super) struct Calls {
    /// Direct callees (`call`, `return_call`).
    pub direct: Vec<u32>,
    /// Indirect calls: type index and table (`call_indirect` and its
    /// `return_` form), or no table (`call_ref` and its `return_` form).
    pub indirect: Vec<(u32, Option<u32>)>,
}

impl Calls {
    /// The calls in `body`; `ref_funcs` gains the targets of its
    /// `ref.func`s, `writes` how it changes tables.
    pub fn of(
        body: &FunctionBody<'_>,
        ref_funcs: &mut HashSet<u32>,
        writes: &mut TableWrites,
    ) -> wasmparser::Result<Self> {
        let mut calls = Calls::default();
        let mut ops = body.get_operators_reader()?;
        while !ops.eof() {
            match ops.read()? {
                Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                    calls.direct.push(function_index)
                }
                Operator::CallIndirect {
                    type_index,
                    table_index,
                }
                | Operator::ReturnCallIndirect {
                    type_index,
                    table_index,
                } => calls.indirect.push((type_index, Some(table_index))),
                Operator::CallRef { type_index } | Operator::ReturnCallRef { type_index } => {
                    calls.indirect.push((type_index, None))
                }
                Operator::RefFunc { function_index } => {
                    ref_funcs.insert(function_index);
                }
                Operator::TableSet { table }
                | Operator::TableGrow { table }
                | Operator::TableFill { table } => {
                    writes.opaque.insert(table);
                }
                Operator::TableInit { table, elem_index } => writes.inits.push((table, elem_index)),
                Operator::TableCopy {
                    dst_table,
                    src_table,
                } => writes.copies.push((dst_table, src_table)),
                _ => {}
            }
        }
        Ok(calls)
    }
}

/// The functions each element segment names, in segment order, with the
/// table an active one is applied to.
pub(super) fn elem_funcs(
    elems: &[wasmparser::Element<'_>],
) -> wasmparser::Result<Vec<(Option<u32>, Vec<u32>)>> {
    let mut out = Vec::new();
    for e in elems {
        let mut funcs = Vec::new();
        match &e.items {
            ElementItems::Functions(r) => {
                for f in r.clone() {
                    funcs.push(f?);
                }
            }
            ElementItems::Expressions(_, r) => {
                for expr in r.clone() {
                    let mut ops = expr?.get_operators_reader();
                    while !ops.eof() {
                        if let Operator::RefFunc { function_index } = ops.read()? {
                            funcs.push(function_index);
                        }
                    }
                }
            }
        }
        let table = match e.kind {
            wasmparser::ElementKind::Active { table_index, .. } => Some(table_index.unwrap_or(0)),
            _ => None,
        };
        out.push((table, funcs));
    }
    Ok(out)
}

/// How code changes tables.
#[derive(Default)]
pub(super) struct TableWrites {
    /// Tables written with values the analysis does not follow
    /// (`table.set`, `.grow`, `.fill`).
    pub opaque: HashSet<u32>,
    /// `table.init`: (table, segment).
    pub inits: Vec<(u32, u32)>,
    /// `table.copy`: (destination, source).
    pub copies: Vec<(u32, u32)>,
}

/// The functions each of the module's `tables` may hold, for the tables
/// whose contents are known: those not `open` (imported or exported) and
/// not written opaquely,
/// filled by active segments, `table.init` and `table.copy` from such
/// tables.
pub(super) fn closed_tables(
    tables: u32,
    segments: &[(Option<u32>, Vec<u32>)],
    writes: &TableWrites,
    open: &HashSet<u32>,
) -> HashMap<u32, Vec<u32>> {
    let mut contents: HashMap<u32, HashSet<u32>> =
        (0..tables).map(|t| (t, HashSet::new())).collect();
    for (table, funcs) in segments {
        if let Some(t) = table {
            contents.entry(*t).or_default().extend(funcs);
        }
    }
    for &(t, seg) in &writes.inits {
        let funcs = segments
            .get(seg as usize)
            .map(|(_, f)| f.as_slice())
            .unwrap_or(&[]);
        contents.entry(t).or_default().extend(funcs);
    }
    let mut open: HashSet<u32> = open.union(&writes.opaque).copied().collect();
    // Copies: a destination holds what its source holds, until nothing
    // changes; a copy from an open table opens its destination.
    loop {
        let mut changed = false;
        for &(dst, src) in &writes.copies {
            if open.contains(&src) && open.insert(dst) {
                changed = true;
            }
            let from: Vec<u32> = contents.get(&src).into_iter().flatten().copied().collect();
            let to = contents.entry(dst).or_default();
            for f in from {
                changed |= to.insert(f);
            }
        }
        if !changed {
            break;
        }
    }
    contents
        .into_iter()
        .filter(|(t, _)| !open.contains(t))
        .map(|(t, f)| {
            let mut f: Vec<u32> = f.into_iter().collect();
            f.sort_unstable();
            (t, f)
        })
        .collect()
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
    /// The closed tables (see the module docs) and the functions their
    /// active segments put in them.
    pub closed_tables: HashMap<u32, Vec<u32>>,
}

impl Graph {
    /// Functions an indirect call of type index `ty` through `table` (none
    /// for `call_ref`) may reach.
    pub fn indirect_targets(&self, ty: u32, table: Option<u32>) -> Vec<u32> {
        let id = self.type_ids.get(ty as usize).copied();
        let of_type = |f: &u32| self.types.get(*f as usize).copied() == id;
        match table.and_then(|t| self.closed_tables.get(&t)) {
            Some(funcs) => funcs.iter().copied().filter(of_type).collect(),
            None => self.address_taken.iter().copied().filter(of_type).collect(),
        }
    }

    /// Every function `f` may call.
    fn callees(&self, f: u32) -> Vec<u32> {
        let Some(c) = self.calls.get(f as usize) else {
            return Vec::new();
        };
        let mut out = c.direct.clone();
        for &(ty, table) in &c.indirect {
            out.extend(self.indirect_targets(ty, table));
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
