//! The calling thread's own Python stack, read in place from inside the allocator hook and the
//! GC callback: no copy through the kernel, no allocation.
//!
//! Only the thread's own frames are read, while it holds the GIL: they are not changing (this
//! thread is busy allocating) and cannot be freed under us. CPython's tracemalloc reads the
//! same chain from the same place. Code objects are checked by type before use, so a frame
//! whose executable is not code (3.13) is skipped rather than misread.

use super::layouts::Layout;

/// Deepest stack recorded, innermost frames kept.
pub const MAX_FRAMES: usize = 128;
/// Most frames walked (code frames and shims) before giving up on a chain.
const MAX_STEPS: usize = 4 * MAX_FRAMES;

/// The chain the last capture walked, frame by frame, with the stack it gave: the next capture
/// finds most chains unchanged (a loop allocating in one function) and then only compares
/// them, reading the frames' addresses from here so that the reads do not wait on each other,
/// and hashes only the innermost frame. Kept per GIL holder by the hook.
pub struct ChainCache {
    /// The thread state the chain is of; 0 when nothing is remembered.
    tstate: usize,
    /// 3.11 and 3.12: the `_PyCFrame` the last capture found the current frame through, so that
    /// the next reads the current frame from it while it checks that it is still the one.
    cframe: usize,
    /// Frames walked, innermost first (shims included); `walked[len].frame` is 0, where the
    /// chain ended.
    walked: [Walked; MAX_STEPS + 1],
    len: usize,
    /// Frames in the stack, and the hash of all but the innermost.
    pairs: usize,
    outer_hash: u64,
    /// Counts the chains remembered: a memo entry holds for the chain it was made on.
    generation: u64,
    /// Hashes the hook already sent, by the innermost instruction word that gave them on
    /// this chain: a loop allocating at a few places finds them here without hashing.
    memo: [Memo; MEMO_SLOTS],
    /// The innermost instruction word of the last capture and its memo slot, when it was on
    /// this chain.
    last_instr: Option<(u64, usize)>,
}

/// Memo slots, indexed by instruction: the sites a loop allocates at, a few dozen instructions
/// apart at most, take a slot each.
const MEMO_SLOTS: usize = 64;

#[derive(Clone, Copy)]
struct Memo {
    generation: u64,
    instr: u64,
    hash: u64,
}

/// One frame of a remembered chain: where it was, its executable and its instruction word.
#[derive(Clone, Copy)]
struct Walked {
    frame: usize,
    code: usize,
    instr: u64,
}

impl ChainCache {
    pub const EMPTY: ChainCache = ChainCache {
        tstate: 0,
        cframe: 0,
        walked: [Walked {
            frame: 0,
            code: 0,
            instr: 0,
        }; MAX_STEPS + 1],
        len: 0,
        pairs: 0,
        outer_hash: 0,
        generation: 1,
        memo: [Memo {
            generation: 0,
            instr: 0,
            hash: 0,
        }; MEMO_SLOTS],
        last_instr: None,
    };

    /// Forgets the chain and the memo (a new session: code objects may have been freed and
    /// reused, and nothing is sent yet).
    pub fn clear(&mut self) {
        self.tstate = 0;
        self.cframe = 0;
        self.generation += 1;
        self.last_instr = None;
    }

    /// Notes that the last capture's stack, of hash `hash`, is known to the drain.
    pub fn remember(&mut self, hash: u64) {
        if let Some((instr, slot)) = self.last_instr {
            self.memo[slot] = Memo {
                generation: self.generation,
                instr,
                hash,
            };
        }
    }
}

/// The memo slot of instruction word `instr`, whose consecutive instructions are `1 << shift`
/// apart: consecutive instructions take consecutive slots.
fn memo_slot(instr: u64, shift: u32) -> usize {
    (instr >> shift) as usize % MEMO_SLOTS
}

/// A stack's hash is its outer frames' hash with the innermost frame mixed in, so that a
/// capture on an unchanged chain mixes in one frame; never 0 for a non-empty stack (0 means no
/// stack).
fn outer_hash(words: &[u64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &w in words {
        h = (h.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    h
}

/// Mixes the innermost frame into the outer frames' hash (two multiplies; every bit of the
/// result depends on the offset, which is all that changes between most captures).
fn with_innermost(outer: u64, code: u64, offset: u64) -> u64 {
    let h = ((outer ^ code).wrapping_mul(0x517c_c1b7_2722_0a95) ^ offset)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h ^ (h >> 32)).max(1)
}

/// `x`, hidden from the optimizer, so that what is learnt from comparing it is not used to
/// replace one compared value by the other.
#[inline(always)]
fn opaque(mut x: usize) -> usize {
    // SAFETY: an empty assembly block: it reads and writes nothing but the register.
    unsafe {
        std::arch::asm!("/* {0} */", inout(reg) x, options(pure, nomem, nostack, preserves_flags))
    };
    x
}

/// Where the hook finds what it needs, fixed when tracking starts.
#[derive(Clone, Copy)]
pub struct FrameReader {
    pub layout: &'static Layout,
    pub code_type: usize,
    /// The address of `_PyRuntime.gilstate.tstate_current` (3.10, 3.11), else 0.
    pub tstate_current: usize,
}

/// # Safety
/// `addr` must be readable for 8 bytes.
unsafe fn word(addr: usize) -> usize {
    // SAFETY: the caller guarantees the address is readable; frames and code objects are not
    // always 8-aligned at every field, so read unaligned.
    unsafe { std::ptr::read_unaligned(addr as *const usize) }
}

impl FrameReader {
    /// The thread state of the calling thread, which holds the GIL: 3.10 and 3.11 keep the
    /// GIL holder's in the runtime, read here in place; later versions keep it in a
    /// thread-local of the interpreter's, which only a call reaches.
    #[inline(always)]
    pub fn current_tstate(&self) -> usize {
        if self.tstate_current != 0 {
            let at = self.tstate_current as *const std::sync::atomic::AtomicUsize;
            // SAFETY: the address of a field of the static `_PyRuntime`, an atomic pointer
            // that CPython itself reads this way.
            return unsafe { &*at }.load(std::sync::atomic::Ordering::Relaxed);
        }
        // SAFETY: only reads the interpreter's current thread state pointer.
        unsafe { pyo3::ffi::compat::PyThreadState_GetUnchecked() as usize }
    }

    /// Writes the thread's frames, innermost first, as (code object address, instruction
    /// byte offset) pairs into `out`; returns how many pairs and the stack's hash.
    /// `cache` holds what the previous call walked; when the chain is the same (frames,
    /// executables and the outer frames' instructions), `out` already holds the outer
    /// frames and only the innermost one is read again.
    ///
    /// # Safety
    /// `tstate` must be the calling thread's own live thread state, and the thread must hold
    /// the GIL. `out` and `cache` must only have been written by this function.
    ///
    /// Also returns whether the hash was found in the memo ([`ChainCache::remember`]), which
    /// says it is known to the drain; `out` is then not brought up to date.
    #[inline(always)]
    pub unsafe fn capture(
        &self,
        tstate: usize,
        out: &mut [u64; 2 * MAX_FRAMES],
        cache: &mut ChainCache,
    ) -> (usize, u64, bool) {
        // SAFETY: the caller's guarantees, passed on.
        let current = unsafe { self.current_frame(tstate, cache) };
        cache.last_instr = None;
        if current == 0 {
            return (0, 0, false);
        }
        if cache.tstate == tstate {
            // SAFETY: as above.
            if let Some(found) = unsafe { self.recapture(current, out, cache) } {
                return found;
            }
        }
        // SAFETY: as above.
        let (n, hash) = unsafe { self.walk(tstate, current, out, cache) };
        (n, hash, false)
    }

    /// The thread's innermost frame, or 0.
    ///
    /// Through a `_PyCFrame` (3.11, 3.12), the current frame is read from the one `cache`
    /// remembers while the thread state's is read and compared with it: the two reads do not
    /// wait for each other, and the cframe changes only when the interpreter enters or leaves
    /// its evaluation loop in C.
    ///
    /// # Safety
    /// As [`FrameReader::capture`].
    #[inline(always)]
    unsafe fn current_frame(&self, tstate: usize, cache: &mut ChainCache) -> usize {
        let l = self.layout;
        // SAFETY: the thread state is the caller's own, live, and the offsets come from this
        // interpreter's headers; a cframe is read only once it is known to be the thread
        // state's own, live one.
        unsafe {
            match (l.tstate_frame, l.tstate_cframe, l.cframe_current_frame) {
                (Some(at), _, _) => word(tstate + at),
                (None, Some(cf), Some(cur)) => {
                    let known = cache.cframe;
                    let cframe = word(tstate + cf);
                    // Compared through `opaque`, so that the read below goes to the remembered
                    // address rather than to the one just read.
                    if known != 0 && opaque(cframe ^ known) == 0 {
                        return word(known + cur);
                    }
                    cache.cframe = cframe;
                    if cframe == 0 {
                        0
                    } else {
                        word(cframe + cur)
                    }
                }
                _ => 0,
            }
        }
    }

    /// The word that moves as a frame runs: 3.10's `f_lasti` (an int), later versions'
    /// instruction pointer.
    ///
    /// # Safety
    /// `frame` must be a live frame of the calling thread, which holds the GIL.
    #[inline(always)]
    unsafe fn instr(&self, frame: usize) -> u64 {
        // SAFETY: a field of the live frame (caller); 3.10's int is followed by more fields
        // of the frame object, so eight bytes are readable.
        let w = unsafe { word(frame + self.layout.frame_instr) } as u64;
        match self.layout.code_adaptive {
            None => w & 0xffff_ffff,
            Some(_) => w,
        }
    }

    /// How far apart consecutive instruction words are, as a shift: 3.10's index counts
    /// instructions, later versions' pointer counts two-byte words.
    fn instr_shift(&self) -> u32 {
        match self.layout.code_adaptive {
            None => 0,
            Some(_) => 1,
        }
    }

    /// The byte offset of instruction word `instr` in `code`.
    fn offset(&self, code: usize, instr: u64) -> u64 {
        match self.layout.code_adaptive {
            None => (instr as u32 as i32).max(0) as u64 * 2,
            Some(adaptive) => (instr as usize)
                .saturating_sub(code + adaptive)
                .min(u32::MAX as usize) as u64,
        }
    }

    /// The frame `frame` links to, its executable, and whether it is a code frame (one that
    /// [`FrameReader::capture`] writes a pair for).
    ///
    /// # Safety
    /// `frame` must be a live frame of the calling thread, which holds the GIL.
    #[inline(always)]
    unsafe fn links(&self, frame: usize) -> (usize, usize, bool) {
        let l = self.layout;
        // SAFETY: fields of the live frame (caller), at offsets from this interpreter's
        // headers; a live frame holds a strong reference to its executable, an object.
        unsafe {
            let shim = l
                .frame_owner
                .is_some_and(|at| l.is_shim(*((frame + at) as *const u8)));
            let previous = word(frame + l.frame_previous);
            let code = l.stack_ref_object(word(frame + l.frame_code));
            let counted = !shim && code != 0 && word(code + l.object_type) == self.code_type;
            (previous, code, counted)
        }
    }

    /// The index, innermost first, of the pair [`FrameReader::capture`] writes for the frame
    /// at `target`, if it is a code frame on the calling thread's stack within the frames a
    /// capture keeps.
    ///
    /// # Safety
    /// As [`FrameReader::capture`].
    pub unsafe fn depth_of(
        &self,
        tstate: usize,
        cache: &mut ChainCache,
        target: usize,
    ) -> Option<usize> {
        // SAFETY: the caller's guarantees, passed on; each frame is reached from the current
        // one by `previous` links of live frames.
        let mut frame = unsafe { self.current_frame(tstate, cache) };
        let (mut n, mut steps) = (0, 0);
        while frame != 0 && n < MAX_FRAMES && steps < MAX_STEPS {
            // SAFETY: as above.
            let (previous, _, counted) = unsafe { self.links(frame) };
            if frame == target {
                return counted.then_some(n);
            }
            n += usize::from(counted);
            steps += 1;
            if previous == frame {
                break;
            }
            frame = previous;
        }
        None
    }

    /// The stack again when the chain is the one `cache` remembers; `None` when it is not.
    ///
    /// # Safety
    /// As [`FrameReader::capture`]; `current` is the thread's innermost frame.
    #[inline(always)]
    unsafe fn recapture(
        &self,
        current: usize,
        out: &mut [u64; 2 * MAX_FRAMES],
        cache: &mut ChainCache,
    ) -> Option<(usize, u64, bool)> {
        let l = self.layout;
        let (at_code, at_previous) = (l.frame_code, l.frame_previous);
        let len = cache.len.min(MAX_STEPS);
        let walked = &cache.walked[..=len];
        // The innermost frame is read at the remembered address, compared through `opaque`
        // with the one just read: its reads then wait only on loading that address.
        let innermost = walked[0].frame;
        if len == 0 || opaque(current ^ innermost) != 0 {
            return None;
        }
        // SAFETY: `innermost` is the thread's live innermost frame.
        let (code, previous) = unsafe {
            (
                l.stack_ref_object(word(innermost + at_code)),
                word(innermost + at_previous),
            )
        };
        let mut differs = (code ^ walked[0].code) | (previous ^ walked[1].frame);
        // From 3.11 the instruction word points into the code object: the same word in the
        // same frame means the same code, which is then not read again.
        let by_instr = l.code_adaptive.is_some();
        for k in 1..len {
            if opaque(differs) != 0 {
                return None;
            }
            // The remembered address, not the `previous` link just read (they were compared
            // through `opaque`, so the compiler cannot swap one for the other): the reads of
            // consecutive frames then do not wait for each other.
            let w = walked[k];
            // SAFETY: `w.frame` was reached from the current frame by `previous` links, each
            // compared equal before the frame it leads to is read, so it is a live frame of
            // this thread.
            let (previous, instr) = unsafe { (word(w.frame + at_previous), self.instr(w.frame)) };
            differs = (previous ^ walked[k + 1].frame) | (instr ^ w.instr) as usize;
            if !by_instr {
                // SAFETY: as above.
                differs |= l.stack_ref_object(unsafe { word(w.frame + at_code) }) ^ w.code;
            }
        }
        if opaque(differs) != 0 {
            return None;
        }
        // SAFETY: the current frame, as above.
        let instr = unsafe { self.instr(innermost) };
        let slot = memo_slot(instr, self.instr_shift());
        cache.last_instr = Some((instr, slot));
        let memo = cache.memo[slot];
        if memo.instr == instr && memo.generation == cache.generation {
            return Some((cache.pairs, memo.hash, true));
        }
        if instr != cache.walked[0].instr {
            cache.walked[0].instr = instr;
            out[1] = self.offset(code, instr);
        }
        Some((
            cache.pairs,
            with_innermost(cache.outer_hash, out[0], out[1]),
            false,
        ))
    }

    /// Walks the whole chain from `current`, filling `out` and remembering the chain in
    /// `cache` (unless it was cut short, which a later capture could not check).
    ///
    /// # Safety
    /// As [`FrameReader::recapture`].
    #[cold]
    #[inline(never)]
    unsafe fn walk(
        &self,
        tstate: usize,
        current: usize,
        out: &mut [u64; 2 * MAX_FRAMES],
        cache: &mut ChainCache,
    ) -> (usize, u64) {
        // SAFETY (whole function): the thread state and its frame chain belong to the calling
        // thread, which holds the GIL and is inside an allocation or collection, so none of it
        // is changing or being freed; offsets come from this interpreter's own headers.
        let mut frame = current;
        let mut n = 0;
        let mut steps = 0;
        let mut innermost_first = false;
        cache.tstate = 0;
        while frame != 0 && n < MAX_FRAMES && steps < MAX_STEPS {
            // SAFETY: see above; `frame` is a live frame of this thread.
            let (previous, code, counted) = unsafe { self.links(frame) };
            // SAFETY: see above.
            let instr = unsafe { self.instr(frame) };
            cache.walked[steps] = Walked { frame, code, instr };
            if counted {
                innermost_first |= steps == 0;
                out[2 * n] = code as u64;
                out[2 * n + 1] = self.offset(code, instr);
                n += 1;
            }
            steps += 1;
            if previous == frame {
                break;
            }
            frame = previous;
        }
        let outer = outer_hash(&out[2.min(2 * n)..2 * n]);
        let hash = if n == 0 {
            0
        } else {
            with_innermost(outer, out[0], out[1])
        };
        // Only a chain walked to its end, from a code frame, can be checked by comparing it
        // again (the innermost frame is the one whose instruction is read again).
        let ended = frame == 0;
        if ended && innermost_first {
            cache.generation += 1;
            let instr = cache.walked[0].instr;
            cache.last_instr = Some((instr, memo_slot(instr, self.instr_shift())));
            cache.walked[steps].frame = 0;
            cache.tstate = tstate;
            cache.len = steps;
            cache.pairs = n;
            cache.outer_hash = outer;
        }
        (n, hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn innermost_frames_change_the_hash_and_never_make_it_zero() {
        let outer = outer_hash(&[0x7f00_1000, 40, 0x7f00_2000, 8]);
        let mut seen = std::collections::HashSet::new();
        for code in [0x7f00_3000u64, 0x7f00_3010] {
            for offset in 0..4096u64 {
                let h = with_innermost(outer, code, offset);
                assert_ne!(h, 0);
                assert!(seen.insert(h), "collision at {code:#x}+{offset}");
            }
        }
        // The same frames under other outer frames hash apart.
        let other = outer_hash(&[0x7f00_1000, 42, 0x7f00_2000, 8]);
        assert_ne!(
            with_innermost(outer, 0x7f00_3000, 6),
            with_innermost(other, 0x7f00_3000, 6)
        );
    }

    #[test]
    fn the_memo_holds_for_its_chain_only() {
        let mut cache = ChainCache::EMPTY;
        let slot = memo_slot(0x1234, 1);
        cache.last_instr = Some((0x1234, slot));
        cache.remember(77);
        let memo = cache.memo[slot];
        assert_eq!((memo.instr, memo.hash), (0x1234, 77));
        assert_eq!(memo.generation, cache.generation);
        cache.clear();
        assert_ne!(cache.memo[slot].generation, cache.generation);
        // Without a capture on a remembered chain, nothing is noted.
        cache.remember(99);
        assert_eq!(cache.memo[slot].hash, 77);
    }

    #[test]
    fn nearby_instructions_take_their_own_memo_slots() {
        for shift in [0, 1] {
            let base = 0x7f12_3456_7800u64;
            let slots: std::collections::HashSet<usize> = (0..MEMO_SLOTS as u64)
                .map(|k| memo_slot(base + (k << shift), shift))
                .collect();
            assert_eq!(slots.len(), MEMO_SLOTS);
        }
    }
}
