//! Where threads waited: each thread's idle samples (taken while it used no CPU), classified
//! by the frames they waited in, so that reports can set idle time apart in one line.

use super::{stack_functions, FunctionKey};
use fluoro_profile::{Profile, ThreadIdx};
use std::collections::HashMap;

/// What an idle thread was waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WaitKind {
    /// A lock, condition, event, semaphore, queue or future.
    Lock,
    /// `time.sleep`, `asyncio.sleep`.
    Sleep,
    /// A socket, a selector, a pipe, a file, the terminal.
    Io,
    /// Another thread or process to finish.
    Join,
    /// Nothing recognised: a frame the classification does not know.
    Other,
}

impl WaitKind {
    /// The word reports print.
    pub fn name(self) -> &'static str {
        match self {
            WaitKind::Lock => "lock",
            WaitKind::Sleep => "sleep",
            WaitKind::Io => "I/O",
            WaitKind::Join => "join",
            WaitKind::Other => "other",
        }
    }
}

/// Frames above the innermost one that may still say what it waits for (`Queue.get` over
/// `Condition.wait`, a user function over `Thread.join`).
const OUTER_FRAMES: usize = 3;

/// Python-level functions that block, by qualified name.
const JOIN_FUNCTIONS: &[&str] = &[
    "Thread.join",
    "Thread._wait_for_tstate_lock",
    "BaseProcess.join",
    "Popen.wait",
    "Popen._wait",
    "Pool.join",
    "Executor.shutdown",
    "ThreadPoolExecutor.shutdown",
    "ProcessPoolExecutor.shutdown",
];
const LOCK_FUNCTIONS: &[&str] = &[
    "Condition.wait",
    "Condition.wait_for",
    "Event.wait",
    "Barrier.wait",
    "Queue.get",
    "Queue.put",
    "Queue.join",
    "Future.result",
    "Future.exception",
];
/// Names (the last part of a qualified name) of functions that wait for I/O.
const IO_NAMES: &[&str] = &[
    "select",
    "poll",
    "read",
    "readinto",
    "readline",
    "recv",
    "recv_into",
    "recvfrom",
    "accept",
    "connect",
    "create_connection",
    "getaddrinfo",
    "sendall",
    "communicate",
    "_communicate",
    "serve_forever",
    "urlopen",
];
/// Modules whose frames wait for I/O whatever the function.
const IO_MODULES: &[&str] = &["selectors.py", "socket.py", "ssl.py", "selector_events.py"];

/// Calls into C (no frame of their own) recognised in the innermost frame's source line.
const SOURCE_CALLS: &[(&str, WaitKind)] = &[
    ("sleep(", WaitKind::Sleep),
    (".acquire(", WaitKind::Lock),
    (".wait(", WaitKind::Lock),
    ("select(", WaitKind::Io),
    (".poll(", WaitKind::Io),
    (".recv", WaitKind::Io),
    (".accept(", WaitKind::Io),
    (".read(", WaitKind::Io),
    (".readline(", WaitKind::Io),
    ("input(", WaitKind::Io),
];

/// What the function `qualname` of `filename` waits for, when it is one known to block.
fn function_kind(filename: &str, qualname: &str) -> Option<WaitKind> {
    let name = qualname.rsplit('.').next().unwrap_or(qualname);
    let module = filename.rsplit('/').next().unwrap_or(filename);
    if JOIN_FUNCTIONS.contains(&qualname) {
        Some(WaitKind::Join)
    } else if LOCK_FUNCTIONS.contains(&qualname) || name == "acquire" {
        Some(WaitKind::Lock)
    } else if name == "sleep" {
        Some(WaitKind::Sleep)
    } else if IO_NAMES.contains(&name) || IO_MODULES.contains(&module) {
        Some(WaitKind::Io)
    } else {
        None
    }
}

/// What a stack waited for: `frames` are `(filename, qualname)` innermost first, `leaf_source`
/// the innermost frame's source line (where a call into C such as `time.sleep` shows).
pub fn waiting_kind(frames: &[(&str, &str)], leaf_source: Option<&str>) -> WaitKind {
    let by_function = |&(filename, qualname): &(&str, &str)| function_kind(filename, qualname);
    let by_source = || {
        let text = leaf_source?;
        SOURCE_CALLS
            .iter()
            .find(|(call, _)| text.contains(call))
            .map(|&(_, kind)| kind)
    };
    frames
        .first()
        .and_then(by_function)
        .or_else(by_source)
        .or_else(|| {
            frames
                .iter()
                .skip(1)
                .take(OUTER_FRAMES)
                .find_map(by_function)
        })
        .unwrap_or(WaitKind::Other)
}

/// A thread's idle time and where it waited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleThread<'p> {
    pub thread: ThreadIdx,
    pub name: String,
    /// Wall time of all the thread's samples.
    pub wall_ns: u64,
    /// Wall time of its idle samples.
    pub idle_ns: u64,
    /// Idle time by what it waited for, heaviest first.
    pub kinds: Vec<(WaitKind, u64)>,
    /// The innermost frame (function and line) that held the most idle time, its kind and
    /// idle time.
    pub top: (FunctionKey<'p>, u32, WaitKind, u64),
}

/// Every thread with idle samples, in thread-table order; `source_line(filename, line)` reads
/// source text for calls into C.
pub fn idle_table<'p>(
    profile: &'p Profile,
    mut source_line: impl FnMut(&str, u32) -> Option<String>,
) -> Vec<IdleThread<'p>> {
    type Place<'p> = (FunctionKey<'p>, u32, WaitKind);
    let mut wall: HashMap<ThreadIdx, u64> = HashMap::new();
    let mut places: HashMap<ThreadIdx, HashMap<Place<'p>, u64>> = HashMap::new();
    for w in &profile.weights {
        *wall.entry(w.thread).or_default() += w.wall_ns;
        if w.idle_wall_ns == 0 {
            continue;
        }
        let frames = profile.frames(w.stack);
        let Some(&leaf) = frames.last() else {
            continue;
        };
        let keys = stack_functions(profile, &frames);
        let named: Vec<(&str, &str)> = keys
            .iter()
            .rev()
            .map(|k| (k.filename, k.qualname))
            .collect();
        let line = profile.line(leaf);
        let source = source_line(&profile.code(leaf).filename, line);
        let kind = waiting_kind(&named, source.as_deref());
        let key = FunctionKey::of(profile.code(leaf));
        *places
            .entry(w.thread)
            .or_default()
            .entry((key, line, kind))
            .or_default() += w.idle_wall_ns;
    }
    let mut rows: Vec<IdleThread<'p>> = places
        .into_iter()
        .filter_map(|(thread, places)| {
            let mut kinds: HashMap<WaitKind, u64> = HashMap::new();
            for (&(_, _, kind), &ns) in &places {
                *kinds.entry(kind).or_default() += ns;
            }
            let mut kinds: Vec<(WaitKind, u64)> = kinds.into_iter().collect();
            kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let ((key, line, kind), ns) = places
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))?;
            Some(IdleThread {
                thread,
                name: profile.thread_name(thread),
                wall_ns: wall.get(&thread).copied().unwrap_or(0),
                idle_ns: kinds.iter().map(|k| k.1).sum(),
                kinds,
                top: (key, line, kind, ns),
            })
        })
        .collect();
    rows.sort_by_key(|r| r.thread);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(frames: &[(&str, &str)], source: Option<&str>) -> WaitKind {
        waiting_kind(frames, source)
    }

    #[test]
    fn library_frames_name_what_was_waited_for() {
        let threading = "/usr/lib/python3.12/threading.py";
        assert_eq!(
            kind(
                &[(threading, "Condition.wait"), ("/q/queue.py", "Queue.get")],
                None
            ),
            WaitKind::Lock
        );
        assert_eq!(
            kind(
                &[
                    (threading, "Thread._wait_for_tstate_lock"),
                    (threading, "Thread.join")
                ],
                None
            ),
            WaitKind::Join
        );
        assert_eq!(kind(&[(threading, "Event.wait")], None), WaitKind::Lock);
        assert_eq!(
            kind(&[("/x/locks.py", "Lock.acquire")], None),
            WaitKind::Lock
        );
        assert_eq!(
            kind(&[("/a/asyncio/tasks.py", "sleep")], None),
            WaitKind::Sleep
        );
        let selectors = "/usr/lib/python3.12/selectors.py";
        assert_eq!(
            kind(&[(selectors, "EpollSelector.select")], None),
            WaitKind::Io
        );
        assert_eq!(
            kind(&[("/l/socket.py", "socket.accept")], None),
            WaitKind::Io
        );
        assert_eq!(
            kind(&[("/l/socket.py", "SocketIO.readinto")], None),
            WaitKind::Io
        );
    }

    #[test]
    fn calls_into_c_are_read_from_the_innermost_line() {
        let app = [("/w/app.py", "napper"), ("/w/app.py", "main")];
        assert_eq!(kind(&app, Some("time.sleep(0.006)")), WaitKind::Sleep);
        assert_eq!(
            kind(&app, Some("with lock: lock.acquire()")),
            WaitKind::Lock
        );
        assert_eq!(kind(&app, Some("data = conn.recv(4096)")), WaitKind::Io);
        assert_eq!(kind(&app, Some("total += x")), WaitKind::Other);
        assert_eq!(kind(&app, None), WaitKind::Other);
    }

    #[test]
    fn the_innermost_frame_wins_and_outer_frames_are_looked_at_only_a_few_deep() {
        let threading = "/usr/lib/python3.12/threading.py";
        // Innermost `Condition.wait` under `Thread.join`'s caller: the lock, not the join.
        assert_eq!(
            kind(
                &[(threading, "Condition.wait"), (threading, "Thread.join")],
                None
            ),
            WaitKind::Lock
        );
        // `Popen._try_wait` (in C `os.waitpid`) is known by its caller.
        let subprocess = "/usr/lib/python3.12/subprocess.py";
        assert_eq!(
            kind(
                &[(subprocess, "Popen._try_wait"), (subprocess, "Popen._wait")],
                None
            ),
            WaitKind::Join
        );
        let deep = [
            ("/w/app.py", "a"),
            ("/w/app.py", "b"),
            ("/w/app.py", "c"),
            ("/w/app.py", "d"),
            (threading, "Thread.join"),
        ];
        assert_eq!(kind(&deep, None), WaitKind::Other);
    }
}
