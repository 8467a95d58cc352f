//! Heap snapshots: `fluoro heap …` on `.fheap` files, `fluoro.heap.*` in Python, and the
//! snapshots `fluoro run` takes (at exit, on a signal) and its `--gc-cycles` diagnosis.
//!
//! The walk of the live heap is in [`walk`] (the module's only `unsafe` code); the analyses
//! are `fluoro-heap`'s, on the file.

pub mod run;
mod snapshot;
mod walk;

use snapshot::{mark_label, write_snapshot};

use crate::output::{emit, Failure};
use fluoro_cli::{HeapArgs, HeapCommand};
use fluoro_heap::{Analysis, FormatError, PathTarget};
use pyo3::prelude::*;
use std::path::Path;

/// `fluoro heap SUBCOMMAND`.
pub fn command(args: &HeapArgs) -> Result<i32, Failure> {
    let fail = |e: String| Failure(format!("heap: {e}"));
    Ok(match &args.command {
        HeapCommand::Summary(a) => {
            let report = fluoro_heap::summary(&load_with(a).map_err(fail)?);
            emit(&report, a.json, |r| r.render_text(a.top))
        }
        HeapCommand::Dominators(v) => {
            let a = &v.snapshot;
            let report = fluoro_heap::top_retainers(&load_with(a).map_err(fail)?, a.top, v.all);
            emit(&report, a.json, |r| r.render_text())
        }
        HeapCommand::Cycles(v) => {
            let a = &v.snapshot;
            let analysis = load_with(a).map_err(fail)?;
            let report = fluoro_heap::cycles_report(&analysis.graph, &analysis.dom, v.all);
            emit(&report, a.json, |r| r.render_text(a.top))
        }
        HeapCommand::Path(a) => {
            let target = match (&a.type_name, a.id) {
                (_, Some(id)) => PathTarget::Id(id),
                (Some(t), None) => PathTarget::Type(t.clone()),
                (None, None) => return Err(fail("give --type T or --id ID".into())),
            };
            let report = path_report(&a.file, &target).map_err(fail)?;
            emit(&report, a.json, |r| r.render_text())
        }
        HeapCommand::Diff(a) => {
            let report = diff_report(&a.before, &a.after, a.top, a.all).map_err(fail)?;
            emit(&report, a.json, |r| r.render_text())
        }
    })
}

/// Reads and analyses a snapshot; the error is one line naming the file.
fn load(path: &str) -> Result<Analysis, String> {
    let graph = fluoro_heap::read_file(Path::new(path)).map_err(|e| match e {
        FormatError::Io(io) => format!("cannot read {path}: {}", fluoro_render::io_reason(&io)),
        other => format!("cannot read {path}: {other}"),
    })?;
    Ok(Analysis::new(graph))
}

/// Reads a snapshot, with its objects' allocation sites from `--profile` when given.
fn load_with(args: &fluoro_cli::HeapSummaryArgs) -> Result<Analysis, String> {
    let Some(profile) = &args.profile else {
        return load(&args.file);
    };
    let mut graph = fluoro_heap::read_file(Path::new(&args.file)).map_err(|e| match e {
        FormatError::Io(io) => format!(
            "cannot read {}: {}",
            args.file,
            fluoro_render::io_reason(&io)
        ),
        other => format!("cannot read {}: {other}", args.file),
    })?;
    let data = std::fs::read(profile)
        .map_err(|e| format!("cannot read {profile}: {}", fluoro_render::io_reason(&e)))?;
    let run = fluoro_profile::Profile::from_bytes(&data)
        .map_err(|e| format!("cannot read {profile}: {e}"))?;
    let label = mark_label(Path::new(&args.file));
    let live = fluoro_profile::Profile::live_at_mark(&data, &label)
        .map_err(|e| format!("cannot read {profile}: {e}"))?
        .ok_or_else(|| {
            format!(
                "{profile} did not record {} being taken (it must be the profile of the run that wrote it, with memory tracked)",
                args.file
            )
        })?;
    // An object's block starts at the object, or before it: the collector's header (16
    // bytes), and on 3.11+ the managed dict and weakref slots (16 more).
    let mut sites: std::collections::HashMap<fluoro_profile::StackId, Option<String>> =
        std::collections::HashMap::new();
    graph.set_sites(|id| {
        let stack = [0u64, 16, 32]
            .into_iter()
            .find_map(|back| live.get(&id.wrapping_sub(back)))?;
        sites
            .entry(*stack)
            .or_insert_with(|| {
                let leaf = *run.frames(*stack).last()?;
                let code = run.code(leaf);
                Some(format!(
                    "{}:{} ({})",
                    code.filename,
                    run.line(leaf),
                    code.qualname
                ))
            })
            .clone()
    });
    Ok(Analysis::new(graph))
}

fn path_report(file: &str, target: &PathTarget) -> Result<fluoro_heap::PathReport, String> {
    let analysis = load(file)?;
    fluoro_heap::shortest_path(&analysis.graph, target).map_err(|e| e.to_string())
}

fn diff_report(
    before: &str,
    after: &str,
    top: usize,
    all: bool,
) -> Result<fluoro_heap::DiffReport, String> {
    Ok(fluoro_heap::diff(&load(before)?, &load(after)?, top, all))
}

fn value_error(message: String) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(message)
}

/// `fluoro.heap.snapshot(path=None)`: the census of the heap as a dict (the summary's JSON),
/// with `"path"` and `"file_bytes"` when it was written to `path`.
#[pyfunction]
#[pyo3(signature = (path = None))]
pub fn _heap_snapshot(
    py: Python<'_>,
    path: Option<std::path::PathBuf>,
) -> PyResult<Bound<'_, PyAny>> {
    let (analysis, written) = match &path {
        Some(path) => {
            let (analysis, written) = write_snapshot(py, path).map_err(value_error)?;
            (analysis, Some(written))
        }
        None => (Analysis::new(walk::snapshot(py)?), None),
    };
    let report = fluoro_heap::summary(&analysis);
    let value = crate::output::to_python(py, &report)?;
    if let (Some(path), Some(written)) = (path, written) {
        value.set_item("path", path.display().to_string())?;
        value.set_item("file_bytes", written)?;
    }
    Ok(value)
}

/// The reports of `fluoro heap` as dicts: `what` is summary, dominators, cycles, path or diff;
/// `all` keeps the interpreter's structure in dominators, cycles and diff.
#[pyfunction]
#[pyo3(signature = (what, files, top = 20, type_name = None, id = None, all = false))]
pub fn _heap_report<'py>(
    py: Python<'py>,
    what: &str,
    files: Vec<String>,
    top: usize,
    type_name: Option<String>,
    id: Option<u64>,
    all: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let [first, rest @ ..] = files.as_slice() else {
        return Err(value_error("no snapshot file given".into()));
    };
    match what {
        "summary" => crate::output::to_python(
            py,
            &fluoro_heap::summary(&load(first).map_err(value_error)?),
        ),
        "dominators" => crate::output::to_python(
            py,
            &fluoro_heap::top_retainers(&load(first).map_err(value_error)?, top, all),
        ),
        "cycles" => {
            let a = load(first).map_err(value_error)?;
            crate::output::to_python(py, &fluoro_heap::cycles_report(&a.graph, &a.dom, all))
        }
        "path" => {
            let target = match (type_name, id) {
                (_, Some(id)) => PathTarget::Id(id),
                (Some(t), None) => PathTarget::Type(t),
                (None, None) => return Err(value_error("give type= or id=".into())),
            };
            crate::output::to_python(py, &path_report(first, &target).map_err(value_error)?)
        }
        "diff" => {
            let [second] = rest else {
                return Err(value_error("diff takes two snapshot files".into()));
            };
            let report = diff_report(first, second, top, all).map_err(value_error)?;
            crate::output::to_python(py, &report)
        }
        other => Err(value_error(format!("no heap report named {other:?}"))),
    }
}
