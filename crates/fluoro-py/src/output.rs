//! What every command says: its output on stdout (text or JSON), and a failure of fluoro
//! itself as one line on stderr, `fluoro: MESSAGE`, with exit code 2.

use fluoro_render::escape::for_terminal;
use pyo3::prelude::*;
use std::io::Write;
use std::os::fd::FromRawFd;
use std::os::unix::fs::MetadataExt;
use std::sync::OnceLock;

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

/// Prints the first line of `message` as fluoro's failure, shown escaped (it may name a file
/// or a function); returns exit code 2.
pub fn fail(message: &str) -> i32 {
    let line = message.lines().next().unwrap_or("failed");
    eprintln!("fluoro: {}", for_terminal(line));
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

/// The stderr the target started with, kept at boot as a close-on-exec duplicate, with the
/// device and inode it named, so that a target that reopens fd 2 on its own file (or closes
/// our duplicate and reuses its number) never gets fluoro's report written into it.
static ORIGINAL_STDERR: OnceLock<(i32, u64, u64)> = OnceLock::new();

/// Keeps a duplicate of the current stderr for [`to_user`]; called once, at boot.
pub fn keep_original_stderr() {
    // SAFETY: F_DUPFD_CLOEXEC on fd 2 returns a new descriptor or -1; nothing else is touched.
    let fd = unsafe { libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 3) };
    if fd < 0 {
        return;
    }
    match identity(fd) {
        Some((dev, ino)) => {
            let _ = ORIGINAL_STDERR.set((fd, dev, ino));
        }
        // SAFETY: closing the descriptor just made, which nothing else holds.
        None => unsafe {
            libc::close(fd);
        },
    }
}

/// The device and inode that `fd` names.
fn identity(fd: i32) -> Option<(u64, u64)> {
    // SAFETY: the File is never dropped (ManuallyDrop), so `fd` is only borrowed for fstat.
    let file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
    file.metadata().ok().map(|m| (m.dev(), m.ino()))
}

/// Writes fluoro's own end-of-run output to the user: the stderr kept at boot when it still
/// names the same file, else (outside a `fluoro run` target) fd 2. Fails when it is closed,
/// a broken pipe, or was replaced.
pub fn to_user(data: &[u8]) -> std::io::Result<()> {
    let Some(&(fd, dev, ino)) = ORIGINAL_STDERR.get() else {
        let mut stderr = std::io::stderr().lock();
        return stderr.write_all(data).and_then(|()| stderr.flush());
    };
    if identity(fd) != Some((dev, ino)) {
        return Err(std::io::Error::other("the original stderr was closed"));
    }
    // SAFETY: as in `identity`: borrowed, never closed here.
    let mut file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
    file.write_all(data)
}

/// Columns fluoro's text may use: `$COLUMNS` when set, else the width of the terminal the
/// text goes to (the stderr kept at boot, or `fd`), else 100.
pub fn terminal_width(fd: i32) -> usize {
    const DEFAULT: usize = 100;
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return n;
    }
    let fd = ORIGINAL_STDERR.get().map_or(fd, |&(kept, _, _)| kept);
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills the winsize it is given, or fails for a descriptor that is no
    // terminal; the struct outlives the call.
    let ok = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 {
        usize::from(size.ws_col)
    } else {
        DEFAULT
    }
}

/// Says one line of fluoro's own, `fluoro: LINE`, through [`to_user`], shown escaped (it may
/// name a file); a failure to say it is not worth another.
pub fn say(line: &str) {
    let _ = to_user(format!("fluoro: {}\n", for_terminal(line)).as_bytes());
}
