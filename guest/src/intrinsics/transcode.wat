;; Meld string transcoders.
;;
;; wasmtime's FACT adapter modules import one "transcoder" function per string
;; conversion they need; wasmtime implements them natively in Rust
;; (crates/wasmtime/src/runtime/vm/component/libcalls.rs, wasmtime 48.0.8).
;; This module is their replacement in wasm, so that a fused module needs no
;; host support. The linker instantiates it once per (source memory,
;; destination memory) pair; both imports may be the very same memory.
;;
;; Contract, for every export:
;;
;; * Signature: exactly the core type FACT gives the operation for 32-bit
;;   memories (wasmtime-environ src/fact/transcode.rs). Pointers and lengths
;;   are unsigned i32; lengths count code units (bytes for UTF-8 / Latin-1,
;;   16-bit units for UTF-16).
;; * Results: exactly those of the libcall it mirrors (named above each
;;   function), including partial transcodes and the UTF16_TAG (1 << 31) of
;;   the compact encodings.
;; * Traps (`unreachable`) whenever the libcall fails:
;;   - invalid UTF-8 (anything `core::str::from_utf8` rejects), or an unpaired
;;     surrogate in UTF-16, where the libcall decodes the input;
;;   - a 16-bit pointer that is not 2-aligned (the libcall shims assert it);
;;   - source and destination ranges that overlap in the same memory
;;     (`assert_no_overlap`, reproduced with its exact, asymmetric rule);
;;   - a destination too small where the libcall panics (see
;;     utf16-to-compact-utf16) or `latin1_bytes_so_far` beyond it.
;;   And, before anything else, whenever [ptr, ptr + byte length) of either
;;   range is outside its memory. wasmtime leaves that check to the adapter
;;   (which always performs it first); here it is done up front, so a bad
;;   call traps with `unreachable` instead of a stray memory access, and
;;   nothing outside the two ranges is ever read or written. As for bulk
;;   memory instructions, an empty range at ptr == memory size is in bounds.
;; * When a call traps, the bytes already written to the destination range
;;   are unspecified (wasmtime too leaves partial output in some cases);
;;   no other byte of either memory is changed.
;; * Bytes of the destination range past the reported written length are
;;   left as they were (wasmtime may leave other bytes there: encoding_rs
;;   scratch, or the UTF-16 copy behind a string deflated to Latin-1 by
;;   utf16-to-compact-probably-utf16; no caller reads them).
;; * Runs of units that need no decoding are handled eight bytes (one i64)
;;   at a time, and plain copies use i64 words (`memory.copy` from 256
;;   bytes on); the per-scalar code runs only around the units that need it. Results and traps are those of the
;;   per-scalar code.
;;
;; Uses only core wasm 2.0 with multi-memory and bulk memory.
(module
  (import "meld" "src" (memory $src 0)) ;; the string is read from here
  (import "meld" "dst" (memory $dst 0)) ;; the result is written here

  ;; ---------------------------------------------------------------------
  ;; Argument checks
  ;; ---------------------------------------------------------------------

  ;; The transcoders are called once per string crossing, so the checks
  ;; below are written out flat (one call per transcoder, no nested calls:
  ;; Cranelift does not inline wasm calls). At each export:
  ;; - byte lengths are computed in i64, without 32-bit overflow
  ;;   (`i64.extend_i32_u n`, shifted left by 1 for 16-bit units);
  ;; - a pointer to 16-bit units that is not 2-aligned traps (the libcall
  ;;   shims `assert!` this for every `ptr_u16` parameter).

  ;; Are $src and $dst the same memory? Wasm cannot compare memories, so
  ;; flip byte 0 of $dst, look whether byte 0 of $src changed, and restore
  ;; it. Memories of different sizes are different; if both are empty the
  ;; answer does not matter (the only in-bounds ranges are then empty ones at
  ;; offset 0, which never conflict).
  (func $same_memory (result i32)
    (local $src_before i32) (local $dst_saved i32) (local $same i32)
    (if (i32.ne (memory.size $src) (memory.size $dst))
      (then (return (i32.const 0))))
    (if (i32.eqz (memory.size $src))
      (then (return (i32.const 0))))
    (local.set $src_before (i32.load8_u $src (i32.const 0)))
    (local.set $dst_saved (i32.load8_u $dst (i32.const 0)))
    (i32.store8 $dst (i32.const 0) (i32.xor (local.get $dst_saved) (i32.const 0xff)))
    (local.set $same (i32.ne (i32.load8_u $src (i32.const 0)) (local.get $src_before)))
    (i32.store8 $dst (i32.const 0) (local.get $dst_saved))
    (local.get $same))

  ;; The checks every transcoder starts with: both ranges in bounds
  ;; ([ptr, ptr + bytes) inside its memory), and no overlap when they live
  ;; in the same memory (`assert_no_overlap(src, dst)`), by its exact rule,
  ;; asymmetric for empty ranges:
  ;;   if a.start < b.start { a.end <= b.start } else { b.end <= a.start }
  ;; The memory probe only runs when the offsets would conflict.
  (func $check_ranges (param $src i32) (param $src_bytes i64)
                      (param $dst i32) (param $dst_bytes i64)
    (local $src_end i64) (local $dst_end i64)
    (local.set $src_end (i64.add (i64.extend_i32_u (local.get $src)) (local.get $src_bytes)))
    (local.set $dst_end (i64.add (i64.extend_i32_u (local.get $dst)) (local.get $dst_bytes)))
    (if (i64.gt_u (local.get $src_end)
                  (i64.shl (i64.extend_i32_u (memory.size $src)) (i64.const 16)))
      (then unreachable))
    (if (i64.gt_u (local.get $dst_end)
                  (i64.shl (i64.extend_i32_u (memory.size $dst)) (i64.const 16)))
      (then unreachable))
    (if (if (result i32) (i32.lt_u (local.get $src) (local.get $dst))
          (then (i64.gt_u (local.get $src_end) (i64.extend_i32_u (local.get $dst))))
          (else (i64.gt_u (local.get $dst_end) (i64.extend_i32_u (local.get $src)))))
      (then
        (if (call $same_memory)
          (then unreachable)))))

  ;; Copy `n` bytes from `src` in $src to `dst` in $dst (the ranges are
  ;; checked and do not overlap). Short strings, the common case, are
  ;; copied eight bytes per step: wasmtime compiles `memory.copy` to a
  ;; libcall whose fixed cost is larger than such a copy. Long ones use
  ;; `memory.copy`.
  (func $copy_bytes (param $dst i32) (param $src i32) (param $n i32)
    (local $i i32)
    (if (i32.ge_u (local.get $n) (i32.const 256))
      (then
        (memory.copy $dst $src (local.get $dst) (local.get $src) (local.get $n))
        (return)))
    ;; 32 bytes per step, then 8, then 1.
    (block $blocks_done
      (loop $block
        (br_if $blocks_done (i32.lt_u (i32.sub (local.get $n) (local.get $i)) (i32.const 32)))
        (i64.store $dst (i32.add (local.get $dst) (local.get $i))
          (i64.load $src (i32.add (local.get $src) (local.get $i))))
        (i64.store $dst offset=8 (i32.add (local.get $dst) (local.get $i))
          (i64.load $src offset=8 (i32.add (local.get $src) (local.get $i))))
        (i64.store $dst offset=16 (i32.add (local.get $dst) (local.get $i))
          (i64.load $src offset=16 (i32.add (local.get $src) (local.get $i))))
        (i64.store $dst offset=24 (i32.add (local.get $dst) (local.get $i))
          (i64.load $src offset=24 (i32.add (local.get $src) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 32)))
        (br $block)))
    (block $words_done
      (loop $word
        (br_if $words_done (i32.lt_u (i32.sub (local.get $n) (local.get $i)) (i32.const 8)))
        (i64.store $dst (i32.add (local.get $dst) (local.get $i))
          (i64.load $src (i32.add (local.get $src) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $word)))
    (block $done
      (loop $byte
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 $dst (i32.add (local.get $dst) (local.get $i))
          (i32.load8_u $src (i32.add (local.get $src) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $byte))))

  ;; ---------------------------------------------------------------------
  ;; Code points: decode from $src, encode into $dst
  ;; ---------------------------------------------------------------------
  ;; Callers pass pointers inside a range already checked, and the number of
  ;; code units left in it (`avail` >= 1), so no address here wraps.

  ;; Decode the UTF-8 scalar at `p` in $src. Returns (scalar, bytes used).
  ;; Traps on every sequence `core::str::from_utf8` rejects: stray
  ;; continuation bytes, bytes C0, C1, F5..FF, truncated sequences, overlong
  ;; forms, surrogates (U+D800..U+DFFF) and values above U+10FFFF.
  (func $utf8_decode (param $p i32) (param $avail i32) (result i32 i32)
    (local $c i32) (local $len i32) (local $i i32) (local $b i32)
    (local.set $c (i32.load8_u $src (local.get $p)))
    (if (i32.lt_u (local.get $c) (i32.const 0x80))
      (then (return (local.get $c) (i32.const 1))))
    ;; Lead byte: sequence length and its payload bits. 80..BF are
    ;; continuation bytes, C0/C1 could only start overlong forms.
    (if (i32.lt_u (local.get $c) (i32.const 0xc2))
      (then unreachable))
    (if (i32.lt_u (local.get $c) (i32.const 0xe0))
      (then
        (local.set $len (i32.const 2))
        (local.set $c (i32.and (local.get $c) (i32.const 0x1f))))
      (else (if (i32.lt_u (local.get $c) (i32.const 0xf0))
        (then
          (local.set $len (i32.const 3))
          (local.set $c (i32.and (local.get $c) (i32.const 0x0f))))
        (else (if (i32.lt_u (local.get $c) (i32.const 0xf5))
          (then
            (local.set $len (i32.const 4))
            (local.set $c (i32.and (local.get $c) (i32.const 0x07))))
          (else unreachable))))))
    (if (i32.lt_u (local.get $avail) (local.get $len))
      (then unreachable))
    ;; Continuation bytes 10xxxxxx, six payload bits each.
    (local.set $i (i32.const 1))
    (loop $continuation
      (local.set $b (i32.load8_u $src (i32.add (local.get $p) (local.get $i))))
      (if (i32.ne (i32.and (local.get $b) (i32.const 0xc0)) (i32.const 0x80))
        (then unreachable))
      (local.set $c (i32.or (i32.shl (local.get $c) (i32.const 6))
                            (i32.and (local.get $b) (i32.const 0x3f))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $continuation (i32.lt_u (local.get $i) (local.get $len))))
    ;; Shortest form only, no surrogates, nothing above U+10FFFF. (Two-byte
    ;; forms are never overlong: their lead byte is at least C2.)
    (if (i32.eq (local.get $len) (i32.const 3))
      (then
        (if (i32.or (i32.lt_u (local.get $c) (i32.const 0x800))
                    (i32.eq (i32.and (local.get $c) (i32.const 0xf800)) (i32.const 0xd800)))
          (then unreachable))))
    (if (i32.eq (local.get $len) (i32.const 4))
      (then
        (if (i32.or (i32.lt_u (local.get $c) (i32.const 0x10000))
                    (i32.gt_u (local.get $c) (i32.const 0x10ffff)))
          (then unreachable))))
    (local.get $c)
    (local.get $len))

  ;; Trap unless the `len` bytes at `p` in $src are valid UTF-8 (exactly
  ;; what `core::str::from_utf8` accepts). ASCII runs are checked eight
  ;; bytes at a time (one i64 load, no byte with its high bit set). A
  ;; multi-byte sequence is checked in place, without decoding it, by the
  ;; table of well-formed byte sequences (Unicode 15, table 3-7): the lead
  ;; byte gives the number of continuation bytes and the range of the first
  ;; one (which rules out overlong forms, surrogates and values above
  ;; U+10FFFF); the others are 80..BF. Same verdict as $utf8_decode.
  (func $validate_utf8 (param $p i32) (param $len i32)
    (local $end i32) (local $b i32) (local $n i32) (local $lo i32) (local $hi i32)
    (local $high i64)
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (block $done
      (loop $next
        (if (i32.ge_u (i32.sub (local.get $end) (local.get $p)) (i32.const 8))
          (then
            (local.set $high (i64.and (i64.load $src (local.get $p))
                                      (i64.const 0x8080808080808080)))
            ;; Skip the ASCII bytes before the first byte with its high
            ;; bit set (all eight if there is none): little-endian, so
            ;; that is ctz / 8 bytes.
            (local.set $p (i32.add (local.get $p)
              (i32.wrap_i64 (i64.shr_u (i64.ctz (local.get $high)) (i64.const 3)))))
            (br_if $next (i64.eqz (local.get $high)))))
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $b (i32.load8_u $src (local.get $p)))
        (if (i32.lt_u (local.get $b) (i32.const 0x80))
          (then
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $next)))
        ;; 80..BF are continuation bytes, C0/C1 start overlong forms,
        ;; F5..FF nothing.
        (if (i32.lt_u (local.get $b) (i32.const 0xc2))
          (then unreachable))
        (local.set $lo (i32.const 0x80))
        (local.set $hi (i32.const 0xbf))
        (if (i32.lt_u (local.get $b) (i32.const 0xe0))
          (then (local.set $n (i32.const 1)))
          (else (if (i32.lt_u (local.get $b) (i32.const 0xf0))
            (then
              (local.set $n (i32.const 2))
              (if (i32.eq (local.get $b) (i32.const 0xe0))   ;; no overlong form
                (then (local.set $lo (i32.const 0xa0))))
              (if (i32.eq (local.get $b) (i32.const 0xed))   ;; no surrogate
                (then (local.set $hi (i32.const 0x9f)))))
            (else (if (i32.lt_u (local.get $b) (i32.const 0xf5))
              (then
                (local.set $n (i32.const 3))
                (if (i32.eq (local.get $b) (i32.const 0xf0))   ;; no overlong form
                  (then (local.set $lo (i32.const 0x90))))
                (if (i32.eq (local.get $b) (i32.const 0xf4))   ;; nothing above U+10FFFF
                  (then (local.set $hi (i32.const 0x8f)))))
              (else unreachable))))))
        ;; Truncated at the end of the string?
        (if (i32.le_u (i32.sub (local.get $end) (local.get $p)) (local.get $n))
          (then unreachable))
        (local.set $b (i32.load8_u $src offset=1 (local.get $p)))
        (if (i32.or (i32.lt_u (local.get $b) (local.get $lo))
                    (i32.gt_u (local.get $b) (local.get $hi)))
          (then unreachable))
        (if (i32.ge_u (local.get $n) (i32.const 2))
          (then
            (if (i32.ne (i32.and (i32.load8_u $src offset=2 (local.get $p)) (i32.const 0xc0))
                        (i32.const 0x80))
              (then unreachable))))
        (if (i32.eq (local.get $n) (i32.const 3))
          (then
            (if (i32.ne (i32.and (i32.load8_u $src offset=3 (local.get $p)) (i32.const 0xc0))
                        (i32.const 0x80))
              (then unreachable))))
        (local.set $p (i32.add (local.get $p) (i32.add (local.get $n) (i32.const 1))))
        (br $next))))

  ;; Number of UTF-8 bytes for scalar `c`: 1 + [c >= 0x80] + [c >= 0x800]
  ;; + [c >= 0x10000] (`char::len_utf8`).
  (func $utf8_len (param $c i32) (result i32)
    (i32.add
      (i32.add (i32.const 1) (i32.ge_u (local.get $c) (i32.const 0x80)))
      (i32.add (i32.ge_u (local.get $c) (i32.const 0x800))
               (i32.ge_u (local.get $c) (i32.const 0x10000)))))

  ;; Write scalar `c` as UTF-8 at `p` in $dst (`char::encode_utf8`).
  ;; Returns the number of bytes written.
  (func $utf8_encode (param $p i32) (param $c i32) (result i32)
    (local $len i32) (local $i i32)
    (local.set $len (call $utf8_len (local.get $c)))
    (if (i32.eq (local.get $len) (i32.const 1))
      (then
        (i32.store8 $dst (local.get $p) (local.get $c))
        (return (i32.const 1))))
    ;; Continuation bytes, last to first, six bits each.
    (local.set $i (i32.sub (local.get $len) (i32.const 1)))
    (loop $continuation
      (i32.store8 $dst (i32.add (local.get $p) (local.get $i))
        (i32.or (i32.const 0x80) (i32.and (local.get $c) (i32.const 0x3f))))
      (local.set $c (i32.shr_u (local.get $c) (i32.const 6)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $continuation (local.get $i)))
    ;; Lead byte 110xxxxx, 1110xxxx or 11110xxx with the remaining bits.
    (i32.store8 $dst (local.get $p)
      (i32.or (local.get $c)
        (select (i32.const 0xc0)
                (select (i32.const 0xe0) (i32.const 0xf0)
                        (i32.eq (local.get $len) (i32.const 3)))
                (i32.eq (local.get $len) (i32.const 2)))))
    (local.get $len))

  ;; Decode the UTF-16 scalar at `p` in $src (`avail` units left).
  ;; Returns (scalar, units used). Traps on an unpaired surrogate, as
  ;; `core::char::decode_utf16` reports one: a trailing surrogate first, a
  ;; leading surrogate at the end or not followed by a trailing one.
  (func $utf16_decode (param $p i32) (param $avail i32) (result i32 i32)
    (local $hi i32) (local $lo i32)
    (local.set $hi (i32.load16_u $src (local.get $p)))
    (if (i32.ne (i32.and (local.get $hi) (i32.const 0xf800)) (i32.const 0xd800))
      (then (return (local.get $hi) (i32.const 1)))) ;; not a surrogate
    (if (i32.ge_u (local.get $hi) (i32.const 0xdc00))
      (then unreachable)) ;; trailing surrogate first
    (if (i32.lt_u (local.get $avail) (i32.const 2))
      (then unreachable)) ;; leading surrogate at the end
    (local.set $lo (i32.load16_u $src offset=2 (local.get $p)))
    (if (i32.ne (i32.and (local.get $lo) (i32.const 0xfc00)) (i32.const 0xdc00))
      (then unreachable)) ;; leading surrogate without a trailing one
    (i32.add (i32.const 0x10000)
      (i32.or (i32.shl (i32.sub (local.get $hi) (i32.const 0xd800)) (i32.const 10))
              (i32.sub (local.get $lo) (i32.const 0xdc00))))
    (i32.const 2))

  ;; The surrogate pair of a scalar above U+FFFF.
  (func $leading_surrogate (param $c i32) (result i32)
    (i32.or (i32.const 0xd800)
            (i32.shr_u (i32.sub (local.get $c) (i32.const 0x10000)) (i32.const 10))))
  (func $trailing_surrogate (param $c i32) (result i32)
    (i32.or (i32.const 0xdc00) (i32.and (local.get $c) (i32.const 0x3ff))))

  ;; Write scalar `c` as UTF-16 (little-endian) at `p` in $dst
  ;; (`char::encode_utf16`). Returns the number of units written.
  (func $utf16_encode (param $p i32) (param $c i32) (result i32)
    (if (i32.lt_u (local.get $c) (i32.const 0x10000))
      (then
        (i32.store16 $dst (local.get $p) (local.get $c))
        (return (i32.const 1))))
    (i32.store16 $dst (local.get $p) (call $leading_surrogate (local.get $c)))
    (i32.store16 $dst offset=2 (local.get $p) (call $trailing_surrogate (local.get $c)))
    (i32.const 2))

  ;; ---------------------------------------------------------------------
  ;; Word-at-a-time fast paths
  ;; ---------------------------------------------------------------------
  ;; The loops below read 8 bytes (eight 8-bit or four 16-bit units) with one
  ;; i64 load and test them all at once. They do so only while at least that
  ;; many units are left in the source range (and room is left for what they
  ;; write), so they never touch a byte outside the ranges; and they only
  ;; take units for which the exact per-unit code after them would do the
  ;; same (ASCII, Latin-1, no surrogate). Anything else goes to that code,
  ;; one scalar at a time, and the loop tries a word again after it.
  ;; The bit tricks are written out in place (a call per word would cost
  ;; more than the work). Bytes are listed from the lowest address:
  ;;
  ;; * WIDEN four bytes b0..b3 in the low half of x (high half zero) to four
  ;;   16-bit units b0 0 b1 0 b2 0 b3 0:
  ;;     x = (x | x << 16) & 0x0000ffff0000ffff  ;; b0 b1 0 0 b2 b3 0 0
  ;;     x = (x | x << 8) & 0x00ff00ff00ff00ff   ;; b0 0 b1 0 b2 0 b3 0
  ;; * NARROW four units below 0x100, u0 0 u1 0 u2 0 u3 0, to four bytes:
  ;;     x = (x | x >> 8) & 0x0000ffff0000ffff   ;; u0 u1 0 0 u2 u3 0 0
  ;;     x | x >> 16                             ;; u0 u1 u2 u3 in the low half
  ;; * Masks: no byte >= 0x80 iff x & 0x8080808080808080 == 0; no unit
  ;;   >= 0x80 iff x & 0xff80ff80ff80ff80 == 0, none >= 0x100 iff
  ;;   x & 0xff00ff00ff00ff00 == 0.
  ;; * NO SURROGATE: unit u is a surrogate (D800..DFFF) iff
  ;;   (u & 0xf800) == 0xd800, i.e. iff its lane of
  ;;   y = (x & 0xf800f800f800f800) ^ 0xd800d800d800d800 is zero. For a lane
  ;;   v, bit 15 of ((v & 0x7fff) + 0x7fff) | v is set iff v != 0 (the sum
  ;;   never carries out of its lane), so no unit is a surrogate iff
  ;;   (((y & 0x7fff7fff7fff7fff) + 0x7fff7fff7fff7fff) | y)
  ;;     & 0x8000800080008000 == 0x8000800080008000.

  ;; ---------------------------------------------------------------------
  ;; Shared loops (same names as the Rust helpers they mirror)
  ;; ---------------------------------------------------------------------

  ;; `run_utf8_to_utf16`: the whole source must be valid UTF-8 (checked
  ;; first, as `from_utf8` does), then its UTF-16 units are written to `dst`
  ;; until the source or the `cap` units of the destination run out (`zip`:
  ;; this may write only the leading half of a surrogate pair).
  ;; Returns the number of units written.
  (func $run_utf8_to_utf16 (param $src i32) (param $len i32)
                           (param $dst i32) (param $cap i32) (result i32)
    (local $read i32) (local $written i32) (local $c i32) (local $n i32)
    (local $w i64) (local $x i64) (local $q i32)
    (call $validate_utf8 (local.get $src) (local.get $len))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $read) (local.get $len)))
        (br_if $done (i32.ge_u (local.get $written) (local.get $cap)))
        ;; Eight ASCII bytes with room for eight units: WIDEN both halves
        ;; (the same units the scalar loop below would write).
        (if (i32.and (i32.ge_u (i32.sub (local.get $len) (local.get $read)) (i32.const 8))
                     (i32.ge_u (i32.sub (local.get $cap) (local.get $written)) (i32.const 8)))
          (then
            (local.set $w (i64.load $src (i32.add (local.get $src) (local.get $read))))
            (if (i64.eqz (i64.and (local.get $w) (i64.const 0x8080808080808080)))
              (then
                (local.set $q
                  (i32.add (local.get $dst) (i32.shl (local.get $written) (i32.const 1))))
                (local.set $x (i64.and (local.get $w) (i64.const 0xffffffff)))
                (local.set $x (i64.and (i64.or (local.get $x) (i64.shl (local.get $x) (i64.const 16)))
                                       (i64.const 0x0000ffff0000ffff)))
                (i64.store $dst (local.get $q)
                  (i64.and (i64.or (local.get $x) (i64.shl (local.get $x) (i64.const 8)))
                           (i64.const 0x00ff00ff00ff00ff)))
                (local.set $x (i64.shr_u (local.get $w) (i64.const 32)))
                (local.set $x (i64.and (i64.or (local.get $x) (i64.shl (local.get $x) (i64.const 16)))
                                       (i64.const 0x0000ffff0000ffff)))
                (i64.store $dst offset=8 (local.get $q)
                  (i64.and (i64.or (local.get $x) (i64.shl (local.get $x) (i64.const 8)))
                           (i64.const 0x00ff00ff00ff00ff)))
                (local.set $read (i32.add (local.get $read) (i32.const 8)))
                (local.set $written (i32.add (local.get $written) (i32.const 8)))
                (br $next)))))
        (call $utf8_decode (i32.add (local.get $src) (local.get $read))
                           (i32.sub (local.get $len) (local.get $read)))
        (local.set $n)
        (local.set $c)
        (local.set $read (i32.add (local.get $read) (local.get $n)))
        (if (i32.and (i32.ge_u (local.get $c) (i32.const 0x10000))
                     (i32.eq (i32.sub (local.get $cap) (local.get $written)) (i32.const 1)))
          (then
            (i32.store16 $dst
              (i32.add (local.get $dst) (i32.shl (local.get $written) (i32.const 1)))
              (call $leading_surrogate (local.get $c)))
            (return (i32.add (local.get $written) (i32.const 1)))))
        (local.set $written
          (i32.add (local.get $written)
            (call $utf16_encode
              (i32.add (local.get $dst) (i32.shl (local.get $written) (i32.const 1)))
              (local.get $c))))
        (br $next)))
    (local.get $written))

  ;; The decoding half of `run_utf16_to_utf16`: trap unless the `len` units
  ;; at `p` in $src are valid UTF-16 (no unpaired surrogate). Returns 1 if
  ;; every scalar is at most U+00FF (fits Latin-1), i.e. every unit is below
  ;; 0x100 (a surrogate pair is never Latin-1, and neither is its first unit).
  ;; A valid string re-encodes to the very same units, so the copy itself
  ;; is left to the caller (memory.copy, or $run_utf16_to_latin1).
  ;; Four units with NO SURROGATE need no decoding; the exact decoder only
  ;; runs at a word holding one. `seen` ORs together every unit (the first
  ;; one of a pair), for the Latin-1 answer.
  (func $validate_utf16 (param $p i32) (param $len i32) (result i32)
    (local $w i64) (local $y i64) (local $seen i64) (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $len)))
        (if (i32.ge_u (local.get $len) (i32.const 4))
          (then
            (local.set $w (i64.load $src (local.get $p)))
            (local.set $y (i64.xor (i64.and (local.get $w) (i64.const 0xf800f800f800f800))
                                   (i64.const 0xd800d800d800d800)))
            (if (i64.eq
                  (i64.and
                    (i64.or (i64.add (i64.and (local.get $y) (i64.const 0x7fff7fff7fff7fff))
                                     (i64.const 0x7fff7fff7fff7fff))
                            (local.get $y))
                    (i64.const 0x8000800080008000))
                  (i64.const 0x8000800080008000))
              (then
                (local.set $seen (i64.or (local.get $seen) (local.get $w)))
                (local.set $p (i32.add (local.get $p) (i32.const 8)))
                (local.set $len (i32.sub (local.get $len) (i32.const 4)))
                (br $next)))))
        (local.set $seen (i64.or (local.get $seen)
                                 (i64.extend_i32_u (i32.load16_u $src (local.get $p)))))
        (call $utf16_decode (local.get $p) (local.get $len))
        (local.set $n)
        (drop)
        (local.set $p (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 1))))
        (local.set $len (i32.sub (local.get $len) (local.get $n)))
        (br $next)))
    (i64.eqz (i64.and (local.get $seen) (i64.const 0xff00ff00ff00ff00))))

  ;; Copy the `n` units at `src` in $src to `dst` in $dst. Two copies
  ;; of `n` bytes each, as 2 * n may not fit in an i32 (n = 2^31 units
  ;; filling a 4 GiB memory).
  (func $copy_units (param $dst i32) (param $src i32) (param $n i32)
    (call $copy_bytes (local.get $dst) (local.get $src) (local.get $n))
    (call $copy_bytes
      (i32.add (local.get $dst) (local.get $n))
      (i32.add (local.get $src) (local.get $n))
      (local.get $n)))

  ;; The loop of `utf16_to_latin1`: copy the units at `src` in $src (`len`
  ;; of them) to bytes at `dst` in $dst while they are below 0x100; stop at
  ;; the first other one (surrogates included: no trap). Returns the number
  ;; of units copied.
  (func $run_utf16_to_latin1 (param $src i32) (param $len i32) (param $dst i32)
                             (result i32)
    (local $i i32) (local $u i32) (local $w i64)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        ;; Four units below 0x100: NARROW them to four bytes at once.
        (if (i32.ge_u (i32.sub (local.get $len) (local.get $i)) (i32.const 4))
          (then
            (local.set $w (i64.load $src
              (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1)))))
            (if (i64.eqz (i64.and (local.get $w) (i64.const 0xff00ff00ff00ff00)))
              (then
                (local.set $w (i64.and (i64.or (local.get $w) (i64.shr_u (local.get $w) (i64.const 8)))
                                       (i64.const 0x0000ffff0000ffff)))
                (i32.store $dst (i32.add (local.get $dst) (local.get $i))
                  (i32.wrap_i64 (i64.or (local.get $w) (i64.shr_u (local.get $w) (i64.const 16)))))
                (local.set $i (i32.add (local.get $i) (i32.const 4)))
                (br $next)))))
        (local.set $u (i32.load16_u $src
          (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1)))))
        (br_if $done (i32.gt_u (local.get $u) (i32.const 0xff)))
        (i32.store8 $dst (i32.add (local.get $dst) (local.get $i)) (local.get $u))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i))

  ;; `inflate_latin1_bytes`: widen the `n` Latin-1 bytes at the start of `p`
  ;; in $dst, in place, into `n` UTF-16 units, last first so that nothing is
  ;; overwritten before it is read. While at least eight bytes are left,
  ;; the last eight, [n-8, n), are loaded at once and stored (WIDEN) as
  ;; units at [2(n-8), 2n): that starts at or after byte n-8, so it only
  ;; covers bytes already loaded. The first bytes (fewer than eight) go one
  ;; by one.
  (func $inflate_latin1 (param $p i32) (param $n i32)
    (local $w i64) (local $x i64) (local $q i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (if (i32.ge_u (local.get $n) (i32.const 8))
          (then
            (local.set $n (i32.sub (local.get $n) (i32.const 8)))
            (local.set $w (i64.load $dst (i32.add (local.get $p) (local.get $n))))
            (local.set $q (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 1))))
            (local.set $x (i64.and (local.get $w) (i64.const 0xffffffff)))
            (local.set $x (i64.and (i64.or (local.get $x) (i64.shl (local.get $x) (i64.const 16)))
                                   (i64.const 0x0000ffff0000ffff)))
            (i64.store $dst (local.get $q)
              (i64.and (i64.or (local.get $x) (i64.shl (local.get $x) (i64.const 8)))
                       (i64.const 0x00ff00ff00ff00ff)))
            (local.set $x (i64.shr_u (local.get $w) (i64.const 32)))
            (local.set $x (i64.and (i64.or (local.get $x) (i64.shl (local.get $x) (i64.const 16)))
                                   (i64.const 0x0000ffff0000ffff)))
            (i64.store $dst offset=8 (local.get $q)
              (i64.and (i64.or (local.get $x) (i64.shl (local.get $x) (i64.const 8)))
                       (i64.const 0x00ff00ff00ff00ff)))
            (br $next)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (i32.store16 $dst
          (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 1)))
          (i32.load8_u $dst (i32.add (local.get $p) (local.get $n))))
        (br $next))))

  ;; ---------------------------------------------------------------------
  ;; Exports: one per `Transcode` operation
  ;; ---------------------------------------------------------------------

  ;; Transcode::Copy(Utf8) -> libcall `utf8_to_utf8`.
  ;; `len` bytes, same length in both memories. Traps on invalid UTF-8.
  ;; The ASCII prefix is validated and copied in one pass, sixteen then
  ;; eight bytes per step; from the first word with a non-ASCII byte on, the
  ;; rest is validated exactly, then copied.
  (func (export "copy-utf8") (param $src i32) (param $len i32) (param $dst i32)
    (local $i i32) (local $w i64) (local $w2 i64)
    (call $check_ranges (local.get $src) (i64.extend_i32_u (local.get $len))
                        (local.get $dst) (i64.extend_i32_u (local.get $len)))
    (block $rest
      ;; 16 bytes per step while both words are ASCII, then 8.
      (loop $pair
        (br_if $rest (i32.lt_u (i32.sub (local.get $len) (local.get $i)) (i32.const 16)))
        (local.set $w (i64.load $src (i32.add (local.get $src) (local.get $i))))
        (local.set $w2 (i64.load $src offset=8 (i32.add (local.get $src) (local.get $i))))
        (br_if $rest (i64.ne (i64.and (i64.or (local.get $w) (local.get $w2))
                                      (i64.const 0x8080808080808080))
                             (i64.const 0)))
        (i64.store $dst (i32.add (local.get $dst) (local.get $i)) (local.get $w))
        (i64.store $dst offset=8 (i32.add (local.get $dst) (local.get $i)) (local.get $w2))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $pair)))
    (block $rest
      (loop $word
        (br_if $rest (i32.lt_u (i32.sub (local.get $len) (local.get $i)) (i32.const 8)))
        (local.set $w (i64.load $src (i32.add (local.get $src) (local.get $i))))
        (br_if $rest (i64.ne (i64.and (local.get $w) (i64.const 0x8080808080808080))
                             (i64.const 0)))
        (i64.store $dst (i32.add (local.get $dst) (local.get $i)) (local.get $w))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $word)))
    (if (i32.lt_u (local.get $i) (local.get $len))
      (then
        (call $validate_utf8 (i32.add (local.get $src) (local.get $i))
                             (i32.sub (local.get $len) (local.get $i)))
        (call $copy_bytes (i32.add (local.get $dst) (local.get $i))
                          (i32.add (local.get $src) (local.get $i))
                          (i32.sub (local.get $len) (local.get $i))))))

  ;; Transcode::Copy(Utf16) -> libcall `utf16_to_utf16`.
  ;; `len` units in both memories. Traps on an unpaired surrogate (checked
  ;; before anything is written); a valid string is copied unchanged.
  (func (export "copy-utf16") (param $src i32) (param $len i32) (param $dst i32)
    (if (i32.and (local.get $src) (i32.const 1)) (then unreachable))
    (if (i32.and (local.get $dst) (i32.const 1)) (then unreachable))
    (call $check_ranges (local.get $src) (i64.shl (i64.extend_i32_u (local.get $len)) (i64.const 1))
                        (local.get $dst) (i64.shl (i64.extend_i32_u (local.get $len)) (i64.const 1)))
    (drop (call $validate_utf16 (local.get $src) (local.get $len)))
    (call $copy_units (local.get $dst) (local.get $src) (local.get $len)))

  ;; Transcode::Copy(Latin1) -> libcall `latin1_to_latin1`.
  ;; Every byte string is Latin-1: a plain copy of `len` bytes.
  (func (export "copy-latin1") (param $src i32) (param $len i32) (param $dst i32)
    (call $check_ranges (local.get $src) (i64.extend_i32_u (local.get $len))
                        (local.get $dst) (i64.extend_i32_u (local.get $len)))
    (call $copy_bytes (local.get $dst) (local.get $src) (local.get $len)))

  ;; Transcode::Latin1ToUtf16 -> libcall `latin1_to_utf16`.
  ;; `len` bytes become `len` units (each byte zero-extended): eight bytes
  ;; (WIDEN each half) at a time while eight are left, then one by one.
  (func (export "latin1-to-utf16") (param $src i32) (param $len i32) (param $dst i32)
    (local $i i32) (local $w i64) (local $x i64) (local $q i32)
    (if (i32.and (local.get $dst) (i32.const 1)) (then unreachable))
    (call $check_ranges (local.get $src) (i64.extend_i32_u (local.get $len))
                        (local.get $dst) (i64.shl (i64.extend_i32_u (local.get $len)) (i64.const 1)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (if (i32.ge_u (i32.sub (local.get $len) (local.get $i)) (i32.const 8))
          (then
            (local.set $w (i64.load $src (i32.add (local.get $src) (local.get $i))))
            (local.set $q (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 1))))
            (local.set $x (i64.and (local.get $w) (i64.const 0xffffffff)))
            (local.set $x (i64.and (i64.or (local.get $x) (i64.shl (local.get $x) (i64.const 16)))
                                   (i64.const 0x0000ffff0000ffff)))
            (i64.store $dst (local.get $q)
              (i64.and (i64.or (local.get $x) (i64.shl (local.get $x) (i64.const 8)))
                       (i64.const 0x00ff00ff00ff00ff)))
            (local.set $x (i64.shr_u (local.get $w) (i64.const 32)))
            (local.set $x (i64.and (i64.or (local.get $x) (i64.shl (local.get $x) (i64.const 16)))
                                   (i64.const 0x0000ffff0000ffff)))
            (i64.store $dst offset=8 (local.get $q)
              (i64.and (i64.or (local.get $x) (i64.shl (local.get $x) (i64.const 8)))
                       (i64.const 0x00ff00ff00ff00ff)))
            (local.set $i (i32.add (local.get $i) (i32.const 8)))
            (br $next)))
        (i32.store16 $dst
          (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 1)))
          (i32.load8_u $src (i32.add (local.get $src) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; Transcode::Latin1ToUtf8 -> libcall `latin1_to_utf8`
  ;; (encoding_rs::mem::convert_latin1_to_utf8_partial).
  ;; Encodes byte after byte while the next one fits in the `dst_len` bytes
  ;; left (1 byte below 0x80, 2 otherwise); with `first_pass` != 0 it also
  ;; stops at the first byte >= 0x80. Never traps on content.
  ;; Returns (bytes read, bytes written).
  (func (export "latin1-to-utf8")
        (param $src i32) (param $src_len i32) (param $dst i32) (param $dst_len i32)
        (param $first_pass i32) (result i32 i32)
    (local $read i32) (local $written i32) (local $b i32) (local $n i32) (local $w i64)
    (call $check_ranges (local.get $src) (i64.extend_i32_u (local.get $src_len))
                        (local.get $dst) (i64.extend_i32_u (local.get $dst_len)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $read) (local.get $src_len)))
        ;; Eight ASCII bytes with room for eight: copied as they are (each
        ;; is its own UTF-8 and never stops the first pass).
        (if (i32.and (i32.ge_u (i32.sub (local.get $src_len) (local.get $read)) (i32.const 8))
                     (i32.ge_u (i32.sub (local.get $dst_len) (local.get $written)) (i32.const 8)))
          (then
            (local.set $w (i64.load $src (i32.add (local.get $src) (local.get $read))))
            (if (i64.eqz (i64.and (local.get $w) (i64.const 0x8080808080808080)))
              (then
                (i64.store $dst (i32.add (local.get $dst) (local.get $written)) (local.get $w))
                (local.set $read (i32.add (local.get $read) (i32.const 8)))
                (local.set $written (i32.add (local.get $written) (i32.const 8)))
                (br $next)))))
        (local.set $b (i32.load8_u $src (i32.add (local.get $src) (local.get $read))))
        (br_if $done (i32.and (i32.ne (local.get $first_pass) (i32.const 0))
                              (i32.ge_u (local.get $b) (i32.const 0x80))))
        (local.set $n (call $utf8_len (local.get $b)))
        (br_if $done (i32.lt_u (i32.sub (local.get $dst_len) (local.get $written))
                               (local.get $n)))
        (drop (call $utf8_encode (i32.add (local.get $dst) (local.get $written))
                                 (local.get $b)))
        (local.set $read (i32.add (local.get $read) (i32.const 1)))
        (local.set $written (i32.add (local.get $written) (local.get $n)))
        (br $next)))
    (local.get $read)
    (local.get $written))

  ;; Transcode::Utf8ToUtf16 -> libcall `utf8_to_utf16`.
  ;; The destination holds `len` units, always enough. Traps on invalid
  ;; UTF-8 (checked before anything is written). Returns the units written.
  (func (export "utf8-to-utf16") (param $src i32) (param $len i32) (param $dst i32)
        (result i32)
    (if (i32.and (local.get $dst) (i32.const 1)) (then unreachable))
    (call $check_ranges (local.get $src) (i64.extend_i32_u (local.get $len))
                        (local.get $dst) (i64.shl (i64.extend_i32_u (local.get $len)) (i64.const 1)))
    (call $run_utf8_to_utf16 (local.get $src) (local.get $len)
                             (local.get $dst) (local.get $len)))

  ;; Transcode::Utf16ToUtf8 -> libcall `utf16_to_utf8`.
  ;; Encodes scalar after scalar while it fits in the `dst_len` bytes left;
  ;; with `first_pass` != 0 it also stops at the first scalar >= U+0080.
  ;; An unpaired surrogate traps when the scan reaches it (not if it stops
  ;; earlier). Returns (units read, bytes written).
  (func (export "utf16-to-utf8")
        (param $src i32) (param $src_len i32) (param $dst i32) (param $dst_len i32)
        (param $first_pass i32) (result i32 i32)
    (local $read i32) (local $written i32) (local $c i32) (local $n i32) (local $size i32)
    (local $w i64)
    (if (i32.and (local.get $src) (i32.const 1)) (then unreachable))
    (call $check_ranges (local.get $src) (i64.shl (i64.extend_i32_u (local.get $src_len)) (i64.const 1))
                        (local.get $dst) (i64.extend_i32_u (local.get $dst_len)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $read) (local.get $src_len)))
        ;; Four units below 0x80 with room for four bytes: NARROW them to
        ;; four ASCII bytes at once (no surrogate, one byte each, and never
        ;; a first-pass stop).
        (if (i32.and (i32.ge_u (i32.sub (local.get $src_len) (local.get $read)) (i32.const 4))
                     (i32.ge_u (i32.sub (local.get $dst_len) (local.get $written)) (i32.const 4)))
          (then
            (local.set $w (i64.load $src
              (i32.add (local.get $src) (i32.shl (local.get $read) (i32.const 1)))))
            (if (i64.eqz (i64.and (local.get $w) (i64.const 0xff80ff80ff80ff80)))
              (then
                (local.set $w (i64.and (i64.or (local.get $w) (i64.shr_u (local.get $w) (i64.const 8)))
                                       (i64.const 0x0000ffff0000ffff)))
                (i32.store $dst (i32.add (local.get $dst) (local.get $written))
                  (i32.wrap_i64 (i64.or (local.get $w) (i64.shr_u (local.get $w) (i64.const 16)))))
                (local.set $read (i32.add (local.get $read) (i32.const 4)))
                (local.set $written (i32.add (local.get $written) (i32.const 4)))
                (br $next)))))
        (call $utf16_decode
          (i32.add (local.get $src) (i32.shl (local.get $read) (i32.const 1)))
          (i32.sub (local.get $src_len) (local.get $read)))
        (local.set $n)
        (local.set $c)
        (br_if $done (i32.and (i32.ne (local.get $first_pass) (i32.const 0))
                              (i32.ge_u (local.get $c) (i32.const 0x80))))
        (local.set $size (call $utf8_len (local.get $c)))
        (br_if $done (i32.lt_u (i32.sub (local.get $dst_len) (local.get $written))
                               (local.get $size)))
        (drop (call $utf8_encode (i32.add (local.get $dst) (local.get $written))
                                 (local.get $c)))
        (local.set $read (i32.add (local.get $read) (local.get $n)))
        (local.set $written (i32.add (local.get $written) (local.get $size)))
        (br $next)))
    (local.get $read)
    (local.get $written))

  ;; Transcode::Utf8ToLatin1 -> libcall `utf8_to_latin1`
  ;; (encoding_rs::mem::utf8_latin1_up_to + convert_utf8_to_latin1_lossy).
  ;; Copies ASCII bytes and turns each C2/C3 + continuation pair
  ;; (U+0080..U+00FF) into one byte; stops at anything else, valid or not
  ;; (never traps on content: the following utf8-to-compact-utf16 call
  ;; validates the rest). `len` bytes in both memories.
  ;; Returns (bytes read, bytes written).
  (func (export "utf8-to-latin1") (param $src i32) (param $len i32) (param $dst i32)
        (result i32 i32)
    (local $read i32) (local $written i32) (local $b i32) (local $t i32) (local $w i64)
    (call $check_ranges (local.get $src) (i64.extend_i32_u (local.get $len))
                        (local.get $dst) (i64.extend_i32_u (local.get $len)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $read) (local.get $len)))
        ;; Eight ASCII bytes: copied as they are. There is room, since
        ;; written <= read: len - written >= len - read >= 8.
        (if (i32.ge_u (i32.sub (local.get $len) (local.get $read)) (i32.const 8))
          (then
            (local.set $w (i64.load $src (i32.add (local.get $src) (local.get $read))))
            (if (i64.eqz (i64.and (local.get $w) (i64.const 0x8080808080808080)))
              (then
                (i64.store $dst (i32.add (local.get $dst) (local.get $written)) (local.get $w))
                (local.set $read (i32.add (local.get $read) (i32.const 8)))
                (local.set $written (i32.add (local.get $written) (i32.const 8)))
                (br $next)))))
        (local.set $b (i32.load8_u $src (i32.add (local.get $src) (local.get $read))))
        (if (i32.lt_u (local.get $b) (i32.const 0x80))
          (then
            (i32.store8 $dst (i32.add (local.get $dst) (local.get $written)) (local.get $b))
            (local.set $read (i32.add (local.get $read) (i32.const 1)))
            (local.set $written (i32.add (local.get $written) (i32.const 1)))
            (br $next)))
        ;; Only C2 xx and C3 xx encode U+0080..U+00FF.
        (br_if $done (i32.ne (i32.and (local.get $b) (i32.const 0xfe)) (i32.const 0xc2)))
        (br_if $done (i32.lt_u (i32.sub (local.get $len) (local.get $read)) (i32.const 2)))
        (local.set $t (i32.load8_u $src offset=1 (i32.add (local.get $src) (local.get $read))))
        (br_if $done (i32.ne (i32.and (local.get $t) (i32.const 0xc0)) (i32.const 0x80)))
        (i32.store8 $dst (i32.add (local.get $dst) (local.get $written))
          (i32.or (i32.shl (i32.and (local.get $b) (i32.const 0x1f)) (i32.const 6))
                  (i32.and (local.get $t) (i32.const 0x3f))))
        (local.set $read (i32.add (local.get $read) (i32.const 2)))
        (local.set $written (i32.add (local.get $written) (i32.const 1)))
        (br $next)))
    (local.get $read)
    (local.get $written))

  ;; Transcode::Utf16ToLatin1 -> libcall `utf16_to_latin1`.
  ;; Copies units while they are below 0x100 and stops at the first other
  ;; one (surrogates included: no trap). Returns (n, n), n = units copied.
  (func (export "utf16-to-latin1") (param $src i32) (param $len i32) (param $dst i32)
        (result i32 i32)
    (local $n i32)
    (if (i32.and (local.get $src) (i32.const 1)) (then unreachable))
    (call $check_ranges (local.get $src) (i64.shl (i64.extend_i32_u (local.get $len)) (i64.const 1))
                        (local.get $dst) (i64.extend_i32_u (local.get $len)))
    (local.set $n (call $run_utf16_to_latin1 (local.get $src) (local.get $len) (local.get $dst)))
    (local.get $n)
    (local.get $n))

  ;; Transcode::Utf8ToCompactUtf16 -> libcall `utf8_to_compact_utf16`.
  ;; Second step after utf8-to-latin1 gave up: `dst` holds `dst_len` units,
  ;; of which the first `latin1_bytes_so_far` bytes are Latin-1 output.
  ;; Those are widened in place to units, then the remaining source (`src`,
  ;; `src_len` bytes, validated as a whole: invalid UTF-8 traps) is
  ;; transcoded into the rest, silently truncated if it does not fit.
  ;; `latin1_bytes_so_far` > `dst_len` traps (`split_at_mut` panics).
  ;; Returns latin1_bytes_so_far + units written.
  (func (export "utf8-to-compact-utf16")
        (param $src i32) (param $src_len i32) (param $dst i32) (param $dst_len i32)
        (param $latin1_bytes_so_far i32) (result i32)
    (if (i32.and (local.get $dst) (i32.const 1)) (then unreachable))
    (call $check_ranges (local.get $src) (i64.extend_i32_u (local.get $src_len))
                        (local.get $dst) (i64.shl (i64.extend_i32_u (local.get $dst_len)) (i64.const 1)))
    (if (i32.gt_u (local.get $latin1_bytes_so_far) (local.get $dst_len))
      (then unreachable))
    (call $inflate_latin1 (local.get $dst) (local.get $latin1_bytes_so_far))
    (i32.add
      (call $run_utf8_to_utf16
        (local.get $src) (local.get $src_len)
        (i32.add (local.get $dst) (i32.shl (local.get $latin1_bytes_so_far) (i32.const 1)))
        (i32.sub (local.get $dst_len) (local.get $latin1_bytes_so_far)))
      (local.get $latin1_bytes_so_far)))

  ;; Transcode::Utf16ToCompactUtf16 -> libcall `utf16_to_compact_utf16`.
  ;; Same as utf8-to-compact-utf16 for a UTF-16 source, except that an
  ;; unpaired surrogate or a destination too small traps (`encode_utf16`
  ;; panics: a valid string needs exactly `src_len` units), and the result
  ;; is latin1_bytes_so_far + src_len. The source is copied unchanged.
  (func (export "utf16-to-compact-utf16")
        (param $src i32) (param $src_len i32) (param $dst i32) (param $dst_len i32)
        (param $latin1_bytes_so_far i32) (result i32)
    (if (i32.and (local.get $src) (i32.const 1)) (then unreachable))
    (if (i32.and (local.get $dst) (i32.const 1)) (then unreachable))
    (call $check_ranges (local.get $src) (i64.shl (i64.extend_i32_u (local.get $src_len)) (i64.const 1))
                        (local.get $dst) (i64.shl (i64.extend_i32_u (local.get $dst_len)) (i64.const 1)))
    (if (i32.gt_u (local.get $latin1_bytes_so_far) (local.get $dst_len))
      (then unreachable))
    (call $inflate_latin1 (local.get $dst) (local.get $latin1_bytes_so_far))
    (drop (call $validate_utf16 (local.get $src) (local.get $src_len)))
    (if (i32.gt_u (local.get $src_len)
                  (i32.sub (local.get $dst_len) (local.get $latin1_bytes_so_far)))
      (then unreachable))
    (call $copy_units
      (i32.add (local.get $dst) (i32.shl (local.get $latin1_bytes_so_far) (i32.const 1)))
      (local.get $src) (local.get $src_len))
    (i32.add (local.get $src_len) (local.get $latin1_bytes_so_far)))

  ;; Transcode::Utf16ToCompactProbablyUtf16 ->
  ;; libcall `utf16_to_compact_probably_utf16`.
  ;; Validates the `len` units (an unpaired surrogate traps, before anything
  ;; is written). If every scalar is at most U+00FF, their `len` Latin-1
  ;; bytes are written and `len` is returned; otherwise the units are
  ;; copied unchanged and the result is `len | UTF16_TAG` (1 << 31).
  ;; In the Latin-1 case bytes len..2len of the destination are left as
  ;; they were (wasmtime copies the UTF-16 first and deflates it in place,
  ;; leaving the second half of that copy there; no caller reads them).
  (func (export "utf16-to-compact-probably-utf16")
        (param $src i32) (param $len i32) (param $dst i32) (result i32)
    (if (i32.and (local.get $src) (i32.const 1)) (then unreachable))
    (if (i32.and (local.get $dst) (i32.const 1)) (then unreachable))
    (call $check_ranges (local.get $src) (i64.shl (i64.extend_i32_u (local.get $len)) (i64.const 1))
                        (local.get $dst) (i64.shl (i64.extend_i32_u (local.get $len)) (i64.const 1)))
    (if (call $validate_utf16 (local.get $src) (local.get $len))
      (then
        ;; Every unit is below 0x100: this copies all `len` of them.
        (drop (call $run_utf16_to_latin1 (local.get $src) (local.get $len) (local.get $dst)))
        (return (local.get $len))))
    (call $copy_units (local.get $dst) (local.get $src) (local.get $len))
    (i32.or (local.get $len) (i32.const 0x80000000)))
)
