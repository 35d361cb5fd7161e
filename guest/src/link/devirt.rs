//! Shim devirtualisation: a call through an indirect-call shim becomes a
//! direct call of the function the shim reaches.
//!
//! `wit-component` breaks the cycle between a core module and the functions
//! lowered for it with a *shim* module: each import of the main module is a
//! shim function `local.get 0 … local.get n-1; i32.const K; call_indirect
//! (type T) (table X)`, and a *fixup* module fills table `X` with the lowered
//! functions once they exist. Fused, those lowered functions are adapters or
//! host stubs in the same module, so every crossing would pay a call and an
//! indirect call for nothing. When the result of the indirect call is fixed,
//! the shim is replaced by its target wherever it is imported.
//!
//! # When a shim `F` (slot `K` of table `X`) is replaced by `G`
//!
//! - `X` is not exported from the fused module, starts out null, and no
//!   function body of an instance that can name `X` changes it (`table.set`,
//!   `.grow`, `.fill`, `.copy` into it, `.init` into it);
//! - exactly one element segment writes slot `K`, at a constant offset, and
//!   it writes `ref.func G` (a plain function, not null);
//! - `G`'s type is `T`, the type `F` calls with, and `F`'s own type (so the
//!   indirect call cannot trap on its signature);
//! - nothing can call `F` before that segment is applied: it is applied at
//!   instantiation (an active segment of `X`'s own instance), or by `init`
//!   before any start function that can reach `F` runs.
//!
//! Then every call of `F` calls `G` with the same arguments and gets the
//! same results, as the indirect call would; only the hop is gone.

use super::live::Liveness;
use super::parse::{ParsedModule, const_offset};
use super::plan::Kind;
use super::space::{Maps, Provisional, Space};
use std::collections::HashMap;
use wasmparser::{ElementItems, ElementKind, Operator, TableInit};

/// A shim found in instance `instance`: provisional function, table, slot
/// and the provisional type of its indirect call.
struct Shim {
    func: u32,
    table: u32,
    slot: u64,
    ty: u32,
}

/// Provisional function → provisional function it can be replaced by.
pub type Aliases = HashMap<u32, u32>;

/// Finds the shims that can be replaced (see the module docs). `exported_tables`
/// are the provisional tables the fused module exports.
pub fn find(
    parsed: &[ParsedModule<'_>],
    maps: &[Maps],
    prov: &Provisional,
    exported_tables: &[u32],
) -> Aliases {
    let mut aliases = Aliases::new();
    let shims: Vec<Shim> = parsed
        .iter()
        .zip(maps)
        .flat_map(|(m, map)| shims_of(m, map))
        .collect();
    if shims.is_empty() {
        return aliases;
    }
    // Tables that might hold anything else than their element segments.
    let mut tables: Vec<u32> = shims.iter().map(|s| s.table).collect();
    tables.sort_unstable();
    tables.dedup();
    tables.retain(|t| !exported_tables.contains(t) && !mutated(parsed, maps, *t));
    // Slot → (writes, target, instance whose init applies it) per table.
    let mut slots: HashMap<(u32, u64), (u32, Option<u32>, usize)> = HashMap::new();
    for (i, (m, map)) in parsed.iter().zip(maps).enumerate() {
        let own_tables = m.imported(Kind::Table)..m.imported(Kind::Table) + m.tables.len();
        for e in &m.elems {
            let ElementKind::Active {
                table_index,
                offset_expr,
            } = &e.kind
            else {
                continue;
            };
            let local = table_index.unwrap_or(0);
            let Some(&table) = map.space(Space::Table).get(local as usize) else {
                continue;
            };
            if tables.binary_search(&table).is_err() {
                continue;
            }
            let targets = element_funcs(&e.items, map);
            let Some(offset) = const_offset(offset_expr) else {
                // A write we cannot place: the table is not sealed.
                tables.retain(|t| *t != table);
                continue;
            };
            // A segment of the table's own instance is applied before any
            // code that can reach the shim runs (usize::MAX): at
            // instantiation if it stays active, else by `init` before that
            // instance's start function, and no earlier instance can name
            // the shim. Any other is applied by `init` at instance `i`.
            let own = own_tables.contains(&(local as usize));
            for (k, target) in targets.into_iter().enumerate() {
                let entry = slots
                    .entry((table, offset + k as u64))
                    .or_insert((0, None, i));
                entry.0 += 1;
                entry.1 = target;
                entry.2 = if own { usize::MAX } else { i };
            }
        }
    }
    let func_type = |f: u32| -> Option<u32> {
        let (inst, k) = prov.owner(Space::Func, f)?;
        let m = &parsed[inst as usize];
        let ty = *m.func_types.get(k as usize)?;
        maps[inst as usize]
            .space(Space::Type)
            .get(ty as usize)
            .copied()
    };
    // Per writer instance: what the start functions before it reach.
    let mut early_reach: HashMap<usize, Option<Liveness>> = HashMap::new();
    for shim in shims {
        if tables.binary_search(&shim.table).is_err() {
            continue;
        }
        let Some(&(1, Some(target), applied_by)) = slots.get(&(shim.table, shim.slot)) else {
            continue;
        };
        if func_type(target) != Some(shim.ty) || func_type(shim.func) != Some(shim.ty) {
            continue;
        }
        if applied_by != usize::MAX {
            let early = early_reach
                .entry(applied_by)
                .or_insert_with(|| reachable_before(parsed, maps, prov, applied_by));
            if early
                .as_ref()
                .is_none_or(|l| l.is_marked(Space::Func, shim.func))
            {
                continue;
            }
        }
        aliases.insert(shim.func, target);
    }
    // A target may itself be a shim: follow the chain (it cannot cycle: a
    // shim's target is a function written into a table, never itself).
    let keys: Vec<u32> = aliases.keys().copied().collect();
    for f in keys {
        let mut g = aliases[&f];
        for _ in 0..aliases.len() {
            match aliases.get(&g) {
                Some(&h) if h != g => g = h,
                _ => break,
            }
        }
        aliases.insert(f, g);
    }
    aliases
}

/// Shims defined by module `m`.
fn shims_of(m: &ParsedModule<'_>, map: &Maps) -> Vec<Shim> {
    let imported = m.imported(Kind::Func);
    let mut out = Vec::new();
    for (k, body) in m.bodies.iter().enumerate() {
        let Some(&own_ty) = m.func_types.get(k) else {
            continue;
        };
        let Some((table, slot, ty)) = shim_body(m, body, own_ty) else {
            continue;
        };
        let (Some(&func), Some(&table), Some(&ty)) = (
            map.space(Space::Func).get(imported + k),
            map.space(Space::Table).get(table as usize),
            map.space(Space::Type).get(ty as usize),
        ) else {
            continue;
        };
        out.push(Shim {
            func,
            table,
            slot,
            ty,
        });
    }
    out
}

/// (local table, slot, local type) if `body` is exactly `local.get 0 …
/// local.get n-1; i32.const K; call_indirect (type T) (table X)` for a
/// function of type `own_ty` with `n` parameters, T = `own_ty`.
fn shim_body(
    m: &ParsedModule<'_>,
    body: &wasmparser::FunctionBody<'_>,
    own_ty: u32,
) -> Option<(u32, u64, u32)> {
    let params = param_count(m, own_ty)?;
    if body.get_locals_reader().ok()?.get_count() != 0 {
        return None;
    }
    let mut ops = body.get_operators_reader().ok()?;
    for p in 0..params {
        match ops.read().ok()? {
            Operator::LocalGet { local_index } if local_index == p => {}
            _ => return None,
        }
    }
    let Operator::I32Const { value } = ops.read().ok()? else {
        return None;
    };
    let Operator::CallIndirect {
        type_index,
        table_index,
    } = ops.read().ok()?
    else {
        return None;
    };
    if !matches!(ops.read().ok()?, Operator::End) || !ops.eof() || type_index != own_ty {
        return None;
    }
    Some((table_index, u64::from(value as u32), type_index))
}

/// Number of parameters of function type `ty` of `m`.
fn param_count(m: &ParsedModule<'_>, ty: u32) -> Option<u32> {
    let mut i = 0;
    for group in &m.rec_groups {
        for sub in group.types() {
            if i == ty {
                return match &sub.composite_type.inner {
                    wasmparser::CompositeInnerType::Func(f) => Some(f.params().len() as u32),
                    _ => None,
                };
            }
            i += 1;
        }
    }
    None
}

/// Whether any function body of an instance that can name provisional
/// table `table` may change it, or the table starts out non-null.
fn mutated(parsed: &[ParsedModule<'_>], maps: &[Maps], table: u32) -> bool {
    for (m, map) in parsed.iter().zip(maps) {
        // Every local index of the table (it may be imported more than once).
        let locals: Vec<u32> = (0..)
            .zip(map.space(Space::Table))
            .filter(|&(_, &t)| t == table)
            .map(|(l, _)| l)
            .collect();
        if locals.is_empty() {
            continue;
        }
        let imported = m.imported(Kind::Table) as u32;
        for &local in &locals {
            if let Some(t) = local
                .checked_sub(imported)
                .and_then(|k| m.tables.get(k as usize))
                && matches!(t.init, TableInit::Expr(_))
            {
                return true;
            }
        }
        for body in &m.bodies {
            let Ok(mut ops) = body.get_operators_reader() else {
                return true;
            };
            while !ops.eof() {
                let Ok(op) = ops.read() else { return true };
                let target = match op {
                    Operator::TableSet { table }
                    | Operator::TableGrow { table }
                    | Operator::TableFill { table }
                    | Operator::TableInit { table, .. }
                    | Operator::TableCopy {
                        dst_table: table, ..
                    } => table,
                    _ => continue,
                };
                if locals.contains(&target) {
                    return true;
                }
            }
        }
    }
    false
}

/// The provisional functions an element segment writes, in order (`None`
/// for an item that is not a plain `ref.func`).
fn element_funcs(items: &ElementItems<'_>, map: &Maps) -> Vec<Option<u32>> {
    let func = |f: u32| map.space(Space::Func).get(f as usize).copied();
    match items {
        ElementItems::Functions(r) => r
            .clone()
            .into_iter()
            .map(|f| f.ok().and_then(func))
            .collect(),
        ElementItems::Expressions(_, r) => r
            .clone()
            .into_iter()
            .map(|e| {
                let e = e.ok()?;
                let mut ops = e.get_operators_reader();
                match (ops.read().ok()?, ops.read().ok()?) {
                    (Operator::RefFunc { function_index }, Operator::End) => func(function_index),
                    _ => None,
                }
            })
            .collect(),
    }
}

/// What the start functions that `init` runs before the segments of
/// instance `writer` are applied (starts of earlier instances) can reach;
/// `None` if that cannot be worked out (then nothing is replaced).
fn reachable_before(
    parsed: &[ParsedModule<'_>],
    maps: &[Maps],
    prov: &Provisional,
    writer: usize,
) -> Option<Liveness> {
    let roots: Vec<(Space, u32)> = parsed
        .get(..writer)?
        .iter()
        .zip(maps)
        .filter_map(|(m, map)| {
            let start = m.start?;
            Some((Space::Func, *map.space(Space::Func).get(start as usize)?))
        })
        .collect();
    Liveness::analyse(parsed, maps, prov, roots).ok()
}
