//! "Why alive": the shortest chain of references from a root to an object, found by a
//! breadth-first search from the named roots (`sys.modules`) at once, then from the other
//! roots (objects held from outside the graph: running frames, C code) for what the named
//! ones do not reach; written the way the code would reach it:
//! `sys.modules['app'] → .CACHE → dict['users'] → list[3] → app.User`.

use crate::dominators::NONE;
use crate::graph::{HeapGraph, NodeIndex};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Breadth-first parents from the roots: the first edge that reached each node.
pub struct RootPaths {
    /// The node each node was first reached from; [`NONE`] for roots and unreached nodes.
    parent: Vec<NodeIndex>,
    /// For roots: the index of their entry in `graph.roots`.
    root_entry: Vec<u32>,
    /// BFS order: nodes nearer the roots first.
    pub order: Vec<NodeIndex>,
}

impl RootPaths {
    pub fn new(graph: &HeapGraph) -> RootPaths {
        Self::search(graph, |_| false).0
    }

    /// Breadth-first from the roots, stopping at the first node `wanted` accepts.
    fn search(
        graph: &HeapGraph,
        wanted: impl Fn(NodeIndex) -> bool,
    ) -> (RootPaths, Option<NodeIndex>) {
        let n = graph.len();
        let mut parent = vec![NONE; n];
        let mut root_entry = vec![u32::MAX; n];
        let mut seen = vec![false; n];
        let mut queue = VecDeque::new();
        let mut order = Vec::new();
        let mut found = None;
        // Named roots (sys.modules) first, to the end; then the others for what is left.
        for named in [true, false] {
            for (i, root) in graph.roots.iter().enumerate() {
                let r = root.node as usize;
                if root.label.is_some() == named && !seen[r] {
                    seen[r] = true;
                    root_entry[r] = i as u32;
                    queue.push_back(root.node);
                }
            }
            while let Some(v) = queue.pop_front() {
                order.push(v);
                if wanted(v) {
                    found = Some(v);
                    break;
                }
                for &w in graph.targets(v) {
                    if !seen[w as usize] {
                        seen[w as usize] = true;
                        parent[w as usize] = v;
                        queue.push_back(w);
                    }
                }
            }
            if found.is_some() {
                break;
            }
        }
        (
            RootPaths {
                parent,
                root_entry,
                order,
            },
            found,
        )
    }

    /// The nodes from a root down to `target`, or None when no root reaches it.
    pub fn chain(&self, target: NodeIndex) -> Option<Vec<NodeIndex>> {
        let mut chain = vec![target];
        let mut v = target;
        while self.parent[v as usize] != NONE {
            v = self.parent[v as usize];
            chain.push(v);
        }
        if self.root_entry[v as usize] == u32::MAX {
            return None;
        }
        chain.reverse();
        Some(chain)
    }

    /// The chain as one line of text.
    pub fn describe(&self, graph: &HeapGraph, target: NodeIndex) -> Option<String> {
        let chain = self.chain(target)?;
        let root = &graph.roots[self.root_entry[chain[0] as usize] as usize];
        Some(describe_chain(
            graph,
            &chain,
            root.label.map(|l| graph.string(l)),
        ))
    }
}

/// One step of a path: the object reached and the reference that reached it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub id: u64,
    #[serde(rename = "type")]
    pub type_name: String,
    pub size: u64,
    /// How the previous object refers to this one (`['key']`, `[3]`, `.attr`), if known.
    pub label: Option<String>,
}

/// The shortest path to an object or to the nearest instance of a type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathReport {
    /// What was asked for: `id 0x...` or `type NAME`.
    pub target: String,
    /// Objects matching the target, and how many of them some root reaches.
    pub matches: u64,
    pub reachable: u64,
    /// What makes the root a root: `sys.modules`, or `external` for objects referenced
    /// from outside the graph (a running frame, a C extension).
    pub root: Option<String>,
    pub steps: Vec<Step>,
    /// The path as one line.
    pub text: Option<String>,
}

/// Which objects a path query looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathTarget {
    Id(u64),
    Type(String),
}

/// Why `fluoro heap path` cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("no object with id {0:#x} in the snapshot")]
    NoSuchId(u64),
    #[error("no type named {0:?} in the snapshot")]
    NoSuchType(String),
}

/// The shortest path from any root to the target.
pub fn shortest_path(graph: &HeapGraph, target: &PathTarget) -> Result<PathReport, PathError> {
    let n = graph.len() as NodeIndex;
    let (wanted, description): (Vec<bool>, String) = match target {
        PathTarget::Id(id) => {
            let node = graph
                .nodes
                .iter()
                .position(|node| node.id == *id)
                .ok_or(PathError::NoSuchId(*id))?;
            let mut wanted = vec![false; n as usize];
            wanted[node] = true;
            (wanted, format!("id {id:#x}"))
        }
        PathTarget::Type(name) => {
            let types = graph.types_named(name);
            if types.is_empty() {
                return Err(PathError::NoSuchType(name.clone()));
            }
            let wanted = graph
                .nodes
                .iter()
                .map(|node| types.contains(&node.type_index))
                .collect();
            let names: Vec<&str> = types
                .iter()
                .map(|&t| graph.types[t as usize].as_str())
                .collect();
            (wanted, format!("type {}", names.join(", ")))
        }
    };
    let matches = wanted.iter().filter(|&&w| w).count() as u64;
    let reachable_paths = RootPaths::new(graph);
    let reachable = reachable_paths
        .order
        .iter()
        .filter(|&&v| wanted[v as usize])
        .count() as u64;
    let (paths, found) = RootPaths::search(graph, |v| wanted[v as usize]);
    let Some(found) = found else {
        return Ok(PathReport {
            target: description,
            matches,
            reachable,
            root: None,
            steps: Vec::new(),
            text: None,
        });
    };
    let chain = paths.chain(found).unwrap_or_default();
    let root_label = chain
        .first()
        .map(|&r| &graph.roots[paths.root_entry[r as usize] as usize])
        .and_then(|r| r.label)
        .map(|l| graph.string(l).to_owned());
    let steps = chain
        .iter()
        .enumerate()
        .map(|(i, &v)| Step {
            id: graph.nodes[v as usize].id,
            type_name: graph.type_name(v).to_owned(),
            size: graph.nodes[v as usize].size,
            label: (i > 0)
                .then(|| graph.edge_label(chain[i - 1], v))
                .flatten()
                .map(str::to_owned),
        })
        .collect();
    Ok(PathReport {
        target: description,
        matches,
        reachable,
        text: Some(describe_chain(graph, &chain, root_label.as_deref())),
        root: Some(root_label.unwrap_or_else(|| "external".to_owned())),
        steps,
    })
}

/// `sys.modules['app'] → .CACHE → dict['users'] → list[3] → app.User`: each segment is the
/// reference taken out of the previous object; an object's `__dict__` is folded into `.attr`.
pub fn describe_chain(graph: &HeapGraph, chain: &[NodeIndex], root_label: Option<&str>) -> String {
    let Some((&last, _)) = chain.split_last() else {
        return String::new();
    };
    let short = |v: NodeIndex| graph.type_name(v).to_owned();
    let mut segments: Vec<String> = Vec::new();
    let mut through_dict = false;
    for pair in chain.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        let label = graph.edge_label(from, to);
        if label == Some("__dict__") && to != last {
            through_dict = true;
            continue;
        }
        // The first segment names the root; later ones follow from the previous segment.
        let root_name = segments
            .is_empty()
            .then(|| root_label.map_or_else(|| short(chain[0]), str::to_owned));
        let segment = match label {
            Some(key) if through_dict && key.starts_with("['") => format!(
                "{}.{}",
                root_name.unwrap_or_default(),
                key.trim_start_matches("['").trim_end_matches("']")
            ),
            Some("__dict__") => format!("{}.__dict__", root_name.unwrap_or_default()),
            Some(attr) if attr.starts_with('.') => {
                format!("{}{attr}", root_name.unwrap_or_default())
            }
            Some(item) => format!("{}{item}", root_name.unwrap_or_else(|| short(from))),
            None => root_name.unwrap_or_else(|| short(from)),
        };
        through_dict = false;
        segments.push(segment);
    }
    if segments.is_empty() {
        return root_label.map_or_else(|| short(last), |l| format!("{l} ({})", short(last)));
    }
    segments.push(short(last));
    segments.join(" → ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dominators::tests::arb_graph;
    use crate::graph::{GraphBuilder, Node};
    use proptest::prelude::*;

    fn node(b: &mut GraphBuilder, ty: &str, id: u64) -> NodeIndex {
        let type_index = b.type_index(ty);
        b.node(Node {
            id,
            type_index,
            size: 8,
            site: None,
        })
    }

    /// sys.modules -> module app -> its dict -> CACHE dict -> users list -> User.
    fn app() -> HeapGraph {
        let mut b = GraphBuilder::new();
        let labels: Vec<Option<u32>> = ["['app']", "__dict__", "['CACHE']", "['users']", "[3]"]
            .iter()
            .map(|l| Some(b.string_index(l)))
            .collect();
        let types = ["dict", "module", "dict", "dict", "list", "app.User"];
        for (i, ty) in types.iter().enumerate() {
            node(&mut b, ty, 0x100 + i as u64 * 16);
            if i + 1 < types.len() {
                b.edge(i as u32 + 1, labels[i]);
            }
        }
        let root = b.string_index("sys.modules");
        b.root(0, Some(root));
        b.finish().unwrap()
    }

    #[test]
    fn path_reads_like_the_code() {
        let g = app();
        let report = shortest_path(&g, &PathTarget::Type("User".into())).unwrap();
        assert_eq!(
            report.text.as_deref(),
            Some("sys.modules['app'] → .CACHE → dict['users'] → list[3] → app.User")
        );
        assert_eq!(report.steps.len(), 6);
        assert_eq!(report.root.as_deref(), Some("sys.modules"));
        assert_eq!(report.steps[5].label.as_deref(), Some("[3]"));
    }

    #[test]
    fn unknown_targets_are_errors() {
        let g = app();
        assert!(matches!(
            shortest_path(&g, &PathTarget::Type("Nope".into())),
            Err(PathError::NoSuchType(_))
        ));
        assert!(matches!(
            shortest_path(&g, &PathTarget::Id(1)),
            Err(PathError::NoSuchId(1))
        ));
    }

    /// Distances from the roots by repeated relaxation (Bellman–Ford on unit weights).
    fn distances(g: &HeapGraph) -> Vec<Option<usize>> {
        let mut d = vec![None; g.len()];
        for r in &g.roots {
            d[r.node as usize] = Some(0);
        }
        for _ in 0..g.len() {
            for v in 0..g.len() as u32 {
                if let Some(dv) = d[v as usize] {
                    for &w in g.targets(v) {
                        if d[w as usize].is_none_or(|dw| dw > dv + 1) {
                            d[w as usize] = Some(dv + 1);
                        }
                    }
                }
            }
        }
        d
    }

    proptest! {
        #[test]
        fn paths_are_shortest_and_real(g in arb_graph()) {
            let dist = distances(&g);
            for v in 0..g.len() as u32 {
                let id = g.nodes[v as usize].id;
                let report = shortest_path(&g, &PathTarget::Id(id)).unwrap();
                match dist[v as usize] {
                    None => prop_assert!(report.steps.is_empty()),
                    Some(d) => {
                        prop_assert_eq!(report.steps.len(), d + 1);
                        let ids: Vec<u64> = report.steps.iter().map(|s| s.id).collect();
                        prop_assert!(g.roots.iter().any(|r| g.nodes[r.node as usize].id == ids[0]));
                        for pair in ids.windows(2) {
                            let from = g.nodes.iter().position(|n| n.id == pair[0]).unwrap() as u32;
                            prop_assert!(g.targets(from).iter().any(|&t| g.nodes[t as usize].id == pair[1]));
                        }
                        prop_assert_eq!(*ids.last().unwrap(), id);
                    }
                }
            }
            // By type: as short as the nearest instance.
            let report = shortest_path(&g, &PathTarget::Type("A".into()));
            if let Ok(report) = report {
                let nearest = (0..g.len())
                    .filter(|&v| g.type_name(v as u32) == "A")
                    .filter_map(|v| dist[v])
                    .min();
                prop_assert_eq!(nearest.map(|d| d + 1).unwrap_or(0), report.steps.len());
            }
        }
    }
}
