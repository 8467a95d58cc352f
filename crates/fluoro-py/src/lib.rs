//! fluoro's CPython extension, `fluoro._native`.
//!
//! The only crate that touches the interpreter. From the bottom up: [`cpython`] (what fluoro
//! knows of the interpreter's structures, per version), [`os`] (thread clocks and signals),
//! [`collectors`] (the sampler, the allocation hook, the exact tracer, streaming to a
//! `.fluoro` file), then the commands ([`runner`], [`report`], [`heap`], …) behind [`cli`],
//! which only dispatches, and [`output`], which says what every command prints. ARCHITECTURE.md
//! at the repository's root follows the data from collectors to renderers.
//!
//! Its `unsafe` code lives in small modules: `cpython::{memory, frames, objects}`, the
//! allocator hook (`collectors::alloc::hook`), the exact tracer's callbacks
//! (`collectors::exact::install`), the heap snapshot's walk (`heap::walk`), [`os`], the
//! private temporary files ([`scratch`]), the temporary profile's keeper (`runner::watch`)
//! and the original stderr kept in [`output`].

mod advise;
mod bench;
mod cli;
mod collectors;
mod cpython;
mod dis;
mod env;
mod heap;
mod objects;
mod os;
mod output;
mod patterns;
mod profiler;
mod remote;
mod report;
mod runner;
mod scratch;
mod stack;

use pyo3::prelude::*;

/// Runs the `fluoro` command line; returns the process exit code.
#[pyfunction]
fn main(py: Python<'_>, argv: Vec<std::ffi::OsString>) -> i32 {
    cli::main(py, argv)
}

/// `sys.getsizeof(obj)`, or with `deep=True` the bytes of everything `obj` owns, each object
/// once, leaving out types, modules, functions and code, and (unless `include_cached`) the
/// interpreter's cached singletons.
#[pyfunction]
#[pyo3(signature = (obj, deep = false, include_cached = false))]
fn sizeof(obj: &Bound<'_, PyAny>, deep: bool, include_cached: bool) -> PyResult<u64> {
    if deep {
        Ok(objects::deep_size(obj, include_cached)?.bytes)
    } else {
        objects::shallow_size(obj)
    }
}

/// The object report of `fluoro inspect`, as a dict.
#[pyfunction]
#[pyo3(signature = (obj, include_cached = false))]
fn inspect<'py>(obj: &Bound<'py, PyAny>, include_cached: bool) -> PyResult<Bound<'py, PyAny>> {
    let report = objects::inspect(obj, include_cached)?;
    output::to_python(obj.py(), &report)
}

/// The interpreter's state (`fluoro env --json`), as a dict.
#[pyfunction]
#[pyo3(name = "env")]
fn env_report(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let report =
        env::local_report(py).map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.0))?;
    output::to_python(py, &report)
}

/// Every thread's Python frames, innermost first: a list of
/// `{"thread_id", "name", "frames": [{"file", "function", "line", "locals"}]}`.
#[pyfunction]
#[pyo3(name = "stack")]
fn stack_report(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let stacks = stack::stacks(py)?;
    output::to_python(py, &stacks)
}

/// What the program holds now: live GC-tracked objects by type, collections, RSS. Under
/// `fluoro run` (or inside a profile tracking memory) the snapshot is also recorded in the
/// profile, in order with the allocations, and the report shows what changed between
/// consecutive snapshots.
#[pyfunction]
#[pyo3(signature = (label = ""))]
fn snapshot<'py>(py: Python<'py>, label: &str) -> PyResult<Bound<'py, PyAny>> {
    let (mark, recorded) = collectors::alloc::snapshot(py, label)?;
    let dict = pyo3::types::PyDict::new(py);
    dict.set_item("label", &mark.label)?;
    dict.set_item("recorded", recorded)?;
    let types = pyo3::types::PyDict::new(py);
    for (name, n) in &mark.types {
        types.set_item(name, n)?;
    }
    dict.set_item("types", types)?;
    dict.set_item("gc_collections", mark.gc_collections.to_vec())?;
    dict.set_item("gc_collected", mark.gc_collected.to_vec())?;
    dict.set_item("rss_bytes", mark.rss_bytes)?;
    Ok(dict.into_any())
}

/// Parses a size as users write it (`24 MB`, `64KiB`); binary units, as pytest-memray reads
/// them.
#[pyfunction]
fn parse_size(text: &str) -> PyResult<u64> {
    fluoro_render::parse_size(text).map_err(pyo3::exceptions::PyValueError::new_err)
}

/// Starts a `fluoro run` session inside the target interpreter (called by the boot hook).
/// Returns the variable to leave for child processes (with `--subprocesses`), or `None`,
/// and whether this process is a followed child.
#[pyfunction]
fn _boot(py: Python<'_>, config: &str) -> PyResult<(Option<String>, bool)> {
    let booted = runner::boot(py, config)?;
    Ok((booted.children, booted.child))
}

/// In a child made by `os.fork()` of a process followed with `--subprocesses`: profiles it.
#[pyfunction]
fn _forked(py: Python<'_>) -> PyResult<bool> {
    runner::forked(py)
}

/// In a followed child about to leave through `os._exit`: completes its part of the profile.
#[pyfunction]
fn _child_exit(py: Python<'_>) {
    runner::finish_child(py)
}

/// In a process `fluoro attach --memory` sent its start script to: starts fluoro's
/// collectors, recording into `path`.
#[pyfunction]
fn _attach_start(py: Python<'_>, path: std::path::PathBuf, rate: u32) -> PyResult<()> {
    remote::inject::start_in_target(py, path, rate)
}

/// Completes what `_attach_start` records; whether it was running.
#[pyfunction]
fn _attach_stop(py: Python<'_>) -> PyResult<bool> {
    remote::inject::stop_in_target(py)
}

/// Test hook: starts exact mode in this interpreter (what `fluoro run --exact` does).
#[pyfunction]
fn _exact_start(py: Python<'_>) -> PyResult<()> {
    collectors::exact::start(py)
}

/// Test hook: stops exact mode and returns its statistics as a dict.
#[pyfunction]
fn _exact_stop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let stats = collectors::exact::stop(py)?;
    output::to_python(py, &stats)
}

#[pymodule(gil_used = true)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(main, m)?)?;
    m.add_function(wrap_pyfunction!(_boot, m)?)?;
    m.add_function(wrap_pyfunction!(_forked, m)?)?;
    m.add_function(wrap_pyfunction!(_child_exit, m)?)?;
    m.add_function(wrap_pyfunction!(_attach_start, m)?)?;
    m.add_function(wrap_pyfunction!(_attach_stop, m)?)?;
    m.add_class::<runner::Session>()?;
    m.add_class::<profiler::Profiler>()?;
    m.add_class::<profiler::CallProfiles>()?;
    m.add_class::<patterns::BufferPool>()?;
    m.add_class::<patterns::PooledBuffer>()?;
    m.add_function(wrap_pyfunction!(sizeof, m)?)?;
    m.add_function(wrap_pyfunction!(inspect, m)?)?;
    m.add_function(wrap_pyfunction!(env_report, m)?)?;
    m.add_function(wrap_pyfunction!(stack_report, m)?)?;
    m.add_function(wrap_pyfunction!(_exact_start, m)?)?;
    m.add_function(wrap_pyfunction!(_exact_stop, m)?)?;
    m.add_function(wrap_pyfunction!(bench::_bench_report, m)?)?;
    m.add_function(wrap_pyfunction!(snapshot, m)?)?;
    m.add_function(wrap_pyfunction!(parse_size, m)?)?;
    m.add_function(wrap_pyfunction!(heap::_heap_snapshot, m)?)?;
    m.add_function(wrap_pyfunction!(heap::_heap_report, m)?)?;
    Ok(())
}
