//! Why a benchmark could not be run; each is one line after `fluoro: bench: `.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum BenchError {
    #[error("command not found: '{command}'")]
    CommandNotFound { command: String },
    #[error(
        "command '{command}' failed with exit code {code}{detail} (use -i to ignore failures)"
    )]
    CommandFailed {
        command: String,
        code: i32,
        detail: String,
    },
    #[error("command '{command}' was killed by signal {signal}")]
    CommandKilled { command: String, signal: i32 },
    #[error("cannot start '{program}': {reason}")]
    Spawn { program: String, reason: String },
    #[error("cannot run interpreter '{python}': {reason}")]
    BadInterpreter { python: String, reason: String },
    /// The worker's own report of a bad statement, file or function, or of an exception.
    #[error("{benchmark}: {message}")]
    Worker { benchmark: String, message: String },
    #[error("{0}")]
    Usage(String),
}

/// Short words for an I/O error starting a program: a missing program is "not found", the
/// rest in fluoro's one wording for I/O errors.
pub(crate) fn spawn_reason(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        "not found".to_owned()
    } else {
        fluoro_render::io_reason(e)
    }
}
