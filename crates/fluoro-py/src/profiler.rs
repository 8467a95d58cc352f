//! `fluoro.profile()`: the collectors of `fluoro run`, started and stopped around a block of
//! code or a function call from inside a program.

use crate::collectors::{Collection, Plan};
use crate::report;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use std::path::PathBuf;

/// A profile of part of a program: `with Profiler() as p: ...`, then `p.report()`,
/// `p.save(path)`.
#[pyclass(module = "fluoro._native", unsendable)]
pub struct Profiler {
    plan: Plan,
    path: PathBuf,
    running: Option<Collection>,
    done: bool,
}

#[pymethods]
impl Profiler {
    #[new]
    #[pyo3(signature = (rate = 100, exact = false, sampler = "auto", memory = "off", memory_interval = crate::collectors::alloc::DEFAULT_MEAN_BYTES, cpu = true))]
    fn new(
        rate: u32,
        exact: bool,
        sampler: &str,
        memory: &str,
        memory_interval: u64,
        cpu: bool,
    ) -> PyResult<Profiler> {
        use crate::collectors::alloc::MemoryPlan;
        let memory = match memory {
            "sampled" if memory_interval > 0 => MemoryPlan::Sampled {
                mean: memory_interval,
                ignore_free_lists: false,
            },
            "sampled" => return Err(PyValueError::new_err("memory_interval must be positive")),
            "all" => MemoryPlan::All,
            "gc" => MemoryPlan::GcOnly,
            "off" => MemoryPlan::Off,
            other => {
                return Err(PyValueError::new_err(format!(
                    "memory must be 'sampled', 'all', 'gc' or 'off', not {other:?}"
                )))
            }
        };
        if !(1..=10_000).contains(&rate) {
            return Err(PyValueError::new_err("rate must be between 1 and 10000 Hz"));
        }
        let gil_sampler = match sampler {
            "auto" => false,
            "gil" => true,
            other => {
                return Err(PyValueError::new_err(format!(
                    "sampler must be 'auto' or 'gil', not {other:?}"
                )))
            }
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path =
            std::env::temp_dir().join(format!("fluoro-api-{}-{nanos}.fluoro", std::process::id()));
        Ok(Profiler {
            plan: Plan {
                target: "fluoro.profile()".into(),
                argv: Vec::new(),
                rate,
                exact,
                gil_sampler,
                tasks: false,
                warn: true,
                cpu,
                memory,
                process: None,
                forked: false,
            },
            path,
            running: None,
            done: false,
        })
    }

    /// Starts collecting.
    fn start(&mut self, py: Python<'_>) -> PyResult<()> {
        if self.running.is_some() || self.done {
            return Err(PyRuntimeError::new_err("this profile was already started"));
        }
        // The thread that starts a profile on the main thread names it `MainThread`, as
        // `fluoro run`'s boot does, even in a program that never imports threading.
        if crate::os::gettid() == u64::from(std::process::id()) {
            crate::collectors::names::set_main_thread();
        }
        let file = std::fs::File::create(&self.path).map_err(|e| {
            PyRuntimeError::new_err(format!("cannot write {}: {e}", self.path.display()))
        })?;
        self.running = Some(Collection::start(py, &self.plan, file)?);
        Ok(())
    }

    /// Stops collecting; the profile is complete.
    fn stop(&mut self, py: Python<'_>) -> PyResult<()> {
        let Some(collection) = self.running.take() else {
            return Err(PyRuntimeError::new_err("this profile is not running"));
        };
        self.done = true;
        collection
            .stop(py, None)
            .map(|_| ())
            .map_err(PyRuntimeError::new_err)
    }

    fn __enter__(mut slf: PyRefMut<'_, Self>) -> PyResult<PyRefMut<'_, Self>> {
        let py = slf.py();
        slf.start(py)?;
        Ok(slf)
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(
        &mut self,
        py: Python<'_>,
        _exc: &Bound<'_, pyo3::types::PyTuple>,
    ) -> PyResult<bool> {
        self.stop(py)?;
        Ok(false)
    }

    /// The report: the one-screen text summary by default (`full=True`: the whole text
    /// report; `show_all=True`: start-up and fluoro's own frames kept; `width`: columns to
    /// fit; `more`: the summary's last line, where the whole report is), or any export format
    /// (`collapsed`, `speedscope`, `json`, `html` as str; `pprof`, `pstats` as bytes).
    #[pyo3(signature = (format = "text", metric = "wall", top = fluoro_report::DEFAULT_TOP, full = false, show_all = false, width = None, more = None))]
    #[allow(clippy::too_many_arguments)]
    fn report<'py>(
        &self,
        py: Python<'py>,
        format: &str,
        metric: &str,
        top: usize,
        full: bool,
        show_all: bool,
        width: Option<usize>,
        more: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.check_done()?;
        let profile = report::read_profile(&self.path).map_err(PyRuntimeError::new_err)?;
        let how = How {
            format,
            metric,
            top,
            full,
            show_all,
            width,
            more,
        };
        how.render(py, &profile)
    }

    /// Writes the `.fluoro` profile to `path` (readable by `fluoro report`).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.check_done()?;
        std::fs::copy(&self.path, &path)
            .map(|_| ())
            .map_err(|e| PyRuntimeError::new_err(format!("cannot write {}: {e}", path.display())))
    }
}

/// What `report()` was asked for.
struct How<'a> {
    format: &'a str,
    metric: &'a str,
    top: usize,
    full: bool,
    show_all: bool,
    width: Option<usize>,
    /// The summary's last line, where the whole report is.
    more: Option<String>,
}

impl How<'_> {
    /// `profile` rendered as asked: text as str, `pprof` and `pstats` as bytes.
    fn render<'py>(
        &self,
        py: Python<'py>,
        profile: &fluoro_profile::Profile,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fmt = report::Format::from_name(self.format)
            .ok_or_else(|| PyValueError::new_err(format!("unknown format {:?}", self.format)))?;
        let metric = fluoro_profile::Metric::from_name(self.metric)
            .ok_or_else(|| PyValueError::new_err(format!("unknown metric {:?}", self.metric)))?;
        let options =
            report::RenderOptions {
                metric,
                top: self.top,
                full: self.full,
                show_all: self.show_all,
                width: self.width,
                more: Some(self.more.clone().unwrap_or_else(|| {
                    "Summary: report(full=True) gives the whole report".to_owned()
                })),
                ..report::RenderOptions::default()
            };
        let data = fluoro_report::render(profile, fmt, &options)
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        Ok(match fmt {
            report::Format::Pprof | report::Format::Pstats => PyBytes::new(py, &data).into_any(),
            _ => PyString::new(py, &String::from_utf8_lossy(&data)).into_any(),
        })
    }
}

/// Every call of a function under `@fluoro.profile`, added up into one profile, so that 50
/// calls make one report, not 50. Calls from any thread add to it (plain data, no collector).
#[pyclass(module = "fluoro._native")]
pub struct CallProfiles {
    combined: fluoro_report::analysis::Combined,
}

#[pymethods]
impl CallProfiles {
    #[new]
    fn new() -> CallProfiles {
        CallProfiles {
            combined: fluoro_report::analysis::Combined::new(),
        }
    }

    /// Adds the profile of one finished call: the samples taken inside the call (under
    /// `@fluoro.profile`'s wrapper), not what other threads did meanwhile.
    fn add(&mut self, call: &Profiler) -> PyResult<()> {
        call.check_done()?;
        let profile = report::read_profile(&call.path).map_err(PyRuntimeError::new_err)?;
        self.combined.add_call(&profile);
        Ok(())
    }

    /// Calls added so far.
    #[getter]
    fn calls(&self) -> u64 {
        self.combined.calls()
    }

    /// The report of every call so far, as `Profiler.report` gives one.
    #[pyo3(signature = (format = "text", metric = "wall", top = fluoro_report::DEFAULT_TOP, full = false, show_all = false, width = None, more = None))]
    #[allow(clippy::too_many_arguments)]
    fn report<'py>(
        &self,
        py: Python<'py>,
        format: &str,
        metric: &str,
        top: usize,
        full: bool,
        show_all: bool,
        width: Option<usize>,
        more: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if self.combined.calls() == 0 {
            return Err(PyRuntimeError::new_err("no call has been profiled yet"));
        }
        let how = How {
            format,
            metric,
            top,
            full,
            show_all,
            width,
            more,
        };
        how.render(py, self.combined.profile())
    }
}

impl Profiler {
    fn check_done(&self) -> PyResult<()> {
        if self.done {
            Ok(())
        } else {
            Err(PyRuntimeError::new_err(
                "the profile is not complete: stop it (or leave its with block) first",
            ))
        }
    }
}

impl Drop for Profiler {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
