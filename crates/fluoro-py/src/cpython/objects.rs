//! Objects' internals that Python does not expose, read with the GIL held: the references a
//! container holds (through its type's `tp_traverse`, the one visitor the heap walk and the
//! object reports share), whether the collector treats an object as a container, reference
//! counts, interned strings, and `sys.getsizeof` computed without calling it per object.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::os::raw::{c_int, c_void};

/// A borrowed object pointer.
pub type Object = *mut ffi::PyObject;

/// `sizeof(PyGC_Head)` on 64-bit builds of 3.10–3.13.
const GC_HEAD: u64 = 16;
/// 3.11+: the managed dict (and 3.12+ weakref) pointers before the object, counted by
/// sys.getsizeof.
const PREHEADER: u64 = 16;
/// `Py_TPFLAGS_MANAGED_WEAKREF` (3.12+) and `Py_TPFLAGS_MANAGED_DICT` (3.11+), spelled out:
/// the bindings for 3.10 do not name them.
pub const MANAGED_WEAKREF: u64 = 1 << 3;
pub const MANAGED_DICT: u64 = 1 << 4;

extern "C" fn collect(object: *mut ffi::PyObject, out: *mut c_void) -> c_int {
    // SAFETY: `out` is the `&mut Vec<Object>` passed by `traverse` below, alive for the whole
    // tp_traverse call that invokes this visitor.
    let out = unsafe { &mut *(out as *mut Vec<Object>) };
    if !object.is_null() {
        out.push(object);
    }
    0
}

/// The references `obj` holds, as its type's `tp_traverse` reports them (what
/// `gc.get_referents` returns), borrowed, into `out` (cleared first).
///
/// # Safety
/// `obj` must be a live object and the GIL held; the pointers are valid only while `obj`
/// keeps them.
pub unsafe fn traverse(obj: Object, out: &mut Vec<Object>) {
    out.clear();
    // SAFETY: the caller's guarantees; tp_traverse only calls our visitor, which runs no
    // Python code.
    unsafe {
        if !is_gc(obj) {
            return;
        }
        if let Some(visit) = (*ffi::Py_TYPE(obj)).tp_traverse {
            visit(obj, collect, out as *mut Vec<Object> as *mut c_void);
        }
    }
}

/// Whether the collector would treat `obj` as a container (`_PyObject_IS_GC`).
///
/// # Safety
/// `obj` must be a live object and the GIL held.
pub unsafe fn is_gc(obj: Object) -> bool {
    // SAFETY: the caller's guarantees: the type of a live object is live.
    unsafe {
        let tp = ffi::Py_TYPE(obj);
        ffi::PyType_IS_GC(tp) != 0 && (*tp).tp_is_gc.is_none_or(|is_gc| is_gc(obj) != 0)
    }
}

/// Whether the object's type takes part in cyclic GC (and so has `tp_traverse`).
pub fn is_gc_type(obj: &Bound<'_, PyAny>) -> bool {
    // SAFETY: `obj` is a live object (we hold a reference), so its type pointer is valid.
    let flags = unsafe { (*ffi::Py_TYPE(obj.as_ptr())).tp_flags };
    flags & ffi::Py_TPFLAGS_HAVE_GC != 0
}

/// The objects `obj` references, with a new reference to each.
pub fn referents<'py>(obj: &Bound<'py, PyAny>) -> Vec<Bound<'py, PyAny>> {
    let mut found: Vec<Object> = Vec::new();
    // SAFETY: we hold the GIL and a reference to `obj`.
    unsafe { traverse(obj.as_ptr(), &mut found) };
    let py = obj.py();
    found
        .into_iter()
        // SAFETY: each pointer was just reported as a live reference held by `obj`, which is
        // still alive and ran no code since; from_borrowed_ptr takes our own reference.
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

/// `PyUnicode_IS_ASCII`, which pyo3-ffi offers only before 3.14.
///
/// # Safety
/// `obj` must be a live str.
#[cfg(not(Py_3_14))]
unsafe fn is_ascii(obj: Object) -> bool {
    // SAFETY: the caller's guarantees.
    unsafe { ffi::PyUnicode_IS_ASCII(obj) != 0 }
}

/// `PyUnicode_IS_ASCII` for 3.14+: the `ascii` bit of the str's `state` bitfield, after
/// `interned` (2 bits, a byte on free-threaded builds), `kind` (3) and `compact` (1), as
/// cpython/unicodeobject.h lays it out.
///
/// # Safety
/// `obj` must be a live str.
#[cfg(Py_3_14)]
unsafe fn is_ascii(obj: Object) -> bool {
    const ASCII_BIT: u32 = if cfg!(Py_GIL_DISABLED) { 12 } else { 6 };
    // SAFETY: the caller's guarantees: a str starts with a PyASCIIObject header.
    unsafe { (*(obj as *mut ffi::PyASCIIObject)).state >> ASCII_BIT & 1 != 0 }
}

/// The object's reference count as the interpreter stores it.
pub fn refcount(obj: &Bound<'_, PyAny>) -> isize {
    // SAFETY: we hold a reference to `obj`, so reading its header is valid.
    unsafe { ffi::Py_REFCNT(obj.as_ptr()) }
}

/// The text of a short ASCII `str` (at most `max_chars`), read in place: nothing allocated in
/// the interpreter.
///
/// # Safety
/// `obj` must be a live object and the GIL held.
pub unsafe fn ascii_text(obj: Object, max_chars: isize) -> Option<String> {
    // SAFETY: the caller's guarantees; an ASCII str keeps its characters right after its
    // header, `len` of them.
    unsafe {
        if ffi::PyUnicode_Check(obj) == 0 || !is_ascii(obj) {
            return None;
        }
        let len = ffi::PyUnicode_GET_LENGTH(obj);
        if len > max_chars {
            return None;
        }
        let data = ffi::PyUnicode_DATA(obj) as *const u8;
        let text = std::str::from_utf8(std::slice::from_raw_parts(data, len as usize)).ok()?;
        Some(text.to_owned())
    }
}

/// How `sys.getsizeof` gets an object's size.
enum SizeOf {
    /// `object.__sizeof__`: basicsize plus itemsize times `ob_size`.
    Layout,
    /// A type's own `__sizeof__` (list, dict, str, int...), called through this descriptor.
    Method(Py<PyAny>),
}

/// `sys.getsizeof` of a type's instances, decided once per type: which `__sizeof__`, and the
/// bytes it adds for the GC header and (3.11+) the pre-header.
pub struct TypeSize {
    size_of: SizeOf,
    extra: u64,
    /// `tp_is_gc` decides per object whether the GC header exists (type objects).
    per_object_gc: bool,
    /// 3.10 and 3.13+ ask `tp_is_gc` (static types have no GC header); 3.11 and 3.12 go by
    /// the type alone.
    asks_is_gc: bool,
}

impl TypeSize {
    /// How instances of `tp` are sized; `object_sizeof` is `object.__sizeof__`.
    pub fn of(tp: &Bound<'_, PyAny>, object_sizeof: &Bound<'_, PyAny>) -> PyResult<TypeSize> {
        let minor = tp.py().version_info().minor;
        // `__sizeof__` as the type's MRO resolves it, without calling any attribute hook.
        let mut method = None;
        for base in tp.getattr("__mro__")?.try_iter()? {
            let base = base?;
            if let Ok(found) = base.getattr("__dict__")?.get_item("__sizeof__") {
                method = Some(found);
                break;
            }
        }
        let size_of = match method {
            Some(m) if !m.is(object_sizeof) => SizeOf::Method(m.unbind()),
            _ => SizeOf::Layout,
        };
        let raw = tp.as_ptr() as *mut ffi::PyTypeObject;
        // SAFETY: reading fields of a live type object (we hold a reference) with the GIL.
        let (flags, gc, per_object_gc) = unsafe {
            (
                (*raw).tp_flags,
                ffi::PyType_IS_GC(raw) != 0,
                (*raw).tp_is_gc.is_some(),
            )
        };
        let mut extra = if gc { GC_HEAD } else { 0 };
        let preheader = match minor {
            11 => MANAGED_DICT,
            12.. => MANAGED_DICT | MANAGED_WEAKREF,
            _ => 0,
        };
        if flags & preheader != 0 {
            extra += PREHEADER;
        }
        Ok(TypeSize {
            size_of,
            extra,
            per_object_gc,
            asks_is_gc: minor == 10 || minor >= 13,
        })
    }

    /// The type's own `__sizeof__` this holds a reference to, if any.
    pub fn method(&self) -> Option<Object> {
        match &self.size_of {
            SizeOf::Method(m) => Some(m.as_ptr()),
            SizeOf::Layout => None,
        }
    }

    /// `sys.getsizeof(obj)`, computed the way it does; 0 when the type's `__sizeof__` fails.
    ///
    /// # Safety
    /// `obj` must be a live instance of the type this was made for, and the GIL held.
    pub unsafe fn size(&self, obj: Object) -> u64 {
        // SAFETY: `obj` is live and the GIL held; the type's fields are read-only here.
        unsafe {
            let tp = ffi::Py_TYPE(obj);
            let base = match &self.size_of {
                SizeOf::Layout => {
                    let item = (*tp).tp_itemsize;
                    let items = if item > 0 {
                        ffi::Py_SIZE(obj) * item
                    } else {
                        0
                    };
                    ((*tp).tp_basicsize + items).max(0) as u64
                }
                SizeOf::Method(method) => {
                    let result = ffi::PyObject_CallOneArg(method.as_ptr(), obj);
                    if result.is_null() {
                        ffi::PyErr_Clear();
                        return 0;
                    }
                    let n = ffi::PyLong_AsSsize_t(result);
                    ffi::Py_DECREF(result);
                    if n < 0 {
                        ffi::PyErr_Clear();
                        return 0;
                    }
                    n as u64
                }
            };
            let gc_head = if self.per_object_gc && self.asks_is_gc && !is_gc(obj) {
                0
            } else {
                self.extra
            };
            base + gc_head
        }
    }
}
