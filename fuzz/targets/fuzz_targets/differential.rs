//! Random compositions fused and unfused: see `meld_fuzz::differential`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meld_fuzz::{Verdict, differential, engine};
use std::sync::OnceLock;

static ENGINE: OnceLock<meld_fuzz::Engine> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let engine = ENGINE.get_or_init(engine);
    let (case, verdict) = differential(engine, data);
    match verdict {
        Verdict::Same(_) | Verdict::Skipped => {}
        other => {
            if let Some((wat, _)) = case {
                eprintln!("{wat}");
            }
            panic!("{other}");
        }
    }
});
