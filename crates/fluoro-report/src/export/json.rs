//! fluoro's own JSON summary: the run, threads, functions and lines, plus the exact call
//! statistics when the profile hook ran. Pretty-printed; field names are a stable interface.

use crate::analysis::{function_table, line_table, share, thread_table, Measure, RunSummary};
use crate::{RenderError, RenderOptions};
use fluoro_profile::{ExactStats, Profile};
use serde::Serialize;

#[derive(Serialize)]
struct Report<'p> {
    target: String,
    python: String,
    sampler: String,
    rate_hz: u32,
    duration_ns: u64,
    samples: u64,
    /// Stacks dropped because they changed while they were read.
    failed_reads: u64,
    /// The session drained: `false` when the target was killed mid-run.
    complete: bool,
    metric: &'static str,
    /// Every process profiled (more than one with `fluoro run --subprocesses`); each
    /// thread belongs to one.
    processes: Vec<Process<'p>>,
    threads: Vec<Thread>,
    /// Heaviest self time first.
    functions: Vec<Function<'p>>,
    /// Heaviest self time first.
    lines: Vec<Line<'p>>,
    exact: Option<Exact<'p>>,
    /// Allocations, peak, leaks, GC and snapshots, when memory was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<super::json_memory::Memory<'p>>,
    /// asyncio tasks (`fluoro run --async`), most running first; left out when the run did
    /// not look for them. Shares are of the run's duration.
    #[serde(skip_serializing_if = "Option::is_none")]
    tasks: Option<Vec<Task<'p>>>,
    /// Why asyncio tasks could not be read, when the run looked for them and could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    tasks_note: Option<String>,
    /// `fluoro.patterns` instances alive at the end; left out when the run used none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    patterns: Vec<super::json_patterns::PatternJson<'p>>,
}

#[derive(Serialize)]
pub(crate) struct Task<'p> {
    name: String,
    running_ns: u64,
    running_share: f64,
    cpu_ns: u64,
    awaiting_ns: u64,
    awaiting_share: f64,
    /// Bytes allocated while it ran (estimated when sampled); left out when the run did not
    /// record memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    alloc_bytes: Option<u64>,
    /// The `await` it waited at longest: the innermost of its coroutines parked there, its
    /// function, file and line.
    awaiting_at: Option<Place<'p>>,
    /// All of its coroutines parked there, outermost first.
    awaiting_stack: Vec<Place<'p>>,
}

#[derive(Serialize)]
pub(crate) struct Place<'p> {
    function: &'p str,
    file: &'p str,
    line: u32,
}

fn place(profile: &Profile, frame: fluoro_profile::Frame) -> Place<'_> {
    let code = profile.code(frame);
    Place {
        function: &code.qualname,
        file: &code.filename,
        line: profile.line(frame),
    }
}

/// The task table, as the JSON gives it.
pub(crate) fn tasks(
    profile: &Profile,
    duration_ns: u64,
) -> (Option<Vec<Task<'_>>>, Option<String>) {
    let Some(table) = crate::analysis::task_table(profile) else {
        return (None, None);
    };
    let tasks = table
        .tasks
        .into_iter()
        .map(|t| Task {
            running_share: share(t.running_ns, duration_ns),
            awaiting_share: share(t.awaiting_ns, duration_ns),
            awaiting_at: t.awaiting_at.map(|f| place(profile, f)),
            awaiting_stack: t
                .awaiting_stack
                .iter()
                .map(|&f| place(profile, f))
                .collect(),
            name: t.name,
            running_ns: t.running_ns,
            cpu_ns: t.cpu_ns,
            awaiting_ns: t.awaiting_ns,
            alloc_bytes: profile.memory.is_some().then_some(t.alloc_bytes),
        })
        .collect();
    (Some(tasks), table.note)
}

#[derive(Serialize)]
pub(crate) struct Process<'p> {
    pid: u32,
    /// 0 for the first process.
    ppid: u32,
    target: &'p str,
    argv: &'p [String],
    /// After the first process started.
    start_ns: u64,
    /// `null` when it was killed before its end was recorded.
    duration_ns: Option<u64>,
    cpu_ns: u64,
    samples: u64,
    peak_heap_bytes: u64,
    peak_rss_bytes: u64,
    complete: bool,
    exception: Option<&'p str>,
    /// Indexes into `threads`.
    threads: &'p [u32],
}

#[derive(Serialize)]
struct Thread {
    name: String,
    ident: u64,
    native_id: u64,
    samples: u64,
    wall_ns: u64,
    cpu_ns: u64,
    /// Wall time of the samples taken while the thread used no CPU.
    idle_ns: u64,
    gil_share: f64,
    active_share: f64,
}

#[derive(Serialize)]
struct Function<'p> {
    qualname: &'p str,
    name: &'p str,
    file: &'p str,
    line: u32,
    self_ns: u64,
    total_ns: u64,
    self_share: f64,
    total_share: f64,
}

#[derive(Serialize)]
struct Line<'p> {
    file: &'p str,
    line: u32,
    self_ns: u64,
    share: f64,
}

#[derive(Serialize)]
pub(crate) struct Exact<'p> {
    overhead_ns_per_event: f64,
    functions: Vec<ExactFunction<'p>>,
}

/// A function's exact figures, or the share of them that came through one caller.
#[derive(Serialize)]
struct ExactFigures<'p> {
    file: &'p str,
    line: u32,
    name: &'p str,
    calls: u64,
    prim_calls: u64,
    tottime_ns: u64,
    cumtime_ns: u64,
}

#[derive(Serialize)]
struct ExactFunction<'p> {
    #[serde(flatten)]
    figures: ExactFigures<'p>,
    /// Each caller named by its own file, line and name, with the figures of its calls.
    callers: Vec<ExactFigures<'p>>,
}

pub(crate) fn exact(stats: &ExactStats) -> Exact<'_> {
    let functions = stats
        .functions
        .iter()
        .map(|f| ExactFunction {
            figures: ExactFigures {
                file: &f.filename,
                line: f.line,
                name: &f.name,
                calls: f.calls,
                prim_calls: f.prim_calls,
                tottime_ns: f.tottime_ns,
                cumtime_ns: f.cumtime_ns,
            },
            callers: f
                .callers
                .iter()
                .filter_map(|e| {
                    let caller = stats.functions.get(e.caller as usize)?;
                    Some(ExactFigures {
                        file: &caller.filename,
                        line: caller.line,
                        name: &caller.name,
                        calls: e.calls,
                        prim_calls: e.prim_calls,
                        tottime_ns: e.tottime_ns,
                        cumtime_ns: e.cumtime_ns,
                    })
                })
                .collect(),
        })
        .collect();
    Exact {
        overhead_ns_per_event: stats.overhead_ns_per_event,
        functions,
    }
}

/// Every process of the profile, as the JSON and the HTML page give them.
pub(crate) fn processes(profile: &Profile) -> Vec<Process<'_>> {
    profile
        .processes
        .iter()
        .map(|p| Process {
            pid: p.pid,
            ppid: p.ppid,
            target: &p.target,
            argv: &p.argv,
            start_ns: p.start_ns,
            duration_ns: p.end.as_ref().map(|e| e.wall_ns),
            cpu_ns: p.cpu_ns,
            samples: p.samples,
            peak_heap_bytes: p.peak_heap_bytes,
            peak_rss_bytes: p.peak_rss_bytes,
            complete: p.end.is_some(),
            exception: p.end.as_ref().and_then(|e| e.exception.as_deref()),
            threads: &p.threads,
        })
        .collect()
}

pub(crate) fn render(profile: &Profile, options: &RenderOptions) -> Result<Vec<u8>, RenderError> {
    let run = RunSummary::of(profile);
    // The data keeps every sample, idle or not, whatever the summary ranks.
    let measure = Measure::all(options.metric);
    let total = measure.total(profile);
    let threads = thread_table(profile)
        .into_iter()
        .map(|t| Thread {
            gil_share: share(t.gil_samples, t.samples),
            active_share: share(t.active_samples, t.samples),
            name: t.name,
            ident: t.ident,
            native_id: t.native_id,
            samples: t.samples,
            wall_ns: t.wall_ns,
            cpu_ns: t.cpu_ns,
            idle_ns: t.idle_wall_ns,
        })
        .collect();
    let functions = function_table(profile, measure)
        .into_iter()
        .map(|f| Function {
            qualname: f.key.qualname,
            name: f.name,
            file: f.key.filename,
            line: f.key.firstlineno,
            self_ns: f.self_ns,
            total_ns: f.total_ns,
            self_share: share(f.self_ns, total),
            total_share: share(f.total_ns, total),
        })
        .collect();
    let lines = line_table(profile, measure)
        .into_iter()
        .map(|l| Line {
            file: l.filename,
            line: l.line,
            self_ns: l.self_ns,
            share: share(l.self_ns, total),
        })
        .collect();
    let (tasks, tasks_note) = tasks(profile, run.duration_ns);
    let report = Report {
        tasks,
        tasks_note,
        target: run.target,
        python: run.python,
        sampler: run.sampler,
        rate_hz: run.rate_hz,
        duration_ns: run.duration_ns,
        samples: run.samples,
        failed_reads: run.failed_reads,
        complete: run.complete,
        metric: measure.metric.name(),
        processes: processes(profile),
        threads,
        functions,
        lines,
        exact: profile.exact.as_ref().map(exact),
        memory: profile
            .memory
            .as_ref()
            .map(|m| super::json_memory::memory(profile, m)),
        patterns: super::json_patterns::json(&profile.patterns),
    };
    let mut out = serde_json::to_vec_pretty(&report)?;
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use serde_json::Value;

    fn parsed(profile: &Profile) -> Value {
        serde_json::from_slice(&render(profile, &RenderOptions::default()).unwrap()).unwrap()
    }

    #[test]
    fn tasks_are_listed_with_their_shares_when_the_run_looked_for_them() {
        let v = parsed(&testing::async_fixture());
        let tasks = v["tasks"].as_array().expect("tasks");
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0]["name"], "worker");
        assert_eq!(tasks[0]["running_ns"], 300_000_000);
        assert_eq!(tasks[0]["running_share"], 0.6);
        assert_eq!(tasks[1]["name"], "sleeper");
        assert_eq!(tasks[1]["awaiting_share"], 0.1);
        assert_eq!(tasks[1]["awaiting_at"]["function"], "sleeper");
        assert_eq!(tasks[1]["awaiting_at"]["line"], 7);
        assert_eq!(tasks[1]["awaiting_stack"][0]["function"], "sleeper");
        assert!(parsed(&testing::fixture()).get("tasks").is_none());
    }

    #[test]
    fn json_snapshot() {
        let out = render(&testing::fixture(), &RenderOptions::default()).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }

    #[test]
    fn recursion_counts_once_in_totals() {
        let v = parsed(&testing::fixture());
        let fib = v["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["qualname"] == "fib")
            .unwrap();
        assert_eq!(fib["total_ns"], 400_000_000);
        assert_eq!(fib["self_ns"], 400_000_000);
        let selfs: Vec<u64> = v["functions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["self_ns"].as_u64().unwrap())
            .collect();
        assert!(selfs.windows(2).all(|w| w[0] >= w[1]));
        assert_eq!(selfs.iter().sum::<u64>(), 1_500_000_000);
    }

    #[test]
    fn patterns_are_listed_only_when_the_run_used_them() {
        let mut profile = testing::fixture();
        assert!(parsed(&profile).get("patterns").is_none());
        profile.patterns = testing::patterns();
        let v = parsed(&profile);
        assert_eq!(v["patterns"][0]["kind"], "ObjectPool");
        assert_eq!(v["patterns"][0]["stats"]["reused"], 96);
        assert_eq!(v["patterns"][4]["size_classes"][0]["high_water"], 2);
    }

    #[test]
    fn a_cut_short_run_has_no_exact_and_is_incomplete() {
        let v = parsed(&testing::fixture_cut_short());
        assert_eq!(v["complete"], false);
        assert_eq!(v["exact"], Value::Null);
        assert_eq!(v["duration_ns"], 810_000_000);
        assert_eq!(v["threads"][0]["name"], "thread 140001");
    }
}
