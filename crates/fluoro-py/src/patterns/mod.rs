//! The native half of `fluoro.patterns`: `BufferPool`, and the pattern statistics that a
//! `fluoro run` session appends to its profile.
//!
//! The other patterns (`ObjectPool`, `WeakValueCache`, `lazy`) are plain Python in
//! `python/fluoro/patterns.py`; every instance registers itself there, weakly, and
//! [`record`] asks that registry for their figures when the session finishes.

mod block;
mod buffers;
mod size_classes;

pub use buffers::{BufferPool, PooledBuffer};

use fluoro_profile::{Chunk, Figure, PatternStats, Unit};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::Path;

/// What `fluoro.patterns._snapshot()` returns per live instance: kind, name, where it was
/// made, `(figure, unit, value)` triples, and the instance itself when it is a BufferPool.
type Snapshot<'py> = (
    String,
    String,
    String,
    Vec<(String, String, f64)>,
    Option<Bound<'py, BufferPool>>,
);

/// Appends the live patterns' statistics to the profile at `path`, when the target imported
/// `fluoro.patterns`; a failure is reported on stderr and leaves the profile as it was.
pub fn record(py: Python<'_>, path: &Path) {
    match snapshot(py) {
        Ok(stats) if stats.is_empty() => {}
        Ok(stats) => {
            if let Err(e) = fluoro_profile::append(path, &Chunk::Patterns(stats)) {
                eprintln!("fluoro: cannot write {}: {e}", path.display());
            }
        }
        Err(e) => eprintln!("fluoro: cannot collect fluoro.patterns statistics: {e}"),
    }
}

fn snapshot(py: Python<'_>) -> PyResult<Vec<PatternStats>> {
    let modules = py.import("sys")?.getattr("modules")?;
    let modules = modules.cast::<PyDict>()?;
    let Some(module) = modules.get_item("fluoro.patterns")? else {
        return Ok(Vec::new());
    };
    let live: Vec<Snapshot<'_>> = module.call_method0("_snapshot")?.extract()?;
    Ok(live
        .into_iter()
        .map(|(kind, name, site, figures, pool)| PatternStats {
            kind,
            name,
            site,
            figures: figures
                .into_iter()
                .map(|(name, unit, value)| Figure {
                    name,
                    unit: Unit::from_name(&unit),
                    value,
                })
                .collect(),
            size_classes: pool.map(|p| p.borrow().class_stats()).unwrap_or_default(),
        })
        .collect())
}
