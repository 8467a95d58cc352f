//! Where fluoro puts files nobody asked for: a private directory per use (`mkdtemp`, mode
//! 0700, a name no other user can guess or plant first), and files inside it opened with
//! `O_EXCL | O_NOFOLLOW`, so a symlink planted by someone else is never followed.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Makes a new private directory `$TMPDIR/PREFIXxxxxxx` (mode 0700) and returns its path.
pub fn private_dir(prefix: &str) -> std::io::Result<PathBuf> {
    let mut template = std::env::temp_dir().join(format!("{prefix}XXXXXX"));
    // A relative TMPDIR would change meaning when the target changes directory.
    if template.is_relative() {
        template = std::path::absolute(&template)?;
    }
    let template = CString::new(template.into_os_string().into_vec())
        .map_err(|_| std::io::Error::other("TMPDIR holds a NUL byte"))?;
    let mut bytes = template.into_bytes_with_nul();
    // SAFETY: `bytes` is a NUL-terminated, writable template ending in XXXXXX; mkdtemp
    // rewrites those six bytes in place and returns null on failure.
    let made = unsafe { libc::mkdtemp(bytes.as_mut_ptr().cast()) };
    if made.is_null() {
        return Err(std::io::Error::last_os_error());
    }
    bytes.pop();
    Ok(PathBuf::from(OsString::from_vec(bytes)))
}

/// Creates `path` for writing (mode 0600); fails if anything, a symlink included, is there.
pub fn create_new(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Reads the file at `path` without following a symlink there.
pub fn read_nofollow(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let mut data = Vec::new();
    file.read_to_end(&mut data)?;
    Ok(data)
}

/// Whether the process `pid` exists (signal 0 reaches it, or it belongs to someone else).
pub fn process_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 sends nothing; it only checks that `pid` exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Removes, in `dir`, the directories named `PREFIX<pid>-xxxxxx` that this user owns, whose
/// process has ended, holding only the file `orphan` (nothing announced to the user).
pub fn remove_orphans(dir: &Path, prefix: &str, orphan: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.as_bytes().strip_prefix(prefix.as_bytes()) else {
            continue;
        };
        let Some(pid) = std::str::from_utf8(rest)
            .ok()
            .and_then(|r| r.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let path = entry.path();
        // symlink_metadata: a symlink named like ours is someone else's, never followed.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.is_dir() || meta.uid() != uid || pid <= 0 || process_alive(pid) {
            continue;
        }
        let _ = std::fs::remove_file(path.join(orphan));
        let _ = std::fs::remove_dir(&path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_dirs_are_new_and_only_ours() {
        let a = private_dir("fluoro-test-").unwrap();
        let b = private_dir("fluoro-test-").unwrap();
        assert_ne!(a, b);
        let mode = std::fs::metadata(&a).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::remove_dir(a).unwrap();
        std::fs::remove_dir(b).unwrap();
    }

    #[test]
    fn a_planted_symlink_is_not_followed() {
        let dir = private_dir("fluoro-test-").unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let link = dir.join("out.json");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(create_new(&link).is_err());
        assert!(read_nofollow(&link).is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn orphans_of_ended_processes_are_removed() {
        let root = private_dir("fluoro-test-").unwrap();
        // No process has pid 2^22 + 1: above Linux's highest pid.
        let dead = root.join("fluoro-4194305-abcdef");
        std::fs::create_dir(&dead).unwrap();
        std::fs::write(dead.join("profile.fluoro"), b"x").unwrap();
        let kept = root.join("fluoro-4194305-ghijkl");
        std::fs::create_dir(&kept).unwrap();
        std::fs::write(kept.join("run.fluoro"), b"x").unwrap();
        let alive = root.join(format!("fluoro-{}-mnopqr", std::process::id()));
        std::fs::create_dir(&alive).unwrap();
        std::fs::write(alive.join("profile.fluoro"), b"x").unwrap();
        remove_orphans(&root, "fluoro-", "profile.fluoro");
        assert!(!dead.exists());
        assert!(kept.join("run.fluoro").exists());
        assert!(alive.join("profile.fluoro").exists());
        std::fs::remove_dir_all(root).unwrap();
    }
}
