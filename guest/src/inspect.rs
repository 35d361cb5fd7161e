//! `inspect`: a description of a component for people (the playground): its
//! outer world as WIT text, the wiring of the component instances that hold
//! its code, and whether Meld produced it.
//!
//! Not a pipeline stage: nothing here is used by [`crate::fuse`].
//!
//! The binary is read into a tree of component definitions (each nested
//! component section, or `alias outer` of one, is a definition in its
//! parent's component index space), and the top-level component is then
//! evaluated:
//!
//! - an outer import is a host-import node;
//! - a definition that holds code (a core module or a core instantiation)
//!   becomes a component node where it is instantiated, numbered in
//!   instantiation order over the whole composition; its instantiation
//!   arguments become edges into it;
//! - a definition without code (a composition, e.g. the output of `wac plug`,
//!   or a re-exporting shim) is looked through: it is evaluated with its
//!   imports bound to the arguments it is given, and its exports are what
//!   those arguments and the instances inside it supply;
//! - an outer export is a host-export node, with edges from the nodes that
//!   supply it.
//!
//! Each item of an instance or function index space carries the nodes it
//! comes from and, for an instance whose exports are known, the item behind
//! each export name: aliasing one export of an instance exported by a nested
//! composition finds the inner instance that supplies it. When the top-level
//! component itself holds code (a single component, or Meld's own output) it
//! is `component 0`, and every outer import goes to it.
//!
//! `fused_by` comes from the top-level `producers` custom section, which Meld
//! writes into everything it emits (`processed-by meld <version>`).
//!
//! Inspect runs on any validated input: evaluation is bounded (nesting depth
//! and total work), and the limits are diagnostics, never panics.

use crate::diagnostics::{Code, Diagnostic, Diagnostics};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use wasmparser::{
    CanonicalFunction, ComponentAlias, ComponentExternalKind, ComponentInstance,
    ComponentOuterAliasKind, ComponentTypeRef, Encoding, Instance, KnownCustom, Parser, Payload,
};

/// What a [`Node`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// An instance of an inner component.
    Component,
    /// An outer import, supplied by the host.
    HostImport,
    /// An outer export of the whole component.
    HostExport,
}

/// One node of the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Index in [`Inspection::nodes`].
    pub id: u32,
    /// What it is.
    pub kind: NodeKind,
    /// `component N` (numbered in instantiation order over the whole
    /// composition), followed by `: ` and the names it exports to other
    /// nodes when it exports any; or the import/export name.
    pub name: String,
}

/// `source` supplies `name` to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// Supplying node.
    pub source: u32,
    /// Receiving node.
    pub target: u32,
    /// The item's name (the argument or export name).
    pub name: String,
}

/// The world and wiring of a component (mirrors `inspection` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// The outer world as WIT text, or a comment saying why there is none.
    pub world: String,
    /// Nodes: the instances of components that hold code (nested
    /// compositions looked through), the host's imports and exports.
    pub nodes: Vec<Node>,
    /// Edges.
    pub edges: Vec<Edge>,
    /// `meld <version>` when the input is Meld's output (from its
    /// `producers` section).
    pub fused_by: Option<String>,
}

/// Describes `input` without fusing it.
///
/// # Errors
/// The same diagnostics as [`crate::fuse`] for input that is not a valid
/// component (E0001–E0005); E0011 for a composition too large or too deeply
/// nested to describe.
pub fn inspect(input: &[u8]) -> Result<Inspection, Diagnostics> {
    crate::translate::validate_input(input).map_err(|d| vec![d])?;
    let world = world_wit(input)
        .unwrap_or_else(|e| format!("// The outer world is not expressible as WIT: {e}\n"));
    let (nodes, edges, fused_by) = graph(input).map_err(|e| {
        vec![match e {
            Error::Parse(e) => Diagnostic::error(
                Code::Internal,
                format!("internal error while inspecting: {e}"),
            ),
            Error::Limit(what) => Diagnostic::error(
                Code::ImplementationLimit,
                format!("the composition is too large to inspect: {what}"),
            ),
        }]
    })?;
    Ok(Inspection {
        world,
        nodes,
        edges,
        fused_by,
    })
}

/// The outer world of the component `input`, decoded by wit-component and
/// printed as WIT (the world's package first, then the packages it uses).
///
/// # Errors
/// wit-component's message when the world is not expressible as WIT.
pub fn world_wit(input: &[u8]) -> Result<String, String> {
    let decoded = wit_component::decode(input).map_err(|e| format!("{e:#}"))?;
    let resolve = decoded.resolve();
    let main = decoded.package();
    let nested: Vec<_> = resolve
        .packages
        .iter()
        .map(|(id, _)| id)
        .filter(|id| *id != main)
        .collect();
    let mut printer = wit_component::WitPrinter::default();
    printer
        .print(resolve, main, &nested)
        .map_err(|e| format!("{e:#}"))?;
    Ok(printer.output.to_string())
}

/// Nested instantiations evaluated inside one another, at most.
const MAX_DEPTH: usize = 64;
/// Units of evaluation work (definitions' items, arguments, edges), at most:
/// a composition that instantiates a nested one twice at every level grows
/// exponentially.
const MAX_STEPS: usize = 2_000_000;
/// Instances of known exports nest at most this deep; deeper ones are
/// opaque (their exports all come from all their sources).
const MAX_ITEM_DEPTH: u32 = 32;

enum Error {
    Parse(wasmparser::BinaryReaderError),
    Limit(String),
}

impl From<wasmparser::BinaryReaderError> for Error {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        Error::Parse(e)
    }
}

// ---------------------------------------------------------------------------
// The tree of definitions.

/// What an item of a tracked index space (instance, function, component)
/// is, in the order the definition declares it.
enum Op {
    /// An import of an instance, function or component.
    Import {
        name: String,
        kind: ComponentExternalKind,
    },
    /// A component definition: nested here or aliased from an outer
    /// component (`None`: one whose body is unknown).
    Component(Option<usize>),
    Instantiate {
        component: u32,
        args: Vec<(String, ComponentExternalKind, u32)>,
    },
    FromExports(Vec<(String, ComponentExternalKind, u32)>),
    Alias {
        kind: ComponentExternalKind,
        instance: u32,
        name: String,
    },
    /// `canon lift`: a function whose code is in this component.
    Lift,
    Export {
        name: String,
        kind: ComponentExternalKind,
        index: u32,
    },
}

/// One component definition.
#[derive(Default)]
struct Def {
    /// Whether it holds code: a core module or a core instantiation.
    has_code: bool,
    ops: Vec<Op>,
}

/// A component being parsed.
struct Frame {
    def: usize,
    /// The definition behind each index of its component space, as far as
    /// it is known while parsing (for `alias outer`).
    components: Vec<Option<usize>>,
}

fn tracked(kind: ComponentExternalKind) -> bool {
    matches!(
        kind,
        ComponentExternalKind::Instance
            | ComponentExternalKind::Func
            | ComponentExternalKind::Component
    )
}

/// Parses `input` into definitions (the top level is definition 0) and the
/// producer recorded in its top-level `producers` section.
fn parse(input: &[u8]) -> Result<(Vec<Def>, Option<String>), Error> {
    let mut defs: Vec<Def> = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    // One entry per open component or module: whether it is a module.
    let mut open: Vec<bool> = Vec::new();
    let mut fused_by = None;
    for payload in Parser::new(0).parse_all(input) {
        let payload = payload?;
        if let Payload::Version { encoding, .. } = &payload {
            match encoding {
                Encoding::Component => {
                    let def = defs.len();
                    defs.push(Def::default());
                    if let Some(parent) = frames.last_mut() {
                        parent.components.push(Some(def));
                        if let Some(p) = defs.get_mut(parent.def) {
                            p.ops.push(Op::Component(Some(def)));
                        }
                    }
                    frames.push(Frame {
                        def,
                        components: Vec::new(),
                    });
                    open.push(false);
                }
                Encoding::Module => {
                    if let Some(d) = frames.last().and_then(|f| defs.get_mut(f.def)) {
                        d.has_code = true;
                    }
                    open.push(true);
                }
            }
            continue;
        }
        if let Payload::End(_) = payload {
            if open.pop() == Some(false) {
                frames.pop();
            }
            continue;
        }
        // Inside a core module: nothing to see.
        if open.last() != Some(&false) {
            continue;
        }
        let Some(frame) = frames.last() else {
            continue;
        };
        let top = frames.len() == 1;
        let def_id = frame.def;
        let mut ops = Vec::new();
        let mut pushed: Vec<Option<usize>> = Vec::new();
        match payload {
            Payload::CustomSection(c) if top => {
                if let KnownCustom::Producers(reader) = c.as_known()
                    && let Some(p) = producer(reader)
                {
                    fused_by = Some(p);
                }
            }
            Payload::InstanceSection(s) => {
                for instance in s {
                    if let (Instance::Instantiate { .. }, Some(d)) =
                        (instance?, defs.get_mut(def_id))
                    {
                        d.has_code = true;
                    }
                }
            }
            Payload::ComponentImportSection(s) => {
                for import in s {
                    let import = import?;
                    let kind = match import.ty {
                        ComponentTypeRef::Instance(_) => ComponentExternalKind::Instance,
                        ComponentTypeRef::Func(_) => ComponentExternalKind::Func,
                        ComponentTypeRef::Component(_) => {
                            pushed.push(None);
                            ComponentExternalKind::Component
                        }
                        _ => continue,
                    };
                    ops.push(Op::Import {
                        name: import.name.name.to_string(),
                        kind,
                    });
                }
            }
            Payload::ComponentAliasSection(s) => {
                for alias in s {
                    match alias? {
                        ComponentAlias::InstanceExport {
                            kind,
                            instance_index,
                            name,
                        } if tracked(kind) => {
                            if kind == ComponentExternalKind::Component {
                                pushed.push(None);
                            }
                            ops.push(Op::Alias {
                                kind,
                                instance: instance_index,
                                name: name.to_string(),
                            });
                        }
                        ComponentAlias::Outer {
                            kind: ComponentOuterAliasKind::Component,
                            count,
                            index,
                        } => {
                            let def = (count as usize)
                                .checked_add(1)
                                .and_then(|up| frames.len().checked_sub(up))
                                .and_then(|f| frames.get(f))
                                .and_then(|f| f.components.get(index as usize).copied())
                                .flatten();
                            pushed.push(def);
                            ops.push(Op::Component(def));
                        }
                        _ => {}
                    }
                }
            }
            Payload::ComponentInstanceSection(s) => {
                for instance in s {
                    let op = match instance? {
                        ComponentInstance::Instantiate {
                            component_index,
                            args,
                        } => Op::Instantiate {
                            component: component_index,
                            args: args
                                .iter()
                                .filter(|a| tracked(a.kind))
                                .map(|a| (a.name.to_string(), a.kind, a.index))
                                .collect(),
                        },
                        ComponentInstance::FromExports(exports) => Op::FromExports(
                            exports
                                .iter()
                                .filter(|e| tracked(e.kind))
                                .map(|e| (e.name.name.to_string(), e.kind, e.index))
                                .collect(),
                        ),
                    };
                    ops.push(op);
                }
            }
            Payload::ComponentCanonicalSection(s) => {
                for f in s {
                    if let CanonicalFunction::Lift { .. } = f? {
                        ops.push(Op::Lift);
                    }
                }
            }
            Payload::ComponentExportSection(s) => {
                for export in s {
                    let export = export?;
                    if !tracked(export.kind) {
                        continue;
                    }
                    if export.kind == ComponentExternalKind::Component {
                        // The export is a new index for the same definition.
                        let known = frames
                            .last()
                            .and_then(|f| f.components.get(export.index as usize).copied())
                            .flatten();
                        pushed.push(known);
                    }
                    ops.push(Op::Export {
                        name: export.name.name.to_string(),
                        kind: export.kind,
                        index: export.index,
                    });
                }
            }
            _ => {}
        }
        // Nested component sections are added at their `Version`.
        if let Some(d) = defs.get_mut(def_id) {
            d.ops.extend(ops);
        }
        if let Some(f) = frames.last_mut() {
            f.components.extend(pushed);
        }
    }
    if defs.is_empty() {
        defs.push(Def::default());
    }
    Ok((defs, fused_by))
}

/// `meld <version>` when the `processed-by` field names Meld.
fn producer(reader: wasmparser::ProducersSectionReader<'_>) -> Option<String> {
    for field in reader {
        let Ok(field) = field else { return None };
        if field.name != "processed-by" {
            continue;
        }
        for value in field.values {
            let Ok(value) = value else { return None };
            if value.name == crate::wrap::PRODUCER {
                return Some(format!("{} {}", value.name, value.version));
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Evaluation.

/// One node an item comes from, and the name under which that node's
/// instance exported it (when known).
#[derive(Clone, PartialEq, Eq, Hash)]
struct Src {
    node: u32,
    export: Option<Rc<str>>,
}

/// Exports of an instance whose exports are known.
#[derive(Default)]
struct Members {
    list: Vec<(Rc<str>, Rc<Item>)>,
    by_name: HashMap<Rc<str>, usize>,
}

impl Members {
    fn insert(&mut self, name: &str, item: Rc<Item>) {
        let name: Rc<str> = name.into();
        if let Some(&i) = self.by_name.get(&name) {
            if let Some(slot) = self.list.get_mut(i) {
                slot.1 = item;
            }
            return;
        }
        self.by_name.insert(name.clone(), self.list.len());
        self.list.push((name, item));
    }

    fn get(&self, name: &str) -> Option<&Rc<Item>> {
        self.by_name
            .get(name)
            .and_then(|&i| self.list.get(i))
            .map(|(_, item)| item)
    }
}

/// An item of an instance or function space.
#[derive(Default)]
struct Item {
    /// The nodes it comes from (for an instance of known exports: those of
    /// its exports).
    srcs: Vec<Src>,
    /// The exports of an instance, when known.
    members: Option<Rc<Members>>,
    /// Nesting of `members`.
    depth: u32,
}

impl Item {
    fn from(node: u32) -> Rc<Item> {
        Rc::new(Item {
            srcs: vec![Src { node, export: None }],
            ..Item::default()
        })
    }
}

/// An item of a component space.
#[derive(Clone, Copy)]
enum Comp {
    Def(usize),
    Unknown,
}

/// An instantiation argument.
#[derive(Clone)]
enum Arg {
    Item(Rc<Item>),
    Comp(Comp),
}

/// The tracked index spaces of a component being evaluated.
#[derive(Default)]
struct Spaces {
    instances: Vec<Rc<Item>>,
    funcs: Vec<Rc<Item>>,
    comps: Vec<Comp>,
    /// What an index out of bounds or an untracked item is.
    empty: Rc<Item>,
}

impl Spaces {
    fn item(&self, space: &[Rc<Item>], index: u32) -> Rc<Item> {
        space
            .get(index as usize)
            .cloned()
            .unwrap_or_else(|| self.empty.clone())
    }

    /// The item at `index` of the space of `kind`.
    fn get(&self, kind: ComponentExternalKind, index: u32) -> Arg {
        match kind {
            ComponentExternalKind::Component => Arg::Comp(
                self.comps
                    .get(index as usize)
                    .copied()
                    .unwrap_or(Comp::Unknown),
            ),
            ComponentExternalKind::Instance => Arg::Item(self.item(&self.instances, index)),
            ComponentExternalKind::Func => Arg::Item(self.item(&self.funcs, index)),
            _ => Arg::Item(self.empty.clone()),
        }
    }

    /// Adds `arg` to the space of `kind`.
    fn push(&mut self, kind: ComponentExternalKind, arg: Arg) {
        match (kind, arg) {
            (ComponentExternalKind::Instance, Arg::Item(i)) => self.instances.push(i),
            (ComponentExternalKind::Func, Arg::Item(i)) => self.funcs.push(i),
            (ComponentExternalKind::Component, Arg::Comp(c)) => self.comps.push(c),
            (ComponentExternalKind::Instance, _) => self.instances.push(self.empty.clone()),
            (ComponentExternalKind::Func, _) => self.funcs.push(self.empty.clone()),
            (ComponentExternalKind::Component, _) => self.comps.push(Comp::Unknown),
            _ => {}
        }
    }
}

/// What a definition's imports are bound to.
enum Binding<'b> {
    /// The top level: the host supplies them; `Some(c)` when the top level
    /// holds code, as component node `c`.
    Host(Option<u32>),
    /// A composition looked through: the arguments of its instantiation.
    Args(&'b HashMap<String, Arg>),
    /// A component with code, node `n`: its imports reach its code.
    Node(u32),
}

#[derive(Default)]
struct Eval<'d> {
    defs: &'d [Def],
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    seen: HashSet<(u32, u32, String)>,
    /// Per node: the names under which it supplies other nodes.
    labels: Vec<Vec<Rc<str>>>,
    labelled: HashSet<(u32, Rc<str>)>,
    /// Per component node with code: its exports' names, in order (labels
    /// follow it).
    exported: HashMap<u32, Vec<Rc<str>>>,
    components: u32,
    steps: usize,
}

impl<'d> Eval<'d> {
    fn charge(&mut self, n: usize) -> Result<(), Error> {
        self.steps = self.steps.saturating_add(n);
        if self.steps > MAX_STEPS {
            return Err(Error::Limit(format!(
                "evaluating its instances takes more than {MAX_STEPS} steps"
            )));
        }
        Ok(())
    }

    fn node(&mut self, kind: NodeKind, name: String) -> u32 {
        let id = self.nodes.len() as u32;
        self.nodes.push(Node { id, kind, name });
        self.labels.push(Vec::new());
        id
    }

    fn component_node(&mut self) -> u32 {
        let name = format!("component {}", self.components);
        self.components += 1;
        self.node(NodeKind::Component, name)
    }

    /// Edges from every source of `item` to `target`, named `name`.
    fn edges_from(&mut self, item: &Item, target: u32, name: &str) -> Result<(), Error> {
        self.charge(item.srcs.len())?;
        for src in &item.srcs {
            if src.node == target {
                continue;
            }
            if self.seen.insert((src.node, target, name.to_string())) {
                self.edges.push(Edge {
                    source: src.node,
                    target,
                    name: name.to_string(),
                });
            }
            let is_component = self
                .nodes
                .get(src.node as usize)
                .is_some_and(|n| n.kind == NodeKind::Component);
            if is_component && let Some(labels) = self.labels.get_mut(src.node as usize) {
                let label: Rc<str> = src.export.clone().unwrap_or_else(|| name.into());
                if self.labelled.insert((src.node, label.clone())) {
                    labels.push(label);
                }
            }
        }
        Ok(())
    }

    /// An instance of known exports.
    fn instance(&mut self, members: Members) -> Result<Rc<Item>, Error> {
        let depth = members
            .list
            .iter()
            .map(|(_, i)| i.depth)
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        let mut srcs = Vec::new();
        let mut seen = HashSet::new();
        for (_, item) in &members.list {
            self.charge(item.srcs.len())?;
            for s in &item.srcs {
                if seen.insert(s.clone()) {
                    srcs.push(s.clone());
                }
            }
        }
        let members = (depth <= MAX_ITEM_DEPTH).then(|| Rc::new(members));
        Ok(Rc::new(Item {
            srcs,
            members,
            depth: if depth <= MAX_ITEM_DEPTH { depth } else { 0 },
        }))
    }

    /// Export `name` of `instance`.
    fn member(&mut self, instance: &Item, name: &str) -> Result<Rc<Item>, Error> {
        let Some(members) = &instance.members else {
            // Opaque: the export comes from wherever the instance does.
            return Ok(Rc::new(Item {
                srcs: instance.srcs.clone(),
                ..Item::default()
            }));
        };
        let Some(item) = members.get(name) else {
            return Ok(Rc::new(Item::default()));
        };
        // The component that exported the instance exported its members
        // under the instance's name.
        self.charge(item.srcs.len().saturating_mul(instance.srcs.len()))?;
        let tag = |s: &Src| -> Option<Rc<str>> {
            s.export.clone().or_else(|| {
                instance
                    .srcs
                    .iter()
                    .find(|p| p.node == s.node && p.export.is_some())
                    .and_then(|p| p.export.clone())
            })
        };
        if item.srcs.iter().all(|s| tag(s) == s.export) {
            return Ok(item.clone());
        }
        Ok(Rc::new(Item {
            srcs: item
                .srcs
                .iter()
                .map(|s| Src {
                    node: s.node,
                    export: tag(s),
                })
                .collect(),
            members: item.members.clone(),
            depth: item.depth,
        }))
    }

    /// `component` instantiated with `args`: an instance item.
    fn instantiate(
        &mut self,
        component: Comp,
        args: &[(String, Arg)],
        depth: usize,
    ) -> Result<Rc<Item>, Error> {
        if depth > MAX_DEPTH {
            return Err(Error::Limit(format!(
                "instances nest more than {MAX_DEPTH} deep"
            )));
        }
        let code = match component {
            Comp::Def(d) => self.defs.get(d).is_some_and(|d| d.has_code).then_some(d),
            Comp::Unknown => None,
        };
        match (component, code) {
            (Comp::Def(d), None) => {
                let bound: HashMap<String, Arg> = args.iter().cloned().collect();
                let exports = self.eval(d, &Binding::Args(&bound), None, depth)?;
                self.instance(exports)
            }
            (_, code) => {
                let node = self.component_node();
                for (name, arg) in args {
                    if let Arg::Item(item) = arg {
                        self.edges_from(item, node, name)?;
                    }
                }
                let Some(d) = code else {
                    // A component whose body is unknown (imported): opaque.
                    return Ok(Item::from(node));
                };
                let exports = self.eval(d, &Binding::Node(node), Some(node), depth)?;
                // What the component's own code supplies, it exports under
                // the export's name.
                let mut tagged = Members::default();
                self.exported
                    .insert(node, exports.list.iter().map(|(n, _)| n.clone()).collect());
                for (name, item) in &exports.list {
                    self.charge(item.srcs.len())?;
                    let srcs = item
                        .srcs
                        .iter()
                        .map(|s| Src {
                            node: s.node,
                            export: match &s.export {
                                None if s.node == node => Some(name.clone()),
                                e => e.clone(),
                            },
                        })
                        .collect();
                    tagged.insert(
                        name,
                        Rc::new(Item {
                            srcs,
                            members: item.members.clone(),
                            depth: item.depth,
                        }),
                    );
                }
                let item = self.instance(tagged)?;
                if item.srcs.is_empty() {
                    return Ok(Rc::new(Item {
                        srcs: vec![Src { node, export: None }],
                        members: item.members.clone(),
                        depth: item.depth,
                    }));
                }
                Ok(item)
            }
        }
    }

    /// Evaluates definition `def`; returns its exports.
    fn eval(
        &mut self,
        def: usize,
        binding: &Binding<'_>,
        this: Option<u32>,
        depth: usize,
    ) -> Result<Members, Error> {
        let defs = self.defs;
        let Some(d) = defs.get(def) else {
            return Ok(Members::default());
        };
        let mut sp = Spaces::default();
        let mut exports = Members::default();
        for op in &d.ops {
            self.charge(1)?;
            match op {
                Op::Import { name, kind } => {
                    let arg = match binding {
                        _ if *kind == ComponentExternalKind::Component => match binding {
                            Binding::Args(args) => args.get(name).cloned(),
                            _ => None,
                        }
                        .unwrap_or(Arg::Comp(Comp::Unknown)),
                        Binding::Host(code) => {
                            let host = self.node(NodeKind::HostImport, name.clone());
                            match code {
                                Some(c) => {
                                    self.edges_from(&Item::from(host), *c, name)?;
                                    Arg::Item(Item::from(*c))
                                }
                                None => Arg::Item(Item::from(host)),
                            }
                        }
                        Binding::Args(args) => args
                            .get(name)
                            .cloned()
                            .unwrap_or_else(|| Arg::Item(sp.empty.clone())),
                        Binding::Node(n) => Arg::Item(Item::from(*n)),
                    };
                    sp.push(*kind, arg);
                }
                Op::Component(c) => sp.comps.push(c.map_or(Comp::Unknown, Comp::Def)),
                Op::Instantiate { component, args } => {
                    self.charge(args.len())?;
                    let component = sp
                        .comps
                        .get(*component as usize)
                        .copied()
                        .unwrap_or(Comp::Unknown);
                    let args: Vec<(String, Arg)> = args
                        .iter()
                        .map(|(name, kind, index)| (name.clone(), sp.get(*kind, *index)))
                        .collect();
                    let item = self.instantiate(component, &args, depth + 1)?;
                    sp.instances.push(item);
                }
                Op::FromExports(list) => {
                    self.charge(list.len())?;
                    let mut members = Members::default();
                    for (name, kind, index) in list {
                        if let Arg::Item(item) = sp.get(*kind, *index) {
                            members.insert(name, item);
                        }
                    }
                    let item = self.instance(members)?;
                    sp.instances.push(item);
                }
                Op::Alias {
                    kind,
                    instance,
                    name,
                } => {
                    let arg = match kind {
                        ComponentExternalKind::Instance | ComponentExternalKind::Func => {
                            let from = sp.item(&sp.instances, *instance);
                            Arg::Item(self.member(&from, name)?)
                        }
                        _ => Arg::Comp(Comp::Unknown),
                    };
                    sp.push(*kind, arg);
                }
                Op::Lift => sp
                    .funcs
                    .push(this.map_or_else(|| sp.empty.clone(), Item::from)),
                Op::Export { name, kind, index } => {
                    let arg = sp.get(*kind, *index);
                    if let Arg::Item(item) = &arg {
                        if let Binding::Host(_) = binding
                            && !item.srcs.is_empty()
                        {
                            let host = self.node(NodeKind::HostExport, name.clone());
                            self.edges_from(item, host, name)?;
                        }
                        exports.insert(name, item.clone());
                    }
                    sp.push(*kind, arg);
                }
            }
        }
        Ok(exports)
    }
}

type Graph = (Vec<Node>, Vec<Edge>, Option<String>);

fn graph(input: &[u8]) -> Result<Graph, Error> {
    let (defs, fused_by) = parse(input)?;
    let mut e = Eval {
        defs: &defs,
        ..Eval::default()
    };
    let top = defs
        .first()
        .is_some_and(|d| d.has_code)
        .then(|| e.component_node());
    e.eval(0, &Binding::Host(top), top, 0)?;
    let Eval {
        mut nodes,
        edges,
        labels,
        exported,
        ..
    } = e;
    for (node, mut names) in nodes.iter_mut().zip(labels) {
        if node.kind == NodeKind::Component && !names.is_empty() {
            // In the order the component exports them; names it supplies
            // otherwise (its functions passed as arguments) after, as used.
            if let Some(order) = exported.get(&node.id) {
                let at: HashMap<&str, usize> =
                    order.iter().enumerate().map(|(i, n)| (&**n, i)).collect();
                names.sort_by_key(|n| at.get(&**n).copied().unwrap_or(order.len()));
            }
            let names: Vec<&str> = names.iter().map(|n| &**n).collect();
            node.name = format!("{}: {}", node.name, names.join(", "));
        }
    }
    Ok((nodes, edges, fused_by))
}
