//! The run as a whole: what ran, for how long, how it was sampled. Every output's header.

use fluoro_profile::Profile;
use serde::Serialize;

/// The header facts of a run, with neutral values where a hand-built profile lacks its
/// `Meta` chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    pub target: String,
    /// The interpreter version, first word of `sys.version` (`3.11.7`).
    pub python: String,
    pub sampler: String,
    pub rate_hz: u32,
    /// Wall time of the session; when the run was cut short, the longest thread's sampled
    /// wall time (the best lower bound the samples give).
    pub duration_ns: u64,
    pub samples: u64,
    /// The session drained and wrote its `End` chunk.
    pub complete: bool,
    pub start_unix_ns: u64,
    pub cwd: String,
    /// Import roots (`sys.path` at start).
    pub sys_path: Vec<String>,
    /// The unhandled exception that ended the target, if any.
    pub exception: Option<String>,
    /// CPU time of the sampler's own thread, 0 when unknown.
    pub sampler_cpu_ns: u64,
    /// Stack reads dropped because the stack changed under the reader.
    pub failed_reads: u64,
}

impl RunSummary {
    pub fn of(profile: &Profile) -> Self {
        let meta = profile.meta.as_ref();
        let sampled_wall = super::thread_table(profile)
            .iter()
            .map(|t| t.wall_ns)
            .max()
            .unwrap_or(0);
        RunSummary {
            target: meta.map(|m| m.target.clone()).unwrap_or_default(),
            python: meta
                .and_then(|m| m.python.split_whitespace().next())
                .unwrap_or_default()
                .to_string(),
            sampler: meta.map(|m| m.sampler.clone()).unwrap_or_default(),
            rate_hz: meta.map_or(0, |m| m.rate_hz),
            duration_ns: profile.end.as_ref().map_or(sampled_wall, |e| e.wall_ns),
            samples: profile.samples,
            complete: profile.end.is_some(),
            start_unix_ns: meta.map_or(0, |m| m.start_unix_ns),
            cwd: meta.map(|m| m.cwd.clone()).unwrap_or_default(),
            sys_path: meta.map(|m| m.sys_path.clone()).unwrap_or_default(),
            exception: profile.end.as_ref().and_then(|e| e.exception.clone()),
            sampler_cpu_ns: profile.end.as_ref().map_or(0, |e| e.sampler_cpu_ns),
            failed_reads: profile.end.as_ref().map_or(0, |e| e.failed_reads),
        }
    }

    /// `filename` relative to the target's working directory when it lies under it, else to
    /// the import root it came from, so reports show `app/models.py` and `threading.py`
    /// rather than long absolute paths.
    pub fn display_path<'a>(&self, filename: &'a str) -> &'a str {
        let under = |root: &str| {
            filename
                .strip_prefix(root)
                .and_then(|rest| rest.strip_prefix('/'))
                .filter(|rest| !rest.is_empty())
        };
        // The deepest root wins: a venv inside the working directory shows as its modules.
        let mut roots: Vec<&str> = std::iter::once(self.cwd.as_str())
            .chain(self.sys_path.iter().map(String::as_str))
            .filter(|root| !root.is_empty())
            .collect();
        roots.sort_by_key(|r| std::cmp::Reverse(r.len()));
        roots.into_iter().find_map(under).unwrap_or(filename)
    }
}
