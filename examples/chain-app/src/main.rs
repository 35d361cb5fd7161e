//! `chain-app`: a command importing `example:chain/middle`.

wit_bindgen::generate!({
    world: "app-world",
    path: "../wit/chain",
});

use example::chain::middle;

fn main() {
    println!("[chain-app] start");
    println!("analyze: {:?}", middle::analyze("the quick brown fox jumps"));
    println!("analyze: {:?}", middle::analyze("héllo wörld ✓ 日本語 🦀"));
    println!("analyze: {:?}", middle::analyze(""));
    println!("index-words: {:?}", middle::index_words("one two three", 10));
    println!("index-words: {:?}", middle::index_words("naïve café 🦀", 3));
    println!("checksum: {:?}", middle::checksum(&[1, 0, 2, 0, 3, 255]));
    println!("checksum: {:?}", middle::checksum(&[0, 0, 0]));
    println!("mirror-words: {:?}", middle::mirror_words("stressed desserts live", " | "));
    println!("mirror-words: {:?}", middle::mirror_words("日本語 🦀ferris", "·"));
    println!("[chain-app] done");
}
