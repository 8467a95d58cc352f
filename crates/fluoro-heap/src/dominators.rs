//! Dominators and retained sizes.
//!
//! A virtual root points to every root of the snapshot. Object `d` dominates `v` when every
//! path from the virtual root to `v` passes through `d`; `v`'s retained size is what would be
//! freed with it: the shallow sizes of all objects it dominates, itself included. Immediate
//! dominators come from the semi-NCA algorithm (Georgiadis' variant of Lengauer–Tarjan: semi-
//! dominators with path compression, then nearest common ancestors on the DFS tree), every
//! step iterative so that deep graphs cannot overflow the stack.
//!
//! Objects no root reaches (garbage that only the cycle collector can free) have no dominator;
//! their retained size is their shallow size.

use crate::graph::{HeapGraph, NodeIndex};

/// No node: the virtual root, or nothing.
pub const NONE: NodeIndex = NodeIndex::MAX;

/// The dominator tree of a snapshot and the retained size of every object.
#[derive(Debug, Clone)]
pub struct Dominators {
    /// Immediate dominator of each node; [`NONE`] when it is the virtual root (or for
    /// unreachable nodes).
    pub idom: Vec<NodeIndex>,
    /// Bytes freed with each node.
    pub retained: Vec<u64>,
    /// Reachable nodes in depth-first preorder from the virtual root; every node comes after
    /// its immediate dominator.
    pub preorder: Vec<NodeIndex>,
    reachable: Vec<bool>,
}

impl Dominators {
    pub fn is_reachable(&self, node: NodeIndex) -> bool {
        self.reachable[node as usize]
    }

    /// Total bytes of the objects some root reaches.
    pub fn reachable_bytes(&self, graph: &HeapGraph) -> u64 {
        self.preorder
            .iter()
            .map(|&v| graph.nodes[v as usize].size)
            .sum()
    }
}

/// Computes the dominator tree of `graph` from its roots.
pub fn dominators(graph: &HeapGraph) -> Dominators {
    let n = graph.len();
    // Depth-first preorder numbers: 0 is the virtual root, 1.. the reachable nodes. Every
    // edge met on the way but the tree edges is kept as (source number, target node), so the
    // predecessor lists below need no second pass over the graph. Whether a node was seen is
    // a bit (the bitset stays in cache); the targets' numbers are looked up after the walk,
    // in one pass whose memory reads do not wait on each other.
    let mut seen = vec![0u64; n.div_ceil(64)];
    let mut number = vec![0u32; n];
    let mut vertex: Vec<NodeIndex> = vec![NONE];
    let mut parent: Vec<u32> = vec![0];
    let mut edges: Vec<(u32, u32)> = Vec::new();
    let mut stack: Vec<(u32, usize, usize)> = Vec::new();
    for root in &graph.roots {
        let r = root.node as usize;
        if seen[r / 64] & (1 << (r % 64)) == 0 {
            seen[r / 64] |= 1 << (r % 64);
            let k = vertex.len() as u32;
            number[r] = k;
            vertex.push(root.node);
            parent.push(0);
            let targets = graph.edge_range(root.node);
            stack.push((k, targets.start, targets.end));
        } else {
            edges.push((0, root.node));
        }
        while let Some((v, next, end)) = stack.last_mut() {
            if *next == *end {
                stack.pop();
                continue;
            }
            let w = graph.target_at(*next) as usize;
            *next += 1;
            let v = *v;
            if seen[w / 64] & (1 << (w % 64)) == 0 {
                // A tree edge: its source, the parent, is where the semi-dominator search
                // starts, so it is not kept as a predecessor.
                seen[w / 64] |= 1 << (w % 64);
                let k = vertex.len() as u32;
                number[w] = k;
                vertex.push(w as NodeIndex);
                parent.push(v);
                let targets = graph.edge_range(w as NodeIndex);
                stack.push((k, targets.start, targets.end));
            } else {
                edges.push((v, w as u32));
            }
        }
    }
    drop(seen);
    for edge in &mut edges {
        edge.1 = number[edge.1 as usize];
    }
    drop(number);
    let count = vertex.len();

    // Predecessors by target number, as compressed rows (a counting sort of the edges).
    let mut pred_start = vec![0u32; count + 1];
    for &(_, w) in &edges {
        pred_start[w as usize + 1] += 1;
    }
    for i in 0..count {
        pred_start[i + 1] += pred_start[i];
    }
    let mut preds = vec![0u32; edges.len()];
    {
        let mut fill = pred_start.clone();
        for &(v, w) in &edges {
            preds[fill[w as usize] as usize] = v;
            fill[w as usize] += 1;
        }
    }
    drop(edges);

    // Semi-dominators, in reverse preorder, with an iteratively compressed forest. The
    // fields of one vertex sit together: path compression touches them at once.
    let mut forest: Vec<Forest> = (0..count as u32)
        .map(|v| Forest {
            semi: parent[v as usize],
            label: v,
            ancestor: UNLINKED,
        })
        .collect();
    let mut path: Vec<u32> = Vec::new();
    for w in (1..count).rev() {
        let mut s = forest[w].semi;
        for &v in &preds[pred_start[w] as usize..pred_start[w + 1] as usize] {
            // A predecessor numbered below w is not processed yet: its own semi is itself.
            let candidate = if (v as usize) < w {
                v
            } else {
                compress(v, &mut forest, &mut path);
                forest[forest[v as usize].label as usize].semi
            };
            s = s.min(candidate);
        }
        forest[w].semi = s;
        forest[w].ancestor = parent[w];
    }
    drop(preds);
    let semi: Vec<u32> = forest.iter().map(|f| f.semi).collect();
    drop(forest);

    // Immediate dominators: the nearest ancestor on the DFS tree at or above the semi-dominator.
    let mut idom = vec![0u32; count];
    for w in 1..count {
        let mut j = parent[w];
        while j > semi[w] {
            j = idom[j as usize];
        }
        idom[w] = j;
    }

    let mut retained_by_number: Vec<u64> = vertex
        .iter()
        .map(|&v| {
            if v == NONE {
                0
            } else {
                graph.nodes[v as usize].size
            }
        })
        .collect();
    for w in (1..count).rev() {
        let r = retained_by_number[w];
        retained_by_number[idom[w] as usize] += r;
    }

    let mut idom_node = vec![NONE; n];
    let mut retained: Vec<u64> = graph.nodes.iter().map(|node| node.size).collect();
    let mut reachable = vec![false; n];
    for w in 1..count {
        let v = vertex[w] as usize;
        idom_node[v] = if idom[w] == 0 {
            NONE
        } else {
            vertex[idom[w] as usize]
        };
        retained[v] = retained_by_number[w];
        reachable[v] = true;
    }
    vertex.remove(0);
    Dominators {
        idom: idom_node,
        retained,
        preorder: vertex,
        reachable,
    }
}

const UNLINKED: u32 = u32::MAX;

/// A vertex of the forest built in reverse preorder.
#[derive(Clone, Copy)]
struct Forest {
    semi: u32,
    /// The vertex of least semi-dominator on the compressed path above.
    label: u32,
    ancestor: u32,
}

/// Path compression: afterwards `label` of `v` is the vertex of least semi-dominator on the
/// path from `v` up to its tree's root, and `v` hangs right under that root. `v` is linked.
fn compress(v: u32, forest: &mut [Forest], path: &mut Vec<u32>) {
    path.clear();
    let mut u = v;
    loop {
        let a = forest[u as usize].ancestor;
        if a == UNLINKED || forest[a as usize].ancestor == UNLINKED {
            break;
        }
        path.push(u);
        u = a;
    }
    while let Some(x) = path.pop() {
        let x = x as usize;
        let a = forest[x].ancestor as usize;
        let (label_a, ancestor_a) = (forest[a].label, forest[a].ancestor);
        if forest[label_a as usize].semi < forest[forest[x].label as usize].semi {
            forest[x].label = label_a;
        }
        forest[x].ancestor = ancestor_a;
    }
}

/// The immediate-dominator tree's children of each node, as compressed rows, with the
/// virtual root's children (nodes whose immediate dominator is [`NONE`]) listed apart.
pub struct DominatorTree {
    start: Vec<usize>,
    children: Vec<NodeIndex>,
    pub top: Vec<NodeIndex>,
}

impl DominatorTree {
    pub fn new(dom: &Dominators) -> DominatorTree {
        let n = dom.idom.len();
        let mut start = vec![0usize; n + 1];
        let mut top = Vec::new();
        for &v in &dom.preorder {
            match dom.idom[v as usize] {
                NONE => top.push(v),
                d => start[d as usize + 1] += 1,
            }
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut children = vec![0; start[n]];
        for &v in &dom.preorder {
            let d = dom.idom[v as usize];
            if d != NONE {
                children[fill[d as usize]] = v;
                fill[d as usize] += 1;
            }
        }
        DominatorTree {
            start,
            children,
            top,
        }
    }

    pub fn children(&self, node: NodeIndex) -> &[NodeIndex] {
        &self.children[self.start[node as usize]..self.start[node as usize + 1]]
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::graph::graph_from_lists;
    use proptest::prelude::*;

    /// Nodes reachable from the roots, skipping `removed`.
    pub fn reach(graph: &HeapGraph, removed: Option<NodeIndex>) -> Vec<bool> {
        let mut seen = vec![false; graph.len()];
        let mut stack: Vec<NodeIndex> = graph
            .roots
            .iter()
            .map(|r| r.node)
            .filter(|&r| Some(r) != removed)
            .collect();
        while let Some(v) = stack.pop() {
            if std::mem::replace(&mut seen[v as usize], true) {
                continue;
            }
            stack.extend(graph.targets(v).iter().filter(|&&w| Some(w) != removed));
        }
        seen
    }

    /// Retained size by definition: what removing the node makes unreachable, plus itself.
    pub fn brute_retained(graph: &HeapGraph) -> Vec<u64> {
        let all = reach(graph, None);
        (0..graph.len() as NodeIndex)
            .map(|v| {
                if !all[v as usize] {
                    return graph.nodes[v as usize].size;
                }
                let without = reach(graph, Some(v));
                (0..graph.len())
                    .filter(|&w| all[w] && !without[w])
                    .map(|w| graph.nodes[w].size)
                    .sum()
            })
            .collect()
    }

    pub fn arb_graph() -> impl Strategy<Value = HeapGraph> {
        (1usize..24).prop_flat_map(|n| {
            (
                prop::collection::vec((0..n as u32, 0..n as u32), 0..n * 3),
                prop::collection::vec(0..n as u32, 1..4),
                prop::collection::vec(1u64..100, n),
                prop::collection::vec(0usize..3, n),
            )
                .prop_map(move |(edges, roots, sizes, kinds)| {
                    let types: Vec<&str> = kinds.iter().map(|&k| ["A", "B", "C"][k]).collect();
                    graph_from_lists(&types, &sizes, &edges, &roots)
                })
        })
    }

    #[test]
    fn diamond_is_dominated_by_its_top() {
        // 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3: only 0 dominates 3.
        let g = graph_from_lists(
            &["a", "b", "c", "d"],
            &[1, 10, 100, 1000],
            &[(0, 1), (0, 2), (1, 3), (2, 3)],
            &[0],
        );
        let d = dominators(&g);
        assert_eq!(d.idom, vec![NONE, 0, 0, 0]);
        assert_eq!(d.retained, vec![1111, 10, 100, 1000]);
    }

    #[test]
    fn unreachable_cycle_keeps_its_own_size() {
        let g = graph_from_lists(&["a", "b", "c"], &[1, 2, 3], &[(1, 2), (2, 1)], &[0]);
        let d = dominators(&g);
        assert!(!d.is_reachable(1));
        assert_eq!(d.retained, vec![1, 2, 3]);
    }

    #[test]
    fn a_long_chain_does_not_recurse() {
        let n = 200_000u32;
        let types = vec!["a"; n as usize];
        let sizes = vec![1; n as usize];
        let edges: Vec<(u32, u32)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        let d = dominators(&graph_from_lists(&types, &sizes, &edges, &[0]));
        assert_eq!(d.retained[0], n as u64);
        assert_eq!(d.idom[n as usize - 1], n - 2);
    }

    proptest! {
        #[test]
        fn retained_sizes_match_brute_force(g in arb_graph()) {
            let d = dominators(&g);
            prop_assert_eq!(d.retained, brute_retained(&g));
        }

        #[test]
        fn idom_dominates_and_is_nearest(g in arb_graph()) {
            let d = dominators(&g);
            let all = reach(&g, None);
            for v in 0..g.len() as NodeIndex {
                let i = d.idom[v as usize];
                if i == NONE {
                    continue;
                }
                prop_assert!(!reach(&g, Some(i))[v as usize], "idom does not dominate");
                // No other dominator of v sits between: every dominator of v other than
                // v dominates i too (or is i).
                for w in 0..g.len() as NodeIndex {
                    if w != v && w != i && all[w as usize] && !reach(&g, Some(w))[v as usize] {
                        prop_assert!(!reach(&g, Some(w))[i as usize]);
                    }
                }
            }
        }
    }
}
