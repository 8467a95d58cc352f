//! A profiling session inside the target interpreter: collectors start before the target's
//! first line and are drained after its last; then the profile is read back and reported.

use super::config::{flush_python_streams, BootConfig};
use crate::collectors::{Collection, Plan};
use crate::os::CopyEnd;
use crate::output;
use crate::report;
use fluoro_render::{bytes, seconds};
use pyo3::prelude::*;

/// One run's collectors, and where their profile and reports go.
#[pyclass(module = "fluoro._native")]
pub struct Session {
    config: BootConfig,
    pid: u32,
    collection: Option<Collection>,
}

/// Which process a session profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The process `fluoro run` started: it makes the profile and reports.
    Root,
    /// A child that started its own interpreter (spawn, subprocess, exec).
    Spawned,
    /// A child made by `fork()` of a profiled process.
    Forked,
}

impl Session {
    /// Starts the collectors; called by the boot hook before `__main__` runs, or in a
    /// followed child (`config.child`) by the boot hook or after a fork. A child whose
    /// profile is gone (its parent's run ended) is not profiled: `Ok(None)`.
    pub fn start(py: Python<'_>, config: BootConfig, role: Role) -> PyResult<Option<Session>> {
        if role == Role::Forked {
            crate::collectors::names::main_thread_forked();
        } else {
            crate::collectors::names::set_main_thread();
        }
        if role == Role::Root {
            crate::heap::run::start(py, &config.heap)?;
        }
        let (label, argv) = match role {
            Role::Root => (config.label.clone(), config.argv.clone()),
            Role::Spawned => child_command(py),
            Role::Forked => (
                format!("fork of {}", std::os::unix::process::parent_id()),
                Vec::new(),
            ),
        };
        let pid = std::process::id();
        let process = (role != Role::Root).then(|| fluoro_profile::ProcessTag {
            pid,
            ppid: std::os::unix::process::parent_id(),
            start_unix_ns: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
        });
        let plan = Plan {
            target: label,
            argv,
            rate: config.rate,
            // Calls are counted in the first process only.
            exact: config.exact && role == Role::Root,
            gil_sampler: config.gil_sampler,
            tasks: config.async_tasks,
            warn: !config.quiet && role == Role::Root,
            cpu: true,
            memory: config.memory,
            process,
            forked: role == Role::Forked,
        };
        if role == Role::Forked && config.exact {
            // The parent's call counter came along with the fork: it stops here.
            let _ = crate::collectors::exact::stop(py);
        }
        let created = match role {
            // A temporary profile is made new in its private directory, never through a link.
            Role::Root if config.temporary_profile => crate::scratch::create_new(&config.profile),
            Role::Root => std::fs::File::create(&config.profile),
            // A child appends to its parent's, which must exist.
            _ => std::fs::OpenOptions::new()
                .append(true)
                .open(&config.profile),
        };
        // With children writing too, every chunk is appended, whoever wrote last.
        let created = match created {
            Ok(_) if role == Role::Root && config.subprocesses => std::fs::OpenOptions::new()
                .append(true)
                .open(&config.profile),
            other => other,
        };
        let collection = match created {
            Ok(file) => Some(Collection::start(py, &plan, file)?),
            Err(_) if role != Role::Root => return Ok(None),
            Err(e) => {
                output::say(&format!("cannot write {}: {e}", config.profile.display()));
                None
            }
        };
        Ok(Some(Session {
            pid,
            collection,
            config,
        }))
    }
}

/// What a spawned child runs, from its `sys.orig_argv`: the label (the script, `-m MODULE`
/// or `-c`) and the arguments after the interpreter's own options.
fn child_command(py: Python<'_>) -> (String, Vec<String>) {
    let orig: Vec<std::ffi::OsString> = py
        .import("sys")
        .and_then(|sys| sys.getattr("orig_argv"))
        .and_then(|a| a.extract())
        .unwrap_or_default();
    let options = fluoro_cli::interpreter_options(&orig).len();
    let argv: Vec<String> = orig
        .iter()
        .skip(1 + options)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let label = match argv.first().map(String::as_str) {
        Some("-m") => format!("-m {}", argv.get(1).map_or("", String::as_str)),
        Some(first) if first.starts_with("-c") => "-c".to_owned(),
        Some(script) => script.to_owned(),
        None => "python".to_owned(),
    };
    (label, argv)
}

/// The session whose sampler thread starts again at the next pending call (3.13).
static RESUME_LATER: std::sync::Mutex<Option<Py<Session>>> = std::sync::Mutex::new(None);

/// A pending call, in the main thread with the GIL: the sampler of [`RESUME_LATER`] goes on
/// (nothing, if the session has ended meanwhile).
extern "C" fn resume_later(_arg: *mut std::os::raw::c_void) -> std::os::raw::c_int {
    let session = RESUME_LATER
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some(session) = session {
        Python::attach(|py| {
            if let Ok(mut session) = session.bind(py).try_borrow_mut() {
                if let Some(collection) = &mut session.collection {
                    collection.resume();
                }
            }
        });
    }
    0
}

#[pymethods]
impl Session {
    /// `os.register_at_fork(before=...)`: fluoro's thread ends for the fork, so that a target
    /// that forks alone is alone when CPython 3.12+ counts its threads (it warns otherwise).
    fn before_fork(&mut self, py: Python<'_>) {
        if std::process::id() == self.pid {
            if let Some(collection) = &mut self.collection {
                collection.pause(py);
            }
        }
    }

    /// `os.register_at_fork(after_in_parent=...)`: the thread goes on. CPython 3.13 counts
    /// the threads after these handlers ran (3.12 and 3.14+ before): there the thread starts
    /// again from a pending call, which the main thread runs once `os.fork()` has returned.
    fn after_fork(slf: Bound<'_, Self>) {
        if std::process::id() != slf.borrow().pid {
            return;
        }
        let version = slf.py().version_info();
        if (version.major, version.minor) == (3, 13) {
            *RESUME_LATER.lock().unwrap_or_else(|e| e.into_inner()) = Some(slf.clone().unbind());
            // SAFETY: the GIL is held; `resume_later` is a plain function taking no argument.
            if unsafe { pyo3::ffi::Py_AddPendingCall(Some(resume_later), std::ptr::null_mut()) }
                == 0
            {
                return;
            }
        }
        if let Some(collection) = &mut slf.borrow_mut().collection {
            collection.resume();
        }
    }

    /// Drains the collectors and reports; registered as the first atexit handler, so it runs
    /// after the target's own handlers and after its non-daemon threads ended.
    fn finish(&mut self, py: Python<'_>) {
        // A child made by os.fork() inherits this handler but not the sampler thread: the
        // profile is the parent's, and what it buffered is the parent's to write.
        if std::process::id() != self.pid {
            if let Some(collection) = self.collection.take() {
                std::mem::forget(collection);
            }
            return;
        }
        if self.config.child {
            // A followed child only completes its part of the profile.
            if let Some(collection) = self.collection.take() {
                let _ = collection.stop(py, unhandled_exception(py));
            }
            return;
        }
        crate::heap::run::finish(py);
        let Some(collection) = self.collection.take() else {
            return;
        };
        let exception = unhandled_exception(py);
        let stopped = collection.stop(py, exception.clone());
        flush_python_streams(py);
        // The target's own peak, before the reports add theirs.
        let peak = fluoro_env::read_process(std::process::id() as i32)
            .map(|p| format!(", peak RSS {}", bytes(p.peak_rss_bytes)))
            .unwrap_or_default();
        // Before the reports, whose copy of this process is a child too.
        let children = crate::os::ended_children_cpu_ns() as f64 / 1e9;
        let (wall, cpu) = match stopped {
            Ok(times) => {
                crate::patterns::record(py, &self.config.profile);
                if self.config.adaptive {
                    crate::dis::capture::record(py, &self.config.profile);
                }
                self.report_apart();
                times
            }
            Err(e) => {
                output::say(&format!(
                    "cannot write {}: {e}",
                    self.config.profile.display()
                ));
                self.dispose(Outcome::Failed);
                return;
            }
        };
        if !self.config.quiet {
            let ending = exception
                .map(|name| format!(", ended by an unhandled {name}"))
                .unwrap_or_default();
            output::say(&format!(
                "{} ran for {} (CPU {}{peak}){ending}",
                self.config.label,
                seconds(wall),
                seconds(cpu)
            ));
            if !self.config.subprocesses && children >= UNFOLLOWED_NOTICE.max(cpu * 0.1) {
                output::say(&format!(
                    "its child processes used {} of CPU that this profile does not show \
                     (--subprocesses follows Python children)",
                    seconds(children)
                ));
            }
        }
    }
}

/// How the reports at the end went, which decides what becomes of a temporary profile.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Every report was made and shown: the profile has served.
    Shown,
    /// A report was made but nobody could be shown it (stderr closed, a broken pipe).
    Unseen,
    /// Something failed: the profile is kept, and its path said.
    Failed,
}

impl Session {
    /// Makes the reports and disposes of a temporary profile, in a copy of this process when
    /// there is a report to make: what reading the profile takes (tens of MiB for a large one)
    /// is never the target's memory, and the target only waits for it to end, holding the
    /// GIL, so that none of its threads writes in the middle of the report.
    fn report_apart(&self) {
        let c = &self.config;
        let reports = !c.quiet || c.output.is_some() || c.html.is_some() || c.advise;
        let apart = if reports {
            crate::os::in_forked_copy(|| {
                let outcome = self.report();
                self.dispose(outcome);
                0
            })
        } else {
            None
        };
        match apart {
            Some(CopyEnd::Exited(0)) => {}
            // Cut short (a signal, a panic): what the copy did not get to is kept and said.
            Some(_) => self.dispose(Outcome::Failed),
            None => {
                let outcome = self.report();
                self.dispose(outcome);
            }
        }
    }

    /// Renders the summary (unless quiet) and the export asked for.
    fn report(&self) -> Outcome {
        let c = &self.config;
        let profile = &c.profile;
        let mut outcome = Outcome::Shown;
        let show = |text: &[u8], outcome: &mut Outcome| {
            if output::to_user(text).is_err() && *outcome == Outcome::Shown {
                *outcome = Outcome::Unseen;
            }
        };
        let more = if c.temporary_profile {
            "Summary: --full for the whole report, -o run.fluoro to keep the profile".to_owned()
        } else {
            format!("Full report: fluoro report {} --full", c.profile.display())
        };
        let options = report::RenderOptions {
            metric: c.metric,
            idle: c.idle,
            top: c.top,
            full: c.full,
            show_all: c.show_all,
            width: Some(output::terminal_width(2)),
            more: Some(more),
            ..report::RenderOptions::default()
        };
        if !c.quiet {
            match report::render_file(profile, report::Format::Text, &options) {
                Ok(text) => show(&text, &mut outcome),
                Err(e) => {
                    output::say(&e);
                    outcome = Outcome::Failed;
                }
            }
            if c.adaptive {
                let shown = report::read_profile(profile)
                    .ok()
                    .and_then(|p| crate::dis::adaptive::render_profile(&p, ADAPTIVE_SHOWN));
                if let Some(text) = shown {
                    let text =
                        format!("\nSpecialization of the hottest functions (by self time)\n{text}");
                    show(text.as_bytes(), &mut outcome);
                }
            }
        }
        // Advice is printed with the summary, and shown in the HTML report.
        let advice = (c.advise && (!c.quiet || c.html.is_some()))
            .then(|| {
                let script = c.argv.first().map(String::as_str);
                crate::advise::after_run(profile, c.metric, script, !c.quiet)
            })
            .flatten();
        if let (Some(format), Some(output)) = (c.format, &c.output) {
            // An export is the data: every frame, its natural width.
            let options = report::RenderOptions {
                width: None,
                more: None,
                ..options.clone()
            };
            match report::render_file(profile, format, &options) {
                Ok(data) => match std::fs::write(output, &data) {
                    Ok(()) if !c.quiet => output::say(&format!(
                        "wrote {} ({}, {})",
                        output.display(),
                        format.name(),
                        bytes(data.len() as u64)
                    )),
                    Ok(()) => {}
                    Err(e) => {
                        output::say(&format!("cannot write {}: {e}", output.display()));
                        outcome = Outcome::Failed;
                    }
                },
                Err(e) => {
                    output::say(&e);
                    outcome = Outcome::Failed;
                }
            }
        }
        if let Some(html) = &c.html {
            let options = report::RenderOptions {
                advice,
                heap: crate::heap::run::take_exit_report(),
                width: None,
                more: None,
                ..options.clone()
            };
            let written =
                report::render_file(profile, report::Format::Html, &options).and_then(|page| {
                    std::fs::write(html, page)
                        .map_err(|e| format!("cannot write {}: {e}", html.display()))
                });
            match written {
                Ok(()) if !c.quiet => output::say(&format!("HTML report: {}", html.display())),
                Ok(()) => {}
                Err(e) => {
                    output::say(&e);
                    outcome = Outcome::Failed;
                }
            }
        }
        if !c.temporary_profile && !c.quiet {
            let size = std::fs::metadata(profile)
                .map(|m| format!(" ({})", bytes(m.len())))
                .unwrap_or_default();
            output::say(&format!("wrote the profile {}{size}", profile.display()));
        }
        outcome
    }

    /// A temporary profile is removed once it has served (or when nobody can be told about
    /// it); after a failure it is kept, never deleted, and its path said.
    fn dispose(&self, outcome: Outcome) {
        if !self.config.temporary_profile {
            return;
        }
        let profile = &self.config.profile;
        let Some(dir) = profile.parent() else {
            return;
        };
        if outcome == Outcome::Failed {
            let kept = dir.join(super::watch::KEPT);
            if std::fs::rename(profile, &kept).is_ok() {
                let line = super::watch::kept_line("the report could not be made", &kept);
                if output::to_user(line.as_bytes()).is_ok() {
                    return;
                }
                let _ = std::fs::remove_file(&kept);
            }
        }
        let _ = std::fs::remove_file(profile);
        let _ = std::fs::remove_dir(dir);
    }
}

/// CPU seconds of unfollowed children from which the end of a run says so (and at least a
/// tenth of the target's own).
const UNFOLLOWED_NOTICE: f64 = 0.05;

/// Functions `fluoro run --adaptive` shows after its summary.
const ADAPTIVE_SHOWN: usize = 5;

/// The type name of the exception the interpreter reported as unhandled (`sys.last_type`).
fn unhandled_exception(py: Python<'_>) -> Option<String> {
    let last = py.import("sys").ok()?.getattr("last_type").ok()?;
    last.getattr("__name__").ok()?.extract().ok()
}
