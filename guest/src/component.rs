//! The component glue: exports `meld:fuser/fuser` (see `wit/fuser.wit`) over
//! [`crate::fuse`]. The only place that knows about wit-bindgen.

wit_bindgen::generate!({
    path: "../wit",
    world: "meld",
});

use exports::meld::fuser::fuser as wit;

struct Component;

impl wit::Guest for Component {
    fn fuse(input: Vec<u8>) -> Result<Vec<u8>, Vec<wit::Diagnostic>> {
        crate::fuse(&input).map_err(|ds| ds.into_iter().map(to_wit).collect())
    }

    fn fuse_with(input: Vec<u8>, options: wit::Options) -> Result<Vec<u8>, Vec<wit::Diagnostic>> {
        let output = match options.output {
            wit::Output::Component => crate::Output::Component,
            wit::Output::Core => crate::Output::Core,
        };
        crate::fuse_with(&input, &crate::Options::with_output(output))
            .map_err(|ds| ds.into_iter().map(to_wit).collect())
    }

    fn inspect(input: Vec<u8>) -> Result<wit::Inspection, Vec<wit::Diagnostic>> {
        let i = crate::inspect::inspect(&input)
            .map_err(|ds| ds.into_iter().map(to_wit).collect::<Vec<_>>())?;
        Ok(wit::Inspection {
            world: i.world,
            nodes: i
                .nodes
                .into_iter()
                .map(|n| wit::Node {
                    id: n.id,
                    kind: node_kind(n.kind),
                    name: n.name,
                })
                .collect(),
            edges: i
                .edges
                .into_iter()
                .map(|e| wit::Edge {
                    source: e.source,
                    target: e.target,
                    name: e.name,
                })
                .collect(),
            fused_by: i.fused_by,
        })
    }
}

fn node_kind(k: crate::inspect::NodeKind) -> wit::NodeKind {
    match k {
        crate::inspect::NodeKind::Component => wit::NodeKind::Component,
        crate::inspect::NodeKind::HostImport => wit::NodeKind::HostImport,
        crate::inspect::NodeKind::HostExport => wit::NodeKind::HostExport,
    }
}

fn to_wit(d: crate::Diagnostic) -> wit::Diagnostic {
    wit::Diagnostic {
        severity: match d.severity {
            crate::Severity::Error => wit::Severity::Error,
            crate::Severity::Warning => wit::Severity::Warning,
            crate::Severity::Note => wit::Severity::Note,
        },
        code: d.code.as_str().to_string(),
        message: d.message,
        offset: d.offset,
        notes: d.notes,
    }
}

export!(Component);
