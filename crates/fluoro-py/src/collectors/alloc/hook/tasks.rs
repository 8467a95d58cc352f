//! The asyncio task a sampled allocation is made in (`fluoro run --async`): the task the
//! allocating thread runs, read in place with the sampler's task reader once its probe has
//! found asyncio, and where that task's coroutine frame is on the captured stack. The drain
//! then roots the allocation's stack at the task, as the sampler roots a running task's.
//!
//! Only sampled allocations look (a few thousand a second at most): recording every one,
//! blocks are folded by stack, and their task is not looked up.

use super::capture::Captured;
use super::record::*;
use super::state::{Shared, SCRATCH};
use crate::cpython::layouts::Layout;
use crate::cpython::tasks::{TaskLayout, TaskReader};
use pyo3::Python;

/// Looks up the task of each sampled allocation from now until the hook is removed; called
/// once the sampler's probe found where asyncio keeps its tasks.
pub fn follow_tasks(_py: Python<'_>, layout: &'static Layout, tasks: TaskLayout) {
    let reader = Box::new(TaskReader::new(layout, tasks));
    // SAFETY: the GIL is held (the token says so): the scratch is this thread's alone.
    unsafe { *SCRATCH.tasks.get() = Some(reader) };
}

/// Pushes a TASK record for the stack just captured when the thread runs a task (GIL held).
#[inline(always)]
pub(super) fn push_task(s: &'static Shared, stack: &Captured) {
    // SAFETY: a stack is captured holding the GIL: the scratch is this thread's alone.
    let tasks = unsafe { &mut *SCRATCH.tasks.get() };
    if let (Some(tasks), true) = (tasks.as_deref_mut(), stack.frames > 0) {
        push_running(s, tasks, stack);
    }
}

#[cold]
#[inline(never)]
fn push_running(s: &'static Shared, tasks: &mut TaskReader, stack: &Captured) {
    let Some(reader) = s.reader.get() else {
        return;
    };
    let tstate = stack.tstate as usize;
    // SAFETY: the GIL is held (a stack was captured): the chain cache is this thread's alone.
    let chain = unsafe { &mut *SCRATCH.chain.get() };
    let found = tasks.running_where(tstate, |frame| {
        // SAFETY: `tstate` is the calling thread's own (it was captured just now) and the
        // thread holds the GIL; the cache is only written by the frame reader.
        unsafe { reader.depth_of(tstate, chain, frame) }
    });
    if let Some((task, depth)) = found.filter(|&(_, depth)| depth < stack.frames) {
        let words = [
            header(TASK, 0, false),
            task.addr as u64,
            task.name as u64,
            depth as u64,
            stack.hash,
        ];
        s.ring.push_parts(&words, &[], false);
    }
}
