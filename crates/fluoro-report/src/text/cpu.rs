//! The CPU part of the text summary: threads, top functions, the call tree, hottest lines,
//! and the exact call table when the profile hook ran.

use super::style::{
    amount, amount_or_dash, end, function_rows, location, measure_words, ns, place, section,
    sources, start, truncate, Style,
};
use crate::analysis::{
    call_tree, function_table, idle_table, line_table, share, thread_table, CallNode,
    FunctionStats, IdleThread, LineStats, Measure, RunSummary,
};
use crate::RenderOptions;
use fluoro_profile::{ExactFunction, ExactStats, Metric, Profile};
use fluoro_render::escape::for_terminal;
use fluoro_render::{count, percent};
use std::fmt::Write;

/// Call-tree nodes lighter than this share of the total are hidden.
const TREE_MIN_SHARE: f64 = 0.01;
/// Longest source excerpt shown next to a hot line.
const SOURCE_WIDTH: usize = 60;

/// The threads table; `limit` keeps the most sampled ones and says how many more there were;
/// `waits` (the idle table) adds what each thread waited on.
pub(super) fn threads(
    out: &mut String,
    profile: &Profile,
    limit: Option<usize>,
    waits: Option<&[IdleThread<'_>]>,
    style: &Style,
) {
    let mut threads = thread_table(profile);
    let all = threads.len();
    if let Some(limit) = limit {
        threads.sort_by(|a, b| b.samples.cmp(&a.samples).then(a.thread.cmp(&b.thread)));
        threads.truncate(limit);
    }
    let shown = threads.len();
    let rows = threads
        .into_iter()
        .map(|t| {
            let mut row = vec![
                t.name,
                t.samples.to_string(),
                ns(t.wall_ns),
                amount_or_dash(Metric::Cpu, t.cpu_ns),
                percent(share(t.gil_samples, t.samples)),
                percent(share(t.active_samples, t.samples)),
            ];
            if let Some(waits) = waits {
                let waited = waits.iter().find(|w| w.thread == t.thread);
                row.push(waited.map_or_else(|| "-".to_string(), wait_kinds));
            }
            row
        })
        .collect();
    let mut header = vec!["thread", "samples", "wall", "cpu", "GIL held", "active"];
    let mut numeric = vec![false, true, true, true, true, true];
    if waits.is_some() {
        header.push("waited on");
        numeric.push(false);
    }
    let mut body = style.table(&header, &numeric, rows, &[start(6), start(0)]);
    if shown < all {
        let _ = writeln!(
            body,
            "\n(not shown: {}, sampled less)",
            count((all - shown) as u64, "thread")
        );
    }
    section(out, "Threads", &body, style);
}

/// Every thread that waited, with what it waited on; `source_line` text classifies calls
/// into C.
pub(super) fn waits<'p>(
    profile: &'p Profile,
    run: &RunSummary,
    options: &RenderOptions,
) -> Vec<IdleThread<'p>> {
    let mut sources = sources(options, run);
    idle_table(profile, |file, line| {
        sources.line(file, line).map(str::to_string)
    })
}

/// What a thread waited on: its one kind, or each kind with its share.
fn wait_kinds(r: &IdleThread<'_>) -> String {
    match r.kinds.as_slice() {
        [(only, _)] => only.name().to_string(),
        several => several
            .iter()
            .map(|&(k, ns)| format!("{} {}", k.name(), percent(share(ns, r.idle_ns))))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// One line per thread that waited: its idle share, what it waited for, and the frame that
/// waited most.
pub(super) fn idle(
    out: &mut String,
    profile: &Profile,
    run: &RunSummary,
    options: &RenderOptions,
    style: &Style,
) {
    let rows = waits(profile, run, options);
    if rows.is_empty() {
        return;
    }
    let width = rows
        .iter()
        .map(|r| for_terminal(&r.name).chars().count())
        .max()
        .unwrap_or(0);
    let mut body = String::new();
    for r in &rows {
        let (key, line, kind, _) = r.top;
        // One kind says it all; several get their shares and the top frame its kind.
        let kinds = wait_kinds(r);
        let top_kind = match r.kinds.as_slice() {
            [_] => String::new(),
            _ => format!(" ({})", kind.name()),
        };
        let _ = writeln!(
            body,
            "{:<width$}  {} idle ({} of its time): {kinds}; waited most in {}{top_kind}{}",
            for_terminal(&r.name),
            ns(r.idle_ns),
            percent(share(r.idle_ns, r.wall_ns)),
            for_terminal(key.qualname),
            match place(run, key.filename, line) {
                at if at.is_empty() => at,
                at => format!(" {}", style.dim(&at)),
            },
        );
    }
    let title = if options.measure().sets_idle_apart() {
        "Idle (threads waiting, left out of the tables below; --idle puts it back)"
    } else {
        "Idle (threads waiting)"
    };
    section(out, title, &body, style);
}

pub(super) fn functions(
    out: &mut String,
    profile: &Profile,
    run: &RunSummary,
    options: &RenderOptions,
    style: &Style,
) {
    let measure = options.measure();
    let total = measure.total(profile);
    let mut rows = function_table(profile, measure);
    let words = measure_words(measure);
    let by_self = |f: &FunctionStats<'_>| (f.self_ns, f.total_ns);
    let metric = options.metric;
    let body = function_rows(
        &rows,
        by_self,
        ["self", "total"],
        total,
        run,
        options.top,
        metric,
        style,
    );
    section(out, &format!("Top functions by self {words}"), &body, style);
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
        total,
        run,
        options.top,
        metric,
        style,
    );
    section(
        out,
        &format!("Top functions by total {words}"),
        &body,
        style,
    );
}

/// The summary's one table of the program's time: the top functions by self time, each at
/// its hottest line, with that line's source.
pub(super) fn top_functions(
    out: &mut String,
    profile: &Profile,
    run: &RunSummary,
    options: &RenderOptions,
    style: &Style,
) {
    let measure = options.measure();
    let total = measure.total(profile);
    let lines = line_table(profile, measure);
    let mut sources = sources(options, run);
    let hottest = |f: &FunctionStats<'_>| -> Option<&LineStats<'_>> {
        lines
            .iter()
            .find(|l| l.filename == f.key.filename && l.qualname == f.key.qualname)
    };
    let rows: Vec<Vec<String>> = function_table(profile, measure)
        .iter()
        .filter(|f| f.self_ns > 0)
        .take(options.top)
        .map(|f| {
            let (at, text) = match hottest(f) {
                Some(l) if l.line > 0 => (
                    place(run, l.filename, l.line),
                    sources
                        .line(l.filename, l.line)
                        .map(|t| truncate(t, SOURCE_WIDTH))
                        .unwrap_or_default(),
                ),
                _ => (location(run, &f.key), String::new()),
            };
            vec![
                amount(options.metric, f.self_ns),
                percent(share(f.self_ns, total)),
                amount_or_dash(options.metric, f.total_ns),
                f.key.qualname.to_string(),
                at,
                text,
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    let body = style.table(
        &[
            "self",
            "share",
            "total",
            "function",
            "hottest line",
            "source",
        ],
        &[true, true, true, false, false, false],
        rows,
        &[start(5), start(3), end(4)],
    );
    let title = format!(
        "Top functions by self {}, at their hottest line",
        measure_words(measure)
    );
    section(out, &title, &body, style);
}

/// One tree per thread, shares of the whole run, so threads compare with each other.
pub(super) fn tree(
    out: &mut String,
    profile: &Profile,
    run: &RunSummary,
    measure: Measure,
    style: &Style,
) {
    let metric = measure.metric;
    let total = measure.total(profile);
    let min_ns = (total as f64 * TREE_MIN_SHARE).ceil() as u64;
    let mut body = String::new();
    let mut hidden_threads: u64 = 0;
    for t in thread_table(profile) {
        let mut root = call_tree(profile, measure, |thread| thread == t.thread);
        if root.total_ns == 0 || root.total_ns < min_ns {
            // A thread that only waited is in the idle lines, not hidden.
            let only_idle = measure.sets_idle_apart() && t.active_samples == 0;
            hidden_threads += u64::from(t.samples > 0 && !only_idle);
            continue;
        }
        root.prune(min_ns.max(1));
        let _ = writeln!(
            body,
            "{}  {}  {}",
            amount(metric, root.total_ns),
            percent(share(root.total_ns, total)),
            style.title(&for_terminal(&t.name))
        );
        for (i, child) in root.children.iter().enumerate() {
            let last = i + 1 == root.children.len();
            tree_node(&mut body, child, "", last, total, run, metric, style);
        }
    }
    if hidden_threads > 0 {
        let _ = writeln!(
            body,
            "({} under {} hidden)",
            count(hidden_threads, "thread"),
            percent(TREE_MIN_SHARE)
        );
    }
    let title = format!(
        "Call tree ({}, one per thread; nodes under {} hidden)",
        measure_words(measure),
        percent(TREE_MIN_SHARE)
    );
    section(out, &title, &body, style);
}

/// Draws `node` and its subtree with box-drawing guides; iterative so depth costs no stack.
#[allow(clippy::too_many_arguments)]
fn tree_node(
    out: &mut String,
    node: &CallNode<'_>,
    prefix: &str,
    last: bool,
    total: u64,
    run: &RunSummary,
    metric: Metric,
    style: &Style,
) {
    let mut pending: Vec<(&CallNode<'_>, String, bool)> = vec![(node, prefix.to_string(), last)];
    while let Some((node, prefix, last)) = pending.pop() {
        let (branch, guide) = if last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        let (name, at) = match &node.key {
            Some(key) => (for_terminal(key.qualname), location(run, key)),
            None => ("".into(), String::new()),
        };
        let _ = writeln!(
            out,
            "{prefix}{branch}{}  {}  {name}  {}",
            amount(metric, node.total_ns),
            percent(share(node.total_ns, total)),
            style.dim(&at)
        );
        let child_prefix = format!("{prefix}{guide}");
        let n = node.children.len();
        for (i, child) in node.children.iter().enumerate().rev() {
            pending.push((child, child_prefix.clone(), i + 1 == n));
        }
    }
}

pub(super) fn lines(
    out: &mut String,
    profile: &Profile,
    run: &RunSummary,
    options: &RenderOptions,
    style: &Style,
) {
    let measure = options.measure();
    let total = measure.total(profile);
    let mut sources = sources(options, run);
    let rows = line_table(profile, measure)
        .into_iter()
        .filter(|l| l.self_ns > 0)
        .take(options.top)
        .map(|l| {
            let text = sources
                .line(l.filename, l.line)
                .map(|t| truncate(t, SOURCE_WIDTH))
                .unwrap_or_default();
            vec![
                amount(options.metric, l.self_ns),
                percent(share(l.self_ns, total)),
                place(run, l.filename, l.line),
                l.qualname.to_string(),
                text,
            ]
        })
        .collect();
    let body = style.table(
        &["self", "share", "line", "function", "source"],
        &[true, true, false, false, false],
        rows,
        &[start(4), start(3), end(2)],
    );
    let title = format!("Hottest lines by self {}", measure_words(measure));
    section(out, &title, &body, style);
}

/// `filename:lineno(function)` as pstats prints it: built-ins as `{built-in method …}`.
fn pstats_name(run: &RunSummary, f: &ExactFunction) -> String {
    if f.filename == "~" && f.line == 0 {
        let inner = f
            .name
            .strip_prefix('<')
            .and_then(|n| n.strip_suffix('>'))
            .unwrap_or(&f.name);
        format!("{{{inner}}}")
    } else {
        format!("{}:{}({})", run.display_path(&f.filename), f.line, f.name)
    }
}

pub(super) fn exact_table(
    out: &mut String,
    exact: &ExactStats,
    run: &RunSummary,
    top: usize,
    style: &Style,
) {
    let mut functions: Vec<&ExactFunction> = exact.functions.iter().collect();
    functions.sort_by(|a, b| {
        b.tottime_ns
            .cmp(&a.tottime_ns)
            .then_with(|| b.cumtime_ns.cmp(&a.cumtime_ns))
            .then_with(|| (&a.filename, a.line, &a.name).cmp(&(&b.filename, b.line, &b.name)))
    });
    let per = |ns_total: u64, n: u64| ns_total.checked_div(n).map(ns).unwrap_or_default();
    let rows = functions
        .iter()
        .take(top)
        .map(|f| {
            let ncalls = if f.calls == f.prim_calls {
                f.calls.to_string()
            } else {
                format!("{}/{}", f.calls, f.prim_calls)
            };
            vec![
                ncalls,
                ns(f.tottime_ns),
                per(f.tottime_ns, f.calls),
                ns(f.cumtime_ns),
                per(f.cumtime_ns, f.prim_calls),
                pstats_name(run, f),
            ]
        })
        .collect();
    let body = style.table(
        &[
            "ncalls",
            "tottime",
            "percall",
            "cumtime",
            "percall",
            "filename:lineno(function)",
        ],
        &[true, true, true, true, true, false],
        rows,
        &[end(5)],
    );
    let title = format!(
        "Exact calls (profile hook), by tottime, {} functions",
        exact.functions.len()
    );
    section(out, &title, &body, style);
}
