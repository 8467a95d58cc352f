//! Live objects by type for snapshots: every object the cycle collector tracks, and the
//! untracked ones they refer to (strings, numbers, tuples of them…), found through each
//! object's `tp_traverse` without creating a Python object per referent.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyList;
use std::collections::{HashMap, HashSet};
use std::ffi::c_void;

/// What one traversal gathers: the referents it visits.
struct Visit {
    found: Vec<*mut ffi::PyObject>,
}

unsafe extern "C" fn visit(object: *mut ffi::PyObject, arg: *mut c_void) -> i32 {
    // SAFETY: `arg` is the `Visit` that `referents` passed to tp_traverse, alive for the call.
    let visit = unsafe { &mut *(arg as *mut Visit) };
    if !object.is_null() {
        visit.found.push(object);
    }
    0
}

/// Appends the objects `object` refers to (through its type's `tp_traverse`) to `out`.
///
/// # Safety
/// The GIL must be held and `object` must be alive.
unsafe fn referents(object: *mut ffi::PyObject, out: &mut Visit) {
    // SAFETY: the object is alive (caller) so its type is; tp_traverse only calls `visit` on
    // the object's own references and runs no Python code.
    unsafe {
        let ty = ffi::Py_TYPE(object);
        if let Some(traverse) = (*ty).tp_traverse {
            traverse(object, visit, (out as *mut Visit).cast());
        }
    }
}

/// Counts live objects by type name, most numerous first.
pub fn by_type(py: Python<'_>) -> PyResult<Vec<(String, u64)>> {
    let objects = py
        .import("gc")?
        .call_method0("get_objects")?
        .cast_into::<PyList>()?;
    let mut counts: HashMap<usize, u64> = HashMap::new();
    let mut seen: HashSet<usize> = HashSet::new();
    let mut visit = Visit { found: Vec::new() };
    let mut pending: Vec<*mut ffi::PyObject> = Vec::new();
    for obj in objects.iter() {
        let ptr = obj.as_ptr();
        // SAFETY: the GIL is held; `obj` is kept alive by the list, and every referent by the
        // object that refers to it (nothing here runs Python code or frees anything).
        unsafe {
            *counts.entry(ffi::Py_TYPE(ptr) as usize).or_default() += 1;
            visit.found.clear();
            referents(ptr, &mut visit);
            pending.extend(visit.found.iter().copied());
            while let Some(r) = pending.pop() {
                if ffi::PyObject_IS_GC(r) != 0 && ffi::PyObject_GC_IsTracked(r) != 0 {
                    continue; // counted as one of gc.get_objects()
                }
                if !seen.insert(r as usize) {
                    continue;
                }
                *counts.entry(ffi::Py_TYPE(r) as usize).or_default() += 1;
                if ffi::PyObject_IS_GC(r) != 0 {
                    // An untracked container (a tuple of atoms, say): what it holds counts too.
                    visit.found.clear();
                    referents(r, &mut visit);
                    pending.extend(visit.found.iter().copied());
                }
            }
        }
    }
    let mut types: Vec<(String, u64)> = counts
        .into_iter()
        .map(|(ty, n)| {
            // SAFETY: a type with live instances is alive; borrowed for the name only.
            let ty = unsafe { Bound::from_borrowed_ptr(py, ty as *mut ffi::PyObject) };
            let name = ty
                .getattr("__qualname__")
                .and_then(|q| q.extract::<String>())
                .unwrap_or_else(|_| "?".into());
            (name, n)
        })
        .collect();
    drop(objects);
    types.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(types)
}
