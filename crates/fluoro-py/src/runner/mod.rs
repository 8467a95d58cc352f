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
mod session;
mod watch;

pub use config::BootConfig;
use config::{flush_python_streams, BOOT_VAR};

pub use session::Session;

use crate::output::{io_reason, Failure};
use crate::scratch;
use fluoro_cli::{RunArgs, Target};
use pyo3::prelude::*;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// What `--memory`, `--memory-interval` and `--cpu-only` ask for.
fn memory_plan(args: &RunArgs) -> crate::collectors::alloc::MemoryPlan {
    use crate::collectors::alloc::MemoryPlan;
    use fluoro_cli::MemoryChoice;
    if args.cpu_only {
        return MemoryPlan::Off;
    }
    match args.memory {
        MemoryChoice::Sampled => MemoryPlan::Sampled {
            mean: args.memory_interval,
        },
        MemoryChoice::All => MemoryPlan::All,
        MemoryChoice::Off => MemoryPlan::GcOnly,
    }
}

/// Checks the target, then replaces this process with the interpreter running it.
/// Returns only on failure.
pub fn launch(py: Python<'_>, args: &RunArgs) -> Failure {
    match try_launch(py, args) {
        Ok(failure) | Err(failure) => failure,
    }
}

fn try_launch(py: Python<'_>, args: &RunArgs) -> Result<Failure, Failure> {
    let Some(target) = &args.target else {
        return Err(Failure("run: no target given".to_owned()));
    };
    check::target(py, target)?;
    let sys = py.import("sys")?;
    let flags = sys.getattr("flags")?;
    if flags.getattr("no_site")?.is_truthy()? {
        return Err(Failure(
            "run: the interpreter runs with -S, which keeps fluoro's boot hook out".into(),
        ));
    }
    let executable: PathBuf = sys.getattr("executable")?.extract()?;
    if executable.as_os_str().is_empty() {
        return Err(Failure(
            "run: this interpreter does not know its executable".into(),
        ));
    }
    // The options fluoro's own interpreter was started with (-X dev, -O, -W ...), no others:
    // what comes from the environment (PYTHONDONTWRITEBYTECODE ...) reaches the target the
    // same way.
    let orig_argv: Vec<std::ffi::OsString> = sys.getattr("orig_argv")?.extract()?;
    let interpreter_flags = fluoro_cli::interpreter_options(&orig_argv);
    boot_hook_installed(py)?;
    // The label and argv are shown and recorded: lossy where not UTF-8. What is executed
    // below is given the OS strings themselves.
    let label = match target {
        Target::Script(path) => path.to_string_lossy().into_owned(),
        Target::Module(name) => format!("-m {name}"),
        Target::Code(_) => "-c".to_owned(),
    };
    let mut argv = vec![label.clone()];
    argv.extend(args.args.iter().map(|a| a.to_string_lossy().into_owned()));
    let output = match (&args.output, args.format) {
        (Some(out), Some(_)) => Some(writable(out)?),
        _ => None,
    };
    let html = match &args.html {
        Some(file) => Some(writable(&html_path(file.as_deref(), target))?),
        None => None,
    };
    let heap = crate::heap::run::HeapRun::from_args(args)?;
    // Last of what can fail before the exec: a private directory is made here.
    let (profile_file, temporary) = profile_path(args)?;
    let watched_label = label.clone();
    let config = serde_json::to_string(&BootConfig {
        pid: std::process::id(),
        label,
        argv,
        quiet: args.quiet,
        rate: args.rate,
        exact: args.exact,
        memory: memory_plan(args),
        adaptive: args.adaptive,
        gil_sampler: args.sampler == fluoro_cli::SamplerChoice::Gil,
        async_tasks: args.async_tasks,
        profile: profile_file.clone(),
        temporary_profile: temporary,
        output,
        format: args.format,
        html,
        metric: args.metric,
        idle: args.idle,
        top: args.text.top,
        full: args.text.full,
        show_all: args.text.show_all,
        advise: args.advise,
        heap,
        subprocesses: args.subprocesses,
        child: false,
    })
    .map_err(|e| Failure(e.to_string()))?;
    let mut command = std::process::Command::new(&executable);
    command.args(&interpreter_flags);
    match target {
        Target::Script(path) => command.arg(path),
        Target::Module(name) => command.arg("-m").arg(name),
        Target::Code(code) => command.arg("-c").arg(code),
    };
    command.args(&args.args).env(BOOT_VAR, config);
    flush_python_streams(py);
    if temporary {
        if let Some(dir) = profile_file.parent() {
            watch::start(dir, &watched_label, !args.quiet);
        }
    }
    let error = command.exec();
    if let (true, Some(dir)) = (temporary, profile_file.parent()) {
        let _ = std::fs::remove_dir(dir);
    }
    Ok(Failure(format!(
        "run: cannot start {}: {error}",
        executable.display()
    )))
}

/// Where the streamed profile goes: `-o FILE` when no export format is asked for, else a
/// temporary file in a new private directory, removed after the reports. Returns an absolute
/// path: the target may chdir.
fn profile_path(args: &RunArgs) -> Result<(PathBuf, bool), Failure> {
    match (&args.output, args.format) {
        (Some(out), None) => Ok((writable(out)?, false)),
        _ => {
            // Profiles left by runs that ended unannounced (their keeper killed too).
            scratch::remove_orphans(&std::env::temp_dir(), TEMPORARY_PREFIX, watch::PROFILE);
            let prefix = format!("{TEMPORARY_PREFIX}{}-", std::process::id());
            let dir = scratch::private_dir(&prefix).map_err(|e| {
                Failure(format!(
                    "run: cannot make a temporary directory in {}: {}",
                    std::env::temp_dir().display(),
                    io_reason(&e)
                ))
            })?;
            Ok((dir.join(watch::PROFILE), true))
        }
    }
}

/// Where `--html` writes: FILE, or `NAME.fluoro.html` in the current directory, NAME being
/// the script's file stem or the module's name (`fluoro-c` for `-c`).
fn html_path(file: Option<&Path>, target: &Target) -> PathBuf {
    if let Some(file) = file {
        return file.to_path_buf();
    }
    let name = match target {
        Target::Script(path) => path
            .file_stem()
            .map_or_else(|| "fluoro".into(), |s| s.to_string_lossy().into_owned()),
        Target::Module(name) => name.clone(),
        Target::Code(_) => "fluoro-c".to_owned(),
    };
    PathBuf::from(format!("{name}.fluoro.html"))
}

/// Temporary profiles' directories: `fluoro-PID-xxxxxx` in `$TMPDIR`.
const TEMPORARY_PREFIX: &str = "fluoro-";

/// Checks that `path` can be written (creating it empty) and returns it absolute.
fn writable(path: &Path) -> Result<PathBuf, Failure> {
    let shown = path.display();
    let absolute = std::path::absolute(path)
        .map_err(|e| Failure(format!("run: cannot write '{shown}': {e}")))?;
    std::fs::File::create(&absolute).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "no such directory".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            std::io::ErrorKind::IsADirectory => "it is a directory".to_owned(),
            _ => e.to_string(),
        };
        Failure(format!("run: cannot write '{shown}': {reason}"))
    })?;
    Ok(absolute)
}

/// `fluoro_boot.pth` must sit in a site directory of this interpreter, or the target would run
/// without collectors.
fn boot_hook_installed(py: Python<'_>) -> Result<(), Failure> {
    let site = py.import("site")?;
    let mut dirs: Vec<String> = site.call_method0("getsitepackages")?.extract()?;
    if let Ok(user) = site
        .call_method0("getusersitepackages")
        .and_then(|u| u.extract())
    {
        dirs.push(user);
    }
    if dirs
        .iter()
        .any(|d| std::path::Path::new(d).join("fluoro_boot.pth").is_file())
    {
        Ok(())
    } else {
        Err(Failure(
            "run: fluoro_boot.pth is missing from site-packages; reinstall fluoro".into(),
        ))
    }
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
    if !child && config.pid != std::process::id() {
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
