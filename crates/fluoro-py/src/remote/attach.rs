//! `fluoro attach PID`: samples a running CPython from outside into a `.fluoro` profile, with
//! the sampler's walker and recorder, until `--duration`, Ctrl-C, or the process's end.

use super::process::{alive, command_line, tasks, Remote};
use crate::collectors::recorder::Recorder;
use crate::collectors::sampler::Jitter;
use crate::output::{emit_bytes, Failure};
use crate::report::{self, Format, RenderOptions};
use crate::scratch;
use fluoro_cli::AttachArgs;
use fluoro_profile::{End, Meta};
use pyo3::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub fn command(py: Python<'_>, args: &AttachArgs) -> Result<i32, Failure> {
    let fail = |m: String| Failure::of("attach", &m);
    let mut remote = Remote::open(args.pid).map_err(fail)?;
    let (path, scratch_dir) = match &args.output {
        Some(path) => (path.clone(), None),
        None => {
            let dir = scratch::private_dir("fluoro-attach-")
                .map_err(|e| fail(format!("cannot make a temporary directory: {e}")))?;
            (dir.join("attach.fluoro"), Some(dir))
        }
    };
    let options = RenderOptions {
        metric: args.metric,
        ..RenderOptions::default()
    };
    let sampled = if args.memory {
        inside(py, &remote, args, &path)
    } else {
        sample(py, &mut remote, args, &path)
    };
    let result = sampled.and_then(|()| match &args.html {
        Some(html) => report::render_file(&path, Format::Html, &options).and_then(|page| {
            std::fs::write(html, page).map_err(|e| {
                format!(
                    "cannot write {}: {}",
                    html.display(),
                    fluoro_render::io_reason(&e)
                )
            })
        }),
        None => Ok(()),
    });
    let text = RenderOptions {
        width: Some(crate::output::terminal_width(1)),
        ..options
    };
    let rendered = result.and_then(|()| match args.quiet {
        true => Ok(Vec::new()),
        false => report::render_file(&path, Format::Text, &text),
    });
    if let Some(dir) = scratch_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    let text = rendered.map_err(fail)?;
    if !args.quiet && args.output.is_some() {
        eprintln!("fluoro: profile written to {}", path.display());
    }
    if let (false, Some(html)) = (args.quiet, &args.html) {
        eprintln!("fluoro: HTML report: {}", html.display());
    }
    if let (false, Some(heap)) = (args.quiet, &args.heap) {
        eprintln!("fluoro: heap snapshot written to {}", heap.display());
    }
    Ok(emit_bytes(&text))
}

/// `--memory`: fluoro's collectors run inside the process until the deadline, Ctrl-C, or the
/// process's end; the profile they write is moved to `path`.
fn inside(py: Python<'_>, remote: &Remote, args: &AttachArgs, path: &Path) -> Result<(), String> {
    let dir = scratch::private_dir("fluoro-inject-")
        .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let done = (|| {
        let (major, minor, _) = remote.target.version;
        let injector = super::inject::Injector::new(py, args.pid, (major, minor), &dir)?;
        let written = dir.join("inside.fluoro");
        injector.start(&written, args.rate)?;
        let deadline = args
            .duration
            .map(|s| Instant::now() + Duration::from_secs_f64(s));
        // Ctrl-C raises KeyboardInterrupt in this process's Python: the end of recording.
        while py.check_signals().is_ok()
            && alive(args.pid)
            && deadline.is_none_or(|d| Instant::now() < d)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        let snapshot = dir.join("heap.fheap");
        if let (Some(_), true) = (&args.heap, alive(args.pid)) {
            injector.heap(&snapshot)?;
        }
        if alive(args.pid) {
            injector.stop()?;
        }
        copy(&written, path)?;
        match &args.heap {
            Some(heap) if snapshot.exists() => copy(&snapshot, heap),
            Some(_) => Err(format!(
                "process {} ended before its heap snapshot",
                args.pid
            )),
            None => Ok(()),
        }
    })();
    let _ = std::fs::remove_dir_all(&dir);
    done
}

/// Copies what the process wrote in the private directory to where the user asked.
fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to).map(|_| ()).map_err(|e| {
        format!(
            "cannot write {}: {}",
            to.display(),
            fluoro_render::io_reason(&e)
        )
    })
}

/// Samples until the deadline, Ctrl-C, or the process's end, streaming to `path`.
fn sample(
    py: Python<'_>,
    remote: &mut Remote,
    args: &AttachArgs,
    path: &PathBuf,
) -> Result<(), String> {
    let pid = args.pid;
    let file = std::fs::File::create(path).map_err(|e| {
        format!(
            "cannot write {}: {}",
            path.display(),
            fluoro_render::io_reason(&e)
        )
    })?;
    let argv = command_line(pid);
    let meta = Meta {
        target: argv.get(1).cloned().unwrap_or_default(),
        argv,
        python: remote.target.version_text(),
        pid: pid as u32,
        rate_hz: args.rate,
        sampler: "memory-reader".into(),
        exact: false,
        start_unix_ns: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
        cwd: std::fs::read_link(format!("/proc/{pid}/cwd"))
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        sys_path: Vec::new(),
    };
    let mut recorder = Recorder::new(file, meta, None)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let interval = Duration::from_nanos(1_000_000_000 / u64::from(args.rate));
    let start = Instant::now();
    let deadline = args.duration.map(|s| start + Duration::from_secs_f64(s));
    let mut jitter = Jitter::seeded();
    let mut stacks = Vec::new();
    let mut native_ids: HashMap<u64, u64> = HashMap::new();
    let mut next = start;
    loop {
        // Ctrl-C raises KeyboardInterrupt in this process's Python: the end of sampling.
        if py.check_signals().is_err() || !alive(pid) {
            break;
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            break;
        }
        if now < next {
            std::thread::sleep((next - now).min(Duration::from_millis(50)));
            continue;
        }
        next = now.max(next) + jitter.uniform(interval);
        remote.walker.threads(&mut stacks);
        let gil = remote.walker.gil_holder();
        let now = Instant::now();
        recorder.add_codes(remote.walker.codes.take_fresh());
        recorder.record(now, &stacks, gil, interval);
        for s in &stacks {
            native_ids.insert(s.ident, s.native_id);
        }
    }
    let wall_ns = start.elapsed().as_nanos() as u64;
    let tasks = tasks(pid);
    let thread_names = recorder
        .thread_idents()
        .into_iter()
        .map(|(idx, ident)| {
            let native = native_ids.get(&ident).copied().unwrap_or(0);
            (idx, remote.thread_name(ident, native, &tasks))
        })
        .collect();
    let end = End {
        wall_ns,
        thread_names,
        ..End::default()
    };
    recorder.finish(None, None, end)
}
