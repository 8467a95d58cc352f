//! Installing and removing the wrappers, starting and ending a session, and the records made
//! outside the allocator (collections, snapshot marks).

use super::capture::{capture, push_stack_record};
use super::direct::DirectFree;
use super::raw::{raw_calloc, raw_free, raw_malloc, raw_realloc};
use super::record::*;
use super::retag;
use super::sampled::{adopt_orphans, calloc, free, malloc, realloc, send_held};
use super::state::*;
use crate::collectors::alloc::live;
use crate::cpython::FrameReader;
use pyo3::ffi::PyMemAllocatorEx;
use std::ffi::c_void;
use std::sync::atomic::Ordering;

/// Resets the shared state for a new session.
pub(super) fn begin(s: &Shared, reader: FrameReader, mean_bytes: u64) {
    let _ = s.reader.set(reader);
    // Leftovers of an earlier session (records pushed while it stopped) are dropped.
    let mut scratch = Vec::new();
    s.ring.drain(&mut scratch);
    s.live.clear();
    s.untracked.store(0, Ordering::Relaxed);
    s.ring.lost.store(0, Ordering::Relaxed);
    let mean = mean_bytes as f64;
    s.mean.store(mean.to_bits(), Ordering::Relaxed);
    BUDGET.store(next_exponential(s, mean), Ordering::Relaxed);
    NESTED.store(false, Ordering::Relaxed);
    OUTSIDE_GIL
        .iter()
        .for_each(|c| c.store(0, Ordering::Relaxed));
    live::reset_orphans();
    // SAFETY: the GIL is held and no wrapper is installed: nothing else uses the scratch.
    unsafe {
        (*SCRATCH.sent.get()).fill(0);
        (*SCRATCH.chain.get()).clear();
        (*SCRATCH.blocks.get()).clear();
        // Tasks are looked up once this session's sampler has found them.
        *SCRATCH.tasks.get() = None;
    }
    SCRATCH.thread.set(0);
}

/// Records collections and marks only. Call with the GIL held, while not installed.
pub fn install_events_only(reader: FrameReader) {
    let s = shared_for(false);
    begin(s, reader, 0);
    MODE.store(EVENTS, Ordering::Release);
}

/// In a child made by `fork()`: nothing drains the ring there, and a lock held by a thread that
/// did not survive the fork stays held. The hook stands down: wrappers pass calls through.
pub(super) extern "C" fn after_fork_in_child() {
    MODE.store(OFF, Ordering::Relaxed);
    live::forget_all();
    live::reset_orphans();
}

/// Registers [`after_fork_in_child`], once.
pub(super) fn watch_forks() {
    static WATCHING: std::sync::Once = std::sync::Once::new();
    WATCHING.call_once(|| {
        // SAFETY: registers a plain function; the handler only stores to atomics.
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_in_child));
        }
    });
}

/// Starts recording: every allocation when `mean_bytes` is 0, else a sample by bytes.
/// Call with the GIL held, while not installed.
///
/// `holder_is_global`: the interpreter is 3.10 or 3.11 (see [`HOLDER_IS_GLOBAL`]).
/// `free_lists`: objects taken again from free lists are followed (3.13+, see [`retag`]).
pub fn install(reader: FrameReader, mean_bytes: u64, holder_is_global: bool, free_lists: bool) {
    let all = mean_bytes == 0;
    let s = shared_for(all);
    watch_forks();
    begin(s, reader, mean_bytes);
    HOLDER_IS_GLOBAL.store(holder_is_global, Ordering::Relaxed);
    // SAFETY: the GIL is held; the call reads the runtime's main interpreter pointer.
    let main = unsafe { pyo3::ffi::PyInterpreterState_Main() };
    MAIN_INTERP.store(main as usize, Ordering::Relaxed);
    MODE.store(if all { ALL_MODE } else { SAMPLED }, Ordering::Release);
    // SAFETY: the GIL is held, so no allocator call of the MEM/OBJ domains is in flight, and
    // `ORIGINALS` and `CALLS` are written before our wrappers (which read them) are
    // installed. RAW calls made meanwhile by threads without the GIL may read the domain half
    // replaced; our RAW wrappers ignore their context, which is the original's, so every mix
    // is a valid pair.
    unsafe {
        let originals = &mut *ORIGINALS.0.get();
        let calls = &mut *CALLS.0.get();
        for (i, &domain) in DOMAINS.iter().enumerate() {
            pyo3::ffi::PyMem_GetAllocator(domain, &mut originals[i]);
            calls[i] = Calls::of(&originals[i]);
        }
        let mut raw = if all {
            raw_wrappers::<true>(&originals[0])
        } else {
            raw_wrappers::<false>(&originals[0])
        };
        pyo3::ffi::PyMem_SetAllocator(DOMAINS[0], &mut raw);
        let direct = !all && DirectFree::available(s, originals, &calls[2]);
        for i in 1..3 {
            let ctx = (&mut calls[i] as *mut Calls).cast();
            let mut ours = match (i, all, direct) {
                (1, false, true) => DirectFree::wrappers::<1>(&originals[1]),
                (_, false, true) => DirectFree::wrappers::<2>(&originals[2]),
                (_, false, false) => wrappers::<false>(ctx),
                (_, true, _) => wrappers::<true>(ctx),
            };
            pyo3::ffi::PyMem_SetAllocator(DOMAINS[i], &mut ours);
        }
    }
    if free_lists {
        retag::install(all);
    }
}

/// Resumes recording in a child made by `fork()`, with the wrappers its parent installed
/// (for the same `mean_bytes`). Call with the GIL held.
pub fn resume(reader: FrameReader, mean_bytes: u64) {
    let all = mean_bytes == 0;
    let s = shared_for(all);
    begin(s, reader, mean_bytes);
    MODE.store(if all { ALL_MODE } else { SAMPLED }, Ordering::Release);
}

/// Our RAW allocator around `original`, whose context it keeps (see [`raw_original`]).
pub(super) fn raw_wrappers<const ALL: bool>(original: &PyMemAllocatorEx) -> PyMemAllocatorEx {
    PyMemAllocatorEx {
        ctx: original.ctx,
        malloc: Some(raw_malloc::<ALL>),
        calloc: Some(raw_calloc::<ALL>),
        realloc: Some(raw_realloc::<ALL>),
        free: Some(raw_free),
    }
}

/// Our MEM or OBJ allocator with every call wrapped; `ctx` points to the domain's [`Calls`].
pub(super) fn wrappers<const ALL: bool>(ctx: *mut c_void) -> PyMemAllocatorEx {
    PyMemAllocatorEx {
        ctx,
        malloc: Some(malloc::<ALL>),
        calloc: Some(calloc::<ALL>),
        realloc: Some(realloc::<ALL>),
        free: Some(free::<ALL>),
    }
}

/// Stops recording and puts the interpreter's allocators back. Call with the GIL held.
pub fn uninstall() {
    let mode = MODE.swap(OFF, Ordering::AcqRel);
    if mode == EVENTS || mode == OFF {
        return;
    }
    retag::uninstall();
    // SAFETY: the GIL is held: the scratch is this thread's alone.
    unsafe { *SCRATCH.tasks.get() = None };
    adopt_orphans(shared(), mode == ALL_MODE);
    if mode == ALL_MODE {
        send_held(shared());
    }
    // SAFETY: the GIL is held; the originals saved by `install` are valid allocators. Our
    // RAW wrappers may still run for a moment in threads without the GIL (or be read half
    // replaced, see `install`); they only read `ORIGINALS`, which is not written here.
    unsafe {
        let originals = &mut *ORIGINALS.0.get();
        for (i, &domain) in DOMAINS.iter().enumerate() {
            let mut original = originals[i];
            pyo3::ffi::PyMem_SetAllocator(domain, &mut original);
        }
    }
}

/// What the hook could not record, when it stops.
pub struct Counters {
    /// Records lost to a full ring.
    pub lost: u64,
    /// Recorded blocks whose frees could not be followed.
    pub untracked: u64,
    /// Allocations through RAW by threads without the GIL, and their bytes.
    pub outside_gil: (u64, u64),
}

pub fn counters() -> Counters {
    let s = shared();
    Counters {
        lost: s.ring.lost.load(Ordering::Relaxed),
        untracked: s.untracked.load(Ordering::Relaxed),
        outside_gil: (
            OUTSIDE_GIL[0].load(Ordering::Relaxed),
            OUTSIDE_GIL[1].load(Ordering::Relaxed),
        ),
    }
}

/// Whether the hook is recording.
pub fn installed() -> bool {
    MODE.load(Ordering::Acquire) != OFF
}

/// Pushes a record made outside the allocator: a collection starting (with the calling
/// thread's stack), or one ending, or a snapshot mark (see the record layouts above). Call
/// with the GIL held.
pub fn push_event(kind: u64, with_stack: bool, fields: &[u64]) -> bool {
    let s = shared();
    if !installed() {
        return false;
    }
    let mode = MODE.load(Ordering::Relaxed);
    if mode == SAMPLED || mode == ALL_MODE {
        adopt_orphans(s, mode == ALL_MODE);
    }
    if with_stack {
        let stack = capture(s);
        let f = |i: usize| fields.get(i).copied().unwrap_or(0);
        let head = stack.head(kind, [f(0), f(1)]);
        push_stack_record(s, &head, &stack, true)
    } else {
        if kind == MARK && MODE.load(Ordering::Relaxed) == ALL_MODE {
            // What the mark sees live includes the held blocks, and its totals the folded.
            send_held(s);
        }
        let mut record = [0u64; 6];
        record[0] = header(kind, 0, false);
        let n = fields.len().min(3);
        record[3..3 + n].copy_from_slice(&fields[..n]);
        s.ring.push_parts(&record[..3 + n], &[], true)
    }
}
