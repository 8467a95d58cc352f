//! A profiling session inside the target interpreter: collectors start before the target's
//! first line and are drained after its last; then the profile is read back and reported.

use super::config::{flush_python_streams, BootConfig};
use crate::collectors::{Collection, Plan};
use crate::report;
use fluoro_render::{bytes, seconds};
use pyo3::prelude::*;
use std::path::Path;

/// One run's collectors, and where their profile and reports go.
#[pyclass(module = "fluoro._native")]
pub struct Session {
    config: BootConfig,
    pid: u32,
    collection: Option<Collection>,
}

impl Session {
    /// Starts the collectors; called by the boot hook before `__main__` runs.
    pub fn start(py: Python<'_>, config: BootConfig) -> PyResult<Session> {
        crate::collectors::names::set_main_thread();
        crate::heap::run::start(py, &config.heap)?;
        let plan = Plan {
            target: config.label.clone(),
            argv: config.argv.clone(),
            rate: config.rate,
            exact: config.exact,
            gil_sampler: config.gil_sampler,
            warn: !config.quiet,
            cpu: true,
            memory: config.memory,
        };
        let collection = match std::fs::File::create(&config.profile) {
            Ok(file) => Some(Collection::start(py, &plan, file)?),
            Err(e) => {
                eprintln!("fluoro: cannot write {}: {e}", config.profile);
                None
            }
        };
        Ok(Session {
            pid: std::process::id(),
            collection,
            config,
        })
    }
}

#[pymethods]
impl Session {
    /// Drains the collectors and reports; registered as the first atexit handler, so it runs
    /// after the target's own handlers and after its non-daemon threads ended.
    fn finish(&mut self, py: Python<'_>) {
        // A child made by os.fork() inherits this handler but not the sampler thread: the
        // profile is the parent's.
        if std::process::id() != self.pid {
            return;
        }
        crate::heap::run::finish(py);
        let Some(collection) = self.collection.take() else {
            return;
        };
        let exception = unhandled_exception(py);
        let stopped = collection.stop(py, exception.clone());
        flush_python_streams(py);
        let (wall, cpu) = match stopped {
            Ok(times) => {
                crate::patterns::record(py, Path::new(&self.config.profile));
                if self.config.adaptive {
                    crate::dis::capture::record(py, Path::new(&self.config.profile));
                }
                self.report();
                times
            }
            Err(e) => {
                eprintln!("fluoro: cannot write {}: {e}", self.config.profile);
                return;
            }
        };
        if !self.config.quiet {
            let peak = fluoro_env::read_process(std::process::id() as i32)
                .map(|p| format!(", peak RSS {}", bytes(p.peak_rss_bytes)))
                .unwrap_or_default();
            let ending = exception
                .map(|name| format!(", ended by an unhandled {name}"))
                .unwrap_or_default();
            eprintln!(
                "fluoro: {} ran for {} (CPU {}{peak}){ending}",
                self.config.label,
                seconds(wall),
                seconds(cpu)
            );
        }
    }
}

impl Session {
    /// Renders the summary (unless quiet) and the export asked for, then removes a profile
    /// that was only kept for them.
    fn report(&self) {
        let c = &self.config;
        let profile = Path::new(&c.profile);
        let options = report::RenderOptions {
            metric: c.metric,
            idle: c.idle,
            ..report::RenderOptions::default()
        };
        if !c.quiet {
            match report::render_file(profile, report::Format::Text, &options) {
                Ok(text) => eprint!("{}", String::from_utf8_lossy(&text)),
                Err(e) => eprintln!("fluoro: {e}"),
            }
            if c.adaptive {
                let shown = std::fs::read(profile)
                    .ok()
                    .and_then(|data| fluoro_profile::Profile::from_bytes(&data).ok())
                    .and_then(|p| crate::dis::adaptive::render_profile(&p, ADAPTIVE_SHOWN));
                if let Some(text) = shown {
                    eprint!("\nSpecialization of the hottest functions (by self time)\n{text}");
                }
            }
        }
        if c.advise {
            crate::advise::after_run(profile, c.metric, c.argv.first().map(String::as_str));
        }
        if let (Some(format), Some(output)) = (c.format, &c.output) {
            match report::render_file(profile, format, &options) {
                Ok(data) => {
                    if let Err(e) = std::fs::write(output, data) {
                        eprintln!("fluoro: cannot write {output}: {e}");
                    }
                }
                Err(e) => eprintln!("fluoro: {e}"),
            }
        }
        if c.temporary_profile {
            let _ = std::fs::remove_file(profile);
        }
    }
}

/// Functions `fluoro run --adaptive` shows after its summary.
const ADAPTIVE_SHOWN: usize = 5;

/// The type name of the exception the interpreter reported as unhandled (`sys.last_type`).
fn unhandled_exception(py: Python<'_>) -> Option<String> {
    let last = py.import("sys").ok()?.getattr("last_type").ok()?;
    last.getattr("__name__").ok()?.extract().ok()
}
