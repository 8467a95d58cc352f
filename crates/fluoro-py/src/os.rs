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

#[cfg(test)]
mod tests {
    use super::*;

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
