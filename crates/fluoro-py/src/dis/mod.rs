//! `fluoro dis`: resolves targets, has the chosen interpreter compile `.py` sources to marshal
//! bytes (in this process when it is the one, else `PATH -c`), reads `.pyc` files itself,
//! and decodes everything with `fluoro-bytecode` — one path for every version.

pub mod adaptive;
pub mod capture;

use crate::output::{emit, Failure};
use fluoro_bytecode::{disassemble, read_pyc, CodeReport, OpcodeTable, StatsReport};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::{Path, PathBuf};
use std::process::Command;

const COMPILE: &str = include_str!("compile.py");

/// `fluoro dis [--json] [--python PATH] [--stats DIR] TARGET...`.
pub fn command(py: Python<'_>, args: &fluoro_cli::DisArgs) -> Result<i32, Failure> {
    match (args.adaptive, &args.run) {
        (true, Some(script)) => return adaptive::command(py, args, script),
        (true, None) => match args.targets.as_slice() {
            [path] if path.ends_with(".fluoro") => return adaptive::profile_command(args, path),
            _ => {
                return Err(fail(
                    "--adaptive needs --run SCRIPT, or a profile of `fluoro run --adaptive`",
                ))
            }
        },
        (false, Some(_)) => return Err(fail("--run needs --adaptive")),
        (false, None) => {}
    }
    if let Some(dir) = &args.stats {
        let stats = stats(py, args, Path::new(dir))?;
        return Ok(emit(&stats, args.json, fluoro_bytecode::render_stats));
    }
    let mut reports: Vec<CodeReport> = Vec::new();
    let mut sources: Vec<(usize, Request)> = Vec::new();
    if args.json && !args.targets.is_empty() && args.targets.iter().all(|t| t.ends_with(".pyc")) {
        return json_from_pycs(&args.targets);
    }
    let mut slots: Vec<Vec<CodeReport>> = Vec::new();
    for target in &args.targets {
        slots.push(Vec::new());
        let slot = slots.len() - 1;
        if target.ends_with(".pyc") {
            let bytes = std::fs::read(target).map_err(|e| io_fail(target, &e))?;
            let (table, code) = read_pyc(&bytes).map_err(|e| fail(&format!("{target}: {e}")))?;
            slots[slot] = disassemble(&code, table);
        } else if target.ends_with(".py") || Path::new(target).is_file() {
            if let Err(e) = std::fs::metadata(target) {
                return Err(io_fail(target, &e));
            }
            let abs = std::path::absolute(target).unwrap_or_else(|_| PathBuf::from(target));
            sources.push((slot, Request::file(&abs.to_string_lossy())));
        } else {
            let (module, qualname) = match target.split_once(':') {
                Some((m, q)) => (m, Some(q.to_owned())),
                None => (target.as_str(), None),
            };
            let mut request = Request::module(module);
            request.qualname = qualname;
            sources.push((slot, request));
        }
    }
    let requests: Vec<Request> = sources.iter().map(|(_, r)| r.clone()).collect();
    let compiled = compile(py, args.python.as_deref(), &requests)?;
    for ((slot, request), unit) in sources.iter().zip(compiled) {
        let unit = unit.map_err(|e| fail(&e))?;
        let mut code_reports = disassemble(&unit.code, unit.table);
        if let Some(q) = &request.qualname {
            let nested = format!("{q}.");
            code_reports.retain(|r| r.qualname == *q || r.qualname.starts_with(&nested));
            if code_reports.is_empty() {
                return Err(fail(&format!(
                    "no code object '{q}' in module '{}'",
                    request.value
                )));
            }
        }
        slots[*slot] = code_reports;
    }
    for s in slots {
        reports.extend(s);
    }
    if args.json {
        let code = emit_compact_json(&reports);
        // The process ends next: freeing a whole library's instructions one by one is waste.
        std::mem::forget(reports);
        return Ok(code);
    }
    Ok(emit(&reports, false, |r| fluoro_bytecode::render_text(r)))
}

/// `--json` of `.pyc` files only: each file read, decoded and serialized on its own, spread
/// over the machine's cores, and written in the order given as soon as its turn comes. A file
/// that cannot be read ends the output there, with one line on stderr and exit 2.
fn json_from_pycs(targets: &[String]) -> Result<i32, Failure> {
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let next = AtomicUsize::new(0);
    let (send, receive) = std::sync::mpsc::channel::<(usize, Result<Vec<u8>, String>)>();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut failure = None;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let send = send.clone();
            let next = &next;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(target) = targets.get(i) else {
                    break;
                };
                // The receiver is gone when the output stopped: nothing more to do.
                if send.send((i, pyc_json(target))).is_err() {
                    break;
                }
            });
        }
        drop(send);
        let mut waiting: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
        let mut written = 0;
        // A closed pipe is not an error worth a message: the output just stops.
        let mut open = out.write_all(b"[").is_ok();
        for (i, part) in receive.iter() {
            match part {
                Ok(body) => {
                    waiting.insert(i, body);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
            while let Some(body) = waiting.remove(&written) {
                if open {
                    let comma: &[u8] = if written > 0 { b"," } else { b"" };
                    open = out
                        .write_all(comma)
                        .and_then(|()| out.write_all(&body))
                        .is_ok();
                }
                written += 1;
            }
        }
        // Stops the workers (their next send fails) before the scope waits for them.
        next.store(targets.len(), Ordering::Relaxed);
        drop(receive);
    });
    if let Some(e) = failure {
        let _ = out.flush();
        return Err(fail(&e));
    }
    let _ = out.write_all(b"]\n").and_then(|()| out.flush());
    Ok(0)
}

/// One `.pyc` file's code objects as JSON array elements (comma-separated, no brackets).
fn pyc_json(target: &str) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(target).map_err(|e| io_message(target, &e))?;
    let (table, code) = read_pyc(&bytes).map_err(|e| format!("{target}: {e}"))?;
    let reports = disassemble(&code, table);
    let mut out = Vec::with_capacity(bytes.len() * 16);
    for (i, report) in reports.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, report).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// JSON on one line: a whole library's instructions are too many for indented output.
fn emit_compact_json<T: serde::Serialize>(value: &T) -> i32 {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    // A closed pipe is not an error worth a message.
    let _ = serde_json::to_writer(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    0
}

/// Every `.py` file under `dir`, compiled in one batch, counted per package.
fn stats(py: Python<'_>, args: &fluoro_cli::DisArgs, dir: &Path) -> Result<StatsReport, Failure> {
    if !dir.is_dir() {
        return Err(fail(&format!("{}: no such directory", dir.display())));
    }
    let mut files = Vec::new();
    collect_py(dir, &mut files);
    files.sort();
    let root = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    let requests: Vec<Request> = files
        .iter()
        .map(|f| Request::file(&f.to_string_lossy()))
        .collect();
    let compiled = compile(py, args.python.as_deref(), &requests)?;
    let mut report = StatsReport::default();
    for (file, unit) in files.iter().zip(compiled) {
        // Files the interpreter cannot compile (test data, other versions' syntax) are skipped.
        let Ok(unit) = unit else { continue };
        let package = file
            .parent()
            .and_then(|p| p.strip_prefix(dir).ok())
            .map(|rel| {
                let mut parts: Vec<String> = root.iter().cloned().collect();
                parts.extend(rel.iter().map(|c| c.to_string_lossy().into_owned()));
                parts.join(".")
            })
            .unwrap_or_default();
        report.add(&package, &disassemble(&unit.code, unit.table));
    }
    Ok(report)
}

fn collect_py(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && entry.file_name() != "__pycache__" {
            collect_py(&path, out);
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "py") {
            out.push(path);
        }
    }
}

/// A source to compile: a file path or a module name.
#[derive(Debug, Clone)]
struct Request {
    kind: &'static str,
    value: String,
    qualname: Option<String>,
}

impl Request {
    fn file(path: &str) -> Self {
        Request {
            kind: "file",
            value: path.to_owned(),
            qualname: None,
        }
    }
    fn module(name: &str) -> Self {
        Request {
            kind: "mod",
            value: name.to_owned(),
            qualname: None,
        }
    }
}

/// A compiled source: the version's opcode table and the module's code object.
struct Unit {
    table: &'static OpcodeTable,
    code: std::rc::Rc<fluoro_bytecode::Code>,
}

/// Compiles every request with the chosen interpreter; one result per request.
fn compile(
    py: Python<'_>,
    python: Option<&str>,
    requests: &[Request],
) -> Result<Vec<Result<Unit, String>>, Failure> {
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    let (version, records) = match python {
        None => compile_here(py, requests)?,
        Some(python) => compile_there(python, requests)?,
    };
    let table = OpcodeTable::for_version(version.0, version.1).ok_or_else(|| {
        fail(&format!(
            "CPython {}.{} is not supported (3.10-3.13 are)",
            version.0, version.1
        ))
    })?;
    Ok(records
        .into_iter()
        .map(|(path, ok, payload)| {
            if !ok {
                return Err(format!(
                    "{path}: {}",
                    String::from_utf8_lossy(&payload).trim()
                ));
            }
            fluoro_bytecode::load_code(&payload, table)
                .map(|code| Unit { table, code })
                .map_err(|e| format!("{path}: {e}"))
        })
        .collect())
}

type Records = Vec<(String, bool, Vec<u8>)>;

/// Compiles in fluoro's own interpreter.
fn compile_here(py: Python<'_>, requests: &[Request]) -> Result<((u8, u8), Records), Failure> {
    let namespace = PyDict::new(py);
    namespace.set_item("__name__", "fluoro_dis_compile")?;
    let source = std::ffi::CString::new(COMPILE).map_err(|e| Failure(e.to_string()))?;
    py.run(&source, Some(&namespace), None)?;
    let func = namespace
        .get_item("compile_targets")?
        .ok_or_else(|| fail("compile helper defines no compile_targets()"))?;
    let args: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.kind, r.value.as_str()))
        .collect();
    let records: Records = func.call1((args,))?.extract()?;
    let info = py.version_info();
    Ok(((info.major, info.minor), records))
}

/// Compiles in another interpreter, which writes binary records (see compile.py).
fn compile_there(python: &str, requests: &[Request]) -> Result<((u8, u8), Records), Failure> {
    let output = Command::new(python)
        .arg("-c")
        .arg(COMPILE)
        .args(requests.iter().map(|r| format!("{}:{}", r.kind, r.value)))
        .output()
        .map_err(|e| {
            fail(&match e.kind() {
                std::io::ErrorKind::NotFound => {
                    format!("cannot run '{python}': no such interpreter")
                }
                _ => format!("cannot run '{python}': {e}"),
            })
        })?;
    let data = output.stdout;
    let bad = || fail(&format!("'{python}' gave unreadable compiler output"));
    if !output.status.success() || data.len() < 2 {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        return Err(fail(&format!(
            "'{python}' could not compile: {}",
            last.unwrap_or("no output").trim()
        )));
    }
    let version = (data[0], data[1]);
    let mut at = 2usize;
    let mut records = Vec::new();
    let u32_at = |at: usize| -> Option<usize> {
        let b = data.get(at..at + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    while at < data.len() {
        let plen = u32_at(at).ok_or_else(bad)?;
        let ok = *data.get(at + 4).ok_or_else(bad)? != 0;
        let dlen = u32_at(at + 5).ok_or_else(bad)?;
        at += 9;
        let path = data.get(at..at + plen).ok_or_else(bad)?;
        at += plen;
        let payload = data.get(at..at + dlen).ok_or_else(bad)?;
        at += dlen;
        records.push((
            String::from_utf8_lossy(path).into_owned(),
            ok,
            payload.to_vec(),
        ));
    }
    if records.len() != requests.len() {
        return Err(bad());
    }
    Ok((version, records))
}

fn fail(message: &str) -> Failure {
    Failure::of("dis", message)
}

fn io_fail(target: &str, e: &std::io::Error) -> Failure {
    fail(&io_message(target, e))
}

fn io_message(target: &str, e: &std::io::Error) -> String {
    format!("{target}: {}", crate::output::io_reason(e))
}
