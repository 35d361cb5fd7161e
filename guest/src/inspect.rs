//! `inspect`: a description of a component for people (the playground): its
//! outer world as WIT text and the wiring of its top-level instances.
//!
//! Not a pipeline stage: nothing here is used by [`crate::fuse`].
//!
//! The graph is read from the component's top level: each outer import is a
//! host-import node, each `instantiate` of an inner component a component
//! node, each outer export a host-export node. An edge says which node
//! supplies which named item to which (an instantiation argument, or an item
//! exported outward). Nested compositions appear as one node.

use crate::diagnostics::{Code, Diagnostic, Diagnostics};
use wasmparser::{
    ComponentAlias, ComponentExternalKind, ComponentInstance, ComponentTypeRef, Parser, Payload,
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
    /// `component N: <what it exports>`, or the import/export name.
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
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Edges.
    pub edges: Vec<Edge>,
}

/// Describes `input` without fusing it.
///
/// # Errors
/// The same diagnostics as [`crate::fuse`] for input that is not a valid
/// component (E0001–E0005).
pub fn inspect(input: &[u8]) -> Result<Inspection, Diagnostics> {
    crate::translate::validate_input(input).map_err(|d| vec![d])?;
    let world = world_wit(input)
        .unwrap_or_else(|e| format!("// The outer world is not expressible as WIT: {e}\n"));
    let (nodes, edges) = graph(input).map_err(|e| {
        vec![Diagnostic::error(
            Code::Internal,
            format!("internal error while inspecting: {e}"),
        )]
    })?;
    Ok(Inspection {
        world,
        nodes,
        edges,
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

/// Where an item of the top-level instance or function space comes from.
type Origin = Vec<u32>;

#[derive(Default)]
struct Graph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    instances: Vec<Origin>,
    funcs: Vec<Origin>,
    components: u32,
}

impl Graph {
    fn node(&mut self, kind: NodeKind, name: String) -> u32 {
        let id = self.nodes.len() as u32;
        self.nodes.push(Node { id, kind, name });
        id
    }

    fn origin(&self, kind: ComponentExternalKind, index: u32) -> Origin {
        let space = match kind {
            ComponentExternalKind::Instance => &self.instances,
            ComponentExternalKind::Func => &self.funcs,
            _ => return Vec::new(),
        };
        space.get(index as usize).cloned().unwrap_or_default()
    }

    fn push(&mut self, kind: ComponentExternalKind, origin: Origin) {
        match kind {
            ComponentExternalKind::Instance => self.instances.push(origin),
            ComponentExternalKind::Func => self.funcs.push(origin),
            _ => {}
        }
    }
}

fn graph(input: &[u8]) -> wasmparser::Result<(Vec<Node>, Vec<Edge>)> {
    let mut g = Graph::default();
    let mut depth = 0usize;
    // Names of what each component node exports, for its label.
    let mut exported: Vec<Vec<String>> = Vec::new();
    for payload in Parser::new(0).parse_all(input) {
        match payload? {
            Payload::Version { .. } => depth += 1,
            Payload::End(_) => depth -= 1,
            Payload::ComponentSection { .. } if depth == 1 => g.components += 1,
            Payload::ComponentImportSection(s) if depth == 1 => {
                for import in s {
                    let import = import?;
                    let kind = match import.ty {
                        ComponentTypeRef::Instance(_) => ComponentExternalKind::Instance,
                        ComponentTypeRef::Func(_) => ComponentExternalKind::Func,
                        _ => continue,
                    };
                    let id = g.node(NodeKind::HostImport, import.name.name.to_string());
                    exported.push(Vec::new());
                    g.push(kind, vec![id]);
                }
            }
            Payload::ComponentAliasSection(s) if depth == 1 => {
                for alias in s {
                    if let ComponentAlias::InstanceExport {
                        kind,
                        instance_index: instance,
                        name,
                    } = alias?
                    {
                        let origin = g.origin(ComponentExternalKind::Instance, instance);
                        for &n in &origin {
                            if g.nodes[n as usize].kind == NodeKind::Component {
                                exported[n as usize].push(name.to_string());
                            }
                        }
                        g.push(kind, origin);
                    }
                }
            }
            Payload::ComponentInstanceSection(s) if depth == 1 => {
                for instance in s {
                    match instance? {
                        ComponentInstance::Instantiate {
                            component_index,
                            args,
                        } => {
                            let id =
                                g.node(NodeKind::Component, format!("component {component_index}"));
                            exported.push(Vec::new());
                            for arg in args.iter() {
                                for from in g.origin(arg.kind, arg.index) {
                                    g.edges.push(Edge {
                                        source: from,
                                        target: id,
                                        name: arg.name.to_string(),
                                    });
                                }
                            }
                            g.instances.push(vec![id]);
                        }
                        ComponentInstance::FromExports(exports) => {
                            let mut origin: Origin = exports
                                .iter()
                                .flat_map(|e| g.origin(e.kind, e.index))
                                .collect();
                            origin.dedup();
                            g.instances.push(origin);
                        }
                    }
                }
            }
            Payload::ComponentExportSection(s) if depth == 1 => {
                for export in s {
                    let export = export?;
                    let origin = g.origin(export.kind, export.index);
                    if origin.is_empty() {
                        continue;
                    }
                    let id = g.node(NodeKind::HostExport, export.name.name.to_string());
                    exported.push(Vec::new());
                    for from in origin {
                        g.edges.push(Edge {
                            source: from,
                            target: id,
                            name: export.name.name.to_string(),
                        });
                    }
                    g.push(export.kind, vec![id]);
                }
            }
            Payload::ComponentCanonicalSection(s) if depth == 1 => {
                // `canon lift` adds a function defined here; `canon lower`
                // and built-ins add core functions. Keep the function space
                // aligned.
                for f in s {
                    if let wasmparser::CanonicalFunction::Lift { .. } = f? {
                        g.funcs.push(Vec::new());
                    }
                }
            }
            _ => {}
        }
    }
    for (node, names) in g.nodes.iter_mut().zip(exported) {
        if node.kind == NodeKind::Component && !names.is_empty() {
            node.name = format!("{}: {}", node.name, names.join(", "));
        }
    }
    Ok((g.nodes, g.edges))
}
