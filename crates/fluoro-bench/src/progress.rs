//! The progress bar, drawn on stderr only when stderr is a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Progress towards the fixed run count, or towards `--max-time` while the adaptive rule
/// waits for the intervals to narrow.
pub struct Progress {
    bar: ProgressBar,
    by_time: bool,
}

impl Progress {
    /// `runs` is the total number of values when fixed; otherwise the bar follows the time.
    pub fn new(runs: Option<u64>, max_time: Duration) -> Progress {
        let (len, by_time) = match runs {
            Some(n) => (n, false),
            None => (max_time.as_millis().max(1) as u64, true),
        };
        let bar = ProgressBar::with_draw_target(
            Some(len),
            if std::io::stderr().is_terminal() {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:30}] {elapsed:>4} {msg}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix("bench");
        Progress { bar, by_time }
    }

    /// A bar that never draws (the Python API, tests).
    pub fn hidden() -> Progress {
        Progress {
            bar: ProgressBar::hidden(),
            by_time: true,
        }
    }

    pub fn update(&self, values: u64, elapsed: Duration, message: String) {
        if self.by_time {
            self.bar.set_position(elapsed.as_millis() as u64);
        } else {
            self.bar.set_position(values);
        }
        self.bar.set_message(message);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
