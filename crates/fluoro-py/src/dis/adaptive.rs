//! `fluoro dis --adaptive --run SCRIPT`: runs the script in the chosen interpreter (`PYTHON -c`
//! with a driver that reads `dis.get_instructions(adaptive=True)` afterwards) and classifies
//! its instructions with `fluoro-bytecode`'s opcode tables.

use super::fail;
use crate::cli::{emit, Failure};
use fluoro_bytecode::adaptive::{analyze, render_adaptive, RunCode};
use fluoro_bytecode::OpcodeTable;
use pyo3::prelude::*;
use serde::Deserialize;
use std::process::Command;

const DRIVER: &str = include_str!("adaptive.py");

#[derive(Deserialize)]
struct DriverReport {
    version: (u8, u8),
    codes: Vec<RunCode>,
}

/// Runs `script` with `script_args` and prints its hot functions' specialization state.
pub fn command(py: Python<'_>, args: &fluoro_cli::DisArgs, script: &str) -> Result<i32, Failure> {
    if !std::path::Path::new(script).is_file() {
        return Err(fail(&format!("{script}: no such file")));
    }
    let python = match &args.python {
        Some(p) => p.clone(),
        None => py.import("sys")?.getattr("executable")?.extract()?,
    };
    let dir = std::env::temp_dir().join(format!("fluoro-dis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| fail(&format!("{}: {e}", dir.display())))?;
    let out = dir.join("adaptive.json");
    // The script's own output goes to stderr: stdout carries the report.
    let status = Command::new(&python)
        .arg("-c")
        .arg(DRIVER)
        .arg(&out)
        .arg(script)
        .args(&args.targets)
        .stdout(std::io::stderr())
        .status();
    let data = std::fs::read(&out);
    let _ = std::fs::remove_dir_all(&dir);
    let status = status.map_err(|e| {
        fail(&match e.kind() {
            std::io::ErrorKind::NotFound => format!("cannot run '{python}': no such interpreter"),
            _ => format!("cannot run '{python}': {e}"),
        })
    })?;
    let data = data.map_err(|_| {
        fail(&format!(
            "'{python}' ended ({status}) before reporting on {script}"
        ))
    })?;
    let report: DriverReport = serde_json::from_slice(&data)
        .map_err(|e| fail(&format!("'{python}' gave an unreadable report: {e}")))?;
    let (major, minor) = report.version;
    if (major, minor) < (3, 11) {
        return Err(fail(&format!(
            "--adaptive needs CPython 3.11+; {major}.{minor} has no adaptive interpreter"
        )));
    }
    let table = OpcodeTable::for_version(major, minor).ok_or_else(|| {
        fail(&format!(
            "CPython {major}.{minor} is not supported (3.11-3.13 are)"
        ))
    })?;
    let report = analyze(table, &format!("{major}.{minor}"), &report.codes, args.top);
    let source = |file: &str| -> Vec<String> {
        std::fs::read_to_string(file)
            .map(|s| s.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    };
    Ok(emit(&report, args.json, |r| render_adaptive(r, &source)))
}
