//! Phase 1 of the planner, the host table: everything only the wrapper can
//! provide (outer lowerings, the wrapper's resource built-ins), one slot
//! each, and the instance through which the fused module reaches them.

use super::*;

/// The host table, planned: what later phases need of it, complete.
pub(super) struct HostTable {
    /// The instance exporting slot `k` as `"k"`: the host stubs (component
    /// output) or the host's functions (core output).
    pub stubs: InstanceId,
    /// What the wrapper puts in slot `k`.
    pub slots: Vec<HostSlot>,
    /// The core signature of slot `k`.
    pub sigs: Vec<CoreSig>,
    /// Host lowerings that inner instances call directly: trampoline → slot.
    pub slot_of: HashMap<TrampolineIndex, u32>,
    /// Host lowerings behind a boundary adapter: trampoline → slot of the
    /// outer lowering the adapter calls.
    pub boundary_callee: HashMap<TrampolineIndex, u32>,
    /// The resource runtime's hooks among the slots: (slot in the hooks
    /// table, host slot).
    pub hooks: Vec<(u32, u32)>,
    /// Outer exports lifted with the async ABI: export → slot of its
    /// `task.return`.
    pub task_return_of: HashMap<ExportIndex, u32>,
    /// The slots of the wrapper's `context.get` and `context.set` (slot 0),
    /// when an outer export is lifted with the async ABI.
    pub context: Option<(u32, u32)>,
    /// Async lowers of host imports: (trampoline, slot, calling instance).
    pub async_lowers: Vec<(TrampolineIndex, u32, u32)>,
    /// The slots of [`HostBuiltin::ALL`], when there is an async lower of
    /// a host import or an outer export lifted with a callback.
    pub host_builtins: Option<[u32; 9]>,
}

/// The slots while they are collected.
#[derive(Default)]
struct Slots {
    slots: Vec<HostSlot>,
    sigs: Vec<CoreSig>,
    slot_of: HashMap<TrampolineIndex, u32>,
    boundary_callee: HashMap<TrampolineIndex, u32>,
}

impl HostTable {
    /// Collects everything only the wrapper can provide, assigns each a
    /// host-table slot and plans the stub module that calls through the
    /// table: the outer lowerings inner instances use (directly, or through
    /// a boundary adapter), the wrapper's `resource.drop` of each host
    /// resource, and the wrapper's built-ins of each exported resource.
    ///
    /// For core output (`host_imports` is the planned host-imports
    /// instance) the slots are the fused module's imports instead: no stub
    /// and no table.
    pub(super) fn plan(
        t: &Translation,
        lowered: &HashMap<LoweredIndex, RuntimeImportIndex>,
        outer_resources: &[ResourceIndex],
        flags: &[InstanceId],
        plan: &mut Plan<'_>,
        host_imports: Option<InstanceId>,
    ) -> Result<HostTable, Diagnostic> {
        let c = &t.component;
        let mut table = Slots::default();
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
        // An outer export may lift a host lowering straight back out.
        for item in c.export_items.values() {
            if let Export::LiftedFunction { func, .. } = item {
                defs.push(func);
            }
        }
        let adapted: HashSet<TrampolineIndex> = t
            .boundary
            .adapters
            .iter()
            .filter_map(|a| match a.site {
                Site::Import(t) => Some(t),
                Site::Export(_) => None,
            })
            .collect();
        let mut push = |table: &mut Slots, slot: HostSlot, flags: Option<u32>, sig: CoreSig| {
            let k = table.slots.len() as u32;
            table.slots.push(slot);
            stubs.push(HostStub {
                sig: sig.clone(),
                flags,
            });
            table.sigs.push(sig);
            k
        };
        let mut outer_lowerings: HashMap<(RuntimeImportIndex, StringEncoding), u32> =
            HashMap::new();
        let mut async_lowers = Vec::new();
        for def in defs {
            let CoreDef::Trampoline(tramp) = def else {
                continue;
            };
            if table.slot_of.contains_key(tramp) || table.boundary_callee.contains_key(tramp) {
                continue;
            }
            let Trampoline::LowerImport {
                index,
                lower_ty,
                options,
            } = &t.trampolines[*tramp]
            else {
                continue;
            };
            let opts = &c.options[*options];
            let import = *lowered
                .get(index)
                .ok_or_else(|| internal("lowering without import"))?;
            if opts.async_ {
                if adapted.contains(tramp) {
                    return Err(async_unsupported(
                        "an async lower of a host import whose values carry handles across the outer boundary",
                    ));
                }
                // The async runtime makes the host's subtask the caller's.
                let sig = lowering_signature(t, *options)?;
                let slot = HostSlot::Lower {
                    import,
                    ty: *lower_ty,
                    options: canonical_options(t, *options),
                };
                let k = push(&mut table, slot, Some(opts.instance.as_u32()), sig);
                async_lowers.push((*tramp, k, opts.instance.as_u32()));
                continue;
            }
            if adapted.contains(tramp) {
                // The adapter checks the caller's `may_leave`; the outer
                // lowering uses the outer instance's scratch memory.
                // Inner instances lowering the same import with the same
                // encoding share one outer lowering.
                let adapter = boundary::adapter_of(t, Site::Import(*tramp))?;
                let key = (import, adapter.encoding);
                let k = match outer_lowerings.get(&key) {
                    Some(&k) => k,
                    None => {
                        let options = scratch_options(adapter.encoding, None);
                        let sig = adapter.lower_sig.clone();
                        let slot = HostSlot::Lower {
                            import,
                            ty: *lower_ty,
                            options,
                        };
                        let k = push(&mut table, slot, None, sig);
                        outer_lowerings.insert(key, k);
                        k
                    }
                };
                table.boundary_callee.insert(*tramp, k);
            } else {
                let sig = lowering_signature(t, *options)?;
                let slot = HostSlot::Lower {
                    import,
                    ty: *lower_ty,
                    options: canonical_options(t, *options),
                };
                let k = push(&mut table, slot, Some(opts.instance.as_u32()), sig);
                table.slot_of.insert(*tramp, k);
            }
        }
        let mut hooks = Vec::new();
        if t.boundary.first_outer_table > 0 {
            let i32 = wasm_encoder::ValType::I32;
            for (r, import) in c.imported_resources.iter() {
                let k = push(
                    &mut table,
                    HostSlot::ResourceDrop { import: *import },
                    None,
                    CoreSig::new(vec![i32], vec![]),
                );
                hooks.push((hook(r, rt::HOOK_DROP), k));
            }
            for &r in outer_resources {
                for (op, h, sig) in [
                    (
                        OuterOp::New,
                        rt::HOOK_OUTER_NEW,
                        CoreSig::new(vec![i32], vec![i32]),
                    ),
                    (
                        OuterOp::Rep,
                        rt::HOOK_OUTER_REP,
                        CoreSig::new(vec![i32], vec![i32]),
                    ),
                    (
                        OuterOp::Drop,
                        rt::HOOK_OUTER_DROP,
                        CoreSig::new(vec![i32], vec![]),
                    ),
                ] {
                    let k = push(
                        &mut table,
                        HostSlot::OuterResource { resource: r, op },
                        None,
                        sig,
                    );
                    hooks.push((hook(r, h), k));
                }
            }
        }
        // Outer exports lifted with the async ABI: their `task.return`, and
        // the wrapper's context slot that keeps the inner task.
        let mut task_return_of = HashMap::new();
        for (export, item) in c.export_items.iter() {
            let Export::LiftedFunction { ty, options, .. } = item else {
                continue;
            };
            let o = &c.options[*options];
            if !o.async_ {
                continue;
            }
            let sig = t
                .task_returns
                .get(&export)
                .cloned()
                .ok_or_else(|| internal("an async export without its task.return signature"))?;
            // `task.return` takes only the memory and string encoding.
            let slot = HostSlot::TaskReturn {
                export,
                ty: *ty,
                options: Options {
                    async_: false,
                    realloc: None,
                    post_return: None,
                    callback: None,
                    ..canonical_options(t, *options)
                },
            };
            let k = push(&mut table, slot, None, sig);
            task_return_of.insert(export, k);
        }
        let context = (!task_return_of.is_empty()).then(|| {
            let i32 = wasm_encoder::ValType::I32;
            let get = push(
                &mut table,
                HostSlot::Context { set: false },
                None,
                CoreSig::new(vec![], vec![i32]),
            );
            let set = push(
                &mut table,
                HostSlot::Context { set: true },
                None,
                CoreSig::new(vec![i32], vec![]),
            );
            (get, set)
        });
        let host_builtins = (!async_lowers.is_empty() || !task_return_of.is_empty()).then(|| {
            let i32 = wasm_encoder::ValType::I32;
            HostBuiltin::ALL.map(|b| {
                let sig = match b {
                    HostBuiltin::SetNew => CoreSig::new(vec![], vec![i32]),
                    HostBuiltin::Join => CoreSig::new(vec![i32, i32], vec![]),
                    HostBuiltin::SubtaskDrop => CoreSig::new(vec![i32], vec![]),
                    HostBuiltin::SubtaskCancel => CoreSig::new(vec![i32], vec![i32]),
                    HostBuiltin::Wait | HostBuiltin::Poll => {
                        CoreSig::new(vec![i32, i32], vec![i32])
                    }
                    HostBuiltin::WakeNew => CoreSig::new(vec![], vec![wasm_encoder::ValType::I64]),
                    HostBuiltin::WakeRead | HostBuiltin::WakeWrite => {
                        CoreSig::new(vec![i32, i32, i32], vec![i32])
                    }
                };
                push(&mut table, HostSlot::HostBuiltin(b), None, sig)
            })
        });
        let args = flags
            .iter()
            .map(|&f| Ref {
                instance: f,
                item: Item::Name(intrinsics::FLAGS.into()),
            })
            .collect();
        let stubs = match host_imports {
            Some(id) => {
                plan.instances[id.0].module =
                    Cow::Owned(intrinsics::host_imports_module(&table.sigs));
                id
            }
            None => plan.push(
                Cow::Owned(intrinsics::host_stubs_module(&stubs, flags.len())),
                args,
                "host stubs",
            ),
        };
        Ok(HostTable {
            stubs,
            slots: table.slots,
            sigs: table.sigs,
            slot_of: table.slot_of,
            boundary_callee: table.boundary_callee,
            hooks,
            task_return_of,
            context,
            async_lowers,
            host_builtins,
        })
    }
}
