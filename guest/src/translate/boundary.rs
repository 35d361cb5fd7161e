//! FACT adapters for the **outer boundary**: outer imports and exports whose
//! signatures carry resource handles.
//!
//! Between inner instances, wasmtime's translator already compiles a FACT
//! adapter per lift→lower pair, which moves every handle from the source
//! instance's table to the destination's (`transfer-own` / `transfer-borrow`,
//! nested handles in records, variants and lists included). At the outer
//! boundary there is no such pair: in the input the host itself lifts and
//! lowers. In the fused output the host's handles are the *wrapper's* (one
//! outer instance), while inner code holds handles of its own instance's
//! table, numbered as wasmtime numbers them. So each such function is
//! adapted here, with FACT, between the inner instance's canonical options
//! and those of a virtual **outer instance** `O`: its own scratch memory and
//! `realloc` (the `scratch` intrinsic), and resource types of its own: one
//! fresh `TypeResourceTableIndex` per resource, past the translation's
//! tables, which the resource runtime reads as "the wrapper's handles".
//!
//! - An outer import `f` lowered by inner instance `I`: the adapter lowers
//!   into `I` (`I`'s type and options) and lifts `O`'s lowering of the host
//!   function (the outer `canon lower` with the scratch memory).
//! - An outer export `g` lifted by `C`: the adapter lifts `C`'s function and
//!   lowers into `O`; the wrapper lifts the adapter with `O`'s options.
//!
//! For component output, functions without handles keep their direct
//! lowering and lifting. For core output ([`crate::Output::Core`]) *every*
//! outer function is adapted, and the outer instance's string encoding is
//! `utf8`: the scratch memory and `realloc` are then the `wasm32` build
//! target's `cm32p2_memory` and `cm32p2_realloc`, the one memory a core host
//! reads and writes, whatever memories and encodings the inner instances use.

use crate::diagnostics::{Code, Diagnostic};
use crate::sig::CoreSig;
use std::collections::HashMap;
use wasm_encoder::{Module, TypeSection, ValType};
use wasmparser::{Validator, WasmFeatures};
use wasmtime_environ::component::{
    Adapter, AdapterOptions, CanonicalOptionsDataModel, Component, ComponentTypesBuilder,
    DataModel, Export, ExportIndex, InterfaceType, OptionsIndex, ResourceIndex,
    RuntimeComponentInstanceIndex, RuntimeMemoryIndex, RuntimePostReturnIndex, RuntimeReallocIndex,
    StringEncoding, Trampoline, TrampolineIndex, Transcode, TypeFunc, TypeFuncIndex,
    TypeResourceTable, TypeResourceTableIndex, TypeTuple, dfg,
};
use wasmtime_environ::fact;
use wasmtime_environ::{IndexType, Limits, Memory, ModuleInternedTypeIndex, PrimaryMap, Tunables};

/// A memory an adapter reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mem {
    /// An inner instance's memory.
    Inner(RuntimeMemoryIndex),
    /// The outer instance's scratch memory.
    Scratch,
}

/// What satisfies one import of a boundary adapter module.
#[derive(Clone, Debug)]
pub enum Import {
    /// Instance flags of an inner instance or of the outer instance.
    Flags(RuntimeComponentInstanceIndex),
    /// A memory.
    Memory(Mem),
    /// An inner instance's `realloc`.
    Realloc(RuntimeReallocIndex),
    /// An inner instance's `post-return`.
    PostReturn(RuntimePostReturnIndex),
    /// The scratch `realloc`.
    ScratchRealloc,
    /// The scratch reset, as a post-return taking `(params)`.
    ScratchReset(Vec<ValType>),
    /// The function the adapter calls: the outer lowering (import) or the
    /// inner lifted function (export).
    Callee,
    /// A string transcoder between two memories.
    Transcode {
        /// Operation.
        op: Transcode,
        /// Source memory.
        from: Mem,
        /// Destination memory.
        to: Mem,
    },
    /// `transfer-own`.
    TransferOwn,
    /// `transfer-borrow`.
    TransferBorrow,
    /// `enter-sync-call`.
    EnterSyncCall,
    /// `exit-sync-call`.
    ExitSyncCall,
    /// `trap`.
    Trap,
}

/// Where a boundary adapter sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Site {
    /// Replaces the `canon lower` trampoline of an outer import.
    Import(TrampolineIndex),
    /// Adapts the lifted export.
    Export(ExportIndex),
}

/// One compiled boundary adapter: a core module exporting [`ADAPTER_EXPORT`].
pub struct BoundaryAdapter {
    /// Where it sits.
    pub site: Site,
    /// The module's bytes.
    pub module: Vec<u8>,
    /// What satisfies each import, in import order.
    pub imports: Vec<Import>,
    /// The outer instance's string encoding for this function: that of the
    /// inner side for component output (strings are then only copied),
    /// `utf8` for core output.
    pub encoding: StringEncoding,
    /// Core results of the outer side's lifted function (export): the
    /// parameters of the wrapper's post-return.
    pub outer_results: Vec<ValType>,
    /// The lower-flavoured core signature of the function (with a return
    /// pointer where results go through memory): that of the outer
    /// lowering an import adapter calls, and of an export adapter itself.
    pub lower_sig: CoreSig,
    /// Where results go through memory: their size and alignment (canonical
    /// ABI). The outer side then needs a lift-flavoured function that
    /// allocates the return area in the scratch memory (`lift_shim_module`):
    /// around the outer lowering (import) or the adapter (export).
    pub retptr: Option<(u32, u32)>,
}

/// One boundary adapter to compile: where it sits, the function type and
/// options of the inner side, the outer side's view of the type, and the
/// index of its core signature among the interned ones.
struct AdapterPlan {
    site: Site,
    ty: TypeFuncIndex,
    options: OptionsIndex,
    outer_ty: TypeFuncIndex,
    core_type: usize,
}

/// Name of the adapter function in a boundary adapter module.
pub const ADAPTER_EXPORT: &str = "adapter";

/// The outer boundary of a translation.
#[derive(Default)]
pub struct Boundary {
    /// The first outer resource table index (the translation's count).
    pub first_outer_table: u32,
    /// The resource behind each outer table, `first_outer_table + k` at `k`.
    pub outer_tables: Vec<ResourceIndex>,
    /// The virtual outer instance (one past the translation's instances).
    pub outer_instance: u32,
    /// The adapters.
    pub adapters: Vec<BoundaryAdapter>,
}

/// Compiles the boundary adapters of `component`.
///
/// `validator` is the one the translation used (its types back `types`);
/// it is reset and used to intern the outer side's core signatures.
///
/// # Errors
/// E0100 if a signature cannot be interned (a bug).
pub fn compile(
    component: &Component,
    trampolines: &PrimaryMap<TrampolineIndex, Trampoline>,
    types: &mut ComponentTypesBuilder,
    validator: &mut Validator,
    tunables: &Tunables,
    features: WasmFeatures,
    output: crate::Output,
) -> Result<Boundary, Diagnostic> {
    let all = output == crate::Output::Core;
    let mut sites = Vec::new();
    for (t, tramp) in trampolines.iter() {
        if let Trampoline::LowerImport {
            lower_ty, options, ..
        } = tramp
            && plain_sync(component, *options)
            && (all || func_has_handles(types, *lower_ty))
        {
            sites.push((Site::Import(t), *lower_ty, *options));
        }
    }
    // Exports in name order: wasmtime numbers `export_items` differently
    // from run to run, and the order of the sites decides the numbering of
    // the outer resource tables and of the interned types, so it must not
    // depend on it.
    for idx in exports_by_name(component) {
        let item = &component.export_items[idx];
        if let Export::LiftedFunction { ty, options, .. } = item
            && plain_sync(component, *options)
            && !types[*ty].async_
            && (all || func_has_handles(types, *ty))
        {
            sites.push((Site::Export(idx), *ty, *options));
        }
    }
    let mut b = Boundary {
        first_outer_table: types.num_resource_tables() as u32,
        outer_instance: component.num_runtime_component_instances,
        ..Boundary::default()
    };
    if sites.is_empty() {
        return Ok(b);
    }
    // The outer side's view of each signature, and its core signature.
    let mut outer_of: HashMap<ResourceIndex, TypeResourceTableIndex> = HashMap::new();
    let mut plans = Vec::new();
    let mut sigs: Vec<CoreSig> = Vec::new();
    for (site, ty, options) in sites {
        let outer_ty = {
            let mut s = Subst {
                types,
                outer_of: &mut outer_of,
                outer_tables: &mut b.outer_tables,
                first: b.first_outer_table,
            };
            s.func(ty)?
        };
        let sig = flat_signature(types, ty, matches!(site, Site::Import(_)));
        let core_type = match sigs.iter().position(|s| *s == sig) {
            Some(k) => k,
            None => {
                sigs.push(sig);
                sigs.len() - 1
            }
        };
        plans.push(AdapterPlan {
            site,
            ty,
            options,
            outer_ty,
            core_type,
        });
    }
    let core_types = intern_signatures(types, validator, &sigs)?;
    let outer = RuntimeComponentInstanceIndex::from_u32(b.outer_instance);
    for AdapterPlan {
        site,
        ty,
        options,
        outer_ty,
        core_type: k,
    } in plans
    {
        let inner = inner_options(component, options)?;
        // The outer side's lift results (import: its callee; export: the
        // wrapper's lift): the parameters of the scratch reset.
        let lift_sig = flat_signature(types, ty, true);
        let lift_results = lift_sig.results.clone();
        let encoding = if all {
            StringEncoding::Utf8
        } else {
            inner.string_encoding
        };
        let (results_for_reset, lift_ty, lift_options, lower_ty, lower_options) = match site {
            // Host function lifted on the outer side, lowered into the inner one.
            Site::Import(_) => {
                let o = outer_options(outer, encoding, core_types[k], true);
                (lift_results.clone(), outer_ty, o, ty, inner)
            }
            // Inner function lifted, lowered into the outer side.
            Site::Export(_) => {
                let o = outer_options(outer, encoding, core_types[k], false);
                (lift_results.clone(), ty, inner, outer_ty, o)
            }
        };
        let adapter = Adapter {
            lift_ty,
            lift_options,
            lower_ty,
            lower_options,
            func: Placeholder::Callee.def(),
        };
        let mut m = fact::Module::new(types, tunables, features);
        m.adapt(ADAPTER_EXPORT, &adapter);
        let module = m.encode();
        let imports = m
            .imports()
            .iter()
            .map(|i| match import_of(i)? {
                Import::ScratchReset(_) => Ok(Import::ScratchReset(results_for_reset.clone())),
                other => Ok(other),
            })
            .collect::<Result<Vec<_>, Diagnostic>>()?;
        let lower_sig = flat_signature(types, ty, false);
        let retptr = (lower_sig.params.len() > lift_sig.params.len()).then(|| {
            let abi = &types[types[ty].results].abi;
            (abi.size32, abi.align32)
        });
        b.adapters.push(BoundaryAdapter {
            site,
            module,
            imports,
            encoding,
            outer_results: results_for_reset,
            lower_sig,
            retptr,
        });
    }
    Ok(b)
}

/// Every export of `c`, nested ones after their instance, in
/// [`canonical_exports`] order (not that of their `ExportIndex`, which
/// varies from run to run).
fn exports_by_name(c: &Component) -> Vec<ExportIndex> {
    fn walk(
        c: &Component,
        exports: &wasmtime_environ::component::NameMap<
            wasmtime_environ::collections::TryString,
            (
                ExportIndex,
                wasmtime_environ::component::ComponentExternData,
            ),
        >,
        out: &mut Vec<ExportIndex>,
    ) {
        for (_, idx) in canonical_exports(exports, &[]) {
            out.push(idx);
            if let Export::Instance { exports, .. } = &c.export_items[idx] {
                walk(c, exports, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(c, &c.exports, &mut out);
    out
}

/// The exports of an instance in a canonical order: that of the instance's
/// type (the input's declaration order), unknown names last by name.
///
/// wasmtime's translator records the exports of an instance made of items
/// (`(instance (export "a" …) (export "b" …))`) in the iteration order of a
/// `HashMap`, which differs from run to run; everything Meld derives from
/// the order of exports (the order adapters are planned in, resource tables
/// numbered in, the wrapper's declarations) takes it from here instead, so
/// that the output is the same bytes every time. `type_order` is the
/// instance type's export names, in order.
pub fn canonical_exports<'c>(
    exports: &'c wasmtime_environ::component::NameMap<
        wasmtime_environ::collections::TryString,
        (
            ExportIndex,
            wasmtime_environ::component::ComponentExternData,
        ),
    >,
    type_order: &[&str],
) -> Vec<(&'c str, ExportIndex)> {
    let mut out: Vec<(&str, ExportIndex)> = exports
        .raw_iter()
        .map(|(name, (idx, _))| (&name[..], *idx))
        .collect();
    let position = |n: &str| {
        type_order
            .iter()
            .position(|t| *t == n)
            .unwrap_or(usize::MAX)
    };
    out.sort_by(|a, b| (position(a.0), a.0).cmp(&(position(b.0), b.0)));
    out
}

/// Options that are neither async nor GC (others are refused later, with
/// their own diagnostics).
fn plain_sync(c: &Component, options: OptionsIndex) -> bool {
    let o = &c.options[options];
    !o.async_
        && o.callback.is_none()
        && matches!(o.data_model, CanonicalOptionsDataModel::LinearMemory(_))
}

/// Whether a function's parameters or results hold a resource handle.
pub fn func_has_handles(types: &ComponentTypesBuilder, ty: TypeFuncIndex) -> bool {
    let f = &types[ty];
    [f.params, f.results]
        .iter()
        .any(|t| types[*t].types.iter().any(|t| has_handles(types, t)))
}

fn has_handles(types: &ComponentTypesBuilder, ty: &InterfaceType) -> bool {
    use InterfaceType as I;
    match ty {
        I::Own(_) | I::Borrow(_) => true,
        I::Record(r) => types[*r].fields.iter().any(|f| has_handles(types, &f.ty)),
        I::Variant(v) => types[*v]
            .cases
            .values()
            .any(|c| c.as_ref().is_some_and(|t| has_handles(types, t))),
        I::Tuple(t) => types[*t].types.iter().any(|t| has_handles(types, t)),
        I::List(l) => has_handles(types, &types[*l].element),
        I::FixedLengthList(l) => has_handles(types, &types[*l].element),
        I::Map(m) => has_handles(types, &types[*m].key) || has_handles(types, &types[*m].value),
        I::Option(o) => has_handles(types, &types[*o].ty),
        I::Result(r) => {
            let r = &types[*r];
            r.ok.as_ref().is_some_and(|t| has_handles(types, t))
                || r.err.as_ref().is_some_and(|t| has_handles(types, t))
        }
        _ => false,
    }
}

/// Rewrites types to the outer instance's view: every handle refers to the
/// outer table of its resource.
struct Subst<'a> {
    types: &'a mut ComponentTypesBuilder,
    outer_of: &'a mut HashMap<ResourceIndex, TypeResourceTableIndex>,
    outer_tables: &'a mut Vec<ResourceIndex>,
    first: u32,
}

impl Subst<'_> {
    fn func(&mut self, ty: TypeFuncIndex) -> Result<TypeFuncIndex, Diagnostic> {
        let f = self.types[ty].clone();
        let params = self.tuple(f.params)?;
        let results = self.tuple(f.results)?;
        Ok(self.types.add_func_type(TypeFunc {
            params,
            results,
            ..f
        }))
    }

    fn tuple(
        &mut self,
        t: wasmtime_environ::component::TypeTupleIndex,
    ) -> Result<wasmtime_environ::component::TypeTupleIndex, Diagnostic> {
        let tu = self.types[t].clone();
        let types = tu
            .types
            .iter()
            .map(|t| self.val(t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.types.add_tuple_type(TypeTuple {
            types: types.into(),
            abi: tu.abi,
        }))
    }

    fn table(&mut self, t: TypeResourceTableIndex) -> Result<TypeResourceTableIndex, Diagnostic> {
        let TypeResourceTable::Concrete { ty, .. } = self.types[t] else {
            return Err(internal("an abstract resource at the outer boundary"));
        };
        if let Some(o) = self.outer_of.get(&ty) {
            return Ok(*o);
        }
        let o = TypeResourceTableIndex::from_u32(self.first + self.outer_tables.len() as u32);
        self.outer_tables.push(ty);
        self.outer_of.insert(ty, o);
        Ok(o)
    }

    fn opt(&mut self, t: &Option<InterfaceType>) -> Result<Option<InterfaceType>, Diagnostic> {
        t.as_ref().map(|t| self.val(t)).transpose()
    }

    fn val(&mut self, ty: &InterfaceType) -> Result<InterfaceType, Diagnostic> {
        use InterfaceType as I;
        if !has_handles(self.types, ty) {
            return Ok(*ty);
        }
        let types = &*self.types;
        Ok(match ty {
            I::Own(t) => I::Own(self.table(*t)?),
            I::Borrow(t) => I::Borrow(self.table(*t)?),
            I::Record(r) => {
                let mut rec = types[*r].clone();
                for f in rec.fields.iter_mut() {
                    f.ty = self.val(&f.ty)?;
                }
                I::Record(self.types.add_record_type(rec))
            }
            I::Variant(v) => {
                let mut var = types[*v].clone();
                for c in var.cases.values_mut() {
                    *c = self.opt(c)?;
                }
                I::Variant(self.types.add_variant_type(var))
            }
            I::Tuple(t) => I::Tuple(self.tuple(*t)?),
            I::List(l) => {
                let mut list = types[*l].clone();
                list.element = self.val(&list.element)?;
                I::List(self.types.add_list_type(list))
            }
            I::FixedLengthList(l) => {
                let mut list = types[*l].clone();
                list.element = self.val(&list.element)?;
                I::FixedLengthList(self.types.add_fixed_length_list_type(list))
            }
            I::Map(m) => {
                let mut map = types[*m].clone();
                map.key = self.val(&map.key)?;
                map.value = self.val(&map.value)?;
                I::Map(self.types.add_map_type(map))
            }
            I::Option(o) => {
                let mut opt = types[*o].clone();
                opt.ty = self.val(&opt.ty)?;
                I::Option(self.types.add_option_type(opt))
            }
            I::Result(r) => {
                let mut res = types[*r].clone();
                res.ok = self.opt(&res.ok)?;
                res.err = self.opt(&res.err)?;
                I::Result(self.types.add_result_type(res))
            }
            other => *other,
        })
    }
}

/// The core signature of a lift (`lift == true`) or lower of `ty`, with a
/// 32-bit memory (canonical ABI `flatten_functype`: at most 16 flat params,
/// else one pointer; at most 1 flat result, else a returned pointer (lift)
/// or a return-pointer parameter (lower)).
fn flat_signature(types: &ComponentTypesBuilder, ty: TypeFuncIndex, lift: bool) -> CoreSig {
    let f = &types[ty];
    let flat =
        |t: wasmtime_environ::component::TypeTupleIndex, max: usize| -> Option<Vec<ValType>> {
            let mut out = Vec::new();
            for ty in types[t].types.iter() {
                let ft = types.flat_types(ty)?;
                for t in ft.memory32 {
                    out.push(match t {
                        wasmtime_environ::component::FlatType::I32 => ValType::I32,
                        wasmtime_environ::component::FlatType::I64 => ValType::I64,
                        wasmtime_environ::component::FlatType::F32 => ValType::F32,
                        wasmtime_environ::component::FlatType::F64 => ValType::F64,
                    });
                }
                if out.len() > max {
                    return None;
                }
            }
            Some(out)
        };
    let mut params = flat(f.params, 16).unwrap_or_else(|| vec![ValType::I32]);
    let results = match flat(f.results, 1) {
        Some(r) => r,
        None if lift => vec![ValType::I32],
        None => {
            params.push(ValType::I32);
            Vec::new()
        }
    };
    CoreSig::new(params, results)
}

/// Interns core function types through the translation's validator.
fn intern_signatures(
    types: &mut ComponentTypesBuilder,
    validator: &mut Validator,
    sigs: &[CoreSig],
) -> Result<Vec<ModuleInternedTypeIndex>, Diagnostic> {
    let mut section = TypeSection::new();
    for sig in sigs {
        sig.define(&mut section);
    }
    let mut m = Module::new();
    m.section(&section);
    validator.reset();
    let t = validator
        .validate_all(&m.finish())
        .map_err(|e| internal(&format!("interning signatures: {e}")))?;
    (0..sigs.len() as u32)
        .map(|i| {
            types
                .module_types_builder_mut()
                .intern_type(t.as_ref(), t.as_ref().core_type_at_in_module(i))
                .map_err(|e| internal(&format!("interning signatures: {e}")))
        })
        .collect()
}

fn mem32() -> Memory {
    Memory {
        idx_type: IndexType::I32,
        limits: Limits { min: 0, max: None },
        shared: false,
        page_size_log2: 16,
    }
}

/// What an adapter compiled by FACT refers to, before the planner ties it to
/// a planned instance: FACT takes `CoreDef`s for the callee and for the
/// canonical options, and Meld gives it exports of a placeholder instance
/// named after what they stand for; [`import_of`] reads them back from the
/// compiled module's imports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placeholder {
    /// The function the adapter calls.
    Callee,
    /// An inner instance's memory.
    Memory(u32),
    /// An inner instance's `realloc`.
    Realloc(u32),
    /// An inner instance's post-return.
    PostReturn(u32),
    /// The outer instance's scratch memory.
    ScratchMemory,
    /// The scratch memory's `realloc`.
    ScratchRealloc,
    /// The scratch memory's reset (the outer lift's post-return).
    ScratchReset,
}

impl Placeholder {
    /// The export name: `callee`, `memory:N`, `realloc:N`,
    /// `post-return:N`, `scratch-memory`, `scratch-realloc`,
    /// `scratch-reset`.
    fn name(self) -> String {
        match self {
            Placeholder::Callee => "callee".into(),
            Placeholder::Memory(i) => format!("memory:{i}"),
            Placeholder::Realloc(i) => format!("realloc:{i}"),
            Placeholder::PostReturn(i) => format!("post-return:{i}"),
            Placeholder::ScratchMemory => "scratch-memory".into(),
            Placeholder::ScratchRealloc => "scratch-realloc".into(),
            Placeholder::ScratchReset => "scratch-reset".into(),
        }
    }

    /// The placeholder `name` stands for, if it is one of [`Placeholder::name`].
    fn parse(name: &str) -> Option<Placeholder> {
        let indexed = |prefix: &str| name.strip_prefix(prefix)?.parse::<u32>().ok();
        Some(match name {
            "callee" => Placeholder::Callee,
            "scratch-memory" => Placeholder::ScratchMemory,
            "scratch-realloc" => Placeholder::ScratchRealloc,
            "scratch-reset" => Placeholder::ScratchReset,
            _ => {
                if let Some(i) = indexed("memory:") {
                    Placeholder::Memory(i)
                } else if let Some(i) = indexed("realloc:") {
                    Placeholder::Realloc(i)
                } else {
                    Placeholder::PostReturn(indexed("post-return:")?)
                }
            }
        })
    }

    /// As a `CoreDef` for FACT.
    fn def(self) -> dfg::CoreDef {
        dfg::CoreDef::Export(self.export())
    }

    /// As a `CoreExport` for FACT.
    fn export<T>(self) -> dfg::CoreExport<T> {
        dfg::CoreExport {
            instance: dfg::InstanceId::from_u32(0),
            item: wasmtime_environ::component::ExportItem::Name(self.name()),
        }
    }

    /// The placeholder behind `def`, if it is one.
    fn of(def: &dfg::CoreDef) -> Option<Placeholder> {
        match def {
            dfg::CoreDef::Export(dfg::CoreExport {
                item: wasmtime_environ::component::ExportItem::Name(n),
                ..
            }) => Placeholder::parse(n),
            _ => None,
        }
    }
}

fn inner_options(c: &Component, idx: OptionsIndex) -> Result<AdapterOptions, Diagnostic> {
    let o = &c.options[idx];
    let CanonicalOptionsDataModel::LinearMemory(l) = o.data_model else {
        return Err(internal("GC canonical options at the outer boundary"));
    };
    Ok(AdapterOptions {
        instance: o.instance,
        ancestors: Vec::new(),
        string_encoding: o.string_encoding,
        callback: None,
        post_return: o
            .post_return
            .map(|p| Placeholder::PostReturn(p.as_u32()).def()),
        async_: false,
        cancellable: false,
        core_type: o.core_type,
        data_model: DataModel::LinearMemory {
            memory: l
                .memory
                .map(|m| (Placeholder::Memory(m.as_u32()).export(), mem32())),
            realloc: l.realloc.map(|r| Placeholder::Realloc(r.as_u32()).def()),
        },
    })
}

fn outer_options(
    outer: RuntimeComponentInstanceIndex,
    encoding: StringEncoding,
    core_type: ModuleInternedTypeIndex,
    post_return: bool,
) -> AdapterOptions {
    AdapterOptions {
        instance: outer,
        ancestors: Vec::new(),
        string_encoding: encoding,
        callback: None,
        post_return: post_return.then(|| Placeholder::ScratchReset.def()),
        async_: false,
        cancellable: false,
        core_type,
        data_model: DataModel::LinearMemory {
            memory: Some((Placeholder::ScratchMemory.export(), mem32())),
            realloc: Some(Placeholder::ScratchRealloc.def()),
        },
    }
}

fn mem_of(def: &dfg::CoreDef) -> Result<Mem, Diagnostic> {
    match Placeholder::of(def) {
        Some(Placeholder::ScratchMemory) => Ok(Mem::Scratch),
        Some(Placeholder::Memory(i)) => Ok(Mem::Inner(RuntimeMemoryIndex::from_u32(i))),
        Some(p) => Err(internal(&format!("unexpected memory `{}`", p.name()))),
        None => Err(internal("unexpected memory definition")),
    }
}

fn import_of(i: &fact::Import) -> Result<Import, Diagnostic> {
    Ok(match i {
        fact::Import::CoreDef(dfg::CoreDef::InstanceFlags(i)) => Import::Flags(*i),
        fact::Import::CoreDef(def) => {
            match Placeholder::of(def)
                .ok_or_else(|| internal("unexpected import of a boundary adapter"))?
            {
                Placeholder::Callee => Import::Callee,
                Placeholder::ScratchRealloc => Import::ScratchRealloc,
                Placeholder::ScratchReset => Import::ScratchReset(Vec::new()),
                Placeholder::ScratchMemory => Import::Memory(Mem::Scratch),
                Placeholder::Memory(i) => {
                    Import::Memory(Mem::Inner(RuntimeMemoryIndex::from_u32(i)))
                }
                Placeholder::Realloc(i) => Import::Realloc(RuntimeReallocIndex::from_u32(i)),
                Placeholder::PostReturn(i) => {
                    Import::PostReturn(RuntimePostReturnIndex::from_u32(i))
                }
            }
        }
        fact::Import::Transcode {
            op,
            from,
            from64,
            to,
            to64,
        } => {
            if *from64 || *to64 {
                return Err(super::memory64_strings_unsupported());
            }
            Import::Transcode {
                op: *op,
                from: mem_of(from)?,
                to: mem_of(to)?,
            }
        }
        fact::Import::ResourceTransferOwn => Import::TransferOwn,
        fact::Import::ResourceTransferBorrow => Import::TransferBorrow,
        fact::Import::EnterSyncCall => Import::EnterSyncCall,
        fact::Import::ExitSyncCall => Import::ExitSyncCall,
        fact::Import::Trap => Import::Trap,
        _ => {
            return Err(Diagnostic::error(
                Code::UnsupportedAsync,
                "unsupported: component-model async at the outer boundary",
            ));
        }
    })
}

fn internal(what: &str) -> Diagnostic {
    Diagnostic::error(
        Code::Internal,
        format!("internal error at the outer boundary: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::Placeholder;

    #[test]
    fn placeholder_names_round_trip() {
        for p in [
            Placeholder::Callee,
            Placeholder::Memory(0),
            Placeholder::Memory(17),
            Placeholder::Realloc(3),
            Placeholder::PostReturn(4),
            Placeholder::ScratchMemory,
            Placeholder::ScratchRealloc,
            Placeholder::ScratchReset,
        ] {
            assert_eq!(Placeholder::parse(&p.name()), Some(p), "{}", p.name());
        }
        for bad in ["memory:", "memory:x", "realloc", "post-return:-1", "calle"] {
            assert_eq!(Placeholder::parse(bad), None, "{bad}");
        }
    }
}
