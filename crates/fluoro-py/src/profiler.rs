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
                warn: true,
                cpu,
                memory,
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

    /// The report: the text summary by default, or any export format (`collapsed`,
    /// `speedscope`, `json`, `html` as str; `pprof`, `pstats` as bytes).
    #[pyo3(signature = (format = "text", metric = "wall", top = 15))]
    fn report<'py>(
        &self,
        py: Python<'py>,
        format: &str,
        metric: &str,
        top: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.check_done()?;
        let fmt = report::Format::from_name(format)
            .ok_or_else(|| PyValueError::new_err(format!("unknown format {format:?}")))?;
        let metric = fluoro_profile::Metric::from_name(metric)
            .ok_or_else(|| PyValueError::new_err(format!("unknown metric {metric:?}")))?;
        let options = report::RenderOptions {
            metric,
            top,
            ..report::RenderOptions::default()
        };
        let data =
            report::render_file(&self.path, fmt, &options).map_err(PyRuntimeError::new_err)?;
        Ok(match fmt {
            report::Format::Pprof | report::Format::Pstats => PyBytes::new(py, &data).into_any(),
            _ => PyString::new(py, &String::from_utf8_lossy(&data)).into_any(),
        })
    }

    /// Writes the `.fluoro` profile to `path` (readable by `fluoro report`).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.check_done()?;
        std::fs::copy(&self.path, &path)
            .map(|_| ())
            .map_err(|e| PyRuntimeError::new_err(format!("cannot write {}: {e}", path.display())))
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
