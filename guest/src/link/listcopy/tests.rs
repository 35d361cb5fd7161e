//! The matcher on FACT's loop shape and on near misses; the run-time
//! equality of both forms is `tests/tests/list_copy.rs`'s.
//!
//! Test-only: the `unwrap`s and the `panic!` below are assertions on the
//! test modules written here (valid WAT with one function).

use super::emit_body;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasmparser::{Operator, Parser, Payload};

/// FACT's loop copying `n` elements of `fields` (load, store, offset)
/// with stride `size` from memory 0 to memory `dst`.
fn module(fields: &[Field], size: u32, dst: u32) -> Vec<u8> {
    let body: String = fields
        .iter()
        .map(|(l, s, o)| {
            format!("local.get $cd local.get $cs {l} 0 offset={o} {s} {dst} offset={o}\n")
        })
        .collect();
    wat::parse_str(format!(
        "(module (memory 1) (memory 1)
          (func (param $src i32) (param $dst i32) (param $len i32)
            (local $n i32) (local $cs i32) (local $cd i32)
            block
              local.get $len local.tee $n i32.eqz br_if 0
              local.get $src local.set $cs local.get $dst local.set $cd
              loop
                {body}
                local.get $cs i32.const {size} i32.add local.set $cs
                local.get $cd i32.const {size} i32.add local.set $cd
                local.get $n i32.const -1 i32.add local.tee $n br_if 0
              end
            end))"
    ))
    .unwrap()
}

/// Rewrites the module's function with `map`; its `memory.copy`s.
fn copies<R: Reencode>(wasm: &[u8], map: &mut R) -> usize
where
    R::Error: std::fmt::Debug,
{
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionEntry(body) = payload.unwrap() {
            let f = emit_body(map, &body).unwrap();
            let bytes = f.into_raw_body();
            let body = wasmparser::FunctionBody::new(wasmparser::BinaryReader::new(&bytes, 0));
            let mut ops = body.get_operators_reader().unwrap();
            let mut n = 0;
            while !ops.eof() {
                if let Operator::MemoryCopy { .. } = ops.read().unwrap() {
                    n += 1;
                }
            }
            return n;
        }
    }
    panic!("no function")
}

/// Maps every memory to 0: source and destination the same memory.
struct OneMemory;

impl Reencode for OneMemory {
    type Error = std::convert::Infallible;
    fn memory_index(&mut self, _: u32) -> Result<u32, wasm_encoder::reencode::Error<Self::Error>> {
        Ok(0)
    }
}

/// FACT's loop (fields, stride, destination memory) and the
/// `memory.copy`s it becomes with the round-trip mapping.
/// A field: its load, its store, its offset.
type Field = (&'static str, &'static str, u32);

const CASES: &[(&[Field], u32, u32, usize)] = &[
    (&[("i32.load", "i32.store", 0)], 4, 1, 1),
    (
        &[
            ("i32.load8_u", "i32.store8", 0),
            ("i32.load8_s", "i32.store8", 1),
        ],
        2,
        1,
        1,
    ),
    // Fields in another order than their offsets.
    (
        &[("f32.load", "f32.store", 4), ("i32.load", "i32.store", 0)],
        8,
        1,
        1,
    ),
    // Near misses keep the loop: a gap (padding) after the field,
    (&[("i32.load", "i32.store", 0)], 8, 1, 0),
    // overlapping fields,
    (
        &[
            ("i32.load", "i32.store", 0),
            ("i32.load16_u", "i32.store16", 2),
        ],
        4,
        1,
        0,
    ),
    // a load and a store of different widths,
    (&[("i32.load", "i32.store16", 0)], 2, 1, 0),
    // one memory.
    (&[("i32.load", "i32.store", 0)], 4, 0, 0),
];

#[test]
fn facts_loop_over_plain_fields_and_near_misses() {
    for &(fields, size, dst, expected) in CASES {
        assert_eq!(
            copies(&module(fields, size, dst), &mut RoundtripReencoder),
            expected,
            "{fields:?}, stride {size}, to memory {dst}"
        );
    }
    // Two memories as written, one once merged.
    assert_eq!(
        copies(
            &module(&[("i32.load", "i32.store", 0)], 4, 1),
            &mut OneMemory
        ),
        0
    );
}
