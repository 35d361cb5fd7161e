//! Stage 3, **intrinsics**: what a component-model host would supply, written
//! as small core modules that the linker instantiates like any other.
//!
//! | module | instantiated | provides |
//! | --- | --- | --- |
//! | [`flags_module`] | once per inner component instance | its instance-flags global (`may_leave`, starts at 1) |
//! | [`trap_module`] | once, when an adapter needs it | `trap: (i32)`, the adapters' trap with a reason code |
//! | [`transcode_module`] | once per (source memory, destination memory) pair | the string transcoders (`transcode.wat`) |
//! | [`host_stubs_module`] | once (component output) | the host table and one stub per outer lowering |
//! | [`host_imports_module`] | once (core output) | the host's functions, imported by the fused module itself |
//! | [`resources`] | once (runtime), per use (shims) | handle tables, borrow scopes, resource built-ins and transfers, the outer instance's scratch memory |
//!
//! Semantics follow wasmtime 48's runtime (`vm/component/libcalls.rs` for the
//! transcoders, the cranelift trampolines for the `may_leave` check of host
//! calls), so that the fused component traps exactly where the input traps.

/// The binary of the intrinsic `src/intrinsics/<name>.wat`, compiled by
/// `build.rs`.
macro_rules! intrinsic {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".wasm"))
    };
}

pub mod async_glue;
pub mod async_runtime;
pub mod resources;

use crate::sig::CoreSig;
use wasm_encoder::{
    CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection, GlobalType,
    ImportSection, Instruction, Module, RefType, TableSection, TableType, TypeSection, ValType,
};
use wasmtime_environ::component::{FixedEncoding, Transcode};

/// Export name of the flags global in [`flags_module`].
pub const FLAGS: &str = "flags";
/// Export name of the trap function in [`trap_module`].
pub const TRAP: &str = "trap";
/// Export name of the host table in [`host_stubs_module`].
pub const HOST_TABLE: &str = "table";

/// The instance flags of one component instance: a mutable `i32` global whose
/// value is the `may_leave` flag (1 = the instance may call out). FACT adapters
/// clear it around `realloc` and `post-return`; host stubs check it.
pub fn flags_module() -> &'static [u8] {
    intrinsic!("flags")
}

/// `trap: (param i32)`: traps unconditionally. FACT passes the reason code
/// (`wasmtime_environ::Trap`); wasmtime turns it into a message, a core
/// module can only trap with `unreachable`.
pub fn trap_module() -> &'static [u8] {
    intrinsic!("trap")
}

/// The string transcoders between the imported memories `meld.src` and
/// `meld.dst` (see `transcode.wat` for each function's contract).
pub fn transcode_module() -> &'static [u8] {
    intrinsic!("transcode")
}

/// The export of [`transcode_module`] that implements `op`.
pub fn transcoder_export(op: Transcode) -> &'static str {
    match op {
        Transcode::Copy(FixedEncoding::Utf8) => "copy-utf8",
        Transcode::Copy(FixedEncoding::Utf16) => "copy-utf16",
        Transcode::Copy(FixedEncoding::Latin1) => "copy-latin1",
        Transcode::Latin1ToUtf16 => "latin1-to-utf16",
        Transcode::Latin1ToUtf8 => "latin1-to-utf8",
        Transcode::Utf16ToCompactProbablyUtf16 => "utf16-to-compact-probably-utf16",
        Transcode::Utf16ToCompactUtf16 => "utf16-to-compact-utf16",
        Transcode::Utf16ToLatin1 => "utf16-to-latin1",
        Transcode::Utf16ToUtf8 => "utf16-to-utf8",
        Transcode::Utf8ToCompactUtf16 => "utf8-to-compact-utf16",
        Transcode::Utf8ToLatin1 => "utf8-to-latin1",
        Transcode::Utf8ToUtf16 => "utf8-to-utf16",
    }
}

/// One stub of [`host_stubs_module`].
pub struct HostStub {
    /// Its core signature (that of the host-table slot it calls).
    pub sig: CoreSig,
    /// The component instance calling out, whose `may_leave` flag is
    /// checked; `None` where the caller (an adapter, the resource runtime)
    /// has checked already.
    pub flags: Option<u32>,
}

/// Traps unless the `may_leave` flag of component instance `flags` (global
/// `flags` of the function's module) is set, as wasmtime's trampolines do
/// ("cannot leave component instance").
fn flags_check(f: &mut Function, flags: u32) {
    f.instruction(&Instruction::GlobalGet(flags));
    f.instruction(&Instruction::I32Eqz);
    f.instruction(&Instruction::If(wasm_encoder::BlockType::Empty));
    f.instruction(&Instruction::Unreachable);
    f.instruction(&Instruction::End);
}

/// The host table and its stubs.
///
/// The fused module cannot import the outer lowerings directly: a `canon
/// lower` needs the fused module's memory and `realloc`, which exist only
/// once it is instantiated. So the fused module defines (here) a `funcref`
/// table, exported as [`HOST_TABLE`], and calls slot `k` through stub `k`
/// (exported as `"k"`). The wrapper's fixup module fills the table after the
/// fused instance exists, with no code of its own.
///
/// Each stub first checks the caller instance's `may_leave` flag and traps if
/// it is clear, as wasmtime's lowering trampoline does; then it forwards its
/// arguments with `call_indirect`.
///
/// Imports: `flags.{i}` for `i` in `0..n_flags`, the flags globals.
pub fn host_stubs_module(stubs: &[HostStub], n_flags: usize) -> Vec<u8> {
    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    let mut funcs = FunctionSection::new();
    let mut tables = TableSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    for i in 0..n_flags {
        imports.import(
            "flags",
            &i.to_string(),
            EntityType::Global(GlobalType {
                val_type: ValType::I32,
                mutable: true,
                shared: false,
            }),
        );
    }
    let n = stubs.len() as u64;
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        table64: false,
        minimum: n,
        maximum: Some(n),
        shared: false,
    });
    exports.export(HOST_TABLE, ExportKind::Table, 0);
    for (k, stub) in stubs.iter().enumerate() {
        let ty = types.len();
        stub.sig.define(&mut types);
        funcs.function(ty);
        exports.export(&k.to_string(), ExportKind::Func, k as u32);
        let mut f = Function::new([]);
        if let Some(flags) = stub.flags {
            flags_check(&mut f, flags);
        }
        for p in 0..stub.sig.params.len() {
            f.instruction(&Instruction::LocalGet(p as u32));
        }
        f.instruction(&Instruction::I32Const(k as i32));
        f.instruction(&Instruction::CallIndirect {
            type_index: ty,
            table_index: 0,
        });
        f.instruction(&Instruction::End);
        code.function(&f);
    }
    let mut m = Module::new();
    m.section(&types)
        .section(&imports)
        .section(&funcs)
        .section(&tables)
        .section(&exports)
        .section(&code);
    m.finish()
}

/// Module name of the imports of [`host_imports_module`]; the core wrapper
/// renames them after the world (`wrap::core`).
pub const HOST_IMPORT_MODULE: &str = "host";

/// The host's functions for core output: imports slot `k` as
/// `host.k` with signature `sigs[k]` and exports it as `"k"`.
///
/// Planned as the fused module's first instance, with its imports kept as the
/// fused module's own ([`crate::link::plan::Plan::push_host_imports`]); no
/// stub and no table sit between callers and the host. The `may_leave`
/// checks stay in the boundary adapters, which every outer function has in
/// core output.
pub fn host_imports_module(sigs: &[CoreSig]) -> Vec<u8> {
    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    let mut exports = ExportSection::new();
    for (k, sig) in sigs.iter().enumerate() {
        sig.define(&mut types);
        imports.import(
            HOST_IMPORT_MODULE,
            &k.to_string(),
            EntityType::Function(k as u32),
        );
        exports.export(&k.to_string(), ExportKind::Func, k as u32);
    }
    let mut m = Module::new();
    m.section(&types).section(&imports).section(&exports);
    m.finish()
}
