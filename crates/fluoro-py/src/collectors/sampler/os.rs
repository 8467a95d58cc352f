//! The sampler's calls into the OS: reading this process's memory through the kernel, and
//! per-thread CPU clocks. The only `unsafe` code of the sampler.
//!
//! Memory is read with `process_vm_readv` on our own pid, never by dereferencing: a frame or
//! thread state freed while the sampler looks at it makes the kernel return an error or stale
//! bytes, never a fault in this process.

use std::io;

/// Copies `buf.len()` bytes at address `addr` of this process into `buf`.
pub fn read(addr: usize, buf: &mut [u8]) -> io::Result<()> {
    if addr == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "null address"));
    }
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `local` describes `buf`, which we own mutably for the call; the kernel only
    // reads the remote range and reports EFAULT for unmapped addresses instead of faulting.
    let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if n as usize != buf.len() {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short read"));
    }
    Ok(())
}

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

/// The address of the exported symbol `name` in this process (e.g. `_PyRuntime`).
pub fn symbol(name: &std::ffi::CStr) -> Option<usize> {
    // SAFETY: `name` is NUL-terminated; RTLD_DEFAULT searches the loaded objects and returns
    // null when the symbol is absent. The address is only used through `read`.
    let addr = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!addr.is_null()).then_some(addr as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_memory_and_refuses_bad_addresses() {
        let value: u64 = 0x1122_3344_5566_7788;
        let mut buf = [0u8; 8];
        read(&value as *const u64 as usize, &mut buf).unwrap();
        assert_eq!(u64::from_ne_bytes(buf), value);
        assert!(read(8, &mut buf).is_err());
        assert!(read(0, &mut buf).is_err());
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
