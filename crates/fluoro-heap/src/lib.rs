//! Heap snapshots and what they say: the `.fheap` format, the object graph ([`HeapGraph`]),
//! and its analyses — census by type, dominators and retained sizes, shortest paths from
//! roots, reference cycles and collectable garbage, and the diff of two snapshots, each leading
//! with the program's data rather than the interpreter's modules, classes and functions.
//!
//! The extension crate writes snapshots; everything here is plain Rust on the file.

pub mod census;
pub mod cycles;
pub mod dominators;
pub mod format;
pub mod graph;
pub mod paths;
pub mod plumbing;
mod render;
pub mod report;

pub use census::{census, TypeRow};
pub use cycles::{cycles, cycles_report, CycleGroup, CycleSet, CyclesReport};
pub use dominators::{dominators, Dominators};
pub use format::{read_file, write_file, FormatError};
pub use graph::{GraphBuilder, HeapGraph, Node, NodeIndex, Root};
pub use paths::{shortest_path, PathError, PathReport, PathTarget, Step};
pub use plumbing::{roles, Role};
pub use report::{
    diff, summary, top_retainers, Analysis, DiffReport, DominatorsReport, Retainer, RetainerGrowth,
    Summary, TypeGrowth,
};
