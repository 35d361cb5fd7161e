//! Element and data segments, and what `init` runs for them (see
//! "Instantiation order" in [`super`]).
//!
//! An active segment stays active only when applying it at instantiation
//! cannot be observed; the others of its instance into the same table or
//! memory become passive, and `init` applies them in their original order
//! (`table.init` / `memory.init`, then a drop).

use crate::link::parse::{ParsedModule, const_offset};
use crate::link::plan::Kind;
use crate::link::space::{Maps, Space};
use std::collections::HashSet;
use std::ops::Range;
use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasm_encoder::{
    ConstExpr, DataSection, ElementMode, ElementSection, ElementSegment, Function, Instruction,
};
use wasmparser::{DataKind, ElementItems, ElementKind, Operator};

/// The segments of one instance that must be applied by `init` rather than at
/// instantiation: a set of (kind, fused target index).
pub(super) type PassiveTargets = HashSet<(Kind, u32)>;

/// Decides which (kind, fused target) pairs get their segments applied by
/// `init`: those written by an active segment of `m` that is not known to
/// fit, at a constant offset, within the initial size of a table or memory
/// of `m`'s own.
pub(super) fn passive_targets(m: &ParsedModule<'_>, map: &Maps) -> PassiveTargets {
    let mut out = PassiveTargets::new();
    let own_tables = own_range(m, Kind::Table, m.tables.len());
    let own_memories = own_range(m, Kind::Memory, m.memories.len());
    for e in &m.elems {
        if let ElementKind::Active {
            table_index,
            offset_expr,
        } = &e.kind
        {
            let t = table_index.unwrap_or(0) as usize;
            let count = u64::from(item_count(&e.items));
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

/// The local indices of `m`'s own items of `kind` (after its imports of
/// that kind), `defined` of them.
fn own_range(m: &ParsedModule<'_>, kind: Kind, defined: usize) -> Range<usize> {
    let imported = m.imported(kind);
    imported..imported + defined
}

/// The number of items of an element segment.
fn item_count(items: &ElementItems<'_>) -> u32 {
    match items {
        ElementItems::Functions(r) => r.count(),
        ElementItems::Expressions(_, r) => r.count(),
    }
}

/// Adds to `roots` what instantiating `m` runs (see [`crate::link::live`]):
/// its start function, and the segments `init` applies with their targets.
pub(super) fn init_roots(
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

/// Emits the live element segments of `m` into `out`; those into a table of
/// `passive` become passive, and `init` applies them.
pub(super) fn emit_elems(
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
        let elements = map.element_items(e.items.clone())?;
        let (table_index, offset_expr) = match &e.kind {
            ElementKind::Active {
                table_index,
                offset_expr,
            } => (table_index, offset_expr),
            ElementKind::Passive => {
                out.segment(ElementSegment {
                    mode: ElementMode::Passive,
                    elements,
                });
                continue;
            }
            ElementKind::Declared => {
                out.segment(ElementSegment {
                    mode: ElementMode::Declared,
                    elements,
                });
                continue;
            }
        };
        let table = map.table_index(table_index.unwrap_or(0))?;
        if passive.contains(&(Kind::Table, table)) {
            let seg = map.element_index(k as u32)?;
            out.segment(ElementSegment {
                mode: ElementMode::Passive,
                elements,
            });
            let apply = Instruction::TableInit {
                elem_index: seg,
                table,
            };
            let len = item_count(&e.items);
            apply_in_init(
                map,
                offset_expr,
                len,
                apply,
                Instruction::ElemDrop(seg),
                init,
            )?;
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
    Ok(())
}

/// Emits the live data segments of `m` into `out`; those into a memory of
/// `passive` become passive, and `init` applies them.
pub(super) fn emit_datas(
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
        let data = d.data.iter().copied();
        let DataKind::Active {
            memory_index,
            offset_expr,
        } = &d.kind
        else {
            out.passive(data);
            continue;
        };
        let mem = map.memory_index(*memory_index)?;
        if passive.contains(&(Kind::Memory, mem)) {
            let seg = map.data_index(k as u32)?;
            out.passive(data);
            let apply = Instruction::MemoryInit {
                mem,
                data_index: seg,
            };
            let len = d.data.len() as u32;
            apply_in_init(
                map,
                offset_expr,
                len,
                apply,
                Instruction::DataDrop(seg),
                init,
            )?;
        } else {
            let offset: ConstExpr = map.const_expr(offset_expr.clone())?;
            out.active(mem, &offset, data);
        }
    }
    Ok(())
}

/// Appends to `init` the application of a segment of `len` items made
/// passive: its offset, `i32.const 0`, `i32.const len`, then `apply`
/// (`table.init` / `memory.init`) and `drop`.
fn apply_in_init(
    map: &mut Maps,
    offset_expr: &wasmparser::ConstExpr<'_>,
    len: u32,
    apply: Instruction<'_>,
    drop: Instruction<'_>,
    init: &mut Function,
) -> Result<(), ReencodeError<String>> {
    emit_const_expr(map, offset_expr, init)?;
    init.instruction(&Instruction::I32Const(0));
    init.instruction(&Instruction::I32Const(len as i32));
    init.instruction(&apply);
    init.instruction(&drop);
    Ok(())
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
