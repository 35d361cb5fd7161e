//! `chain-leaf`: the bottom of the chain, exporting `example:chain/leaf`.

wit_bindgen::generate!({
    world: "leaf-world",
    path: "../wit/chain",
});

use exports::example::chain::leaf::{Entry, Guest};

struct Leaf;

impl Guest for Leaf {
    fn tokenize(s: String) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn count_nonzero(data: Vec<u8>) -> u32 {
        data.iter().filter(|&&b| b != 0).count() as u32
    }

    fn make_entry(key: String, weight: u32) -> Entry {
        let value = (key.len() as u32).wrapping_mul(weight);
        Entry { key, value }
    }

    fn sum_entries(entries: Vec<Entry>) -> u64 {
        entries.iter().map(|e| u64::from(e.value)).sum()
    }

    fn reverse(s: String) -> String {
        s.chars().rev().collect()
    }
}

export!(Leaf);
