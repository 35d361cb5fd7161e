//! From wasmtime's instance graph to a link [`Plan`].
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

use super::plan::{InstanceId, Item, Kind, Plan, Ref};
use crate::diagnostics::{Code, Diagnostic};
use crate::intrinsics::{self, HostStub};
use crate::translate::Translation;
use std::borrow::Cow;
use std::collections::HashMap;
use wasmtime_environ::component::{
    CoreDef, Export, GlobalInitializer, InstantiateModule, LoweredIndex, OptionsIndex,
    RuntimeImportIndex, RuntimeInstanceIndex, RuntimeMemoryIndex, StringEncoding, Trampoline,
    TrampolineIndex, TypeDef, TypeFuncIndex, TypeResourceTable,
};
use wasmtime_environ::{EntityIndex, EntityRef};

/// Name of the fused module's export of its host table.
pub const HOST_TABLE_EXPORT: &str = "host-table";

/// Canonical options of a lift or lower, as names of fused-module exports.
#[derive(Clone, Debug)]
pub struct Options {
    /// `(memory ...)`: a fused export of kind memory.
    pub memory: Option<String>,
    /// `(realloc ...)`: a fused export of kind func.
    pub realloc: Option<String>,
    /// `(post-return ...)`: a fused export of kind func.
    pub post_return: Option<String>,
    /// `string-encoding=...`.
    pub encoding: StringEncoding,
}

/// What the wrapper puts into one slot of the host table.
#[derive(Clone, Debug)]
pub enum HostSlot {
    /// `canon lower` of the outer import `import` with function type `ty`.
    Lower {
        /// The import (instance name plus path to the function).
        import: RuntimeImportIndex,
        /// The function type, as the lowering component sees it.
        ty: TypeFuncIndex,
        /// The lowering's canonical options.
        options: Options,
    },
    /// `canon resource.drop` of the outer resource import `import`.
    ResourceDrop {
        /// The import of the resource type.
        import: RuntimeImportIndex,
    },
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
        core: String,
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

/// The plan plus what the wrapper needs to know about it.
pub struct Graph<'a> {
    /// The fused module's instances and exports.
    pub plan: Plan<'a>,
    /// Host-table slots, slot `k` at index `k`.
    pub host: Vec<HostSlot>,
    /// Core signature (params, results) of each host-table slot.
    pub host_sigs: Vec<(Vec<wasm_encoder::ValType>, Vec<wasm_encoder::ValType>)>,
    /// Outer exports in input order.
    pub exports: Vec<ExportNode>,
}

struct Builder<'t> {
    t: &'t Translation,
    plan: Plan<'t>,
    /// Runtime core instance → planned instance.
    instances: HashMap<RuntimeInstanceIndex, InstanceId>,
    /// Component instance → its flags instance.
    flags: Vec<InstanceId>,
    /// Host trampoline → slot.
    host_slot: HashMap<TrampolineIndex, u32>,
    stubs: InstanceId,
    trap: Option<InstanceId>,
    /// (from, to) memories → transcoder instance.
    transcoders: HashMap<(RuntimeMemoryIndex, RuntimeMemoryIndex), InstanceId>,
    memories: HashMap<RuntimeMemoryIndex, Ref>,
    lowered: HashMap<LoweredIndex, RuntimeImportIndex>,
    host: Vec<HostSlot>,
    host_sigs: Vec<(Vec<wasm_encoder::ValType>, Vec<wasm_encoder::ValType>)>,
    lifts: usize,
}

/// Builds the link plan of `t`.
///
/// # Errors
/// An 'unsupported' diagnostic (E0006–E0009) for features Meld does not fuse
/// yet: component-model async, resources defined inside the composition,
/// imported core modules, 64-bit memories.
pub fn build(t: &Translation) -> Result<Graph<'_>, Diagnostic> {
    let c = &t.component;
    let mut plan = Plan::default();
    let mut flags = Vec::new();
    for i in 0..c.num_runtime_component_instances {
        flags.push(plan.push(
            Cow::Owned(intrinsics::flags_module()?),
            Vec::new(),
            format!("instance flags of component instance {i}"),
        ));
    }
    let lowered: HashMap<_, _> = c
        .initializers
        .iter()
        .filter_map(|i| match i {
            GlobalInitializer::LowerImport { index, import } => Some((*index, *import)),
            _ => None,
        })
        .collect();
    let mut b = Builder {
        t,
        plan,
        instances: HashMap::new(),
        flags,
        host_slot: HashMap::new(),
        stubs: InstanceId(0),
        trap: None,
        transcoders: HashMap::new(),
        memories: HashMap::new(),
        lowered,
        host: Vec::new(),
        host_sigs: Vec::new(),
        lifts: 0,
    };
    b.add_host_stubs()?;
    for init in &c.initializers {
        b.initializer(init)?;
    }
    let stubs = b.stubs;
    b.plan.export(
        HOST_TABLE_EXPORT,
        Kind::Table,
        Ref {
            instance: stubs,
            item: Item::Name(intrinsics::HOST_TABLE.into()),
        },
    );
    let mut exports = Vec::new();
    for (name, (idx, _)) in c.exports.raw_iter() {
        exports.push(b.export(name, *idx)?);
    }
    Ok(Graph {
        plan: b.plan,
        host: b.host,
        host_sigs: b.host_sigs,
        exports,
    })
}

impl<'t> Builder<'t> {
    /// Collects every trampoline only the wrapper can provide, assigns it a
    /// host-table slot and plans the stub module that calls through the table.
    fn add_host_stubs(&mut self) -> Result<(), Diagnostic> {
        let c = &self.t.component;
        let mut stubs = Vec::new();
        let mut defs: Vec<&CoreDef> = Vec::new();
        for init in &c.initializers {
            match init {
                GlobalInitializer::InstantiateModule(InstantiateModule::Static(_, args), _) => {
                    defs.extend(args.iter())
                }
                GlobalInitializer::ExtractRealloc(e) => defs.push(&e.def),
                GlobalInitializer::ExtractPostReturn(e) => defs.push(&e.def),
                _ => {}
            }
        }
        for def in defs {
            let CoreDef::Trampoline(t) = def else {
                continue;
            };
            if self.host_slot.contains_key(t) {
                continue;
            }
            let (slot, instance, sig) = match &self.t.trampolines[*t] {
                Trampoline::LowerImport {
                    index,
                    lower_ty,
                    options,
                } => {
                    let opts = &c.options[*options];
                    let import = *self
                        .lowered
                        .get(index)
                        .ok_or_else(|| internal("lowering without import"))?;
                    if opts.async_ || opts.callback.is_some() {
                        return Err(async_unsupported("an async `canon lower` of an import"));
                    }
                    let sig = core_signature(self.t, *options)?;
                    (
                        HostSlot::Lower {
                            import,
                            ty: *lower_ty,
                            options: self.options(*options),
                        },
                        opts.instance,
                        sig,
                    )
                }
                Trampoline::ResourceDrop { instance, ty } => {
                    let import = self.imported_resource(*ty)?;
                    let i32 = wasm_encoder::ValType::I32;
                    (
                        HostSlot::ResourceDrop { import },
                        *instance,
                        (vec![i32], vec![]),
                    )
                }
                _ => continue,
            };
            self.host_slot.insert(*t, self.host.len() as u32);
            self.host.push(slot);
            stubs.push(HostStub {
                params: sig.0.clone(),
                results: sig.1.clone(),
                flags: instance.as_u32(),
            });
            self.host_sigs.push(sig);
        }
        let args = self
            .flags
            .iter()
            .map(|&f| Ref {
                instance: f,
                item: Item::Name(intrinsics::FLAGS.into()),
            })
            .collect();
        self.stubs = self.plan.push(
            Cow::Owned(intrinsics::host_stubs_module(&stubs, self.flags.len())),
            args,
            "host stubs",
        );
        Ok(())
    }

    /// The outer import behind a resource table, or E0008 for resources
    /// defined inside the composition.
    fn imported_resource(
        &self,
        ty: wasmtime_environ::component::TypeResourceTableIndex,
    ) -> Result<RuntimeImportIndex, Diagnostic> {
        let c = &self.t.component;
        match &self.t.types[ty] {
            TypeResourceTable::Concrete { ty, .. } if c.defined_resource_index(*ty).is_none() => {
                Ok(c.imported_resources[*ty])
            }
            _ => Err(resources_unsupported()),
        }
    }

    fn options(&mut self, idx: OptionsIndex) -> Options {
        let o = &self.t.component.options[idx];
        let memory = o.memory().map(|m| format!("memory{}", m.as_u32()));
        let realloc = match o.data_model {
            wasmtime_environ::component::CanonicalOptionsDataModel::LinearMemory(l) => {
                l.realloc.map(|r| format!("realloc{}", r.as_u32()))
            }
            _ => None,
        };
        let post_return = o.post_return.map(|p| format!("post-return{}", p.as_u32()));
        Options {
            memory,
            realloc,
            post_return,
            encoding: o.string_encoding,
        }
    }

    fn initializer(&mut self, init: &GlobalInitializer) -> Result<(), Diagnostic> {
        match init {
            GlobalInitializer::InstantiateModule(InstantiateModule::Static(module, args), _) => {
                let refs = args
                    .iter()
                    .map(|a| self.core_def(a))
                    .collect::<Result<Vec<_>, _>>()?;
                let rt = RuntimeInstanceIndex::from_u32(self.instances.len() as u32);
                let id = self.plan.push(
                    Cow::Borrowed(&self.t.modules[*module][..]),
                    refs,
                    format!("core instance {} (module {})", rt.as_u32(), module.as_u32()),
                );
                self.instances.insert(rt, id);
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
                self.memories.insert(m.index, r.clone());
                self.plan
                    .export(format!("memory{}", m.index.as_u32()), Kind::Memory, r);
            }
            GlobalInitializer::ExtractRealloc(r) => {
                let def = self.core_def(&r.def)?;
                self.plan
                    .export(format!("realloc{}", r.index.as_u32()), Kind::Func, def);
            }
            GlobalInitializer::ExtractPostReturn(p) => {
                let def = self.core_def(&p.def)?;
                self.plan
                    .export(format!("post-return{}", p.index.as_u32()), Kind::Func, def);
            }
            GlobalInitializer::ExtractCallback(_) => {
                return Err(async_unsupported("an async callback"));
            }
            GlobalInitializer::ExtractTable(_) => {
                return Err(Diagnostic::error(
                    Code::Unsupported,
                    "unsupported: a core table extracted for the component runtime",
                ));
            }
            GlobalInitializer::Resource(_) => return Err(resources_unsupported()),
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
            CoreDef::UnsafeIntrinsic(_) => Err(Diagnostic::error(
                Code::Unsupported,
                "unsupported: wasmtime's unsafe intrinsics",
            )),
            CoreDef::TaskMayBlock => Err(async_unsupported("task state")),
        }
    }

    fn trampoline(&mut self, t: TrampolineIndex) -> Result<Ref, Diagnostic> {
        if let Some(slot) = self.host_slot.get(&t) {
            return Ok(Ref {
                instance: self.stubs,
                item: Item::Name(slot.to_string()),
            });
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
                    return Err(Diagnostic::error(
                        Code::Unsupported,
                        "unsupported: strings in 64-bit memories (memory64)",
                    ));
                }
                let inst = match self.transcoders.get(&(*from, *to)) {
                    Some(i) => *i,
                    None => {
                        let args = vec![self.memories[from].clone(), self.memories[to].clone()];
                        let id = self.plan.push(
                            Cow::Owned(intrinsics::transcode_module()?),
                            args,
                            format!(
                                "string transcoders memory{} → memory{}",
                                from.as_u32(),
                                to.as_u32()
                            ),
                        );
                        self.transcoders.insert((*from, *to), id);
                        id
                    }
                };
                Ok(Ref {
                    instance: inst,
                    item: Item::Name(intrinsics::transcoder_export(*op).into()),
                })
            }
            Trampoline::Trap => {
                let inst = match self.trap {
                    Some(i) => i,
                    None => {
                        let id = self.plan.push(
                            Cow::Owned(intrinsics::trap_module()?),
                            Vec::new(),
                            "trap",
                        );
                        self.trap = Some(id);
                        id
                    }
                };
                Ok(Ref {
                    instance: inst,
                    item: Item::Name(intrinsics::TRAP.into()),
                })
            }
            Trampoline::ResourceNew { .. }
            | Trampoline::ResourceRep { .. }
            | Trampoline::ResourceDrop { .. }
            | Trampoline::ResourceTransferOwn
            | Trampoline::ResourceTransferBorrow
            | Trampoline::EnterSyncCall
            | Trampoline::ExitSyncCall => Err(resources_unsupported()),
            Trampoline::LowerImport { .. } => Err(internal("host lowering without a slot")),
            _ => Err(async_unsupported("a component-model async built-in")),
        }
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
                if o.async_ || o.callback.is_some() || self.t.types[*ty].async_ {
                    return Err(async_unsupported("an async export"));
                }
                let core = format!("lift{}", self.lifts);
                self.lifts += 1;
                let r = self.core_def(func)?;
                self.plan.export(core.clone(), Kind::Func, r);
                ExportNode::Func {
                    name: name.to_string(),
                    ty: *ty,
                    core,
                    options: self.options(*options),
                }
            }
            Export::Instance { exports, .. } => {
                let mut items = Vec::new();
                for (n, (i, _)) in exports.raw_iter() {
                    items.push(self.export(n, *i)?);
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

/// The core signature (params, results) of a lowering, from its options.
fn core_signature(
    t: &Translation,
    options: OptionsIndex,
) -> Result<(Vec<wasm_encoder::ValType>, Vec<wasm_encoder::ValType>), Diagnostic> {
    let ty = t.component.options[options].core_type;
    let f = t.types.module_types()[ty]
        .as_func()
        .ok_or_else(|| internal("lowering type is not a function"))?;
    let conv = |v: &wasmtime_environ::WasmValType| -> Result<wasm_encoder::ValType, Diagnostic> {
        use wasmtime_environ::WasmValType as W;
        Ok(match v {
            W::I32 => wasm_encoder::ValType::I32,
            W::I64 => wasm_encoder::ValType::I64,
            W::F32 => wasm_encoder::ValType::F32,
            W::F64 => wasm_encoder::ValType::F64,
            W::V128 => wasm_encoder::ValType::V128,
            W::Ref(_) => {
                return Err(Diagnostic::error(
                    Code::Unsupported,
                    "unsupported: GC references in a lowered signature",
                ));
            }
        })
    };
    Ok((
        f.params().iter().map(conv).collect::<Result<_, _>>()?,
        f.results().iter().map(conv).collect::<Result<_, _>>()?,
    ))
}

fn internal(what: &str) -> Diagnostic {
    Diagnostic::error(
        Code::Internal,
        format!("internal error while planning the link: {what}"),
    )
}

fn async_unsupported(what: &str) -> Diagnostic {
    Diagnostic::error(
        Code::UnsupportedAsync,
        format!("unsupported: component-model async ({what})"),
    )
    .note("Meld fuses synchronous compositions; async support is planned")
}

fn resources_unsupported() -> Diagnostic {
    Diagnostic::error(
        Code::UnsupportedResources,
        "unsupported: resources defined inside the composition (resource.new / rep / drop, or handles passed between inner components)",
    )
    .note("host resources used directly by inner components are supported; resources between inner components are planned")
}
