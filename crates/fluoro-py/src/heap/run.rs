//! What `fluoro run` does with the heap: `--heap-at-exit` and `--heap-on-signal SIGNAL` write
//! snapshots; `--gc-cycles` watches every collection and names the types of the garbage that
//! only the cycle collector freed.
//!
//! `--gc-cycles` works from a `gc.callbacks` entry: at the "start" phase of a collection of
//! generation G it finds, among the objects of generations 0..=G, those the collection will
//! find unreachable (the collector's own rule: references from outside the generations keep
//! an object and what it reaches alive), and counts them by type. It only reads: the
//! collection, `gc.garbage` and the target's objects are left as they were.

use crate::output::Failure;
use fluoro_cli::RunArgs;
use fluoro_render::{bytes, table};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// The heap options of one `fluoro run`, carried to the target in the boot config.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct HeapRun {
    pub at_exit: bool,
    pub on_signal: Option<i32>,
    pub gc_cycles: bool,
    /// Where snapshots go: the directory `fluoro run` was started in.
    pub dir: String,
    pub quiet: bool,
    /// An HTML report will be made: keep the exit snapshot's census and retainers for it.
    #[serde(default)]
    pub for_html: bool,
}

impl HeapRun {
    pub fn from_args(args: &RunArgs) -> Result<HeapRun, Failure> {
        let dir = std::env::current_dir()
            .map_err(|e| Failure(format!("run: no current directory: {e}")))?;
        Ok(HeapRun {
            at_exit: args.heap_at_exit,
            on_signal: args.heap_on_signal,
            gc_cycles: args.gc_cycles,
            dir: dir.display().to_string(),
            quiet: args.quiet,
            for_html: args.html.is_some(),
        })
    }
}

/// Garbage of one type freed by the cycle collector over the run.
#[derive(Debug, Default, Clone, Copy)]
struct Freed {
    objects: u64,
    bytes: u64,
    collections: u64,
}

#[derive(Default)]
struct State {
    config: HeapRun,
    signal_snapshots: u32,
    collections: u64,
    freed: BTreeMap<String, Freed>,
    /// The exit snapshot's census and largest retainers, for the HTML report.
    exit_report: Option<serde_json::Value>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> Option<T> {
    let mut guard = STATE.lock().unwrap_or_else(|p| p.into_inner());
    guard.as_mut().map(f)
}

/// Installs what the options ask for; called once when the session starts.
pub fn start(py: Python<'_>, config: &HeapRun) -> PyResult<()> {
    *STATE.lock().unwrap_or_else(|p| p.into_inner()) = Some(State {
        config: config.clone(),
        ..State::default()
    });
    if let Some(signal) = config.on_signal {
        let handler = wrap_pyfunction!(_heap_on_signal, py)?;
        py.import("signal")?
            .call_method1("signal", (signal, handler))?;
    }
    if config.gc_cycles {
        let callback = wrap_pyfunction!(_gc_cycles_callback, py)?;
        py.import("gc")?
            .getattr("callbacks")?
            .call_method1("append", (callback,))?;
    }
    Ok(())
}

/// Takes a snapshot to `dir/fluoro-PID-WHAT.fheap` and says so on stderr.
fn snapshot_to(py: Python<'_>, config: &HeapRun, what: &str) {
    let path =
        PathBuf::from(&config.dir).join(format!("fluoro-{}-{what}.fheap", std::process::id()));
    let started = std::time::Instant::now();
    match super::snapshot::write_snapshot(py, &path) {
        Ok((analysis, written)) => {
            if what == "exit" && config.for_html {
                let report = exit_report(&path, &analysis);
                with_state(|s| s.exit_report = Some(report));
            }
            if !config.quiet {
                let objects = analysis.graph.len().max(1) as u64;
                crate::output::say(&format!(
                    "heap snapshot {} ({} objects, {}, {:.1} bytes/object, {:.2} s)",
                    path.display(),
                    analysis.graph.len(),
                    bytes(written),
                    written as f64 / objects as f64,
                    started.elapsed().as_secs_f64()
                ));
            }
        }
        Err(e) => crate::output::say(&e.to_string()),
    }
}

/// Types and retainers of the exit snapshot the HTML report lists.
const HTML_TYPES: usize = 50;
const HTML_RETAINERS: usize = 20;

/// The census (largest retained first) and the largest retainers of a snapshot, as `fluoro
/// heap summary --json` and `dominators --json` write them.
fn exit_report(path: &std::path::Path, analysis: &fluoro_heap::Analysis) -> serde_json::Value {
    let mut summary = fluoro_heap::summary(analysis);
    summary.types.truncate(HTML_TYPES);
    serde_json::json!({
        "path": path.display().to_string(),
        "summary": summary,
        "dominators": fluoro_heap::top_retainers(analysis, HTML_RETAINERS, false),
    })
}

/// The exit snapshot's census and retainers, once, when an HTML report asked for them.
pub fn take_exit_report() -> Option<serde_json::Value> {
    with_state(|s| s.exit_report.take()).flatten()
}

/// The `--heap-on-signal` handler: one snapshot per signal, numbered.
#[pyfunction]
fn _heap_on_signal(py: Python<'_>, _signum: i32, _frame: &Bound<'_, PyAny>) {
    let Some((config, n)) = with_state(|s| {
        s.signal_snapshots += 1;
        (s.config.clone(), s.signal_snapshots)
    }) else {
        return;
    };
    snapshot_to(py, &config, &n.to_string());
}

/// The `--gc-cycles` entry of `gc.callbacks`.
#[pyfunction]
fn _gc_cycles_callback(py: Python<'_>, phase: &str, info: &Bound<'_, PyDict>) {
    if phase != "start" {
        return;
    }
    let generation: usize = info
        .get_item("generation")
        .ok()
        .flatten()
        .and_then(|g| g.extract().ok())
        .unwrap_or(2);
    let Ok(garbage) = super::walk::cyclic_garbage(py, generation) else {
        return;
    };
    with_state(|s| {
        s.collections += 1;
        for (name, objects, size) in garbage {
            let f = s.freed.entry(name).or_default();
            f.objects += objects;
            f.bytes += size;
            f.collections += 1;
        }
    });
}

/// Writes the exit snapshot and the `--gc-cycles` report; called when the session ends.
pub fn finish(py: Python<'_>) {
    let Some(config) = with_state(|s| s.config.clone()) else {
        return;
    };
    if config.gc_cycles {
        // Out of gc.callbacks first, so the exit snapshot and shutdown are not watched.
        if let Ok(callbacks) = py.import("gc").and_then(|gc| gc.getattr("callbacks")) {
            if let Ok(list) = callbacks.cast_into::<pyo3::types::PyList>() {
                let ours: Vec<usize> = list
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| {
                        c.getattr("__name__")
                            .and_then(|n| n.extract::<String>())
                            .is_ok_and(|n| n == "_gc_cycles_callback")
                    })
                    .map(|(i, _)| i)
                    .collect();
                for i in ours.into_iter().rev() {
                    let _ = list.del_item(i);
                }
            }
        }
        if let Some(text) = with_state(|s| gc_cycles_text(s.collections, &s.freed)) {
            if !config.quiet {
                let _ = crate::output::to_user(text.as_bytes());
            }
        }
    }
    if config.at_exit {
        snapshot_to(py, &config, "exit");
    }
}

/// The `--gc-cycles` report.
fn gc_cycles_text(collections: u64, freed: &BTreeMap<String, Freed>) -> String {
    let mut rows: Vec<(&String, &Freed)> = freed.iter().collect();
    rows.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then_with(|| a.0.cmp(b.0)));
    let total: u64 = rows.iter().map(|(_, f)| f.objects).sum();
    let mut out = format!(
        "fluoro: garbage only the cycle collector freed: {total} objects in {collections} collections\n"
    );
    if rows.is_empty() {
        return out;
    }
    let rows = rows
        .into_iter()
        .take(20)
        .map(|(name, f)| {
            vec![
                name.clone(),
                f.objects.to_string(),
                bytes(f.bytes),
                f.collections.to_string(),
            ]
        })
        .collect();
    out.push_str(&table(
        &["type", "objects", "bytes", "collections"],
        &[false, true, true, true],
        rows,
    ));
    out.push('\n');
    out
}
