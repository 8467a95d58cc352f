//! Whole-process benchmarks: a command run through `sh -c`, as hyperfine does by default, so
//! that pipes, redirections and quoting mean what they mean in a shell. The time measured is
//! the wall time from spawn to exit, the shell's own start-up included (a fixed cost that is
//! the same for every command, so it shrinks ratios slightly towards 1, never away from it).

use crate::error::{spawn_reason, BenchError};
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Shell exit status for "command not found".
const NOT_FOUND: i32 = 127;

/// Runs `command` once with its output discarded; returns the wall time in seconds.
/// A failing exit status is an error unless `ignore_failure`.
pub fn time_command(command: &str, ignore_failure: bool) -> Result<f64, BenchError> {
    let start = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| BenchError::Spawn {
            program: "sh".into(),
            reason: spawn_reason(&e),
        })?;
    let elapsed = start.elapsed().as_secs_f64();
    if status.success() || ignore_failure {
        return Ok(elapsed);
    }
    // Run it again with stderr kept, to say why it failed.
    Err(check_command(command)
        .err()
        .unwrap_or_else(|| failure(command, status, "")))
}

/// Runs `command` once keeping its stderr, to turn a failure into a precise error.
pub fn check_command(command: &str) -> Result<(), BenchError> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BenchError::Spawn {
            program: "sh".into(),
            reason: spawn_reason(&e),
        })?;
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    let status = child.wait().map_err(|e| BenchError::Spawn {
        program: "sh".into(),
        reason: e.to_string(),
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
        let t = time_command("sleep 0.01", false).unwrap();
        assert!((0.01..1.0).contains(&t), "{t}");
    }

    #[test]
    fn failures_are_precise() {
        let e = time_command("exit 3", false).unwrap_err().to_string();
        assert!(e.contains("exit code 3"), "{e}");
        assert!(time_command("exit 3", true).is_ok());
        let e = check_command("no_such_command_xyz_123").unwrap_err();
        assert!(matches!(e, BenchError::CommandNotFound { .. }), "{e}");
        let e = check_command("echo boom >&2; exit 1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("boom") && e.contains("exit code 1"), "{e}");
    }
}
