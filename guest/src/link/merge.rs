//! Merges the instances of a [`Plan`] into one core module.
//!
//! # Contract
//!
//! [`merge`] takes a plan whose modules are valid and whose every import and
//! export is satisfied by an item of the right kind of an earlier instance
//! (anything else is a bug in Meld: [`LinkError`]). It returns one core
//! module, the same bytes for the same plan, in which:
//!
//! - every planned instance gets its own range in each index space (types,
//!   functions, tables, memories, globals, tags, element and data segments),
//!   except that identical single-type recursion groups are one type;
//! - an import is not kept: it becomes a direct reference to the item of the
//!   earlier instance that satisfies it. The fused module therefore has no
//!   imports, except, for core output, those of the plan's host-imports
//!   instance ([`Plan::push_host_imports`]): the host's functions, imported
//!   first;
//! - the plan's exports are exported under their names, with the generated
//!   `init` function as [`INIT_EXPORT`] (see "Instantiation order");
//! - a call through an indirect-call shim whose target is fixed calls the
//!   target (`link::devirt`), and items that no export, start function or
//!   `init` reaches are left out (`link::live`);
//! - the defined functions are named (`name` section), after their input
//!   names or, failing that, their export names; `init` is `meld:init`.
//!
//! # Passes
//!
//! [`merge`] runs a linker (the state the passes share) through these
//! passes, in order:
//!
//! 1. **parse** every planned module;
//! 2. **provisional indices**: instance by instance, in plan order, each
//!    type, import and defined item gets a provisional fused index (every
//!    item kept), and each import resolves to the item of an earlier instance
//!    it names (see `link::space`);
//! 3. **exports**: the plan's exports resolve to provisional indices;
//! 4. **devirtualisation** (`link::devirt`): replaceable shims are
//!    replaced by their targets wherever they are imported or exported;
//! 5. **liveness** (`link::live`): what the roots reach is kept and
//!    renumbered (the maps become local → final); the fused module must stay
//!    within the implementation limits ([`LinkError::Limit`]);
//! 6. **emission**: every live item with its final index, in provisional
//!    order, then `init` and the exports;
//! 7. **names**: the `name` section.
//!
//! # Instantiation order
//!
//! Core instantiation applies a module's active element segments, then its
//! active data segments, then runs its start function; instances are
//! instantiated one after the other. The fused module keeps that order with a
//! generated `init` function (exported as [`INIT_EXPORT`]; the wrapper runs it
//! as the start function of its fixup module, once host imports are
//! reachable): for each instance in plan order it runs `table.init` /
//! `memory.init` for the segments it had to make passive, then calls the
//! instance's start function.
//!
//! A segment stays active only when that cannot be observed: it writes a
//! memory or table *defined by its own instance* (so no code can have touched
//! it before), at a constant offset, entirely within the initial size (so it
//! cannot trap). If any segment of an instance into some memory or table does
//! not qualify, all of that instance's segments into it become passive, so
//! that overlapping segments still apply in their original order.

mod emit;
mod segments;
mod types;

use super::devirt;
use super::exports::FusedExport;
use super::live::Liveness;
use super::parse::{ParsedModule, kind_of};
use super::plan::{InstanceId, Item, Kind, Plan, Ref, UnwindPlan};
use super::space::{DEAD, Maps, Provisional, SPACES, Space};
use std::collections::HashMap;
use std::fmt::Display;

/// Name under which the fused module exports its initialisation function.
pub const INIT_EXPORT: &str = "init";

/// Why a plan could not be merged. Every case but [`LinkError::Limit`] is a
/// bug in Meld (the plan is built from validated input), reported as an
/// internal error.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A module of the plan does not parse.
    #[error("module of {what} does not parse: {source}")]
    Parse {
        /// The planned instance.
        what: String,
        /// The parser's error.
        source: wasmparser::BinaryReaderError,
    },
    /// An import refers to an item that does not exist.
    #[error("{what}: cannot resolve import #{import} ({detail})")]
    Unresolved {
        /// The planned instance.
        what: String,
        /// Import position.
        import: usize,
        /// What was looked up.
        detail: String,
    },
    /// An export of the fused module refers to an item that does not exist,
    /// or that was removed as unreachable.
    #[error("fused export `{name}`: cannot resolve ({detail})")]
    UnresolvedExport {
        /// The export's name.
        name: String,
        /// What was looked up.
        detail: String,
    },
    /// The fused module would have more items of one kind than WebAssembly
    /// implementations accept (not a bug: the input is too large to fuse
    /// into one module).
    #[error(
        "the fused module would have {count} {what}, more than the {limit} WebAssembly implementations accept"
    )]
    Limit {
        /// The kind of item, plural (`memories`, `tables`, …).
        what: &'static str,
        /// How many the fused module would have.
        count: u64,
        /// The limit (`wasmparser::limits`, the JS API's limits).
        limit: u64,
    },
    /// Re-encoding failed.
    #[error("re-encoding {what}: {detail}")]
    Reencode {
        /// The planned instance.
        what: String,
        /// The encoder's message.
        detail: String,
    },
}

impl LinkError {
    /// A [`LinkError::Reencode`] of `what`.
    fn reencode(what: &str, detail: impl Display) -> Self {
        LinkError::Reencode {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

/// Merges `plan` into one core module and returns its bytes.
///
/// # Errors
/// [`LinkError::Limit`] when the fused module would be too large; any other
/// [`LinkError`] when the plan is inconsistent (a bug in Meld).
pub fn merge(plan: &Plan<'_>) -> Result<Vec<u8>, LinkError> {
    let mut linker = Linker::parse(plan)?;
    linker.assign_provisional()?;
    linker.resolve_exports()?;
    linker.devirtualise();
    let live = linker.remove_dead_code()?;
    let sections = linker.emit(&live)?;
    let bytes = sections.finish(&linker.names(&live));
    match &plan.unwind {
        Some(u) => linker.unwind(bytes, u, &live),
        None => Ok(bytes),
    }
}

/// The state the passes of [`merge`] share.
struct Linker<'p> {
    /// The plan being merged.
    plan: &'p Plan<'p>,
    /// Its instances' modules, parsed, in plan order.
    modules: Vec<ParsedModule<'p>>,
    /// The provisional fused index spaces.
    prov: Provisional,
    /// The provisional type of every single-type recursion group, by its
    /// encoding (see [`Linker::intern_types`]).
    type_dedup: HashMap<Vec<u8>, u32>,
    /// One per instance placed so far: local → provisional indices, local →
    /// final ones after [`Linker::remove_dead_code`].
    maps: Vec<Maps>,
    /// The fused module's exports, with provisional indices.
    exports: Vec<Export<'p>>,
}

/// An export of the fused module.
struct Export<'p> {
    /// Its name.
    name: &'p str,
    /// The kind of item exported.
    kind: Kind,
    /// The item's provisional index.
    index: u32,
}

/// What dead-code removal keeps.
struct Live {
    /// The reachable items, with their final indices.
    liveness: Liveness,
    /// The number of live items per space, in [`Space`] order (without
    /// `init` and its type).
    counts: [u32; SPACES],
}

impl Live {
    /// The final index of `init`: after every live function.
    fn init_index(&self) -> u32 {
        self.counts[Space::Func as usize]
    }
}

impl<'p> Linker<'p> {
    /// Pass 1: parses every planned module.
    fn parse(plan: &'p Plan<'p>) -> Result<Self, LinkError> {
        let modules = plan
            .instances
            .iter()
            .map(|inst| {
                ParsedModule::parse(&inst.module).map_err(|source| LinkError::Parse {
                    what: inst.what.clone(),
                    source,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Linker {
            plan,
            modules,
            prov: Provisional::default(),
            type_dedup: HashMap::new(),
            maps: Vec::with_capacity(plan.instances.len()),
            exports: Vec::new(),
        })
    }

    /// Pass 2: gives every item of every instance, in plan order, a
    /// provisional fused index (every item kept), and resolves its imports.
    fn assign_provisional(&mut self) -> Result<(), LinkError> {
        for i in 0..self.modules.len() {
            let mut map = Maps::default();
            self.intern_types(i, &mut map)?;
            if self.plan.instances[i].host_imports {
                self.keep_host_imports(i, &mut map)?;
            } else {
                self.resolve_imports(i, &mut map)?;
            }
            self.define_items(i, &mut map);
            self.maps.push(map);
        }
        Ok(())
    }

    /// Makes the imports of instance `i`, the host-imports instance, the
    /// fused module's: the first provisional functions.
    fn keep_host_imports(&mut self, i: usize, map: &mut Maps) -> Result<(), LinkError> {
        for (j, imp) in self.modules[i].imports.iter().enumerate() {
            let fused = match kind_of(imp.ty) {
                Kind::Func => self.prov.define_import(i, j),
                _ => None,
            };
            let fused = fused.ok_or_else(|| LinkError::Unresolved {
                what: self.plan.instances[i].what.clone(),
                import: j,
                detail: "the host's imports must be functions of the first instance".into(),
            })?;
            map.space_mut(Space::Func).push(fused);
        }
        Ok(())
    }

    /// Maps each import of instance `i` to the provisional index of the item
    /// its argument in the plan names.
    fn resolve_imports(&self, i: usize, map: &mut Maps) -> Result<(), LinkError> {
        let inst = &self.plan.instances[i];
        let imports = &self.modules[i].imports;
        if inst.args.len() != imports.len() {
            return Err(LinkError::Unresolved {
                what: inst.what.clone(),
                import: inst.args.len().min(imports.len()),
                detail: format!("{} args for {} imports", inst.args.len(), imports.len()),
            });
        }
        for (j, (imp, arg)) in imports.iter().zip(&inst.args).enumerate() {
            let kind = kind_of(imp.ty);
            let fused = self
                .resolve(i, arg, kind)
                .map_err(|detail| LinkError::Unresolved {
                    what: inst.what.clone(),
                    import: j,
                    detail: format!("{}::{}: {detail}", imp.module, imp.name),
                })?;
            map.space_mut(kind.into()).push(fused);
        }
        Ok(())
    }

    /// Gives the defined items of instance `i` (all but types) the next
    /// provisional indices of their spaces.
    fn define_items(&mut self, i: usize, map: &mut Maps) {
        let m = &self.modules[i];
        for (space, count) in [
            (Space::Func, m.func_types.len()),
            (Space::Table, m.tables.len()),
            (Space::Memory, m.memories.len()),
            (Space::Global, m.globals.len()),
            (Space::Tag, m.tags.len()),
            (Space::Elem, m.elems.len()),
            (Space::Data, m.datas.len()),
        ] {
            for k in 0..count {
                let fused = self.prov.define(space, i, k);
                map.space_mut(space).push(fused);
            }
        }
    }

    /// Pass 3: resolves the plan's exports to provisional indices.
    fn resolve_exports(&mut self) -> Result<(), LinkError> {
        let plan = self.plan;
        let everyone = plan.instances.len();
        self.exports = plan
            .exports
            .iter()
            .map(|(name, kind, r)| {
                let index = self.resolve(everyone, r, *kind).map_err(|detail| {
                    LinkError::UnresolvedExport {
                        name: name.clone(),
                        detail,
                    }
                })?;
                Ok(Export {
                    name,
                    kind: *kind,
                    index,
                })
            })
            .collect::<Result<_, LinkError>>()?;
        Ok(())
    }

    /// Resolves `r` (an item of kind `kind`) to its provisional index.
    /// `user` is the planned instance asking (the number of instances for
    /// the fused module's exports); `r` must point to an earlier one.
    fn resolve(&self, user: usize, r: &Ref, kind: Kind) -> Result<u32, String> {
        let InstanceId(src) = r.instance;
        if src >= user || src >= self.maps.len() {
            return Err(format!(
                "instance {src} is not instantiated before its user {user}"
            ));
        }
        let (found_kind, idx) = match &r.item {
            Item::Name(name) => self.modules[src]
                .export_index(name)
                .ok_or_else(|| format!("instance {src} has no export `{name}`"))?,
            Item::Index(k, i) => (*k, *i),
        };
        if found_kind != kind {
            return Err(format!("expected a {kind}, found a {found_kind}"));
        }
        self.maps[src]
            .space(kind.into())
            .get(idx as usize)
            .copied()
            .ok_or_else(|| format!("{kind} {idx} of instance {src} does not exist"))
    }

    /// Pass 4: replaces every shim whose indirect call always reaches the
    /// same function by that function, wherever it is imported or exported.
    fn devirtualise(&mut self) {
        let exported_tables: Vec<u32> = self
            .exports
            .iter()
            .filter(|e| e.kind == Kind::Table)
            .map(|e| e.index)
            .collect();
        let aliases = devirt::find(&self.modules, &self.maps, &self.prov, &exported_tables);
        if aliases.is_empty() {
            return;
        }
        let alias = |f: &mut u32| {
            if let Some(&g) = aliases.get(f) {
                *f = g;
            }
        };
        for (m, map) in self.modules.iter().zip(&mut self.maps) {
            let imported = m.imported(Kind::Func);
            map.space_mut(Space::Func)[..imported]
                .iter_mut()
                .for_each(alias);
        }
        for e in self.exports.iter_mut().filter(|e| e.kind == Kind::Func) {
            alias(&mut e.index);
        }
    }

    /// Pass 5: keeps what the roots reach, renumbers it (the maps become
    /// local → final), and checks the implementation limits.
    fn remove_dead_code(&mut self) -> Result<Live, LinkError> {
        let roots = self.roots()?;
        let mut liveness = Liveness::analyse(&self.modules, &self.maps, &self.prov, roots)
            .map_err(|e| LinkError::reencode("the fused module (reachability)", e))?;
        let counts = liveness.compose(&mut self.maps);
        check_limits(&counts, self.prov.imported_funcs)?;
        Ok(Live { liveness, counts })
    }

    /// The roots of dead-code removal (see [`super::live`]): the exports,
    /// the host's functions, and what `init` runs.
    fn roots(&self) -> Result<Vec<(Space, u32)>, LinkError> {
        let mut roots: Vec<(Space, u32)> = self
            .exports
            .iter()
            .map(|e| (Space::from(e.kind), e.index))
            .collect();
        // The host's functions (core output) are all kept: they are the
        // world's imports the input lowers, and a re-wrapping (`wasm-tools
        // component new`) imports only what the module imports.
        roots.extend((0..self.prov.imported_funcs).map(|f| (Space::Func, f)));
        for (i, (m, map)) in self.modules.iter().zip(&self.maps).enumerate() {
            segments::init_roots(m, map, &mut roots).map_err(|e| self.reencode_error(i, e))?;
        }
        Ok(roots)
    }

    /// Pass 8: the unwind pass (`super::unwind`) on the merged module
    /// `bytes`. A module with a shape the pass does not handle stays as it
    /// is (its tasks then wait in nested loops, on one stack).
    fn unwind(&self, bytes: Vec<u8>, u: &UnwindPlan, lv: &Live) -> Result<Vec<u8>, LinkError> {
        let everyone = self.plan.instances.len();
        let live = |r: &Ref, kind: Kind| -> Result<Option<u32>, LinkError> {
            let i = self
                .resolve(everyone, r, kind)
                .map_err(|detail| LinkError::reencode("the unwind pass's items", detail))?;
            Ok((i != DEAD).then_some(i))
        };
        let funcs = |refs: &[Ref]| -> Result<Vec<u32>, LinkError> {
            Ok(refs
                .iter()
                .map(|r| live(r, Kind::Func))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect())
        };
        let (Some(memory), Some(state), Some(data)) = (
            live(&u.memory, Kind::Memory)?,
            live(&u.state, Kind::Global)?,
            live(&u.data, Kind::Global)?,
        ) else {
            // Nothing sets the globals: nothing can unwind.
            return Ok(bytes);
        };
        let opaque_instance = u.opaque.0;
        let m = &self.modules[opaque_instance];
        let own = m.imported(Kind::Func)..m.imported(Kind::Func) + m.func_types.len();
        let mut opaque: Vec<u32> = self.maps[opaque_instance].space(Space::Func)[own]
            .iter()
            .copied()
            .filter(|&f| f != DEAD)
            .collect();
        opaque.sort_unstable();
        let spec = super::unwind::Spec {
            roots: funcs(&u.roots)?,
            blockers: funcs(&u.blockers)?,
            opaque: ranges(&opaque),
            memory,
            state,
            data,
            enabled: live(&u.enabled, Kind::Global)?,
            // The wrapper's fixup fills the host table with lowered host
            // imports only.
            host_tables: self
                .exports
                .iter()
                .filter(|e| e.kind == Kind::Table && e.name == FusedExport::HostTable.name())
                .filter_map(|e| lv.liveness.final_index(Space::Table, e.index))
                .collect(),
        };
        match super::unwind::instrument(&bytes, &spec) {
            Ok(Some((instrumented, _))) => Ok(instrumented),
            Ok(None) | Err(super::unwind::Error::Unsupported { .. }) => Ok(bytes),
            Err(e) => Err(LinkError::reencode("the unwind pass", e)),
        }
    }

    /// A [`LinkError::Reencode`] of instance `i`.
    fn reencode_error(&self, i: usize, detail: impl Display) -> LinkError {
        LinkError::reencode(&self.plan.instances[i].what, detail)
    }
}

/// Sorted `items` as ranges of consecutive values.
fn ranges(items: &[u32]) -> Vec<std::ops::Range<u32>> {
    let mut out: Vec<std::ops::Range<u32>> = Vec::new();
    for &i in items {
        match out.last_mut() {
            Some(r) if r.end == i => r.end = i + 1,
            _ => out.push(i..i + 1),
        }
    }
    out
}

/// The WebAssembly implementation limits (the JS API's, as `wasmparser`
/// enforces them: `wasmparser/src/limits.rs`) the fused module must stay
/// within, per index space: (space, plural name, limit). Functions count
/// `init` too.
const LIMITS: [(Space, &str, u64); 8] = [
    (Space::Type, "types", 1_000_000),
    (Space::Func, "functions", 1_000_000 - 1),
    (Space::Table, "tables", 100),
    (Space::Memory, "memories", 100),
    (Space::Global, "globals", 1_000_000),
    (Space::Tag, "tags", 1_000_000),
    (Space::Elem, "element segments", 100_000 - 1),
    (Space::Data, "data segments", 100_000),
];

/// Fails with [`LinkError::Limit`] when the live items of a space exceed
/// its limit (the element segments count the declared one `merge` adds; the
/// imports the module's own limit).
fn check_limits(counts: &[u32], imported_funcs: u32) -> Result<(), LinkError> {
    for (space, what, limit) in LIMITS {
        let count = u64::from(counts[space as usize]);
        if count > limit {
            return Err(LinkError::Limit { what, count, limit });
        }
    }
    if u64::from(imported_funcs) > 1_000_000 {
        return Err(LinkError::Limit {
            what: "imports",
            count: imported_funcs.into(),
            limit: 1_000_000,
        });
    }
    Ok(())
}
