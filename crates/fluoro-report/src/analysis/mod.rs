//! What the reports compute from a profile's aggregated samples: the run's summary, per-thread
//! totals, the flat function and line tables, and the call tree.

mod combine;
mod fold;
mod functions;
mod idle;
mod lines;
mod memory;
mod summary;
mod tasks;
mod threads;
mod tree;

pub use combine::Combined;
pub use fold::{fold_frames, fold_startup, role, Role, STARTUP, STARTUP_CODE};
pub use functions::{function_table, FunctionStats};
pub use idle::{idle_table, waiting_kind, IdleThread, WaitKind};
pub use lines::{line_table, LineStats};
pub use memory::{by_line, LineBytes};
pub use summary::RunSummary;
pub use tasks::{task_table, TaskStats, TaskTable};
pub use threads::{thread_table, ThreadStats};
pub use tree::{call_tree, CallNode};

use crate::RenderError;
use fluoro_profile::{CodeInfo, Frame, Metric, Profile, StackWeight};

/// What a table adds up: a metric and whether the samples of waiting threads count. Reports
/// rank active time by default (idle wall time would drown the work); the data counts all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    pub metric: Metric,
    /// Count idle samples' wall time too (`--idle`); only wall time has idle weight to leave out.
    pub idle: bool,
}

impl Measure {
    /// Every sample, idle or not: what exports and the data show.
    pub fn all(metric: Metric) -> Self {
        Measure { metric, idle: true }
    }

    /// Active samples only (in wall time; the other metrics are the same as [`Measure::all`]).
    pub fn active(metric: Metric) -> Self {
        Measure {
            metric,
            idle: false,
        }
    }

    /// Whether this measure leaves idle samples out of what [`Measure::of`] adds.
    pub fn sets_idle_apart(self) -> bool {
        !self.idle && self.metric == Metric::Wall
    }

    /// The weight of `w`.
    pub fn of(self, w: &StackWeight) -> u64 {
        if self.sets_idle_apart() {
            w.wall_ns.saturating_sub(w.idle_wall_ns)
        } else {
            self.metric.of(w)
        }
    }

    /// Whether `w` is in the tables at all: not when it is idle time set apart (memory-only
    /// weights, with no samples, stay in for the memory metrics).
    pub fn counts(self, w: &StackWeight) -> bool {
        !self.sets_idle_apart() || w.active_samples > 0
    }

    /// The samples of `w` this measure counts.
    pub fn samples(self, w: &StackWeight) -> u64 {
        if self.sets_idle_apart() {
            w.active_samples
        } else {
            w.samples
        }
    }

    /// The measure over the whole profile.
    pub fn total(self, profile: &Profile) -> u64 {
        profile.weights.iter().map(|w| self.of(w)).sum()
    }
}

/// A function as reports name it: code objects with the same file, qualified name and first
/// line are one function (a module re-imported or a code object seen twice stays one row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FunctionKey<'p> {
    pub filename: &'p str,
    pub qualname: &'p str,
    pub firstlineno: u32,
}

impl<'p> FunctionKey<'p> {
    pub fn of(code: &'p CodeInfo) -> Self {
        FunctionKey {
            filename: &code.filename,
            qualname: &code.qualname,
            firstlineno: code.firstlineno,
        }
    }
}

/// `part / whole`, 0 when the whole is 0 (a profile with no CPU time has no CPU shares).
pub fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// `value` as a whole number, when it is one that fits.
pub(crate) fn whole(value: f64) -> Option<u64> {
    (value >= 0.0 && value.fract() == 0.0 && value < 2f64.powi(64)).then_some(value as u64)
}

/// The functions of a stack's frames, outermost first.
pub(crate) fn stack_functions<'p>(profile: &'p Profile, frames: &[Frame]) -> Vec<FunctionKey<'p>> {
    frames
        .iter()
        .map(|&f| FunctionKey::of(profile.code(f)))
        .collect()
}

/// Checks that every stack, weight and code reference resolves, so the analyses can index a
/// hand-built profile without panicking (`Profile::from_bytes` checks the same when reading).
pub fn check(profile: &Profile) -> Result<(), RenderError> {
    let bad = |reason: String| Err(RenderError::Inconsistent(reason));
    for (id, node) in profile.stacks.iter().enumerate().skip(1) {
        if node.parent as usize >= id {
            return bad(format!("stack {id} has parent {} after it", node.parent));
        }
        if !profile.codes.contains_key(&node.frame.code) {
            return bad(format!("stack {id} names unknown code {}", node.frame.code));
        }
    }
    for w in &profile.weights {
        if w.stack != 0 && w.stack as usize >= profile.stacks.len() {
            return bad(format!("a sample names unknown stack {}", w.stack));
        }
        if w.thread as usize >= profile.threads.len() {
            return bad(format!("a sample names unknown thread {}", w.thread));
        }
    }
    if let Some(exact) = &profile.exact {
        let n = exact.functions.len();
        for f in &exact.functions {
            if let Some(e) = f.callers.iter().find(|e| e.caller as usize >= n) {
                return bad(format!(
                    "exact caller {} of {} is unknown",
                    e.caller, f.name
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use fluoro_profile::{Metric, StackWeight};

    #[test]
    fn inconsistent_profiles_are_refused_not_indexed() {
        let mut profile = testing::fixture();
        profile.weights.push(StackWeight {
            stack: 999,
            ..StackWeight::default()
        });
        assert!(matches!(check(&profile), Err(RenderError::Inconsistent(_))));
        let mut profile = testing::fixture();
        profile.codes.remove(&2);
        assert!(check(&profile).is_err());
        check(&testing::fixture()).unwrap();
    }

    #[test]
    fn recursion_counts_once_in_total_and_every_frame_in_frame_samples() {
        let profile = testing::fixture();
        let rows = function_table(&profile, Measure::all(Metric::Wall));
        let fib = rows.iter().find(|f| f.key.qualname == "fib").unwrap();
        assert_eq!((fib.total_samples, fib.frame_samples), (40, 110));
        assert_eq!(fib.total_ns, 400_000_000);
        let main = rows.iter().find(|f| f.key.qualname == "main").unwrap();
        assert_eq!((main.self_ns, main.total_ns), (0, 800_000_000));
    }

    #[test]
    fn lines_are_the_innermost_frames_lines() {
        let profile = testing::fixture();
        let lines = line_table(&profile, Measure::all(Metric::Wall));
        let top: Vec<(&str, u32)> = lines.iter().take(3).map(|l| (l.filename, l.line)).collect();
        assert_eq!(
            top,
            [
                ("/work/app/lib/work.py", 12),
                ("/work/app/lib/work.py", 21),
                ("/work/app/lib/work.py", 2)
            ]
        );
        let sum: u64 = lines.iter().map(|l| l.self_ns).sum();
        assert_eq!(sum, profile.total(Metric::Wall));
    }

    #[test]
    fn tree_merges_by_caller_chain_and_prunes_light_nodes() {
        let profile = testing::fixture();
        let mut root = call_tree(&profile, Measure::all(Metric::Wall), |_| true);
        assert_eq!(root.total_ns, 1_500_000_000);
        let names: Vec<&str> = root
            .children
            .iter()
            .map(|c| c.key.map_or("", |k| k.qualname))
            .collect();
        assert_eq!(names, ["<module>", "Thread.run"]);
        // `<module>` at line 3 alone (10 ms) is its own self time, under 1 % of the run.
        assert_eq!(root.children[0].self_ns, 10_000_000);
        let before = root.len();
        root.prune(200_000_000);
        assert!(root.len() < before);
        let module = &root.children[0];
        let main = &module.children[0];
        assert_eq!(main.children.len(), 2, "Parser.parse and fib stay");
        let fib = main
            .children
            .iter()
            .find(|c| c.key.is_some_and(|k| k.qualname == "fib"))
            .unwrap();
        assert_eq!(fib.children[0].children[0].total_ns, 300_000_000);
    }

    #[test]
    fn paths_under_the_working_directory_show_relative() {
        let run = RunSummary::of(&testing::fixture());
        assert_eq!(run.display_path("/work/app/lib/work.py"), "lib/work.py");
        assert_eq!(
            run.display_path("/work/application.py"),
            "/work/application.py"
        );
        assert_eq!(run.display_path("app.py"), "app.py");
        assert_eq!(
            run.display_path("/usr/lib/python3.11/json/decoder.py"),
            "json/decoder.py"
        );
    }
}
