//! `fluoro run --adaptive`: at the end of the run, the hottest functions' bytecode as the
//! adaptive interpreter (3.11+) left it goes into the profile, for `fluoro dis --adaptive
//! PROFILE` to show ranked by the time the run measured in them.
//!
//! The code objects are found through the live functions (`gc.get_objects()`, then their
//! code's nested code objects); each is read with `marshal.dumps` (its lines and arguments)
//! and `_co_code_adaptive` (the quickened opcodes), both without importing anything.

use fluoro_bytecode::adaptive::run_code;
use fluoro_bytecode::OpcodeTable;
use fluoro_profile::{AdaptiveCode, Chunk, Metric, Profile};
use fluoro_report::analysis::{function_table, Measure};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCode, PyFunction, PyList};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Functions captured, hottest by self time first.
pub const TOP: usize = 30;

/// Appends the hot functions' quickened bytecode to the profile at `path`.
pub fn record(py: Python<'_>, path: &Path) {
    let v = py.version_info();
    if (v.major, v.minor) < (3, 11) {
        eprintln!("fluoro: --adaptive needs CPython 3.11+; nothing recorded");
        return;
    }
    let captured = crate::collectors::alloc::paused(|| capture(py, path, v.major, v.minor));
    match captured {
        Ok(codes) if codes.is_empty() => {}
        Ok(codes) => {
            if let Err(e) = fluoro_profile::append(path, &Chunk::Adaptive(codes)) {
                eprintln!("fluoro: cannot write {}: {e}", path.display());
            }
        }
        Err(e) => eprintln!("fluoro: cannot read the hot functions' bytecode: {e}"),
    }
}

type Key = (String, String, i64);

fn capture(py: Python<'_>, path: &Path, major: u8, minor: u8) -> PyResult<Vec<AdaptiveCode>> {
    let err = |e: String| pyo3::exceptions::PyRuntimeError::new_err(e);
    let table = OpcodeTable::for_version(major, minor)
        .ok_or_else(|| err(format!("no opcode table for CPython {major}.{minor}")))?;
    let data = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let profile = Profile::from_bytes(&data).map_err(|e| err(e.to_string()))?;
    let metric = if profile.total(Metric::Cpu) > 0 {
        Metric::Cpu
    } else {
        Metric::Wall
    };
    let mut rows = function_table(&profile, Measure::active(metric));
    rows.sort_by_key(|f| std::cmp::Reverse((f.self_ns, f.total_ns)));
    let wanted: HashMap<Key, usize> = rows
        .iter()
        .filter(|f| f.total_ns > 0)
        .take(TOP)
        .enumerate()
        .map(|(rank, f)| {
            let k = &f.key;
            let key = (
                k.filename.to_owned(),
                k.qualname.to_owned(),
                i64::from(k.firstlineno),
            );
            (key, rank)
        })
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let marshal = py.import("marshal")?;
    let objects = py
        .import("gc")?
        .call_method0("get_objects")?
        .cast_into::<PyList>()?;
    let mut found: Vec<(usize, AdaptiveCode)> = Vec::new();
    let mut seen: HashSet<usize> = HashSet::new();
    let mut pending: Vec<Bound<'_, PyAny>> = Vec::new();
    for obj in objects.iter() {
        if obj.is_instance_of::<PyFunction>() {
            if let Ok(code) = obj.getattr("__code__") {
                pending.push(code);
            }
        }
        while let Some(code) = pending.pop() {
            if !seen.insert(code.as_ptr() as usize) {
                continue;
            }
            let key: Key = (
                code.getattr("co_filename")?.extract()?,
                code.getattr("co_qualname")?.extract()?,
                code.getattr("co_firstlineno")?.extract()?,
            );
            if let Some(&rank) = wanted.get(&key) {
                let marshalled = marshal.call_method1("dumps", (&code,))?;
                let adaptive = code.getattr("_co_code_adaptive")?;
                let (m, a) = (
                    marshalled.cast::<PyBytes>()?.as_bytes(),
                    adaptive.cast::<PyBytes>()?.as_bytes(),
                );
                if let Ok(run) = run_code(table, m, a) {
                    found.push((
                        rank,
                        AdaptiveCode {
                            qualname: run.qualname,
                            file: run.file,
                            firstlineno: run.firstlineno,
                            instructions: run.instructions,
                        },
                    ));
                }
            }
            for c in code.getattr("co_consts")?.try_iter()? {
                let c = c?;
                if c.is_instance_of::<PyCode>() {
                    pending.push(c);
                }
            }
        }
    }
    found.sort_by_key(|(rank, _)| *rank);
    found.dedup_by(|a, b| a.0 == b.0);
    Ok(found.into_iter().map(|(_, c)| c).collect())
}
