//! Which samples take a thread's CPU time. The sampler reads each thread's CPU clock at every
//! sample; the CPU used between two samples goes to a stack that was working, never to one
//! that was asleep or blocked. On the CPU timeline the samples that find a thread working fall
//! at random, so each stack's expected share is its CPU time, and the thread's total is what
//! the OS counted.

use fluoro_profile::StackId;

/// What the stack reader saw of a thread at one sample.
#[derive(Debug, Clone, Copy)]
pub enum Seen {
    Read {
        /// Its CPU clock moved while its stack was read: it was on a CPU.
        moved: bool,
        /// On a CPU or waiting for one (state R), rather than asleep or blocked.
        runnable: bool,
        /// It held the GIL.
        holds_gil: bool,
        /// Its innermost frame is a call that blocks ([`blocks`]): on a CPU there, it has
        /// just woken, and what it used since the last sample went before it waited.
        waits: bool,
    },
    /// The reader cannot tell (the GIL-taking fallback): the sample takes what the thread used
    /// since the last one.
    Unknown,
}

/// A thread's CPU not yet given to a stack, and what its last sample saw.
#[derive(Debug, Clone, Default)]
pub struct CpuShare {
    /// CPU the thread used since its last working sample.
    pub unassigned: u64,
    /// Its last sample took no CPU: it found the thread asleep, blocked, or waiting to run
    /// in a call it may have just woken in.
    was_idle: bool,
    /// The stack of its last sample, if that sample found it on a CPU.
    on_cpu_at: Option<StackId>,
}

impl CpuShare {
    /// The CPU this sample of `stack` takes, given the `used` nanoseconds the thread's clock
    /// advanced since its last sample, and whether the sample counts as working.
    ///
    /// On a CPU, it takes all the thread used since its last working sample. Waiting for a CPU
    /// (state R), the thread was preempted, or has just woken from a sleep or a lock wait with
    /// its stack still in the waiting call, where the CPU used before the wait does not belong.
    /// Holding the GIL, it has run since it woke: working, given what it used before its last
    /// sample too unless that sample took nothing. Without the GIL, it is still working in C
    /// code that let the GIL go (hashing a large buffer) when its last sample found it on a CPU
    /// in the same call. Otherwise, or in a call that blocks whatever its state, the CPU waits
    /// for the next working sample.
    pub fn take(&mut self, seen: Seen, stack: StackId, used: u64) -> (u64, bool) {
        let Seen::Read {
            moved,
            runnable,
            holds_gil,
            waits,
        } = seen
        else {
            return (used, used > 0);
        };
        if waits {
            self.unassigned += used;
            self.was_idle = true;
            self.on_cpu_at = None;
            return (0, false);
        }
        let same_call = self.on_cpu_at == Some(stack);
        let taken = if moved || (runnable && (holds_gil && !self.was_idle || same_call)) {
            Some(std::mem::take(&mut self.unassigned) + used)
        } else if runnable && holds_gil {
            Some(used)
        } else {
            self.unassigned += used;
            None
        };
        self.was_idle = taken.is_none();
        self.on_cpu_at = moved.then_some(stack);
        (taken.unwrap_or(0), taken.is_some())
    }
}

/// Python functions whose own frame, when innermost, is blocked in a call into C (a lock's
/// `acquire`, a selector's `poll`, `waitpid`), by file and last part of the qualified name
/// (3.10's code objects have no qualified name): `Condition.wait` (under `Event.wait`,
/// `Queue.get`, `Semaphore.acquire`), `Thread.join` and its `_wait_for_tstate_lock`, a
/// selector's `select`, `Popen._wait`.
const BLOCKING: &[(&str, &str)] = &[
    ("threading.py", "wait"),
    ("threading.py", "join"),
    ("threading.py", "_wait_for_tstate_lock"),
    ("selectors.py", "select"),
    ("subprocess.py", "_wait"),
];

/// Whether a frame of `qualname` in `filename`, innermost, is waiting rather than working.
pub fn blocks(filename: &str, qualname: &str) -> bool {
    let file = filename.rsplit('/').next().unwrap_or(filename);
    let name = qualname.rsplit('.').next().unwrap_or(qualname);
    BLOCKING.iter().any(|&(f, n)| f == file && n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUSY: StackId = 1;
    const ASLEEP: StackId = 2;

    fn read(moved: bool, runnable: bool, holds_gil: bool) -> Seen {
        Seen::Read {
            moved,
            runnable: runnable || moved,
            holds_gil,
            waits: false,
        }
    }

    #[test]
    fn a_thread_found_in_a_call_that_blocks_leaves_its_cpu_to_the_next_working_sample() {
        let mut share = CpuShare::default();
        assert_eq!(share.take(read(true, true, true), BUSY, 100), (100, true));
        // Worked 600 us more, waited on a condition, woke: found on a CPU in `wait`.
        let woken = Seen::Read {
            moved: true,
            runnable: true,
            holds_gil: true,
            waits: true,
        };
        assert_eq!(share.take(woken, ASLEEP, 610), (0, false));
        // Not taken by the next sample either as a woken thread still in the same call.
        assert_eq!(share.take(read(false, true, true), BUSY, 5), (5, true));
        assert_eq!(share.take(read(true, true, true), BUSY, 20), (630, true));
    }

    #[test]
    fn the_calls_that_block_are_known_by_file_and_name() {
        assert!(blocks("/usr/lib/python3.12/threading.py", "Condition.wait"));
        assert!(blocks(
            "/usr/lib/python3.10/threading.py",
            "_wait_for_tstate_lock"
        ));
        assert!(blocks(
            "/usr/lib/python3.13/selectors.py",
            "EpollSelector.select"
        ));
        assert!(!blocks("/usr/lib/python3.12/threading.py", "Thread.run"));
        assert!(!blocks("app/threading.py.bak", "wait"));
        assert!(!blocks("/srv/app.py", "Condition.wait"));
    }

    #[test]
    fn a_sample_on_a_cpu_takes_what_the_thread_used_since_the_last_one_that_worked() {
        let mut share = CpuShare::default();
        assert_eq!(
            share.take(read(false, false, false), ASLEEP, 300),
            (0, false)
        );
        assert_eq!(share.take(read(true, true, true), BUSY, 100), (400, true));
        assert_eq!(share.unassigned, 0);
    }

    #[test]
    fn a_thread_just_woken_in_its_waiting_call_does_not_take_the_cpu_before_the_wait() {
        let mut share = CpuShare::default();
        assert_eq!(share.take(read(true, true, true), BUSY, 100), (100, true));
        // Busy for 4 ms after that sample, then asleep: found asleep.
        assert_eq!(
            share.take(read(false, false, false), ASLEEP, 4_000),
            (0, false)
        );
        // Woken, waiting for a CPU and the GIL, still in the sleep call.
        assert_eq!(share.take(read(false, true, false), ASLEEP, 5), (0, false));
        // Woken and holding the GIL: it takes what it used since it was found asleep only.
        let mut woken = share.clone();
        assert_eq!(woken.take(read(false, true, true), ASLEEP, 7), (7, true));
        assert_eq!(woken.unassigned, 4_005);
        // The 4 ms go to the next sample on a CPU.
        assert_eq!(share.take(read(true, true, true), BUSY, 50), (4_055, true));
    }

    #[test]
    fn a_preempted_thread_holding_the_gil_is_working() {
        let mut share = CpuShare::default();
        assert_eq!(share.take(read(true, true, true), BUSY, 10), (10, true));
        assert_eq!(share.take(read(false, false, false), BUSY, 20), (0, false));
        assert_eq!(share.take(read(false, true, true), BUSY, 30), (30, true));
        assert_eq!(share.take(read(false, true, true), BUSY, 40), (60, true));
    }

    #[test]
    fn a_preempted_thread_without_the_gil_works_on_only_in_the_call_it_was_seen_running() {
        let mut share = CpuShare::default();
        assert_eq!(share.take(read(true, true, false), BUSY, 10), (10, true));
        assert_eq!(share.take(read(false, true, false), BUSY, 20), (20, true));
        // Seen runnable (not running) in the same call again: not seen on a CPU last time.
        assert_eq!(share.take(read(false, true, false), BUSY, 30), (0, false));
        assert_eq!(share.take(read(true, true, false), BUSY, 1), (31, true));
        // Runnable without the GIL in another call: may have just woken there.
        assert_eq!(share.take(read(false, true, false), ASLEEP, 40), (0, false));
    }

    #[test]
    fn without_a_reading_each_sample_takes_what_was_used() {
        let mut share = CpuShare::default();
        assert_eq!(share.take(Seen::Unknown, BUSY, 0), (0, false));
        assert_eq!(share.take(Seen::Unknown, BUSY, 25), (25, true));
    }
}
