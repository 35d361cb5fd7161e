//! The last passes of [`super::merge`]: every live item with its final
//! index, `init`, the exports, and the function names.

use super::segments;
use super::{INIT_EXPORT, LinkError, Linker, Live};
use crate::link::parse::{self, ParsedModule};
use crate::link::plan::Kind;
use crate::link::space::{DEAD, Maps, Space};
use std::collections::BTreeMap;
use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasm_encoder::{
    CodeSection, DataCountSection, DataSection, ElementMode, ElementSection, ElementSegment,
    Elements, EntityType, ExportKind, ExportSection, Function, FunctionSection, GlobalSection,
    ImportSection, Instruction, MemorySection, Module, NameMap, NameSection, TableSection,
    TagSection, TypeSection,
};

/// The sections of the fused module, as the emission pass fills them.
#[derive(Default)]
pub(super) struct Sections {
    types: TypeSection,
    imports: ImportSection,
    funcs: FunctionSection,
    tables: TableSection,
    memories: MemorySection,
    tags: TagSection,
    globals: GlobalSection,
    exports: ExportSection,
    elems: ElementSection,
    datas: DataSection,
    code: CodeSection,
}

impl Linker<'_> {
    /// Pass 6, emission: the live types (and `init`'s), the imports of the
    /// fused module, then per instance in plan order its live items,
    /// segments and bodies, while `init` collects what instantiating it
    /// runs; then `init` itself and the exports.
    pub(super) fn emit(&self, live: &Live) -> Result<Sections, LinkError> {
        let mut s = Sections::default();
        let init_type = self.emit_types(live, &mut s.types)?;
        self.emit_imports(live, &mut s.imports)?;
        let mut init = Function::new([]);
        for i in 0..self.modules.len() {
            self.emit_instance(i, &mut s, &mut init)
                .map_err(|e| self.reencode_error(i, e))?;
        }
        emit_init(live, init_type, init, &mut s);
        self.emit_exports(live, &mut s.exports)?;
        Ok(s)
    }

    /// Emits the live recursion groups in provisional order; returns the
    /// type of `init`.
    fn emit_types(&self, live: &Live, types: &mut TypeSection) -> Result<u32, LinkError> {
        for &(inst, group, base, _) in &self.prov.groups {
            if live.liveness.final_index(Space::Type, base).is_none() {
                continue;
            }
            let (inst, group) = (inst as usize, group as usize);
            let group = self.modules[inst].rec_groups[group].clone();
            self.maps[inst]
                .clone()
                .parse_recursive_type_group(types.ty(), group)
                .map_err(|e| self.reencode_error(inst, e))?;
        }
        Ok(self.init_type(live, types))
    }

    /// Emits the live imports of the fused module (core output: the host's
    /// functions), in provisional order: first in the function space.
    fn emit_imports(&self, live: &Live, imports: &mut ImportSection) -> Result<(), LinkError> {
        for f in 0..self.prov.imported_funcs {
            let Some(final_index) = live.liveness.final_index(Space::Func, f) else {
                continue;
            };
            let (inst, j) = self.prov.import_owner(f);
            let inst = inst as usize;
            let imp = &self.modules[inst].imports[j as usize];
            let wasmparser::TypeRef::Func(ty) = imp.ty else {
                continue;
            };
            let ty = self.maps[inst]
                .get(Space::Type, ty)
                .map_err(|e| self.reencode_error(inst, e))?;
            debug_assert_eq!(final_index, imports.len());
            imports.import(imp.module, imp.name, EntityType::Function(ty));
        }
        Ok(())
    }

    /// Emits the live items of instance `i` and appends to `init` what
    /// instantiating it runs: its passive-made segments, then its start.
    fn emit_instance(
        &self,
        i: usize,
        s: &mut Sections,
        init: &mut Function,
    ) -> Result<(), ReencodeError<String>> {
        let m = &self.modules[i];
        let mut map = self.maps[i].clone();
        emit_definitions(m, &mut map, s)?;
        let passive = segments::passive_targets(m, &map);
        segments::emit_elems(m, &mut map, &passive, &mut s.elems, init)?;
        segments::emit_datas(m, &mut map, &passive, &mut s.datas, init)?;
        if let Some(start) = m.start {
            init.instruction(&Instruction::Call(map.function_index(start)?));
        }
        for body in live_own(m, &map, Space::Func, &m.bodies) {
            if self.plan.instances[i].fact {
                s.code
                    .function(&crate::link::listcopy::emit_body(&mut map, body)?);
            } else {
                map.parse_function_body(&mut s.code, body.clone())?;
            }
        }
        Ok(())
    }

    /// Emits the exports of the fused module, then `init`'s.
    fn emit_exports(&self, live: &Live, exports: &mut ExportSection) -> Result<(), LinkError> {
        for e in &self.exports {
            let index = live
                .liveness
                .final_index(e.kind.into(), e.index)
                .ok_or_else(|| LinkError::UnresolvedExport {
                    name: e.name.into(),
                    detail: "removed as unreachable".into(),
                })?;
            exports.export(e.name, export_kind(e.kind), index);
        }
        exports.export(INIT_EXPORT, ExportKind::Func, live.init_index());
        Ok(())
    }

    /// Pass 7, names: the defined functions of every instance, then `init`.
    /// An imported function is the exporter's, named there. A function the
    /// `name` section does not name is named after its export, if any (FACT
    /// adapters, intrinsics), so that profiles of fused code show it. Fused
    /// indices increase with the plan order and the local order, as a name
    /// map requires.
    pub(super) fn names(&self, live: &Live) -> NameMap {
        let mut names = NameMap::new();
        for (m, map) in self.modules.iter().zip(&self.maps) {
            for (local, name) in own_func_names(m) {
                if let Some(&fused) = map.space(Space::Func).get(local as usize)
                    && fused != DEAD
                {
                    names.append(fused, name);
                }
            }
        }
        names.append(live.init_index(), "meld:init");
        names
    }
}

impl Sections {
    /// The fused module: its sections in the order the binary format
    /// requires, the optional ones only when not empty, the data count when
    /// there are data segments, and `names` as the `name` section.
    pub(super) fn finish(&self, names: &NameMap) -> Vec<u8> {
        let mut module = Module::new();
        module.section(&self.types);
        if !self.imports.is_empty() {
            module.section(&self.imports);
        }
        module.section(&self.funcs);
        if !self.tables.is_empty() {
            module.section(&self.tables);
        }
        if !self.memories.is_empty() {
            module.section(&self.memories);
        }
        if !self.tags.is_empty() {
            module.section(&self.tags);
        }
        if !self.globals.is_empty() {
            module.section(&self.globals);
        }
        module.section(&self.exports);
        if !self.elems.is_empty() {
            module.section(&self.elems);
        }
        if !self.datas.is_empty() {
            module.section(&DataCountSection {
                count: self.datas.len(),
            });
        }
        module.section(&self.code);
        if !self.datas.is_empty() {
            module.section(&self.datas);
        }
        let mut name_section = NameSection::new();
        name_section.functions(names);
        module.section(&name_section);
        module.finish()
    }
}

/// Emits the live function declarations, tables, memories, tags and globals
/// of `m`.
fn emit_definitions(
    m: &ParsedModule<'_>,
    map: &mut Maps,
    s: &mut Sections,
) -> Result<(), ReencodeError<String>> {
    for &ty in live_own(m, map, Space::Func, &m.func_types) {
        s.funcs.function(map.type_index(ty)?);
    }
    for t in live_own(m, map, Space::Table, &m.tables) {
        map.parse_table(&mut s.tables, t.clone())?;
    }
    for &mem in live_own(m, map, Space::Memory, &m.memories) {
        s.memories.memory(map.memory_type(mem)?);
    }
    for &tag in live_own(m, map, Space::Tag, &m.tags) {
        s.tags.tag(map.tag_type(tag)?);
    }
    for g in live_own(m, map, Space::Global, &m.globals) {
        map.parse_global(&mut s.globals, g.clone())?;
    }
    Ok(())
}

/// Adds `init` (of type `init_type`, after every live function), once
/// finished, and the element segment that declares every function a kept
/// body takes a `ref.func` of.
fn emit_init(live: &Live, init_type: u32, mut init: Function, s: &mut Sections) {
    let ref_funcs = live.liveness.ref_funcs();
    if !ref_funcs.is_empty() {
        s.elems.segment(ElementSegment {
            mode: ElementMode::Declared,
            elements: Elements::Functions(ref_funcs.into()),
        });
    }
    init.instruction(&Instruction::End);
    s.funcs.function(init_type);
    s.code.function(&init);
}

/// The live ones of `items`, `m`'s own items of `space` (those after its
/// imports), in order.
fn live_own<'t, T>(m: &ParsedModule<'_>, map: &Maps, space: Space, items: &'t [T]) -> Vec<&'t T> {
    // No import fills the spaces without an import kind.
    let imported = space.import_kind().map_or(0, |kind| m.imported(kind));
    items
        .iter()
        .enumerate()
        .filter(|&(k, _)| map.is_live(space, imported + k))
        .map(|(_, item)| item)
        .collect()
}

/// The names of `m`'s own functions by local index, increasing: from its
/// `name` section, else from its exports.
fn own_func_names<'a>(m: &ParsedModule<'a>) -> BTreeMap<u32, &'a str> {
    let imported = m.imported(Kind::Func) as u32;
    let mut names: BTreeMap<u32, &str> = m
        .exports
        .iter()
        .filter(|e| parse::external_kind(e.kind) == Kind::Func && e.index >= imported)
        .map(|e| (e.index, e.name))
        .collect();
    names.extend(m.func_names.iter().filter(|(i, _)| *i >= imported).copied());
    names
}

/// The export kind of an item of kind `k`.
fn export_kind(k: Kind) -> ExportKind {
    match k {
        Kind::Func => ExportKind::Func,
        Kind::Table => ExportKind::Table,
        Kind::Memory => ExportKind::Memory,
        Kind::Global => ExportKind::Global,
        Kind::Tag => ExportKind::Tag,
    }
}
