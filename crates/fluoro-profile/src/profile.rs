//! A whole profile read back from its chunks, with samples aggregated per thread and stack:
//! what every renderer and export works from.

use crate::format::{Chunk, ChunkReader, ChunkStream, FormatError};

/// A profile's chunks from its start.
pub(crate) type Chunks<'a> = Box<dyn Iterator<Item = Result<Chunk, FormatError>> + 'a>;
use crate::memory::{Mark, MemoryProfile, Replay, SiteBytes};
use crate::model::{
    CodeId, CodeInfo, End, ExactStats, Frame, Meta, StackId, StackNode, ThreadIdx, ThreadInfo,
    FLAG_ACTIVE, FLAG_GIL, ROOT,
};
use crate::patterns::PatternStats;
use std::collections::HashMap;

/// What one (thread, stack) pair accumulated over the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StackWeight {
    pub thread: ThreadIdx,
    pub stack: StackId,
    pub samples: u64,
    pub wall_ns: u64,
    pub cpu_ns: u64,
    /// Samples taken while the thread held the GIL.
    pub gil_samples: u64,
    /// Samples taken while the thread was using CPU.
    pub active_samples: u64,
    /// Wall time of the other samples, the thread waiting (so reports can set idle apart).
    pub idle_wall_ns: u64,
    /// Bytes allocated (estimated when sampled) and how many allocations.
    pub alloc_bytes: u64,
    pub alloc_count: u64,
    /// Bytes live at the recorded heap's peak.
    pub peak_bytes: u64,
    /// Bytes still live when tracking stopped.
    pub leak_bytes: u64,
}

/// What `fluoro run --async` recorded of asyncio tasks besides the `<task NAME>` frames in the
/// samples' stacks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskProfile {
    /// Why tasks could not be read, if they could not.
    pub note: Option<String>,
    /// Wall time tasks spent waiting, per stack: `<task NAME>`, then the frame parked at an
    /// `await`.
    pub awaiting: Vec<AwaitWeight>,
}

/// The wall time the readings of one waiting stack stand for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AwaitWeight {
    pub stack: StackId,
    pub samples: u64,
    pub wall_ns: u64,
}

impl TaskProfile {
    /// Adds a batch of readings (`index` finds a stack's entry).
    pub(crate) fn add(
        &mut self,
        batch: crate::model::TaskBatch,
        index: &mut HashMap<StackId, usize>,
    ) {
        if batch.note.is_some() {
            self.note = batch.note;
        }
        for wait in batch.awaiting {
            let at = *index.entry(wait.stack).or_insert_with(|| {
                self.awaiting.push(AwaitWeight {
                    stack: wait.stack,
                    ..AwaitWeight::default()
                });
                self.awaiting.len() - 1
            });
            self.awaiting[at].samples += u64::from(wait.readings);
            self.awaiting[at].wall_ns += wait.wall_ns;
        }
    }
}

/// Which weight of a sample a report adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Wall-clock time, every thread, idle or not.
    Wall,
    /// CPU time used by the thread.
    Cpu,
    /// Bytes allocated.
    Alloc,
    /// Bytes live when the heap peaked.
    Peak,
    /// Bytes still live at the end.
    Leak,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::Wall,
        Metric::Cpu,
        Metric::Alloc,
        Metric::Peak,
        Metric::Leak,
    ];

    /// The name users type: `wall`, `cpu`, `alloc`, `peak`, `leak`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Wall => "wall",
            Metric::Cpu => "cpu",
            Metric::Alloc => "alloc",
            Metric::Peak => "peak",
            Metric::Leak => "leak",
        }
    }

    /// One line on what the metric adds up, for `--help`.
    pub fn about(self) -> &'static str {
        match self {
            Metric::Wall => "wall-clock time of every thread, waiting included",
            Metric::Cpu => "CPU time the threads used",
            Metric::Alloc => "bytes allocated",
            Metric::Peak => "bytes live when the heap peaked",
            Metric::Leak => "bytes still live when the run ended",
        }
    }

    /// The unit of [`Metric::of`], as profile formats name it.
    pub fn unit(self) -> &'static str {
        if self.is_bytes() {
            "bytes"
        } else {
            "nanoseconds"
        }
    }

    /// Whether the metric counts bytes (else nanoseconds).
    pub fn is_bytes(self) -> bool {
        matches!(self, Metric::Alloc | Metric::Peak | Metric::Leak)
    }

    /// The metric named `name` (case-insensitive), if any.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// The weight of `w` in nanoseconds.
    pub fn of(self, w: &StackWeight) -> u64 {
        match self {
            Metric::Wall => w.wall_ns,
            Metric::Cpu => w.cpu_ns,
            Metric::Alloc => w.alloc_bytes,
            Metric::Peak => w.peak_bytes,
            Metric::Leak => w.leak_bytes,
        }
    }
}

/// A profile read back from a `.fluoro` file.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub meta: Option<Meta>,
    /// `None` when the target was killed before the session drained.
    pub end: Option<End>,
    pub codes: HashMap<CodeId, CodeInfo>,
    /// Index = stack id; entry 0 stands for [`ROOT`] and is never read.
    pub stacks: Vec<StackNode>,
    pub threads: Vec<ThreadInfo>,
    /// One entry per (thread, stack) that was sampled, in first-seen order.
    pub weights: Vec<StackWeight>,
    pub exact: Option<ExactStats>,
    pub samples: u64,
    /// When each sample was taken and which entry of `weights` it added to, in file order:
    /// for reports that show a time range (8 bytes a sample, no aggregation while reading).
    pub sample_times: Vec<crate::timeline::SampleTime>,
    /// Allocations, GC and RSS, when memory was recorded.
    pub memory: Option<MemoryProfile>,
    /// `fluoro.patterns` instances alive at the end of the run.
    pub patterns: Vec<PatternStats>,
    /// The hot functions' quickened bytecode at the end (`fluoro run --adaptive`).
    pub adaptive: Vec<crate::model::AdaptiveCode>,
    /// asyncio tasks, when the run looked for them (`fluoro run --async`).
    pub tasks: Option<TaskProfile>,
    /// Where the file ends inside a chunk (cut by a full disk or `ulimit -f`): everything
    /// before that byte was read.
    pub ends_early: Option<usize>,
    /// The processes profiled, the first one first (`fluoro run --subprocesses` adds its
    /// children); empty in a profile built by hand.
    pub processes: Vec<crate::processes::ProcessInfo>,
}

impl Profile {
    /// Reads and aggregates a whole `.fluoro` stream, every process of it merged into one
    /// profile. A file cut inside its last chunk reads up to that chunk (see
    /// [`Profile::ends_early`]); a bad chunk before the end is an error.
    pub fn from_bytes(data: &[u8]) -> Result<Profile, FormatError> {
        Profile::read_processes(data, None)
    }

    /// [`Profile::from_bytes`] of the processes with pid `pid` only.
    pub fn from_bytes_of_pid(data: &[u8], pid: u32) -> Result<Profile, FormatError> {
        Profile::read_processes(data, Some(pid))
    }

    pub(crate) fn read_processes(data: &[u8], only: Option<u32>) -> Result<Profile, FormatError> {
        if let Some(split) = crate::processes::split(data)? {
            return split.read(only);
        }
        let mut profile = Profile::from_one(data)?;
        let pid = profile.meta.as_ref().map_or(0, |m| m.pid);
        if only.is_some_and(|only| only != pid) {
            return Err(FormatError::NoPid(only.unwrap_or(0)));
        }
        profile.processes = vec![crate::processes::ProcessInfo::of(&profile, 0, 0)];
        Ok(profile)
    }

    /// Reads a profile from a file one chunk at a time, in the memory of what it aggregates
    /// rather than of the file, as [`Profile::from_bytes_of_pid`] would (`only`: one pid's
    /// processes). A file with child processes is read one process at a time, two passes over
    /// the file each. `None` when it should be read whole instead: a chunk among child
    /// processes' chunks is damaged (a child killed in the middle of a write), which the
    /// whole-file reader passes over.
    pub fn from_file(
        file: &std::fs::File,
        only: Option<u32>,
    ) -> Result<Option<Profile>, FormatError> {
        use std::io::{BufReader, Seek, SeekFrom};
        let mut reader = file;
        let mut open = move |process| -> Result<Chunks<'_>, FormatError> {
            reader
                .seek(SeekFrom::Start(0))
                .map_err(|e| FormatError::Io(e.to_string()))?;
            let buffered = BufReader::with_capacity(1 << 20, reader);
            Ok(Box::new(ChunkStream::of_process(buffered, process)?))
        };
        // A file damaged before any child's chunk is read as one process, as the whole-file
        // reader reads it.
        let tags = crate::format::process_tags(file);
        if tags.is_empty() {
            let mut profile = Profile::from_chunks(|| open(None))?;
            let pid = profile.meta.as_ref().map_or(0, |m| m.pid);
            if only.is_some_and(|only| only != pid) {
                return Err(FormatError::NoPid(only.unwrap_or(0)));
            }
            profile.processes = vec![crate::processes::ProcessInfo::of(&profile, 0, 0)];
            return Ok(Some(profile));
        }
        crate::processes::read_streamed(open, &tags, only)
    }

    /// Reads one process's stream.
    pub(crate) fn from_one(data: &[u8]) -> Result<Profile, FormatError> {
        Profile::from_chunks(|| Ok(Box::new(ChunkReader::new(data)?)))
    }

    /// Reads one process's chunks, from `open`, which gives them from the start each time it
    /// is called: once for the profile, once more for the memory live at the peak.
    pub(crate) fn from_chunks<'a>(
        mut open: impl FnMut() -> Result<Chunks<'a>, FormatError>,
    ) -> Result<Profile, FormatError> {
        let mut profile = Profile {
            stacks: vec![StackNode {
                parent: ROOT,
                frame: Frame { code: 0, offset: 0 },
            }],
            ..Profile::default()
        };
        let mut index: HashMap<(ThreadIdx, StackId), usize> = HashMap::new();
        let mut replay: Option<Replay> = None;
        let mut waits: HashMap<StackId, usize> = HashMap::new();
        for chunk in open()? {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(FormatError::Truncated(at)) if profile.meta.is_some() => {
                    profile.ends_early = Some(at);
                    break;
                }
                Err(e) => return Err(e),
            };
            match chunk {
                Chunk::Meta(meta) => profile.meta = Some(meta),
                Chunk::Codes(codes) => profile.codes.extend(codes),
                Chunk::Stacks { first, nodes } => {
                    if first as usize != profile.stacks.len() {
                        return Err(FormatError::Decode {
                            at: 0,
                            reason: format!(
                                "stacks from {first} follow {} known stacks",
                                profile.stacks.len()
                            ),
                        });
                    }
                    profile.stacks.extend(nodes);
                }
                Chunk::Threads(threads) => {
                    for (idx, info) in threads {
                        let idx = idx as usize;
                        if profile.threads.len() <= idx {
                            profile.threads.resize(
                                idx + 1,
                                ThreadInfo {
                                    ident: 0,
                                    native_id: 0,
                                    name: String::new(),
                                },
                            );
                        }
                        profile.threads[idx] = info;
                    }
                }
                Chunk::Samples(samples) => {
                    for s in samples {
                        profile.samples += 1;
                        let at = *index.entry((s.thread, s.stack)).or_insert_with(|| {
                            profile.weights.push(StackWeight {
                                thread: s.thread,
                                stack: s.stack,
                                ..StackWeight::default()
                            });
                            profile.weights.len() - 1
                        });
                        let w = &mut profile.weights[at];
                        w.samples += 1;
                        w.wall_ns += s.wall_ns;
                        w.cpu_ns += s.cpu_ns;
                        w.gil_samples += u64::from(s.flags & FLAG_GIL != 0);
                        profile.sample_times.push(crate::timeline::SampleTime::new(
                            at as u32, s.time_ns, s.flags,
                        ));
                        if s.flags & FLAG_ACTIVE != 0 {
                            w.active_samples += 1;
                        } else {
                            w.idle_wall_ns += s.wall_ns;
                        }
                    }
                }
                Chunk::Exact(exact) => profile.exact = Some(exact),
                Chunk::Allocs(batch) => replay.get_or_insert_with(Replay::new).batch(&batch),
                Chunk::Memory(settings) => {
                    replay.get_or_insert_with(Replay::new).settings(settings)
                }
                Chunk::Gc(events) => replay.get_or_insert_with(Replay::new).gc(&events),
                Chunk::Marks(marks) => {
                    let r = replay.get_or_insert_with(Replay::new);
                    marks.iter().for_each(|m| r.mark(m));
                }
                Chunk::Patterns(patterns) => profile.patterns = patterns,
                Chunk::Adaptive(codes) => profile.adaptive = codes,
                Chunk::Tasks(batch) => profile
                    .tasks
                    .get_or_insert_with(TaskProfile::default)
                    .add(batch, &mut waits),
                Chunk::End(end) => {
                    for (idx, name) in &end.thread_names {
                        if let Some(t) = profile.threads.get_mut(*idx as usize) {
                            t.name.clone_from(name);
                        }
                    }
                    profile.end = Some(end);
                }
            }
        }
        if profile.meta.is_none() {
            return Err(FormatError::NoMeta);
        }
        if let Some(replay) = replay {
            profile.add_memory(open()?, replay, &mut index);
        }
        profile.check_references()?;
        Ok(profile)
    }

    /// The stack that allocated each block live at the snapshot mark labelled `label` (as
    /// `fluoro.heap` marks a running profile when it writes a heap snapshot), by address;
    /// `None` when the profile has no such mark.
    pub fn live_at_mark(
        data: &[u8],
        label: &str,
    ) -> Result<Option<HashMap<u64, StackId>>, FormatError> {
        let mut replay = Replay::new();
        for chunk in ChunkReader::new(data)? {
            match chunk? {
                Chunk::Memory(settings) => replay.settings(settings),
                Chunk::Allocs(batch) => replay.batch(&batch),
                Chunk::Marks(marks) => {
                    for mark in &marks {
                        if matches!(mark, Mark::Snapshot(s) if s.label == label) {
                            return Ok(Some(replay.live_stacks()));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// Finishes the memory replay (a second pass over the allocations finds what was live at
    /// the peak) and adds its bytes to the per-stack weights.
    fn add_memory(
        &mut self,
        again: Chunks<'_>,
        replay: Replay,
        index: &mut HashMap<(ThreadIdx, StackId), usize>,
    ) {
        let peak_events = replay.peak_events();
        let mut memory = replay.finish();
        // The first pass read every chunk whole, up to any cut: the second stops where it did.
        let batches = again.map_while(Result::ok).filter_map(|chunk| match chunk {
            Chunk::Allocs(batch) => Some(batch),
            _ => None,
        });
        memory.at_peak = Replay::peak_pass(&memory.settings, peak_events, batches);
        let mut add = |sites: &[SiteBytes], set: fn(&mut StackWeight, &SiteBytes)| {
            for site in sites {
                let at = *index.entry((site.thread, site.stack)).or_insert_with(|| {
                    self.weights.push(StackWeight {
                        thread: site.thread,
                        stack: site.stack,
                        ..StackWeight::default()
                    });
                    self.weights.len() - 1
                });
                set(&mut self.weights[at], site);
            }
        };
        add(&memory.allocated, |w, s| {
            w.alloc_bytes = s.bytes;
            w.alloc_count = s.count;
        });
        add(&memory.at_peak, |w, s| w.peak_bytes = s.bytes);
        add(&memory.at_end, |w, s| w.leak_bytes = s.bytes);
        self.memory = Some(memory);
    }

    /// Every stack and weight must name stacks, codes and threads the file defines, so that
    /// renderers can index without checking.
    fn check_references(&self) -> Result<(), FormatError> {
        let bad = |reason: String| Err(FormatError::Decode { at: 0, reason });
        for (id, node) in self.stacks.iter().enumerate().skip(1) {
            if node.parent as usize >= id {
                return bad(format!("stack {id} has parent {} after it", node.parent));
            }
            if !self.codes.contains_key(&node.frame.code) {
                return bad(format!("stack {id} names unknown code {}", node.frame.code));
            }
        }
        for w in &self.weights {
            if w.stack as usize >= self.stacks.len() {
                return bad(format!("a sample names unknown stack {}", w.stack));
            }
            if w.thread as usize >= self.threads.len() {
                return bad(format!("a sample names unknown thread {}", w.thread));
            }
        }
        for w in self.tasks.iter().flat_map(|t| &t.awaiting) {
            if w.stack as usize >= self.stacks.len() {
                return bad(format!("a waiting task names unknown stack {}", w.stack));
            }
        }
        for gc in self.memory.iter().flat_map(|m| &m.gc) {
            if gc.stack as usize >= self.stacks.len() || gc.thread as usize >= self.threads.len() {
                return bad("a collection names an unknown stack or thread".to_owned());
            }
        }
        Ok(())
    }

    /// The frames of `stack`, outermost first.
    pub fn frames(&self, mut stack: StackId) -> Vec<Frame> {
        let mut frames = Vec::new();
        while stack != ROOT {
            let node = self.stacks[stack as usize];
            frames.push(node.frame);
            stack = node.parent;
        }
        frames.reverse();
        frames
    }

    pub fn code(&self, frame: Frame) -> &CodeInfo {
        &self.codes[&frame.code]
    }

    /// The line `frame` is at.
    pub fn line(&self, frame: Frame) -> u32 {
        self.code(frame).line_at(frame.offset)
    }

    /// The display name of thread `idx`: its name, or its ident.
    pub fn thread_name(&self, idx: ThreadIdx) -> String {
        let t = &self.threads[idx as usize];
        if t.name.is_empty() {
            format!("thread {}", t.ident)
        } else {
            t.name.clone()
        }
    }

    /// Total of `metric` over every sample.
    pub fn total(&self, metric: Metric) -> u64 {
        self.weights.iter().map(|w| metric.of(w)).sum()
    }
}
