//! Merges the instances of a [`Plan`] into one core module.
//!
//! Every planned instance gets its own range in each index space of the fused
//! module (types, functions, tables, memories, globals, tags, element and data
//! segments). An import is not kept: it becomes a direct reference to the item
//! of the earlier instance that satisfies it. The fused module therefore has no
//! imports, except, for core output, those of the plan's host-imports instance
//! ([`Plan::push_host_imports`]): the host's functions, imported first.
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

use super::devirt;
use super::live::{DEAD, Liveness, Maps, Provisional, Space};
use super::parse::{self, ParsedModule, const_offset, kind_of};
use super::plan::{InstanceId, Item, Kind, Plan, Ref};
use std::collections::{BTreeMap, HashMap, HashSet};
use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasm_encoder::{
    CodeSection, ConstExpr, DataCountSection, DataSection, ElementMode, ElementSection,
    ElementSegment, Elements, EntityType, ExportKind, ExportSection, Function, FunctionSection,
    GlobalSection, ImportSection, Instruction, MemorySection, Module, NameMap, NameSection,
    TableSection, TagSection, TypeSection,
};
use wasmparser::{DataKind, ElementItems, ElementKind, Operator};

/// Name under which the fused module exports its initialisation function.
pub const INIT_EXPORT: &str = "init";

/// Why a plan could not be merged. Every case is a bug in Meld (the plan is
/// built from validated input), reported as an internal error.
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

/// The segments of one instance that must be applied by `init` rather than at
/// instantiation: a set of (kind, fused target index).
type PassiveTargets = HashSet<(Kind, u32)>;

/// Merges `plan` into one core module and returns its bytes.
///
/// # Errors
/// [`LinkError`] when the plan is inconsistent (a bug in Meld).
pub fn merge(plan: &Plan<'_>) -> Result<Vec<u8>, LinkError> {
    let parsed: Vec<ParsedModule<'_>> = plan
        .instances
        .iter()
        .map(|inst| {
            ParsedModule::parse(&inst.module).map_err(|source| LinkError::Parse {
                what: inst.what.clone(),
                source,
            })
        })
        .collect::<Result<_, _>>()?;

    // Pass 1: provisional fused indices, instance by instance, every item kept.
    let mut prov = Provisional::default();
    let mut type_dedup: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut maps: Vec<Maps> = Vec::with_capacity(parsed.len());
    for (i, (inst, m)) in plan.instances.iter().zip(&parsed).enumerate() {
        let what = || inst.what.clone();
        let mut map = Maps::default();
        intern_types(i, m, &mut map, &mut prov, &mut type_dedup).map_err(|d| {
            LinkError::Reencode {
                what: what(),
                detail: d,
            }
        })?;
        if inst.host_imports {
            for j in 0..m.imports.len() {
                let fused = match (kind_of(m.imports[j].ty), prov.define_import(i, j)) {
                    (Kind::Func, Some(f)) => f,
                    _ => {
                        return Err(LinkError::Unresolved {
                            what: what(),
                            import: j,
                            detail: "the host's imports must be functions of the first instance"
                                .into(),
                        });
                    }
                };
                map.space_mut(Space::Func).push(fused);
            }
        } else if inst.args.len() != m.imports.len() {
            return Err(LinkError::Unresolved {
                what: what(),
                import: inst.args.len().min(m.imports.len()),
                detail: format!("{} args for {} imports", inst.args.len(), m.imports.len()),
            });
        }
        for (j, (imp, arg)) in m.imports.iter().zip(&inst.args).enumerate() {
            let kind = kind_of(imp.ty);
            let fused =
                resolve(&parsed, &maps, i, arg, kind).map_err(|detail| LinkError::Unresolved {
                    what: what(),
                    import: j,
                    detail: format!("{}::{}: {detail}", imp.module, imp.name),
                })?;
            map.space_mut(kind.into()).push(fused);
        }
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
                let fused = prov.define(space, i, k);
                map.space_mut(space).push(fused);
            }
        }
        maps.push(map);
    }

    // The fused module's exports, as provisional indices.
    let mut exported = Vec::with_capacity(plan.exports.len());
    for (name, kind, r) in &plan.exports {
        let idx = resolve(&parsed, &maps, plan.instances.len(), r, *kind).map_err(|detail| {
            LinkError::Unresolved {
                what: format!("fused export `{name}`"),
                import: 0,
                detail,
            }
        })?;
        exported.push((name.as_str(), *kind, idx));
    }

    // Shims whose indirect call always reaches the same function are
    // replaced by it wherever they are imported (and exported).
    let exported_tables: Vec<u32> = exported
        .iter()
        .filter(|(_, k, _)| *k == Kind::Table)
        .map(|(_, _, i)| *i)
        .collect();
    let aliases = devirt::find(&parsed, &maps, &prov, &exported_tables);
    if !aliases.is_empty() {
        for (m, map) in parsed.iter().zip(&mut maps) {
            let imported = m.imported(Kind::Func);
            for f in &mut map.space_mut(Space::Func)[..imported] {
                if let Some(&g) = aliases.get(f) {
                    *f = g;
                }
            }
        }
        for (_, kind, i) in &mut exported {
            if *kind == Kind::Func
                && let Some(&g) = aliases.get(i)
            {
                *i = g;
            }
        }
    }

    // Dead-code removal: keep what the roots reach, renumber it.
    let mut roots: Vec<(Space, u32)> = exported
        .iter()
        .map(|&(_, k, i)| (Space::from(k), i))
        .collect();
    // The host's functions (core output) are all kept: they are the world's
    // imports the input lowers, and a re-wrapping (`wasm-tools component
    // new`) imports only what the module imports.
    roots.extend((0..prov.imported_funcs).map(|f| (Space::Func, f)));
    for ((inst, m), map) in plan.instances.iter().zip(&parsed).zip(&maps) {
        init_roots(m, map, &mut roots).map_err(|e| LinkError::Reencode {
            what: inst.what.clone(),
            detail: e.to_string(),
        })?;
    }
    let mut liveness =
        Liveness::analyse(&parsed, &maps, &prov, roots).map_err(|e| LinkError::Reencode {
            what: "the fused module (reachability)".into(),
            detail: e.to_string(),
        })?;
    let counts = liveness.compose(&mut maps);
    check_limits(&counts, prov.imported_funcs)?;

    // Pass 2: emit every live item with its final index.
    let mut types = TypeSection::new();
    for &(inst, group, base, _) in &prov.groups {
        if liveness.final_index(Space::Type, base).is_none() {
            continue;
        }
        let (inst, group) = (inst as usize, group as usize);
        maps[inst]
            .clone()
            .parse_recursive_type_group(types.ty(), parsed[inst].rec_groups[group].clone())
            .map_err(|e| LinkError::Reencode {
                what: plan.instances[inst].what.clone(),
                detail: e.to_string(),
            })?;
    }
    let init_type = match type_dedup
        .get(&func_type_key(&[], &[]))
        .and_then(|&p| liveness.final_index(Space::Type, p))
    {
        Some(t) => t,
        None => {
            // After every live type (a group counts once in `types.len()`).
            types.ty().function([], []);
            counts[Space::Type as usize]
        }
    };
    let init_index = counts[Space::Func as usize];
    // The host's functions (core output), in provisional order: first.
    let mut imports = ImportSection::new();
    for f in 0..prov.imported_funcs {
        let Some(final_index) = liveness.final_index(Space::Func, f) else {
            continue;
        };
        let (inst, j) = prov.import_owner(f);
        let imp = &parsed[inst as usize].imports[j as usize];
        let wasmparser::TypeRef::Func(ty) = imp.ty else {
            continue;
        };
        let ty = maps[inst as usize]
            .clone()
            .type_index(ty)
            .map_err(|e| LinkError::Reencode {
                what: plan.instances[inst as usize].what.clone(),
                detail: e.to_string(),
            })?;
        debug_assert_eq!(final_index, imports.len());
        imports.import(imp.module, imp.name, EntityType::Function(ty));
    }
    let mut funcs = FunctionSection::new();
    let mut tables = TableSection::new();
    let mut memories = MemorySection::new();
    let mut tags = TagSection::new();
    let mut globals = GlobalSection::new();
    let mut elems = ElementSection::new();
    let mut datas = DataSection::new();
    let mut code = CodeSection::new();
    let mut init = Function::new([]);
    let mut names = NameMap::new();

    for ((inst, m), map) in plan.instances.iter().zip(&parsed).zip(&maps) {
        let mut map = map.clone();
        let err = |e: ReencodeError<String>| LinkError::Reencode {
            what: inst.what.clone(),
            detail: e.to_string(),
        };
        // Which defined items of each space are emitted.
        let live = |space: Space, count: usize| -> Vec<bool> {
            let imported = m.imported(kind_of_space(space));
            (0..count)
                .map(|k| map.is_live(space, imported + k))
                .collect()
        };
        let live_funcs = live(Space::Func, m.func_types.len());
        let live_tables = live(Space::Table, m.tables.len());
        let live_memories = live(Space::Memory, m.memories.len());
        let live_tags = live(Space::Tag, m.tags.len());
        let live_globals = live(Space::Global, m.globals.len());
        for (&ty, _) in m.func_types.iter().zip(&live_funcs).filter(|(_, l)| **l) {
            funcs.function(map.type_index(ty).map_err(err)?);
        }
        for (t, _) in m.tables.iter().zip(&live_tables).filter(|(_, l)| **l) {
            map.parse_table(&mut tables, t.clone()).map_err(err)?;
        }
        for (mem, _) in m.memories.iter().zip(&live_memories).filter(|(_, l)| **l) {
            memories.memory(map.memory_type(*mem).map_err(err)?);
        }
        for (tag, _) in m.tags.iter().zip(&live_tags).filter(|(_, l)| **l) {
            tags.tag(map.tag_type(*tag).map_err(err)?);
        }
        for (g, _) in m.globals.iter().zip(&live_globals).filter(|(_, l)| **l) {
            map.parse_global(&mut globals, g.clone()).map_err(err)?;
        }
        let passive = passive_targets(m, &map);
        emit_elems(m, &mut map, &passive, &mut elems, &mut init).map_err(err)?;
        emit_datas(m, &mut map, &passive, &mut datas, &mut init).map_err(err)?;
        if let Some(start) = m.start {
            init.instruction(&Instruction::Call(map.function_index(start).map_err(err)?));
        }
        for (body, _) in m.bodies.iter().zip(&live_funcs).filter(|(_, l)| **l) {
            map.parse_function_body(&mut code, body.clone())
                .map_err(err)?;
        }
        // Names of defined functions only: an imported function is the
        // exporter's, named there. A function the `name` section does not
        // name is named after its export, if any (FACT adapters, intrinsics),
        // so that profiles of fused code show it. Fused indices increase with
        // the plan order and the local order, as a name map requires.
        let imported = m.imported(Kind::Func) as u32;
        let mut local_names: BTreeMap<u32, &str> = m
            .exports
            .iter()
            .filter(|e| parse::external_kind(e.kind) == Kind::Func && e.index >= imported)
            .map(|e| (e.index, e.name))
            .collect();
        local_names.extend(m.func_names.iter().filter(|(i, _)| *i >= imported).copied());
        for (local, name) in local_names {
            if let Some(&fused) = map.space(Space::Func).get(local as usize)
                && fused != DEAD
            {
                names.append(fused, name);
            }
        }
    }
    // Every function a kept body takes a `ref.func` of, declared once.
    if !liveness.ref_funcs().is_empty() {
        elems.segment(ElementSegment {
            mode: ElementMode::Declared,
            elements: Elements::Functions(liveness.ref_funcs().into()),
        });
    }
    names.append(init_index, "meld:init");
    init.instruction(&Instruction::End);
    funcs.function(init_type);
    code.function(&init);

    let mut exports = ExportSection::new();
    for &(name, kind, i) in &exported {
        let idx = liveness
            .final_index(kind.into(), i)
            .ok_or_else(|| LinkError::Unresolved {
                what: format!("fused export `{name}`"),
                import: 0,
                detail: "removed as unreachable".into(),
            })?;
        exports.export(name, export_kind(kind), idx);
    }
    exports.export(INIT_EXPORT, ExportKind::Func, init_index);

    let mut module = Module::new();
    module.section(&types);
    if !imports.is_empty() {
        module.section(&imports);
    }
    module.section(&funcs);
    if !tables.is_empty() {
        module.section(&tables);
    }
    if !memories.is_empty() {
        module.section(&memories);
    }
    if !tags.is_empty() {
        module.section(&tags);
    }
    if !globals.is_empty() {
        module.section(&globals);
    }
    module.section(&exports);
    if !elems.is_empty() {
        module.section(&elems);
    }
    if !datas.is_empty() {
        module.section(&DataCountSection { count: datas.len() });
    }
    module.section(&code);
    if !datas.is_empty() {
        module.section(&datas);
    }
    let mut name_section = NameSection::new();
    name_section.functions(&names);
    module.section(&name_section);
    Ok(module.finish())
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

/// Adds to `roots` what instantiating `m` runs (see [`super::live`]): its
/// start function, and the segments `init` applies with their targets.
fn init_roots(
    m: &ParsedModule<'_>,
    map: &Maps,
    roots: &mut Vec<(Space, u32)>,
) -> Result<(), ReencodeError<String>> {
    let mut map = map.clone();
    let passive = passive_targets(m, &map);
    for (k, e) in m.elems.iter().enumerate() {
        if let ElementKind::Active { table_index, .. } = &e.kind {
            let table = map.table_index(table_index.unwrap_or(0))?;
            if passive.contains(&(Kind::Table, table)) {
                roots.push((Space::Elem, map.element_index(k as u32)?));
            }
        }
    }
    for (k, d) in m.datas.iter().enumerate() {
        if let DataKind::Active { memory_index, .. } = &d.kind {
            let mem = map.memory_index(*memory_index)?;
            if passive.contains(&(Kind::Memory, mem)) {
                roots.push((Space::Data, map.data_index(k as u32)?));
            }
        }
    }
    if let Some(start) = m.start {
        roots.push((Space::Func, map.function_index(start)?));
    }
    Ok(())
}

/// The [`Kind`] of an index space that imports can fill (functions,
/// tables, memories, globals, tags).
fn kind_of_space(s: Space) -> Kind {
    match s {
        Space::Func => Kind::Func,
        Space::Table => Kind::Table,
        Space::Memory => Kind::Memory,
        Space::Global => Kind::Global,
        Space::Tag | Space::Type | Space::Elem | Space::Data => Kind::Tag,
    }
}

/// Resolves `r` (an item of kind `kind`) to its fused index. `user` is the
/// planned instance asking; `r` must point to an earlier one.
fn resolve(
    parsed: &[ParsedModule<'_>],
    maps: &[Maps],
    user: usize,
    r: &Ref,
    kind: Kind,
) -> Result<u32, String> {
    let InstanceId(src) = r.instance;
    if src >= user || src >= maps.len() {
        return Err(format!(
            "instance {src} is not instantiated before its user {user}"
        ));
    }
    let (found_kind, idx) = match &r.item {
        Item::Name(name) => parsed[src]
            .export_index(name)
            .ok_or_else(|| format!("instance {src} has no export `{name}`"))?,
        Item::Index(k, i) => (*k, *i),
    };
    if found_kind != kind {
        return Err(format!("expected a {kind}, found a {found_kind}"));
    }
    maps[src]
        .space(kind.into())
        .get(idx as usize)
        .copied()
        .ok_or_else(|| format!("{kind} {idx} of instance {src} does not exist"))
}

/// Gives the types of instance `instance` (module `m`) provisional fused
/// indices, reusing identical single-type recursion groups of earlier
/// instances, records each new group in `prov`, and fills the type map.
fn intern_types(
    instance: usize,
    m: &ParsedModule<'_>,
    map: &mut Maps,
    prov: &mut Provisional,
    dedup: &mut HashMap<Vec<u8>, u32>,
) -> Result<(), String> {
    let mut next = prov.len(Space::Type) as u32;
    for (g, group) in m.rec_groups.iter().enumerate() {
        let len = group.types().len() as u32;
        if len == 1 {
            // The key encodes a reference of the type to itself as
            // `SELF_REFERENCE`, an index no other type has: a type that refers
            // to itself is then never taken for one that refers to an
            // earlier type at the same position.
            map.space_mut(Space::Type).push(SELF_REFERENCE);
            let mut one = TypeSection::new();
            map.parse_recursive_type_group(one.ty(), group.clone())
                .map_err(|e| e.to_string())?;
            let key = section_body(&one);
            let types = map.space_mut(Space::Type);
            let slot = types.len() - 1;
            if let Some(&existing) = dedup.get(&key) {
                types[slot] = existing;
                continue;
            }
            types[slot] = next;
            dedup.insert(key, next);
        } else {
            // Tentative positions, so that references inside the group resolve.
            map.space_mut(Space::Type).extend(next..next + len);
        }
        prov.group(instance, g, next, len);
        next += len;
    }
    Ok(())
}

/// Stands for a type's own index in its dedup key (see [`intern_types`]);
/// above any real type index (a module has at most 1,000,000 types).
const SELF_REFERENCE: u32 = 0x0fff_ffff;

/// The dedup key of a plain function type (see [`intern_types`]).
fn func_type_key(params: &[wasm_encoder::ValType], results: &[wasm_encoder::ValType]) -> Vec<u8> {
    let mut one = TypeSection::new();
    one.ty()
        .function(params.iter().copied(), results.iter().copied());
    section_body(&one)
}

/// The encoded entry of a one-entry type section (without size or count).
fn section_body(s: &TypeSection) -> Vec<u8> {
    use wasm_encoder::Encode;
    let mut bytes = Vec::new();
    s.encode(&mut bytes);
    // `size:u32 (LEB128)`, then `count:u32 (= 1, one byte)`, then the entry.
    let size_len = bytes
        .iter()
        .position(|b| b & 0x80 == 0)
        .map_or(bytes.len(), |p| p + 1);
    bytes[size_len + 1..].to_vec()
}

/// Decides which (kind, fused target) pairs get their segments applied by
/// `init` (see the module docs).
fn passive_targets(m: &ParsedModule<'_>, map: &Maps) -> PassiveTargets {
    let mut out = PassiveTargets::new();
    let own_tables = m.imported(Kind::Table)..m.imported(Kind::Table) + m.tables.len();
    let own_memories = m.imported(Kind::Memory)..m.imported(Kind::Memory) + m.memories.len();
    for e in &m.elems {
        if let ElementKind::Active {
            table_index,
            offset_expr,
        } = &e.kind
        {
            let t = table_index.unwrap_or(0) as usize;
            let count = match &e.items {
                ElementItems::Functions(r) => r.count(),
                ElementItems::Expressions(_, r) => r.count(),
            } as u64;
            let fits = own_tables.contains(&t)
                && const_offset(offset_expr)
                    .is_some_and(|off| off + count <= m.tables[t - own_tables.start].ty.initial);
            if !fits && let Some(&t) = map.space(Space::Table).get(t) {
                out.insert((Kind::Table, t));
            }
        }
    }
    for d in &m.datas {
        if let DataKind::Active {
            memory_index,
            offset_expr,
        } = &d.kind
        {
            let mi = *memory_index as usize;
            let fits = own_memories.contains(&mi)
                && const_offset(offset_expr).is_some_and(|off| {
                    let mem = &m.memories[mi - own_memories.start];
                    let page = 1u64 << mem.page_size_log2.unwrap_or(16);
                    off + d.data.len() as u64 <= mem.initial.saturating_mul(page)
                });
            if !fits && let Some(&mem) = map.space(Space::Memory).get(mi) {
                out.insert((Kind::Memory, mem));
            }
        }
    }
    out
}

/// Appends the instructions of a constant expression (without its `end`).
fn emit_const_expr(
    map: &mut Maps,
    expr: &wasmparser::ConstExpr<'_>,
    f: &mut Function,
) -> Result<(), ReencodeError<String>> {
    let mut ops = expr.get_operators_reader();
    while !ops.eof() {
        let op = ops.read()?;
        if matches!(op, Operator::End) {
            break;
        }
        f.instruction(&map.instruction(op)?);
    }
    Ok(())
}

fn emit_elems(
    m: &ParsedModule<'_>,
    map: &mut Maps,
    passive: &PassiveTargets,
    out: &mut ElementSection,
    init: &mut Function,
) -> Result<(), ReencodeError<String>> {
    for (k, e) in m.elems.iter().enumerate() {
        if !map.is_live(Space::Elem, k) {
            continue;
        }
        let count = match &e.items {
            ElementItems::Functions(r) => r.count(),
            ElementItems::Expressions(_, r) => r.count(),
        };
        let elements = map.element_items(e.items.clone())?;
        match &e.kind {
            ElementKind::Active {
                table_index,
                offset_expr,
            } => {
                let table = map.table_index(table_index.unwrap_or(0))?;
                if passive.contains(&(Kind::Table, table)) {
                    let seg = map.element_index(k as u32)?;
                    out.segment(ElementSegment {
                        mode: ElementMode::Passive,
                        elements,
                    });
                    emit_const_expr(map, offset_expr, init)?;
                    init.instruction(&Instruction::I32Const(0));
                    init.instruction(&Instruction::I32Const(count as i32));
                    init.instruction(&Instruction::TableInit {
                        elem_index: seg,
                        table,
                    });
                    init.instruction(&Instruction::ElemDrop(seg));
                } else {
                    let offset = map.const_expr(offset_expr.clone())?;
                    out.segment(ElementSegment {
                        mode: ElementMode::Active {
                            table: Some(table),
                            offset: &offset,
                        },
                        elements,
                    });
                }
            }
            ElementKind::Passive => {
                out.segment(ElementSegment {
                    mode: ElementMode::Passive,
                    elements,
                });
            }
            ElementKind::Declared => {
                out.segment(ElementSegment {
                    mode: ElementMode::Declared,
                    elements,
                });
            }
        }
    }
    Ok(())
}

fn emit_datas(
    m: &ParsedModule<'_>,
    map: &mut Maps,
    passive: &PassiveTargets,
    out: &mut DataSection,
    init: &mut Function,
) -> Result<(), ReencodeError<String>> {
    for (k, d) in m.datas.iter().enumerate() {
        if !map.is_live(Space::Data, k) {
            continue;
        }
        match &d.kind {
            DataKind::Active {
                memory_index,
                offset_expr,
            } => {
                let mem = map.memory_index(*memory_index)?;
                if passive.contains(&(Kind::Memory, mem)) {
                    let seg = map.data_index(k as u32)?;
                    out.passive(d.data.iter().copied());
                    emit_const_expr(map, offset_expr, init)?;
                    init.instruction(&Instruction::I32Const(0));
                    init.instruction(&Instruction::I32Const(d.data.len() as i32));
                    init.instruction(&Instruction::MemoryInit {
                        mem,
                        data_index: seg,
                    });
                    init.instruction(&Instruction::DataDrop(seg));
                } else {
                    let offset: ConstExpr = map.const_expr(offset_expr.clone())?;
                    out.active(mem, &offset, d.data.iter().copied());
                }
            }
            DataKind::Passive => {
                out.passive(d.data.iter().copied());
            }
        }
    }
    Ok(())
}

fn export_kind(k: Kind) -> ExportKind {
    match k {
        Kind::Func => ExportKind::Func,
        Kind::Table => ExportKind::Table,
        Kind::Memory => ExportKind::Memory,
        Kind::Global => ExportKind::Global,
        Kind::Tag => ExportKind::Tag,
    }
}
