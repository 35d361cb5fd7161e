//! Small ordered maps and sets as sorted vectors: the runtime's maps hold a
//! few entries (the members of a set with an event, the waiters of a set,
//! the calls parked at an instance), where a vector is smaller in code and
//! faster than a B-tree. Kept in descending order, so that the smallest
//! key, the one taken most (`pop_first`), is at the end.

use alloc::vec::Vec;

/// A map of keys `K` in order.
pub struct VecMap<K, V> {
    /// Descending by key.
    entries: Vec<(K, V)>,
}

impl<K: Ord + Copy, V> Default for VecMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Ord + Copy, V> VecMap<K, V> {
    pub const fn new() -> Self {
        VecMap {
            entries: Vec::new(),
        }
    }

    /// Where `k` is, or would go.
    fn find(&self, k: &K) -> Result<usize, usize> {
        self.entries.binary_search_by(|(e, _)| k.cmp(e))
    }

    /// Sets `k` to `v`; returns the value it had.
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        match self.find(&k) {
            Ok(i) => Some(core::mem::replace(&mut self.entries[i].1, v)),
            Err(i) => {
                self.entries.insert(i, (k, v));
                None
            }
        }
    }

    pub fn get(&self, k: &K) -> Option<&V> {
        self.find(k).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.find(k).ok().map(|i| &mut self.entries[i].1)
    }

    /// The entries, in ascending key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().rev().map(|(k, v)| (k, v))
    }

    pub fn remove(&mut self, k: &K) -> Option<V> {
        self.find(k).ok().map(|i| self.entries.remove(i).1)
    }

    /// Removes and returns the entry of the smallest key.
    pub fn pop_first(&mut self) -> Option<(K, V)> {
        self.entries.pop()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// Keeps the entries for which `f` holds.
    pub fn retain(&mut self, mut f: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| f(k, v));
    }

    /// Takes every entry out, in ascending key order.
    pub fn take(&mut self) -> impl Iterator<Item = (K, V)> {
        core::mem::take(&mut self.entries).into_iter().rev()
    }
}

/// A set of keys `K` in order.
pub struct VecSet<K> {
    map: VecMap<K, ()>,
}

impl<K: Ord + Copy> Default for VecSet<K> {
    fn default() -> Self {
        VecSet { map: VecMap::new() }
    }
}

impl<K: Ord + Copy> VecSet<K> {
    /// Adds `k`; whether it was new.
    pub fn insert(&mut self, k: K) -> bool {
        self.map.insert(k, ()).is_none()
    }

    /// Removes `k`; whether it was there.
    pub fn remove(&mut self, k: &K) -> bool {
        self.map.remove(k).is_some()
    }

    /// Removes and returns the smallest key.
    pub fn pop_first(&mut self) -> Option<K> {
        self.map.pop_first().map(|(k, ())| k)
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_out_in_ascending_order() {
        let mut m = VecMap::new();
        for k in [5, 1, 9, 3, 7] {
            assert_eq!(m.insert(k, k * 10), None);
        }
        assert_eq!(m.insert(3, 31), Some(30));
        assert_eq!(m.get(&3), Some(&31));
        assert_eq!(m.remove(&9), Some(90));
        assert_eq!(m.remove(&9), None);
        assert_eq!(m.pop_first(), Some((1, 10)));
        m.retain(|k, _| *k != 5);
        assert_eq!(m.len(), 2);
        assert_eq!(m.take().collect::<Vec<_>>(), [(3, 31), (7, 70)]);
        assert!(m.is_empty());
        let mut s = VecSet::default();
        assert!(s.insert(4));
        assert!(!s.insert(4));
        assert!(s.insert(2));
        assert!(s.remove(&4));
        assert_eq!(s.pop_first(), Some(2));
        assert_eq!(s.pop_first(), None);
    }
}
