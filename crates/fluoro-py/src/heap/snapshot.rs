//! A heap snapshot written to a `.fheap` file, and marked in the profile of a run that tracks
//! memory.

use super::walk;
use fluoro_heap::Analysis;
use pyo3::prelude::*;
use std::path::Path;

/// Takes a snapshot of this interpreter's heap and writes it to `path`; returns the
/// snapshot's analysis and the file's size in bytes.
pub fn write_snapshot(py: Python<'_>, path: &Path) -> Result<(Analysis, u64), String> {
    let graph = walk::snapshot(py).map_err(|e| format!("cannot take a heap snapshot: {e}"))?;
    let written = fluoro_heap::write_file(&graph, path).map_err(|e| {
        format!(
            "cannot write {}: {}",
            path.display(),
            fluoro_render::io_reason(&e)
        )
    })?;
    // Where memory is tracked, the profile records the moment, so that `fluoro heap
    // --profile` can say where each object was allocated.
    crate::collectors::alloc::mark(py, &mark_label(path));
    Ok((Analysis::new(graph), written))
}

/// The label of the mark a heap snapshot leaves in a running profile.
pub fn mark_label(path: &Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    format!("heap:{}", path.display())
}
