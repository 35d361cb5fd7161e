//! `chain-middle`: imports `example:chain/leaf`, exports `example:chain/middle`.

wit_bindgen::generate!({
    world: "middle-world",
    path: "../wit/chain",
});

use example::chain::leaf;
use exports::example::chain::middle::{Guest, Summary};

struct Middle;

impl Guest for Middle {
    fn analyze(text: String) -> Summary {
        let words = leaf::tokenize(&text);
        let entries: Vec<leaf::Entry> = words.iter().map(|w| leaf::make_entry(w, 1)).collect();
        let total_weight = leaf::sum_entries(&entries);
        let longest = words
            .iter()
            .fold("", |best, w| if w.chars().count() > best.chars().count() { w } else { best })
            .to_string();
        Summary { word_count: words.len() as u32, words, longest, total_weight }
    }

    fn index_words(text: String, weight: u32) -> Vec<(String, u32)> {
        leaf::tokenize(&text)
            .iter()
            .map(|w| {
                let e = leaf::make_entry(w, weight);
                (e.key, e.value)
            })
            .collect()
    }

    fn checksum(data: Vec<u8>) -> Result<u32, String> {
        match leaf::count_nonzero(&data) {
            0 => Err(format!("all {} bytes are zero", data.len())),
            n => Ok(n),
        }
    }

    fn mirror_words(text: String, sep: String) -> String {
        leaf::tokenize(&text)
            .iter()
            .map(|w| leaf::reverse(w))
            .collect::<Vec<_>>()
            .join(&sep)
    }
}

export!(Middle);
