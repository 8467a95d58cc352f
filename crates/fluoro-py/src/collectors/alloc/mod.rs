//! Memory collectors: the allocator hook (sampled by bytes, or every allocation), garbage
//! collections through `gc.callbacks`, RSS, and snapshot marks. The hook records into a ring
//! that the sampler thread drains ([`Drain`]) into the same profile as the CPU samples.

mod census;
mod drain;
mod hook;
mod kept_codes;
mod live;
mod ring;

pub use drain::{Drain, TaskRoots};
pub use hook::{follow_tasks, paused};
pub use kept_codes::release as release_kept_codes;

use crate::collectors::recorder::clock_ns;
use crate::cpython::FrameReader;
use fluoro_profile::{AllocMode, MemorySettings, SnapshotMark};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What the memory collectors record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MemoryPlan {
    /// Nothing: no hook, no collections.
    Off,
    /// Collections only (`--memory=off`).
    GcOnly,
    /// Allocations sampled every `mean` bytes on average, and collections; objects taken
    /// again from free lists followed (3.13+) unless `ignore_free_lists`.
    Sampled { mean: u64, ignore_free_lists: bool },
    /// Every allocation, and collections.
    All,
}

/// The default mean sampling interval: a site holding 1 % of a run's allocations is seen
/// about 160 times per 1 GB allocated.
pub const DEFAULT_MEAN_BYTES: u64 = 64 * 1024;

/// The callback registered in `gc.callbacks`, so that it can be removed.
static GC_CALLBACK: Mutex<Option<Py<PyAny>>> = Mutex::new(None);
static GC_STARTED: AtomicU64 = AtomicU64::new(0);

/// A running memory collection.
pub struct MemoryTracking {
    plan: MemoryPlan,
}

impl MemoryTracking {
    /// Installs the hook (when the plan tracks allocations) and the GC callback. Call with
    /// the GIL held.
    pub fn start(py: Python<'_>, plan: MemoryPlan, reader: FrameReader) -> PyResult<Self> {
        if plan != MemoryPlan::Off && hook::installed() {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "memory is already being tracked in this process (by fluoro run or another \
                 profile)",
            ));
        }
        let holder_is_global = py.version_info() < (3, 12);
        match plan {
            MemoryPlan::Off => return Ok(MemoryTracking { plan }),
            MemoryPlan::GcOnly => hook::install_events_only(reader),
            MemoryPlan::Sampled {
                mean,
                ignore_free_lists,
            } => hook::install(reader, mean.max(1), holder_is_global, !ignore_free_lists),
            MemoryPlan::All => hook::install(reader, 0, holder_is_global, true),
        }
        let callback = wrap_pyfunction!(gc_callback, py)?.into_any().unbind();
        py.import("gc")?
            .getattr("callbacks")?
            .call_method1("append", (callback.clone_ref(py),))?;
        *GC_CALLBACK.lock().unwrap_or_else(|e| e.into_inner()) = Some(callback);
        Ok(MemoryTracking { plan })
    }

    /// In a child made by `fork()` of a process that tracked memory with `plan`: the hook's
    /// wrappers are still installed, standing down since the fork (see
    /// `hook::after_fork_in_child`), and the GC callback registered; recording resumes, for
    /// this process's own ring and drain.
    pub fn resume_after_fork(plan: MemoryPlan, reader: FrameReader) -> Self {
        match plan {
            MemoryPlan::Off => {}
            MemoryPlan::GcOnly => hook::install_events_only(reader),
            MemoryPlan::Sampled { mean, .. } => hook::resume(reader, mean.max(1)),
            MemoryPlan::All => hook::resume(reader, 0),
        }
        MemoryTracking { plan }
    }

    /// The settings the profile starts with.
    pub fn settings(&self) -> Option<MemorySettings> {
        let (mode, mean_bytes, free_lists_ignored) = match self.plan {
            MemoryPlan::Off | MemoryPlan::GcOnly => return None,
            MemoryPlan::Sampled {
                mean,
                ignore_free_lists,
            } => (AllocMode::Sampled, mean, ignore_free_lists),
            MemoryPlan::All => (AllocMode::All, 0, false),
        };
        Some(MemorySettings {
            mode,
            mean_bytes,
            free_lists_ignored,
            ..MemorySettings::default()
        })
    }

    /// Removes the hook and the callback; returns the final settings, with their counters.
    /// Call with the GIL held, before the sampler's last drain.
    pub fn stop(self, py: Python<'_>) -> Option<MemorySettings> {
        if self.plan == MemoryPlan::Off {
            return None;
        }
        if let Some(callback) = GC_CALLBACK.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = py
                .import("gc")
                .and_then(|gc| gc.getattr("callbacks"))
                .and_then(|cbs| cbs.call_method1("remove", (callback,)));
        }
        hook::uninstall();
        let mut settings = self.settings()?;
        let counters = hook::counters();
        settings.lost_events = counters.lost;
        settings.untracked = counters.untracked;
        (settings.outside_gil_count, settings.outside_gil_bytes) = counters.outside_gil;
        settings.stopped = true;
        Some(settings)
    }
}

/// `gc.callbacks` entry: times each collection and records the stack that triggered it.
#[pyfunction]
fn gc_callback(phase: &str, info: &Bound<'_, PyDict>) {
    // A collection that fluoro's own Python work set off (naming threads, the asyncio probe,
    // on the sampler thread) is fluoro's cost, not the target's: its thread state is a
    // passing one of fluoro's, which the report would show as a nameless thread.
    if hook::is_paused() {
        return;
    }
    let now = clock_ns(Instant::now());
    let get = |key: &str| -> u64 {
        info.get_item(key)
            .ok()
            .flatten()
            .and_then(|v| v.extract::<u64>().ok())
            .unwrap_or(0)
    };
    match phase {
        "start" => {
            GC_STARTED.store(now, Ordering::Relaxed);
            hook::push_event(hook::GC_START, true, &[now, get("generation")]);
        }
        "stop" => {
            let started = GC_STARTED.load(Ordering::Relaxed);
            hook::push_event(
                hook::GC_STOP,
                false,
                &[
                    now.saturating_sub(started),
                    get("collected"),
                    get("uncollectable"),
                ],
            );
        }
        _ => {}
    }
}

/// Marks the running profile (if memory is tracked) with `label`, in order with the
/// allocations: a snapshot without the census.
pub fn mark(py: Python<'_>, label: &str) {
    if !hook::installed() {
        return;
    }
    let _ = py;
    let mark = SnapshotMark {
        time_ns: clock_ns(Instant::now()),
        label: label.to_owned(),
        ..SnapshotMark::default()
    };
    let index = drain::park_mark(mark);
    hook::push_event(hook::MARK, false, &[index]);
}

/// What `fluoro.snapshot()` sees now: live GC-tracked objects by type, GC counters, RSS.
/// Recorded in the profile, in order with the allocations, when memory is being tracked.
/// Returns the snapshot and whether it went into a running profile.
pub fn snapshot(py: Python<'_>, label: &str) -> PyResult<(SnapshotMark, bool)> {
    paused(|| {
        let gc = py.import("gc")?;
        let types = census::by_type(py)?;
        let mut mark = SnapshotMark {
            time_ns: clock_ns(Instant::now()),
            label: label.to_owned(),
            types,
            rss_bytes: fluoro_env::read_process(std::process::id() as i32)
                .map(|p| p.rss_bytes)
                .unwrap_or(0),
            ..SnapshotMark::default()
        };
        let stats = gc.call_method0("get_stats")?;
        for (i, gen) in stats.try_iter()?.enumerate().take(3) {
            let gen = gen?;
            let field = |k: &str| -> u64 {
                gen.get_item(k)
                    .and_then(|v| v.extract::<u64>())
                    .unwrap_or(0)
            };
            mark.gc_collections[i] = field("collections");
            mark.gc_collected[i] = field("collected");
        }
        let mut recorded = false;
        if hook::installed() {
            let index = drain::park_mark(mark.clone());
            recorded = hook::push_event(hook::MARK, false, &[index]);
        }
        Ok((mark, recorded))
    })
}
