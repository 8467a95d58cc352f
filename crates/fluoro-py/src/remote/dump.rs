//! `fluoro dump PID`: every thread's Python stack of a running CPython, read from outside with
//! the sampler's own walker, its reads pointed at the other process.

use super::target::{read_error, Target};
use crate::cpython::{debug_offsets, layouts, memory, walker, ThreadStack, Walker};
use crate::os;
use crate::output::{emit, Failure};
use fluoro_cli::DumpArgs;
use fluoro_profile::{CodeId, CodeInfo};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Reads of a process whose stacks keep changing before the torn ones are shown as such.
const ATTEMPTS: usize = 3;

#[derive(Debug, Serialize)]
pub struct Dump {
    pub pid: i32,
    pub command: Vec<String>,
    pub python: String,
    pub binary: String,
    /// Whether the process was stopped while its stacks were read (`--blocking`).
    pub blocking: bool,
    pub threads: Vec<DumpThread>,
}

#[derive(Debug, Serialize)]
pub struct DumpThread {
    /// `threading.get_ident()`.
    pub ident: u64,
    pub native_id: u64,
    pub name: String,
    pub holds_gil: bool,
    /// The OS's word for what it does: running, sleeping, disk wait, stopped, …
    pub state: String,
    /// The stack changed while it was read, every time: its frames cannot be trusted.
    pub torn: bool,
    /// Innermost first.
    pub frames: Vec<DumpFrame>,
}

#[derive(Debug, Serialize)]
pub struct DumpFrame {
    pub function: String,
    pub file: String,
    pub line: u32,
}

pub fn command(args: &DumpArgs) -> Result<i32, Failure> {
    let dump = read(args.pid, args.blocking).map_err(|m| Failure::of("dump", &m))?;
    Ok(emit(&dump, args.json, render))
}

/// Reads process `pid`'s threads and stacks.
pub fn read(pid: i32, blocking: bool) -> Result<Dump, String> {
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
    let mut walker = Walker::with_tid_offset(
        layout,
        interp,
        target.code_type,
        Some(target.runtime),
        tid_offset,
    );
    let stopped = if blocking {
        Some(os::Stopped::all_threads(pid).map_err(|e| read_error(pid, &e))?)
    } else {
        None
    };
    let mut stacks = Vec::new();
    for _ in 0..ATTEMPTS {
        walker.threads(&mut stacks);
        if stacks.iter().all(|s| !s.torn) {
            break;
        }
    }
    let gil = walker.gil_holder();
    let states = thread_states(pid);
    drop(stopped);
    let codes: HashMap<CodeId, CodeInfo> = walker.codes.take_fresh().into_iter().collect();
    let threads = stacks
        .iter()
        .map(|s| thread(s, &codes, gil, main_thread, &states))
        .collect();
    Ok(Dump {
        pid,
        command: command_line(pid),
        python: target.version_text(),
        binary: target.binary.clone(),
        blocking,
        threads,
    })
}

fn thread(
    stack: &ThreadStack,
    codes: &HashMap<CodeId, CodeInfo>,
    gil: Option<usize>,
    main_thread: u64,
    states: &HashMap<u64, (char, String)>,
) -> DumpThread {
    let frames = stack
        .frames
        .iter()
        .map(|f| match codes.get(&f.code) {
            Some(info) => DumpFrame {
                function: info.qualname.clone(),
                file: info.filename.clone(),
                line: info.line_at(f.offset),
            },
            None => DumpFrame {
                function: "<unknown>".into(),
                file: "<unknown>".into(),
                line: 0,
            },
        })
        .collect();
    let (state, comm) = states
        .get(&stack.native_id)
        .cloned()
        .unwrap_or(('?', String::new()));
    let name = if stack.ident == main_thread {
        "MainThread".to_string()
    } else if !comm.is_empty() && !comm.starts_with("python") {
        comm
    } else {
        format!("Thread-{}", stack.native_id)
    };
    DumpThread {
        ident: stack.ident,
        native_id: stack.native_id,
        name,
        holds_gil: gil == Some(stack.tstate),
        state: state_word(state).into(),
        torn: stack.torn,
        frames,
    }
}

/// Each thread's state letter and name (`comm`) from `/proc/PID/task/TID/stat`.
fn thread_states(pid: i32) -> HashMap<u64, (char, String)> {
    let mut out = HashMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<u64>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // `tid (comm) S ...`: the name may hold anything, the state follows the last `)`.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let state = stat[close + 1..].trim_start().chars().next().unwrap_or('?');
        out.insert(tid, (state, comm));
    }
    out
}

fn state_word(state: char) -> &'static str {
    match state {
        'R' => "running",
        'S' => "sleeping",
        'D' => "disk wait",
        'T' => "stopped",
        't' => "traced",
        'Z' => "zombie",
        'I' => "idle",
        _ => "unknown",
    }
}

fn command_line(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            raw.split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The text form: a header, then each thread and its frames, innermost first.
pub fn render(dump: &Dump) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Process {}: {}", dump.pid, dump.command.join(" "));
    let _ = writeln!(out, "CPython {} ({})", dump.python, dump.binary);
    if dump.threads.is_empty() {
        out.push_str("\nNo thread is running Python code.\n");
    }
    for t in &dump.threads {
        let mut notes = vec![t.state.clone()];
        if t.holds_gil {
            notes.push("holds the GIL".into());
        }
        let _ = writeln!(
            out,
            "\nThread {} {} ({})",
            t.native_id,
            printable(&t.name),
            notes.join(", ")
        );
        if t.torn {
            out.push_str("    (its stack changed while it was read; try again, or --blocking)\n");
        }
        for f in &t.frames {
            let _ = writeln!(
                out,
                "    {} ({}:{})",
                printable(&f.function),
                printable(&f.file),
                f.line
            );
        }
    }
    out
}

/// Program-derived text with control characters shown escaped, so a name cannot move the
/// terminal's cursor or change its colours.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c.is_control() {
            true => c.escape_default().collect::<Vec<_>>(),
            false => vec![c],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_threads_innermost_first_and_escapes_names() {
        let dump = Dump {
            pid: 42,
            command: vec!["python3".into(), "app.py".into()],
            python: "3.11.7".into(),
            binary: "/usr/bin/python3.11".into(),
            blocking: false,
            threads: vec![DumpThread {
                ident: 1,
                native_id: 42,
                name: "MainThread".into(),
                holds_gil: true,
                state: "sleeping".into(),
                torn: false,
                frames: vec![
                    DumpFrame {
                        function: "inner\u{1b}[31m".into(),
                        file: "app.py".into(),
                        line: 3,
                    },
                    DumpFrame {
                        function: "<module>".into(),
                        file: "app.py".into(),
                        line: 9,
                    },
                ],
            }],
        };
        let text = render(&dump);
        assert_eq!(
            text,
            "Process 42: python3 app.py\nCPython 3.11.7 (/usr/bin/python3.11)\n\n\
             Thread 42 MainThread (sleeping, holds the GIL)\n    inner\\u{1b}[31m (app.py:3)\n    \
             <module> (app.py:9)\n"
        );
    }
}
