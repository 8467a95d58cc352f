//! The RAW domain's wrappers.
//!
//! RAW: called with or without the GIL, from any thread. The context is ignored (see
//! `install`): the original is always `ORIGINALS[0]`.

use super::sampled::{adopt_orphans, free_sampled, record_alloc, sample};
use super::state::*;
use crate::collectors::alloc::live;
use std::ffi::c_void;
use std::sync::atomic::Ordering;

/// What a RAW request of `size` bytes is made with: the size [`OUTSIDE_ARENA`] asks for when
/// this is the request it waits for (empty, by the GIL holder).
#[inline(always)]
pub(super) fn raw_size(size: usize) -> usize {
    if size != 0 {
        return size;
    }
    let wanted = OUTSIDE_ARENA.load(Ordering::Relaxed);
    if wanted != 0 && holds_gil() {
        OUTSIDE_ARENA.store(0, Ordering::Relaxed);
        return wanted;
    }
    0
}

pub(super) fn raw_original() -> &'static Calls {
    original_of::<0>()
}

pub(super) extern "C" fn raw_malloc<const ALL: bool>(
    _ctx: *mut c_void,
    size: usize,
) -> *mut c_void {
    let o = raw_original();
    let size = raw_size(size);
    let p = (o.malloc)(o.ctx, size);
    if !p.is_null() {
        on_raw_alloc::<ALL>(p as u64, size as u64);
    }
    p
}

pub(super) extern "C" fn raw_calloc<const ALL: bool>(
    _ctx: *mut c_void,
    nelem: usize,
    elsize: usize,
) -> *mut c_void {
    let o = raw_original();
    let p = (o.calloc)(o.ctx, nelem, elsize);
    if !p.is_null() {
        on_raw_alloc::<ALL>(p as u64, nelem.saturating_mul(elsize) as u64);
    }
    p
}

pub(super) extern "C" fn raw_realloc<const ALL: bool>(
    _ctx: *mut c_void,
    ptr: *mut c_void,
    size: usize,
) -> *mut c_void {
    let o = raw_original();
    if !ptr.is_null() {
        on_raw_free(ptr as u64);
    }
    let p = (o.realloc)(o.ctx, ptr, size);
    if !p.is_null() {
        on_raw_alloc::<ALL>(p as u64, size as u64);
    }
    p
}

pub(super) extern "C" fn raw_free(_ctx: *mut c_void, ptr: *mut c_void) {
    let o = raw_original();
    if !ptr.is_null() {
        // Before the block is released: see `live::orphan`.
        on_raw_free(ptr as u64);
    }
    (o.free)(o.ctx, ptr);
}

/// Whether the calling thread holds the GIL.
#[inline(always)]
pub(super) fn holds_gil() -> bool {
    // SAFETY: both calls only read the runtime's current thread state pointers (a global or a
    // thread-local, and the thread's TSS slot); nothing is dereferenced.
    unsafe {
        let current = pyo3::ffi::compat::PyThreadState_GetUnchecked();
        !current.is_null()
            && (!HOLDER_IS_GLOBAL.load(Ordering::Relaxed)
                || current == pyo3::ffi::PyGILState_GetThisThreadState())
    }
}

#[inline(always)]
pub(super) fn on_raw_alloc<const ALL: bool>(addr: u64, size: u64) {
    let mode = MODE.load(Ordering::Relaxed);
    if mode != SAMPLED && mode != ALL_MODE {
        return;
    }
    if !holds_gil() {
        // fluoro's own thread taking the GIL to name threads makes its thread state here,
        // before it holds the GIL: fluoro's allocation, not the target's.
        if !is_paused() {
            OUTSIDE_GIL[0].fetch_add(1, Ordering::Relaxed);
            OUTSIDE_GIL[1].fetch_add(size, Ordering::Relaxed);
        }
        return;
    }
    if NESTED.load(Ordering::Relaxed) {
        return;
    }
    if ALL {
        record_alloc(shared(), addr, size, true);
    } else if budget_crossed(size as usize) {
        sample(addr, size);
    }
}

/// A RAW free. Only blocks RAW itself recorded matter (pymalloc's large blocks are recorded
/// and freed as MEM or OBJ blocks); they are in the live set, in both modes.
#[inline(always)]
pub(super) fn on_raw_free(addr: u64) {
    let mode = MODE.load(Ordering::Relaxed);
    if (mode == SAMPLED || mode == ALL_MODE) && live::may_contain(addr) {
        raw_free_slow(addr, mode == ALL_MODE);
    }
}

#[cold]
#[inline(never)]
pub(super) fn raw_free_slow(addr: u64, all: bool) {
    if holds_gil() {
        if !in_main_interpreter() {
            return;
        }
        adopt_orphans(shared(), all);
        free_sampled(addr, all);
    } else if !live::orphan(addr) {
        shared().untracked.fetch_add(1, Ordering::Relaxed);
    }
}
