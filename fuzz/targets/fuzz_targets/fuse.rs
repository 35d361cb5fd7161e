//! Any bytes into the fuser: see `meld_fuzz::fuse_properties`. An input
//! whose first byte is odd makes a wasm-smith module in a component from
//! the rest (`meld_fuzz::smith::component`); otherwise the bytes go in as
//! they are.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = match data.split_first() {
        Some((first, rest)) if first % 2 == 1 => {
            match meld_fuzz::smith::component(&mut Unstructured::new(rest)) {
                Ok(c) => c,
                Err(_) => return,
            }
        }
        _ => data.to_vec(),
    };
    if let Err(e) = meld_fuzz::fuse_properties(&input) {
        panic!("{e}");
    }
});
