//! Reads every thread's Python stack from the interpreter's memory, without the GIL.
//!
//! The interpreter goes on running while we read, so every pointer may be stale: all reads go
//! through [`memory::read`], and lists are walked with bounds so that a torn read ends a walk
//! instead of looping.

use super::codes::CodeTable;
use super::frames::FrameReader;
use super::layouts::Layout;
use super::memory::{self, i32_at, usize_at};
use crate::os;
use fluoro_profile::Frame;

/// More threads or frames than this means a list we read was torn.
const MAX_THREADS: usize = 4096;
const MAX_DEPTH: usize = 4096;
/// The most of a thread's data stack copied, and in how many chunks; frames beyond are read
/// one by one.
const MAX_STACK_COPY: usize = 1 << 20;
const MAX_CHUNKS: usize = 64;
/// The smallest data-stack chunk CPython allocates (`DATA_STACK_CHUNK_SIZE`, 16 KiB).
const MIN_CHUNK: usize = 16 * 1024;
/// Bytes copied past the used stack the thread state showed (within the smallest chunk): the
/// frames pushed since it was read.
const STACK_SLACK: usize = 1024;
/// Reads of a thread's stack before it is dropped as never holding still.
const READ_ATTEMPTS: usize = 4;
/// 3.10: frames found returned while a chain was read, each passed over to its caller,
/// before the walk is made again.
const MAX_RETURNED: usize = 4;
/// `_PyStackChunk` (3.11-3.13): `previous`, `size`, `top` (the used length in pointers, saved
/// when a newer chunk was pushed), then the data.
const CHUNK_HEADER: usize = 24;

/// What copying a thread's data stack found.
enum Copied {
    /// Copied, with the innermost frame as read in the same call, live after the copy.
    Live(usize),
    /// The innermost frame had been popped by the end of the copy: the read is made again
    /// (walking from the frame then innermost instead charges the callers with the time of
    /// short calls, measured: a generator expression's share of a run halved).
    Dead,
    /// The thread ran no Python frame when the stack was copied.
    Gone,
    /// Nothing copied: frames are read one by one.
    Nothing,
}

/// Whether a frame read from the data stack's copies held still while it was read.
enum Held {
    Yes,
    No,
    Unread,
}

/// One thread as seen at one tick.
#[derive(Debug, Clone)]
pub struct ThreadStack {
    /// The thread state's address: changes when a thread ends and another starts.
    pub tstate: usize,
    /// `threading.get_ident()`: the `pthread_t`.
    pub ident: u64,
    /// OS thread id, 0 when it could not be found.
    pub native_id: u64,
    /// Innermost frame first.
    pub frames: Vec<Frame>,
    /// Where each of `frames` is and the code object it runs, when the walker keeps them
    /// ([`Walker::keep_addresses`]); else empty.
    pub addresses: Vec<(usize, usize)>,
    /// The walk stopped early on memory that changed under it, or the chain changed while it
    /// was read and again when read once more: the stack cannot be trusted.
    pub torn: bool,
    /// The thread's CPU clock after the read, and whether it moved while the stack was read:
    /// the thread was on a CPU. `None` where the clock cannot be read.
    pub cpu: Option<(u64, bool)>,
    /// On a CPU or waiting for one (state R), rather than asleep or blocked: not idle.
    pub active: bool,
}

/// Where the GIL's state lives.
#[derive(Debug, Clone, Copy)]
enum GilAt {
    /// A fixed address (`_PyRuntime.ceval.gil`, 3.10 and 3.11).
    Fixed(usize),
    /// Behind a pointer at this address (`interp->ceval.gil`, 3.12+).
    Pointer(usize),
    Unknown,
}

pub struct Walker {
    layout: &'static Layout,
    interp: usize,
    gil: GilAt,
    /// 3.10 keeps no OS thread id in its thread states; glibc keeps it in `struct pthread`,
    /// which `pthread_t` points to, at this offset (found at start-up on the calling thread).
    pthread_tid_offset: Option<usize>,
    pub codes: CodeTable,
    /// The address of `_PyRuntime.gilstate.tstate_current` (3.10, 3.11), else 0.
    tstate_current: usize,
    tstate_buf: Vec<u8>,
    frame_buf: Vec<u8>,
    /// The used parts of the current thread's data-stack chunks (3.11+), each copied twice in
    /// one read, with their addresses: frames inside them are read from the first copy and
    /// checked against the second.
    chunks: Vec<(usize, usize, Vec<u8>, Vec<u8>)>,
    chunks_used: usize,
    /// The innermost frame's bytes, read in the same call as the newest chunk's copy when the
    /// frame lies outside it (a generator's or coroutine's frame lives in its object), and
    /// where it was: a frame read on its own after the copy could show a later call's links.
    top_copy: (usize, Vec<u8>),
    /// The copied chunk the frame last read came from (its index in `chunks`).
    frame_chunk: Option<usize>,
    /// The top of the used data stack, read just after the newest chunk's copies; 0 when
    /// unknown.
    used_top: usize,
    /// Each thread's `/proc` stat file, kept open.
    stat_files: std::collections::HashMap<u64, std::fs::File>,
    /// The process read, when it is another one (reads go there through `memory`).
    remote: Option<i32>,
    /// Whether stacks keep their frames' addresses (`fluoro dump --locals`).
    keep_addresses: bool,
    /// 3.10: the frame objects of the chain walked, each with its caller and code as read,
    /// checked again once the walk ends (see [`Walker::objects_held`]); and the buffers of
    /// that check.
    objects: Vec<(usize, usize, usize)>,
    recheck: (Vec<usize>, Vec<u8>, Vec<bool>),
}

impl Walker {
    /// `interp` is the main interpreter's address, `code_type` the address of `PyCode_Type`,
    /// `runtime` that of `_PyRuntime` when the interpreter exports it. Call from a thread
    /// holding the GIL (for the pthread calibration, any thread will do).
    pub fn new(
        layout: &'static Layout,
        interp: usize,
        code_type: usize,
        runtime: Option<usize>,
    ) -> Walker {
        let pthread_tid_offset = if layout.tstate_native_thread_id.is_none() {
            pthread_tid_offset()
        } else {
            None
        };
        Walker::with_tid_offset(layout, interp, code_type, runtime, pthread_tid_offset)
    }

    /// As [`Walker::new`], with where glibc keeps a thread's OS id in `struct pthread` given
    /// (found on this process by [`pthread_tid_offset`] before reads point at another).
    pub fn with_tid_offset(
        layout: &'static Layout,
        interp: usize,
        code_type: usize,
        runtime: Option<usize>,
        pthread_tid_offset: Option<usize>,
    ) -> Walker {
        let gil = match (layout.runtime_gil, layout.interp_gil, runtime) {
            (Some(off), _, Some(rt)) => GilAt::Fixed(rt + off),
            (_, Some(off), _) => GilAt::Pointer(interp + off),
            _ => GilAt::Unknown,
        };
        let tstate_current = match (layout.runtime_tstate_current, runtime) {
            (Some(off), Some(rt)) => rt + off,
            _ => 0,
        };
        Walker {
            layout,
            interp,
            gil,
            tstate_current,
            pthread_tid_offset,
            codes: CodeTable::new(layout, code_type),
            tstate_buf: vec![0; layout.tstate_span()],
            frame_buf: vec![0; layout.frame_span()],
            chunks: Vec::new(),
            chunks_used: 0,
            top_copy: (0, vec![0; layout.frame_span()]),
            frame_chunk: None,
            used_top: 0,
            stat_files: std::collections::HashMap::new(),
            remote: None,
            keep_addresses: false,
            objects: Vec::new(),
            recheck: (Vec::new(), Vec::new(), Vec::new()),
        }
    }

    /// Marks the threads read as another process's: their CPU clocks and states come from
    /// its `/proc` entries.
    pub fn of_process(mut self, pid: i32) -> Walker {
        self.remote = Some(pid);
        self
    }

    /// The layout of the interpreter read.
    pub fn layout(&self) -> &'static Layout {
        self.layout
    }

    /// Makes the stacks read keep where each frame is and its code object, so that what the
    /// frames hold can be read after the walk.
    pub fn keep_addresses(&mut self) {
        self.keep_addresses = true;
    }

    fn cpu_ns(&self, tid: u64) -> Option<u64> {
        match self.remote {
            None => os::thread_cpu_ns(tid),
            Some(pid) => os::task_cpu_ns(pid, tid),
        }
    }

    /// What the allocation hook needs to read its own thread's stack the way this walker
    /// reads others'.
    pub fn frame_reader(&self) -> FrameReader {
        FrameReader {
            layout: self.layout,
            code_type: self.codes.code_type(),
            tstate_current: self.tstate_current,
        }
    }

    /// The thread state holding the GIL, if any.
    pub fn gil_holder(&self) -> Option<usize> {
        let gil = match self.gil {
            GilAt::Fixed(addr) => addr,
            GilAt::Pointer(at) => read_usize(at)?,
            GilAt::Unknown => return None,
        };
        // `locked` (an int) and `last_holder` (a pointer) sit together: one read for both.
        let (locked, holder) = (self.layout.gil_locked, self.layout.gil_last_holder);
        let start = locked.min(holder);
        let mut buf = [0u8; 32];
        let span = (locked + 4).max(holder + 8) - start;
        let buf = buf.get_mut(..span)?;
        memory::read(gil + start, buf).ok()?;
        if i32_at(buf, locked - start) == 0 {
            return None;
        }
        Some(usize_at(buf, holder - start)).filter(|&t| t != 0)
    }

    /// Every thread's stack. Threads with no Python frame are left out.
    pub fn threads(&mut self, out: &mut Vec<ThreadStack>) {
        out.clear();
        self.codes.next_tick();
        let l = self.layout;
        let Some(mut tstate) = read_usize(self.interp + l.interp_threads_head) else {
            return;
        };
        while tstate != 0 && out.len() < MAX_THREADS {
            if memory::read(tstate, &mut self.tstate_buf).is_err() {
                return;
            }
            let next = usize_at(&self.tstate_buf, l.tstate_next);
            let ident = usize_at(&self.tstate_buf, l.tstate_thread_id) as u64;
            let native_id = match l.tstate_native_thread_id {
                Some(at) => usize_at(&self.tstate_buf, at) as u64,
                None => self.tid_of_pthread(ident),
            };
            let cpu_before = self.cpu_ns(native_id);
            let mut stack = ThreadStack {
                tstate,
                ident,
                native_id,
                frames: Vec::new(),
                addresses: Vec::new(),
                torn: false,
                cpu: None,
                active: false,
            };
            self.read_stack(tstate, &mut stack);
            // The thread was on a CPU when its clock moved while its stack was read. Else it
            // may still be working: running or waiting for a CPU (state R), as on a busy
            // machine, or on the sampler's own core, whose wake-up may have just preempted it.
            let after = self.cpu_ns(native_id);
            let moved = matches!((cpu_before, after), (Some(b), Some(a)) if a > b);
            stack.active = moved
                || os::thread_runnable(self.remote, native_id, &mut self.stat_files)
                    .unwrap_or(false);
            stack.cpu = after.map(|clock| (clock, moved));
            if !stack.frames.is_empty() || stack.torn {
                out.push(stack);
            }
            if next == tstate {
                return;
            }
            tstate = next;
        }
    }

    /// Reads the stack of the thread state in `tstate_buf` into `stack`. The thread runs on
    /// while we read: a frame popped and another pushed in its place while the data stack is
    /// copied would join one call's callers to another's callees. So the data stack is copied
    /// twice in one read, which also reads the top of the used stack after the copies: the walk
    /// starts only from a frame still below that top (a popped frame's bytes stay behind it,
    /// its caller's place perhaps taken by another call), and a frame of the chain whose two
    /// copies differ (in its links, its code, or for a caller its instruction) changed while it
    /// was read. Frames of one chain in one chunk must lie end to end (each call pushes its
    /// frame right after its caller's), which a popped frame's leftover bytes inside a newer
    /// call's do not, and below frames that live elsewhere (a generator's) the first on the
    /// data stack must be its innermost. Where nothing was copied (3.10, whose frames are objects of
    /// their own) each frame is read on its own and must be running, and once the walk ends
    /// each must still name the caller and code it was read with. A read that fails these
    /// checks is made again, a few times at most, and the stack dropped (`torn`) if it never
    /// held still.
    fn read_stack(&mut self, tstate: usize, stack: &mut ThreadStack) {
        for attempt in 0..READ_ATTEMPTS {
            if attempt > 0 && memory::read(tstate, &mut self.tstate_buf).is_err() {
                break;
            }
            let Some(at) = self.current_frame_at(tstate) else {
                return;
            };
            let Some(top) = read_usize(at).filter(|&f| f != 0) else {
                return;
            };
            let walked = match self.copy_data_stack(tstate, top, at) {
                Copied::Live(innermost) => self.walk(innermost, stack),
                Copied::Dead => false,
                Copied::Gone => return,
                // 3.10's frames are objects of their own, read one by one, each checked to
                // be running ([`Layout::frame_is_running`]).
                Copied::Nothing => self.walk(top, stack),
            };
            if walked {
                return;
            }
        }
        stack.frames.clear();
        stack.addresses.clear();
        stack.torn = true;
    }

    /// The address of the word holding the innermost frame of the thread state `tstate`
    /// (read into `tstate_buf`).
    fn current_frame_at(&self, tstate: usize) -> Option<usize> {
        let l = self.layout;
        match (l.tstate_frame, l.tstate_cframe, l.cframe_current_frame) {
            (Some(at), _, _) => Some(tstate + at),
            (None, Some(cf), Some(cur)) => {
                let cframe = usize_at(&self.tstate_buf, cf);
                (cframe != 0).then_some(cframe + cur)
            }
            _ => None,
        }
    }

    /// Copies the used parts of the thread's data-stack chunks (thread state `tstate`, read
    /// into `tstate_buf`), where the frames of its running functions live on 3.11+: one read a
    /// chunk instead of one a frame.
    ///
    /// `top`, the innermost frame read a moment before from `current_at`, may have been pushed
    /// after the thread state was read: the copy of the newest chunk reaches past it. The same
    /// call reads the innermost frame again first, and the stack is the one of that moment: in
    /// the microseconds since `top` was read a short call (a generator expression's) may have
    /// ended, its caller returned and its place taken, and only a copy made with the frame it
    /// names holds that frame's callers.
    fn copy_data_stack(&mut self, tstate: usize, top: usize, current_at: usize) -> Copied {
        self.chunks_used = 0;
        self.top_copy.0 = 0;
        self.used_top = 0;
        let (Some(chunk_at), Some(used_at)) = (
            self.layout.tstate_datastack_chunk,
            self.layout.tstate_datastack_top,
        ) else {
            return Copied::Nothing;
        };
        let span = self.frame_buf.len();
        let mut chunk = usize_at(&self.tstate_buf, chunk_at);
        let mut used = usize_at(&self.tstate_buf, used_at).wrapping_sub(chunk);
        if top > chunk && top - chunk < MIN_CHUNK {
            used = used.max(top - chunk + span);
        }
        if used < MIN_CHUNK {
            used = (used + STACK_SLACK).min(MIN_CHUNK);
        }
        let mut copied = 0;
        let mut innermost = Copied::Nothing;
        while chunk != 0 && self.chunks_used < MAX_CHUNKS {
            if used <= CHUNK_HEADER || copied + used > MAX_STACK_COPY {
                break;
            }
            if self.chunks.len() == self.chunks_used {
                self.chunks.push((0, 0, Vec::new(), Vec::new()));
            }
            let (addr, end, copy, again) = &mut self.chunks[self.chunks_used];
            copy.resize(used, 0);
            again.resize(used, 0);
            let read = if self.chunks_used == 0 {
                // The innermost frame's address, the copies, that frame's bytes when it lies
                // outside them (a generator's or coroutine's frame lives in its object), and
                // the top of the used stack, all in one call.
                let mut current = [0u8; 8];
                let mut used_top = [0u8; 8];
                let outside = top < chunk || top >= chunk + used;
                let (top_addr, top_buf) = &mut self.top_copy;
                *top_addr = if outside { top } else { 0 };
                let used_top_at = tstate + used_at;
                let read = if outside {
                    memory::read_parts(&mut [
                        (current_at, &mut current),
                        (chunk, copy),
                        (top, top_buf),
                        (chunk, again),
                        (used_top_at, &mut used_top),
                    ])
                } else {
                    memory::read_parts(&mut [
                        (current_at, &mut current),
                        (chunk, copy),
                        (chunk, again),
                        (used_top_at, &mut used_top),
                    ])
                };
                if read.is_ok() {
                    let (current, used_top) = (
                        usize::from_ne_bytes(current),
                        usize::from_ne_bytes(used_top),
                    );
                    if current == 0 {
                        return Copied::Gone;
                    }
                    if current != top {
                        // Read after the frame's bytes were: not the frame they are.
                        self.top_copy.0 = 0;
                    }
                    self.used_top = used_top;
                    // A frame at or past the top of the used stack after the copies had been
                    // popped: its bytes are what it left behind, its caller's place perhaps
                    // taken by another call (on 3.11/3.12 the `_PyCFrame` of an evaluation
                    // loop that has returned still points at such a frame). Walking from it
                    // would join calls that never called each other.
                    let inside = current >= chunk && current < chunk + used;
                    innermost = if inside && current + span > used_top {
                        Copied::Dead
                    } else {
                        Copied::Live(current)
                    };
                }
                read
            } else {
                memory::read_twice(chunk, copy, again)
            };
            if read.is_err() {
                // Nothing of this read is to be trusted, the innermost frame's copy included.
                self.top_copy.0 = 0;
                self.used_top = 0;
                break;
            }
            *addr = chunk;
            // `_PyStackChunk.size`: the chunk's bytes, header included.
            *end = chunk.saturating_add(usize_at(copy, 8));
            self.chunks_used += 1;
            copied += used;
            if matches!(innermost, Copied::Dead) {
                return innermost;
            }
            // The older chunk's used length is its saved `top`, in pointers after the header.
            let previous = usize_at(copy, 0);
            let mut header = [0u8; CHUNK_HEADER];
            if previous == 0 || memory::read(previous, &mut header).is_err() {
                break;
            }
            used = CHUNK_HEADER.saturating_add(usize_at(&header, 16).saturating_mul(8));
            chunk = previous;
        }
        match self.chunks_used {
            0 => Copied::Nothing,
            _ => innermost,
        }
    }

    /// Reads the frame at `frame` into `frame_buf`, from a data-stack copy when it lies
    /// inside one; `Held::No` when the two copies of the frame differ where its chain is
    /// (the frame changed while it was read: callee and caller may be of different calls).
    fn read_frame(&mut self, frame: usize, innermost: bool) -> Held {
        let span = self.frame_buf.len();
        self.frame_chunk = None;
        if innermost && frame != 0 && frame == self.top_copy.0 {
            self.frame_buf.copy_from_slice(&self.top_copy.1);
            return Held::Yes;
        }
        for (index, (addr, end, copy, again)) in self.chunks[..self.chunks_used].iter().enumerate()
        {
            if frame >= *addr && frame < *end {
                self.frame_chunk = Some(index);
                let at = frame - addr;
                if let (Some(bytes), Some(second)) =
                    (copy.get(at..at + span), again.get(at..at + span))
                {
                    self.frame_buf.copy_from_slice(bytes);
                    return if self.layout.same_chain(bytes, second, innermost) {
                        Held::Yes
                    } else {
                        Held::No
                    };
                }
                // Inside the chunk but past what was in use when it was copied: pushed since.
                return Held::No;
            }
        }
        if memory::read(frame, &mut self.frame_buf).is_ok() {
            Held::Yes
        } else {
            Held::Unread
        }
    }

    /// Walks the chain from `frame`; false when a frame changed while it was read (the walk
    /// is worth making again), with `stack.torn` set when it cannot be trusted either way.
    fn walk(&mut self, mut frame: usize, stack: &mut ThreadStack) -> bool {
        let l = self.layout;
        stack.frames.clear();
        stack.addresses.clear();
        stack.torn = false;
        let mut innermost = true;
        // The frame a yielded generator's went back to, running on as it is read.
        let mut resumed = false;
        // The last frame walked that lies in a copied chunk, and the chunk.
        let mut callee_on_stack: Option<(usize, usize)> = None;
        let mut walked = 0;
        let mut skipped = 0;
        // What the interpreter's entry frame below a generator resumed from C must name as
        // its caller: the data stack's innermost frame when it was copied.
        let mut entry_for: Option<usize> = None;
        // The frame walked last was pushed by a call of the frame it names (3.11-3.13), which
        // must then be running that callee.
        let mut pushed_by_caller = false;
        self.objects.clear();
        while frame != 0 {
            if walked >= MAX_DEPTH {
                stack.torn = true;
                return true;
            }
            walked += 1;
            match self.read_frame(frame, innermost || resumed) {
                Held::Yes => {}
                Held::No => {
                    stack.torn = true;
                    return false;
                }
                Held::Unread => {
                    stack.torn = true;
                    return true;
                }
            }
            if !l.frame_is_running(&self.frame_buf, innermost) {
                // 3.10: a frame that returned while the chain was read (it is freed, or its
                // code's zombie), and with it every frame walked so far, its callees. It
                // still names its caller, where the thread went back to: the walk starts
                // again there, a moment later, when that one is running.
                if skipped < MAX_RETURNED {
                    skipped += 1;
                    stack.frames.clear();
                    stack.addresses.clear();
                    self.objects.clear();
                    innermost = true;
                    frame = usize_at(&self.frame_buf, l.frame_previous);
                    continue;
                }
                stack.torn = true;
                return false;
            }
            let was_innermost = innermost;
            let shim_here = l
                .frame_owner
                .and_then(|at| self.frame_buf.get(at))
                .is_some_and(|&owner| l.is_shim(owner));
            if pushed_by_caller && !shim_here && l.runs_a_callee(&self.frame_buf) == Some(false) {
                // Running on its own (3.11-3.13): the frames walked so far had returned before
                // the copies, and this one is where the thread went on. It may not even be
                // their caller but a new call in its place, of the same size: seen as
                // deltablue's `mark_inputs → Strength.stronger`, twice in 1.2M samples, where
                // `choose_method` had called `stronger`. The walk starts again here.
                if skipped < MAX_RETURNED {
                    skipped += 1;
                    stack.frames.clear();
                    stack.addresses.clear();
                    callee_on_stack = None;
                    entry_for = None;
                    pushed_by_caller = false;
                    innermost = true;
                    walked = 0;
                    continue;
                }
                stack.torn = true;
                return false;
            }
            pushed_by_caller = !shim_here && !resumed && !l.is_entry(&self.frame_buf);
            innermost = false;
            resumed = false;
            if was_innermost && !self.held_as_innermost(frame) {
                stack.torn = true;
                return false;
            }
            if let Some(chunk) = self.frame_chunk {
                // Below frames that live elsewhere (a generator's, the interpreter's entry
                // frame on the C stack), the first on the data stack is its innermost.
                let fits = match callee_on_stack {
                    Some((callee, c)) if c == chunk => self.ends_at(frame, callee, 0),
                    None if walked > 1 && chunk == 0 && self.used_top != 0 => {
                        self.ends_at(frame, self.used_top, self.layout.frame_localsplus)
                    }
                    _ => true,
                };
                if !fits {
                    stack.torn = true;
                    return false;
                }
                callee_on_stack = Some((frame, chunk));
            }
            let previous = usize_at(&self.frame_buf, l.frame_previous);
            if l.frame_is_object() {
                self.objects
                    .push((frame, previous, usize_at(&self.frame_buf, l.frame_code)));
            }
            let shim = l
                .frame_owner
                .and_then(|at| self.frame_buf.get(at))
                .is_some_and(|&owner| l.is_shim(owner));
            if let Some(caller) = entry_for.take() {
                // The entry frame lives on the C stack and was read on its own, after the
                // copies: by then it may be a later call's, naming a frame the generator
                // never ran under. Its caller is the innermost on the data stack, or a
                // generator's frame (one generator resuming another from C).
                if !shim || (previous != caller && !self.is_generator_frame(previous)) {
                    stack.torn = true;
                    return false;
                }
            }
            if !shim {
                let code = l.stack_ref_object(usize_at(&self.frame_buf, l.frame_code));
                match self.codes.resolve(code) {
                    // The interpreter's own trampoline (3.12/3.13) is no call of the program.
                    Some(_) if self.codes.is_shim(code) => {}
                    Some(id) => {
                        let offset = self.offset(code);
                        if offset == 0 && !was_innermost {
                            // A frame with a callee has run past its first instruction (a
                            // `RESUME`, or the set-up before it). One still at its start was
                            // pushed where the callee's caller had been, after the callee's
                            // link was read.
                            stack.torn = true;
                            return false;
                        }
                        stack.frames.push(Frame { code: id, offset });
                        if self.keep_addresses {
                            stack.addresses.push((frame, code));
                        }
                    }
                    // 3.13 frames of non-code executables are skipped; anything else that
                    // is not a code object means the frame changed under us.
                    None if l.version >= (3, 13) => {}
                    None => {
                        stack.torn = true;
                        return false;
                    }
                }
            }
            if previous == frame {
                stack.torn = true;
                return true;
            }
            if previous == 0 && !shim && !was_innermost && l.frame_shim_owner.is_some() {
                // 3.12+: a running frame names its caller, or the entry frame of the C call
                // that started it (the thread's first is one). Only a frame pushed and not yet
                // started names none, and it has no callee: this one's place was taken by a
                // new call after its callee's link to it was read.
                stack.torn = true;
                return false;
            }
            if was_innermost && self.frame_chunk.is_none() && !self.links_to_frame(previous) {
                // A generator's or coroutine's frame, read as it yielded or returned (its link
                // to its caller is gone), or resumed from C, whose entry frame on the C stack
                // (read on its own, later) may be gone: its caller may still be found.
                if let Some(caller) = self.yielded_to(frame) {
                    // Found through the generator, not pushed below it: it runs.
                    pushed_by_caller = false;
                    frame = caller;
                    resumed = true;
                    continue;
                }
                if previous != 0 && self.used_top != 0 {
                    entry_for = self.innermost_on_stack();
                }
            }
            frame = previous;
        }
        if skipped > 0 && stack.frames.is_empty() {
            // Returned frames all the way out: free ones, linked as the free list.
            stack.torn = true;
            return false;
        }
        if !self.objects_held() {
            stack.torn = true;
            return false;
        }
        true
    }

    /// 3.10: whether every frame object of the chain walked still names the caller and code
    /// it was read with. Frames are objects read one by one, and a caller read after its
    /// callee had returned may be a new call's frame in the same object (a freed frame is
    /// taken again from the free list or its code's zombie): `find → remove` was read where
    /// go's `remove → remove` ran, about 22 times in 150,000 samples. A callee that still
    /// names its caller at the end was alive, and so was its caller, while that was read.
    fn objects_held(&mut self) -> bool {
        if self.objects.is_empty() {
            return true;
        }
        let l = self.layout;
        let lo = l.frame_previous.min(l.frame_code);
        let len = l.frame_previous.max(l.frame_code) - lo + 8;
        let (addrs, bytes, ok) = &mut self.recheck;
        addrs.clear();
        addrs.extend(self.objects.iter().map(|&(frame, _, _)| frame + lo));
        memory::read_each(addrs, len, bytes, ok);
        self.objects
            .iter()
            .zip(bytes.chunks_exact(len))
            .zip(ok.iter())
            .all(|((&(_, previous, code), now), &read)| {
                read && usize_at(now, l.frame_previous - lo) == previous
                    && usize_at(now, l.frame_code - lo) == code
            })
    }

    /// Whether the innermost frame, at `frame` and read into `frame_buf`, can be trusted as
    /// read. It can when it lies in a copy of the data stack or was read with one; one read on
    /// its own after the copies (the thread had moved to it since it was first looked for)
    /// only when it lives in a generator's or coroutine's object, which keeps its bytes while
    /// the object lives: the interpreter's entry frame, on the C stack, may be gone.
    fn held_as_innermost(&self, frame: usize) -> bool {
        let l = self.layout;
        if self.frame_chunk.is_some() || frame == self.top_copy.0 || self.chunks_used == 0 {
            return true;
        }
        l.frame_owner
            .and_then(|at| self.frame_buf.get(at))
            .is_some_and(|&owner| Some(owner) == l.frame_owner_generator)
    }

    /// Whether `previous`, the caller named by the innermost frame (in `frame_buf`, outside
    /// the data stack), is a frame to be read as any other: one on the data stack, whose copy
    /// is checked, or a generator's, which lives as long as its object.
    fn links_to_frame(&self, previous: usize) -> bool {
        if previous == 0 {
            return false;
        }
        let in_chunk = self.chunks[..self.chunks_used]
            .iter()
            .any(|(start, end, _, _)| previous >= *start && previous < *end);
        in_chunk || self.is_generator_frame(previous)
    }

    /// Whether the frame at `frame` is owned by a generator or coroutine object (always so
    /// for interpreters whose frames say nothing of their owner).
    fn is_generator_frame(&self, frame: usize) -> bool {
        let l = self.layout;
        l.frame_owner.is_none_or(|at| {
            let mut owner = [0u8; 1];
            memory::read(frame + at, &mut owner).is_ok()
                && Some(owner[0]) == l.frame_owner_generator
        })
    }

    /// The frame below a generator's or coroutine's frame at `frame`, the innermost, read into
    /// `frame_buf`, when its own link does not say: cleared as it yielded or returned, or
    /// naming the interpreter's entry frame on the C stack (it was resumed from C), which may
    /// be gone by the time it is read. That is the innermost frame on the data stack when it
    /// was copied (with the address of the innermost frame, which was this one), if it holds
    /// the generator (as a call's argument, the iterator of a `for`, the receiver of a `yield
    /// from` or `await`, a local) and runs the function that made it. `None` otherwise, as for
    /// one resumed by another generator, whose frame is not on the data stack, by a task, or
    /// by a function it was passed to.
    fn yielded_to(&mut self, frame: usize) -> Option<usize> {
        let l = self.layout;
        let owner = *self.frame_buf.get(l.frame_owner?)?;
        if Some(owner) != l.frame_owner_generator || self.used_top == 0 {
            return None;
        }
        let generator = frame.checked_sub(l.gen_iframe?)?;
        let made = l.stack_ref_object(usize_at(&self.frame_buf, l.frame_code));
        let caller = self.innermost_on_stack()?;
        let (start, _, copy, _) = self.chunks[..self.chunks_used].first()?;
        let frame_words = copy.get(caller - start..self.used_top - start)?;
        let holds = frame_words
            .get(l.frame_localsplus..)?
            .chunks_exact(8)
            .any(|word| l.stack_ref_object(usize_at(word, 0)) == generator);
        // A frame's slots past its stack's top keep what an earlier call's frame left
        // there: the generator's address may be one. The frame must also be of the function
        // that made the generator.
        let maker = l.stack_ref_object(usize_at(frame_words, l.frame_code));
        (holds && self.codes.makes(maker, made)).then_some(caller)
    }

    /// The innermost frame on the data stack when it was copied: the last of the newest
    /// chunk's frames, which lie end to end from its first (the root chunk leaves its first
    /// word unused) to the top of the used stack, read after the copies.
    fn innermost_on_stack(&mut self) -> Option<usize> {
        let l = self.layout;
        let (start, end, copy, _) = self.chunks[..self.chunks_used].first()?;
        let start = *start;
        let top = self.used_top.checked_sub(start)?;
        if self.used_top > *end || top > copy.len() {
            return None;
        }
        let root = usize_at(copy, 0) == 0;
        let mut at = CHUNK_HEADER + if root { 8 } else { 0 };
        let mut innermost = None;
        while at < top {
            let code = l.stack_ref_object(usize_at(copy.get(at..)?, l.frame_code));
            let end = at.checked_add(self.codes.frame_bytes(code).filter(|&b| b > 0)?)?;
            if end > top {
                break;
            }
            innermost = Some(at);
            at = end;
        }
        // No frame fits between the innermost and the top.
        innermost
            .filter(|_| top - at < l.frame_localsplus)
            .map(|at| start + at)
    }

    /// Whether the frame at `frame` (read into `frame_buf` from a chunk's copy) ends at
    /// `callee` (or less than `slack` bytes before it): where the last frame walked in the
    /// same chunk, its callee, starts, or for the first frame of the data stack below frames
    /// that live elsewhere, the top of the used stack (with room for no frame between). A call
    /// pushes its frame right after its caller's, so one chain's frames lie end to end in a
    /// chunk, the innermost ending at the top. A frame that does not was not where the chain
    /// says when the stack was copied: a popped frame whose bytes were left inside a newer
    /// call's, walked from a stale pointer. Frames whose size cannot be read are not judged.
    fn ends_at(&mut self, frame: usize, callee: usize, slack: usize) -> bool {
        let code = self
            .layout
            .stack_ref_object(usize_at(&self.frame_buf, self.layout.frame_code));
        match self.codes.frame_bytes(code) {
            Some(bytes) => frame
                .checked_add(bytes)
                .is_some_and(|end| end <= callee && callee - end <= slack),
            None => true,
        }
    }

    /// The frames at `frames`, each read on its own (suspended coroutines', which no thread
    /// runs), in a few calls: each one's code and instruction, `None` where it is not (or no
    /// longer) a frame of Python code; `bytes` keeps what was read of each,
    /// [`Layout::frame_span`] bytes a frame.
    pub fn frames_at(&mut self, frames: &[usize], bytes: &mut Vec<u8>) -> Vec<Option<Frame>> {
        let mut read = Vec::new();
        let span = self.frame_buf.len();
        memory::read_each(frames, span, bytes, &mut read);
        let l = self.layout;
        bytes
            .chunks_exact(span)
            .zip(read)
            .map(|(frame, ok)| {
                if !ok {
                    return None;
                }
                self.frame_buf.copy_from_slice(frame);
                let code = l.stack_ref_object(usize_at(&self.frame_buf, l.frame_code));
                let id = self.codes.resolve(code)?;
                Some(Frame {
                    code: id,
                    offset: self.offset(code),
                })
            })
            .collect()
    }

    /// The byte offset of the frame's current instruction (frame in `frame_buf`).
    fn offset(&self, code: usize) -> u32 {
        let l = self.layout;
        match l.code_adaptive {
            // 3.10: f_lasti counts 2-byte code units; -1 before the first instruction.
            None => (i32_at(&self.frame_buf, l.frame_instr).max(0) as u32) * 2,
            Some(adaptive) => {
                let instr = usize_at(&self.frame_buf, l.frame_instr);
                instr.saturating_sub(code + adaptive).min(u32::MAX as usize) as u32
            }
        }
    }

    fn tid_of_pthread(&self, pthread: u64) -> u64 {
        let Some(offset) = self.pthread_tid_offset else {
            return 0;
        };
        let mut buf = [0u8; 4];
        match memory::read(pthread as usize + offset, &mut buf) {
            Ok(()) => i32::from_ne_bytes(buf).max(0) as u64,
            Err(_) => 0,
        }
    }
}

fn read_usize(addr: usize) -> Option<usize> {
    let mut buf = [0u8; 8];
    memory::read(addr, &mut buf).ok()?;
    Some(usize::from_ne_bytes(buf))
}

/// Finds where glibc's `struct pthread` keeps the OS thread id: the one 4-byte-aligned word of
/// this thread's `struct pthread` equal to `gettid()`, among the first 2 KiB.
pub fn pthread_tid_offset() -> Option<usize> {
    let me = os::pthread_self() as usize;
    let tid = os::gettid() as i32;
    let mut block = vec![0u8; 2048];
    memory::read(me, &mut block).ok()?;
    let hits: Vec<usize> = (0..block.len() / 4)
        .map(|i| i * 4)
        .filter(|&at| i32_at(&block, at) == tid)
        .collect();
    match hits.as_slice() {
        [only] => Some(*only),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_object_that_changed_since_it_was_read_tears_the_chain() {
        let layout = super::super::layouts::for_version(3, 10).expect("a layout");
        let mut walker = Walker::with_tid_offset(layout, 0, 0, None, None);
        // Two frame objects, laid out as 3.10's: the callee names the caller.
        let words = layout.frame_span().div_ceil(8);
        let mut caller = vec![0usize; words].into_boxed_slice();
        let mut callee = vec![0usize; words].into_boxed_slice();
        let (back, code) = (layout.frame_previous / 8, layout.frame_code / 8);
        caller[code] = 0xc0de_0001;
        callee[code] = 0xc0de_0002;
        callee[back] = caller.as_ptr() as usize;
        let at = |b: &[usize]| b.as_ptr() as usize;
        walker.objects = vec![
            (at(&callee), callee[back], callee[code]),
            (at(&caller), 0, caller[code]),
        ];
        assert!(walker.objects_held());
        // The callee returned (3.10 clears a dead frame's link) while its caller was read:
        // what was read of the caller may be another call's.
        callee[back] = 0;
        assert!(!walker.objects_held());
        callee[back] = at(&caller);
        // A frame object taken again for another code.
        caller[code] = 0xc0de_0003;
        assert!(!walker.objects_held());
        caller[code] = 0xc0de_0001;
        assert!(walker.objects_held());
        // Memory that is gone.
        walker.objects.push((8, 0, 0));
        assert!(!walker.objects_held());
        walker.objects.clear();
        assert!(walker.objects_held());
    }

    #[test]
    fn finds_the_tid_in_struct_pthread() {
        let offset = pthread_tid_offset().expect("glibc keeps the tid in struct pthread");
        let handle = std::thread::spawn(|| (os::pthread_self(), os::gettid()));
        let (pthread, tid) = handle.join().unwrap();
        // The thread has ended: its struct may be gone, which must not crash.
        let _ = memory::read(pthread as usize + offset, &mut [0u8; 4]);
        let me = os::pthread_self() as usize;
        let mut buf = [0u8; 4];
        memory::read(me + offset, &mut buf).unwrap();
        assert_eq!(i32::from_ne_bytes(buf) as u64, os::gettid());
        assert_ne!(tid, 0);
    }
}
