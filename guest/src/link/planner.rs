//! The planner: from wasmtime's instance graph to a link [`Plan`].
//!
//! In phases, each taking what earlier ones return: the instance flags; the
//! host table ([`host::HostTable::plan`]); the resource runtime
//! ([`resources::ResourceRuntime::plan`]); the scratch memory of boundary
//! adapters; then the initializers and the outer exports.
//!
//! Walks the translated [`GlobalInitializer`]s in order. Each core module
//! instantiation becomes a planned instance whose imports refer to earlier
//! instances; each `CoreDef` that is not a core export becomes an instance of
//! an intrinsic module (instance flags, `trap`, string transcoders) or a slot
//! of the host table (a `canon lower` of an outer import, or a `resource.drop`
//! of an outer resource, which only the wrapper can perform).
//!
//! Also records what the wrapper needs: the lowerings behind each host-table
//! slot and the lifted exports, with the names under which the fused module
//! exports their core functions, memories, reallocs and post-returns.

mod boundary;
mod concurrency;
mod host;
mod resources;

use super::exports::FusedExport;
use super::plan::{InstanceId, Item, Kind, Plan, Ref};
use crate::Output;
use crate::diagnostics::{Code, Diagnostic};
use crate::intrinsics::resources::{self as rt, RuntimeFunc, Shim};
use crate::intrinsics::{self, HostStub};
use crate::sig::CoreSig;
use crate::translate::Translation;
use crate::translate::boundary::{ADAPTER_EXPORT, BoundaryAdapter, Import as BImport, Mem, Site};
use concurrency::AsyncRuntime;
use host::HostTable;
use resources::{ResourceRuntime, exported_defined_resources};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use wasmtime_environ::component::{
    CoreDef, Export, ExportIndex, GlobalInitializer, InstantiateModule, LoweredIndex, OptionsIndex,
    ResourceIndex, RuntimeImportIndex, RuntimeInstanceIndex, RuntimePostReturnIndex,
    RuntimeReallocIndex, StringEncoding, Trampoline, TrampolineIndex, TypeDef, TypeFuncIndex,
    TypeResourceTable,
};
use wasmtime_environ::{EntityIndex, EntityRef};

/// Canonical options of a lift or lower, as fused-module exports.
#[derive(Clone, Debug)]
pub struct Options {
    /// `(memory ...)`: a fused export of kind memory.
    pub memory: Option<FusedExport>,
    /// `(realloc ...)`: a fused export of kind func.
    pub realloc: Option<FusedExport>,
    /// `(post-return ...)`: a fused export of kind func.
    pub post_return: Option<FusedExport>,
    /// `string-encoding=...`.
    pub encoding: StringEncoding,
    /// `async`: the async ABI.
    pub async_: bool,
    /// `(callback ...)`: the callback of an async lift, a fused export of
    /// kind func.
    pub callback: Option<FusedExport>,
}

/// What the wrapper puts into one slot of the host table.
#[derive(Clone, Debug)]
pub enum HostSlot {
    /// `canon lower` of the outer import `import` with function type `ty`.
    Lower {
        /// The import (instance name plus path to the function).
        import: RuntimeImportIndex,
        /// The function type, as the (first) lowering component sees it;
        /// inner instances lowering one import with the same string
        /// encoding through boundary adapters share one slot.
        ty: TypeFuncIndex,
        /// The lowering's canonical options.
        options: Options,
    },
    /// `canon task.return` for the outer export `export` (lifted with the
    /// async ABI, function type `ty`): its task's results go to the host.
    TaskReturn {
        /// The export.
        export: ExportIndex,
        /// Its function type.
        ty: TypeFuncIndex,
        /// The lift's options (memory, string encoding).
        options: Options,
    },
    /// A built-in of the wrapper for the subtasks of async host imports.
    HostBuiltin(HostBuiltin),
    /// `canon context.get i32 0` (`set`: `context.set`) of the wrapper's
    /// own task: where the fused module keeps which inner task an outer
    /// async call runs.
    Context {
        /// `context.set` rather than `context.get`.
        set: bool,
    },
    /// `canon resource.drop` of the outer resource import `import`.
    ResourceDrop {
        /// The import of the resource type.
        import: RuntimeImportIndex,
    },
    /// `canon resource.new / rep / drop` of the wrapper's own resource type
    /// for the exported resource `resource` (defined inside).
    OuterResource {
        /// The resource.
        resource: ResourceIndex,
        /// Which built-in.
        op: OuterOp,
    },
}

/// The wrapper's built-ins for host subtasks (the async runtime's glue
/// calls them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostBuiltin {
    /// `waitable-set.new`.
    SetNew,
    /// `waitable.join`.
    Join,
    /// `subtask.drop`.
    SubtaskDrop,
    /// `subtask.cancel` (sync).
    SubtaskCancel,
    /// `waitable-set.wait` writing into the async runtime's memory
    /// ([`FusedExport::AsyncMemory`]).
    Wait,
    /// `waitable-set.poll`, as [`HostBuiltin::Wait`].
    Poll,
    /// `stream.new` of the wrapper's element-less stream (wakeups between
    /// outer tasks).
    WakeNew,
    /// `stream.read async` of it.
    WakeRead,
    /// `stream.write async` of it.
    WakeWrite,
}

impl HostBuiltin {
    /// Every one, in the glue's import order.
    pub const ALL: [HostBuiltin; 9] = [
        HostBuiltin::SetNew,
        HostBuiltin::Join,
        HostBuiltin::SubtaskDrop,
        HostBuiltin::SubtaskCancel,
        HostBuiltin::Wait,
        HostBuiltin::Poll,
        HostBuiltin::WakeNew,
        HostBuiltin::WakeRead,
        HostBuiltin::WakeWrite,
    ];
}

/// A built-in of the wrapper's resource types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OuterOp {
    /// `resource.new`.
    New,
    /// `resource.rep`.
    Rep,
    /// `resource.drop`.
    Drop,
}

/// A resource defined inside the composition and exported: the wrapper
/// defines a resource type of its own for it, whose destructor is the fused
/// export `dtor`.
#[derive(Clone, Debug)]
pub struct ExportedResource {
    /// The resource.
    pub resource: ResourceIndex,
    /// Fused-module export of the wrapper type's destructor.
    pub dtor: FusedExport,
}

/// One outer export of the input, as the wrapper re-creates it.
#[derive(Clone, Debug)]
pub enum ExportNode {
    /// A lifted function.
    Func {
        /// Export name.
        name: String,
        /// Component function type.
        ty: TypeFuncIndex,
        /// Fused-module export of the core function.
        core: FusedExport,
        /// Canonical options of the lift.
        options: Options,
    },
    /// An instance of exports.
    Instance {
        /// Export name.
        name: String,
        /// Its items.
        items: Vec<ExportNode>,
    },
    /// A type export.
    Type {
        /// Export name.
        name: String,
        /// The type.
        ty: TypeDef,
    },
}

/// What the planner makes: the plan of the fused module, and what the
/// wrapper needs to know about it (host-table slots, outer exports, exported
/// resources).
pub struct Planned<'a> {
    /// The fused module's instances and exports.
    pub plan: Plan<'a>,
    /// Host-table slots, slot `k` at index `k`.
    pub host: Vec<HostSlot>,
    /// Core signature of each host-table slot.
    pub host_sigs: Vec<CoreSig>,
    /// Outer exports in input order.
    pub exports: Vec<ExportNode>,
    /// Resources defined inside and exported, in resource order.
    pub exported_resources: Vec<ExportedResource>,
}

/// Phase 3 of the planner: the initializers walked in order, with the host
/// table (phase 1) and the resource runtime (phase 2) complete. The maps it
/// holds are filled as the initializers define what they map (memories,
/// reallocs, core instances) or on first use (transcoders, trap, boundary
/// adapters).
struct Builder<'t> {
    t: &'t Translation,
    /// What the fused module is for.
    output: Output,
    plan: Plan<'t>,
    /// Runtime core instance → planned instance.
    instances: HashMap<RuntimeInstanceIndex, InstanceId>,
    /// Component instance → its flags instance.
    flags: Vec<InstanceId>,
    /// The host table (phase 1).
    host: HostTable,
    trap: Option<InstanceId>,
    /// (from, to) memories → transcoder instance.
    transcoders: HashMap<(Mem, Mem), InstanceId>,
    memories: HashMap<Mem, Ref>,
    reallocs: HashMap<RuntimeReallocIndex, Ref>,
    post_returns: HashMap<RuntimePostReturnIndex, Ref>,
    /// The resource runtime (phase 2), if the input has resource tables.
    runtime: Option<ResourceRuntime>,
    /// The async runtime (phase 2b), if the input uses async.
    asyncs: Option<AsyncRuntime>,
    /// Callbacks of async lifts, as extracted.
    callbacks: HashMap<wasmtime_environ::component::RuntimeCallbackIndex, Ref>,
    /// The scratch memory of the outer instance, if any boundary adapter.
    scratch: Option<InstanceId>,
    /// Boundary adapter instances by site.
    boundary: HashMap<Site, InstanceId>,
    /// Fused exports already made.
    exported: HashSet<String>,
    lifts: u32,
}

/// Builds the link plan of `t`.
///
/// # Errors
/// An 'unsupported' diagnostic (E0006, E0007, E0009, E0015, E0016) for what Meld does not
/// fuse yet: component-model async, imported core modules, strings in 64-bit
/// memories, wasmtime's unsafe intrinsics, GC references in a lowered
/// signature.
pub fn plan(t: &Translation, output: Output) -> Result<Planned<'_>, Diagnostic> {
    let c = &t.component;
    if output == Output::Core
        && let Some(what) = outer_async(t)
    {
        return Err(Diagnostic::error(
            Code::AsyncCoreOutput,
            format!("core output (`--emit core`) of a composition whose outer world is async: {what}"),
        )
        .note("no ABI for the host's async built-ins is standardised for core modules; `--emit component` fuses it"));
    }
    let mut plan = Plan::default();
    // Core output: the host's functions are the fused module's imports, of
    // its first instance (its module is made once they are all known).
    let host_imports = (output == Output::Core).then(|| plan.push_host_imports(Vec::new()));
    let mut flags = Vec::new();
    // One more: the outer instance of the boundary adapters.
    for i in 0..=c.num_runtime_component_instances {
        flags.push(plan.push(
            Cow::Borrowed(intrinsics::flags_module()),
            Vec::new(),
            format!("instance flags of component instance {i}"),
        ));
    }
    let lowered: HashMap<LoweredIndex, RuntimeImportIndex> = c
        .initializers
        .iter()
        .filter_map(|i| match i {
            GlobalInitializer::LowerImport { index, import } => Some((*index, *import)),
            _ => None,
        })
        .collect();
    let outer_resources = exported_defined_resources(t);
    let host = HostTable::plan(
        t,
        &lowered,
        &outer_resources,
        &flags,
        &mut plan,
        host_imports,
    )?;
    let runtime = ResourceRuntime::plan(t, &host, &outer_resources, &flags, &mut plan);
    let asyncs = if t.concurrency {
        Some(AsyncRuntime::plan(
            t,
            &flags,
            runtime.as_ref(),
            &host,
            &mut plan,
        )?)
    } else {
        None
    };
    // The outer instance's scratch memory, which boundary adapters use.
    let scratch = (!t.boundary.adapters.is_empty()).then(|| {
        plan.push(
            Cow::Borrowed(intrinsics::resources::scratch_module()),
            Vec::new(),
            "scratch memory of the outer instance",
        )
    });
    let mut b = Builder {
        t,
        output,
        plan,
        instances: HashMap::new(),
        flags,
        host,
        trap: None,
        transcoders: HashMap::new(),
        memories: HashMap::new(),
        reallocs: HashMap::new(),
        post_returns: HashMap::new(),
        runtime,
        asyncs,
        callbacks: HashMap::new(),
        scratch,
        boundary: HashMap::new(),
        exported: HashSet::new(),
        lifts: 0,
    };
    if let Some(id) = scratch {
        let r = Ref {
            instance: id,
            item: Item::Name("memory".into()),
        };
        b.memories.insert(Mem::Scratch, r.clone());
        b.export_once(FusedExport::ScratchMemory, Kind::Memory, r);
        b.export_once(
            FusedExport::ScratchRealloc,
            Kind::Func,
            Ref {
                instance: id,
                item: Item::Name("realloc".into()),
            },
        );
    }
    for init in &c.initializers {
        b.initializer(init)?;
    }
    if output == Output::Component {
        let stubs = b.host.stubs;
        b.plan.export(
            FusedExport::HostTable.name(),
            Kind::Table,
            Ref {
                instance: stubs,
                item: Item::Name(intrinsics::HOST_TABLE.into()),
            },
        );
    }
    let mut exports = Vec::new();
    for (name, (idx, _)) in c.exports.raw_iter() {
        exports.push(b.export(name, *idx)?);
    }
    Ok(Planned {
        plan: b.plan,
        host: b.host.slots,
        host_sigs: b.host.sigs,
        exports,
        exported_resources: b.runtime.map(|r| r.exported).unwrap_or_default(),
    })
}

impl<'t> Builder<'t> {
    /// Exports an inner memory, `realloc` or post-return for the component
    /// wrapper's canonical options; core output has no use for them (its
    /// outer functions all go through boundary adapters).
    fn export_for_wrapper(&mut self, export: FusedExport, kind: Kind, r: Ref) {
        if self.output == Output::Component {
            self.plan.export(export.name(), kind, r);
        }
    }

    /// Exports `r` from the fused module as `export`, once.
    fn export_once(&mut self, export: FusedExport, kind: Kind, r: Ref) {
        let name = export.name();
        if !self.exported.contains(&name) {
            self.exported.insert(name.clone());
            self.plan.export(name, kind, r);
        }
    }

    fn memory(&self, m: Mem) -> Result<Ref, Diagnostic> {
        self.memories
            .get(&m)
            .cloned()
            .ok_or_else(|| internal("memory not yet defined"))
    }

    /// The transcoders between two memories, planned on first use.
    fn transcoder(&mut self, from: Mem, to: Mem) -> Result<InstanceId, Diagnostic> {
        if let Some(i) = self.transcoders.get(&(from, to)) {
            return Ok(*i);
        }
        let args = vec![self.memory(from)?, self.memory(to)?];
        let name = |m: Mem| match m {
            Mem::Inner(i) => FusedExport::Memory(i.as_u32()).name(),
            Mem::Scratch => "scratch memory".to_string(),
        };
        let id = self.plan.push(
            Cow::Borrowed(intrinsics::transcode_module()),
            args,
            format!("string transcoders {} → {}", name(from), name(to)),
        );
        self.transcoders.insert((from, to), id);
        Ok(id)
    }

    fn trap_ref(&mut self) -> Result<Ref, Diagnostic> {
        let inst = match self.trap {
            Some(i) => i,
            None => {
                let id =
                    self.plan
                        .push(Cow::Borrowed(intrinsics::trap_module()), Vec::new(), "trap");
                self.trap = Some(id);
                id
            }
        };
        Ok(Ref {
            instance: inst,
            item: Item::Name(intrinsics::TRAP.into()),
        })
    }

    fn options(&mut self, idx: OptionsIndex) -> Options {
        canonical_options(self.t, idx)
    }

    fn initializer(&mut self, init: &GlobalInitializer) -> Result<(), Diagnostic> {
        match init {
            GlobalInitializer::InstantiateModule(InstantiateModule::Static(module, args), _) => {
                let refs = args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        match self.asyncs.as_ref().and_then(|r| r.module_arg(*module, i)) {
                            Some(r) => Ok(r),
                            None => self.core_def(a),
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let rt = RuntimeInstanceIndex::from_u32(self.instances.len() as u32);
                let bytes = match self.asyncs.as_ref().and_then(|a| a.module_bytes(*module)) {
                    Some(rewritten) => Cow::Owned(rewritten.to_vec()),
                    None => Cow::Borrowed(&self.t.modules[*module][..]),
                };
                let id = self.plan.push(
                    bytes,
                    refs,
                    format!("core instance {} (module {})", rt.as_u32(), module.as_u32()),
                );
                self.plan.instances[id.0].fact = self.t.fact[*module];
                self.instances.insert(rt, id);
                if let Some(a) = &self.asyncs {
                    let callbacks = &self.callbacks;
                    let post_returns = &self.post_returns;
                    a.module_instantiated(
                        *module,
                        id,
                        &|cb| callbacks.get(&cb).cloned(),
                        &|pr| post_returns.get(&pr).cloned(),
                        &self.flags,
                        &mut self.plan,
                    )?;
                }
            }
            GlobalInitializer::InstantiateModule(InstantiateModule::Import(..), _) => {
                return Err(Diagnostic::error(
                    Code::UnsupportedImportedDefinition,
                    "unsupported: the component instantiates a core module it imports",
                )
                .note("Meld fuses code it can see; a module supplied by the host at instantiation cannot be linked statically"));
            }
            GlobalInitializer::LowerImport { .. } => {}
            GlobalInitializer::ExtractMemory(m) => {
                let r = self.core_export(&m.export.clone().map_index(EntityIndex::Memory));
                self.memories.insert(Mem::Inner(m.index), r.clone());
                if let Some(a) = &self.asyncs {
                    a.memory_defined(m.index.as_u32(), r.clone(), &mut self.plan);
                }
                self.export_for_wrapper(FusedExport::Memory(m.index.as_u32()), Kind::Memory, r);
            }
            GlobalInitializer::ExtractRealloc(r) => {
                let def = self.core_def(&r.def)?;
                self.reallocs.insert(r.index, def.clone());
                self.export_for_wrapper(FusedExport::Realloc(r.index.as_u32()), Kind::Func, def);
            }
            GlobalInitializer::ExtractPostReturn(p) => {
                let def = self.core_def(&p.def)?;
                self.post_returns.insert(p.index, def.clone());
                self.export_for_wrapper(FusedExport::PostReturn(p.index.as_u32()), Kind::Func, def);
            }
            GlobalInitializer::ExtractCallback(cb) => {
                let def = self.core_def(&cb.def)?;
                self.callbacks.insert(cb.index, def);
            }
            GlobalInitializer::ExtractTable(_) => {
                return Err(Diagnostic::error(
                    Code::Unsupported,
                    "unsupported: a core table extracted for the component runtime",
                ));
            }
            GlobalInitializer::Resource(r) => {
                // The destructor goes into its hook slot once its instance
                // exists, as wasmtime installs it at this initializer.
                // Without resource tables no handle, so no destructor call,
                // can exist.
                if let (Some(dtor), Some(runtime)) = (&r.dtor, &self.runtime) {
                    let c = &self.t.component;
                    let slot = hook(c.resource_index(r.index), rt::HOOK_DROP);
                    let config = runtime.config;
                    let f = self.core_def(dtor)?;
                    self.plan.push(
                        Cow::Owned(rt::set_hook_module(slot)),
                        vec![
                            Ref {
                                instance: config,
                                item: Item::Name("hooks".into()),
                            },
                            f,
                        ],
                        format!("destructor of resource {}", r.index.as_u32()),
                    );
                }
            }
        }
        Ok(())
    }

    fn core_export(&self, e: &wasmtime_environ::component::CoreExport<EntityIndex>) -> Ref {
        let instance = self.instances[&e.instance];
        let item = match &e.item {
            wasmtime_environ::component::ExportItem::Index(ent) => {
                let (k, i) = match ent {
                    EntityIndex::Function(i) => (Kind::Func, i.index()),
                    EntityIndex::Table(i) => (Kind::Table, i.index()),
                    EntityIndex::Memory(i) => (Kind::Memory, i.index()),
                    EntityIndex::Global(i) => (Kind::Global, i.index()),
                    EntityIndex::Tag(i) => (Kind::Tag, i.index()),
                };
                Item::Index(k, i as u32)
            }
            wasmtime_environ::component::ExportItem::Name(n) => Item::Name(n.clone()),
        };
        Ref { instance, item }
    }

    fn core_def(&mut self, def: &CoreDef) -> Result<Ref, Diagnostic> {
        match def {
            CoreDef::Export(e) => Ok(self.core_export(e)),
            CoreDef::InstanceFlags(i) => Ok(Ref {
                instance: self.flags[i.as_u32() as usize],
                item: Item::Name(intrinsics::FLAGS.into()),
            }),
            CoreDef::Trampoline(t) => self.trampoline(*t),
            CoreDef::UnsafeIntrinsic(i) => self
                .asyncs
                .as_ref()
                .and_then(|a| a.intrinsic(*i))
                .ok_or_else(|| {
                    Diagnostic::error(
                        Code::Unsupported,
                        "unsupported: wasmtime's unsafe intrinsics",
                    )
                }),
            CoreDef::TaskMayBlock => self
                .asyncs
                .as_ref()
                .map(AsyncRuntime::task_may_block)
                .ok_or_else(|| internal("task state without the async runtime")),
        }
    }

    fn trampoline(&mut self, t: TrampolineIndex) -> Result<Ref, Diagnostic> {
        if let Some(slot) = self.host.slot_of.get(&t) {
            return Ok(Ref {
                instance: self.host.stubs,
                item: Item::Name(slot.to_string()),
            });
        }
        if self.host.boundary_callee.contains_key(&t) {
            let id = self.boundary_adapter(Site::Import(t))?;
            return Ok(Ref {
                instance: id,
                item: Item::Name(ADAPTER_EXPORT.into()),
            });
        }
        if let Some(r) = self.asyncs.as_ref().and_then(|a| a.trampoline(t)) {
            return Ok(r);
        }
        match &self.t.trampolines[t] {
            Trampoline::Transcoder {
                op,
                from,
                from64,
                to,
                to64,
            } => {
                if *from64 || *to64 {
                    return Err(crate::translate::memory64_strings_unsupported());
                }
                let inst = self.transcoder(Mem::Inner(*from), Mem::Inner(*to))?;
                Ok(Ref {
                    instance: inst,
                    item: Item::Name(intrinsics::transcoder_export(*op).into()),
                })
            }
            Trampoline::Trap => self.trap_ref(),
            Trampoline::ResourceNew { .. }
            | Trampoline::ResourceRep { .. }
            | Trampoline::ResourceDrop { .. } => {
                let rt = self
                    .runtime
                    .as_ref()
                    .ok_or_else(|| internal("a resource built-in without resource types"))?;
                rt.shim(t)
                    .ok_or_else(|| internal("a resource built-in without a shim"))
            }
            Trampoline::ResourceTransferOwn => self.runtime_func(RuntimeFunc::TransferOwn),
            Trampoline::ResourceTransferBorrow => self.runtime_func(RuntimeFunc::TransferBorrow),
            Trampoline::EnterSyncCall => self.runtime_func(RuntimeFunc::EnterSyncCall),
            Trampoline::ExitSyncCall => self.runtime_func(RuntimeFunc::ExitSyncCall),
            Trampoline::LowerImport { .. } => Err(internal("host lowering without a slot")),
            _ => Err(async_unsupported("a component-model async built-in")),
        }
    }

    /// An outer export lifted with the async ABI: the fused module exports
    /// its entry as `core` and its callback, which it returns.
    fn async_export(
        &mut self,
        idx: ExportIndex,
        ty: TypeFuncIndex,
        options: OptionsIndex,
        func: &CoreDef,
        core: &FusedExport,
    ) -> Result<FusedExport, Diagnostic> {
        let o = &self.t.component.options[options];
        let cb = o
            .callback
            .ok_or_else(|| stackful_unsupported("an async lift without a callback"))?;
        let callee = self.core_def(func)?;
        let callback = self
            .callbacks
            .get(&cb)
            .cloned()
            .ok_or_else(|| internal("a callback not yet extracted"))?;
        let slot = *self
            .host
            .task_return_of
            .get(&idx)
            .ok_or_else(|| internal("an async export without its task.return"))?;
        let (get, set) = self
            .host
            .context
            .ok_or_else(|| internal("an async export without the context slots"))?;
        let stub = |k: u32| Ref {
            instance: self.host.stubs,
            item: Item::Name(k.to_string()),
        };
        let refs = [callee, callback, stub(slot), stub(get), stub(set)];
        let outer = crate::intrinsics::async_glue::OuterExport {
            adapter: 0,
            instance: o.instance.as_u32(),
            params: lowering_signature(self.t, options)?.params,
            results: self.host.sigs[slot as usize].params.clone(),
            return_sig: self.t.types[ty].results.as_u32() << 2 | o.string_encoding as u32,
            return_memory: o.memory().map_or(0, |m| m.as_u32() + 1),
        };
        let a = self
            .asyncs
            .as_ref()
            .ok_or_else(|| internal("an async export without the async runtime"))?;
        let (entry, cb_ref) = a.outer_export(idx, outer, refs, &mut self.plan)?;
        self.plan.export(core.name(), Kind::Func, entry);
        let FusedExport::Lift(n) = core else {
            return Err(internal("an export that is not a lift"));
        };
        let name = FusedExport::Callback(*n);
        self.plan.export(name.name(), Kind::Func, cb_ref);
        Ok(name)
    }

    fn export(
        &mut self,
        name: &str,
        idx: wasmtime_environ::component::ExportIndex,
    ) -> Result<ExportNode, Diagnostic> {
        let c = &self.t.component;
        Ok(match &c.export_items[idx] {
            Export::LiftedFunction { ty, func, options } => {
                let o = &c.options[*options];
                let core = FusedExport::Lift(self.lifts);
                self.lifts += 1;
                let site = Site::Export(idx);
                let adapted = self.t.boundary.adapters.iter().any(|a| a.site == site);
                let options = if o.async_ {
                    if adapted {
                        return Err(async_unsupported(
                            "an export lifted with the async ABI whose values carry handles across the outer boundary",
                        ));
                    }
                    let callback = self.async_export(idx, *ty, *options, func, &core)?;
                    Options {
                        async_: true,
                        callback: Some(callback),
                        post_return: None,
                        ..self.options(*options)
                    }
                } else if adapted {
                    // Handles cross: the wrapper lifts the boundary adapter
                    // with the outer instance's options.
                    let id = self.boundary_adapter(site)?;
                    let a = self.adapter(site)?;
                    let scratch = self
                        .scratch
                        .ok_or_else(|| internal("boundary adapter without scratch memory"))?;
                    let adapter = Ref {
                        instance: id,
                        item: Item::Name(ADAPTER_EXPORT.into()),
                    };
                    let r = self.lift_flavoured(a, adapter, scratch, true);
                    self.plan.export(core.name(), Kind::Func, r);
                    let reset = rt::scratch_reset_export(&a.outer_results, true);
                    let name = FusedExport::ScratchReset(reset.to_string());
                    self.export_once(
                        name.clone(),
                        Kind::Func,
                        Ref {
                            instance: scratch,
                            item: Item::Name(reset.into()),
                        },
                    );
                    scratch_options(a.encoding, Some(name))
                } else if self.asyncs.is_some() {
                    // The host's call runs as a task of the runtime, until
                    // the post-return the wrapper calls (`lift-exitN`).
                    let sig = lowering_signature(self.t, *options)?;
                    let callee = self.core_def(func)?;
                    let post_return = match o.post_return {
                        Some(p) => Some(
                            self.post_returns
                                .get(&p)
                                .cloned()
                                .ok_or_else(|| internal("a post-return not yet extracted"))?,
                        ),
                        None => None,
                    };
                    let a = self.asyncs.as_ref().expect("checked above");
                    let (entry, exit) = a.entry(
                        o.instance.as_u32(),
                        self.t.types[*ty].async_,
                        &sig,
                        callee,
                        post_return,
                        &mut self.plan,
                    );
                    self.plan.export(core.name(), Kind::Func, entry);
                    let exit_name = FusedExport::LiftExit(self.lifts - 1);
                    self.plan.export(exit_name.name(), Kind::Func, exit);
                    Options {
                        post_return: Some(exit_name),
                        ..self.options(*options)
                    }
                } else {
                    let r = self.core_def(func)?;
                    self.plan.export(core.name(), Kind::Func, r);
                    self.options(*options)
                };
                ExportNode::Func {
                    name: name.to_string(),
                    ty: *ty,
                    core,
                    options,
                }
            }
            Export::Instance { exports, ty } => {
                let order: Vec<&str> = self.t.types[*ty]
                    .exports
                    .keys()
                    .map(String::as_str)
                    .collect();
                let mut items = Vec::new();
                for (n, i) in crate::translate::boundary::canonical_exports(exports, &order) {
                    items.push(self.export(n, i)?);
                }
                ExportNode::Instance {
                    name: name.to_string(),
                    items,
                }
            }
            Export::Type(ty) => ExportNode::Type {
                name: name.to_string(),
                ty: *ty,
            },
            Export::ModuleStatic { .. } | Export::ModuleImport { .. } => {
                return Err(Diagnostic::error(
                    Code::Unsupported,
                    format!("unsupported: the export `{name}` is a core module"),
                ));
            }
        })
    }
}

/// The canonical options `idx` as fused-module exports.
fn canonical_options(t: &Translation, idx: OptionsIndex) -> Options {
    let o = &t.component.options[idx];
    let memory = o.memory().map(|m| FusedExport::Memory(m.as_u32()));
    let realloc = match o.data_model {
        wasmtime_environ::component::CanonicalOptionsDataModel::LinearMemory(l) => {
            l.realloc.map(|r| FusedExport::Realloc(r.as_u32()))
        }
        _ => None,
    };
    let post_return = o.post_return.map(|p| FusedExport::PostReturn(p.as_u32()));
    Options {
        memory,
        realloc,
        post_return,
        encoding: o.string_encoding,
        async_: o.async_,
        callback: None,
    }
}

/// The core signature of a lowering, from its options.
fn lowering_signature(t: &Translation, options: OptionsIndex) -> Result<CoreSig, Diagnostic> {
    let ty = t.component.options[options].core_type;
    let f = t.types.module_types()[ty]
        .as_func()
        .ok_or_else(|| internal("lowering type is not a function"))?;
    CoreSig::from_wasm(f)
}

fn internal(what: &str) -> Diagnostic {
    Diagnostic::error(
        Code::Internal,
        format!("internal error while planning the link: {what}"),
    )
}

/// What makes the outer world of `t` async, if anything does: an outer
/// function of `async` type, or one lifted or lowered with the async ABI
/// (the host then drives tasks, subtasks and waitable sets of the fused
/// component, which core output has no standard ABI for; E0016).
fn outer_async(t: &Translation) -> Option<String> {
    let c = &t.component;
    for (name, (idx, _)) in c.exports.raw_iter() {
        if let Some(what) = export_async(t, name, *idx) {
            return Some(what);
        }
    }
    // Outer imports lowered async or typed `async`, by lowered index.
    let async_lowered: HashSet<LoweredIndex> = t
        .trampolines
        .values()
        .filter_map(|tramp| match tramp {
            Trampoline::LowerImport {
                index,
                lower_ty,
                options,
            } if c.options[*options].async_ || t.types[*lower_ty].async_ => Some(*index),
            _ => None,
        })
        .collect();
    for init in &c.initializers {
        if let GlobalInitializer::LowerImport { index, import } = init
            && async_lowered.contains(index)
        {
            let (i, path) = &c.imports[*import];
            let mut name = c.import_types[*i].0.clone();
            for p in path {
                name.push('#');
                name.push_str(p);
            }
            return Some(format!("the outer import `{name}` is async"));
        }
    }
    None
}

/// As [`outer_async`], for the export `name` (`idx`) and what it nests.
fn export_async(t: &Translation, name: &str, idx: ExportIndex) -> Option<String> {
    match &t.component.export_items[idx] {
        Export::LiftedFunction { ty, options, .. } => (t.component.options[*options].async_
            || t.types[*ty].async_)
            .then(|| format!("the outer export `{name}` is async")),
        Export::Instance { exports, .. } => exports
            .raw_iter()
            .find_map(|(n, (i, _))| export_async(t, &format!("{name}#{n}"), *i)),
        _ => None,
    }
}

/// E0015: `what` needs a stack of its own (a stackful lift, a cooperative
/// `thread.*` built-in), not built on the runtime's fibers yet.
pub(super) fn stackful_unsupported(what: &str) -> Diagnostic {
    Diagnostic::error(
        Code::UnsupportedStackful,
        format!("unsupported: component-model async that needs a stack of its own ({what})"),
    )
    .note("the fused module suspends a blocked callback-lifted or sync-lifted task by unwinding its stack; stackful lifts and threads are not built on that yet")
}

fn async_unsupported(what: &str) -> Diagnostic {
    Diagnostic::error(
        Code::UnsupportedAsync,
        format!("unsupported: component-model async ({what})"),
    )
    .note("Meld fuses synchronous compositions; async support is planned")
}

/// Slot `h` of resource `r` in the runtime's hooks table.
fn hook(r: ResourceIndex, h: u32) -> u32 {
    r.as_u32() * rt::HOOKS_PER_RESOURCE + h
}

/// The outer instance's canonical options: the scratch memory and
/// `realloc`, the given post-return (a fused export name).
fn scratch_options(encoding: StringEncoding, post_return: Option<FusedExport>) -> Options {
    Options {
        async_: false,
        callback: None,
        memory: Some(FusedExport::ScratchMemory),
        realloc: Some(FusedExport::ScratchRealloc),
        post_return,
        encoding,
    }
}
