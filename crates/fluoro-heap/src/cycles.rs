//! Reference cycles: the strongly connected components of the graph (iterative Tarjan), grouped
//! by the types they are made of, garbage (no root reaches it: the cycle collector frees it)
//! apart from what the program still holds, and what the collector could free right now.

use crate::census::TypeRow;
use crate::dominators::Dominators;
use crate::graph::{HeapGraph, NodeIndex};
use crate::plumbing::{roles, Role};
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
    cycles_among(graph, |_| true)
}

/// The cycles of the subgraph of the nodes `keep` accepts (the references between them).
pub fn cycles_among(graph: &HeapGraph, keep: impl Fn(NodeIndex) -> bool) -> Vec<Vec<NodeIndex>> {
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
        if t.index[start as usize] != UNVISITED || !keep(start) {
            continue;
        }
        t.open(start);
        while let Some(&(v, next)) = t.calls.last() {
            if let Some(&w) = graph.targets(v).get(next) {
                if let Some(top) = t.calls.last_mut() {
                    top.1 += 1;
                }
                if !keep(w) {
                    continue;
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
    /// The cycles run through modules, classes or functions (shown with `--all` only).
    pub interpreter: bool,
}

/// Cycles of one kind, grouped by type, largest total bytes first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleSet {
    pub cycles: u64,
    pub objects: u64,
    pub bytes: u64,
    pub groups: Vec<CycleGroup>,
}

/// `fluoro heap cycles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CyclesReport {
    /// Every cycle of the snapshot, whatever it is made of.
    pub cycles: u64,
    pub objects_in_cycles: u64,
    pub bytes_in_cycles: u64,
    /// Cycles no root reaches: what the cycle collector frees on its next run.
    pub garbage: CycleSet,
    /// Cycles the program still holds (through modules, classes or functions only with
    /// `--all`).
    pub reachable: CycleSet,
    /// Reachable cycles through modules, classes or functions left out of `reachable`.
    pub interpreter_left_out: CycleSet,
    /// Objects no root reaches: cyclic garbage and what it alone holds.
    pub collectable_objects: u64,
    pub collectable_bytes: u64,
    pub collectable_types: Vec<TypeRow>,
}

/// What a cycle is made of: `app.Node ×2, dict ×2`, most numerous first.
fn composition(graph: &HeapGraph, members: &[NodeIndex]) -> String {
    let mut by_type: BTreeMap<&str, u64> = BTreeMap::new();
    for &v in members {
        *by_type.entry(graph.type_name(v)).or_default() += 1;
    }
    let mut parts: Vec<(&str, u64)> = by_type.into_iter().collect();
    parts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    parts
        .iter()
        .map(|(t, k)| format!("{t} ×{k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Cycles grouped by composition into sets.
#[derive(Default)]
struct Grouping {
    groups: BTreeMap<(String, bool), CycleGroup>,
}

impl Grouping {
    fn add(&mut self, types: String, interpreter: bool, members: u64, bytes: u64) {
        let group = self
            .groups
            .entry((types.clone(), interpreter))
            .or_insert(CycleGroup {
                types,
                size: members,
                cycles: 0,
                objects: 0,
                bytes: 0,
                interpreter,
            });
        group.cycles += 1;
        group.objects += members;
        group.bytes += bytes;
    }

    fn finish(self) -> CycleSet {
        let mut groups: Vec<CycleGroup> = self.groups.into_values().collect();
        groups.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.types.cmp(&b.types)));
        CycleSet {
            cycles: groups.iter().map(|g| g.cycles).sum(),
            objects: groups.iter().map(|g| g.objects).sum(),
            bytes: groups.iter().map(|g| g.bytes).sum(),
            groups,
        }
    }
}

/// Cycles by type, garbage apart from reachable, and the collectable garbage by type.
///
/// Every instance reachable from a module global is in one component with its class, the
/// class's methods and their globals: the whole graph's components say little about the
/// program's own cycles. So the reachable cycles shown are those among the program's data
/// alone (references to classes, modules and functions left aside); the components that run
/// through the interpreter's structure are counted apart, and listed only with `all`. Garbage
/// cycles (no root reaches them) are always listed whole: the collector frees them whole.
pub fn cycles_report(graph: &HeapGraph, dom: &Dominators, all: bool) -> CyclesReport {
    let components = cycles(graph);
    let roles = roles(graph);
    let interpreter = |c: &[NodeIndex]| c.iter().any(|&v| roles[v as usize].is_interpreter());
    let bytes = |c: &[NodeIndex]| -> u64 { c.iter().map(|&v| graph.nodes[v as usize].size).sum() };
    let (mut unreachable, mut reachable, mut left_out) = (
        Grouping::default(),
        Grouping::default(),
        Grouping::default(),
    );
    for c in &components {
        let through = interpreter(c);
        let set = if !dom.is_reachable(c[0]) {
            &mut unreachable
        } else if !through {
            // Found again below, among the data.
            continue;
        } else if all {
            &mut reachable
        } else {
            &mut left_out
        };
        set.add(composition(graph, c), through, c.len() as u64, bytes(c));
    }
    let data = |v: NodeIndex| roles[v as usize] == Role::Data && dom.is_reachable(v);
    for c in cycles_among(graph, data) {
        reachable.add(composition(graph, &c), false, c.len() as u64, bytes(&c));
    }

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
    let (garbage, reachable, interpreter_left_out) =
        (unreachable.finish(), reachable.finish(), left_out.finish());
    CyclesReport {
        cycles: components.len() as u64,
        objects_in_cycles: components.iter().map(|c| c.len() as u64).sum(),
        bytes_in_cycles: garbage.bytes + reachable.bytes + interpreter_left_out.bytes,
        garbage,
        reachable,
        interpreter_left_out,
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
    use crate::graph::{graph_from_lists, labelled_graph};
    use proptest::prelude::*;

    /// Whether `to` is reachable from `from` by one or more edges.
    fn path_exists(g: &HeapGraph, from: u32, to: u32) -> bool {
        path_among(g, from, to, |_| true)
    }

    /// Whether `to` is reachable from `from` by one or more edges through nodes `keep` takes.
    fn path_among(g: &HeapGraph, from: u32, to: u32, keep: impl Fn(u32) -> bool) -> bool {
        let mut seen = vec![false; g.len()];
        let mut stack: Vec<u32> = g
            .targets(from)
            .iter()
            .copied()
            .filter(|&v| keep(v))
            .collect();
        while let Some(v) = stack.pop() {
            if v == to {
                return true;
            }
            if !std::mem::replace(&mut seen[v as usize], true) {
                stack.extend(g.targets(v).iter().copied().filter(|&w| keep(w)));
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
        let report = cycles_report(&g, &dominators(&g), false);
        assert_eq!(report.cycles, 2);
        assert_eq!(report.collectable_objects, 2);
        assert_eq!(report.collectable_bytes, 96);
        assert_eq!(report.garbage.groups.len(), 1);
        assert_eq!(report.garbage.groups[0].types, "Node ×2");
        assert_eq!(report.reachable.groups.len(), 1);
        assert_eq!(report.reachable.groups[0].types, "Node ×1");
    }

    #[test]
    fn reachable_cycles_are_the_datas_and_the_interpreters_are_left_out_unless_all() {
        // root → module → its dict → cache list → User (which refers to itself) → its class →
        // the module's dict again (its methods' globals); a garbage pair; a reachable pair.
        let dict = Some("__dict__");
        let g = labelled_graph(
            &[
                ("module", &[(1, dict)]),                                  // 0
                ("dict", &[(2, None)]),                                    // 1
                ("list", &[(3, None)]),                                    // 2
                ("app.User", &[(4, Some("__class__")), (3, Some(".me"))]), // 3
                ("type", &[(1, None)]),                                    // 4
                ("app.Node", &[(6, None)]),                                // 5
                ("app.Node", &[(5, None)]),                                // 6
                ("app.Node", &[(8, None)]),                                // 7
                ("app.Node", &[(7, None)]),                                // 8
            ],
            &[(0, None), (7, None)],
        );
        let dom = dominators(&g);
        let report = cycles_report(&g, &dom, false);
        assert_eq!(report.cycles, 3);
        assert_eq!(report.garbage.groups.len(), 1);
        assert_eq!(report.garbage.groups[0].types, "app.Node ×2");
        // The User's own cycle shows, though the whole graph merges it into the module's.
        let reachable: Vec<&str> = report
            .reachable
            .groups
            .iter()
            .map(|g| g.types.as_str())
            .collect();
        assert_eq!(reachable, ["app.Node ×2", "app.User ×1"]);
        assert_eq!(
            (
                report.interpreter_left_out.cycles,
                report.interpreter_left_out.objects
            ),
            (1, 4)
        );
        let all = cycles_report(&g, &dom, true);
        assert_eq!(all.reachable.cycles, 3);
        assert!(all
            .reachable
            .groups
            .iter()
            .any(|g| g.interpreter && g.size == 4));
        assert_eq!(all.interpreter_left_out, CycleSet::default());
    }

    proptest! {
        /// Among the kept nodes, a node is in a cycle exactly when it reaches itself through
        /// kept nodes, and two share one exactly when each reaches the other that way.
        #[test]
        fn components_among_kept_nodes_match_reachability_among_them(g in arb_graph()) {
            let keep = |v: u32| v % 3 != 0;
            let comps = cycles_among(&g, keep);
            let mut comp_of = vec![None; g.len()];
            for (i, c) in comps.iter().enumerate() {
                for &v in c {
                    prop_assert!(keep(v));
                    comp_of[v as usize] = Some(i);
                }
            }
            for a in (0..g.len() as u32).filter(|&a| keep(a)) {
                prop_assert_eq!(comp_of[a as usize].is_some(), path_among(&g, a, a, keep));
                for b in (0..g.len() as u32).filter(|&b| keep(b) && b != a) {
                    let mutual = path_among(&g, a, b, keep) && path_among(&g, b, a, keep);
                    let same = comp_of[a as usize].is_some() && comp_of[a as usize] == comp_of[b as usize];
                    prop_assert_eq!(mutual, same);
                }
            }
        }

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
