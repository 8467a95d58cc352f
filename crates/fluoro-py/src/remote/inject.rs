//! `fluoro attach --memory`: fluoro's own collectors started inside a running CPython 3.14+
//! with `sys.remote_exec`, and stopped the same way, leaving the process as it was.
//!
//! `sys.remote_exec(pid, script)` asks the target to run a script file in its main thread at
//! its next safe point. The start script imports `fluoro._native` in the target (from its own
//! environment, or from this fluoro's when the versions match) and starts a session that
//! samples CPU and records allocations into the profile, like `fluoro run`'s; it writes one
//! status line to a file this side waits for. At the end the stop script completes the
//! profile; a target that exits first completes it at exit.

use crate::collectors::{alloc::MemoryPlan, Collection, Plan};
use pyo3::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session started by the start script, in the target.
static ATTACHED: Mutex<Option<Collection>> = Mutex::new(None);

/// In the target (the start script): starts sampling and allocation tracking into `path`.
pub fn start_in_target(py: Python<'_>, path: PathBuf, rate: u32) -> PyResult<()> {
    let mut attached = ATTACHED.lock().unwrap_or_else(|e| e.into_inner());
    if attached.is_some() {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(
            "fluoro is already attached to this process",
        ));
    }
    crate::collectors::names::set_main_thread();
    let argv: Vec<String> = py
        .import("sys")
        .and_then(|sys| sys.getattr("argv"))
        .and_then(|a| a.extract())
        .unwrap_or_default();
    let plan = Plan {
        target: argv.first().cloned().unwrap_or_default(),
        argv,
        rate,
        exact: false,
        gil_sampler: false,
        tasks: false,
        warn: false,
        cpu: true,
        memory: MemoryPlan::Sampled {
            mean: crate::collectors::alloc::DEFAULT_MEAN_BYTES,
            ignore_free_lists: false,
        },
        process: None,
        forked: false,
    };
    let file = crate::scratch::create_new(&path)?;
    *attached = Some(Collection::start(py, &plan, file)?);
    Ok(())
}

/// In the target (the stop script, or at its exit): completes the profile.
pub fn stop_in_target(py: Python<'_>) -> PyResult<bool> {
    let Some(collection) = ATTACHED.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return Ok(false);
    };
    collection
        .stop(py, None)
        .map_err(pyo3::exceptions::PyOSError::new_err)?;
    Ok(true)
}

/// What this side needs to run scripts in process `pid`.
pub struct Injector {
    pid: i32,
    /// An interpreter of 3.14+ to call `sys.remote_exec` from.
    python: PathBuf,
    /// Where the scripts and their status lines go (private).
    dir: PathBuf,
    /// This fluoro's own package directory, for a target whose environment lacks fluoro.
    fluoro_root: Option<PathBuf>,
}

/// How long the target may take to reach a safe point and run a script.
const SCRIPT_PATIENCE: Duration = Duration::from_secs(10);

impl Injector {
    /// Checks that process `pid` (CPython `version`) can run scripts sent from outside.
    pub fn new(
        py: Python<'_>,
        pid: i32,
        version: (u8, u8),
        dir: &Path,
    ) -> Result<Injector, String> {
        if version < (3, 14) {
            return Err(format!(
                "--memory starts fluoro inside the process with sys.remote_exec, which CPython \
                 {}.{} does not have (3.14+)",
                version.0, version.1
            ));
        }
        let sys = py.import("sys").map_err(|e| e.to_string())?;
        let own: (u8, u8) = sys
            .getattr("version_info")
            .and_then(|v| v.extract::<(u8, u8, u8, String, u8)>())
            .map(|v| (v.0, v.1))
            .map_err(|e| e.to_string())?;
        // The target's own interpreter, when it is one; else this one, when it can.
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        let python = match exe {
            Some(exe)
                if exe
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("python")) =>
            {
                exe
            }
            _ if own >= (3, 14) => sys
                .getattr("executable")
                .and_then(|e| e.extract())
                .map_err(|e| e.to_string())?,
            _ => {
                return Err(format!(
                    "--memory needs a CPython 3.14+ to send the start script from; process \
                     {pid} is not run by a python executable and this fluoro runs on {}.{}",
                    own.0, own.1
                ))
            }
        };
        let fluoro_root = (own == version)
            .then(|| {
                py.import("fluoro")
                    .and_then(|f| f.getattr("__file__"))
                    .and_then(|f| f.extract::<PathBuf>())
                    .ok()
                    .and_then(|f| Some(f.parent()?.parent()?.to_path_buf()))
            })
            .flatten();
        Ok(Injector {
            pid,
            python,
            dir: dir.to_path_buf(),
            fluoro_root,
        })
    }

    /// Starts fluoro's collectors in the target, recording into `profile`.
    pub fn start(&self, profile: &Path, rate: u32) -> Result<(), String> {
        let call = format!(
            "_native._attach_start(os.fsdecode({}), {rate}); \
             import atexit; atexit.register(_native._attach_stop)",
            python_bytes_path(profile)
        );
        self.run("start", &call)
    }

    /// Writes a heap snapshot of the target to `path` (the target writes it).
    pub fn heap(&self, path: &Path) -> Result<(), String> {
        let call = format!(
            "_native._heap_snapshot(os.fsdecode({}))",
            python_bytes_path(path)
        );
        self.run("heap", &call)
    }

    /// Completes the profile in the target.
    pub fn stop(&self) -> Result<(), String> {
        self.run(
            "stop",
            "import atexit; atexit.unregister(_native._attach_stop); _native._attach_stop()",
        )
    }

    /// Runs `call` (on `_native`) in the target and waits for the status it writes.
    fn run(&self, name: &str, call: &str) -> Result<(), String> {
        let status = self.dir.join(format!("{name}.status"));
        let script = self.dir.join(format!("{name}.py"));
        let extra = self
            .fluoro_root
            .as_deref()
            .map_or_else(|| "None".to_owned(), python_bytes_path);
        let text = format!(
            "def _fluoro_{name}():\n\
             \x20   import os, sys\n\
             \x20   try:\n\
             \x20       try:\n\
             \x20           from fluoro import _native\n\
             \x20       except ImportError:\n\
             \x20           extra = {extra}\n\
             \x20           if extra is None:\n\
             \x20               raise\n\
             \x20           sys.path.append(os.fsdecode(extra))\n\
             \x20           try:\n\
             \x20               from fluoro import _native\n\
             \x20           finally:\n\
             \x20               sys.path.remove(os.fsdecode(extra))\n\
             \x20       {call}\n\
             \x20       said = 'ok'\n\
             \x20   except BaseException as e:\n\
             \x20       said = type(e).__name__ + ': ' + str(e)\n\
             \x20   with open({status}, 'w') as f:\n\
             \x20       f.write(said)\n\
             _fluoro_{name}()\n\
             del _fluoro_{name}\n",
            status = python_bytes_path(&status),
        );
        let file = crate::scratch::create_new(&script).map_err(|e| e.to_string())?;
        std::io::Write::write_all(&mut &file, text.as_bytes()).map_err(|e| e.to_string())?;
        let sent = std::process::Command::new(&self.python)
            .arg("-c")
            .arg("import sys; sys.remote_exec(int(sys.argv[1]), sys.argv[2])")
            .arg(self.pid.to_string())
            .arg(&script)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.python.display()))?;
        if !sent.status.success() {
            let said = String::from_utf8_lossy(&sent.stderr);
            let last = said.lines().last().unwrap_or("it failed").to_owned();
            return Err(format!("sys.remote_exec refused: {last}"));
        }
        let started = Instant::now();
        loop {
            if let Ok(said) = std::fs::read_to_string(&status) {
                return match said.as_str() {
                    "ok" => Ok(()),
                    other => Err(format!("in process {}: {other}", self.pid)),
                };
            }
            if !super::process::alive(self.pid) {
                return Err(format!("process {} ended", self.pid));
            }
            if started.elapsed() > SCRIPT_PATIENCE {
                return Err(format!(
                    "process {} did not run fluoro's {name} script within {} s (its main \
                     thread runs no Python code: blocked in a call into C?)",
                    self.pid,
                    SCRIPT_PATIENCE.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A path as a Python bytes literal: any bytes, no quoting to get wrong.
fn python_bytes_path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let bytes: String = path
        .as_os_str()
        .as_bytes()
        .iter()
        .map(|b| format!("\\x{b:02x}"))
        .collect();
    format!("b'{bytes}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_go_over_as_bytes_literals() {
        assert_eq!(
            python_bytes_path(Path::new("/a'b")),
            "b'\\x2f\\x61\\x27\\x62'"
        );
    }
}
