//! The sampler thread: a Rust thread that wakes at the sampling rate, records every Python
//! thread's stack, wall and CPU time and the GIL's holder from a [`StackSource`], and drains
//! the allocation hook's ring ([`Drain`]) into the same [`Recorder`]. It composes the two;
//! neither knows of the other.

use super::alloc::{paused, Drain, TaskRoots};
use super::names::thread_names;
use super::recorder::Recorder;
use super::sampler::{Jitter, StackSource};
use super::tasks::TaskTracker;
use crate::cpython::ThreadStack;
use crate::os;
use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running sampler thread.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Parts>>,
    /// What a paused thread handed back, for [`Sampler::resume`].
    parked: Option<Parts>,
    rate_hz: u32,
}

/// What the thread works with, handed back when it ends.
struct Parts {
    source: StackSource,
    drain: Option<Drain>,
    recorder: Recorder,
    /// The OS id of the thread that last ran on them.
    tid: u64,
    /// asyncio tasks, with `--async`.
    tasks: Option<TaskTracker>,
}

impl Sampler {
    /// Starts sampling at `rate_hz` into `recorder`, draining the allocation hook's records
    /// too when given a [`Drain`]. A rate of 0 samples no stacks (memory only).
    pub fn start(
        py: Python<'_>,
        source: StackSource,
        recorder: Recorder,
        rate_hz: u32,
        drain: Option<Drain>,
        tasks: bool,
    ) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let mut source = source;
        let mut recorder = recorder;
        let tasks = tasks.then(|| {
            recorder.track_tasks();
            let walker = source.walker().map(|w| {
                // Task frames are matched to the thread's frames by address.
                w.keep_addresses();
                w.layout()
            });
            let mut tracker = TaskTracker::new(walker);
            tracker.probe_at_start(py);
            tracker
        });
        let parts = Parts {
            source,
            drain,
            recorder,
            tid: 0,
            tasks,
        };
        let handle = spawn(parts, rate_hz, &stop);
        Sampler {
            stop,
            handle,
            parked: None,
            rate_hz,
        }
    }

    /// Ends the thread (its records flushed) and keeps what it worked with, so that for a
    /// moment the process runs no thread of fluoro's: CPython 3.12+ warns at `os.fork()` in a
    /// process with more than one thread, and a target that forks alone must not see it.
    pub fn pause(&mut self, py: Python<'_>) {
        if let Some(handle) = self.handle.take() {
            self.stop.store(true, Ordering::SeqCst);
            handle.thread().unpark();
            self.parked = py.detach(|| {
                let parts = handle.join().ok()?;
                // A joined thread is still counted in /proc/self/stat (which CPython reads)
                // until the kernel has released it, a moment later.
                let task = format!("/proc/self/task/{}", parts.tid);
                let waited = Instant::now();
                while std::path::Path::new(&task).exists()
                    && waited.elapsed() < Duration::from_millis(50)
                {
                    std::thread::sleep(Duration::from_micros(100));
                }
                Some(parts)
            });
        }
    }

    /// Starts the thread again after [`Sampler::pause`].
    pub fn resume(&mut self) {
        if let Some(parts) = self.parked.take() {
            self.stop.store(false, Ordering::SeqCst);
            self.handle = spawn(parts, self.rate_hz, &self.stop);
        }
    }

    /// Stops the thread and hands back what it recorded. The GIL is released while waiting,
    /// since the fallback sampler needs it to finish its tick.
    pub fn stop(mut self, py: Python<'_>) -> Option<Recorder> {
        self.pause(py);
        let parts = self.parked.take()?;
        parts.source.release();
        Some(parts.recorder)
    }
}

/// Starts the sampler thread on `parts`; it runs until `stop` is set.
fn spawn(parts: Parts, rate_hz: u32, stop: &Arc<AtomicBool>) -> Option<JoinHandle<Parts>> {
    let flag = Arc::clone(stop);
    let sample = rate_hz > 0;
    // Without stack samples, the thread still ticks to drain memory records.
    let tick_hz = if sample { rate_hz } else { 100 };
    let interval = Duration::from_nanos(1_000_000_000 / u64::from(tick_hz));
    std::thread::Builder::new()
        .name("fluoro-sampler".into())
        .spawn(move || {
            os::block_signals();
            os::precise_timers();
            let mut parts = parts;
            parts.tid = os::gettid();
            run(
                &mut parts.source,
                &mut parts.drain,
                &mut parts.recorder,
                &mut parts.tasks,
                interval,
                sample,
                &flag,
            );
            parts
        })
        .ok()
}

/// How often the sampler may look up names of new threads (the one thing it takes the GIL
/// for, and only while some thread is unnamed).
const NAMING_EVERY: Duration = Duration::from_millis(250);

/// With the allocation hook recording everything, the ring is drained at least this often
/// between ticks, so that the target rarely waits for room.
const DRAIN_EVERY: Duration = Duration::from_millis(2);

/// Drains the hook's ring into `recorder`, resolving stacks with the memory reader's code
/// table (the drain exists only with the memory reader).
/// The tracker as the drain reads tasks through it.
fn task_roots(tasks: &mut Option<TaskTracker>) -> Option<&mut (dyn TaskRoots + 'static)> {
    tasks.as_mut().map(|t| t as &mut dyn TaskRoots)
}

fn drain_now(
    drain: &mut Option<Drain>,
    source: &mut StackSource,
    recorder: &mut Recorder,
    tasks: &mut Option<TaskTracker>,
) {
    if let (Some(d), Some(walker)) = (drain.as_mut(), source.walker()) {
        d.tick(walker, recorder, Instant::now(), task_roots(tasks));
    }
}

fn run(
    source: &mut StackSource,
    drain: &mut Option<Drain>,
    recorder: &mut Recorder,
    tasks: &mut Option<TaskTracker>,
    interval: Duration,
    sample: bool,
    stop: &AtomicBool,
) {
    let mut stacks: Vec<ThreadStack> = Vec::new();
    let mut jitter = Jitter::seeded();
    let mut next = Instant::now() + interval;
    let mut last_naming = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now < next {
            let frequent = drain.as_ref().is_some_and(|d| d.frequent);
            if frequent && source.codes().is_some() {
                std::thread::park_timeout((next - now).min(DRAIN_EVERY));
                drain_now(drain, source, recorder, tasks);
            } else {
                std::thread::park_timeout(next - now);
            }
            continue;
        }
        // Ticks missed while the machine was busy are skipped, not caught up: the next
        // sample's wall time covers the gap. Gaps are drawn at random around `interval`, so
        // that a program that repeats itself with a period near the gap is not sampled at
        // the same few phases (aliasing); each sample weighs the wall time it covers, which
        // keeps the estimates unbiased (see `StackSource::gap`).
        let gap = source.gap(&mut jitter, interval);
        next = if now > next + interval {
            now + gap
        } else {
            next + gap
        };
        let gil = if sample {
            let gil = source.threads(&mut stacks);
            if source.waits_for_gil() {
                // The next gap runs from when the GIL was had (see `StackSource::gap`).
                next = Instant::now() + gap;
            }
            gil
        } else {
            if let Some(codes) = source.codes() {
                codes.next_tick();
            }
            None
        };
        let now = Instant::now();
        if let (Some(d), Some(walker)) = (drain.as_mut(), source.walker()) {
            d.tick(walker, recorder, now, task_roots(tasks));
        }
        if let (true, Some(tracker)) = (sample, tasks.as_mut()) {
            track_tasks(tracker, source, recorder, &mut stacks, now, stop);
        }
        recorder.add_codes(source.take_fresh());
        if sample {
            recorder.record(now, &stacks, gil, interval);
        } else {
            recorder.flush_if_due(now);
        }
        if now.saturating_duration_since(last_naming) >= NAMING_EVERY {
            last_naming = now;
            name_threads(recorder, stop);
        }
    }
    // The hook was removed before the stop was asked for: this drain gets its last records.
    drain_now(drain, source, recorder, tasks);
    recorder.add_codes(source.take_fresh());
    recorder.flush();
    recorder.sampler_cpu_ns += os::thread_cpu_ns(os::gettid()).unwrap_or(0);
}

/// Roots the stacks of threads running asyncio tasks at their tasks and records the tasks
/// waiting; until the target has imported asyncio, looks for it now and then with the GIL.
fn track_tasks(
    tracker: &mut TaskTracker,
    source: &mut StackSource,
    recorder: &mut Recorder,
    stacks: &mut [ThreadStack],
    now: Instant,
    stop: &AtomicBool,
) {
    if tracker.wants_probe(now) && !stop.load(Ordering::SeqCst) {
        // As for thread names: the session stops this thread before the interpreter
        // finalizes, and what the probe allocates is fluoro's.
        paused(|| Python::attach(|py| tracker.probe(py, now)));
    }
    if let Some(walker) = source.walker() {
        tracker.attribute(stacks, walker);
        let waits = tracker.awaiting(now, walker, stacks);
        if !waits.is_empty() {
            recorder.record_awaiting(now, waits);
        }
    }
    recorder.add_codes(tracker.take_fresh());
    if let Some(note) = tracker.take_note() {
        recorder.note_tasks(note);
    }
}

/// Names the threads seen so far that have none yet, from `threading`, taking the GIL briefly.
/// Threads that end before the run does keep their names this way.
fn name_threads(recorder: &mut Recorder, stop: &AtomicBool) {
    let mut unnamed = recorder.unnamed();
    // The main thread is `MainThread` until the end says otherwise: no need to wait for the
    // GIL for it. (Waiting can be long: on 3.10 a thread that lets the GIL go and takes it
    // back every few milliseconds, as an event loop running `await asyncio.sleep(0)`, is
    // never asked to drop it, and the sampler took no sample for the 0.4 s it waited.)
    if let Some(main) = super::names::main_thread() {
        let (main, others): (Vec<_>, Vec<_>) = unnamed.into_iter().partition(|t| t.1 == main);
        recorder.set_names(
            main.into_iter()
                .map(|(idx, _)| (idx, "MainThread".to_owned()))
                .collect(),
        );
        unnamed = others;
    }
    if unnamed.is_empty() || stop.load(Ordering::SeqCst) {
        return;
    }
    // The session stops this thread from an atexit handler, before the interpreter
    // finalizes, and releases the GIL while it waits: attaching here cannot outlive it.
    // What Python allocates for the lookup is fluoro's, not the target's.
    let names = paused(|| Python::attach(|py| thread_names(py, &unnamed)));
    recorder.set_names(names);
}
