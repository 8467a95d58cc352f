//! Memory records — sampled or complete allocations, garbage collections, RSS and snapshot
//! marks — and the replay that turns them into allocation sites, the peak, what was left at the
//! end, a heap timeline and snapshot diffs.
//!
//! Sampled allocations are weighted so that sums are unbiased: with a mean sampling interval of
//! `T` bytes, an allocation of `s` bytes is sampled with probability `p = 1 - exp(-s/T)` and
//! stands for `s/p` bytes and `1/p` allocations.

use crate::model::{StackId, ThreadIdx, ROOT};
use crate::timeline::{AllocTimeline, Allocated};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Whether every allocation was recorded or a sample by bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AllocMode {
    #[default]
    Sampled,
    All,
}

impl AllocMode {
    pub fn name(self) -> &'static str {
        match self {
            AllocMode::Sampled => "sampled",
            AllocMode::All => "all",
        }
    }
}

/// How allocations were recorded; written when tracking starts and again, with its counters,
/// when it stops (the last one read wins).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemorySettings {
    pub mode: AllocMode,
    /// Mean sampling interval in bytes; 0 when every allocation was recorded.
    pub mean_bytes: u64,
    /// Events dropped because the hook's buffer stayed full (they are not in the figures).
    pub lost_events: u64,
    /// Sampled allocations whose frees could not be followed (the address table was full).
    pub untracked: u64,
    /// Whether tracking stopped normally (false while running or when the target was killed).
    pub stopped: bool,
    /// Allocations made through `PyMem_RawMalloc` by threads without the GIL: counted, not
    /// recorded (no Python stack can be read for them). Absent from profiles before format 3.
    pub outside_gil_count: u64,
    pub outside_gil_bytes: u64,
    /// Sampling, objects taken again from free lists were not followed
    /// (`--ignore-free-lists`): they keep the site of their first allocation. Absent (false)
    /// from profiles written before the flag.
    pub free_lists_ignored: bool,
}

/// [`MemorySettings`] as profiles of format 3 wrote them before `free_lists_ignored`.
#[derive(Deserialize)]
struct MemorySettingsV3 {
    mode: AllocMode,
    mean_bytes: u64,
    lost_events: u64,
    untracked: u64,
    stopped: bool,
    outside_gil_count: u64,
    outside_gil_bytes: u64,
}

/// [`MemorySettings`] as profiles of formats 1 and 2 wrote them.
#[derive(Deserialize)]
struct MemorySettingsV2 {
    mode: AllocMode,
    mean_bytes: u64,
    lost_events: u64,
    untracked: u64,
    stopped: bool,
}

impl MemorySettings {
    /// Reads settings written by any format version.
    pub fn decode(payload: &[u8]) -> postcard::Result<MemorySettings> {
        postcard::from_bytes(payload)
            .or_else(|_| {
                let old: MemorySettingsV3 = postcard::from_bytes(payload)?;
                Ok(MemorySettings {
                    mode: old.mode,
                    mean_bytes: old.mean_bytes,
                    lost_events: old.lost_events,
                    untracked: old.untracked,
                    stopped: old.stopped,
                    outside_gil_count: old.outside_gil_count,
                    outside_gil_bytes: old.outside_gil_bytes,
                    free_lists_ignored: false,
                })
            })
            .or_else(|_: postcard::Error| {
                let old: MemorySettingsV2 = postcard::from_bytes(payload)?;
                Ok(MemorySettings {
                    mode: old.mode,
                    mean_bytes: old.mean_bytes,
                    lost_events: old.lost_events,
                    untracked: old.untracked,
                    stopped: old.stopped,
                    ..MemorySettings::default()
                })
            })
    }
}

impl MemorySettings {
    /// Estimated (bytes, count) an allocation of `size` bytes stands for.
    pub fn weight(&self, size: u64) -> (f64, f64) {
        if self.mean_bytes == 0 || self.mode == AllocMode::All {
            return (size as f64, 1.0);
        }
        let p = -(-(size.max(1) as f64) / self.mean_bytes as f64).exp_m1();
        (size as f64 / p, 1.0 / p)
    }
}

/// One allocator event, in the order the interpreter made them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocEvent {
    /// A recorded allocation (sampled, or every one) and the stack that made it.
    Alloc {
        thread: ThreadIdx,
        addr: u64,
        size: u64,
        stack: StackId,
    },
    /// A recorded allocation at `addr` was freed (frees of unrecorded addresses are ignored).
    Free { addr: u64 },
    /// An allocation already counted in a [`AllocEvent::Folded`] run that is still live: it
    /// adds to what is live, not again to what was allocated. The hook counts the small
    /// blocks it holds back when they are made and sends the ones that outlive holding so.
    Live {
        thread: ThreadIdx,
        addr: u64,
        size: u64,
        stack: StackId,
    },
    /// `count` allocations of `bytes` bytes in all by one stack, every one in the same size
    /// class (the powers of two of the size histogram): they add to what was allocated, never
    /// to what is live. Recording every allocation, the hook folds the small blocks it holds
    /// back into these instead of sending two events each; those still live when they leave
    /// the hold follow as [`AllocEvent::Live`].
    Folded {
        thread: ThreadIdx,
        bytes: u64,
        count: u64,
        stack: StackId,
    },
    /// The object in the live block at `addr` was taken again from one of the interpreter's
    /// free lists by (`thread`, `stack`) (3.13+, seen through the reference tracer): the block
    /// never went back to the allocator, so no allocation was seen, yet the program made a new
    /// object there. It counts as allocated at that site, and lives on there. A block not live
    /// in the record is ignored.
    Retag {
        thread: ThreadIdx,
        addr: u64,
        stack: StackId,
    },
}

/// Events drained from the hook together, at `time_ns` since the session started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocBatch {
    pub time_ns: u64,
    pub events: Vec<AllocEvent>,
}

/// One garbage collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcEvent {
    /// The thread whose allocation triggered it, and that thread's stack then ([`ROOT`] when
    /// it had no Python frame).
    pub thread: ThreadIdx,
    pub stack: StackId,
    pub start_ns: u64,
    pub duration_ns: u64,
    pub generation: u8,
    pub collected: u64,
    pub uncollectable: u64,
}

/// A point on the run's timeline that is not an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mark {
    /// The process's resident set size.
    Rss { time_ns: u64, rss_bytes: u64 },
    /// `fluoro.snapshot(label)` was called here (after every allocation event before it).
    Snapshot(SnapshotMark),
}

/// What a snapshot saw besides allocations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMark {
    pub time_ns: u64,
    pub label: String,
    /// Live objects the cycle collector tracks, by type name.
    pub types: Vec<(String, u64)>,
    /// Collections so far, per generation.
    pub gc_collections: [u64; 3],
    /// Objects collected so far, per generation.
    pub gc_collected: [u64; 3],
    pub rss_bytes: u64,
}

/// Estimated bytes and allocations of one (thread, stack).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SiteBytes {
    pub thread: ThreadIdx,
    pub stack: StackId,
    pub bytes: u64,
    pub count: u64,
}

/// The heap (estimated from what was recorded) and RSS at one time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeapPoint {
    pub time_ns: u64,
    pub heap_bytes: u64,
}

/// Allocations of sizes in `(upper/2, upper]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SizeClass {
    pub upper: u64,
    pub count: u64,
    pub bytes: u64,
}

/// A snapshot with what was live at it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub mark: SnapshotMark,
    pub heap_bytes: u64,
    pub live: Vec<SiteBytes>,
}

/// Everything the memory records of a run add up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryProfile {
    pub settings: MemorySettings,
    /// Whether any allocation was recorded.
    pub tracked: bool,
    pub allocated_bytes: u64,
    pub allocated_count: u64,
    /// Allocated bytes per (thread, stack).
    pub allocated: Vec<SiteBytes>,
    /// The highest the recorded heap went, when, and what was live then.
    pub peak_bytes: u64,
    pub peak_time_ns: u64,
    pub at_peak: Vec<SiteBytes>,
    /// Still allocated when tracking stopped: the leak candidates.
    pub live_end_bytes: u64,
    pub at_end: Vec<SiteBytes>,
    pub heap: Vec<HeapPoint>,
    /// `(time_ns, rss_bytes)`.
    pub rss: Vec<(u64, u64)>,
    pub size_classes: Vec<SizeClass>,
    pub gc: Vec<GcEvent>,
    pub snapshots: Vec<Snapshot>,
    /// What each (thread, stack) allocated in each time slice of the run.
    pub allocated_over_time: AllocTimeline,
}

#[derive(Clone, Copy)]
struct Live {
    thread: ThreadIdx,
    stack: StackId,
    bytes: f64,
    count: f64,
}

/// Replays memory records in stream order. Feed it every memory chunk, then [`finish`]; the
/// peak's sites need a second pass over the allocations ([`Replay::peak_pass`]).
///
/// [`finish`]: Replay::finish
#[derive(Default)]
pub struct Replay {
    settings: MemorySettings,
    live: HashMap<u64, Live>,
    heap: f64,
    events: u64,
    allocated: HashMap<(ThreadIdx, StackId), (f64, f64)>,
    size_classes: HashMap<u32, (f64, f64)>,
    peak: f64,
    /// Events replayed when the peak was reached.
    peak_events: u64,
    peak_time_ns: u64,
    heap_points: Vec<HeapPoint>,
    rss: Vec<(u64, u64)>,
    gc: Vec<GcEvent>,
    snapshots: Vec<Snapshot>,
    /// The time of the batch being replayed.
    time_ns: u64,
    /// Allocations per time slice; `None` in the peak pass, which needs none.
    over_time: Option<AllocTimeline>,
}

impl Replay {
    pub fn new() -> Replay {
        Replay {
            over_time: Some(AllocTimeline::default()),
            ..Replay::default()
        }
    }

    /// Counts `bytes` and `count` allocated by (thread, stack) at the current batch's time.
    fn allocated_now(&mut self, thread: ThreadIdx, stack: StackId, bytes: f64, count: f64) {
        if let Some(over_time) = &mut self.over_time {
            over_time.add(self.time_ns, (thread, stack), Allocated { bytes, count });
        }
    }

    pub fn settings(&mut self, settings: MemorySettings) {
        self.settings = settings;
    }

    pub fn batch(&mut self, batch: &AllocBatch) {
        self.time_ns = batch.time_ns;
        for event in &batch.events {
            self.event(event);
            if self.heap > self.peak {
                self.peak = self.heap;
                self.peak_events = self.events;
                self.peak_time_ns = batch.time_ns;
            }
        }
        self.heap_points.push(HeapPoint {
            time_ns: batch.time_ns,
            heap_bytes: self.heap.max(0.0).round() as u64,
        });
    }

    fn event(&mut self, event: &AllocEvent) {
        self.events += 1;
        match *event {
            AllocEvent::Alloc {
                thread,
                addr,
                size,
                stack,
            }
            | AllocEvent::Live {
                thread,
                addr,
                size,
                stack,
            } => {
                let (bytes, count) = if matches!(event, AllocEvent::Live { .. }) {
                    self.settings.weight(size)
                } else {
                    self.allocated(thread, stack, size, 1)
                };
                self.heap += bytes;
                let old = self.live.insert(
                    addr,
                    Live {
                        thread,
                        stack,
                        bytes,
                        count,
                    },
                );
                // An address reused without its free recorded: the old block is gone.
                if let Some(old) = old {
                    self.heap -= old.bytes;
                }
            }
            AllocEvent::Free { addr } => {
                if let Some(old) = self.live.remove(&addr) {
                    self.heap -= old.bytes;
                }
            }
            AllocEvent::Folded {
                thread,
                bytes,
                count,
                stack,
            } => self.folded(thread, stack, bytes, count),
            AllocEvent::Retag {
                thread,
                addr,
                stack,
            } => {
                let Some(old) = self.live.get(&addr).copied() else {
                    return;
                };
                let site = self.allocated.entry((thread, stack)).or_default();
                site.0 += old.bytes;
                site.1 += old.count;
                self.allocated_now(thread, stack, old.bytes, old.count);
                if old.count > 0.0 {
                    let size = (old.bytes / old.count).round() as u64;
                    let class = self.size_classes.entry(size_class(size)).or_default();
                    class.0 += old.bytes;
                    class.1 += old.count;
                }
                self.live.insert(
                    addr,
                    Live {
                        thread,
                        stack,
                        ..old
                    },
                );
            }
        }
    }

    /// Adds a fold's `count` allocations, `bytes` in all, to the totals and their size class
    /// (folds come only from recording every allocation: nothing to weigh). Their mean size
    /// is in the class all of them are in.
    fn folded(&mut self, thread: ThreadIdx, stack: StackId, bytes: u64, count: u64) {
        if count == 0 {
            return;
        }
        let (bytes_f, count_f) = (bytes as f64, count as f64);
        let site = self.allocated.entry((thread, stack)).or_default();
        site.0 += bytes_f;
        site.1 += count_f;
        self.allocated_now(thread, stack, bytes_f, count_f);
        let class = self
            .size_classes
            .entry(size_class(bytes.div_ceil(count)))
            .or_default();
        class.0 += bytes_f;
        class.1 += count_f;
    }

    /// Adds `times` allocations of `size` bytes by (thread, stack) to the totals and size
    /// classes; returns what one of them weighs.
    fn allocated(
        &mut self,
        thread: ThreadIdx,
        stack: StackId,
        size: u64,
        times: u64,
    ) -> (f64, f64) {
        let (bytes, count) = self.settings.weight(size);
        let (all_bytes, all_count) = (bytes * times as f64, count * times as f64);
        let site = self.allocated.entry((thread, stack)).or_default();
        site.0 += all_bytes;
        site.1 += all_count;
        self.allocated_now(thread, stack, all_bytes, all_count);
        let class = self.size_classes.entry(size_class(size)).or_default();
        class.0 += all_bytes;
        class.1 += all_count;
        (bytes, count)
    }

    pub fn gc(&mut self, events: &[GcEvent]) {
        self.gc.extend_from_slice(events);
    }

    pub fn mark(&mut self, mark: &Mark) {
        match mark {
            Mark::Rss { time_ns, rss_bytes } => self.rss.push((*time_ns, *rss_bytes)),
            Mark::Snapshot(mark) => self.snapshots.push(Snapshot {
                mark: mark.clone(),
                heap_bytes: self.heap.max(0.0).round() as u64,
                live: group(&self.live),
            }),
        }
    }

    /// The stack of every block live now, by address (for joining a heap snapshot taken at a
    /// mark with where its objects were allocated).
    pub fn live_stacks(&self) -> HashMap<u64, StackId> {
        self.live.iter().map(|(&addr, l)| (addr, l.stack)).collect()
    }

    /// Events to replay, in a fresh [`Replay`], to stand at the peak.
    pub fn peak_events(&self) -> u64 {
        self.peak_events
    }

    /// Replays allocation batches from the start until the peak; returns what was live then.
    /// `batches` must yield the same batches, in the same order, as the first pass.
    pub fn peak_pass<B: std::borrow::Borrow<AllocBatch>>(
        settings: &MemorySettings,
        peak_events: u64,
        batches: impl IntoIterator<Item = B>,
    ) -> Vec<SiteBytes> {
        let mut replay = Replay {
            settings: settings.clone(),
            ..Replay::default()
        };
        'outer: for batch in batches {
            for event in &batch.borrow().events {
                if replay.events >= peak_events {
                    break 'outer;
                }
                replay.event(event);
            }
        }
        group(&replay.live)
    }

    /// The totals, with `at_peak` empty (fill it from [`Replay::peak_pass`]).
    pub fn finish(self) -> MemoryProfile {
        let mut allocated: Vec<SiteBytes> = self
            .allocated
            .iter()
            .map(|(&(thread, stack), &(bytes, count))| SiteBytes {
                thread,
                stack,
                bytes: bytes.round() as u64,
                count: count.round() as u64,
            })
            .collect();
        allocated.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.stack.cmp(&b.stack)));
        let mut size_classes: Vec<SizeClass> = self
            .size_classes
            .iter()
            .map(|(&class, &(bytes, count))| SizeClass {
                upper: 1u64 << class,
                count: count.round() as u64,
                bytes: bytes.round() as u64,
            })
            .collect();
        size_classes.sort_by_key(|c| c.upper);
        let at_end = group(&self.live);
        MemoryProfile {
            tracked: self.events > 0,
            allocated_bytes: allocated.iter().map(|s| s.bytes).sum(),
            allocated_count: allocated.iter().map(|s| s.count).sum(),
            allocated,
            peak_bytes: self.peak.max(0.0).round() as u64,
            peak_time_ns: self.peak_time_ns,
            at_peak: Vec::new(),
            live_end_bytes: at_end.iter().map(|s| s.bytes).sum(),
            at_end,
            heap: self.heap_points,
            rss: self.rss,
            size_classes,
            gc: self.gc,
            snapshots: self.snapshots,
            settings: self.settings,
            allocated_over_time: self.over_time.unwrap_or_default(),
        }
    }
}

/// `log2` of the smallest power of two at or above `size`.
fn size_class(size: u64) -> u32 {
    if size <= 1 {
        0
    } else {
        64 - (size - 1).leading_zeros()
    }
}

/// Live blocks summed per (thread, stack), largest first.
fn group(live: &HashMap<u64, Live>) -> Vec<SiteBytes> {
    let mut sums: HashMap<(ThreadIdx, StackId), (f64, f64)> = HashMap::new();
    for l in live.values() {
        let s = sums.entry((l.thread, l.stack)).or_default();
        s.0 += l.bytes;
        s.1 += l.count;
    }
    let mut out: Vec<SiteBytes> = sums
        .into_iter()
        .map(|((thread, stack), (bytes, count))| SiteBytes {
            thread,
            stack,
            bytes: bytes.round() as u64,
            count: count.round() as u64,
        })
        .filter(|s| s.bytes > 0)
        .collect();
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.stack.cmp(&b.stack)));
    out
}

impl GcEvent {
    /// Whether the collection's trigger stack is known.
    pub fn has_stack(&self) -> bool {
        self.stack != ROOT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc(addr: u64, size: u64, stack: StackId) -> AllocEvent {
        AllocEvent::Alloc {
            thread: 0,
            addr,
            size,
            stack,
        }
    }

    fn run(settings: MemorySettings, batches: &[AllocBatch]) -> MemoryProfile {
        let mut replay = Replay::new();
        replay.settings(settings.clone());
        for b in batches {
            replay.batch(b);
        }
        let peak = replay.peak_events();
        let mut profile = replay.finish();
        profile.at_peak = Replay::peak_pass(&settings, peak, batches);
        profile
    }

    fn all() -> MemorySettings {
        MemorySettings {
            mode: AllocMode::All,
            ..MemorySettings::default()
        }
    }

    #[test]
    fn finds_the_peak_and_what_was_left() {
        let batches = vec![
            AllocBatch {
                time_ns: 10,
                events: vec![alloc(1, 100, 1), alloc(2, 1000, 2)],
            },
            AllocBatch {
                time_ns: 20,
                events: vec![
                    AllocEvent::Free { addr: 2 },
                    alloc(3, 50, 1),
                    AllocEvent::Free { addr: 99 },
                ],
            },
        ];
        let p = run(all(), &batches);
        assert_eq!(p.allocated_bytes, 1150);
        assert_eq!(p.allocated_count, 3);
        assert_eq!(p.peak_bytes, 1100);
        assert_eq!(p.peak_time_ns, 10);
        assert_eq!(p.at_peak.len(), 2);
        assert_eq!(p.at_peak[0].stack, 2);
        assert_eq!(p.live_end_bytes, 150);
        assert_eq!(p.at_end.len(), 1);
        assert_eq!((p.at_end[0].stack, p.at_end[0].count), (1, 2));
        assert_eq!(
            p.heap,
            vec![
                HeapPoint {
                    time_ns: 10,
                    heap_bytes: 1100
                },
                HeapPoint {
                    time_ns: 20,
                    heap_bytes: 150
                }
            ]
        );
        let classes: Vec<(u64, u64)> = p.size_classes.iter().map(|c| (c.upper, c.count)).collect();
        assert_eq!(classes, vec![(64, 1), (128, 1), (1024, 1)]);
    }

    #[test]
    fn allocations_are_counted_in_the_time_slice_of_their_batch() {
        let batches = vec![
            AllocBatch {
                time_ns: 500_000,
                events: vec![alloc(1, 100, 1), alloc(2, 1000, 2)],
            },
            AllocBatch {
                time_ns: 2_500_000,
                events: vec![AllocEvent::Free { addr: 2 }, alloc(3, 50, 1)],
            },
        ];
        let p = run(all(), &batches);
        let slices = &p.allocated_over_time;
        assert_eq!(slices.bucket_ns, 1_000_000);
        let cells: Vec<(u32, StackId, f64, f64)> = slices
            .cells
            .iter()
            .map(|c| (c.bucket, c.key.1, c.value.bytes, c.value.count))
            .collect();
        assert_eq!(
            cells,
            [(0, 1, 100.0, 1.0), (0, 2, 1000.0, 1.0), (2, 1, 50.0, 1.0)]
        );
        let bytes: f64 = slices.cells.iter().map(|c| c.value.bytes).sum();
        assert_eq!(bytes as u64, p.allocated_bytes);
    }

    #[test]
    fn folded_allocations_count_as_allocated_but_never_live() {
        let batches = vec![AllocBatch {
            time_ns: 10,
            events: vec![
                alloc(1, 100, 1),
                AllocEvent::Folded {
                    thread: 0,
                    bytes: 32_000,
                    count: 1000,
                    stack: 2,
                },
                AllocEvent::Free { addr: 1 },
            ],
        }];
        let p = run(all(), &batches);
        assert_eq!(p.allocated_bytes, 100 + 32_000);
        assert_eq!(p.allocated_count, 1001);
        assert_eq!((p.allocated[0].stack, p.allocated[0].count), (2, 1000));
        assert_eq!(p.peak_bytes, 100);
        assert_eq!(p.at_peak.len(), 1);
        assert_eq!(p.live_end_bytes, 0);
        let classes: Vec<(u64, u64)> = p.size_classes.iter().map(|c| (c.upper, c.count)).collect();
        assert_eq!(classes, vec![(32, 1000), (128, 1)]);
    }

    #[test]
    fn a_fold_of_mixed_sizes_counts_its_bytes_in_its_class() {
        // Blocks of 40, 50 and 60 bytes (all in the class up to 64) and of 33 and 64.
        let fold = |bytes, count| AllocEvent::Folded {
            thread: 0,
            bytes,
            count,
            stack: 1,
        };
        let batches = vec![AllocBatch {
            time_ns: 10,
            events: vec![fold(150, 3), fold(97, 2), fold(0, 0)],
        }];
        let p = run(all(), &batches);
        assert_eq!((p.allocated_bytes, p.allocated_count), (247, 5));
        let classes: Vec<(u64, u64, u64)> = p
            .size_classes
            .iter()
            .map(|c| (c.upper, c.count, c.bytes))
            .collect();
        assert_eq!(classes, vec![(64, 5, 247)]);
        assert_eq!(p.peak_bytes, 0);
    }

    #[test]
    fn a_retagged_block_lives_on_at_its_new_site_and_counts_there() {
        let p = run(
            all(),
            &[AllocBatch {
                time_ns: 1,
                events: vec![
                    alloc(0x100, 64, 1),
                    alloc(0x200, 48, 1),
                    AllocEvent::Retag {
                        thread: 0,
                        addr: 0x100,
                        stack: 2,
                    },
                    // Not live in the record: nothing to move.
                    AllocEvent::Retag {
                        thread: 0,
                        addr: 0x300,
                        stack: 2,
                    },
                ],
            }],
        );
        let at_end: HashMap<StackId, u64> = p.at_end.iter().map(|s| (s.stack, s.bytes)).collect();
        assert_eq!(at_end.get(&1), Some(&48));
        assert_eq!(at_end.get(&2), Some(&64));
        let allocated: HashMap<StackId, (u64, u64)> = p
            .allocated
            .iter()
            .map(|s| (s.stack, (s.bytes, s.count)))
            .collect();
        assert_eq!(allocated.get(&1), Some(&(112, 2)));
        assert_eq!(allocated.get(&2), Some(&(64, 1)));
        assert_eq!(p.peak_bytes, 112);
    }

    #[test]
    fn live_allocations_are_live_but_not_counted_again() {
        let live = |addr, size, stack| AllocEvent::Live {
            thread: 0,
            addr,
            size,
            stack,
        };
        let batches = vec![
            AllocBatch {
                time_ns: 10,
                events: vec![
                    AllocEvent::Folded {
                        thread: 0,
                        bytes: 640,
                        count: 10,
                        stack: 3,
                    },
                    live(0x100, 64, 3),
                    live(0x200, 64, 3),
                ],
            },
            AllocBatch {
                time_ns: 20,
                events: vec![AllocEvent::Free { addr: 0x100 }],
            },
        ];
        let p = run(all(), &batches);
        assert_eq!((p.allocated_bytes, p.allocated_count), (640, 10));
        assert_eq!(p.peak_bytes, 128);
        assert_eq!(p.live_end_bytes, 64);
        assert_eq!(p.at_end.len(), 1);
        assert_eq!(p.at_end[0].stack, 3);
        let classes: Vec<(u64, u64)> = p.size_classes.iter().map(|c| (c.upper, c.count)).collect();
        assert_eq!(classes, vec![(64, 10)]);
    }

    #[test]
    fn snapshots_see_the_heap_at_their_place_in_the_stream() {
        let mut replay = Replay::new();
        replay.settings(all());
        replay.batch(&AllocBatch {
            time_ns: 1,
            events: vec![alloc(1, 10, 1)],
        });
        replay.mark(&Mark::Snapshot(SnapshotMark {
            label: "a".into(),
            ..SnapshotMark::default()
        }));
        replay.batch(&AllocBatch {
            time_ns: 2,
            events: vec![alloc(2, 30, 2), AllocEvent::Free { addr: 1 }],
        });
        replay.mark(&Mark::Snapshot(SnapshotMark {
            label: "b".into(),
            ..SnapshotMark::default()
        }));
        let p = replay.finish();
        assert_eq!(p.snapshots[0].heap_bytes, 10);
        assert_eq!(p.snapshots[1].heap_bytes, 30);
        assert_eq!(p.snapshots[1].live[0].stack, 2);
    }

    #[test]
    fn settings_of_older_formats_read() {
        #[derive(Serialize)]
        struct Old(AllocMode, u64, u64, u64, bool);
        let old = postcard::to_allocvec(&Old(AllocMode::Sampled, 4096, 3, 1, true)).unwrap();
        let read = MemorySettings::decode(&old).unwrap();
        assert_eq!(
            read,
            MemorySettings {
                mode: AllocMode::Sampled,
                mean_bytes: 4096,
                lost_events: 3,
                untracked: 1,
                stopped: true,
                ..MemorySettings::default()
            }
        );
        let new = MemorySettings {
            outside_gil_count: 7,
            outside_gil_bytes: 9000,
            ..read.clone()
        };
        let bytes = postcard::to_allocvec(&new).unwrap();
        assert_eq!(MemorySettings::decode(&bytes).unwrap(), new);
        assert!(MemorySettings::decode(&old[..old.len() - 1]).is_err());
        // Format 3 before `--ignore-free-lists`: the same fields but the last.
        let format3 = (AllocMode::Sampled, 4096u64, 3u64, 1u64, true, 7u64, 9000u64);
        let bytes = postcard::to_allocvec(&format3).unwrap();
        assert_eq!(MemorySettings::decode(&bytes).unwrap(), new);
        let ignored = MemorySettings {
            free_lists_ignored: true,
            ..new
        };
        let bytes = postcard::to_allocvec(&ignored).unwrap();
        assert_eq!(MemorySettings::decode(&bytes).unwrap(), ignored);
    }

    #[test]
    fn sampled_weights_are_unbiased() {
        let s = MemorySettings {
            mode: AllocMode::Sampled,
            mean_bytes: 1000,
            ..MemorySettings::default()
        };
        // A huge allocation is always sampled and stands for itself.
        let (bytes, count) = s.weight(1_000_000);
        assert!((bytes - 1e6).abs() < 1.0 && (count - 1.0).abs() < 1e-9);
        // A small one stands for about mean/size allocations of its size.
        let (bytes, count) = s.weight(10);
        assert!((bytes - 1005.0).abs() < 1.0, "{bytes}");
        assert!((count - 100.5).abs() < 0.1, "{count}");
    }
}
