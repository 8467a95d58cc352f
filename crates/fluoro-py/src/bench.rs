//! `fluoro bench` and the statistics behind `fluoro.timeit` / `fluoro.compare`: the plain
//! `fluoro-bench` crate does the work; this module hands it the worker's source (the file
//! `fluoro/_bench_worker.py`) and the interpreter fluoro runs in.

use crate::output::{emit_text, Failure};
use fluoro_bench::{
    analyze, probe_interpreter, render_json, render_markdown, render_text, session, Benchmark,
    Bootstrap, Launch, Plan, Progress, Sample, Subject, Task,
};
use fluoro_cli::{function_target, BenchArgs};
use pyo3::prelude::*;
use std::time::Duration;

/// A value of Python code is calibrated to take at least this long.
const MIN_VALUE_TIME: f64 = 0.01;

/// `fluoro bench …`.
pub fn command(py: Python<'_>, args: &BenchArgs) -> Result<i32, Failure> {
    let fail = |e: fluoro_bench::BenchError| Failure(format!("bench: {e}"));
    if args.names.len() > args.targets.len() {
        return Err(Failure(format!(
            "bench: {} names for {} benchmarks",
            args.names.len(),
            args.targets.len()
        )));
    }
    let python = args.is_python();
    if python && (args.no_shell || args.prepare.is_some()) {
        return Err(Failure(
            "bench: -N and --prepare apply to commands, not to Python statements".into(),
        ));
    }
    let targets = args
        .expanded()
        .map_err(|e| Failure(format!("bench: {e}")))?;
    let benchmarks = if python {
        python_benchmarks(py, args, &targets)?
    } else {
        targets
            .into_iter()
            .map(|(name, cmd)| Benchmark {
                name,
                subject: Subject::Command(cmd),
            })
            .collect()
    };
    let plan = Plan {
        warmup: args.warmup,
        runs: args.runs.map(|r| r as usize),
        min_runs: args
            .min_runs
            .map_or(if python { 20 } else { 10 }, |r| r as usize),
        max_time: Duration::from_secs_f64(args.max_time),
        precision: args.precision,
        ignore_failure: args.ignore_failure,
        launch: if args.no_shell {
            Launch::Direct
        } else {
            Launch::Shell
        },
        prepare: args.prepare.clone(),
        values_per_process: args.values as usize,
        worker_source: if python {
            worker_source(py)?
        } else {
            String::new()
        },
    };
    let total = plan.runs.map(|r| (r * benchmarks.len()) as u64);
    let progress = Progress::new(total, plan.max_time);
    let boot = Bootstrap::default();
    // Measuring spawns processes and waits: let other Python threads run meanwhile.
    let samples = py
        .detach(|| session::run(&benchmarks, &plan, &boot, &progress))
        .map_err(fail)?;
    let report = analyze(&samples, &boot);
    let json = || render_json(&report).map_err(|e| Failure(format!("bench: {e}")));
    if let Some(path) = &args.export_json {
        export(path, &json()?)?;
    }
    if let Some(path) = &args.export_markdown {
        export(path, &render_markdown(&report))?;
    }
    if args.json {
        Ok(emit_text(&json()?))
    } else {
        Ok(emit_text(&render_text(&report)))
    }
}

fn export(path: &std::path::Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text)
        .map_err(|e| Failure(format!("bench: cannot write {}: {e}", path.display())))
}

/// One benchmark per (statement, interpreter); names get the interpreter when there are
/// several.
fn python_benchmarks(
    py: Python<'_>,
    args: &BenchArgs,
    targets: &[(String, String)],
) -> Result<Vec<Benchmark>, Failure> {
    let pythons: Vec<String> = if args.python.is_empty() {
        vec![current_python(py)?]
    } else {
        args.python.clone()
    };
    let fail = |e: fluoro_bench::BenchError| Failure(format!("bench: {e}"));
    let versions = pythons
        .iter()
        .map(|p| probe_interpreter(p).map_err(fail))
        .collect::<Result<Vec<String>, Failure>>()?;
    // Benchmarks are named after the interpreter's version, or its path when two share one.
    let distinct = versions
        .iter()
        .all(|v| versions.iter().filter(|w| *w == v).count() == 1);
    let mut out = Vec::new();
    for (python, version) in pythons.iter().zip(&versions) {
        for (base, target) in targets {
            let (stmt, path, func) = match function_target(target) {
                Some((path, func)) => {
                    if !std::path::Path::new(path).is_file() {
                        return Err(Failure(format!("bench: no such file: {path}")));
                    }
                    (None, Some(path.to_owned()), Some(func.to_owned()))
                }
                None => (Some(target.clone()), None, None),
            };
            let interpreter = if args.python.is_empty() {
                short_python(python)
            } else {
                python.clone()
            };
            let label = if distinct { version } else { &interpreter };
            out.push(Benchmark {
                name: if pythons.len() > 1 {
                    format!("{base} [{label}]")
                } else {
                    base.clone()
                },
                subject: Subject::Python {
                    python: python.clone(),
                    interpreter,
                    version: version.clone(),
                    statement: target.clone(),
                    task: Task {
                        setup: args.setup.clone(),
                        stmt,
                        path,
                        func,
                        loops: args.loops.unwrap_or(0),
                        values: args.values as usize,
                        warmups: args.warmup,
                        gc: !args.no_gc,
                        min_time: MIN_VALUE_TIME,
                    },
                },
            });
        }
    }
    Ok(out)
}

fn current_python(py: Python<'_>) -> Result<String, Failure> {
    Ok(py.import("sys")?.getattr("executable")?.extract()?)
}

/// `python3.11` for `/venv/bin/python3.11`.
fn short_python(python: &str) -> String {
    std::path::Path::new(python)
        .file_name()
        .map_or_else(|| python.to_owned(), |n| n.to_string_lossy().into_owned())
}

/// The source of `fluoro/_bench_worker.py`, which workers run with `-c`.
fn worker_source(py: Python<'_>) -> Result<String, Failure> {
    let path: String = py
        .import("fluoro._bench_worker")?
        .getattr("__file__")?
        .extract()?;
    std::fs::read_to_string(&path)
        .map_err(|e| Failure(format!("bench: cannot read the worker {path}: {e}")))
}

/// The report of `fluoro.timeit` / `fluoro.compare`: `samples` is a list of
/// `(name, values, loops)`; `groups`, when given, holds for each sample how many consecutive
/// values each process measured (the bootstrap then resamples processes). Returns
/// `(report as dict, text)`.
#[pyfunction]
#[pyo3(signature = (samples, groups = None))]
pub fn _bench_report(
    py: Python<'_>,
    samples: Vec<(String, Vec<f64>, u64)>,
    groups: Option<Vec<Vec<usize>>>,
) -> PyResult<(Bound<'_, PyAny>, String)> {
    let mut groups = groups.unwrap_or_default().into_iter();
    let samples: Vec<Sample> = samples
        .into_iter()
        .map(|(name, values, loops)| {
            let groups = groups.next().unwrap_or_default();
            Sample {
                statement: Some(name.clone()),
                name,
                values,
                loops,
                processes: groups.len().max(1),
                groups,
                ..Sample::default()
            }
        })
        .collect();
    let report = analyze(&samples, &Bootstrap::default());
    Ok((crate::output::to_python(py, &report)?, render_text(&report)))
}
