//! Dead-code removal: which items of the fused module are reachable, and
//! their indices once the unreachable ones are gone.
//!
//! [`super::merge`] first gives every item of every planned instance a
//! *provisional* fused index (all items kept). [`Liveness::analyse`] then
//! walks from the roots and marks what they reach; [`Liveness::compose`]
//! turns each instance's map (local → provisional) into local → final, with
//! [`DEAD`] for items that are not emitted.
//!
//! # Roots
//!
//! - the fused module's exports (what the wrapper lifts, lowers into, or
//!   fills: exported functions, memories, `realloc`s, the host table, ...);
//! - every instance's start function;
//! - every element or data segment that `init` applies (a segment made passive
//!   because applying it is observable: see [`super::merge`]), with its table or
//!   memory: applying it may trap, and that trap is kept.
//!
//! # What reaches what
//!
//! Every index in a reached item is followed, found with a recording
//! [`Reencode`] (the same trait that re-encodes, so no operator is missed): a
//! function reaches its type and everything its body names; a global its type
//! and initialiser; a table its type, initialiser and the *active* segments
//! written into it (kept-active segments are unobservable, so they live and
//! die with their table); a memory the active data segments written into it;
//! a segment its items and target; a type its whole recursion group and what
//! the group names.
//!
//! A `ref.func` in a function body needs its function declared in an element
//! segment. Declared segments of the inputs are not roots; instead the final
//! module gets one declared segment listing the targets of every reached
//! `ref.func` ([`Liveness::ref_funcs`]).

use super::parse::ParsedModule;
use super::plan::Kind;
use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasmparser::{DataKind, ElementKind, Operator};

/// The index of an item that is not emitted.
pub const DEAD: u32 = u32::MAX;

/// The index spaces of a core module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    /// Types (each in a recursion group).
    Type = 0,
    /// Functions.
    Func,
    /// Tables.
    Table,
    /// Memories.
    Memory,
    /// Globals.
    Global,
    /// Tags.
    Tag,
    /// Element segments.
    Elem,
    /// Data segments.
    Data,
}

const SPACES: usize = 8;

impl From<Kind> for Space {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Func => Space::Func,
            Kind::Table => Space::Table,
            Kind::Memory => Space::Memory,
            Kind::Global => Space::Global,
            Kind::Tag => Space::Tag,
        }
    }
}

/// Per-instance maps from the instance's own indices to fused indices (all
/// eight index spaces).
#[derive(Default, Clone)]
pub struct Maps {
    spaces: [Vec<u32>; SPACES],
}

impl Maps {
    /// The map of one index space.
    pub fn space(&self, s: Space) -> &Vec<u32> {
        &self.spaces[s as usize]
    }
    /// The map of one index space, to fill.
    pub fn space_mut(&mut self, s: Space) -> &mut Vec<u32> {
        &mut self.spaces[s as usize]
    }
    /// Whether the item `local` of space `s` is emitted.
    pub fn is_live(&self, s: Space, local: usize) -> bool {
        self.space(s).get(local).is_some_and(|&i| i != DEAD)
    }
    fn get(&self, s: Space, i: u32) -> Result<u32, ReencodeError<String>> {
        match self.space(s).get(i as usize) {
            Some(&f) if f != DEAD => Ok(f),
            Some(_) => Err(ReencodeError::UserError(format!(
                "{s:?} {i} is used but was removed as unreachable"
            ))),
            None => Err(ReencodeError::UserError(format!(
                "{s:?} index {i} out of range"
            ))),
        }
    }
}

impl Reencode for Maps {
    type Error = String;
    fn type_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        self.get(Space::Type, i)
    }
    fn function_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        self.get(Space::Func, i)
    }
    fn table_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        self.get(Space::Table, i)
    }
    fn memory_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        self.get(Space::Memory, i)
    }
    fn global_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        self.get(Space::Global, i)
    }
    fn tag_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        self.get(Space::Tag, i)
    }
    fn element_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        self.get(Space::Elem, i)
    }
    fn data_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        self.get(Space::Data, i)
    }
}

/// Where a provisional fused item comes from: (planned instance, index among
/// that module's *defined* items of its space; for types, its recursion
/// group's index in the fused type list).
type Owner = (u32, u32);

/// The provisional fused index spaces, as [`super::merge`] assigned them.
#[derive(Default)]
pub struct Provisional {
    /// Owner of every provisional item, per space.
    owners: [Vec<Owner>; SPACES],
    /// For each provisional type: its recursion group (index in `groups`).
    type_group: Vec<u32>,
    /// Unique recursion groups: (instance, group index in that module, first
    /// provisional type, number of types).
    pub groups: Vec<(u32, u32, u32, u32)>,
    /// The number of leading provisional functions that are imports of the
    /// fused module (core output: the host's functions); the owner of import
    /// `j` is (its instance, `j`) with `j` an *import* index.
    pub imported_funcs: u32,
}

impl Provisional {
    /// Records a defined item: its provisional index is the next one of `s`.
    pub fn define(&mut self, s: Space, instance: usize, local_defined: usize) -> u32 {
        let owners = &mut self.owners[s as usize];
        owners.push((instance as u32, local_defined as u32));
        owners.len() as u32 - 1
    }
    /// Records import `j` (a function) of `instance` as an import of the
    /// fused module: the next provisional function, which must come before
    /// every defined one. `None` if a function is already defined.
    pub fn define_import(&mut self, instance: usize, j: usize) -> Option<u32> {
        let owners = &mut self.owners[Space::Func as usize];
        if owners.len() as u32 != self.imported_funcs {
            return None;
        }
        owners.push((instance as u32, j as u32));
        self.imported_funcs += 1;
        Some(self.imported_funcs - 1)
    }
    /// The (instance, import index) of provisional function `f`, one of the
    /// first [`Provisional::imported_funcs`].
    pub fn import_owner(&self, f: u32) -> (u32, u32) {
        self.owners[Space::Func as usize][f as usize]
    }
    /// Records a unique recursion group of `len` types starting at `base`.
    pub fn group(&mut self, instance: usize, group: usize, base: u32, len: u32) {
        let g = self.groups.len() as u32;
        self.groups.push((instance as u32, group as u32, base, len));
        self.type_group
            .resize(self.type_group.len() + len as usize, g);
    }
    /// The owner of provisional item `i` of space `s` (not types): its
    /// planned instance and its index among that module's defined items.
    /// `None` for an imported function.
    pub fn owner(&self, s: Space, i: u32) -> Option<(u32, u32)> {
        if s == Space::Func && i < self.imported_funcs {
            return None;
        }
        self.owners[s as usize].get(i as usize).copied()
    }
    /// The number of provisional items of space `s`.
    pub fn len(&self, s: Space) -> usize {
        match s {
            Space::Type => self.type_group.len(),
            _ => self.owners[s as usize].len(),
        }
    }
}

/// The result of the analysis: a mark per provisional item.
pub struct Liveness {
    live: [Vec<bool>; SPACES],
    /// Functions named by a reached `ref.func` in a function body
    /// (provisional indices, final ones after [`Liveness::compose`]).
    ref_funcs: Vec<u32>,
    /// Provisional → final index per space, once composed.
    finals: [Vec<u32>; SPACES],
}

/// Records the fused index behind every index it is asked to map.
struct Recorder<'a> {
    map: &'a Maps,
    uses: &'a mut Vec<(Space, u32)>,
}

impl Recorder<'_> {
    fn record(&mut self, s: Space, i: u32) -> Result<u32, ReencodeError<String>> {
        let f = self.map.get(s, i)?;
        self.uses.push((s, f));
        Ok(f)
    }
}

impl Reencode for Recorder<'_> {
    type Error = String;
    fn type_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        self.record(Space::Type, i)
    }
    fn function_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        self.record(Space::Func, i)
    }
    fn table_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        self.record(Space::Table, i)
    }
    fn memory_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        self.record(Space::Memory, i)
    }
    fn global_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        self.record(Space::Global, i)
    }
    fn tag_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        self.record(Space::Tag, i)
    }
    fn element_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        self.record(Space::Elem, i)
    }
    fn data_index(&mut self, i: u32) -> Result<u32, ReencodeError<String>> {
        self.record(Space::Data, i)
    }
}

/// A worklist walk over the provisional items.
struct Walk<'a, 'm> {
    parsed: &'a [ParsedModule<'m>],
    maps: &'a [Maps],
    prov: &'a Provisional,
    live: [Vec<bool>; SPACES],
    work: Vec<(Space, u32)>,
    uses: Vec<(Space, u32)>,
    ref_funcs: Vec<u32>,
    /// Active element segments per provisional table.
    table_elems: Vec<Vec<u32>>,
    /// Active data segments per provisional memory.
    memory_datas: Vec<Vec<u32>>,
}

impl Walk<'_, '_> {
    fn mark(&mut self, s: Space, i: u32) {
        if let Some(l) = self.live[s as usize].get_mut(i as usize)
            && !*l
        {
            *l = true;
            self.work.push((s, i));
        }
    }

    fn run(&mut self) -> Result<(), ReencodeError<String>> {
        while let Some((s, i)) = self.work.pop() {
            self.visit(s, i)?;
            let uses = std::mem::take(&mut self.uses);
            for &(s, i) in &uses {
                self.mark(s, i);
            }
            self.uses = uses;
            self.uses.clear();
        }
        Ok(())
    }

    /// Records in `self.uses` what item `i` of space `s` names.
    fn visit(&mut self, s: Space, i: u32) -> Result<(), ReencodeError<String>> {
        if s == Space::Type {
            let (inst, group, base, len) =
                self.prov.groups[self.prov.type_group[i as usize] as usize];
            for t in base..base + len {
                self.mark(Space::Type, t);
            }
            let group = self.parsed[inst as usize].rec_groups[group as usize].clone();
            let mut r = Recorder {
                map: &self.maps[inst as usize],
                uses: &mut self.uses,
            };
            r.parse_recursive_type_group(wasm_encoder::TypeSection::new().ty(), group)?;
            return Ok(());
        }
        let (inst, k) = self.prov.owners[s as usize][i as usize];
        let m = &self.parsed[inst as usize];
        let k = k as usize;
        let mut r = Recorder {
            map: &self.maps[inst as usize],
            uses: &mut self.uses,
        };
        match s {
            // Returned from above: a type is visited with its whole group.
            Space::Type => {}
            Space::Func if i < self.prov.imported_funcs => {
                // An import of the fused module: its type only.
                match m.imports.get(k).map(|imp| imp.ty) {
                    Some(wasmparser::TypeRef::Func(ty)) => {
                        r.type_index(ty)?;
                    }
                    _ => {
                        return Err(ReencodeError::UserError(format!(
                            "import {k} is not a function"
                        )));
                    }
                }
            }
            Space::Func => {
                let (Some(&ty), Some(body)) = (m.func_types.get(k), m.bodies.get(k)) else {
                    return Err(ReencodeError::UserError(format!(
                        "function {k} has no body"
                    )));
                };
                r.type_index(ty)?;
                for local in body.get_locals_reader()? {
                    let (_, ty) = local?;
                    r.val_type(ty)?;
                }
                let mut ops = body.get_operators_reader()?;
                while !ops.eof() {
                    let op = ops.read()?;
                    if let Operator::RefFunc { function_index } = op {
                        let f = r.map.get(Space::Func, function_index)?;
                        self.ref_funcs.push(f);
                    }
                    r.instruction(op)?;
                }
            }
            Space::Table => {
                let t = &m.tables[k];
                r.table_type(t.ty)?;
                if let wasmparser::TableInit::Expr(e) = &t.init {
                    r.const_expr(e.clone())?;
                }
                for e in self.table_elems[i as usize].clone() {
                    self.mark(Space::Elem, e);
                }
            }
            Space::Memory => {
                for d in self.memory_datas[i as usize].clone() {
                    self.mark(Space::Data, d);
                }
            }
            Space::Global => {
                let g = &m.globals[k];
                r.global_type(g.ty)?;
                r.const_expr(g.init_expr.clone())?;
            }
            Space::Tag => {
                r.tag_type(m.tags[k])?;
            }
            Space::Elem => {
                let e = &m.elems[k];
                r.element_items(e.items.clone())?;
                if let ElementKind::Active {
                    table_index,
                    offset_expr,
                } = &e.kind
                {
                    r.table_index(table_index.unwrap_or(0))?;
                    r.const_expr(offset_expr.clone())?;
                }
            }
            Space::Data => {
                if let DataKind::Active {
                    memory_index,
                    offset_expr,
                } = &m.datas[k].kind
                {
                    r.memory_index(*memory_index)?;
                    r.const_expr(offset_expr.clone())?;
                }
            }
        }
        Ok(())
    }
}

impl Liveness {
    /// Marks everything reachable from `roots` (provisional (space, index)
    /// pairs). `maps` are the instances' provisional maps.
    ///
    /// # Errors
    /// A parse or mapping error: a bug (the modules were validated).
    pub fn analyse(
        parsed: &[ParsedModule<'_>],
        maps: &[Maps],
        prov: &Provisional,
        roots: impl IntoIterator<Item = (Space, u32)>,
    ) -> Result<Self, ReencodeError<String>> {
        let live = std::array::from_fn(|s| vec![false; prov.len(SPACE_LIST[s])]);
        let mut table_elems = vec![Vec::new(); prov.len(Space::Table)];
        let mut memory_datas = vec![Vec::new(); prov.len(Space::Memory)];
        for (i, &(inst, k)) in prov.owners[Space::Elem as usize].iter().enumerate() {
            if let ElementKind::Active { table_index, .. } =
                &parsed[inst as usize].elems[k as usize].kind
            {
                let t = maps[inst as usize].get(Space::Table, table_index.unwrap_or(0))?;
                table_elems[t as usize].push(i as u32);
            }
        }
        for (i, &(inst, k)) in prov.owners[Space::Data as usize].iter().enumerate() {
            if let DataKind::Active { memory_index, .. } =
                &parsed[inst as usize].datas[k as usize].kind
            {
                let mem = maps[inst as usize].get(Space::Memory, *memory_index)?;
                memory_datas[mem as usize].push(i as u32);
            }
        }
        let mut walk = Walk {
            parsed,
            maps,
            prov,
            live,
            work: Vec::new(),
            uses: Vec::new(),
            ref_funcs: Vec::new(),
            table_elems,
            memory_datas,
        };
        for (s, i) in roots {
            walk.mark(s, i);
        }
        walk.run()?;
        let mut ref_funcs = walk.ref_funcs;
        ref_funcs.sort_unstable();
        ref_funcs.dedup();
        Ok(Liveness {
            live: walk.live,
            ref_funcs,
            finals: Default::default(),
        })
    }

    /// Rewrites `maps` from local → provisional to local → final (or
    /// [`DEAD`]), numbering the live items of each space in provisional
    /// order. Returns the final count per space, in [`Space`] order.
    pub fn compose(&mut self, maps: &mut [Maps]) -> [u32; SPACES] {
        let mut counts = [0u32; SPACES];
        let finals: [Vec<u32>; SPACES] = std::array::from_fn(|s| {
            self.live[s]
                .iter()
                .map(|&l| {
                    if l {
                        counts[s] += 1;
                        counts[s] - 1
                    } else {
                        DEAD
                    }
                })
                .collect()
        });
        for map in maps {
            for (s, space) in map.spaces.iter_mut().enumerate() {
                for e in space.iter_mut() {
                    *e = finals[s].get(*e as usize).copied().unwrap_or(DEAD);
                }
            }
        }
        let funcs = &finals[Space::Func as usize];
        for f in &mut self.ref_funcs {
            *f = funcs[*f as usize];
        }
        self.finals = finals;
        counts
    }

    /// Whether provisional item `i` of space `s` is reachable.
    pub fn is_marked(&self, s: Space, i: u32) -> bool {
        self.live[s as usize]
            .get(i as usize)
            .copied()
            .unwrap_or(false)
    }

    /// The final index of provisional item `i` of space `s`, if it is live
    /// (after [`Liveness::compose`]).
    pub fn final_index(&self, s: Space, i: u32) -> Option<u32> {
        self.finals[s as usize]
            .get(i as usize)
            .copied()
            .filter(|&f| f != DEAD)
    }

    /// Functions named by a reached `ref.func` in a function body, sorted,
    /// each once (final indices after [`Liveness::compose`]).
    pub fn ref_funcs(&self) -> &[u32] {
        &self.ref_funcs
    }
}

const SPACE_LIST: [Space; SPACES] = [
    Space::Type,
    Space::Func,
    Space::Table,
    Space::Memory,
    Space::Global,
    Space::Tag,
    Space::Elem,
    Space::Data,
];
