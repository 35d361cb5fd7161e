// Shared by `build.rs` (digest of the guest, at build time) and `lib.rs`
// (cache keys); included, so it holds items only.

/// 128-bit FNV-1a: a fixed, dependency-free hash for cache keys (not for
/// security; a collision would need a crafted guest, which is ours).
struct Fnv128(u128);

impl Default for Fnv128 {
    fn default() -> Self {
        Fnv128(0x6c62_272e_07bb_0142_62b8_2175_6295_c58d)
    }
}

impl Hasher for Fnv128 {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u128::from(b);
            self.0 = self
                .0
                .wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
        }
    }

    fn finish(&self) -> u64 {
        self.0 as u64
    }
}
