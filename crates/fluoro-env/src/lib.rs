//! The interpreter's state, as `fluoro env` reports it.
//!
//! A small probe run inside the interpreter gathers raw facts ([`Facts`], JSON); this crate
//! turns them into an [`EnvReport`]: the allocator in use, pymalloc's arenas and pools by size
//! class (parsed from `sys._debugmallocstats`), and the process as procfs sees it.

mod facts;
mod mallocstats;
mod process;
mod render;
mod report;

pub use facts::{BuildFacts, Facts, GcFacts, GcGenerationStats};
pub use mallocstats::{parse_mallocstats, FreeList, MallocStats, Pymalloc, SizeClass};
pub use process::{read_process, ProcessStats};
pub use render::render_text;
pub use report::{Allocator, EnvReport};

/// Why an environment report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("the interpreter's probe output is not valid: {0}")]
    BadFacts(#[from] serde_json::Error),
    #[error("cannot read /proc for pid {pid}: {source}")]
    Procfs {
        pid: i32,
        #[source]
        source: procfs::ProcError,
    },
}
