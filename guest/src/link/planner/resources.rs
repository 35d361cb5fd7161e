//! Planning the resource runtime: its configuration (the resource-type
//! table, the hooks), the runtime itself (`intrinsics/resources.wat`), the
//! shims of the resource built-ins, and which resources the wrapper
//! re-defines.

use super::*;
use crate::intrinsics::resources::RuntimeFunc;
use crate::link::exports::FusedExport;

/// Resources defined inside the composition that the outer world exports.
pub(super) fn exported_defined_resources(t: &Translation) -> Vec<ResourceIndex> {
    let c = &t.component;
    let mut out = Vec::new();
    let mut stack: Vec<ExportIndex> = c.exports.raw_iter().map(|(_, (i, _))| *i).collect();
    while let Some(i) = stack.pop() {
        match &c.export_items[i] {
            Export::Type(TypeDef::Resource(tt)) => {
                if let TypeResourceTable::Concrete { ty, .. } = t.types[*tt]
                    && c.defined_resource_index(ty).is_some()
                    && !out.contains(&ty)
                {
                    out.push(ty);
                }
            }
            Export::Instance { exports, .. } => {
                stack.extend(exports.raw_iter().map(|(_, (i, _))| *i))
            }
            _ => {}
        }
    }
    out.sort();
    out
}

/// Phase 2 of the planner, the resource runtime, planned: its instances and
/// what later phases look up in it.
pub(super) struct ResourceRuntime {
    /// The configuration instance (resource-type table, hooks table).
    pub config: InstanceId,
    /// The runtime (`intrinsics/resources.wat`).
    runtime: InstanceId,
    /// The shims of the resource built-ins and the wrapper's destructors.
    shims: InstanceId,
    /// Resource trampoline → shim export.
    shim_of: HashMap<TrampolineIndex, u32>,
    /// Resources defined inside and exported, in resource order, with the
    /// fused export of each one's wrapper destructor.
    pub exported: Vec<ExportedResource>,
}

impl ResourceRuntime {
    /// Plans the resource runtime of `t`: its configuration (the
    /// resource-type table; the hooks, which are `host`'s hook slots), the
    /// runtime itself and one shim per resource built-in, then one wrapper
    /// destructor per resource of `outer_resources` (exported as
    /// [`FusedExport::Dtor`]). `flags` are the component instances' flags
    /// instances.
    ///
    /// `None` when the composition has no resource tables: no handle can
    /// exist, so neither can a runtime call.
    pub(super) fn plan(
        t: &Translation,
        host: &HostTable,
        outer_resources: &[ResourceIndex],
        flags: &[InstanceId],
        plan: &mut Plan<'_>,
    ) -> Option<ResourceRuntime> {
        let c = &t.component;
        let types = &t.types;
        let n_tables = t.boundary.first_outer_table;
        if n_tables == 0 {
            return None;
        }
        let mut dtors = HashSet::new();
        for init in &c.initializers {
            if let GlobalInitializer::Resource(r) = init
                && r.dtor.is_some()
            {
                dtors.insert(c.resource_index(r.index));
            }
        }
        let info = |r: ResourceIndex| {
            let mut info = r.as_u32();
            if c.defined_resource_index(r).is_none() {
                info |= rt::HOST;
            }
            if dtors.contains(&r) {
                info |= rt::DTOR;
            }
            info
        };
        let mut entries = Vec::new();
        for i in 0..n_tables {
            let t = wasmtime_environ::component::TypeResourceTableIndex::from_u32(i);
            entries.push(match types[t] {
                TypeResourceTable::Concrete { ty, instance } => {
                    let mut i = info(ty);
                    if let Some(d) = c.defined_resource_index(ty)
                        && c.defined_resource_instances[d] == instance
                    {
                        i |= rt::DEFINER;
                    }
                    rt::TypeEntry {
                        table: instance.as_u32(),
                        info: i,
                    }
                }
                TypeResourceTable::Abstract(_) => rt::TypeEntry { table: 0, info: 0 },
            });
        }
        for r in &t.boundary.outer_tables {
            entries.push(rt::TypeEntry {
                table: 0,
                info: info(*r) | rt::OUTER,
            });
        }
        let n_resources = (c.imported_resources.len() + c.defined_resource_instances.len()) as u32;
        let config_hooks: Vec<rt::Hook> = host
            .hooks
            .iter()
            .map(|&(slot, k)| rt::Hook {
                slot,
                returns: host.sigs[k as usize].results.len() == 1,
            })
            .collect();
        let args = host
            .hooks
            .iter()
            .map(|&(_, k)| item(host.stubs, &k.to_string()))
            .collect();
        let config = plan.push(
            Cow::Owned(rt::config_module(
                &entries,
                c.num_runtime_component_instances,
                n_resources,
                &config_hooks,
            )),
            args,
            "resource runtime configuration",
        );
        let runtime = plan.push(
            Cow::Borrowed(rt::runtime_module()),
            ["memory", "headers", "heap", "hooks"]
                .iter()
                .map(|n| item(config, n))
                .collect(),
            "resource runtime",
        );
        // Shims: one per resource built-in, then the wrapper's destructors.
        let mut shims = Vec::new();
        let mut shim_of = HashMap::new();
        for (t, tramp) in t.trampolines.iter() {
            let shim = match *tramp {
                Trampoline::ResourceNew { instance, ty } => Shim::New {
                    ty: ty.as_u32(),
                    flags: instance.as_u32(),
                },
                Trampoline::ResourceRep { ty, .. } => Shim::Rep { ty: ty.as_u32() },
                Trampoline::ResourceDrop { instance, ty } => Shim::Drop {
                    ty: ty.as_u32(),
                    flags: instance.as_u32(),
                },
                _ => continue,
            };
            shim_of.insert(t, shims.len() as u32);
            shims.push(shim);
        }
        let mut outer_dtors = Vec::new();
        for &r in outer_resources {
            outer_dtors.push((r, shims.len() as u32));
            shims.push(Shim::OuterDtor {
                resource: r.as_u32(),
                has_dtor: dtors.contains(&r),
            });
        }
        let mut args: Vec<Ref> = [
            RuntimeFunc::New,
            RuntimeFunc::Rep,
            RuntimeFunc::Drop,
            RuntimeFunc::OuterDtor,
        ]
        .iter()
        .map(|f| item(runtime, f.name()))
        .collect();
        args.extend(flags.iter().map(|&f| item(f, intrinsics::FLAGS)));
        let shims_id = plan.push(
            Cow::Owned(rt::shims_module(&shims, flags.len() as u32)),
            args,
            "resource built-ins",
        );
        let mut exported = Vec::new();
        for (r, k) in outer_dtors {
            let dtor = FusedExport::Dtor(r.as_u32());
            plan.export(dtor.name(), Kind::Func, item(shims_id, &k.to_string()));
            exported.push(ExportedResource { resource: r, dtor });
        }
        Some(ResourceRuntime {
            config,
            runtime,
            shims: shims_id,
            shim_of,
            exported,
        })
    }

    /// A function of the resource runtime.
    pub(super) fn func(&self, func: RuntimeFunc) -> Ref {
        item(self.runtime, func.name())
    }

    /// The shim of the resource built-in `t` (`resource.new`, `.rep` or
    /// `.drop`), if `t` is one.
    pub(super) fn shim(&self, t: TrampolineIndex) -> Option<Ref> {
        let k = self.shim_of.get(&t)?;
        Some(item(self.shims, &k.to_string()))
    }
}

/// Export `name` of planned instance `instance`.
fn item(instance: InstanceId, name: &str) -> Ref {
    Ref {
        instance,
        item: Item::Name(name.into()),
    }
}

impl Builder<'_> {
    /// A function of the resource runtime.
    pub(super) fn runtime_func(&self, func: RuntimeFunc) -> Result<Ref, Diagnostic> {
        let rt = self
            .runtime
            .as_ref()
            .ok_or_else(|| internal("a resource intrinsic without resource types"))?;
        Ok(rt.func(func))
    }
}
