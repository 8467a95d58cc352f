//! The collectors that run inside the target: the CPU sampler's stack sources ([`sampler`]),
//! the allocation hook with GC timing and snapshots ([`alloc`]) and the exact profile hook
//! ([`exact`]). The [`sampler_thread`] reads stacks and drains the hook's ring into one
//! [`recorder::Recorder`], which streams them to a `.fluoro` file; a [`Collection`] starts
//! them together.

pub mod alloc;
pub mod cpu_share;
pub mod exact;
pub mod names;
pub mod recorder;
pub mod sampler;
pub mod sampler_thread;
pub mod tasks;

use alloc::{Drain, MemoryPlan, MemoryTracking};
use fluoro_profile::{End, Meta};
use pyo3::prelude::*;
use recorder::Recorder;
use sampler::StackSource;
use sampler_thread::Sampler;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// What to collect.
#[derive(Debug, Clone)]
pub struct Plan {
    /// What ran, for the profile's header.
    pub target: String,
    pub argv: Vec<String>,
    pub rate: u32,
    pub exact: bool,
    /// Read stacks with the GIL even where a memory layout exists.
    pub gil_sampler: bool,
    /// Attribute samples to asyncio tasks, and record the tasks waiting (`--async`).
    pub tasks: bool,
    /// Say so on stderr when the GIL-free sampler is not available.
    pub warn: bool,
    /// Sample stacks for CPU and wall time (off: memory only).
    pub cpu: bool,
    pub memory: MemoryPlan,
    /// In a child followed by `fluoro run --subprocesses`: its chunks go to the parent's
    /// profile, tagged with this.
    pub process: Option<fluoro_profile::ProcessTag>,
    /// In a child made by `fork()` of a profiled process: the allocation hook its parent
    /// installed is still in place, standing down, and only needs resuming.
    pub forked: bool,
}

/// Running collectors and the profile they stream to.
pub struct Collection {
    sampler: Option<Sampler>,
    memory: Option<MemoryTracking>,
    exact: bool,
    wall_start: Instant,
    cpu_start: f64,
}

impl Collection {
    /// Starts the collectors, streaming to `file`.
    pub fn start(py: Python<'_>, plan: &Plan, file: std::fs::File) -> PyResult<Collection> {
        let (source, fallback) = StackSource::for_interpreter(py, plan.gil_sampler)?;
        if let (true, Some(why)) = (plan.warn, &fallback) {
            eprintln!("fluoro: {why}; sampling with the GIL instead");
        }
        let meta = Meta {
            target: plan.target.clone(),
            argv: plan.argv.clone(),
            python: Python::version_str().to_owned(),
            pid: std::process::id(),
            rate_hz: if plan.cpu { plan.rate } else { 0 },
            sampler: source.name().to_owned(),
            exact: plan.exact,
            start_unix_ns: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0),
            cwd: std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            sys_path: py
                .import("sys")
                .and_then(|s| s.getattr("path"))
                .and_then(|p| p.extract::<Vec<String>>())
                .unwrap_or_default()
                .into_iter()
                .filter(|p| p.starts_with('/'))
                .collect(),
        };
        let mut recorder = Recorder::new(file, meta, plan.process)?;
        let memory = match (plan.memory, source.frame_reader()) {
            (MemoryPlan::Off, _) => None,
            (memory, Some(reader)) if plan.forked => {
                Some(MemoryTracking::resume_after_fork(memory, reader))
            }
            (memory, Some(reader)) => Some(MemoryTracking::start(py, memory, reader)?),
            (_, None) => {
                if plan.warn {
                    // The allocation hook reads stacks with the layout the sampler would use.
                    match &fallback {
                        Some(why) => eprintln!("fluoro: allocations are not tracked: {why}"),
                        None => {
                            eprintln!("fluoro: allocations are not tracked with the GIL sampler")
                        }
                    }
                }
                None
            }
        };
        if let Some(settings) = memory.as_ref().and_then(MemoryTracking::settings) {
            recorder.push_memory(fluoro_profile::Chunk::Memory(settings));
        }
        if plan.exact {
            exact::start(py)?;
        }
        let drain = memory
            .as_ref()
            .map(|_| Drain::new(plan.memory == MemoryPlan::All));
        let rate = if plan.cpu { plan.rate } else { 0 };
        let sampler = Sampler::start(py, source, recorder, rate, drain, plan.tasks);
        Ok(Collection {
            sampler: Some(sampler),
            memory,
            exact: plan.exact,
            wall_start: Instant::now(),
            cpu_start: process_time(py),
        })
    }

    /// Ends the sampler thread for a moment (see [`Sampler::pause`]).
    pub fn pause(&mut self, py: Python<'_>) {
        if let Some(sampler) = &mut self.sampler {
            sampler.pause(py);
        }
    }

    /// Starts the sampler thread again after [`Collection::pause`].
    pub fn resume(&mut self) {
        if let Some(sampler) = &mut self.sampler {
            sampler.resume();
        }
    }

    /// Stops the collectors and completes the profile; returns wall and CPU seconds.
    pub fn stop(mut self, py: Python<'_>, exception: Option<String>) -> Result<(f64, f64), String> {
        let wall = self.wall_start.elapsed().as_secs_f64();
        let cpu = (process_time(py) - self.cpu_start).max(0.0);
        let exact = if self.exact {
            Some(exact::stop(py).map_err(|e| e.to_string())?)
        } else {
            None
        };
        let memory = self.memory.take().and_then(|m| m.stop(py));
        let recorder = self
            .sampler
            .take()
            .and_then(|s| s.stop(py))
            .ok_or_else(|| "the sampler thread failed".to_owned());
        // The last drain has read them.
        alloc::release_kept_codes(py);
        let recorder = recorder?;
        let thread_names = names::thread_names(py, &recorder.thread_idents());
        recorder.finish(
            exact,
            memory,
            End {
                wall_ns: (wall * 1e9) as u64,
                cpu_ns: (cpu * 1e9) as u64,
                thread_names,
                exception,
                ..End::default()
            },
        )?;
        Ok((wall, cpu))
    }
}

/// `time.process_time()`: CPU seconds of the whole process.
pub fn process_time(py: Python<'_>) -> f64 {
    py.import("time")
        .and_then(|t| t.call_method0("process_time"))
        .and_then(|v| v.extract())
        .unwrap_or(0.0)
}
