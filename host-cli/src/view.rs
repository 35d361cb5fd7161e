//! `meld-host inspect`: an [`Inspection`] for people (text) and for tools
//! (JSON).
//!
//! The text puts first what a composition is about, the edges between inner
//! components; the host's imports, which typically fan out to every
//! component (`wasi:io/streams`, `wasi:cli/stdout`, ...), come grouped one
//! line per import; then the outer exports.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::Inspection;

/// How a component node is called in edges: its name up to `: ` (the WIT
/// names component nodes `component N: <what it exports>`).
fn short(kind: &str, name: &str) -> String {
    match kind {
        "component" => name.split(": ").next().unwrap_or(name).to_string(),
        _ => name.to_string(),
    }
}

/// The text form, ending in a newline:
///
/// ```text
/// // fused by meld 0.1.0: one component whose code is one core module
/// package root:component;
/// world root { ... }
///
/// // 3 components:
/// //   component 0: example:chain/leaf
/// //   ...
/// // between components (source --[item]--> target):
/// //   component 0 --[example:chain/leaf]--> component 1
/// // from the host (users <-- imports):
/// //   component 0, component 1, component 2 <--
/// //     wasi:cli/{environment, exit, stdout}@0.2.6
/// //     wasi:io/{error, streams}@0.2.6
/// // to the host (export <-- supplier):
/// //   wasi:cli/run@0.2.0 <-- component 2
/// ```
///
/// Sections with nothing in them are left out.
pub fn text(i: &Inspection) -> String {
    let mut out = String::new();
    if let Some(by) = &i.fused_by {
        let _ = writeln!(
            out,
            "// fused by {by}: one component whose program code is one core module"
        );
    }
    let _ = writeln!(out, "{}", i.world.trim_end());

    let node = |id: u32| i.nodes.iter().find(|n| n.0 == id);
    let label = |id: u32| node(id).map_or(format!("node {id}"), |n| short(n.1, &n.2));
    let kind = |id: u32| node(id).map_or("", |n| n.1);

    let components: Vec<_> = i.nodes.iter().filter(|n| n.1 == "component").collect();
    let mut between = Vec::new();
    let mut from_host: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut to_host = Vec::new();
    for (source, target, item) in &i.edges {
        match (kind(*source), kind(*target)) {
            ("component", "component") => between.push(format!(
                "{} --[{item}]--> {}",
                label(*source),
                label(*target)
            )),
            ("host-import", _) => {
                let users = from_host.entry(label(*source)).or_default();
                let user = label(*target);
                if !users.contains(&user) {
                    users.push(user);
                }
            }
            _ => to_host.push(format!("{} <-- {}", label(*target), label(*source))),
        }
    }

    out.push('\n');
    let mut section = |title: String, lines: &[String]| {
        if !lines.is_empty() {
            let _ = writeln!(out, "// {title}:");
            for line in lines {
                let _ = writeln!(out, "//   {line}");
            }
        }
    };
    let names: Vec<String> = components.iter().map(|n| n.2.clone()).collect();
    let count = match names.len() {
        1 => "1 component".to_string(),
        n => format!("{n} components"),
    };
    section(count, &names);
    section(
        "between components (source --[item]--> target)".to_string(),
        &between,
    );
    section(
        "from the host (users <-- imports)".to_string(),
        &host_imports(&from_host),
    );
    section("to the host (export <-- supplier)".to_string(), &to_host);
    out
}

/// The host imports grouped for reading: one entry per set of users (often
/// every component uses the same WASI interfaces), then one line per package
/// and version, `wasi:io/{error, poll, streams}@0.2.6`.
fn host_imports(from_host: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut by_users: Vec<(&Vec<String>, Vec<&str>)> = Vec::new();
    for (import, users) in from_host {
        match by_users.iter_mut().find(|(u, _)| *u == users) {
            Some((_, imports)) => imports.push(import),
            None => by_users.push((users, vec![import])),
        }
    }
    let mut lines = Vec::new();
    for (users, imports) in by_users {
        lines.push(format!("{} <--", users.join(", ")));
        // `ns:pkg/iface@version` grouped by (`ns:pkg`, `version`); other
        // names (plain functions, unversioned) stay as they are.
        let mut packages: Vec<((&str, &str), Vec<&str>)> = Vec::new();
        for import in imports {
            let (path, version) = import.split_once('@').unwrap_or((import, ""));
            match path.split_once('/') {
                Some((package, interface)) => {
                    match packages.iter_mut().find(|(k, _)| *k == (package, version)) {
                        Some((_, ifaces)) => ifaces.push(interface),
                        None => packages.push(((package, version), vec![interface])),
                    }
                }
                None => lines.push(format!("  {import}")),
            }
        }
        for ((package, version), ifaces) in packages {
            let at = if version.is_empty() {
                String::new()
            } else {
                format!("@{version}")
            };
            match ifaces.as_slice() {
                [one] => lines.push(format!("  {package}/{one}{at}")),
                many => lines.push(format!("  {package}/{{{}}}{at}", many.join(", "))),
            }
        }
    }
    lines
}

/// The JSON form, for tools:
///
/// ```json
/// {"world": "...", "fused_by": null,
///  "nodes": [{"id": 0, "kind": "component", "name": "component 0: ..."}],
///  "edges": [{"source": 0, "target": 1, "name": "example:chain/leaf"}]}
/// ```
///
/// `kind` is `component`, `host-import` or `host-export`; `fused_by` is
/// `"meld 0.1.0"` for Meld's output, else `null`.
pub fn json(i: &Inspection) -> String {
    let nodes: Vec<_> = i
        .nodes
        .iter()
        .map(|(id, kind, name)| serde_json::json!({"id": id, "kind": kind, "name": name}))
        .collect();
    let edges: Vec<_> = i
        .edges
        .iter()
        .map(|(source, target, name)| {
            serde_json::json!({"source": source, "target": target, "name": name})
        })
        .collect();
    let value = serde_json::json!({
        "world": i.world,
        "fused_by": i.fused_by,
        "nodes": nodes,
        "edges": edges,
    });
    // A `Value` of strings and numbers always serializes.
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_imports_grouped_by_users_then_package() {
        let mut from_host = BTreeMap::new();
        let all = vec!["component 0".to_string(), "component 1".to_string()];
        for import in [
            "wasi:io/poll@0.2.6",
            "wasi:io/error@0.2.6",
            "wasi:cli/exit@0.2.6",
        ] {
            from_host.insert(import.to_string(), all.clone());
        }
        from_host.insert("log".to_string(), vec!["component 1".to_string()]);
        from_host.insert("wasi:io/streams@0.2.0".to_string(), all.clone());
        assert_eq!(
            host_imports(&from_host),
            [
                "component 1 <--",
                "  log",
                "component 0, component 1 <--",
                "  wasi:cli/exit@0.2.6",
                "  wasi:io/{error, poll}@0.2.6",
                "  wasi:io/streams@0.2.0",
            ]
        );
    }
}
