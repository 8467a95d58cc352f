//! The sampler thread's side of the hook: turns the ring's raw records into allocation
//! batches, collections and marks, with code objects resolved and stacks interned by the same
//! tables as the CPU samples, so one stack id means one stack in both.

use super::hook::{
    self, is_short_free, parse_header, ALLOC, ALLOC_SHORT, COUNTED, FOLDED, FREE, GC_START,
    GC_STOP, MARK, RETAG, STACK_HEAD, TASK, THREAD,
};
use crate::collectors::recorder::Recorder;
use crate::cpython::{CodeTable, Walker};
use fluoro_profile::{
    AllocBatch, AllocEvent, Chunk, CodeId, CodeInfo, Frame, GcEvent, Mark, SnapshotMark, StackId,
    ThreadIdx,
};
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Snapshot marks waiting for the drain, by the index their ring record carries.
static MARKS: Mutex<Vec<Option<SnapshotMark>>> = Mutex::new(Vec::new());

/// Parks a snapshot's contents for the drain; returns the index to push in its record.
pub fn park_mark(mark: SnapshotMark) -> u64 {
    let mut marks = MARKS.lock().unwrap_or_else(|e| e.into_inner());
    marks.push(Some(mark));
    (marks.len() - 1) as u64
}

fn take_mark(index: u64) -> Option<SnapshotMark> {
    let mut marks = MARKS.lock().unwrap_or_else(|e| e.into_inner());
    marks.get_mut(index as usize).and_then(Option::take)
}

/// The event of an allocation record with header `header`: a held block counted already (see
/// [`COUNTED`]) only becomes live.
fn alloc_event(header: u64, thread: ThreadIdx, addr: u64, size: u64, stack: StackId) -> AllocEvent {
    if header & COUNTED != 0 {
        AllocEvent::Live {
            thread,
            addr,
            size,
            stack,
        }
    } else {
        AllocEvent::Alloc {
            thread,
            addr,
            size,
            stack,
        }
    }
}

/// How often the process's RSS is read.
const RSS_EVERY: Duration = Duration::from_millis(20);
/// Events buffered before they go to the file, between the recorder's own flushes.
const BATCH_EVENTS: usize = 1 << 16;

pub struct Drain {
    /// Every allocation is recorded: drain between the sampler's ticks too.
    pub frequent: bool,
    words: Vec<u64>,
    /// Thread index by thread state.
    threads: FxHashMap<u64, ThreadIdx>,
    /// The thread of records that do not name theirs: that of the last record that did.
    thread: ThreadIdx,
    /// Stack id by the hash the hook sent with its frames, for records that send only the hash.
    stacks: FxHashMap<u64, StackId>,
    events: Vec<AllocEvent>,
    gc_open: Option<GcEvent>,
    gc_done: Vec<GcEvent>,
    frames: Vec<Frame>,
    last_rss: Option<Instant>,
    page_size: u64,
    /// The task of the next record, from a TASK record: task, name, depth, stack hash.
    task: Option<[u64; 4]>,
    /// The frames each task's allocations are rooted at (innermost first), by task and name
    /// object, as last read: a task may have ended and been freed by the time the drain reads
    /// its allocations (the drain lags on a busy machine), and was read while it ran.
    roots: FxHashMap<(u64, u64), Vec<Frame>>,
    /// Tasks whose roots were read in this drain.
    looked: FxHashSet<(u64, u64)>,
}

/// A stack (`frames`, outermost first) cut to its `depth + 1` innermost frames, under `root`
/// (innermost first); `None` when the stack is not that deep.
fn under_root(frames: &[Frame], root: &[Frame], depth: usize) -> Option<Vec<Frame>> {
    let cut = frames.len().checked_sub(depth.checked_add(1)?)?;
    Some(root.iter().rev().chain(&frames[cut..]).copied().collect())
}

/// Tasks' roots remembered at most.
const MAX_TASK_ROOTS: usize = 1 << 16;

/// Where the asyncio tasks of sampled allocations are read: the sampler's task tracker.
pub trait TaskRoots {
    /// The frames an allocation made in the task at `addr` (named by the object at `name`)
    /// is rooted at, innermost first; `None` when the task cannot be read.
    fn alloc_root(&mut self, walker: &mut Walker, addr: usize, name: usize) -> Option<Vec<Frame>>;
    /// Codes of the frames first made since the last call.
    fn fresh_codes(&mut self) -> Vec<(CodeId, CodeInfo)>;
}

/// The task reader of a drain, if tasks are read.
pub type Tasks<'a> = Option<&'a mut (dyn TaskRoots + 'static)>;

impl Drain {
    pub fn new(frequent: bool) -> Drain {
        Drain {
            frequent,
            words: Vec::new(),
            threads: FxHashMap::default(),
            thread: 0,
            stacks: FxHashMap::default(),
            events: Vec::new(),
            gc_open: None,
            gc_done: Vec::new(),
            frames: Vec::new(),
            last_rss: None,
            page_size: procfs::page_size(),
            task: None,
            roots: FxHashMap::default(),
            looked: FxHashSet::default(),
        }
    }

    /// Moves everything the hook recorded since the last call into the profile.
    pub fn tick(
        &mut self,
        walker: &mut Walker,
        recorder: &mut Recorder,
        now: Instant,
        mut tasks: Tasks<'_>,
    ) {
        let time_ns = recorder.elapsed_ns(now);
        if self
            .last_rss
            .is_none_or(|t| now.duration_since(t) >= RSS_EVERY)
        {
            self.last_rss = Some(now);
            if let Some(rss) = self.rss() {
                recorder.push_memory(Chunk::Marks(vec![Mark::Rss {
                    time_ns,
                    rss_bytes: rss,
                }]));
            }
        }
        hook::shared_for(false).ring.drain(&mut self.words);
        if self.words.is_empty() {
            return;
        }
        let words = std::mem::take(&mut self.words);
        self.looked.clear();
        let mut at = 0;
        while at < words.len() {
            if is_short_free(words[at]) {
                self.events.push(AllocEvent::Free { addr: words[at] });
                at += 1;
                continue;
            }
            let (kind, n, known) = parse_header(words[at]);
            let tasks = tasks.as_deref_mut();
            let Some(used) = self.record(
                kind,
                n,
                known,
                &words[at..],
                walker,
                recorder,
                time_ns,
                tasks,
            ) else {
                // A record cut short cannot happen with a consistent ring; stop reading
                // rather than misread what follows.
                break;
            };
            at += used;
        }
        self.words = words;
        self.flush_batch(recorder, time_ns);
        if !self.gc_done.is_empty() {
            recorder.push_memory(Chunk::Gc(std::mem::take(&mut self.gc_done)));
        }
    }

    /// Handles one record; returns how many words it used.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        kind: u64,
        n: usize,
        known: bool,
        w: &[u64],
        walker: &mut Walker,
        recorder: &mut Recorder,
        time_ns: u64,
        tasks: Tasks<'_>,
    ) -> Option<usize> {
        // A TASK record is for the record right after it, of its stack, or for none.
        let task = self.task.take();
        let codes = &mut walker.codes;
        match kind {
            ALLOC => {
                let used = STACK_HEAD + if known { 0 } else { 2 * n };
                let w = w.get(..used)?;
                let (thread, mut stack) = self.stack(w, known, codes, recorder);
                if let (Some(task), Some(tasks)) = (task.filter(|t| t[3] == w[5]), tasks) {
                    stack = self.in_task(stack, task, recorder, walker, tasks);
                }
                self.events
                    .push(alloc_event(w[0], thread, w[3], w[4], stack));
                if self.events.len() >= BATCH_EVENTS {
                    self.flush_batch(recorder, time_ns);
                    recorder.flush();
                }
                Some(used)
            }
            FREE => {
                self.events.push(AllocEvent::Free { addr: *w.get(1)? });
                Some(2)
            }
            RETAG => {
                let used = STACK_HEAD + if known { 0 } else { 2 * n };
                let w = w.get(..used)?;
                let (thread, stack) = self.stack(w, known, codes, recorder);
                self.events.push(AllocEvent::Retag {
                    thread,
                    addr: w[3],
                    stack,
                });
                Some(used)
            }
            ALLOC_SHORT => {
                let w = w.get(..3)?;
                let stack = match self.stacks.get(&w[2]) {
                    Some(&stack) => stack,
                    // Its frames were in a record that was lost: nothing to name it by.
                    None => recorder.intern(&[]),
                };
                self.events
                    .push(alloc_event(w[0], self.thread, w[1], w[0] >> 32, stack));
                if self.events.len() >= BATCH_EVENTS {
                    self.flush_batch(recorder, time_ns);
                    recorder.flush();
                }
                Some(3)
            }
            TASK => {
                let w = w.get(..5)?;
                self.task = Some([w[1], w[2], w[3], w[4]]);
                Some(5)
            }
            THREAD => {
                let w = w.get(..3)?;
                self.thread = self.thread_of(w[1], w[2], recorder);
                Some(3)
            }
            FOLDED => {
                let used = STACK_HEAD + if known { 0 } else { 2 * n };
                let w = w.get(..used)?;
                let (thread, stack) = self.stack(w, known, codes, recorder);
                self.events.push(AllocEvent::Folded {
                    thread,
                    bytes: w[3],
                    count: w[4],
                    stack,
                });
                Some(used)
            }
            GC_START => {
                let used = STACK_HEAD + if known { 0 } else { 2 * n };
                let w = w.get(..used)?;
                let (thread, stack) = self.stack(w, known, codes, recorder);
                let start_ns = recorder.session_ns(w[3]);
                self.gc_open = Some(GcEvent {
                    thread,
                    stack,
                    start_ns,
                    duration_ns: 0,
                    generation: w[4] as u8,
                    collected: 0,
                    uncollectable: 0,
                });
                Some(used)
            }
            GC_STOP => {
                let w = w.get(..6)?;
                if let Some(mut gc) = self.gc_open.take() {
                    gc.duration_ns = w[3];
                    gc.collected = w[4];
                    gc.uncollectable = w[5];
                    self.gc_done.push(gc);
                }
                Some(6)
            }
            MARK => {
                let w = w.get(..4)?;
                if let Some(mut mark) = take_mark(w[3]) {
                    // Everything before the mark goes out before it.
                    self.flush_batch(recorder, time_ns);
                    mark.time_ns = recorder.session_ns(mark.time_ns);
                    recorder.push_memory(Chunk::Marks(vec![Mark::Snapshot(mark)]));
                }
                Some(4)
            }
            _ => None,
        }
    }

    fn flush_batch(&mut self, recorder: &mut Recorder, time_ns: u64) {
        if !self.events.is_empty() {
            recorder.push_memory(Chunk::Allocs(AllocBatch {
                time_ns,
                events: std::mem::take(&mut self.events),
            }));
        }
    }

    /// Stack `stack` of an allocation made in a task (`[task, name, depth, hash]` of its TASK
    /// record), rooted at the task: the frames from the task's coroutine inwards (`depth + 1`
    /// of them) under its `<task NAME>` frame and the tasks awaiting it. Unchanged when the
    /// task is gone.
    fn in_task(
        &mut self,
        stack: StackId,
        [task, name, depth, _]: [u64; 4],
        recorder: &mut Recorder,
        walker: &mut Walker,
        tasks: &mut dyn TaskRoots,
    ) -> StackId {
        let key = (task, name);
        if self.looked.insert(key) {
            if let Some(root) = tasks.alloc_root(walker, task as usize, name as usize) {
                if self.roots.len() >= MAX_TASK_ROOTS {
                    self.roots.clear();
                }
                self.roots.insert(key, root);
            }
        }
        let Some(root) = self.roots.get(&key) else {
            return stack;
        };
        recorder.add_codes(tasks.fresh_codes());
        match under_root(&recorder.frames_of(stack), root, depth as usize) {
            Some(frames) => recorder.intern(&frames),
            None => stack,
        }
    }

    /// The thread index and stack id of a stack record (`w` is the whole record).
    fn stack(
        &mut self,
        w: &[u64],
        known: bool,
        codes: &mut CodeTable,
        recorder: &mut Recorder,
    ) -> (ThreadIdx, StackId) {
        let (tstate, ident, hash) = (w[1], w[2], w[5]);
        let thread = self.thread_of(tstate, ident, recorder);
        self.thread = thread;
        if let Some(&stack) = self.stacks.get(&hash) {
            return (thread, stack);
        }
        if known {
            // Its frames were in a record that was lost: nothing to name it by.
            return (thread, recorder.intern(&[]));
        }
        self.frames.clear();
        for pair in w[STACK_HEAD..].chunks_exact(2).rev() {
            if let Some(code) = codes.resolve(pair[0] as usize) {
                self.frames.push(Frame {
                    code,
                    offset: pair[1] as u32,
                });
            }
        }
        let stack = recorder.intern(&self.frames);
        if hash != 0 {
            self.stacks.insert(hash, stack);
        }
        (thread, stack)
    }

    /// The index of the thread with this thread state.
    fn thread_of(&mut self, tstate: u64, ident: u64, recorder: &mut Recorder) -> ThreadIdx {
        match self.threads.get(&tstate) {
            Some(&t) => t,
            None => {
                let t = recorder.thread_for(tstate as usize, ident);
                self.threads.insert(tstate, t);
                t
            }
        }
    }

    fn rss(&self) -> Option<u64> {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        Some(pages * self.page_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(codes: &[u32]) -> Vec<Frame> {
        codes
            .iter()
            .map(|&code| Frame { code, offset: 0 })
            .collect()
    }

    #[test]
    fn a_tasks_allocation_keeps_the_frames_from_its_coroutine_inwards() {
        // <module>, run, the loop's frames, then the task's coroutine (5) and its callees.
        let stack = frames(&[1, 2, 3, 4, 5, 6, 7]);
        // The task's frame, then the coroutine awaiting it and that task's frame.
        let root = frames(&[100, 8, 101]);
        let rooted = under_root(&stack, &root, 2).unwrap();
        assert_eq!(rooted, frames(&[101, 8, 100, 5, 6, 7]));
        // The coroutine innermost.
        assert_eq!(
            under_root(&stack, &root, 0).unwrap(),
            frames(&[101, 8, 100, 7])
        );
        // Deeper than the stack (a frame whose code could not be read is left out of it).
        assert_eq!(under_root(&stack, &root, 7), None);
        assert_eq!(under_root(&stack, &root, usize::MAX), None);
    }
}
