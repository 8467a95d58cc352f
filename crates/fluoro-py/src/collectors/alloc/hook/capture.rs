//! The stack of the allocating thread (GIL held), read in place by the CPython layer's
//! [`FrameReader`], and the records that carry it: in full the first time a session sees a
//! stack, by hash after.

use super::held::{Fold, Held, Sink};
use super::record::*;
use super::state::{Shared, SCRATCH, SENT_SLOTS};
use crate::collectors::alloc::kept_codes;

/// The calling thread's stack, captured into the scratch frames (GIL held), or none.
pub(super) struct Captured {
    pub(super) frames: usize,
    pub(super) hash: u64,
    /// Sent in full before, in this session: the hash is enough.
    pub(super) known: bool,
    pub(super) tstate: u64,
    pub(super) ident: u64,
}

impl Captured {
    pub(super) const NONE: Captured = Captured {
        frames: 0,
        hash: 0,
        known: false,
        tstate: 0,
        ident: 0,
    };

    pub(super) fn head(&self, kind: u64, fields: [u64; 2]) -> [u64; STACK_HEAD] {
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
pub(super) fn push_stack_record(
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
pub(super) fn capture(s: &'static Shared) -> Captured {
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

/// Sends an allocation by a stack whose frames went out before, by hash; `counted` when it
/// is a held block, counted in a fold already.
#[inline(never)]
pub(super) fn send_alloc(s: &'static Shared, block: &Held, counted: bool) {
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
pub(super) fn on_thread(s: &'static Shared, tstate: u64, ident: u64) -> bool {
    if SCRATCH.thread.get() == tstate {
        return true;
    }
    push_with_thread(s, &[header(THREAD, 0, false), tstate, ident], &[], true)
}

/// Pushes a record that names its thread (`head[1]` is the thread state), which the drain
/// then takes the records without one to be from (GIL held).
pub(super) fn push_with_thread(s: &'static Shared, head: &[u64], body: &[u64], wait: bool) -> bool {
    let pushed = s.ring.push_parts(head, body, wait);
    if pushed {
        SCRATCH.thread.set(head[1]);
    }
    pushed
}

/// The ring, as the held blocks' [`Sink`].
pub(super) struct RingSink(pub &'static Shared);

impl Sink for RingSink {
    #[inline(always)]
    fn held_block(&mut self, block: &Held) {
        send_alloc(self.0, block, true);
    }

    /// Sends a folded count.
    #[inline(never)]
    fn fold(&mut self, fold: &Fold) {
        push_with_thread(
            self.0,
            &[
                header(FOLDED, 0, true),
                fold.tstate,
                fold.ident,
                fold.bytes,
                fold.count,
                fold.hash,
            ],
            &[],
            true,
        );
    }
}
