//! Thread names, read from `threading` with the GIL: the sampler only knows thread idents.

use fluoro_profile::ThreadIdx;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::atomic::{AtomicU64, Ordering};

/// `threading.get_ident()` of the main thread (0 until noted), noted when `fluoro run` boots
/// on it: a program that never imports `threading` still has its main thread named.
static MAIN_IDENT: AtomicU64 = AtomicU64::new(0);

/// Notes that the calling thread is the interpreter's main thread, unless one was noted.
pub fn set_main_thread() {
    let _ = MAIN_IDENT.compare_exchange(
        0,
        crate::os::pthread_self(),
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
}

/// In a child made by `fork()`: the thread that forked is its main thread now.
pub fn main_thread_forked() {
    MAIN_IDENT.store(crate::os::pthread_self(), Ordering::Relaxed);
}

/// `threading.get_ident()` of the main thread, once noted.
pub fn main_thread() -> Option<u64> {
    match MAIN_IDENT.load(Ordering::Relaxed) {
        0 => None,
        ident => Some(ident),
    }
}

/// The `threading.Thread` name of each thread in `idents` that `threading` knows (the main
/// thread is `MainThread` even without `threading`).
pub fn thread_names(py: Python<'_>, idents: &[(ThreadIdx, u64)]) -> Vec<(ThreadIdx, String)> {
    let known = known_threads(py).ok();
    idents
        .iter()
        .filter_map(|(idx, ident)| {
            let name = known
                .as_ref()
                .and_then(|k| k.get_item(ident).ok().flatten())
                .and_then(|t| t.getattr("name").ok()?.extract::<String>().ok())
                .or_else(|| (main_thread() == Some(*ident)).then(|| "MainThread".to_owned()))?;
            Some((*idx, name))
        })
        .collect()
}

/// `threading._active`: ident → Thread for the threads alive now (the main thread included).
fn known_threads(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let active = threading(py)?.getattr("_active")?;
    active.cast_into::<PyDict>()?.copy()
}

/// The `threading` module if the target imported it. fluoro never imports it itself: from a
/// thread other than the main one, that would make `threading.main_thread()` wrong.
pub fn threading(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    py.import("sys")?.getattr("modules")?.get_item("threading")
}
