//! The report `fluoro env` prints: facts, plus what fluoro derives from them.

use crate::{parse_mallocstats, Facts, MallocStats, ProcessStats};
use serde::{Deserialize, Serialize};

/// Which allocator serves Python's object domain, and why fluoro thinks so.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Allocator {
    /// `pymalloc`, `pymalloc_debug`, `malloc`, `malloc_debug` or `mimalloc`.
    pub name: String,
    /// What chose it: `PYTHONMALLOC`, `-X dev`, `debug build` or `default`.
    pub chosen_by: String,
    /// Whether the debug hooks (guard bytes, API checks) wrap it.
    pub debug_hooks: bool,
}

impl Allocator {
    /// Decides the allocator the way CPython's start-up does: `PYTHONMALLOC` (unless `-E`),
    /// then `-X dev`, then the build's default.
    pub fn from_facts(facts: &Facts, stats: &MallocStats) -> Allocator {
        let default_name = if facts.build.with_pymalloc {
            "pymalloc"
        } else {
            "malloc"
        };
        let (name, chosen_by) = match facts.pythonmalloc.as_deref() {
            Some("debug") => (format!("{default_name}_debug"), "PYTHONMALLOC"),
            Some("default") | None | Some("") => {
                if flag(facts, "dev_mode") {
                    (format!("{default_name}_debug"), "-X dev")
                } else if facts.build.debug_build {
                    (format!("{default_name}_debug"), "debug build")
                } else {
                    (default_name.to_owned(), "default")
                }
            }
            Some(other) => (other.to_owned(), "PYTHONMALLOC"),
        };
        // The dump is the ground truth for whether pymalloc is in use.
        let name = match (name.starts_with("pymalloc"), stats.pymalloc.is_some()) {
            (true, false) if facts.mallocstats.is_some() => name.replacen("pymalloc", "malloc", 1),
            _ => name,
        };
        Allocator {
            debug_hooks: name.ends_with("_debug"),
            name,
            chosen_by: chosen_by.to_owned(),
        }
    }
}

fn flag(facts: &Facts, name: &str) -> bool {
    match facts.flags.get(name) {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::Number(n)) => n.as_i64().unwrap_or(0) != 0,
        _ => false,
    }
}

/// Everything `fluoro env` shows, ready for text or JSON.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnvReport {
    #[serde(flatten)]
    pub facts: Facts,
    pub allocator: Allocator,
    pub malloc_stats: MallocStats,
    pub process: Option<ProcessStats>,
}

impl EnvReport {
    /// Builds the report from the probe's facts and, when it could be read, the process.
    pub fn new(facts: Facts, process: Option<ProcessStats>) -> EnvReport {
        let malloc_stats = facts
            .mallocstats
            .as_deref()
            .map(parse_mallocstats)
            .unwrap_or_default();
        let allocator = Allocator::from_facts(&facts, &malloc_stats);
        EnvReport {
            facts,
            allocator,
            malloc_stats,
            process,
        }
    }
}
