//! What the sections of the text summary share: the styling, the section heading, the units
//! of a metric, and the function table both the CPU and memory parts print.

use crate::analysis::{share, FunctionKey, FunctionStats, Measure, RunSummary};
use crate::source::SourceFiles;
use crate::RenderOptions;
use fluoro_profile::Metric;
use fluoro_render::{bytes, percent, seconds, table};
use std::fmt::Write;
use std::path::PathBuf;

/// Section titles in bold and locations dimmed, when colour is on.
pub(super) struct Style {
    pub(super) color: bool,
}

impl Style {
    pub(super) fn title(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub(super) fn dim(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[2m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

pub(super) fn ns(value: u64) -> String {
    seconds(value as f64 / 1e9)
}

/// A value of `metric`: a duration, or bytes for the memory metrics.
pub(super) fn amount(metric: Metric, value: u64) -> String {
    if metric.is_bytes() {
        bytes(value)
    } else {
        ns(value)
    }
}

pub(super) fn metric_words(metric: Metric) -> &'static str {
    match metric {
        Metric::Wall => "wall time",
        Metric::Cpu => "CPU time",
        Metric::Alloc => "bytes allocated",
        Metric::Peak => "bytes live at the peak",
        Metric::Leak => "bytes live at the end",
    }
}

/// What a table of `measure` adds up, in words: `active wall time` when idle time is set
/// apart.
pub(super) fn measure_words(measure: Measure) -> String {
    let words = metric_words(measure.metric);
    if measure.sets_idle_apart() {
        format!("active {words}")
    } else {
        words.to_string()
    }
}

/// The program's source files, read from `--source-root` or the target's working directory.
pub(super) fn sources(options: &RenderOptions, run: &RunSummary) -> SourceFiles {
    let root = options
        .source_root
        .clone()
        .unwrap_or_else(|| PathBuf::from(&run.cwd));
    SourceFiles::new(root, &run.cwd)
}

pub(super) fn section(out: &mut String, title: &str, body: &str, style: &Style) {
    let _ = write!(out, "\n{}\n{body}", style.title(title));
    if !body.ends_with('\n') {
        out.push('\n');
    }
}

/// `qualname` and `file:line` of a function, paths shown relative to the working directory.
pub(super) fn location(run: &RunSummary, key: &FunctionKey<'_>) -> String {
    format!("{}:{}", run.display_path(key.filename), key.firstlineno)
}

/// A function table whose first two numbers are `columns(f)`, named `names`; rows whose
/// first number is 0 are left out.
pub(super) fn function_rows(
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

/// `text` cut to `width` characters, with an ellipsis when cut.
pub(super) fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
