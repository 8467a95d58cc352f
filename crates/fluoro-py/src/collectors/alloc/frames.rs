//! The calling thread's own Python stack, read in place from inside the allocator hook and the
//! GC callback: no copy through the kernel, no allocation.
//!
//! Only the thread's own frames are read, while it holds the GIL: they are not changing (this
//! thread is busy allocating) and cannot be freed under us. CPython's tracemalloc reads the
//! same chain from the same place. Code objects are checked by type before use, so a frame
//! whose executable is not code (3.13) is skipped rather than misread.

use crate::collectors::sampler::layouts::{Layout, FRAME_OWNED_BY_CSTACK};

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
    /// Frames walked, innermost first, and each one's executable and instruction word.
    walked: usize,
    frame: [usize; MAX_STEPS],
    code: [usize; MAX_STEPS],
    instr: [u64; MAX_STEPS],
    /// Whether the walked frame is one of the stack's (a code frame, not a shim).
    counted: [bool; MAX_STEPS],
    /// Walked index of the innermost counted frame, the one whose instruction moves.
    innermost: usize,
    /// Frames in the stack, and the hash of all but the innermost.
    pairs: usize,
    outer_hash: u64,
}

impl ChainCache {
    pub const EMPTY: ChainCache = ChainCache {
        tstate: 0,
        walked: 0,
        frame: [0; MAX_STEPS],
        code: [0; MAX_STEPS],
        instr: [0; MAX_STEPS],
        counted: [false; MAX_STEPS],
        innermost: 0,
        pairs: 0,
        outer_hash: 0,
    };

    /// Forgets the chain (a new session: code objects may have been freed and reused).
    pub fn clear(&mut self) {
        self.tstate = 0;
    }
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

fn with_innermost(outer: u64, code: u64, offset: u64) -> u64 {
    let mut h = (outer.rotate_left(5) ^ code).wrapping_mul(0x517c_c1b7_2722_0a95);
    h = (h.rotate_left(5) ^ offset).wrapping_mul(0x517c_c1b7_2722_0a95);
    h ^= h >> 29;
    h.max(1)
}

/// Where the hook finds what it needs, fixed when tracking starts.
#[derive(Clone, Copy)]
pub struct FrameReader {
    pub layout: &'static Layout,
    pub code_type: usize,
}

/// # Safety
/// `addr` must be readable for 8 bytes.
unsafe fn word(addr: usize) -> usize {
    // SAFETY: the caller guarantees the address is readable; frames and code objects are not
    // always 8-aligned at every field, so read unaligned.
    unsafe { std::ptr::read_unaligned(addr as *const usize) }
}

impl FrameReader {
    /// Writes the thread's frames, innermost first, as (code object address, instruction
    /// byte offset) pairs into `out`; returns how many pairs and the stack's hash.
    /// `cache` holds what the previous call walked; when the chain is the same (frames,
    /// executables and the outer frames' instructions), `out` already holds the outer
    /// frames and only the innermost one is read again.
    ///
    /// # Safety
    /// `tstate` must be the calling thread's own live thread state, and the thread must hold
    /// the GIL. `out` and `cache` must only have been written by this function.
    pub unsafe fn capture(
        &self,
        tstate: usize,
        out: &mut [u64; 2 * MAX_FRAMES],
        cache: &mut ChainCache,
    ) -> (usize, u64) {
        // SAFETY: the caller's guarantees, passed on.
        let current = unsafe { self.current_frame(tstate) };
        if current == 0 {
            return (0, 0);
        }
        if cache.tstate == tstate {
            // SAFETY: as above.
            if let Some(found) = unsafe { self.recapture(current, out, cache) } {
                return found;
            }
        }
        // SAFETY: as above.
        unsafe { self.walk(tstate, current, out, cache) }
    }

    /// The thread's innermost frame, or 0.
    ///
    /// # Safety
    /// As [`FrameReader::capture`].
    unsafe fn current_frame(&self, tstate: usize) -> usize {
        let l = self.layout;
        // SAFETY: the thread state is the caller's own, live, and the offsets come from this
        // interpreter's headers.
        unsafe {
            match (l.tstate_frame, l.tstate_cframe, l.cframe_current_frame) {
                (Some(at), _, _) => word(tstate + at),
                (None, Some(cf), Some(cur)) => {
                    let cframe = word(tstate + cf);
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
    unsafe fn instr(&self, frame: usize) -> u64 {
        let at = frame + self.layout.frame_instr;
        // SAFETY: a field of the live frame (caller).
        unsafe {
            match self.layout.code_adaptive {
                None => std::ptr::read_unaligned(at as *const i32) as u64,
                Some(_) => word(at) as u64,
            }
        }
    }

    /// The byte offset of instruction word `instr` in `code`.
    fn offset(&self, code: usize, instr: u64) -> u64 {
        match self.layout.code_adaptive {
            None => (instr as i32).max(0) as u64 * 2,
            Some(adaptive) => (instr as usize)
                .saturating_sub(code + adaptive)
                .min(u32::MAX as usize) as u64,
        }
    }

    /// The stack again when the chain is the one `cache` remembers; `None` when it is not.
    ///
    /// # Safety
    /// As [`FrameReader::capture`]; `current` is the thread's innermost frame.
    unsafe fn recapture(
        &self,
        current: usize,
        out: &mut [u64; 2 * MAX_FRAMES],
        cache: &mut ChainCache,
    ) -> Option<(usize, u64)> {
        let l = self.layout;
        let mut expected = current;
        for k in 0..cache.walked {
            // The remembered address, not the one just read: the reads of consecutive frames
            // then do not wait for each other.
            let frame = cache.frame[k];
            if expected != frame {
                return None;
            }
            // SAFETY: `frame` is the live frame just reached from the current one by
            // `previous` links (it equals what was read), so it belongs to this thread.
            let (code, previous) =
                unsafe { (word(frame + l.frame_code), word(frame + l.frame_previous)) };
            if code != cache.code[k] {
                return None;
            }
            // SAFETY: as above.
            if k != cache.innermost
                && cache.counted[k]
                && unsafe { self.instr(frame) } != cache.instr[k]
            {
                return None;
            }
            expected = previous;
        }
        if expected != 0 || cache.pairs == 0 {
            return None;
        }
        let k = cache.innermost;
        // SAFETY: a frame of the chain just checked.
        let instr = unsafe { self.instr(cache.frame[k]) };
        if instr != cache.instr[k] {
            cache.instr[k] = instr;
            out[1] = self.offset(cache.code[k], instr);
        }
        Some((
            cache.pairs,
            with_innermost(cache.outer_hash, out[0], out[1]),
        ))
    }

    /// Walks the whole chain from `current`, filling `out` and remembering the chain in
    /// `cache` (unless it was cut short, which a later capture could not check).
    ///
    /// # Safety
    /// As [`FrameReader::recapture`].
    unsafe fn walk(
        &self,
        tstate: usize,
        current: usize,
        out: &mut [u64; 2 * MAX_FRAMES],
        cache: &mut ChainCache,
    ) -> (usize, u64) {
        let l = self.layout;
        // SAFETY (whole function): the thread state and its frame chain belong to the calling
        // thread, which holds the GIL and is inside an allocation or collection, so none of it
        // is changing or being freed; offsets come from this interpreter's own headers.
        let mut frame = current;
        let mut n = 0;
        let mut steps = 0;
        cache.tstate = 0;
        while frame != 0 && n < MAX_FRAMES && steps < MAX_STEPS {
            // SAFETY: see above; `frame` is a live frame of this thread.
            let (previous, code, shim) = unsafe {
                let shim = l
                    .frame_owner
                    .is_some_and(|at| *((frame + at) as *const u8) == FRAME_OWNED_BY_CSTACK);
                (
                    word(frame + l.frame_previous),
                    word(frame + l.frame_code),
                    shim,
                )
            };
            // SAFETY: a live frame holds a strong reference to its executable, an object.
            let counted =
                !shim && code != 0 && unsafe { word(code + l.object_type) } == self.code_type;
            cache.frame[steps] = frame;
            cache.code[steps] = code;
            cache.counted[steps] = counted;
            if counted {
                // SAFETY: see above.
                let instr = unsafe { self.instr(frame) };
                cache.instr[steps] = instr;
                if n == 0 {
                    cache.innermost = steps;
                }
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
        // Only a chain walked to its end can be checked by comparing it again.
        let ended = frame == 0;
        if ended && n > 0 {
            cache.tstate = tstate;
            cache.walked = steps;
            cache.pairs = n;
            cache.outer_hash = outer;
        }
        (n, hash)
    }
}
