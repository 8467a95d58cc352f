//! The MEM and OBJ wrappers (called holding the GIL), and what recording an allocation or a
//! free does in either mode.
//!
//! MEM and OBJ: called holding the GIL.
//!
//! Sampling, a wrapper decides before it calls the original whether the call is recorded (the
//! budget is counted down by the size asked for, a free probes the filter), so that on the
//! common path the original is its last call, made as a jump: the wrapper then costs a handful
//! of instructions and no stack frame of its own. Recording every allocation, the address
//! returned is needed on every call. A request that may reach RAW takes the longer way, with
//! [`NESTED`] set around it.
//!
//! The out-of-line paths of the sampling wrappers are `extern "C"`, which cannot unwind, so that
//! the wrappers reach them by a jump too and their common path saves no register.

use super::capture::{capture, push_stack_record, send_alloc, RingSink};
use super::held::{Held, HELD_MAX_SIZE};
use super::record::*;
use super::state::*;
use super::tasks;
use crate::collectors::alloc::live;
use std::ffi::c_void;
use std::sync::atomic::Ordering;

pub(super) extern "C" fn malloc<const ALL: bool>(ctx: *mut c_void, size: usize) -> *mut c_void {
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

pub(super) extern "C" fn calloc<const ALL: bool>(
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

pub(super) extern "C" fn realloc<const ALL: bool>(
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

pub(super) extern "C" fn free<const ALL: bool>(ctx: *mut c_void, ptr: *mut c_void) {
    let o = original(ctx);
    if !ALL {
        // A null pointer needs no test of its own: the set never holds 0, and the original
        // ignores it.
        if live::may_contain(ptr as u64) {
            return release_sampled(o, ptr);
        }
        return (o.free)(o.ctx, ptr);
    }
    if MODE.load(Ordering::Relaxed) == ALL_MODE && !ptr.is_null() && !maybe_other_interpreter() {
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
pub(super) extern "C" fn free_recorded(o: &Calls, ptr: *mut c_void) {
    // Recorded before the block is released, so that its address cannot be handed to another
    // thread and recorded before this free is in the ring.
    push_free(ptr as u64);
    (o.free)(o.ctx, ptr)
}

/// Sampling, an allocation that crossed the budget: made, then sampled.
#[cold]
#[inline(never)]
pub(super) extern "C" fn malloc_sampled(o: &Calls, size: usize) -> *mut c_void {
    let p = (o.malloc)(o.ctx, size);
    if !p.is_null() {
        sample(p as u64, size as u64);
    }
    p
}

/// Sampling, an allocation that may reach RAW.
#[inline(never)]
pub(super) extern "C" fn malloc_nested(o: &Calls, size: usize) -> *mut c_void {
    let p = nested(true, || (o.malloc)(o.ctx, size));
    if !p.is_null() {
        on_alloc::<false>(p as u64, size as u64);
    }
    p
}

/// Sampling, a free of a block that may be a live sample's: recorded if it is, then released.
#[cold]
#[inline(never)]
pub(super) extern "C" fn release_sampled(o: &Calls, ptr: *mut c_void) {
    free_sampled(ptr as u64, false);
    (o.free)(o.ctx, ptr);
}

/// After an allocation: recording every one, records it; sampling, counts the budget down and
/// samples it if it crossed zero.
#[inline(always)]
pub(super) fn on_alloc<const ALL: bool>(addr: u64, size: u64) {
    if ALL {
        if MODE.load(Ordering::Relaxed) == ALL_MODE {
            record_alloc(shared(), addr, size, false);
        }
    } else if budget_crossed(size as usize) {
        sample(addr, size);
    }
}

#[inline(always)]
pub(super) fn on_free<const ALL: bool>(addr: u64) {
    if ALL {
        if MODE.load(Ordering::Relaxed) == ALL_MODE && !maybe_other_interpreter() && !unhold(addr) {
            push_free(addr);
        }
    } else if live::may_contain(addr) {
        free_sampled(addr, false);
    }
}

/// Recording every allocation, empties the held slot of `addr` if it holds that block (GIL
/// held): its allocation was counted and never went out, so its free has nothing to send.
#[inline(always)]
pub(super) fn unhold(addr: u64) -> bool {
    // SAFETY: MEM and OBJ frees hold the GIL: the held blocks are this thread's alone.
    unsafe { &mut *SCRATCH.blocks.get() }.unhold(addr)
}

/// Recording every allocation, sends the free of `addr` (GIL held). Every free goes out,
/// fluoro's own included: a free of a block the record never saw allocated is ignored when the
/// record is read.
pub(super) fn push_free(addr: u64) {
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
pub(super) fn free_sampled(addr: u64, wait: bool) {
    if !in_main_interpreter() {
        return;
    }
    let s = shared();
    if s.live.remove(addr) {
        s.ring
            .push_parts(&[header(FREE, 0, false), addr], &[], wait);
    }
}

/// Records the frees left by threads without the GIL (GIL held), before any record that could
/// be of a block at one of their addresses.
#[inline(always)]
pub(super) fn adopt_orphans(s: &'static Shared, all: bool) {
    if live::orphans_waiting() {
        adopt_orphans_now(s, all);
    }
}

#[cold]
#[inline(never)]
pub(super) fn adopt_orphans_now(s: &'static Shared, all: bool) {
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
pub(super) fn sample(addr: u64, size: u64) {
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

/// Records an allocation with its stack (not cold: recording every allocation, it is the
/// hook's main path; sampled, it is reached through the cold [`sample`]).
///
/// Recording every allocation, a RAW block (`raw`) goes out at once, never held, and joins the
/// live set, which then holds only RAW blocks: their frees may come without the GIL.
#[inline(never)]
pub(super) fn record_alloc(s: &'static Shared, addr: u64, size: u64, raw: bool) {
    if !in_main_interpreter() {
        return;
    }
    // The object the interpreter makes in this block next is this allocation's own.
    LAST_BLOCK.store(addr, Ordering::Relaxed);
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
    if !all {
        tasks::push_task(s, &stack);
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

/// Holds `block` back (GIL held; it is counted already), sending the one it displaces.
#[inline(always)]
pub(super) fn hold(s: &'static Shared, block: Held) {
    // SAFETY: a recorded allocation holds the GIL: the held blocks are this thread's alone.
    unsafe { &mut *SCRATCH.blocks.get() }.hold(&block, &mut RingSink(s));
}

/// Counts a block about to be held back (GIL held).
#[inline(always)]
pub(super) fn fold(s: &'static Shared, block: Held) {
    // SAFETY: the caller holds the GIL: the folds are this thread's alone.
    unsafe { &mut *SCRATCH.blocks.get() }.fold(&block, &mut RingSink(s));
}

/// Sends every held block and folded count, so that the record is whole up to now (GIL held).
#[cold]
pub(super) fn send_held(s: &'static Shared) {
    // SAFETY: the caller holds the GIL: the held blocks are this thread's alone.
    unsafe { &mut *SCRATCH.blocks.get() }.send_all(&mut RingSink(s));
}
