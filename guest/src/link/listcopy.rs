//! Lists of plain data copied at memory speed: FACT's element-by-element
//! copy loop, where every element is plain bytes, becomes one
//! `memory.copy` between the two memories.
//!
//! FACT (wasmtime-environ 48 `fact/trampoline.rs`, `translate_list` and
//! `begin_translate_sequence` / `end_translate_sequence`) copies a
//! `list<T>` between two linear memories as:
//!
//! ```wat
//! block
//!   local.get $len  local.tee $n  i32.eqz  br_if 0
//!   local.get $src  local.set $cs  local.get $dst  local.set $cd
//!   loop
//!     ;; per field of T, at offset o, of width w:
//!     local.get $cd  local.get $cs  LOAD $S offset=o  STORE $D offset=o
//!     local.get $cs  i32.const SIZE  i32.add  local.set $cs
//!     local.get $cd  i32.const SIZE  i32.add  local.set $cd
//!     local.get $n  i32.const -1  i32.add  local.tee $n  br_if 0
//!   end
//! end
//! ```
//!
//! after checking, in full and before the loop, that `len * SIZE` fits in
//! 32 bits and that both byte ranges are in bounds and aligned
//! (`calculate_list_byte_len`, `validate_guest_pointer`): the loop cannot
//! trap. When the fields are plain loads and stores (`u8`…`u64`, `s8`…`s64`,
//! `f32`, `f64`: bits copied as they are; not `bool`, `char` or partial
//! `flags`, which FACT normalises or validates) that cover `[0, SIZE)`
//! without gaps (no padding: the loop would not write it), the loop copies
//! `n * SIZE` bytes from `$S` at `$cs` to `$D` at `$cd`, and a
//! `memory.copy` of them does the same, with the same (no) traps. The
//! locals end as the loop leaves them (`$cs`, `$cd` advanced, `$n` zero).
//!
//! `memory.copy` is a call into wasmtime (a libcall): below
//! [`MIN_BYTES`] the loop is kept, behind a test of the length. The
//! rewrite applies to FACT's adapter modules only (their loops come after
//! those checks), and only when `$S` and `$D` are different memories of
//! the fused module (in one memory, a destination that `realloc` put over
//! the source would be copied element by element, not as `memmove` does).

use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasm_encoder::{BlockType, Function, Instruction};
use wasmparser::{FunctionBody, Operator};

/// Lists of fewer bytes keep FACT's loop: `memory.copy` is a call into
/// wasmtime with a fixed cost, more than a loop of a few words
/// (`intrinsics/transcode.wat` copies strings of fewer than 256 bytes by
/// words for the same reason).
pub const MIN_BYTES: i32 = 64;

/// A matched copy loop: its operator range and what it copies.
#[derive(Debug, PartialEq, Eq)]
struct CopyLoop {
    /// Indices of its `loop` and of the `end` that closes it.
    start: usize,
    end: usize,
    /// The locals: remaining count, source and destination cursors.
    n: u32,
    cs: u32,
    cd: u32,
    /// The element size in bytes.
    size: u32,
    /// Source and destination memories (the module's indices).
    src_mem: u32,
    dst_mem: u32,
}

/// Emits FACT adapter function `body` through `map`, its plain-data copy
/// loops between different memories made `memory.copy`s.
///
/// # Errors
/// What `map` reports (an index it cannot map, an operator it cannot
/// encode), and malformed bodies.
pub fn emit_body<R: Reencode>(
    map: &mut R,
    body: &FunctionBody<'_>,
) -> Result<Function, ReencodeError<R::Error>> {
    let mut f = map.new_function_with_parsed_locals(body)?;
    let mut ops = Vec::new();
    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        ops.push(reader.read()?);
    }
    let mut i = 0;
    while i < ops.len() {
        if let Some(l) = match_loop(&ops, i) {
            let (src, dst) = (map.memory_index(l.src_mem)?, map.memory_index(l.dst_mem)?);
            if src != dst {
                for op in &ops[i..l.start] {
                    f.instruction(&map.instruction(op.clone())?);
                }
                emit_copy(map, &mut f, &ops[l.start..=l.end], &l, src, dst)?;
                i = l.end + 1;
                continue;
            }
        }
        f.instruction(&map.instruction(ops[i].clone())?);
        i += 1;
    }
    Ok(f)
}

/// `if (n * size >= MIN_BYTES) { memory.copy; cursors advanced; n = 0 }
/// else { the loop }`.
fn emit_copy<R: Reencode>(
    map: &mut R,
    f: &mut Function,
    lp: &[Operator<'_>],
    l: &CopyLoop,
    src: u32,
    dst: u32,
) -> Result<(), ReencodeError<R::Error>> {
    let size = l.size as i32;
    let bytes = [
        Instruction::LocalGet(l.n),
        Instruction::I32Const(size),
        Instruction::I32Mul,
    ];
    for i in &bytes {
        f.instruction(i);
    }
    for i in [
        Instruction::I32Const(MIN_BYTES),
        Instruction::I32GeU,
        Instruction::If(BlockType::Empty),
        Instruction::LocalGet(l.cd),
        Instruction::LocalGet(l.cs),
    ] {
        f.instruction(&i);
    }
    for i in &bytes {
        f.instruction(i);
    }
    f.instruction(&Instruction::MemoryCopy {
        src_mem: src,
        dst_mem: dst,
    });
    for cursor in [l.cs, l.cd] {
        f.instruction(&Instruction::LocalGet(cursor));
        for i in &bytes {
            f.instruction(i);
        }
        f.instruction(&Instruction::I32Add);
        f.instruction(&Instruction::LocalSet(cursor));
    }
    f.instruction(&Instruction::I32Const(0));
    f.instruction(&Instruction::LocalSet(l.n));
    f.instruction(&Instruction::Else);
    for op in lp {
        f.instruction(&map.instruction(op.clone())?);
    }
    f.instruction(&Instruction::End);
    Ok(())
}

/// The width in bytes of a plain load and its store, and their memory
/// arguments, when `load`, `store` copy bits as they are.
fn plain_pair(load: &Operator<'_>, store: &Operator<'_>) -> Option<(u32, MemArgs)> {
    use Operator as O;
    let (w, l, s) = match (load, store) {
        (O::I32Load8U { memarg: l } | O::I32Load8S { memarg: l }, O::I32Store8 { memarg: s }) => {
            (1, l, s)
        }
        (
            O::I32Load16U { memarg: l } | O::I32Load16S { memarg: l },
            O::I32Store16 { memarg: s },
        ) => (2, l, s),
        (O::I32Load { memarg: l }, O::I32Store { memarg: s })
        | (O::F32Load { memarg: l }, O::F32Store { memarg: s }) => (4, l, s),
        (O::I64Load { memarg: l }, O::I64Store { memarg: s })
        | (O::F64Load { memarg: l }, O::F64Store { memarg: s }) => (8, l, s),
        _ => return None,
    };
    Some((
        w,
        MemArgs {
            src: l.memory,
            dst: s.memory,
            offset: l.offset,
            same_offset: l.offset == s.offset,
        },
    ))
}

/// What a load/store pair reads and writes.
struct MemArgs {
    src: u32,
    dst: u32,
    offset: u64,
    same_offset: bool,
}

/// The copy loop whose `block` is `ops[at]`, if it is one (see the module
/// docs for the shape).
fn match_loop(ops: &[Operator<'_>], at: usize) -> Option<CopyLoop> {
    use Operator as O;
    let op = |k: usize| ops.get(at + k);
    // The guard: the count in `n`, nothing to do when zero.
    let (O::Block { blockty }, Some(O::LocalGet { .. })) = (op(0)?, op(1)) else {
        return None;
    };
    if *blockty != wasmparser::BlockType::Empty {
        return None;
    }
    let n = match (op(2)?, op(3)?, op(4)?) {
        (O::LocalTee { local_index }, O::I32Eqz, O::BrIf { relative_depth: 0 }) => *local_index,
        _ => return None,
    };
    let (cs, cd) = match (op(5)?, op(6)?, op(7)?, op(8)?) {
        (
            O::LocalGet { .. },
            O::LocalSet { local_index: cs },
            O::LocalGet { .. },
            O::LocalSet { local_index: cd },
        ) => (*cs, *cd),
        _ => return None,
    };
    let O::Loop {
        blockty: wasmparser::BlockType::Empty,
    } = op(9)?
    else {
        return None;
    };
    if n == cs || n == cd || cs == cd {
        return None;
    }
    // The fields.
    let mut k = 10;
    let mut fields: Vec<(u64, u32)> = Vec::new();
    let mut mems = None;
    while let (Some(O::LocalGet { local_index: d }), Some(O::LocalGet { local_index: s })) =
        (op(k), op(k + 1))
    {
        if (*d, *s) != (cd, cs) {
            return None;
        }
        let (w, m) = plain_pair(op(k + 2)?, op(k + 3)?)?;
        if !m.same_offset || *mems.get_or_insert((m.src, m.dst)) != (m.src, m.dst) {
            return None;
        }
        fields.push((m.offset, w));
        k += 4;
    }
    let (src_mem, dst_mem) = mems?;
    // The steps, the count, the back edge, the two `end`s.
    let step = |k: usize, local: u32| -> Option<u32> {
        match (op(k)?, op(k + 1)?, op(k + 2)?, op(k + 3)?) {
            (
                O::LocalGet { local_index: a },
                O::I32Const { value },
                O::I32Add,
                O::LocalSet { local_index: b },
            ) if *a == local && *b == local && *value > 0 => Some(*value as u32),
            _ => None,
        }
    };
    let size = step(k, cs)?;
    if step(k + 4, cd)? != size {
        return None;
    }
    k += 8;
    match (op(k)?, op(k + 1)?, op(k + 2)?, op(k + 3)?, op(k + 4)?) {
        (
            O::LocalGet { local_index: a },
            O::I32Const { value: -1 },
            O::I32Add,
            O::LocalTee { local_index: b },
            O::BrIf { relative_depth: 0 },
        ) if *a == n && *b == n => {}
        _ => return None,
    }
    let end = at + k + 5;
    if !matches!((ops.get(end)?, ops.get(end + 1)?), (O::End, O::End)) {
        return None;
    }
    // The fields cover the element, without gaps or overlaps.
    fields.sort_unstable();
    let mut next = 0u64;
    for (offset, w) in fields {
        if offset != next {
            return None;
        }
        next += u64::from(w);
    }
    if next != u64::from(size) {
        return None;
    }
    Some(CopyLoop {
        start: at + 9,
        end,
        n,
        cs,
        cd,
        size,
        src_mem,
        dst_mem,
    })
}

#[cfg(test)]
mod tests;
