//! The type space of the fused module: recursion groups are numbered per
//! instance, and a single-type group identical to an earlier one (after
//! mapping the indices it names) is the earlier one.

use super::{LinkError, Linker, Live};
use crate::link::space::{Maps, Space};
use wasm_encoder::TypeSection;
use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasmparser::RecGroup;

/// Stands for a type's own index in its dedup key (see
/// [`Linker::intern_types`]); above any real type index (a module has at most
/// 1,000,000 types).
const SELF_REFERENCE: u32 = 0x0fff_ffff;

impl Linker<'_> {
    /// Gives the types of instance `i` provisional fused indices, reusing
    /// identical single-type recursion groups of earlier instances, records
    /// each new group in the provisional spaces, and fills `map`'s types.
    pub(super) fn intern_types(&mut self, i: usize, map: &mut Maps) -> Result<(), LinkError> {
        for (g, group) in self.modules[i].rec_groups.iter().enumerate() {
            let base = self.prov.len(Space::Type) as u32;
            let len = group.types().len() as u32;
            if len == 1 {
                let key = single_type_key(map, group).map_err(|e| self.reencode_error(i, e))?;
                if let Some(&existing) = self.type_dedup.get(&key) {
                    map.space_mut(Space::Type).push(existing);
                    continue;
                }
                self.type_dedup.insert(key, base);
                map.space_mut(Space::Type).push(base);
            } else {
                // Tentative positions, so that references inside the group resolve.
                map.space_mut(Space::Type).extend(base..base + len);
            }
            self.prov.group(i, g, base, len);
        }
        Ok(())
    }

    /// The final index of the type of `init` (no parameters, no results):
    /// an equal live type's, else a new one appended to `types` after every
    /// live type (a group counts once in `types.len()`).
    pub(super) fn init_type(&self, live: &Live, types: &mut TypeSection) -> u32 {
        let mut empty = TypeSection::new();
        empty.ty().function([], []);
        let existing = self
            .type_dedup
            .get(&section_body(&empty))
            .and_then(|&p| live.liveness.final_index(Space::Type, p));
        existing.unwrap_or_else(|| {
            types.ty().function([], []);
            live.counts[Space::Type as usize]
        })
    }
}

/// The dedup key of `group`, a one-type recursion group that is the next
/// type of `map`: its encoding, with references to itself as
/// [`SELF_REFERENCE`], an index no other type has, so that a type that refers
/// to itself is never taken for one that refers to an earlier type at the
/// same position.
fn single_type_key(map: &mut Maps, group: &RecGroup) -> Result<Vec<u8>, ReencodeError<String>> {
    map.space_mut(Space::Type).push(SELF_REFERENCE);
    let mut one = TypeSection::new();
    let encoded = map.parse_recursive_type_group(one.ty(), group.clone());
    map.space_mut(Space::Type).pop();
    encoded?;
    Ok(section_body(&one))
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
