//! The memory part of the text summary: allocations by line and function, the peak and
//! what was live then, leak candidates, the heap over time, allocation sizes, garbage
//! collections and snapshot diffs.

use super::style::{end, function_rows, ns, place, section, sources, start, truncate, Style};
use crate::analysis::{
    by_line, function_table, share, FunctionStats, LineBytes, Measure, RunSummary,
};
use crate::source::SourceFiles;
use crate::RenderOptions;
use fluoro_profile::{AllocMode, MemoryProfile, Metric, Profile, Snapshot};
use fluoro_render::{bytes, count, percent};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

const SOURCE_WIDTH: usize = 50;
/// Columns of the heap timeline.
const TIMELINE_WIDTH: usize = 60;
/// Rows in the snapshot diff tables.
const DIFF_ROWS: usize = 8;

pub(crate) fn render(
    out: &mut String,
    profile: &Profile,
    memory: &MemoryProfile,
    run: &RunSummary,
    options: &RenderOptions,
    style: &Style,
) {
    let mut sources = sources(options, run);
    summary(out, profile, memory, run, style);
    if memory.tracked {
        let lines = by_line(profile, &memory.allocated);
        let body = line_rows(
            &lines,
            memory.allocated_bytes,
            run,
            &mut sources,
            options.top,
            style,
        );
        section(out, "Top lines by bytes allocated", &body, style);
        functions(out, profile, memory, run, options, style);
        let at_end = by_line(profile, &memory.at_end);
        // When the peak is the end, what was live then is what is still live: one table.
        let peak_is_end = memory.peak_bytes == memory.live_end_bytes
            && by_line(profile, &memory.at_peak) == at_end;
        if memory.peak_bytes > 0 && !peak_is_end {
            let lines = by_line(profile, &memory.at_peak);
            let body = line_rows(
                &lines,
                memory.peak_bytes,
                run,
                &mut sources,
                options.top,
                style,
            );
            let title = format!(
                "Live at the peak ({} at {})",
                bytes(memory.peak_bytes),
                ns(memory.peak_time_ns)
            );
            section(out, &title, &body, style);
        }
        if memory.live_end_bytes > 0 {
            let body = line_rows(
                &at_end,
                memory.live_end_bytes,
                run,
                &mut sources,
                options.top,
                style,
            );
            let title = if peak_is_end {
                format!(
                    "Live at the peak, which was the end: leak candidates ({})",
                    bytes(memory.live_end_bytes)
                )
            } else {
                format!(
                    "Still live at the end: leak candidates ({})",
                    bytes(memory.live_end_bytes)
                )
            };
            section(out, &title, &body, style);
        }
        timeline(out, memory, style);
        sizes(out, memory, style);
    }
    gc(out, profile, memory, run, style);
    snapshots(out, profile, memory, run, style);
}

/// The one-screen summary's memory: what was allocated, the peak and where most of it was,
/// what was still live at the end (the top leak candidates), RSS, and collections in a line.
pub(crate) fn headline(
    out: &mut String,
    profile: &Profile,
    memory: &MemoryProfile,
    run: &RunSummary,
    options: &RenderOptions,
    style: &Style,
) {
    let mut pairs = Vec::new();
    let s = &memory.settings;
    let mode = match s.mode {
        AllocMode::All => "every allocation recorded".to_owned(),
        AllocMode::Sampled => format!("sampled every {}: estimates", bytes(s.mean_bytes)),
    };
    let at_end = by_line(profile, &memory.at_end);
    if memory.tracked {
        pairs.push((
            "allocated",
            format!(
                "{} in {} ({mode})",
                bytes(memory.allocated_bytes),
                count(memory.allocated_count, "allocation")
            ),
        ));
        let at_peak = by_line(profile, &memory.at_peak);
        let most = at_peak
            .first()
            .map(|l| {
                let at = place(run, l.filename, l.line);
                let by = if at.is_empty() {
                    l.qualname.to_string()
                } else {
                    format!("{at} {}", l.qualname)
                };
                format!(
                    ", most by {by} ({})",
                    percent(share(l.bytes, memory.peak_bytes))
                )
            })
            .unwrap_or_default();
        pairs.push((
            "peak",
            format!(
                "{} of Python heap at {}{most}",
                bytes(memory.peak_bytes),
                ns(memory.peak_time_ns)
            ),
        ));
        let peak_is_end = memory.peak_bytes == memory.live_end_bytes && at_peak == at_end;
        let end = if peak_is_end && memory.peak_bytes > 0 {
            format!("{} (the peak was the end)", bytes(memory.live_end_bytes))
        } else {
            bytes(memory.live_end_bytes)
        };
        pairs.push(("live at end", end));
    } else if s.mean_bytes > 0 || s.mode == AllocMode::All {
        pairs.push(("allocated", "nothing recorded".to_owned()));
    }
    if let Some(&(_, rss)) = memory.rss.iter().max_by_key(|(_, rss)| *rss) {
        pairs.push(("RSS", format!("peak {}", bytes(rss))));
    }
    if let Some(gc) = GcTotals::of(memory) {
        pairs.push((
            "GC",
            format!(
                "{}, paused {} in all ({} of the run), longest {}",
                count(gc.collections, "collection"),
                ns(gc.paused_ns),
                percent(share(gc.paused_ns, run.duration_ns)),
                ns(gc.longest_ns)
            ),
        ));
    }
    let mut body = style.fields(&pairs);
    if memory.tracked && memory.live_end_bytes > 0 {
        let mut sources = sources(options, run);
        let top = options.top.min(LEAKS_SHOWN);
        subheading(&mut body, "Leak candidates (still live at the end)");
        body.push_str(&line_rows(
            &at_end,
            memory.live_end_bytes,
            run,
            &mut sources,
            top,
            style,
        ));
    }
    section(out, "Memory", &body, style);
}

/// Leak candidates the summary shows (at most `--top`).
const LEAKS_SHOWN: usize = 3;

/// The run's collections in three figures.
struct GcTotals {
    collections: u64,
    paused_ns: u64,
    longest_ns: u64,
}

impl GcTotals {
    fn of(memory: &MemoryProfile) -> Option<GcTotals> {
        (!memory.gc.is_empty()).then(|| GcTotals {
            collections: memory.gc.len() as u64,
            paused_ns: memory.gc.iter().map(|g| g.duration_ns).sum(),
            longest_ns: memory.gc.iter().map(|g| g.duration_ns).max().unwrap_or(0),
        })
    }
}

fn summary(
    out: &mut String,
    profile: &Profile,
    memory: &MemoryProfile,
    run: &RunSummary,
    style: &Style,
) {
    let s = &memory.settings;
    let mode = match s.mode {
        AllocMode::All => "every allocation recorded".to_owned(),
        AllocMode::Sampled => format!(
            "allocations sampled every {} on average; figures are estimates",
            bytes(s.mean_bytes)
        ),
    };
    let mut pairs = vec![("allocations", mode)];
    if memory.tracked {
        pairs.push((
            "allocated",
            format!(
                "{} in {}",
                bytes(memory.allocated_bytes),
                count(memory.allocated_count, "allocation")
            ),
        ));
        pairs.push((
            "peak",
            format!(
                "{} of Python heap at {}",
                bytes(memory.peak_bytes),
                ns(memory.peak_time_ns)
            ),
        ));
        pairs.push(("live at end", bytes(memory.live_end_bytes)));
    } else if s.mean_bytes > 0 || s.mode == AllocMode::All {
        pairs.push(("allocated", "nothing recorded".to_owned()));
    }
    if let Some(&(at, rss)) = memory.rss.iter().max_by_key(|(_, rss)| *rss) {
        pairs.push(("RSS", format!("peak {} at {}", bytes(rss), ns(at))));
    }
    if s.lost_events > 0 || s.untracked > 0 {
        pairs.push((
            "dropped",
            format!(
                "{} events lost to a full buffer, {} sampled blocks not followed",
                s.lost_events, s.untracked
            ),
        ));
    }
    if s.outside_gil_count > 0 {
        pairs.push((
            "without the GIL",
            format!(
                "{}, {}, through PyMem_RawMalloc by threads not holding the GIL \
                 (no Python stack: not in the figures)",
                count(s.outside_gil_count, "allocation"),
                bytes(s.outside_gil_bytes)
            ),
        ));
    }
    if memory.tracked && s.free_lists_ignored {
        pairs.push((
            "free lists",
            "objects reused from them keep their first site (--ignore-free-lists)".to_owned(),
        ));
    } else if memory.tracked
        && !profile
            .meta
            .as_ref()
            .is_some_and(|m| m.follows_free_lists())
    {
        pairs.push((
            "free lists",
            "objects reused from them keep their first site (followed on 3.13+)".to_owned(),
        ));
    }
    let _ = run;
    section(out, "Memory", &style.fields(&pairs), style);
}

fn line_rows(
    rows: &[LineBytes<'_>],
    total: u64,
    run: &RunSummary,
    sources: &mut SourceFiles,
    top: usize,
    style: &Style,
) -> String {
    let cells = rows
        .iter()
        .filter(|l| l.bytes > 0)
        .take(top)
        .map(|l| {
            vec![
                bytes(l.bytes),
                percent(share(l.bytes, total)),
                l.count.to_string(),
                place(run, l.filename, l.line),
                l.qualname.to_string(),
                sources
                    .line(l.filename, l.line)
                    .map(|t| truncate(t, SOURCE_WIDTH))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    style.table(
        &["bytes", "share", "blocks", "line", "function", "source"],
        &[true, true, true, false, false, false],
        cells,
        &[start(5), start(4), end(3)],
    )
}

fn functions(
    out: &mut String,
    profile: &Profile,
    memory: &MemoryProfile,
    run: &RunSummary,
    options: &RenderOptions,
    style: &Style,
) {
    let mut rows = function_table(profile, Measure::all(Metric::Alloc));
    rows.sort_by(|a, b| {
        (b.total_ns, b.self_ns)
            .cmp(&(a.total_ns, a.self_ns))
            .then_with(|| a.key.cmp(&b.key))
    });
    let by_total = |f: &FunctionStats<'_>| (f.total_ns, f.self_ns);
    let body = function_rows(
        &rows,
        by_total,
        ["total", "self"],
        memory.allocated_bytes,
        run,
        options.top,
        Metric::Alloc,
        style,
    );
    section(
        out,
        "Top functions by bytes allocated (with what they call)",
        &body,
        style,
    );
}

/// The heap over the run as a row of block characters, with RSS under it.
fn timeline(out: &mut String, memory: &MemoryProfile, style: &Style) {
    // The latest point of either, wherever it is: a damaged file need not keep them in order.
    let end = memory
        .heap
        .iter()
        .map(|p| p.time_ns)
        .chain(memory.rss.iter().map(|r| r.0))
        .max()
        .unwrap_or(0);
    if end == 0 || memory.heap.len() < 2 {
        return;
    }
    let column = |t: u64| ((t as u128 * (TIMELINE_WIDTH as u128 - 1)) / end as u128) as usize;
    let mut heap = vec![None; TIMELINE_WIDTH];
    for p in &memory.heap {
        let c = &mut heap[column(p.time_ns)];
        *c = Some(c.unwrap_or(0).max(p.heap_bytes));
    }
    let mut rss = vec![None; TIMELINE_WIDTH];
    for &(t, r) in &memory.rss {
        let c = &mut rss[column(t)];
        *c = Some(c.unwrap_or(0).max(r));
    }
    let mut body = String::new();
    // The drawn points are the heap at each drain; the peak between two of them is the
    // max the row says (and scales to), the same figure as the summary's peak.
    let heap_max = heap
        .iter()
        .flatten()
        .max()
        .copied()
        .unwrap_or(0)
        .max(memory.peak_bytes);
    let _ = writeln!(
        body,
        "heap  {}  max {}",
        bars(&heap, heap_max),
        bytes(heap_max)
    );
    if rss.iter().any(Option::is_some) {
        let rss_max = rss.iter().flatten().max().copied().unwrap_or(0);
        let _ = writeln!(
            body,
            "RSS   {}  max {}",
            bars(&rss, rss_max),
            bytes(rss_max)
        );
    }
    let _ = writeln!(
        body,
        "      0{}{}",
        " ".repeat(TIMELINE_WIDTH.saturating_sub(1)),
        ns(end)
    );
    section(out, "Heap over time", &body, style);
}

/// One block character per column, scaled to `max`; gaps keep the last level.
fn bars(values: &[Option<u64>], max: u64) -> String {
    const LEVELS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = max.max(1);
    let mut last = 0;
    values
        .iter()
        .map(|v| {
            if let Some(v) = v {
                last = *v;
            }
            LEVELS[((last as u128 * 8).div_ceil(max as u128)) as usize]
        })
        .collect()
}

fn sizes(out: &mut String, memory: &MemoryProfile, style: &Style) {
    let total = memory.allocated_bytes;
    let count_total = memory.allocated_count;
    let rows = memory
        .size_classes
        .iter()
        .filter(|c| c.count > 0)
        .map(|c| {
            let low = if c.upper <= 1 { 0 } else { c.upper / 2 + 1 };
            vec![
                format!("{}–{}", bytes(low), bytes(c.upper)),
                c.count.to_string(),
                percent(share(c.count, count_total)),
                bytes(c.bytes),
                percent(share(c.bytes, total)),
            ]
        })
        .collect();
    let body = style.table(
        &["size", "blocks", "share", "bytes", "share"],
        &[false, true, true, true, true],
        rows,
        &[],
    );
    section(out, "Allocation sizes", &body, style);
}

fn gc(
    out: &mut String,
    profile: &Profile,
    memory: &MemoryProfile,
    run: &RunSummary,
    style: &Style,
) {
    if memory.gc.is_empty() {
        return;
    }
    let mut per_gen = [0u64; 3];
    let mut pauses: Vec<u64> = Vec::with_capacity(memory.gc.len());
    let (mut collected, mut uncollectable) = (0, 0);
    for g in &memory.gc {
        per_gen[usize::from(g.generation.min(2))] += 1;
        pauses.push(g.duration_ns);
        collected += g.collected;
        uncollectable += g.uncollectable;
    }
    pauses.sort_unstable();
    let total: u64 = pauses.iter().sum();
    let quantile = |q: f64| pauses[((pauses.len() - 1) as f64 * q).round() as usize];
    let mut pairs = vec![
        (
            "collections",
            format!(
                "{} (generation 0: {}, 1: {}, 2: {})",
                pauses.len(),
                per_gen[0],
                per_gen[1],
                per_gen[2]
            ),
        ),
        (
            "paused",
            format!(
                "{} in all, {} of the run",
                ns(total),
                percent(share(total, run.duration_ns))
            ),
        ),
        (
            "pauses",
            format!(
                "p50 {}, p99 {}, max {}",
                ns(quantile(0.5)),
                ns(quantile(0.99)),
                ns(*pauses.last().unwrap_or(&0))
            ),
        ),
        (
            "freed",
            format!("{collected} objects collected, {uncollectable} uncollectable"),
        ),
    ];
    if uncollectable == 0 {
        pairs.pop();
        pairs.push(("freed", format!("{collected} objects collected")));
    }
    let mut body = style.fields(&pairs);
    // Which lines allocated when a collection started: the code that triggers them.
    let mut triggers: HashMap<(String, u32), (String, u64, u64)> = HashMap::new();
    for g in memory.gc.iter().filter(|g| g.has_stack()) {
        let Some(&leaf) = profile.frames(g.stack).last() else {
            continue;
        };
        let code = profile.code(leaf);
        let key = (code.filename.clone(), profile.line(leaf));
        let entry = triggers
            .entry(key)
            .or_insert_with(|| (code.qualname.clone(), 0, 0));
        entry.1 += 1;
        entry.2 += g.duration_ns;
    }
    let mut triggers: Vec<_> = triggers.into_iter().collect();
    triggers.sort_by(|a, b| b.1 .2.cmp(&a.1 .2).then_with(|| a.0.cmp(&b.0)));
    if !triggers.is_empty() {
        let rows = triggers
            .iter()
            .take(5)
            .map(|((file, line), (qualname, n, pause))| {
                vec![
                    n.to_string(),
                    ns(*pause),
                    place(run, file, *line),
                    qualname.clone(),
                ]
            })
            .collect();
        subheading(&mut body, "Triggered at");
        body.push_str(&style.table(
            &["collections", "paused", "line", "function"],
            &[true, true, false, false],
            rows,
            &[start(3), end(2)],
        ));
    }
    section(out, "Garbage collection", &body, style);
}

fn snapshots(
    out: &mut String,
    profile: &Profile,
    memory: &MemoryProfile,
    run: &RunSummary,
    style: &Style,
) {
    // Marks left by heap snapshots (`heap:PATH`) only tie those files to the run.
    let shown: Vec<&Snapshot> = memory
        .snapshots
        .iter()
        .filter(|s| !s.mark.label.starts_with("heap:"))
        .collect();
    for pair in shown.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let body = snapshot_diff(profile, a, b, run, memory.tracked, style);
        let title = format!(
            "Snapshot {:?} → {:?} ({} later)",
            a.mark.label,
            b.mark.label,
            ns(b.mark.time_ns.saturating_sub(a.mark.time_ns))
        );
        section(out, &title, &body, style);
    }
}

/// A blank line, then `title`, under what `body` holds so far.
fn subheading(body: &mut String, title: &str) {
    if !body.ends_with('\n') {
        body.push('\n');
    }
    let _ = writeln!(body, "\n{title}");
}

fn signed_bytes(delta: i128) -> String {
    let sign = if delta < 0 { "-" } else { "+" };
    format!("{sign}{}", bytes(delta.unsigned_abs() as u64))
}

fn signed(delta: i128) -> String {
    if delta < 0 {
        delta.to_string()
    } else {
        format!("+{delta}")
    }
}

fn snapshot_diff(
    profile: &Profile,
    a: &Snapshot,
    b: &Snapshot,
    run: &RunSummary,
    tracked: bool,
    style: &Style,
) -> String {
    let collections = |s: &Snapshot| s.mark.gc_collections.iter().sum::<u64>();
    let mut pairs = vec![(
        "RSS",
        signed_bytes(b.mark.rss_bytes as i128 - a.mark.rss_bytes as i128),
    )];
    if tracked {
        pairs.push((
            "traced heap",
            signed_bytes(b.heap_bytes as i128 - a.heap_bytes as i128),
        ));
    }
    pairs.push((
        "collections",
        signed(collections(b) as i128 - collections(a) as i128),
    ));
    let mut body = style.fields(&pairs);
    // Objects by type, largest changes first.
    let before: HashMap<&str, u64> = a.mark.types.iter().map(|(t, n)| (t.as_str(), *n)).collect();
    let after: HashMap<&str, u64> = b.mark.types.iter().map(|(t, n)| (t.as_str(), *n)).collect();
    let names: BTreeSet<&str> = before.keys().chain(after.keys()).copied().collect();
    let mut types: Vec<(&str, i128, u64)> = names
        .into_iter()
        .map(|t| {
            let (x, y) = (*before.get(t).unwrap_or(&0), *after.get(t).unwrap_or(&0));
            (t, y as i128 - x as i128, y)
        })
        .filter(|(_, d, _)| *d != 0)
        .collect();
    types.sort_by(|x, y| y.1.abs().cmp(&x.1.abs()).then_with(|| x.0.cmp(y.0)));
    if !types.is_empty() {
        let rows = types
            .iter()
            .take(DIFF_ROWS)
            .map(|(t, d, n)| vec![signed(*d), n.to_string(), t.to_string()])
            .collect();
        subheading(&mut body, "Objects by type");
        body.push_str(&style.table(
            &["change", "now", "type"],
            &[true, true, false],
            rows,
            &[start(2)],
        ));
    }
    if tracked {
        let lines = |s: &Snapshot| -> HashMap<(String, u32), (String, i128)> {
            let mut m = HashMap::new();
            for l in by_line(profile, &s.live) {
                m.insert(
                    (l.filename.to_owned(), l.line),
                    (l.qualname.to_owned(), l.bytes as i128),
                );
            }
            m
        };
        let (la, lb) = (lines(a), lines(b));
        let keys: BTreeSet<&(String, u32)> = la.keys().chain(lb.keys()).collect();
        let mut deltas: Vec<((String, u32), String, i128)> = keys
            .into_iter()
            .map(|k| {
                let x = la.get(k).map_or(0, |v| v.1);
                let (name, y) = lb
                    .get(k)
                    .or_else(|| la.get(k))
                    .map(|v| (v.0.clone(), lb.get(k).map_or(0, |v| v.1)))
                    .unwrap_or_default();
                (k.clone(), name, y - x)
            })
            .filter(|d| d.2 != 0)
            .collect();
        deltas.sort_by(|x, y| y.2.abs().cmp(&x.2.abs()).then_with(|| x.0.cmp(&y.0)));
        if !deltas.is_empty() {
            let rows = deltas
                .iter()
                .take(DIFF_ROWS)
                .map(|((file, line), name, d)| {
                    vec![signed_bytes(*d), place(run, file, *line), name.clone()]
                })
                .collect();
            subheading(&mut body, "Traced bytes by line");
            body.push_str(&style.table(
                &["change", "line", "function"],
                &[true, false, false],
                rows,
                &[start(2), end(1)],
            ));
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use crate::testing;
    use crate::{render, Format, Metric, RenderOptions};

    fn text(metric: Metric) -> String {
        text_of(&testing::fixture_with_memory(), metric)
    }

    fn text_of(profile: &crate::Profile, metric: Metric) -> String {
        let options = RenderOptions {
            metric,
            full: true,
            source_root: Some(testing::source_root("memory_text")),
            ..RenderOptions::default()
        };
        let out = render(profile, Format::Text, &options).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Found by fuzzing: heap points out of time order put a column past the timeline's end.
    #[test]
    fn heap_points_out_of_order_stay_on_the_timeline() {
        let mut profile = testing::fixture_with_memory();
        let memory = profile.memory.as_mut().unwrap();
        memory.heap.reverse();
        memory.rss.reverse();
        let out = text_of(&profile, Metric::Wall);
        assert!(out.contains("Heap over time"), "{out}");
    }

    #[test]
    fn a_peak_at_the_end_is_one_table_not_two() {
        let mut profile = testing::fixture_with_memory();
        let memory = profile.memory.as_mut().unwrap();
        memory.at_peak = memory.at_end.clone();
        memory.peak_bytes = memory.live_end_bytes;
        let out = text_of(&profile, Metric::Wall);
        assert!(!out.contains("Live at the peak ("), "{out}");
        assert!(!out.contains("Still live at the end"), "{out}");
        assert_eq!(
            out.matches("Live at the peak, which was the end").count(),
            1,
            "{out}"
        );
        // Otherwise, two tables.
        let out = text(Metric::Wall);
        assert!(out.contains("Live at the peak ("), "{out}");
        assert!(out.contains("Still live at the end"), "{out}");
    }

    #[test]
    fn the_chart_max_is_the_peak() {
        let out = text(Metric::Wall);
        let memory = testing::fixture_with_memory().memory.unwrap();
        let peak = fluoro_render::bytes(memory.peak_bytes);
        assert!(
            out.contains(&format!("peak         {peak} of Python heap")),
            "{out}"
        );
        assert!(out.contains(&format!("  max {peak}\n")), "{out}");
    }

    #[test]
    fn one_allocation_is_singular() {
        let mut profile = testing::fixture_with_memory();
        profile.memory.as_mut().unwrap().allocated_count = 1;
        let out = text_of(&profile, Metric::Wall);
        assert!(out.contains(" in 1 allocation\n"), "{out}");
    }

    #[test]
    fn memory_sections_snapshot() {
        let out = text(Metric::Wall);
        let memory = &out[out.find("\nMemory\n").expect("a memory section")..];
        insta::assert_snapshot!(memory);
    }

    #[test]
    fn byte_metrics_render_in_bytes() {
        let out = text(Metric::Leak);
        assert!(
            out.contains("Top functions by self bytes live at the end"),
            "{out}"
        );
        assert!(out.contains("3.2 KiB"), "{out}");
    }
}
