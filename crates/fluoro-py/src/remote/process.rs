//! A running interpreter in another process: the sampler's walker pointed at it, and what
//! `/proc` says of the process and its threads.

use super::target::{read_error, Target};
use crate::cpython::{debug_offsets, layouts, memory, walker, Walker};
use std::collections::HashMap;

/// A running interpreter in another process, and the sampler's walker reading it.
pub struct Remote {
    pub target: Target,
    pub walker: Walker,
    /// `_PyRuntime.main_thread`: the main thread's `threading.get_ident()`.
    pub main_thread: u64,
}

impl Remote {
    /// Finds process `pid`'s interpreter and points every memory read of this process at it;
    /// the error is one line for the user.
    pub fn open(pid: i32) -> Result<Remote, String> {
        if pid == std::process::id() as i32 {
            return Err("that is fluoro's own process".into());
        }
        let mut target = Target::find(pid)?;
        // Found on this process, before reads point at the other.
        let tid_offset = walker::pthread_tid_offset();
        memory::point_at(pid);
        target.read_version()?;
        let (major, minor, _) = target.version;
        let layout = layouts::for_version(major, minor).ok_or_else(|| {
            format!(
                "process {pid} runs CPython {}, which fluoro cannot read (3.10-3.15)",
                target.version_text()
            )
        })?;
        if let Some(table) = layouts::debug_offsets(major, minor) {
            debug_offsets::check(layout, table, Some(target.runtime)).map_err(|found| {
                format!("process {pid}'s CPython {} {found}", target.version_text())
            })?;
        }
        let word = |at: usize| -> Result<usize, String> {
            let mut buf = [0u8; 8];
            memory::read(at, &mut buf).map_err(|e| read_error(pid, &e))?;
            Ok(usize::from_ne_bytes(buf))
        };
        let interp = word(target.runtime + layout.runtime_interp_main)?;
        if interp == 0 {
            return Err(format!(
                "process {pid}'s interpreter has not started or has ended"
            ));
        }
        let main_thread = word(target.runtime + layout.runtime_main_thread)? as u64;
        let walker = Walker::with_tid_offset(
            layout,
            interp,
            target.code_type,
            Some(target.runtime),
            tid_offset,
        )
        .of_process(pid);
        Ok(Remote {
            target,
            walker,
            main_thread,
        })
    }

    /// A thread's name: `MainThread` for the main one, else the OS's name when the program
    /// set one (3.14+ set it from `threading`), else `Thread-TID`.
    pub fn thread_name(&self, ident: u64, native_id: u64, states: &HashMap<u64, Task>) -> String {
        if ident == self.main_thread {
            return "MainThread".into();
        }
        match states.get(&native_id) {
            Some(task) if !task.comm.is_empty() && !task.comm.starts_with("python") => {
                task.comm.clone()
            }
            _ => format!("Thread-{native_id}"),
        }
    }
}

/// One OS thread of a process, from `/proc/PID/task/TID/stat`.
#[derive(Debug, Clone)]
pub struct Task {
    pub state: char,
    pub comm: String,
}

/// Each thread of process `pid` by OS id.
pub fn tasks(pid: i32) -> HashMap<u64, Task> {
    let mut out = HashMap::new();
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(tid) = entry
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<u64>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `tid (comm) S ...`: the name may hold anything, the state follows the last `)`.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let state = stat[close + 1..].trim_start().chars().next().unwrap_or('?');
        out.insert(tid, Task { state, comm });
    }
    out
}

/// Whether process `pid` is there and not a zombie.
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let close = stat.rfind(')')?;
            stat[close + 1..].trim_start().chars().next()
        })
        .is_some_and(|state| state != 'Z' && state != 'X')
}

/// The process's command line.
pub fn command_line(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            raw.split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}
