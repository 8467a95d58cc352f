//! `fluoro dump PID`: every thread's Python stack of a running CPython, read from outside with
//! the sampler's own walker, its reads pointed at the other process; with `--locals`, each
//! frame's local variables too.

use super::process::{command_line, tasks, Remote, Task};
use super::target::read_error;
use crate::cpython::locals::{frame_locals, Local};
use crate::cpython::values::Values;
use crate::cpython::ThreadStack;
use crate::os;
use crate::output::{emit, Failure};
use fluoro_bytecode::OpcodeTable;
use fluoro_cli::DumpArgs;
use fluoro_profile::{CodeId, CodeInfo};
use fluoro_render::escape::for_terminal;
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
    /// With `--locals`: the frame's bound local variables, in the code object's order, `null`
    /// when they could not be read (the call returned while it was read); else left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locals: Option<Option<Vec<Local>>>,
}

pub fn command(args: &DumpArgs) -> Result<i32, Failure> {
    let dump = read(args.pid, args.blocking, args.locals).map_err(|m| Failure::of("dump", &m))?;
    Ok(emit(&dump, args.json, render))
}

/// Reads process `pid`'s threads and stacks, and with `locals` each frame's locals.
pub fn read(pid: i32, blocking: bool, locals: bool) -> Result<Dump, String> {
    let mut remote = Remote::open(pid)?;
    let (major, minor, _) = remote.target.version;
    let values = Values {
        layout: remote.walker.layout(),
        builtins: remote.target.builtins,
        table: OpcodeTable::for_version(major, minor)
            .ok_or_else(|| format!("no table of CPython {major}.{minor}'s printable characters"))?,
    };
    if locals {
        remote.walker.keep_addresses();
    }
    let stopped = if blocking {
        Some(os::Stopped::all_threads(pid).map_err(|e| read_error(pid, &e))?)
    } else {
        None
    };
    let mut stacks = Vec::new();
    for _ in 0..ATTEMPTS {
        remote.walker.threads(&mut stacks);
        if stacks.iter().all(|s| !s.torn) {
            break;
        }
    }
    let gil = remote.walker.gil_holder();
    // Read while the threads are still stopped (with --blocking), frame by frame.
    let locals: Vec<Vec<Option<Vec<Local>>>> = stacks
        .iter()
        .map(|s| {
            s.addresses
                .iter()
                .map(|&(frame, code)| frame_locals(&values, frame, code))
                .collect()
        })
        .collect();
    let tasks = tasks(pid);
    drop(stopped);
    let codes: HashMap<CodeId, CodeInfo> = remote.walker.codes.take_fresh().into_iter().collect();
    let threads = stacks
        .iter()
        .zip(locals)
        .map(|(s, locals)| thread(&remote, s, locals, &codes, gil, &tasks))
        .collect();
    Ok(Dump {
        pid,
        command: command_line(pid),
        python: remote.target.version_text(),
        binary: remote.target.binary.clone(),
        blocking,
        threads,
    })
}

fn thread(
    remote: &Remote,
    stack: &ThreadStack,
    locals: Vec<Option<Vec<Local>>>,
    codes: &HashMap<CodeId, CodeInfo>,
    gil: Option<usize>,
    tasks: &HashMap<u64, Task>,
) -> DumpThread {
    let mut locals = locals.into_iter();
    let frames = stack
        .frames
        .iter()
        .map(|f| {
            // Locals were read for each frame, or for none (without --locals).
            let locals = locals.next();
            let (function, file, line) = match codes.get(&f.code) {
                Some(info) => (
                    info.qualname.clone(),
                    info.filename.clone(),
                    info.line_at(f.offset),
                ),
                None => ("<unknown>".into(), "<unknown>".into(), 0),
            };
            DumpFrame {
                function,
                file,
                line,
                locals,
            }
        })
        .collect();
    let state = tasks.get(&stack.native_id).map_or('?', |t| t.state);
    DumpThread {
        ident: stack.ident,
        native_id: stack.native_id,
        name: remote.thread_name(stack.ident, stack.native_id, tasks),
        holds_gil: gil == Some(stack.tstate),
        state: state_word(state).into(),
        torn: stack.torn,
        frames,
    }
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

/// The text form: a header, then each thread and its frames, innermost first.
pub fn render(dump: &Dump) -> String {
    let mut out = String::new();
    let command = dump.command.join(" ");
    let _ = writeln!(out, "Process {}: {}", dump.pid, for_terminal(&command));
    let _ = writeln!(
        out,
        "CPython {} ({})",
        for_terminal(&dump.python),
        for_terminal(&dump.binary)
    );
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
            for_terminal(&t.name),
            notes.join(", ")
        );
        if t.torn {
            out.push_str("    (its stack changed while it was read; try again, or --blocking)\n");
        }
        for f in &t.frames {
            let _ = writeln!(
                out,
                "    {} ({}:{})",
                for_terminal(&f.function),
                for_terminal(&f.file),
                f.line
            );
            match &f.locals {
                Some(Some(locals)) => {
                    for local in locals {
                        let _ = writeln!(
                            out,
                            "        {} = {}",
                            for_terminal(&local.name),
                            for_terminal(&local.repr)
                        );
                    }
                }
                Some(None) => out.push_str("        (its locals could not be read)\n"),
                None => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_threads_innermost_first_with_locals_and_escapes_names() {
        let dump = Dump {
            pid: 42,
            command: vec!["python3".into(), "app.py\x1b]0;pwned\x07".into()],
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
                        locals: Some(Some(vec![Local {
                            name: "count".into(),
                            repr: "3".into(),
                        }])),
                    },
                    DumpFrame {
                        function: "middle".into(),
                        file: "app.py".into(),
                        line: 6,
                        locals: Some(None),
                    },
                    DumpFrame {
                        function: "<module>".into(),
                        file: "app.py".into(),
                        line: 9,
                        locals: None,
                    },
                ],
            }],
        };
        let text = render(&dump);
        assert_eq!(
            text,
            "Process 42: python3 app.py\\x1b]0;pwned\\x07\nCPython 3.11.7 (/usr/bin/python3.11)\n\n\
             Thread 42 MainThread (sleeping, holds the GIL)\n    inner\\x1b[31m (app.py:3)\n        \
             count = 3\n    middle (app.py:6)\n        (its locals could not be read)\n    \
             <module> (app.py:9)\n"
        );
    }
}
