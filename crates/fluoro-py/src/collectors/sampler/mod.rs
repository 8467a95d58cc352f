//! Where the CPU sampler's stacks come from: read from the interpreter's memory without the
//! GIL ([`crate::cpython::walker`]), which never interrupts the target, or, on an interpreter
//! without a layout (or whose `_Py_DebugOffsets` disagrees with it), taken with the GIL through `sys._current_frames()` ([`gil_walker`]); and
//! the random gaps between samples. The thread that samples is [`super::sampler_thread`].

mod gil_walker;

use crate::cpython::{debug_offsets, layouts, memory, CodeTable, FrameReader, ThreadStack, Walker};
use pyo3::prelude::*;
use std::time::Duration;

/// How stacks are read.
pub enum StackSource {
    /// From memory, without the GIL.
    Memory(Box<Walker>),
    /// With the GIL, through `sys._current_frames()`.
    Gil(gil_walker::GilWalker),
}

impl StackSource {
    /// The GIL-free reader when this interpreter has a layout that its own `_Py_DebugOffsets`
    /// (3.13+) agrees with, and `force_gil` is off; else the GIL-taking one, with why in a
    /// phrase for one line on stderr (none when `force_gil` asked for it). Call holding the
    /// GIL.
    pub fn for_interpreter(
        py: Python<'_>,
        force_gil: bool,
    ) -> PyResult<(StackSource, Option<String>)> {
        let gil = || StackSource::Gil(gil_walker::GilWalker::new());
        if force_gil {
            return Ok((gil(), None));
        }
        let info = py.version_info();
        let Some(layout) = layouts::for_version(info.major, info.minor) else {
            let why = format!("no memory layout for CPython {}.{}", info.major, info.minor);
            return Ok((gil(), Some(why)));
        };
        let runtime = memory::symbol(c"_PyRuntime");
        if let Some(table) = layouts::debug_offsets(info.major, info.minor) {
            if let Err(found) = debug_offsets::check(layout, table, runtime) {
                let version = format!("{}.{}.{}", info.major, info.minor, info.patch);
                return Ok((gil(), Some(format!("CPython {version} {found}"))));
            }
        }
        // SAFETY: called with the GIL held, after initialization: the main interpreter
        // exists and outlives the sampler, which only reads through `memory::read`.
        // `PyCode_Type` is a static type; we only take its address.
        let (interp, code_type) = unsafe {
            (
                pyo3::ffi::PyInterpreterState_Main() as usize,
                std::ptr::addr_of!(pyo3::ffi::PyCode_Type) as usize,
            )
        };
        let walker = Walker::new(layout, interp, code_type, runtime);
        Ok((StackSource::Memory(Box::new(walker)), None))
    }

    /// What the allocation hook needs to read the allocating thread's stack: only the
    /// memory reader knows the interpreter's layout.
    pub fn frame_reader(&self) -> Option<FrameReader> {
        match self {
            StackSource::Memory(w) => Some(w.frame_reader()),
            StackSource::Gil(_) => None,
        }
    }

    /// Reads every thread's stack into `out`; with the memory reader, also the thread state
    /// holding the GIL.
    pub fn threads(&mut self, out: &mut Vec<ThreadStack>) -> Option<usize> {
        match self {
            StackSource::Memory(w) => {
                w.threads(out);
                w.gil_holder()
            }
            StackSource::Gil(w) => {
                w.threads(out);
                None
            }
        }
    }

    /// The memory reader's code table, which the allocation drain resolves its stacks with
    /// too, so that one stack id means one stack in both.
    pub fn codes(&mut self) -> Option<&mut CodeTable> {
        match self {
            StackSource::Memory(w) => Some(&mut w.codes),
            StackSource::Gil(_) => None,
        }
    }

    /// The GIL-free reader, if it is the one.
    pub fn walker(&mut self) -> Option<&mut Walker> {
        match self {
            StackSource::Memory(w) => Some(w),
            StackSource::Gil(_) => None,
        }
    }

    /// Code objects first seen since the last call.
    pub fn take_fresh(&mut self) -> Vec<(fluoro_profile::CodeId, fluoro_profile::CodeInfo)> {
        match self {
            StackSource::Memory(w) => w.codes.take_fresh(),
            StackSource::Gil(w) => w.take_fresh(),
        }
    }

    /// The gap before the next sample (see [`Jitter`]): uniform for the memory reader,
    /// exponential for the GIL reader, counted from when it had the GIL, of mean at least
    /// half the interpreter's switch interval.
    ///
    /// The GIL reader's sample lands when the target lets the GIL go, one switch interval
    /// (5 ms) after the request when it computes. Counted from the request, gaps shorter than
    /// that left the samples about 5 ms apart whatever the rate, in step with a program
    /// repeating itself every 7 ms (`fifty` 58 % of shares.py at 500 Hz in two full test
    /// runs, against 51-53 % timed). Counted from the sample, with a mean of 2.5 ms: 47-57 %
    /// over 12 runs on 3.11 and 3.15, about 300 samples a run.
    pub fn gap(&self, jitter: &mut Jitter, interval: Duration) -> Duration {
        match self {
            StackSource::Memory(_) => jitter.uniform(interval),
            StackSource::Gil(_) => jitter.exponential(interval.max(GIL_SWITCH / 2)),
        }
    }

    /// Whether samples wait for the GIL (their gaps are counted from the sample's end).
    pub fn waits_for_gil(&self) -> bool {
        matches!(self, StackSource::Gil(_))
    }

    /// Lets go of what the GIL reader holds (at the end, on the sampler thread).
    pub fn release(self) {
        if let StackSource::Gil(w) = self {
            w.release();
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

/// CPython's default switch interval (`sys.getswitchinterval()`).
const GIL_SWITCH: Duration = Duration::from_millis(5);

/// Random gaps around the sampling interval, from a xorshift generator.
pub struct Jitter(u64);

impl Jitter {
    pub fn seeded() -> Jitter {
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
    pub fn uniform(&mut self, interval: Duration) -> Duration {
        interval.mul_f64(0.5 + self.unit())
    }

    /// Exponential of mean `interval`, kept within [interval / 20, 8 interval] so that the
    /// thread neither spins nor stalls.
    pub fn exponential(&mut self, interval: Duration) -> Duration {
        interval.mul_f64((-self.unit().ln()).clamp(0.05, 8.0))
    }
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
