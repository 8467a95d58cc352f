//! What the sections of the text summary share: the styling, the section heading, the units
//! of a metric, and the function table both the CPU and memory parts print.

use crate::analysis::{share, FunctionKey, FunctionStats, Measure, RunSummary};
use crate::source::SourceFiles;
use crate::RenderOptions;
use fluoro_profile::Metric;
use fluoro_render::escape::for_terminal;
use fluoro_render::{bytes, fitted_fields, fitted_table, percent, seconds, Cut, Keep};
use std::fmt::Write;
use std::path::PathBuf;

/// Section titles in bold and locations dimmed, when colour is on; tables fitted to the
/// terminal's width, when known.
pub(super) struct Style {
    pub(super) color: bool,
    pub(super) width: Option<usize>,
}

/// Cut column `column` keeping its start (names, source text).
pub(super) const fn start(column: usize) -> Cut {
    Cut {
        column,
        keep: Keep::Start,
    }
}

/// Cut column `column` keeping its end (paths: the file and line stay).
pub(super) const fn end(column: usize) -> Cut {
    Cut {
        column,
        keep: Keep::End,
    }
}

impl Style {
    /// A table no wider than the terminal: `cuts` give way first to last.
    pub(super) fn table(
        &self,
        header: &[&str],
        numeric: &[bool],
        rows: Vec<Vec<String>>,
        cuts: &[Cut],
    ) -> String {
        fitted_table(header, numeric, rows, self.width, cuts)
    }

    /// `key  value` lines, long values going on under the values to fit the terminal.
    pub(super) fn fields(&self, pairs: &[(&str, String)]) -> String {
        fitted_fields(pairs, self.width)
    }

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

/// A value of `metric`, or `-` for none (a function that never ran innermost has no self
/// time, not `0.0 ns` of it).
pub(super) fn amount_or_dash(metric: Metric, value: u64) -> String {
    if value == 0 {
        "-".to_string()
    } else {
        amount(metric, value)
    }
}

/// The share of `part`, or `-` when there is none.
pub(super) fn share_or_dash(part: u64, whole: u64) -> String {
    if part == 0 {
        "-".to_string()
    } else {
        percent(share(part, whole))
    }
}

/// `file:line` as reports show it, or the bare name of a place with no line (the folded
/// `[startup/import]` has neither); shown escaped, ready for a line of text.
pub(super) fn place(run: &RunSummary, filename: &str, line: u32) -> String {
    let path = for_terminal(run.display_path(filename));
    if line == 0 {
        path.into_owned()
    } else {
        format!("{path}:{line}")
    }
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

/// `file:line` of a function, paths shown relative to the working directory.
pub(super) fn location(run: &RunSummary, key: &FunctionKey<'_>) -> String {
    place(run, key.filename, key.firstlineno)
}

/// A function table whose first two numbers are `columns(f)`, named `names`; rows whose
/// first number is 0 are left out.
#[allow(clippy::too_many_arguments)]
pub(super) fn function_rows(
    rows: &[FunctionStats<'_>],
    columns: impl Fn(&FunctionStats<'_>) -> (u64, u64),
    names: [&str; 2],
    total: u64,
    run: &RunSummary,
    top: usize,
    metric: Metric,
    style: &Style,
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
                amount_or_dash(metric, second),
                share_or_dash(second, total),
                f.key.qualname.to_string(),
                location(run, &f.key),
            ]
        })
        .collect();
    style.table(
        &[names[0], "share", names[1], "share", "function", "location"],
        &[true, true, true, true, false, false],
        cells,
        &[end(5), start(4)],
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
