//! Objects taken again from the interpreter's free lists (3.13+). A tuple, dict, list or float
//! freed into a free list keeps its block, so the allocator never sees it made again, and its
//! allocation site would stay that of its first life. CPython 3.13's reference tracer is told
//! of every object the interpreter makes: one made in a recorded block that is not the block
//! just allocated was taken from a free list, and the block moves to the stack making it (a
//! RETAG record, or the held block's stack when it is still held). Older versions have no
//! such hook; their reports say so.
//!
//! The tracer also sees every object's destruction. Sampling, either costs the interpreter's
//! call and a few instructions (a compare, and two loads of the live set's filter for a new
//! object); the block of a new object is looked up only when the filter says it may be held.

// Before 3.13 only `install` and `uninstall` are reached, and do nothing.
#![cfg_attr(not(Py_3_13), allow(dead_code, unused_imports))]

use super::capture::{capture, push_stack_record, RingSink};
use super::held::Held;
use super::record::RETAG;
use super::sampled::adopt_orphans;
use super::state::*;
use crate::collectors::alloc::live;
use pyo3::ffi::PyObject;
use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};

type Tracer = Option<unsafe extern "C" fn(*mut PyObject, c_int, *mut c_void) -> c_int>;

#[cfg(Py_3_13)]
extern "C" {
    fn PyRefTracer_SetTracer(tracer: Tracer, data: *mut c_void) -> c_int;
    fn PyRefTracer_GetTracer(data: *mut *mut c_void) -> Tracer;
}

/// `PyRefTracer_CREATE`.
const CREATE: c_int = 0;
/// `Py_TPFLAGS_HAVE_GC`, and the managed dict and weakref flags (3.12+) whose pointers sit
/// before the object (`_PyType_PreHeaderSize`, 3.13).
const HAVE_GC: u64 = 1 << 14;
const PREHEADER: u64 = (1 << 3) | (1 << 4);

/// The tracer that was installed before ours, and its data, called after ours.
static PREVIOUS: AtomicUsize = AtomicUsize::new(0);
static PREVIOUS_DATA: AtomicUsize = AtomicUsize::new(0);
/// Which of our tracers `install` chose.
static INSTALLED: AtomicUsize = AtomicUsize::new(0);

type OurTracer = unsafe extern "C" fn(*mut PyObject, c_int, *mut c_void) -> c_int;

/// Installs the tracer (GIL held); false where the interpreter has none. `all`: every block
/// is recorded, not a sample.
///
/// One of three: after another tracer, ours then it; recording every block, the block of
/// every new object looked up; sampling, only a new object whose block the filter may hold.
pub(super) fn install(all: bool) -> bool {
    #[cfg(Py_3_13)]
    {
        let mut data: *mut c_void = std::ptr::null_mut();
        // SAFETY: the GIL is held; the API only reads and writes the runtime's tracer slot.
        let previous = unsafe { PyRefTracer_GetTracer(&mut data) };
        PREVIOUS.store(previous.map_or(0, |f| f as usize), Ordering::Relaxed);
        PREVIOUS_DATA.store(data as usize, Ordering::Relaxed);
        let ours: OurTracer = match (previous.is_some(), all) {
            (true, _) => with_previous,
            (false, true) => on_object_all,
            (false, false) => on_object_sampled,
        };
        INSTALLED.store(ours as usize, Ordering::Relaxed);
        // SAFETY: as above; our tracers are plain functions that live as long as the process.
        unsafe { PyRefTracer_SetTracer(Some(ours), std::ptr::null_mut()) == 0 }
    }
    #[cfg(not(Py_3_13))]
    {
        let _ = all;
        false
    }
}

/// Puts the tracer that was there before back (GIL held), if ours is still the one installed.
pub(super) fn uninstall() {
    #[cfg(Py_3_13)]
    {
        let mut data: *mut c_void = std::ptr::null_mut();
        // SAFETY: the GIL is held; see `install`.
        let current = unsafe { PyRefTracer_GetTracer(&mut data) };
        if current.map(|f| f as usize) != Some(INSTALLED.load(Ordering::Relaxed)) {
            return;
        }
        let previous = PREVIOUS.swap(0, Ordering::Relaxed);
        let data = PREVIOUS_DATA.swap(0, Ordering::Relaxed) as *mut c_void;
        // SAFETY: `previous` is 0 or the tracer function that was installed before ours, saved
        // by `install`, with its own data.
        let previous: Tracer = unsafe { std::mem::transmute::<usize, Tracer>(previous) };
        // SAFETY: as in `install`.
        unsafe { PyRefTracer_SetTracer(previous, data) };
    }
}

/// Sampling: the interpreter made (`event` 0) or is destroying (1) `op`; called holding the
/// GIL, for every object. The common path is two compares and two loads of the filter, with
/// no stack frame and no load through `op`: the blocks `op` may start at are all in three
/// adjacent buckets of the filter, tested at once before the type says which one it is.
unsafe extern "C" fn on_object_sampled(op: *mut PyObject, event: c_int, _: *mut c_void) -> c_int {
    if event != CREATE || !live::may_contain_at_or_below(op as u64) {
        return 0;
    }
    // SAFETY: the interpreter passes a live object it has just made.
    unsafe { maybe_recorded(op) }
}

/// Recording every block: as [`on_object_sampled`], for every new object.
unsafe extern "C" fn on_object_all(op: *mut PyObject, event: c_int, _: *mut c_void) -> c_int {
    if event != CREATE {
        return 0;
    }
    // SAFETY: the interpreter passes a live object it has just made.
    unsafe { created(op) }
}

/// [`created`] out of line, for the sampling tracer's rare new object whose block the filter
/// may hold.
///
/// # Safety
/// As for [`created`].
#[cold]
#[inline(never)]
unsafe extern "C" fn maybe_recorded(op: *mut PyObject) -> c_int {
    // SAFETY: as the caller's.
    unsafe { created(op) }
}

/// `op` was just made: moves its block to the calling stack if the block is a recorded one
/// taken again from a free list. Returns the tracer's 0.
///
/// # Safety
/// `op` must be an object just made, and the GIL held.
#[inline(always)]
unsafe fn created(op: *mut PyObject) -> c_int {
    // SAFETY: as the caller's.
    if let Some((block, all)) = unsafe { recycled(op) } {
        // Last, so that it is a jump and the fast path keeps no frame.
        return retag_if_recorded(block, all);
    }
    0
}

/// The tracer when another was installed before ours: ours, then the other, called as the
/// interpreter would have called it.
///
/// # Safety
/// As for a tracer: the GIL held, `op` what the interpreter passed.
unsafe extern "C" fn with_previous(op: *mut PyObject, event: c_int, _data: *mut c_void) -> c_int {
    if event == CREATE {
        // SAFETY: the interpreter passes a live object it has just made.
        unsafe { created(op) };
    }
    let previous = PREVIOUS.load(Ordering::Relaxed);
    // SAFETY: a non-zero `PREVIOUS` is the tracer installed before ours (see `install`).
    let previous: Tracer = unsafe { std::mem::transmute::<usize, Tracer>(previous) };
    let data = PREVIOUS_DATA.load(Ordering::Relaxed) as *mut c_void;
    match previous {
        // SAFETY: called as the interpreter would have called it, with its own data.
        Some(f) => unsafe { f(op, event, data) },
        None => 0,
    }
}

/// A new object whose block may be a recorded one taken again from a free list: the block,
/// and whether every block is recorded (`--memory=all`). A block just allocated is not one.
///
/// # Safety
/// `op` must be a live object and the GIL held.
#[inline(always)]
unsafe fn recycled(op: *mut PyObject) -> Option<(u64, bool)> {
    let mode = MODE.load(Ordering::Relaxed);
    if mode != SAMPLED && mode != ALL_MODE {
        return None;
    }
    // SAFETY: a live object's type is live; its flags say what sits before the object.
    let flags = unsafe { (*(*op).ob_type).tp_flags };
    let before =
        if flags & HAVE_GC != 0 { 16 } else { 0 } + if flags & PREHEADER != 0 { 16 } else { 0 };
    let block = (op as u64).wrapping_sub(before);
    if block == LAST_BLOCK.load(Ordering::Relaxed) {
        LAST_BLOCK.store(0, Ordering::Relaxed);
        return None;
    }
    let all = mode == ALL_MODE;
    (all || live::may_contain(block)).then_some((block, all))
}

/// Moves `block` to the calling stack if it is recorded: always with `all`, else when the
/// live set holds it (the filter said it may). Returns the tracer's 0.
#[cold]
#[inline(never)]
fn retag_if_recorded(block: u64, all: bool) -> c_int {
    if !in_main_interpreter() {
        return 0;
    }
    if all || shared().live.contains(block) {
        retag(block, all);
    }
    0
}

/// Moves the recorded block at `block` to the calling stack (GIL held).
fn retag(block: u64, all: bool) {
    if is_paused() {
        return;
    }
    let s = shared();
    adopt_orphans(s, all);
    let stack = capture(s);
    // The record goes out first, with the stack's frames when the drain does not know them
    // yet: a held block moved to this stack goes out later by the stack's hash alone. (Only a
    // held block of a stack already known was moved before: a stack whose slot in the sent
    // table another kept taking was never known, and its blocks kept their first site.)
    let head = stack.head(RETAG, [block, 0]);
    let pushed = push_stack_record(s, &head, &stack, all);
    if all && pushed && stack.hash != 0 {
        let moved = Held {
            addr: block,
            size: 0,
            hash: stack.hash,
            tstate: stack.tstate,
            ident: stack.ident,
        };
        // A held block never went out, so the record above finds nothing live there; the
        // held block itself moves to this stack.
        // SAFETY: the GIL is held: the held blocks are this thread's alone.
        unsafe { &mut *SCRATCH.blocks.get() }.retag(&moved, &mut RingSink(s));
    }
}
