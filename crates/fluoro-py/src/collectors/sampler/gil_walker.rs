//! The fallback stack reader for interpreters fluoro has no memory layout for: it takes the
//! GIL at each tick and walks `sys._current_frames()`. It interrupts the target briefly (the
//! GIL changes hands), which is why it is only the fallback.

use crate::cpython::ThreadStack;
use fluoro_profile::{CodeId, CodeInfo, Frame, LineRange};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::collections::HashMap;

pub struct GilWalker {
    /// Code objects seen, held alive so that an address cannot be reused by another.
    codes: HashMap<usize, (Py<PyAny>, CodeId)>,
    fresh: Vec<(CodeId, CodeInfo)>,
}

impl GilWalker {
    pub fn new() -> GilWalker {
        GilWalker {
            codes: HashMap::new(),
            fresh: Vec::new(),
        }
    }

    pub fn take_fresh(&mut self) -> Vec<(CodeId, CodeInfo)> {
        std::mem::take(&mut self.fresh)
    }

    /// Every thread's stack, read with the GIL. The sampler thread itself is left out.
    pub fn threads(&mut self, out: &mut Vec<ThreadStack>) {
        out.clear();
        Python::attach(|py| {
            if let Err(e) = self.read(py, out) {
                // The interpreter is shutting down or a frame vanished: this tick is lost.
                e.restore(py);
                let _ = PyErr::take(py);
            }
        });
    }

    fn read(&mut self, py: Python<'_>, out: &mut Vec<ThreadStack>) -> PyResult<()> {
        let sys = py.import("sys")?;
        let frames = sys.call_method0("_current_frames")?;
        let frames = frames.cast::<PyDict>()?;
        let native_ids = native_ids(py).unwrap_or_default();
        let me = crate::os::pthread_self();
        for (ident, frame) in frames.iter() {
            let ident: u64 = ident.extract()?;
            if ident == me {
                continue;
            }
            let mut stack = ThreadStack {
                tstate: ident as usize,
                ident,
                native_id: native_ids.get(&ident).copied().unwrap_or(0),
                frames: Vec::new(),
                addresses: Vec::new(),
                torn: false,
                cpu: None,
                active: false,
            };
            let mut frame = frame;
            while !frame.is_none() {
                let code = frame.getattr("f_code")?;
                let offset: i64 = frame.getattr("f_lasti")?.extract()?;
                stack.frames.push(Frame {
                    code: self.code_id(&code)?,
                    offset: offset.max(0) as u32,
                });
                frame = frame.getattr("f_back")?;
            }
            out.push(stack);
        }
        Ok(())
    }

    fn code_id(&mut self, code: &Bound<'_, PyAny>) -> PyResult<CodeId> {
        let addr = code.as_ptr() as usize;
        if let Some((_, id)) = self.codes.get(&addr) {
            return Ok(*id);
        }
        let id = self.codes.len() as CodeId;
        let info = code_info(code)?;
        self.codes.insert(addr, (code.clone().unbind(), id));
        self.fresh.push((id, info));
        Ok(id)
    }

    /// Drops the code objects held, with the GIL.
    pub fn release(self) {
        Python::attach(|_| drop(self.codes));
    }
}

fn code_info(code: &Bound<'_, PyAny>) -> PyResult<CodeInfo> {
    let name: String = code.getattr("co_name")?.extract()?;
    let qualname = match code.getattr("co_qualname") {
        Ok(q) => q.extract()?,
        Err(_) => name.clone(),
    };
    let mut lines = Vec::new();
    for entry in code.call_method0("co_lines")?.try_iter()? {
        let (start, end, line): (u32, u32, Option<u32>) = entry?.extract()?;
        if start < end {
            lines.push(LineRange {
                start,
                end,
                line: line.unwrap_or(0),
            });
        }
    }
    Ok(CodeInfo {
        filename: code.getattr("co_filename")?.extract()?,
        name,
        qualname,
        firstlineno: code.getattr("co_firstlineno")?.extract()?,
        lines,
    })
}

/// `threading.get_ident()` to `native_id` for the threads `threading` knows.
fn native_ids(py: Python<'_>) -> PyResult<HashMap<u64, u64>> {
    let threading = crate::collectors::names::threading(py)?;
    let mut ids = HashMap::new();
    for thread in threading.call_method0("enumerate")?.try_iter()? {
        let thread = thread?;
        let ident: Option<u64> = thread.getattr("ident")?.extract()?;
        let native: Option<u64> = thread.getattr("native_id")?.extract()?;
        if let (Some(ident), Some(native)) = (ident, native) {
            ids.insert(ident, native);
        }
    }
    Ok(ids)
}
