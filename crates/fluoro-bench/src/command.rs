//! Whole-process benchmarks: a command run through `sh -c`, as hyperfine does by default, so
//! that pipes, redirections and quoting mean what they mean in a shell, or split into words
//! and started directly (`-N`). The time measured is the wall time from spawn to exit, the
//! shell's own start-up included when there is one (a fixed cost that is the same for every
//! command, so it shrinks ratios slightly towards 1, never away from it).

use crate::error::{spawn_reason, BenchError};
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Shell exit status for "command not found".
const NOT_FOUND: i32 = 127;

/// How a command line becomes a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Launch {
    /// `sh -c COMMAND`: pipes, redirections and quoting as in a shell.
    #[default]
    Shell,
    /// The command split into words as a shell would (quotes kept together) and run directly:
    /// no shell start-up in the timings (`-N`).
    Direct,
}

impl Launch {
    /// The process that runs `command`, its standard streams left for the caller.
    fn command(self, command: &str) -> Result<Command, BenchError> {
        match self {
            Launch::Shell => {
                let mut c = Command::new("sh");
                c.arg("-c").arg(command);
                Ok(c)
            }
            Launch::Direct => {
                let words = shlex::split(command).ok_or_else(|| {
                    BenchError::Usage(format!(
                        "cannot split '{command}' into words (-N): unbalanced quotes"
                    ))
                })?;
                let (program, args) = words.split_first().ok_or_else(|| {
                    BenchError::Usage("an empty command cannot run without a shell (-N)".into())
                })?;
                let mut c = Command::new(program);
                c.args(args);
                Ok(c)
            }
        }
    }

    fn program(self, command: &str) -> String {
        match self {
            Launch::Shell => "sh".into(),
            Launch::Direct => command.split_whitespace().next().unwrap_or("").to_owned(),
        }
    }
}

/// Runs `command` once with its output discarded; returns the wall time in seconds.
/// A failing exit status is an error unless `ignore_failure`.
pub fn time_command(
    command: &str,
    launch: Launch,
    ignore_failure: bool,
) -> Result<f64, BenchError> {
    let mut process = launch.command(command)?;
    process
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let status = process
        .status()
        .map_err(|e| spawn_error(launch, command, &e))?;
    let elapsed = start.elapsed().as_secs_f64();
    if status.success() || ignore_failure {
        return Ok(elapsed);
    }
    // Run it again with stderr kept, to say why it failed.
    Err(check_command(command, launch)
        .err()
        .unwrap_or_else(|| failure(command, status, "")))
}

/// Runs `command` once keeping its stderr, to turn a failure into a precise error.
pub fn check_command(command: &str, launch: Launch) -> Result<(), BenchError> {
    let mut child = launch
        .command(command)?
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_error(launch, command, &e))?;
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    let status = child.wait().map_err(|e| BenchError::Spawn {
        program: launch.program(command),
        reason: fluoro_render::io_reason(&e),
    })?;
    if status.success() {
        return Ok(());
    }
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    Err(failure(command, status, last.trim()))
}

fn spawn_error(launch: Launch, command: &str, e: &std::io::Error) -> BenchError {
    match (launch, e.kind()) {
        (Launch::Direct, std::io::ErrorKind::NotFound) => BenchError::CommandNotFound {
            command: command.to_owned(),
        },
        _ => BenchError::Spawn {
            program: launch.program(command),
            reason: spawn_reason(e),
        },
    }
}

fn failure(command: &str, status: std::process::ExitStatus, stderr: &str) -> BenchError {
    match (status.code(), status.signal()) {
        (Some(NOT_FOUND), _) => BenchError::CommandNotFound {
            command: command.to_owned(),
        },
        (Some(code), _) => BenchError::CommandFailed {
            command: command.to_owned(),
            code,
            detail: if stderr.is_empty() {
                String::new()
            } else {
                format!(": {stderr}")
            },
        },
        (None, Some(signal)) => BenchError::CommandKilled {
            command: command.to_owned(),
            signal,
        },
        (None, None) => BenchError::CommandFailed {
            command: command.to_owned(),
            code: -1,
            detail: String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_a_command() {
        let t = time_command("sleep 0.01", Launch::Shell, false).unwrap();
        assert!((0.01..1.0).contains(&t), "{t}");
        let t = time_command("sleep 0.01", Launch::Direct, false).unwrap();
        assert!((0.01..1.0).contains(&t), "{t}");
    }

    #[test]
    fn direct_launch_keeps_quoted_words_together() {
        // The quoted words reach `test` whole, as a shell would pass them.
        check_command("test 'a b' = 'a b'", Launch::Direct).unwrap();
        let e = check_command("test 'a b' = a", Launch::Direct).unwrap_err();
        assert!(e.to_string().contains("exit code 1"), "{e}");
        let e = check_command("no_such_command_xyz_123 x", Launch::Direct).unwrap_err();
        assert!(matches!(e, BenchError::CommandNotFound { .. }), "{e}");
        let e = check_command("echo 'open", Launch::Direct).unwrap_err();
        assert!(e.to_string().contains("unbalanced quotes"), "{e}");
    }

    #[test]
    fn failures_are_precise() {
        let e = time_command("exit 3", Launch::Shell, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("exit code 3"), "{e}");
        assert!(time_command("exit 3", Launch::Shell, true).is_ok());
        let e = check_command("no_such_command_xyz_123", Launch::Shell).unwrap_err();
        assert!(matches!(e, BenchError::CommandNotFound { .. }), "{e}");
        let e = check_command("echo boom >&2; exit 1", Launch::Shell)
            .unwrap_err()
            .to_string();
        assert!(e.contains("boom") && e.contains("exit code 1"), "{e}");
    }
}
