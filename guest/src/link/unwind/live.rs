//! Which locals a function's record must hold: those live at one of its
//! unwind exits.
//!
//! A backward liveness analysis over the body written without guards
//! (every value kept across a call site is in a local there), on its
//! structure rather than on a control-flow graph: a `block` or `if` label
//! is live as what follows its `end`, a `loop` label as its own entry (to
//! a fixed point), `br*` read their targets, `return`, `unreachable` and
//! `throw*` nothing. The branch out of an exit goes to the epilogue, which
//! is what this analysis decides, so it reads nothing; what the exit's
//! normal continuation reads is live there. A `try_table` is entered with
//! its handlers' targets live too (an exception may leave its body from
//! anywhere; exits are never inside one, the rewriter refuses that).

use super::Error;
use std::collections::HashMap;
use wasmparser::{BinaryReader, Operator, OperatorsReader};

/// A set of locals, by index (compare with [`Locals::eq_set`]: trailing
/// zero words do not count).
#[derive(Clone, Default)]
pub(super) struct Locals(Vec<u64>);

impl Locals {
    /// Adds `l`.
    pub fn insert(&mut self, l: u32) {
        let (w, b) = ((l / 64) as usize, l % 64);
        if self.0.len() <= w {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << b;
    }

    fn remove(&mut self, l: u32) {
        if let Some(w) = self.0.get_mut((l / 64) as usize) {
            *w &= !(1 << (l % 64));
        }
    }

    /// Whether `l` is in the set.
    pub fn contains(&self, l: u32) -> bool {
        self.0
            .get((l / 64) as usize)
            .is_some_and(|w| w & (1 << (l % 64)) != 0)
    }

    fn union(&mut self, other: &Locals) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }

    fn eq_set(&self, other: &Locals) -> bool {
        let n = self.0.len().max(other.0.len());
        (0..n).all(|i| self.0.get(i).unwrap_or(&0) == other.0.get(i).unwrap_or(&0))
    }
}

/// An operator of the body, with its structure resolved.
enum Node {
    Get(u32),
    Set(u32),
    Br(u32),
    BrIf(u32),
    BrTable(Vec<u32>),
    /// Control never goes on (`return`, `unreachable`, `throw`, tail calls).
    Stop,
    /// An unwind exit (at its byte offset in the body).
    Exit,
    Block(Vec<Node>),
    Loop(Vec<Node>),
    If(Vec<Node>, Vec<Node>),
    /// A `try_table`: its body and its handlers' label depths (outside it).
    Try(Vec<Node>, Vec<u32>),
    Other,
}

/// The locals live at the exits of `body` (operators only, no locals
/// header, ending with its own `end`), the exits given by the byte
/// offsets of their first operator (a `global.get`), the body nested in
/// constructs whose labels are live as `outer_labels` (outermost first;
/// falling off the body goes where the innermost one goes).
pub(super) fn at_exits(
    index: u32,
    body: &[u8],
    exits: &[usize],
    outer_labels: [Locals; 3],
) -> Result<Locals, Error> {
    let exits: std::collections::HashSet<usize> = exits.iter().copied().collect();
    let mut stack = vec![Open::new(None)];
    let mut top_level = None;
    let mut reader = OperatorsReader::new(BinaryReader::new(body, 0));
    while !reader.eof() {
        let (op, offset) = reader
            .read_with_offset()
            .map_err(|e| Error::parse(index, e))?;
        let node = match op {
            Operator::LocalGet { local_index } => Node::Get(local_index),
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                Node::Set(local_index)
            }
            Operator::GlobalGet { .. } if exits.contains(&offset) => Node::Exit,
            Operator::Br { relative_depth } => Node::Br(relative_depth),
            Operator::BrIf { relative_depth }
            | Operator::BrOnNull { relative_depth }
            | Operator::BrOnNonNull { relative_depth }
            | Operator::BrOnCast { relative_depth, .. }
            | Operator::BrOnCastFail { relative_depth, .. } => Node::BrIf(relative_depth),
            Operator::BrTable { targets } => {
                let mut all = vec![targets.default()];
                for t in targets.targets() {
                    all.push(t.map_err(|e| Error::parse(index, e))?);
                }
                Node::BrTable(all)
            }
            Operator::Return
            | Operator::Unreachable
            | Operator::Throw { .. }
            | Operator::ThrowRef
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::ReturnCallRef { .. } => Node::Stop,
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => {
                stack.push(Open::new(Some(op)));
                continue;
            }
            Operator::Else => {
                let top = stack
                    .last_mut()
                    .ok_or_else(|| Error::invalid(index, "`else` outside a construct"))?;
                top.in_else = true;
                continue;
            }
            Operator::End => {
                let open = stack
                    .pop()
                    .ok_or_else(|| Error::invalid(index, "`end` outside a construct"))?;
                match open.op {
                    Some(Operator::Block { .. }) => Node::Block(open.then),
                    Some(Operator::Loop { .. }) => Node::Loop(open.then),
                    Some(Operator::If { .. }) => Node::If(open.then, open.els),
                    Some(Operator::TryTable { try_table }) => Node::Try(
                        open.then,
                        try_table
                            .catches
                            .iter()
                            .map(|c| match c {
                                wasmparser::Catch::One { label, .. }
                                | wasmparser::Catch::OneRef { label, .. }
                                | wasmparser::Catch::All { label }
                                | wasmparser::Catch::AllRef { label } => *label,
                            })
                            .collect(),
                    ),
                    Some(_) => return Err(Error::invalid(index, "a construct of another kind")),
                    // The body's own `end`.
                    None => {
                        top_level = Some(open.then);
                        break;
                    }
                }
            }
            Operator::Try { .. }
            | Operator::Catch { .. }
            | Operator::CatchAll
            | Operator::Delegate { .. }
            | Operator::Rethrow { .. } => {
                return Err(Error::unsupported(
                    index,
                    offset,
                    "legacy exception handling",
                ));
            }
            _ => Node::Other,
        };
        let top = stack
            .last_mut()
            .ok_or_else(|| Error::invalid(index, "an operator after the body's `end`"))?;
        if top.in_else {
            top.els.push(node)
        } else {
            top.then.push(node)
        }
    }
    let top = match top_level {
        Some(top) if stack.is_empty() && reader.eof() => top,
        _ => return Err(Error::invalid(index, "a body whose constructs do not nest")),
    };
    let mut cx = Analysis {
        labels: outer_labels.into_iter().collect(),
        at_exits: Locals::default(),
        loops: HashMap::new(),
    };
    let end = cx.labels[cx.labels.len() - 1].clone();
    cx.seq(&top, end);
    Ok(cx.at_exits)
}

/// A construct being read.
struct Open<'a> {
    /// Its operator (none for the body itself).
    op: Option<Operator<'a>>,
    then: Vec<Node>,
    els: Vec<Node>,
    /// Its `else` was read.
    in_else: bool,
}

impl<'a> Open<'a> {
    fn new(op: Option<Operator<'a>>) -> Self {
        Open {
            op,
            then: Vec::new(),
            els: Vec::new(),
            in_else: false,
        }
    }
}

struct Analysis {
    /// Live sets of the labels in scope, innermost last.
    labels: Vec<Locals>,
    /// Union of the live sets at exits.
    at_exits: Locals,
    /// Each loop's label as last solved (by the node's address): an outer
    /// loop's next round starts its inner loops from there, which is
    /// sound since the sets only grow.
    loops: HashMap<*const Node, Locals>,
}

impl Analysis {
    fn label(&self, depth: u32) -> Locals {
        self.labels
            .len()
            .checked_sub(1 + depth as usize)
            .and_then(|i| self.labels.get(i))
            .cloned()
            .unwrap_or_default()
    }

    /// Live before `nodes`, given live after them.
    fn seq(&mut self, nodes: &[Node], mut live: Locals) -> Locals {
        for n in nodes.iter().rev() {
            live = self.node(n, live);
        }
        live
    }

    fn node(&mut self, n: &Node, mut after: Locals) -> Locals {
        match n {
            Node::Get(l) => {
                after.insert(*l);
                after
            }
            Node::Set(l) => {
                after.remove(*l);
                after
            }
            Node::Br(d) => self.label(*d),
            Node::BrIf(d) => {
                after.union(&self.label(*d));
                after
            }
            Node::BrTable(ds) => {
                let mut live = Locals::default();
                for d in ds {
                    live.union(&self.label(*d));
                }
                live
            }
            Node::Stop => Locals::default(),
            Node::Exit => {
                self.at_exits.union(&after);
                after
            }
            Node::Other => after,
            Node::Block(body) => {
                self.labels.push(after.clone());
                let live = self.seq(body, after);
                self.labels.pop();
                live
            }
            Node::If(then, els) => {
                self.labels.push(after.clone());
                let mut live = self.seq(then, after.clone());
                live.union(&self.seq(els, after));
                self.labels.pop();
                live
            }
            Node::Loop(body) => {
                // The label is live as the loop's entry: grow it until the
                // entry stops changing.
                let key: *const Node = n;
                let mut label = self.loops.get(&key).cloned().unwrap_or_default();
                loop {
                    self.labels.push(label.clone());
                    let live = self.seq(body, after.clone());
                    self.labels.pop();
                    let mut next = label.clone();
                    next.union(&live);
                    if next.eq_set(&label) {
                        self.loops.insert(key, label.clone());
                        return label;
                    }
                    label = next;
                }
            }
            Node::Try(body, handlers) => {
                self.labels.push(after.clone());
                let mut live = self.seq(body, after);
                self.labels.pop();
                for d in handlers {
                    live.union(&self.label(*d));
                }
                live
            }
        }
    }
}

// Test-only: the `unwrap`s are assertions on the modules written here.
#[cfg(test)]
mod tests {
    use super::{Locals, at_exits};
    use wasmparser::{Operator, Parser, Payload};

    /// The locals live at the exits (each `global.get 0`) of the body of
    /// `(func (param i32 i32 i32 i32) (local i32 i32 i32 i32 i32 i32) BODY)`.
    fn live(body: &str) -> Vec<u32> {
        let wasm = wat::parse_str(format!(
            "(module (global (mut i32) (i32.const 0))
               (func (param i32 i32 i32 i32) (local i32 i32 i32 i32 i32 i32) {body}))"
        ))
        .unwrap();
        let mut out = None;
        for payload in Parser::new(0).parse_all(&wasm) {
            if let Payload::CodeSectionEntry(f) = payload.unwrap() {
                let ops = f.get_operators_reader().unwrap();
                let start = ops.original_position();
                let bytes = &wasm[start..f.range().end];
                let mut exits = Vec::new();
                let mut r = f.get_operators_reader().unwrap();
                while !r.eof() {
                    let (op, at) = r.read_with_offset().unwrap();
                    if matches!(op, Operator::GlobalGet { .. }) {
                        exits.push(at - start);
                    }
                }
                let none = Locals::default;
                out = Some(at_exits(0, bytes, &exits, [none(), none(), none()]).unwrap());
            }
        }
        let set = out.unwrap();
        (0..10).filter(|l| set.contains(*l)).collect()
    }

    #[test]
    fn what_is_read_after_an_exit_before_being_written_is_live() {
        // Read before the exit only; written before read after it.
        assert_eq!(
            live(
                "local.get 0 drop global.get 0 drop
                 local.get 1 drop i32.const 0 local.set 2 local.get 2 drop"
            ),
            vec![1]
        );
        // Both arms of an `if`.
        assert_eq!(
            live(
                "global.get 0 drop local.get 0
                 (if (then local.get 4 drop) (else local.get 5 drop))"
            ),
            vec![0, 4, 5]
        );
        // A branch skips a read; the read after the block counts.
        assert_eq!(
            live("(block global.get 0 drop br 0 local.get 6 drop) local.get 7 drop"),
            vec![7]
        );
        // `return` and `unreachable` read nothing.
        assert_eq!(
            live("global.get 0 drop return local.get 1 drop"),
            Vec::<u32>::new()
        );
        assert_eq!(
            live("global.get 0 drop (if (local.get 3) (then unreachable)) local.get 8 drop"),
            vec![3, 8]
        );
    }

    #[test]
    fn a_loop_carries_what_its_next_round_reads() {
        // Read at the loop's head before the exit: live at the exit
        // through the back edge; written at the head: not.
        assert_eq!(
            live(
                "(loop local.get 4 drop i32.const 1 local.set 5 local.get 5 drop
                   global.get 0 drop local.get 1 br_if 0)
                 local.get 6 drop"
            ),
            vec![1, 4, 6]
        );
        // Nested loops, the inner one's exit reaching the outer head.
        assert_eq!(
            live(
                "(loop (loop global.get 0 drop local.get 2 br_if 0)
                   local.get 8 drop local.get 3 br_if 0)"
            ),
            vec![2, 3, 8]
        );
        // `br_table` to a loop and out of a block.
        assert_eq!(
            live(
                "(block (loop global.get 0 drop local.get 9 drop
                   local.get 0 br_table 0 1))
                 local.get 7 drop"
            ),
            vec![0, 7, 9]
        );
    }
}
