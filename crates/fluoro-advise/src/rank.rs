//! Findings ranked by measured cost: the self time a profile recorded on the lines each
//! finding covers and, when the run tracked memory, the bytes they allocated; each one's
//! share of the whole run, and whether it is cold (a small share of both).

use crate::diagnostic::Diagnostic;
use fluoro_profile::{Metric, Profile};
use fluoro_report::analysis::Measure;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A finding whose lines took less than this share of the run is marked cold.
pub const COLD_SHARE: f64 = 0.01;

/// Measured self time per line of one file.
#[derive(Debug, Clone, Default)]
pub struct FileCosts {
    lines: HashMap<u32, u64>,
    /// The whole profile's time, so shares are of the run, not of the file.
    run_ns: u64,
    /// Bytes allocated per line, and by the whole run (0 when memory was not tracked).
    bytes: HashMap<u32, u64>,
    run_bytes: u64,
}

impl FileCosts {
    /// Costs from `(line, self ns)` pairs, out of a run of `run_ns`.
    pub fn from_lines(lines: impl IntoIterator<Item = (u32, u64)>, run_ns: u64) -> Self {
        let mut costs = FileCosts {
            run_ns,
            ..FileCosts::default()
        };
        for (line, ns) in lines {
            *costs.lines.entry(line).or_default() += ns;
        }
        costs
    }

    /// Self time of lines `first..=last`.
    pub fn ns(&self, first: u32, last: u32) -> u64 {
        if last.saturating_sub(first) as usize > self.lines.len() {
            self.lines
                .iter()
                .filter(|(l, _)| (first..=last).contains(*l))
                .map(|(_, ns)| ns)
                .sum()
        } else {
            (first..=last).filter_map(|l| self.lines.get(&l)).sum()
        }
    }

    /// Bytes allocated on lines `first..=last`, and their share of the run's.
    pub fn bytes(&self, first: u32, last: u32) -> (u64, f64) {
        let bytes: u64 = self
            .bytes
            .iter()
            .filter(|(l, _)| (first..=last).contains(*l))
            .map(|(_, b)| b)
            .sum();
        let share = if self.run_bytes == 0 {
            0.0
        } else {
            bytes as f64 / self.run_bytes as f64
        };
        (bytes, share)
    }

    /// Share of the run's time spent on lines `first..=last`.
    pub fn share(&self, first: u32, last: u32) -> f64 {
        if self.run_ns == 0 {
            0.0
        } else {
            self.ns(first, last) as f64 / self.run_ns as f64
        }
    }
}

/// Per-line self time of every file in a profile, keyed by canonical path.
#[derive(Debug, Clone, Default)]
pub struct LineCosts {
    files: HashMap<PathBuf, FileCosts>,
    pub metric: Option<Metric>,
    pub run_ns: u64,
}

impl LineCosts {
    /// Self time of each line that was innermost in a sample, as `fluoro report` counts it:
    /// active time (a line that waited is no anti-pattern's cost).
    pub fn from_profile(profile: &Profile, metric: Metric) -> Self {
        let measure = Measure::active(metric);
        let run_ns = measure.total(profile);
        let mut files: HashMap<PathBuf, FileCosts> = HashMap::new();
        let mut canonical: HashMap<&str, PathBuf> = HashMap::new();
        for row in fluoro_report::analysis::line_table(profile, measure) {
            let path = canonical
                .entry(row.filename)
                .or_insert_with(|| canonicalize(Path::new(row.filename)))
                .clone();
            let file = files.entry(path).or_insert_with(|| FileCosts {
                run_ns,
                ..FileCosts::default()
            });
            *file.lines.entry(row.line).or_default() += row.self_ns;
        }
        // Bytes allocated per line, when the run tracked memory.
        let run_bytes = profile.total(Metric::Alloc);
        if run_bytes > 0 {
            for row in fluoro_report::analysis::line_table(profile, Measure::all(Metric::Alloc)) {
                if row.self_ns == 0 {
                    continue;
                }
                let path = canonical
                    .entry(row.filename)
                    .or_insert_with(|| canonicalize(Path::new(row.filename)))
                    .clone();
                let file = files.entry(path).or_insert_with(|| FileCosts {
                    run_ns,
                    ..FileCosts::default()
                });
                file.run_bytes = run_bytes;
                *file.bytes.entry(row.line).or_default() += row.self_ns;
            }
        }
        LineCosts {
            files,
            metric: Some(metric),
            run_ns,
        }
    }

    /// Costs given per file (paths are canonicalized).
    pub fn from_files(files: impl IntoIterator<Item = (PathBuf, FileCosts)>) -> Self {
        let files: HashMap<PathBuf, FileCosts> = files
            .into_iter()
            .map(|(path, costs)| (canonicalize(&path), costs))
            .collect();
        let run_ns = files.values().map(|f| f.run_ns).max().unwrap_or(0);
        LineCosts {
            files,
            metric: None,
            run_ns,
        }
    }

    /// The canonical paths of the files the profile sampled.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.keys().map(PathBuf::as_path)
    }

    /// The costs of the file at `path`, if the profile sampled it.
    pub fn file(&self, path: &Path) -> Option<&FileCosts> {
        self.files.get(&canonicalize(path))
    }
}

fn canonicalize(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// What the profile measured on a finding's lines.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cost {
    /// Self time of the lines, in nanoseconds.
    pub ns: u64,
    /// Share of the whole run's time, 0–1.
    pub share: f64,
    /// Bytes the lines allocated, and their share of the run's allocations (0 when the run
    /// did not track memory).
    pub bytes: u64,
    pub bytes_share: f64,
    /// Under [`COLD_SHARE`] of the run's time and of its allocations: fixing it will not show.
    pub cold: bool,
}

impl Cost {
    /// What ranks a finding: the larger of its time and allocation shares.
    pub fn weight(&self) -> f64 {
        self.share.max(self.bytes_share)
    }
}

/// Findings in order of measured cost, heaviest first.
#[derive(Debug, Clone)]
pub struct Ranked {
    pub metric: Metric,
    pub run_ns: u64,
}

/// Sets each diagnostic's cost from `costs` and sorts heaviest first (ties keep file order).
pub fn rank(diagnostics: &mut [Diagnostic], costs: &LineCosts) {
    for d in diagnostics.iter_mut() {
        let (ns, share, (bytes, bytes_share)) = match costs.file(Path::new(&d.path)) {
            Some(file) => (
                file.ns(d.line, d.end_line),
                file.share(d.line, d.end_line),
                file.bytes(d.line, d.end_line),
            ),
            None => (0, 0.0, (0, 0.0)),
        };
        d.cost = Some(Cost {
            ns,
            share,
            bytes,
            bytes_share,
            cold: share < COLD_SHARE && bytes_share < COLD_SHARE,
        });
    }
    diagnostics.sort_by(|a, b| {
        let weight = |d: &Diagnostic| d.cost.map_or(0.0, |c| c.weight());
        weight(b).total_cmp(&weight(a)).then_with(|| {
            let ns = |d: &Diagnostic| d.cost.map_or(0, |c| c.ns);
            ns(b).cmp(&ns(a))
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ranges_add_up_and_share_is_of_the_run() {
        let file = FileCosts {
            lines: HashMap::from([(3, 100), (4, 300), (10, 600)]),
            run_ns: 2000,
            bytes: HashMap::from([(4, 50), (9, 150)]),
            run_bytes: 1000,
        };
        assert_eq!(file.bytes(3, 4), (50, 0.05));
        assert_eq!(file.ns(3, 4), 400);
        assert_eq!(file.ns(1, 100), 1000);
        assert_eq!(file.ns(5, 9), 0);
        assert!((file.share(10, 10) - 0.3).abs() < 1e-9);
    }
}
