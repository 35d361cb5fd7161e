//! Merges the instances of a [`Plan`] into one core module.
//!
//! Every planned instance gets its own range in each index space of the fused
//! module (types, functions, tables, memories, globals, tags, element and data
//! segments). An import is not kept: it becomes a direct reference to the item
//! of the earlier instance that satisfies it. The fused module therefore has no
//! imports at all.
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

use super::parse::{ParsedModule, kind_of};
use super::plan::{InstanceId, Item, Kind, Plan, Ref};
use std::collections::{HashMap, HashSet};
use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasm_encoder::{
    CodeSection, ConstExpr, DataCountSection, DataSection, ElementMode, ElementSection,
    ElementSegment, ExportKind, ExportSection, Function, FunctionSection, GlobalSection,
    Instruction, MemorySection, Module, NameMap, NameSection, TableSection, TagSection,
    TypeSection,
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
    /// Re-encoding failed.
    #[error("re-encoding {what}: {detail}")]
    Reencode {
        /// The planned instance.
        what: String,
        /// The encoder's message.
        detail: String,
    },
}

/// Per-instance maps from the instance's own indices to fused indices.
#[derive(Default, Clone)]
struct Maps {
    types: Vec<u32>,
    funcs: Vec<u32>,
    tables: Vec<u32>,
    memories: Vec<u32>,
    globals: Vec<u32>,
    tags: Vec<u32>,
    elems: Vec<u32>,
    datas: Vec<u32>,
}

impl Maps {
    fn space(&self, kind: Kind) -> &Vec<u32> {
        match kind {
            Kind::Func => &self.funcs,
            Kind::Table => &self.tables,
            Kind::Memory => &self.memories,
            Kind::Global => &self.globals,
            Kind::Tag => &self.tags,
        }
    }
    fn space_mut(&mut self, kind: Kind) -> &mut Vec<u32> {
        match kind {
            Kind::Func => &mut self.funcs,
            Kind::Table => &mut self.tables,
            Kind::Memory => &mut self.memories,
            Kind::Global => &mut self.globals,
            Kind::Tag => &mut self.tags,
        }
    }
}

fn lookup(map: &[u32], i: u32, what: &'static str) -> Result<u32, ReencodeError<String>> {
    map.get(i as usize)
        .copied()
        .ok_or_else(|| ReencodeError::UserError(format!("{what} index {i} out of range")))
}

impl Reencode for Maps {
    type Error = String;
    fn type_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        lookup(&self.types, i, "type")
    }
    fn function_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        lookup(&self.funcs, i, "function")
    }
    fn table_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        lookup(&self.tables, i, "table")
    }
    fn memory_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        lookup(&self.memories, i, "memory")
    }
    fn global_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        lookup(&self.globals, i, "global")
    }
    fn tag_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        lookup(&self.tags, i, "tag")
    }
    fn element_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        lookup(&self.elems, i, "element segment")
    }
    fn data_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        lookup(&self.datas, i, "data segment")
    }
}

/// Fused index counters, one per index space.
#[derive(Default)]
struct Counters {
    funcs: u32,
    tables: u32,
    memories: u32,
    globals: u32,
    tags: u32,
    elems: u32,
    datas: u32,
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

    let mut types = Types::default();
    let mut type_dedup: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut n = Counters::default();
    let mut maps: Vec<Maps> = Vec::with_capacity(parsed.len());

    // Pass 1: assign fused indices, instance by instance.
    for (i, (inst, m)) in plan.instances.iter().zip(&parsed).enumerate() {
        let what = || inst.what.clone();
        let mut map = Maps::default();
        intern_types(m, &mut map, &mut types, &mut type_dedup).map_err(|d| {
            LinkError::Reencode {
                what: what(),
                detail: d,
            }
        })?;
        if inst.args.len() != m.imports.len() {
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
            map.space_mut(kind).push(fused);
        }
        let defined = |count: usize, next: &mut u32, space: &mut Vec<u32>| {
            for _ in 0..count {
                space.push(*next);
                *next += 1;
            }
        };
        defined(m.func_types.len(), &mut n.funcs, &mut map.funcs);
        defined(m.tables.len(), &mut n.tables, &mut map.tables);
        defined(m.memories.len(), &mut n.memories, &mut map.memories);
        defined(m.globals.len(), &mut n.globals, &mut map.globals);
        defined(m.tags.len(), &mut n.tags, &mut map.tags);
        defined(m.elems.len(), &mut n.elems, &mut map.elems);
        defined(m.datas.len(), &mut n.datas, &mut map.datas);
        maps.push(map);
    }

    // Pass 2: emit every section.
    let init_type = intern_func_type(&mut types, &mut type_dedup, &[], &[]);
    let init_index = n.funcs;
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
        for &ty in &m.func_types {
            funcs.function(map.type_index(ty).map_err(err)?);
        }
        for t in &m.tables {
            map.parse_table(&mut tables, t.clone()).map_err(err)?;
        }
        for mem in &m.memories {
            memories.memory(map.memory_type(*mem).map_err(err)?);
        }
        for tag in &m.tags {
            tags.tag(map.tag_type(*tag).map_err(err)?);
        }
        for g in &m.globals {
            map.parse_global(&mut globals, g.clone()).map_err(err)?;
        }
        let passive = passive_targets(m, &map);
        emit_elems(m, &mut map, &passive, &mut elems, &mut init).map_err(err)?;
        emit_datas(m, &mut map, &passive, &mut datas, &mut init).map_err(err)?;
        if let Some(start) = m.start {
            init.instruction(&Instruction::Call(map.function_index(start).map_err(err)?));
        }
        for body in &m.bodies {
            map.parse_function_body(&mut code, body.clone())
                .map_err(err)?;
        }
        // Names of defined functions only: an imported function is the
        // exporter's, named there. Fused indices increase with the plan order
        // and the local order, as a name map requires.
        let imported = m.imported(Kind::Func) as u32;
        for &(local, name) in m.func_names.iter().filter(|(i, _)| *i >= imported) {
            if let Some(&fused) = map.funcs.get(local as usize) {
                names.append(fused, name);
            }
        }
    }
    names.append(init_index, "meld:init");
    init.instruction(&Instruction::End);
    funcs.function(init_type);
    code.function(&init);

    let mut exports = ExportSection::new();
    for (name, kind, r) in &plan.exports {
        let idx = resolve(&parsed, &maps, plan.instances.len(), r, *kind).map_err(|detail| {
            LinkError::Unresolved {
                what: format!("fused export `{name}`"),
                import: 0,
                detail,
            }
        })?;
        exports.export(name, export_kind(*kind), idx);
    }
    exports.export(INIT_EXPORT, ExportKind::Func, init_index);

    let mut module = Module::new();
    let type_data = types.section();
    module.section(&wasm_encoder::RawSection {
        id: wasm_encoder::SectionId::Type as u8,
        data: &type_data,
    });
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
        .space(kind)
        .get(idx as usize)
        .copied()
        .ok_or_else(|| format!("{kind} {idx} of instance {src} does not exist"))
}

/// Adds the module's types to the fused type section, reusing identical
/// single-type recursion groups, and fills `map.types`.
fn intern_types(
    m: &ParsedModule<'_>,
    map: &mut Maps,
    types: &mut Types,
    dedup: &mut HashMap<Vec<u8>, u32>,
) -> Result<(), String> {
    for group in &m.rec_groups {
        let len = group.types().len();
        let base = types.len();
        // Tentative positions, so that references inside the group resolve.
        for k in 0..len {
            map.types.push(base + k as u32);
        }
        let mut one = TypeSection::new();
        map.parse_recursive_type_group(one.ty(), group.clone())
            .map_err(|e| e.to_string())?;
        let key = section_body(&one);
        if len == 1 {
            if let Some(&existing) = dedup.get(&key) {
                // `len == 1`: the group's one tentative position is at `slot`.
                let slot = map.types.len() - 1;
                map.types[slot] = existing;
                continue;
            }
            dedup.insert(key.clone(), base);
        }
        types.raw(&key);
    }
    Ok(())
}

/// Interns a plain function type.
fn intern_func_type(
    types: &mut Types,
    dedup: &mut HashMap<Vec<u8>, u32>,
    params: &[wasm_encoder::ValType],
    results: &[wasm_encoder::ValType],
) -> u32 {
    let mut one = TypeSection::new();
    one.ty()
        .function(params.iter().copied(), results.iter().copied());
    let key = section_body(&one);
    if let Some(&i) = dedup.get(&key) {
        return i;
    }
    let i = types.len();
    types.raw(&key);
    dedup.insert(key, i);
    i
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

/// The fused type section under construction: encoded entries and a count.
#[derive(Default)]
struct Types {
    bytes: Vec<u8>,
    count: u32,
}

impl Types {
    fn len(&self) -> u32 {
        self.count
    }
    fn raw(&mut self, entry: &[u8]) {
        self.bytes.extend_from_slice(entry);
        self.count += 1;
    }
    fn section(&self) -> Vec<u8> {
        use wasm_encoder::Encode;
        let mut data = Vec::new();
        self.count.encode(&mut data);
        data.extend_from_slice(&self.bytes);
        data
    }
}

/// The constant offset of an active segment, if it is a plain `i32.const`.
fn const_offset(expr: &wasmparser::ConstExpr<'_>) -> Option<u64> {
    let mut ops = expr.get_operators_reader();
    let first = ops.read().ok()?;
    let end = ops.read().ok()?;
    match (first, end) {
        (Operator::I32Const { value }, Operator::End) => Some(value as u32 as u64),
        _ => None,
    }
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
            if !fits {
                out.insert((Kind::Table, map.tables[t]));
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
            if !fits {
                out.insert((Kind::Memory, map.memories[mi]));
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
