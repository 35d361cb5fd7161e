//! Stage 4, **wrap**: the output component around the fused core module.
//!
//! Layout of the output:
//!
//! 1. the input's world, re-declared ([`world`]): types, aliases and imports
//!    with the input's names and types;
//! 2. the fused core module and its one instance (it has no imports);
//! 3. one `canon lower` per host-table slot (outer imports lowered with the
//!    memory, `realloc` and string encoding of the inner instance that
//!    lowered them in the input), or `canon resource.drop` for outer
//!    resources;
//! 4. the *fixup* module, which has no code: it imports the host table, the
//!    lowered functions and the fused module's `init`, fills the table with an
//!    active element segment, and runs `init` as its start function — so inner
//!    start functions and segment initialisation run once host calls work;
//! 5. the outer exports: each lifted function re-created with its canonical
//!    options and exported with the type the world declares for it;
//! 6. a `producers` custom section, `processed-by meld <version>` ([`producers`]),
//!    by which `inspect` recognises Meld's output.
//!
//! Nothing here knows about inner components: only the world, the host slots
//! and the lifted exports the link stage reports.

mod builder;
pub mod core;
mod types;
pub mod world;

use crate::diagnostics::{Code, Diagnostic};
use crate::link::exports::FusedExport;
use crate::link::merge::INIT_EXPORT;
use crate::link::planner::{ExportNode, HostSlot, Options, OuterOp, Planned};
use crate::sig::CoreSig;
use crate::translate::Translation;
use builder::Builder;
use std::collections::HashMap;
use types::TypeEncoder;
use wasm_encoder::reencode::ReencodeComponent;
use wasm_encoder::{
    CanonicalOption, ComponentExportKind, ComponentExternName, ComponentValType, ConstExpr,
    ElementSection, Elements, EntityType, ExportKind, ImportSection, Module, RefType, StartSection,
    TableType, TypeSection,
};
use wasmparser::ComponentTypeDeclaration;
use wasmtime_environ::component::{
    ResourceIndex, RuntimeImportIndex, StringEncoding, TypeDef, TypeResourceTable,
};
use world::{Space, World, WorldReencoder};

/// Builds the output component.
///
/// `fused` is the fused core module; `host_sigs[k]` the core signature of
/// host-table slot `k`.
///
/// # Errors
/// 'Unsupported' diagnostics for exports Meld cannot re-declare yet; E0100 for
/// inconsistencies between the world and the translation (a bug).
pub fn wrap(
    t: &Translation,
    g: &Planned<'_>,
    fused: &[u8],
    world: Option<&World>,
) -> Result<Vec<u8>, Diagnostic> {
    let mut w = Wrapper {
        t,
        b: Builder::default(),
        imports: HashMap::new(),
        aliases: HashMap::new(),
        core: HashMap::new(),
        fused: 0,
        fixed_up: false,
        resources: HashMap::new(),
    };
    // The fused module imports nothing, so its instance comes first; the
    // lowerings and the fixup follow the world's imports.
    let module = w.b.core_module(fused);
    w.fused = w.b.core_instantiate(module, &[]);
    let mut re = WorldReencoder::default();
    let mut types = TypeEncoder::new(&t.types);
    let err = |e: wasm_encoder::reencode::Error| internal(&format!("re-encoding the world: {e}"));
    let Some(world) = world else {
        w.lower_and_fixup(g, &mut types)?;
        for node in &g.exports {
            w.export_structurally(&mut types, node)?;
        }
        w.b.custom(&producers());
        return Ok(w.b.finish());
    };
    // The world's declarations in order: imports (with their types and
    // aliases) come first in a world, so by the first export every lowering
    // can be made and the fused module instantiated.
    for decl in world.decls()? {
        match decl {
            ComponentTypeDeclaration::CoreType(ct) => {
                w.b.core_type(|enc| re.parse_component_core_type(enc, ct))
                    .map_err(err)?;
            }
            ComponentTypeDeclaration::Type(ty) => {
                let i =
                    w.b.ty(|enc| re.parse_component_type(enc, ty))
                        .map_err(err)?;
                re.push(Space::Type, i);
            }
            ComponentTypeDeclaration::Alias(a) => {
                let space = Space::of_alias(&a);
                let a = re.component_alias(a).map_err(err)?;
                let i = w.b.alias(a);
                re.push(space, i);
            }
            ComponentTypeDeclaration::Import(imp) => {
                let space = Space::of_type_ref(&imp.ty);
                let ty = re.component_type_ref(imp.ty).map_err(err)?;
                let i = w.b.import(extern_name(&imp.name), ty);
                w.imports.insert(imp.name.name.to_string(), i);
                re.push(space, i);
            }
            ComponentTypeDeclaration::Export { name, ty } => {
                w.lower_and_fixup(g, &mut types)?;
                let space = Space::of_type_ref(&ty);
                let ty = re.component_type_ref(ty).map_err(err)?;
                let node = g
                    .exports
                    .iter()
                    .find(|n| n.name() == name.name)
                    .ok_or_else(|| {
                        internal(&format!(
                            "the world exports `{}` but the translation does not",
                            name.name
                        ))
                    })?;
                // A type export is the world's own declaration of it, which
                // refers to imported types by name; other items are built
                // from the translation and ascribed the declared type.
                let (kind, idx) = match ty {
                    wasm_encoder::ComponentTypeRef::Type(wasm_encoder::TypeBounds::Eq(i)) => {
                        (ComponentExportKind::Type, i)
                    }
                    _ => w.export_item(&mut types, node)?,
                };
                // An item defining resources is exported as it is: an
                // ascribed `(sub resource)` would be a resource of its own.
                let ascribed = (!node.defines_resources()).then_some(ty);
                let i = w.b.export(name.name, kind, idx, ascribed);
                re.push(space, i);
                // Later signatures must name exported resources through
                // the export.
                w.rename_exported_resources(&mut types, node, i);
            }
        }
    }
    // A world without exports still instantiates: start functions run.
    w.lower_and_fixup(g, &mut types)?;
    w.b.custom(&producers());
    Ok(w.b.finish())
}

/// The tool name of Meld in the `processed-by` field of its outputs'
/// `producers` section.
pub const PRODUCER: &str = "meld";

/// The `producers` custom section of every output: `processed-by`
/// [`PRODUCER`] at the guest crate's version. The same bytes on every host,
/// so outputs stay deterministic.
pub fn producers() -> wasm_encoder::ProducersSection {
    let mut field = wasm_encoder::ProducersField::new();
    field.value(PRODUCER, env!("CARGO_PKG_VERSION"));
    let mut section = wasm_encoder::ProducersSection::new();
    section.field("processed-by", &field);
    section
}

struct Wrapper<'t> {
    t: &'t Translation,
    b: Builder,
    /// Outer import name → index of the imported item.
    imports: HashMap<String, u32>,
    /// Aliases of import members already made: (import, kind) → index.
    aliases: HashMap<(RuntimeImportIndex, bool), u32>,
    /// Aliases of fused-module exports: name → core index.
    core: HashMap<String, u32>,
    /// Core instance index of the fused module.
    fused: u32,
    /// Whether the host-table slots are lowered and the fixup instantiated.
    fixed_up: bool,
    /// The wrapper's own resource type of each exported resource.
    resources: HashMap<ResourceIndex, u32>,
}

impl ExportNode {
    /// Whether this export is, or holds, a resource type.
    fn defines_resources(&self) -> bool {
        match self {
            ExportNode::Type {
                ty: TypeDef::Resource(_),
                ..
            } => true,
            ExportNode::Instance { items, .. } => items.iter().any(ExportNode::defines_resources),
            _ => false,
        }
    }

    fn name(&self) -> &str {
        match self {
            ExportNode::Func { name, .. }
            | ExportNode::Instance { name, .. }
            | ExportNode::Type { name, .. } => name,
        }
    }
}

impl<'t> Wrapper<'t> {
    /// Defines the wrapper's resource types, lowers the host-table slots and
    /// runs the fixup module; once. Tells `types` how to name every
    /// resource.
    fn lower_and_fixup(
        &mut self,
        g: &Planned<'_>,
        types: &mut TypeEncoder<'_>,
    ) -> Result<(), Diagnostic> {
        if self.fixed_up {
            return Ok(());
        }
        self.fixed_up = true;
        // Each exported resource defined inside becomes a resource type of
        // the wrapper: rep = the inner rep, destructor = the fused module's
        // (which runs the inner destructor).
        for r in &g.exported_resources {
            let dtor = self.core_export(&r.dtor, ExportKind::Func);
            let ty = self.b.resource_type(dtor);
            self.resources.insert(r.resource, ty);
            types.set_resource(r.resource, ty);
        }
        for (r, import) in self.t.component.imported_resources.iter() {
            if let Ok(ty) = self.import_item(*import, true) {
                types.set_resource(r, ty);
            }
        }
        let lowered = g
            .host
            .iter()
            .map(|slot| self.host_slot(slot, types))
            .collect::<Result<Vec<_>, _>>()?;
        self.fixup(&g.host_sigs, &lowered);
        Ok(())
    }

    /// The item at the end of an outer import's path (an instance member or
    /// the import itself), aliased once.
    fn import_item(&mut self, rt: RuntimeImportIndex, is_type: bool) -> Result<u32, Diagnostic> {
        if let Some(&i) = self.aliases.get(&(rt, is_type)) {
            return Ok(i);
        }
        let (import, path) = &self.t.component.imports[rt];
        let (name, _) = &self.t.component.import_types[*import];
        let mut idx = *self
            .imports
            .get(name)
            .ok_or_else(|| internal(&format!("the world does not import `{name}`")))?;
        for (i, member) in path.iter().enumerate() {
            let kind = match (i + 1 == path.len(), is_type) {
                (false, _) => ComponentExportKind::Instance,
                (true, false) => ComponentExportKind::Func,
                (true, true) => ComponentExportKind::Type,
            };
            idx = self.b.alias_export(idx, member, kind);
        }
        self.aliases.insert((rt, is_type), idx);
        Ok(idx)
    }

    /// A fused-module export, aliased once.
    fn core_export(&mut self, export: &FusedExport, kind: ExportKind) -> u32 {
        let name = export.name();
        if let Some(&i) = self.core.get(&name) {
            return i;
        }
        let i = self.b.core_alias_export(self.fused, &name, kind);
        self.core.insert(name, i);
        i
    }

    fn canon_options(&mut self, o: &Options) -> Vec<CanonicalOption> {
        let mut out = vec![match o.encoding {
            StringEncoding::Utf8 => CanonicalOption::UTF8,
            StringEncoding::Utf16 => CanonicalOption::UTF16,
            StringEncoding::CompactUtf16 => CanonicalOption::CompactUTF16,
        }];
        if let Some(m) = &o.memory {
            out.push(CanonicalOption::Memory(
                self.core_export(m, ExportKind::Memory),
            ));
        }
        if let Some(r) = &o.realloc {
            out.push(CanonicalOption::Realloc(
                self.core_export(r, ExportKind::Func),
            ));
        }
        if let Some(p) = &o.post_return {
            out.push(CanonicalOption::PostReturn(
                self.core_export(p, ExportKind::Func),
            ));
        }
        if o.async_ {
            out.push(CanonicalOption::Async);
        }
        if let Some(c) = &o.callback {
            out.push(CanonicalOption::Callback(
                self.core_export(c, ExportKind::Func),
            ));
        }
        out
    }

    /// The core function for one host-table slot.
    fn host_slot(
        &mut self,
        slot: &HostSlot,
        types: &mut TypeEncoder<'_>,
    ) -> Result<u32, Diagnostic> {
        Ok(match slot {
            HostSlot::Lower {
                import, options, ..
            } => {
                let func = self.import_item(*import, false)?;
                let opts = self.canon_options(options);
                self.b.lower(func, &opts)
            }
            HostSlot::ResourceDrop { import } => {
                let ty = self.import_item(*import, true)?;
                self.b.resource_drop(ty)
            }
            HostSlot::TaskReturn { ty, options, .. } => {
                let result = match self.t.types[self.t.types[*ty].results].types.first() {
                    Some(r) => Some(types.val(&mut self.b, r)?),
                    None => None,
                };
                let opts = self.canon_options(options);
                self.b.task_return(result, &opts)
            }
            HostSlot::Context { set } => self.b.context(*set, 0),
            HostSlot::HostBuiltin(b) => {
                let memory = match b {
                    crate::link::planner::HostBuiltin::Wait
                    | crate::link::planner::HostBuiltin::Poll
                    | crate::link::planner::HostBuiltin::WakeRead
                    | crate::link::planner::HostBuiltin::WakeWrite => {
                        self.core_export(&FusedExport::AsyncMemory, ExportKind::Memory)
                    }
                    _ => 0,
                };
                self.b.host_builtin(*b, memory)
            }
            HostSlot::OuterResource { resource, op } => {
                let ty = *self
                    .resources
                    .get(resource)
                    .ok_or_else(|| internal("an exported resource without its type"))?;
                match op {
                    OuterOp::New => self.b.resource_new(ty),
                    OuterOp::Rep => self.b.resource_rep(ty),
                    OuterOp::Drop => self.b.resource_drop(ty),
                }
            }
        })
    }

    /// Instantiates the fixup module: fills the host table with `lowered`,
    /// then runs the fused module's `init`.
    fn fixup(&mut self, sigs: &[CoreSig], lowered: &[u32]) {
        let n = lowered.len() as u32;
        let mut types = TypeSection::new();
        let mut imports = ImportSection::new();
        imports.import(
            "",
            "table",
            EntityType::Table(TableType {
                element_type: RefType::FUNCREF,
                table64: false,
                minimum: n.into(),
                maximum: None,
                shared: false,
            }),
        );
        for (k, sig) in sigs.iter().enumerate() {
            sig.define(&mut types);
            imports.import("", &k.to_string(), EntityType::Function(k as u32));
        }
        types.ty().function([], []);
        imports.import("", INIT_EXPORT, EntityType::Function(n));
        let mut m = Module::new();
        m.section(&types)
            .section(&imports)
            .section(&StartSection { function_index: n });
        if n > 0 {
            let mut elems = ElementSection::new();
            let funcs: Vec<u32> = (0..n).collect();
            elems.active(
                Some(0),
                &ConstExpr::i32_const(0),
                Elements::Functions(funcs.into()),
            );
            m.section(&elems);
        }
        let fixup = self.b.core_module(&m.finish());
        let mut args = vec![(
            "table".to_string(),
            ExportKind::Table,
            self.core_export(&FusedExport::HostTable, ExportKind::Table),
        )];
        for (k, f) in lowered.iter().enumerate() {
            args.push((k.to_string(), ExportKind::Func, *f));
        }
        args.push((
            INIT_EXPORT.to_string(),
            ExportKind::Func,
            self.core_export(&FusedExport::Init, ExportKind::Func),
        ));
        let arg = self.b.core_instantiate_exports(&args);
        self.b.core_instantiate(fixup, &[("", arg)]);
    }

    /// An instance of `items` that names its resources, as wit-component
    /// builds exported interfaces: a nested component imports each resource
    /// type and function and re-exports them under their names, with the
    /// function types restated over the exported resource types. (An
    /// instance made of exports names no resource, so `[constructor]r`,
    /// `[method]r.f` would not validate.)
    fn reexporter(
        &mut self,
        types: &mut TypeEncoder<'_>,
        items: &[ExportNode],
    ) -> Result<u32, Diagnostic> {
        let mut nb = Builder::default();
        let mut nt = TypeEncoder::new(&self.t.types);
        let mut args = Vec::new();
        // Imports: resource types, then functions over them.
        let mut imported = Vec::new();
        for item in items {
            match item {
                ExportNode::Type {
                    ty: TypeDef::Resource(t),
                    ..
                } => {
                    let r = types
                        .resource_of(*t)
                        .ok_or_else(|| internal("abstract resource export"))?;
                    let outer = match types.resource_index(r) {
                        Some(i) => i,
                        None => self.export_item(types, item)?.1,
                    };
                    let import = format!("import-type-t{}", args.len());
                    let i = nb.import(
                        ComponentExternName::from(import.as_str()),
                        wasm_encoder::ComponentTypeRef::Type(wasm_encoder::TypeBounds::SubResource),
                    );
                    nt.set_resource(r, i);
                    args.push((import, ComponentExportKind::Type, outer));
                    imported.push(i);
                }
                ExportNode::Func { ty, .. } => {
                    let (_, outer) = self.export_item(types, item)?;
                    let fty = nt.func(&mut nb, *ty)?;
                    let import = format!("import-func-f{}", args.len());
                    let i = nb.import(
                        ComponentExternName::from(import.as_str()),
                        wasm_encoder::ComponentTypeRef::Func(fty),
                    );
                    args.push((import, ComponentExportKind::Func, outer));
                    imported.push(i);
                }
                ExportNode::Type { .. } => imported.push(u32::MAX),
                ExportNode::Instance { name, .. } => {
                    return Err(Diagnostic::error(
                        Code::Unsupported,
                        format!(
                            "unsupported: the nested instance `{name}` in an exported interface with resources"
                        ),
                    ));
                }
            }
        }
        // Exports, in order: types first named, then functions ascribed
        // types over the exported names.
        for (item, &i) in items.iter().zip(&imported) {
            match item {
                ExportNode::Type {
                    name,
                    ty: TypeDef::Resource(t),
                } => {
                    let e = nb.export(name, ComponentExportKind::Type, i, None);
                    if let Some(r) = types.resource_of(*t) {
                        nt.set_resource(r, e);
                    }
                }
                ExportNode::Type {
                    name,
                    ty: TypeDef::Interface(it),
                } => {
                    let idx = match nt.val(&mut nb, it)? {
                        ComponentValType::Type(i) => i,
                        ComponentValType::Primitive(p) => nb.defined(|d| d.primitive(p)),
                    };
                    let e = nb.export(name, ComponentExportKind::Type, idx, None);
                    nt.rename(*it, e);
                }
                ExportNode::Func { name, ty, .. } => {
                    let fty = nt.func(&mut nb, *ty)?;
                    nb.export(
                        name,
                        ComponentExportKind::Func,
                        i,
                        Some(wasm_encoder::ComponentTypeRef::Func(fty)),
                    );
                }
                ExportNode::Type { name, .. } | ExportNode::Instance { name, .. } => {
                    return Err(Diagnostic::error(
                        Code::Unsupported,
                        format!(
                            "unsupported: the export `{name}` in an exported interface with resources"
                        ),
                    ));
                }
            }
        }
        let c = self.b.component(&nb.finish());
        Ok(self.b.instantiate(c, &args))
    }

    /// After `node` was exported as `index`: resources it exports (itself,
    /// or inside an exported instance) are named through the export from
    /// now on.
    fn rename_exported_resources(
        &mut self,
        types: &mut TypeEncoder<'_>,
        node: &ExportNode,
        index: u32,
    ) {
        match node {
            ExportNode::Type {
                ty: TypeDef::Resource(t),
                ..
            } => {
                if let TypeResourceTable::Concrete { ty, .. } = self.t.types[*t] {
                    types.set_resource(ty, index);
                }
            }
            ExportNode::Instance { items, .. } => {
                for item in items {
                    let kind = match item {
                        ExportNode::Type {
                            ty: TypeDef::Resource(_),
                            ..
                        } => ComponentExportKind::Type,
                        ExportNode::Instance { .. } => ComponentExportKind::Instance,
                        _ => continue,
                    };
                    let i = self.b.alias_export(index, item.name(), kind);
                    self.rename_exported_resources(types, item, i);
                }
            }
            _ => {}
        }
    }

    /// Exports `node` with types rebuilt from the translation, for a
    /// component with no imports whose exports are not a WIT world (e.g. it
    /// exports types at the top level). Exported types are exported first in
    /// input order, and later signatures refer to them by their exported
    /// index, as the component model requires of exported signatures.
    fn export_structurally(
        &mut self,
        types: &mut TypeEncoder<'_>,
        node: &ExportNode,
    ) -> Result<(), Diagnostic> {
        match node {
            ExportNode::Type {
                name,
                ty: TypeDef::Interface(it),
            } => {
                let (kind, idx) = self.export_item(types, node)?;
                let exported = self.b.export(name, kind, idx, None);
                types.rename(*it, exported);
            }
            ExportNode::Func { name, .. } => {
                let (kind, idx) = self.export_item(types, node)?;
                self.b.export(name, kind, idx, None);
            }
            ExportNode::Type {
                name,
                ty: TypeDef::Resource(_),
            } => {
                let (kind, idx) = self.export_item(types, node)?;
                let exported = self.b.export(name, kind, idx, None);
                self.rename_exported_resources(types, node, exported);
            }
            ExportNode::Type { name, .. } | ExportNode::Instance { name, .. } => {
                return Err(Diagnostic::error(
                    Code::WorldDecode,
                    format!(
                        "unsupported: the export `{name}` of a component whose outer world is not WIT"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Creates one outer export's item; returns its kind and index.
    fn export_item(
        &mut self,
        types: &mut TypeEncoder<'_>,
        node: &ExportNode,
    ) -> Result<(ComponentExportKind, u32), Diagnostic> {
        Ok(match node {
            ExportNode::Func {
                ty, core, options, ..
            } => {
                let core = self.core_export(core, ExportKind::Func);
                let opts = self.canon_options(options);
                let ty = types.func(&mut self.b, *ty)?;
                (ComponentExportKind::Func, self.b.lift(core, ty, &opts))
            }
            ExportNode::Instance { items, .. } if node.defines_resources() => (
                ComponentExportKind::Instance,
                self.reexporter(types, items)?,
            ),
            ExportNode::Instance { items, .. } => {
                let mut exports = Vec::new();
                for item in items {
                    let (kind, idx) = self.export_item(types, item)?;
                    exports.push((item.name().to_string(), kind, idx));
                }
                (
                    ComponentExportKind::Instance,
                    self.b.instantiate_exports(&exports),
                )
            }
            ExportNode::Type {
                ty: TypeDef::Interface(it),
                ..
            } => {
                let idx = match types.val(&mut self.b, it)? {
                    ComponentValType::Type(i) => i,
                    ComponentValType::Primitive(p) => self.b.defined(|d| d.primitive(p)),
                };
                (ComponentExportKind::Type, idx)
            }
            ExportNode::Type {
                ty: TypeDef::Resource(t),
                name,
            } => {
                let r = match self.t.types[*t] {
                    TypeResourceTable::Concrete { ty, .. } => ty,
                    TypeResourceTable::Abstract(_) => {
                        return Err(internal(&format!("abstract resource export `{name}`")));
                    }
                };
                let idx = match self.resources.get(&r) {
                    Some(i) => *i,
                    // A host resource re-exported: its imported type.
                    None => {
                        let import = self.t.component.imported_resources[r];
                        self.import_item(import, true)?
                    }
                };
                (ComponentExportKind::Type, idx)
            }
            ExportNode::Type { name, .. } => {
                return Err(Diagnostic::error(
                    Code::Unsupported,
                    format!("unsupported: the type export `{name}`"),
                ));
            }
        })
    }
}

fn extern_name<'a>(n: &wasmparser::ComponentExternName<'a>) -> ComponentExternName<'a> {
    ComponentExternName {
        name: n.name.into(),
        implements: n.implements.map(Into::into),
        version_suffix: n.version_suffix.map(Into::into),
        external_id: n.external_id.map(Into::into),
    }
}

fn internal(what: &str) -> Diagnostic {
    Diagnostic::error(
        Code::Internal,
        format!("internal error while wrapping: {what}"),
    )
}
