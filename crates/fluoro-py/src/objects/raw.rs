//! Reading objects' internals that Python does not expose: the references a container holds
//! (through its type's `tp_traverse`), reference counts, and whether a string is interned.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::os::raw::{c_int, c_void};

extern "C" fn collect(object: *mut ffi::PyObject, out: *mut c_void) -> c_int {
    // SAFETY: `out` is the `&mut Vec` passed by `referents` below, alive for the whole
    // tp_traverse call that invokes this visitor.
    let out = unsafe { &mut *(out as *mut Vec<*mut ffi::PyObject>) };
    if !object.is_null() {
        out.push(object);
    }
    0
}

/// Whether the object's type takes part in cyclic GC (and so has `tp_traverse`).
pub fn is_gc_type(obj: &Bound<'_, PyAny>) -> bool {
    // SAFETY: `obj` is a live object (we hold a reference), so its type pointer is valid.
    let flags = unsafe { (*ffi::Py_TYPE(obj.as_ptr())).tp_flags };
    flags & ffi::Py_TPFLAGS_HAVE_GC != 0
}

/// The objects `obj` references, as its type's `tp_traverse` reports them (what
/// `gc.get_referents` returns), with a new reference to each.
pub fn referents<'py>(obj: &Bound<'py, PyAny>) -> Vec<Bound<'py, PyAny>> {
    if !is_gc_type(obj) {
        return Vec::new();
    }
    let mut found: Vec<*mut ffi::PyObject> = Vec::new();
    // SAFETY: the type has Py_TPFLAGS_HAVE_GC, so tp_traverse is the type's traversal (or
    // NULL, checked). We hold the GIL and a reference to `obj`; tp_traverse only calls our
    // visitor, which runs no Python code, so nothing can free the referents before we take a
    // reference to each right after.
    unsafe {
        let tp = ffi::Py_TYPE(obj.as_ptr());
        if let Some(traverse) = (*tp).tp_traverse {
            traverse(
                obj.as_ptr(),
                collect,
                &mut found as *mut Vec<_> as *mut c_void,
            );
        }
    }
    let py = obj.py();
    found
        .into_iter()
        // SAFETY: each pointer was just reported as a live reference held by `obj`, which is
        // still alive; from_borrowed_ptr takes our own reference.
        .map(|p| unsafe { Bound::from_borrowed_ptr(py, p) })
        .collect()
}

/// Whether a `str` is in the interpreter's intern table.
#[cfg(not(Py_3_14))]
pub fn is_interned(s: &Bound<'_, PyString>) -> bool {
    // SAFETY: every str object starts with a PyASCIIObject header, and we hold a reference.
    unsafe { (*(s.as_ptr() as *mut ffi::PyASCIIObject)).interned() != 0 }
}

/// Whether a `str` is in the interpreter's intern table. 3.14 keeps `interned` in the low two
/// bits of `state` (a whole byte, values 0-3, on free-threaded builds; cpython/unicodeobject.h),
/// which pyo3-ffi no longer reads for us.
#[cfg(Py_3_14)]
pub fn is_interned(s: &Bound<'_, PyString>) -> bool {
    // SAFETY: every str object starts with a PyASCIIObject header, and we hold a reference.
    unsafe { (*(s.as_ptr() as *mut ffi::PyASCIIObject)).state & 0b11 != 0 }
}

/// The object's reference count as the interpreter stores it.
pub fn refcount(obj: &Bound<'_, PyAny>) -> isize {
    // SAFETY: we hold a reference to `obj`, so reading its header is valid.
    unsafe { ffi::Py_REFCNT(obj.as_ptr()) }
}
