//! A profiling session inside the target interpreter: collectors start before the target's
//! first line and are drained after its last. Collectors of later capabilities plug in here.

use super::flush_python_streams;
use fluoro_render::{bytes, seconds};
use pyo3::prelude::*;
use std::time::Instant;

/// One run's measurements, and where its summary goes.
#[pyclass(module = "fluoro._native")]
pub struct Session {
    label: String,
    quiet: bool,
    wall_start: Instant,
    cpu_start: f64,
    finished: bool,
}

impl Session {
    /// Starts the collectors; called by the boot hook before `__main__` runs.
    pub fn start(py: Python<'_>, label: String, quiet: bool) -> Session {
        Session {
            label,
            quiet,
            wall_start: Instant::now(),
            cpu_start: process_time(py),
            finished: false,
        }
    }
}

#[pymethods]
impl Session {
    /// Drains the collectors and prints the summary; registered as the first atexit handler,
    /// so it runs after the target's own handlers and after its non-daemon threads ended.
    fn finish(&mut self, py: Python<'_>) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let wall = self.wall_start.elapsed().as_secs_f64();
        let cpu = process_time(py) - self.cpu_start;
        if self.quiet {
            return;
        }
        let peak = fluoro_env::read_process(std::process::id() as i32)
            .map(|p| format!(", peak RSS {}", bytes(p.peak_rss_bytes)))
            .unwrap_or_default();
        let ending = unhandled_exception(py)
            .map(|name| format!(", ended by an unhandled {name}"))
            .unwrap_or_default();
        flush_python_streams(py);
        eprintln!(
            "fluoro: {} ran for {} (CPU {}{peak}){ending}",
            self.label,
            seconds(wall),
            seconds(cpu)
        );
    }
}

/// The type name of the exception the interpreter reported as unhandled (`sys.last_type`).
fn unhandled_exception(py: Python<'_>) -> Option<String> {
    let last = py.import("sys").ok()?.getattr("last_type").ok()?;
    last.getattr("__name__").ok()?.extract().ok()
}

fn process_time(py: Python<'_>) -> f64 {
    py.import("time")
        .and_then(|t| t.call_method0("process_time"))
        .and_then(|v| v.extract())
        .unwrap_or(0.0)
}
