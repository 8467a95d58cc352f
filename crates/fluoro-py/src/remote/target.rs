//! Finds the interpreter of another process: the executable or `libpython` it has mapped that
//! exports `_PyRuntime`, where that object was loaded, and which CPython version it is.

use crate::cpython::memory;
use crate::cpython::values::Builtins;
use object::{Object, ObjectSegment, ObjectSymbol};
use std::collections::BTreeMap;
use std::io;

/// What is needed to read a running interpreter.
#[derive(Debug, Clone)]
pub struct Target {
    pub pid: i32,
    /// `(major, minor, micro)`; micro is `None` where the interpreter does not say (3.10).
    pub version: (u8, u8, Option<u8>),
    /// The file that exports `_PyRuntime`: the executable, or a `libpython` it loaded.
    pub binary: String,
    pub runtime: usize,
    pub code_type: usize,
    /// The objects and types a local's repr recognises.
    pub builtins: Builtins,
    /// `Py_Version` (3.11+): the version as `PY_VERSION_HEX`.
    py_version: Option<usize>,
}

impl Target {
    /// Finds the interpreter of process `pid`; the error is one line for the user.
    pub fn find(pid: i32) -> Result<Target, String> {
        if pid <= 0 {
            return Err(format!("{pid} is not a process id"));
        }
        let maps =
            std::fs::read_to_string(format!("/proc/{pid}/maps")).map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => format!("no process {pid}"),
                io::ErrorKind::PermissionDenied => format!(
                    "cannot read /proc/{pid}/maps: permission denied (another user's process?)"
                ),
                _ => format!("cannot read /proc/{pid}/maps: {e}"),
            })?;
        let mut tried = Vec::new();
        for (path, start) in mapped_objects(&maps) {
            let name = path.rsplit('/').next().unwrap_or(&path);
            if !name.contains("python") {
                continue;
            }
            tried.push(name.to_string());
            if let Some(target) = Target::in_object(pid, &path, start) {
                return Ok(target);
            }
        }
        Err(match tried.is_empty() {
            true => format!("process {pid} is not a CPython interpreter (no python binary mapped)"),
            false => format!(
                "process {pid} maps {} but none exports _PyRuntime: not a CPython 3.10+",
                tried.join(", ")
            ),
        })
    }

    fn in_object(pid: i32, path: &str, start: usize) -> Option<Target> {
        // The process may see another root (a container): its own view of the file first.
        let data = std::fs::read(format!("/proc/{pid}/root{path}"))
            .or_else(|_| std::fs::read(path))
            .ok()?;
        let file = object::File::parse(&*data).ok()?;
        let first = file
            .segments()
            .find(|s| s.file_range().0 == 0)
            .map(|s| s.address() as usize)?;
        let bias = start.checked_sub(first & !0xfff)?;
        let mut found: BTreeMap<&str, usize> = BTreeMap::new();
        for symbol in file.dynamic_symbols().chain(file.symbols()) {
            let Ok(name) = symbol.name() else { continue };
            if matches!(name, "_PyRuntime" | "PyCode_Type" | "Py_Version")
                || Builtins::SYMBOLS.contains(&name)
            {
                found
                    .entry(name)
                    .or_insert(symbol.address() as usize + bias);
            }
        }
        Some(Target {
            pid,
            // From the file name until `Py_Version` is read (3.11+).
            version: name_version(path).map_or((3, 0, None), |(major, minor)| (major, minor, None)),
            binary: path.to_string(),
            runtime: *found.get("_PyRuntime")?,
            code_type: *found.get("PyCode_Type")?,
            builtins: Builtins::from_symbols(|name| found.get(name).copied()),
            py_version: found.get("Py_Version").copied(),
        })
    }

    /// Reads what needs the process's memory: its exact version (3.11+). Call after
    /// [`memory::point_at`] this process. The error is one line for the user.
    pub fn read_version(&mut self) -> Result<(), String> {
        let Some(at) = self.py_version else {
            return match self.version.1 {
                0 => Err(format!(
                    "cannot tell the CPython version of process {} ({})",
                    self.pid, self.binary
                )),
                _ => Ok(()),
            };
        };
        let mut buf = [0u8; 8];
        memory::read(at, &mut buf).map_err(|e| read_error(self.pid, &e))?;
        let hex = u64::from_ne_bytes(buf);
        self.version = ((hex >> 24) as u8, (hex >> 16) as u8, Some((hex >> 8) as u8));
        Ok(())
    }

    /// `3.11.7`, or `3.10` where the micro version is unknown.
    pub fn version_text(&self) -> String {
        let (major, minor, micro) = self.version;
        match micro {
            Some(micro) => format!("{major}.{minor}.{micro}"),
            None => format!("{major}.{minor}"),
        }
    }
}

/// A failed read of another process, as one line: what the kernel refused and what to do.
pub fn read_error(pid: i32, e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EPERM) => {
            let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into());
            format!(
                "not allowed to read process {pid}'s memory (kernel.yama.ptrace_scope = {scope}): \
                 run fluoro as the process's user with ptrace_scope 0, or as root (CAP_SYS_PTRACE)"
            )
        }
        Some(libc::ESRCH) => format!("process {pid} has ended"),
        _ => format!("cannot read process {pid}'s memory: {e}"),
    }
}

/// Each file mapped from its start (offset 0), with the lowest address it is mapped at.
fn mapped_objects(maps: &str) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for line in maps.lines() {
        // `start-end perms offset dev inode path`
        let mut fields = line.split_whitespace();
        let (Some(range), Some(_), Some(offset), Some(_), Some(_)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            continue;
        };
        let path = fields.collect::<Vec<_>>().join(" ");
        if !path.starts_with('/') || !offset.trim_start_matches('0').is_empty() {
            continue;
        }
        let Some(start) = range
            .split('-')
            .next()
            .and_then(|s| usize::from_str_radix(s, 16).ok())
        else {
            continue;
        };
        match out.iter_mut().find(|(p, _)| *p == path) {
            Some((_, lowest)) => *lowest = (*lowest).min(start),
            None => out.push((path, start)),
        }
    }
    out
}

/// `(3, 10)` from a name such as `python3.10` or `libpython3.10.so.1.0`.
fn name_version(path: &str) -> Option<(u8, u8)> {
    let name = path.rsplit('/').next()?;
    let at = name.find("python3.")? + "python3.".len();
    let digits: String = name[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((3, digits.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mapped_objects_and_versions_from_names() {
        let maps = "\
55d0c0a00000-55d0c0a2c000 r--p 00000000 08:01 1234 /usr/bin/python3.11
55d0c0a2c000-55d0c0d00000 r-xp 0002c000 08:01 1234 /usr/bin/python3.11
7f00aa000000-7f00aa100000 r--p 00000000 08:01 99 /usr/lib/libpython3.10.so.1.0
7f00ab000000-7f00ab001000 rw-p 00000000 00:00 0 [heap]
7f00ac000000-7f00ac001000 r--p 00000000 08:01 77 /opt/my dir/lib.so
";
        let objects = mapped_objects(maps);
        assert_eq!(
            objects,
            vec![
                ("/usr/bin/python3.11".to_string(), 0x55d0c0a00000),
                ("/usr/lib/libpython3.10.so.1.0".to_string(), 0x7f00aa000000),
                ("/opt/my dir/lib.so".to_string(), 0x7f00ac000000),
            ]
        );
        assert_eq!(name_version("/usr/bin/python3.11"), Some((3, 11)));
        assert_eq!(name_version("/x/libpython3.10.so.1.0"), Some((3, 10)));
        assert_eq!(name_version("/usr/bin/python3"), None);
    }

    #[test]
    fn finds_this_process_interpreter_as_another_would() {
        // The test binary is no Python: finding one must fail with one line.
        let me = std::process::id() as i32;
        let err = Target::find(me).unwrap_err();
        assert!(err.contains("not a CPython"), "{err}");
        assert!(Target::find(-3).unwrap_err().contains("not a process id"));
        assert!(Target::find(i32::MAX).unwrap_err().contains("no process"));
    }
}
