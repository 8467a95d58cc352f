//! The fuzz targets in `cargo test`: every committed seed, then deterministic mutations of
//! them (`FLUORO_FUZZ_MUTATIONS` per target, 1,000 by default, under 20 s in all), none of
//! which may panic. `scripts/fuzz` runs the same targets under AFL++ for as long as asked.

use fluoro_fuzz::mutate::{mutate, Rng};
use fluoro_fuzz::Target;

fn seeds(target: Target) -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    for dir in target.seed_dirs() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a corpus entry").path();
            if !path.is_file() {
                continue;
            }
            let data = std::fs::read(&path).expect("a readable seed");
            seeds.push((path.display().to_string(), data));
        }
    }
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds for {}", target.name());
    seeds
}

fn mutations() -> usize {
    std::env::var("FLUORO_FUZZ_MUTATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

fn replay(target: Target) {
    let seeds = seeds(target);
    for (name, data) in &seeds {
        eprintln!("{}: {name}", target.name());
        target.run(data);
    }
    let mut rng = Rng::new(target as u64 + 1);
    for i in 0..mutations() {
        let (_, seed) = &seeds[i % seeds.len()];
        let (_, other) = &seeds[rng.below(seeds.len())];
        target.run(&mutate(seed, other, &mut rng));
    }
}

#[test]
fn every_target_takes_its_corpus_and_mutations_of_it() {
    for target in Target::ALL {
        replay(target);
    }
}

/// Writes `corpus/fheap/small.fheap` from a real snapshot: its first 64 objects and the
/// references and roots among them (`FLUORO_FUZZ_HEAP=big.fheap cargo test -p fluoro-fuzz
/// -- --ignored`). A whole interpreter's snapshot is 300 KB, slow for a fuzzer to mutate.
#[test]
#[ignore]
fn write_small_heap_seed() {
    use fluoro_heap::{GraphBuilder, Node};
    let Ok(path) = std::env::var("FLUORO_FUZZ_HEAP") else {
        return;
    };
    let big = fluoro_heap::read_file(std::path::Path::new(&path)).expect("a snapshot");
    let keep = big.len().min(64) as u32;
    let mut b = GraphBuilder::new();
    for (k, v) in &big.meta {
        b.meta(k, v);
    }
    for i in 0..keep {
        let node = big.nodes[i as usize];
        let site = node.site.map(|s| b.string_index(big.string(s)));
        let type_index = b.type_index(big.type_name(i));
        b.node(Node {
            type_index,
            site,
            ..node
        });
        for edge in big.edges(i).filter(|e| e.target < keep) {
            let label = edge.label.map(|l| b.string_index(big.string(l)));
            b.edge(edge.target, label);
        }
    }
    for root in big.roots.iter().filter(|r| r.node < keep) {
        let label = root.label.map(|l| b.string_index(big.string(l)));
        b.root(root.node, label);
    }
    let small = b.finish().expect("edges among kept nodes");
    let out = Target::Fheap.seed_dirs()[0].join("small.fheap");
    fluoro_heap::write_file(&small, &out).expect("a written seed");
}
