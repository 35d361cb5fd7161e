//! The resource runtime's generated parts, around `resources.wat`.
//!
//! | module | instantiated | provides |
//! | --- | --- | --- |
//! | [`config_module`] | once, before the runtime | the runtime's memory with the resource-type table, the table of hooks |
//! | [`runtime_module`] | once | handle tables, scopes, built-ins, transfers (`resources.wat`) |
//! | [`shims_module`] | once | one function per `canon resource.new / rep / drop` of an inner instance, and the wrapper's destructors |
//! | [`set_hook_module`] | once per destructor | puts an inner destructor into its hook slot once its instance exists |
//! | [`lift_shim_module`] | once per adapted export, and per adapted import with results in memory | the lift-flavoured entry of a boundary adapter |

use super::flags_check;
use wasm_encoder::{
    CodeSection, ConstExpr, DataSection, ElementSection, Elements, EntityType, ExportKind,
    ExportSection, Function, FunctionSection, GlobalSection, GlobalType, ImportSection,
    Instruction, MemorySection, MemoryType, Module, RefType, TableSection, TableType, TypeSection,
    ValType,
};

/// The runtime's ABI, shared with `resources.wat` (see `abi.rs`).
pub mod abi {
    include!("abi.rs");
}

pub use abi::{
    DEFINER, DTOR, HOOK_DROP, HOOK_OUTER_DROP, HOOK_OUTER_NEW, HOOK_OUTER_REP, HOST, OUTER,
};

/// Hook slots per resource (see `resources.wat`).
pub const HOOKS_PER_RESOURCE: u32 = 1 << abi::HOOKS_SHIFT;

/// One entry of the resource-type table: for `TypeResourceTableIndex` `i`,
/// entry `i`.
#[derive(Clone, Copy, Debug)]
pub struct TypeEntry {
    /// The component instance whose handle table holds this type's handles.
    pub table: u32,
    /// Resource index and flag bits ([`DEFINER`], [`OUTER`], [`HOST`], [`DTOR`]).
    pub info: u32,
}

/// A function the resource runtime (`resources.wat`) exports: the one list
/// of its export names, for the planner that links callers to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuntimeFunc {
    /// `new(ty, rep) -> handle`: `resource.new`.
    New,
    /// `rep(ty, handle) -> rep`: `resource.rep`.
    Rep,
    /// `drop(ty, handle)`: `resource.drop`.
    Drop,
    /// `transfer-own(handle, src, dst) -> handle`.
    TransferOwn,
    /// `transfer-borrow(handle, src, dst) -> handle`.
    TransferBorrow,
    /// `enter-sync-call(caller, callee, ...)`: opens a borrow scope.
    EnterSyncCall,
    /// `exit-sync-call()`: closes it.
    ExitSyncCall,
    /// `outer-dtor(resource, dtor, rep)`: the wrapper's destructor of an
    /// exported resource.
    OuterDtor,
    /// `park-scope() -> scope`: the top borrow scope, an async task's that
    /// has not returned by the end of its first activation, leaves the
    /// stack (with its borrows and lends) until `end-scope`.
    ParkScope,
    /// `end-scope(scope)`: the task of a parked scope completed: traps if
    /// borrows remain, ends its lends.
    EndScope,
    /// `handle-alloc(table) -> handle`: a handle of the async runtime in
    /// instance `table`'s table, numbered with the resources.
    HandleAlloc,
    /// `handle-free(table, handle)`.
    HandleFree,
}

impl RuntimeFunc {
    /// Every function, in the runtime's export order.
    pub const ALL: [RuntimeFunc; 12] = [
        RuntimeFunc::EnterSyncCall,
        RuntimeFunc::ExitSyncCall,
        RuntimeFunc::ParkScope,
        RuntimeFunc::EndScope,
        RuntimeFunc::HandleAlloc,
        RuntimeFunc::HandleFree,
        RuntimeFunc::New,
        RuntimeFunc::Rep,
        RuntimeFunc::Drop,
        RuntimeFunc::TransferOwn,
        RuntimeFunc::TransferBorrow,
        RuntimeFunc::OuterDtor,
    ];

    /// The export name in `resources.wat`.
    pub fn name(self) -> &'static str {
        match self {
            RuntimeFunc::New => "new",
            RuntimeFunc::Rep => "rep",
            RuntimeFunc::Drop => "drop",
            RuntimeFunc::TransferOwn => "transfer-own",
            RuntimeFunc::TransferBorrow => "transfer-borrow",
            RuntimeFunc::EnterSyncCall => "enter-sync-call",
            RuntimeFunc::ExitSyncCall => "exit-sync-call",
            RuntimeFunc::OuterDtor => "outer-dtor",
            RuntimeFunc::ParkScope => "park-scope",
            RuntimeFunc::EndScope => "end-scope",
            RuntimeFunc::HandleAlloc => "handle-alloc",
            RuntimeFunc::HandleFree => "handle-free",
        }
    }

    /// The function exported as `name`, if any.
    pub fn parse(name: &str) -> Option<RuntimeFunc> {
        RuntimeFunc::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The runtime (`resources.wat`): imports `config.{memory, headers, heap,
/// hooks}`; exports the [`RuntimeFunc`]s.
pub fn runtime_module() -> &'static [u8] {
    intrinsic!("resources")
}

/// The scratch memory of the outer instance (`scratch.wat`): exports
/// `memory`, `realloc`, `enter`, and the post-returns `release*` (of an
/// outer import) and `reset*` (of an outer export).
pub fn scratch_module() -> &'static [u8] {
    intrinsic!("scratch")
}

/// The post-return of [`scratch_module`] taking `params`: of an outer
/// export (`reset*`: frees everything) or of an outer import called during
/// one (`release*`: frees what the import allocated).
pub fn scratch_reset_export(params: &[ValType], export: bool) -> &'static str {
    match (params, export) {
        ([ValType::I32], true) => "reset-i32",
        ([ValType::I64], true) => "reset-i64",
        ([ValType::F32], true) => "reset-f32",
        ([ValType::F64], true) => "reset-f64",
        (_, true) => "reset",
        ([ValType::I32], false) => "release-i32",
        ([ValType::I64], false) => "release-i64",
        ([ValType::F32], false) => "release-f32",
        ([ValType::F64], false) => "release-f64",
        (_, false) => "release",
    }
}

/// A hook function the configuration module imports as `hooks.{k}`, put in
/// hook slot `slot`.
pub struct Hook {
    /// The slot in the hooks table.
    pub slot: u32,
    /// Whether it returns an `i32` (`resource.new` / `resource.rep`) or
    /// nothing (drops).
    pub returns: bool,
}

/// The runtime's configuration: its memory, holding the resource-type table
/// at address 0, then the vector headers (scopes, lends, one handle table per
/// component instance); globals `headers` and `heap`; the `hooks` table
/// (4 slots per resource) with the `hooks` given, imported as `hooks.{k}`.
pub fn config_module(
    types: &[TypeEntry],
    n_tables: u32,
    n_resources: u32,
    hooks: &[Hook],
) -> Vec<u8> {
    let mut ty = TypeSection::new();
    ty.ty().function([ValType::I32], []);
    ty.ty().function([ValType::I32], [ValType::I32]);
    let mut imports = ImportSection::new();
    for (k, h) in hooks.iter().enumerate() {
        imports.import(
            "hooks",
            &k.to_string(),
            EntityType::Function(u32::from(h.returns)),
        );
    }
    let headers = ((types.len() as u64) << abi::TYPE_ENTRY_SHIFT).next_multiple_of(16);
    let heap =
        headers + u64::from(abi::TABLE_HEADERS) + (u64::from(n_tables) << abi::VECTOR_HEADER_SHIFT);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: heap.div_ceil(65536).max(1),
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let n_hooks = u64::from(n_resources * HOOKS_PER_RESOURCE);
    let mut tables = TableSection::new();
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        table64: false,
        minimum: n_hooks,
        maximum: Some(n_hooks),
        shared: false,
    });
    let mut globals = GlobalSection::new();
    for v in [headers, heap] {
        globals.global(
            GlobalType {
                val_type: ValType::I32,
                mutable: false,
                shared: false,
            },
            &ConstExpr::i32_const(v as i32),
        );
    }
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export("headers", ExportKind::Global, 0);
    exports.export("heap", ExportKind::Global, 1);
    exports.export("hooks", ExportKind::Table, 0);
    let mut elems = ElementSection::new();
    for (k, h) in hooks.iter().enumerate() {
        elems.active(
            Some(0),
            &ConstExpr::i32_const(h.slot as i32),
            Elements::Functions([k as u32].as_slice().into()),
        );
    }
    let mut data = DataSection::new();
    let bytes: Vec<u8> = types
        .iter()
        .flat_map(|t| {
            t.table
                .to_le_bytes()
                .into_iter()
                .chain(t.info.to_le_bytes())
        })
        .collect();
    data.active(0, &ConstExpr::i32_const(0), bytes);
    let mut m = Module::new();
    m.section(&ty)
        .section(&imports)
        .section(&tables)
        .section(&memories)
        .section(&globals)
        .section(&exports)
        .section(&elems)
        .section(&data);
    m.finish()
}

/// One function of [`shims_module`].
#[derive(Clone, Debug)]
pub enum Shim {
    /// `canon resource.new` for `ty`: `(rep) -> handle`; checks `may_leave`
    /// of the component instance `flags`.
    New {
        /// Resource table index.
        ty: u32,
        /// The calling component instance.
        flags: u32,
    },
    /// `canon resource.rep` for `ty`: `(handle) -> rep`.
    Rep {
        /// Resource table index.
        ty: u32,
    },
    /// `canon resource.drop` for `ty`: `(handle)`; checks `may_leave`.
    Drop {
        /// Resource table index.
        ty: u32,
        /// The calling component instance.
        flags: u32,
    },
    /// The wrapper's destructor of exported resource `resource`: `(rep)`.
    OuterDtor {
        /// Resource index.
        resource: u32,
        /// Whether the inner resource has a destructor.
        has_dtor: bool,
    },
}

/// The shims: imports `rt.{new, rep, drop, outer-dtor}` and `flags.{i}` for
/// `i` in `0..n_flags`; exports shim `k` as `"k"`.
pub fn shims_module(shims: &[Shim], n_flags: u32) -> Vec<u8> {
    use ValType::I32;
    let mut types = TypeSection::new();
    types.ty().function([I32, I32], [I32]); // 0: new, rep
    types.ty().function([I32, I32], []); // 1: drop
    types.ty().function([I32, I32, I32], []); // 2: outer-dtor
    types.ty().function([I32], [I32]); // 3
    types.ty().function([I32], []); // 4
    let mut imports = ImportSection::new();
    imports.import("rt", "new", EntityType::Function(0));
    imports.import("rt", "rep", EntityType::Function(0));
    imports.import("rt", "drop", EntityType::Function(1));
    imports.import("rt", "outer-dtor", EntityType::Function(2));
    for i in 0..n_flags {
        imports.import(
            "flags",
            &i.to_string(),
            EntityType::Global(GlobalType {
                val_type: I32,
                mutable: true,
                shared: false,
            }),
        );
    }
    let (new, rep, drop, outer_dtor) = (0, 1, 2, 3);
    let mut funcs = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    for (k, shim) in shims.iter().enumerate() {
        let mut f = Function::new([]);
        let ty = match *shim {
            Shim::New { ty, flags } => {
                flags_check(&mut f, flags);
                f.instruction(&Instruction::I32Const(ty as i32));
                f.instruction(&Instruction::LocalGet(0));
                f.instruction(&Instruction::Call(new));
                3
            }
            Shim::Rep { ty } => {
                f.instruction(&Instruction::I32Const(ty as i32));
                f.instruction(&Instruction::LocalGet(0));
                f.instruction(&Instruction::Call(rep));
                3
            }
            Shim::Drop { ty, flags } => {
                flags_check(&mut f, flags);
                f.instruction(&Instruction::I32Const(ty as i32));
                f.instruction(&Instruction::LocalGet(0));
                f.instruction(&Instruction::Call(drop));
                4
            }
            Shim::OuterDtor { resource, has_dtor } => {
                f.instruction(&Instruction::I32Const(resource as i32));
                f.instruction(&Instruction::I32Const(i32::from(has_dtor)));
                f.instruction(&Instruction::LocalGet(0));
                f.instruction(&Instruction::Call(outer_dtor));
                4
            }
        };
        f.instruction(&Instruction::End);
        funcs.function(ty);
        exports.export(&k.to_string(), ExportKind::Func, 4 + k as u32);
        code.function(&f);
    }
    code_module(&types, &imports, &funcs, &exports, &code)
}

/// Puts the imported `f: (i32) -> ()` into slot `slot` of the imported
/// table `t` (an active element segment: applied in instantiation order).
pub fn set_hook_module(slot: u32) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32], []);
    let mut imports = ImportSection::new();
    imports.import(
        "",
        "t",
        EntityType::Table(TableType {
            element_type: RefType::FUNCREF,
            table64: false,
            minimum: u64::from(slot) + 1,
            maximum: None,
            shared: false,
        }),
    );
    imports.import("", "f", EntityType::Function(0));
    let mut elems = ElementSection::new();
    elems.active(
        Some(0),
        &ConstExpr::i32_const(slot as i32),
        Elements::Functions([0u32].as_slice().into()),
    );
    let mut m = Module::new();
    m.section(&types).section(&imports).section(&elems);
    m.finish()
}

/// The lift-flavoured entry of a boundary adapter, `lift`: imports
/// `adapter` (lower-flavoured: `params…` then, where results go through
/// memory, a return pointer), the scratch `realloc`, and with `enter` the
/// scratch memory's `enter`.
///
/// - `retptr: Some((size, align))`: `lift: (params…) -> i32` allocates the
///   return area in the scratch memory, calls the adapter with it and
///   returns its address (canonical ABI: a lifted function returns a
///   pointer to its results when they do not fit one flat value);
/// - `None`: `lift` has the adapter's signature (`params…` → `results`).
///
/// With `enter`, the entry of an outer export, `lift` calls the scratch
/// memory's `enter` once the return area is allocated, so that imports
/// called during the export free only what they allocated (`scratch.wat`).
pub fn lift_shim_module(
    params: &[ValType],
    results: &[ValType],
    retptr: Option<(u32, u32)>,
    enter: bool,
) -> Vec<u8> {
    use ValType::I32;
    let mut types = TypeSection::new();
    let (adapter_params, lift_results): (Vec<ValType>, Vec<ValType>) = match retptr {
        Some(_) => (params.iter().copied().chain([I32]).collect(), vec![I32]),
        None => (params.to_vec(), results.to_vec()),
    };
    let adapter_results: &[ValType] = if retptr.is_some() { &[] } else { results };
    types
        .ty()
        .function(adapter_params, adapter_results.iter().copied());
    types.ty().function([I32, I32, I32, I32], [I32]);
    types.ty().function([], []);
    types.ty().function(params.iter().copied(), lift_results);
    let mut imports = ImportSection::new();
    imports.import("", "adapter", EntityType::Function(0));
    imports.import("", "realloc", EntityType::Function(1));
    if enter {
        imports.import("", "enter", EntityType::Function(2));
    }
    let lift = if enter { 3 } else { 2 };
    let mut funcs = FunctionSection::new();
    funcs.function(3);
    let mut exports = ExportSection::new();
    exports.export("lift", ExportKind::Func, lift);
    let n = params.len() as u32;
    let mut f = Function::new([(1, I32)]);
    if let Some((size, align)) = retptr {
        for v in [0, 0, align as i32, size as i32] {
            f.instruction(&Instruction::I32Const(v));
        }
        f.instruction(&Instruction::Call(1));
        f.instruction(&Instruction::LocalSet(n));
    }
    if enter {
        f.instruction(&Instruction::Call(2));
    }
    for p in 0..n {
        f.instruction(&Instruction::LocalGet(p));
    }
    if retptr.is_some() {
        f.instruction(&Instruction::LocalGet(n));
    }
    f.instruction(&Instruction::Call(0));
    if retptr.is_some() {
        f.instruction(&Instruction::LocalGet(n));
    }
    f.instruction(&Instruction::End);
    let mut code = CodeSection::new();
    code.function(&f);
    code_module(&types, &imports, &funcs, &exports, &code)
}

/// A module of exactly these sections, in order.
fn code_module(
    types: &TypeSection,
    imports: &ImportSection,
    funcs: &FunctionSection,
    exports: &ExportSection,
    code: &CodeSection,
) -> Vec<u8> {
    let mut m = Module::new();
    m.section(types)
        .section(imports)
        .section(funcs)
        .section(exports)
        .section(code);
    m.finish()
}

#[cfg(test)]
mod tests {
    use super::{RuntimeFunc, runtime_module};

    /// `resources.wat` exports exactly the [`RuntimeFunc`]s, by their names,
    /// in [`RuntimeFunc::ALL`]'s order: the text and the Rust list cannot
    /// drift apart.
    #[test]
    fn runtime_exports_are_the_runtime_funcs() {
        let mut names = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(runtime_module()) {
            if let wasmparser::Payload::ExportSection(s) = payload.unwrap() {
                for e in s {
                    names.push(e.unwrap().name.to_string());
                }
            }
        }
        let expected: Vec<&str> = RuntimeFunc::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(names, expected);
        for f in RuntimeFunc::ALL {
            assert_eq!(RuntimeFunc::parse(f.name()), Some(f));
        }
        assert_eq!(RuntimeFunc::parse("memory"), None);
    }
}
