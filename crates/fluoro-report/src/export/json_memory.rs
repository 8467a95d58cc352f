//! The `memory` part of fluoro's JSON summary: totals, the top lines for allocations, the
//! peak and the end, sizes, the heap over time, collections and snapshots.

use crate::analysis::{by_line, LineBytes};
use fluoro_profile::{MemoryProfile, Profile, SiteBytes};
use serde::Serialize;
use std::collections::BTreeMap;

/// Lines listed per kind of site.
const TOP_LINES: usize = 50;
/// Points kept of each timeline.
const TIMELINE_POINTS: usize = 200;

#[derive(Serialize)]
pub(crate) struct Memory<'p> {
    mode: &'static str,
    mean_bytes: u64,
    allocated_bytes: u64,
    allocated_count: u64,
    peak_bytes: u64,
    peak_time_ns: u64,
    live_end_bytes: u64,
    lost_events: u64,
    untracked: u64,
    /// Allocations through `PyMem_RawMalloc` by threads without the GIL (not in the figures).
    outside_gil_count: u64,
    outside_gil_bytes: u64,
    /// Whether objects taken again from free lists count where they were taken (3.13+) or
    /// keep the site of their first life.
    free_lists_followed: bool,
    /// Heaviest first: bytes allocated, live at the peak, live at the end.
    alloc_lines: Vec<Line<'p>>,
    peak_lines: Vec<Line<'p>>,
    leak_lines: Vec<Line<'p>>,
    size_classes: Vec<SizeClass>,
    /// `[time_ns, bytes]` pairs.
    heap: Vec<[u64; 2]>,
    rss: Vec<[u64; 2]>,
    gc: Gc,
    snapshots: Vec<Snapshot<'p>>,
}

#[derive(Serialize)]
struct Line<'p> {
    file: &'p str,
    line: u32,
    function: &'p str,
    bytes: u64,
    count: u64,
}

#[derive(Serialize)]
struct SizeClass {
    /// Sizes in `(upper/2, upper]`.
    upper: u64,
    count: u64,
    bytes: u64,
}

#[derive(Serialize)]
struct Gc {
    collections: u64,
    per_generation: [u64; 3],
    total_ns: u64,
    p50_ns: u64,
    p99_ns: u64,
    max_ns: u64,
    collected: u64,
    uncollectable: u64,
    events: Vec<GcEvent>,
}

#[derive(Serialize)]
struct GcEvent {
    start_ns: u64,
    duration_ns: u64,
    generation: u8,
    collected: u64,
    uncollectable: u64,
}

#[derive(Serialize)]
struct Snapshot<'p> {
    label: &'p str,
    time_ns: u64,
    heap_bytes: u64,
    rss_bytes: u64,
    gc_collections: [u64; 3],
    types: BTreeMap<&'p str, u64>,
    lines: Vec<Line<'p>>,
}

fn lines<'p>(profile: &'p Profile, sites: &[SiteBytes], top: usize) -> Vec<Line<'p>> {
    by_line(profile, sites)
        .into_iter()
        .take(top)
        .map(|l: LineBytes<'p>| Line {
            file: l.filename,
            line: l.line,
            function: l.qualname,
            bytes: l.bytes,
            count: l.count,
        })
        .collect()
}

/// Every `n`th point, so that at most `TIMELINE_POINTS` remain (the last one kept).
fn thin(points: impl ExactSizeIterator<Item = [u64; 2]>) -> Vec<[u64; 2]> {
    let step = points.len().div_ceil(TIMELINE_POINTS).max(1);
    let all: Vec<[u64; 2]> = points.collect();
    let mut out: Vec<[u64; 2]> = all.iter().step_by(step).copied().collect();
    if let (Some(last), Some(kept)) = (all.last(), out.last()) {
        if last != kept {
            out.push(*last);
        }
    }
    out
}

pub(crate) fn memory<'p>(profile: &'p Profile, m: &'p MemoryProfile) -> Memory<'p> {
    let mut pauses: Vec<u64> = m.gc.iter().map(|g| g.duration_ns).collect();
    pauses.sort_unstable();
    let quantile = |q: f64| {
        if pauses.is_empty() {
            0
        } else {
            pauses[((pauses.len() - 1) as f64 * q).round() as usize]
        }
    };
    let mut per_generation = [0; 3];
    for g in &m.gc {
        per_generation[usize::from(g.generation.min(2))] += 1;
    }
    Memory {
        mode: m.settings.mode.name(),
        mean_bytes: m.settings.mean_bytes,
        allocated_bytes: m.allocated_bytes,
        allocated_count: m.allocated_count,
        peak_bytes: m.peak_bytes,
        peak_time_ns: m.peak_time_ns,
        live_end_bytes: m.live_end_bytes,
        lost_events: m.settings.lost_events,
        untracked: m.settings.untracked,
        outside_gil_count: m.settings.outside_gil_count,
        outside_gil_bytes: m.settings.outside_gil_bytes,
        free_lists_followed: !m.settings.free_lists_ignored
            && profile
                .meta
                .as_ref()
                .is_some_and(|m| m.follows_free_lists()),
        alloc_lines: lines(profile, &m.allocated, TOP_LINES),
        peak_lines: lines(profile, &m.at_peak, TOP_LINES),
        leak_lines: lines(profile, &m.at_end, TOP_LINES),
        size_classes: m
            .size_classes
            .iter()
            .map(|c| SizeClass {
                upper: c.upper,
                count: c.count,
                bytes: c.bytes,
            })
            .collect(),
        heap: thin(m.heap.iter().map(|p| [p.time_ns, p.heap_bytes])),
        rss: thin(m.rss.iter().map(|&(t, r)| [t, r])),
        gc: Gc {
            collections: m.gc.len() as u64,
            per_generation,
            total_ns: pauses.iter().sum(),
            p50_ns: quantile(0.5),
            p99_ns: quantile(0.99),
            max_ns: pauses.last().copied().unwrap_or(0),
            collected: m.gc.iter().map(|g| g.collected).sum(),
            uncollectable: m.gc.iter().map(|g| g.uncollectable).sum(),
            events: m
                .gc
                .iter()
                .map(|g| GcEvent {
                    start_ns: g.start_ns,
                    duration_ns: g.duration_ns,
                    generation: g.generation,
                    collected: g.collected,
                    uncollectable: g.uncollectable,
                })
                .collect(),
        },
        snapshots: m
            .snapshots
            .iter()
            .map(|s| Snapshot {
                label: &s.mark.label,
                time_ns: s.mark.time_ns,
                heap_bytes: s.heap_bytes,
                rss_bytes: s.mark.rss_bytes,
                gc_collections: s.mark.gc_collections,
                types: s.mark.types.iter().map(|(t, n)| (t.as_str(), *n)).collect(),
                lines: lines(profile, &s.live, usize::MAX),
            })
            .collect(),
    }
}
