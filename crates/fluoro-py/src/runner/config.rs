//! What `fluoro run` hands the target interpreter: the session's settings, carried as JSON in
//! one environment variable.

use pyo3::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Environment variable carrying the [`BootConfig`] to the target interpreter.
pub const BOOT_VAR: &str = "FLUORO_BOOT";

/// What the target interpreter needs to know to start the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BootConfig {
    /// The pid `fluoro run` made it for, which the exec keeps: a `FLUORO_BOOT` seen by any
    /// other process is a stray (exported by hand, or left in a copied environment).
    #[serde(default)]
    pub pid: u32,
    /// For `--live`: the pid of the fluoro that started the target as its child, whose
    /// pid it could not know beforehand (`pid` is then 0).
    #[serde(default)]
    pub spawner: Option<u32>,
    pub label: String,
    /// The target's command line as `python` was given it.
    pub argv: Vec<String>,
    pub quiet: bool,
    pub rate: u32,
    pub exact: bool,
    pub memory: crate::collectors::alloc::MemoryPlan,
    /// Record the hot functions' quickened bytecode at the end.
    pub adaptive: bool,
    /// Read stacks with the GIL even where a memory layout exists.
    pub gil_sampler: bool,
    /// Attribute samples to asyncio tasks (`--async`).
    #[serde(default)]
    pub async_tasks: bool,
    /// Absolute path of the streamed `.fluoro` profile.
    #[serde(with = "os_path")]
    pub profile: PathBuf,
    /// The profile is only kept for the reports at exit, then removed.
    pub temporary_profile: bool,
    /// With `format`: where the export goes.
    #[serde(with = "os_path::option")]
    pub output: Option<PathBuf>,
    #[serde(with = "format_name")]
    pub format: Option<crate::report::Format>,
    /// Where the HTML report goes (`--html`), absolute.
    #[serde(with = "os_path::option", default)]
    pub html: Option<PathBuf>,
    #[serde(with = "metric_name")]
    pub metric: fluoro_profile::Metric,
    /// Keep idle time in the summary's tables (`--idle`).
    #[serde(default)]
    pub idle: bool,
    /// Rows in each table of the summary (`--top`).
    #[serde(default = "default_top")]
    pub top: usize,
    /// The whole report instead of the one-screen summary (`--full`).
    #[serde(default)]
    pub full: bool,
    /// Keep start-up and import frames in the summary's tables (`--show-all`).
    #[serde(default)]
    pub show_all: bool,
    /// Advise the program's profiled sources at the end (`--advise`).
    #[serde(default)]
    pub advise: bool,
    /// Heap snapshots and the --gc-cycles diagnosis.
    #[serde(default)]
    pub heap: crate::heap::run::HeapRun,
    /// Follow child processes into the same profile (`--subprocesses`).
    #[serde(default)]
    pub subprocesses: bool,
    /// Set in the variable children see: this process is a child of a profiled one, whose
    /// profile it appends to.
    #[serde(default)]
    pub child: bool,
}

fn default_top() -> usize {
    fluoro_report::DEFAULT_TOP
}

/// Paths travel as their bytes: JSON strings are UTF-8, a path need not be.
mod os_path {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::path::{Path, PathBuf};

    pub fn serialize<S: Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(p.as_os_str().as_bytes())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        let bytes: Vec<u8> = Vec::deserialize(d)?;
        Ok(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
    }

    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        use std::path::PathBuf;

        pub fn serialize<S: Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
            match p {
                Some(p) => s.serialize_some(&p.as_os_str().as_bytes()),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
            let bytes: Option<Vec<u8>> = Option::deserialize(d)?;
            Ok(bytes.map(|b| PathBuf::from(std::ffi::OsString::from_vec(b))))
        }
    }
}

/// Formats and metrics travel by name.
mod format_name {
    use crate::report::Format;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(f: &Option<Format>, s: S) -> Result<S::Ok, S::Error> {
        match f {
            Some(f) => s.serialize_some(f.name()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Format>, D::Error> {
        let name: Option<String> = Option::deserialize(d)?;
        name.map(|n| {
            Format::from_name(&n).ok_or_else(|| serde::de::Error::custom(format!("format {n}")))
        })
        .transpose()
    }
}

mod metric_name {
    use fluoro_profile::Metric;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(m: &Metric, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(m.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Metric, D::Error> {
        let name = String::deserialize(d)?;
        Metric::from_name(&name).ok_or_else(|| serde::de::Error::custom(format!("metric {name}")))
    }
}

/// Anything fluoro's own process buffered goes out before the exec.
pub fn flush_python_streams(py: Python<'_>) {
    if let Ok(sys) = py.import("sys") {
        for name in ["stdout", "stderr"] {
            if let Ok(stream) = sys.getattr(name) {
                if !stream.is_none() {
                    let _ = stream.call_method0("flush");
                }
            }
        }
    }
}
