//! Per-thread totals: how much each thread was sampled, ran, and held the GIL.

use fluoro_profile::{Profile, ThreadIdx};

/// One thread's totals over the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadStats {
    pub thread: ThreadIdx,
    pub name: String,
    pub ident: u64,
    pub native_id: u64,
    pub samples: u64,
    pub wall_ns: u64,
    pub cpu_ns: u64,
    pub gil_samples: u64,
    pub active_samples: u64,
    /// Wall time of the samples taken while the thread used no CPU.
    pub idle_wall_ns: u64,
}

/// Every thread of the profile, in thread-table order, sampled or not.
pub fn thread_table(profile: &Profile) -> Vec<ThreadStats> {
    let mut rows: Vec<ThreadStats> = profile
        .threads
        .iter()
        .enumerate()
        .map(|(i, t)| ThreadStats {
            thread: i as ThreadIdx,
            name: profile.thread_name(i as ThreadIdx),
            ident: t.ident,
            native_id: t.native_id,
            samples: 0,
            wall_ns: 0,
            cpu_ns: 0,
            gil_samples: 0,
            active_samples: 0,
            idle_wall_ns: 0,
        })
        .collect();
    for w in &profile.weights {
        if let Some(row) = rows.get_mut(w.thread as usize) {
            row.samples += w.samples;
            row.wall_ns += w.wall_ns;
            row.cpu_ns += w.cpu_ns;
            row.gil_samples += w.gil_samples;
            row.active_samples += w.active_samples;
            row.idle_wall_ns += w.idle_wall_ns;
        }
    }
    rows
}
