//! What every command says: its output on stdout (text or JSON), and a failure of fluoro
//! itself as one line on stderr, `fluoro: MESSAGE`, with exit code 2.

use pyo3::prelude::*;
use std::io::Write;

pub use fluoro_render::io_reason;

/// A failure of fluoro itself, shown as `fluoro: MESSAGE` with exit code 2.
pub struct Failure(pub String);

impl Failure {
    /// A failure of `command`: `fluoro: COMMAND: MESSAGE`.
    pub fn of(command: &str, message: &str) -> Failure {
        Failure(format!("{command}: {message}"))
    }
}

impl From<PyErr> for Failure {
    fn from(err: PyErr) -> Self {
        Failure(err.to_string())
    }
}

/// Prints the first line of `message` as fluoro's failure; returns exit code 2.
pub fn fail(message: &str) -> i32 {
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

/// Turns a serializable report into plain Python objects (dicts, lists, numbers, strings).
pub fn to_python<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}
