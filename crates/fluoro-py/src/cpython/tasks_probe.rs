//! Finds where the C `Task`'s fields are, once, with the GIL, on a task of fluoro's own: a
//! task made on a stand-in event loop of fluoro's (never run, never scheduled, no file
//! descriptor opened), whose coroutine, name, state and links are found by their known
//! addresses in its memory, then read back through [`TaskReader`] as the sampler will read the
//! target's. Only called once the target itself has imported `asyncio`: fluoro imports
//! nothing for it.

use super::layouts::Layout;
use super::memory::{self, usize_at};
use super::tasks::{
    AllTasks, Awaiter, CoroFrame, GatherLink, GroupLink, Running, StackTop, TaskLayout, TaskReader,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// What asyncio tasks the target can have, seen from the probe.
pub enum Probed {
    /// The target has not imported asyncio (yet).
    NotYet,
    /// Tasks read as the probe found them.
    Ready(Box<TaskLayout>),
    /// Tasks cannot be read on this interpreter, and why.
    Unreadable(String),
}

/// The stand-in loop, a coroutine and what the probe makes of them, in a namespace of its
/// own.
const PROBE: &std::ffi::CStr = c"
class Loop:
    def __init__(self):
        self.ready = []
    def get_debug(self):
        return False
    def call_soon(self, callback, *args, **kwargs):
        self.ready.append((callback, args))
    def call_exception_handler(self, context):
        return None
    def create_task(self, coro, *, name=None, context=None):
        # Named, so that the target's unnamed-task counter is untouched.
        name = name or 'fluoro-probe-member-' + str(id(self))
        return self.aio.Task(coro, loop=self, name=name, context=context)
    def create_future(self):
        return self.aio.Future(loop=self)

async def coro():
    pass

async def awaits_inner(task):
    return await task

async def awaits(task):
    return [task, await awaits_inner(task)]

def make(aio):
    loop = Loop()
    loop.aio = aio
    c = coro()
    name = 'fluoro-probe-' + str(id(loop))
    task = aio.Task(c, loop=loop, name=name)
    return loop, c, name, task, aio.Future(loop=loop)

def first_step(aio, loop):
    callback, args = loop.ready[-1]
    aio._set_running_loop(loop)
    try:
        callback(*args)
    finally:
        aio._set_running_loop(None)

def step_awaiting(aio, loop, task):
    c = awaits(task)
    outer = aio.Task(c, loop=loop, name='fluoro-probe-outer-' + str(id(loop)))
    first_step(aio, loop)
    return outer, c

async def gathers(tasks, task):
    return await tasks.gather(task)

def step_gather(aio, tasks, loop):
    child = aio.Task(coro(), loop=loop, name='fluoro-probe-child-' + str(id(loop)))
    c = gathers(tasks, child)
    parent = aio.Task(c, loop=loop, name='fluoro-probe-gather-' + str(id(loop)))
    first_step(aio, loop)
    return child, parent, c

async def in_group(taskgroups, fut, out):
    async with taskgroups.TaskGroup() as tg:
        out.append(tg)
        out.append(tg.create_task(coro()))
        await fut

def step_group(aio, taskgroups, loop):
    out = []
    c = in_group(taskgroups, aio.Future(loop=loop), out)
    parent = aio.Task(c, loop=loop, name='fluoro-probe-group-' + str(id(loop)))
    first_step(aio, loop)
    return parent, c, out

def finish_group(group, parent, c, member):
    # Emptied first, the group leaves at once when its parent's coroutine is closed.
    group._tasks.clear()
    finish(member, member.get_coro())
    try:
        finish(parent, c)
    except BaseException:
        # The group's exit raises again what closed it (3.11: in an exception group).
        pass

def finish(task, c):
    task._log_destroy_pending = False
    loop = task.get_loop()
    try:
        c.close()
    finally:
        # Finished, so that no reading takes it for a task of the target's that waits, and
        # freed now rather than by a collection: the loop's ready list holds its next step.
        try:
            loop.aio.Future.set_result(task, None)
        except Exception:
            pass
        loop.ready.clear()
";

/// Bytes of the thread state searched for its asyncio fields (3.14+), more than
/// `_PyThreadStateImpl` holds.
const TSTATE_SCAN: usize = 4096;

/// Probes the interpreter's asyncio, if the target has imported it.
pub fn probe(py: Python<'_>, layout: &'static Layout) -> Probed {
    let modules = match py.import("sys").and_then(|s| s.getattr("modules")) {
        Ok(m) => m,
        Err(_) => return Probed::NotYet,
    };
    // The probe may run while the target is in the middle of importing asyncio: `asyncio`
    // sets `__all__` once every submodule has been imported, `asyncio.tasks` having taken
    // `_asyncio`'s objects at the end of its own.
    let (Ok(aio), Ok(tasks)) = (
        modules.get_item("_asyncio"),
        modules.get_item("asyncio.tasks"),
    ) else {
        return Probed::NotYet;
    };
    let imported = modules
        .get_item("asyncio")
        .is_ok_and(|asyncio| asyncio.hasattr("__all__").unwrap_or(false));
    if !imported {
        return Probed::NotYet;
    }
    match probe_with(py, layout, &aio, &tasks) {
        Ok(Ok(found)) => Probed::Ready(Box::new(found)),
        Ok(Err(why)) => Probed::Unreadable(why),
        Err(e) => Probed::Unreadable(format!("the probe failed: {e}")),
    }
}

fn probe_with(
    py: Python<'_>,
    layout: &'static Layout,
    aio: &Bound<'_, PyAny>,
    tasks: &Bound<'_, PyAny>,
) -> PyResult<Result<TaskLayout, String>> {
    let task_type = aio.getattr("Task")?;
    if !tasks.getattr("Task")?.is(&task_type) {
        return Ok(Err("asyncio's Task is not the C one".into()));
    }
    let globals = PyDict::new(py);
    py.run(PROBE, Some(&globals), None)?;
    let made = globals.as_any().get_item("make")?.call1((aio,))?;
    let made = made.cast::<PyTuple>()?;
    let (loop_, coro, name, task, fut) = (
        made.get_item(0)?,
        made.get_item(1)?,
        made.get_item(2)?,
        made.get_item(3)?,
        made.get_item(4)?,
    );
    let probe = Probe {
        globals: &globals,
        loop_: &loop_,
        coro: &coro,
        name: &name,
        task: &task,
        fut: &fut,
    };
    let found = find(py, layout, aio, tasks, &probe);
    globals.as_any().get_item("finish")?.call1((&task, &coro))?;
    found
}

fn addr(obj: &Bound<'_, PyAny>) -> usize {
    obj.as_ptr() as usize
}

fn basicsize(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    obj.getattr("__basicsize__")?.extract()
}

/// The words of `len` bytes at `at`.
fn words(at: usize, len: usize) -> Option<Vec<usize>> {
    let mut buf = vec![0u8; len];
    memory::read(at, &mut buf).ok()?;
    Some((0..len / 8).map(|i| usize_at(&buf, i * 8)).collect())
}

/// The words of the thread state at `tstate`: [`TSTATE_SCAN`] bytes, or fewer where the
/// memory past it ends sooner.
fn thread_state_words(tstate: usize) -> Option<Vec<usize>> {
    [TSTATE_SCAN, TSTATE_SCAN / 2, TSTATE_SCAN / 4]
        .into_iter()
        .find_map(|len| words(tstate, len))
}

/// The offset of the one word among `words` equal to `value`.
fn only(words: &[usize], value: usize) -> Option<usize> {
    let mut hits = words.iter().enumerate().filter(|(_, &w)| w == value);
    match (hits.next(), hits.next()) {
        (Some((i, _)), None) => Some(i * 8),
        _ => None,
    }
}

/// Lets the probe's awaiting task go quietly, whichever way the probe ends.
struct Finish<'py> {
    finish: Bound<'py, PyAny>,
    task: Bound<'py, PyAny>,
    coro: Bound<'py, PyAny>,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let _ = self.finish.call1((&self.task, &self.coro));
    }
}

/// What the probe made: its stand-in loop, a task of it with its coroutine and name, and a
/// future.
struct Probe<'a, 'py> {
    globals: &'a Bound<'py, PyDict>,
    loop_: &'a Bound<'py, PyAny>,
    coro: &'a Bound<'py, PyAny>,
    name: &'a Bound<'py, PyAny>,
    task: &'a Bound<'py, PyAny>,
    fut: &'a Bound<'py, PyAny>,
}

fn find(
    py: Python<'_>,
    layout: &'static Layout,
    aio: &Bound<'_, PyAny>,
    tasks: &Bound<'_, PyAny>,
    probe: &Probe<'_, '_>,
) -> PyResult<Result<TaskLayout, String>> {
    let Probe {
        globals,
        loop_,
        coro,
        name,
        task,
        fut,
    } = *probe;
    let fail = |what: &str| Ok(Err(format!("cannot find {what} in asyncio's Task")));
    let task_size = basicsize(&task.get_type())?;
    let Some(task_words) = words(addr(task), task_size) else {
        return fail("the fields");
    };
    let (Some(task_coro), Some(task_name)) =
        (only(&task_words, addr(coro)), only(&task_words, addr(name)))
    else {
        return fail("the coroutine or the name");
    };
    // The state: the one `int` that `set_result` turns from pending (0) to finished (2), on a
    // future, whose fields a task begins with.
    let fut_size = basicsize(&fut.get_type())?;
    let mut before = vec![0u8; fut_size];
    let mut after = vec![0u8; fut_size];
    memory::read(addr(fut), &mut before).ok();
    fut.call_method1("set_result", (py.None(),))?;
    memory::read(addr(fut), &mut after).ok();
    let changed: Vec<usize> = (0..fut_size / 4)
        .map(|i| i * 4)
        .filter(|&at| before[at..at + 4] == [0; 4] && after[at..at + 4] == 2i32.to_ne_bytes())
        .collect();
    let [fut_state] = changed[..] else {
        return fail("the state");
    };
    // The coroutine's frame: 3.11+ embeds it in the coroutine, where the frame object made
    // for it points; 3.10 points to a frame object of its own.
    let coro_size = basicsize(&coro.get_type())?;
    let frame_object = coro.getattr("cr_frame")?;
    let coro_frame = if layout.frame_is_object() {
        let Some(at) = words(addr(coro), coro_size).and_then(|w| only(&w, addr(&frame_object)))
        else {
            return fail("the coroutine's frame");
        };
        CoroFrame::Pointer(at)
    } else {
        let frame_size = basicsize(&frame_object.get_type())?;
        let inside = |w: &usize| *w > addr(coro) && *w < addr(coro) + coro_size;
        let found: Vec<usize> = words(addr(&frame_object), frame_size)
            .unwrap_or_default()
            .into_iter()
            .filter(inside)
            .collect();
        let [frame] = found[..] else {
            return fail("the coroutine's frame");
        };
        CoroFrame::Embedded(frame - addr(coro))
    };
    let long_type = addr(&py.get_type::<pyo3::types::PyInt>().into_any());
    let tstate = {
        // SAFETY: the GIL is held, so this thread has a thread state; only its address is
        // taken.
        unsafe { pyo3::ffi::PyThreadState_Get() as usize }
    };
    let version = layout.version;
    let running;
    let all;
    if version >= (3, 14) {
        // The running task and loop are the thread state's; its list of tasks now holds the
        // probe's task, the one link of a circular list whose head is in the thread state.
        // The field is the one word of the thread state that is null before, the task while
        // it runs, and null again after: memory past the thread state may hold the task too
        // (the arguments of the calls made here).
        let before = thread_state_words(tstate);
        aio.call_method1("_set_running_loop", (loop_,))?;
        let entered = aio.call_method1("_enter_task", (loop_, task));
        let during = thread_state_words(tstate);
        if entered.is_ok() {
            aio.call_method1("_leave_task", (loop_, task))?;
        }
        aio.call_method1("_set_running_loop", (py.None(),))?;
        entered?;
        let after = thread_state_words(tstate);
        let (Some(before), Some(ts), Some(after)) = (before, during, after) else {
            return fail("the thread state");
        };
        if before.len() != ts.len() || ts.len() != after.len() {
            return fail("the thread state");
        }
        let mut fields = (0..ts.len())
            .filter(|&i| before[i] == 0 && ts[i] == addr(task) && after[i] == 0)
            .map(|i| i * 8);
        let (Some(at), None) = (fields.next(), fields.next()) else {
            return fail("the running task");
        };
        running = Running::ThreadState(at);
        let link = (0..ts.len().saturating_sub(1))
            .find(|&i| ts[i] == ts[i + 1] && ts[i] > addr(task) && ts[i] < addr(task) + task_size);
        let Some(i) = link else {
            return fail("the list of tasks");
        };
        all = AllTasks::ThreadList {
            head: i * 8,
            node: ts[i] - addr(task),
        };
    } else {
        let current = tasks.getattr("_current_tasks")?;
        if !aio.getattr("_current_tasks")?.is(&current) {
            return Ok(Err("asyncio's running tasks are not the C module's".into()));
        }
        running = Running::Dict(addr(&current));
        let (weak_name, strong) = if version >= (3, 12) {
            (
                "_scheduled_tasks",
                vec![addr(&tasks.getattr("_eager_tasks")?)],
            )
        } else {
            ("_all_tasks", Vec::new())
        };
        let weak_set = tasks.getattr(weak_name)?;
        if !aio.getattr(weak_name)?.is(&weak_set) {
            return Ok(Err("asyncio's set of tasks is not the C module's".into()));
        }
        let data = weak_set.getattr("data")?;
        // The weak reference type WeakSet uses, from the weakref module asyncio imported.
        let weakref_type = py
            .import("sys")?
            .getattr("modules")?
            .get_item("weakref")?
            .getattr("ref")?;
        all = AllTasks::Sets {
            weak: vec![addr(&data)],
            strong,
            weakref_type: addr(&weakref_type),
        };
    }
    // A second task awaiting the first, run one step on the stand-in loop (the probe's own
    // coroutine, on this thread): it waits for the first (`task_fut_waiter`), which on 3.14+
    // notes it (`task_awaited_by`).
    let stepped = globals
        .as_any()
        .get_item("step_awaiting")?
        .call1((aio, loop_, task))?;
    let (outer, outer_coro) = (stepped.get_item(0)?, stepped.get_item(1)?);
    let _finish = Finish {
        finish: globals.as_any().get_item("finish")?,
        task: outer.clone(),
        coro: outer_coro.clone(),
    };
    let outer_words = words(addr(&outer), task_size);
    let inner_words = words(addr(task), task_size);
    let Some(task_fut_waiter) = outer_words.and_then(|w| only(&w, addr(task))) else {
        return fail("what a task waits for");
    };
    let Some(inner_words) = inner_words else {
        return fail("what awaits a task");
    };
    let awaiter = if version >= (3, 14) {
        match only(&inner_words, addr(&outer)) {
            Some(at) => Awaiter::AwaitedBy(at),
            None => return fail("what awaits a task"),
        }
    } else {
        // The awaiting task's wakeup, the first callback of the awaited one.
        let wakeup = task.getattr("_callbacks")?.get_item(0)?.get_item(0)?;
        let callback = only(&inner_words, addr(&wakeup));
        let owner = words(addr(&wakeup), 64).and_then(|w| only(&w, addr(&outer)));
        let (Some(callback), Some(owner)) = (callback, owner) else {
            return fail("what awaits a task");
        };
        Awaiter::Wakeup {
            callback,
            method_type: addr(&wakeup.get_type().into_any()),
            owner,
            gather: None,
            group: None,
        }
    };
    // What the awaiting task's coroutine awaits: the inner coroutine, in a slot of its frame's
    // value stack, under its top.
    let outer_frame = match coro_frame {
        CoroFrame::Embedded(at) => Some(addr(&outer_coro) + at),
        CoroFrame::Pointer(at) => words(addr(&outer_coro) + at, 8).and_then(|w| w.first().copied()),
    };
    let awaited = outer_coro.getattr("cr_await")?;
    let stack_top = outer_frame.and_then(|f| stack_top(layout, f, addr(&awaited)));
    let found = TaskLayout {
        task_type: addr(&task.get_type().into_any()),
        task_size,
        task_coro,
        task_name,
        task_fut_waiter,
        awaiter,
        set_type: addr(&py.get_type::<pyo3::types::PySet>().into_any()),
        fut_state,
        coro_frame,
        coro_type: addr(&coro.get_type().into_any()),
        stack_top,
        long_type,
        running,
        all,
    };
    // Read the probe's task back as the sampler will read the target's.
    let mut found = found;
    let mut reader = TaskReader::new(layout, found.clone());
    let Some(view) = reader.task(addr(task)) else {
        return fail("a pending task");
    };
    let code = words(view.frame + layout.frame_code, 8)
        .and_then(|w| w.first().copied())
        .map(|w| layout.stack_ref_object(w));
    if code != Some(addr(&coro.getattr("cr_code")?)) {
        return fail("the coroutine's code");
    }
    if reader.name(view.name).as_deref() != Some(name.extract::<String>()?.as_str()) {
        return fail("the name");
    }
    if reader.awaiter(&view).map(|t| t.addr) != Some(addr(&outer)) {
        return fail("the task awaiting a task");
    }
    // The awaiting coroutine's frame leads to the inner one's; if not, inner coroutines are
    // not shown.
    if let (Some(frame), Some(_)) = (outer_frame, stack_top) {
        let span = layout.frame_span();
        let mut bytes = vec![0u8; span];
        let read = memory::read(frame, &mut bytes).is_ok();
        let inner_frame = match coro_frame {
            CoroFrame::Embedded(at) => Some(addr(&awaited) + at),
            CoroFrame::Pointer(_) => Some(addr(&awaited.getattr("cr_frame")?)),
        };
        if !read
            || reader
                .awaited_frames(&[frame], &bytes, span)
                .first()
                .copied()
                != inner_frame
        {
            found.stack_top = None;
        }
    }
    if matches!(found.awaiter, Awaiter::Wakeup { .. }) {
        // Without it a task awaited through gather is shown without the task awaiting it.
        let link = gather_link(layout, globals, aio, tasks, loop_, &found).unwrap_or(None);
        let group_link = group_link(py, layout, globals, aio, loop_, &found).unwrap_or(None);
        if let Awaiter::Wakeup { gather, group, .. } = &mut found.awaiter {
            *gather = link;
            *group = group_link;
        }
    }
    let mut seen = Vec::new();
    reader.all(&[tstate], &mut seen);
    if !seen.iter().any(|t| t.addr == addr(task)) {
        return fail("the task among all tasks");
    }
    if let Running::Dict(_) = found.running {
        aio.call_method1("_enter_task", (loop_, task))?;
        let values = reader.dict_values(addr(&tasks.getattr("_current_tasks")?));
        aio.call_method1("_leave_task", (loop_, task))?;
        if !values.is_some_and(|v| v.contains(&addr(task))) {
            return fail("the running task");
        }
    }
    Ok(Ok(found))
}

/// Before 3.14: how a task awaited through `asyncio.gather` leads to the task awaiting the
/// gather (see [`GatherLink`]), found on a gather of fluoro's own, one step of its awaiting
/// task run on the stand-in loop, and read back; `None` (or an error, which the probe takes
/// as `None`) where it cannot be.
fn gather_link(
    layout: &'static Layout,
    globals: &Bound<'_, PyDict>,
    aio: &Bound<'_, PyAny>,
    tasks: &Bound<'_, PyAny>,
    loop_: &Bound<'_, PyAny>,
    found: &TaskLayout,
) -> PyResult<Option<GatherLink>> {
    let stepped = globals
        .as_any()
        .get_item("step_gather")?
        .call1((aio, tasks, loop_))?;
    let (child, parent, parent_coro) = (
        stepped.get_item(0)?,
        stepped.get_item(1)?,
        stepped.get_item(2)?,
    );
    let finish = globals.as_any().get_item("finish")?;
    let _parent = Finish {
        finish: finish.clone(),
        task: parent.clone(),
        coro: parent_coro,
    };
    let _child = Finish {
        finish,
        task: child.clone(),
        coro: child.getattr("get_coro")?.call0()?,
    };
    let done = child.getattr("_callbacks")?.get_item(0)?.get_item(0)?;
    let Ok(closure) = done.getattr("__closure__") else {
        return Ok(None);
    };
    let function_type = done.get_type().into_any();
    let closure_at =
        words(addr(&done), basicsize(&function_type)?).and_then(|w| only(&w, addr(&closure)));
    let (Some(closure_at), Ok(first)) = (closure_at, closure.get_item(0)) else {
        return Ok(None);
    };
    let tuple_type = closure.get_type().into_any();
    let link = GatherLink {
        function_type: addr(&function_type),
        closure: closure_at,
        tuple_type: addr(&tuple_type),
        cell_type: addr(&first.get_type().into_any()),
        partial: partial_args(aio.py()).unwrap_or(None),
        callbacks: later_callbacks(aio, loop_, &tuple_type).unwrap_or(None),
    };
    let mut layout_with = found.clone();
    if let Awaiter::Wakeup { gather, .. } = &mut layout_with.awaiter {
        *gather = Some(link);
    }
    let mut reader = TaskReader::new(layout, layout_with);
    let linked = reader
        .task(addr(&child))
        .and_then(|view| reader.awaiter(&view))
        .map(|t| t.addr);
    Ok((linked == Some(addr(&parent))).then_some(link))
}

/// `functools.partial`, and where a partial keeps its positional arguments: found on a
/// partial of fluoro's own.
fn partial_args(py: Python<'_>) -> PyResult<Option<(usize, usize)>> {
    let partial_type = py.import("functools")?.getattr("partial")?;
    let builtins = py.import("builtins")?;
    let partial = partial_type.call1((builtins.getattr("len")?, py.None()))?;
    let args = partial.getattr("args")?;
    let at = words(addr(&partial), basicsize(&partial_type)?).and_then(|w| only(&w, addr(&args)));
    Ok(at.map(|at| (addr(&partial_type), at)))
}

/// Where a future keeps its later done-callbacks (a list of `(callback, context)` tuples),
/// and `list`: found on a future of fluoro's own with two callbacks, the list whose first
/// tuple holds the second.
fn later_callbacks(
    aio: &Bound<'_, PyAny>,
    loop_: &Bound<'_, PyAny>,
    tuple_type: &Bound<'_, PyAny>,
) -> PyResult<Option<(usize, usize)>> {
    let py = aio.py();
    let kwargs = PyDict::new(py);
    kwargs.set_item("loop", loop_)?;
    let future = aio.getattr("Future")?.call((), Some(&kwargs))?;
    let builtins = py.import("builtins")?;
    let (first, second) = (builtins.getattr("abs")?, builtins.getattr("len")?);
    future.call_method1("add_done_callback", (&first,))?;
    future.call_method1("add_done_callback", (&second,))?;
    let list_type = py.get_type::<pyo3::types::PyList>().into_any();
    let Some(fields) = words(addr(&future), basicsize(&future.get_type().into_any())?) else {
        return Ok(None);
    };
    let holds_second = |list: usize| -> Option<()> {
        let head = words(list, 32)?;
        if head[1] != addr(&list_type) || head[2] != 1 {
            return None;
        }
        let pair = words(head[3], 8)?[0];
        let pair = words(pair, 32)?;
        (pair[1] == addr(tuple_type) && pair[2] == 2 && pair[3] == addr(&second)).then_some(())
    };
    let mut found = fields
        .iter()
        .enumerate()
        .filter(|&(_, &w)| w != 0 && holds_second(w).is_some());
    Ok(match (found.next(), found.next()) {
        (Some((i, _)), None) => Some((i * 8, addr(&list_type))),
        _ => None,
    })
}

/// 3.11-3.13: how a task of a `TaskGroup` leads to the task that entered the group (see
/// [`GroupLink`]), found on a group of fluoro's own entered by a task run one step on the
/// stand-in loop: the group's `_parent_task` is looked for among the words around the group
/// and those they point to, nearest first, and the first place that reads back is taken.
/// `None` (or an error, which the probe takes as `None`) where none does.
fn group_link(
    py: Python<'_>,
    layout: &'static Layout,
    globals: &Bound<'_, PyDict>,
    aio: &Bound<'_, PyAny>,
    loop_: &Bound<'_, PyAny>,
    found: &TaskLayout,
) -> PyResult<Option<GroupLink>> {
    let modules = py.import("sys")?.getattr("modules")?;
    let Ok(taskgroups) = modules.get_item("asyncio.taskgroups") else {
        return Ok(None);
    };
    let stepped = globals
        .as_any()
        .get_item("step_group")?
        .call1((aio, &taskgroups, loop_))?;
    let (parent, parent_coro, out) = (
        stepped.get_item(0)?,
        stepped.get_item(1)?,
        stepped.get_item(2)?,
    );
    let (Ok(group), Ok(member)) = (out.get_item(0), out.get_item(1)) else {
        let _ = globals
            .as_any()
            .get_item("finish")?
            .call1((&parent, &parent_coro));
        return Ok(None);
    };
    let link = find_group_link(layout, &group, &member, &parent, found);
    globals
        .as_any()
        .get_item("finish_group")?
        .call1((&group, &parent, &parent_coro, &member))?;
    link
}

fn find_group_link(
    layout: &'static Layout,
    group: &Bound<'_, PyAny>,
    member: &Bound<'_, PyAny>,
    parent: &Bound<'_, PyAny>,
    found: &TaskLayout,
) -> PyResult<Option<GroupLink>> {
    let on_done = member.getattr("_callbacks")?.get_item(0)?.get_item(0)?;
    let method_type = on_done.get_type().into_any();
    let Some(method_self) =
        words(addr(&on_done), basicsize(&method_type)?).and_then(|w| only(&w, addr(group)))
    else {
        return Ok(None);
    };
    // Before the group: its pre-header (3.11-3.13: where its attributes' values or dict are)
    // and its GC header, whose links to other objects are skipped; after: its fields and
    // inline values (3.13).
    const BEFORE: usize = 32;
    const GC_HEADER: std::ops::Range<isize> = -16..0;
    let after = basicsize(&group.get_type().into_any())? + 128;
    let Some(around) = words(addr(group) - BEFORE, BEFORE + after) else {
        return Ok(None);
    };
    let target = addr(parent);
    let mut paths = Vec::new();
    for (i, &word) in around.iter().enumerate() {
        let first = (i * 8) as isize - BEFORE as isize;
        if GC_HEADER.contains(&first) {
            continue;
        }
        if word == target {
            paths.push((first, None));
        } else if word >= 1 << 16 && matches!(word & 7, 0 | 1 | 7) {
            // A pointer, or one tagged in its low bits (3.12 keeps the values' address less
            // one).
            let inner = words(word & !7, 256).unwrap_or_default();
            paths.extend(
                (0..inner.len())
                    .filter(|&j| inner[j] == target)
                    .map(|j| (first, Some(j * 8))),
            );
        }
    }
    // The words past the group's own are its neighbours' (and 3.13's inline values): one
    // of them may point to the parent too, a different one each run. The nearest place that
    // reads back is the group's own.
    paths.sort_by_key(|&(first, then)| (first.unsigned_abs(), then.is_some()));
    for (first, then) in paths {
        let link = GroupLink {
            method_type: addr(&method_type),
            method_self,
            group_type: addr(&group.get_type().into_any()),
            first,
            then,
        };
        let mut layout_with = found.clone();
        if let Awaiter::Wakeup { group, .. } = &mut layout_with.awaiter {
            *group = Some(link);
        }
        let mut reader = TaskReader::new(layout, layout_with);
        let linked = reader
            .task(addr(member))
            .and_then(|view| reader.awaiter(&view))
            .map(|t| t.addr);
        if linked == Some(target) {
            return Ok(Some(link));
        }
    }
    Ok(None)
}

/// Where the suspended coroutine frame at `frame` keeps the top of its value stack, found by
/// `awaited` (the object it awaits) in one of its slots: the one field of the frame's fixed
/// part that points just above that slot (3.14+), counts the slots up to it (3.11-3.13), or,
/// with the value stack's base, gives its depth (3.10).
fn stack_top(layout: &Layout, frame: usize, awaited: usize) -> Option<StackTop> {
    let span = layout.frame_span();
    let region = words(frame, 1024)?;
    let mut slots = region
        .iter()
        .enumerate()
        .filter(|(_, &w)| w != 0 && layout.stack_ref_object(w) == awaited)
        .map(|(i, _)| frame + i * 8);
    let (Some(slot), None) = (slots.next(), slots.next()) else {
        return None;
    };
    let header: Vec<u8> = region
        .iter()
        .flat_map(|w| w.to_ne_bytes())
        .take(span)
        .collect();
    let mut found = Vec::new();
    for back in [1, 2] {
        for at in (0..span.saturating_sub(7)).step_by(8) {
            let kind = if layout.version >= (3, 14) {
                StackTop::Pointer { at, back }
            } else if layout.frame_is_object() {
                for count_at in (0..span.saturating_sub(3)).step_by(4) {
                    let kind = StackTop::Depth {
                        base: at,
                        at: count_at,
                        back,
                    };
                    if kind.slot(layout, frame, &header) == Some(slot) {
                        found.push(kind);
                    }
                }
                continue;
            } else {
                StackTop::Count { at, back }
            };
            if kind.slot(layout, frame, &header) == Some(slot) {
                found.push(kind);
            }
        }
        if !layout.frame_is_object() && layout.version < (3, 14) {
            // `int` counts may sit at any 4-byte boundary.
            for at in (4..span.saturating_sub(3)).step_by(8) {
                let kind = StackTop::Count { at, back };
                if kind.slot(layout, frame, &header) == Some(slot) {
                    found.push(kind);
                }
            }
        }
    }
    match found[..] {
        [only] => Some(only),
        _ => None,
    }
}
