//! Reference cycles: the strongly connected components of the graph (iterative Tarjan), grouped
//! by the types they are made of, and what the cycle collector could free right now: the
//! objects no root reaches.

use crate::census::TypeRow;
use crate::dominators::Dominators;
use crate::graph::{HeapGraph, NodeIndex};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Tarjan's bookkeeping, with the recursion as an explicit stack of (node, next edge).
struct Tarjan {
    index: Vec<u32>,
    low: Vec<u32>,
    on_stack: Vec<bool>,
    stack: Vec<NodeIndex>,
    calls: Vec<(NodeIndex, usize)>,
    counter: u32,
}

const UNVISITED: u32 = u32::MAX;

impl Tarjan {
    /// Numbers `v` and starts exploring it.
    fn open(&mut self, v: NodeIndex) {
        self.index[v as usize] = self.counter;
        self.low[v as usize] = self.counter;
        self.counter += 1;
        self.stack.push(v);
        self.on_stack[v as usize] = true;
        self.calls.push((v, 0));
    }
}

/// The strongly connected components that are cycles: two or more objects, or one object
/// referring to itself. Each component's nodes are sorted.
pub fn cycles(graph: &HeapGraph) -> Vec<Vec<NodeIndex>> {
    let n = graph.len();
    let mut t = Tarjan {
        index: vec![UNVISITED; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        calls: Vec::new(),
        counter: 0,
    };
    let mut out = Vec::new();
    for start in 0..n as NodeIndex {
        if t.index[start as usize] != UNVISITED {
            continue;
        }
        t.open(start);
        while let Some(&(v, next)) = t.calls.last() {
            if let Some(&w) = graph.targets(v).get(next) {
                if let Some(top) = t.calls.last_mut() {
                    top.1 += 1;
                }
                if t.index[w as usize] == UNVISITED {
                    t.open(w);
                } else if t.on_stack[w as usize] {
                    t.low[v as usize] = t.low[v as usize].min(t.index[w as usize]);
                }
                continue;
            }
            t.calls.pop();
            if let Some(&(parent, _)) = t.calls.last() {
                t.low[parent as usize] = t.low[parent as usize].min(t.low[v as usize]);
            }
            if t.low[v as usize] == t.index[v as usize] {
                let mut component = Vec::new();
                while let Some(w) = t.stack.pop() {
                    t.on_stack[w as usize] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 || graph.targets(v).contains(&v) {
                    component.sort_unstable();
                    out.push(component);
                }
            }
        }
    }
    out
}

/// Cycles made of the same types, e.g. every `app.Node ×2` pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleGroup {
    /// The types in each cycle with their counts: `app.Node ×2, dict ×2`.
    pub types: String,
    /// Objects in each cycle.
    pub size: u64,
    pub cycles: u64,
    pub objects: u64,
    pub bytes: u64,
    /// Of these cycles, how many no root reaches (the cycle collector frees them next run).
    pub unreachable: u64,
}

/// `fluoro heap cycles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CyclesReport {
    pub cycles: u64,
    pub objects_in_cycles: u64,
    pub bytes_in_cycles: u64,
    /// Largest total bytes first.
    pub groups: Vec<CycleGroup>,
    /// Objects no root reaches: cyclic garbage and what it alone holds.
    pub collectable_objects: u64,
    pub collectable_bytes: u64,
    pub collectable_types: Vec<TypeRow>,
}

/// Cycles by type, and the collectable garbage by type.
pub fn cycles_report(graph: &HeapGraph, dom: &Dominators) -> CyclesReport {
    let components = cycles(graph);
    let mut groups: BTreeMap<String, CycleGroup> = BTreeMap::new();
    for c in &components {
        let mut by_type: BTreeMap<&str, u64> = BTreeMap::new();
        for &v in c {
            *by_type.entry(graph.type_name(v)).or_default() += 1;
        }
        let mut parts: Vec<(&str, u64)> = by_type.into_iter().collect();
        parts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let key = parts
            .iter()
            .map(|(t, k)| format!("{t} ×{k}"))
            .collect::<Vec<_>>()
            .join(", ");
        let bytes: u64 = c.iter().map(|&v| graph.nodes[v as usize].size).sum();
        let group = groups.entry(key.clone()).or_insert(CycleGroup {
            types: key,
            size: c.len() as u64,
            cycles: 0,
            objects: 0,
            bytes: 0,
            unreachable: 0,
        });
        group.cycles += 1;
        group.objects += c.len() as u64;
        group.bytes += bytes;
        if !dom.is_reachable(c[0]) {
            group.unreachable += 1;
        }
    }
    let mut groups: Vec<CycleGroup> = groups.into_values().collect();
    groups.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.types.cmp(&b.types)));

    let mut garbage: BTreeMap<u32, TypeRow> = BTreeMap::new();
    for (v, node) in graph.nodes.iter().enumerate() {
        if dom.is_reachable(v as NodeIndex) {
            continue;
        }
        let row = garbage.entry(node.type_index).or_insert_with(|| TypeRow {
            name: graph.types[node.type_index as usize].clone(),
            count: 0,
            shallow_bytes: 0,
            retained_bytes: 0,
        });
        row.count += 1;
        row.shallow_bytes += node.size;
        row.retained_bytes += node.size;
    }
    let mut collectable_types: Vec<TypeRow> = garbage.into_values().collect();
    collectable_types.sort_by(|a, b| {
        b.shallow_bytes
            .cmp(&a.shallow_bytes)
            .then_with(|| a.name.cmp(&b.name))
    });
    CyclesReport {
        cycles: components.len() as u64,
        objects_in_cycles: components.iter().map(|c| c.len() as u64).sum(),
        bytes_in_cycles: groups.iter().map(|g| g.bytes).sum(),
        groups,
        collectable_objects: collectable_types.iter().map(|r| r.count).sum(),
        collectable_bytes: collectable_types.iter().map(|r| r.shallow_bytes).sum(),
        collectable_types,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dominators::dominators;
    use crate::dominators::tests::arb_graph;
    use crate::graph::graph_from_lists;
    use proptest::prelude::*;

    /// Whether `to` is reachable from `from` by one or more edges.
    fn path_exists(g: &HeapGraph, from: u32, to: u32) -> bool {
        let mut seen = vec![false; g.len()];
        let mut stack = g.targets(from).to_vec();
        while let Some(v) = stack.pop() {
            if v == to {
                return true;
            }
            if !std::mem::replace(&mut seen[v as usize], true) {
                stack.extend_from_slice(g.targets(v));
            }
        }
        false
    }

    #[test]
    fn garbage_pair_is_collectable() {
        let g = graph_from_lists(
            &["list", "Node", "Node", "Node"],
            &[56, 48, 48, 48],
            &[(1, 2), (2, 1), (0, 3), (3, 3)],
            &[0],
        );
        let report = cycles_report(&g, &dominators(&g));
        assert_eq!(report.cycles, 2);
        assert_eq!(report.collectable_objects, 2);
        assert_eq!(report.collectable_bytes, 96);
        assert_eq!(report.groups[0].types, "Node ×2");
        assert_eq!(report.groups[0].unreachable, 1);
        assert_eq!(report.groups[1].types, "Node ×1");
        assert_eq!(report.groups[1].unreachable, 0);
    }

    proptest! {
        /// Two nodes share a component exactly when each reaches the other.
        #[test]
        fn components_match_mutual_reachability(g in arb_graph()) {
            let comps = cycles(&g);
            let mut comp_of = vec![None; g.len()];
            for (i, c) in comps.iter().enumerate() {
                for &v in c {
                    prop_assert!(comp_of[v as usize].is_none(), "node in two components");
                    comp_of[v as usize] = Some(i);
                }
            }
            for a in 0..g.len() as u32 {
                let cyclic = path_exists(&g, a, a);
                prop_assert_eq!(comp_of[a as usize].is_some(), cyclic);
                for b in 0..g.len() as u32 {
                    if a != b {
                        let mutual = path_exists(&g, a, b) && path_exists(&g, b, a);
                        let same = comp_of[a as usize].is_some() && comp_of[a as usize] == comp_of[b as usize];
                        prop_assert_eq!(mutual, same);
                    }
                }
            }
        }
    }
}
