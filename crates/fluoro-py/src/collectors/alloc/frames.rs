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
    /// byte offset) pairs into `out`; returns how many pairs.
    ///
    /// # Safety
    /// `tstate` must be the calling thread's own live thread state, and the thread must hold
    /// the GIL.
    pub unsafe fn capture(&self, tstate: usize, out: &mut [u64; 2 * MAX_FRAMES]) -> usize {
        let l = self.layout;
        // SAFETY (whole function): the thread state and its frame chain belong to the calling
        // thread, which holds the GIL and is inside an allocation or collection, so none of it
        // is changing or being freed; offsets come from this interpreter's own headers.
        let mut frame = unsafe {
            match (l.tstate_frame, l.tstate_cframe, l.cframe_current_frame) {
                (Some(at), _, _) => word(tstate + at),
                (None, Some(cf), Some(cur)) => {
                    let cframe = word(tstate + cf);
                    if cframe == 0 {
                        return 0;
                    }
                    word(cframe + cur)
                }
                _ => return 0,
            }
        };
        let mut n = 0;
        let mut steps = 0;
        while frame != 0 && n < MAX_FRAMES && steps < 4 * MAX_FRAMES {
            steps += 1;
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
            if !shim && code != 0 && unsafe { word(code + l.object_type) } == self.code_type {
                let offset = match l.code_adaptive {
                    // SAFETY: 3.10's `f_lasti` is an int inside the live frame object.
                    None => {
                        unsafe { std::ptr::read_unaligned((frame + l.frame_instr) as *const i32) }
                            .max(0) as u64
                            * 2
                    }
                    Some(adaptive) => {
                        // SAFETY: as above, a field of the live frame.
                        let instr = unsafe { word(frame + l.frame_instr) };
                        instr.saturating_sub(code + adaptive).min(u32::MAX as usize) as u64
                    }
                };
                out[2 * n] = code as u64;
                out[2 * n + 1] = offset;
                n += 1;
            }
            if previous == frame {
                break;
            }
            frame = previous;
        }
        n
    }
}
