//! The compositions the benchmarks run: the Rust-built call benchmark
//! (`examples/bench.wasm`), string echo compositions for every encoding pair
//! (generated here: Rust guests only speak UTF-8), and the examples.

use std::path::PathBuf;

/// The repository root (this crate lives in `benches/`).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ has a parent")
        .to_path_buf()
}

/// Reads a file of the repository.
pub fn read(rel: &str) -> anyhow::Result<Vec<u8>> {
    let path = repo().join(rel);
    std::fs::read(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The workload shapes of `examples/bench.wasm` (`example:bench`, world
/// `app`: `run: func(workload, rounds: u32) -> u64`), with the rounds each
/// runs per sample. `mix` is the whole call-heavy composition: 4M `noop`, 1M
/// `echo`, 0.5M `sum` of 256 elements, 1M `scale`.
pub const WORKLOADS: &[(&str, u32)] = &[
    ("noop", 4_000_000),
    ("echo", 1_000_000),
    ("echo-unicode", 1_000_000),
    ("sum", 500_000),
    ("scale", 1_000_000),
    ("resource", 1_000_000),
    ("mix", 500_000),
];

/// Rounds of each string-pair composition per sample.
pub const STRING_ROUNDS: u32 = 1_000_000;

/// The canonical ABI's string encodings, as spelled in `string-encoding=`.
pub const ENCODINGS: &[&str] = &["utf8", "utf16", "latin1+utf16"];

/// 64 ASCII characters: the string every pair echoes.
const TEXT: &str = "The quick brown fox jumps over the lazy dog, 0123456789 ABCDEFG.";

/// `TEXT` encoded as a WAT string literal in `encoding`, and its length in
/// that encoding's code units.
fn encoded(encoding: &str) -> (String, u32) {
    let units = TEXT.len() as u32;
    let lit = match encoding {
        "utf16" => TEXT.chars().map(|c| format!("{c}\\00")).collect(),
        _ => TEXT.to_string(),
    };
    (lit, units)
}

/// A two-component composition: `$caller`, with strings in `from`, exports
/// `run: func(rounds: u32) -> u32` and calls `$callee`'s
/// `echo: func(s: string) -> string` (strings in `to`) `rounds` times with a
/// 64-character ASCII string, folding the length and first code unit of each
/// result into a checksum. Each call transcodes `from`→`to` and back.
///
/// Both sides allocate at fixed addresses (one argument and one result per
/// call), so that the measured cost is the crossing and the transcoding.
pub fn string_pair(from: &str, to: &str) -> anyhow::Result<Vec<u8>> {
    let (text, units) = encoded(from);
    Ok(wat::parse_str(format!(
        r#"(component
  (component $callee
    (core module $m
      (memory (export "mem") 1)
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 1024)
      (func (export "echo") (param i32 i32) (result i32)
        (i32.store (i32.const 0) (local.get 0))
        (i32.store (i32.const 4) (local.get 1))
        i32.const 0))
    (core instance $i (instantiate $m))
    (func (export "echo") (param "s" string) (result string)
      (canon lift (core func $i "echo") (memory (core memory $i "mem"))
        (realloc (core func $i "realloc")) string-encoding={to})))
  (component $caller
    (import "echo" (func $echo (param "s" string) (result string)))
    (core module $libc
      (memory (export "mem") 1)
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 8192))
    (core instance $libc (instantiate $libc))
    (core func $echo (canon lower (func $echo) (memory (core memory $libc "mem"))
      (realloc (core func $libc "realloc")) string-encoding={from}))
    (core module $m
      (import "host" "echo" (func $echo (param i32 i32 i32)))
      (import "libc" "mem" (memory 1))
      (data (i32.const 16) "{text}")
      (func (export "run") (param $n i32) (result i32)
        (local $i i32) (local $h i32)
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (call $echo (i32.const 16) (i32.const {units}) (i32.const 0))
            (local.set $h
              (i32.add (i32.mul (local.get $h) (i32.const 31))
                (i32.add (i32.load (i32.const 4)) (i32.load8_u (i32.load (i32.const 0))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (local.get $h)))
    (core instance $i (instantiate $m
      (with "host" (instance (export "echo" (func $echo))))
      (with "libc" (instance $libc))))
    (func (export "run") (param "rounds" u32) (result u32) (canon lift (core func $i "run"))))
  (instance $callee (instantiate $callee))
  (instance $caller (instantiate $caller (with "echo" (func $callee "echo"))))
  (export "run" (func $caller "run")))"#
    ))?)
}

/// The compositions whose instantiation, compile time and size are measured:
/// (name, bytes).
pub fn compositions() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut out = vec![("bench".to_string(), read("examples/bench.wasm")?)];
    for name in ["calc", "chain", "resources", "reexport", "res-export"] {
        out.push((name.to_string(), read(&format!("examples/{name}.wasm"))?));
    }
    Ok(out)
}
