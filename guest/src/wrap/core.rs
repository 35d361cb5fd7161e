//! Stage 4 for core output, **wrap as a core module**: the fused module in
//! the component model's `wasm32` build target (`design/mvp/BuildTargets.md`).
//!
//! For core output the link stage already made the fused module what the
//! build target asks for, under internal names: every outer function goes
//! through a boundary adapter between its inner instance and the outer
//! instance (`translate/boundary.rs`), whose scratch memory and `realloc` are
//! the one host-facing memory and allocator, with `utf8` strings; the host's
//! functions are the module's imports (`host.k` for host slot `k`); `init`
//! runs segment initialisation and the inner start functions. What is left
//! is naming, after the input's world (wit-parser's `Standard32` mangling,
//! the one `wasm-tools component new` reads):
//!
//! | fused module | core output |
//! | --- | --- |
//! | import `host.k`, a lowered function | `cm32p2|<interface>` `<func>` (`cm32p2` `<func>` at the world's top level) |
//! | import `host.k`, `resource.drop` of an imported resource | `cm32p2|<interface>` `<resource>_drop` |
//! | import `host.k`, `resource.new/rep/drop` of an exported resource | `cm32p2|_ex_<interface>` `<resource>_new` / `_rep` / `_drop` |
//! | export `liftN` and its post-return | `cm32p2|<interface>|<func>` and `…_post` (`cm32p2||<func>` at the top level) |
//! | the exported resource's destructor | `cm32p2|<interface>|<resource>_dtor` |
//! | `scratch-memory`, `scratch-realloc`, `init` | `cm32p2_memory`, `cm32p2_realloc`, `cm32p2_initialize` |
//!
//! Other exports of the fused module are internal and dropped; every other
//! section is copied as it is. The world is appended as a `component-type`
//! custom section (wit-component's `embed_component_metadata`, `utf8`), then
//! the `producers` section of every output ([`super::producers`]).

use super::world::World;
use crate::diagnostics::{Code, Diagnostic};
use crate::link::exports::FusedExport;
use crate::link::merge::INIT_EXPORT;
use crate::link::planner::{ExportNode, HostSlot, OuterOp, Planned};
use crate::translate::Translation;
use std::collections::HashMap;
use wasm_encoder::{EntityType, ExportKind, ExportSection, ImportSection, Module, RawSection};
use wasmparser::{Parser, Payload, TypeRef};
use wasmtime_environ::component::{ResourceIndex, TypeDef, TypeResourceTable};
use wit_parser::{
    ManglingAndAbi, Resolve, ResourceIntrinsic, TypeDefKind, TypeId, TypeOwner, WasmExport,
    WasmExportKind, WasmImport, WorldItem, WorldKey,
};

const MANGLING: ManglingAndAbi = ManglingAndAbi::Standard32;

/// Names the fused module `fused` after `world` and embeds the world.
///
/// # Errors
/// E0006 for outer items the build target has no name for (an instance
/// nested in an exported or imported instance); E0100 when the plan and the
/// world disagree (a bug).
pub fn wrap(
    t: &Translation,
    g: &Planned<'_>,
    fused: &[u8],
    world: &World,
) -> Result<Vec<u8>, Diagnostic> {
    let names = Names {
        resolve: &world.resolve,
        world: &world.resolve.worlds[world.world],
    };
    let imports = g
        .host
        .iter()
        .map(|slot| names.host_slot(t, g, slot))
        .collect::<Result<Vec<_>, _>>()?;
    let exports = names.exports(t, g)?;
    let mut out = rename(fused, &imports, &exports)?;
    wit_component::embed_component_metadata(
        &mut out,
        &world.resolve,
        world.world,
        wit_component::StringEncoding::UTF8,
    )
    .map_err(|e| internal(&format!("embedding the world: {e:#}")))?;
    let producers = super::producers();
    out.push(wasm_encoder::Section::id(&producers));
    wasm_encoder::Encode::encode(&producers, &mut out);
    Ok(out)
}

/// Copies `fused` with import `host.k` renamed to `imports[k]` and each
/// export renamed to its names in `exports` (several names export the same
/// item; an export with no entry is dropped).
fn rename(
    fused: &[u8],
    imports: &[(String, String)],
    exports: &HashMap<String, Vec<String>>,
) -> Result<Vec<u8>, Diagnostic> {
    let parse =
        |e: wasmparser::BinaryReaderError| internal(&format!("reading the fused module: {e}"));
    let mut m = Module::new();
    for payload in Parser::new(0).parse_all(fused) {
        let payload = payload.map_err(parse)?;
        match &payload {
            Payload::ImportSection(s) => {
                let mut section = ImportSection::new();
                for imp in s.clone().into_imports() {
                    let imp = imp.map_err(parse)?;
                    let (TypeRef::Func(ty), Ok(k)) = (imp.ty, imp.name.parse::<usize>()) else {
                        return Err(internal("an import that is not a host function"));
                    };
                    let (module, name) = imports
                        .get(k)
                        .ok_or_else(|| internal("an import without a host slot"))?;
                    section.import(module, name, EntityType::Function(ty));
                }
                m.section(&section);
            }
            Payload::ExportSection(s) => {
                let mut section = ExportSection::new();
                let mut out: Vec<(&str, ExportKind, u32)> = Vec::new();
                for e in s.clone() {
                    let e = e.map_err(parse)?;
                    let kind = match e.kind {
                        wasmparser::ExternalKind::Func => ExportKind::Func,
                        wasmparser::ExternalKind::Memory => ExportKind::Memory,
                        _ => continue,
                    };
                    for name in exports.get(e.name).into_iter().flatten() {
                        out.push((name, kind, e.index));
                    }
                }
                // Exports sorted by name: the output does not depend on the
                // order in which the fused module happened to export them.
                out.sort_by(|a, b| (a.0, a.2).cmp(&(b.0, b.2)));
                for (name, kind, index) in out {
                    section.export(name, kind, index);
                }
                m.section(&section);
            }
            Payload::Version { .. } | Payload::End(_) | Payload::CodeSectionEntry(_) => {}
            other => {
                if let Some((id, range)) = other.as_section() {
                    m.section(&RawSection {
                        id,
                        data: &fused[range],
                    });
                }
            }
        }
    }
    Ok(m.finish())
}

/// Build-target names from the world.
struct Names<'a> {
    resolve: &'a Resolve,
    world: &'a wit_parser::World,
}

impl<'a> Names<'a> {
    /// The (module, name) of the import behind host slot `slot`.
    fn host_slot(
        &self,
        t: &Translation,
        g: &Planned<'_>,
        slot: &HostSlot,
    ) -> Result<(String, String), Diagnostic> {
        match slot {
            HostSlot::Lower { import, .. } => {
                let (name, path) = import_path(t, *import);
                let (interface, func) = match (self.item(&self.world.imports, name)?, path) {
                    ((_, WorldItem::Function(f)), []) => (None, f),
                    ((key, WorldItem::Interface { id, .. }), [func]) => {
                        let f = self.resolve.interfaces[*id]
                            .functions
                            .get(func.as_str())
                            .ok_or_else(|| internal(&format!("`{name}` has no `{func}`")))?;
                        (Some(key), f)
                    }
                    _ => return Err(nested(name)),
                };
                Ok(self
                    .resolve
                    .wasm_import_name(MANGLING, WasmImport::Func { interface, func }))
            }
            HostSlot::ResourceDrop { import } => {
                let (name, path) = import_path(t, *import);
                let ty = match (self.item(&self.world.imports, name)?, path) {
                    // A resource of the world itself.
                    ((_, WorldItem::Type { id, .. }), []) => *id,
                    ((_, WorldItem::Interface { id, .. }), [resource]) => *self.resolve.interfaces
                        [*id]
                        .types
                        .get(resource.as_str())
                        .ok_or_else(|| internal(&format!("`{name}` has no `{resource}`")))?,
                    _ => return Err(nested(name)),
                };
                // `<resource>_drop` is named after the original resource, in
                // the interface (or world) that defines it.
                let ty = self.original(ty);
                let interface = self.owner_key(&self.world.imports, ty)?;
                Ok(self.resolve.wasm_import_name(
                    MANGLING,
                    WasmImport::ResourceIntrinsic {
                        interface,
                        resource: ty,
                        intrinsic: ResourceIntrinsic::ImportedDrop,
                    },
                ))
            }
            // Core output of an async composition is refused by the planner.
            HostSlot::TaskReturn { .. } | HostSlot::Context { .. } | HostSlot::HostBuiltin(_) => {
                Err(internal(
                    "a host slot of the async outer boundary in core output",
                ))
            }
            HostSlot::OuterResource { resource, op } => {
                let (key, ty) = self.exported_resource(t, g, *resource)?;
                let intrinsic = match op {
                    OuterOp::New => ResourceIntrinsic::ExportedNew,
                    OuterOp::Rep => ResourceIntrinsic::ExportedRep,
                    OuterOp::Drop => ResourceIntrinsic::ExportedDrop,
                };
                Ok(self.resolve.wasm_import_name(
                    MANGLING,
                    WasmImport::ResourceIntrinsic {
                        interface: Some(key),
                        resource: ty,
                        intrinsic,
                    },
                ))
            }
        }
    }

    /// Fused export name → its build-target names.
    fn exports(
        &self,
        t: &Translation,
        g: &Planned<'_>,
    ) -> Result<HashMap<String, Vec<String>>, Diagnostic> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        let mut add =
            |fused: &str, name: String| out.entry(fused.to_string()).or_default().push(name);
        add(
            &FusedExport::ScratchMemory.name(),
            self.resolve.wasm_export_name(MANGLING, WasmExport::Memory),
        );
        add(
            &FusedExport::ScratchRealloc.name(),
            self.resolve.wasm_export_name(MANGLING, WasmExport::Realloc),
        );
        add(
            INIT_EXPORT,
            self.resolve
                .wasm_export_name(MANGLING, WasmExport::Initialize),
        );
        for node in &g.exports {
            match node {
                ExportNode::Func { name, .. } => {
                    let (_, item) = self.item(&self.world.exports, name)?;
                    let WorldItem::Function(func) = item else {
                        return Err(internal(&format!("the export `{name}` is not a function")));
                    };
                    self.export_func(None, func, node, &mut add);
                }
                ExportNode::Instance { name, items } => {
                    let (key, item) = self.item(&self.world.exports, name)?;
                    let WorldItem::Interface { id, .. } = item else {
                        return Err(internal(&format!(
                            "the export `{name}` is not an interface"
                        )));
                    };
                    for item in items {
                        match item {
                            ExportNode::Func { name: f, .. } => {
                                let func = self.resolve.interfaces[*id]
                                    .functions
                                    .get(f.as_str())
                                    .ok_or_else(|| {
                                    internal(&format!("`{name}` has no `{f}`"))
                                })?;
                                self.export_func(Some(key), func, item, &mut add);
                            }
                            ExportNode::Instance { .. } => return Err(nested(name)),
                            ExportNode::Type { .. } => {}
                        }
                    }
                }
                ExportNode::Type { .. } => {}
            }
        }
        for r in &g.exported_resources {
            let (key, ty) = self.exported_resource(t, g, r.resource)?;
            add(
                &r.dtor.name(),
                self.resolve.wasm_export_name(
                    MANGLING,
                    WasmExport::ResourceDtor {
                        interface: key,
                        resource: ty,
                    },
                ),
            );
        }
        Ok(out)
    }

    /// Names an exported function and its post-return.
    fn export_func(
        &self,
        interface: Option<&WorldKey>,
        func: &wit_parser::Function,
        node: &ExportNode,
        add: &mut impl FnMut(&str, String),
    ) {
        let ExportNode::Func { core, options, .. } = node else {
            return;
        };
        let name = |kind| {
            self.resolve.wasm_export_name(
                MANGLING,
                WasmExport::Func {
                    interface,
                    func,
                    kind,
                },
            )
        };
        add(&core.name(), name(WasmExportKind::Normal));
        if let Some(post) = &options.post_return {
            add(&post.name(), name(WasmExportKind::PostReturn));
        }
    }

    /// The world item named `name` (as the component names it).
    fn item(
        &self,
        items: &'a wit_parser::IndexMap<WorldKey, WorldItem>,
        name: &str,
    ) -> Result<(&'a WorldKey, &'a WorldItem), Diagnostic> {
        items
            .iter()
            .find(|(k, _)| self.resolve.name_world_key(k) == name)
            .ok_or_else(|| internal(&format!("the world has no `{name}`")))
    }

    /// Follows `type a = b` to the resource it names.
    fn original(&self, mut ty: TypeId) -> TypeId {
        while let TypeDefKind::Type(wit_parser::Type::Id(next)) = self.resolve.types[ty].kind {
            ty = next;
        }
        ty
    }

    /// The key of the world item (interface) that defines `ty`; `None` for
    /// a type of the world itself.
    fn owner_key(
        &self,
        items: &'a wit_parser::IndexMap<WorldKey, WorldItem>,
        ty: TypeId,
    ) -> Result<Option<&'a WorldKey>, Diagnostic> {
        let owner = match self.resolve.types[ty].owner {
            TypeOwner::Interface(owner) => owner,
            TypeOwner::World(_) => return Ok(None),
            TypeOwner::None => return Err(internal("a resource without an owner")),
        };
        items
            .iter()
            .find(|(_, item)| matches!(item, WorldItem::Interface { id, .. } if *id == owner))
            .map(|(k, _)| Some(k))
            .ok_or_else(|| internal("a resource of an interface the world does not name"))
    }

    /// The exported interface and WIT type of a resource defined inside and
    /// exported.
    fn exported_resource(
        &self,
        t: &Translation,
        g: &Planned<'_>,
        resource: ResourceIndex,
    ) -> Result<(&'a WorldKey, TypeId), Diagnostic> {
        for node in &g.exports {
            let ExportNode::Instance { name, items } = node else {
                continue;
            };
            for item in items {
                let ExportNode::Type {
                    name: r,
                    ty: TypeDef::Resource(table),
                } = item
                else {
                    continue;
                };
                if !matches!(t.types[*table], TypeResourceTable::Concrete { ty, .. } if ty == resource)
                {
                    continue;
                }
                let (_, item) = self.item(&self.world.exports, name)?;
                let WorldItem::Interface { id, .. } = item else {
                    return Err(internal(&format!(
                        "the export `{name}` is not an interface"
                    )));
                };
                let ty = *self.resolve.interfaces[*id]
                    .types
                    .get(r.as_str())
                    .ok_or_else(|| internal(&format!("`{name}` has no `{r}`")))?;
                // Named after the original resource, in the exported
                // interface that defines it (`use` makes aliases).
                let ty = self.original(ty);
                let key = self.owner_key(&self.world.exports, ty)?.ok_or_else(|| {
                    Diagnostic::error(
                        Code::Unsupported,
                        "unsupported in core output: a resource exported outside an interface",
                    )
                })?;
                return Ok((key, ty));
            }
        }
        Err(Diagnostic::error(
            Code::Unsupported,
            "unsupported in core output: a resource exported outside an interface",
        ))
    }
}

/// The outer import name and the path to the item inside it.
fn import_path(
    t: &Translation,
    import: wasmtime_environ::component::RuntimeImportIndex,
) -> (&str, &[String]) {
    let (idx, path) = &t.component.imports[import];
    (t.component.import_types[*idx].0.as_str(), path.as_slice())
}

fn nested(name: &str) -> Diagnostic {
    Diagnostic::error(
        Code::Unsupported,
        format!(
            "unsupported in core output: `{name}` nests instances, which the `wasm32` build target cannot name"
        ),
    )
}

fn internal(what: &str) -> Diagnostic {
    Diagnostic::error(
        Code::Internal,
        format!("internal error while wrapping the core module: {what}"),
    )
}
