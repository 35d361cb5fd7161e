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
use super::space::{DEAD, Maps, Provisional, SPACE_LIST, SPACES, Space};
use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasmparser::{DataKind, ElementKind, Operator};

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
            let (inst, group, base, len) = self.prov.group_of(i);
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
        let (inst, k) = self.prov.owners(s)[i as usize];
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
        for (i, &(inst, k)) in prov.owners(Space::Elem).iter().enumerate() {
            if let ElementKind::Active { table_index, .. } =
                &parsed[inst as usize].elems[k as usize].kind
            {
                let t = maps[inst as usize].get(Space::Table, table_index.unwrap_or(0))?;
                table_elems[t as usize].push(i as u32);
            }
        }
        for (i, &(inst, k)) in prov.owners(Space::Data).iter().enumerate() {
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
            map.remap(&finals);
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
