//! `fluoro bench`: timings in, sound statistics out.
//!
//! - [`stats`], [`bootstrap`], [`mann_whitney`]: median, MAD, mean ± std; percentile
//!   bootstrap intervals for a median and for a ratio of medians (fixed-seed ChaCha, so
//!   reproducible); the Mann–Whitney U test.
//! - [`analysis`]: a benchmark's [`BenchResult`], comparisons against the fastest, warnings.
//! - [`session`]: runs benchmarks ([`command`]: whole processes through `sh -c`; [`worker`]:
//!   Python statements or functions in worker processes of any interpreter), interleaved,
//!   with warmups, calibration and adaptive stopping; [`progress`] draws the bar.
//! - [`render`]: the text report and the JSON.
//!
//! No Python here: the extension crate hands in the worker's source and the interpreter.

pub mod analysis;
pub mod bootstrap;
pub mod command;
pub mod error;
pub mod mann_whitney;
pub mod progress;
pub mod render;
pub mod session;
pub mod stats;
pub mod worker;

pub use analysis::{analyze, compare, summarize, BenchResult, Comparison, Report, Sample};
pub use bootstrap::{Bootstrap, Interval};
pub use command::Launch;
pub use error::BenchError;
pub use progress::Progress;
pub use render::{render_json, render_markdown, render_text};
pub use session::{Benchmark, Plan, Subject};
pub use worker::{probe_interpreter, Task};
