//! The interpreter side of exact mode: the C callbacks CPython calls on every function call
//! and return, and the calls that install and remove them. Everything here is `unsafe` glue;
//! the bookkeeping they feed is plain Rust in [`super::tracer`], reached through
//! [`super::session`].
//!
//! Two mechanisms, one bookkeeping:
//! - `PyEval_SetProfile` (3.10, 3.11; on 3.12+ on request): a `Py_tracefunc` per thread.
//! - `sys.monitoring` (3.12+): vectorcall callbacks, interpreter-wide, so every thread is
//!   covered without per-thread installation, and no frame object is materialised per call.

use super::session::{builtin_label, enter, is_active, leave, CFunctionParts, Callee};
use pyo3::ffi;
use pyo3::prelude::*;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::OnceLock;

/// A `PyMethodDef`'s address (the key cProfile uses for C functions) and its `ml_name`'s
/// address (checked on every hit, so a method table freed and reused is not mistaken for the
/// function first seen there).
#[derive(Clone, Copy)]
struct MethodKey {
    def: usize,
    name: usize,
}

/// # Safety
/// `def` is a live `PyMethodDef`.
#[inline(always)]
unsafe fn method_key(def: *mut ffi::PyMethodDef) -> MethodKey {
    MethodKey {
        def: def as usize,
        // SAFETY: per this function's contract.
        name: unsafe { (*def).ml_name } as usize,
    }
}

/// # Safety
/// `def` is a live `PyMethodDef`; `bound_to`/`module` are null or live objects; GIL held.
unsafe fn method_parts<'py>(
    py: Python<'py>,
    def: *mut ffi::PyMethodDef,
    bound_to: *mut ffi::PyObject,
    module: *mut ffi::PyObject,
) -> CFunctionParts<'py> {
    // SAFETY: `ml_name` of a live method definition is a NUL-terminated static string.
    let name = unsafe {
        let raw = (*def).ml_name;
        if raw.is_null() {
            String::new()
        } else {
            CStr::from_ptr(raw).to_string_lossy().into_owned()
        }
    };
    // SAFETY: both are null or live objects (contract); we take our own references.
    let bound = |p: *mut ffi::PyObject| unsafe { Bound::from_borrowed_ptr_or_opt(py, p) };
    CFunctionParts {
        name,
        bound_to: bound(bound_to),
        module: bound(module),
    }
}

/// Whether `op` is a built-in function or method (`PyCFunction_Check`).
///
/// # Safety
/// `op` is a live object.
#[inline(always)]
unsafe fn is_cfunction(op: *mut ffi::PyObject) -> bool {
    // SAFETY: `op` is live (contract), so its type is readable.
    unsafe { ffi::PyCFunction_Check(op) != 0 }
}

/// Enters a C function given as a `PyCFunctionObject`.
///
/// # Safety
/// `func` is a live `PyCFunctionObject`; GIL held.
#[inline(always)]
unsafe fn enter_cfunction(py: Python<'_>, func: *mut ffi::PyObject) {
    let f = func as *mut ffi::PyCFunctionObject;
    // SAFETY: a live PyCFunctionObject has a live method definition.
    let (def, key) = unsafe { ((*f).m_ml, method_key((*f).m_ml)) };
    enter(py, key.def, key.name, || {
        // SAFETY: `func` is still live: the caller is inside the call it is reporting.
        let parts = unsafe { method_parts(py, def, (*f).m_self, (*f).m_module) };
        builtin_label(py, &parts)
    });
}

/// The code object a frame runs; borrowed (the frame holds its own reference).
///
/// # Safety
/// `frame` is a live frame object; GIL held.
#[inline(always)]
unsafe fn frame_code(frame: *mut ffi::PyFrameObject) -> *mut ffi::PyObject {
    if frame.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: PyFrame_GetCode returns a new reference to the frame's code; the frame keeps
    // its own reference for as long as it runs, so dropping ours leaves the pointer valid for
    // the duration of this event.
    unsafe {
        let code = ffi::PyFrame_GetCode(frame) as *mut ffi::PyObject;
        if !code.is_null() {
            ffi::Py_DECREF(code);
        }
        code
    }
}

/// # Safety
/// `code` is a live code object; GIL held.
#[inline(always)]
unsafe fn enter_code(py: Python<'_>, code: *mut ffi::PyObject) {
    enter(py, code as usize, 0, || {
        // SAFETY: `code` is live (contract); we take a strong reference so that its address
        // cannot be reused by another code object while the session lasts.
        Callee::Code(unsafe { Bound::from_borrowed_ptr(py, code) }.unbind())
    });
}

/// The `Py_tracefunc` of the `PyEval_SetProfile` mechanism.
extern "C" fn profile_hook(
    _obj: *mut ffi::PyObject,
    frame: *mut ffi::PyFrameObject,
    what: c_int,
    arg: *mut ffi::PyObject,
) -> c_int {
    // SAFETY: CPython calls a thread's profile function only from that thread, holding the
    // GIL, with a live frame and (for C events) the live callable as `arg`.
    unsafe {
        let py = Python::assume_attached();
        match what {
            ffi::PyTrace_CALL => {
                let code = frame_code(frame);
                if !code.is_null() {
                    enter_code(py, code);
                }
            }
            ffi::PyTrace_RETURN => {
                let code = frame_code(frame);
                if !code.is_null() {
                    leave(py, code as usize);
                }
            }
            ffi::PyTrace_C_CALL if !arg.is_null() && is_cfunction(arg) => {
                enter_cfunction(py, arg);
            }
            ffi::PyTrace_C_RETURN | ffi::PyTrace_C_EXCEPTION
                if !arg.is_null() && is_cfunction(arg) =>
            {
                let f = arg as *mut ffi::PyCFunctionObject;
                leave(py, (*f).m_ml as usize);
            }
            _ => {}
        }
    }
    0
}

/// `_PyEval_SetProfile(tstate, func, arg)`: exported by every CPython 3.10-3.13 but not
/// declared by pyo3-ffi for all of them, so looked up at run time.
type SetProfileFor = unsafe extern "C" fn(
    *mut ffi::PyThreadState,
    Option<ffi::Py_tracefunc>,
    *mut ffi::PyObject,
) -> c_int;

extern "C" {
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
}

fn set_profile_for() -> Option<SetProfileFor> {
    static FOUND: OnceLock<usize> = OnceLock::new();
    let addr = *FOUND.get_or_init(|| {
        // SAFETY: dlsym with RTLD_DEFAULT (null on glibc and musl) searches the loaded
        // objects, the interpreter among them; the name is a NUL-terminated literal.
        unsafe { dlsym(ptr::null_mut(), c"_PyEval_SetProfile".as_ptr()) as usize }
    });
    if addr == 0 {
        return None;
    }
    // SAFETY: the symbol has this signature in CPython 3.10-3.13 (Include/cpython/ceval.h,
    // Include/internal/pycore_ceval.h).
    Some(unsafe { std::mem::transmute::<usize, SetProfileFor>(addr) })
}

/// Installs (or with `on == false` removes) the profile hook on every thread of the
/// interpreter. Returns whether threads other than the current one were reached.
pub(super) fn set_profile_all(_py: Python<'_>, on: bool) -> bool {
    let func: Option<ffi::Py_tracefunc> = if on { Some(profile_hook) } else { None };
    let Some(set_for) = set_profile_for() else {
        // SAFETY: GIL held (token); sets the current thread's profile function.
        unsafe { ffi::PyEval_SetProfile(func, ptr::null_mut()) };
        return false;
    };
    // SAFETY: we hold the GIL, so the interpreter's thread list cannot change under us (new
    // thread states are linked and dead ones unlinked by threads holding the GIL), and every
    // listed thread state is live. Setting another thread's profile function while it waits
    // for the GIL is what 3.12's PyEval_SetProfileAllThreads does.
    unsafe {
        let interp = ffi::PyInterpreterState_Get();
        let mut ts = ffi::PyInterpreterState_ThreadHead(interp);
        while !ts.is_null() {
            if set_for(ts, func, ptr::null_mut()) < 0 {
                ffi::PyErr_Clear();
            }
            ts = ffi::PyThreadState_Next(ts);
        }
    }
    true
}

/// Installs the hook on the calling thread only.
fn set_profile_current(_py: Python<'_>) {
    // SAFETY: GIL held (token); sets the calling thread's profile function.
    unsafe { ffi::PyEval_SetProfile(Some(profile_hook), ptr::null_mut()) };
}

/// The callable given to `threading.setprofile`: the first event of a new thread lands here
/// (through CPython's Python-level profile trampoline); it swaps in the C hook for that
/// thread and records the event, so a thread costs one slow event, then none.
unsafe extern "C" fn thread_bootstrap(
    _slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: called by the profile trampoline holding the GIL, with `nargs` live arguments
    // (frame, event, arg). The trampoline borrows this callable from the thread state; the
    // callable is also kept alive by THREAD_BOOTSTRAP for the whole process, so replacing the
    // thread's profile object below cannot free it mid-call.
    unsafe {
        let py = Python::assume_attached();
        if is_active(py) {
            set_profile_current(py);
            if nargs >= 2 {
                let frame = *args;
                let event = Bound::from_borrowed_ptr_or_opt(py, *args.add(1));
                if !frame.is_null()
                    && ffi::PyFrame_Check(frame) != 0
                    && event.is_some_and(|e| e.extract::<&str>().is_ok_and(|e| e == "call"))
                {
                    profile_hook(
                        ptr::null_mut(),
                        frame as *mut ffi::PyFrameObject,
                        ffi::PyTrace_CALL,
                        ptr::null_mut(),
                    );
                }
            }
        } else {
            ffi::PyEval_SetProfile(None, ptr::null_mut());
        }
        none()
    }
}

/// A new reference to `None`, what every callback returns.
#[inline(always)]
fn none() -> *mut ffi::PyObject {
    // SAFETY: None is a live static object; we return a new reference to it.
    unsafe {
        let none = ffi::Py_None();
        ffi::Py_INCREF(none);
        none
    }
}

/// `sys.monitoring.MISSING`, the `arg0` of a call without arguments.
static MISSING: AtomicPtr<ffi::PyObject> = AtomicPtr::new(ptr::null_mut());

/// A C callable of a `CALL`/`C_RETURN`/`C_RAISE` event, as cProfile keys it: a built-in
/// function by its method definition; a method descriptor called on an instance of its type
/// by the descriptor's method definition (what binding it would give); anything else none.
///
/// # Safety
/// `callable` and `arg0` are live objects; GIL held.
#[inline(always)]
unsafe fn c_callee(callable: *mut ffi::PyObject, arg0: *mut ffi::PyObject) -> Option<CCallee> {
    // SAFETY: both are live (contract), so their types and the descriptor's fields are
    // readable; a method descriptor's d_method is a live method definition.
    unsafe {
        let tp = ffi::Py_TYPE(callable);
        if tp == &raw mut ffi::PyFunction_Type {
            return None; // a Python function: its PY_START is the event that counts
        }
        if is_cfunction(callable) {
            return Some(CCallee::Function);
        }
        if tp == &raw mut ffi::PyMethodDescr_Type && arg0 != MISSING.load(Ordering::Relaxed) {
            let descr = callable as *mut ffi::PyMethodDescrObject;
            if ffi::PyObject_TypeCheck(arg0, (*descr).d_common.d_type) != 0 {
                return Some(CCallee::Method((*descr).d_method));
            }
        }
        None
    }
}

enum CCallee {
    Function,
    Method(*mut ffi::PyMethodDef),
}

/// `PY_START`, `PY_RESUME`, `PY_THROW`: (code, offset[, exception]).
unsafe extern "C" fn on_py_start(
    _slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: sys.monitoring calls its callbacks holding the GIL, with `nargs` live
    // arguments, the first being the running code object.
    unsafe {
        if nargs >= 1 {
            enter_code(Python::assume_attached(), *args);
        }
    }
    none()
}

/// `PY_RETURN`, `PY_YIELD`, `PY_UNWIND`: (code, offset, value).
unsafe extern "C" fn on_py_return(
    _slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: as in on_py_start.
    unsafe {
        if nargs >= 1 {
            leave(Python::assume_attached(), *args as usize);
        }
    }
    none()
}

/// `CALL`: (code, offset, callable, arg0).
unsafe extern "C" fn on_call(
    _slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: as in on_py_start; arguments 2 and 3 are the live callable and first argument
    // (or MISSING), alive for the duration of the call being reported.
    unsafe {
        if nargs >= 4 {
            let py = Python::assume_attached();
            let (callable, arg0) = (*args.add(2), *args.add(3));
            match c_callee(callable, arg0) {
                Some(CCallee::Function) => enter_cfunction(py, callable),
                Some(CCallee::Method(def)) => {
                    let key = method_key(def);
                    enter(py, key.def, key.name, || {
                        let parts = method_parts(py, def, arg0, ptr::null_mut());
                        builtin_label(py, &parts)
                    });
                }
                None => {}
            }
        }
    }
    none()
}

/// `C_RETURN`, `C_RAISE`: (code, offset, callable, arg0).
unsafe extern "C" fn on_c_return(
    _slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: as in on_call.
    unsafe {
        if nargs >= 4 {
            let py = Python::assume_attached();
            let (callable, arg0) = (*args.add(2), *args.add(3));
            match c_callee(callable, arg0) {
                Some(CCallee::Function) => {
                    let f = callable as *mut ffi::PyCFunctionObject;
                    leave(py, (*f).m_ml as usize);
                }
                Some(CCallee::Method(def)) => leave(py, def as usize),
                None => {}
            }
        }
    }
    none()
}

type Fast = unsafe extern "C" fn(
    *mut ffi::PyObject,
    *const *mut ffi::PyObject,
    ffi::Py_ssize_t,
) -> *mut ffi::PyObject;

/// A built-in function object calling `meth`, created once per process: its method
/// definition is leaked so that it outlives every reference CPython may keep.
fn builtin(py: Python<'_>, name: &'static CStr, meth: Fast) -> PyResult<Py<PyAny>> {
    let def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            // SAFETY: the same function type up to the constness of `args`, which CPython
            // never writes through for METH_FASTCALL.
            PyCFunctionFast: unsafe { std::mem::transmute::<Fast, ffi::PyCFunctionFast>(meth) },
        },
        ml_flags: ffi::METH_FASTCALL,
        ml_doc: ptr::null(),
    }));
    // SAFETY: `def` is a leaked, hence 'static, method definition; no self, no module.
    unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyCFunction_NewEx(def, ptr::null_mut(), ptr::null_mut()),
        )
    }
    .map(Bound::unbind)
}

static THREAD_BOOTSTRAP: OnceLock<Py<PyAny>> = OnceLock::new();

/// The callable to give `threading.setprofile`.
pub(super) fn thread_bootstrap_callable(py: Python<'_>) -> PyResult<Py<PyAny>> {
    if let Some(f) = THREAD_BOOTSTRAP.get() {
        return Ok(f.clone_ref(py));
    }
    let f = builtin(py, c"fluoro_exact_thread_start", thread_bootstrap)?;
    Ok(THREAD_BOOTSTRAP.get_or_init(|| f).clone_ref(py))
}

/// The four `sys.monitoring` callbacks: start, return, call, C return.
pub(super) struct MonitoringCallbacks {
    pub py_start: Py<PyAny>,
    pub py_return: Py<PyAny>,
    pub call: Py<PyAny>,
    pub c_return: Py<PyAny>,
}

static MONITORING: OnceLock<MonitoringCallbacks> = OnceLock::new();

pub(super) fn monitoring_callbacks(
    py: Python<'_>,
    missing: &Bound<'_, PyAny>,
) -> PyResult<&'static MonitoringCallbacks> {
    // The MISSING singleton lives as long as the sys.monitoring module (the process).
    MISSING.store(missing.as_ptr(), Ordering::Relaxed);
    if let Some(c) = MONITORING.get() {
        return Ok(c);
    }
    let made = MonitoringCallbacks {
        py_start: builtin(py, c"fluoro_exact_py_start", on_py_start)?,
        py_return: builtin(py, c"fluoro_exact_py_return", on_py_return)?,
        call: builtin(py, c"fluoro_exact_call", on_call)?,
        c_return: builtin(py, c"fluoro_exact_c_return", on_c_return)?,
    };
    Ok(MONITORING.get_or_init(|| made))
}
