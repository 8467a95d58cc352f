//! asyncio tasks in the sampler's stacks (`fluoro run --async`): a thread running a task has
//! its stack cut at the task's coroutine and rooted at a `<task NAME>` frame, so its time goes
//! to the task and not to the event loop's machinery; and every task that waits is seen a
//! few times a second at the `await` it is parked on, for the time it spends awaiting.
//!
//! Task fields are found once by [`tasks_probe`], with the GIL, as soon as the target has
//! imported asyncio; everything after that reads memory without the GIL.

use crate::cpython::tasks::{TaskReader, TaskView};
use crate::cpython::tasks_probe::{self, Probed};
use crate::cpython::{layouts::Layout, ThreadStack, Walker};
use fluoro_profile::{CodeId, CodeInfo, Frame, FIRST_TASK_CODE};
use pyo3::prelude::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How often the probe looks for asyncio until the target has imported it.
const PROBE_EVERY: Duration = Duration::from_millis(20);
/// How often the waiting tasks are read: each reading stands for the time since the last.
/// The default sampling period, so that a task's time awaiting is seen as finely as its time
/// running; at 40 ms, a program whose event loop ran 60 ms was read once or not at all, and
/// its main task, awaiting the others throughout, was missing from the tasks table in three
/// runs of five.
const WAIT_EVERY: Duration = Duration::from_millis(10);
/// With many tasks, readings are spaced so that they take at most this share of the time
/// (1 / 20: a thousand tasks take about 2 ms to read).
const WAIT_SHARE: u32 = 20;
/// Readings are never further apart than this.
const MAX_WAIT_EVERY: Duration = Duration::from_millis(500);
/// Task names remembered at most, by task and name object.
const MAX_NAMES: usize = 1 << 16;
/// Tasks followed at most up a chain of tasks awaiting tasks, and coroutines down a chain of
/// coroutines awaiting coroutines.
const MAX_AWAITERS: usize = 32;
const MAX_AWAITED: usize = 64;

enum State {
    /// asyncio not imported yet.
    Probing,
    Ready(Box<TaskReader>),
    /// Tasks cannot be read; the note says why.
    Off,
}

/// What the sampler knows of the target's tasks.
pub struct TaskTracker {
    state: State,
    layout: Option<&'static Layout>,
    last_probe: Option<Instant>,
    last_waits: Option<Instant>,
    /// The gap until the next reading of the waiting tasks.
    wait_every: Duration,
    names: TaskNames,
    /// Tasks running at the last tick, which are not waiting.
    running: Vec<usize>,
    views: Vec<TaskView>,
    /// The tasks waiting at the last reading, by address, and where.
    waiting: HashMap<usize, Vec<Frame>>,
    /// Why tasks are not read, once, for the profile.
    note: Option<String>,
}

/// The `<task NAME>` frames' stand-in codes.
struct TaskNames {
    /// The code id of each task name's frame.
    codes: HashMap<String, CodeId>,
    next_code: CodeId,
    fresh: Vec<(CodeId, CodeInfo)>,
    /// Names read, by task and name object.
    names: HashMap<(usize, usize), String>,
}

impl TaskNames {
    /// The code id of the `<task NAME>` frame of `task`, made on first use.
    fn code(&mut self, reader: &TaskReader, task: &TaskView) -> Option<CodeId> {
        let key = (task.addr, task.name);
        if !self.names.contains_key(&key) {
            if self.names.len() >= MAX_NAMES {
                self.names.clear();
            }
            self.names.insert(key, reader.name(task.name)?);
        }
        let name = &self.names[&key];
        if let Some(&id) = self.codes.get(name) {
            return Some(id);
        }
        let id = self.next_code;
        self.next_code += 1;
        self.codes.insert(name.clone(), id);
        self.fresh.push((id, CodeInfo::task(name)));
        Some(id)
    }

    fn frame(&mut self, reader: &TaskReader, task: &TaskView) -> Option<Frame> {
        Some(Frame {
            code: self.code(reader, task)?,
            offset: 0,
        })
    }
}

impl TaskTracker {
    /// A tracker for the GIL-free reader's `layout`; without one (the GIL sampler), tasks are
    /// not read and the profile says so.
    pub fn new(layout: Option<&'static Layout>) -> TaskTracker {
        let (state, note) = match layout {
            Some(_) => (State::Probing, None),
            None => (
                State::Off,
                Some("asyncio tasks are only read by the GIL-free sampler".to_owned()),
            ),
        };
        TaskTracker {
            state,
            layout,
            last_probe: None,
            last_waits: None,
            wait_every: WAIT_EVERY,
            names: TaskNames {
                codes: HashMap::new(),
                next_code: FIRST_TASK_CODE,
                fresh: Vec::new(),
                names: HashMap::new(),
            },
            running: Vec::new(),
            views: Vec::new(),
            waiting: HashMap::new(),
            note,
        }
    }

    /// Whether the probe should look for asyncio now (it takes the GIL).
    pub fn wants_probe(&self, now: Instant) -> bool {
        matches!(self.state, State::Probing)
            && self
                .last_probe
                .is_none_or(|t| now.saturating_duration_since(t) >= PROBE_EVERY)
    }

    /// Imports asyncio and looks for its tasks' layout now, on the thread that starts the run
    /// (GIL held), before the target's code runs. Looked for later from the sampler thread,
    /// the probe must wait for the GIL, and two threads each running an event loop that lets
    /// the GIL go and takes it back every few milliseconds kept it waiting until they ended
    /// (in about one run in six of tests/programs/asyncio_threads.py on 3.15).
    pub fn probe_at_start(&mut self, py: Python<'_>) {
        if !matches!(self.state, State::Probing) {
            return;
        }
        // What the import and the probe allocate is fluoro's, not the target's.
        super::alloc::paused(|| {
            if py.import("asyncio").is_ok() {
                self.probe(py, Instant::now());
            }
        });
    }

    /// Looks for asyncio, with the GIL held.
    pub fn probe(&mut self, py: Python<'_>, now: Instant) {
        self.last_probe = Some(now);
        let Some(layout) = self.layout else {
            return;
        };
        match tasks_probe::probe(py, layout) {
            Probed::NotYet => {}
            Probed::Ready(found) => {
                // Sampled allocations carry their task too.
                super::alloc::follow_tasks(py, layout, (*found).clone());
                self.state = State::Ready(Box::new(TaskReader::new(layout, *found)));
                // No task waited before its first reading for longer than since now: the
                // first reading stands for the time from here, as each later one does for the
                // time since the one before.
                self.last_waits = Some(now);
            }
            Probed::Unreadable(why) => {
                self.state = State::Off;
                self.note = Some(format!("asyncio tasks not read: {why}"));
            }
        }
    }

    /// Roots the stack of each thread running a task at the task: its frames from the
    /// task's coroutine inwards, under a `<task NAME>` frame, under the tasks awaiting it.
    pub fn attribute(&mut self, stacks: &mut [ThreadStack], walker: &mut Walker) {
        self.running.clear();
        let State::Ready(reader) = &mut self.state else {
            return;
        };
        for stack in stacks.iter_mut() {
            if stack.torn || stack.addresses.len() != stack.frames.len() {
                continue;
            }
            let frames: Vec<usize> = stack.addresses.iter().map(|&(f, _)| f).collect();
            let Some((task, at)) = reader.running(stack.tstate, &frames) else {
                continue;
            };
            let Some(root) = self.names.frame(reader, &task) else {
                continue;
            };
            self.running.push(task.addr);
            stack.frames.truncate(at + 1);
            stack.frames.push(root);
            awaiters(reader, walker, &mut self.names, &task, &mut stack.frames);
            stack.addresses.clear();
        }
    }

    /// Every task waiting, as a stack (outermost first: the tasks awaiting it, each a
    /// `<task NAME>` frame and the frame of its coroutine at its `await`, then its own) and
    /// the wall time it stands for, when the last reading is old enough.
    pub fn awaiting(
        &mut self,
        now: Instant,
        walker: &mut Walker,
        stacks: &[ThreadStack],
    ) -> Vec<(Vec<Frame>, u64)> {
        let State::Ready(reader) = &mut self.state else {
            return Vec::new();
        };
        let since = self.last_waits.unwrap_or(now);
        let wall = now.saturating_duration_since(since);
        if self.last_waits.is_some() && wall < self.wait_every {
            return Vec::new();
        }
        self.last_waits = Some(now);
        let cpu_before = crate::os::thread_cpu_ns(crate::os::gettid());
        let tstates: Vec<usize> = stacks.iter().map(|s| s.tstate).collect();
        reader.all(&tstates, &mut self.views);
        let mut read = Vec::new();
        let waiting: Vec<TaskView> = std::mem::take(&mut self.views)
            .into_iter()
            .filter(|t| !self.running.contains(&t.addr))
            .collect();
        let starts: Vec<usize> = waiting.iter().map(|t| t.frame).collect();
        let chains = coroutine_chains(reader, walker, &starts);
        for (task, chain) in waiting.into_iter().zip(chains) {
            let root = self.names.frame(reader, &task);
            let Some(root) = root.filter(|_| !chain.is_empty()) else {
                read.push((task.addr, None));
                continue;
            };
            let mut frames: Vec<Frame> = chain.into_iter().rev().collect();
            frames.push(root);
            awaiters(reader, walker, &mut self.names, &task, &mut frames);
            frames.reverse();
            read.push((task.addr, Some(frames)));
        }
        let out = credit(&mut self.waiting, read, wall.as_nanos() as u64);
        // The reading's cost on this thread's CPU clock: wall time would count the time the
        // thread waited for a CPU on a busy machine (readings 400 ms apart were seen).
        let cpu_after = crate::os::thread_cpu_ns(crate::os::gettid());
        if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
            let cost = Duration::from_nanos(after.saturating_sub(before));
            self.wait_every = WAIT_EVERY.max(cost * WAIT_SHARE).min(MAX_WAIT_EVERY);
        }
        out
    }
}

/// What a reading of the waiting tasks credits, `wall` after the one before: each task's
/// `(address, stack)`, the stack `None` when the task is listed and not running but could not
/// be read; `last` holds the tasks waiting at the reading before, and then these.
///
/// A task waiting at both readings waited the whole interval. One that began or stopped
/// waiting in between did so at a time the readings do not show: it gets half the interval
/// (the trapezoid rule), which is right on average however unequal the intervals are, where
/// a whole or nothing would charge a task its first interval in full and none of its last,
/// and readings spaced by their cost (40 to 500 ms) made that a bias of tens of ms. A task
/// listed but not read is still where it was.
fn credit(
    last: &mut HashMap<usize, Vec<Frame>>,
    read: Vec<(usize, Option<Vec<Frame>>)>,
    wall: u64,
) -> Vec<(Vec<Frame>, u64)> {
    let mut now: HashMap<usize, Vec<Frame>> = HashMap::with_capacity(read.len());
    let mut out = Vec::with_capacity(read.len());
    for (addr, frames) in read {
        let was = last.remove(&addr);
        let (frames, share) = match (frames, was) {
            (Some(frames), Some(_)) => (frames, wall),
            (Some(frames), None) => (frames, wall / 2),
            (None, Some(was)) => (was, wall),
            (None, None) => continue,
        };
        out.push((frames.clone(), share));
        now.insert(addr, frames);
    }
    // The tasks that stopped waiting since: half the interval where they were.
    out.extend(last.drain().map(|(_, frames)| (frames, wall / 2)));
    *last = now;
    out
}

impl super::alloc::TaskRoots for TaskTracker {
    /// The task's `<task NAME>` frame, then the tasks awaiting it, as a running task's
    /// samples are rooted; `None` when the task is gone.
    fn alloc_root(&mut self, walker: &mut Walker, addr: usize, name: usize) -> Option<Vec<Frame>> {
        let State::Ready(reader) = &mut self.state else {
            return None;
        };
        let task = reader.named(addr, name)?;
        let mut frames = vec![self.names.frame(reader, &task)?];
        // A task that ended since has nobody awaiting it any more: its name alone.
        if task.frame != 0 {
            awaiters(reader, walker, &mut self.names, &task, &mut frames);
        }
        Some(frames)
    }

    fn fresh_codes(&mut self) -> Vec<(CodeId, CodeInfo)> {
        self.take_fresh()
    }
}

impl TaskTracker {
    /// `<task NAME>` frames first used since the last call.
    pub fn take_fresh(&mut self) -> Vec<(CodeId, CodeInfo)> {
        std::mem::take(&mut self.names.fresh)
    }

    /// Why tasks are not read, once.
    pub fn take_note(&mut self) -> Option<String> {
        self.note.take()
    }
}

/// Coroutines awaited by coroutines awaited by… those suspended at `starts` (their frames),
/// read a level at a time for all of them: for each start, the frames of its chain, outermost
/// first, each at its `await`; empty when the first cannot be read.
fn coroutine_chains(
    reader: &mut TaskReader,
    walker: &mut Walker,
    starts: &[usize],
) -> Vec<Vec<Frame>> {
    let mut chains = vec![Vec::new(); starts.len()];
    let mut level = starts.to_vec();
    let mut owners: Vec<usize> = (0..starts.len()).collect();
    let mut bytes = Vec::new();
    let span = walker.layout().frame_span();
    for _ in 0..MAX_AWAITED {
        if level.is_empty() {
            break;
        }
        let frames = walker.frames_at(&level, &mut bytes);
        let awaited = reader.awaited_frames(&level, &bytes, span);
        let (mut next, mut next_owners) = (Vec::new(), Vec::new());
        for ((frame, inner), &owner) in frames.into_iter().zip(awaited).zip(&owners) {
            let Some(frame) = frame else {
                continue;
            };
            chains[owner].push(frame);
            if inner != 0 {
                next.push(inner);
                next_owners.push(owner);
            }
        }
        level = next;
        owners = next_owners;
    }
    chains
}

/// Pushes onto `frames` (innermost first) the chain of tasks awaiting `task`: for each, the
/// frames of its coroutines at their `await`s, then its `<task NAME>` frame.
fn awaiters(
    reader: &mut TaskReader,
    walker: &mut Walker,
    names: &mut TaskNames,
    task: &TaskView,
    frames: &mut Vec<Frame>,
) {
    let mut current = *task;
    let mut seen = vec![task.addr];
    for _ in 0..MAX_AWAITERS {
        let Some(waiter) = reader.awaiter(&current) else {
            return;
        };
        if seen.contains(&waiter.addr) {
            return;
        }
        seen.push(waiter.addr);
        let chain = coroutine_chains(reader, walker, &[waiter.frame]);
        let (Some(chain), Some(root)) = (chain.into_iter().next(), names.frame(reader, &waiter))
        else {
            return;
        };
        if chain.is_empty() {
            return;
        }
        frames.extend(chain.into_iter().rev());
        frames.push(root);
        current = waiter;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(code: CodeId) -> Vec<Frame> {
        vec![Frame { code, offset: 0 }]
    }

    #[test]
    fn a_reading_credits_whole_intervals_to_tasks_that_kept_waiting_and_halves_to_the_rest() {
        let mut last = HashMap::new();
        // Task 1 and 2 begin waiting: half of the first interval each.
        let out = credit(&mut last, vec![(1, Some(at(10))), (2, Some(at(20)))], 40);
        assert_eq!(out, [(at(10), 20), (at(20), 20)]);
        // Task 1 waits on, now elsewhere; task 2 was not read but is still listed; task 3 begins.
        let mut out = credit(
            &mut last,
            vec![(1, Some(at(11))), (2, None), (3, Some(at(30)))],
            100,
        );
        out.sort_by_key(|(frames, _)| frames[0].code);
        assert_eq!(out, [(at(11), 100), (at(20), 100), (at(30), 50)]);
        // Task 1 stopped waiting: half the interval where it was last; a task never read
        // that was not waiting before gets nothing.
        let mut out = credit(
            &mut last,
            vec![(2, Some(at(20))), (3, Some(at(30))), (4, None)],
            60,
        );
        out.sort_by_key(|(frames, _)| frames[0].code);
        assert_eq!(out, [(at(11), 30), (at(20), 60), (at(30), 60)]);
        assert_eq!(last.len(), 2);
    }

    #[test]
    fn a_task_waiting_between_two_readings_is_charged_on_average_what_it_waited() {
        // Readings of unequal spacing, a task waiting from 0.3 of one interval into another:
        // whole intervals between, halves at both ends.
        let times = [0u64, 40, 200, 240, 400, 600];
        let (start, end) = (52u64, 430u64);
        let mut last = HashMap::new();
        let mut charged = 0;
        for pair in times.windows(2) {
            let t = pair[1];
            let waiting = start <= t && t <= end;
            let read = if waiting {
                vec![(7, Some(at(1)))]
            } else {
                Vec::new()
            };
            charged += credit(&mut last, read, t - pair[0])
                .iter()
                .map(|c| c.1)
                .sum::<u64>();
        }
        // Seen at 200, 240 and 400: (200-40)/2 + 40 + 160 + (600-400)/2 = 380 against 378.
        assert_eq!(charged, 380);
    }
}
