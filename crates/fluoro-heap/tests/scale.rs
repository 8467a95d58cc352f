//! The dominator floor: 10 million objects in under 5 seconds. Ignored by default (it needs a
//! release build and a gigabyte of memory); `benches/heap_vs_peers.py` runs it:
//! `cargo test -p fluoro-heap --release --test scale -- --ignored --nocapture`.

use fluoro_heap::{census, dominators, GraphBuilder, HeapGraph, Node};
use std::time::Instant;

/// Where each object's one extra reference goes.
#[derive(Clone, Copy)]
enum Extra {
    /// Anywhere, uniformly: the worst case for memory locality.
    Uniform,
    /// As in a snapshot, where nodes are sorted by address: mostly to objects allocated
    /// nearby (within 65 536 nodes), one in five to a small set of widely shared objects
    /// (classes, interned strings, module dicts).
    HeapLike,
}

/// A 4-ary tree of containers (parents reference children), and every object one more
/// reference (shared values, back references, cycles); 64 roots.
fn synthetic(n: u32, extra: Extra) -> HeapGraph {
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
        let target = match extra {
            Extra::Uniform => state % n as u64,
            Extra::HeapLike if state % 5 == 0 => (state >> 8) % 4096.min(n as u64),
            Extra::HeapLike => {
                let offset = (state >> 8) % (1 << 17);
                (i as u64 + offset)
                    .saturating_sub(1 << 16)
                    .min(n as u64 - 1)
            }
        };
        b.edge(target as u32, None);
    }
    for r in 0..64.min(n) {
        b.root(r, None);
    }
    b.finish().expect("synthetic graph is well formed")
}

/// (nanoseconds on a CPU, nanoseconds runnable but waiting for one) of this thread, from
/// /proc/thread-self/schedstat: on a shared machine the wall time includes the waiting.
fn cpu_and_wait() -> (f64, f64) {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let mut fields = text
        .split_whitespace()
        .map(|f| f.parse::<f64>().unwrap_or(0.0));
    (
        fields.next().unwrap_or(0.0) / 1e9,
        fields.next().unwrap_or(0.0) / 1e9,
    )
}

#[test]
#[ignore = "10M nodes: run in release, from benches/heap_vs_peers.py"]
fn dominators_of_ten_million_nodes_under_five_seconds() {
    let elapsed = measure("heap-like", Extra::HeapLike);
    assert!(elapsed < 5.0, "dominators took {elapsed:.3} s");
}

/// The same on uniformly random extra references: reported, not held to the floor.
#[test]
#[ignore = "10M nodes: run in release, from benches/heap_vs_peers.py"]
fn dominators_of_ten_million_nodes_uniform() {
    measure("uniform", Extra::Uniform);
}

/// Times the dominators and the census of 10M nodes; returns the dominators' wall time.
fn measure(shape: &str, extra: Extra) -> f64 {
    let n = 10_000_000;
    let graph = synthetic(n, extra);
    let (cpu0, wait0) = cpu_and_wait();
    let start = Instant::now();
    let dom = dominators(&graph);
    let elapsed = start.elapsed().as_secs_f64();
    let (cpu1, wait1) = cpu_and_wait();
    let start = Instant::now();
    let types = census(&graph, &dom);
    let census_elapsed = start.elapsed().as_secs_f64();
    let total: u64 = graph.nodes.iter().map(|n| n.size).sum();
    println!(
        "dominators ({shape}): {n} nodes, {} edges in {elapsed:.3} s (on CPU {:.3} s, waiting for a CPU {:.3} s); census with retained sizes {census_elapsed:.3} s",
        graph.edge_count(),
        cpu1 - cpu0,
        wait1 - wait0,
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
    elapsed
}

#[test]
fn synthetic_graph_is_fully_reachable() {
    for extra in [Extra::Uniform, Extra::HeapLike] {
        let graph = synthetic(10_000, extra);
        let dom = dominators(&graph);
        assert_eq!(dom.preorder.len(), 10_000);
    }
}
