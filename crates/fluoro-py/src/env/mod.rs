//! `fluoro env`: runs the probe in this interpreter or in another one, and reports.

use crate::output::{emit, Failure};
use fluoro_env::{read_process, EnvReport, Facts};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const PROBE: &str = include_str!("probe.py");

/// `fluoro env [--json] [--python PATH]`.
pub fn command(py: Python<'_>, args: &fluoro_cli::EnvArgs) -> Result<i32, Failure> {
    let report = match &args.python {
        None => local_report(py)?,
        Some(python) => remote_report(python)?,
    };
    Ok(emit(&report, args.json, fluoro_env::render_text))
}

/// The report for the interpreter fluoro runs in.
pub fn local_report(py: Python<'_>) -> Result<EnvReport, Failure> {
    let namespace = PyDict::new(py);
    namespace.set_item("__name__", "fluoro_env_probe")?;
    let source = std::ffi::CString::new(PROBE).map_err(|e| Failure(e.to_string()))?;
    py.run(&source, Some(&namespace), None)?;
    let facts = namespace
        .get_item("facts")?
        .ok_or_else(|| Failure("env: probe defines no facts()".into()))?
        .call0()?;
    let json: String = py
        .import("json")?
        .call_method1("dumps", (facts,))?
        .extract()?;
    let facts = Facts::from_json(&json).map_err(|e| Failure(format!("env: {e}")))?;
    let process = read_process(std::process::id() as i32).ok();
    Ok(EnvReport::new(facts, process))
}

/// The report for another interpreter, which runs the probe as `PATH -c PROBE` and waits on
/// stdin while fluoro reads its /proc entry.
fn remote_report(python: &str) -> Result<EnvReport, Failure> {
    let mut child = Command::new(python)
        .arg("-c")
        .arg(PROBE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Failure(format!("env: cannot run '{python}': {}", short_io(&e))))?;
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut line);
    }
    let process = read_process(child.id() as i32).ok();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"\n");
    }
    let output = child
        .wait_with_output()
        .map_err(|e| Failure(format!("env: '{python}' did not finish: {e}")))?;
    if line.trim().is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        return Err(Failure(format!(
            "env: '{python}' could not be probed: {}",
            last.trim()
        )));
    }
    let facts = Facts::from_json(&line)
        .map_err(|e| Failure(format!("env: '{python}' gave an unreadable probe: {e}")))?;
    Ok(EnvReport::new(facts, process))
}

fn short_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such interpreter".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}
