//! The temporary profile's keeper: a small detached process, forked before the exec, that
//! waits for the target to end however it ends (SIGKILL, a segfault, `os._exit`, an `exec`)
//! and then makes sure the profile is not left behind unannounced: if the session did not
//! remove it, it is renamed to [`KEPT`] and its path printed on the stderr fluoro started
//! with, or removed when nobody can be told (stderr closed, or `--quiet`).
//!
//! The keeper is not the target's child (it is forked twice and starts its own session), so
//! the target's `wait()`, its process group's signals and a `timeout` never reach it.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The profile's name in its private directory while the run writes it.
pub const PROFILE: &str = "profile.fluoro";
/// Its name once kept on purpose and announced; never removed by fluoro.
pub const KEPT: &str = "run.fluoro";

/// The line that announces a kept profile, saying `why` it was kept.
pub fn kept_line(why: &str, kept: &Path) -> String {
    let path = kept.display();
    format!("fluoro: {why}; its profile is kept at {path} (see it with: fluoro report {path})\n")
}

fn cstring(path: &Path) -> Option<CString> {
    CString::new(path.as_os_str().as_bytes()).ok()
}

/// Starts the keeper of `dir` for process `pid` (this one, the target to be, or the target
/// `--live` started). Without pidfds (Linux before 5.3) there is no keeper: stale profiles
/// are then removed by the next run.
pub fn start(dir: &Path, pid: i32, label: &str, announce: bool) {
    let (Some(dir_c), Some(profile), Some(kept)) = (
        cstring(dir),
        cstring(&dir.join(PROFILE)),
        cstring(&dir.join(KEPT)),
    ) else {
        return;
    };
    let why = format!("the target ({label}) ended before fluoro could report");
    let line = kept_line(&why, &dir.join(KEPT));
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if pidfd < 0 {
        return;
    }
    // SAFETY: fork in fluoro's CLI process before the exec, which runs no other thread of
    // its own; the child only calls async-signal-safe functions on memory prepared above.
    let child = unsafe { libc::fork() };
    if child == 0 {
        // SAFETY: see above; setsid and fork are async-signal-safe, _exit never returns.
        unsafe {
            libc::setsid();
            if libc::fork() == 0 {
                keep(pidfd, &dir_c, &profile, &kept, line.as_bytes(), announce);
            }
            libc::_exit(0);
        }
    }
    // SAFETY: closing our copy of the pidfd, which nothing else uses.
    unsafe { libc::close(pidfd) };
    if child > 0 {
        let mut status = 0;
        // SAFETY: reaps the intermediate child, which exits at once.
        unsafe { libc::waitpid(child, &mut status, 0) };
    }
}

/// The keeper: waits for the target, then keeps and announces, or removes, its profile.
///
/// # Safety
/// Called only in the forked keeper process, which it ends.
unsafe fn keep(
    pidfd: i32,
    dir: &CString,
    profile: &CString,
    kept: &CString,
    line: &[u8],
    announce: bool,
) -> ! {
    // SAFETY: plain system calls on descriptors and prepared C strings of this process;
    // stdin and stdout go to /dev/null, every descriptor but stderr and the pidfd is closed.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
        }
        let fd = if pidfd == 3 { 3 } else { libc::dup2(pidfd, 3) };
        if libc::syscall(libc::SYS_close_range, 4u32, u32::MAX, 0u32) != 0 {
            for other in 4..1024 {
                libc::close(other);
            }
        }
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        while libc::poll(&mut poll, 1, -1) < 0
            && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {}
        if libc::access(profile.as_ptr(), libc::F_OK) == 0 {
            let mut told = false;
            if announce && libc::rename(profile.as_ptr(), kept.as_ptr()) == 0 {
                told = libc::write(2, line.as_ptr().cast(), line.len()) == line.len() as isize;
                if !told {
                    libc::unlink(kept.as_ptr());
                }
            }
            if !told {
                libc::unlink(profile.as_ptr());
            }
        }
        libc::rmdir(dir.as_ptr());
        libc::_exit(0)
    }
}
