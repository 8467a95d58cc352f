//! In-process micro-benchmarks, measured by worker processes: `PYTHON -c WORKER TASK`, where
//! WORKER is the source of fluoro's `_bench_worker.py` (which imports nothing of fluoro, so it
//! runs under any interpreter, PyPy included) and TASK is one JSON argument. The worker
//! answers with one JSON line on stdout: the loop count it used and its timed values.

use crate::error::{spawn_reason, BenchError};
use serde::{Deserialize, Serialize};
use std::process::{Command, Stdio};

/// What one worker process measures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Task {
    /// Statements run once before timing, in order.
    pub setup: Vec<String>,
    /// The statement to time, or None when timing `func` from `path`.
    pub stmt: Option<String>,
    pub path: Option<String>,
    pub func: Option<String>,
    /// Iterations per value; 0 asks the worker to calibrate.
    pub loops: u64,
    /// Values to report, after `warmups` discarded ones.
    pub values: usize,
    pub warmups: usize,
    /// Keep the garbage collector enabled while timing (pyperf's default; timeit disables it).
    pub gc: bool,
    /// Calibration target: the shortest time one value should take, in seconds.
    pub min_time: f64,
}

/// A worker's answer.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Output {
    pub loops: u64,
    /// Seconds per iteration.
    pub values: Vec<f64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Reply {
    Values(Output),
    Error { error: String },
}

/// Runs one worker for `task` under `python`; `label` names the benchmark in errors.
pub fn run_worker(
    python: &str,
    source: &str,
    task: &Task,
    label: &str,
) -> Result<Output, BenchError> {
    let task_json = serde_json::to_string(task).map_err(|e| BenchError::Usage(e.to_string()))?;
    let output = Command::new(python)
        .arg("-c")
        .arg(source)
        .arg(task_json)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| BenchError::BadInterpreter {
            python: python.to_owned(),
            reason: spawn_reason(&e),
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let reply = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str::<Reply>(l).ok());
    match reply {
        Some(Reply::Values(out)) if !out.values.is_empty() => Ok(out),
        Some(Reply::Error { error }) => Err(BenchError::Worker {
            benchmark: label.to_owned(),
            message: error,
        }),
        _ => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("the worker gave no values");
            Err(BenchError::Worker {
                benchmark: label.to_owned(),
                message: format!(
                    "the worker under '{python}' failed ({}): {}",
                    output.status,
                    last.trim()
                ),
            })
        }
    }
}

/// Checks that `python` starts; returns what it is (e.g. `CPython 3.11.7`).
pub fn probe_interpreter(python: &str) -> Result<String, BenchError> {
    let output = Command::new(python)
        .args([
            "-c",
            "import platform; print(platform.python_implementation(), platform.python_version())",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| BenchError::BadInterpreter {
            python: python.to_owned(),
            reason: spawn_reason(&e),
        })?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || text.is_empty() {
        return Err(BenchError::BadInterpreter {
            python: python.to_owned(),
            reason: format!("it is not a Python interpreter ({})", output.status),
        });
    }
    Ok(text)
}
