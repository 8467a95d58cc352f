//! What the collectors record: code objects, interned stacks, threads, samples and exact call
//! statistics. Every record is plain data; the `.fluoro` format streams them as they come.

use serde::{Deserialize, Serialize};

/// Index of a code object in a profile's code table.
pub type CodeId = u32;
/// Index of an interned stack; [`ROOT`] is the empty stack.
pub type StackId = u32;
/// Index of a thread in a profile's thread table.
pub type ThreadIdx = u32;

/// The empty stack: the parent of every outermost frame.
pub const ROOT: StackId = 0;

/// A code object, resolved once: where it lives and how its instructions map to lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeInfo {
    pub filename: String,
    /// `co_name`.
    pub name: String,
    /// `co_qualname` on 3.11+; `co_name` on 3.10, which has no qualified names on code.
    pub qualname: String,
    pub firstlineno: u32,
    /// Instruction byte ranges and their lines, in offset order (from `co_linetable`).
    pub lines: Vec<LineRange>,
}

/// Instructions `start..end` (byte offsets into the bytecode) belong to `line`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRange {
    pub start: u32,
    pub end: u32,
    pub line: u32,
}

impl CodeInfo {
    /// The line of the instruction at byte `offset`; the function's first line when the
    /// table has none for it (artificial instructions carry no line).
    pub fn line_at(&self, offset: u32) -> u32 {
        let at = self.lines.partition_point(|r| r.end <= offset);
        match self.lines.get(at) {
            Some(r) if r.start <= offset && r.line != 0 => r.line,
            _ => self.firstlineno,
        }
    }
}

/// The file name of the stand-in code of an asyncio task's `<task NAME>` frame, which roots
/// the stacks of the task (`fluoro run --async`).
pub const TASK_FILE: &str = "<asyncio task>";

/// The collectors number the stand-in codes of `<task NAME>` frames from here up, clear of
/// code objects (numbered from 0) and of the stand-ins just below `CodeId::MAX`.
pub const FIRST_TASK_CODE: CodeId = 1 << 31;

impl CodeInfo {
    /// The stand-in code of the `<task NAME>` frame of the asyncio task `name`.
    pub fn task(name: &str) -> CodeInfo {
        let shown = format!("<task {name}>");
        CodeInfo {
            filename: TASK_FILE.to_owned(),
            name: shown.clone(),
            qualname: shown,
            firstlineno: 0,
            lines: Vec::new(),
        }
    }

    /// The task's name, if this is the code of a `<task NAME>` frame.
    pub fn task_name(&self) -> Option<&str> {
        if self.filename != TASK_FILE {
            return None;
        }
        self.name.strip_prefix("<task ")?.strip_suffix('>')
    }
}

/// What the sampler saw of asyncio tasks (`fluoro run --async`), besides the `<task NAME>`
/// frames of running tasks in the samples' stacks: the first chunk says tasks were looked
/// for, a note says once why they could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskBatch {
    pub note: Option<String>,
    pub awaiting: Vec<TaskWait>,
}

/// A waiting stack seen at one or more readings since the last batch: the tasks awaiting the
/// task, then its `<task NAME>` and the frame parked at an `await`, and the wall time the
/// readings stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskWait {
    pub stack: StackId,
    /// Nanoseconds since the session started, at the batch's last reading.
    pub time_ns: u64,
    pub wall_ns: u64,
    pub readings: u32,
}

/// One Python frame: a code object and the byte offset of the instruction it is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Frame {
    pub code: CodeId,
    pub offset: u32,
}

/// An interned stack: its innermost frame on top of the stack `parent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StackNode {
    pub parent: StackId,
    pub frame: Frame,
}

/// A thread seen by a collector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadInfo {
    /// `threading.get_ident()`.
    pub ident: u64,
    /// The OS thread id (`threading.get_native_id()`), 0 when unknown.
    pub native_id: u64,
    /// The `threading.Thread` name, when known.
    pub name: String,
}

/// The sampled thread held the GIL.
pub const FLAG_GIL: u8 = 1;
/// The sampled thread used CPU during the interval that ended with this sample.
pub const FLAG_ACTIVE: u8 = 2;

/// One observation of one thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    pub thread: ThreadIdx,
    pub stack: StackId,
    /// Nanoseconds since the session started.
    pub time_ns: u64,
    /// Wall time this sample stands for: the interval since the thread's previous sample.
    pub wall_ns: u64,
    /// CPU time the thread used during that interval.
    pub cpu_ns: u64,
    /// [`FLAG_GIL`] | [`FLAG_ACTIVE`].
    pub flags: u8,
}

/// How the run was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// What ran: a script path, `-m module` or `-c`.
    pub target: String,
    pub argv: Vec<String>,
    /// `sys.version` of the target's interpreter.
    pub python: String,
    pub pid: u32,
    /// Sampling rate in Hz; 0 when nothing was sampled.
    pub rate_hz: u32,
    /// `memory-reader` (the GIL-free sampler), `gil` (the fallback sampler), or `off`.
    pub sampler: String,
    /// Whether the exact profile hook ran.
    pub exact: bool,
    /// Start time, nanoseconds since the Unix epoch.
    pub start_unix_ns: u64,
    pub cwd: String,
    /// Directories imports came from (`sys.path` at start, stdlib and site-packages), so
    /// that reports can show `threading.py` rather than the whole path.
    pub sys_path: Vec<String>,
}

impl Meta {
    /// The target interpreter's `(major, minor)`, read from its `sys.version`.
    pub fn python_version(&self) -> Option<(u8, u8)> {
        let mut parts = self.python.split(|c: char| !c.is_ascii_digit());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some((major, minor))
    }

    /// Whether the allocation hook could follow objects taken again from the interpreter's
    /// free lists to where they were taken (CPython 3.13+, through its reference tracer);
    /// before, they keep the site of their first life.
    pub fn follows_free_lists(&self) -> bool {
        self.python_version().is_some_and(|v| v >= (3, 13))
    }
}

/// Written last, when the session drains: its absence means the target was killed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct End {
    pub wall_ns: u64,
    /// CPU time of the whole process.
    pub cpu_ns: u64,
    pub samples: u64,
    /// Ticks at which a thread's stack could not be read (it changed under the reader).
    pub failed_reads: u64,
    /// CPU time the sampler thread itself used (on its own thread, not the target's).
    pub sampler_cpu_ns: u64,
    /// Thread names known at the end, by thread index.
    pub thread_names: Vec<(ThreadIdx, String)>,
    /// The unhandled exception that ended the target, if any.
    pub exception: Option<String>,
}

/// Exact call statistics from the profile hook, shaped like `pstats`: one entry per function,
/// with its callers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExactStats {
    pub functions: Vec<ExactFunction>,
    /// Time the hook itself was measured to add per event, subtracted from the figures.
    pub overhead_ns_per_event: f64,
}

/// One function's totals. Built-in functions have filename `~` and line 0, as in `pstats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExactFunction {
    pub filename: String,
    pub line: u32,
    pub name: String,
    /// Calls, including recursive ones.
    pub calls: u64,
    /// Calls that were not recursive (the function was not already on the thread's stack).
    pub prim_calls: u64,
    /// Time in the function itself.
    pub tottime_ns: u64,
    /// Time in the function and everything it called (recursive calls counted once).
    pub cumtime_ns: u64,
    pub callers: Vec<ExactEdge>,
}

/// The share of a function's figures that came through calls from `caller`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExactEdge {
    /// Index into [`ExactStats::functions`].
    pub caller: u32,
    pub calls: u64,
    pub prim_calls: u64,
    pub tottime_ns: u64,
    pub cumtime_ns: u64,
}

/// A hot function's bytecode as the adaptive interpreter (3.11+) left it at the end of the run:
/// `(offset, opname, line, argrepr)` per instruction, as `dis.get_instructions(code,
/// adaptive=True)` gives them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdaptiveCode {
    pub qualname: String,
    pub file: String,
    pub firstlineno: i64,
    pub instructions: Vec<(u32, String, Option<i64>, String)>,
}

#[cfg(test)]
mod meta_tests {
    use super::*;

    #[test]
    fn task_frames_name_their_task() {
        let code = CodeInfo::task("worker <1>");
        assert_eq!(code.name, "<task worker <1>>");
        assert_eq!(code.task_name(), Some("worker <1>"));
        let plain = CodeInfo {
            filename: "app.py".into(),
            ..code
        };
        assert_eq!(plain.task_name(), None);
    }

    #[test]
    fn the_version_is_read_from_sys_version() {
        let meta = |python: &str| Meta {
            target: String::new(),
            argv: Vec::new(),
            python: python.into(),
            pid: 0,
            rate_hz: 0,
            sampler: String::new(),
            exact: false,
            start_unix_ns: 0,
            cwd: String::new(),
            sys_path: Vec::new(),
        };
        let old = meta("3.11.7 (main, Dec  3 2026, 06:00:00) [GCC 12.2.0]");
        assert_eq!(old.python_version(), Some((3, 11)));
        assert!(!old.follows_free_lists());
        assert!(meta("3.13.0 (main)").follows_free_lists());
        assert!(meta("3.15.2").follows_free_lists());
        assert_eq!(meta("").python_version(), None);
    }
}
