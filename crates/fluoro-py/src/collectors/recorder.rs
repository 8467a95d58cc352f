//! Turns the stacks read at each tick into samples and streams them to the `.fluoro` file:
//! threads get indices, stacks are interned, CPU time is read per thread, and everything new
//! is flushed a few times a second so that a killed target leaves a readable profile.

use super::cpu_share::{self, CpuShare, Seen};
use crate::cpython::ThreadStack;
use crate::os;
use fluoro_profile::{
    Chunk, CodeId, CodeInfo, End, ExactStats, Meta, ProfileWriter, Sample, StackId, StackInterner,
    ThreadIdx, ThreadInfo, FLAG_ACTIVE, FLAG_GIL,
};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::time::{Duration, Instant};

/// A fixed point all collectors measure time from, so that times taken on the target's
/// threads and on the sampler's agree.
pub fn clock_ns(at: Instant) -> u64 {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    at.saturating_duration_since(base).as_nanos() as u64
}

/// How often buffered records go to the file.
const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// In a followed child, which pool workers end with `os._exit` or SIGTERM: what a killed
/// child loses is at most this much.
const CHILD_FLUSH_EVERY: Duration = Duration::from_millis(50);

/// How often the waiting tasks' readings go to the file (and the most a killed target loses
/// of them).
const TASKS_FLUSH_EVERY: Duration = Duration::from_secs(1);

/// A thread is active in an interval when it used at least this share of it on CPU.
const ACTIVE_SHARE: u64 = 10;

struct Slot {
    idx: ThreadIdx,
    last_wall: Instant,
    last_cpu: Option<u64>,
    /// Which of its samples take the CPU it used.
    cpu: CpuShare,
    /// The stack of its last sample on a CPU, which CPU left unassigned goes to when the
    /// thread is gone (or the run ends) before another.
    last_active: Option<StackId>,
    /// The tick that last saw the thread.
    seen: u64,
}

/// Times a thread's name is looked up before it is left unnamed (threads `threading` does
/// not know, such as those started from C, never get one).
const NAME_ATTEMPTS: u8 = 8;

/// The writing end of a profile.
pub struct Recorder {
    writer: ProfileWriter<File>,
    start: Instant,
    stacks: StackInterner,
    slots: HashMap<(usize, u64), Slot>,
    threads: Vec<ThreadInfo>,
    /// Name lookups left per thread index.
    name_attempts: Vec<u8>,
    fresh_threads: Vec<(ThreadIdx, ThreadInfo)>,
    fresh_codes: Vec<(CodeId, CodeInfo)>,
    /// Codes of the calls that block ([`cpu_share::blocks`]).
    blocking: HashSet<CodeId>,
    pending: Vec<Sample>,
    /// Memory records, in the order they happened (allocations, marks, collections).
    pending_memory: Vec<Chunk>,
    /// asyncio tasks seen waiting, and why tasks are not read (`fluoro run --async`): `None`
    /// when tasks are not looked for.
    pending_tasks: Option<fluoro_profile::TaskBatch>,
    tasks_written: bool,
    /// The last flush is under way: everything buffered goes out.
    finishing: bool,
    /// Waiting stacks read since the last batch, by stack: a thousand tasks read 25 times a
    /// second go out as a thousand records a second, not 25,000.
    awaiting: HashMap<StackId, fluoro_profile::TaskWait>,
    last_tasks_flush: Instant,
    /// The stack standing for allocations made with no Python frame to blame.
    native_stack: Option<StackId>,
    last_flush: Instant,
    flush_every: Duration,
    frames: Vec<fluoro_profile::Frame>,
    pub samples: u64,
    /// Ticks recorded so far.
    ticks: u64,
    pub failed_reads: u64,
    /// CPU time of the sampler thread, set when it stops.
    pub sampler_cpu_ns: u64,
    /// The first write error; the run goes on without the profile.
    pub error: Option<String>,
}

impl Recorder {
    /// Starts a profile in `file` with its header; or, for a followed child `process`,
    /// continues its parent's (`file` opened for appending).
    pub fn new(
        file: File,
        meta: Meta,
        process: Option<fluoro_profile::ProcessTag>,
    ) -> std::io::Result<Recorder> {
        let (mut writer, flush_every) = match process {
            None => (ProfileWriter::new(file)?, FLUSH_EVERY),
            Some(tag) => (ProfileWriter::for_process(file, tag), CHILD_FLUSH_EVERY),
        };
        writer.write(&Chunk::Meta(meta))?;
        let now = Instant::now();
        Ok(Recorder {
            writer,
            start: now,
            stacks: StackInterner::new(),
            slots: HashMap::new(),
            threads: Vec::new(),
            name_attempts: Vec::new(),
            fresh_threads: Vec::new(),
            fresh_codes: Vec::new(),
            blocking: HashSet::new(),
            pending: Vec::new(),
            pending_memory: Vec::new(),
            pending_tasks: None,
            tasks_written: false,
            finishing: false,
            awaiting: HashMap::new(),
            last_tasks_flush: now,
            native_stack: None,
            last_flush: now,
            flush_every,
            frames: Vec::new(),
            samples: 0,
            ticks: 0,
            failed_reads: 0,
            sampler_cpu_ns: 0,
            error: None,
        })
    }

    pub fn add_codes(&mut self, codes: Vec<(CodeId, CodeInfo)>) {
        let blocking = codes
            .iter()
            .filter(|(_, info)| cpu_share::blocks(&info.filename, &info.qualname));
        self.blocking.extend(blocking.map(|(id, _)| *id));
        self.fresh_codes.extend(codes);
    }

    /// Records one tick: a sample for every thread whose stack was read whole.
    pub fn record(
        &mut self,
        now: Instant,
        stacks: &[ThreadStack],
        gil: Option<usize>,
        interval: Duration,
    ) {
        self.ticks += 1;
        let tick = self.ticks;
        for stack in stacks {
            if stack.torn {
                // Dropped; the thread's next sample covers this interval's wall time.
                self.failed_reads += 1;
                continue;
            }
            // The stack reader says whether the thread was working when it read the stack: on
            // a CPU (its clock moved), or waiting for one (state R), as on a busy machine or on
            // the sampler's own core. The GIL reader cannot tell; its samples get CPU as the
            // clock moved.
            let cpu_now = match stack.cpu {
                Some((clock, _)) => Some(clock),
                None => os::thread_cpu_ns(stack.native_id),
            };
            self.frames.clear();
            self.frames.extend(stack.frames.iter().rev());
            let stack_id = self.stacks.intern(self.frames.iter().copied());
            let holds_gil = gil == Some(stack.tstate);
            let waits = stack
                .frames
                .first()
                .is_some_and(|f| self.blocking.contains(&f.code));
            let slot = self.slot(stack, now, interval, cpu_now);
            let wall_ns = now.saturating_duration_since(slot.last_wall).as_nanos() as u64;
            let used = match (cpu_now, slot.last_cpu) {
                (Some(now), Some(before)) => now.saturating_sub(before),
                _ => 0,
            };
            slot.last_wall = now;
            slot.last_cpu = cpu_now.or(slot.last_cpu);
            let seen = match stack.cpu {
                Some((_, moved)) => Seen::Read {
                    moved,
                    runnable: stack.active,
                    holds_gil,
                    waits,
                },
                None => Seen::Unknown,
            };
            let (cpu_ns, working) = slot.cpu.take(seen, stack_id, used);
            let active = match seen {
                Seen::Read { runnable, .. } => working || runnable,
                Seen::Unknown => used * ACTIVE_SHARE >= wall_ns && used > 0,
            };
            if working {
                slot.last_active = Some(stack_id);
            }
            slot.seen = tick;
            let thread = slot.idx;
            let mut flags = 0;
            if holds_gil {
                flags |= FLAG_GIL;
            }
            if active {
                flags |= FLAG_ACTIVE;
            }
            self.pending.push(Sample {
                thread,
                stack: stack_id,
                time_ns: now.saturating_duration_since(self.start).as_nanos() as u64,
                wall_ns,
                cpu_ns,
                flags,
            });
            self.samples += 1;
        }
        let ticks = self.ticks;
        self.assign_left_cpu(now, |slot| slot.seen != ticks);
        self.flush_if_due(now);
    }

    /// Gives the CPU left unassigned by the threads `gone` picks to the stack of their last
    /// sample on a CPU, as a sample of no wall time: a thread that ended used it after that
    /// sample, with no later one to take it.
    fn assign_left_cpu(&mut self, now: Instant, gone: impl Fn(&Slot) -> bool) {
        let time_ns = self.elapsed_ns(now);
        for slot in self.slots.values_mut() {
            if slot.cpu.unassigned == 0 || !gone(slot) {
                continue;
            }
            if let Some(stack) = slot.last_active {
                self.pending.push(Sample {
                    thread: slot.idx,
                    stack,
                    time_ns,
                    wall_ns: 0,
                    cpu_ns: std::mem::take(&mut slot.cpu.unassigned),
                    flags: FLAG_ACTIVE,
                });
            }
        }
    }

    /// Flushes when the last flush is old enough.
    pub fn flush_if_due(&mut self, now: Instant) {
        if now.saturating_duration_since(self.last_flush) >= self.flush_every {
            self.flush();
        }
    }

    /// The thread's slot, created on first sight: its first sample stands for one interval.
    /// A thread there at the first tick (or the main thread) counts CPU from there; one that
    /// started later counts all the CPU its clock shows, used since the run began.
    fn slot(
        &mut self,
        stack: &ThreadStack,
        now: Instant,
        interval: Duration,
        cpu_now: Option<u64>,
    ) -> &mut Slot {
        let started_later = self.ticks > 1
            && stack.cpu.is_some()
            && super::names::main_thread() != Some(stack.ident);
        let threads = &mut self.threads;
        let attempts = &mut self.name_attempts;
        let fresh = &mut self.fresh_threads;
        self.slots
            .entry((stack.tstate, stack.ident))
            .or_insert_with(|| {
                let idx = threads.len() as ThreadIdx;
                let info = ThreadInfo {
                    ident: stack.ident,
                    native_id: stack.native_id,
                    name: String::new(),
                };
                threads.push(info.clone());
                attempts.push(NAME_ATTEMPTS);
                fresh.push((idx, info));
                Slot {
                    idx,
                    last_wall: now.checked_sub(interval).unwrap_or(now),
                    last_cpu: if started_later { Some(0) } else { cpu_now },
                    cpu: CpuShare::default(),
                    last_active: None,
                    seen: 0,
                }
            })
    }

    /// Nanoseconds from the session's start to `now`.
    pub fn elapsed_ns(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.start).as_nanos() as u64
    }

    /// A time measured by [`clock_ns`], as nanoseconds since the
    /// session started.
    pub fn session_ns(&self, clock_ns: u64) -> u64 {
        clock_ns.saturating_sub(self::clock_ns(self.start))
    }

    /// The index of the thread with this thread state, added on first sight.
    pub fn thread_for(&mut self, tstate: usize, ident: u64) -> ThreadIdx {
        if let Some(slot) = self.slots.get(&(tstate, ident)) {
            return slot.idx;
        }
        let now = Instant::now();
        let stack = ThreadStack {
            tstate,
            ident,
            native_id: 0,
            frames: Vec::new(),
            addresses: Vec::new(),
            torn: false,
            cpu: None,
            active: false,
        };
        self.slot(&stack, now, Duration::ZERO, None).idx
    }

    /// The id of a stack given outermost frame first; an empty stack gets a stand-in frame
    /// (`<no Python frame>`), so that every recorded stack has a frame to show.
    pub fn intern(&mut self, frames: &[fluoro_profile::Frame]) -> StackId {
        if frames.is_empty() {
            if let Some(id) = self.native_stack {
                return id;
            }
            let code = CodeId::MAX;
            self.fresh_codes.push((
                code,
                CodeInfo {
                    filename: "<native>".into(),
                    name: "<no Python frame>".into(),
                    qualname: "<no Python frame>".into(),
                    firstlineno: 0,
                    lines: Vec::new(),
                },
            ));
            let id = self
                .stacks
                .intern(std::iter::once(fluoro_profile::Frame { code, offset: 0 }));
            self.native_stack = Some(id);
            return id;
        }
        self.stacks.intern(frames.iter().copied())
    }

    /// The frames of stack `id`, outermost first.
    pub fn frames_of(&self, id: StackId) -> Vec<fluoro_profile::Frame> {
        self.stacks.frames(id)
    }

    /// Notes that asyncio tasks are looked for: the profile says so even if none is seen.
    pub fn track_tasks(&mut self) {
        self.pending_tasks.get_or_insert_with(Default::default);
    }

    /// Records tasks seen waiting, each a stack (outermost frame first) and the wall time its
    /// reading stands for.
    pub fn record_awaiting(&mut self, now: Instant, waits: Vec<(Vec<fluoro_profile::Frame>, u64)>) {
        let time_ns = self.elapsed_ns(now);
        for (frames, wall_ns) in waits {
            let stack = self.stacks.intern(frames.iter().copied());
            let wait = self
                .awaiting
                .entry(stack)
                .or_insert(fluoro_profile::TaskWait {
                    stack,
                    time_ns,
                    wall_ns: 0,
                    readings: 0,
                });
            wait.time_ns = time_ns;
            wait.wall_ns += wall_ns;
            wait.readings += 1;
        }
    }

    /// Records once why asyncio tasks are not read.
    pub fn note_tasks(&mut self, note: String) {
        self.pending_tasks.get_or_insert_with(Default::default).note = Some(note);
    }

    /// Queues a memory chunk; it goes out with the next flush, after the definitions.
    pub fn push_memory(&mut self, chunk: Chunk) {
        self.pending_memory.push(chunk);
    }

    /// Writes everything buffered, definitions before the samples that use them.
    pub fn flush(&mut self) {
        self.last_flush = Instant::now();
        let mut chunks = Vec::new();
        if !self.fresh_codes.is_empty() {
            chunks.push(Chunk::Codes(std::mem::take(&mut self.fresh_codes)));
        }
        if let Some((first, nodes)) = self.stacks.take_new() {
            chunks.push(Chunk::Stacks { first, nodes });
        }
        if !self.fresh_threads.is_empty() {
            chunks.push(Chunk::Threads(std::mem::take(&mut self.fresh_threads)));
        }
        if !self.pending.is_empty() {
            chunks.push(Chunk::Samples(std::mem::take(&mut self.pending)));
        }
        chunks.append(&mut self.pending_memory);
        if let Some(tasks) = &mut self.pending_tasks {
            let due = self
                .last_flush
                .saturating_duration_since(self.last_tasks_flush);
            if due >= TASKS_FLUSH_EVERY || self.finishing {
                self.last_tasks_flush = self.last_flush;
                let mut waits: Vec<_> = self.awaiting.drain().map(|(_, w)| w).collect();
                waits.sort_unstable_by_key(|w| w.stack);
                tasks.awaiting.extend(waits);
            }
            // The first batch goes out even when empty: tasks were looked for.
            if tasks.note.is_some() || !tasks.awaiting.is_empty() || !self.tasks_written {
                self.tasks_written = true;
                chunks.push(Chunk::Tasks(std::mem::take(tasks)));
            }
        }
        for chunk in chunks {
            self.write(&chunk);
        }
    }

    fn write(&mut self, chunk: &Chunk) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.writer.write(chunk) {
            self.error = Some(e.to_string());
        }
    }

    /// Threads still without a name and worth another lookup; counts the attempt.
    pub fn unnamed(&mut self) -> Vec<(ThreadIdx, u64)> {
        let mut out = Vec::new();
        for (i, t) in self.threads.iter().enumerate() {
            if t.name.is_empty() && self.name_attempts[i] > 0 {
                self.name_attempts[i] -= 1;
                out.push((i as ThreadIdx, t.ident));
            }
        }
        out
    }

    /// Records names found for threads; they go out with the next flush.
    pub fn set_names(&mut self, names: Vec<(ThreadIdx, String)>) {
        for (idx, name) in names {
            if let Some(t) = self.threads.get_mut(idx as usize) {
                if t.name != name {
                    t.name = name;
                    self.fresh_threads.push((idx, t.clone()));
                }
            }
        }
    }

    /// Thread indices by `threading.get_ident()`, for naming threads at the end.
    pub fn thread_idents(&self) -> Vec<(ThreadIdx, u64)> {
        self.threads
            .iter()
            .enumerate()
            .map(|(i, t)| (i as ThreadIdx, t.ident))
            .collect()
    }

    /// Writes the exact statistics (if any) and the end record.
    pub fn finish(
        mut self,
        exact: Option<ExactStats>,
        memory: Option<fluoro_profile::MemorySettings>,
        mut end: End,
    ) -> Result<(), String> {
        if let Some(memory) = memory {
            self.pending_memory.push(Chunk::Memory(memory));
        }
        self.assign_left_cpu(Instant::now(), |_| true);
        self.finishing = true;
        self.flush();
        if let Some(exact) = exact {
            self.write(&Chunk::Exact(exact));
        }
        end.samples = self.samples;
        end.failed_reads = self.failed_reads;
        end.sampler_cpu_ns = self.sampler_cpu_ns;
        self.write(&Chunk::End(end));
        match self.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
