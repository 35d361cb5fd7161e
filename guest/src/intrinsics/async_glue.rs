//! The generated modules that link the async runtime
//! ([`super::async_runtime`]) into a fused module: the glue the runtime
//! calls (dispatch tables by adapter), the shims of the async built-ins,
//! FACT's `[prepare-call]` per adapter, the per-adapter thunks that start a
//! callee and return its results, and the entries of sync-ABI outer
//! exports. Shapes follow wasmtime 48 (`concurrent.rs`, FACT's
//! `trampoline.rs`); see `ASYNC.md`.
//!
//! Calls into code instantiated later (an adapter's `[async-start]`, a
//! callee, a memory's event writer) go through the glue's tables, filled by
//! active element segments as the code appears; devirtualisation turns the
//! fixed ones into direct calls.

use super::async_runtime::{GLUE_MODULE, GlueFunc, RuntimeFunc};
use crate::sig::CoreSig;
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, ElementSection, Elements, EntityType, ExportKind,
    ExportSection, Function, FunctionSection, GlobalSection, GlobalType, ImportSection,
    Instruction as I, MemArg, MemoryType, Module, RefType, StartSection, TableSection, TableType,
    TypeSection, ValType,
};

use ValType::{I32, I64};

/// The import module name of the runtime's exports in generated modules.
pub const RT: &str = "rt";
/// The import module name of the glue's exports in generated modules.
pub const GLUE: &str = "glue";
/// The glue's table of per-adapter thunks (three slots an adapter: start,
/// run-sync, callback).
pub const THUNKS: &str = "thunks";
/// The glue's table of per-adapter `task.return` thunks.
pub const RETURNS: &str = "returns";
/// The glue's table of per-memory event writers.
pub const WRITERS: &str = "writers";
/// The glue's `task_may_block` global (FACT's `instance task_may_block`).
pub const TASK_MAY_BLOCK: &str = "task_may_block";
/// The glue's export of the unwind pass's `state` global.
pub const UNWIND_STATE: &str = "unwind.state";
/// The glue's export of the unwind pass's buffer-descriptor global.
pub const UNWIND_DATA: &str = "unwind.data";
/// The glue's export of the global the unwind pass sets to 1 when it
/// instruments the module.
pub const UNWIND_ENABLED: &str = "unwind.enabled";
/// The glue's `write-event(memory, ptr, handle, payload)`.
pub const WRITE_EVENT: &str = "write-event";
/// The runtime's memory, as generated modules import it.
pub const RT_MEMORY: &str = "memory";

/// Slots an adapter has in [`THUNKS`].
pub const THUNK_SLOTS: u32 = 3;

/// A small module under construction: types interned, imports first.
#[derive(Default)]
struct Gen {
    types: Vec<(Vec<ValType>, Vec<ValType>)>,
    imports: ImportSection,
    n_imported_funcs: u32,
    n_imported_globals: u32,
    n_imported_tables: u32,
    funcs: FunctionSection,
    code: CodeSection,
    n_funcs: u32,
    exports: ExportSection,
    tables: TableSection,
    globals: GlobalSection,
    elems: ElementSection,
    start: Option<u32>,
}

impl Gen {
    fn ty(&mut self, params: &[ValType], results: &[ValType]) -> u32 {
        let key = (params.to_vec(), results.to_vec());
        if let Some(i) = self.types.iter().position(|t| *t == key) {
            return i as u32;
        }
        self.types.push(key);
        self.types.len() as u32 - 1
    }

    fn import_func(&mut self, module: &str, name: &str, sig: &CoreSig) -> u32 {
        let ty = self.ty(&sig.params, &sig.results);
        self.imports.import(module, name, EntityType::Function(ty));
        self.n_imported_funcs += 1;
        self.n_imported_funcs - 1
    }

    fn import_rt(&mut self, f: RuntimeFunc) -> u32 {
        self.import_func(RT, f.name(), &f.sig())
    }

    fn import_global(&mut self, module: &str, name: &str) -> u32 {
        self.imports.import(
            module,
            name,
            EntityType::Global(GlobalType {
                val_type: I32,
                mutable: true,
                shared: false,
            }),
        );
        self.n_imported_globals += 1;
        self.n_imported_globals - 1
    }

    fn import_table(&mut self, module: &str, name: &str, min: u32) -> u32 {
        self.imports
            .import(module, name, EntityType::Table(funcref_table(min)));
        self.n_imported_tables += 1;
        self.n_imported_tables - 1
    }

    fn import_memory(&mut self, module: &str, name: &str) {
        self.imports.import(
            module,
            name,
            EntityType::Memory(MemoryType {
                minimum: 0,
                maximum: None,
                memory64: false,
                shared: false,
                page_size_log2: None,
            }),
        );
    }

    /// Adds a function (imports must all be declared before); returns its
    /// index.
    fn func(&mut self, params: &[ValType], results: &[ValType], f: &Function) -> u32 {
        let ty = self.ty(params, results);
        self.funcs.function(ty);
        self.code.function(f);
        self.n_funcs += 1;
        self.n_imported_funcs + self.n_funcs - 1
    }

    fn export_func(&mut self, name: &str, f: u32) {
        self.exports.export(name, ExportKind::Func, f);
    }

    /// Puts function `f` at `slot` of table `table` at instantiation.
    fn elem(&mut self, table: u32, slot: u32, f: u32) {
        self.elems.active(
            Some(table),
            &ConstExpr::i32_const(slot as i32),
            Elements::Functions([f].as_slice().into()),
        );
    }

    fn finish(self) -> Vec<u8> {
        let mut types = TypeSection::new();
        for (p, r) in &self.types {
            types.ty().function(p.iter().copied(), r.iter().copied());
        }
        let mut m = Module::new();
        m.section(&types)
            .section(&self.imports)
            .section(&self.funcs);
        if !self.tables.is_empty() {
            m.section(&self.tables);
        }
        if !self.globals.is_empty() {
            m.section(&self.globals);
        }
        m.section(&self.exports);
        if let Some(f) = self.start {
            m.section(&StartSection { function_index: f });
        }
        if !self.elems.is_empty() {
            m.section(&self.elems);
        }
        m.section(&self.code);
        m.finish()
    }
}

fn funcref_table(min: u32) -> TableType {
    TableType {
        element_type: RefType::FUNCREF,
        table64: false,
        minimum: u64::from(min),
        maximum: None,
        shared: false,
    }
}

fn mem(offset: u64, align: u32, memory_index: u32) -> MemArg {
    MemArg {
        offset,
        align,
        memory_index,
    }
}

/// Loads `ty` from slot `slot` of the 8-byte slots at local `base` in memory 0.
fn load_slot(f: &mut Function, base: u32, slot: u32, ty: ValType) {
    f.instruction(&I::LocalGet(base));
    let m = mem(u64::from(slot) * 8, 3, 0);
    f.instruction(&match ty {
        ValType::I32 => I::I32Load(MemArg { align: 2, ..m }),
        ValType::I64 => I::I64Load(m),
        ValType::F32 => I::F32Load(MemArg { align: 2, ..m }),
        ValType::F64 => I::F64Load(m),
        other => unreachable!("no {other:?} in a flat signature"),
    });
}

/// Stores locals `first..` (of types `tys`) into the 8-byte slots at local
/// `base` in memory 0, slot `i` for local `first + i`.
fn store_slots(f: &mut Function, base: u32, first: u32, tys: &[ValType]) {
    for (i, ty) in tys.iter().enumerate() {
        f.instruction(&I::LocalGet(base));
        f.instruction(&I::LocalGet(first + i as u32));
        let m = mem(i as u64 * 8, 3, 0);
        f.instruction(&match ty {
            ValType::I32 => I::I32Store(MemArg { align: 2, ..m }),
            ValType::I64 => I::I64Store(m),
            ValType::F32 => I::F32Store(MemArg { align: 2, ..m }),
            ValType::F64 => I::F64Store(m),
            other => unreachable!("no {other:?} in a flat signature"),
        });
    }
}

/// Imports the glue's [`THUNKS`] and [`RETURNS`] tables (for `n_adapters`).
fn import_glue_tables(g: &mut Gen, n_adapters: u32) -> (u32, u32) {
    (
        g.import_table(GLUE, THUNKS, (n_adapters * THUNK_SLOTS).max(1)),
        g.import_table(GLUE, RETURNS, n_adapters.max(1)),
    )
}

/// The value on the stack, of type `ty`, as the `i64` the runtime keeps.
fn to_i64(f: &mut Function, ty: ValType) {
    match ty {
        ValType::I32 => f.instruction(&I::I64ExtendI32U),
        ValType::I64 => f,
        ValType::F32 => f
            .instruction(&I::I32ReinterpretF32)
            .instruction(&I::I64ExtendI32U),
        ValType::F64 => f.instruction(&I::I64ReinterpretF64),
        other => unreachable!("no {other:?} in a flat signature"),
    };
}

/// The `i64` on the stack as a value of type `ty`.
fn from_i64(f: &mut Function, ty: ValType) {
    match ty {
        ValType::I32 => f.instruction(&I::I32WrapI64),
        ValType::I64 => f,
        ValType::F32 => f
            .instruction(&I::I32WrapI64)
            .instruction(&I::F32ReinterpretI32),
        ValType::F64 => f.instruction(&I::F64ReinterpretI64),
        other => unreachable!("no {other:?} in a flat signature"),
    };
}

fn trap_unless_may_leave(f: &mut Function, flags: u32) {
    f.instruction(&I::GlobalGet(flags));
    f.instruction(&I::I32Eqz);
    f.instruction(&I::If(BlockType::Empty));
    f.instruction(&I::Unreachable);
    f.instruction(&I::End);
}

/// The glue: what the runtime imports ([`GlueFunc`], under its names), the
/// tables that reach code instantiated later ([`THUNKS`], `n_adapters`
/// adapters; [`RETURNS`]; [`WRITERS`], `n_memories` memories) and the
/// [`TASK_MAY_BLOCK`] global. Exports all of them, and [`WRITE_EVENT`].
/// With `host`, the wrapper's built-ins for host subtasks are imported as
/// `host.{set-new, join, subtask-drop, subtask-cancel, wait}`; without, nothing
/// can call them (they trap). With `resources`, the resource runtime's
/// `res.{handle-alloc, handle-free}` (after the host's), which number the
/// runtime's handles in the resource tables; without, they trap (the
/// runtime keeps its own tables).
pub fn glue_module(n_adapters: u32, n_memories: u32, host: bool, resources: bool) -> Vec<u8> {
    let mut g = Gen::default();
    let host_funcs = host.then(|| {
        HOST_FUNCS.map(|f| {
            // The wrapper's `subtask.cancel` is the sync one: `(subtask) ->
            // status` (the glue's `async` flag is dropped); its
            // `stream.read` / `stream.write` take `(end, addr, count)`.
            let mut sig = f.sig();
            match f {
                GlueFunc::HostSubtaskCancel => sig.params.truncate(1),
                GlueFunc::HostWakeRead | GlueFunc::HostWakeWrite => sig.params.extend([I32, I32]),
                _ => {}
            }
            g.import_func("host", host_import_name(f), &sig)
        })
    });
    let res_funcs = resources.then(|| {
        (
            g.import_func("res", "handle-alloc", &GlueFunc::HandleAlloc.sig()),
            g.import_func("res", "handle-free", &GlueFunc::HandleFree.sig()),
        )
    });
    g.tables
        .table(funcref_table((n_adapters * THUNK_SLOTS).max(1)));
    g.tables.table(funcref_table(n_adapters.max(1)));
    g.tables.table(funcref_table(n_memories.max(1)));
    let (thunks, returns, writers) = (0, 1, 2);
    // 0 `task_may_block`; the unwind pass's 1 `state`, 2 `data` and 3
    // `enabled` (set to 1 by the pass when it instruments the module).
    for mutable in [true, true, true, false] {
        g.globals.global(
            GlobalType {
                val_type: I32,
                mutable,
                shared: false,
            },
            &ConstExpr::i32_const(0),
        );
    }
    let ty_start = g.ty(&[I32], &[I32]);
    let ty_run = g.ty(&[I32], &[]);
    let ty_cb = g.ty(&[I32, I32, I32], &[I32]);
    let ty_write = g.ty(&[I32, I32, I32], &[]);
    // thunks[adapter * 3 + k]
    let slot = |f: &mut Function, k: i32| {
        f.instruction(&I::LocalGet(0));
        f.instruction(&I::I32Const(THUNK_SLOTS as i32));
        f.instruction(&I::I32Mul);
        f.instruction(&I::I32Const(k));
        f.instruction(&I::I32Add);
    };
    for gf in GlueFunc::ALL {
        let sig = gf.sig();
        let mut f = Function::new([]);
        match gf {
            GlueFunc::Start => {
                f.instruction(&I::LocalGet(1));
                slot(&mut f, 0);
                f.instruction(&I::CallIndirect {
                    type_index: ty_start,
                    table_index: thunks,
                });
            }
            GlueFunc::RunSync => {
                f.instruction(&I::LocalGet(1));
                slot(&mut f, 1);
                f.instruction(&I::CallIndirect {
                    type_index: ty_run,
                    table_index: thunks,
                });
            }
            GlueFunc::Callback => {
                for l in 2..5 {
                    f.instruction(&I::LocalGet(l));
                }
                slot(&mut f, 2);
                f.instruction(&I::CallIndirect {
                    type_index: ty_cb,
                    table_index: thunks,
                });
            }
            GlueFunc::GetTaskMayBlock => {
                f.instruction(&I::GlobalGet(0));
            }
            GlueFunc::SetTaskMayBlock => {
                f.instruction(&I::LocalGet(0));
                f.instruction(&I::GlobalSet(0));
            }
            GlueFunc::Trap => {
                f.instruction(&I::Unreachable);
            }
            GlueFunc::UnwindSet => {
                f.instruction(&I::LocalGet(1));
                f.instruction(&I::GlobalSet(2));
                f.instruction(&I::LocalGet(0));
                f.instruction(&I::GlobalSet(1));
            }
            GlueFunc::UnwindEnabled => {
                f.instruction(&I::GlobalGet(3));
            }
            GlueFunc::HandleAlloc | GlueFunc::HandleFree => match res_funcs {
                Some((alloc, free)) => {
                    for l in 0..sig.params.len() as u32 {
                        f.instruction(&I::LocalGet(l));
                    }
                    f.instruction(&I::Call(if *gf == GlueFunc::HandleAlloc {
                        alloc
                    } else {
                        free
                    }));
                }
                None => {
                    f.instruction(&I::Unreachable);
                }
            },
            GlueFunc::HostSetNew
            | GlueFunc::HostJoin
            | GlueFunc::HostSubtaskDrop
            | GlueFunc::HostSubtaskCancel
            | GlueFunc::HostWait
            | GlueFunc::HostPoll
            | GlueFunc::HostWakeNew
            | GlueFunc::HostWakeRead
            | GlueFunc::HostWakeWrite => match host_funcs {
                Some(imported) => {
                    // The wrapper's sync `subtask.cancel` takes no `async`
                    // flag; its stream built-ins take `(end, addr, count)`:
                    // one element-less item, at no address.
                    let n = if *gf == GlueFunc::HostSubtaskCancel {
                        1
                    } else {
                        sig.params.len()
                    };
                    for l in 0..n as u32 {
                        f.instruction(&I::LocalGet(l));
                    }
                    if matches!(gf, GlueFunc::HostWakeRead | GlueFunc::HostWakeWrite) {
                        f.instruction(&I::I32Const(0));
                        f.instruction(&I::I32Const(1));
                    }
                    let k = HOST_FUNCS
                        .iter()
                        .position(|x| x == gf)
                        .expect("a host function");
                    f.instruction(&I::Call(imported[k]));
                }
                None => {
                    f.instruction(&I::Unreachable);
                }
            },
        }
        f.instruction(&I::End);
        let i = g.func(&sig.params, &sig.results, &f);
        g.export_func(gf.name(), i);
    }
    // write-event(memory, ptr, handle, payload)
    let mut f = Function::new([]);
    for l in 1..4 {
        f.instruction(&I::LocalGet(l));
    }
    f.instruction(&I::LocalGet(0));
    f.instruction(&I::CallIndirect {
        type_index: ty_write,
        table_index: writers,
    });
    f.instruction(&I::End);
    let w = g.func(&[I32, I32, I32, I32], &[], &f);
    g.export_func(WRITE_EVENT, w);
    g.exports.export(THUNKS, ExportKind::Table, thunks);
    g.exports.export(RETURNS, ExportKind::Table, returns);
    g.exports.export(WRITERS, ExportKind::Table, writers);
    g.exports.export(TASK_MAY_BLOCK, ExportKind::Global, 0);
    g.exports.export(UNWIND_STATE, ExportKind::Global, 1);
    g.exports.export(UNWIND_DATA, ExportKind::Global, 2);
    g.exports.export(UNWIND_ENABLED, ExportKind::Global, 3);
    let _ = GLUE_MODULE;
    g.finish()
}

/// The wrapper's built-ins the glue imports (`host.*`), in the order of
/// [`crate::link::planner::HostBuiltin::ALL`].
const HOST_FUNCS: [GlueFunc; 9] = [
    GlueFunc::HostSetNew,
    GlueFunc::HostJoin,
    GlueFunc::HostSubtaskDrop,
    GlueFunc::HostSubtaskCancel,
    GlueFunc::HostWait,
    GlueFunc::HostPoll,
    GlueFunc::HostWakeNew,
    GlueFunc::HostWakeRead,
    GlueFunc::HostWakeWrite,
];

/// The name under which [`glue_module`] imports a host built-in.
pub fn host_import_name(f: GlueFunc) -> &'static str {
    match f {
        GlueFunc::HostSetNew => "set-new",
        GlueFunc::HostJoin => "join",
        GlueFunc::HostSubtaskDrop => "subtask-drop",
        GlueFunc::HostSubtaskCancel => "subtask-cancel",
        GlueFunc::HostWait => "wait",
        GlueFunc::HostPoll => "poll",
        GlueFunc::HostWakeNew => "wake-new",
        GlueFunc::HostWakeRead => "wake-read",
        GlueFunc::HostWakeWrite => "wake-write",
        _ => unreachable!("not a host built-in"),
    }
}

/// Runs the runtime's `init(instances, shared)` at instantiation (`shared`:
/// the handle tables are the resource runtime's), then registers
/// the table of each stream and future type (`(ty, instance)`, see
/// [`RuntimeFunc::TransmitTable`]).
pub fn init_module(instances: u32, shared: bool, transmit_tables: &[(u32, u32)]) -> Vec<u8> {
    let mut g = Gen::default();
    let init = g.import_rt(RuntimeFunc::Init);
    let table = g.import_rt(RuntimeFunc::TransmitTable);
    let mut f = Function::new([]);
    f.instruction(&I::I32Const(instances as i32));
    f.instruction(&I::I32Const(i32::from(shared)));
    f.instruction(&I::Call(init));
    for &(ty, instance) in transmit_tables {
        f.instruction(&I::I32Const(ty as i32));
        f.instruction(&I::I32Const(instance as i32));
        f.instruction(&I::Call(table));
    }
    f.instruction(&I::End);
    let s = g.func(&[], &[], &f);
    g.start = Some(s);
    g.finish()
}

/// One adapter's `[prepare-call]`, as FACT imports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepare {
    /// The adapter's number in the glue's tables.
    pub adapter: u32,
    /// The callee is lifted with a callback.
    pub callback: bool,
    /// The lift's memory plus one (0: none); `task.return` must match it.
    pub return_memory: u32,
    /// The adapter's (lower) parameters, after FACT's eight fixed ones.
    pub params: Vec<ValType>,
}

/// `[prepare-call]` of each of `prepares`, exported as `"k"`: makes the
/// task (`rt.prepare-call`) and stores every parameter in its slots
/// (`rt.params`). Imports `rt.prepare-call`, `rt.params`, `rt.memory`.
pub fn prepare_module(prepares: &[Prepare]) -> Vec<u8> {
    let mut g = Gen::default();
    let prepare = g.import_rt(RuntimeFunc::PrepareCall);
    let params = g.import_rt(RuntimeFunc::Params);
    g.import_memory(RT, RT_MEMORY);
    for (k, p) in prepares.iter().enumerate() {
        let fixed = [
            ValType::Ref(RefType::FUNCREF),
            ValType::Ref(RefType::FUNCREF),
            I32,
            I32,
            I32,
            I32,
            I32,
            I32,
        ];
        let all: Vec<ValType> = fixed.iter().chain(&p.params).copied().collect();
        let n = all.len() as u32;
        let (task, base) = (n, n + 1);
        let mut f = Function::new([(2, I32)]);
        f.instruction(&I::I32Const(p.adapter as i32));
        // flags: async-typed (param 5), callback, sync caller (the result
        // count of a sync caller is below FACT's PREPARE_ASYNC_* markers).
        f.instruction(&I::LocalGet(5));
        f.instruction(&I::I32Const(if p.callback { 2 } else { 0 }));
        f.instruction(&I::I32Or);
        f.instruction(&I::LocalGet(7));
        f.instruction(&I::I32Const(-2)); // 0xffff_fffe
        f.instruction(&I::I32LtU);
        f.instruction(&I::I32Const(2));
        f.instruction(&I::I32Shl);
        f.instruction(&I::I32Or);
        // return_sig = task_return_type << 2 | string_encoding
        f.instruction(&I::LocalGet(4));
        f.instruction(&I::I32Const(2));
        f.instruction(&I::I32Shl);
        f.instruction(&I::LocalGet(6));
        f.instruction(&I::I32Or);
        f.instruction(&I::I32Const(p.return_memory as i32));
        f.instruction(&I::LocalGet(2));
        f.instruction(&I::LocalGet(3));
        f.instruction(&I::Call(prepare));
        f.instruction(&I::LocalTee(task));
        f.instruction(&I::Call(params));
        f.instruction(&I::LocalSet(base));
        store_slots(&mut f, base, 8, &p.params);
        f.instruction(&I::End);
        let i = g.func(&all, &[], &f);
        g.export_func(&k.to_string(), i);
    }
    g.finish()
}

/// What the thunks of one adapter call: the adapter module's helpers and
/// the callee, by signature.
#[derive(Clone, Debug)]
pub struct Thunks {
    /// The adapter's number in the glue's tables.
    pub adapter: u32,
    /// `[async-start]adapterN`.
    pub start: CoreSig,
    /// The callee (the lifted core function).
    pub callee: CoreSig,
    /// `[async-return]adapterN`.
    pub ret: CoreSig,
    /// Lifted with a callback (else lifted sync).
    pub callback: bool,
    /// The sync lift's post-return.
    pub post_return: bool,
    /// The parameter slot of the caller's return pointer, if results go
    /// through it.
    pub retptr: Option<u32>,
    /// The resource runtime exists: its borrow scope (`res.enter-sync-call`
    /// / `exit-sync-call`) spans the lowering of the parameters and the
    /// callee's first activation; a callback-lifted callee that has not
    /// returned by then keeps it (`res.park-scope`, `rt.set-scope`) until
    /// it completes (`task.return` / `task.cancel`: `res.end-scope`).
    pub resources: bool,
}

/// The thunks of one adapter. Imports `rt.{started, params, set-result,
/// sync-callee-returned, sync-callee-done}`, `rt.memory`, `glue.thunks`,
/// `glue.returns`, then `a.async-start`, `a.callee`, `a.async-return`, with
/// a callback `a.callback`, with a post-return `a.post-return` and
/// `a.flags` (the callee's `may_leave`), with resources
/// `res.{enter,exit}-sync-call`, and with both a callback and resources
/// `res.park-scope`, `rt.{lift-pending, set-scope}`. Fills its slots of the
/// tables.
pub fn thunks_module(t: &Thunks, n_adapters: u32) -> Vec<u8> {
    let mut g = Gen::default();
    let started = g.import_rt(RuntimeFunc::Started);
    let params = g.import_rt(RuntimeFunc::Params);
    let set_result = g.import_rt(RuntimeFunc::SetResult);
    let returned = g.import_rt(RuntimeFunc::SyncCalleeReturned);
    let done = g.import_rt(RuntimeFunc::SyncCalleeDone);
    g.import_memory(RT, RT_MEMORY);
    let (thunks, returns) = import_glue_tables(&mut g, n_adapters);
    let start = g.import_func("a", "async-start", &t.start);
    let callee = g.import_func("a", "callee", &t.callee);
    let ret = g.import_func("a", "async-return", &t.ret);
    let callback = t
        .callback
        .then(|| g.import_func("a", "callback", &CoreSig::new(vec![I32; 3], vec![I32])));
    let post_return = t.post_return.then(|| {
        g.import_func(
            "a",
            "post-return",
            &CoreSig::new(t.callee.results.clone(), vec![]),
        )
    });
    let flags = t.post_return.then(|| g.import_global("a", "flags"));
    let scope = t.resources.then(|| {
        (
            g.import_func(
                "res",
                "enter-sync-call",
                &CoreSig::new(vec![I32; 3], vec![]),
            ),
            g.import_func("res", "exit-sync-call", &CoreSig::new(vec![], vec![])),
        )
    });
    // With a callback: a task that has not returned by the end of its first
    // activation keeps its borrow scope, parked until it completes.
    let park = (t.resources && t.callback).then(|| {
        (
            g.import_func("res", "park-scope", &CoreSig::new(vec![], vec![I32])),
            g.import_rt(RuntimeFunc::LiftPending),
            g.import_rt(RuntimeFunc::SetScope),
        )
    });

    // Locals after the one parameter (task): base, the lift parameters
    // ([async-start]'s results), the callee's results.
    let lift_params = &t.start.results;
    let results = &t.callee.results;
    let mut locals = vec![(1, I32)];
    locals.extend(lift_params.iter().map(|v| (1, *v)));
    locals.extend(results.iter().map(|v| (1, *v)));
    let (task, base) = (0, 1);
    let lp0 = 2;
    let r0 = lp0 + lift_params.len() as u32;

    // Parameters in, `started`, the callee called.
    let call_callee = |f: &mut Function| {
        if let Some((enter, _)) = scope {
            for _ in 0..3 {
                f.instruction(&I::I32Const(0));
            }
            f.instruction(&I::Call(enter));
        }
        f.instruction(&I::LocalGet(task));
        f.instruction(&I::Call(params));
        f.instruction(&I::LocalSet(base));
        for (i, ty) in t.start.params.iter().enumerate() {
            load_slot(f, base, i as u32, *ty);
        }
        f.instruction(&I::Call(start));
        for i in (0..lift_params.len() as u32).rev() {
            f.instruction(&I::LocalSet(lp0 + i));
        }
        f.instruction(&I::LocalGet(task));
        f.instruction(&I::Call(started));
        for i in 0..lift_params.len() as u32 {
            f.instruction(&I::LocalGet(lp0 + i));
        }
        f.instruction(&I::Call(callee));
    };

    if let Some(cb) = callback {
        let mut f = Function::new(locals.clone());
        call_callee(&mut f);
        if let (Some((_, exit)), Some((park, pending, set_scope))) = (scope, park) {
            f.instruction(&I::LocalGet(task));
            f.instruction(&I::Call(pending));
            f.instruction(&I::If(BlockType::Empty));
            f.instruction(&I::LocalGet(task));
            f.instruction(&I::Call(park));
            f.instruction(&I::Call(set_scope));
            f.instruction(&I::Else);
            f.instruction(&I::Call(exit));
            f.instruction(&I::End);
        }
        f.instruction(&I::End);
        let s = g.func(&[I32], &[I32], &f);
        g.elem(thunks, t.adapter * THUNK_SLOTS, s);
        g.elem(thunks, t.adapter * THUNK_SLOTS + 2, cb);

        // task.return's thunk: (results..., task) -> ()
        let n = t.ret.params.len() as u32 - u32::from(t.retptr.is_some());
        let mut rp: Vec<ValType> = t.ret.params[..n as usize].to_vec();
        rp.push(I32);
        let rtask = n;
        // Locals: the task's parameter slots, the result as `i64`.
        let (rbase, rval) = (rtask + 1, rtask + 2);
        let mut f = Function::new([(1, I32), (1, I64)]);
        for i in 0..n {
            f.instruction(&I::LocalGet(i));
        }
        if let Some(slot) = t.retptr {
            f.instruction(&I::LocalGet(rtask));
            f.instruction(&I::Call(params));
            f.instruction(&I::LocalSet(rbase));
            load_slot(&mut f, rbase, slot, I32);
        }
        f.instruction(&I::Call(ret));
        if let Some(ty) = t.ret.results.first() {
            // A sync caller's one flat result, kept by the runtime.
            to_i64(&mut f, *ty);
            f.instruction(&I::LocalSet(rval));
            f.instruction(&I::LocalGet(rtask));
            f.instruction(&I::LocalGet(rval));
            f.instruction(&I::Call(set_result));
        }
        f.instruction(&I::End);
        let r = g.func(&rp, &[], &f);
        g.elem(returns, t.adapter, r);
    } else {
        // A sync lift started by an async lower: the whole call.
        let mut locals = locals.clone();
        locals.push((1, I64));
        let tmp = r0 + results.len() as u32;
        let mut f = Function::new(locals);
        call_callee(&mut f);
        for i in (0..results.len() as u32).rev() {
            f.instruction(&I::LocalSet(r0 + i));
        }
        if let Some((_, exit)) = scope {
            f.instruction(&I::Call(exit));
        }
        f.instruction(&I::LocalGet(task));
        f.instruction(&I::Call(returned));
        for i in 0..results.len() as u32 {
            f.instruction(&I::LocalGet(r0 + i));
        }
        if let Some(slot) = t.retptr {
            load_slot(&mut f, base, slot, I32);
        }
        f.instruction(&I::Call(ret));
        if let Some(ty) = t.ret.results.first() {
            to_i64(&mut f, *ty);
            f.instruction(&I::LocalSet(tmp));
            f.instruction(&I::LocalGet(task));
            f.instruction(&I::LocalGet(tmp));
            f.instruction(&I::Call(set_result));
        }
        if let (Some(pr), Some(flags)) = (post_return, flags) {
            // wasmtime clears the callee's may_leave around post-return.
            f.instruction(&I::I32Const(0));
            f.instruction(&I::GlobalSet(flags));
            for i in 0..results.len() as u32 {
                f.instruction(&I::LocalGet(r0 + i));
            }
            f.instruction(&I::Call(pr));
            f.instruction(&I::I32Const(1));
            f.instruction(&I::GlobalSet(flags));
        }
        f.instruction(&I::LocalGet(task));
        f.instruction(&I::Call(done));
        f.instruction(&I::End);
        let s = g.func(&[I32], &[], &f);
        g.elem(thunks, t.adapter * THUNK_SLOTS + 1, s);
    }
    g.finish()
}

/// One async built-in, as the shims module implements it. `flags` is the
/// calling component instance's flags global (its index among the
/// imported `flags.{i}`); `instance` its number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// `task.return` with core parameters `params`.
    TaskReturn {
        flags: u32,
        sig: u32,
        memory: u32,
        params: Vec<ValType>,
    },
    TaskCancel {
        flags: u32,
    },
    WaitableSetNew {
        flags: u32,
        instance: u32,
    },
    WaitableSetDrop {
        flags: u32,
        instance: u32,
    },
    WaitableJoin {
        flags: u32,
        instance: u32,
    },
    /// `waitable-set.wait` or `.poll` writing into memory `memory` (its
    /// number among the writers).
    WaitableSetWait {
        flags: u32,
        instance: u32,
        poll: bool,
        cancellable: bool,
        memory: u32,
    },
    SubtaskDrop {
        flags: u32,
        instance: u32,
    },
    SubtaskCancel {
        flags: u32,
        instance: u32,
        async_: bool,
    },
    Backpressure {
        instance: u32,
        inc: bool,
    },
    ThreadYield {
        flags: u32,
        cancellable: bool,
    },
    ContextGet {
        slot: u32,
    },
    ContextSet {
        slot: u32,
    },
    /// FACT's `async [start-call]`.
    AsyncStart,
    /// FACT's `sync [start-call]`, returning `results` (0 or 1 value).
    SyncStart {
        results: Vec<ValType>,
    },
    /// FACT's `enter-sync-call`, chained after the resource runtime's when
    /// it exists (`resources`).
    EnterSyncCall {
        resources: bool,
    },
    /// FACT's `exit-sync-call`, likewise.
    ExitSyncCall {
        resources: bool,
    },
    /// An async lower of a host import by component instance `instance`:
    /// the wrapper's lowering (`host.{host}` of [`builtins_module`]), its
    /// host subtask made one of the caller's.
    AsyncHostLower {
        instance: u32,
        host: u32,
    },
    /// `stream.new` / `future.new` of type `ty` (see
    /// [`RuntimeFunc::TransmitTable`]).
    TransmitNew {
        flags: u32,
        ty: u32,
    },
    /// `stream.read` / `write` (`(handle, addr, count) -> result`) or
    /// `future.read` / `write` (`(handle, addr) -> result`).
    TransmitCopy {
        flags: u32,
        ty: u32,
        write: bool,
        async_: bool,
    },
    /// `cancel-read` / `cancel-write` (`(handle) -> result`).
    TransmitCancel {
        flags: u32,
        ty: u32,
        write: bool,
        async_: bool,
    },
    /// `drop-readable` / `drop-writable` (`(handle)`).
    TransmitDrop {
        flags: u32,
        ty: u32,
        writable: bool,
    },
    /// FACT's `stream-transfer` / `future-transfer` (`(handle, src table,
    /// dst table) -> handle`; tables of futures when `future`). No
    /// `may_leave` check: FACT calls it inside an adapter.
    TransmitTransfer {
        future: bool,
    },
}

/// The shims of `builtins`, exported as `"k"`. Imports `rt.*` (each
/// [`RuntimeFunc`] in [`RuntimeFunc::ALL`] order), `rt.memory`,
/// `glue.returns`, `glue.write-event`, `flags.{i}` for `i` in
/// `0..n_flags`, and `res.enter-sync-call` / `res.exit-sync-call` /
/// `res.end-scope` (the resource runtime's, `(i32 i32 i32)`, `()` and
/// `(i32)`) when `resources`, then
/// `host.{k}` for each of `host_lowers` (the wrapper's async lowers of host
/// imports, by signature).
pub fn builtins_module(
    builtins: &[Builtin],
    n_flags: u32,
    n_adapters: u32,
    resources: bool,
    host_lowers: &[CoreSig],
) -> Vec<u8> {
    let mut g = Gen::default();
    let rt: Vec<u32> = RuntimeFunc::ALL.iter().map(|f| g.import_rt(*f)).collect();
    let rtf = |f: RuntimeFunc| rt[RuntimeFunc::ALL.iter().position(|x| *x == f).unwrap()];
    let write_event = g.import_func(GLUE, WRITE_EVENT, &CoreSig::new(vec![I32; 4], vec![]));
    let (res_enter, res_exit, res_end_scope) = if resources {
        (
            Some(g.import_func(
                "res",
                "enter-sync-call",
                &CoreSig::new(vec![I32; 3], vec![]),
            )),
            Some(g.import_func("res", "exit-sync-call", &CoreSig::new(vec![], vec![]))),
            Some(g.import_func("res", "end-scope", &CoreSig::new(vec![I32], vec![]))),
        )
    } else {
        (None, None, None)
    };
    // A completed task's parked borrow scope ends (`rt.take-scope`, then
    // `res.end-scope`), as wasmtime's `task_complete` checks it.
    let end_scope = |f: &mut Function, scratch: u32| {
        if let Some(end) = res_end_scope {
            f.instruction(&I::Call(rtf(RuntimeFunc::TakeScope)));
            f.instruction(&I::LocalTee(scratch));
            f.instruction(&I::If(BlockType::Empty));
            f.instruction(&I::LocalGet(scratch));
            f.instruction(&I::Call(end));
            f.instruction(&I::End);
        }
    };
    g.import_memory(RT, RT_MEMORY);
    let returns = g.import_table(GLUE, RETURNS, n_adapters.max(1));
    for i in 0..n_flags {
        g.import_global("flags", &i.to_string());
    }
    let host: Vec<u32> = host_lowers
        .iter()
        .enumerate()
        .map(|(k, sig)| g.import_func("host", &k.to_string(), sig))
        .collect();
    let c = |v: u32| I::I32Const(v as i32);
    for (k, b) in builtins.iter().enumerate() {
        let (params, results, f): (Vec<ValType>, Vec<ValType>, Function) = match b {
            Builtin::TaskReturn {
                flags,
                sig,
                memory,
                params,
            } => {
                let n = params.len() as u32;
                let mut f = Function::new([(1, I32)]);
                trap_unless_may_leave(&mut f, *flags);
                f.instruction(&c(*sig));
                f.instruction(&c(*memory));
                f.instruction(&I::Call(rtf(RuntimeFunc::TaskReturnBegin)));
                f.instruction(&I::LocalSet(n));
                for i in 0..n {
                    f.instruction(&I::LocalGet(i));
                }
                f.instruction(&I::LocalGet(n));
                f.instruction(&I::LocalGet(n));
                f.instruction(&I::Call(rtf(RuntimeFunc::AdapterOf)));
                let mut tp = params.clone();
                tp.push(I32);
                let ty = g.ty(&tp, &[]);
                f.instruction(&I::CallIndirect {
                    type_index: ty,
                    table_index: returns,
                });
                f.instruction(&I::LocalGet(n));
                f.instruction(&I::Call(rtf(RuntimeFunc::TaskReturnEnd)));
                end_scope(&mut f, n);
                (params.clone(), vec![], f)
            }
            Builtin::TaskCancel { flags } => {
                let mut f = Function::new([(1, I32)]);
                trap_unless_may_leave(&mut f, *flags);
                f.instruction(&I::Call(rtf(RuntimeFunc::TaskCancel)));
                end_scope(&mut f, 0);
                (vec![], vec![], f)
            }
            Builtin::WaitableSetNew { flags, instance } => {
                let mut f = Function::new([]);
                trap_unless_may_leave(&mut f, *flags);
                f.instruction(&c(*instance));
                f.instruction(&I::Call(rtf(RuntimeFunc::WaitableSetNew)));
                (vec![], vec![I32], f)
            }
            Builtin::WaitableSetDrop { flags, instance }
            | Builtin::SubtaskDrop { flags, instance } => {
                let mut f = Function::new([]);
                trap_unless_may_leave(&mut f, *flags);
                f.instruction(&c(*instance));
                f.instruction(&I::LocalGet(0));
                f.instruction(&I::Call(rtf(if matches!(b, Builtin::SubtaskDrop { .. }) {
                    RuntimeFunc::SubtaskDrop
                } else {
                    RuntimeFunc::WaitableSetDrop
                })));
                (vec![I32], vec![], f)
            }
            Builtin::WaitableJoin { flags, instance } => {
                let mut f = Function::new([]);
                trap_unless_may_leave(&mut f, *flags);
                f.instruction(&c(*instance));
                f.instruction(&I::LocalGet(0));
                f.instruction(&I::LocalGet(1));
                f.instruction(&I::Call(rtf(RuntimeFunc::WaitableJoin)));
                (vec![I32, I32], vec![], f)
            }
            Builtin::WaitableSetWait {
                flags,
                instance,
                poll,
                cancellable,
                memory,
            } => {
                // (set, ptr) -> event code; handle and payload at ptr.
                let (code, out) = (2, 3);
                let mut f = Function::new([(2, I32)]);
                trap_unless_may_leave(&mut f, *flags);
                f.instruction(&c(*instance));
                f.instruction(&I::LocalGet(0));
                f.instruction(&c(u32::from(*cancellable)));
                f.instruction(&I::Call(rtf(if *poll {
                    RuntimeFunc::WaitableSetPoll
                } else {
                    RuntimeFunc::WaitableSetWait
                })));
                f.instruction(&I::LocalSet(code));
                f.instruction(&I::Call(rtf(RuntimeFunc::EventOut)));
                f.instruction(&I::LocalSet(out));
                f.instruction(&c(*memory));
                f.instruction(&I::LocalGet(1));
                f.instruction(&I::LocalGet(out));
                f.instruction(&I::I32Load(mem(0, 2, 0)));
                f.instruction(&I::LocalGet(out));
                f.instruction(&I::I32Load(mem(4, 2, 0)));
                f.instruction(&I::Call(write_event));
                f.instruction(&I::LocalGet(code));
                (vec![I32, I32], vec![I32], f)
            }
            Builtin::SubtaskCancel {
                flags,
                instance,
                async_,
            } => {
                let mut f = Function::new([]);
                trap_unless_may_leave(&mut f, *flags);
                f.instruction(&c(*instance));
                f.instruction(&I::LocalGet(0));
                f.instruction(&c(u32::from(*async_)));
                f.instruction(&I::Call(rtf(RuntimeFunc::SubtaskCancel)));
                (vec![I32], vec![I32], f)
            }
            Builtin::Backpressure { instance, inc } => {
                let mut f = Function::new([]);
                f.instruction(&c(*instance));
                f.instruction(&I::Call(rtf(if *inc {
                    RuntimeFunc::BackpressureInc
                } else {
                    RuntimeFunc::BackpressureDec
                })));
                (vec![], vec![], f)
            }
            Builtin::ThreadYield { flags, cancellable } => {
                let mut f = Function::new([]);
                trap_unless_may_leave(&mut f, *flags);
                f.instruction(&c(u32::from(*cancellable)));
                f.instruction(&I::Call(rtf(RuntimeFunc::ThreadYield)));
                (vec![], vec![I32], f)
            }
            Builtin::ContextGet { slot } => {
                let mut f = Function::new([]);
                f.instruction(&c(*slot));
                f.instruction(&I::Call(rtf(RuntimeFunc::ContextGet)));
                (vec![], vec![I32], f)
            }
            Builtin::ContextSet { slot } => {
                let mut f = Function::new([]);
                f.instruction(&c(*slot));
                f.instruction(&I::LocalGet(0));
                f.instruction(&I::Call(rtf(RuntimeFunc::ContextSet)));
                (vec![I32], vec![], f)
            }
            Builtin::AsyncStart => {
                let mut f = Function::new([]);
                f.instruction(&I::Call(rtf(RuntimeFunc::AsyncStart)));
                (
                    vec![ValType::Ref(RefType::FUNCREF), I32, I32, I32],
                    vec![I32],
                    f,
                )
            }
            Builtin::SyncStart { results } => {
                let mut f = Function::new([]);
                f.instruction(&I::Call(rtf(RuntimeFunc::SyncStart)));
                match results.first() {
                    Some(ty) => from_i64(&mut f, *ty),
                    None => {
                        f.instruction(&I::Drop);
                    }
                }
                (
                    vec![ValType::Ref(RefType::FUNCREF), I32],
                    results.clone(),
                    f,
                )
            }
            Builtin::EnterSyncCall { .. } => {
                let mut f = Function::new([]);
                if let Some(e) = res_enter {
                    for l in 0..3 {
                        f.instruction(&I::LocalGet(l));
                    }
                    f.instruction(&I::Call(e));
                }
                f.instruction(&I::Call(rtf(RuntimeFunc::EnterSyncCall)));
                (vec![I32; 3], vec![], f)
            }
            Builtin::ExitSyncCall { .. } => {
                let mut f = Function::new([]);
                f.instruction(&I::Call(rtf(RuntimeFunc::ExitSyncCall)));
                if let Some(e) = res_exit {
                    f.instruction(&I::Call(e));
                }
                (vec![], vec![], f)
            }
            Builtin::TransmitNew { flags, ty } => {
                let mut f = Function::new([]);
                trap_unless_may_leave(&mut f, *flags);
                f.instruction(&c(*ty));
                f.instruction(&I::Call(rtf(RuntimeFunc::TransmitNew)));
                (vec![], vec![I64], f)
            }
            Builtin::TransmitCopy {
                flags,
                ty,
                write,
                async_,
            } => {
                let future = ty & 1 != 0;
                let mut f = Function::new([]);
                trap_unless_may_leave(&mut f, *flags);
                f.instruction(&c(*ty));
                f.instruction(&I::LocalGet(0));
                f.instruction(&I::LocalGet(1));
                if future {
                    f.instruction(&c(1));
                } else {
                    f.instruction(&I::LocalGet(2));
                }
                f.instruction(&c(u32::from(*write) | u32::from(*async_) << 1));
                f.instruction(&I::Call(rtf(RuntimeFunc::TransmitCopy)));
                let params = if future { vec![I32; 2] } else { vec![I32; 3] };
                (params, vec![I32], f)
            }
            Builtin::TransmitCancel {
                flags,
                ty,
                write,
                async_,
            } => {
                let mut f = Function::new([]);
                trap_unless_may_leave(&mut f, *flags);
                f.instruction(&c(*ty));
                f.instruction(&I::LocalGet(0));
                f.instruction(&c(u32::from(*write) | u32::from(*async_) << 1));
                f.instruction(&I::Call(rtf(RuntimeFunc::TransmitCancel)));
                (vec![I32], vec![I32], f)
            }
            Builtin::TransmitDrop {
                flags,
                ty,
                writable,
            } => {
                let mut f = Function::new([]);
                trap_unless_may_leave(&mut f, *flags);
                f.instruction(&c(*ty));
                f.instruction(&I::LocalGet(0));
                f.instruction(&c(u32::from(*writable)));
                f.instruction(&I::Call(rtf(RuntimeFunc::TransmitDrop)));
                (vec![I32], vec![], f)
            }
            Builtin::TransmitTransfer { future } => {
                // Types are `table << 1 | future`.
                let mut f = Function::new([]);
                f.instruction(&I::LocalGet(0));
                for table in [1, 2] {
                    f.instruction(&I::LocalGet(table));
                    f.instruction(&c(1));
                    f.instruction(&I::I32Shl);
                    f.instruction(&c(u32::from(*future)));
                    f.instruction(&I::I32Or);
                }
                f.instruction(&I::Call(rtf(RuntimeFunc::TransmitTransfer)));
                (vec![I32; 3], vec![I32], f)
            }
            Builtin::AsyncHostLower { instance, host: k } => {
                // The stub checks the caller's may_leave.
                let sig = &host_lowers[*k as usize];
                let mut f = Function::new([(1, I32)]);
                for l in 0..sig.params.len() as u32 {
                    f.instruction(&I::LocalGet(l));
                }
                f.instruction(&I::Call(host[*k as usize]));
                f.instruction(&I::LocalSet(sig.params.len() as u32));
                f.instruction(&c(*instance));
                f.instruction(&I::LocalGet(sig.params.len() as u32));
                f.instruction(&I::Call(rtf(RuntimeFunc::HostSubtask)));
                (sig.params.clone(), vec![I32], f)
            }
        };
        let mut f = f;
        f.instruction(&I::End);
        let i = g.func(&params, &results, &f);
        g.export_func(&k.to_string(), i);
    }
    g.finish()
}

/// The event writer of one memory: `(ptr, handle, payload)` stores the two
/// `u32`s at `ptr` (wasmtime checks alignment 4 and bounds: a misaligned
/// pointer traps here, an out-of-bounds one at the store). Imports
/// `m.memory` and `glue.writers`; fills slot `memory`.
pub fn writer_module(memory: u32, n_memories: u32) -> Vec<u8> {
    let mut g = Gen::default();
    g.import_memory("m", "memory");
    let writers = g.import_table(GLUE, WRITERS, n_memories.max(1));
    let mut f = Function::new([]);
    f.instruction(&I::LocalGet(0));
    f.instruction(&I::I32Const(3));
    f.instruction(&I::I32And);
    f.instruction(&I::If(BlockType::Empty));
    f.instruction(&I::Unreachable);
    f.instruction(&I::End);
    // Bounds first, as wasmtime validates the whole pair before writing.
    f.instruction(&I::LocalGet(0));
    f.instruction(&I::I32Load(mem(4, 2, 0)));
    f.instruction(&I::Drop);
    f.instruction(&I::LocalGet(0));
    f.instruction(&I::LocalGet(1));
    f.instruction(&I::I32Store(mem(0, 2, 0)));
    f.instruction(&I::LocalGet(0));
    f.instruction(&I::LocalGet(2));
    f.instruction(&I::I32Store(mem(4, 2, 0)));
    f.instruction(&I::End);
    let w = g.func(&[I32, I32, I32], &[], &f);
    g.elem(writers, memory, w);
    g.finish()
}

/// The entry and exit of a sync-ABI outer export of component instance
/// `instance` whose function type is `async` when `async_function`: the
/// call runs as a task of the runtime, from `rt.host-call-begin` in
/// `"entry"` (the callee's signature) to `rt.host-call-end` in `"exit"`,
/// the post-return the wrapper names (`(results...)`: the inner
/// `a.post-return` when `post_return`, then the end of the task), so that
/// the post-return runs in the call's task as in wasmtime. Imports
/// `rt.host-call-begin`, `rt.host-call-end`, `a.callee`, and with
/// `post_return` `a.post-return`.
pub fn entry_module(
    instance: u32,
    async_function: bool,
    callee: &CoreSig,
    post_return: bool,
) -> Vec<u8> {
    let mut g = Gen::default();
    let begin = g.import_rt(RuntimeFunc::HostCallBegin);
    let end = g.import_rt(RuntimeFunc::HostCallEnd);
    let f_callee = g.import_func("a", "callee", callee);
    let pr = post_return.then(|| {
        g.import_func(
            "a",
            "post-return",
            &CoreSig::new(callee.results.clone(), vec![]),
        )
    });
    let n = callee.params.len() as u32;
    let mut f = Function::new([]);
    f.instruction(&I::I32Const(instance as i32));
    f.instruction(&I::I32Const(i32::from(async_function)));
    f.instruction(&I::Call(begin));
    f.instruction(&I::Drop);
    for i in 0..n {
        f.instruction(&I::LocalGet(i));
    }
    f.instruction(&I::Call(f_callee));
    f.instruction(&I::End);
    let e = g.func(&callee.params, &callee.results, &f);
    g.export_func("entry", e);
    let mut f = Function::new([]);
    if let Some(pr) = pr {
        for i in 0..callee.results.len() as u32 {
            f.instruction(&I::LocalGet(i));
        }
        f.instruction(&I::Call(pr));
    }
    f.instruction(&I::Call(end));
    f.instruction(&I::End);
    let x = g.func(&callee.results, &[], &f);
    g.export_func("exit", x);
    g.finish()
}

/// An outer export lifted with the async ABI and a callback.
#[derive(Clone, Debug)]
pub struct OuterExport {
    /// Its number in the glue's tables (after the adapters').
    pub adapter: u32,
    /// The component instance it is lifted from.
    pub instance: u32,
    /// Its core parameters (the lift's: flat, or one pointer).
    pub params: Vec<ValType>,
    /// Its `task.return`'s core parameters.
    pub results: Vec<ValType>,
    /// `task.return`'s signature id and memory plus one (as prepare-call's).
    pub return_sig: u32,
    pub return_memory: u32,
}

/// The glue of an outer export lifted with the async ABI: the start thunk
/// (parameters from the task's slots, `started`, the inner callee), the
/// inner callback and a return thunk that hands `task.return`'s results to
/// the host's `task.return`, in the glue's tables; then the fused module's
/// `"entry"` (the lift's signature: a task for the call, its parameters
/// stored, run: the callback code) and `"callback"` (the host calls it with
/// events: inner work runs). The inner task is kept in the wrapper's
/// context slot 0. Imports `rt.{started, params, outer-start, outer-run,
/// outer-drive}`, `rt.memory`, `glue.thunks`, `glue.returns`, `a.callee`,
/// `a.callback`, `a.task-return`, `a.context-get`, `a.context-set`.
pub fn outer_export_module(o: &OuterExport, n_adapters: u32) -> Vec<u8> {
    let mut g = Gen::default();
    let started = g.import_rt(RuntimeFunc::Started);
    let params = g.import_rt(RuntimeFunc::Params);
    let start = g.import_rt(RuntimeFunc::OuterStart);
    let run = g.import_rt(RuntimeFunc::OuterRun);
    let drive = g.import_rt(RuntimeFunc::OuterDrive);
    g.import_memory(RT, RT_MEMORY);
    let (thunks, returns) = import_glue_tables(&mut g, n_adapters);
    let callee = g.import_func("a", "callee", &CoreSig::new(o.params.clone(), vec![I32]));
    let callback = g.import_func("a", "callback", &CoreSig::new(vec![I32; 3], vec![I32]));
    let task_return = g.import_func("a", "task-return", &CoreSig::new(o.results.clone(), vec![]));
    let ctx_get = g.import_func("a", "context-get", &CoreSig::new(vec![], vec![I32]));
    let ctx_set = g.import_func("a", "context-set", &CoreSig::new(vec![I32], vec![]));

    // Start thunk: (task) -> code.
    let (task, base) = (0, 1);
    let mut f = Function::new([(1, I32)]);
    f.instruction(&I::LocalGet(task));
    f.instruction(&I::Call(params));
    f.instruction(&I::LocalSet(base));
    f.instruction(&I::LocalGet(task));
    f.instruction(&I::Call(started));
    for (i, ty) in o.params.iter().enumerate() {
        load_slot(&mut f, base, i as u32, *ty);
    }
    f.instruction(&I::Call(callee));
    f.instruction(&I::End);
    let s = g.func(&[I32], &[I32], &f);
    g.elem(thunks, o.adapter * THUNK_SLOTS, s);
    g.elem(thunks, o.adapter * THUNK_SLOTS + 2, callback);

    // Return thunk: (results..., task) -> () to the host.
    let n = o.results.len() as u32;
    let mut rp = o.results.clone();
    rp.push(I32);
    let mut f = Function::new([]);
    for i in 0..n {
        f.instruction(&I::LocalGet(i));
    }
    f.instruction(&I::Call(task_return));
    f.instruction(&I::End);
    let r = g.func(&rp, &[], &f);
    g.elem(returns, o.adapter, r);

    // entry: (params...) -> code.
    let n = o.params.len() as u32;
    let (t, b) = (n, n + 1);
    let mut f = Function::new([(2, I32)]);
    f.instruction(&I::I32Const(o.instance as i32));
    f.instruction(&I::I32Const(o.adapter as i32));
    f.instruction(&I::I32Const(o.return_sig as i32));
    f.instruction(&I::I32Const(o.return_memory as i32));
    f.instruction(&I::Call(start));
    f.instruction(&I::LocalTee(t));
    f.instruction(&I::Call(ctx_set));
    f.instruction(&I::LocalGet(t));
    f.instruction(&I::Call(params));
    f.instruction(&I::LocalSet(b));
    store_slots(&mut f, b, 0, &o.params);
    f.instruction(&I::LocalGet(t));
    f.instruction(&I::Call(run));
    f.instruction(&I::End);
    let e = g.func(&o.params, &[I32], &f);
    g.export_func("entry", e);

    // callback: (event, handle, payload) -> code.
    let mut f = Function::new([]);
    f.instruction(&I::Call(ctx_get));
    for l in 0..3 {
        f.instruction(&I::LocalGet(l));
    }
    f.instruction(&I::Call(drive));
    f.instruction(&I::End);
    let c = g.func(&[I32, I32, I32], &[I32], &f);
    g.export_func("callback", c);
    g.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(bytes: &[u8]) {
        let mut f = wasmparser::WasmFeatures::default();
        f |= wasmparser::WasmFeatures::MULTI_MEMORY;
        wasmparser::Validator::new_with_features(f)
            .validate_all(bytes)
            .unwrap_or_else(|e| panic!("invalid: {e}"));
    }

    /// Every generated module validates, in each shape.
    #[test]
    fn generated_modules_validate() {
        valid(&glue_module(3, 2, true, true));
        valid(&glue_module(0, 0, false, false));
        valid(&init_module(4, false, &[]));
        valid(&init_module(2, true, &[(0, 1), (1, 0), (3, 1)]));
        valid(&prepare_module(&[
            Prepare {
                adapter: 0,
                callback: true,
                return_memory: 1,
                params: vec![I32, I32],
            },
            Prepare {
                adapter: 1,
                callback: false,
                return_memory: 0,
                params: vec![I64, ValType::F64, I32],
            },
        ]));
        let callback = Thunks {
            adapter: 1,
            start: CoreSig::new(vec![I32, I32], vec![I32, I32]),
            callee: CoreSig::new(vec![I32, I32], vec![I32]),
            ret: CoreSig::new(vec![I32, I32, I32], vec![]),
            callback: true,
            post_return: false,
            retptr: Some(2),
            resources: true,
        };
        valid(&thunks_module(&callback, 2));
        let sync_caller = Thunks {
            ret: CoreSig::new(vec![I64], vec![I64]),
            retptr: None,
            ..callback.clone()
        };
        valid(&thunks_module(&sync_caller, 2));
        let sync_lift = Thunks {
            adapter: 0,
            start: CoreSig::new(vec![I32], vec![I32]),
            callee: CoreSig::new(vec![I32], vec![I32]),
            ret: CoreSig::new(vec![I32, I32], vec![]),
            callback: false,
            post_return: true,
            retptr: Some(1),
            resources: false,
        };
        valid(&thunks_module(&sync_lift, 2));
        valid(&builtins_module(
            &[
                Builtin::TaskReturn {
                    flags: 0,
                    sig: 9,
                    memory: 1,
                    params: vec![I32, I64],
                },
                Builtin::TaskCancel { flags: 1 },
                Builtin::WaitableSetNew {
                    flags: 0,
                    instance: 0,
                },
                Builtin::WaitableSetDrop {
                    flags: 0,
                    instance: 0,
                },
                Builtin::WaitableJoin {
                    flags: 0,
                    instance: 0,
                },
                Builtin::WaitableSetWait {
                    flags: 0,
                    instance: 0,
                    poll: true,
                    cancellable: false,
                    memory: 0,
                },
                Builtin::SubtaskDrop {
                    flags: 0,
                    instance: 0,
                },
                Builtin::SubtaskCancel {
                    flags: 0,
                    instance: 0,
                    async_: true,
                },
                Builtin::Backpressure {
                    instance: 0,
                    inc: true,
                },
                Builtin::ThreadYield {
                    flags: 0,
                    cancellable: true,
                },
                Builtin::ContextGet { slot: 0 },
                Builtin::ContextSet { slot: 1 },
                Builtin::AsyncStart,
                Builtin::SyncStart {
                    results: vec![ValType::F32],
                },
                Builtin::SyncStart { results: vec![] },
                Builtin::EnterSyncCall { resources: true },
                Builtin::ExitSyncCall { resources: true },
                Builtin::AsyncHostLower {
                    instance: 1,
                    host: 0,
                },
                Builtin::TransmitNew { flags: 0, ty: 1 },
                Builtin::TransmitCopy {
                    flags: 0,
                    ty: 0,
                    write: true,
                    async_: true,
                },
                Builtin::TransmitCopy {
                    flags: 1,
                    ty: 3,
                    write: false,
                    async_: false,
                },
                Builtin::TransmitCancel {
                    flags: 0,
                    ty: 2,
                    write: false,
                    async_: true,
                },
                Builtin::TransmitDrop {
                    flags: 1,
                    ty: 1,
                    writable: true,
                },
                Builtin::TransmitTransfer { future: true },
                Builtin::TransmitTransfer { future: false },
            ],
            2,
            3,
            true,
            &[CoreSig::new(vec![I32, I32], vec![I32])],
        ));
        valid(&writer_module(1, 2));
        valid(&outer_export_module(
            &OuterExport {
                adapter: 2,
                instance: 1,
                params: vec![I32, I64],
                results: vec![I32, I32],
                return_sig: 4,
                return_memory: 1,
            },
            3,
        ));
        valid(&entry_module(
            1,
            true,
            &CoreSig::new(vec![I32], vec![I32]),
            true,
        ));
        valid(&entry_module(
            1,
            false,
            &CoreSig::new(vec![I32], vec![]),
            false,
        ));
    }
}
