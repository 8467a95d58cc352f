//! The CPU sampler: a Rust thread that wakes at the sampling rate and records every Python
//! thread's stack, wall and CPU time, and whether it holds the GIL.
//!
//! By default it reads the interpreter's memory ([`walker`]) and never takes the GIL or
//! interrupts the target. On an interpreter without a layout it falls back to taking the GIL
//! and asking `sys._current_frames()` ([`gil_walker`]).

mod codes;
mod gil_walker;
pub mod layouts;
pub mod os;
mod recorder;
mod walker;

pub use codes::CodeTable;
pub use recorder::Recorder;

use super::alloc::Drain;
use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use walker::ThreadStack;

/// How stacks are read.
pub enum StackSource {
    /// From memory, without the GIL.
    Memory(Box<walker::Walker>),
    /// With the GIL, through `sys._current_frames()`.
    Gil(gil_walker::GilWalker),
}

impl StackSource {
    /// The GIL-free reader when this interpreter has a layout (and `force_gil` is off), else
    /// the GIL-taking one. Call holding the GIL.
    pub fn for_interpreter(py: Python<'_>, force_gil: bool) -> PyResult<StackSource> {
        let info = py.version_info();
        let layout = layouts::for_version(info.major, info.minor);
        match layout {
            Some(layout) if !force_gil => {
                // SAFETY: called with the GIL held, after initialization: the main
                // interpreter exists and outlives the sampler, which only reads through
                // `os::read`. `PyCode_Type` is a static type; we only take its address.
                let (interp, code_type) = unsafe {
                    (
                        pyo3::ffi::PyInterpreterState_Main() as usize,
                        std::ptr::addr_of!(pyo3::ffi::PyCode_Type) as usize,
                    )
                };
                let runtime = os::symbol(c"_PyRuntime");
                Ok(StackSource::Memory(Box::new(walker::Walker::new(
                    layout, interp, code_type, runtime,
                ))))
            }
            _ => Ok(StackSource::Gil(gil_walker::GilWalker::new())),
        }
    }

    /// What the allocation hook needs to read the allocating thread's stack: only the
    /// memory reader knows the interpreter's layout.
    pub fn frame_reader(&self) -> Option<super::alloc::FrameReader> {
        match self {
            StackSource::Memory(w) => Some(w.frame_reader()),
            StackSource::Gil(_) => None,
        }
    }

    /// `memory-reader` or `gil`, as the profile's header records it.
    pub fn name(&self) -> &'static str {
        match self {
            StackSource::Memory(_) => "memory-reader",
            StackSource::Gil(_) => "gil",
        }
    }
}

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
            match (&mut drain, &mut source) {
                (Some(d), StackSource::Memory(w)) if d.frequent => {
                    std::thread::park_timeout((next - now).min(DRAIN_EVERY));
                    d.tick(&mut w.codes, recorder, Instant::now());
                }
                _ => std::thread::park_timeout(next - now),
            }
            continue;
        }
        // Ticks missed while the machine was busy are skipped, not caught up: the next
        // sample's wall time covers the gap. Gaps are drawn at random around `interval`, so
        // that a program that repeats itself with a period near the gap is not sampled at
        // the same few phases (aliasing); each sample weighs the wall time it covers, which
        // keeps the estimates unbiased. The memory reader draws them uniformly from
        // [interval / 2, 3 interval / 2): the phase is soon mixed, and anything that runs
        // longer than 1.5 intervals still gets a sample. The GIL reader stops the target
        // while it reads, so each sample finds it one near-whole period further on and the
        // phase only drifts by the gap's spread: it draws exponential gaps (Poisson
        // sampling), whose spread is as large as their mean.
        let gap = match source {
            StackSource::Memory(_) => jitter.uniform(interval),
            StackSource::Gil(_) => jitter.exponential(interval),
        };
        next = if now > next + interval {
            now + gap
        } else {
            next + gap
        };
        let gil = match &mut source {
            StackSource::Memory(w) if sample => {
                w.threads(&mut stacks);
                w.gil_holder()
            }
            StackSource::Gil(w) if sample => {
                w.threads(&mut stacks);
                None
            }
            StackSource::Memory(w) => {
                w.codes.next_tick();
                None
            }
            StackSource::Gil(_) => None,
        };
        let now = Instant::now();
        if let (Some(d), StackSource::Memory(w)) = (&mut drain, &mut source) {
            d.tick(&mut w.codes, recorder, now);
        }
        let codes = match &mut source {
            StackSource::Memory(w) => w.codes.take_fresh(),
            StackSource::Gil(w) => w.take_fresh(),
        };
        recorder.add_codes(codes);
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
    if let (Some(d), StackSource::Memory(w)) = (&mut drain, &mut source) {
        d.tick(&mut w.codes, recorder, Instant::now());
    }
    let codes = match &mut source {
        StackSource::Memory(w) => w.codes.take_fresh(),
        StackSource::Gil(w) => w.take_fresh(),
    };
    recorder.add_codes(codes);
    recorder.flush();
    recorder.sampler_cpu_ns = os::thread_cpu_ns(os::gettid()).unwrap_or(0);
    if let StackSource::Gil(w) = source {
        w.release();
    }
}

/// Random gaps around the sampling interval, from a xorshift generator.
struct Jitter(u64);

impl Jitter {
    fn seeded() -> Jitter {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Jitter((nanos ^ u64::from(std::process::id()).rotate_left(32)) | 1)
    }

    /// A uniform draw in (0, 1].
    fn unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        ((x >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Uniform in [interval / 2, 3 interval / 2].
    fn uniform(&mut self, interval: Duration) -> Duration {
        interval.mul_f64(0.5 + self.unit())
    }

    /// Exponential of mean `interval`, kept within [interval / 20, 8 interval] so that the
    /// thread neither spins nor stalls.
    fn exponential(&mut self, interval: Duration) -> Duration {
        interval.mul_f64((-self.unit().ln()).clamp(0.05, 8.0))
    }
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
    let names =
        super::alloc::paused(|| Python::attach(|py| super::names::thread_names(py, &unnamed)));
    recorder.set_names(names);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_gaps_have_the_interval_mean() {
        let interval = Duration::from_millis(2);
        let mut jitter = Jitter(0x9e37_79b9_7f4a_7c15);
        let gaps: Vec<Duration> = (0..100_000).map(|_| jitter.exponential(interval)).collect();
        assert!(gaps
            .iter()
            .all(|g| *g >= interval / 20 && *g <= interval * 8));
        let mean = gaps.iter().sum::<Duration>().as_secs_f64() / gaps.len() as f64;
        assert!((mean / interval.as_secs_f64() - 1.0).abs() < 0.02, "{mean}");
        // An exponential gap exceeds its mean with probability 1/e.
        let long = gaps.iter().filter(|g| **g > interval).count() as f64 / 1e5;
        assert!((long - (-1f64).exp()).abs() < 0.01, "{long}");
    }

    #[test]
    fn uniform_gaps_have_the_interval_mean_and_never_exceed_one_and_a_half() {
        let interval = Duration::from_millis(10);
        let mut jitter = Jitter(0x2545_f491_4f6c_dd1d);
        let gaps: Vec<Duration> = (0..100_000).map(|_| jitter.uniform(interval)).collect();
        assert!(gaps
            .iter()
            .all(|g| *g >= interval / 2 && *g <= interval * 3 / 2));
        let mean = gaps.iter().sum::<Duration>().as_secs_f64() / gaps.len() as f64;
        assert!((mean / interval.as_secs_f64() - 1.0).abs() < 0.01, "{mean}");
        let short = gaps.iter().filter(|g| **g < interval).count() as f64 / 1e5;
        assert!((short - 0.5).abs() < 0.01, "{short}");
    }
}
