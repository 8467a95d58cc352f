//! The code objects of the stacks the hook sends, kept alive until tracking stops.
//!
//! The drain resolves a code object (file, name, line table) when it reads the first record
//! naming it, on the sampler thread, a few milliseconds after the allocation. By then the
//! code may be gone: a script's module code and its comprehensions die as soon as the script
//! ends, before the last drain; an `exec`'d string's code, as soon as it ran. Its memory, read
//! then, is whatever took its place, and lines came out wrong. So the hook takes a reference
//! to every code object of a stack it sends in full, and tracking gives them back after the
//! last drain. Code objects are not tracked by the cycle collector, so keeping them changes no
//! collection; it only makes them outlive the run's end by as long as the final drain takes.
//!
//! At most [`MOST`] are kept (a program that makes code without end, `exec` in a loop, keeps
//! the first ones only); the table is allocated once, in statics, and changed only by the GIL
//! holder.

use std::sync::atomic::{AtomicUsize, Ordering};

const SLOTS: usize = 1 << 16;
/// Code objects kept at most: 70 % of the slots, so that probes stay short.
const MOST: usize = SLOTS / 10 * 7;

static KEPT: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static LEN: AtomicUsize = AtomicUsize::new(0);

fn home(code: usize) -> usize {
    ((code as u64 >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48) as usize % SLOTS
}

/// Adds `code` to the set; whether it was not there yet and there was room.
fn insert(code: usize) -> bool {
    if code == 0 || LEN.load(Ordering::Relaxed) >= MOST {
        return false;
    }
    let mut i = home(code);
    loop {
        match KEPT[i].load(Ordering::Relaxed) {
            0 => {
                KEPT[i].store(code, Ordering::Relaxed);
                LEN.fetch_add(1, Ordering::Relaxed);
                return true;
            }
            k if k == code => return false,
            _ => i = (i + 1) % SLOTS,
        }
    }
}

/// Empties the set, handing each member to `f`.
fn take_all(mut f: impl FnMut(usize)) {
    if LEN.swap(0, Ordering::Relaxed) == 0 {
        return;
    }
    for slot in &KEPT {
        let code = slot.swap(0, Ordering::Relaxed);
        if code != 0 {
            f(code);
        }
    }
}

/// Keeps the code object at `code` alive until [`release`], taking a reference the first
/// time it is seen. Only the main interpreter's: a subinterpreter's objects die with it, and a
/// reference given back after that would free them again (3.12 aborted at exit).
///
/// # Safety
/// The GIL is held and `code` is a live code object (one of the calling thread's frames runs
/// it).
pub unsafe fn keep(code: usize) {
    // SAFETY: the GIL is held, so this thread has a current thread state.
    let main =
        unsafe { pyo3::ffi::PyInterpreterState_Get() == pyo3::ffi::PyInterpreterState_Main() };
    if main && insert(code) {
        // SAFETY: a live object (the caller's guarantee), with the GIL held; taking a reference
        // allocates nothing, so it is allowed inside the allocator hook.
        unsafe { pyo3::ffi::Py_IncRef(code as *mut pyo3::ffi::PyObject) };
    }
}

/// Gives back every reference [`keep`] took. Call with the GIL held, after the last drain and
/// with the hook removed: a code object freed here is freed as the interpreter frees any.
pub fn release(_py: pyo3::Python<'_>) {
    take_all(|code| {
        // SAFETY: `keep` took this reference, so the object is alive; the GIL is held (`_py`).
        unsafe { pyo3::ffi::Py_DecRef(code as *mut pyo3::ffi::PyObject) }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_kept_once_and_the_set_stops_at_its_bound() {
        take_all(|_| {});
        assert!(insert(0x7f00_0010));
        assert!(!insert(0x7f00_0010));
        assert!(!insert(0));
        let accepted = (1..=MOST as u64 + 100)
            .filter(|i| insert((0x7f00_0000 + i * 64) as usize))
            .count();
        // One slot went to the first code.
        assert_eq!(accepted, MOST - 1);
        let mut taken = Vec::new();
        take_all(|c| taken.push(c));
        assert_eq!(taken.len(), MOST);
        assert!(taken.contains(&0x7f00_0010));
        assert!(insert(0x7f00_0010), "emptied");
        take_all(|_| {});
    }
}
