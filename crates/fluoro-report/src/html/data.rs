//! What the page draws from: the profile's functions, frames and stacks as tables the page
//! indexes, the per-(thread, stack) weights, how many samples each got in each time slice,
//! and the memory, exact and pattern sections of the JSON export as they are.
//!
//! The page computes its flame graph and tables from these for whatever metric, thread and
//! time range the reader picks, so nothing here is pre-aggregated per view.

use super::columns::Column;
use crate::analysis::{FunctionKey, RunSummary};
use crate::export::{json, json_memory, json_patterns};
use crate::source::SourceFiles;
use crate::RenderOptions;
use fluoro_profile::{
    AllocTimeline, Allocated, CodeId, Profile, SampleCounts, StackId, ThreadIdx, TimeCell,
    FIRST_BUCKET_NS, MAX_BUCKETS, ROOT,
};
use serde::Serialize;
use std::collections::HashMap;
use std::ops::AddAssign;
use std::path::PathBuf;

/// Most (time slice, weight) cells embedded: past it the slices are merged in pairs, so the
/// file stays small for long runs with many stacks (a slice is then coarser to select).
const CELL_BUDGET: usize = 250_000;
/// Slices are widened to two sampling intervals no further than this many.
const MIN_BUCKETS: u32 = 32;
/// Source files embedded at most, heaviest first, and their total size.
const SOURCE_FILES: usize = 40;
const SOURCE_BYTES: usize = 2_000_000;
/// Collections shown as marks at most (the longest pauses).
const GC_MARKS: usize = 5_000;

#[derive(Serialize)]
pub struct PageData<'p> {
    /// The data's layout, for the page's script.
    pub version: u32,
    /// The run's header facts, as every report shows them.
    pub run: RunSummary,
    /// The metric the page opens with.
    pub metric: &'static str,
    pub files: Vec<File<'p>>,
    pub functions: Functions<'p>,
    pub frames: Frames,
    pub stacks: Stacks,
    /// The run's processes (several with `fluoro run --subprocesses`).
    pub processes: Vec<json::Process<'p>>,
    pub threads: Vec<Thread>,
    /// asyncio tasks (`fluoro run --async`), as the JSON export lists them; left out when the
    /// run did not look for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<json::Task<'p>>>,
    /// Why asyncio tasks could not be read, when the run looked for them and could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks_note: Option<String>,
    pub weights: Weights,
    pub timeline: Timeline,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact: Option<json::Exact<'p>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<json_patterns::PatternJson<'p>>,
    pub sources: Vec<Source>,
    /// Where the allocations that set off collections were made, most pause time first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gc_triggers: Vec<GcTrigger<'p>>,
    /// `fluoro advise` findings ranked by this run, when it ran with `--advise`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<&'p serde_json::Value>,
    /// The exit heap snapshot's census and largest retainers, when the run took one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heap: Option<&'p serde_json::Value>,
}

/// The allocating line whose allocation set off collections, and what they cost.
#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct GcTrigger<'p> {
    pub function: &'p str,
    pub file: &'p str,
    pub line: u32,
    pub collections: u64,
    pub pause_ns: u64,
    /// Collections per generation.
    pub generations: [u64; 3],
}

#[derive(Serialize)]
pub struct File<'p> {
    pub path: &'p str,
    /// Relative to the working directory or the import root it came from.
    pub shown: &'p str,
}

/// One row per function (same file, qualified name and first line).
#[derive(Serialize, Default)]
pub struct Functions<'p> {
    pub name: Vec<&'p str>,
    /// Index into `files`.
    pub file: Column,
    pub line: Column,
}

/// One row per (function, line) a stack passes through.
#[derive(Serialize, Default)]
pub struct Frames {
    pub function: Column,
    pub line: Column,
}

/// Stack `i + 1` is frame `frame[i]` called from stack `i + 1 - parent[i]` (0 is the empty
/// stack): parents come first, so the distance is at least 1.
#[derive(Serialize, Default)]
pub struct Stacks {
    pub parent: Column,
    pub frame: Column,
}

#[derive(Serialize)]
pub struct Thread {
    pub name: String,
    pub ident: u64,
    pub native_id: u64,
    /// Index into `processes`.
    pub process: u32,
}

/// What each (thread, stack) accumulated over the whole run.
#[derive(Serialize, Default)]
pub struct Weights {
    pub thread: Column,
    pub stack: Column,
    pub samples: Column,
    pub active: Column,
    pub gil: Column,
    pub wall_ns: Column,
    pub idle_ns: Column,
    pub cpu_ns: Column,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alloc_bytes: Option<Column>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alloc_count: Option<Column>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_bytes: Option<Column>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leak_bytes: Option<Column>,
}

/// Samples per time slice: `per_bucket[b]` cells for slice `b`, in slice order; within a
/// slice, `weight` holds the first weight index, then the distance to the previous one.
#[derive(Serialize, Default)]
pub struct Timeline {
    pub bucket_ns: u64,
    pub buckets: u32,
    pub per_bucket: Column,
    pub weight: Column,
    pub samples: Column,
    pub active: Column,
    pub gil: Column,
    /// Allocations per slice, when memory was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alloc: Option<AllocSlices>,
}

/// Bytes and allocations per slice, laid out as the samples are.
#[derive(Serialize, Default)]
pub struct AllocSlices {
    pub per_bucket: Column,
    pub weight: Column,
    pub bytes: Column,
    pub count: Column,
}

/// A source file's text, for the source view.
#[derive(Serialize)]
pub struct Source {
    /// Index into `files`.
    pub file: u32,
    pub lines: Vec<String>,
}

/// Interns what the weights' stacks pass through, in the order first met.
#[derive(Default)]
struct Tables<'p> {
    files: Vec<File<'p>>,
    file_index: HashMap<&'p str, u32>,
    functions: Functions<'p>,
    function_index: HashMap<FunctionKey<'p>, u32>,
    /// File of each function.
    function_files: Vec<u32>,
    /// Function of each code object, once seen.
    code_function: HashMap<CodeId, u32>,
    frames: Frames,
    frame_index: HashMap<(u32, u32), u32>,
    frame_file: Vec<u32>,
    stacks: Stacks,
    /// The page's id of each profile stack, 0 until met (and for the empty stack).
    stack_ids: Vec<u32>,
    /// The page's stacks so far, the empty one included.
    stack_count: u32,
    stack_index: HashMap<(u32, u32), u32>,
    /// Samples under each file, for choosing which sources to embed.
    file_samples: Vec<u64>,
    /// Frames of each page stack, for `file_samples`.
    stack_frames: Vec<u32>,
    stack_parents: Vec<u32>,
}

impl<'p> Tables<'p> {
    fn new(profile: &Profile) -> Self {
        Tables {
            stack_ids: vec![0; profile.stacks.len()],
            stack_count: 1,
            stack_frames: vec![0],
            stack_parents: vec![0],
            ..Tables::default()
        }
    }

    fn file(&mut self, run: &RunSummary, path: &'p str) -> u32 {
        if let Some(&id) = self.file_index.get(path) {
            return id;
        }
        let id = self.files.len() as u32;
        self.files.push(File {
            path,
            shown: run.display_path(path),
        });
        self.file_samples.push(0);
        self.file_index.insert(path, id);
        id
    }

    fn function(&mut self, profile: &'p Profile, run: &RunSummary, code: CodeId) -> u32 {
        if let Some(&id) = self.code_function.get(&code) {
            return id;
        }
        let info = &profile.codes[&code];
        let key = FunctionKey::of(info);
        let id = match self.function_index.get(&key) {
            Some(&id) => id,
            None => {
                let file = self.file(run, &info.filename);
                let id = self.functions.name.len() as u32;
                self.functions.name.push(&info.qualname);
                self.functions.file.push(u64::from(file));
                self.functions.line.push(u64::from(info.firstlineno));
                self.function_files.push(file);
                self.function_index.insert(key, id);
                id
            }
        };
        self.code_function.insert(code, id);
        id
    }

    /// The page's id of profile stack `stack`, interning it and its callers as needed.
    fn stack(&mut self, profile: &'p Profile, run: &RunSummary, stack: StackId) -> u32 {
        // Walk up to the first stack already met, then intern on the way back down.
        let mut path = Vec::new();
        let mut at = stack;
        while at != ROOT && self.stack_ids[at as usize] == 0 {
            path.push(at);
            at = profile.stacks[at as usize].parent;
        }
        let mut parent = if at == ROOT {
            0
        } else {
            self.stack_ids[at as usize]
        };
        for &s in path.iter().rev() {
            let frame = profile.stacks[s as usize].frame;
            let function = self.function(profile, run, frame.code);
            let line = profile.line(frame);
            let frame_id = match self.frame_index.get(&(function, line)) {
                Some(&id) => id,
                None => {
                    let id = self.frame_file.len() as u32;
                    self.frames.function.push(u64::from(function));
                    self.frames.line.push(u64::from(line));
                    self.frame_file.push(self.function_files[function as usize]);
                    self.frame_index.insert((function, line), id);
                    id
                }
            };
            // Offsets on the same line make the same page stack.
            let id = match self.stack_index.get(&(parent, frame_id)) {
                Some(&id) => id,
                None => {
                    let id = self.stack_count;
                    self.stack_count += 1;
                    self.stacks.parent.push(u64::from(id - parent));
                    self.stacks.frame.push(u64::from(frame_id));
                    self.stack_frames.push(frame_id);
                    self.stack_parents.push(parent);
                    self.stack_index.insert((parent, frame_id), id);
                    id
                }
            };
            self.stack_ids[s as usize] = id;
            parent = id;
        }
        parent
    }
}

/// Builds the page's data from a checked profile.
pub fn build<'p>(profile: &'p Profile, options: &'p RenderOptions) -> PageData<'p> {
    let run = RunSummary::of(profile);
    let mut tables = Tables::new(profile);
    let memory = profile.memory.as_ref().filter(|m| m.tracked);
    let mut weights = Weights {
        alloc_bytes: memory.map(|_| Column::default()),
        alloc_count: memory.map(|_| Column::default()),
        peak_bytes: memory.map(|_| Column::default()),
        leak_bytes: memory.map(|_| Column::default()),
        ..Weights::default()
    };
    for w in &profile.weights {
        let stack = tables.stack(profile, &run, w.stack);
        weights.thread.push(u64::from(w.thread));
        weights.stack.push(u64::from(stack));
        weights.samples.push(w.samples);
        weights.active.push(w.active_samples);
        weights.gil.push(w.gil_samples);
        weights.wall_ns.push(w.wall_ns);
        weights.idle_ns.push(w.idle_wall_ns);
        weights.cpu_ns.push(w.cpu_ns);
        let memory_columns = [
            (&mut weights.alloc_bytes, w.alloc_bytes),
            (&mut weights.alloc_count, w.alloc_count),
            (&mut weights.peak_bytes, w.peak_bytes),
            (&mut weights.leak_bytes, w.leak_bytes),
        ];
        for (column, value) in memory_columns {
            if let Some(column) = column {
                column.push(value);
            }
        }
        // Every file on the stack gets the stack's samples, and one more if it allocated.
        let weight = w.samples + w.alloc_count.min(1);
        let mut seen = Vec::new();
        let mut at = stack;
        while at != 0 {
            let file = tables.frame_file[tables.stack_frames[at as usize] as usize];
            if !seen.contains(&file) {
                seen.push(file);
                tables.file_samples[file as usize] += weight;
            }
            at = tables.stack_parents[at as usize];
        }
    }
    let sources = sources(profile, options, &run, &tables);
    let gc_triggers = gc_triggers(profile, &run);
    let (tasks, tasks_note) = json::tasks(profile, run.duration_ns);
    PageData {
        version: 1,
        metric: options.metric.name(),
        run,
        files: tables.files,
        functions: tables.functions,
        frames: tables.frames,
        stacks: tables.stacks,
        processes: json::processes(profile),
        threads: profile
            .threads
            .iter()
            .enumerate()
            .map(|(i, t)| Thread {
                name: profile.thread_name(i as u32),
                ident: t.ident,
                native_id: t.native_id,
                process: profile
                    .processes
                    .iter()
                    .position(|p| p.threads.contains(&(i as u32)))
                    .unwrap_or(0) as u32,
            })
            .collect(),
        tasks,
        tasks_note,
        weights,
        timeline: timeline(profile),
        memory: profile.memory.as_ref().map(|m| {
            let mut value = serde_json::to_value(json_memory::memory(profile, m))
                .unwrap_or(serde_json::Value::Null);
            keep_longest_pauses(&mut value);
            value
        }),
        exact: profile.exact.as_ref().map(json::exact),
        patterns: json_patterns::json(&profile.patterns),
        sources,
        gc_triggers,
        advice: options.advice.as_ref(),
        heap: options.heap.as_ref(),
    }
}

/// Lines whose allocations set off collections shown at most.
const GC_TRIGGERS: usize = 20;

/// Collections grouped by the innermost frame of the stack that set them off.
fn gc_triggers<'p>(profile: &'p Profile, run: &RunSummary) -> Vec<GcTrigger<'p>> {
    let mut by_line: HashMap<(&str, &str, u32), GcTrigger<'p>> = HashMap::new();
    for gc in profile.memory.iter().flat_map(|m| &m.gc) {
        let (function, file, line) = match profile.frames(gc.stack).last() {
            Some(&frame) => {
                let code = profile.code(frame);
                (
                    code.qualname.as_str(),
                    run.display_path(&code.filename),
                    profile.line(frame),
                )
            }
            None => ("<no Python frame>", "", 0),
        };
        let t = by_line
            .entry((function, file, line))
            .or_insert_with(|| GcTrigger {
                function,
                file,
                line,
                collections: 0,
                pause_ns: 0,
                generations: [0; 3],
            });
        t.collections += 1;
        t.pause_ns += gc.duration_ns;
        t.generations[usize::from(gc.generation.min(2))] += 1;
    }
    let mut triggers: Vec<GcTrigger<'p>> = by_line.into_values().collect();
    triggers.sort_by(|a, b| {
        (b.pause_ns, b.collections)
            .cmp(&(a.pause_ns, a.collections))
            .then_with(|| (a.function, a.file, a.line).cmp(&(b.function, b.file, b.line)))
    });
    triggers.truncate(GC_TRIGGERS);
    triggers
}

/// Keeps the `GC_MARKS` longest collections of the export's list, in time order.
fn keep_longest_pauses(memory: &mut serde_json::Value) {
    let Some(events) = memory
        .pointer_mut("/gc/events")
        .and_then(serde_json::Value::as_array_mut)
    else {
        return;
    };
    if events.len() <= GC_MARKS {
        return;
    }
    let field = |e: &serde_json::Value, name: &str| e.get(name).and_then(|v| v.as_u64());
    events.sort_by_key(|e| std::cmp::Reverse(field(e, "duration_ns")));
    events.truncate(GC_MARKS);
    events.sort_by_key(|e| field(e, "start_ns"));
}

/// The profile's time slices, merged in pairs until the cells fit [`CELL_BUDGET`].
fn timeline(profile: &Profile) -> Timeline {
    timeline_within(profile, CELL_BUDGET)
}

/// The profile's time slices of samples and allocations on one axis, at least two sampling
/// intervals wide (unless that leaves fewer than [`MIN_BUCKETS`] slices), merged in pairs
/// until at most `budget` sample cells remain.
pub(super) fn timeline_within(profile: &Profile, budget: usize) -> Timeline {
    let weight_of: HashMap<(ThreadIdx, StackId), u32> = profile
        .weights
        .iter()
        .enumerate()
        .map(|(i, w)| ((w.thread, w.stack), i as u32))
        .collect();
    let empty = AllocTimeline::default();
    let allocs = profile
        .memory
        .as_ref()
        .map_or(&empty, |m| &m.allocated_over_time);
    let alloc_cells: Vec<TimeCell<u32, Allocated>> = allocs
        .cells
        .iter()
        .filter_map(|c| {
            let key = *weight_of.get(&c.key)?;
            Some(TimeCell {
                bucket: c.bucket,
                key,
                value: c.value,
            })
        })
        .collect();
    // Samples by weight, then time: a width's cells are the runs of one weight and slice.
    let mut samples = profile.sample_times.clone();
    samples.sort_unstable_by_key(|s| (s.weight, s.time_ns()));
    let end_ns = samples
        .iter()
        .map(|s| s.time_ns() + 1)
        .max()
        .unwrap_or(0)
        .max(u64::from(allocs.buckets()) * allocs.bucket_ns);
    if end_ns == 0 {
        return Timeline::default();
    }
    let slices = |width: u64| end_ns.div_ceil(width);
    // The narrowest slices that fit MAX_BUCKETS and hold whole slices of the allocations.
    let mut width = FIRST_BUCKET_NS.max(allocs.bucket_ns);
    while slices(width) > MAX_BUCKETS {
        width *= 2;
    }
    let count = |width: u64| {
        samples
            .windows(2)
            .filter(|w| {
                w[0].weight != w[1].weight || w[0].time_ns() / width != w[1].time_ns() / width
            })
            .count()
            + usize::from(!samples.is_empty())
    };
    // A slice narrower than two sampling intervals shows every thread as gaps.
    let interval_ns = profile
        .meta
        .as_ref()
        .filter(|m| m.rate_hz > 0)
        .map_or(0, |m| 1_000_000_000 / u64::from(m.rate_hz));
    while width < 2 * interval_ns && slices(width * 2) >= u64::from(MIN_BUCKETS) {
        width *= 2;
    }
    // The budget holds even below MIN_BUCKETS slices (stacks spread evenly over a long run):
    // the page's size matters more than a fine selection.
    while count(width) > budget && slices(width) > 1 {
        width *= 2;
    }
    let mut out = Timeline {
        bucket_ns: width,
        buckets: slices(width) as u32,
        ..Timeline::default()
    };
    let mut sample_cells: Vec<TimeCell<u32, SampleCounts>> = Vec::new();
    for s in &samples {
        let bucket = (s.time_ns() / width) as u32;
        match sample_cells.last_mut() {
            Some(c) if c.key == s.weight && c.bucket == bucket => c.value += s.counts(),
            _ => sample_cells.push(TimeCell {
                bucket,
                key: s.weight,
                value: s.counts(),
            }),
        }
    }
    let merged = merge(&sample_cells, width, width);
    (out.per_bucket, out.weight) = placed(&merged, out.buckets);
    for c in &merged {
        out.samples.push(u64::from(c.value.samples));
        out.active.push(u64::from(c.value.active));
        out.gil.push(u64::from(c.value.gil));
    }
    if !alloc_cells.is_empty() {
        let merged = merge(&alloc_cells, allocs.bucket_ns, width);
        let (per_bucket, weight) = placed(&merged, out.buckets);
        out.alloc = Some(AllocSlices {
            per_bucket,
            weight,
            bytes: merged
                .iter()
                .map(|c| c.value.bytes.round() as u64)
                .collect(),
            count: merged
                .iter()
                .map(|c| c.value.count.round() as u64)
                .collect(),
        });
    }
    out
}

/// `cells` of slices `from_ns` wide summed into slices `width` wide (a multiple), in
/// (slice, weight) order.
fn merge<V: Copy + AddAssign>(
    cells: &[TimeCell<u32, V>],
    from_ns: u64,
    width: u64,
) -> Vec<TimeCell<u32, V>> {
    let mut sorted: Vec<TimeCell<u32, V>> = cells
        .iter()
        .map(|c| TimeCell {
            bucket: (u64::from(c.bucket) * from_ns / width) as u32,
            ..*c
        })
        .collect();
    sorted.sort_by_key(|c| (c.bucket, c.key));
    let mut merged: Vec<TimeCell<u32, V>> = Vec::with_capacity(sorted.len());
    for c in sorted {
        match merged.last_mut() {
            Some(m) if m.key == c.key && m.bucket == c.bucket => m.value += c.value,
            _ => merged.push(c),
        }
    }
    merged
}

/// The cells per slice and their weights (the first of a slice whole, then the distance to
/// the previous one) of cells in (slice, weight) order.
fn placed<V>(cells: &[TimeCell<u32, V>], buckets: u32) -> (Column, Column) {
    let mut per_bucket = vec![0u64; buckets as usize];
    let mut weights = Column::default();
    let mut previous: Option<(u32, u32)> = None;
    for c in cells {
        per_bucket[c.bucket as usize] += 1;
        let delta = match previous {
            Some((bucket, weight)) if bucket == c.bucket => c.key - weight,
            _ => c.key,
        };
        previous = Some((c.bucket, c.key));
        weights.push(u64::from(delta));
    }
    (per_bucket.into_iter().collect(), weights)
}

/// The text of the files the stacks pass through, most sampled first, within the budgets.
fn sources(
    profile: &Profile,
    options: &RenderOptions,
    run: &RunSummary,
    tables: &Tables<'_>,
) -> Vec<Source> {
    let root = options
        .source_root
        .clone()
        .unwrap_or_else(|| PathBuf::from(&run.cwd));
    let mut reader = SourceFiles::new(root, profile.meta.as_ref().map_or("", |m| &m.cwd));
    let mut order: Vec<u32> = (0..tables.files.len() as u32).collect();
    order.sort_by_key(|&f| std::cmp::Reverse(tables.file_samples[f as usize]));
    let mut out = Vec::new();
    let mut size = 0;
    for file in order {
        if out.len() == SOURCE_FILES {
            break;
        }
        let path = tables.files[file as usize].path;
        if path.starts_with('<') {
            continue;
        }
        let Some(lines) = reader.lines(path) else {
            continue;
        };
        let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
        if size + bytes > SOURCE_BYTES {
            continue;
        }
        size += bytes;
        out.push(Source {
            file,
            lines: lines.to_vec(),
        });
    }
    out
}
