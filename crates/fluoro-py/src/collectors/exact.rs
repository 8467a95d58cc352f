//! Exact mode (`fluoro run --exact`): a C-level profile hook counting every call.

use fluoro_profile::ExactStats;
use pyo3::prelude::*;

/// Installs the hook on every thread, present and future.
pub fn start(_py: Python<'_>) -> PyResult<()> {
    Err(pyo3::exceptions::PyNotImplementedError::new_err(
        "exact mode is not built yet",
    ))
}

/// Removes the hook and returns what it counted.
pub fn stop(_py: Python<'_>) -> PyResult<ExactStats> {
    Ok(ExactStats::default())
}
