//! Index spaces: the eight of a core module, each instance's map from its own
//! indices to fused ones, and the provisional fused spaces they point into.
//!
//! [`super::merge`] numbers the fused module in two steps. First every item
//! of every planned instance gets a *provisional* fused index, all items kept
//! ([`Provisional`] records where each came from); an instance's [`Maps`]
//! then go from its own indices to provisional ones. Then
//! [`super::live::Liveness::compose`] rewrites each [`Maps`] to final indices,
//! with [`DEAD`] for the items that are not emitted. Re-encoding an instance
//! through its [`Maps`] (they implement [`Reencode`]) gives its items their
//! fused indices; naming a dead item is an error.

use super::plan::Kind;
use wasm_encoder::reencode::{Error as ReencodeError, Reencode};

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

/// The number of index spaces.
pub const SPACES: usize = 8;

/// Every index space, in [`Space`] order (`SPACE_LIST[s as usize] == s`).
pub const SPACE_LIST: [Space; SPACES] = [
    Space::Type,
    Space::Func,
    Space::Table,
    Space::Memory,
    Space::Global,
    Space::Tag,
    Space::Elem,
    Space::Data,
];

impl Space {
    /// The [`Kind`] of the imports that fill this space, whose items come
    /// before the module's own. `None` for types, element segments and data
    /// segments, which no import fills.
    pub fn import_kind(self) -> Option<Kind> {
        match self {
            Space::Func => Some(Kind::Func),
            Space::Table => Some(Kind::Table),
            Space::Memory => Some(Kind::Memory),
            Space::Global => Some(Kind::Global),
            Space::Tag => Some(Kind::Tag),
            Space::Type | Space::Elem | Space::Data => None,
        }
    }
}

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
/// eight index spaces): provisional ones until
/// [`super::live::Liveness::compose`], then final ones or [`DEAD`].
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

    /// The fused index of item `i` of space `s`.
    ///
    /// # Errors
    /// When `i` is out of range or its item was removed as unreachable.
    pub fn get(&self, s: Space, i: u32) -> Result<u32, ReencodeError<String>> {
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

    /// Rewrites every entry `e` of space `s` to `finals[s][e]` ([`DEAD`] when
    /// `e` is out of range, e.g. already [`DEAD`]).
    pub fn remap(&mut self, finals: &[Vec<u32>; SPACES]) {
        for (space, finals) in self.spaces.iter_mut().zip(finals) {
            for e in space.iter_mut() {
                *e = finals.get(*e as usize).copied().unwrap_or(DEAD);
            }
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
/// that module's *defined* items of its space; for an imported function of
/// the fused module, its import index).
pub type Owner = (u32, u32);

/// A unique recursion group of the provisional type space: (instance, group
/// index in that module, first provisional type, number of types).
pub type Group = (u32, u32, u32, u32);

/// The provisional fused index spaces, as [`super::merge`] assigns them.
#[derive(Default)]
pub struct Provisional {
    /// Owner of every provisional item, per space (types excepted).
    owners: [Vec<Owner>; SPACES],
    /// For each provisional type: its recursion group (index in `groups`).
    type_group: Vec<u32>,
    /// Unique recursion groups, in provisional order.
    pub groups: Vec<Group>,
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

    /// The recursion group of provisional type `t`.
    pub fn group_of(&self, t: u32) -> Group {
        self.groups[self.type_group[t as usize] as usize]
    }

    /// The owner of provisional item `i` of space `s` (not types): its
    /// planned instance and its index among that module's defined items.
    /// `None` for an imported function.
    pub fn owner(&self, s: Space, i: u32) -> Option<Owner> {
        if s == Space::Func && i < self.imported_funcs {
            return None;
        }
        self.owners[s as usize].get(i as usize).copied()
    }

    /// The owners of every provisional item of space `s` (not types), in
    /// provisional order, the fused module's imported functions included.
    pub fn owners(&self, s: Space) -> &[Owner] {
        &self.owners[s as usize]
    }

    /// The number of provisional items of space `s`.
    pub fn len(&self, s: Space) -> usize {
        match s {
            Space::Type => self.type_group.len(),
            _ => self.owners[s as usize].len(),
        }
    }
}
