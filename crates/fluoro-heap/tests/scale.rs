//! The dominator floor: 10 million objects in under 5 seconds. Ignored by default (it needs a
//! release build and a gigabyte of memory); `benches/heap_vs_peers.py` runs it:
//! `cargo test -p fluoro-heap --release --test scale -- --ignored --nocapture`.

use fluoro_heap::{census, dominators, GraphBuilder, HeapGraph, Node};
use std::time::Instant;

/// A heap-like graph: a 4-ary tree of containers (parents reference children), and every
/// object one more reference to a pseudo-random object (shared values, back references,
/// cycles); 64 roots.
fn synthetic(n: u32) -> HeapGraph {
    let mut b = GraphBuilder::new();
    let types: Vec<u32> = ["dict", "list", "str", "app.User", "tuple"]
        .iter()
        .map(|t| b.type_index(t))
        .collect();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..n {
        b.node(Node {
            id: 0x7f00_0000_0000 + 48 * i as u64,
            type_index: types[i as usize % types.len()],
            size: 32 + (i as u64 % 7) * 8,
            site: None,
        });
        for child in 4 * i as u64 + 1..=4 * i as u64 + 4 {
            if child < n as u64 {
                b.edge(child as u32, None);
            }
        }
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        b.edge((state % n as u64) as u32, None);
    }
    for r in 0..64.min(n) {
        b.root(r, None);
    }
    b.finish().expect("synthetic graph is well formed")
}

#[test]
#[ignore = "10M nodes: run in release, from benches/heap_vs_peers.py"]
fn dominators_of_ten_million_nodes_under_five_seconds() {
    let n = 10_000_000;
    let graph = synthetic(n);
    let start = Instant::now();
    let dom = dominators(&graph);
    let elapsed = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let types = census(&graph, &dom);
    let census_elapsed = start.elapsed().as_secs_f64();
    let total: u64 = graph.nodes.iter().map(|n| n.size).sum();
    println!(
        "dominators: {n} nodes, {} edges in {elapsed:.3} s; census with retained sizes {census_elapsed:.3} s",
        graph.edge_count()
    );
    assert_eq!(
        dom.retained
            .iter()
            .take(64)
            .copied()
            .max()
            .map(|m| m <= total),
        Some(true)
    );
    assert_eq!(types.iter().map(|t| t.count).sum::<u64>(), n as u64);
    assert!(elapsed < 5.0, "dominators took {elapsed:.3} s");
}

#[test]
fn synthetic_graph_is_fully_reachable() {
    let graph = synthetic(10_000);
    let dom = dominators(&graph);
    assert_eq!(dom.preorder.len(), 10_000);
}
