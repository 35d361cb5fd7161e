//! The unwind pass: gives tasks of the fused module stacks of their own,
//! on one wasm stack, by unwinding and rewinding it (the design of
//! Binaryen's Asyncify, on the operators as they are).
//!
//! wasmtime runs every async task on a fiber: a task that blocks (a sync
//! lower of an async callee, `waitable-set.wait`, `thread.yield`, sync
//! `subtask.cancel`) suspends, and its caller goes on. Fused, the runtime
//! calls each task through a *root* (a dispatcher of the glue). When a task
//! blocks in a *blocker* (a runtime entry) under its root, the runtime
//! starts an unwind: every instrumented function on the stack saves its
//! locals and the call site it was in into the task's buffer and returns,
//! up to the root, and the runtime goes on with other work. To resume the
//! task, the runtime starts a rewind and calls the root again: each
//! function reloads its locals and goes straight back into the call it
//! left, down to the blocker, which the runtime then answers for real.
//!
//! # Protocol
//!
//! Two mutable `i32` globals of the module (the spec names them):
//!
//! - `state`: 0 normal, 1 unwinding, 2 rewinding;
//! - `data`: the address, in the buffers' memory, of the running buffer's
//!   descriptor `{cur: i32, end: i32}` (bytes `[cur, end)` free).
//!
//! To unwind, the runtime sets `data` and `state = 1` in a blocker and
//! returns anything; each instrumented caller sees `state == 1` after the
//! call, pushes its record at `cur` (trapping when it would pass `end`)
//! and returns zeros; the root's caller sets `state = 0`. To rewind, it
//! sets `state = 2` and calls the root with the same arguments; each
//! instrumented function pops its record, skips everything up to the call
//! it left and makes it; the blocker, called again with the arguments it
//! had, sets `state = 0` and returns its result.
//!
//! # What is instrumented
//!
//! The functions on a path from a root to a blocker ([`graph`]). What the
//! rewriter does not handle in them — locals or values kept across a call
//! site of a reference type (but constants), tail calls and `call_ref`s
//! that may unwind, legacy exception handling, constructs with parameters
//! or `br_table`s carrying values around call sites — makes the whole pass
//! [`Error::Unsupported`]: the caller then keeps the module as it was.

mod graph;
mod live;
mod rewrite;
#[cfg(test)]
mod tests;

use graph::{Calls, Graph, Selection};
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasmparser::{
    FuncToValidate, FunctionBody, Parser, Payload, ValidPayload, Validator, ValidatorResources,
    WasmFeatures,
};

/// What the pass is told about the module, as its indices.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// Functions an unwind stops at (its caller is not instrumented).
    pub roots: Vec<u32>,
    /// Functions that may start an unwind (opaque: not instrumented).
    pub blockers: Vec<u32>,
    /// Functions never instrumented nor looked through (the runtime).
    pub opaque: Vec<Range<u32>>,
    /// The memory of the buffers.
    pub memory: u32,
    /// The state global (mutable `i32`).
    pub state: u32,
    /// The buffer-descriptor global (mutable `i32`).
    pub data: u32,
    /// A global (`i32`) whose initial value becomes 1 when the module is
    /// instrumented, so that its code knows it can unwind.
    pub enabled: Option<u32>,
    /// Exported tables the embedder fills only with functions of its own
    /// (Meld's wrapper puts the lowered host imports in `host-table`): a
    /// call through them reaches none of this module's functions beyond
    /// what the module's own segments put there.
    pub host_tables: Vec<u32>,
}

/// What the pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The instrumented functions, in increasing order.
    pub functions: Vec<u32>,
    /// Their call sites, in all.
    pub call_sites: u32,
}

/// Why the pass did not instrument the module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A function on a path from a root to a blocker has a shape the
    /// rewriter does not handle.
    #[error("function {function} (offset {offset}): {what}")]
    Unsupported {
        /// The function index.
        function: u32,
        /// The byte offset in the module.
        offset: usize,
        /// What is not handled.
        what: &'static str,
    },
    /// The module is not valid, or the rewriter produced something invalid
    /// (a bug).
    #[error("function {function}: {detail}")]
    Invalid {
        /// The function index (`u32::MAX` for the module).
        function: u32,
        /// What went wrong.
        detail: String,
    },
}

impl Error {
    fn unsupported(function: u32, offset: usize, what: &'static str) -> Self {
        Error::Unsupported {
            function,
            offset,
            what,
        }
    }

    fn invalid(function: u32, detail: &str) -> Self {
        Error::Invalid {
            function,
            detail: detail.into(),
        }
    }

    fn parse(function: u32, e: impl std::fmt::Display) -> Self {
        Error::invalid(function, &e.to_string())
    }
}

/// Instruments `module` as `spec` says. `Ok(None)` when no function is on a
/// path from a root to a blocker (nothing to do).
///
/// # Errors
/// [`Error::Unsupported`] when a function to instrument has a shape the
/// rewriter does not handle; [`Error::Invalid`] for an invalid module.
pub fn instrument(module: &[u8], spec: &Spec) -> Result<Option<(Vec<u8>, Report)>, Error> {
    let whole = |e: wasmparser::BinaryReaderError| Error::parse(u32::MAX, e);
    let mut validator = Validator::new_with_features(WasmFeatures::all());
    let mut funcs: HashMap<u32, (FuncToValidate<ValidatorResources>, FunctionBody<'_>)> =
        HashMap::new();
    let mut calls: Vec<Calls> = Vec::new();
    let mut address_taken = HashSet::new();
    let mut segments: Vec<(Option<u32>, Vec<u32>)> = Vec::new();
    let mut writes = graph::TableWrites::default();
    let mut open_tables: HashSet<u32> = HashSet::new();
    let mut imported_tables = 0u32;
    let mut defined_tables = 0u32;
    let mut types = None;
    let mut imported_globals = 0u32;
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload.map_err(whole)?;
        match &payload {
            Payload::ImportSection(s) => {
                for i in s.clone().into_imports() {
                    match i.map_err(whole)?.ty {
                        wasmparser::TypeRef::Func(_) => calls.push(Calls::default()),
                        wasmparser::TypeRef::Global(_) => imported_globals += 1,
                        wasmparser::TypeRef::Table(_) => {
                            open_tables.insert(imported_tables);
                            imported_tables += 1;
                        }
                        _ => {}
                    }
                }
            }
            Payload::ElementSection(s) => {
                let elems = s
                    .clone()
                    .into_iter()
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(whole)?;
                segments = graph::elem_funcs(&elems).map_err(whole)?;
                address_taken.extend(segments.iter().flat_map(|(_, f)| f.iter().copied()));
            }
            Payload::TableSection(s) => defined_tables = s.count(),
            Payload::ExportSection(s) => {
                for e in s.clone() {
                    let e = e.map_err(whole)?;
                    if e.kind == wasmparser::ExternalKind::Table
                        && !spec.host_tables.contains(&e.index)
                    {
                        open_tables.insert(e.index);
                    }
                }
            }
            Payload::GlobalSection(s) => {
                for g in s.clone() {
                    let mut ops = g.map_err(whole)?.init_expr.get_operators_reader();
                    while !ops.eof() {
                        if let wasmparser::Operator::RefFunc { function_index } =
                            ops.read().map_err(whole)?
                        {
                            address_taken.insert(function_index);
                        }
                    }
                }
            }
            _ => {}
        }
        match validator.payload(&payload).map_err(whole)? {
            ValidPayload::Func(f, body) => {
                calls.push(Calls::of(&body, &mut address_taken, &mut writes).map_err(whole)?);
                funcs.insert(f.index, (f, body));
            }
            ValidPayload::End(t) => types = Some(t),
            _ => {}
        }
    }
    let types = types.ok_or_else(|| Error::invalid(u32::MAX, "not a module"))?;
    let funcs_defined = funcs.len() as u32;
    let types = types.as_ref();
    let tables = imported_tables + defined_tables;
    let mut ids: HashMap<wasmparser::types::CoreTypeId, u32> = HashMap::new();
    let mut intern = |id| {
        let n = ids.len() as u32;
        *ids.entry(id).or_insert(n)
    };
    let type_ids: Vec<u32> = (0..types.core_type_count_in_module())
        .map(|i| intern(types.core_type_at_in_module(i)))
        .collect();
    let func_types: Vec<u32> = (0..types.function_count())
        .map(|f| intern(types.core_function_at(f)))
        .collect();
    let graph = Graph {
        calls,
        types: func_types,
        type_ids,
        address_taken,
        closed_tables: graph::closed_tables(tables, &segments, &writes, &open_tables),
    };
    let selection = Selection::new(&graph, &spec.roots, &spec.blockers, &spec.opaque);
    if selection.functions.is_empty() {
        return Ok(None);
    }
    // The indirect calls of instrumented functions that may reach a
    // function that may unwind.
    let unwinding_indirect: HashSet<(u32, Option<u32>)> = selection
        .functions
        .iter()
        .flat_map(|f| graph.calls[*f as usize].indirect.iter().copied())
        .filter(|&(ty, table)| {
            graph
                .indirect_targets(ty, table)
                .iter()
                .any(|g| selection.unwinding.contains(g))
        })
        .collect();
    let cx = rewrite::Context {
        state: spec.state,
        data: spec.data,
        memory: spec.memory,
        unwinding: &selection.unwinding,
        unwinding_indirect: &unwinding_indirect,
    };
    let mut bodies = HashMap::new();
    let mut report = Report::default();
    for &f in &selection.functions {
        let (to_validate, body) = funcs
            .remove(&f)
            .ok_or_else(|| Error::invalid(f, "not a defined function"))?;
        let r = rewrite::rewrite(&cx, to_validate, &body)?;
        report.call_sites += r.call_sites;
        bodies.insert(f, r.function);
    }
    report.functions = selection.functions;
    let mut out = wasm_encoder::Module::new();
    Replacer {
        next: 0,
        bodies,
        imported: graph.calls.len() as u32 - funcs_defined,
        next_global: imported_globals,
        enabled: spec.enabled,
    }
    .parse_core_module(&mut out, Parser::new(0), module)
    .map_err(|e| Error::parse(u32::MAX, e))?;
    Ok(Some((out.finish(), report)))
}

/// Re-encodes a module with some function bodies replaced (and the
/// `enabled` global's initial value 1).
struct Replacer {
    /// Index of the next defined global.
    next_global: u32,
    enabled: Option<u32>,
    /// Index of the next function body.
    next: u32,
    /// Imported functions (the first body's index).
    imported: u32,
    bodies: HashMap<u32, wasm_encoder::Function>,
}

impl Reencode for Replacer {
    type Error = std::convert::Infallible;

    fn parse_global(
        &mut self,
        globals: &mut wasm_encoder::GlobalSection,
        global: wasmparser::Global<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        let index = self.next_global;
        self.next_global += 1;
        if Some(index) == self.enabled {
            globals.global(
                self.global_type(global.ty)?,
                &wasm_encoder::ConstExpr::i32_const(1),
            );
            return Ok(());
        }
        wasm_encoder::reencode::utils::parse_global(self, globals, global)
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: FunctionBody<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        let index = self.imported + self.next;
        self.next += 1;
        match self.bodies.remove(&index) {
            Some(f) => {
                code.function(&f);
                Ok(())
            }
            None => {
                code.raw(func.as_bytes());
                Ok(())
            }
        }
    }
}
