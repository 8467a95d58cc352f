//! `fluoro run --live`: the target runs as fluoro's child, recorded and reported as any
//! `fluoro run` records and reports it, while fluoro shows `fluoro top`'s view of it, sampled
//! from outside.
//!
//! The view takes the terminal, so what the target writes to the terminal is held in files
//! of a private directory and written out, stdout then stderr, once the view closes; after
//! that its output follows as it comes. Streams that are not a terminal reach the target as
//! they would. Its standard input is `/dev/null`: the keys are the view's.

use super::start::prepare;
use super::watch;
use crate::cpython::ThreadStack;
use crate::output::{io_reason, Failure};
use crate::remote::process::Remote;
use crate::remote::top::{self, Closed, View, Watched};
use fluoro_cli::RunArgs;
use fluoro_render::escape::for_terminal;
use pyo3::prelude::*;
use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Seconds of samples the view adds up.
const WINDOW: usize = 10;
/// How often a target that does not run Python yet is looked at again.
const RETRY: Duration = Duration::from_millis(50);
/// How often held output is passed on once the view is closed.
const FOLLOW: Duration = Duration::from_millis(50);

pub fn command(py: Python<'_>, args: &RunArgs) -> Result<i32, Failure> {
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        return Err(Failure(
            "run: --live needs a terminal (standard input and output)".into(),
        ));
    }
    let start = prepare(py, args, Some(std::process::id()))?;
    let held = Held::new(std::io::stderr().is_terminal())?;
    let mut command = start.command;
    command.stdin(Stdio::null()).stdout(held.writer(0)?);
    if held.streams.len() > 1 {
        command.stderr(held.writer(1)?);
    }
    let child = command.spawn().map_err(|e| {
        Failure(format!(
            "run: cannot start {}: {}",
            start.executable.display(),
            io_reason(&e)
        ))
    })?;
    let pid = child.id() as i32;
    if let Some(dir) = &start.temporary {
        watch::start(dir, pid, &start.label, !args.quiet);
    }
    let header = format!(
        "fluoro run --live · pid {pid} · {}",
        for_terminal(&start.label)
    );
    let mut view = View::new(header, WINDOW, args.idle);
    let mut watched = Started {
        child,
        remote: None,
        tried: None,
        stacks: Vec::new(),
    };
    let closed = top::show(&mut watched, &mut view, args.rate.min(1000));
    let mut child = watched.child;
    crate::os::ignore_interrupts();
    match closed {
        Ok(Closed::Interrupt) => crate::os::interrupt(pid),
        Ok(_) => {}
        Err(why) => crate::output::say(&format!("run: {why}")),
    }
    let status = held.follow(&mut child);
    Ok(exit_code(status))
}

/// The target's status as `fluoro run`'s exit code: its own, or 128 + the signal that ended
/// it, as a shell reports it.
fn exit_code(status: std::io::Result<ExitStatus>) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(status) => status
            .code()
            .or_else(|| status.signal().map(|s| 128 + s))
            .unwrap_or(1),
        Err(e) => {
            crate::output::say(&format!(
                "run: cannot wait for the target: {}",
                io_reason(&e)
            ));
            1
        }
    }
}

/// How the target ended, for the view's header.
fn ended(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("ended with exit code {code}"),
        (None, Some(signal)) => format!("ended by signal {signal}"),
        _ => "ended".into(),
    }
}

/// The target as the view samples it: opened once its interpreter runs.
struct Started {
    child: Child,
    remote: Option<Remote>,
    tried: Option<Instant>,
    stacks: Vec<ThreadStack>,
}

impl Watched for Started {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn sample(&mut self, view: &mut View) -> Result<(), String> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(ended(status));
        }
        if self.remote.is_none() && self.tried.is_none_or(|t| t.elapsed() >= RETRY) {
            self.tried = Some(Instant::now());
            self.remote = Remote::open(self.pid()).ok();
        }
        if let Some(remote) = &mut self.remote {
            top::sample_into(remote, &mut self.stacks, view);
        }
        Ok(())
    }

    fn stays(&self) -> bool {
        true
    }
}

/// The target's terminal output while the view is up: stdout, and stderr when it is a
/// terminal too, each in a file of a private directory.
struct Held {
    dir: PathBuf,
    streams: Vec<PathBuf>,
}

impl Held {
    fn new(stderr_too: bool) -> Result<Held, Failure> {
        let prefix = format!("fluoro-live-{}-", std::process::id());
        let dir = crate::scratch::private_dir(&prefix).map_err(|e| {
            Failure(format!(
                "run: cannot make a temporary directory in {}: {}",
                std::env::temp_dir().display(),
                io_reason(&e)
            ))
        })?;
        let mut streams = vec![dir.join("stdout")];
        if stderr_too {
            streams.push(dir.join("stderr"));
        }
        Ok(Held { dir, streams })
    }

    /// Where the target writes stream `n` (0: stdout, 1: stderr).
    fn writer(&self, n: usize) -> Result<File, Failure> {
        let path = &self.streams[n];
        crate::scratch::create_new(path).map_err(|e| {
            Failure(format!(
                "run: cannot write {}: {}",
                path.display(),
                io_reason(&e)
            ))
        })
    }

    /// Passes on what was held, then what comes, until the target ends.
    fn follow(&self, child: &mut Child) -> std::io::Result<ExitStatus> {
        let mut readers: Vec<(File, Box<dyn Write>)> = Vec::new();
        for (n, path) in self.streams.iter().enumerate() {
            let out: Box<dyn Write> = if n == 0 {
                Box::new(std::io::stdout())
            } else {
                Box::new(std::io::stderr())
            };
            readers.push((File::open(path)?, out));
        }
        let pass_on = |readers: &mut Vec<(File, Box<dyn Write>)>| {
            for (file, out) in readers.iter_mut() {
                // A closed stdout does not stop the target: what it wrote is then dropped,
                // as it would have been.
                let _ = std::io::copy(file, out).and_then(|_| out.flush());
            }
        };
        let status = loop {
            pass_on(&mut readers);
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) => std::thread::sleep(FOLLOW),
                Err(e) => break Err(e),
            }
        };
        pass_on(&mut readers);
        status
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        for file in &self.streams {
            let _ = std::fs::remove_file(file);
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}
