//! The sampler thread: a Rust thread that wakes at the sampling rate, records every Python
//! thread's stack, wall and CPU time and the GIL's holder from a [`StackSource`], and drains
//! the allocation hook's ring ([`Drain`]) into the same [`Recorder`]. It composes the two;
//! neither knows of the other.

use super::alloc::{paused, Drain};
use super::names::thread_names;
use super::recorder::Recorder;
use super::sampler::{Jitter, StackSource};
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
    handle: Option<JoinHandle<Recorder>>,
}

impl Sampler {
    /// Starts sampling at `rate_hz` into `recorder`, draining the allocation hook's records
    /// too when given a [`Drain`]. A rate of 0 samples no stacks (memory only).
    pub fn start(
        source: StackSource,
        mut recorder: Recorder,
        rate_hz: u32,
        drain: Option<Drain>,
    ) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let sample = rate_hz > 0;
        // Without stack samples, the thread still ticks to drain memory records.
        let tick_hz = if sample { rate_hz } else { 100 };
        let interval = Duration::from_nanos(1_000_000_000 / u64::from(tick_hz));
        let handle = std::thread::Builder::new()
            .name("fluoro-sampler".into())
            .spawn(move || {
                os::block_signals();
                os::precise_timers();
                run(source, drain, &mut recorder, interval, sample, &flag);
                recorder
            })
            .ok();
        Sampler { stop, handle }
    }

    /// Stops the thread and hands back what it recorded. The GIL is released while waiting,
    /// since the fallback sampler needs it to finish its tick.
    pub fn stop(mut self, py: Python<'_>) -> Option<Recorder> {
        self.stop.store(true, Ordering::SeqCst);
        let handle = self.handle.take()?;
        handle.thread().unpark();
        py.detach(|| handle.join().ok())
    }
}

/// How often the sampler may look up names of new threads (the one thing it takes the GIL
/// for, and only while some thread is unnamed).
const NAMING_EVERY: Duration = Duration::from_millis(250);

/// With the allocation hook recording everything, the ring is drained at least this often
/// between ticks, so that the target rarely waits for room.
const DRAIN_EVERY: Duration = Duration::from_millis(2);

/// Drains the hook's ring into `recorder`, resolving stacks with the memory reader's code
/// table (the drain exists only with the memory reader).
fn drain_now(drain: &mut Option<Drain>, source: &mut StackSource, recorder: &mut Recorder) {
    if let (Some(d), Some(codes)) = (drain.as_mut(), source.codes()) {
        d.tick(codes, recorder, Instant::now());
    }
}

fn run(
    mut source: StackSource,
    mut drain: Option<Drain>,
    recorder: &mut Recorder,
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
                drain_now(&mut drain, &mut source, recorder);
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
            source.threads(&mut stacks)
        } else {
            if let Some(codes) = source.codes() {
                codes.next_tick();
            }
            None
        };
        let now = Instant::now();
        if let (Some(d), Some(codes)) = (drain.as_mut(), source.codes()) {
            d.tick(codes, recorder, now);
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
    drain_now(&mut drain, &mut source, recorder);
    recorder.add_codes(source.take_fresh());
    recorder.flush();
    recorder.sampler_cpu_ns = os::thread_cpu_ns(os::gettid()).unwrap_or(0);
    source.release();
}

/// Names the threads seen so far that have none yet, from `threading`, taking the GIL briefly.
/// Threads that end before the run does keep their names this way.
fn name_threads(recorder: &mut Recorder, stop: &AtomicBool) {
    let unnamed = recorder.unnamed();
    if unnamed.is_empty() || stop.load(Ordering::SeqCst) {
        return;
    }
    // The session stops this thread from an atexit handler, before the interpreter
    // finalizes, and releases the GIL while it waits: attaching here cannot outlive it.
    // What Python allocates for the lookup is fluoro's, not the target's.
    let names = paused(|| Python::attach(|py| thread_names(py, &unnamed)));
    recorder.set_names(names);
}
