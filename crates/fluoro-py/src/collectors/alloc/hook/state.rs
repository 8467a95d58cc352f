//! What the hook's wrappers share, in plain statics that every allocation reads: the mode,
//! the sampling budget, the originals they call, the scratch of the thread holding the GIL,
//! and the ring and live set the drain reads.

use super::held::HeldBlocks;
use crate::collectors::alloc::live::LiveSet;
use crate::collectors::alloc::ring::Ring;
use crate::cpython::tasks::TaskReader;
use crate::cpython::{ChainCache, FrameReader, MAX_FRAMES};
use pyo3::ffi::{PyMemAllocatorDomain, PyMemAllocatorEx};
use std::cell::{Cell, UnsafeCell};
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::OnceLock;

pub(super) const OFF: u8 = 0;

pub(super) const SAMPLED: u8 = 1;

pub(super) const ALL_MODE: u8 = 2;

/// No allocator wrappers, but collections and marks are recorded.
pub(super) const EVENTS: u8 = 3;

/// What the hook shares with the drain; made once and reused by every tracking session.
pub struct Shared {
    pub ring: Ring,
    pub live: LiveSet,
    pub untracked: AtomicU64,
    /// Mean sampling interval in bytes, as f64 bits.
    pub(super) mean: AtomicU64,
    pub(super) rng: AtomicU64,
    pub(super) reader: OnceLock<FrameReader>,
}

pub(super) static SHARED: OnceLock<Shared> = OnceLock::new();

// What every allocation and free reads, in plain statics rather than behind the `OnceLock`.

pub(super) static MODE: AtomicU8 = AtomicU8::new(OFF);

/// Bytes left before the next sample. One budget for all threads: MEM and OBJ allocations are
/// made holding the GIL, one thread at a time, and a Poisson process over their interleaved
/// bytes samples each thread's as fairly as one per thread would, without a thread-local
/// lookup (slow in a dlopened library) on every allocation.
pub(super) static BUDGET: AtomicI64 = AtomicI64::new(0);

/// Set (GIL held) by a MEM or OBJ wrapper around a call of the original that may hand the
/// block on to RAW: pymalloc passes requests above 512 bytes (less with the debug hooks'
/// padding), empty ones and reallocations to `PyMem_RawMalloc`, and the block is already
/// recorded as the MEM or OBJ call's.
pub(super) static NESTED: AtomicBool = AtomicBool::new(false);

/// MEM and OBJ requests from this size up (and of 0 bytes) may reach RAW.
pub(super) const NESTS_FROM: usize = 448;

/// pymalloc serves requests of 1 to this many bytes from its arenas and hands the rest (and
/// empty ones) to RAW (`SMALL_REQUEST_THRESHOLD`, 3.10-3.13).
pub(super) const PYMALLOC_MAX: usize = 512;

/// Sampling over pymalloc, with MEM and OBJ frees left to pymalloc ([`DirectFree`]): the size
/// the GIL holder's next RAW request of 0 bytes is made with, instead of 0; set around the one
/// call that places a sampled small block outside the arenas, 0 otherwise, and back to 0 once
/// served.
pub(super) static OUTSIDE_ARENA: AtomicUsize = AtomicUsize::new(0);

/// On 3.10 and 3.11 the current thread state is the GIL holder's, whichever thread asks; a
/// thread holds the GIL when it is also that thread's own.
pub(super) static HOLDER_IS_GLOBAL: AtomicBool = AtomicBool::new(false);

/// The block of the last allocation recorded: the next object the interpreter makes there is
/// that allocation's, not one taken again from a free list (see `retag`).
pub(super) static LAST_BLOCK: AtomicU64 = AtomicU64::new(0);
/// Allocations made through RAW by threads without the GIL, and their bytes.
pub(super) static OUTSIDE_GIL: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// The main interpreter, whose GIL the hook's state relies on (set at install).
pub(super) static MAIN_INTERP: AtomicUsize = AtomicUsize::new(0);
/// Set once an allocation was seen in another interpreter with a GIL of its own (3.12+),
/// which runs at the same time as the main one: from then on each free checks where it is.
pub(super) static OTHER_INTERPRETERS: AtomicBool = AtomicBool::new(false);

/// Whether the calling thread, holding a GIL, holds the main interpreter's. The hook's state
/// is guarded by that GIL alone: what other interpreters allocate is left out rather than
/// raced on.
#[inline]
pub(super) fn in_main_interpreter() -> bool {
    // SAFETY: reads this thread's current thread state pointer, and that live thread state's
    // interpreter; nothing is written.
    let here = unsafe {
        let tstate = pyo3::ffi::compat::PyThreadState_GetUnchecked();
        if tstate.is_null() {
            return true;
        }
        pyo3::ffi::PyThreadState_GetInterpreter(tstate) as usize
    };
    let main = MAIN_INTERP.load(Ordering::Relaxed);
    if main == 0 || here == main {
        return true;
    }
    OTHER_INTERPRETERS.store(true, Ordering::Relaxed);
    false
}

/// [`in_main_interpreter`] where no other interpreter has allocated yet costs one load.
#[inline(always)]
pub(super) fn maybe_other_interpreter() -> bool {
    OTHER_INTERPRETERS.load(Ordering::Relaxed) && !in_main_interpreter()
}

/// Ring sizes in words: recording every allocation needs room for the bursts between drains.
pub(super) const RING_WORDS_ALL: usize = 1 << 22;

pub(super) const RING_WORDS_SAMPLED: usize = 1 << 18;

/// The shared state, made by the first session (sized for its mode).
pub fn shared_for(all: bool) -> &'static Shared {
    SHARED.get_or_init(|| Shared {
        ring: Ring::new(if all {
            RING_WORDS_ALL
        } else {
            RING_WORDS_SAMPLED
        }),
        live: LiveSet::new(1 << 18),
        untracked: AtomicU64::new(0),
        mean: AtomicU64::new(0),
        rng: AtomicU64::new(0x2545_F491_4F6C_DD1D),
        reader: OnceLock::new(),
    })
}

pub(super) fn shared() -> &'static Shared {
    shared_for(false)
}

/// Stack hashes remembered as sent in full this session (direct-mapped).
pub(super) const SENT_SLOTS: usize = 1024;

/// Scratch for recording stacks. Stacks are only captured by a thread holding the GIL (a RAW
/// call without it records none), so one set serves every thread, without a thread-local
/// lookup (slow in a dlopened library) on every recorded allocation.
pub(super) struct GilScratch {
    /// Stack hashes sent in full this session: the drain knows them by hash.
    pub(super) sent: UnsafeCell<[u64; SENT_SLOTS]>,
    /// The stack being recorded.
    pub(super) frames: UnsafeCell<[u64; 2 * MAX_FRAMES]>,
    /// The chain `frames` was read from.
    pub(super) chain: UnsafeCell<ChainCache>,
    /// Recording every allocation, the blocks held back and their folded counts.
    pub(super) blocks: UnsafeCell<HeldBlocks>,
    /// The thread state the drain takes records without one to be from (0: none yet).
    pub(super) thread: Cell<u64>,
    /// With `--async`, once asyncio is imported: the reader of the task a sampled allocation
    /// is made in.
    pub(super) tasks: UnsafeCell<Option<Box<TaskReader>>>,
}

// SAFETY: only used by the thread holding the GIL (see `GilScratch`), one at a time; `begin`
// clears it before the wrappers are installed.
unsafe impl Sync for GilScratch {}

pub(super) static SCRATCH: GilScratch = GilScratch {
    sent: UnsafeCell::new([0; SENT_SLOTS]),
    frames: UnsafeCell::new([0; 2 * MAX_FRAMES]),
    chain: UnsafeCell::new(ChainCache::EMPTY),
    blocks: UnsafeCell::new(HeldBlocks::EMPTY),
    thread: Cell::new(0),
    tasks: UnsafeCell::new(None),
};

/// Threads inside [`paused`] now: while none is, recording reads no thread-local.
pub(super) static PAUSED_THREADS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set while fluoro's own code runs on this thread: its allocations are not the target's.
    static PAUSED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with this thread's allocations left out of the record (fluoro's own work).
pub fn paused<T>(f: impl FnOnce() -> T) -> T {
    let before = PAUSED.with(|p| p.replace(true));
    PAUSED_THREADS.fetch_add(1, Ordering::SeqCst);
    let out = f();
    PAUSED_THREADS.fetch_sub(1, Ordering::SeqCst);
    PAUSED.with(|p| p.set(before));
    out
}

/// Whether this thread's allocations are fluoro's own.
#[inline(always)]
pub fn is_paused() -> bool {
    PAUSED_THREADS.load(Ordering::Relaxed) > 0 && paused_here()
}

/// The thread-local part of [`is_paused`], out of line: inlined, the compiler looked up the
/// thread-local's address (a call, in a dlopened library) before testing the count.
#[cold]
#[inline(never)]
pub(super) fn paused_here() -> bool {
    PAUSED.with(Cell::get)
}

/// The interpreter's allocators as they were before ours, per domain; our wrappers get a
/// pointer to theirs as `ctx`.
pub(super) struct Originals(pub(super) UnsafeCell<[PyMemAllocatorEx; 3]>);

// SAFETY: written only by `install`/`uninstall`, with the GIL held and before our wrappers
// are installed (or after they are removed); read-only while they are installed.
unsafe impl Sync for Originals {}

pub(super) static ORIGINALS: Originals = Originals(UnsafeCell::new(
    [PyMemAllocatorEx {
        ctx: std::ptr::null_mut(),
        malloc: None,
        calloc: None,
        realloc: None,
        free: None,
    }; 3],
));

pub(super) type MallocFn = extern "C" fn(*mut c_void, usize) -> *mut c_void;

pub(super) type CallocFn = extern "C" fn(*mut c_void, usize, usize) -> *mut c_void;

pub(super) type ReallocFn = extern "C" fn(*mut c_void, *mut c_void, usize) -> *mut c_void;

pub(super) type FreeFn = extern "C" fn(*mut c_void, *mut c_void);

/// A domain's original allocator as our wrappers call it: every function present (a missing
/// one, which CPython never leaves, fails as its allocation would), so that no call tests.
#[derive(Clone, Copy)]
pub(super) struct Calls {
    pub(super) ctx: *mut c_void,
    pub(super) malloc: MallocFn,
    pub(super) calloc: CallocFn,
    pub(super) realloc: ReallocFn,
    pub(super) free: FreeFn,
}

pub(super) extern "C" fn no_malloc(_: *mut c_void, _: usize) -> *mut c_void {
    std::ptr::null_mut()
}

pub(super) extern "C" fn no_calloc(_: *mut c_void, _: usize, _: usize) -> *mut c_void {
    std::ptr::null_mut()
}

pub(super) extern "C" fn no_realloc(_: *mut c_void, _: *mut c_void, _: usize) -> *mut c_void {
    std::ptr::null_mut()
}

pub(super) extern "C" fn no_free(_: *mut c_void, _: *mut c_void) {}

impl Calls {
    pub(super) const NONE: Calls = Calls {
        ctx: std::ptr::null_mut(),
        malloc: no_malloc,
        calloc: no_calloc,
        realloc: no_realloc,
        free: no_free,
    };

    pub(super) fn of(a: &PyMemAllocatorEx) -> Calls {
        Calls {
            ctx: a.ctx,
            malloc: a.malloc.unwrap_or(no_malloc),
            calloc: a.calloc.unwrap_or(no_calloc),
            realloc: a.realloc.unwrap_or(no_realloc),
            free: a.free.unwrap_or(no_free),
        }
    }
}

/// [`Calls`] of each domain's original; our MEM and OBJ wrappers get a pointer to theirs as
/// `ctx`.
pub(super) struct AllCalls(pub(super) UnsafeCell<[Calls; 3]>);

// SAFETY: as `Originals`: written only by `install`, before our wrappers are installed.
unsafe impl Sync for AllCalls {}

pub(super) static CALLS: AllCalls = AllCalls(UnsafeCell::new([Calls::NONE; 3]));

pub(super) const DOMAINS: [PyMemAllocatorDomain; 3] = [
    PyMemAllocatorDomain::PYMEM_DOMAIN_RAW,
    PyMemAllocatorDomain::PYMEM_DOMAIN_MEM,
    PyMemAllocatorDomain::PYMEM_DOMAIN_OBJ,
];

pub(super) fn original(ctx: *mut c_void) -> &'static Calls {
    // SAFETY: `ctx` is the pointer `install` gave PyMem_SetAllocator: an element of the
    // static `CALLS`, not written while wrappers are installed.
    unsafe { &*(ctx as *const Calls) }
}

/// The original of domain `D`, by its index in [`DOMAINS`].
#[inline(always)]
pub(super) fn original_of<const D: usize>() -> &'static Calls {
    // SAFETY: `CALLS` is not written while our wrappers are installed (see `install`).
    unsafe { &(*CALLS.0.get())[D] }
}

/// Whether a MEM or OBJ request of `size` bytes may be handed on to RAW.
#[inline(always)]
pub(super) fn may_nest(size: usize) -> bool {
    size.wrapping_sub(1) >= NESTS_FROM - 1
}

/// Runs `call` with [`NESTED`] set when `nests` (GIL held).
#[inline(always)]
pub(super) fn nested<T>(nests: bool, call: impl FnOnce() -> T) -> T {
    // The flag is the main interpreter's: another's calls, with their own GIL, leave it be.
    if !nests || maybe_other_interpreter() {
        return call();
    }
    let outer = NESTED.load(Ordering::Relaxed);
    NESTED.store(true, Ordering::Relaxed);
    let out = call();
    NESTED.store(outer, Ordering::Relaxed);
    out
}

/// Sampling: counts the budget down by `size` and says whether it crossed zero, in which case
/// the allocation about to be made is sampled. The GIL serializes this read-modify-write (MEM
/// and OBJ calls hold it). A failed allocation that crossed leaves the budget below zero, so
/// the next one is sampled in its place.
#[inline(always)]
pub(super) fn budget_crossed(size: usize) -> bool {
    let left = BUDGET.load(Ordering::Relaxed) - size as i64;
    BUDGET.store(left, Ordering::Relaxed);
    left <= 0
}

/// An exponential draw of mean `mean` from a xorshift generator.
pub(super) fn next_exponential(s: &Shared, mean: f64) -> i64 {
    let mut x = s.rng.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s.rng.store(x, Ordering::Relaxed);
    let u = ((x >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    (-u.ln() * mean).min(i64::MAX as f64 / 2.0) as i64 + 1
}
