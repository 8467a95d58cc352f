//! One `fluoro bench` run: benchmarks interleaved round by round, in a random order each
//! round (so that a machine getting slower or faster affects them alike), warmups, calibration, and the adaptive stopping
//! rule: stop once every median's interval is within `precision` of it, or at `max_time`.

use crate::analysis::Sample;
use crate::bootstrap::Bootstrap;
use crate::command::{check_command, time_command, Launch};
use crate::error::BenchError;
use crate::progress::Progress;
use crate::worker::{run_worker, Task};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::time::{Duration, Instant};

/// What one benchmark runs.
// A run holds a handful of these: the size of the larger variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Subject {
    /// A shell command, timed as a whole process.
    Command(String),
    /// Python code timed in worker processes of `python` (checked with
    /// [`crate::probe_interpreter`], which gives `version`); `statement` is how the report
    /// shows it (the statement, or `path.py::func`).
    Python {
        python: String,
        interpreter: String,
        /// What the interpreter says it is: `CPython 3.12.1`, `PyPy 3.9.16`.
        version: String,
        statement: String,
        task: Task,
    },
}

#[derive(Debug, Clone)]
pub struct Benchmark {
    pub name: String,
    pub subject: Subject,
}

/// How long to measure.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Untimed runs of each command before measuring (at least one is always made, as a
    /// check); for Python, discarded values at the start of each worker.
    pub warmup: usize,
    /// Exactly this many values, no adaptive stopping.
    pub runs: Option<usize>,
    pub min_runs: usize,
    pub max_time: Duration,
    /// Target relative half-width of each median's interval (0.01 for ± 1 %).
    pub precision: f64,
    pub ignore_failure: bool,
    /// How commands are started: through `sh -c` or directly.
    pub launch: Launch,
    /// A shell command run, untimed, before every run of every command (`--prepare`).
    pub prepare: Option<String>,
    /// Values each worker process reports.
    pub values_per_process: usize,
    /// The worker's Python source.
    pub worker_source: String,
}

/// Runs every benchmark; returns their timings, in the order given.
pub fn run(
    benchmarks: &[Benchmark],
    plan: &Plan,
    boot: &Bootstrap,
    progress: &Progress,
) -> Result<Vec<Sample>, BenchError> {
    let start = Instant::now();
    let mut samples: Vec<Sample> = Vec::with_capacity(benchmarks.len());
    let mut tasks: Vec<Option<Task>> = Vec::new();
    for b in benchmarks {
        let mut sample = Sample {
            name: b.name.clone(),
            loops: 1,
            ..Sample::default()
        };
        match &b.subject {
            Subject::Command(command) => {
                sample.command = Some(command.clone());
                prepare(plan)?;
                check_command(command, plan.launch)?;
                for _ in 1..plan.warmup {
                    prepare(plan)?;
                    time_command(command, plan.launch, plan.ignore_failure)?;
                }
                tasks.push(None);
            }
            Subject::Python {
                python,
                interpreter,
                version,
                statement,
                task,
            } => {
                sample.statement = Some(statement.clone());
                sample.interpreter = Some(interpreter.clone());
                sample.version = Some(version.clone());
                // The first worker calibrates the loop count; the others reuse it.
                let first = run_worker(python, &plan.worker_source, task, &b.name)?;
                sample.loops = first.loops;
                sample.push_process(&first.values);
                tasks.push(Some(Task {
                    loops: first.loops,
                    ..task.clone()
                }));
            }
        }
        samples.push(sample);
    }

    let check_boot = Bootstrap {
        resamples: boot.resamples.min(1000),
        ..*boot
    };
    let mut next_check = plan.min_runs.max(2);
    let mut order: Vec<usize> = (0..benchmarks.len()).collect();
    let mut rng = StdRng::seed_from_u64(boot.seed);
    loop {
        let fewest = samples.iter().map(|s| s.values.len()).min().unwrap_or(0);
        let elapsed = start.elapsed();
        let widest = if fewest >= next_check || elapsed >= plan.max_time {
            next_check = (fewest + fewest / 8).max(fewest + 1);
            Some(widest_interval(&samples, &check_boot))
        } else {
            None
        };
        progress.update(
            samples.iter().map(|s| s.values.len() as u64).sum(),
            elapsed,
            match widest {
                Some(w) => format!("{fewest} values, ± {:.2} %", w * 100.0),
                None => format!("{fewest} values"),
            },
        );
        let done = match plan.runs {
            Some(runs) => fewest >= runs,
            None => {
                fewest >= plan.min_runs
                    && match widest {
                        Some(w) if w <= plan.precision => true,
                        Some(_) if elapsed >= plan.max_time => {
                            for s in &mut samples {
                                let w = relative_half_width(s, &check_boot);
                                if w > plan.precision {
                                    s.notes.push(format!(
                                        "precision not reached: the median is ± {:.2} % after {:.1} s (--max-time)",
                                        w * 100.0,
                                        elapsed.as_secs_f64()
                                    ));
                                }
                            }
                            true
                        }
                        _ => false,
                    }
            }
        };
        if done {
            break;
        }
        // Each round runs the benchmarks in a new random order: with a fixed order, a
        // machine whose load comes and goes in a regular rhythm (a busy neighbour's time
        // slices) can slow the same benchmark in every round.
        order.shuffle(&mut rng);
        for &i in &order {
            let b = &benchmarks[i];
            let have = samples[i].values.len();
            if plan.runs.is_some_and(|runs| have >= runs) {
                continue;
            }
            match (&b.subject, &tasks[i]) {
                (Subject::Command(command), _) => {
                    prepare(plan)?;
                    let t = time_command(command, plan.launch, plan.ignore_failure)?;
                    samples[i].values.push(t);
                }
                (Subject::Python { python, .. }, Some(task)) => {
                    let out = run_worker(python, &plan.worker_source, task, &b.name)?;
                    samples[i].push_process(&out.values);
                }
                (Subject::Python { .. }, None) => {}
            }
            if let Some(runs) = plan.runs {
                samples[i].truncate(runs);
            }
        }
    }
    progress.finish();
    Ok(samples)
}

/// Runs the `--prepare` command, if any.
fn prepare(plan: &Plan) -> Result<(), BenchError> {
    match &plan.prepare {
        Some(command) => check_command(command, Launch::Shell),
        None => Ok(()),
    }
}

fn relative_half_width(sample: &Sample, boot: &Bootstrap) -> f64 {
    boot.median(sample.grouped())
        .map_or(f64::INFINITY, |i| i.relative_half_width())
}

/// The widest relative half-width among the samples' median intervals.
fn widest_interval(samples: &[Sample], boot: &Bootstrap) -> f64 {
    samples
        .iter()
        .map(|s| relative_half_width(s, boot))
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            warmup: 1,
            runs: None,
            min_runs: 5,
            max_time: Duration::from_secs(20),
            precision: 0.05,
            ignore_failure: false,
            launch: Launch::Shell,
            prepare: None,
            values_per_process: 5,
            worker_source: String::new(),
        }
    }

    fn command(name: &str, cmd: &str) -> Benchmark {
        Benchmark {
            name: name.into(),
            subject: Subject::Command(cmd.into()),
        }
    }

    #[test]
    fn fixed_runs_are_exact() {
        let p = Plan {
            runs: Some(3),
            ..plan()
        };
        let s = run(
            &[command("t", "true")],
            &p,
            &Bootstrap::default(),
            &Progress::hidden(),
        )
        .unwrap();
        assert_eq!(s[0].values.len(), 3);
    }

    #[test]
    fn adaptive_runs_stop_when_precise() {
        // A loose precision is met by the first values, however loaded the machine: the run
        // stops at the minimum instead of going on to the time limit.
        let p = Plan {
            precision: 0.5,
            ..plan()
        };
        let s = run(
            &[command("a", "sleep 0.02"), command("b", "sleep 0.04")],
            &p,
            &Bootstrap::default(),
            &Progress::hidden(),
        )
        .unwrap();
        for x in &s {
            assert!(x.values.len() == 5 && x.notes.is_empty(), "{x:?}");
        }
    }

    #[test]
    fn max_time_cuts_short_with_a_note() {
        let p = Plan {
            precision: 1e-9,
            max_time: Duration::from_millis(300),
            ..plan()
        };
        let s = run(
            &[command("a", "sleep 0.01")],
            &p,
            &Bootstrap::default(),
            &Progress::hidden(),
        )
        .unwrap();
        assert!(s[0].notes[0].contains("precision not reached"), "{s:?}");
    }

    #[test]
    fn prepare_runs_before_every_run() {
        let dir = std::env::temp_dir().join(format!("fluoro-prepare-{}", std::process::id()));
        let log = dir.with_extension("log");
        let _ = std::fs::remove_file(&log);
        let p = Plan {
            runs: Some(4),
            warmup: 2,
            prepare: Some(format!("echo p >> {}", log.display())),
            ..plan()
        };
        run(
            &[command("a", &format!("echo r >> {}", log.display()))],
            &p,
            &Bootstrap::default(),
            &Progress::hidden(),
        )
        .unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        let _ = std::fs::remove_file(&log);
        // The check, one more warmup, then four timed runs: each after a prepare.
        assert_eq!(text, "p\nr\n".repeat(6), "{text}");
    }

    #[test]
    fn failing_commands_stop_the_run() {
        let e = run(
            &[command("a", "exit 4")],
            &plan(),
            &Bootstrap::default(),
            &Progress::hidden(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("exit code 4"), "{e}");
    }
}
