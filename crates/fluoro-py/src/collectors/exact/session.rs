//! An exact-mode session: the tracer behind the GIL, what names its functions, and the events
//! the interpreter's callbacks ([`super::install`]) feed it.

use super::clock::{thread_id, ticks};
use super::tracer::{Clock, Tracer};
use fluoro_profile::{ExactEdge, ExactFunction, ExactStats};
use pyo3::prelude::*;
use pyo3::types::{PyModule, PyString, PyTuple};
use std::cell::{Cell, UnsafeCell};
use std::time::{Duration, Instant};

/// State shared by the callbacks of every thread, guarded by the GIL.
///
/// CPython calls profile functions and `sys.monitoring` callbacks only from a thread holding
/// the GIL, and `start`/`stop` run holding it too, so at most one thread is ever inside
/// [`GilCell::with`]. The closure passed to `with` must not call into Python (which could
/// release the GIL and let another thread's callback in); `busy` turns a re-entry, should one
/// ever happen, into a skipped event rather than two `&mut` to the same value.
pub struct GilCell<T> {
    value: UnsafeCell<T>,
    busy: Cell<bool>,
}

// SAFETY: every access goes through `with`, which requires a `Python` token (the GIL is held),
// so the value and the `busy` flag are only ever touched by the thread holding the GIL.
unsafe impl<T: Send> Sync for GilCell<T> {}

impl<T> GilCell<T> {
    pub const fn new(value: T) -> Self {
        Self {
            value: UnsafeCell::new(value),
            busy: Cell::new(false),
        }
    }

    /// Runs `f` on the value; `None` if it is already borrowed (a re-entry).
    #[inline(always)]
    pub fn with<R>(&self, _gil: Python<'_>, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        if self.busy.replace(true) {
            return None;
        }
        // SAFETY: the GIL is held (the token proves it) and `busy` was false, so no other
        // reference to the value exists; see the type's comment.
        let out = f(unsafe { &mut *self.value.get() });
        self.busy.set(false);
        Some(out)
    }
}

/// What a C callable names, read from its `PyMethodDef` and bound object.
pub struct CFunctionParts<'py> {
    pub name: String,
    /// `m_self`: the module of a module-level function, the object of a bound method.
    pub bound_to: Option<Bound<'py, PyAny>>,
    /// `m_module`: usually the module's name as a `str`.
    pub module: Option<Bound<'py, PyAny>>,
}

/// The clock of a session: the hook's time-stamp counter and thread pointer.
pub struct HookClock;

impl Clock for HookClock {
    #[inline(always)]
    fn ticks() -> u64 {
        ticks()
    }
    #[inline(always)]
    fn thread_id() -> usize {
        thread_id()
    }
}

pub type SessionTracer = Tracer<Callee, HookClock>;

/// What `stop` must undo.
pub enum Installed {
    Profile { previous: Py<PyAny> },
    Monitoring { tool: u8 },
}

/// A running session.
pub struct Session {
    pub tracer: SessionTracer,
    pub installed: Option<Installed>,
    /// Wall clock and tick count at start, to convert ticks to nanoseconds.
    pub started: (Instant, u64),
}

impl Session {
    pub fn into_stats(self, py: Python<'_>) -> PyResult<ExactStats> {
        let (wall0, ticks0) = self.started;
        let mut elapsed = wall0.elapsed();
        // A short session gives a coarse tick rate: measure it over at least 20 ms.
        let minimum = Duration::from_millis(20);
        while elapsed < minimum {
            std::hint::spin_loop();
            elapsed = wall0.elapsed();
        }
        let ticks_elapsed = ticks().saturating_sub(ticks0).max(1);
        let ns_per_tick = elapsed.as_nanos() as f64 / ticks_elapsed as f64;
        let ns = |t: u64| (t as f64 * ns_per_tick).round() as u64;

        let mut functions = Vec::with_capacity(self.tracer.functions().len());
        for f in self.tracer.functions() {
            let (filename, line, name) = match &f.callee {
                Callee::Code(code) => {
                    let code = code.bind(py);
                    (
                        code.getattr("co_filename")?.extract::<String>()?,
                        code.getattr("co_firstlineno")?.extract::<u32>()?,
                        code.getattr("co_name")?.extract::<String>()?,
                    )
                }
                Callee::Builtin(label) => ("~".to_owned(), 0, label.clone()),
            };
            functions.push(ExactFunction {
                filename,
                line,
                name,
                calls: f.figures.calls,
                prim_calls: f.figures.calls.saturating_sub(f.figures.recursive),
                tottime_ns: ns(f.figures.tottime),
                cumtime_ns: ns(f.figures.cumtime),
                callers: Vec::new(),
            });
        }
        for e in self.tracer.edges() {
            if let Some(callee) = functions.get_mut(e.callee as usize) {
                callee.callers.push(ExactEdge {
                    caller: e.caller,
                    calls: e.figures.calls,
                    prim_calls: e.figures.calls.saturating_sub(e.figures.recursive),
                    tottime_ns: ns(e.figures.tottime),
                    cumtime_ns: ns(e.figures.cumtime),
                });
            }
        }
        Ok(ExactStats {
            functions,
            overhead_ns_per_event: self.tracer.overhead_ticks() as f64 * ns_per_tick,
        })
    }
}

/// The session's state; `None` when exact mode is off.
pub static TRACER: GilCell<Option<Session>> = GilCell::new(None);

/// Whether a session is running (for the thread bootstrap).
pub fn is_active(py: Python<'_>) -> bool {
    TRACER.with(py, |t| t.is_some()).unwrap_or(false)
}

/// A function's entry into the table: its code object, or a C function's label.
pub enum Callee {
    Code(Py<PyAny>),
    Builtin(String),
}

/// A call event: `key` is the code object's or method definition's address, `check` the
/// method's `ml_name` address (0 for code); `resolve` names a function seen for the first
/// time and may call into Python, so it runs outside the state's borrow.
#[inline(always)]
pub fn enter(py: Python<'_>, key: usize, check: usize, resolve: impl FnOnce() -> Callee) {
    let known = TRACER.with(py, |t| match t {
        Some(s) => s.tracer.enter_known(key, check),
        None => true,
    });
    if known != Some(false) {
        return;
    }
    let callee = resolve();
    let spare = TRACER.with(py, |t| match t {
        Some(s) => {
            let (f, spare) = s.tracer.intern(key, check, callee);
            s.tracer.push(f, key);
            spare
        }
        None => Some(callee),
    });
    drop(spare);
}

/// A return event of the function entered under `key`.
#[inline(always)]
pub fn leave(py: Python<'_>, key: usize) {
    let now = ticks();
    TRACER.with(py, |t| {
        if let Some(s) = t {
            s.tracer.pop(key, now);
        }
    });
}

/// A C function's pstats label, as cProfile names it: `<len>`-style for a function of no
/// object, `<module.name>` outside builtins; for a bound one, the repr of what its object's
/// type resolves the name to (`<method 'append' of 'list' objects>`), falling back to
/// `<built-in method module.name>` (`len`, bound to the builtins module, ends there).
pub fn builtin_label(py: Python<'_>, parts: &CFunctionParts<'_>) -> Callee {
    let pending = PyErr::take(py);
    let label = label_of(py, parts);
    if let Some(e) = pending {
        e.restore(py);
    }
    Callee::Builtin(label)
}

fn label_of(py: Python<'_>, parts: &CFunctionParts<'_>) -> String {
    let name = &parts.name;
    let module_str = parts
        .module
        .as_ref()
        .and_then(|m| m.cast::<PyString>().ok())
        .map(|s| s.to_string());
    match &parts.bound_to {
        None => {
            let module = module_str.or_else(|| {
                parts
                    .module
                    .as_ref()
                    .and_then(|m| m.cast::<PyModule>().ok())
                    .and_then(|m| m.name().ok())
                    .map(|n| n.to_string())
            });
            let _ = PyErr::take(py);
            match module {
                Some(m) if m != "builtins" => format!("<{m}.{name}>"),
                _ => format!("<{name}>"),
            }
        }
        Some(object) => {
            let found = type_lookup(object, name).and_then(|a| a.repr().ok());
            let _ = PyErr::take(py);
            match (found, module_str) {
                (Some(repr), _) => repr.to_string(),
                (None, Some(m)) => format!("<built-in method {m}.{name}>"),
                (None, None) => format!("<built-in method {name}>"),
            }
        }
    }
}

/// `name` looked up along the MRO of `object`'s type, without invoking descriptors.
fn type_lookup<'py>(object: &Bound<'py, PyAny>, name: &str) -> Option<Bound<'py, PyAny>> {
    let mro = object.get_type().getattr("__mro__").ok()?;
    let mro = mro.cast::<PyTuple>().ok()?;
    for class in mro.iter() {
        if let Ok(found) = class.getattr("__dict__").and_then(|d| d.get_item(name)) {
            return Some(found);
        }
    }
    None
}

/// Measures the hook's own cost per event: entering and leaving a function on a scratch
/// table, in ticks per event (the clock read included).
pub fn calibrate(py: Python<'_>) -> u64 {
    const ROUNDS: u64 = 20_000;
    let mut scratch = SessionTracer::new(0);
    let (f, _) = scratch.intern(1, 0, Callee::Builtin(String::new()));
    let (g, _) = scratch.intern(2, 0, Callee::Builtin(String::new()));
    scratch.push(f, 1);
    let cell = GilCell::new(scratch);
    let begin = ticks();
    for _ in 0..ROUNDS {
        cell.with(py, |t| {
            if !t.enter_known(2, 0) {
                t.push(g, 2);
            }
        });
        let now = ticks();
        cell.with(py, |t| t.pop(2, now));
    }
    let spent = ticks().saturating_sub(begin);
    spent / (2 * ROUNDS)
}
