//! The `fluoro` command: parse with `fluoro-cli`, dispatch, and turn every failure into one
//! line on stderr with exit code 2.

use crate::{advise, bench, dis, env, heap, objects, report, runner};
use fluoro_cli::{Command, Invocation};
use pyo3::prelude::*;
use std::io::Write;

/// A failure of fluoro itself, shown as `fluoro: MESSAGE` with exit code 2.
pub struct Failure(pub String);

impl From<PyErr> for Failure {
    fn from(err: PyErr) -> Self {
        Failure(err.to_string())
    }
}

/// Runs the command line in `argv`; returns the exit code.
pub fn main(py: Python<'_>, argv: Vec<String>) -> i32 {
    let command = match fluoro_cli::parse(argv) {
        Invocation::Command(command) => command,
        Invocation::Print(text) => {
            print!("{text}");
            let _ = std::io::stdout().flush();
            return 0;
        }
        Invocation::Missing(help) => {
            eprint!("{help}");
            return 2;
        }
        Invocation::Usage(line) => return fail(&line),
    };
    let result = match command {
        Command::Run(args) => Err(runner::launch(py, &args)),
        Command::Env(args) => env::command(py, &args),
        Command::Dis(args) => dis::command(py, &args),
        Command::Report(args) => report::command(&args),
        Command::Inspect(args) => objects::command(py, &args),
        Command::Bench(args) => bench::command(py, &args),
        Command::Advise(args) => advise::command(&args),
        Command::Heap(args) => heap::command(&args),
        later => Err(Failure(format!("'{}' is not built yet", later.name()))),
    };
    match result {
        Ok(code) => code,
        Err(Failure(message)) => fail(&message),
    }
}

fn fail(message: &str) -> i32 {
    let line = message.lines().next().unwrap_or("failed");
    eprintln!("fluoro: {line}");
    2
}

/// Prints text to stdout; returns exit code 0.
pub fn emit_text(text: &str) -> i32 {
    emit_bytes(text.as_bytes())
}

/// Writes bytes to stdout; returns exit code 0.
pub fn emit_bytes(data: &[u8]) -> i32 {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`fluoro env | head`) is not an error worth a message.
    let _ = stdout.write_all(data).and_then(|()| stdout.flush());
    0
}

/// Prints a report to stdout, as text or JSON.
pub fn emit<T: serde::Serialize>(value: &T, json: bool, text: impl FnOnce(&T) -> String) -> i32 {
    let out = if json {
        match serde_json::to_string_pretty(value) {
            Ok(s) => s + "\n",
            Err(e) => return fail(&format!("cannot write JSON: {e}")),
        }
    } else {
        text(value)
    };
    emit_text(&out)
}
