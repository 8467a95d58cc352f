//! Reading this process's memory through the kernel: the one way the sampler looks at the
//! interpreter's structures while the interpreter goes on running.
//!
//! Memory is read with `process_vm_readv` on our own pid, never by dereferencing: a frame or
//! thread state freed while the sampler looks at it makes the kernel return an error or stale
//! bytes, never a fault in this process.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

/// The process every read looks at: 0 for this one.
static TARGET: AtomicI32 = AtomicI32::new(0);

/// Points every later read at process `pid` instead of this one: `fluoro dump` reads another
/// interpreter with the same code the sampler uses on its own. Only a fluoro command's own
/// process does this, never a profiled one.
pub fn point_at(pid: i32) {
    TARGET.store(pid, Ordering::Relaxed);
}

fn target() -> libc::pid_t {
    match TARGET.load(Ordering::Relaxed) {
        // SAFETY: getpid has no preconditions.
        0 => unsafe { libc::getpid() },
        pid => pid,
    }
}

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
    let pid = target();
    // SAFETY: `local` describes `buf`, which we own mutably for the call; the kernel only
    // reads the remote range and reports EFAULT for unmapped addresses instead of faulting.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if n as usize != buf.len() {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short read"));
    }
    Ok(())
}

/// The most parts [`read_parts`] reads in one call.
const MAX_PARTS: usize = 8;

/// Copies the `first.len()` bytes at `addr` into `first`, then the same bytes again into
/// `second`, in one call: comparing the two tells what changed while they were read.
pub fn read_twice(addr: usize, first: &mut [u8], second: &mut [u8]) -> io::Result<()> {
    if first.len() != second.len() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad read"));
    }
    read_parts(&mut [(addr, first), (addr, second)])
}

/// Copies each part's bytes at its address into its buffer, the parts one after another in one
/// call: reading a word before and after a larger copy tells whether it changed meanwhile.
pub fn read_parts(parts: &mut [(usize, &mut [u8])]) -> io::Result<()> {
    if parts.is_empty() || parts.len() > MAX_PARTS || parts.iter().any(|(addr, _)| *addr == 0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad read"));
    }
    let empty = libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    };
    let mut local = [empty; MAX_PARTS];
    let mut remote = [empty; MAX_PARTS];
    let mut total = 0;
    for (i, (addr, buf)) in parts.iter_mut().enumerate() {
        local[i] = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        remote[i] = libc::iovec {
            iov_base: *addr as *mut libc::c_void,
            iov_len: buf.len(),
        };
        total += buf.len();
    }
    let count = parts.len() as libc::c_ulong;
    let pid = target();
    // SAFETY: the first `count` entries of `local` describe the parts' buffers, which we own
    // mutably for the call; the kernel only reads the remote ranges and reports EFAULT for
    // unmapped addresses instead of faulting.
    let n =
        unsafe { libc::process_vm_readv(pid, local.as_ptr(), count, remote.as_ptr(), count, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if n as usize != total {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short read"));
    }
    Ok(())
}

/// The most parts [`read_each`] reads in one call (Linux's `IOV_MAX`).
const MAX_IOV: usize = 1024;

/// Copies `len` bytes at each of `addrs` into consecutive `len`-byte slots of `out`, in as
/// few calls as it can: many small objects (a thousand tasks) read in a few system calls
/// instead of one each. `ok[i]` says whether part `i` was read; a part at an unmapped
/// address fails alone (the kernel stops a call at the first part it cannot read, and the
/// next call starts after it).
pub fn read_each(addrs: &[usize], len: usize, out: &mut Vec<u8>, ok: &mut Vec<bool>) {
    out.clear();
    out.resize(addrs.len() * len, 0);
    ok.clear();
    ok.resize(addrs.len(), false);
    if len == 0 {
        return;
    }
    let pid = target();
    let empty = libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    };
    let mut local = vec![empty; MAX_IOV];
    let mut remote = vec![empty; MAX_IOV];
    // Null addresses (nothing to read) fail without a call.
    let wanted: Vec<usize> = (0..addrs.len()).filter(|&i| addrs[i] != 0).collect();
    let base = out.as_mut_ptr();
    let mut at = 0;
    while at < wanted.len() {
        let count = (wanted.len() - at).min(MAX_IOV);
        for (k, &i) in wanted[at..at + count].iter().enumerate() {
            local[k] = libc::iovec {
                // SAFETY: `i < addrs.len()`, so the slot `i * len .. (i + 1) * len` lies inside
                // `out`, which was sized to `addrs.len() * len` above.
                iov_base: unsafe { base.add(i * len) }.cast(),
                iov_len: len,
            };
            remote[k] = libc::iovec {
                iov_base: addrs[i] as *mut libc::c_void,
                iov_len: len,
            };
        }
        // SAFETY: the first `count` entries of `local` describe disjoint `len`-byte slots of
        // `out` (distinct indices), which we own mutably for the call; the kernel only reads
        // the remote ranges, reports EFAULT for unmapped ones instead of faulting, and never
        // splits a part.
        let n = unsafe {
            libc::process_vm_readv(
                pid,
                local.as_ptr(),
                count as libc::c_ulong,
                remote.as_ptr(),
                count as libc::c_ulong,
                0,
            )
        };
        let done = if n > 0 { n as usize / len } else { 0 };
        for &i in &wanted[at..at + done] {
            ok[i] = true;
        }
        // The part after those read failed (or the call did): skip it.
        at += if done < count { done + 1 } else { count };
    }
}

/// The address of the exported symbol `name` in this process (e.g. `_PyRuntime`).
pub fn symbol(name: &std::ffi::CStr) -> Option<usize> {
    // SAFETY: `name` is NUL-terminated; RTLD_DEFAULT searches the loaded objects and returns
    // null when the symbol is absent. The address is only used through `read`.
    let addr = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!addr.is_null()).then_some(addr as usize)
}

/// The native-endian word at `at` in `buf`, 0 past its end.
pub fn usize_at(buf: &[u8], at: usize) -> usize {
    buf.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(usize::from_ne_bytes)
        .unwrap_or(0)
}

/// The native-endian `int` at `at` in `buf`, 0 past its end.
pub fn i32_at(buf: &[u8], at: usize) -> i32 {
    buf.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(i32::from_ne_bytes)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_many_parts_in_one_go_and_skips_the_bad_ones() {
        let values: Vec<u64> = (0..3000).collect();
        let mut addrs: Vec<usize> = values.iter().map(|v| v as *const u64 as usize).collect();
        addrs[5] = 8;
        addrs[1500] = 0;
        let (mut out, mut ok) = (Vec::new(), Vec::new());
        read_each(&addrs, 8, &mut out, &mut ok);
        for (i, slot) in out.chunks_exact(8).enumerate() {
            let good = i != 5 && i != 1500;
            assert_eq!(ok[i], good, "{i}");
            if good {
                assert_eq!(u64::from_ne_bytes(slot.try_into().unwrap()), i as u64);
            }
        }
    }

    #[test]
    fn reads_own_memory_and_refuses_bad_addresses() {
        let value: u64 = 0x1122_3344_5566_7788;
        let mut buf = [0u8; 8];
        read(&value as *const u64 as usize, &mut buf).unwrap();
        assert_eq!(u64::from_ne_bytes(buf), value);
        assert!(read(8, &mut buf).is_err());
        assert!(read(0, &mut buf).is_err());
        let mut again = [0u8; 8];
        read_twice(&value as *const u64 as usize, &mut buf, &mut again).unwrap();
        assert_eq!(buf, again);
        assert!(read_twice(8, &mut buf, &mut again).is_err());
        let other: u32 = 7;
        let (mut word, mut small) = ([0u8; 8], [0u8; 4]);
        read_parts(&mut [
            (&value as *const u64 as usize, &mut word),
            (&other as *const u32 as usize, &mut small),
        ])
        .unwrap();
        assert_eq!(
            (u64::from_ne_bytes(word), u32::from_ne_bytes(small)),
            (value, other)
        );
        assert!(read_parts(&mut []).is_err());
        assert!(
            read_parts(&mut [(&value as *const u64 as usize, &mut word), (8, &mut small)]).is_err()
        );
        // More than the walker's largest read (two copies of a chunk, the innermost frame and
        // the top of the used stack) in one call.
        let at = &value as *const u64 as usize;
        let mut five = [[0u8; 8]; 5];
        let [a, b, c, d, e] = &mut five;
        read_parts(&mut [(at, a), (at, b), (at, c), (at, d), (at, e)]).unwrap();
        assert!(five.iter().all(|w| u64::from_ne_bytes(*w) == value));
    }
}
