//! The allocator hook: wrappers around the RAW, MEM and OBJ domains installed with
//! `PyMem_SetAllocator`, which decide cheaply whether an allocation is recorded and, when it
//! is, push it with its Python stack into the [`Ring`]. Nothing here allocates.
//!
//! Every Python object and buffer comes through MEM or OBJ, and their callers hold the GIL: it
//! serializes everything recorded, so no lock and no thread-local is needed. RAW calls are
//! recorded when their thread holds the GIL (a thread state, zlib's buffers, an extension's
//! `PyMem_RawMalloc`) and not made by pymalloc on behalf of a MEM or OBJ call already
//! recorded ([`NESTED`]). Allocations by threads without the GIL are counted, not recorded (no
//! stack can be read for them); their frees of recorded blocks wait in the live set's orphans
//! for the next GIL holder ([`live::orphan`]).
//!
//! Sampling is by bytes: a byte budget drawn from an exponential distribution is counted down
//! by every allocation; the one that crosses zero is recorded (a Poisson process over the
//! allocated bytes, so estimates from the samples are unbiased). Over pymalloc (the usual
//! case), MEM and OBJ frees are not wrapped at all: sampled blocks are made outside its arenas,
//! so that pymalloc frees them through RAW, whose wrapper sees them ([`DirectFree`]). Under
//! other allocators (`PYTHONMALLOC`, the debug hooks, another tracer) a free costs one load
//! from the [`LiveSet`] filter unless the block was sampled.
//!
//! Recording every allocation, most of the cost is per event, so events are made few and
//! short: a small block freed soon after it was made is folded into a per-stack count in the
//! hook and never reaches the ring ([`Held`]); the rest go out as records of three words (an
//! allocation) or one (a free); the stack is compared with the last one read rather than read
//! and hashed again ([`ChainCache`]).

use super::frames::{ChainCache, FrameReader, MAX_FRAMES};
use super::kept_codes;
use super::live::{self, LiveSet};
use super::ring::Ring;
use pyo3::ffi::{PyMemAllocatorDomain, PyMemAllocatorEx};
use std::cell::{Cell, UnsafeCell};
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Record kinds, in the low byte of a record's first word; the frame count is in bits 8..24
/// and [`KNOWN_STACK`] says the record carries only its stack's hash, the frames having gone
/// with an earlier record.
///
/// Records with a stack (ALLOC, GC_START, FOLDED) are `[header, tstate, ident, field, field,
/// hash, frames...]`, frames as (code object, offset) pairs, innermost first: ALLOC's fields are
/// the address and size, FOLDED's the bytes and how many blocks of one size class (powers of
/// two) the stack allocated to be held back (see [`Held`]). FREE is `[header, addr]`; GC_STOP `[header, 0,
/// 0, duration, collected, uncollectable]`; MARK `[header, 0, 0, index]`.
pub const ALLOC: u64 = 1;
pub const FREE: u64 = 2;
pub const GC_START: u64 = 3;
pub const GC_STOP: u64 = 4;
pub const MARK: u64 = 5;
pub const FOLDED: u64 = 6;
/// `[header + size << 32, addr, hash]`: an allocation by a stack sent before, on the thread of
/// the last THREAD record or record with a thread.
pub const ALLOC_SHORT: u64 = 7;
/// `[header, tstate, ident]`: the thread of the records that follow without one.
pub const THREAD: u64 = 8;
/// A single word with its low four bits clear (no header has them clear) is a FREE of that
/// address: blocks are 16-byte aligned.
pub fn is_short_free(word: u64) -> bool {
    word & 0xf == 0
}
pub const KNOWN_STACK: u64 = 1 << 24;
/// On an ALLOC or ALLOC_SHORT: the block was counted in a FOLDED record when it was made and
/// only becomes live (a held block that outlived its hold).
pub const COUNTED: u64 = 1 << 25;
/// Words of a stack record before its frames.
pub const STACK_HEAD: usize = 6;

pub fn header(kind: u64, frames: usize, known: bool) -> u64 {
    kind | ((frames as u64) << 8) | if known { KNOWN_STACK } else { 0 }
}

pub fn parse_header(word: u64) -> (u64, usize, bool) {
    (
        word & 0xff,
        ((word >> 8) & 0xffff) as usize,
        word & KNOWN_STACK != 0,
    )
}

const OFF: u8 = 0;
const SAMPLED: u8 = 1;
const ALL_MODE: u8 = 2;
/// No allocator wrappers, but collections and marks are recorded.
const EVENTS: u8 = 3;

/// What the hook shares with the drain; made once and reused by every tracking session.
pub struct Shared {
    pub ring: Ring,
    pub live: LiveSet,
    pub untracked: AtomicU64,
    /// Mean sampling interval in bytes, as f64 bits.
    mean: AtomicU64,
    rng: AtomicU64,
    reader: OnceLock<FrameReader>,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

// What every allocation and free reads, in plain statics rather than behind the `OnceLock`.
static MODE: AtomicU8 = AtomicU8::new(OFF);
/// Bytes left before the next sample. One budget for all threads: MEM and OBJ allocations are
/// made holding the GIL, one thread at a time, and a Poisson process over their interleaved
/// bytes samples each thread's as fairly as one per thread would, without a thread-local
/// lookup (slow in a dlopened library) on every allocation.
static BUDGET: AtomicI64 = AtomicI64::new(0);

/// Set (GIL held) by a MEM or OBJ wrapper around a call of the original that may hand the
/// block on to RAW: pymalloc passes requests above 512 bytes (less with the debug hooks'
/// padding), empty ones and reallocations to `PyMem_RawMalloc`, and the block is already
/// recorded as the MEM or OBJ call's.
static NESTED: AtomicBool = AtomicBool::new(false);
/// MEM and OBJ requests from this size up (and of 0 bytes) may reach RAW.
const NESTS_FROM: usize = 448;
/// pymalloc serves requests of 1 to this many bytes from its arenas and hands the rest (and
/// empty ones) to RAW (`SMALL_REQUEST_THRESHOLD`, 3.10-3.13).
const PYMALLOC_MAX: usize = 512;
/// Sampling over pymalloc, with MEM and OBJ frees left to pymalloc ([`DirectFree`]): the size
/// the GIL holder's next RAW request of 0 bytes is made with, instead of 0; set around the one
/// call that places a sampled small block outside the arenas, 0 otherwise, and back to 0 once
/// served.
static OUTSIDE_ARENA: AtomicUsize = AtomicUsize::new(0);
/// On 3.10 and 3.11 the current thread state is the GIL holder's, whichever thread asks; a
/// thread holds the GIL when it is also that thread's own.
static HOLDER_IS_GLOBAL: AtomicBool = AtomicBool::new(false);
/// Allocations made through RAW by threads without the GIL, and their bytes.
static OUTSIDE_GIL: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Ring sizes in words: recording every allocation needs room for the bursts between drains.
const RING_WORDS_ALL: usize = 1 << 22;
const RING_WORDS_SAMPLED: usize = 1 << 18;

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

fn shared() -> &'static Shared {
    shared_for(false)
}

/// Stack hashes remembered as sent in full this session (direct-mapped).
const SENT_SLOTS: usize = 1024;

/// Recording every allocation, the hook holds back the latest small ones, by address: most
/// blocks a program allocates (the ints and floats of arithmetic, temporaries) are freed a few
/// allocations later. A held block is counted in a [`Fold`] when it is made; freed while held,
/// it never reaches the ring at all (its free only empties the slot). A held block still live
/// when another takes its slot goes out as a [`COUNTED`] allocation, and all of them before a
/// mark and when tracking stops. The record of the heap
/// lags the interpreter's by the held blocks, at most `HELD_SLOTS * HELD_MAX_SIZE` bytes.
/// With 128 slots, the chunks `json.dumps` joins at its end were displaced before their free
/// and went out as a live block and a free: 1024 halve those on `json_dumps` (4096, 40 KiB
/// more of slots, would save another 6 %).
const HELD_SLOTS: usize = 1024;
/// Largest block held back (pymalloc's small blocks).
const HELD_MAX_SIZE: u64 = 512;
/// Folded counts kept before they are sent (direct-mapped by stack, size class and thread).
const FOLD_SLOTS: usize = 256;
/// Folds after which every count goes out, so that a profile cut short misses few.
const FOLDS_BETWEEN_SENDS: u64 = 1 << 20;

/// An allocation held back, with what its record needs.
#[derive(Clone, Copy)]
struct Held {
    /// 0 when the slot is free.
    addr: u64,
    size: u64,
    hash: u64,
    tstate: u64,
    ident: u64,
}

/// How many blocks of one size class, and how many bytes in all, one stack allocated to be
/// held back. By class rather than by size: the strings a program builds have many lengths,
/// and a fold per length left a record for every two or three blocks.
#[derive(Clone, Copy)]
struct Fold {
    /// 0 when the slot is free.
    count: u64,
    bytes: u64,
    /// `log2` of the smallest power of two at or above the blocks' sizes.
    class: u64,
    hash: u64,
    tstate: u64,
    ident: u64,
}

const NO_HELD: Held = Held {
    addr: 0,
    size: 0,
    hash: 0,
    tstate: 0,
    ident: 0,
};
const NO_FOLD: Fold = Fold {
    count: 0,
    bytes: 0,
    class: 0,
    hash: 0,
    tstate: 0,
    ident: 0,
};

/// Scratch for recording stacks. Stacks are only captured by a thread holding the GIL (a RAW
/// call without it records none), so one set serves every thread, without a thread-local
/// lookup (slow in a dlopened library) on every recorded allocation.
struct GilScratch {
    /// Stack hashes sent in full this session: the drain knows them by hash.
    sent: UnsafeCell<[u64; SENT_SLOTS]>,
    /// The stack being recorded.
    frames: UnsafeCell<[u64; 2 * MAX_FRAMES]>,
    /// The chain `frames` was read from.
    chain: UnsafeCell<ChainCache>,
    held: UnsafeCell<[Held; HELD_SLOTS]>,
    folds: UnsafeCell<[Fold; FOLD_SLOTS]>,
    /// Folds since the counts last went out.
    folded: Cell<u64>,
    /// The thread state the drain takes records without one to be from (0: none yet).
    thread: Cell<u64>,
}

// SAFETY: only used by the thread holding the GIL (see `GilScratch`), one at a time; `begin`
// clears it before the wrappers are installed.
unsafe impl Sync for GilScratch {}

static SCRATCH: GilScratch = GilScratch {
    sent: UnsafeCell::new([0; SENT_SLOTS]),
    frames: UnsafeCell::new([0; 2 * MAX_FRAMES]),
    chain: UnsafeCell::new(ChainCache::EMPTY),
    held: UnsafeCell::new([NO_HELD; HELD_SLOTS]),
    folds: UnsafeCell::new([NO_FOLD; FOLD_SLOTS]),
    folded: Cell::new(0),
    thread: Cell::new(0),
};

/// Threads inside [`paused`] now: while none is, recording reads no thread-local.
static PAUSED_THREADS: AtomicUsize = AtomicUsize::new(0);

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
fn is_paused() -> bool {
    PAUSED_THREADS.load(Ordering::Relaxed) > 0 && paused_here()
}

/// The thread-local part of [`is_paused`], out of line: inlined, the compiler looked up the
/// thread-local's address (a call, in a dlopened library) before testing the count.
#[cold]
#[inline(never)]
fn paused_here() -> bool {
    PAUSED.with(Cell::get)
}

/// The interpreter's allocators as they were before ours, per domain; our wrappers get a
/// pointer to theirs as `ctx`.
struct Originals(UnsafeCell<[PyMemAllocatorEx; 3]>);
// SAFETY: written only by `install`/`uninstall`, with the GIL held and before our wrappers
// are installed (or after they are removed); read-only while they are installed.
unsafe impl Sync for Originals {}

static ORIGINALS: Originals = Originals(UnsafeCell::new(
    [PyMemAllocatorEx {
        ctx: std::ptr::null_mut(),
        malloc: None,
        calloc: None,
        realloc: None,
        free: None,
    }; 3],
));

type MallocFn = extern "C" fn(*mut c_void, usize) -> *mut c_void;
type CallocFn = extern "C" fn(*mut c_void, usize, usize) -> *mut c_void;
type ReallocFn = extern "C" fn(*mut c_void, *mut c_void, usize) -> *mut c_void;
type FreeFn = extern "C" fn(*mut c_void, *mut c_void);

/// A domain's original allocator as our wrappers call it: every function present (a missing
/// one, which CPython never leaves, fails as its allocation would), so that no call tests.
#[derive(Clone, Copy)]
struct Calls {
    ctx: *mut c_void,
    malloc: MallocFn,
    calloc: CallocFn,
    realloc: ReallocFn,
    free: FreeFn,
}

extern "C" fn no_malloc(_: *mut c_void, _: usize) -> *mut c_void {
    std::ptr::null_mut()
}
extern "C" fn no_calloc(_: *mut c_void, _: usize, _: usize) -> *mut c_void {
    std::ptr::null_mut()
}
extern "C" fn no_realloc(_: *mut c_void, _: *mut c_void, _: usize) -> *mut c_void {
    std::ptr::null_mut()
}
extern "C" fn no_free(_: *mut c_void, _: *mut c_void) {}

impl Calls {
    const NONE: Calls = Calls {
        ctx: std::ptr::null_mut(),
        malloc: no_malloc,
        calloc: no_calloc,
        realloc: no_realloc,
        free: no_free,
    };

    fn of(a: &PyMemAllocatorEx) -> Calls {
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
struct AllCalls(UnsafeCell<[Calls; 3]>);
// SAFETY: as `Originals`: written only by `install`, before our wrappers are installed.
unsafe impl Sync for AllCalls {}

static CALLS: AllCalls = AllCalls(UnsafeCell::new([Calls::NONE; 3]));

const DOMAINS: [PyMemAllocatorDomain; 3] = [
    PyMemAllocatorDomain::PYMEM_DOMAIN_RAW,
    PyMemAllocatorDomain::PYMEM_DOMAIN_MEM,
    PyMemAllocatorDomain::PYMEM_DOMAIN_OBJ,
];

/// Resets the shared state for a new session.
fn begin(s: &Shared, reader: FrameReader, mean_bytes: u64) {
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
        (*SCRATCH.held.get()).fill(NO_HELD);
        (*SCRATCH.folds.get()).fill(NO_FOLD);
    }
    SCRATCH.folded.set(0);
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
extern "C" fn after_fork_in_child() {
    MODE.store(OFF, Ordering::Relaxed);
    live::forget_all();
    live::reset_orphans();
}

/// Registers [`after_fork_in_child`], once.
fn watch_forks() {
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
pub fn install(reader: FrameReader, mean_bytes: u64, holder_is_global: bool) {
    let all = mean_bytes == 0;
    let s = shared_for(all);
    watch_forks();
    begin(s, reader, mean_bytes);
    HOLDER_IS_GLOBAL.store(holder_is_global, Ordering::Relaxed);
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
}

/// Our RAW allocator around `original`, whose context it keeps (see [`raw_original`]).
fn raw_wrappers<const ALL: bool>(original: &PyMemAllocatorEx) -> PyMemAllocatorEx {
    PyMemAllocatorEx {
        ctx: original.ctx,
        malloc: Some(raw_malloc::<ALL>),
        calloc: Some(raw_calloc::<ALL>),
        realloc: Some(raw_realloc::<ALL>),
        free: Some(raw_free),
    }
}

/// Our MEM or OBJ allocator with every call wrapped; `ctx` points to the domain's [`Calls`].
fn wrappers<const ALL: bool>(ctx: *mut c_void) -> PyMemAllocatorEx {
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

fn original(ctx: *mut c_void) -> &'static Calls {
    // SAFETY: `ctx` is the pointer `install` gave PyMem_SetAllocator: an element of the
    // static `CALLS`, not written while wrappers are installed.
    unsafe { &*(ctx as *const Calls) }
}

// MEM and OBJ: called holding the GIL.
//
// Sampling, a wrapper decides before it calls the original whether the call is recorded (the
// budget is counted down by the size asked for, a free probes the filter), so that on the
// common path the original is its last call, made as a jump: the wrapper then costs a handful
// of instructions and no stack frame of its own. Recording every allocation, the address
// returned is needed on every call. A request that may reach RAW takes the longer way, with
// [`NESTED`] set around it.

extern "C" fn malloc<const ALL: bool>(ctx: *mut c_void, size: usize) -> *mut c_void {
    let o = original(ctx);
    if !ALL {
        if may_nest(size) {
            return malloc_nested(o, size);
        }
        if budget_crossed(size) {
            return malloc_sampled(o, size);
        }
        return (o.malloc)(o.ctx, size);
    }
    let p = nested(may_nest(size), || (o.malloc)(o.ctx, size));
    if !p.is_null() {
        on_alloc::<ALL>(p as u64, size as u64);
    }
    p
}

extern "C" fn calloc<const ALL: bool>(
    ctx: *mut c_void,
    nelem: usize,
    elsize: usize,
) -> *mut c_void {
    let o = original(ctx);
    let size = nelem.saturating_mul(elsize);
    if !ALL && !may_nest(size) && !budget_crossed(size) {
        return (o.calloc)(o.ctx, nelem, elsize);
    }
    let p = nested(may_nest(size), || (o.calloc)(o.ctx, nelem, elsize));
    if !p.is_null() {
        if ALL || may_nest(size) {
            on_alloc::<ALL>(p as u64, size as u64);
        } else {
            // Sampling, the budget has crossed zero for it already.
            sample(p as u64, size as u64);
        }
    }
    p
}

extern "C" fn realloc<const ALL: bool>(
    ctx: *mut c_void,
    ptr: *mut c_void,
    size: usize,
) -> *mut c_void {
    let o = original(ctx);
    if !ptr.is_null() {
        on_free::<ALL>(ptr as u64);
    }
    // pymalloc moves a block that grows past its small sizes to RAW, and resizes there a
    // block already in RAW, whatever the size asked for.
    let p = nested(true, || (o.realloc)(o.ctx, ptr, size));
    if !p.is_null() {
        on_alloc::<ALL>(p as u64, size as u64);
    }
    p
}

extern "C" fn free<const ALL: bool>(ctx: *mut c_void, ptr: *mut c_void) {
    let o = original(ctx);
    if !ALL {
        // A null pointer needs no test of its own: the set never holds 0, and the original
        // ignores it.
        if live::may_contain(ptr as u64) {
            return release_sampled(o, ptr);
        }
        return (o.free)(o.ctx, ptr);
    }
    if MODE.load(Ordering::Relaxed) == ALL_MODE && !ptr.is_null() {
        // A held block's free only empties its slot; the rest go out by a jump to a function
        // that also frees, so that this common path needs no stack frame.
        if unhold(ptr as u64) {
            return (o.free)(o.ctx, ptr);
        }
        return free_recorded(o, ptr);
    }
    (o.free)(o.ctx, ptr)
}

/// Recording every allocation, the free of a block not held: recorded, then released.
#[inline(never)]
extern "C" fn free_recorded(o: &Calls, ptr: *mut c_void) {
    // Recorded before the block is released, so that its address cannot be handed to another
    // thread and recorded before this free is in the ring.
    push_free(ptr as u64);
    (o.free)(o.ctx, ptr)
}

/// Whether a MEM or OBJ request of `size` bytes may be handed on to RAW.
#[inline(always)]
fn may_nest(size: usize) -> bool {
    size.wrapping_sub(1) >= NESTS_FROM - 1
}

/// Runs `call` with [`NESTED`] set when `nests` (GIL held).
#[inline(always)]
fn nested<T>(nests: bool, call: impl FnOnce() -> T) -> T {
    if !nests {
        return call();
    }
    let outer = NESTED.load(Ordering::Relaxed);
    NESTED.store(true, Ordering::Relaxed);
    let out = call();
    NESTED.store(outer, Ordering::Relaxed);
    out
}

// The out-of-line paths of the sampling wrappers are `extern "C"`, which cannot unwind, so that
// the wrappers reach them by a jump too and their common path saves no register.

/// Sampling, an allocation that crossed the budget: made, then sampled.
#[cold]
#[inline(never)]
extern "C" fn malloc_sampled(o: &Calls, size: usize) -> *mut c_void {
    let p = (o.malloc)(o.ctx, size);
    if !p.is_null() {
        sample(p as u64, size as u64);
    }
    p
}

/// Sampling, an allocation that may reach RAW.
#[inline(never)]
extern "C" fn malloc_nested(o: &Calls, size: usize) -> *mut c_void {
    let p = nested(true, || (o.malloc)(o.ctx, size));
    if !p.is_null() {
        on_alloc::<false>(p as u64, size as u64);
    }
    p
}

/// Sampling, a free of a block that may be a live sample's: recorded if it is, then released.
#[cold]
#[inline(never)]
extern "C" fn release_sampled(o: &Calls, ptr: *mut c_void) {
    free_sampled(ptr as u64, false);
    (o.free)(o.ctx, ptr);
}

// Sampling over pymalloc, MEM and OBJ frees need no wrapper. pymalloc hands requests of 0
// bytes to RAW, and frees through RAW every block outside its arenas (`_PyObject_Malloc`,
// `_PyObject_Free`, 3.10-3.13). So a small block chosen for the sample is made by asking
// pymalloc for 0 bytes while [`OUTSIDE_ARENA`] has our RAW wrapper make it of the size asked
// for: pymalloc counts it as one of its RAW blocks, as it would a large one, and its free
// reaches our RAW wrapper, which finds it in the live set. Every other free goes to pymalloc
// untouched: half the calls the hook sees, and the filter probe each of them made.
//
// Bytes are counted where pymalloc's requests end up: the MEM and OBJ wrappers count the small
// requests (1 to 512 bytes), which pymalloc serves from its arenas; the RAW wrapper counts the
// rest, which pymalloc hands to it holding the GIL, with the same Python stack.

/// The MEM and OBJ wrappers of sampling over pymalloc; `D` is the domain's index in [`CALLS`].
pub(super) struct DirectFree;

impl DirectFree {
    /// The allocator of domain `D`: our malloc, calloc and realloc around the original, whose
    /// context and free are kept as they are.
    fn wrappers<const D: usize>(original: &PyMemAllocatorEx) -> PyMemAllocatorEx {
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
    fn available(s: &Shared, originals: &[PyMemAllocatorEx; 3], obj: &Calls) -> bool {
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
fn outside_arena(o: &Calls, ctx: *mut c_void, size: usize) -> Option<*mut c_void> {
    OUTSIDE_ARENA.store(size, Ordering::Relaxed);
    let p = nested(true, || (o.malloc)(ctx, 0));
    let served = OUTSIDE_ARENA.swap(0, Ordering::Relaxed) == 0;
    if served {
        return (!p.is_null()).then_some(p);
    }
    (o.free)(ctx, p);
    None
}

/// What a RAW request of `size` bytes is made with: the size [`OUTSIDE_ARENA`] asks for when
/// this is the request it waits for (empty, by the GIL holder).
#[inline(always)]
fn raw_size(size: usize) -> usize {
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

/// The original of domain `D`, by its index in [`DOMAINS`].
#[inline(always)]
fn original_of<const D: usize>() -> &'static Calls {
    // SAFETY: `CALLS` is not written while our wrappers are installed (see `install`).
    unsafe { &(*CALLS.0.get())[D] }
}

/// Whether pymalloc serves a request of `size` bytes from its arenas.
#[inline(always)]
fn in_arena(size: usize) -> bool {
    size.wrapping_sub(1) < PYMALLOC_MAX
}

extern "C" fn direct_malloc<const D: usize>(ctx: *mut c_void, size: usize) -> *mut c_void {
    let o = original_of::<D>();
    if in_arena(size) && budget_crossed(size) {
        return direct_malloc_sampled(o, ctx, size);
    }
    (o.malloc)(ctx, size)
}

extern "C" fn direct_calloc<const D: usize>(
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

extern "C" fn direct_realloc<const D: usize>(
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
fn is_sample(ptr: *mut c_void) -> bool {
    shared().live.contains(ptr as u64)
}

/// A small allocation that crossed the budget: made outside the arenas and sampled; made as
/// usual if that fails (the budget stays crossed, so the next one is sampled instead).
#[cold]
#[inline(never)]
extern "C" fn direct_malloc_sampled(o: &Calls, ctx: *mut c_void, size: usize) -> *mut c_void {
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
extern "C" fn direct_calloc_sampled(o: &Calls, ctx: *mut c_void, size: usize) -> *mut c_void {
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
extern "C" fn direct_realloc_sampled(
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

/// Sampling: counts the budget down by `size` and says whether it crossed zero, in which case
/// the allocation about to be made is sampled. The GIL serializes this read-modify-write (MEM
/// and OBJ calls hold it). A failed allocation that crossed leaves the budget below zero, so
/// the next one is sampled in its place.
#[inline(always)]
fn budget_crossed(size: usize) -> bool {
    let left = BUDGET.load(Ordering::Relaxed) - size as i64;
    BUDGET.store(left, Ordering::Relaxed);
    left <= 0
}

/// After an allocation: recording every one, records it; sampling, counts the budget down and
/// samples it if it crossed zero.
#[inline(always)]
fn on_alloc<const ALL: bool>(addr: u64, size: u64) {
    if ALL {
        if MODE.load(Ordering::Relaxed) == ALL_MODE {
            record_alloc(shared(), addr, size, false);
        }
    } else if budget_crossed(size as usize) {
        sample(addr, size);
    }
}

#[inline(always)]
fn on_free<const ALL: bool>(addr: u64) {
    if ALL {
        if MODE.load(Ordering::Relaxed) == ALL_MODE && !unhold(addr) {
            push_free(addr);
        }
    } else if live::may_contain(addr) {
        free_sampled(addr, false);
    }
}

/// Recording every allocation, empties the held slot of `addr` if it holds that block (GIL
/// held): its allocation was counted and never went out, so its free has nothing to send.
#[inline(always)]
fn unhold(addr: u64) -> bool {
    // SAFETY: MEM and OBJ frees hold the GIL: the held blocks are this thread's alone.
    let slot = unsafe { &mut (*SCRATCH.held.get())[held_slot(addr)] };
    let held = slot.addr == addr;
    if held {
        slot.addr = 0;
    }
    held
}

/// Recording every allocation, sends the free of `addr` (GIL held). Every free goes out,
/// fluoro's own included: a free of a block the record never saw allocated is ignored when the
/// record is read.
fn push_free(addr: u64) {
    let ring = &shared().ring;
    if is_short_free(addr) {
        ring.push_parts(&[addr], &[], true);
    } else {
        ring.push_parts(&[header(FREE, 0, false), addr], &[], true);
    }
}

/// A free (GIL held) of a block that may be in the live set: recorded if it is (out of line:
/// most are not).
#[cold]
#[inline(never)]
fn free_sampled(addr: u64, wait: bool) {
    let s = shared();
    if s.live.remove(addr) {
        s.ring
            .push_parts(&[header(FREE, 0, false), addr], &[], wait);
    }
}

// RAW: called with or without the GIL, from any thread. The context is ignored (see
// `install`): the original is always `ORIGINALS[0]`.

fn raw_original() -> &'static Calls {
    original_of::<0>()
}

extern "C" fn raw_malloc<const ALL: bool>(_ctx: *mut c_void, size: usize) -> *mut c_void {
    let o = raw_original();
    let size = raw_size(size);
    let p = (o.malloc)(o.ctx, size);
    if !p.is_null() {
        on_raw_alloc::<ALL>(p as u64, size as u64);
    }
    p
}

extern "C" fn raw_calloc<const ALL: bool>(
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

extern "C" fn raw_realloc<const ALL: bool>(
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

extern "C" fn raw_free(_ctx: *mut c_void, ptr: *mut c_void) {
    let o = raw_original();
    if !ptr.is_null() {
        // Before the block is released: see `live::orphan`.
        on_raw_free(ptr as u64);
    }
    (o.free)(o.ctx, ptr);
}

/// Whether the calling thread holds the GIL.
#[inline(always)]
fn holds_gil() -> bool {
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
fn on_raw_alloc<const ALL: bool>(addr: u64, size: u64) {
    let mode = MODE.load(Ordering::Relaxed);
    if mode != SAMPLED && mode != ALL_MODE {
        return;
    }
    if !holds_gil() {
        OUTSIDE_GIL[0].fetch_add(1, Ordering::Relaxed);
        OUTSIDE_GIL[1].fetch_add(size, Ordering::Relaxed);
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
fn on_raw_free(addr: u64) {
    let mode = MODE.load(Ordering::Relaxed);
    if (mode == SAMPLED || mode == ALL_MODE) && live::may_contain(addr) {
        raw_free_slow(addr, mode == ALL_MODE);
    }
}

#[cold]
#[inline(never)]
fn raw_free_slow(addr: u64, all: bool) {
    if holds_gil() {
        adopt_orphans(shared(), all);
        free_sampled(addr, all);
    } else if !live::orphan(addr) {
        shared().untracked.fetch_add(1, Ordering::Relaxed);
    }
}

/// Records the frees left by threads without the GIL (GIL held), before any record that could
/// be of a block at one of their addresses.
#[inline(always)]
fn adopt_orphans(s: &'static Shared, all: bool) {
    if live::orphans_waiting() {
        adopt_orphans_now(s, all);
    }
}

#[cold]
#[inline(never)]
fn adopt_orphans_now(s: &'static Shared, all: bool) {
    live::take_orphans(|addr| {
        if s.live.remove(addr) {
            s.ring.push_parts(&[header(FREE, 0, false), addr], &[], all);
        }
    });
}

/// The budget crossed zero: this allocation is sampled (unless it is fluoro's own), and a new
/// budget is drawn from the end of it.
#[cold]
#[inline(never)]
fn sample(addr: u64, size: u64) {
    if MODE.load(Ordering::Relaxed) != SAMPLED {
        // Stood down (in a forked child): no call should come here again.
        BUDGET.store(i64::MAX / 2, Ordering::Relaxed);
        return;
    }
    let s = shared();
    let mean = f64::from_bits(s.mean.load(Ordering::Relaxed));
    BUDGET.store(next_exponential(s, mean), Ordering::Relaxed);
    record_alloc(s, addr, size, false);
}

/// An exponential draw of mean `mean` from a xorshift generator.
fn next_exponential(s: &Shared, mean: f64) -> i64 {
    let mut x = s.rng.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s.rng.store(x, Ordering::Relaxed);
    let u = ((x >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    (-u.ln() * mean).min(i64::MAX as f64 / 2.0) as i64 + 1
}

/// Records an allocation with its stack (not cold: recording every allocation, it is the
/// hook's main path; sampled, it is reached through the cold [`sample`]).
#[inline(never)]
///
/// Recording every allocation, a RAW block (`raw`) goes out at once, never held, and joins the
/// live set, which then holds only RAW blocks: their frees may come without the GIL.
fn record_alloc(s: &'static Shared, addr: u64, size: u64, raw: bool) {
    if is_paused() {
        return;
    }
    let all = MODE.load(Ordering::Relaxed) == ALL_MODE;
    adopt_orphans(s, all);
    let stack = capture(s);
    if all && raw && !s.live.insert(addr) {
        s.untracked.fetch_add(1, Ordering::Relaxed);
    }
    if all && stack.known {
        let block = Held {
            addr,
            size,
            hash: stack.hash,
            tstate: stack.tstate,
            ident: stack.ident,
        };
        if size <= HELD_MAX_SIZE && !raw {
            fold(s, block);
            hold(s, block);
        } else {
            send_alloc(s, &block, false);
        }
        return;
    }
    let head = stack.head(ALLOC, [addr, size]);
    let kept = all || s.live.insert(addr);
    if !kept {
        s.untracked.fetch_add(1, Ordering::Relaxed);
    }
    let pushed = kept && push_stack_record(s, &head, &stack, all);
    if kept && !pushed && !all {
        s.live.remove(addr);
    }
}

/// The calling thread's stack, captured into the scratch frames (GIL held), or none.
struct Captured {
    frames: usize,
    hash: u64,
    /// Sent in full before, in this session: the hash is enough.
    known: bool,
    tstate: u64,
    ident: u64,
}

impl Captured {
    const NONE: Captured = Captured {
        frames: 0,
        hash: 0,
        known: false,
        tstate: 0,
        ident: 0,
    };

    fn head(&self, kind: u64, fields: [u64; 2]) -> [u64; STACK_HEAD] {
        let frames = if self.known { 0 } else { self.frames };
        [
            header(kind, frames, self.known),
            self.tstate,
            self.ident,
            fields[0],
            fields[1],
            self.hash,
        ]
    }
}

/// Pushes a stack record (GIL held): its head, then its frames unless known.
fn push_stack_record(
    s: &'static Shared,
    head: &[u64; STACK_HEAD],
    stack: &Captured,
    wait: bool,
) -> bool {
    if stack.frames == 0 {
        return push_with_thread(s, head, &[], wait);
    }
    // SAFETY: a stack was captured, so this thread holds the GIL: the scratch is its alone.
    let (frames, sent) = unsafe { (&*SCRATCH.frames.get(), &mut *SCRATCH.sent.get()) };
    let body: &[u64] = if stack.known {
        &[]
    } else {
        &frames[..2 * stack.frames]
    };
    let pushed = push_with_thread(s, head, body, wait);
    if pushed && !stack.known {
        sent[stack.hash as usize % SENT_SLOTS] = stack.hash;
        for pair in body.chunks_exact(2) {
            // SAFETY: the GIL is held, and each code object was just read from one of this
            // thread's live frames, which holds a reference to it.
            unsafe { kept_codes::keep(pair[0] as usize) };
        }
    }
    pushed
}

/// Captures the calling thread's stack into the scratch frames. No stack without the GIL.
#[inline(always)]
fn capture(s: &'static Shared) -> Captured {
    let Some(reader) = s.reader.get() else {
        return Captured::NONE;
    };
    // Every caller holds the GIL (MEM and OBJ allocators require it; the GC callback and marks
    // run in Python), so the current thread state is this thread's own (3.10/3.11 keep the
    // GIL holder's; 3.12+ a thread-local).
    let tstate = reader.current_tstate();
    if tstate == 0 {
        return Captured::NONE;
    }
    // SAFETY: this thread holds the GIL, so the scratch is its alone and nothing here runs
    // another thread.
    let (frames, sent, chain) = unsafe {
        (
            &mut *SCRATCH.frames.get(),
            &*SCRATCH.sent.get(),
            &mut *SCRATCH.chain.get(),
        )
    };
    // SAFETY: `tstate` is this thread's own thread state and the thread holds the GIL; the
    // frames and chain are only written here.
    let (n, hash, memo) = unsafe { reader.capture(tstate, frames, chain) };
    // SAFETY: the thread state is live (see above); `tstate_thread_id` is inside it.
    let ident = unsafe {
        std::ptr::read_unaligned((tstate + reader.layout.tstate_thread_id) as *const u64)
    };
    let known = memo || (hash != 0 && sent[hash as usize % SENT_SLOTS] == hash);
    if known && !memo {
        chain.remember(hash);
    }
    Captured {
        frames: n,
        hash,
        known,
        tstate: tstate as u64,
        ident,
    }
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

/// The held slot of `addr` (blocks are 16-byte aligned).
#[inline(always)]
fn held_slot(addr: u64) -> usize {
    (addr >> 4) as usize % HELD_SLOTS
}

/// Holds `block` back (GIL held; it is counted already), sending the one it displaces.
#[inline(always)]
fn hold(s: &'static Shared, block: Held) {
    // SAFETY: a recorded allocation holds the GIL: the held blocks are this thread's alone.
    let slot = unsafe { &mut (*SCRATCH.held.get())[held_slot(block.addr)] };
    if slot.addr != 0 {
        send_alloc(s, slot, true);
    }
    // Field by field, from registers: a copy of the whole block went through the stack, and
    // its wide reloads of the narrow stores just made there waited for them.
    slot.addr = block.addr;
    slot.size = block.size;
    slot.hash = block.hash;
    slot.tstate = block.tstate;
    slot.ident = block.ident;
}

/// Sends an allocation by a stack whose frames went out before, by hash; `counted` when it
/// is a held block, counted in a fold already.
#[inline(never)]
fn send_alloc(s: &'static Shared, block: &Held, counted: bool) {
    let counted = if counted { COUNTED } else { 0 };
    if block.size <= u64::from(u32::MAX) && on_thread(s, block.tstate, block.ident) {
        s.ring.push_parts(
            &[
                header(ALLOC_SHORT, 0, true) | counted | block.size << 32,
                block.addr,
                block.hash,
            ],
            &[],
            true,
        );
        return;
    }
    push_with_thread(
        s,
        &[
            header(ALLOC, 0, true) | counted,
            block.tstate,
            block.ident,
            block.addr,
            block.size,
            block.hash,
        ],
        &[],
        true,
    );
}

/// Makes `tstate` the thread the drain takes the next records to be from, with a THREAD
/// record unless it is already (GIL held); false when that record was lost.
fn on_thread(s: &'static Shared, tstate: u64, ident: u64) -> bool {
    if SCRATCH.thread.get() == tstate {
        return true;
    }
    push_with_thread(s, &[header(THREAD, 0, false), tstate, ident], &[], true)
}

/// Pushes a record that names its thread (`head[1]` is the thread state), which the drain
/// then takes the records without one to be from (GIL held).
fn push_with_thread(s: &'static Shared, head: &[u64], body: &[u64], wait: bool) -> bool {
    let pushed = s.ring.push_parts(head, body, wait);
    if pushed {
        SCRATCH.thread.set(head[1]);
    }
    pushed
}

/// Counts a block about to be held back (GIL held).
#[inline(always)]
fn fold(s: &'static Shared, block: Held) {
    let class = size_class(block.size);
    // The hash is well mixed.
    let key = block.hash ^ class;
    // SAFETY: the caller holds the GIL: the folds are this thread's alone.
    let slot = unsafe { &mut (*SCRATCH.folds.get())[key as usize % FOLD_SLOTS] };
    if slot.count != 0
        && (slot.hash != block.hash || slot.class != class || slot.tstate != block.tstate)
    {
        send_fold(s, slot);
    }
    if slot.count == 0 {
        *slot = Fold {
            count: 0,
            bytes: 0,
            class,
            hash: block.hash,
            tstate: block.tstate,
            ident: block.ident,
        };
    }
    slot.count += 1;
    slot.bytes += block.size;
    let folded = SCRATCH.folded.get() + 1;
    SCRATCH.folded.set(folded);
    if folded >= FOLDS_BETWEEN_SENDS {
        send_folds(s);
    }
}

/// `log2` of the smallest power of two at or above `size` (0 for 0 and 1), the classes of the
/// report's size histogram.
#[inline(always)]
fn size_class(size: u64) -> u64 {
    u64::from(u64::BITS - size.saturating_sub(1).leading_zeros())
}

/// Sends a folded count and empties its slot.
#[inline(never)]
fn send_fold(s: &'static Shared, slot: &mut Fold) {
    push_with_thread(
        s,
        &[
            header(FOLDED, 0, true),
            slot.tstate,
            slot.ident,
            slot.bytes,
            slot.count,
            slot.hash,
        ],
        &[],
        true,
    );
    slot.count = 0;
}

/// Sends every folded count (GIL held).
#[cold]
fn send_folds(s: &'static Shared) {
    // SAFETY: the caller holds the GIL: the folds are this thread's alone.
    let folds = unsafe { &mut *SCRATCH.folds.get() };
    for slot in folds.iter_mut().filter(|f| f.count != 0) {
        send_fold(s, slot);
    }
    SCRATCH.folded.set(0);
}

/// Sends every held block and folded count, so that the record is whole up to now (GIL held).
#[cold]
fn send_held(s: &'static Shared) {
    // SAFETY: the caller holds the GIL: the held blocks are this thread's alone.
    let held = unsafe { &mut *SCRATCH.held.get() };
    for slot in held.iter_mut().filter(|h| h.addr != 0) {
        send_alloc(s, slot, true);
        slot.addr = 0;
    }
    send_folds(s);
}
