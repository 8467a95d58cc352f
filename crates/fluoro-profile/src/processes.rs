//! Profiles of several processes in one file (`fluoro run --subprocesses`): the first
//! process's chunks as they are, each child's carried in process chunks (see
//! [`ProcessTag`]). Reading splits them into one stream per process, reads each, and merges
//! them into one [`Profile`] whose threads belong to their processes.

use crate::format::{raw_at, ChunkReader, FormatError, ProcessTag, MAGIC, PROCESS_KIND};
use crate::memory::{MemoryProfile, SiteBytes};
use crate::model::{CodeId, CodeInfo, End, Frame, StackId, StackNode, ThreadIdx, ROOT};
use crate::profile::Chunks;
use crate::profile::{Profile, StackWeight};
use std::collections::HashMap;

/// One process of a profile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessInfo {
    pub pid: u32,
    /// 0 for the first process.
    pub ppid: u32,
    pub target: String,
    pub argv: Vec<String>,
    /// When it started, in nanoseconds after the first process started.
    pub start_ns: u64,
    /// Its end record: `None` when it was killed, or left through `os._exit` before it
    /// could write one.
    pub end: Option<End>,
    /// CPU time its samples carry.
    pub cpu_ns: u64,
    pub samples: u64,
    /// The highest its recorded heap went, and its highest resident set size read.
    pub peak_heap_bytes: u64,
    pub peak_rss_bytes: u64,
    /// Its threads, in the merged profile.
    pub threads: Vec<ThreadIdx>,
}

impl ProcessInfo {
    /// What `profile`, read alone, says of its process.
    pub(crate) fn of(profile: &Profile, ppid: u32, start_ns: u64) -> ProcessInfo {
        let meta = profile.meta.as_ref();
        ProcessInfo {
            pid: meta.map_or(0, |m| m.pid),
            ppid,
            target: meta.map(|m| m.target.clone()).unwrap_or_default(),
            argv: meta.map(|m| m.argv.clone()).unwrap_or_default(),
            start_ns,
            end: profile.end.clone(),
            cpu_ns: profile.weights.iter().map(|w| w.cpu_ns).sum(),
            samples: profile.samples,
            peak_heap_bytes: profile.memory.as_ref().map_or(0, |m| m.peak_bytes),
            peak_rss_bytes: profile
                .memory
                .as_ref()
                .and_then(|m| m.rss.iter().map(|&(_, rss)| rss).max())
                .unwrap_or(0),
            threads: (0..profile.threads.len() as ThreadIdx).collect(),
        }
    }
}

/// A file's chunks sorted by process: `None` when it holds one process only.
pub(crate) struct Split {
    first: Vec<u8>,
    children: Vec<(ProcessTag, Vec<u8>)>,
}

/// Sorts the chunks of `data` by process. A child killed in the middle of a write can leave
/// part of a chunk between other processes' whole ones: in a file with children, a damaged
/// stretch is skipped up to the next chunk whose checksums hold.
pub(crate) fn split(data: &[u8]) -> Result<Option<Split>, FormatError> {
    let mut reader = ChunkReader::new(data)?;
    let header_len = reader.header_len();
    let mut first = MAGIC.to_vec();
    first[7] = data[7];
    let mut children: Vec<(ProcessTag, Vec<u8>)> = Vec::new();
    let mut current: HashMap<ProcessTag, usize> = HashMap::new();
    loop {
        let at = reader.position();
        let raw = match reader.next_raw() {
            Ok(Some(raw)) => raw,
            Ok(None) => break,
            // A file of one process so far: read as such, its errors said as such.
            Err(_) if children.is_empty() => return Ok(None),
            Err(FormatError::Truncated(_)) => break,
            Err(_) => match next_whole(data, at + 1, header_len) {
                Some(next) => {
                    reader.seek(next);
                    continue;
                }
                None => break,
            },
        };
        if raw.kind != PROCESS_KIND {
            first.extend_from_slice(raw.whole);
            continue;
        }
        let Some((tag, inner)) = ProcessTag::parse(raw.payload) else {
            continue;
        };
        let at = *current.entry(tag).or_insert_with(|| {
            let mut stream = MAGIC.to_vec();
            stream[7] = data[7];
            children.push((tag, stream));
            children.len() - 1
        });
        children[at].1.extend_from_slice(inner);
    }
    if children.is_empty() {
        return Ok(None);
    }
    Ok(Some(Split { first, children }))
}

/// The offset of the next whole chunk from `from` on, if any.
fn next_whole(data: &[u8], from: usize, header_len: usize) -> Option<usize> {
    (from..data.len().saturating_sub(header_len))
        .find(|&at| matches!(raw_at(data, at, header_len), Ok(Some(_))))
}

impl Split {
    /// Reads every process and merges them; `only` keeps the processes with that pid.
    pub(crate) fn read(self, only: Option<u32>) -> Result<Profile, FormatError> {
        let parent = Profile::from_one(&self.first)?;
        let first_start = parent.meta.as_ref().map_or(0, |m| m.start_unix_ns);
        let parent_pid = parent.meta.as_ref().map_or(0, |m| m.pid);
        let mut merged = Merged::new(first_start);
        if only.is_none_or(|pid| pid == parent_pid) {
            merged.add(parent, 0);
        }
        for (tag, stream) in self.children {
            if only.is_some_and(|pid| pid != tag.pid) {
                continue;
            }
            // A child whose first chunk was lost has nothing to read.
            let Ok(child) = Profile::from_one(&stream) else {
                continue;
            };
            merged.add(child, tag.ppid);
        }
        let mut profile = merged.finish();
        if profile.meta.is_none() {
            return Err(FormatError::NoPid(only.unwrap_or(0)));
        }
        profile.name_threads_by_process();
        Ok(profile)
    }
}

/// [`Split::read`] of a file read one process at a time: `open(None)` gives the first
/// process's chunks from the start of the file, `open(Some(tag))` a child's. `None` when a
/// stream fails anywhere but at the file's cut end: the caller reads the file whole.
pub(crate) fn read_streamed<'f>(
    mut open: impl FnMut(Option<ProcessTag>) -> Result<Chunks<'f>, FormatError>,
    tags: &[ProcessTag],
    only: Option<u32>,
) -> Result<Option<Profile>, FormatError> {
    let Ok(parent) = Profile::from_chunks(|| open(None)) else {
        return Ok(None);
    };
    let first_start = parent.meta.as_ref().map_or(0, |m| m.start_unix_ns);
    let parent_pid = parent.meta.as_ref().map_or(0, |m| m.pid);
    let mut merged = Merged::new(first_start);
    if only.is_none_or(|pid| pid == parent_pid) {
        merged.add(parent, 0);
    } else {
        drop(parent);
    }
    for tag in tags {
        if only.is_some_and(|pid| pid != tag.pid) {
            continue;
        }
        match Profile::from_chunks(|| open(Some(*tag))) {
            Ok(child) => merged.add(child, tag.ppid),
            // A child whose first chunk was lost has nothing to read.
            Err(FormatError::Truncated(_)) => {}
            Err(_) => return Ok(None),
        }
    }
    let mut profile = merged.finish();
    if profile.meta.is_none() {
        return Err(FormatError::NoPid(only.unwrap_or(0)));
    }
    profile.name_threads_by_process();
    Ok(Some(profile))
}

/// Profiles added one after the other into one.
struct Merged {
    profile: Profile,
    first_start: u64,
    codes: HashMap<(String, String, u32), CodeId>,
    nodes: HashMap<StackNode, StackId>,
    /// The process of each `<task NAME>` code: tasks of the same name in two processes are
    /// two tasks.
    task_pids: HashMap<CodeId, u32>,
}

impl Merged {
    fn new(first_start: u64) -> Merged {
        Merged {
            profile: Profile::default(),
            first_start,
            codes: HashMap::new(),
            nodes: HashMap::new(),
            task_pids: HashMap::new(),
        }
    }

    fn add(&mut self, other: Profile, ppid: u32) {
        let start = other.meta.as_ref().map_or(0, |m| m.start_unix_ns);
        let shift = start.saturating_sub(self.first_start);
        let info = ProcessInfo::of(&other, ppid, shift);
        if self.profile.meta.is_none() {
            // The first process read gives the merged profile its header and what is kept
            // for one process only.
            self.profile.meta = other.meta.clone();
            self.profile.end = other.end.clone();
            self.profile.exact = other.exact.clone();
            self.profile.patterns = other.patterns.clone();
            self.profile.adaptive = other.adaptive.clone();
            self.profile.ends_early = other.ends_early;
            self.profile.stacks = vec![StackNode {
                parent: ROOT,
                frame: Frame { code: 0, offset: 0 },
            }];
        }
        let codes: HashMap<CodeId, CodeId> = other
            .codes
            .iter()
            .map(|(&id, code)| {
                let task = code.task_name().is_some();
                let qualname = if task {
                    format!("{}\0{}", code.qualname, info.pid)
                } else {
                    code.qualname.clone()
                };
                let key = (code.filename.clone(), qualname, code.firstlineno);
                let next = self.codes.len() as CodeId;
                let merged = *self.codes.entry(key).or_insert(next);
                if task {
                    self.task_pids.insert(merged, info.pid);
                }
                self.profile
                    .codes
                    .entry(merged)
                    .or_insert_with(|| code.clone());
                (id, merged)
            })
            .collect();
        let mut stacks: Vec<StackId> = vec![ROOT; other.stacks.len()];
        for (id, node) in other.stacks.iter().enumerate().skip(1) {
            let node = StackNode {
                parent: stacks[node.parent as usize],
                frame: Frame {
                    code: codes[&node.frame.code],
                    offset: node.frame.offset,
                },
            };
            stacks[id] = *self.nodes.entry(node).or_insert_with(|| {
                self.profile.stacks.push(node);
                (self.profile.stacks.len() - 1) as StackId
            });
        }
        let first_thread = self.profile.threads.len() as ThreadIdx;
        let thread = |t: ThreadIdx| first_thread + t;
        let mut info = info;
        info.threads = info.threads.iter().map(|&t| thread(t)).collect();
        self.profile.threads.extend(other.threads.iter().cloned());
        let first_weight = self.profile.weights.len() as u32;
        self.profile
            .weights
            .extend(other.weights.iter().map(|w| StackWeight {
                thread: thread(w.thread),
                stack: stack_of(&stacks, w.stack),
                ..*w
            }));
        self.profile.sample_times.extend(
            other
                .sample_times
                .iter()
                .map(|t| t.shifted(first_weight + t.weight, shift)),
        );
        self.profile.samples += other.samples;
        if let Some(tasks) = other.tasks {
            let mine = self.profile.tasks.get_or_insert_with(Default::default);
            if tasks.note.is_some() {
                mine.note = tasks.note;
            }
            mine.awaiting
                .extend(tasks.awaiting.iter().map(|w| crate::profile::AwaitWeight {
                    stack: stack_of(&stacks, w.stack),
                    ..*w
                }));
        }
        if let Some(memory) = other.memory {
            self.add_memory(memory, shift, &|s: &SiteBytes| SiteBytes {
                thread: thread(s.thread),
                stack: stack_of(&stacks, s.stack),
                ..*s
            });
        }
        self.profile.processes.push(info);
    }

    /// Memory figures stay each process's: sites and collections are added, the largest peak
    /// of any process is the profile's (with every process's sites at its own peak), and the
    /// heap and RSS timelines are the first process's.
    fn add_memory(
        &mut self,
        other: MemoryProfile,
        shift: u64,
        site: &dyn Fn(&SiteBytes) -> SiteBytes,
    ) {
        let Some(memory) = &mut self.profile.memory else {
            self.profile.memory = Some(MemoryProfile {
                allocated: other.allocated.iter().map(site).collect(),
                at_peak: other.at_peak.iter().map(site).collect(),
                at_end: other.at_end.iter().map(site).collect(),
                gc: other.gc.iter().map(|g| remap_gc(g, shift, site)).collect(),
                allocated_over_time: Default::default(),
                snapshots: other
                    .snapshots
                    .iter()
                    .map(|s| crate::memory::Snapshot {
                        live: s.live.iter().map(site).collect(),
                        ..s.clone()
                    })
                    .collect(),
                ..other.clone()
            });
            self.add_timeline(&other, shift, site);
            return;
        };
        memory.tracked |= other.tracked;
        memory.allocated_bytes += other.allocated_bytes;
        memory.allocated_count += other.allocated_count;
        memory.allocated.extend(other.allocated.iter().map(site));
        memory.at_peak.extend(other.at_peak.iter().map(site));
        // Which process the peak is of is settled in `finish`.
        memory.at_end.extend(other.at_end.iter().map(site));
        memory.live_end_bytes += other.live_end_bytes;
        if other.peak_bytes > memory.peak_bytes {
            memory.peak_bytes = other.peak_bytes;
            memory.peak_time_ns = other.peak_time_ns + shift;
        }
        memory
            .gc
            .extend(other.gc.iter().map(|g| remap_gc(g, shift, site)));
        memory.gc.sort_by_key(|g| g.start_ns);
        for class in &other.size_classes {
            match memory
                .size_classes
                .iter_mut()
                .find(|c| c.upper == class.upper)
            {
                Some(c) => {
                    c.count += class.count;
                    c.bytes += class.bytes;
                }
                None => memory.size_classes.push(*class),
            }
        }
        memory.size_classes.sort_by_key(|c| c.upper);
        self.add_timeline(&other, shift, site);
    }

    fn add_timeline(
        &mut self,
        other: &MemoryProfile,
        shift: u64,
        site: &dyn Fn(&SiteBytes) -> SiteBytes,
    ) {
        let Some(memory) = &mut self.profile.memory else {
            return;
        };
        let width = other.allocated_over_time.bucket_ns;
        for cell in &other.allocated_over_time.cells {
            let (thread, stack) = cell.key;
            let s = site(&SiteBytes {
                thread,
                stack,
                bytes: 0,
                count: 0,
            });
            memory.allocated_over_time.add(
                u64::from(cell.bucket) * width + shift,
                (s.thread, s.stack),
                cell.value,
            );
        }
    }

    /// Peaks are not added across processes: the profile's peak is the process whose heap
    /// went highest, with what was live in it then.
    fn finish(mut self) -> Profile {
        let highest = self
            .profile
            .processes
            .iter()
            .max_by_key(|p| p.peak_heap_bytes)
            .map(|p| p.threads.clone())
            .unwrap_or_default();
        let elsewhere = |t: ThreadIdx| !highest.contains(&t);
        if let Some(memory) = &mut self.profile.memory {
            memory.at_peak.retain(|s| !elsewhere(s.thread));
        }
        for w in &mut self.profile.weights {
            if elsewhere(w.thread) {
                w.peak_bytes = 0;
            }
        }
        // As threads are named (`MainThread [pid 41]`), so are tasks: `<task Task-1 [pid 41]>`.
        if self.profile.processes.len() > 1 {
            for (id, pid) in &self.task_pids {
                let Some(code) = self.profile.codes.get_mut(id) else {
                    continue;
                };
                if let Some(name) = code.task_name() {
                    *code = CodeInfo::task(&format!("{name} [pid {pid}]"));
                }
            }
        }
        self.profile
    }
}

/// A stack of the profile being added, in the merged one (the empty stack for one the
/// file never defined).
fn stack_of(stacks: &[StackId], id: StackId) -> StackId {
    stacks.get(id as usize).copied().unwrap_or(ROOT)
}

fn remap_gc(
    g: &crate::memory::GcEvent,
    shift: u64,
    site: &dyn Fn(&SiteBytes) -> SiteBytes,
) -> crate::memory::GcEvent {
    let s = site(&SiteBytes {
        thread: g.thread,
        stack: g.stack,
        bytes: 0,
        count: 0,
    });
    crate::memory::GcEvent {
        thread: s.thread,
        stack: s.stack,
        start_ns: g.start_ns + shift,
        ..*g
    }
}

impl Profile {
    /// With several processes, each thread's name says its process: `MainThread [pid 41]`.
    fn name_threads_by_process(&mut self) {
        if self.processes.len() < 2 {
            return;
        }
        for p in &self.processes {
            for &t in &p.threads {
                let thread = &mut self.threads[t as usize];
                let name = if thread.name.is_empty() {
                    format!("thread {}", thread.ident)
                } else {
                    std::mem::take(&mut thread.name)
                };
                thread.name = format!("{name} [pid {}]", p.pid);
            }
        }
    }

    /// The process thread `idx` belongs to.
    pub fn process_of(&self, idx: ThreadIdx) -> Option<&ProcessInfo> {
        self.processes.iter().find(|p| p.threads.contains(&idx))
    }
}
