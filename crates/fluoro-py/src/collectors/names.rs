//! Thread names, read from `threading` with the GIL: the sampler only knows thread idents.

use fluoro_profile::ThreadIdx;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The `threading.Thread` name of each thread in `idents` that `threading` still knows.
pub fn thread_names(py: Python<'_>, idents: &[(ThreadIdx, u64)]) -> Vec<(ThreadIdx, String)> {
    let Ok(known) = known_threads(py) else {
        return Vec::new();
    };
    idents
        .iter()
        .filter_map(|(idx, ident)| {
            let thread = known.get_item(ident).ok().flatten()?;
            let name: String = thread.getattr("name").ok()?.extract().ok()?;
            Some((*idx, name))
        })
        .collect()
}

/// `threading._active`: ident → Thread for the threads alive now (the main thread included).
fn known_threads(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let active = py.import("threading")?.getattr("_active")?;
    active.cast_into::<PyDict>()?.copy()
}
