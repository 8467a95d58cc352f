//! Sampling over pymalloc, the MEM and OBJ wrappers that leave frees alone.
//!
//! Sampling over pymalloc, MEM and OBJ frees need no wrapper. pymalloc hands requests of 0
//! bytes to RAW, and frees through RAW every block outside its arenas (`_PyObject_Malloc`,
//! `_PyObject_Free`, 3.10-3.13). So a small block chosen for the sample is made by asking
//! pymalloc for 0 bytes while [`OUTSIDE_ARENA`] has our RAW wrapper make it of the size asked
//! for: pymalloc counts it as one of its RAW blocks, as it would a large one, and its free
//! reaches our RAW wrapper, which finds it in the live set. Every other free goes to pymalloc
//! untouched: half the calls the hook sees, and the filter probe each of them made.
//!
//! Bytes are counted where pymalloc's requests end up: the MEM and OBJ wrappers count the small
//! requests (1 to 512 bytes), which pymalloc serves from its arenas; the RAW wrapper counts the
//! rest, which pymalloc hands to it holding the GIL, with the same Python stack.

use super::sampled::sample;
use super::state::*;
use crate::collectors::alloc::live;
use pyo3::ffi::PyMemAllocatorEx;
use std::ffi::c_void;
use std::sync::atomic::Ordering;

/// The MEM and OBJ wrappers of sampling over pymalloc; `D` is the domain's index in [`CALLS`].
pub(super) struct DirectFree;

impl DirectFree {
    /// The allocator of domain `D`: our malloc, calloc and realloc around the original, whose
    /// context and free are kept as they are.
    pub(super) fn wrappers<const D: usize>(original: &PyMemAllocatorEx) -> PyMemAllocatorEx {
        PyMemAllocatorEx {
            ctx: original.ctx,
            malloc: Some(direct_malloc::<D>),
            calloc: Some(direct_calloc::<D>),
            realloc: Some(direct_realloc::<D>),
            free: original.free,
        }
    }

    /// Whether MEM and OBJ are pymalloc as this relies on (our RAW wrappers installed, the GIL
    /// held): both domains the same allocator, with no context (not the debug hooks, nor a
    /// tracer), other than RAW's (not `PYTHONMALLOC=malloc`); and, tried once, a block of
    /// OBJ's made by our RAW wrapper comes back to it when OBJ frees it.
    pub(super) fn available(s: &Shared, originals: &[PyMemAllocatorEx; 3], obj: &Calls) -> bool {
        let addr = |f: Option<MallocFn>| f.map(|f| f as usize);
        let [raw, mem, objs] = originals;
        let plain = mem.ctx.is_null()
            && objs.ctx.is_null()
            && addr(mem.malloc) == addr(objs.malloc)
            && mem.free.map(|f| f as usize) == objs.free.map(|f| f as usize)
            && addr(objs.malloc) != addr(raw.malloc);
        if !plain {
            return false;
        }
        let Some(p) = outside_arena(obj, obj.ctx, 64) else {
            return false;
        };
        let kept = s.live.insert(p as u64);
        (obj.free)(obj.ctx, p);
        // Our RAW free found it in the set and took it out.
        let came_back = kept && !s.live.remove(p as u64);
        // What the trial left in the ring and the set goes.
        s.ring.drain(&mut Vec::new());
        s.live.clear();
        came_back
    }
}

/// A block of `size` bytes made by RAW for pymalloc's domain `o` (GIL held), so that its free
/// comes back through RAW; none if pymalloc did not hand the request on (it then served one of
/// 0 bytes itself, which is freed again) or RAW failed.
#[inline(never)]
pub(super) fn outside_arena(o: &Calls, ctx: *mut c_void, size: usize) -> Option<*mut c_void> {
    // OUTSIDE_ARENA is the main interpreter's: another interpreter, with a GIL of its own,
    // would hand its size to a RAW call of the main one. Its blocks are not sampled.
    if !in_main_interpreter() {
        return None;
    }
    OUTSIDE_ARENA.store(size, Ordering::Relaxed);
    let p = nested(true, || (o.malloc)(ctx, 0));
    let served = OUTSIDE_ARENA.swap(0, Ordering::Relaxed) == 0;
    if served {
        return (!p.is_null()).then_some(p);
    }
    (o.free)(ctx, p);
    None
}

/// Whether pymalloc serves a request of `size` bytes from its arenas.
#[inline(always)]
pub(super) fn in_arena(size: usize) -> bool {
    size.wrapping_sub(1) < PYMALLOC_MAX
}

pub(super) extern "C" fn direct_malloc<const D: usize>(
    ctx: *mut c_void,
    size: usize,
) -> *mut c_void {
    let o = original_of::<D>();
    if in_arena(size) && budget_crossed(size) {
        return direct_malloc_sampled(o, ctx, size);
    }
    (o.malloc)(ctx, size)
}

pub(super) extern "C" fn direct_calloc<const D: usize>(
    ctx: *mut c_void,
    nelem: usize,
    elsize: usize,
) -> *mut c_void {
    let o = original_of::<D>();
    let size = nelem.saturating_mul(elsize);
    if in_arena(size) && budget_crossed(size) {
        return direct_calloc_sampled(o, ctx, size);
    }
    (o.calloc)(ctx, nelem, elsize)
}

pub(super) extern "C" fn direct_realloc<const D: usize>(
    ctx: *mut c_void,
    ptr: *mut c_void,
    size: usize,
) -> *mut c_void {
    let o = original_of::<D>();
    // A sampled block is outside the arenas: pymalloc resizes it through RAW, whose wrapper
    // records its free and counts the new size.
    if !in_arena(size) || (!ptr.is_null() && live::may_contain(ptr as u64) && is_sample(ptr)) {
        return (o.realloc)(ctx, ptr, size);
    }
    if budget_crossed(size) {
        return direct_realloc_sampled(o, ctx, ptr, size);
    }
    // Counted here: a block outside the arenas that pymalloc resizes through RAW (one made
    // large, or sampled and since resized) is not counted there again.
    nested(true, || (o.realloc)(ctx, ptr, size))
}

/// Whether `ptr`, which the filter says may be sampled, is (GIL held).
#[cold]
#[inline(never)]
pub(super) fn is_sample(ptr: *mut c_void) -> bool {
    shared().live.contains(ptr as u64)
}

/// A small allocation that crossed the budget: made outside the arenas and sampled; made as
/// usual if that fails (the budget stays crossed, so the next one is sampled instead).
#[cold]
#[inline(never)]
pub(super) extern "C" fn direct_malloc_sampled(
    o: &Calls,
    ctx: *mut c_void,
    size: usize,
) -> *mut c_void {
    match outside_arena(o, ctx, size) {
        Some(p) => {
            sample(p as u64, size as u64);
            p
        }
        None => (o.malloc)(ctx, size),
    }
}

#[cold]
#[inline(never)]
pub(super) extern "C" fn direct_calloc_sampled(
    o: &Calls,
    ctx: *mut c_void,
    size: usize,
) -> *mut c_void {
    match outside_arena(o, ctx, size) {
        Some(p) => {
            // SAFETY: `p` is a fresh block of `size` bytes.
            unsafe { std::ptr::write_bytes(p.cast::<u8>(), 0, size) };
            sample(p as u64, size as u64);
            p
        }
        None => (o.calloc)(ctx, 1, size),
    }
}

/// A small reallocation that crossed the budget: resized as usual, then moved outside the
/// arenas and sampled.
#[cold]
#[inline(never)]
pub(super) extern "C" fn direct_realloc_sampled(
    o: &Calls,
    ctx: *mut c_void,
    ptr: *mut c_void,
    size: usize,
) -> *mut c_void {
    let p = nested(true, || (o.realloc)(ctx, ptr, size));
    if p.is_null() {
        return p;
    }
    let Some(q) = outside_arena(o, ctx, size) else {
        return p;
    };
    // SAFETY: `p` holds `size` bytes (the reallocation succeeded) and `q` is a fresh block of
    // `size` bytes; they are distinct blocks.
    unsafe { std::ptr::copy_nonoverlapping(p.cast::<u8>(), q.cast::<u8>(), size) };
    (o.free)(ctx, p);
    sample(q as u64, size as u64);
    q
}
