//! `fluoro run`: the target is started by the interpreter itself, so it cannot tell fluoro is
//! there.
//!
//! fluoro checks the target (the script exists and compiles, the module exists), then execs
//! the same interpreter, with the same flags, on the same pid, exactly as `python` would be
//! started on the target, with one environment variable more: `FLUORO_BOOT`. The
//! `fluoro_boot.pth` file installed with fluoro sees it while `site` runs, before `__main__`:
//! the hook removes the variable and calls [`boot`], which starts the collectors and registers
//! their drain as the first atexit handler, so that it runs last: after the target's own
//! handlers and after its non-daemon threads have ended.
//!
//! Running the target from inside fluoro's own frames instead (as cProfile does) would leave
//! fluoro's frames under the target's: a shallower recursion limit, an `f_back` at module
//! level, `inspect.stack()` showing fluoro. Letting the interpreter start it makes `sys.argv`,
//! `sys.path[0]`, `__main__`, tracebacks, exit codes and signals its own by construction.

mod check;
mod config;
pub mod live;
mod session;
mod start;
mod watch;

pub use config::BootConfig;

pub use session::Session;

use crate::output::Failure;
use fluoro_cli::RunArgs;
use pyo3::prelude::*;
use std::os::unix::process::CommandExt;

/// Checks the target, then replaces this process with the interpreter running it.
/// Returns only on failure.
pub fn launch(py: Python<'_>, args: &RunArgs) -> Failure {
    match try_launch(py, args) {
        Ok(failure) | Err(failure) => failure,
    }
}

fn try_launch(py: Python<'_>, args: &RunArgs) -> Result<Failure, Failure> {
    let start = start::prepare(py, args, None)?;
    let mut command = start.command;
    if let Some(dir) = &start.temporary {
        watch::start(dir, std::process::id() as i32, &start.label, !args.quiet);
    }
    let error = command.exec();
    if let Some(dir) = &start.temporary {
        let _ = std::fs::remove_dir(dir);
    }
    Ok(Failure(format!(
        "run: cannot start {}: {error}",
        start.executable.display()
    )))
}

/// What the boot hook does after [`boot`]: the variable to leave for children (with
/// `--subprocesses`), and whether this process is a followed child.
pub struct Booted {
    pub children: Option<String>,
    pub child: bool,
}

/// The configuration a process followed with `--subprocesses` gives its forks.
static FOLLOWED: std::sync::Mutex<Option<BootConfig>> = std::sync::Mutex::new(None);

/// The session of this followed child, for [`finish_child`].
static CHILD_SESSION: std::sync::Mutex<Option<Py<Session>>> = std::sync::Mutex::new(None);

/// Called by the boot hook inside the target interpreter: starts the session and registers
/// its drain with atexit.
pub fn boot(py: Python<'_>, config: &str) -> PyResult<Booted> {
    let unprofiled = Booted {
        children: None,
        child: false,
    };
    // A stray or stale FLUORO_BOOT (another pid, another fluoro version's fields) is ignored
    // without a word: it must not disturb every python started in its environment.
    let Ok(config) = serde_json::from_str::<BootConfig>(config) else {
        return Ok(unprofiled);
    };
    let child = config.child;
    let ours = match config.spawner {
        Some(spawner) => spawner == std::os::unix::process::parent_id(),
        None => config.pid == std::process::id(),
    };
    if !child && !ours {
        return Ok(unprofiled);
    }
    if !child {
        crate::output::keep_original_stderr();
    }
    let followed = config.subprocesses.then(|| BootConfig {
        child: true,
        ..config.clone()
    });
    let children = followed
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    let role = if child {
        session::Role::Spawned
    } else {
        session::Role::Root
    };
    let Some(session) = start_session(py, config, role)? else {
        return Ok(unprofiled);
    };
    *FOLLOWED.lock().unwrap_or_else(|e| e.into_inner()) = followed;
    if child {
        *CHILD_SESSION.lock().unwrap_or_else(|e| e.into_inner()) = Some(session);
    }
    Ok(Booted { children, child })
}

/// Starts a session and registers its end with atexit; `None` when it did not start.
fn start_session(
    py: Python<'_>,
    config: BootConfig,
    role: session::Role,
) -> PyResult<Option<Py<Session>>> {
    let session = match Session::start(py, config, role) {
        Ok(Some(session)) => Bound::new(py, session)?,
        Ok(None) => return Ok(None),
        Err(e) => {
            // The target runs anyway, unprofiled: fluoro never stops it from running.
            if role == session::Role::Root {
                crate::output::say(&format!("cannot start profiling: {e}"));
            }
            return Ok(None);
        }
    };
    py.import("atexit")?
        .call_method1("register", (session.getattr("finish")?,))?;
    let hooks = pyo3::types::PyDict::new(py);
    hooks.set_item("before", session.getattr("before_fork")?)?;
    hooks.set_item("after_in_parent", session.getattr("after_fork")?)?;
    py.import("os")?
        .call_method("register_at_fork", (), Some(&hooks))?;
    Ok(Some(session.unbind()))
}

/// In a child made by `fork()` of a process followed with `--subprocesses` (the boot hook's
/// `os.register_at_fork` handler): starts the child's own session. Returns whether it did.
pub fn forked(py: Python<'_>) -> PyResult<bool> {
    let Some(config) = FOLLOWED.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
        return Ok(false);
    };
    // The parent's child session, if this process's parent was one, is the parent's.
    if let Some(inherited) = CHILD_SESSION
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    {
        std::mem::forget(inherited);
    }
    let Some(session) = start_session(py, config, session::Role::Forked)? else {
        return Ok(false);
    };
    *CHILD_SESSION.lock().unwrap_or_else(|e| e.into_inner()) = Some(session);
    Ok(true)
}

/// Completes a followed child's part of the profile now: the boot hook calls it from
/// `os._exit`, which skips atexit (multiprocessing's workers end that way).
pub fn finish_child(py: Python<'_>) {
    let session = CHILD_SESSION
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some(session) = session {
        let _ = session.call_method0(py, "finish");
    }
}
