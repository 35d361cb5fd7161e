//! Tests of the string transcoders written in wasm
//! (`guest/src/intrinsics/transcode.wat`).
//!
//! Each export must behave like the wasmtime 48.0.8 libcall it replaces
//! (`crates/wasmtime/src/runtime/vm/component/libcalls.rs`): same results,
//! same bytes written, and a trap wherever the libcall fails. The expected
//! values come from Rust's own encoders (`str::encode_utf16`,
//! `char::encode_utf8`, `String::from_utf16`, ...) and, for the partial
//! transcodes, from `reference`, a restatement of the libcalls over slices.
//!
//! The module is instantiated with two distinct memories and with one memory
//! imported twice. Every call also checks that nothing outside the
//! destination range changed (and, with distinct memories, that the source
//! memory did not change at all).

use std::sync::OnceLock;
use wasmtime::{
    Engine, ExternType, Instance, Memory, MemoryType, Module, Store, Trap, Val, ValType,
};

const WAT: &str = include_str!("../src/intrinsics/transcode.wat");
const PAGE: u32 = 65536;
const UTF16_TAG: u32 = 1 << 31;

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

fn module() -> &'static (Engine, Module) {
    static MODULE: OnceLock<(Engine, Module)> = OnceLock::new();
    MODULE.get_or_init(|| {
        let wasm = wat::parse_str(WAT).expect("transcode.wat parses");
        let engine = Engine::default();
        let module = Module::new(&engine, &wasm).expect("transcode.wat compiles");
        (engine, module)
    })
}

/// One instance of the transcoder module and its two memories.
struct H {
    store: Store<()>,
    instance: Instance,
    src: Memory,
    dst: Memory,
    same: bool,
}

type R<T> = wasmtime::Result<T>;

impl H {
    /// `src` and `dst` are two different memories.
    fn distinct(src_pages: u32, dst_pages: u32) -> H {
        let (engine, module) = module();
        let mut store = Store::new(engine, ());
        let src = Memory::new(&mut store, MemoryType::new(src_pages, None)).unwrap();
        let dst = Memory::new(&mut store, MemoryType::new(dst_pages, None)).unwrap();
        let instance = Instance::new(&mut store, module, &[src.into(), dst.into()]).unwrap();
        H {
            store,
            instance,
            src,
            dst,
            same: false,
        }
    }

    /// One memory imported as both `src` and `dst`.
    fn same(pages: u32) -> H {
        let (engine, module) = module();
        let mut store = Store::new(engine, ());
        let mem = Memory::new(&mut store, MemoryType::new(pages, None)).unwrap();
        let instance = Instance::new(&mut store, module, &[mem.into(), mem.into()]).unwrap();
        H {
            store,
            instance,
            src: mem,
            dst: mem,
            same: true,
        }
    }

    fn write_src(&mut self, at: u32, bytes: &[u8]) {
        self.src.data_mut(&mut self.store)[at as usize..][..bytes.len()].copy_from_slice(bytes);
    }

    fn write_dst(&mut self, at: u32, bytes: &[u8]) {
        self.dst.data_mut(&mut self.store)[at as usize..][..bytes.len()].copy_from_slice(bytes);
    }

    fn read_dst(&self, at: u32, len: usize) -> Vec<u8> {
        self.dst.data(&self.store)[at as usize..][..len].to_vec()
    }

    /// Fill both memories with a recognisable pattern.
    fn scribble(&mut self) {
        for (i, b) in self.dst.data_mut(&mut self.store).iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31).wrapping_add(7);
        }
        if !self.same {
            for (i, b) in self.src.data_mut(&mut self.store).iter_mut().enumerate() {
                *b = (i as u8).wrapping_mul(17).wrapping_add(3);
            }
        }
    }

    /// Call export `name` with i32 arguments, checking that only the
    /// `dst_bytes` bytes at `dst` may have changed in the destination
    /// memory, and nothing in a distinct source memory.
    fn call(&mut self, name: &str, args: &[u32], dst: u32, dst_bytes: u64) -> R<Vec<u32>> {
        let func = self.instance.get_func(&mut self.store, name).expect(name);
        let n_results = func.ty(&self.store).results().len();
        let params: Vec<Val> = args.iter().map(|a| Val::I32(*a as i32)).collect();
        let mut results = vec![Val::I32(0); n_results];
        let src_before = self.src.data(&self.store).to_vec();
        let dst_before = self.dst.data(&self.store).to_vec();
        let outcome = func.call(&mut self.store, &params, &mut results);
        let dst_after = self.dst.data(&self.store);
        let lo = (dst as usize).min(dst_before.len());
        let hi = (dst as u64 + dst_bytes).min(dst_before.len() as u64) as usize;
        assert_eq!(dst_before.len(), dst_after.len());
        assert!(
            dst_before[..lo] == dst_after[..lo],
            "{name}: wrote below the destination range"
        );
        assert!(
            dst_before[hi..] == dst_after[hi..],
            "{name}: wrote past the destination range"
        );
        if !self.same {
            assert!(
                src_before == self.src.data(&self.store),
                "{name}: modified the source memory"
            );
        }
        outcome.map(|()| results.iter().map(|v| v.unwrap_i32() as u32).collect())
    }

    // One typed wrapper per export; the destination range each may write is
    // the one the libcall's destination slice covers.

    fn copy_utf8(&mut self, src: u32, len: u32, dst: u32) -> R<()> {
        self.call("copy-utf8", &[src, len, dst], dst, len as u64)
            .map(|_| ())
    }
    fn copy_utf16(&mut self, src: u32, len: u32, dst: u32) -> R<()> {
        self.call("copy-utf16", &[src, len, dst], dst, 2 * len as u64)
            .map(|_| ())
    }
    fn copy_latin1(&mut self, src: u32, len: u32, dst: u32) -> R<()> {
        self.call("copy-latin1", &[src, len, dst], dst, len as u64)
            .map(|_| ())
    }
    fn latin1_to_utf16(&mut self, src: u32, len: u32, dst: u32) -> R<()> {
        self.call("latin1-to-utf16", &[src, len, dst], dst, 2 * len as u64)
            .map(|_| ())
    }
    fn latin1_to_utf8(
        &mut self,
        src: u32,
        src_len: u32,
        dst: u32,
        dst_len: u32,
        first_pass: bool,
    ) -> R<(u32, u32)> {
        let r = self.call(
            "latin1-to-utf8",
            &[src, src_len, dst, dst_len, first_pass as u32],
            dst,
            dst_len as u64,
        )?;
        Ok((r[0], r[1]))
    }
    fn utf8_to_utf16(&mut self, src: u32, len: u32, dst: u32) -> R<u32> {
        Ok(self.call("utf8-to-utf16", &[src, len, dst], dst, 2 * len as u64)?[0])
    }
    fn utf16_to_utf8(
        &mut self,
        src: u32,
        src_len: u32,
        dst: u32,
        dst_len: u32,
        first_pass: bool,
    ) -> R<(u32, u32)> {
        let r = self.call(
            "utf16-to-utf8",
            &[src, src_len, dst, dst_len, first_pass as u32],
            dst,
            dst_len as u64,
        )?;
        Ok((r[0], r[1]))
    }
    fn utf8_to_latin1(&mut self, src: u32, len: u32, dst: u32) -> R<(u32, u32)> {
        let r = self.call("utf8-to-latin1", &[src, len, dst], dst, len as u64)?;
        Ok((r[0], r[1]))
    }
    fn utf16_to_latin1(&mut self, src: u32, len: u32, dst: u32) -> R<(u32, u32)> {
        let r = self.call("utf16-to-latin1", &[src, len, dst], dst, len as u64)?;
        Ok((r[0], r[1]))
    }
    fn utf8_to_compact_utf16(
        &mut self,
        src: u32,
        src_len: u32,
        dst: u32,
        dst_len: u32,
        so_far: u32,
    ) -> R<u32> {
        Ok(self.call(
            "utf8-to-compact-utf16",
            &[src, src_len, dst, dst_len, so_far],
            dst,
            2 * dst_len as u64,
        )?[0])
    }
    fn utf16_to_compact_utf16(
        &mut self,
        src: u32,
        src_len: u32,
        dst: u32,
        dst_len: u32,
        so_far: u32,
    ) -> R<u32> {
        Ok(self.call(
            "utf16-to-compact-utf16",
            &[src, src_len, dst, dst_len, so_far],
            dst,
            2 * dst_len as u64,
        )?[0])
    }
    fn utf16_to_compact_probably_utf16(&mut self, src: u32, len: u32, dst: u32) -> R<u32> {
        Ok(self.call(
            "utf16-to-compact-probably-utf16",
            &[src, len, dst],
            dst,
            2 * len as u64,
        )?[0])
    }
}

#[track_caller]
fn assert_trap<T: std::fmt::Debug>(r: R<T>) {
    match r {
        Ok(v) => panic!("expected a trap, got Ok({v:?})"),
        Err(e) => assert_eq!(
            e.downcast_ref::<Trap>(),
            Some(&Trap::UnreachableCodeReached),
            "{e:?}"
        ),
    }
}

/// The three layouts every content test runs in: two memories with the
/// string at the same offset in both (so the overlap probe runs and must
/// answer "different"), and one memory with the destination after, then
/// before, the source. Offsets are even (UTF-16 alignment) and not 0.
fn layout(pages: u32, which: usize) -> (H, u32, u32) {
    let half = pages * PAGE / 2;
    match which {
        0 => (H::distinct(pages, pages), 16, 16),
        1 => (H::same(pages), 16, half),
        _ => (H::same(pages), half, 16),
    }
}

fn layouts(pages: u32) -> Vec<(H, u32, u32)> {
    (0..3).map(|which| layout(pages, which)).collect()
}

/// Pages for `layouts` to hold `s` and the largest destination any export
/// is given for it: 2 x UTF-8 bytes (utf8-to-utf16), 3 x UTF-16 units
/// (utf16-to-utf8 after its first pass), 2 x UTF-16 units.
fn pages_for(s: &str) -> u32 {
    (2 * bytes_needed(s)).div_ceil(PAGE).max(1)
}

fn bytes_needed(s: &str) -> u32 {
    let (n8, n16) = (s.len() as u32, s.encode_utf16().count() as u32);
    (2 * n8).max(3 * n16) + 32
}

fn le_bytes(units: &[u16]) -> Vec<u8> {
    units.iter().flat_map(|u| u.to_le_bytes()).collect()
}

fn le_units(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect()
}

fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// Latin-1 bytes of `s`, if every char is at most U+00FF.
fn latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

fn decode_latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn corpus() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "a",
        "hello, world",
        "\0",
        "\0a\0",
        "\u{7f}",
        "\u{80}",
        "é",
        "ÿ",
        "café",
        "naïve façade ÿ¡¿",
        "Ā",
        "Ω",
        "\u{7ff}",
        "\u{800}",
        "中文字符",
        "\u{d7ff}",
        "\u{e000}",
        "\u{fffd}",
        "\u{feff}",
        "\u{ffff}",
        "\u{10000}",
        "😀",
        "\u{10ffff}",
        "a😀b",
        "😀é中a",
        "é中",
        "aaaé",
        "aaa中",
        "ÿ\u{100}",
        "𝄞 music 𝄞",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push((0u8..=255).map(char::from).collect());
    v.push((0x20u32..0x3000).filter_map(char::from_u32).collect());
    v.push("x".repeat(1000));
    v.push("é😀".repeat(300));
    v
}

// ---------------------------------------------------------------------------
// Reference: the libcalls restated over slices (None = the libcall fails)
// ---------------------------------------------------------------------------

mod reference {
    use super::UTF16_TAG;

    /// `utf16_to_utf8`: (units read, bytes written).
    pub fn utf16_to_utf8(
        src: &[u16],
        dst_len: usize,
        first_pass: bool,
    ) -> Option<(usize, Vec<u8>)> {
        let (mut read, mut out) = (0, Vec::new());
        for ch in char::decode_utf16(src.iter().copied()) {
            let ch = ch.ok()?;
            if first_pass && u32::from(ch) >= 0x80 {
                break;
            }
            if dst_len - out.len() < ch.len_utf8() {
                break;
            }
            read += ch.len_utf16();
            out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
        }
        Some((read, out))
    }

    /// `latin1_to_utf8` (encoding_rs `convert_latin1_to_utf8_partial`):
    /// (bytes read, bytes written).
    pub fn latin1_to_utf8(src: &[u8], dst_len: usize, first_pass: bool) -> (usize, Vec<u8>) {
        let (mut read, mut out) = (0, Vec::new());
        for &b in src {
            let ch = char::from(b);
            if (first_pass && b >= 0x80) || dst_len - out.len() < ch.len_utf8() {
                break;
            }
            read += 1;
            out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
        }
        (read, out)
    }

    /// `utf8_to_latin1` (encoding_rs `utf8_latin1_up_to`): the longest
    /// valid UTF-8 prefix of scalars up to U+00FF.
    pub fn utf8_to_latin1(src: &[u8]) -> (usize, Vec<u8>) {
        let valid = match std::str::from_utf8(src) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&src[..e.valid_up_to()]).unwrap(),
        };
        let (mut read, mut out) = (0, Vec::new());
        for ch in valid.chars() {
            let Ok(b) = u8::try_from(u32::from(ch)) else {
                break;
            };
            read += ch.len_utf8();
            out.push(b);
        }
        (read, out)
    }

    /// `utf16_to_latin1`: the units below 0x100 up to the first other one.
    pub fn utf16_to_latin1(src: &[u16]) -> Vec<u8> {
        src.iter().map_while(|&u| u8::try_from(u).ok()).collect()
    }

    fn inflate(dst: &mut [u8], n: usize) -> Option<()> {
        if n > dst.len() / 2 {
            return None; // split_at_mut panics
        }
        let latin1 = dst[..n].to_vec();
        for (i, b) in latin1.into_iter().enumerate() {
            dst[2 * i] = b;
            dst[2 * i + 1] = 0;
        }
        Some(())
    }

    /// `utf8_to_compact_utf16` on the destination's bytes (2 * dst_len).
    pub fn utf8_to_compact_utf16(src: &[u8], dst: &mut [u8], so_far: usize) -> Option<u32> {
        inflate(dst, so_far)?;
        let s = std::str::from_utf8(src).ok()?;
        let mut n = 0;
        for (unit, slot) in s.encode_utf16().zip(dst[2 * so_far..].chunks_exact_mut(2)) {
            slot.copy_from_slice(&unit.to_le_bytes());
            n += 1;
        }
        Some((n + so_far) as u32)
    }

    /// `utf16_to_compact_utf16` on the destination's bytes (2 * dst_len).
    pub fn utf16_to_compact_utf16(src: &[u16], dst: &mut [u8], so_far: usize) -> Option<u32> {
        inflate(dst, so_far)?;
        String::from_utf16(src).ok()?;
        if src.len() > dst.len() / 2 - so_far {
            return None; // encode_utf16 panics
        }
        dst[2 * so_far..][..2 * src.len()].copy_from_slice(&super::le_bytes(src));
        Some((src.len() + so_far) as u32)
    }

    /// `utf16_to_compact_probably_utf16`: the result, and the bytes it
    /// reports at the start of the destination (`len` Latin-1 bytes, or the
    /// `2 * len` bytes of the UTF-16 copy). Behind Latin-1 bytes the libcall
    /// leaves the second half of its UTF-16 copy (it deflates in place); the
    /// wasm leaves those bytes as they were. No caller reads them.
    pub fn utf16_to_compact_probably_utf16(src: &[u16]) -> Option<(u32, Vec<u8>)> {
        let s = String::from_utf16(src).ok()?;
        let utf16 = super::le_bytes(src);
        if s.chars().all(|c| u32::from(c) <= 0xff) {
            let latin1 = (0..src.len()).map(|i| utf16[2 * i]).collect();
            Some((src.len() as u32, latin1))
        } else {
            Some((src.len() as u32 | UTF16_TAG, utf16))
        }
    }
}

// ---------------------------------------------------------------------------
// The call sequences of FACT's adapters (wasmtime-environ fact/trampoline.rs)
// ---------------------------------------------------------------------------

/// `string_deflate_to_utf8` from UTF-16: a first pass into `len` bytes, then
/// the rest into the buffer grown (in place) to `3 * len`.
fn adapter_utf16_to_utf8(h: &mut H, src: u32, units: &[u16], dst: u32) -> Vec<u8> {
    let len = units.len() as u32;
    h.write_src(src, &le_bytes(units));
    let (read, mut written) = h.utf16_to_utf8(src, len, dst, len, true).unwrap();
    assert!(
        read <= len && written == read,
        "first pass writes only ASCII"
    );
    if read != len {
        let (read2, written2) = h
            .utf16_to_utf8(
                src + 2 * read,
                len - read,
                dst + written,
                3 * len - written,
                false,
            )
            .unwrap();
        assert_eq!(read2, len - read, "second pass finishes the string");
        written += written2;
    } else {
        assert_eq!(written, len);
    }
    h.read_dst(dst, written as usize)
}

/// `string_deflate_to_utf8` from Latin-1, with the buffer grown to `2 * len`.
fn adapter_latin1_to_utf8(h: &mut H, src: u32, bytes: &[u8], dst: u32) -> Vec<u8> {
    let len = bytes.len() as u32;
    h.write_src(src, bytes);
    let (read, mut written) = h.latin1_to_utf8(src, len, dst, len, true).unwrap();
    assert_eq!(read, written);
    if read != len {
        let (read2, written2) = h
            .latin1_to_utf8(
                src + read,
                len - read,
                dst + written,
                2 * len - written,
                false,
            )
            .unwrap();
        assert_eq!(read2, len - read, "second pass finishes the string");
        written += written2;
    }
    h.read_dst(dst, written as usize)
}

/// `string_to_compact` from UTF-8: Latin-1 first, then inflate to UTF-16.
/// Returns the tagged length and the bytes of the result.
fn adapter_utf8_to_compact(h: &mut H, src: u32, bytes: &[u8], dst: u32) -> (u32, Vec<u8>) {
    let len = bytes.len() as u32;
    h.write_src(src, bytes);
    let (read, written) = h.utf8_to_latin1(src, len, dst).unwrap();
    if read == len {
        return (written, h.read_dst(dst, written as usize));
    }
    let n = h
        .utf8_to_compact_utf16(src + read, len - read, dst, len, written)
        .unwrap();
    (n | UTF16_TAG, h.read_dst(dst, 2 * n as usize))
}

/// `string_to_compact` from UTF-16.
fn adapter_utf16_to_compact(h: &mut H, src: u32, units: &[u16], dst: u32) -> (u32, Vec<u8>) {
    let len = units.len() as u32;
    h.write_src(src, &le_bytes(units));
    let (read, written) = h.utf16_to_latin1(src, len, dst).unwrap();
    assert_eq!(read, written);
    if read == len {
        return (written, h.read_dst(dst, written as usize));
    }
    let n = h
        .utf16_to_compact_utf16(src + 2 * read, len - read, dst, len, written)
        .unwrap();
    assert_eq!(n, len);
    (n | UTF16_TAG, h.read_dst(dst, 2 * n as usize))
}

/// What a compact (latin1+utf16) destination must hold for `s`.
fn expected_compact(s: &str) -> (u32, Vec<u8>) {
    match latin1(s) {
        Some(bytes) => (bytes.len() as u32, bytes),
        None => {
            let units = utf16(s);
            (units.len() as u32 | UTF16_TAG, le_bytes(&units))
        }
    }
}

/// Every export on one valid string, in one layout.
fn check_string(h: &mut H, src: u32, dst: u32, s: &str) {
    let bytes = s.as_bytes();
    let units = utf16(s);
    let (n8, n16) = (bytes.len() as u32, units.len() as u32);

    h.write_src(src, bytes);
    h.copy_utf8(src, n8, dst).unwrap();
    assert_eq!(h.read_dst(dst, bytes.len()), bytes, "copy-utf8 {s:?}");

    h.write_src(src, &le_bytes(&units));
    h.copy_utf16(src, n16, dst).unwrap();
    assert_eq!(
        h.read_dst(dst, 2 * units.len()),
        le_bytes(&units),
        "copy-utf16 {s:?}"
    );

    h.write_src(src, bytes);
    assert_eq!(
        h.utf8_to_utf16(src, n8, dst).unwrap(),
        n16,
        "utf8-to-utf16 {s:?}"
    );
    assert_eq!(
        h.read_dst(dst, 2 * units.len()),
        le_bytes(&units),
        "utf8-to-utf16 {s:?}"
    );

    // One call with enough room: everything, no first-pass stop.
    h.write_src(src, &le_bytes(&units));
    assert_eq!(
        h.utf16_to_utf8(src, n16, dst, 3 * n16, false).unwrap(),
        (n16, n8),
        "utf16-to-utf8 {s:?}"
    );
    assert_eq!(h.read_dst(dst, bytes.len()), bytes);
    assert_eq!(
        adapter_utf16_to_utf8(h, src, &units, dst),
        bytes,
        "utf16-to-utf8 {s:?}"
    );

    h.write_src(src, bytes);
    let (read, written) = h.utf8_to_latin1(src, n8, dst).unwrap();
    let (ref_read, ref_out) = reference::utf8_to_latin1(bytes);
    assert_eq!(
        (read as usize, written as usize),
        (ref_read, ref_out.len()),
        "utf8-to-latin1 {s:?}"
    );
    assert_eq!(h.read_dst(dst, ref_out.len()), ref_out);
    if let Some(l1) = latin1(s) {
        assert_eq!((read, ref_out), (n8, l1));
    }

    h.write_src(src, &le_bytes(&units));
    let (read, written) = h.utf16_to_latin1(src, n16, dst).unwrap();
    let ref_out = reference::utf16_to_latin1(&units);
    assert_eq!(
        (read as usize, written as usize),
        (ref_out.len(), ref_out.len()),
        "utf16-to-latin1 {s:?}"
    );
    assert_eq!(h.read_dst(dst, ref_out.len()), ref_out);

    let expected = expected_compact(s);
    assert_eq!(
        adapter_utf8_to_compact(h, src, bytes, dst),
        expected,
        "utf8 to compact {s:?}"
    );
    assert_eq!(
        adapter_utf16_to_compact(h, src, &units, dst),
        expected,
        "utf16 to compact {s:?}"
    );

    h.write_src(src, &le_bytes(&units));
    let got = check_compact_probably_utf16(h, src, dst, &units).unwrap();
    assert_eq!(got, expected.0, "utf16-to-compact-probably-utf16 {s:?}");
    assert_eq!(h.read_dst(dst, expected.1.len()), expected.1);

    if let Some(l1) = latin1(s) {
        let len = l1.len() as u32;
        h.write_src(src, &l1);
        h.copy_latin1(src, len, dst).unwrap();
        assert_eq!(h.read_dst(dst, l1.len()), l1, "copy-latin1 {s:?}");
        h.latin1_to_utf16(src, len, dst).unwrap();
        assert_eq!(
            h.read_dst(dst, 2 * l1.len()),
            le_bytes(&units),
            "latin1-to-utf16 {s:?}"
        );
        assert_eq!(
            h.latin1_to_utf8(src, len, dst, 2 * len, false).unwrap(),
            (len, n8),
            "latin1-to-utf8 {s:?}"
        );
        assert_eq!(h.read_dst(dst, bytes.len()), bytes);
        assert_eq!(
            adapter_latin1_to_utf8(h, src, &l1, dst),
            bytes,
            "latin1-to-utf8 {s:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Interface
// ---------------------------------------------------------------------------

#[test]
fn validates_as_wasm2_with_multi_memory_only() {
    use wasmparser::{Validator, WasmFeatures};
    let wasm = wat::parse_str(WAT).unwrap();
    let features = WasmFeatures::WASM2 | WasmFeatures::MULTI_MEMORY;
    Validator::new_with_features(features)
        .validate_all(&wasm)
        .expect("valid wasm 2.0 + multi-memory");
}

#[test]
fn interface_matches_fact_signatures() {
    let (_, module) = module();
    let imports: Vec<_> = module
        .imports()
        .map(|i| {
            (
                i.module().to_string(),
                i.name().to_string(),
                matches!(i.ty(), ExternType::Memory(_)),
            )
        })
        .collect();
    assert_eq!(
        imports,
        [
            ("meld".to_string(), "src".to_string(), true),
            ("meld".to_string(), "dst".to_string(), true)
        ]
    );
    for ty in module.imports().filter_map(|i| i.ty().memory().cloned()) {
        assert!(!ty.is_64() && !ty.is_shared());
    }

    // (params, results), all i32: wasmtime-environ fact/transcode.rs,
    // `Transcoder::ty`, with 32-bit memories.
    let expected = [
        ("copy-utf8", 3, 0),
        ("copy-utf16", 3, 0),
        ("copy-latin1", 3, 0),
        ("latin1-to-utf16", 3, 0),
        ("latin1-to-utf8", 5, 2),
        ("utf8-to-utf16", 3, 1),
        ("utf16-to-utf8", 5, 2),
        ("utf8-to-latin1", 3, 2),
        ("utf16-to-latin1", 3, 2),
        ("utf8-to-compact-utf16", 5, 1),
        ("utf16-to-compact-utf16", 5, 1),
        ("utf16-to-compact-probably-utf16", 3, 1),
    ];
    let exports: Vec<_> = module.exports().map(|e| e.name().to_string()).collect();
    let mut names: Vec<_> = expected.iter().map(|e| e.0.to_string()).collect();
    let mut sorted = exports.clone();
    sorted.sort();
    names.sort();
    assert_eq!(sorted, names, "exactly the twelve transcoders are exported");
    for (name, params, results) in expected {
        let ty = module.get_export(name).unwrap().func().unwrap().clone();
        let p: Vec<_> = ty.params().collect();
        let r: Vec<_> = ty.results().collect();
        assert_eq!((p.len(), r.len()), (params, results), "{name}");
        assert!(
            p.iter().chain(&r).all(|t| matches!(t, ValType::I32)),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------
// Valid strings
// ---------------------------------------------------------------------------

#[test]
fn corpus_in_every_layout() {
    for s in corpus() {
        for (mut h, src, dst) in layouts(pages_for(&s)) {
            h.scribble();
            check_string(&mut h, src, dst, &s);
        }
    }
}

#[test]
fn long_strings_crossing_64kib_pages() {
    let mixed = "aé中😀 ".repeat(12_000); // 132,000 UTF-8 bytes, 72,000 units
    let latin = (0..70_000u32)
        .map(|i| char::from((i % 256) as u8))
        .collect::<String>();
    let ascii = "0123456789abcdef".repeat(12_500); // 200,000 bytes
    for s in [&mixed, &latin, &ascii] {
        // Distinct memories: source and destination start just below a
        // page boundary.
        let need = bytes_needed(s);
        let pages = (2 * PAGE + need).div_ceil(PAGE);
        let mut h = H::distinct(pages, pages);
        check_string(&mut h, PAGE - 6, 2 * PAGE - 2, s);
        // One memory, destination after the source.
        let dst = (PAGE + need).div_ceil(PAGE) * PAGE + 2;
        let mut h = H::same((dst + need).div_ceil(PAGE));
        check_string(&mut h, PAGE - 6, dst, s);
    }
}

#[test]
fn latin1_every_byte() {
    let all: Vec<u8> = (0..=255).collect();
    for (mut h, src, dst) in layouts(1) {
        h.write_src(src, &all);
        h.copy_latin1(src, 256, dst).unwrap();
        assert_eq!(h.read_dst(dst, 256), all);
        h.latin1_to_utf16(src, 256, dst).unwrap();
        assert_eq!(
            le_units(&h.read_dst(dst, 512)),
            (0..=255).collect::<Vec<u16>>()
        );
        let utf8 = decode_latin1(&all).into_bytes();
        assert_eq!(
            h.latin1_to_utf8(src, 256, dst, 512, false).unwrap(),
            (256, 384)
        );
        assert_eq!(h.read_dst(dst, 384), utf8);
    }
}

// ---------------------------------------------------------------------------
// Partial transcodes
// ---------------------------------------------------------------------------

#[test]
fn utf16_to_utf8_every_destination_size() {
    for s in [
        "",
        "abc",
        "aé中😀z",
        "😀😀",
        "ÿÿ",
        "\u{7ff}\u{800}\u{ffff}\u{10000}",
        "é中a😀",
    ] {
        let units = utf16(s);
        for (mut h, src, dst) in layouts(1) {
            h.write_src(src, &le_bytes(&units));
            for first_pass in [false, true] {
                for dst_len in 0..=3 * units.len() + 2 {
                    let (r, w) = h
                        .utf16_to_utf8(src, units.len() as u32, dst, dst_len as u32, first_pass)
                        .unwrap();
                    let (rr, out) = reference::utf16_to_utf8(&units, dst_len, first_pass).unwrap();
                    assert_eq!(
                        (r as usize, w as usize),
                        (rr, out.len()),
                        "{s:?} {dst_len} {first_pass}"
                    );
                    assert_eq!(h.read_dst(dst, out.len()), out);
                }
            }
        }
    }
}

#[test]
fn latin1_to_utf8_every_destination_size() {
    for bytes in [
        &b""[..],
        b"abc",
        b"a\xe9b\xffc",
        b"\x80\x81",
        b"abcdefgh\xe9",
        b"\xe9abcdefghijklmnopqrstuvwxyz\xff",
    ] {
        for (mut h, src, dst) in layouts(1) {
            h.write_src(src, bytes);
            for first_pass in [false, true] {
                for dst_len in 0..=2 * bytes.len() + 2 {
                    let (r, w) = h
                        .latin1_to_utf8(src, bytes.len() as u32, dst, dst_len as u32, first_pass)
                        .unwrap();
                    let (rr, out) = reference::latin1_to_utf8(bytes, dst_len, first_pass);
                    assert_eq!(
                        (r as usize, w as usize),
                        (rr, out.len()),
                        "{bytes:?} {dst_len} {first_pass}"
                    );
                    assert_eq!(h.read_dst(dst, out.len()), out);
                }
            }
        }
    }
}

#[test]
fn first_pass_stops_at_first_non_ascii() {
    let mut h = H::distinct(1, 1);
    h.write_src(0, b"ab\xe9cd");
    assert_eq!(h.latin1_to_utf8(0, 5, 0, 5, true).unwrap(), (2, 2));
    assert_eq!(h.latin1_to_utf8(0, 5, 0, 10, false).unwrap(), (5, 6));
    h.write_src(0, &le_bytes(&utf16("ab\u{80}cd")));
    assert_eq!(h.utf16_to_utf8(0, 5, 0, 5, true).unwrap(), (2, 2));
    assert_eq!(h.utf16_to_utf8(0, 5, 0, 15, false).unwrap(), (5, 6));
}

#[test]
fn utf8_to_latin1_stops_without_trapping() {
    let cases: &[(&[u8], u32, &[u8])] = &[
        (b"abc", 3, b"abc"),
        ("aé".as_bytes(), 3, b"a\xe9"),
        ("ÿ\u{100}".as_bytes(), 2, b"\xff"), // U+0100 (C4 80) is not Latin-1
        ("a中".as_bytes(), 1, b"a"),
        (b"a\xc3", 1, b"a"),     // truncated: stop, no trap
        (b"a\xc3(", 1, b"a"),    // bad continuation
        (b"a\x80b", 1, b"a"),    // stray continuation
        (b"a\xc0\x80", 1, b"a"), // overlong NUL
        (b"\xc2\x80\xc3\xbf\xff", 4, b"\x80\xff"),
    ];
    for (mut h, src, dst) in layouts(1) {
        for &(input, read, out) in cases {
            h.write_src(src, input);
            assert_eq!(
                h.utf8_to_latin1(src, input.len() as u32, dst).unwrap(),
                (read, out.len() as u32),
                "{input:?}"
            );
            assert_eq!(h.read_dst(dst, out.len()), out);
        }
    }
}

#[test]
fn utf16_to_latin1_stops_at_first_wide_unit() {
    let mut h = H::distinct(1, 1);
    for (units, n) in [
        (vec![0x61, 0xff, 0x100, 0x62], 2),
        (vec![0xd800], 0), // a lone surrogate just stops it
        (vec![0x61, 0xdc00, 0x62], 1),
        (vec![0x61; 10], 10),
    ] {
        h.write_src(2, &le_bytes(&units));
        assert_eq!(
            h.utf16_to_latin1(2, units.len() as u32, 4).unwrap(),
            (n, n),
            "{units:x?}"
        );
        let want: Vec<u8> = units[..n as usize].iter().map(|&u| u as u8).collect();
        assert_eq!(h.read_dst(4, n as usize), want);
    }
}

#[test]
fn compact_utf16_inflates_the_latin1_prefix() {
    // What utf8-to-latin1 leaves for "abé中😀", then the UTF-16 step.
    let s = "abé中😀";
    let mut h = H::distinct(1, 1);
    h.write_src(0, s.as_bytes());
    assert_eq!(h.utf8_to_latin1(0, s.len() as u32, 100).unwrap(), (4, 3));
    assert_eq!(h.read_dst(100, 3), b"ab\xe9");
    let n = h
        .utf8_to_compact_utf16(4, s.len() as u32 - 4, 100, s.len() as u32, 3)
        .unwrap();
    assert_eq!(n, 6);
    assert_eq!(le_units(&h.read_dst(100, 12)), utf16(s));

    // Same from UTF-16.
    let units = utf16(s);
    let mut h = H::distinct(1, 1);
    h.write_src(0, &le_bytes(&units));
    assert_eq!(
        h.utf16_to_latin1(0, units.len() as u32, 100).unwrap(),
        (3, 3)
    );
    let n = h
        .utf16_to_compact_utf16(6, units.len() as u32 - 3, 100, units.len() as u32, 3)
        .unwrap();
    assert_eq!(n, units.len() as u32, "src_len + latin1_bytes_so_far");
    assert_eq!(le_units(&h.read_dst(100, 2 * units.len())), units);
}

#[test]
fn utf8_to_compact_utf16_truncates_like_zip() {
    // The destination may be too small: output is cut, possibly in the
    // middle of a surrogate pair, and the count says what was written.
    let s = "x😀y中";
    for so_far in [0usize, 2] {
        for dst_len in so_far..=so_far + 6 {
            let mut h = H::distinct(1, 1);
            h.scribble();
            h.write_src(8, s.as_bytes());
            h.write_dst(64, b"\xe9\x41");
            let mut want = h.read_dst(64, 2 * dst_len);
            let want_n = reference::utf8_to_compact_utf16(s.as_bytes(), &mut want, so_far).unwrap();
            let n = h
                .utf8_to_compact_utf16(8, s.len() as u32, 64, dst_len as u32, so_far as u32)
                .unwrap();
            assert_eq!(n, want_n, "so_far {so_far} dst_len {dst_len}");
            assert_eq!(h.read_dst(64, 2 * dst_len), want);
        }
    }
    // One unit of room for 😀: only the leading surrogate.
    let mut h = H::distinct(1, 1);
    h.write_src(0, "😀".as_bytes());
    assert_eq!(h.utf8_to_compact_utf16(0, 4, 0, 1, 0).unwrap(), 1);
    assert_eq!(le_units(&h.read_dst(0, 2)), [0xd83d]);
}

#[test]
fn compact_probably_utf16_tags_and_deflates() {
    let mut h = H::distinct(1, 1);
    h.write_src(0, &le_bytes(&utf16("abÿ")));
    h.write_dst(10, &[0xee; 6]);
    assert_eq!(h.utf16_to_compact_probably_utf16(0, 3, 10).unwrap(), 3);
    // Latin-1 bytes; bytes 3..6 are left as they were (wasmtime, which
    // deflates a UTF-16 copy in place, leaves [0xff, 0x00, 0xff] there).
    assert_eq!(h.read_dst(10, 6), [0x61, 0x62, 0xff, 0xee, 0xee, 0xee]);
    h.write_src(0, &le_bytes(&utf16("a\u{100}")));
    assert_eq!(
        h.utf16_to_compact_probably_utf16(0, 2, 10).unwrap(),
        2 | UTF16_TAG
    );
    assert_eq!(h.read_dst(10, 4), [0x61, 0, 0, 1]);
    assert_eq!(
        h.utf16_to_compact_probably_utf16(0, 0, 10).unwrap(),
        0,
        "empty is Latin-1"
    );
}

// ---------------------------------------------------------------------------
// Invalid content
// ---------------------------------------------------------------------------

const INVALID_UTF8: &[&[u8]] = &[
    b"\x80",
    b"a\xbf",
    b"\xc0\x80",     // overlong NUL
    b"\xc1\xbf",     // overlong
    b"\xc2",         // truncated at the end
    b"\xc2a",        // bad continuation
    b"\xe0\x80\x80", // overlong
    b"\xe0\x9f\xbf", // overlong (U+07FF)
    b"\xed\xa0\x80", // U+D800
    b"\xed\xbf\xbf", // U+DFFF
    b"\xe4\xb8",     // truncated
    b"\xe4\xb8a",
    b"\xf0\x80\x80\x80", // overlong
    b"\xf0\x8f\xbf\xbf", // overlong (U+FFFF)
    b"\xf4\x90\x80\x80", // U+110000
    b"\xf5\x80\x80\x80",
    b"\xf0\x9f\x98", // truncated emoji
    b"\xff",
    b"\xfe",
    b"valid prefix \xe4\xb8\xad then \xff",
];

/// The validator behind `copy-utf8` (and every UTF-8 source) against
/// `core::str::from_utf8` on every one- and two-byte sequence, every lead
/// byte E0..FF with every second byte and continuation-like third bytes,
/// and every lead byte F0..FF with every second byte and valid, invalid
/// and missing third and fourth bytes; each behind an ASCII run, so the
/// sequence is reached after the word-at-a-time path.
#[test]
fn utf8_validation_agrees_with_from_utf8_on_every_short_sequence() {
    let mut h = H::distinct(1, 1);
    let mut check = |seq: &[u8]| {
        let mut bytes = b"0123456789".to_vec();
        bytes.extend_from_slice(seq);
        h.write_src(0, &bytes);
        let ours = h.copy_utf8(0, bytes.len() as u32, 0);
        match std::str::from_utf8(&bytes) {
            Ok(_) => {
                ours.unwrap_or_else(|e| panic!("{seq:x?} is valid UTF-8, trapped: {e:?}"));
                assert_eq!(h.read_dst(0, bytes.len()), bytes, "{seq:x?}");
            }
            Err(_) => assert!(ours.is_err(), "{seq:x?} is invalid UTF-8, accepted"),
        }
    };
    let tails: &[&[u8]] = &[
        b"",
        b"\x80",
        b"\xbf",
        b"\x7f",
        b"\xc0",
        b"\x80\x80",
        b"\xbf\xbf",
        b"\x80a",
    ];
    for a in 0..=255u8 {
        check(&[a]);
        for b in 0..=255u8 {
            check(&[a, b]);
            if a >= 0xe0 {
                for t in tails {
                    let mut seq = vec![a, b];
                    seq.extend_from_slice(t);
                    check(&seq);
                }
            }
        }
    }
}

#[test]
fn invalid_utf8_traps() {
    for &bad in INVALID_UTF8 {
        assert!(std::str::from_utf8(bad).is_err());
        let len = bad.len() as u32;
        for (mut h, src, dst) in layouts(1) {
            h.write_src(src, bad);
            assert_trap(h.copy_utf8(src, len, dst));
            assert_trap(h.utf8_to_utf16(src, len, dst));
            assert_trap(h.utf8_to_compact_utf16(src, len, dst, len, 0));
            // The whole source is validated even when nothing fits.
            assert_trap(h.utf8_to_compact_utf16(src, len, dst, 0, 0));
        }
    }
    // Boundary scalars that are valid.
    for good in [
        "\u{80}",
        "\u{7ff}",
        "\u{800}",
        "\u{d7ff}",
        "\u{e000}",
        "\u{ffff}",
        "\u{10000}",
        "\u{10ffff}",
    ] {
        let mut h = H::distinct(1, 1);
        h.write_src(0, good.as_bytes());
        h.copy_utf8(0, good.len() as u32, 0).unwrap();
    }
}

#[test]
fn unpaired_surrogates_trap_where_wasmtime_rejects_them() {
    let bad: &[&[u16]] = &[
        &[0xd800],
        &[0xdc00],
        &[0xdfff, 0xd800],
        &[0x61, 0xd800],
        &[0xd800, 0x61],
        &[0xd800, 0xd800, 0xdc00],
        &[0xd83d, 0xde00, 0xde00],
    ];
    for &units in bad {
        assert!(String::from_utf16(units).is_err());
        let len = units.len() as u32;
        for (mut h, src, dst) in layouts(1) {
            h.write_src(src, &le_bytes(units));
            assert_trap(h.copy_utf16(src, len, dst));
            assert_trap(h.utf16_to_utf8(src, len, dst, 3 * len, false));
            assert_trap(h.utf16_to_compact_utf16(src, len, dst, len, 0));
            assert_trap(h.utf16_to_compact_probably_utf16(src, len, dst));
        }
    }
    // utf16-to-utf8 only fails when its scan reaches the surrogate.
    let mut h = H::distinct(1, 1);
    h.write_src(0, &le_bytes(&[0xe9, 0xd800]));
    assert_eq!(
        h.utf16_to_utf8(0, 2, 0, 2, true).unwrap(),
        (0, 0),
        "first pass stops at U+00E9"
    );
    assert_trap(h.utf16_to_utf8(0, 2, 0, 2, false));
    h.write_src(0, &le_bytes(&[0x61, 0xd800]));
    assert_eq!(
        h.utf16_to_utf8(0, 2, 0, 0, false).unwrap(),
        (0, 0),
        "no room for 'a'"
    );
    assert_trap(h.utf16_to_utf8(0, 2, 0, 1, false));
    h.write_src(0, &le_bytes(&[0xd800, 0x61]));
    assert_trap(h.utf16_to_utf8(0, 2, 0, 0, false)); // decoding comes before the room check
}

// ---------------------------------------------------------------------------
// Bounds, alignment, overlap
// ---------------------------------------------------------------------------

/// The shape of each export, for table-driven checks.
struct Op {
    name: &'static str,
    src_w: u32, // bytes per source unit
    dst_w: u32, // bytes per destination unit
    five: bool, // (src, src_len, dst, dst_len, x) rather than (src, len, dst)
    extra: u32, // the fifth argument
}

const OPS: &[Op] = &[
    Op {
        name: "copy-utf8",
        src_w: 1,
        dst_w: 1,
        five: false,
        extra: 0,
    },
    Op {
        name: "copy-utf16",
        src_w: 2,
        dst_w: 2,
        five: false,
        extra: 0,
    },
    Op {
        name: "copy-latin1",
        src_w: 1,
        dst_w: 1,
        five: false,
        extra: 0,
    },
    Op {
        name: "latin1-to-utf16",
        src_w: 1,
        dst_w: 2,
        five: false,
        extra: 0,
    },
    Op {
        name: "latin1-to-utf8",
        src_w: 1,
        dst_w: 1,
        five: true,
        extra: 0,
    },
    Op {
        name: "utf8-to-utf16",
        src_w: 1,
        dst_w: 2,
        five: false,
        extra: 0,
    },
    Op {
        name: "utf16-to-utf8",
        src_w: 2,
        dst_w: 1,
        five: true,
        extra: 0,
    },
    Op {
        name: "utf8-to-latin1",
        src_w: 1,
        dst_w: 1,
        five: false,
        extra: 0,
    },
    Op {
        name: "utf16-to-latin1",
        src_w: 2,
        dst_w: 1,
        five: false,
        extra: 0,
    },
    Op {
        name: "utf8-to-compact-utf16",
        src_w: 1,
        dst_w: 2,
        five: true,
        extra: 0,
    },
    Op {
        name: "utf16-to-compact-utf16",
        src_w: 2,
        dst_w: 2,
        five: true,
        extra: 0,
    },
    Op {
        name: "utf16-to-compact-probably-utf16",
        src_w: 2,
        dst_w: 2,
        five: false,
        extra: 0,
    },
];

impl Op {
    /// Call with `n` source units; `m` destination units for the
    /// five-argument ops (for the others the destination has `n` units).
    /// Memory holds zeros (NUL: valid in every encoding) where it is read.
    fn run(&self, h: &mut H, src: u32, n: u32, dst: u32, m: u32) -> R<Vec<u32>> {
        if self.five {
            h.call(
                self.name,
                &[src, n, dst, m, self.extra],
                dst,
                self.dst_w as u64 * m as u64,
            )
        } else {
            h.call(self.name, &[src, n, dst], dst, self.dst_w as u64 * n as u64)
        }
    }
}

#[test]
fn out_of_bounds_ranges_trap() {
    for op in OPS {
        let name = op.name;
        let mut h = H::distinct(1, 1);
        let n = 4;
        let (sb, db) = (op.src_w * n, op.dst_w * n);
        // Ranges ending exactly at the end of memory are fine.
        op.run(&mut h, PAGE - sb, n, 0, n)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        op.run(&mut h, 0, n, PAGE - db, n)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        // One unit further is not.
        assert_trap(op.run(&mut h, PAGE - sb + op.src_w, n, 0, n));
        assert_trap(op.run(&mut h, 0, n, PAGE - db + op.dst_w, n));
        assert_trap(op.run(&mut h, 0, PAGE / op.src_w + 1, 0, PAGE / op.src_w + 1));
        // Lengths whose byte size does not fit in 32 bits do not wrap.
        assert_trap(op.run(&mut h, 0, u32::MAX, 0, u32::MAX));
        assert_trap(op.run(&mut h, 0, 0x8000_0000, 0, 0x8000_0000));
        assert_trap(op.run(&mut h, 2, u32::MAX - 1, 2, u32::MAX - 1));
        // Nor do pointer + length, on either side alone.
        assert_trap(op.run(&mut h, u32::MAX - 15, 16, 0, 16));
        assert_trap(op.run(&mut h, 0, 16, u32::MAX - 15, 16));
        if op.five {
            assert_trap(op.run(&mut h, 0, u32::MAX, 0, n));
            assert_trap(op.run(&mut h, 0, 0x8000_0000, 0, n));
            assert_trap(op.run(&mut h, 0, 0, 0, u32::MAX));
            assert_trap(op.run(&mut h, 0, 0, 0, 0x8000_0000));
            assert_trap(op.run(&mut h, 0, n, 0, PAGE / op.dst_w + 1));
        }
        // Empty ranges: in bounds up to the end of memory, not past it.
        op.run(&mut h, PAGE, 0, PAGE, 0)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_trap(op.run(&mut h, PAGE + 2, 0, 0, 0));
        assert_trap(op.run(&mut h, 0, 0, PAGE + 2, 0));
        assert_trap(op.run(&mut h, u32::MAX - 1, 0, 0, 0));
        // Memories of different sizes: the larger one is usable.
        let mut h = H::distinct(1, 2);
        op.run(&mut h, 0, n, 2 * PAGE - db, n)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_trap(op.run(&mut h, 2 * PAGE - sb, n, 0, n));
    }
}

#[test]
fn empty_memories() {
    for op in OPS {
        for mut h in [
            H::distinct(0, 0),
            H::same(0),
            H::distinct(0, 1),
            H::distinct(1, 0),
        ] {
            op.run(&mut h, 0, 0, 0, 0)
                .unwrap_or_else(|e| panic!("{}: {e:?}", op.name));
        }
        assert_trap(op.run(&mut H::distinct(0, 1), 0, 1, 0, 1));
        assert_trap(op.run(&mut H::distinct(1, 0), 0, 1, 0, 1));
        assert_trap(op.run(&mut H::same(0), 0, 1, 0, 1));
    }
}

#[test]
fn misaligned_utf16_pointers_trap() {
    for op in OPS {
        let mut h = H::distinct(1, 1);
        for n in [0, 3] {
            let src_result = op.run(&mut h, 1, n, 0, n);
            let dst_result = op.run(&mut h, 0, n, 1, n);
            if op.src_w == 2 {
                assert_trap(src_result);
            } else {
                src_result.unwrap_or_else(|e| panic!("{}: {e:?}", op.name));
            }
            // Every 16-bit destination is a `ptr_u16` in the libcalls.
            if op.dst_w == 2 {
                assert_trap(dst_result);
            } else {
                dst_result.unwrap_or_else(|e| panic!("{}: {e:?}", op.name));
            }
        }
    }
}

#[test]
fn overlapping_ranges_trap_only_in_one_memory() {
    for op in OPS {
        let name = op.name;
        let n = 4;
        let (sb, db) = (op.src_w * n, op.dst_w * n);
        let base = 0x100;
        let ok = |r: R<Vec<u32>>| {
            r.unwrap_or_else(|e| panic!("{name}: {e:?}"));
        };

        let mut h = H::same(1);
        ok(op.run(&mut h, base, n, base + sb, n)); // destination right after
        ok(op.run(&mut h, base + db, n, base, n)); // destination right before
        assert_trap(op.run(&mut h, base, n, base, n)); // same start
        assert_trap(op.run(&mut h, base, n, base + sb - 2, n)); // 2 bytes shared
        assert_trap(op.run(&mut h, base + db - 2, n, base, n));
        assert_trap(op.run(&mut h, base + 2, n, base, n));
        // Empty ranges at the same address do not overlap.
        ok(op.run(&mut h, base, 0, base, 0));
        if op.five {
            // `assert_no_overlap(src, dst)` is asymmetric when the starts
            // are equal: an empty source at the start of a non-empty
            // destination fails, an empty destination at the start of a
            // non-empty source passes.
            assert_trap(op.run(&mut h, base, 0, base, n));
            if name != "utf16-to-compact-utf16" {
                // (that one traps anyway: 4 units cannot fit in 0)
                ok(op.run(&mut h, base, n, base, 0));
            }
            // Empty ranges strictly inside the other one fail, at its end pass.
            assert_trap(op.run(&mut h, base + 2, 0, base, n));
            assert_trap(op.run(&mut h, base, n, base + 2, 0));
            ok(op.run(&mut h, base + db, 0, base, n));
            if name != "utf16-to-compact-utf16" {
                ok(op.run(&mut h, base, n, base + sb, 0));
            }
        }

        // Two memories: the same offsets are not an overlap, and the probe
        // that tells the memories apart leaves no trace.
        let mut h = H::distinct(1, 1);
        h.write_dst(0, &[0x5a]);
        h.write_src(0, &[0xa5]);
        ok(op.run(&mut h, base, n, base, n));
        ok(op.run(&mut h, base, n, base + 2, n));
        ok(op.run(&mut h, base + 2, n, base, n));
        assert_eq!(h.read_dst(0, 1), [0x5a]);
        assert_eq!(h.src.data(&h.store)[0], 0xa5);
        // Same offsets in memories of different sizes.
        let mut h = H::distinct(1, 2);
        ok(op.run(&mut h, base, n, base, n));
    }
}

#[test]
fn empty_ranges_and_the_asymmetric_overlap_rule() {
    // assert_no_overlap(a = src, b = dst):
    //   if a.start < b.start { a.end <= b.start } else { b.end <= a.start }
    let mut h = H::same(1);
    assert_trap(h.utf16_to_utf8(0x100, 0, 0x100, 8, false)); // equal starts, b non-empty
    assert_eq!(h.utf16_to_utf8(0x100, 4, 0x100, 0, false).unwrap(), (0, 0)); // equal starts, b empty
    assert_trap(h.utf16_to_utf8(0x102, 0, 0x100, 8, false)); // empty src inside dst
    assert_eq!(h.utf16_to_utf8(0x108, 0, 0x100, 8, false).unwrap(), (0, 0)); // at its end
    assert_trap(h.latin1_to_utf8(0x100, 4, 0x102, 0, false)); // empty dst inside src
    assert_eq!(h.latin1_to_utf8(0x100, 4, 0x104, 0, false).unwrap(), (0, 0)); // at its end
    assert_eq!(h.latin1_to_utf8(0x104, 4, 0x100, 4, false).unwrap(), (4, 4)); // adjacent, dst first
}

#[test]
fn overlap_probe_touching_byte_zero() {
    // The destination range includes byte 0, and the source overlaps it
    // by offset in another memory: the result must be unaffected.
    let s = "zé中😀";
    let mut h = H::distinct(1, 1);
    h.write_src(0, s.as_bytes());
    h.write_dst(0, &[0xee; 16]);
    h.copy_utf8(0, s.len() as u32, 0).unwrap();
    assert_eq!(h.read_dst(0, s.len()), s.as_bytes());
    assert_eq!(h.utf8_to_utf16(0, s.len() as u32, 0).unwrap(), 5);
    assert_eq!(le_units(&h.read_dst(0, 10)), utf16(s));
    // And in one memory, with the source at 0.
    let mut h = H::same(1);
    h.write_src(0, s.as_bytes());
    h.copy_utf8(0, s.len() as u32, 64).unwrap();
    assert_eq!(h.read_dst(64, s.len()), s.as_bytes());
    assert_eq!(h.read_dst(0, s.len()), s.as_bytes());
}

#[test]
fn latin1_bytes_so_far_beyond_destination_traps() {
    for name in ["utf8-to-compact-utf16", "utf16-to-compact-utf16"] {
        let mut h = H::distinct(1, 1);
        assert_trap(h.call(name, &[0, 0, 0, 4, 5], 0, 8));
        assert_trap(h.call(name, &[0, 0, 0, 0, u32::MAX], 0, 0));
        h.write_dst(0, b"abcd");
        assert_eq!(h.call(name, &[0, 0, 0, 4, 4], 0, 8).unwrap(), [4]);
        assert_eq!(le_units(&h.read_dst(0, 8)), [0x61, 0x62, 0x63, 0x64]);
    }
}

#[test]
fn utf16_to_compact_utf16_without_room_traps() {
    let mut h = H::distinct(1, 1);
    h.write_src(0, &le_bytes(&utf16("a😀")));
    assert_trap(h.utf16_to_compact_utf16(0, 3, 0, 2, 0));
    assert_trap(h.utf16_to_compact_utf16(0, 3, 0, 3, 1));
    assert_eq!(h.utf16_to_compact_utf16(0, 3, 0, 3, 0).unwrap(), 3);
    assert_eq!(h.utf16_to_compact_utf16(0, 3, 0, 4, 1).unwrap(), 4);
    // Whereas utf8-to-compact-utf16 just stops.
    h.write_src(0, "a😀".as_bytes());
    assert_eq!(h.utf8_to_compact_utf16(0, 5, 0, 2, 0).unwrap(), 2);
}

// ---------------------------------------------------------------------------
// Generated inputs
// ---------------------------------------------------------------------------

/// xorshift64*: deterministic, no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn char(&mut self) -> char {
        let ranges: [(u32, u32); 5] = [
            (0, 0x80),
            (0x80, 0x100),
            (0x100, 0x800),
            (0x800, 0x1_0000),
            (0x1_0000, 0x11_0000),
        ];
        loop {
            let (lo, hi) = ranges[self.below(5) as usize];
            if let Some(c) = char::from_u32(lo + self.below((hi - lo) as u64) as u32) {
                return c;
            }
        }
    }
    /// A string mostly from one class (all ASCII, all Latin-1, ...), since
    /// the transcoders branch on exactly that.
    fn string(&mut self, max: u64) -> String {
        let len = self.below(max + 1);
        let flavour = self.below(4);
        (0..len)
            .map(|_| match flavour {
                0 => char::from(self.below(0x80) as u8),
                1 => char::from(self.below(0x100) as u8),
                2 if self.below(8) != 0 => char::from(self.below(0x100) as u8),
                _ => self.char(),
            })
            .collect()
    }
}

#[test]
fn generated_strings_match_rust_encoders() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..150 {
        let s = rng.string(40);
        for (mut h, src, dst) in layouts(1) {
            check_string(&mut h, src, dst, &s);
        }
    }
}

#[test]
fn generated_partial_transcodes_match_reference() {
    let mut rng = Rng(42);
    for i in 0..400 {
        let s = rng.string(24);
        let units = utf16(&s);
        let (mut h, src, dst) = layout(1, i % 3);
        h.scribble();
        let first_pass = rng.below(2) == 1;

        let dst_len = rng.below(3 * units.len() as u64 + 2) as usize;
        h.write_src(src, &le_bytes(&units));
        let (r, w) = h
            .utf16_to_utf8(src, units.len() as u32, dst, dst_len as u32, first_pass)
            .unwrap();
        let (rr, out) = reference::utf16_to_utf8(&units, dst_len, first_pass).unwrap();
        assert_eq!((r as usize, w as usize), (rr, out.len()), "{s:?}");
        assert_eq!(h.read_dst(dst, out.len()), out);

        let bytes: Vec<u8> = (0..rng.below(24)).map(|_| rng.next() as u8).collect();
        let dst_len = rng.below(2 * bytes.len() as u64 + 2) as usize;
        h.write_src(src, &bytes);
        let (r, w) = h
            .latin1_to_utf8(src, bytes.len() as u32, dst, dst_len as u32, first_pass)
            .unwrap();
        let (rr, out) = reference::latin1_to_utf8(&bytes, dst_len, first_pass);
        assert_eq!((r as usize, w as usize), (rr, out.len()), "{bytes:?}");
        assert_eq!(h.read_dst(dst, out.len()), out);

        // Compact UTF-16 with a random Latin-1 prefix and destination size.
        let so_far = rng.below(6) as usize;
        let dst_len = so_far + rng.below(units.len() as u64 + 3) as usize;
        h.write_src(src, s.as_bytes());
        let mut want = h.read_dst(dst, 2 * dst_len);
        let want_n = reference::utf8_to_compact_utf16(s.as_bytes(), &mut want, so_far);
        let got = h.utf8_to_compact_utf16(src, s.len() as u32, dst, dst_len as u32, so_far as u32);
        assert_eq!(got.unwrap(), want_n.unwrap(), "{s:?}");
        assert_eq!(h.read_dst(dst, 2 * dst_len), want);

        h.write_src(src, &le_bytes(&units));
        let mut want = h.read_dst(dst, 2 * dst_len);
        let want_n = reference::utf16_to_compact_utf16(&units, &mut want, so_far);
        let got =
            h.utf16_to_compact_utf16(src, units.len() as u32, dst, dst_len as u32, so_far as u32);
        match want_n {
            Some(n) => {
                assert_eq!(got.unwrap(), n, "{s:?}");
                assert_eq!(h.read_dst(dst, 2 * dst_len), want);
            }
            None => assert_trap(got),
        }
    }
}

#[test]
fn generated_byte_strings_trap_iff_invalid_utf8() {
    let mut rng = Rng(7);
    for i in 0..1500 {
        // A valid string with a few bytes replaced, dropped or cut off.
        let mut bytes = rng.string(12).into_bytes();
        for _ in 0..rng.below(3) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.below(bytes.len() as u64) as usize;
            match rng.below(3) {
                0 => bytes[at] = rng.next() as u8,
                1 => bytes[at] = 0x80 | (rng.next() as u8 & 0x7f),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        let len = bytes.len() as u32;
        let valid = std::str::from_utf8(&bytes);
        let (mut h, src, dst) = layout(1, i % 3);
        h.write_src(src, &bytes);
        match valid {
            Ok(s) => {
                h.copy_utf8(src, len, dst).unwrap();
                assert_eq!(h.read_dst(dst, bytes.len()), bytes);
                assert_eq!(
                    h.utf8_to_utf16(src, len, dst).unwrap(),
                    utf16(s).len() as u32
                );
                assert_eq!(le_units(&h.read_dst(dst, 2 * utf16(s).len())), utf16(s));
                h.utf8_to_compact_utf16(src, len, dst, len, 0).unwrap();
            }
            Err(_) => {
                assert_trap(h.copy_utf8(src, len, dst));
                assert_trap(h.utf8_to_utf16(src, len, dst));
                assert_trap(h.utf8_to_compact_utf16(src, len, dst, len, 0));
            }
        }
        let (read, written) = h.utf8_to_latin1(src, len, dst).unwrap();
        let (rr, out) = reference::utf8_to_latin1(&bytes);
        assert_eq!(
            (read as usize, written as usize),
            (rr, out.len()),
            "{bytes:x?}"
        );
        assert_eq!(h.read_dst(dst, out.len()), out);
    }
}

#[test]
fn generated_unit_strings_trap_iff_unpaired_surrogate() {
    let mut rng = Rng(99);
    for i in 0..1500 {
        let mut units = utf16(&rng.string(10));
        for _ in 0..rng.below(3) {
            let at = rng.below(units.len() as u64 + 1) as usize;
            let surrogate = 0xd800 + rng.below(0x800) as u16;
            units.insert(at, surrogate);
        }
        let len = units.len() as u32;
        let valid = String::from_utf16(&units);
        let (mut h, src, dst) = layout(1, i % 3);
        h.write_src(src, &le_bytes(&units));
        let first_pass = rng.below(2) == 1;
        let dst_len = rng.below(3 * len as u64 + 1) as u32;
        let got = h.utf16_to_utf8(src, len, dst, dst_len, first_pass);
        match reference::utf16_to_utf8(&units, dst_len as usize, first_pass) {
            Some((rr, out)) => {
                assert_eq!(got.unwrap(), (rr as u32, out.len() as u32), "{units:x?}");
                assert_eq!(h.read_dst(dst, out.len()), out);
            }
            None => assert_trap(got),
        }
        let (read, written) = h.utf16_to_latin1(src, len, dst).unwrap();
        let out = reference::utf16_to_latin1(&units);
        assert_eq!((read as usize, written as usize), (out.len(), out.len()));
        assert_eq!(h.read_dst(dst, out.len()), out);
        match valid {
            Ok(_) => {
                h.copy_utf16(src, len, dst).unwrap();
                assert_eq!(le_units(&h.read_dst(dst, 2 * units.len())), units);
                h.utf16_to_compact_probably_utf16(src, len, dst).unwrap();
                assert_eq!(
                    h.utf16_to_compact_utf16(src, len, dst, len, 0).unwrap(),
                    len
                );
            }
            Err(_) => {
                assert_trap(h.copy_utf16(src, len, dst));
                assert_trap(h.utf16_to_compact_probably_utf16(src, len, dst));
                assert_trap(h.utf16_to_compact_utf16(src, len, dst, len, 0));
            }
        }
    }
}

/// The ASCII fast paths (eight bytes per step, in validation and in
/// utf8-to-utf16) hand over to the exact decoder at every offset: an invalid
/// byte or a multi-byte scalar at each position of a long ASCII run is found
/// and transcoded exactly as without them.
#[test]
fn ascii_runs_with_one_odd_byte_at_every_offset() {
    for pos in 0..40usize {
        for (odd, valid) in [
            (&b"\xff"[..], false),
            (&b"\x80"[..], false),
            (&b"\xe2\x82"[..], false),
            ("é".as_bytes(), true),
            ("€".as_bytes(), true),
            ("🦀".as_bytes(), true),
        ] {
            let mut bytes = vec![b'a'; 40];
            bytes.splice(pos..pos + 1, odd.iter().copied());
            assert_eq!(std::str::from_utf8(&bytes).is_ok(), valid);
            let len = bytes.len() as u32;
            let (mut h, src, dst) = layout(1, pos % 3);
            h.write_src(src, &bytes);
            if valid {
                h.copy_utf8(src, len, dst).unwrap();
                assert_eq!(h.read_dst(dst, bytes.len()), bytes);
                let units = utf16(std::str::from_utf8(&bytes).unwrap());
                assert_eq!(h.utf8_to_utf16(src, len, dst).unwrap(), units.len() as u32);
                assert_eq!(le_units(&h.read_dst(dst, 2 * units.len())), units);
            } else {
                assert_trap(h.copy_utf8(src, len, dst));
                assert_trap(h.utf8_to_utf16(src, len, dst));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Word-at-a-time fast paths: one odd unit at every offset of a run
// ---------------------------------------------------------------------------
//
// The fast paths take 8 bytes (eight 8-bit or four 16-bit units) at a time
// and hand over to the exact per-scalar code around the units they cannot
// take. Runs of every length up to 40, with one odd unit (or sequence) at
// every offset, cross that hand-over at every alignment, near both ends of
// the range, and with every remainder. Each call is checked against the
// reference (result, bytes written, trap or not), and the destination bytes
// past what is reported written must be left as they were.

/// utf16-to-compact-probably-utf16 on the `units` already written at `src`,
/// against the reference. Returns the result, or None after checking that
/// it trapped.
fn check_compact_probably_utf16(h: &mut H, src: u32, dst: u32, units: &[u16]) -> Option<u32> {
    let n = units.len();
    let before = h.read_dst(dst, 2 * n);
    let got = h.utf16_to_compact_probably_utf16(src, n as u32, dst);
    let Some((want, out)) = reference::utf16_to_compact_probably_utf16(units) else {
        assert_trap(got);
        return None;
    };
    assert_eq!(got.unwrap(), want, "{units:x?}");
    assert_eq!(h.read_dst(dst, out.len()), out, "{units:x?}");
    assert_eq!(
        h.read_dst(dst + out.len() as u32, 2 * n - out.len()),
        before[out.len()..],
        "{units:x?}: bytes past the Latin-1 result are left as they were"
    );
    Some(want)
}

/// utf16-to-utf8 on the `units` already written at `src`, against the
/// reference.
fn check_utf16_to_utf8(h: &mut H, src: u32, dst: u32, units: &[u16], dst_len: u32, fp: bool) {
    let before = h.read_dst(dst, dst_len as usize);
    let got = h.utf16_to_utf8(src, units.len() as u32, dst, dst_len, fp);
    let Some((read, out)) = reference::utf16_to_utf8(units, dst_len as usize, fp) else {
        return assert_trap(got);
    };
    let ctx = format!("{units:x?} dst_len {dst_len} first_pass {fp}");
    assert_eq!(got.unwrap(), (read as u32, out.len() as u32), "{ctx}");
    assert_eq!(h.read_dst(dst, out.len()), out, "{ctx}");
    assert_eq!(
        h.read_dst(dst, dst_len as usize)[out.len()..],
        before[out.len()..],
        "{ctx}"
    );
}

/// latin1-to-utf8 on the `bytes` already written at `src`, against the
/// reference.
fn check_latin1_to_utf8(h: &mut H, src: u32, dst: u32, bytes: &[u8], dst_len: u32, fp: bool) {
    let before = h.read_dst(dst, dst_len as usize);
    let got = h.latin1_to_utf8(src, bytes.len() as u32, dst, dst_len, fp);
    let (read, out) = reference::latin1_to_utf8(bytes, dst_len as usize, fp);
    let ctx = format!("{bytes:x?} dst_len {dst_len} first_pass {fp}");
    assert_eq!(got.unwrap(), (read as u32, out.len() as u32), "{ctx}");
    assert_eq!(h.read_dst(dst, out.len()), out, "{ctx}");
    assert_eq!(
        h.read_dst(dst, dst_len as usize)[out.len()..],
        before[out.len()..],
        "{ctx}"
    );
}

/// Runs of `filler` of every length 0..=max, plain and with `units[pos]`
/// replaced by each of `odd` at every offset `pos`.
fn runs_with_one_odd<T: Copy>(filler: T, odd: &[&[T]], max: usize) -> Vec<Vec<T>> {
    let mut v = Vec::new();
    for len in 0..=max {
        v.push(vec![filler; len]);
        for pos in 0..len {
            for o in odd {
                let mut run = vec![filler; len];
                run.splice(pos..pos + 1, o.iter().copied());
                v.push(run);
            }
        }
    }
    v
}

/// Units that stop or slow down a UTF-16 fast path: the boundaries of
/// ASCII, Latin-1 and the surrogate range, valid pairs, and unpaired
/// surrogates of both kinds.
const ODD_UNITS: &[&[u16]] = &[
    &[0x7f],
    &[0x80],
    &[0xe9],
    &[0xff],
    &[0x100],
    &[0x4e2d],
    &[0xd7ff],
    &[0xe000],
    &[0xffff],
    &[0xd83d, 0xde00], // valid pair
    &[0xdbff, 0xdfff], // valid pair, U+10FFFF
    &[0xd800],         // unpaired leading
    &[0xdbff],
    &[0xdc00], // unpaired trailing
    &[0xdfff],
    &[0xdc00, 0xd800], // pair in the wrong order
    &[0xd800, 0xd800, 0xdc00],
];

/// Three harnesses (one per layout), with scribbled memories.
fn scribbled_layouts() -> Vec<(H, u32, u32)> {
    let mut v = layouts(1);
    for (h, _, _) in &mut v {
        h.scribble();
    }
    v
}

#[test]
fn utf16_one_odd_unit_at_every_offset() {
    let mut hs = scribbled_layouts();
    let mut i = 0;
    for filler in [0x61u16, 0xe9] {
        for units in runs_with_one_odd(filler, ODD_UNITS, 40) {
            let (h, src, dst) = &mut hs[i % 3];
            let (h, src, dst) = (h, *src, *dst);
            i += 1;
            let n = units.len() as u32;
            let valid = String::from_utf16(&units).is_ok();
            h.write_src(src, &le_bytes(&units));

            // copy-utf16: an exact copy, or a trap.
            let got = h.copy_utf16(src, n, dst);
            if valid {
                got.unwrap();
                assert_eq!(le_units(&h.read_dst(dst, 2 * units.len())), units);
            } else {
                assert_trap(got);
            }

            check_compact_probably_utf16(h, src, dst, &units);

            // utf16-to-compact-utf16 behind 0 or 3 Latin-1 bytes (whatever
            // the scribble left there), with exactly the room needed, one
            // unit less (traps) and one more.
            for so_far in [0u32, 3] {
                for dst_len in [n + so_far, n + so_far + 1, (n + so_far).wrapping_sub(1)] {
                    if dst_len < so_far || dst_len == u32::MAX {
                        continue;
                    }
                    let mut want = h.read_dst(dst, 2 * dst_len as usize);
                    let want_n =
                        reference::utf16_to_compact_utf16(&units, &mut want, so_far as usize);
                    let got = h.utf16_to_compact_utf16(src, n, dst, dst_len, so_far);
                    match want_n {
                        Some(w) => {
                            assert_eq!(got.unwrap(), w, "{units:x?} {so_far} {dst_len}");
                            assert_eq!(h.read_dst(dst, 2 * dst_len as usize), want);
                        }
                        None => assert_trap(got),
                    }
                }
            }

            // utf16-to-latin1: the prefix of units below 0x100.
            let before = h.read_dst(dst, units.len());
            let out = reference::utf16_to_latin1(&units);
            let k = out.len() as u32;
            assert_eq!(
                h.utf16_to_latin1(src, n, dst).unwrap(),
                (k, k),
                "{units:x?}"
            );
            assert_eq!(h.read_dst(dst, out.len()), out);
            assert_eq!(
                h.read_dst(dst, units.len())[out.len()..],
                before[out.len()..]
            );

            // utf16-to-utf8: all the room needed, and the adapter's first pass.
            check_utf16_to_utf8(h, src, dst, &units, 3 * n, false);
            check_utf16_to_utf8(h, src, dst, &units, 3 * n, true);
            check_utf16_to_utf8(h, src, dst, &units, n, true);

            // And the adapters' sequences, for valid strings.
            if let Ok(s) = String::from_utf16(&units) {
                assert_eq!(adapter_utf16_to_utf8(h, src, &units, dst), s.as_bytes());
                assert_eq!(
                    adapter_utf16_to_compact(h, src, &units, dst),
                    expected_compact(&s)
                );
            }
        }
    }
}

#[test]
fn utf16_to_utf8_partial_stops_at_every_destination_size() {
    let odd: &[&[u16]] = &[
        &[0x80],
        &[0xe9],
        &[0x4e2d],
        &[0xd83d, 0xde00],
        &[0xd800],
        &[0xdc00],
    ];
    let mut hs = scribbled_layouts();
    let mut strings = runs_with_one_odd(0x61u16, odd, 20);
    strings.extend(
        runs_with_one_odd(0x61u16, odd, 40)
            .into_iter()
            .filter(|u| u.len() >= 39),
    );
    for (i, units) in strings.iter().enumerate() {
        let (h, src, dst) = &mut hs[i % 3];
        let (h, src, dst) = (h, *src, *dst);
        h.write_src(src, &le_bytes(units));
        for fp in [false, true] {
            for dst_len in 0..=3 * units.len() as u32 + 1 {
                check_utf16_to_utf8(h, src, dst, units, dst_len, fp);
            }
        }
    }
}

#[test]
fn latin1_one_odd_byte_at_every_offset() {
    let odd: &[&[u8]] = &[b"\x7f", b"\x80", b"\xe9", b"\xff"];
    let mut hs = scribbled_layouts();
    for (i, bytes) in runs_with_one_odd(b'a', odd, 40).iter().enumerate() {
        let (h, src, dst) = &mut hs[i % 3];
        let (h, src, dst) = (h, *src, *dst);
        let n = bytes.len() as u32;
        h.write_src(src, bytes);

        h.copy_latin1(src, n, dst).unwrap();
        assert_eq!(h.read_dst(dst, bytes.len()), *bytes);

        h.latin1_to_utf16(src, n, dst).unwrap();
        let units: Vec<u16> = bytes.iter().map(|&b| u16::from(b)).collect();
        assert_eq!(le_units(&h.read_dst(dst, 2 * bytes.len())), units);

        check_latin1_to_utf8(h, src, dst, bytes, 2 * n, false);
        check_latin1_to_utf8(h, src, dst, bytes, 2 * n, true);
        check_latin1_to_utf8(h, src, dst, bytes, n, true);
        let utf8 = decode_latin1(bytes).into_bytes();
        assert_eq!(adapter_latin1_to_utf8(h, src, bytes, dst), utf8);

        // Partial stops at every destination size (shorter runs only).
        if bytes.len() <= 24 {
            for fp in [false, true] {
                for dst_len in 0..=2 * n + 1 {
                    check_latin1_to_utf8(h, src, dst, bytes, dst_len, fp);
                }
            }
        }
    }
}

#[test]
fn utf8_to_latin1_one_odd_sequence_at_every_offset() {
    let odd: &[&[u8]] = &[
        b"\x7f",
        "\u{80}".as_bytes(),
        "é".as_bytes(),
        "ÿ".as_bytes(),
        "\u{100}".as_bytes(), // C4 80: valid, not Latin-1
        "€".as_bytes(),
        "🦀".as_bytes(),
        b"\xff",
        b"\x80",     // stray continuation
        b"\xc3",     // truncated (or followed by ASCII)
        b"\xc3(",    // bad continuation
        b"\xc0\x80", // overlong
        b"\xe2\x82", // truncated
    ];
    // Runs of chars (byte sequences): "a" for the fast path, "é" for the
    // exact path between failed fast-path attempts.
    let odd: Vec<[&[u8]; 1]> = odd.iter().map(|o| [*o]).collect();
    let odd: Vec<&[&[u8]]> = odd.iter().map(|o| &o[..]).collect();
    let mut hs = scribbled_layouts();
    let mut i = 0;
    for filler in ["a", "é"] {
        for parts in runs_with_one_odd(filler.as_bytes(), &odd, 40) {
            let bytes: Vec<u8> = parts.concat();
            let (h, src, dst) = &mut hs[i % 3];
            let (h, src, dst) = (h, *src, *dst);
            i += 1;
            let n = bytes.len() as u32;
            h.write_src(src, &bytes);

            let before = h.read_dst(dst, bytes.len());
            let (read, out) = reference::utf8_to_latin1(&bytes);
            let got = h.utf8_to_latin1(src, n, dst).unwrap();
            assert_eq!(got, (read as u32, out.len() as u32), "{bytes:x?}");
            assert_eq!(h.read_dst(dst, out.len()), out);
            assert_eq!(
                h.read_dst(dst, bytes.len())[out.len()..],
                before[out.len()..]
            );

            // The adapter: utf8-to-latin1, then utf8-to-compact-utf16, which
            // inflates in place the Latin-1 prefix of every length.
            match std::str::from_utf8(&bytes) {
                Ok(s) => {
                    assert_eq!(
                        adapter_utf8_to_compact(h, src, &bytes, dst),
                        expected_compact(s),
                        "{s:?}"
                    );
                }
                Err(_) => {
                    let (read, written) = h.utf8_to_latin1(src, n, dst).unwrap();
                    assert_trap(h.utf8_to_compact_utf16(src + read, n - read, dst, n, written));
                }
            }
        }
    }
}

#[test]
fn inflate_in_place_at_every_length() {
    // utf8/utf16-to-compact-utf16 widen the first `so_far` bytes of the
    // destination in place (backwards, eight bytes per step), then write
    // the source behind them.
    let mut rng = Rng(0x1a71);
    for (i, so_far) in (0..=40u32).enumerate() {
        let (mut h, src, dst) = layout(1, i % 3);
        for s in ["", "x", "é😀", "abcdefghijklmnop"] {
            let units = utf16(s);
            for extra in 0..=units.len() as u32 + 1 {
                let dst_len = so_far + extra;
                let prefix: Vec<u8> = (0..so_far).map(|_| rng.next() as u8).collect();

                h.scribble();
                h.write_dst(dst, &prefix);
                h.write_src(src, s.as_bytes());
                let mut want = h.read_dst(dst, 2 * dst_len as usize);
                let want_n =
                    reference::utf8_to_compact_utf16(s.as_bytes(), &mut want, so_far as usize)
                        .unwrap();
                let got = h.utf8_to_compact_utf16(src, s.len() as u32, dst, dst_len, so_far);
                assert_eq!(got.unwrap(), want_n, "{so_far} {s:?} {dst_len}");
                assert_eq!(h.read_dst(dst, 2 * dst_len as usize), want);
                assert_eq!(
                    le_units(&h.read_dst(dst, 2 * so_far as usize)),
                    prefix.iter().map(|&b| u16::from(b)).collect::<Vec<_>>()
                );

                h.scribble();
                h.write_dst(dst, &prefix);
                h.write_src(src, &le_bytes(&units));
                let mut want = h.read_dst(dst, 2 * dst_len as usize);
                let want_n = reference::utf16_to_compact_utf16(&units, &mut want, so_far as usize);
                let got = h.utf16_to_compact_utf16(src, units.len() as u32, dst, dst_len, so_far);
                match want_n {
                    Some(n) => {
                        assert_eq!(got.unwrap(), n, "{so_far} {s:?} {dst_len}");
                        assert_eq!(h.read_dst(dst, 2 * dst_len as usize), want);
                    }
                    None => assert_trap(got),
                }
            }
        }
    }
}

#[test]
fn compact_probably_utf16_latin1_or_not_at_every_length() {
    // Every length 0..=40 of Latin-1 text (narrowed four units per step),
    // then the same with one wider unit at every offset (copied and tagged).
    let mut hs = scribbled_layouts();
    let latin: Vec<u16> = (0..41).map(|i| 0x80 + (i * 37) % 0x80).collect();
    let mut i = 0;
    for len in 0..=40 {
        for wide in std::iter::once(None).chain((0..len).map(Some)) {
            let mut units = latin[..len].to_vec();
            if let Some(pos) = wide {
                units[pos] = 0x100 + pos as u16;
            }
            let (h, src, dst) = &mut hs[i % 3];
            let (h, src, dst) = (h, *src, *dst);
            i += 1;
            h.write_src(src, &le_bytes(&units));
            let tag = if wide.is_some() { UTF16_TAG } else { 0 };
            assert_eq!(
                check_compact_probably_utf16(h, src, dst, &units),
                Some(len as u32 | tag)
            );
        }
    }
}
