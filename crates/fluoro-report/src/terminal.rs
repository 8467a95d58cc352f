//! The text summary `fluoro run` prints at exit: header, threads, top functions, call tree,
//! hottest lines, and the exact call table when the profile hook ran.

use crate::analysis::{
    call_tree, function_table, line_table, share, thread_table, CallNode, FunctionKey,
    FunctionStats, RunSummary,
};
use crate::source::SourceFiles;
use crate::{RenderError, RenderOptions};
use fluoro_profile::{ExactFunction, ExactStats, Metric, Profile};
use fluoro_render::{bytes, fields, percent, seconds, table};
use std::fmt::Write;
use std::path::PathBuf;

/// Call-tree nodes lighter than this share of the total are hidden.
const TREE_MIN_SHARE: f64 = 0.01;
/// Longest source excerpt shown next to a hot line.
const SOURCE_WIDTH: usize = 60;

pub(crate) fn render(profile: &Profile, options: &RenderOptions) -> Result<Vec<u8>, RenderError> {
    Ok(summary(profile, options).into_bytes())
}

/// Section titles in bold and locations dimmed, when colour is on.
pub(crate) struct Style {
    color: bool,
}

impl Style {
    pub(crate) fn title(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn dim(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[2m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

pub(crate) fn ns(value: u64) -> String {
    seconds(value as f64 / 1e9)
}

/// A value of `metric`: a duration, or bytes for the memory metrics.
pub(crate) fn amount(metric: Metric, value: u64) -> String {
    if metric.is_bytes() {
        bytes(value)
    } else {
        ns(value)
    }
}

pub(crate) fn metric_words(metric: Metric) -> &'static str {
    match metric {
        Metric::Wall => "wall time",
        Metric::Cpu => "CPU time",
        Metric::Alloc => "bytes allocated",
        Metric::Peak => "bytes live at the peak",
        Metric::Leak => "bytes live at the end",
    }
}

/// The whole summary as one string.
fn summary(profile: &Profile, options: &RenderOptions) -> String {
    let style = Style {
        color: options.color,
    };
    let run = RunSummary::of(profile);
    let mut out = String::new();
    header(&mut out, &run, options.metric, &style);
    if !run.complete {
        out.push_str(
            "\nThe run was cut short: the profile has no end record, so it shows only what was recorded before the target stopped.\n",
        );
    }
    if profile.total(options.metric) == 0 && profile.samples == 0 {
        if profile.memory.is_none() {
            out.push_str("\nNo samples were recorded.\n");
        }
    } else {
        if profile.samples > 0 {
            threads(&mut out, profile, &style);
        }
        functions(&mut out, profile, &run, options, &style);
        tree(&mut out, profile, &run, options.metric, &style);
        lines(&mut out, profile, &run, options, &style);
    }
    if let Some(memory) = &profile.memory {
        crate::memory::render(&mut out, profile, memory, &run, options, &style);
    }
    if let Some(exact) = &profile.exact {
        exact_table(&mut out, exact, &run, options.top, &style);
    }
    if !profile.patterns.is_empty() {
        let body = crate::patterns::text(&profile.patterns, &run);
        section(&mut out, "Patterns", &body, &style);
    }
    out
}

fn header(out: &mut String, run: &RunSummary, metric: Metric, style: &Style) {
    let _ = writeln!(out, "{}", style.title(&format!("fluoro · {}", run.target)));
    let sampling = if run.rate_hz == 0 {
        format!("{} ({})", run.samples, run.sampler)
    } else {
        format!("{} at {} Hz ({})", run.samples, run.rate_hz, run.sampler)
    };
    let mut pairs = vec![
        ("python", run.python.clone()),
        ("duration", ns(run.duration_ns)),
        ("samples", sampling),
        ("metric", metric_words(metric).to_string()),
    ];
    if let Some(exception) = &run.exception {
        pairs.push(("exception", exception.clone()));
    }
    if run.sampler_cpu_ns > 0 {
        let per_sample = run.sampler_cpu_ns / run.samples.max(1);
        pairs.push((
            "sampler",
            format!(
                "{} CPU on its own thread ({} a sample), {} torn reads dropped",
                ns(run.sampler_cpu_ns),
                ns(per_sample),
                run.failed_reads
            ),
        ));
    }
    out.push_str(&fields(&pairs));
}

pub(crate) fn section(out: &mut String, title: &str, body: &str, style: &Style) {
    let _ = write!(out, "\n{}\n{body}", style.title(title));
    if !body.ends_with('\n') {
        out.push('\n');
    }
}

fn threads(out: &mut String, profile: &Profile, style: &Style) {
    let rows = thread_table(profile)
        .into_iter()
        .map(|t| {
            vec![
                t.name,
                t.samples.to_string(),
                ns(t.wall_ns),
                ns(t.cpu_ns),
                percent(share(t.gil_samples, t.samples)),
                percent(share(t.active_samples, t.samples)),
            ]
        })
        .collect();
    let body = table(
        &["thread", "samples", "wall", "cpu", "GIL held", "active"],
        &[false, true, true, true, true, true],
        rows,
    );
    section(out, "Threads", &body, style);
}

/// `qualname` and `file:line` of a function, paths shown relative to the working directory.
pub(crate) fn location(run: &RunSummary, key: &FunctionKey<'_>) -> String {
    format!("{}:{}", run.display_path(key.filename), key.firstlineno)
}

fn functions(
    out: &mut String,
    profile: &Profile,
    run: &RunSummary,
    options: &RenderOptions,
    style: &Style,
) {
    let total = profile.total(options.metric);
    let mut rows = function_table(profile, options.metric);
    let words = metric_words(options.metric);
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
    );
    section(
        out,
        &format!("Top functions by total {words}"),
        &body,
        style,
    );
}

/// A function table whose first two numbers are `columns(f)`, named `names`; rows whose
/// first number is 0 are left out.
pub(crate) fn function_rows(
    rows: &[FunctionStats<'_>],
    columns: impl Fn(&FunctionStats<'_>) -> (u64, u64),
    names: [&str; 2],
    total: u64,
    run: &RunSummary,
    top: usize,
    metric: Metric,
) -> String {
    let cells = rows
        .iter()
        .filter(|f| columns(f).0 > 0)
        .take(top)
        .map(|f| {
            let (first, second) = columns(f);
            vec![
                amount(metric, first),
                percent(share(first, total)),
                amount(metric, second),
                percent(share(second, total)),
                f.key.qualname.to_string(),
                location(run, &f.key),
            ]
        })
        .collect();
    table(
        &[names[0], "share", names[1], "share", "function", "location"],
        &[true, true, true, true, false, false],
        cells,
    )
}

/// One tree per thread, shares of the whole run, so threads compare with each other.
fn tree(out: &mut String, profile: &Profile, run: &RunSummary, metric: Metric, style: &Style) {
    let total = profile.total(metric);
    let min_ns = (total as f64 * TREE_MIN_SHARE).ceil() as u64;
    let mut body = String::new();
    let mut hidden_threads = 0;
    for t in thread_table(profile) {
        let mut root = call_tree(profile, metric, |thread| thread == t.thread);
        if root.total_ns == 0 || root.total_ns < min_ns {
            hidden_threads += u32::from(t.samples > 0);
            continue;
        }
        root.prune(min_ns.max(1));
        let _ = writeln!(
            body,
            "{}  {}  {}",
            amount(metric, root.total_ns),
            percent(share(root.total_ns, total)),
            style.title(&t.name)
        );
        for (i, child) in root.children.iter().enumerate() {
            let last = i + 1 == root.children.len();
            tree_node(&mut body, child, "", last, total, run, metric, style);
        }
    }
    if hidden_threads > 0 {
        let _ = writeln!(
            body,
            "({hidden_threads} thread(s) under {} hidden)",
            percent(TREE_MIN_SHARE)
        );
    }
    let title = format!(
        "Call tree ({}, one per thread; nodes under {} hidden)",
        metric_words(metric),
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
        let (name, place) = match &node.key {
            Some(key) => (key.qualname, location(run, key)),
            None => ("", String::new()),
        };
        let _ = writeln!(
            out,
            "{prefix}{branch}{}  {}  {name}  {}",
            amount(metric, node.total_ns),
            percent(share(node.total_ns, total)),
            style.dim(&place)
        );
        let child_prefix = format!("{prefix}{guide}");
        let n = node.children.len();
        for (i, child) in node.children.iter().enumerate().rev() {
            pending.push((child, child_prefix.clone(), i + 1 == n));
        }
    }
}

fn lines(
    out: &mut String,
    profile: &Profile,
    run: &RunSummary,
    options: &RenderOptions,
    style: &Style,
) {
    let total = profile.total(options.metric);
    let root = options
        .source_root
        .clone()
        .unwrap_or_else(|| PathBuf::from(&run.cwd));
    let mut sources = SourceFiles::new(root, &run.cwd);
    let rows = line_table(profile, options.metric)
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
                format!("{}:{}", run.display_path(l.filename), l.line),
                l.qualname.to_string(),
                text,
            ]
        })
        .collect();
    let body = table(
        &["self", "share", "line", "function", "source"],
        &[true, true, false, false, false],
        rows,
    );
    let title = format!("Hottest lines by self {}", metric_words(options.metric));
    section(out, &title, &body, style);
}

/// `text` cut to `width` characters, with an ellipsis when cut.
pub(crate) fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// `filename:lineno(function)` as pstats prints it: built-ins as `{built-in method …}`.
pub(crate) fn pstats_name(run: &RunSummary, f: &ExactFunction) -> String {
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

fn exact_table(out: &mut String, exact: &ExactStats, run: &RunSummary, top: usize, style: &Style) {
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
    let body = table(
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
    );
    let title = format!(
        "Exact calls (profile hook), by tottime, {} functions",
        exact.functions.len()
    );
    section(out, &title, &body, style);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn text(profile: &Profile, options: &RenderOptions) -> String {
        summary(profile, options)
    }

    #[test]
    fn text_snapshot() {
        let options = RenderOptions {
            source_root: Some(testing::source_root("text")),
            ..RenderOptions::default()
        };
        insta::assert_snapshot!(text(&testing::fixture(), &options));
    }

    #[test]
    fn text_cpu_cut_short_snapshot() {
        let options = RenderOptions {
            metric: Metric::Cpu,
            top: 3,
            source_root: Some(testing::source_root("text-cut")),
            ..RenderOptions::default()
        };
        insta::assert_snapshot!(text(&testing::fixture_cut_short(), &options));
    }

    #[test]
    fn missing_sources_leave_the_source_column_empty() {
        let options = RenderOptions {
            source_root: Some(testing::scratch("no-such-dir")),
            ..RenderOptions::default()
        };
        let out = text(&testing::fixture(), &options);
        assert!(out.contains("lib/work.py:2 "));
        assert!(!out.contains("if n < 2"));
    }

    #[test]
    fn color_only_adds_escapes() {
        let plain = RenderOptions::default();
        let color = RenderOptions {
            color: true,
            ..RenderOptions::default()
        };
        let profile = testing::fixture();
        let colored = text(&profile, &color);
        assert!(colored.contains("\x1b[1m"));
        let stripped = colored
            .replace("\x1b[1m", "")
            .replace("\x1b[2m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, text(&profile, &plain));
    }

    #[test]
    fn patterns_follow_the_tables() {
        let mut profile = testing::fixture();
        let plain = text(&profile, &RenderOptions::default());
        assert!(!plain.contains("Patterns"));
        profile.patterns = crate::patterns::tests::fixture();
        let out = text(&profile, &RenderOptions::default());
        let at = out.find("\nPatterns\n").expect("a Patterns section");
        assert!(out[..at].starts_with(&plain[..plain.len() - 1]));
        assert!(out[at..].contains("Parser"));
    }

    #[test]
    fn an_empty_profile_says_so() {
        let out = text(&Profile::default(), &RenderOptions::default());
        assert!(out.contains("No samples were recorded."));
        assert!(out.contains("cut short"));
    }
}
