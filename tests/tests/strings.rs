//! Strings crossing inner components, in every encoding pair, run before and
//! after fusion (to a component, and to a core module wrapped back): the same result where the input succeeds, a trap where it
//! traps (invalid UTF-8, unpaired surrogates). These exercise the transcoder
//! intrinsics wired into the fused module.

use wasmtime::component::{Component, Linker, Val};
use wasmtime::{Config, Engine, Store};

/// A composition: `$callee` lifts `get: func() -> string` returning `data`
/// (bytes as a wat string, `units` code units) in `from` encoding; `$caller`
/// lowers it with `to` encoding into its own memory and exports
/// `len: func() -> u32`, the length it received (in `to`'s code units, with
/// the latin1+utf16 tag bit as wasmtime hands it over).
fn composition(from: &str, data: &str, units: u32, to: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(component
  (component $callee
    (core module $m
      (memory (export "mem") 1)
      (data (i32.const 16) "{data}")
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 1024)
      (func (export "get") (result i32)
        (i32.store (i32.const 0) (i32.const 16))
        (i32.store (i32.const 4) (i32.const {units}))
        i32.const 0))
    (core instance $i (instantiate $m))
    (func (export "get") (result string)
      (canon lift (core func $i "get") (memory (core memory $i "mem")) (realloc (core func $i "realloc")) string-encoding={from})))
  (component $caller
    (import "get" (func $get (result string)))
    (core module $libc
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 4096))
      ;; A bump allocator: aligned, and copying the old block when growing.
      (func (export "realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
        (local $p i32)
        (local.set $p (i32.and
          (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get $align))))
        (global.set $next (i32.add (local.get $p) (local.get $size)))
        (memory.copy (local.get $p) (local.get $old) (local.get $old_size))
        local.get $p))
    (core instance $libc (instantiate $libc))
    (core func $get (canon lower (func $get) (memory (core memory $libc "mem")) (realloc (core func $libc "realloc")) string-encoding={to}))
    (core module $m
      (import "host" "get" (func $get (param i32)))
      (import "libc" "mem" (memory 1))
      (func (export "len") (result i32)
        (call $get (i32.const 100))
        (i32.load (i32.const 104))))
    (core instance $i (instantiate $m
      (with "host" (instance (export "get" (func $get))))
      (with "libc" (instance $libc))))
    (func (export "len") (result u32) (canon lift (core func $i "len"))))
  (instance $callee (instantiate $callee))
  (instance $caller (instantiate $caller (with "get" (func $callee "get"))))
  (export "len" (func $caller "len")))"#
    ))
    .expect("test composition parses")
}

/// Calls `len`: the length the caller received, or what the trap says
/// ([`meld_tests::trap_message`]).
fn call_len(bytes: &[u8]) -> Result<u32, String> {
    let engine = Engine::new(&Config::new()).unwrap();
    let component = Component::new(&engine, bytes).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &component)
        .unwrap();
    let func = instance.get_func(&mut store, "len").unwrap();
    let mut results = [Val::U32(0)];
    match func.call(&mut store, &[], &mut results) {
        Ok(()) => match results[0] {
            Val::U32(n) => Ok(n),
            ref other => panic!("unexpected result {other:?}"),
        },
        Err(e) => Err(meld_tests::trap_message(&e)),
    }
}

/// The outcome of `len` for one composition: before fusion, fused to a
/// component, and fused to a core module wrapped back.
#[derive(Debug, PartialEq, Eq)]
struct Runs {
    input: Result<u32, String>,
    fused: Result<u32, String>,
    via_core: Result<u32, String>,
}

/// Runs the composition before and after fusion (as a component, and as a
/// core module wrapped back).
fn differential(from: &str, data: &str, units: u32, to: &str) -> Runs {
    let input = composition(from, data, units, to);
    let fused = meld::fuse(&input).unwrap_or_else(|d| panic!("{from}->{to}: {d:?}"));
    let via_core = meld_tests::core_roundtrip(&format!("{from}->{to}"), &input);
    Runs {
        input: call_len(&input),
        fused: call_len(&fused),
        via_core: call_len(&via_core),
    }
}

/// Where the input returns `len`, both fused forms return the same.
fn returns(len: u32) -> Runs {
    Runs {
        input: Ok(len),
        fused: Ok(len),
        via_core: Ok(len),
    }
}

/// Where the input traps with wasmtime's `message` (its transcoders and
/// adapters run in the host), both fused forms trap too, where the same
/// checks run in wasm: on `unreachable`.
fn traps(message: &str) -> Runs {
    let fused = Err(FUSED_TRAP.to_string());
    Runs {
        input: Err(message.to_string()),
        fused: fused.clone(),
        via_core: fused,
    }
}

/// How every trap of the fused module's intrinsics reads.
const FUSED_TRAP: &str = "wasm trap: wasm `unreachable` instruction executed";

const ENCODINGS: [&str; 3] = ["utf8", "utf16", "latin1+utf16"];

/// The length of `s` as the canonical ABI hands it over in `to`: bytes of
/// UTF-8, UTF-16 code units, or for `latin1+utf16` Latin-1 bytes when every
/// character fits and UTF-16 code units with the tag bit (1 << 31)
/// otherwise.
fn length_in(s: &str, to: &str) -> u32 {
    let utf16 = s.encode_utf16().count() as u32;
    match to {
        "utf8" => s.len() as u32,
        "utf16" => utf16,
        _ if s.chars().all(|c| u32::from(c) <= 0xff) => s.chars().count() as u32,
        _ => utf16 | 1 << 31,
    }
}

/// "hé🦀" in each source encoding, with its code-unit count. latin1+utf16
/// cannot hold the crab in Latin-1, so that source uses its UTF-16 form (tag
/// bit set in the length).
fn sample(from: &str) -> (&'static str, u32) {
    match from {
        "utf8" => ("h\\c3\\a9\\f0\\9f\\a6\\80", 7),
        "utf16" => ("h\\00\\e9\\00\\3e\\d8\\80\\dd", 4),
        _ => ("h\\00\\e9\\00\\3e\\d8\\80\\dd", 4 | 1 << 31),
    }
}

#[test]
fn valid_strings_in_every_encoding_pair() {
    for from in ENCODINGS {
        for to in ENCODINGS {
            let (data, units) = sample(from);
            assert_eq!(
                differential(from, data, units, to),
                returns(length_in("hé🦀", to)),
                "{from} -> {to}"
            );
        }
    }
    // The expected lengths themselves: 7 bytes, 4 units, 4 units tagged.
    assert_eq!(
        ENCODINGS.map(|to| length_in("hé🦀", to)),
        [7, 4, 4 | 1 << 31]
    );
}

#[test]
fn latin1_strings_in_every_encoding_pair() {
    for to in ENCODINGS {
        // "héé" as Latin-1 (tag bit clear).
        assert_eq!(
            differential("latin1+utf16", "h\\e9\\e9", 3, to),
            returns(length_in("héé", to)),
            "latin1 -> {to}"
        );
    }
    assert_eq!(ENCODINGS.map(|to| length_in("héé", to)), [5, 3, 3]);
}

#[test]
fn invalid_utf8_traps_in_every_destination_encoding() {
    for to in ENCODINGS {
        assert_eq!(
            differential("utf8", "ok\\ff\\fe", 4, to),
            traps("invalid utf8 encoding"),
            "utf8 -> {to}"
        );
    }
}

/// A lone high surrogate in a UTF-16 string: wasmtime's transcoders decode
/// it (even utf16 to utf16 is validated, not copied) and trap.
#[test]
fn unpaired_surrogates_trap_where_the_input_traps() {
    for to in ENCODINGS {
        assert_eq!(
            differential("utf16", "h\\00\\3e\\d8", 2, to),
            traps("invalid utf16 encoding"),
            "utf16 -> {to}"
        );
    }
}

/// A string that runs past the end of the source memory (70000 bytes from
/// address 16 of a one-page memory): the adapter's bounds check.
#[test]
fn out_of_bounds_strings_trap() {
    for to in ENCODINGS {
        assert_eq!(
            differential("utf8", "x", 70000, to),
            traps("wasm trap: string content out-of-bounds"),
            "utf8 -> {to}"
        );
    }
}
