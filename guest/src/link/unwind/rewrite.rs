//! The rewriter: one function body made able to unwind at its call sites
//! and to rewind to any of them (see the module docs of [`super`] for the
//! protocol).
//!
//! Binaryen's Asyncify flattens a function before instrumenting it; this
//! rewriter works on the operators as they are, with `wasmparser`'s
//! [`FuncValidator`] giving the type of every operand:
//!
//! - the body is cut into *segments*, maximal runs of operators holding no
//!   call site and no construct that holds one; a segment runs only in the
//!   normal state (`if (state == normal) … end`, the state read into a
//!   local on entry and after each call site: only a call changes it), so
//!   it must leave the
//!   operand stack as it found it: the values of the current construct are
//!   reloaded from locals when a segment opens and spilled to locals (one
//!   per stack position and type) when it closes; constants at the top of
//!   the stack are not spilled but emitted again (FACT's `ref.null func`
//!   arguments of `[start-call]`);
//! - a *call site* runs in the normal state and, when rewinding, if it is
//!   the one the unwind left from (`k == K`); its arguments are reloaded
//!   from their locals (a `local.get` or constant pushed right before is
//!   pushed again), its results spilled; when the callee unwinds, `K` goes
//!   to local `k` and the function branches out to its epilogue;
//! - a construct holding a call site (*marked*) becomes `[] -> []`; the
//!   values a branch carries to it, and its results, go through locals of
//!   its own; an `if` reads its condition from a local of its own, so that
//!   a rewind takes the branch the unwind left;
//! - the epilogue stores `k` and the locals a rewind needs (those live
//!   after some call site, see [`live`], its arguments' and the conditions
//!   of the `if`s around it) in the task's buffer, then returns zeros; the
//!   prologue, when rewinding, loads them back.
//!
//! The body is written twice over the same locals: guarded as above,
//! entered only when rewinding (a rewound function finishes in it), and
//! without guards, entered in the normal state, where every guard would
//! pass: there a call site costs one read of the state after the call.
//!
//! Dead code (after an unconditional branch, until the end of its
//! construct) is dropped: it cannot run, and its operand typing would not
//! survive constructs becoming `[] -> []`.

use super::{Error, live};
use std::collections::{HashMap, HashSet};
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{BlockType, Encode, Instruction, MemArg};
use wasmparser::{
    FuncToValidate, FuncValidator, FunctionBody, Operator, ValType, ValidatorResources,
    WasmModuleResources,
};

/// The module-level facts the rewriter needs.
pub(super) struct Context<'m> {
    /// Global holding the state: 0 normal, 1 unwinding, 2 rewinding.
    pub state: u32,
    /// Global holding the address of the current buffer's descriptor
    /// (`{cur: i32, end: i32}`) in `memory`.
    pub data: u32,
    /// The memory of the buffers.
    pub memory: u32,
    /// Functions a call site may call (instrumented ones and blockers).
    pub unwinding: &'m HashSet<u32>,
    /// Indirect calls (type index, table or none for `call_ref`) that may
    /// reach one of `unwinding`.
    pub unwinding_indirect: &'m HashSet<(u32, Option<u32>)>,
}

/// A value of the operand stack kept while no segment runs.
#[derive(Clone)]
enum Loc {
    /// In a local.
    Local(u32),
    /// A constant, emitted again where it is needed.
    Const(Instruction<'static>),
}

/// An original control frame.
struct Frame {
    /// Holds a call site.
    marked: bool,
    /// The emitted nesting depth of its label.
    label: u32,
    /// Locals receiving the values a branch carries to it (marked only).
    carry: Vec<u32>,
    /// Locals receiving its results at its end (marked only).
    results: Vec<u32>,
    /// The local holding its condition (a marked `if`).
    cond: Option<u32>,
}

/// The rewritten body and what it took.
pub(super) struct Rewritten {
    /// The new body, locals included.
    pub function: wasm_encoder::Function,
    /// Its call sites.
    pub call_sites: u32,
}

/// Rewrites function `index` (`func`, `body`).
pub(super) fn rewrite(
    cx: &Context<'_>,
    func: FuncToValidate<ValidatorResources>,
    body: &FunctionBody<'_>,
) -> Result<Rewritten, Error> {
    let index = func.index;
    let (params, results) = {
        let r = &func.resources;
        let id = r
            .type_id_of_function(index)
            .ok_or_else(|| Error::invalid(index, "no type"))?;
        let ty = r.sub_type_at_id(id).unwrap_func();
        (ty.params().to_vec(), ty.results().to_vec())
    };
    let mut ops = Vec::new();
    let mut reader = body
        .get_operators_reader()
        .map_err(|e| Error::parse(index, e))?;
    while !reader.eof() {
        let (op, offset) = reader
            .read_with_offset()
            .map_err(|e| Error::parse(index, e))?;
        ops.push((op, offset));
    }
    // A reference cannot be stored in the buffer: a local of a reference
    // type is kept only when nothing reads it (FACT's `[start-call]`
    // shims take the callee's `funcref` and ignore it).
    let read: HashSet<u32> = ops
        .iter()
        .filter_map(|(op, _)| match op {
            Operator::LocalGet { local_index } | Operator::LocalTee { local_index } => {
                Some(*local_index)
            }
            _ => None,
        })
        .collect();
    let marked = mark(cx, index, &ops)?;
    // The body twice, over the same locals: without guards, entered in the
    // normal state, and guarded, entered when rewinding.
    let mut bodies = Vec::new();
    for guards in [false, true] {
        let func = FuncToValidate {
            resources: func.resources.clone(),
            index,
            ty: func.ty,
            features: func.features,
        };
        let w = Writer::run(cx, func, body, &params, &results, &ops, &marked, guards)?;
        bodies.push(w);
    }
    let [mut w, mut slow] =
        <[Writer<'_, '_>; 2]>::try_from(bodies).map_err(|_| Error::invalid(index, "two bodies"))?;
    if w.locals != slow.locals || w.call_sites != slow.call_sites {
        return Err(Error::invalid(index, "the two bodies' locals differ"));
    }
    if (0..w.locals.len() as u32)
        .any(|l| w.locals[l as usize].is_reference_type() && read.contains(&l))
    {
        return Err(Error::unsupported(
            index,
            0,
            "a local of a reference type that is read",
        ));
    }
    let body_results = w.body_results.clone();
    // The record: what the body without guards reads after an exit, what
    // the guarded body reads on its way back to a call site (the call's
    // arguments, the conditions of the `if`s around it) and `k`.
    let results_live = {
        let mut l = live::Locals::default();
        for &r in &body_results {
            l.insert(r);
        }
        l
    };
    let live = live::at_exits(
        index,
        &w.out,
        &w.exits,
        [live::Locals::default(), results_live.clone(), results_live],
    )?;
    // The pointer into the buffer, used by the prologue and epilogue only.
    let p = w.new_local(ValType::I32);
    let saved: Vec<(u32, ValType, u64)> = {
        let mut at = 0u64;
        let mut out = Vec::new();
        for (l, t) in w.locals.iter().enumerate() {
            let l32 = l as u32;
            if !(live.contains(l32) || w.kept.contains(&l32) || l32 == w.k) {
                continue;
            }
            // The state's copy is read on entry; a reference (never read,
            // see above) stays null.
            if l32 == w.st || t.is_reference_type() {
                continue;
            }
            out.push((l as u32, *t, at));
            at += size_of(*t);
        }
        out
    };
    let size = saved.iter().map(|(_, t, _)| size_of(*t)).sum::<u64>();
    let size = i32::try_from(size)
        .map_err(|_| Error::unsupported(index, 0, "more locals than a buffer record holds"))?;
    let m = cx.memory;
    let mut f = wasm_encoder::Function::new_with_locals_types(
        w.locals[params.len()..]
            .iter()
            .map(|t| RoundtripReencoder.val_type(*t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::invalid(index, &e.to_string()))?,
    );
    // Prologue: the state, in a local (it changes only across call
    // sites). On entry it is normal or rewinding, never unwinding: normal,
    // the body without guards runs (first, so that it is laid out next to
    // the entry); rewinding, this function's record is popped and the
    // guarded body runs.
    let mut pre = Vec::new();
    for i in [
        Instruction::GlobalGet(cx.state),
        Instruction::LocalSet(w.st),
        Instruction::Block(BlockType::Empty), // $unwind
        Instruction::Block(BlockType::Empty), // $body
        Instruction::LocalGet(w.st),
        Instruction::I32Eqz,
        Instruction::If(BlockType::Empty),
    ] {
        i.encode(&mut pre);
    }
    // Each body ends with the `end` of the function's frame: here, the
    // first one's becomes the `else`, the other's ends the `if`.
    let mut end = Vec::new();
    Instruction::End.encode(&mut end);
    let ends = |b: &[u8]| b.ends_with(&end);
    if !ends(&slow.out) || !ends(&w.out) {
        return Err(Error::invalid(index, "a body without its `end`"));
    }
    w.out.pop();
    Instruction::Else.encode(&mut w.out);
    for i in [
        Instruction::GlobalGet(cx.data),
        Instruction::GlobalGet(cx.data),
        Instruction::I32Load(mem(m, 0)),
        Instruction::I32Const(size),
        Instruction::I32Sub,
        Instruction::LocalTee(p),
        Instruction::I32Store(mem(m, 0)),
    ] {
        i.encode(&mut w.out);
    }
    for &(l, t, at) in &saved {
        Instruction::LocalGet(p).encode(&mut w.out);
        load(t, mem(m, at)).encode(&mut w.out);
        Instruction::LocalSet(l).encode(&mut w.out);
    }
    f.raw(pre);
    f.raw(std::mem::take(&mut w.out));
    f.raw(std::mem::take(&mut slow.out));
    let mut post = Vec::new();
    Instruction::End.encode(&mut post); // $body
    // After $body: the results, from their locals.
    for &l in &body_results {
        Instruction::LocalGet(l).encode(&mut post);
    }
    Instruction::Return.encode(&mut post);
    Instruction::End.encode(&mut post); // $unwind
    // Epilogue: push this function's record, bounds checked.
    for i in [
        Instruction::GlobalGet(cx.data),
        Instruction::I32Load(mem(m, 0)),
        Instruction::LocalTee(p),
        Instruction::I32Const(size),
        Instruction::I32Add,
        Instruction::GlobalGet(cx.data),
        Instruction::I32Load(mem(m, 4)),
        Instruction::I32GtU,
        Instruction::If(BlockType::Empty),
        Instruction::Unreachable,
        Instruction::End,
    ] {
        i.encode(&mut post);
    }
    for &(l, t, at) in &saved {
        Instruction::LocalGet(p).encode(&mut post);
        Instruction::LocalGet(l).encode(&mut post);
        store(t, mem(m, at)).encode(&mut post);
    }
    for i in [
        Instruction::GlobalGet(cx.data),
        Instruction::LocalGet(p),
        Instruction::I32Const(size),
        Instruction::I32Add,
        Instruction::I32Store(mem(m, 0)),
    ] {
        i.encode(&mut post);
    }
    for t in &results {
        zero(index, *t)?.encode(&mut post);
    }
    Instruction::End.encode(&mut post);
    f.raw(post);
    Ok(Rewritten {
        function: f,
        call_sites: w.call_sites,
    })
}

/// The constructs (by operator index) that hold a call site.
fn mark(
    cx: &Context<'_>,
    index: u32,
    ops: &[(Operator<'_>, usize)],
) -> Result<HashSet<usize>, Error> {
    let mut open: Vec<usize> = Vec::new();
    let mut marked = HashSet::new();
    for (i, (op, offset)) in ops.iter().enumerate() {
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => open.push(i),
            Operator::Try { .. } => {
                return Err(Error::unsupported(
                    index,
                    *offset,
                    "legacy exception handling",
                ));
            }
            Operator::End => {
                open.pop();
            }
            Operator::Catch { .. }
            | Operator::CatchAll
            | Operator::Delegate { .. }
            | Operator::Rethrow { .. } => {
                return Err(Error::unsupported(
                    index,
                    *offset,
                    "legacy exception handling",
                ));
            }
            _ => {}
        }
        match call_site(cx, op) {
            Site::No => {}
            Site::Yes => marked.extend(open.iter().copied()),
            Site::Unsupported(what) => return Err(Error::unsupported(index, *offset, what)),
        }
    }
    for &i in &marked {
        let (op, offset) = &ops[i];
        if matches!(op, Operator::TryTable { .. }) {
            return Err(Error::unsupported(
                index,
                *offset,
                "a call that may unwind inside `try`",
            ));
        }
    }
    Ok(marked)
}

enum Site {
    No,
    Yes,
    Unsupported(&'static str),
}

/// Whether `op` is a call site: a call that may reach a function that may
/// unwind. Tail calls and `call_ref`s that may are not handled.
fn call_site(cx: &Context<'_>, op: &Operator<'_>) -> Site {
    let indirect = |ty: u32, table: Option<u32>| cx.unwinding_indirect.contains(&(ty, table));
    let (may_unwind, handled) = match op {
        Operator::Call { function_index } => (cx.unwinding.contains(function_index), true),
        Operator::CallIndirect {
            type_index,
            table_index,
        } => (indirect(*type_index, Some(*table_index)), true),
        Operator::ReturnCall { function_index } => (cx.unwinding.contains(function_index), false),
        Operator::ReturnCallIndirect {
            type_index,
            table_index,
        } => (indirect(*type_index, Some(*table_index)), false),
        Operator::CallRef { type_index } | Operator::ReturnCallRef { type_index } => {
            (indirect(*type_index, None), false)
        }
        _ => return Site::No,
    };
    match (may_unwind, handled) {
        (false, _) => Site::No,
        (true, true) => Site::Yes,
        (true, false) => Site::Unsupported("a tail call or `call_ref` that may unwind"),
    }
}

/// Where the running segment's code is in `out`.
#[derive(Default)]
struct Segment {
    /// Its guard's first byte.
    start: usize,
    /// The first byte after the reloads.
    body: usize,
    /// The values it reloaded, as they were.
    reloaded: Vec<Loc>,
}

struct Writer<'c, 'm> {
    cx: &'c Context<'m>,
    index: u32,
    v: FuncValidator<ValidatorResources>,
    out: Vec<u8>,
    /// Emitted nesting depth (2 inside `$unwind` and `$body`).
    edepth: u32,
    frames: Vec<Frame>,
    /// The operand stack below the running segment (all of it when no
    /// segment runs), by position.
    virt: Vec<Loc>,
    /// A segment runs.
    open: bool,
    /// The rest of the current construct is dead.
    dead: bool,
    /// Constructs opened within dead code.
    dead_depth: u32,
    /// Constants pushed last in the running segment, in order, with the
    /// offset in `out` where each begins.
    trailing: Vec<(Instruction<'static>, usize)>,
    /// The running segment.
    segment: Segment,
    /// The local of each (stack position, type).
    spill: HashMap<(usize, ValType), u32>,
    /// Every local's type, parameters first.
    locals: Vec<ValType>,
    /// The local holding the call site an unwind left from.
    k: u32,
    /// A scratch `i32` (conditions of `br_if`).
    scratch: u32,
    /// The state, read on entry and normal after every call site that
    /// returns (the global changes only across call sites).
    st: u32,
    call_sites: u32,
    /// Segments and call sites are guarded by the state: false in the
    /// body entered in the normal state (every guard would pass).
    guards: bool,
    /// The locals of the function's results.
    body_results: Vec<u32>,
    /// Where each unwind exit begins in `out` (its `global.get`).
    exits: Vec<usize>,
    /// Locals the guarded body reads on its way back to a call site.
    kept: HashSet<u32>,
}

impl<'c, 'm> Writer<'c, 'm> {
    /// Writes the body of function `func.index` (`body`, its operators
    /// `ops`, its marked constructs `marked`), guarded or not.
    #[allow(clippy::too_many_arguments)]
    fn run(
        cx: &'c Context<'m>,
        func: FuncToValidate<ValidatorResources>,
        body: &FunctionBody<'_>,
        params: &[ValType],
        results: &[ValType],
        ops: &[(Operator<'_>, usize)],
        marked: &HashSet<usize>,
        guards: bool,
    ) -> Result<Self, Error> {
        let index = func.index;
        let mut v = func.into_validator(Default::default());
        let mut locals: Vec<ValType> = params.to_vec();
        let mut reader = body
            .get_locals_reader()
            .map_err(|e| Error::parse(index, e))?;
        for _ in 0..reader.get_count() {
            let offset = reader.original_position();
            let (count, ty) = reader.read().map_err(|e| Error::parse(index, e))?;
            v.define_locals(offset, count, ty)
                .map_err(|e| Error::parse(index, e))?;
            locals.extend(std::iter::repeat_n(ty, count as usize));
        }
        let mut w = Writer {
            cx,
            index,
            v,
            out: Vec::new(),
            edepth: 3,
            frames: Vec::new(),
            virt: Vec::new(),
            open: false,
            dead: false,
            dead_depth: 0,
            trailing: Vec::new(),
            segment: Segment::default(),
            spill: HashMap::new(),
            locals,
            k: 0,
            scratch: 0,
            st: 0,
            call_sites: 0,
            guards,
            body_results: Vec::new(),
            exits: Vec::new(),
            kept: HashSet::new(),
        };
        w.k = w.new_local(ValType::I32);
        w.scratch = w.new_local(ValType::I32);
        w.st = w.new_local(ValType::I32);
        w.body_results = results.iter().map(|t| w.new_local(*t)).collect();
        w.frames.push(Frame {
            marked: true,
            label: 2,
            carry: w.body_results.clone(),
            results: w.body_results.clone(),
            cond: None,
        });
        for (i, (op, offset)) in ops.iter().enumerate() {
            w.op(i, op, *offset, marked)?;
        }
        Ok(w)
    }

    fn new_local(&mut self, t: ValType) -> u32 {
        self.locals.push(t);
        self.locals.len() as u32 - 1
    }

    fn emit(&mut self, i: Instruction<'_>) {
        i.encode(&mut self.out);
    }

    fn feed(&mut self, op: &Operator<'_>, offset: usize) -> Result<(), Error> {
        self.v
            .op(offset, op)
            .map_err(|e| Error::parse(self.index, e))
    }

    /// Operand stack height of the validator.
    fn height(&self) -> usize {
        self.v.operand_stack_height() as usize
    }

    /// Base height of the innermost frame.
    fn base(&self) -> usize {
        self.v.get_control_frame(0).map_or(0, |f| f.height)
    }

    fn frame_unreachable(&self) -> bool {
        self.v.get_control_frame(0).is_some_and(|f| f.unreachable)
    }

    fn unsupported(&self, offset: usize, what: &'static str) -> Error {
        Error::unsupported(self.index, offset, what)
    }

    /// Opens a segment: reloads the current construct's values.
    fn open(&mut self) {
        if self.open {
            return;
        }
        let start = self.out.len();
        if self.guards {
            for i in [
                Instruction::LocalGet(self.st),
                Instruction::I32Eqz,
                Instruction::If(BlockType::Empty),
            ] {
                self.emit(i);
            }
            self.edepth += 1;
        }
        let base = self.base();
        let values: Vec<Loc> = self.virt.drain(base.min(self.virt.len())..).collect();
        for loc in &values {
            self.load_loc(loc);
        }
        self.segment = Segment {
            start,
            body: self.out.len(),
            reloaded: values,
        };
        self.open = true;
        self.trailing.clear();
    }

    fn load_loc(&mut self, loc: &Loc) {
        match loc {
            Loc::Local(l) => self.emit(Instruction::LocalGet(*l)),
            Loc::Const(i) => self.emit(i.clone()),
        }
    }

    /// The local of stack position `pos` and type `t`.
    fn spill_local(&mut self, pos: usize, t: ValType) -> u32 {
        if let Some(&l) = self.spill.get(&(pos, t)) {
            return l;
        }
        let l = self.new_local(t);
        self.spill.insert((pos, t), l);
        l
    }

    /// Closes the running segment: spills the current construct's values.
    fn close(&mut self, offset: usize) -> Result<(), Error> {
        self.close_skipping(offset, 0, 0)
    }

    /// Closes the running segment when the `taken` top operands the
    /// validator still counts were consumed by emitted code (an `if`'s
    /// condition, a construct's results): spills the others. The `args`
    /// top operands are a call site's arguments, taken right after: a
    /// `local.get` pushed last among them is read again there instead
    /// (nothing can change the local in between).
    fn close_skipping(&mut self, offset: usize, taken: usize, args: usize) -> Result<(), Error> {
        if !self.open {
            return Ok(());
        }
        if !self.frame_unreachable() {
            let base = self.base();
            let h = self.height() - taken;
            let n = h - base;
            let kept = self.trailing.len().saturating_sub(taken);
            let trailing: Vec<(Instruction<'static>, usize)> = self.trailing[..kept].to_vec();
            let consts = trailing
                .iter()
                .rev()
                .enumerate()
                .take_while(|(depth, (i, _))| {
                    !matches!(i, Instruction::LocalGet(_)) || *depth < args
                })
                .count()
                .min(n);
            // Constants pushed last are emitted again where they are
            // needed; when nothing follows them here, not emitted here.
            let cut = taken == 0 && consts > 0;
            if cut {
                self.out.truncate(trailing[trailing.len() - consts].1);
            }
            let const_locs =
                |depth: usize| Loc::Const(trailing[trailing.len() - 1 - depth].0.clone());
            if cut
                && consts == n - self.segment.reloaded.len()
                && self.out.len() == self.segment.body
            {
                // The segment only reloaded values and pushed constants:
                // it goes, and the values stay where they were.
                self.out.truncate(self.segment.start);
                self.virt.truncate(base);
                let reloaded = std::mem::take(&mut self.segment.reloaded);
                self.virt.extend(reloaded);
                self.virt.extend((0..consts).rev().map(const_locs));
                if self.guards {
                    self.edepth -= 1;
                }
                self.open = false;
                self.trailing.clear();
                return Ok(());
            }
            let mut locs = vec![Loc::Local(0); n];
            for depth in 0..n {
                let pos = h - 1 - depth;
                let t = match self.v.get_operand_type(depth + taken) {
                    Some(Some(t)) => t,
                    _ => return Err(Error::invalid(self.index, "operand of unknown type")),
                };
                if depth < consts {
                    if !cut {
                        self.emit(Instruction::Drop);
                    }
                    locs[pos - base] = const_locs(depth);
                    continue;
                }
                if t.is_reference_type() {
                    return Err(
                        self.unsupported(offset, "a reference kept across a call that may unwind")
                    );
                }
                let l = self.spill_local(pos, t);
                self.emit(Instruction::LocalSet(l));
                locs[pos - base] = Loc::Local(l);
            }
            self.virt.truncate(base);
            self.virt.extend(locs);
        }
        if self.guards {
            self.emit(Instruction::End);
            self.edepth -= 1;
        }
        self.open = false;
        self.trailing.clear();
        Ok(())
    }

    /// One operator.
    fn op(
        &mut self,
        i: usize,
        op: &Operator<'_>,
        offset: usize,
        marked: &HashSet<usize>,
    ) -> Result<(), Error> {
        let structural_start = matches!(
            op,
            Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::If { .. }
                | Operator::Try { .. }
                | Operator::TryTable { .. }
        );
        if self.dead {
            // Dropped: only the end (or `else`) of the dead construct is
            // handled, below.
            match op {
                _ if structural_start => {
                    self.dead_depth += 1;
                    return self.feed(op, offset);
                }
                Operator::End if self.dead_depth > 0 => {
                    self.dead_depth -= 1;
                    return self.feed(op, offset);
                }
                Operator::End => {}
                Operator::Else if self.dead_depth == 0 => {}
                _ => return self.feed(op, offset),
            }
        }
        match op {
            Operator::Else => self.else_(op, offset),
            Operator::End => self.end(op, offset),
            _ if structural_start && marked.contains(&i) => self.marked_start(op, offset),
            _ if matches!(call_site(self.cx, op), Site::Yes) => self.call_site(op, offset),
            _ => {
                self.open();
                self.verbatim(op, offset)?;
                if structural_start {
                    self.edepth += 1;
                    let label = self.edepth;
                    self.frames.push(Frame {
                        marked: false,
                        label,
                        carry: Vec::new(),
                        results: Vec::new(),
                        cond: None,
                    });
                }
                if self.frame_unreachable() {
                    self.dead = true;
                    self.dead_depth = 0;
                }
                Ok(())
            }
        }
    }

    /// Emits `op` (inside a running segment, or an unmarked construct),
    /// its branch depths mapped, and feeds it to the validator.
    fn verbatim(&mut self, op: &Operator<'_>, offset: usize) -> Result<(), Error> {
        let at = self.out.len();
        match op {
            Operator::Br { relative_depth } => self.branch(*relative_depth, false, offset)?,
            Operator::BrIf { relative_depth } => self.branch(*relative_depth, true, offset)?,
            Operator::BrTable { targets } => {
                let mut mapped = Vec::new();
                for t in targets.targets() {
                    let t = t.map_err(|e| Error::parse(self.index, e))?;
                    mapped.push(self.target(t, offset)?);
                }
                let default = self.target(targets.default(), offset)?;
                self.emit(Instruction::BrTable(mapped.into(), default));
            }
            Operator::BrOnNull { relative_depth }
            | Operator::BrOnNonNull { relative_depth }
            | Operator::BrOnCast { relative_depth, .. }
            | Operator::BrOnCastFail { relative_depth, .. }
            | Operator::Delegate { relative_depth }
            | Operator::Rethrow { relative_depth } => {
                if self.frame(*relative_depth).marked {
                    return Err(self.unsupported(
                        offset,
                        "a branch of this kind out of a construct with a call that may unwind",
                    ));
                }
                self.reencoded(op)?;
            }
            _ => self.reencoded(op)?,
        }
        match constant(op) {
            Some(c) => self.trailing.push((c, at)),
            None => self.trailing.clear(),
        }
        self.feed(op, offset)
    }

    fn reencoded(&mut self, op: &Operator<'_>) -> Result<(), Error> {
        let i = RoundtripReencoder
            .instruction(op.clone())
            .map_err(|e| Error::invalid(self.index, &e.to_string()))?;
        self.emit(i);
        Ok(())
    }

    fn frame(&self, relative_depth: u32) -> &Frame {
        &self.frames[self.frames.len() - 1 - relative_depth as usize]
    }

    /// The emitted depth of a branch to original `relative_depth`; a
    /// marked target must carry no value (`br_table`).
    fn target(&self, relative_depth: u32, offset: usize) -> Result<u32, Error> {
        let f = self.frame(relative_depth);
        if f.marked && !f.carry.is_empty() {
            return Err(self.unsupported(
                offset,
                "`br_table` carrying values out of a construct with a call that may unwind",
            ));
        }
        Ok(self.edepth - f.label)
    }

    /// `br` / `br_if`: the values a marked target takes go to its locals.
    fn branch(
        &mut self,
        relative_depth: u32,
        conditional: bool,
        _offset: usize,
    ) -> Result<(), Error> {
        let f = self.frame(relative_depth);
        let depth = self.edepth - f.label;
        let carry = if f.marked {
            f.carry.clone()
        } else {
            Vec::new()
        };
        if carry.is_empty() {
            self.emit(if conditional {
                Instruction::BrIf(depth)
            } else {
                Instruction::Br(depth)
            });
            return Ok(());
        }
        if conditional {
            self.emit(Instruction::LocalSet(self.scratch));
        }
        for &l in carry.iter().rev() {
            self.emit(Instruction::LocalSet(l));
        }
        if conditional {
            for &l in &carry {
                self.emit(Instruction::LocalGet(l));
            }
            self.emit(Instruction::LocalGet(self.scratch));
            self.emit(Instruction::BrIf(depth));
        } else {
            self.emit(Instruction::Br(depth));
        }
        Ok(())
    }

    /// A construct holding a call site begins.
    fn marked_start(&mut self, op: &Operator<'_>, offset: usize) -> Result<(), Error> {
        let bt = match op {
            Operator::Block { blockty } | Operator::Loop { blockty } | Operator::If { blockty } => {
                *blockty
            }
            // `mark` refuses a marked `try_table`, and marks nothing else.
            _ => {
                return Err(Error::invalid(
                    self.index,
                    "a marked construct of another kind",
                ));
            }
        };
        let (params, results) = self.block_type(bt)?;
        if !params.is_empty() {
            return Err(self.unsupported(
                offset,
                "a construct with parameters holding a call that may unwind",
            ));
        }
        let cond = if matches!(op, Operator::If { .. }) {
            let c = self.new_local(ValType::I32);
            self.open();
            self.emit(Instruction::LocalSet(c));
            self.close_skipping(offset, 1, 0)?;
            Some(c)
        } else {
            self.close(offset)?;
            None
        };
        self.feed(op, offset)?;
        let results_locals: Vec<u32> = results.iter().map(|t| self.new_local(*t)).collect();
        match (op, cond) {
            (Operator::If { .. }, Some(c)) => {
                self.emit(Instruction::LocalGet(c));
                self.emit(Instruction::If(BlockType::Empty));
            }
            (Operator::Loop { .. }, _) => self.emit(Instruction::Loop(BlockType::Empty)),
            _ => self.emit(Instruction::Block(BlockType::Empty)),
        }
        self.edepth += 1;
        let carry = if matches!(op, Operator::Loop { .. }) {
            Vec::new()
        } else {
            results_locals.clone()
        };
        self.frames.push(Frame {
            marked: true,
            label: self.edepth,
            carry,
            results: results_locals,
            cond,
        });
        Ok(())
    }

    /// Parameter and result types of a block type.
    fn block_type(&self, bt: wasmparser::BlockType) -> Result<(Vec<ValType>, Vec<ValType>), Error> {
        Ok(match bt {
            wasmparser::BlockType::Empty => (Vec::new(), Vec::new()),
            wasmparser::BlockType::Type(t) => (Vec::new(), vec![t]),
            wasmparser::BlockType::FuncType(idx) => {
                let ty = self
                    .v
                    .resources()
                    .sub_type_at(idx)
                    .ok_or_else(|| Error::invalid(self.index, "block type"))?
                    .unwrap_func();
                (ty.params().to_vec(), ty.results().to_vec())
            }
        })
    }

    /// The values a marked construct falls through with go to its result
    /// locals; the running segment closes.
    fn finish_marked(&mut self, offset: usize) -> Result<(), Error> {
        let results = self
            .frames
            .last()
            .map(|f| f.results.clone())
            .unwrap_or_default();
        if !self.dead && !self.frame_unreachable() {
            self.open();
            for &l in results.iter().rev() {
                self.emit(Instruction::LocalSet(l));
            }
            self.close_skipping(offset, results.len(), 0)?;
        } else {
            self.close(offset)?;
        }
        Ok(())
    }

    fn else_(&mut self, op: &Operator<'_>, offset: usize) -> Result<(), Error> {
        if self.frames.last().is_some_and(|f| f.marked) {
            self.finish_marked(offset)?;
            self.emit(Instruction::Else);
            self.feed(op, offset)?;
            self.dead = false;
            let base = self.base();
            self.virt.truncate(base);
            return Ok(());
        }
        self.dead = false;
        self.emit(Instruction::Else);
        self.trailing.clear();
        self.feed(op, offset)
    }

    fn end(&mut self, op: &Operator<'_>, offset: usize) -> Result<(), Error> {
        let frame_marked = self.frames.last().is_some_and(|f| f.marked);
        if frame_marked {
            self.finish_marked(offset)?;
            self.emit(Instruction::End);
            self.edepth -= 1;
            self.feed(op, offset)?;
            let f = self
                .frames
                .pop()
                .ok_or_else(|| Error::invalid(self.index, "an `end` without a construct"))?;
            self.dead = false;
            self.dead_depth = 0;
            if !self.frames.is_empty() {
                let base = self.base();
                let h = self.height();
                self.virt.truncate(h - f.results.len());
                debug_assert!(self.virt.len() >= base);
                self.virt.extend(f.results.iter().map(|l| Loc::Local(*l)));
            }
            return Ok(());
        }
        self.emit(Instruction::End);
        self.edepth -= 1;
        self.trailing.clear();
        self.feed(op, offset)?;
        self.frames.pop();
        self.dead = false;
        self.dead_depth = 0;
        Ok(())
    }

    /// A call that may unwind.
    fn call_site(&mut self, op: &Operator<'_>, offset: usize) -> Result<(), Error> {
        let (params, results) = self.call_type(op)?;
        self.close_skipping(offset, 0, params.len())?;
        let h = self.virt.len();
        let args = params.len();
        if h < args || h != self.height() {
            return Err(Error::invalid(self.index, "call arguments"));
        }
        let site = self.call_sites as i32;
        self.call_sites += 1;
        let arg_locs: Vec<Loc> = self.virt[h - args..].to_vec();
        let base_pos = h - args;
        let locs: Vec<u32> = results
            .iter()
            .enumerate()
            .map(|(j, t)| self.spill_local(base_pos + j, *t))
            .collect();
        if self.guards {
            // Runs in the normal state, or when rewinding if it is the
            // call site the unwind left from.
            for i in [
                Instruction::LocalGet(self.st),
                Instruction::I32Eqz,
                Instruction::LocalGet(self.k),
                Instruction::I32Const(site),
                Instruction::I32Eq,
                Instruction::I32Or,
                Instruction::If(BlockType::Empty),
            ] {
                self.emit(i);
            }
            self.edepth += 1;
        }
        for loc in &arg_locs {
            self.load_loc(loc);
        }
        self.reencoded(op)?;
        // After a call the state is normal or unwinding (a rewind ends in
        // the blocker it left from): unwinding, `k` names this call site
        // and the function branches to `$unwind` (label 1).
        self.exits.push(self.out.len());
        self.kept.extend(arg_locs.iter().filter_map(|l| match l {
            Loc::Local(l) | Loc::Const(Instruction::LocalGet(l)) => Some(*l),
            Loc::Const(_) => None,
        }));
        self.kept.extend(self.frames.iter().filter_map(|f| f.cond));
        self.emit(Instruction::GlobalGet(self.cx.state));
        self.emit(Instruction::If(BlockType::Empty));
        self.emit(Instruction::I32Const(site));
        self.emit(Instruction::LocalSet(self.k));
        self.emit(Instruction::Br(self.edepth));
        self.emit(Instruction::End);
        if self.guards {
            // The call returned without unwinding: a rewind is over.
            self.emit(Instruction::I32Const(0));
            self.emit(Instruction::LocalSet(self.st));
        }
        for &l in locs.iter().rev() {
            self.emit(Instruction::LocalSet(l));
        }
        if self.guards {
            self.emit(Instruction::End);
            self.edepth -= 1;
        }
        self.feed(op, offset)?;
        self.virt.truncate(base_pos);
        self.virt.extend(locs.into_iter().map(Loc::Local));
        Ok(())
    }

    /// The operands a call site takes (its arguments, and the table index
    /// of an indirect call) and its results.
    fn call_type(&self, op: &Operator<'_>) -> Result<(Vec<ValType>, Vec<ValType>), Error> {
        let r = self.v.resources();
        let (ty, extra) = match op {
            Operator::Call { function_index } => {
                let id = r
                    .type_id_of_function(*function_index)
                    .ok_or_else(|| Error::invalid(self.index, "callee type"))?;
                (r.sub_type_at_id(id).unwrap_func().clone(), None)
            }
            Operator::CallIndirect {
                type_index,
                table_index,
            } => {
                let ty = r
                    .sub_type_at(*type_index)
                    .ok_or_else(|| Error::invalid(self.index, "call_indirect type"))?
                    .unwrap_func()
                    .clone();
                let table = r
                    .table_at(*table_index)
                    .ok_or_else(|| Error::invalid(self.index, "call_indirect table"))?;
                (
                    ty,
                    Some(if table.table64 {
                        ValType::I64
                    } else {
                        ValType::I32
                    }),
                )
            }
            _ => return Err(Error::invalid(self.index, "not a call")),
        };
        let mut params = ty.params().to_vec();
        params.extend(extra);
        Ok((params, ty.results().to_vec()))
    }
}

/// The instruction of an operator whose value can be pushed again instead
/// of kept: a constant, or a `local.get` (see [`Writer::close_skipping`]).
fn constant(op: &Operator<'_>) -> Option<Instruction<'static>> {
    Some(match op {
        Operator::LocalGet { local_index } => Instruction::LocalGet(*local_index),
        Operator::I32Const { value } => Instruction::I32Const(*value),
        Operator::I64Const { value } => Instruction::I64Const(*value),
        Operator::F32Const { value } => {
            Instruction::F32Const(wasm_encoder::Ieee32::new(value.bits()))
        }
        Operator::F64Const { value } => {
            Instruction::F64Const(wasm_encoder::Ieee64::new(value.bits()))
        }
        Operator::RefNull { hty } => Instruction::RefNull(RoundtripReencoder.heap_type(*hty).ok()?),
        Operator::RefFunc { function_index } => Instruction::RefFunc(*function_index),
        _ => return None,
    })
}

fn mem(memory: u32, offset: u64) -> MemArg {
    MemArg {
        offset,
        align: 0,
        memory_index: memory,
    }
}

fn size_of(t: ValType) -> u64 {
    match t {
        ValType::I32 | ValType::F32 => 4,
        ValType::I64 | ValType::F64 => 8,
        ValType::V128 => 16,
        ValType::Ref(_) => 0,
    }
}

fn load(t: ValType, m: MemArg) -> Instruction<'static> {
    match t {
        ValType::I32 => Instruction::I32Load(m),
        ValType::I64 => Instruction::I64Load(m),
        ValType::F32 => Instruction::F32Load(m),
        ValType::F64 => Instruction::F64Load(m),
        ValType::V128 | ValType::Ref(_) => Instruction::V128Load(m),
    }
}

fn store(t: ValType, m: MemArg) -> Instruction<'static> {
    match t {
        ValType::I32 => Instruction::I32Store(m),
        ValType::I64 => Instruction::I64Store(m),
        ValType::F32 => Instruction::F32Store(m),
        ValType::F64 => Instruction::F64Store(m),
        ValType::V128 | ValType::Ref(_) => Instruction::V128Store(m),
    }
}

/// A zero of type `t`, the result of a function that unwinds.
fn zero(index: u32, t: ValType) -> Result<Instruction<'static>, Error> {
    Ok(match t {
        ValType::I32 => Instruction::I32Const(0),
        ValType::I64 => Instruction::I64Const(0),
        ValType::F32 => Instruction::F32Const(0.0.into()),
        ValType::F64 => Instruction::F64Const(0.0.into()),
        ValType::V128 => Instruction::V128Const(0),
        ValType::Ref(r) if r.is_nullable() => Instruction::RefNull(
            RoundtripReencoder
                .heap_type(r.heap_type())
                .map_err(|e| Error::invalid(index, &e.to_string()))?,
        ),
        ValType::Ref(_) => {
            return Err(Error::unsupported(
                index,
                0,
                "a result of a non-nullable reference type",
            ));
        }
    })
}
