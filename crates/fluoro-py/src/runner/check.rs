//! Checks made before the exec, so that a bad target is one line from fluoro with exit 2
//! rather than the interpreter's traceback with exit 1. None of them runs target code.

use crate::output::Failure;
use fluoro_cli::Target;
use fluoro_render::io_reason;
use pyo3::exceptions::PySyntaxError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::Path;

/// Fails with one line if `target` cannot be run.
pub fn target(py: Python<'_>, target: &Target) -> Result<(), Failure> {
    match target {
        Target::Script(script) => {
            let path = &script.display().to_string();
            let meta = std::fs::metadata(script)
                .map_err(|e| Failure(format!("run: cannot open '{path}': {}", io_reason(&e))))?;
            if meta.is_dir() {
                return Err(Failure(format!(
                    "run: '{path}' is a directory, not a Python script"
                )));
            }
            // A FIFO, /dev/stdin or <(...) can be read once only: it is the interpreter's.
            if !meta.is_file() {
                return Ok(());
            }
            let source = std::fs::read(script)
                .map_err(|e| Failure(format!("run: cannot read '{path}': {}", io_reason(&e))))?;
            if is_zip(&source) {
                return Ok(());
            }
            if is_pyc(py, script, &source)? {
                return loads_pyc(py, path, &source);
            }
            // Compiled under its own name, as python does, even when that is not UTF-8.
            let filename = script.clone().into_pyobject(py)?;
            compiles(
                py,
                pyo3::types::PyBytes::new(py, &source).as_any(),
                &filename,
                path,
            )
        }
        Target::Code(code) => compiles(
            py,
            pyo3::types::PyString::new(py, code).as_any(),
            pyo3::types::PyString::new(py, "<string>").as_any(),
            "<string>",
        ),
        Target::Module(name) => module_exists(py, name),
    }
}

/// Whether python would run `source` as an archive with a `__main__.py`: a zip
/// end-of-central-directory record (its signature, then at least the record's 22 bytes) within
/// the last 22 + 65,535 bytes (the record and a comment of at most 65,535), which is what the
/// interpreter's zip importer looks for. Checked here rather than with `zipfile`, whose imports
/// would cost the start of every run ~10 ms.
fn is_zip(source: &[u8]) -> bool {
    const RECORD: usize = 22;
    if source.len() < RECORD {
        return false;
    }
    let tail = &source[source.len().saturating_sub(RECORD + u16::MAX as usize)..];
    (0..=tail.len() - RECORD).any(|at| tail[at..].starts_with(b"PK\x05\x06"))
}

/// Whether python would run `source` as compiled bytecode: a `.pyc` name, or the first two
/// bytes of this interpreter's magic number (as `maybe_pyc_file` in CPython's pythonrun.c).
fn is_pyc(py: Python<'_>, path: &Path, source: &[u8]) -> Result<bool, Failure> {
    if path.extension().is_some_and(|x| x == "pyc") {
        return Ok(true);
    }
    let magic: Vec<u8> = magic_number(py)?;
    Ok(magic.len() >= 2 && source.len() >= 2 && source[..2] == magic[..2])
}

fn magic_number(py: Python<'_>) -> Result<Vec<u8>, Failure> {
    // The frozen module the import system itself runs on: loaded already, unlike
    // `importlib.util`, which would import several modules into every run.
    let magic = py
        .import("_frozen_importlib_external")?
        .getattr("MAGIC_NUMBER")?;
    Ok(magic.extract::<Vec<u8>>().unwrap_or_default())
}

/// A `.pyc` must be this interpreter's (its magic number) and hold a code object.
fn loads_pyc(py: Python<'_>, path: &str, data: &[u8]) -> Result<(), Failure> {
    let magic = magic_number(py)?;
    if data.len() < 16 || magic.len() != 4 || data[..4] != magic[..] {
        return Err(Failure(format!(
            "run: '{path}' is not compiled bytecode of this Python (bad magic number)"
        )));
    }
    let code = py
        .import("marshal")?
        .call_method1("loads", (pyo3::types::PyBytes::new(py, &data[16..]),))
        .map_err(|e| Failure(format!("run: cannot load '{path}': {}", e.value(py))))?;
    let code_type = py.import("types")?.getattr("CodeType")?;
    if !code.is_instance(&code_type)? {
        return Err(Failure(format!("run: '{path}' holds no code object")));
    }
    Ok(())
}

/// `compile(source, filename, "exec", dont_inherit=True)`, reporting a syntax error in one line
/// that names the file as `shown`.
fn compiles(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    filename: &Bound<'_, PyAny>,
    shown: &str,
) -> Result<(), Failure> {
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
            Err(Failure(format!("run: {kind} in {shown}{line}{col}: {msg}")))
        }
        Err(err) => Err(Failure(format!(
            "run: cannot compile {shown}: {}",
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

#[cfg(test)]
mod tests {
    use super::is_zip;

    fn record(comment: &[u8]) -> Vec<u8> {
        let mut out = b"PK\x05\x06".to_vec();
        out.extend([0; 16]);
        out.extend((comment.len() as u16).to_le_bytes());
        out.extend(comment);
        out
    }

    #[test]
    fn an_archive_ends_with_its_directory_record() {
        let mut zip = b"PK\x03\x04 entries".to_vec();
        zip.extend(record(b""));
        assert!(is_zip(&zip));
        zip.truncate(zip.len() - 1);
        assert!(!is_zip(&zip), "a record cut short");
        let mut commented = b"entries".to_vec();
        commented.extend(record(&[b'c'; 300]));
        assert!(is_zip(&commented));
    }

    #[test]
    fn a_script_is_not_an_archive() {
        assert!(!is_zip(b""));
        assert!(!is_zip(b"print('PK')\n"));
        let mut far = record(b"");
        far.extend(vec![b'#'; 70_000]);
        assert!(
            !is_zip(&far),
            "a record further from the end than a comment can be"
        );
    }
}
