//! Exact mode (`fluoro run --exact`): a C-level profile hook counting every call.
//!
//! The figures follow cProfile's (`Modules/_lsprof.c`) so that they can be compared one for
//! one: a function is a code object, or for C functions a `PyMethodDef`, named
//! `(filename, firstlineno, co_name)` or `('~', 0, '<built-in method builtins.len>')`; a
//! resumed generator is a new call and a yield its return; a call is primitive when the
//! function is not already running on the thread, and cumulative time counts only the
//! outermost of nested calls; each caller edge carries the same four figures. Unlike
//! cProfile, every thread has its own stack (cProfile 3.10/3.11 sees one thread; 3.12+
//! mixes all threads into one stack).
//!
//! Per event the hook reads the clock once and touches plain Rust memory: a hash lookup from
//! the code object's (or method definition's) address to a function index, a cached or
//! hashed lookup of the caller edge, and the thread's stack of entries. Nothing is allocated
//! and no Python object is created in steady state; a function's first call takes a strong
//! reference to its code object (so its address cannot be reused) or computes its C label.
//!
//! The hook's own cost per event is calibrated at start (`overhead_ns_per_event`) and
//! subtracted, as the model promises: each completed call inside a function's window costs
//! two events there, taken off its cumulative time (and so off the caller's own time). The
//! interpreter's share of each event (making frame objects, calling the hook) is not
//! measurable from inside the hook and stays in the figures, as it does in cProfile's.

mod clock;
mod install;
mod session;
pub mod tracer;

use clock::ticks;
use fluoro_profile::ExactStats;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use session::{calibrate, is_active, Installed, Session, SessionTracer, TRACER};
use std::time::Instant;

/// Installs the hook on every thread, present and future.
pub fn start(py: Python<'_>) -> PyResult<()> {
    if is_active(py) {
        return Err(PyRuntimeError::new_err("exact mode is already running"));
    }
    let overhead_ticks = calibrate(py);
    let tracer = SessionTracer::new(overhead_ticks);
    let mechanism = Mechanism::choose(py);
    // Set up everything that runs Python code before the hook can see it.
    let installed = match mechanism {
        Mechanism::Profile => {
            let threading = py.import("threading")?;
            let previous = threading.call_method0("getprofile")?.unbind();
            threading.call_method1("setprofile", (install::thread_bootstrap_callable(py)?,))?;
            Installed::Profile { previous }
        }
        Mechanism::Monitoring => install_monitoring(py)?,
    };
    let session = Session {
        tracer,
        installed: Some(installed),
        started: (Instant::now(), ticks()),
    };
    TRACER
        .with(py, |t| *t = Some(session))
        .ok_or_else(|| PyRuntimeError::new_err("exact mode is busy"))?;
    match mechanism {
        Mechanism::Profile => {
            install::set_profile_all(py, true);
        }
        Mechanism::Monitoring => {
            if let Err(e) = enable_monitoring(py) {
                let _ = stop(py);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Removes the hook and returns what it counted.
pub fn stop(py: Python<'_>) -> PyResult<ExactStats> {
    let installed = TRACER
        .with(py, |t| t.as_mut().and_then(|t| t.installed.take()))
        .flatten()
        .ok_or_else(|| PyRuntimeError::new_err("exact mode is not running"))?;
    // The C-level hook goes first, so the Python calls below are not recorded.
    let undone = match &installed {
        Installed::Profile { .. } => {
            install::set_profile_all(py, false);
            Ok(())
        }
        Installed::Monitoring { tool } => uninstall_monitoring(py, *tool),
    };
    let now = ticks();
    let mut session = TRACER
        .with(py, Option::take)
        .flatten()
        .ok_or_else(|| PyRuntimeError::new_err("exact mode is not running"))?;
    if let Installed::Profile { previous } = &installed {
        py.import("threading")?
            .call_method1("setprofile", (previous.bind(py),))?;
    }
    undone?;
    session.tracer.flush(now);
    session.into_stats(py)
}

/// Which interpreter mechanism delivers the events.
#[derive(Clone, Copy)]
enum Mechanism {
    /// `PyEval_SetProfile` on every thread, and `threading.setprofile` for threads to come.
    Profile,
    /// `sys.monitoring` (3.12+): interpreter-wide, cheaper per event.
    Monitoring,
}

impl Mechanism {
    /// `sys.monitoring` where it exists; `FLUORO_EXACT_HOOK=setprofile` forces the legacy
    /// profile hook there too (to measure one against the other).
    fn choose(py: Python<'_>) -> Self {
        let modern = py.version_info() >= (3, 12);
        let forced = std::env::var("FLUORO_EXACT_HOOK").ok();
        match forced.as_deref() {
            Some("setprofile") => Self::Profile,
            _ if modern => Self::Monitoring,
            _ => Self::Profile,
        }
    }
}

/// `sys.monitoring` tool ids tried in order: the two unnamed ones, then the profiler's (so
/// that a target using cProfile itself keeps working when one of the first two is free).
const TOOL_IDS: [u8; 3] = [4, 3, 2];

/// The events and which callback takes them, as cProfile 3.12 maps them: a start, resume
/// or throw enters the code; a return, yield or unwind leaves it; a call of a C function
/// enters it and its return or raise leaves it.
const EVENTS: [(&str, Callback); 9] = [
    ("PY_START", Callback::PyStart),
    ("PY_RESUME", Callback::PyStart),
    ("PY_THROW", Callback::PyStart),
    ("PY_RETURN", Callback::PyReturn),
    ("PY_YIELD", Callback::PyReturn),
    ("PY_UNWIND", Callback::PyReturn),
    ("CALL", Callback::Call),
    ("C_RETURN", Callback::CReturn),
    ("C_RAISE", Callback::CReturn),
];

#[derive(Clone, Copy)]
enum Callback {
    PyStart,
    PyReturn,
    Call,
    CReturn,
}

fn monitoring(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    py.import("sys")?.getattr("monitoring")
}

fn install_monitoring(py: Python<'_>) -> PyResult<Installed> {
    let mon = monitoring(py)?;
    let callbacks = install::monitoring_callbacks(py, &mon.getattr("MISSING")?)?;
    let mut tool = None;
    for id in TOOL_IDS {
        if mon.call_method1("get_tool", (id,))?.is_none() {
            mon.call_method1("use_tool_id", (id, "fluoro"))?;
            tool = Some(id);
            break;
        }
    }
    let tool = tool.ok_or_else(|| {
        PyRuntimeError::new_err("exact mode: every sys.monitoring profiler tool id is in use")
    })?;
    let events = mon.getattr("events")?;
    for (name, which) in EVENTS {
        let callback = match which {
            Callback::PyStart => &callbacks.py_start,
            Callback::PyReturn => &callbacks.py_return,
            Callback::Call => &callbacks.call,
            Callback::CReturn => &callbacks.c_return,
        };
        mon.call_method1(
            "register_callback",
            (tool, events.getattr(name)?, callback.bind(py)),
        )?;
    }
    Ok(Installed::Monitoring { tool })
}

fn enable_monitoring(py: Python<'_>) -> PyResult<()> {
    let tool = TRACER
        .with(py, |t| {
            match t.as_ref().and_then(|t| t.installed.as_ref()) {
                Some(Installed::Monitoring { tool }) => Some(*tool),
                _ => None,
            }
        })
        .flatten()
        .ok_or_else(|| PyRuntimeError::new_err("exact mode is not running"))?;
    let mon = monitoring(py)?;
    let events = mon.getattr("events")?;
    let mut mask = 0u64;
    for (name, _) in EVENTS {
        mask |= events.getattr(name)?.extract::<u64>()?;
    }
    mon.call_method1("set_events", (tool, mask))?;
    Ok(())
}

fn uninstall_monitoring(py: Python<'_>, tool: u8) -> PyResult<()> {
    let mon = monitoring(py)?;
    mon.call_method1("set_events", (tool, 0))?;
    let events = mon.getattr("events")?;
    for (name, _) in EVENTS {
        mon.call_method1(
            "register_callback",
            (tool, events.getattr(name)?, py.None()),
        )?;
    }
    mon.call_method1("free_tool_id", (tool,))?;
    Ok(())
}
