//! `fluoro.stack()`: every thread's Python frames, innermost first, read from
//! `sys._current_frames()` with the GIL held, so the picture is one consistent instant.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use serde::Serialize;

/// One thread's stack.
#[derive(Debug, Serialize)]
pub struct ThreadStack {
    pub thread_id: u64,
    /// `threading`'s name for the thread, when `threading` is imported and knows it.
    pub name: Option<String>,
    /// Innermost (the running function) first.
    pub frames: Vec<FrameEntry>,
}

/// One frame: where it is and which local variables its function has.
#[derive(Debug, Serialize)]
pub struct FrameEntry {
    pub file: String,
    /// `co_qualname` on 3.11+, `co_name` on 3.10.
    pub function: String,
    pub line: Option<i64>,
    /// The code object's local names: arguments and locals (`co_varnames`), then cell and
    /// free variables; names not yet bound are included.
    pub locals: Vec<String>,
}

/// The stacks of every thread that has a Python frame, in `sys._current_frames()` order.
pub fn stacks(py: Python<'_>) -> PyResult<Vec<ThreadStack>> {
    let sys = py.import("sys")?;
    let names = thread_names(&sys)?;
    let current = sys.call_method0("_current_frames")?;
    let current = current.cast::<PyDict>()?;
    let mut out = Vec::with_capacity(current.len());
    for (ident, frame) in current.iter() {
        let thread_id: u64 = ident.extract()?;
        let mut frames = Vec::new();
        let mut frame = Some(frame);
        while let Some(f) = frame.filter(|f| !f.is_none()) {
            frames.push(frame_entry(&f)?);
            frame = Some(f.getattr("f_back")?);
        }
        let name = names
            .iter()
            .find(|(id, _)| *id == thread_id)
            .map(|(_, n)| n.clone());
        out.push(ThreadStack {
            thread_id,
            name,
            frames,
        });
    }
    Ok(out)
}

fn frame_entry(frame: &Bound<'_, PyAny>) -> PyResult<FrameEntry> {
    let code = frame.getattr("f_code")?;
    // 3.11 added `co_qualname`; 3.10 only has the bare name.
    let function = match code.getattr("co_qualname") {
        Ok(q) => q.extract()?,
        Err(_) => code.getattr("co_name")?.extract()?,
    };
    let mut locals = Vec::new();
    for attr in ["co_varnames", "co_cellvars", "co_freevars"] {
        let names = code.getattr(attr)?;
        for name in names.cast::<PyTuple>()?.iter() {
            let name: String = name.extract()?;
            // 3.11+ lists an argument captured by a closure in both co_varnames and co_cellvars.
            if !locals.contains(&name) {
                locals.push(name);
            }
        }
    }
    Ok(FrameEntry {
        file: code.getattr("co_filename")?.extract()?,
        function,
        line: frame.getattr("f_lineno")?.extract()?,
        locals,
    })
}

/// `(ident, name)` of every thread `threading` knows, or none when it is not imported:
/// importing it here would change the program being looked at.
fn thread_names(sys: &Bound<'_, PyModule>) -> PyResult<Vec<(u64, String)>> {
    let modules = sys.getattr("modules")?;
    let Some(threading) = modules.cast::<PyDict>()?.get_item("threading")? else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    for thread in threading.call_method0("enumerate")?.try_iter()? {
        let thread = thread?;
        let ident = thread.getattr("ident")?;
        if ident.is_none() {
            continue;
        }
        names.push((ident.extract()?, thread.getattr("name")?.extract()?));
    }
    Ok(names)
}
