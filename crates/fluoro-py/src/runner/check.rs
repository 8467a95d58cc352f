//! Checks made before the exec, so that a bad target is one line from fluoro with exit 2
//! rather than the interpreter's traceback with exit 1. None of them runs target code.

use crate::output::Failure;
use fluoro_cli::Target;
use fluoro_render::io_reason;
use pyo3::exceptions::PySyntaxError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Fails with one line if `target` cannot be run.
pub fn target(py: Python<'_>, target: &Target) -> Result<(), Failure> {
    match target {
        Target::Script(path) => {
            let meta = std::fs::metadata(path)
                .map_err(|e| Failure(format!("run: cannot open '{path}': {}", io_reason(&e))))?;
            if meta.is_dir() {
                return Err(Failure(format!(
                    "run: '{path}' is a directory, not a Python script"
                )));
            }
            let source = std::fs::read(path)
                .map_err(|e| Failure(format!("run: cannot read '{path}': {}", io_reason(&e))))?;
            compiles(py, pyo3::types::PyBytes::new(py, &source).as_any(), path)
        }
        Target::Code(code) => compiles(
            py,
            pyo3::types::PyString::new(py, code).as_any(),
            "<string>",
        ),
        Target::Module(name) => module_exists(py, name),
    }
}

/// `compile(source, filename, "exec", dont_inherit=True)`, reporting a syntax error in one line.
fn compiles(py: Python<'_>, source: &Bound<'_, PyAny>, filename: &str) -> Result<(), Failure> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("dont_inherit", true)?;
    let compiled = py
        .import("builtins")?
        .getattr("compile")?
        .call((source, filename, "exec"), Some(&kwargs));
    match compiled {
        Ok(_) => Ok(()),
        Err(err) if err.is_instance_of::<PySyntaxError>(py) => {
            let value = err.value(py);
            let get = |name: &str| value.getattr(name).ok().filter(|v| !v.is_none());
            let line = get("lineno")
                .map(|l| format!(", line {l}"))
                .unwrap_or_default();
            let col = get("offset")
                .map(|c| format!(", column {c}"))
                .unwrap_or_default();
            let msg = get("msg")
                .map(|m| m.to_string())
                .unwrap_or_else(|| "invalid syntax".into());
            let kind = value
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default();
            Err(Failure(format!(
                "run: {kind} in {filename}{line}{col}: {msg}"
            )))
        }
        Err(err) => Err(Failure(format!(
            "run: cannot compile {filename}: {}",
            err.value(py)
        ))),
    }
}

/// Whether `python -m name` would find something to run, without importing anything: the
/// top-level name is looked up with the target's `sys.path` (the current directory first);
/// a package needs a `__main__`. Deeper names are left to the interpreter, since finding them
/// would mean running their parent packages' `__init__`.
fn module_exists(py: Python<'_>, name: &str) -> Result<(), Failure> {
    let sys = py.import("sys")?;
    let path = sys.getattr("path")?;
    let cwd = std::env::current_dir().map_err(|e| Failure(format!("run: {e}")))?;
    let saved = path.get_item(0).ok();
    if saved.is_some() {
        path.set_item(0, cwd.display().to_string())?;
    }
    let top = name.split('.').next().unwrap_or(name);
    let found = py
        .import("importlib.util")?
        .call_method1("find_spec", (top,));
    if let Some(saved) = saved {
        path.set_item(0, saved)?;
    }
    let spec = match found {
        Ok(spec) => spec,
        Err(err) => {
            return Err(Failure(format!(
                "run: cannot look up {name}: {}",
                err.value(py)
            )))
        }
    };
    if spec.is_none() {
        return Err(Failure(format!("run: No module named {top}")));
    }
    if top != name {
        return Ok(());
    }
    let locations = spec.getattr("submodule_search_locations")?;
    if locations.is_none() {
        return Ok(());
    }
    let machinery = py.import("importlib.machinery")?;
    let main = machinery
        .getattr("PathFinder")?
        .call_method1("find_spec", (format!("{name}.__main__"), locations))?;
    if main.is_none() {
        return Err(Failure(format!(
            "run: No module named {name}.__main__; '{name}' is a package and cannot be directly executed"
        )));
    }
    Ok(())
}
