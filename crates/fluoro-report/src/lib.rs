//! Everything `fluoro run` and `fluoro report` print or write from a [`Profile`]: the terminal
//! summary, the HTML report and the files other tools read. Plain Rust, no interpreter.
//!
//! [`render`] is the one entry point; [`Format`] names the outputs and `export/mod.rs` is the
//! registry that maps each to its renderer.

pub mod analysis;
pub mod export;
mod html;
mod source;
#[cfg(test)]
mod testing;
mod text;

pub use export::Format;
pub use fluoro_profile::{Metric, Profile};

use std::path::PathBuf;

/// Rows in each table unless `--top` says otherwise, for every command that has tables.
pub const DEFAULT_TOP: usize = 10;

/// How a profile is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// Which weight of the samples tables, trees and exports add up.
    pub metric: Metric,
    /// Rows in each terminal table.
    pub top: usize,
    /// The whole text report (every table, the call tree, every memory section) instead of
    /// the one-screen summary (`--full`).
    pub full: bool,
    /// Keep interpreter start-up, import machinery and fluoro's own frames in the text's
    /// tables and trees (`--show-all`); by default they fold into one `[startup/import]`
    /// entry. Exports always keep every frame.
    pub show_all: bool,
    /// Terminal columns the text must fit in; `None` draws it at its natural width.
    pub width: Option<usize>,
    /// The summary's last line: where the whole report is (`fluoro report run.fluoro
    /// --full`); `None` says to ask for `--full`.
    pub more: Option<String>,
    /// Where relative filenames resolve when reading source text; `None` means the target's
    /// working directory (`Meta::cwd`).
    pub source_root: Option<PathBuf>,
    /// ANSI colour in the terminal summary.
    pub color: bool,
    /// Collapsed stacks: put the thread name as the outermost frame instead of merging threads.
    pub per_thread: bool,
    /// Keep idle samples' wall time in the summary's tables and trees (`--idle`); by default
    /// they rank active time and set idle time apart. Exports always keep every sample.
    pub idle: bool,
    /// `fluoro advise` findings for this run, as its JSON format writes them: the HTML report
    /// shows them in a tab.
    pub advice: Option<serde_json::Value>,
    /// The census and largest retainers of the heap snapshot the run took as it exited, as
    /// `fluoro heap summary --json` and `dominators --json` write them: the HTML report's
    /// Heap tab.
    pub heap: Option<serde_json::Value>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            metric: Metric::Wall,
            top: DEFAULT_TOP,
            full: false,
            show_all: false,
            width: None,
            more: None,
            source_root: None,
            color: false,
            per_thread: false,
            idle: false,
            advice: None,
            heap: None,
        }
    }
}

impl RenderOptions {
    /// What the summary's tables add up: the metric, idle time set apart unless `idle`.
    pub fn measure(&self) -> analysis::Measure {
        analysis::Measure {
            metric: self.metric,
            idle: self.idle,
        }
    }
}

/// Why a profile could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("unknown output format {0:?} (expected one of: text, collapsed, speedscope, pprof, pstats, json, html)")]
    UnknownFormat(String),
    #[error("inconsistent profile: {0}")]
    Inconsistent(String),
    #[error("cannot encode the output: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot encode JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Renders `profile` as `format`: UTF-8 text for the text formats, bytes for pprof and pstats.
pub fn render(
    profile: &Profile,
    format: Format,
    options: &RenderOptions,
) -> Result<Vec<u8>, RenderError> {
    analysis::check(profile)?;
    (format.renderer())(profile, options)
}
