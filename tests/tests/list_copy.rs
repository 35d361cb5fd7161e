//! Lists crossing inner components: FACT's element-by-element copy of
//! plain data becomes one `memory.copy` when fused (`guest/src/link/listcopy.rs`),
//! and every list, rewritten or not, must arrive as it does before fusion:
//! the same bytes, and a trap where the input traps (out of bounds at
//! every edge, unaligned, a byte length past 32 bits, an invalid `char`).
//!
//! The input runs FACT's loop under wasmtime; the fused forms (a
//! component, and a core module wrapped back) run the rewrite: equal
//! results prove the two forms equal.

use wasmparser::{Operator, Parser, Payload};
use wasmtime::component::Val;

/// The caller's memory: one page, filled with a byte pattern at start.
const PAGE: u32 = 65536;

/// A composition: `$callee` lifts `take: func(l: list<ty>) -> u32`, a hash
/// of the `size`-byte elements it received (byte by byte) plus their
/// count; `$caller` lowers it and exports `run(ptr, len) -> u32`, which
/// passes `len` elements at `ptr` of its memory.
fn composition(ty: &str, size: u32) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(component
  (component $callee
    (core module $m
      (memory (export "mem") 2)
      (global $next (mut i32) (i32.const 1024))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (local.set $p (i32.and
          (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get 2))))
        (global.set $next (i32.add (local.get $p) (local.get 3)))
        local.get $p)
      (func (export "take") (param $p i32) (param $n i32) (result i32)
        (local $h i32) (local $end i32)
        (local.set $end (i32.add (local.get $p) (i32.mul (local.get $n) (i32.const {size}))))
        (block (loop
          (br_if 1 (i32.ge_u (local.get $p) (local.get $end)))
          (local.set $h (i32.add (i32.mul (local.get $h) (i32.const 31))
                                 (i32.load8_u (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br 0)))
        (i32.add (local.get $h) (local.get $n))))
    (core instance $i (instantiate $m))
    (func (export "take") (param "l" (list {ty})) (result u32)
      (canon lift (core func $i "take") (memory (core memory $i "mem"))
        (realloc (core func $i "realloc")))))
  (component $caller
    (import "take" (func $take (param "l" (list {ty})) (result u32)))
    (core module $libc (memory (export "mem") 1))
    (core instance $libc (instantiate $libc))
    (core func $take (canon lower (func $take) (memory (core memory $libc "mem"))))
    (core module $m
      (import "host" "take" (func $take (param i32 i32) (result i32)))
      (import "libc" "mem" (memory 1))
      (func $fill (local $i i32)
        (loop
          (i32.store8 (local.get $i)
            (i32.xor (i32.add (i32.mul (local.get $i) (i32.const 7)) (i32.const 3))
                     (i32.shr_u (local.get $i) (i32.const 8))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if 0 (i32.lt_u (local.get $i) (i32.const {PAGE})))))
      (start $fill)
      (func (export "run") (param i32 i32) (result i32)
        (call $take (local.get 0) (local.get 1))))
    (core instance $i (instantiate $m
      (with "host" (instance (export "take" (func $take))))
      (with "libc" (instance $libc))))
    (func (export "run") (param "ptr" u32) (param "len" u32) (result u32)
      (canon lift (core func $i "run"))))
  (instance $callee (instantiate $callee))
  (instance $caller (instantiate $caller (with "take" (func $callee "take"))))
  (export "run" (func $caller "run")))"#
    ))
    .expect("test composition parses")
}

/// `run(ptr, len)`: the hash, or that it trapped.
fn run(bytes: &[u8], ptr: u32, len: u32) -> Result<u32, ()> {
    match meld_tests::call_export(bytes, "run", &[Val::U32(ptr), Val::U32(len)]) {
        Ok(Val::U32(h)) => Ok(h),
        Ok(other) => panic!("unexpected result {other:?}"),
        Err(_) => Err(()),
    }
}

/// `memory.copy`s in the code of `component` (every module in it).
fn memory_copies(component: &[u8]) -> usize {
    let mut n = 0;
    for payload in Parser::new(0).parse_all(component) {
        if let Ok(Payload::CodeSectionEntry(body)) = payload {
            let mut ops = body.get_operators_reader().expect("a body");
            while !ops.eof() {
                if let Ok(Operator::MemoryCopy { .. }) = ops.read() {
                    n += 1;
                }
            }
        }
    }
    n
}

/// Element types: WIT-like text, size in bytes, alignment, and whether
/// the fused copy is a `memory.copy` (plain bytes, no padding).
const TYPES: &[(&str, u32, u32, bool)] = &[
    ("u8", 1, 1, true),
    ("s16", 2, 2, true),
    ("u32", 4, 4, true),
    ("u64", 8, 8, true),
    ("f32", 4, 4, true),
    ("f64", 8, 8, true),
    ("(tuple u32 f32)", 8, 4, true),
    ("(tuple u16 u16)", 4, 2, true),
    // Padding after the u8: the loop does not write it.
    ("(tuple u8 u32)", 8, 4, false),
    // FACT normalises bools and validates chars.
    ("bool", 1, 1, false),
    ("char", 4, 4, false),
];

/// The calls each composition gets: lengths around `listcopy::MIN_BYTES`
/// (64 bytes) and large ones, lists ending exactly at the end of the
/// caller's memory and one element past it, an unaligned pointer, a byte
/// length past 32 bits, and an empty list at the very end.
fn calls(size: u32, align: u32) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for bytes in [0, 1, 8, 60, 63, 64, 65, 68, 72, 128, 1000, 4096, 40000] {
        let len = bytes / size;
        out.push((64, len));
    }
    for len in [1, 15, 16, 17, 100, 8000 / size] {
        // Ends at the end of memory, then one element past it.
        out.push((PAGE - len * size, len));
        out.push((PAGE - len * size + size, len));
    }
    if align > 1 {
        out.push((65, 16));
    }
    // len * size needs more than 32 bits.
    out.push((64, u32::MAX / size + 1));
    out.push((64, u32::MAX));
    out.push((PAGE, 0));
    out.push((PAGE + size, 0));
    out
}

#[test]
fn lists_arrive_as_before_fusion_with_the_same_traps() {
    for &(ty, size, align, rewritten) in TYPES {
        let input = composition(ty, size);
        let fused = meld::fuse(&input).unwrap_or_else(|d| panic!("{ty}: {d:?}"));
        let via_core = meld_tests::core_roundtrip(ty, &input);
        let (mut ok, mut trapped) = (0, 0);
        for (ptr, len) in calls(size, align) {
            let expected = run(&input, ptr, len);
            match expected {
                Ok(_) => ok += 1,
                Err(()) => trapped += 1,
            }
            assert_eq!(
                run(&fused, ptr, len),
                expected,
                "{ty}: run({ptr}, {len}), fused"
            );
            assert_eq!(
                run(&via_core, ptr, len),
                expected,
                "{ty}: run({ptr}, {len}), core"
            );
        }
        // The cases reach both outcomes (chars of the pattern are mostly
        // invalid: those traps are the validation's).
        assert!(trapped >= 4, "{ty}: {trapped} traps");
        if ty != "char" {
            assert!(ok >= 15, "{ty}: {ok} returns");
        }
        let copies = memory_copies(&fused);
        assert_eq!(
            copies,
            usize::from(rewritten),
            "{ty}: memory.copy in the fused component"
        );
        assert_eq!(memory_copies(&input), 0, "{ty}: the input has none");
    }
}
