//! Raw facts from the probe that runs inside the interpreter (`probe.py` in the extension).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything the probe reads from `sys`, `gc`, `sysconfig` and `platform`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Facts {
    pub implementation: String,
    pub version: String,
    pub version_full: String,
    pub executable: String,
    pub prefix: String,
    pub base_prefix: String,
    pub platform: String,
    pub platform_full: String,
    pub byteorder: String,
    pub pid: i32,
    pub build: BuildFacts,
    /// `sys.flags`, by field name.
    pub flags: BTreeMap<String, serde_json::Value>,
    pub recursion_limit: i64,
    pub switch_interval: f64,
    pub gc: GcFacts,
    /// `PYTHONMALLOC` as the interpreter read it (None when unset or ignored by `-E`/`-I`).
    pub pythonmalloc: Option<String>,
    /// What `sys._debugmallocstats()` printed, if the interpreter has it; reports carry it
    /// parsed, not raw.
    #[serde(default, skip_serializing)]
    pub mallocstats: Option<String>,
    pub modules_loaded: usize,
    pub builtin_modules: usize,
    pub sys_path: Vec<String>,
    /// Threads known to the `threading` module (the OS may have more).
    pub python_threads: usize,
}

/// How the interpreter was built.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BuildFacts {
    pub compiler: String,
    pub build_date: String,
    pub debug_build: bool,
    pub with_pymalloc: bool,
    pub shared_libpython: bool,
    pub free_threaded: bool,
    pub config_args: String,
}

/// The cycle collector's configuration and counters, as many as the running version has
/// (`gc.get_threshold()`, `gc.get_count()` and `gc.get_stats()`: three generations through
/// 3.13, and again in later 3.14 releases and 3.15, whose headers keep `dummy1 /* was
/// work_to_do */` of the incremental collector that early 3.14 releases had instead).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GcFacts {
    pub enabled: bool,
    pub thresholds: Vec<i64>,
    pub counts: Vec<i64>,
    pub generations: Vec<GcGenerationStats>,
    /// Objects moved to the permanent generation by `gc.freeze()`.
    pub frozen: i64,
    /// Objects the collector tracks right now (`len(gc.get_objects())`).
    pub tracked_objects: i64,
    pub garbage: i64,
}

/// `gc.get_stats()` for one generation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GcGenerationStats {
    pub collections: i64,
    pub collected: i64,
    pub uncollectable: i64,
    /// 3.15+: objects the collections of this generation examined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<i64>,
    /// 3.15+: seconds spent in the collections of this generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
}

impl Facts {
    /// Parses the probe's JSON.
    pub fn from_json(text: &str) -> Result<Facts, crate::EnvError> {
        Ok(serde_json::from_str(text)?)
    }
}
