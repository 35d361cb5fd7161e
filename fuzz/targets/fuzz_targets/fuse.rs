//! Any bytes into the fuser: see `meld_fuzz::fuse_properties`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = meld_fuzz::fuse_properties(data) {
        panic!("{e}");
    }
});
