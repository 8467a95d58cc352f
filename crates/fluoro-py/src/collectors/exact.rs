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

#[path = "exact_hook.rs"]
mod hook;

use fluoro_profile::{ExactEdge, ExactFunction, ExactStats};
use hook::{ticks, CFunctionParts, GilCell};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyModule, PyString, PyTuple};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

/// Installs the hook on every thread, present and future.
pub fn start(py: Python<'_>) -> PyResult<()> {
    if is_active(py) {
        return Err(PyRuntimeError::new_err("exact mode is already running"));
    }
    let overhead_ticks = calibrate(py);
    let mut tracer = Tracer::new(overhead_ticks);
    let mechanism = Mechanism::choose(py);
    // Set up everything that runs Python code before the hook can see it.
    let installed = match mechanism {
        Mechanism::Profile => {
            let threading = py.import("threading")?;
            let previous = threading.call_method0("getprofile")?.unbind();
            threading.call_method1("setprofile", (hook::thread_bootstrap_callable(py)?,))?;
            Installed::Profile { previous }
        }
        Mechanism::Monitoring => install_monitoring(py)?,
    };
    tracer.installed = Some(installed);
    tracer.started = (Instant::now(), ticks());
    TRACER
        .with(py, |t| *t = Some(tracer))
        .ok_or_else(|| PyRuntimeError::new_err("exact mode is busy"))?;
    match mechanism {
        Mechanism::Profile => {
            hook::set_profile_all(py, true);
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
            hook::set_profile_all(py, false);
            Ok(())
        }
        Installed::Monitoring { tool } => uninstall_monitoring(py, *tool),
    };
    let now = ticks();
    let mut tracer = TRACER
        .with(py, Option::take)
        .flatten()
        .ok_or_else(|| PyRuntimeError::new_err("exact mode is not running"))?;
    if let Installed::Profile { previous } = &installed {
        py.import("threading")?
            .call_method1("setprofile", (previous.bind(py),))?;
    }
    undone?;
    tracer.flush(now);
    tracer.into_stats(py)
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

/// What `stop` must undo.
enum Installed {
    Profile { previous: Py<PyAny> },
    Monitoring { tool: u8 },
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
    let callbacks = hook::monitoring_callbacks(py, &mon.getattr("MISSING")?)?;
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

/// The session's state; `None` when exact mode is off.
static TRACER: GilCell<Option<Tracer>> = GilCell::new(None);

/// Whether a session is running (for the thread bootstrap).
fn is_active(py: Python<'_>) -> bool {
    TRACER.with(py, |t| t.is_some()).unwrap_or(false)
}

/// A function's entry into the table: its code object, or a C function's label.
enum Callee {
    Code(Py<PyAny>),
    Builtin(String),
}

/// Calls, recursive calls, own and cumulative time (ticks): one function's or one edge's.
#[derive(Default, Clone, Copy)]
struct Figures {
    calls: u64,
    recursive: u64,
    tottime: u64,
    cumtime: u64,
}

impl Figures {
    #[inline(always)]
    fn add(&mut self, total: u64, own: u64, outermost: bool) {
        self.calls = self.calls.wrapping_add(1);
        if outermost {
            self.cumtime = self.cumtime.wrapping_add(total);
        } else {
            self.recursive = self.recursive.wrapping_add(1);
        }
        self.tottime = self.tottime.wrapping_add(own);
    }
}

struct Function {
    callee: Callee,
    /// The `ml_name` address of a C function (0 for code), checked on every hit.
    check: usize,
    figures: Figures,
}

struct Edge {
    caller: u32,
    callee: u32,
    figures: Figures,
}

const NO_EDGE: u32 = u32::MAX;

/// A running call on a thread's stack.
struct Entry {
    func: u32,
    edge: u32,
    /// The address the call was entered with (code object or method definition).
    key: usize,
    t0: u64,
    /// Cumulative time of the calls it made, already corrected.
    child: u64,
    /// Calls completed inside it, at any depth (two hook events each).
    inner: u64,
}

#[derive(Default)]
struct ThreadStack {
    entries: Vec<Entry>,
    /// How many calls of each function are running on this thread.
    depth: Vec<u32>,
    /// The same per edge.
    edge_depth: Vec<u32>,
}

/// A multiply-fold hash for addresses and index pairs: one multiplication per lookup.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    #[inline(always)]
    fn write_u64(&mut self, n: u64) {
        let m = u128::from(n ^ self.0) * 0x9e37_79b9_7f4a_7c15;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }
    #[inline(always)]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

type AddrMap<K> = HashMap<K, u32, BuildHasherDefault<AddrHasher>>;

struct Tracer {
    functions: Vec<Function>,
    by_key: AddrMap<usize>,
    /// `key → function`, direct-mapped, in front of `by_key` (an empty slot never matches:
    /// no code object or method definition lives at address 0).
    function_cache: Box<[(usize, u32)]>,
    edges: Vec<Edge>,
    by_pair: AddrMap<u64>,
    /// `pair(caller, callee) → edge`, direct-mapped, in front of `by_pair` (empty slots
    /// hold a pair of two missing functions, which no call makes).
    edge_cache: Box<[(u64, u32)]>,
    threads: Vec<ThreadStack>,
    /// Thread id → its stack index, and the last thread seen (most events come from the
    /// thread that caused the previous one).
    by_thread: AddrMap<usize>,
    last_thread: (usize, usize),
    overhead_ticks: u64,
    installed: Option<Installed>,
    /// Wall clock and tick count at start, to convert ticks to nanoseconds.
    started: (Instant, u64),
}

#[inline(always)]
fn pair(caller: u32, callee: u32) -> u64 {
    (u64::from(caller) << 32) | u64::from(callee)
}

/// One more running call of `i`.
#[inline(always)]
fn raise(depths: &mut Vec<u32>, i: u32) {
    let i = i as usize;
    if i >= depths.len() {
        depths.resize(i + 1, 0);
    }
    if let Some(d) = depths.get_mut(i) {
        *d = d.saturating_add(1);
    }
}

/// One fewer running call of `i`; whether none is left (the call was the outermost).
#[inline(always)]
fn lower(depths: &mut [u32], i: u32) -> bool {
    match depths.get_mut(i as usize) {
        Some(d) => {
            *d = d.saturating_sub(1);
            *d == 0
        }
        None => true,
    }
}

impl Tracer {
    fn new(overhead_ticks: u64) -> Self {
        Self {
            functions: Vec::new(),
            by_key: AddrMap::default(),
            function_cache: vec![(0, 0); CACHE_SLOTS].into_boxed_slice(),
            edges: Vec::new(),
            by_pair: AddrMap::default(),
            edge_cache: vec![(u64::MAX, NO_EDGE); CACHE_SLOTS].into_boxed_slice(),
            threads: Vec::new(),
            by_thread: AddrMap::default(),
            last_thread: (0, 0),
            overhead_ticks,
            installed: None,
            started: (Instant::now(), ticks()),
        }
    }

    /// The calling thread's stack index, made on its first event in this session.
    ///
    /// Threads are told apart by [`hook::thread_id`]; a thread that starts where an ended
    /// one was gets its stack, which the ended thread left empty (every call it entered
    /// returned or unwound before it ended).
    #[inline(always)]
    fn thread(&mut self) -> Option<usize> {
        let id = hook::thread_id();
        if id == self.last_thread.0 {
            return Some(self.last_thread.1);
        }
        let index = match self.by_thread.get(&id) {
            Some(&i) => i as usize,
            None => {
                self.threads.push(ThreadStack::default());
                let i = self.threads.len() - 1;
                self.by_thread.insert(id, i as u32);
                i
            }
        };
        self.last_thread = (id, index);
        Some(index)
    }

    /// Enters the function known under `key`; false if it is not known yet.
    #[inline(always)]
    fn enter_known(&mut self, key: usize, check: usize) -> bool {
        let slot = cache_slot(key as u64);
        let f = match self.function_cache.get(slot) {
            Some(&(k, f)) if k == key => f,
            _ => match self.by_key.get(&key) {
                Some(&f) => {
                    if let Some(c) = self.function_cache.get_mut(slot) {
                        *c = (key, f);
                    }
                    f
                }
                None => return false,
            },
        };
        if self
            .functions
            .get(f as usize)
            .is_none_or(|x| x.check != check)
        {
            return false;
        }
        self.push(f, key);
        true
    }

    /// Adds a function; returns its index and the callee if it was not needed (to be
    /// dropped by the caller outside the borrow).
    fn intern(&mut self, key: usize, check: usize, callee: Callee) -> (u32, Option<Callee>) {
        if let Some(&f) = self.by_key.get(&key) {
            if self
                .functions
                .get(f as usize)
                .is_some_and(|x| x.check == check)
            {
                return (f, Some(callee));
            }
        }
        let f = self.functions.len() as u32;
        self.functions.push(Function {
            callee,
            check,
            figures: Figures::default(),
        });
        self.by_key.insert(key, f);
        if let Some(c) = self.function_cache.get_mut(cache_slot(key as u64)) {
            *c = (key, f);
        }
        (f, None)
    }

    #[inline(always)]
    fn push(&mut self, func: u32, key: usize) {
        let Some(t) = self.thread() else { return };
        let Tracer {
            edges,
            by_pair,
            edge_cache,
            threads,
            ..
        } = self;
        let Some(stack) = threads.get_mut(t) else {
            return;
        };
        let edge = match stack.entries.last() {
            Some(parent) => edge_between(edges, by_pair, edge_cache, parent.func, func),
            None => NO_EDGE,
        };
        raise(&mut stack.depth, func);
        if edge != NO_EDGE {
            raise(&mut stack.edge_depth, edge);
        }
        stack.entries.push(Entry {
            func,
            edge,
            key,
            t0: 0,
            child: 0,
            inner: 0,
        });
        if let Some(e) = stack.entries.last_mut() {
            e.t0 = ticks();
        }
    }

    #[inline(always)]
    fn pop(&mut self, key: usize, now: u64) {
        if let Some(t) = self.thread() {
            self.pop_on(t, key, now);
        }
    }

    /// Ends the innermost call of thread `t` at `now`, by cProfile's rules: a return of the
    /// running function closes its call; an unmatched return (possible only around the
    /// session's edges) still closes the innermost call, counted to the returning function
    /// if it is known and dropped if not.
    #[inline(always)]
    fn pop_on(&mut self, t: usize, key: usize, now: u64) {
        let overhead = self.overhead_ticks;
        let Tracer {
            functions,
            edges,
            by_key,
            by_pair,
            threads,
            ..
        } = self;
        let Some(stack) = threads.get_mut(t) else {
            return;
        };
        let Some(entry) = stack.entries.pop() else {
            return;
        };
        let (func, edge) = if entry.key == key {
            (entry.func, entry.edge)
        } else {
            let Some(&f) = by_key.get(&key) else { return };
            let edge = stack
                .entries
                .last()
                .and_then(|p| by_pair.get(&pair(p.func, f)).copied())
                .unwrap_or(NO_EDGE);
            (f, edge)
        };
        let hooks = overhead.saturating_mul(2).saturating_mul(entry.inner);
        let total = now.saturating_sub(entry.t0).saturating_sub(hooks);
        let own = total.saturating_sub(entry.child);
        if let Some(parent) = stack.entries.last_mut() {
            parent.child = parent.child.saturating_add(total);
            parent.inner = parent.inner.saturating_add(entry.inner.saturating_add(1));
        }
        let outermost = lower(&mut stack.depth, func);
        if let Some(f) = functions.get_mut(func as usize) {
            f.figures.add(total, own, outermost);
        }
        if edge != NO_EDGE {
            let outermost = lower(&mut stack.edge_depth, edge);
            if let Some(e) = edges.get_mut(edge as usize) {
                e.figures.add(total, own, outermost);
            }
        }
    }

    /// Closes every call still running, on every thread, at `now` (as cProfile does when
    /// disabled: the calls that were running count, with their time so far).
    fn flush(&mut self, now: u64) {
        for t in 0..self.threads.len() {
            while let Some(key) = self
                .threads
                .get(t)
                .and_then(|s| s.entries.last())
                .map(|e| e.key)
            {
                self.pop_on(t, key, now);
            }
        }
    }

    fn into_stats(self, py: Python<'_>) -> PyResult<ExactStats> {
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

        let mut functions = Vec::with_capacity(self.functions.len());
        for f in &self.functions {
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
        for e in &self.edges {
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
            overhead_ns_per_event: self.overhead_ticks as f64 * ns_per_tick,
        })
    }
}

/// Entries of the direct-mapped caches in front of the function and edge maps.
const CACHE_SLOTS: usize = 1 << CACHE_BITS;
const CACHE_BITS: u32 = 10;

/// The cache slot of an address or an index pair (multiplicative hashing, top bits).
#[inline(always)]
fn cache_slot(key: u64) -> usize {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - CACHE_BITS)) as usize
}

/// The edge `caller → callee`, made on first sight.
#[inline(always)]
fn edge_between(
    edges: &mut Vec<Edge>,
    by_pair: &mut AddrMap<u64>,
    cache: &mut [(u64, u32)],
    caller: u32,
    callee: u32,
) -> u32 {
    let key = pair(caller, callee);
    let slot = cache_slot(key);
    if let Some(&(k, e)) = cache.get(slot) {
        if k == key {
            return e;
        }
    }
    let edge = match by_pair.get(&key) {
        Some(&e) => e,
        None => {
            edges.push(Edge {
                caller,
                callee,
                figures: Figures::default(),
            });
            let e = (edges.len() - 1) as u32;
            by_pair.insert(key, e);
            e
        }
    };
    if let Some(c) = cache.get_mut(slot) {
        *c = (key, edge);
    }
    edge
}

/// A call event: `key` is the code object's or method definition's address, `check` the
/// method's `ml_name` address (0 for code); `resolve` names a function seen for the first
/// time and may call into Python, so it runs outside the state's borrow.
#[inline(always)]
fn enter(py: Python<'_>, key: usize, check: usize, resolve: impl FnOnce() -> Callee) {
    let known = TRACER.with(py, |t| match t {
        Some(t) => t.enter_known(key, check),
        None => true,
    });
    if known != Some(false) {
        return;
    }
    let callee = resolve();
    let spare = TRACER.with(py, |t| match t {
        Some(t) => {
            let (f, spare) = t.intern(key, check, callee);
            t.push(f, key);
            spare
        }
        None => Some(callee),
    });
    drop(spare);
}

/// A return event of the function entered under `key`.
#[inline(always)]
fn leave(py: Python<'_>, key: usize) {
    let now = ticks();
    TRACER.with(py, |t| {
        if let Some(t) = t {
            t.pop(key, now);
        }
    });
}

/// A C function's pstats label, as cProfile names it: `<len>`-style for a function of no
/// object, `<module.name>` outside builtins; for a bound one, the repr of what its object's
/// type resolves the name to (`<method 'append' of 'list' objects>`), falling back to
/// `<built-in method module.name>` (`len`, bound to the builtins module, ends there).
fn builtin_label(py: Python<'_>, parts: &CFunctionParts<'_>) -> Callee {
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
fn calibrate(py: Python<'_>) -> u64 {
    const ROUNDS: u64 = 20_000;
    let mut scratch = Tracer::new(0);
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
