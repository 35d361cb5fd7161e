//! The allocator of every index space: an instance's handle table (handles
//! start at 1, the most recently freed index is reused first), and the
//! store-wide numbering of tasks and waitable sets that orders events.
//!
//! Both follow wasmtime 48 (`handle_table.rs`, `HandleTable::insert` /
//! `remove`, and `ResourceTable`'s free list): an intrusive free list whose
//! head is the last index freed. The spec's `Table` (`definitions.py`) does
//! the same (`free.pop()`).

use alloc::vec::Vec;

use crate::codes::{MAX_HANDLE, Trap};

enum Entry<T> {
    Free { next: u32 },
    Used(T),
}

/// Values of type `T` at indices `base..`, reused LIFO.
pub struct Slab<T> {
    entries: Vec<Entry<T>>,
    /// Head of the free list, as an index into `entries`; `entries.len()`
    /// when nothing is free.
    next: u32,
    /// The index of `entries[0]` (1 for handle tables, 0 for store ids).
    base: u32,
}

impl<T> Slab<T> {
    /// An empty slab whose first index is `base`.
    pub const fn new(base: u32) -> Self {
        Slab {
            entries: Vec::new(),
            next: 0,
            base,
        }
    }

    /// Stores `value` and returns its index.
    ///
    /// # Errors
    /// [`Trap::Exhausted`] beyond [`MAX_HANDLE`] entries.
    #[inline]
    pub fn insert(&mut self, value: T) -> Result<u32, Trap> {
        let at = self.next;
        if at as usize == self.entries.len() {
            if at + self.base >= MAX_HANDLE {
                return Err(Trap::Exhausted);
            }
            self.entries.push(Entry::Used(value));
            self.next = at + 1;
        } else {
            let Entry::Free { next } = self.entries[at as usize] else {
                unreachable!("the free list holds free entries")
            };
            self.next = next;
            self.entries[at as usize] = Entry::Used(value);
        }
        Ok(at + self.base)
    }

    #[inline]
    fn slot(&self, index: u32) -> Option<usize> {
        let i = index.checked_sub(self.base)? as usize;
        (i < self.entries.len()).then_some(i)
    }

    /// The value at `index`.
    #[inline]
    pub fn get(&self, index: u32) -> Option<&T> {
        match &self.entries[self.slot(index)?] {
            Entry::Used(v) => Some(v),
            Entry::Free { .. } => None,
        }
    }

    /// The value at `index`, mutably.
    #[inline]
    pub fn get_mut(&mut self, index: u32) -> Option<&mut T> {
        let i = self.slot(index)?;
        match &mut self.entries[i] {
            Entry::Used(v) => Some(v),
            Entry::Free { .. } => None,
        }
    }

    /// Removes and returns the value at `index`; `index` is the next one
    /// [`Slab::insert`] hands out.
    #[inline]
    pub fn remove(&mut self, index: u32) -> Option<T> {
        let i = self.slot(index)?;
        if matches!(self.entries[i], Entry::Free { .. }) {
            return None;
        }
        let old = core::mem::replace(&mut self.entries[i], Entry::Free { next: self.next });
        self.next = i as u32;
        match old {
            Entry::Used(v) => Some(v),
            Entry::Free { .. } => unreachable!(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_start_at_one_and_reuse_the_last_freed_first() {
        let mut s = Slab::new(1);
        assert_eq!(s.insert('a'), Ok(1));
        assert_eq!(s.insert('b'), Ok(2));
        assert_eq!(s.insert('c'), Ok(3));
        assert_eq!(s.insert('d'), Ok(4));
        assert_eq!(s.remove(2), Some('b'));
        assert_eq!(s.remove(4), Some('d'));
        assert_eq!(s.get(2), None);
        assert_eq!(s.remove(4), None);
        assert_eq!(s.insert('e'), Ok(4));
        assert_eq!(s.insert('f'), Ok(2));
        assert_eq!(s.insert('g'), Ok(5));
        assert_eq!(s.get(0), None);
        assert_eq!(s.get(6), None);
        assert_eq!(s.get(3), Some(&'c'));
    }

    #[test]
    fn store_ids_start_at_zero() {
        let mut s = Slab::new(0);
        assert_eq!(s.insert(()), Ok(0));
        assert_eq!(s.insert(()), Ok(1));
        s.remove(0);
        assert_eq!(s.insert(()), Ok(0));
    }
}
