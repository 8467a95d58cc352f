//! Calls into the OS that the collectors share: per-thread CPU clocks, thread ids, and the
//! signal mask of fluoro's own threads.

/// The clock id of thread `tid`'s CPU-time clock: Linux encodes it as `~tid << 3` with the
/// per-thread bit (4) and the scheduler clock (2), as glibc's `pthread_getcpuclockid` does.
fn thread_cpu_clock(tid: u64) -> libc::clockid_t {
    ((!(tid as libc::clockid_t)) << 3) | 6
}

/// CPU time used so far by the thread with OS id `tid`, in nanoseconds; `None` once the thread
/// has ended.
pub fn thread_cpu_ns(tid: u64) -> Option<u64> {
    if tid == 0 {
        return None;
    }
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; an unknown or ended thread gives EINVAL.
    let rc = unsafe { libc::clock_gettime(thread_cpu_clock(tid), &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

/// CPU time used by this process's children that have ended and been waited for, in
/// nanoseconds (`RUSAGE_CHILDREN`): what a profile of this process alone does not show.
pub fn ended_children_cpu_ns() -> u64 {
    // SAFETY: rusage is plain data, zero is a valid value; the pointer is valid for writes.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid out-pointer and RUSAGE_CHILDREN a valid `who`.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return 0;
    }
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    ns(usage.ru_utime) + ns(usage.ru_stime)
}

/// CPU time used so far by thread `tid` of another process `pid`, in nanoseconds, from
/// `/proc/PID/task/TID/schedstat` (a thread's CPU clock can only be read within its own
/// process): it lags a running thread by up to a scheduler tick.
pub fn task_cpu_ns(pid: i32, tid: u64) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Whether the thread with OS id `tid` of this process (or of process `pid`) is running or
/// waiting for a CPU (state `R` in `/proc/self/task/TID/stat`), rather than asleep or blocked;
/// `None` once it has ended. `files` keeps each thread's file open between calls (re-read from
/// the start each time).
pub fn thread_runnable(
    pid: Option<i32>,
    tid: u64,
    files: &mut std::collections::HashMap<u64, std::fs::File>,
) -> Option<bool> {
    use std::os::unix::fs::FileExt;
    if tid == 0 {
        return None;
    }
    let file = match files.entry(tid) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => {
            let path = match pid {
                Some(pid) => format!("/proc/{pid}/task/{tid}/stat"),
                None => format!("/proc/self/task/{tid}/stat"),
            };
            e.insert(std::fs::File::open(path).ok()?)
        }
    };
    let mut buf = [0u8; 512];
    let n = match file.read_at(&mut buf, 0) {
        Ok(n) => n,
        Err(_) => {
            files.remove(&tid);
            return None;
        }
    };
    // `pid (comm) S ...`: the state follows the last `)`, as comm may hold anything.
    let text = &buf[..n];
    let close = text.iter().rposition(|&b| b == b')')?;
    let state = *text.get(close + 2)?;
    Some(state == b'R')
}

/// Blocks every signal that can be blocked in the calling thread, so that signals sent to the
/// process (SIGINT from ^C, SIGTERM, …) go to the target's own threads. CPython only notices a
/// signal promptly when its C handler runs on a Python thread: caught on the sampler thread, a
/// ^C would wait unseen.
pub fn block_signals() {
    // SAFETY: `set` is a local sigset_t initialised by sigfillset before use; pthread_sigmask
    // only changes the calling thread's mask and accepts a null old-set pointer.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Makes the calling thread's timers fire when asked, not up to 50 µs later: the kernel
/// batches timers that fall within a thread's slack, which would wake the sampler together
/// with the target's own timed waits and read its stacks at the moment they end.
pub fn precise_timers() {
    // SAFETY: PR_SET_TIMERSLACK takes one integer and only changes the calling thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

/// Every thread of another process stopped through ptrace (`PTRACE_SEIZE`, then
/// `PTRACE_INTERRUPT`), so its memory holds still while it is read; let go when dropped. No
/// signal is sent: the process and its parent see nothing but the pause.
pub struct Stopped {
    tids: Vec<libc::pid_t>,
}

impl Stopped {
    pub fn all_threads(pid: i32) -> std::io::Result<Stopped> {
        let mut stopped = Stopped { tids: Vec::new() };
        for task in std::fs::read_dir(format!("/proc/{pid}/task"))?.flatten() {
            let Some(tid) = task
                .file_name()
                .to_str()
                .and_then(|t| t.parse::<libc::pid_t>().ok())
            else {
                continue;
            };
            // SAFETY: PTRACE_SEIZE takes a thread id and ignores the address; it fails
            // (EPERM, ESRCH) without side effects.
            if unsafe { libc::ptrace(libc::PTRACE_SEIZE, tid, 0, 0) } != 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::ESRCH) {
                    continue; // the thread has ended meanwhile
                }
                return Err(e);
            }
            stopped.tids.push(tid);
            let mut status = 0;
            // SAFETY: the thread is ours to trace now; INTERRUPT stops it and waitpid (with
            // __WALL, as it is a thread) reaps that stop into a local.
            unsafe {
                libc::ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0);
                libc::waitpid(tid, &mut status, libc::__WALL);
            }
        }
        Ok(stopped)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        for &tid in &self.tids {
            // SAFETY: a thread this process seized; DETACH lets it run on as before.
            unsafe {
                libc::ptrace(libc::PTRACE_DETACH, tid, 0, 0);
            }
        }
    }
}

/// This thread's OS id.
pub fn gettid() -> u64 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u64 }
}

/// This thread's `pthread_t`, as CPython stores it in `PyThreadState.thread_id`.
pub fn pthread_self() -> u64 {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() as u64 }
}

/// Lets SIGINT pass this process by: `fluoro run --live` waits for its target, which gets
/// the terminal's ^C itself and decides what it means.
pub fn ignore_interrupts() {
    // SAFETY: setting a signal's disposition to SIG_IGN has no handler to run.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
}

/// Sends SIGINT to process `pid`, as ^C in its terminal would.
pub fn interrupt(pid: i32) {
    // SAFETY: kill takes a pid and a signal number; a gone pid is an error return, no more.
    unsafe { libc::kill(pid, libc::SIGINT) };
}

/// How a copy of this process made by [`in_forked_copy`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyEnd {
    /// It returned this code.
    Exited(i32),
    /// Signal N ended it.
    Killed(i32),
}

/// Runs `work` in a copy of this process made by `fork()`, waits for it, and says how it
/// ended; `None` when no copy was made: the fork failed, or SIGCHLD is not at its default
/// (the process would see the copy end: a handler of its own runs, or SIG_IGN reaps it
/// before it is waited for). The copy runs this thread alone and ends with `_exit`, so
/// neither the interpreter's nor libc's exit handlers run in it: `work` must touch no Python
/// and take no lock that another thread could have held at the fork.
pub fn in_forked_copy(work: impl FnOnce() -> i32) -> Option<CopyEnd> {
    // SAFETY: sigaction with no new action only reads the current one into `current`.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `current` is a valid out-pointer.
    let read = unsafe { libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut current) };
    if read != 0
        || current.sa_sigaction != libc::SIG_DFL
        || current.sa_flags & libc::SA_NOCLDWAIT != 0
    {
        return None;
    }
    // SAFETY: fork has no preconditions; glibc's fork makes malloc usable in the copy, and
    // the copy runs `work` (bound by the contract above) and then `_exit`.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return None;
    }
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or(70);
        // SAFETY: ends the copy at once; what it wrote went straight to its descriptors.
        unsafe { libc::_exit(code) }
    }
    let mut status = 0;
    loop {
        // SAFETY: waits for the child made above; `status` is a valid out-pointer.
        let done = unsafe { libc::waitpid(pid, &mut status, 0) };
        if done == pid {
            break;
        }
        if done < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        return None;
    }
    if libc::WIFEXITED(status) {
        Some(CopyEnd::Exited(libc::WEXITSTATUS(status)))
    } else if libc::WIFSIGNALED(status) {
        Some(CopyEnd::Killed(libc::WTERMSIG(status)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forked_copy_ends_with_its_code_or_its_signal() {
        assert_eq!(in_forked_copy(|| 3), Some(CopyEnd::Exited(3)));
        let end = in_forked_copy(|| {
            // SAFETY: the copy signals itself; SIGKILL cannot be caught.
            unsafe { libc::raise(libc::SIGKILL) };
            0
        });
        assert_eq!(end, Some(CopyEnd::Killed(libc::SIGKILL)));
    }

    #[test]
    fn blocked_signals_stay_blocked_in_that_thread_only() {
        let blocked_in_thread = std::thread::spawn(|| {
            block_signals();
            current_mask_has(libc::SIGINT)
        })
        .join()
        .unwrap();
        assert!(blocked_in_thread);
        assert!(!current_mask_has(libc::SIGINT));
    }

    fn current_mask_has(signal: libc::c_int) -> bool {
        // SAFETY: reads the calling thread's mask into a local sigset_t.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut set);
            libc::sigismember(&set, signal) == 1
        }
    }

    #[test]
    fn a_sleeping_thread_is_not_runnable_and_this_one_is() {
        let mut files = std::collections::HashMap::new();
        assert_eq!(thread_runnable(None, gettid(), &mut files), Some(true));
        let (tx, rx) = std::sync::mpsc::channel();
        let sleeper = std::thread::spawn(move || {
            tx.send(gettid()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
        });
        let tid = rx.recv().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert_eq!(thread_runnable(None, tid, &mut files), Some(false));
        sleeper.join().unwrap();
        assert_eq!(thread_runnable(None, tid, &mut files), None);
        assert_eq!(thread_runnable(None, 0, &mut files), None);
    }

    #[test]
    fn thread_cpu_clock_counts_this_threads_work() {
        let tid = gettid();
        let before = thread_cpu_ns(tid).unwrap();
        let mut x = 0u64;
        for i in 0..3_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(thread_cpu_ns(tid).unwrap() > before);
        assert_eq!(thread_cpu_ns(u32::MAX as u64 - 5), None);
    }
}
