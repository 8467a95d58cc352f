//! Census by type: how many objects of each type, their shallow bytes, and the bytes they
//! retain together (the union of what their instances dominate, each byte counted once).

use crate::dominators::{DominatorTree, Dominators};
use crate::graph::{HeapGraph, NodeIndex};
use serde::{Deserialize, Serialize};

/// One type's line of the census.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeRow {
    pub name: String,
    pub count: u64,
    pub shallow_bytes: u64,
    pub retained_bytes: u64,
}

/// Counts, shallow and retained bytes per type, largest retained first.
///
/// A type's retained bytes are the retained sizes of its instances that no other instance of
/// the type dominates (so a linked list's nodes are not counted once per node).
pub fn census(graph: &HeapGraph, dom: &Dominators) -> Vec<TypeRow> {
    let types = graph.types.len();
    let mut count = vec![0u64; types];
    let mut shallow = vec![0u64; types];
    let mut retained = vec![0u64; types];
    for node in &graph.nodes {
        count[node.type_index as usize] += 1;
        shallow[node.type_index as usize] += node.size;
    }
    // Walk the dominator tree keeping, per type, how many instances are on the current path.
    let tree = DominatorTree::new(dom);
    let mut on_path = vec![0u32; types];
    let mut stack: Vec<(NodeIndex, bool)> = tree.top.iter().rev().map(|&v| (v, true)).collect();
    while let Some((v, entering)) = stack.pop() {
        let t = graph.nodes[v as usize].type_index as usize;
        if entering {
            if on_path[t] == 0 {
                retained[t] += dom.retained[v as usize];
            }
            on_path[t] += 1;
            stack.push((v, false));
            stack.extend(tree.children(v).iter().map(|&c| (c, true)));
        } else {
            on_path[t] -= 1;
        }
    }
    // Unreachable objects hold only themselves.
    for (v, node) in graph.nodes.iter().enumerate() {
        if !dom.is_reachable(v as NodeIndex) {
            retained[node.type_index as usize] += node.size;
        }
    }
    let mut rows: Vec<TypeRow> = (0..types)
        .filter(|&t| count[t] > 0)
        .map(|t| TypeRow {
            name: graph.types[t].clone(),
            count: count[t],
            shallow_bytes: shallow[t],
            retained_bytes: retained[t],
        })
        .collect();
    rows.sort_by(|a, b| {
        b.retained_bytes
            .cmp(&a.retained_bytes)
            .then(b.shallow_bytes.cmp(&a.shallow_bytes))
            .then_with(|| a.name.cmp(&b.name))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dominators::dominators;
    use crate::dominators::tests::{arb_graph, reach};
    use crate::graph::graph_from_lists;
    use proptest::prelude::*;

    #[test]
    fn a_chain_of_one_type_is_counted_once() {
        // root list -> node -> node -> node
        let g = graph_from_lists(
            &["list", "Node", "Node", "Node"],
            &[56, 10, 10, 10],
            &[(0, 1), (1, 2), (2, 3)],
            &[0],
        );
        let rows = census(&g, &dominators(&g));
        let node = rows.iter().find(|r| r.name == "Node").unwrap();
        assert_eq!(
            (node.count, node.shallow_bytes, node.retained_bytes),
            (3, 30, 30)
        );
        assert_eq!(rows[0].name, "list");
        assert_eq!(rows[0].retained_bytes, 86);
    }

    proptest! {
        /// A type's retained bytes: the objects that some instance of it dominates (itself
        /// included), each counted once, plus its unreachable instances.
        #[test]
        fn type_retained_matches_brute_force(g in arb_graph()) {
            let rows = census(&g, &dominators(&g));
            let all = reach(&g, None);
            let dominated_by: Vec<Vec<bool>> = (0..g.len() as u32)
                .map(|d| {
                    let without = reach(&g, Some(d));
                    (0..g.len()).map(|v| all[v] && (v == d as usize || !without[v])).collect()
                })
                .collect();
            for row in rows {
                let t = g.types.iter().position(|n| *n == row.name).unwrap() as u32;
                let instances: Vec<usize> =
                    (0..g.len()).filter(|&v| g.nodes[v].type_index == t).collect();
                let expected: u64 = (0..g.len())
                    .filter(|&v| {
                        instances.iter().any(|&d| dominated_by[d][v])
                            || (!all[v] && g.nodes[v].type_index == t)
                    })
                    .map(|v| g.nodes[v].size)
                    .sum();
                prop_assert_eq!(row.retained_bytes, expected, "type {}", row.name);
            }
        }
    }
}
