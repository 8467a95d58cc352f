//! `fluoro dis --adaptive --run SCRIPT`: runs the script in the chosen interpreter (`PYTHON -c`
//! with a driver that reads `dis.get_instructions(adaptive=True)` afterwards) and classifies
//! its instructions with `fluoro-bytecode`'s opcode tables.

use crate::output::{emit, Failure};
use fluoro_bytecode::adaptive::{
    analyze, analyze_in_order, render_adaptive, AdaptiveReport, RunCode,
};
use fluoro_bytecode::OpcodeTable;
use pyo3::prelude::*;
use serde::Deserialize;
use std::collections::HashMap;
use std::process::Command;

const DRIVER: &str = include_str!("adaptive.py");

#[derive(Deserialize)]
struct DriverReport {
    version: (u8, u8),
    codes: Vec<RunCode>,
    /// `SyntaxError in FILE, line L, column C: MESSAGE` when the script does not compile.
    #[serde(default)]
    syntax_error: Option<String>,
}

/// Runs `script` with `script_args` and prints its hot functions' specialization state.
pub fn command(
    py: Python<'_>,
    args: &fluoro_cli::DisArgs,
    script: &std::path::Path,
) -> Result<i32, Failure> {
    let shown = script.display();
    if !script.is_file() {
        return Err(fail(&format!("{shown}: no such file")));
    }
    let python = match &args.python {
        Some(p) => p.clone(),
        None => py.import("sys")?.getattr("executable")?.extract()?,
    };
    // A new private directory: another user can neither guess its name nor plant a link in
    // it, and the driver creates the report file new, without following links.
    let dir = crate::scratch::private_dir("fluoro-dis-").map_err(|e| {
        fail(&format!(
            "cannot make a temporary directory in {}: {e}",
            std::env::temp_dir().display()
        ))
    })?;
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
    let data = crate::scratch::read_nofollow(&out);
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_dir(&dir);
    let status = status.map_err(|e| {
        fail(&match e.kind() {
            std::io::ErrorKind::NotFound => format!("cannot run '{python}': no such interpreter"),
            _ => format!("cannot run '{python}': {e}"),
        })
    })?;
    let data = data.map_err(|_| {
        fail(&format!(
            "'{python}' ended ({status}) before reporting on {shown}"
        ))
    })?;
    let report: DriverReport = serde_json::from_slice(&data)
        .map_err(|e| fail(&format!("'{python}' gave an unreadable report: {e}")))?;
    // A script that does not compile is refused in one line, as `fluoro run` refuses it.
    if let Some(error) = report.syntax_error {
        return Err(fail(&error));
    }
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
    Ok(emit(&report, args.json, render))
}

fn render(report: &AdaptiveReport) -> String {
    let source = |file: &str| -> Vec<String> {
        std::fs::read_to_string(file)
            .map(|s| s.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    };
    render_adaptive(report, &source)
}

/// The specialization state recorded by `fluoro run --adaptive` in `profile`, hottest
/// functions first; `None` when it holds none.
pub fn from_profile(
    profile: &fluoro_profile::Profile,
    top: usize,
) -> Result<AdaptiveReport, String> {
    let python = profile
        .meta
        .as_ref()
        .map(|m| m.python.as_str())
        .unwrap_or("");
    let version: Vec<u8> = python
        .split(|c: char| !c.is_ascii_digit())
        .take(2)
        .filter_map(|p| p.parse().ok())
        .collect();
    let &[major, minor] = version.as_slice() else {
        return Err(format!("the profile names no CPython version ({python:?})"));
    };
    let table = OpcodeTable::for_version(major, minor)
        .ok_or_else(|| format!("CPython {major}.{minor} is not supported (3.11-3.13 are)"))?;
    let samples = line_samples(profile);
    let codes: Vec<RunCode> = profile
        .adaptive
        .iter()
        .map(|c| RunCode {
            qualname: c.qualname.clone(),
            file: c.file.clone(),
            firstlineno: c.firstlineno,
            instructions: c.instructions.clone(),
            line_samples: samples
                .iter()
                .filter(|((file, qualname, first, _), _)| {
                    (file.as_str(), qualname.as_str(), *first)
                        == (c.file.as_str(), c.qualname.as_str(), c.firstlineno)
                })
                .map(|((_, _, _, line), n)| (*line, *n))
                .collect(),
        })
        .collect();
    Ok(analyze_in_order(
        table,
        &format!("{major}.{minor}"),
        &codes,
        top,
    ))
}

/// Samples of the profile by (file, qualname, first line, line) of their innermost frame: how
/// often each line of each function ran, relatively.
fn line_samples(profile: &fluoro_profile::Profile) -> HashMap<(String, String, i64, i64), u64> {
    let mut out = HashMap::new();
    for w in &profile.weights {
        let Some(&leaf) = profile.frames(w.stack).last() else {
            continue;
        };
        let code = profile.code(leaf);
        let key = (
            code.filename.clone(),
            code.qualname.clone(),
            i64::from(code.firstlineno),
            i64::from(profile.line(leaf)),
        );
        *out.entry(key).or_insert(0) += w.samples;
    }
    out
}

/// `fluoro dis --adaptive PROFILE.fluoro`.
pub fn profile_command(args: &fluoro_cli::DisArgs, path: &str) -> Result<i32, Failure> {
    let profile = crate::report::read_profile(std::path::Path::new(path)).map_err(|e| fail(&e))?;
    if profile.adaptive.is_empty() {
        return Err(fail(&format!(
            "{path} holds no bytecode: record it with `fluoro run --adaptive -o {path} ...` (CPython 3.11+)"
        )));
    }
    let report = from_profile(&profile, args.top).map_err(|e| fail(&e))?;
    Ok(emit(&report, args.json, render))
}

/// The text `fluoro run --adaptive` prints after its summary.
pub fn render_profile(profile: &fluoro_profile::Profile, top: usize) -> Option<String> {
    if profile.adaptive.is_empty() {
        return None;
    }
    from_profile(profile, top).ok().map(|r| render(&r))
}

fn fail(message: &str) -> Failure {
    Failure::of("dis", message)
}
