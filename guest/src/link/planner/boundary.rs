//! Planning the outer boundary's FACT adapters (`translate/boundary.rs`):
//! each adapter instance with what satisfies its imports, and lift-flavoured
//! entries where results go through memory.

use super::*;
use crate::intrinsics::resources::RuntimeFunc;

impl<'t> Builder<'t> {
    /// The boundary adapter of `site`.
    pub(super) fn adapter(&self, site: Site) -> Result<&'t BoundaryAdapter, Diagnostic> {
        adapter_of(self.t, site)
    }

    /// The instance of the boundary adapter of `site`, planned on first use.
    pub(super) fn boundary_adapter(&mut self, site: Site) -> Result<InstanceId, Diagnostic> {
        if let Some(id) = self.boundary.get(&site) {
            return Ok(*id);
        }
        let a = self.adapter(site)?;
        let scratch = self
            .scratch
            .ok_or_else(|| internal("boundary adapter without scratch memory"))?;
        let mut args = Vec::new();
        for imp in &a.imports {
            args.push(match imp {
                BImport::Flags(i) => Ref {
                    instance: self.flags[i.as_u32() as usize],
                    item: Item::Name(intrinsics::FLAGS.into()),
                },
                BImport::Memory(m) => self.memory(*m)?,
                BImport::Realloc(r) => self
                    .reallocs
                    .get(r)
                    .cloned()
                    .ok_or_else(|| internal("realloc not yet defined"))?,
                BImport::PostReturn(p) => self
                    .post_returns
                    .get(p)
                    .cloned()
                    .ok_or_else(|| internal("post-return not yet defined"))?,
                BImport::ScratchRealloc => Ref {
                    instance: scratch,
                    item: Item::Name("realloc".into()),
                },
                // Only the adapters of imports have a post-return (the
                // host's side lifts): it releases what the import allocated.
                BImport::ScratchReset(params) => Ref {
                    instance: scratch,
                    item: Item::Name(rt::scratch_reset_export(params, false).into()),
                },
                BImport::Callee => match site {
                    Site::Import(t) => {
                        let slot = self
                            .host
                            .boundary_callee
                            .get(&t)
                            .ok_or_else(|| internal("boundary callee without host slot"))?;
                        let lowered = Ref {
                            instance: self.host.stubs,
                            item: Item::Name(slot.to_string()),
                        };
                        self.lift_flavoured(a, lowered, scratch, false)
                    }
                    Site::Export(e) => match &self.t.component.export_items[e] {
                        Export::LiftedFunction { func, .. } => self.core_def(func)?,
                        _ => return Err(internal("adapted export is not a function")),
                    },
                },
                BImport::Transcode { op, from, to } => Ref {
                    instance: self.transcoder(*from, *to)?,
                    item: Item::Name(intrinsics::transcoder_export(*op).into()),
                },
                BImport::TransferOwn => self.runtime_func(RuntimeFunc::TransferOwn)?,
                BImport::TransferBorrow => self.runtime_func(RuntimeFunc::TransferBorrow)?,
                BImport::EnterSyncCall => self.runtime_func(RuntimeFunc::EnterSyncCall)?,
                BImport::ExitSyncCall => self.runtime_func(RuntimeFunc::ExitSyncCall)?,
                BImport::Trap => self.trap_ref()?,
            });
        }
        let what = match site {
            Site::Import(t) => format!("boundary adapter of import trampoline {}", t.as_u32()),
            Site::Export(e) => format!("boundary adapter of export {}", e.as_u32()),
        };
        let id = self.plan.push(Cow::Borrowed(&a.module[..]), args, what);
        // FACT compiled it (`translate::boundary`).
        self.plan.instances[id.0].fact = true;
        self.boundary.insert(site, id);
        Ok(id)
    }

    /// `func` (lower-flavoured, `a.lower_sig`) as a lift-flavoured function
    /// (see [`rt::lift_shim_module`]): `func` itself where results do not go
    /// through memory and this is not an export's entry (`enter`), else a
    /// shim.
    pub(super) fn lift_flavoured(
        &mut self,
        a: &BoundaryAdapter,
        func: Ref,
        scratch: InstanceId,
        enter: bool,
    ) -> Ref {
        if a.retptr.is_none() && !enter {
            return func;
        }
        let params = match a.retptr {
            Some(_) => &a.lower_sig.params[..a.lower_sig.params.len() - 1],
            None => &a.lower_sig.params[..],
        };
        let scratch_export = |name: &str| Ref {
            instance: scratch,
            item: Item::Name(name.into()),
        };
        let id = self.plan.push(
            Cow::Owned(rt::lift_shim_module(
                params,
                &a.lower_sig.results,
                a.retptr,
                enter,
            )),
            if enter {
                vec![func, scratch_export("realloc"), scratch_export("enter")]
            } else {
                vec![func, scratch_export("realloc")]
            },
            if enter {
                "entry of an adapted export"
            } else {
                "return area of a boundary adapter"
            },
        );
        Ref {
            instance: id,
            item: Item::Name("lift".into()),
        }
    }
}

/// The boundary adapter of `site` in `t`.
pub(super) fn adapter_of(t: &Translation, site: Site) -> Result<&BoundaryAdapter, Diagnostic> {
    t.boundary
        .adapters
        .iter()
        .find(|a| a.site == site)
        .ok_or_else(|| internal("boundary adapter missing"))
}
