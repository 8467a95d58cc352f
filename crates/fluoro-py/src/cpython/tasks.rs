//! asyncio tasks read from memory without the GIL: which task a thread is running, and every
//! task that waits.
//!
//! The C `Task`'s fields are in no header (`TaskObj` lives in `Modules/_asynciomodule.c`), so
//! [`super::tasks_probe`] finds them once, with the GIL, on a task of fluoro's own, and checks
//! this reader against it. Every read here is checked again: a task is only one whose type is
//! `_asyncio.Task` and whose state is pending, and a running task is only one whose
//! coroutine's frame is one of the thread's own frames, so a torn read loses an attribution
//! but never makes one up.

use super::layouts::Layout;
use super::memory::{self, i32_at, usize_at};
use super::values;
use std::collections::{HashMap, HashSet};

/// More tasks than this in one list or set means a torn read.
const MAX_TASKS: usize = 1 << 20;
/// A dict of running tasks (one per event loop) larger than this is not the one we know.
const MAX_LOOPS: usize = 256;
/// Longest task name read, in characters.
pub const MAX_NAME: usize = 200;

/// Where a coroutine's frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoroFrame {
    /// 3.11+: embedded in the coroutine object at this offset (`cr_iframe`).
    Embedded(usize),
    /// 3.10: a frame object the coroutine points to from this offset (`cr_frame`).
    Pointer(usize),
}

/// Where the task a thread runs is noted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Running {
    /// 3.10-3.13: `_asyncio`'s dict of running tasks by event loop (`_current_tasks`), at
    /// this address.
    Dict(usize),
    /// 3.14+: the thread state's `asyncio_running_task`, at this offset.
    ThreadState(usize),
}

/// Where every task is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllTasks {
    /// 3.10-3.13: sets of weak references to tasks (`WeakSet.data` of `_all_tasks`, or of
    /// `_scheduled_tasks` on 3.12+), and sets of tasks (`_eager_tasks`, 3.12+).
    Sets {
        weak: Vec<usize>,
        strong: Vec<usize>,
        weakref_type: usize,
    },
    /// 3.14+: a circular list per thread state, its head at `head` in the thread state and its
    /// links at `node` in each task.
    ThreadList { head: usize, node: usize },
}

/// Where a suspended coroutine's frame keeps the top of its value stack, where the object it
/// awaits is (`back` slots below the top).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackTop {
    /// 3.14+: `stackpointer`, at `at` in the frame.
    Pointer { at: usize, back: usize },
    /// 3.11-3.13: `stacktop`, an `int` at `at`, counting slots from the frame's `localsplus`.
    Count { at: usize, back: usize },
    /// 3.10: `f_valuestack`, a pointer at `base`, and `f_stackdepth`, an `int` at `at`.
    Depth { base: usize, at: usize, back: usize },
}

impl StackTop {
    /// Where the awaited object's slot is in the frame at `frame`, whose first bytes are
    /// `header`.
    pub fn slot(self, layout: &Layout, frame: usize, header: &[u8]) -> Option<usize> {
        let (top, back) = match self {
            StackTop::Pointer { at, back } => (usize_at(header, at), back),
            StackTop::Count { at, back } => {
                let count = usize::try_from(i32_at(header, at)).ok()?;
                (frame + layout.frame_localsplus + count * 8, back)
            }
            StackTop::Depth { base, at, back } => {
                let depth = usize::try_from(i32_at(header, at)).ok()?;
                (usize_at(header, base) + depth * 8, back)
            }
        };
        let slot = top.checked_sub(back * 8)?;
        // The slot lies inside the frame, above its fixed part.
        (slot > frame && slot - frame < 1 << 16).then_some(slot)
    }
}

/// How the task awaiting a task is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaiter {
    /// 3.14+: `task_awaited_by` at this offset, the task awaiting it or a set of them.
    AwaitedBy(usize),
    /// Before: the task's first done-callback (`fut_callback0`, at `callback`) is the
    /// awaiting task's wakeup, a built-in method (of `method_type`) whose `self` (at `owner`)
    /// is that task; or, awaited through `asyncio.gather`, gather's callback (see
    /// [`GatherLink`]), or a task group's (see [`GroupLink`]).
    Wakeup {
        callback: usize,
        method_type: usize,
        owner: usize,
        gather: Option<GatherLink>,
        group: Option<GroupLink>,
    },
}

/// 3.11-3.13: a task made by `TaskGroup.create_task` has the group's `_on_task_done` as its
/// first done-callback: a bound method whose `self` is the group, which keeps the task that
/// entered it (`_parent_task`) among its attributes, where the probe found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupLink {
    /// `types.MethodType`, and where a bound method keeps its `self`.
    pub method_type: usize,
    pub method_self: usize,
    /// `asyncio.TaskGroup`.
    pub group_type: usize,
    /// The parent task is the word at `first` bytes from the group (negative: before it, in
    /// its pre-header), or, with `then`, the word at `then` from what that word points to,
    /// its low three bits cleared (3.12 keeps the address of the attributes' values less
    /// one).
    pub first: isize,
    pub then: Option<usize>,
}

/// Before 3.14, a task awaited through `asyncio.gather` has gather's `_done_callback` as its
/// first done-callback: a function whose closure holds the gathering future, whose own first
/// done-callback is the wakeup of the task awaiting the gather. `asyncio.wait` and `shield`
/// give it a function of their own that holds the future their caller waits for, and
/// `wait_for` before 3.12 a `functools.partial` over that future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatherLink {
    /// `types.FunctionType`, and where a function keeps its closure.
    pub function_type: usize,
    pub closure: usize,
    /// `tuple` and `cell`: a closure is a tuple of cells.
    pub tuple_type: usize,
    pub cell_type: usize,
    /// `functools.partial`, and where a partial keeps its positional arguments (a tuple).
    pub partial: Option<(usize, usize)>,
    /// Where a future keeps its later callbacks (`fut_callbacks`, a list of `(callback,
    /// context)` tuples), and `list`: `shield`'s outer future has a callback of its own
    /// before the wakeup of the task awaiting it.
    pub callbacks: Option<(usize, usize)>,
}

/// A tuple's length and first item, and a cell's content (the same on 3.10-3.13).
const TUPLE_SIZE: usize = 16;
const TUPLE_ITEMS: usize = 24;
const CELL_CONTENT: usize = 16;
/// A list's length and its items' array.
const LIST_SIZE: usize = 16;
const LIST_ITEMS: usize = 24;
/// Cells in a closure, a partial's arguments or a future's callbacks read at most (gather's
/// callback has a handful).
const MAX_CELLS: usize = 16;

/// Where a C task's fields are, as the probe found them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLayout {
    /// `_asyncio.Task`.
    pub task_type: usize,
    /// `tp_basicsize` of `_asyncio.Task`: one read covers every field.
    pub task_size: usize,
    pub task_coro: usize,
    pub task_name: usize,
    /// `task_fut_waiter`: the future (or task) the task waits for.
    pub task_fut_waiter: usize,
    pub awaiter: Awaiter,
    /// `PySet_Type`, for an `awaited_by` of several tasks.
    pub set_type: usize,
    /// `fut_state`, an `int`: 0 while pending.
    pub fut_state: usize,
    pub coro_frame: CoroFrame,
    /// `PyCoro_Type`, and where a suspended coroutine's frame keeps what it awaits (`None`
    /// when the probe could not tell: only a task's outermost `await` is shown).
    pub coro_type: usize,
    pub stack_top: Option<StackTop>,
    /// `PyLong_Type`: 3.13+ keeps an unnamed task's number and makes `Task-N` when asked.
    pub long_type: usize,
    pub running: Running,
    pub all: AllTasks,
}

/// One task as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskView {
    pub addr: usize,
    /// The task's name object (a `str`, or on 3.13+ an `int`).
    pub name: usize,
    /// Where its coroutine's frame is: the outermost frame of the task's own stack.
    pub frame: usize,
    /// What it waits for, 0 for nothing.
    pub fut_waiter: usize,
    /// The task or set of tasks awaiting it (3.14+), or its first done-callback; 0 for none.
    pub awaited_by: usize,
}

/// Reads tasks through [`memory`], with the interpreter's [`Layout`].
pub struct TaskReader {
    pub layout: &'static Layout,
    pub tasks: TaskLayout,
    buf: Vec<u8>,
    table: Vec<u8>,
    /// Many objects read at once ([`memory::read_each`]), and which were.
    many: Vec<u8>,
    read: Vec<bool>,
    /// 3.14+: the tasks found by the last reading of the lists of tasks.
    known: Vec<usize>,
}

impl TaskReader {
    pub fn new(layout: &'static Layout, tasks: TaskLayout) -> TaskReader {
        let size = tasks.task_size.clamp(64, 4096);
        TaskReader {
            layout,
            tasks,
            buf: vec![0; size],
            table: Vec::new(),
            many: Vec::new(),
            read: Vec::new(),
            known: Vec::new(),
        }
    }

    /// The task at `addr`, if it is a pending `_asyncio.Task`.
    pub fn task(&mut self, addr: usize) -> Option<TaskView> {
        if addr == 0 {
            return None;
        }
        memory::read(addr, &mut self.buf).ok()?;
        self.view(addr)
    }

    /// The tasks at `addrs`, those that are pending `_asyncio.Task`s, read in a few calls.
    fn tasks_at(&mut self, addrs: &[usize], out: &mut Vec<TaskView>) {
        let len = self.buf.len();
        memory::read_each(addrs, len, &mut self.many, &mut self.read);
        for (i, &addr) in addrs.iter().enumerate() {
            if self.read[i] {
                out.extend(self.view_of(&self.many[i * len..(i + 1) * len], addr));
            }
        }
    }

    /// The task in `buf` (read from `addr`).
    fn view(&self, addr: usize) -> Option<TaskView> {
        self.view_of(&self.buf, addr)
    }

    /// The task in `bytes` (read from `addr`).
    fn view_of(&self, bytes: &[u8], addr: usize) -> Option<TaskView> {
        let t = &self.tasks;
        if usize_at(bytes, self.layout.object_type) != t.task_type
            || i32_at(bytes, t.fut_state) != 0
        {
            return None;
        }
        let coro = usize_at(bytes, t.task_coro);
        let name = usize_at(bytes, t.task_name);
        if coro == 0 || name == 0 {
            return None;
        }
        let frame = match t.coro_frame {
            CoroFrame::Embedded(at) => coro + at,
            CoroFrame::Pointer(at) => values::read_usize(coro + at)?,
        };
        (frame != 0).then_some(TaskView {
            addr,
            name,
            frame,
            fut_waiter: usize_at(bytes, t.task_fut_waiter),
            awaited_by: match t.awaiter {
                Awaiter::AwaitedBy(at) | Awaiter::Wakeup { callback: at, .. } => {
                    usize_at(bytes, at)
                }
            },
        })
    }

    /// The task the thread with thread state `tstate` runs, and the index in `frames` (the
    /// thread's frame addresses, innermost first) of its coroutine's frame.
    pub fn running(&mut self, tstate: usize, frames: &[usize]) -> Option<(TaskView, usize)> {
        self.running_where(tstate, |frame| frames.iter().rposition(|&f| f == frame))
    }

    /// The task the thread with thread state `tstate` runs, and where `depth` finds its
    /// coroutine's frame (given the frame's address) on the thread's stack.
    pub fn running_where(
        &mut self,
        tstate: usize,
        mut depth: impl FnMut(usize) -> Option<usize>,
    ) -> Option<(TaskView, usize)> {
        let candidates = match self.tasks.running {
            Running::ThreadState(at) => vec![values::read_usize(tstate + at)?],
            Running::Dict(dict) => self.dict_values(dict)?,
        };
        for candidate in candidates {
            let Some(task) = self.task(candidate) else {
                continue;
            };
            if let Some(at) = depth(task.frame) {
                return Some((task, at));
            }
        }
        None
    }

    /// The task at `addr` if it is still an `_asyncio.Task` named by `name`, pending or not
    /// (a task that ended since it was seen running): only its name is then read.
    pub fn named(&mut self, addr: usize, name: usize) -> Option<TaskView> {
        if addr == 0 {
            return None;
        }
        memory::read(addr, &mut self.buf).ok()?;
        if let Some(task) = self.view(addr) {
            return (task.name == name).then_some(task);
        }
        let t = &self.tasks;
        let (object_type, task_type, task_name) =
            (self.layout.object_type, t.task_type, t.task_name);
        let bytes = &self.buf;
        (usize_at(bytes, object_type) == task_type && usize_at(bytes, task_name) == name).then_some(
            TaskView {
                addr,
                name,
                frame: 0,
                fut_waiter: 0,
                awaited_by: 0,
            },
        )
    }

    /// The frames of the coroutines that the suspended coroutine frames at `frames` (whose
    /// first bytes are `headers`, `span` bytes each, as read) await: 0 where one awaits no
    /// coroutine (a future, a generator) or cannot be read.
    pub fn awaited_frames(&mut self, frames: &[usize], headers: &[u8], span: usize) -> Vec<usize> {
        let Some(top) = self.tasks.stack_top else {
            return vec![0; frames.len()];
        };
        let slots: Vec<usize> = frames
            .iter()
            .zip(headers.chunks_exact(span))
            .map(|(&f, header)| top.slot(self.layout, f, header).unwrap_or(0))
            .collect();
        memory::read_each(&slots, 8, &mut self.many, &mut self.read);
        let awaited: Vec<usize> = self
            .many
            .chunks_exact(8)
            .zip(&self.read)
            .map(|(w, &ok)| {
                if ok {
                    self.layout.stack_ref_object(usize_at(w, 0))
                } else {
                    0
                }
            })
            .collect();
        memory::read_each(&awaited, 16, &mut self.many, &mut self.read);
        let coros: Vec<usize> = awaited
            .iter()
            .zip(self.many.chunks_exact(16).zip(&self.read))
            .map(|(&a, (head, &ok))| {
                let coro = ok && usize_at(head, self.layout.object_type) == self.tasks.coro_type;
                if coro {
                    a
                } else {
                    0
                }
            })
            .collect();
        match self.tasks.coro_frame {
            CoroFrame::Embedded(at) => coros
                .iter()
                .map(|&c| if c == 0 { 0 } else { c + at })
                .collect(),
            CoroFrame::Pointer(at) => {
                let at_field: Vec<usize> = coros
                    .iter()
                    .map(|&c| if c == 0 { 0 } else { c + at })
                    .collect();
                memory::read_each(&at_field, 8, &mut self.many, &mut self.read);
                self.many
                    .chunks_exact(8)
                    .zip(&self.read)
                    .map(|(w, &ok)| if ok { usize_at(w, 0) } else { 0 })
                    .collect()
            }
        }
    }

    /// The task awaiting `task`: on 3.14+ its `awaited_by` (the first task of a set of them);
    /// before, the task whose wakeup is its first done-callback, if it waits for `task`.
    pub fn awaiter(&mut self, task: &TaskView) -> Option<TaskView> {
        let by = task.awaited_by;
        if by == 0 {
            return None;
        }
        match self.tasks.awaiter {
            Awaiter::AwaitedBy(_) => {
                if values::type_of(self.layout, by)? == self.tasks.set_type {
                    return self.set_keys(by)?.into_iter().find_map(|t| self.task(t));
                }
                self.task(by)
            }
            Awaiter::Wakeup {
                callback,
                method_type,
                owner,
                gather,
                group,
            } => {
                let kind = values::type_of(self.layout, by)?;
                if kind == method_type {
                    return self.woken_by(by, owner, task.addr);
                }
                if let Some(g) = group.filter(|g| g.method_type == kind) {
                    return self.group_parent(by, g);
                }
                let g = gather?;
                // A combinator's callback holds the future the task awaiting the combinator
                // waits for: gather's, wait's and shield's in a closure's cell, wait_for's
                // (before 3.12) among a partial's arguments.
                let futures = if kind == g.function_type {
                    let closure = values::read_usize(by + g.closure)?;
                    let cells = self.tuple_items(closure, g.tuple_type)?;
                    cells
                        .into_iter()
                        .filter(|&cell| values::type_of(self.layout, cell) == Some(g.cell_type))
                        .filter_map(|cell| values::read_usize(cell + CELL_CONTENT))
                        .collect()
                } else {
                    let (_, args) = g.partial.filter(|&(t, _)| t == kind)?;
                    self.tuple_items(values::read_usize(by + args)?, g.tuple_type)?
                };
                futures.into_iter().filter(|&f| f != 0).find_map(|future| {
                    self.callbacks_of(future, callback, g)
                        .into_iter()
                        .filter(|&w| values::type_of(self.layout, w) == Some(method_type))
                        .find_map(|wakeup| self.woken_by(wakeup, owner, future))
                })
            }
        }
    }

    /// The items of the tuple at `tuple` (of `tuple_type`), a few at most.
    fn tuple_items(&mut self, tuple: usize, tuple_type: usize) -> Option<Vec<usize>> {
        let mut head = [0u8; TUPLE_ITEMS];
        memory::read(tuple, &mut head).ok()?;
        let len = usize_at(&head, TUPLE_SIZE);
        if usize_at(&head, self.layout.object_type) != tuple_type || len > MAX_CELLS {
            return None;
        }
        let mut items = vec![0u8; len * 8];
        memory::read(tuple + TUPLE_ITEMS, &mut items).ok()?;
        Some(items.chunks_exact(8).map(|w| usize_at(w, 0)).collect())
    }

    /// The done-callbacks of the future at `future` (its first at `callback`), a few at most;
    /// only the first where its later ones' place is not known.
    fn callbacks_of(&mut self, future: usize, callback: usize, g: GatherLink) -> Vec<usize> {
        let mut found: Vec<usize> = values::read_usize(future + callback).into_iter().collect();
        let Some((at, list_type)) = g.callbacks else {
            return found;
        };
        let Some(list) = values::read_usize(future + at).filter(|&l| l != 0) else {
            return found;
        };
        let mut head = [0u8; LIST_ITEMS + 8];
        if memory::read(list, &mut head).is_err()
            || usize_at(&head, self.layout.object_type) != list_type
        {
            return found;
        }
        let len = usize_at(&head, LIST_SIZE).min(MAX_CELLS);
        let mut items = vec![0u8; len * 8];
        if memory::read(usize_at(&head, LIST_ITEMS), &mut items).is_err() {
            return found;
        }
        for pair in items.chunks_exact(8).map(|w| usize_at(w, 0)) {
            // Each a `(callback, context)` tuple.
            if let Some(first) = self
                .tuple_items(pair, g.tuple_type)
                .and_then(|t| t.first().copied())
            {
                found.push(first);
            }
        }
        found
    }

    /// The task that entered the task group whose `_on_task_done` is the bound method at
    /// `method`.
    fn group_parent(&mut self, method: usize, g: GroupLink) -> Option<TaskView> {
        let group = values::read_usize(method + g.method_self)?;
        if values::type_of(self.layout, group)? != g.group_type {
            return None;
        }
        let first = values::read_usize(group.checked_add_signed(g.first)?)?;
        let parent = match g.then {
            None => first,
            Some(then) => values::read_usize((first & !7).checked_add(then)?)?,
        };
        self.task(parent)
    }

    /// The task whose wakeup method is at `method` (its `self` at `owner`), if it waits for
    /// `awaited`.
    fn woken_by(&mut self, method: usize, owner: usize, awaited: usize) -> Option<TaskView> {
        let waiter = self.task(values::read_usize(method + owner)?)?;
        (waiter.fut_waiter == awaited).then_some(waiter)
    }

    /// The values of the dict at `dict` (a small one, of general keys).
    pub fn dict_values(&mut self, dict: usize) -> Option<Vec<usize>> {
        let mut head = [0u8; 48];
        memory::read(dict, &mut head).ok()?;
        // `ma_keys` and `ma_values` (NULL for a combined table) follow the header, `ma_used`
        // and the version tag.
        let (keys, split) = (usize_at(&head, 32), usize_at(&head, 40));
        if keys == 0 || split != 0 {
            return None;
        }
        let mut k = [0u8; 40];
        memory::read(keys, &mut k).ok()?;
        let (entries_at, nentries) = if self.layout.frame_is_object() {
            // 3.10: dk_refcnt, dk_size, dk_lookup, dk_usable, dk_nentries, then the indices,
            // 1, 2, 4 or 8 bytes each by the table's size.
            let size = usize_at(&k, 8);
            let width = match size {
                0..=0xff => 1,
                0x100..=0xffff => 2,
                0x1_0000..=0xffff_ffff => 4,
                _ => 8,
            };
            (
                40usize.checked_add(size.checked_mul(width)?)?,
                usize_at(&k, 32),
            )
        } else {
            // 3.11+: dk_refcnt, dk_log2_size, dk_log2_index_bytes, dk_kind (0 for general
            // keys, whose entries are hash, key, value), dk_version, dk_usable, dk_nentries,
            // then the indices.
            if k[10] != 0 || k[9] > 40 {
                return None;
            }
            (32 + (1usize << k[9]), usize_at(&k, 24))
        };
        if nentries > MAX_LOOPS {
            return None;
        }
        let mut entries = vec![0u8; nentries * 24];
        if nentries > 0 {
            memory::read(keys + entries_at, &mut entries).ok()?;
        }
        Some(
            entries
                .chunks_exact(24)
                .map(|e| usize_at(e, 16))
                .filter(|&v| v != 0)
                .collect(),
        )
    }

    /// The keys of the set at `set`.
    fn set_keys(&mut self, set: usize) -> Option<Vec<usize>> {
        let mut head = [0u8; 48];
        memory::read(set, &mut head).ok()?;
        // `fill`, `used`, `mask`, `table`: entries of a key and its hash.
        let (mask, table) = (usize_at(&head, 32), usize_at(&head, 40));
        if table == 0 || mask >= MAX_TASKS * 4 {
            return None;
        }
        self.table.resize((mask + 1) * 16, 0);
        memory::read(table, &mut self.table).ok()?;
        Some(
            self.table
                .chunks_exact(16)
                .map(|e| usize_at(e, 0))
                .filter(|&k| k != 0)
                .collect(),
        )
    }

    /// Every pending task: of the whole interpreter on 3.10-3.13, of the threads in
    /// `tstates` on 3.14+.
    pub fn all(&mut self, tstates: &[usize], out: &mut Vec<TaskView>) {
        out.clear();
        match self.tasks.all.clone() {
            AllTasks::Sets {
                weak,
                strong,
                weakref_type,
            } => {
                let mut found = Vec::new();
                for set in weak {
                    let refs = self.set_keys(set).unwrap_or_default();
                    // Weak references: their type, then `wr_object` (None once dead).
                    memory::read_each(&refs, 24, &mut self.many, &mut self.read);
                    let object_type = self.layout.object_type;
                    found.extend(
                        self.many
                            .chunks_exact(24)
                            .zip(&self.read)
                            .filter(|&(r, &ok)| ok && usize_at(r, object_type) == weakref_type)
                            .map(|(r, _)| usize_at(r, 16)),
                    );
                }
                for set in strong {
                    found.extend(self.set_keys(set).unwrap_or_default());
                }
                self.tasks_at(&found, out);
            }
            AllTasks::ThreadList { head, node } => {
                // The tasks of the last reading, read in a few calls: most of a list is still
                // where it was, and its links are followed through these copies; a task not
                // among them is read on its own.
                let known = std::mem::take(&mut self.known);
                let len = self.buf.len();
                memory::read_each(&known, len, &mut self.many, &mut self.read);
                let copies: HashMap<usize, usize> = known
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| self.read[i])
                    .map(|(i, &addr)| (addr, i))
                    .collect();
                let mut seen: HashSet<usize> = HashSet::new();
                for &tstate in tstates {
                    let first = tstate + head;
                    let Some(mut link) = values::read_usize(first) else {
                        continue;
                    };
                    // A link seen before closes a loop that is not this list (torn): stop.
                    while link != first && link > node && seen.len() < MAX_TASKS {
                        let addr = link - node;
                        if !seen.insert(addr) {
                            break;
                        }
                        let bytes = match copies.get(&addr) {
                            Some(&i) => &self.many[i * len..(i + 1) * len],
                            None => {
                                if memory::read(addr, &mut self.buf).is_err() {
                                    break;
                                }
                                &self.buf[..]
                            }
                        };
                        let next = usize_at(bytes, node);
                        out.extend(self.view_of(bytes, addr));
                        link = next;
                    }
                }
                self.known = seen.into_iter().collect();
            }
        }
        out.sort_unstable_by_key(|t| t.addr);
        out.dedup_by_key(|t| t.addr);
    }

    /// The task's name: its `str`, or `Task-N` for a 3.13+ task whose name is still its
    /// number.
    pub fn name(&self, name: usize) -> Option<String> {
        let l = self.layout;
        if values::type_of(l, name)? == self.tasks.long_type {
            return small_int(l, name).map(|n| format!("Task-{n}"));
        }
        values::read_str(l, name, MAX_NAME)
    }
}

/// A non-negative `int` of at most two digits.
fn small_int(l: &Layout, addr: usize) -> Option<u64> {
    let mut buf = [0u8; 40];
    memory::read(addr, &mut buf).ok()?;
    let digits = match l.long_tag {
        Some(at) => {
            let tag = usize_at(&buf, at);
            if tag & 3 == 2 {
                return None;
            }
            tag >> 3
        }
        None => usize_at(&buf, l.var_size),
    };
    if digits > 2 || l.long_digit_size != 4 {
        return None;
    }
    let digit = |i: usize| u64::from(i32_at(&buf, l.long_digits + 4 * i) as u32);
    Some((0..digits).map(|i| digit(i) << (l.long_shift * i)).sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpython::layouts;

    fn layout(minor: u8) -> &'static Layout {
        layouts::for_version(3, minor).expect("a layout")
    }

    fn tasks_layout(task_type: usize) -> TaskLayout {
        TaskLayout {
            task_type,
            task_size: 64,
            task_coro: 32,
            task_name: 40,
            task_fut_waiter: 24,
            awaiter: Awaiter::AwaitedBy(56),
            set_type: 0,
            fut_state: 48,
            coro_frame: CoroFrame::Embedded(72),
            coro_type: 0,
            stack_top: None,
            long_type: 0,
            running: Running::ThreadState(0),
            all: AllTasks::ThreadList { head: 0, node: 56 },
        }
    }

    /// Words laid out as a C struct would be, at a fixed address for the test's life.
    fn words(values: &[usize]) -> Box<[usize]> {
        values.to_vec().into_boxed_slice()
    }

    fn at(b: &[usize]) -> usize {
        b.as_ptr() as usize
    }

    #[test]
    fn a_dict_of_running_tasks_gives_its_values() {
        // 3.11+ keys: refcnt, log2 sizes and kind (general), usable, nentries = 2, then 8
        // one-byte indices, then entries of hash, key, value.
        let mut keys = vec![1, 0x0303, 0, 2, 0];
        keys.extend([7, 0x1000, 0xaaa0, 8, 0x2000, 0xbbb0]);
        keys[1] = 3 | (3 << 8);
        let keys = words(&keys);
        let dict = words(&[1, 0, 2, 0, at(&keys), 0]);
        let mut reader = TaskReader::new(layout(11), tasks_layout(0));
        assert_eq!(reader.dict_values(at(&dict)), Some(vec![0xaaa0, 0xbbb0]));
        // A split table, or keys of another kind, is not read.
        let split = words(&[1, 0, 2, 0, at(&keys), at(&keys)]);
        assert_eq!(reader.dict_values(at(&split)), None);
        let mut unicode = keys.to_vec();
        unicode[1] |= 1 << 16;
        let unicode = words(&unicode);
        let dict = words(&[1, 0, 2, 0, at(&unicode), 0]);
        assert_eq!(reader.dict_values(at(&dict)), None);
    }

    #[test]
    fn only_a_pending_task_of_the_task_type_is_a_task() {
        let coro = words(&[0; 16]);
        let name = words(&[0; 8]);
        let task_type = 0x7777;
        let task = |ty: usize, state: usize| words(&[1, ty, 0, 0, at(&coro), at(&name), state, 0]);
        let mut reader = TaskReader::new(layout(12), tasks_layout(task_type));
        let good = task(task_type, 0);
        let view = reader.task(at(&good)).expect("a pending task");
        assert_eq!(view.frame, at(&coro) + 72);
        assert_eq!(view.name, at(&name));
        assert_eq!(reader.task(at(&task(0x8888, 0))), None);
        assert_eq!(reader.task(at(&task(task_type, 2))), None);
        // Freed or unmapped memory is no task either.
        assert_eq!(reader.task(8), None);
        assert_eq!(reader.task(0), None);
    }

    #[test]
    fn a_task_that_ended_is_still_known_by_its_name() {
        let coro = words(&[0; 16]);
        let name = words(&[0; 8]);
        let other = words(&[0; 8]);
        let task_type = 0x7777;
        let task = |ty: usize, state: usize| words(&[1, ty, 0, 0, at(&coro), at(&name), state, 0]);
        let mut reader = TaskReader::new(layout(12), tasks_layout(task_type));
        let pending = task(task_type, 0);
        let view = reader
            .named(at(&pending), at(&name))
            .expect("a pending task");
        assert_eq!(view.frame, at(&coro) + 72);
        // Done: its name alone, nothing to follow.
        let done = task(task_type, 2);
        let view = reader
            .named(at(&done), at(&name))
            .expect("a task that ended");
        assert_eq!((view.name, view.frame, view.awaited_by), (at(&name), 0, 0));
        // Another name, another type, or memory that is not there: not that task.
        assert_eq!(reader.named(at(&pending), at(&other)), None);
        assert_eq!(reader.named(at(&done), at(&other)), None);
        assert_eq!(reader.named(at(&task(0x8888, 2)), at(&name)), None);
        assert_eq!(reader.named(8, at(&name)), None);
    }

    #[test]
    fn a_task_awaiting_another_is_found_only_while_it_waits_for_it() {
        let coro = words(&[0; 16]);
        let name = words(&[0; 8]);
        let task_type = 0x7777;
        let method_type = 0x5555;
        let waiting = words(&[1, task_type, 0, 0, at(&coro), at(&name), 0, 0]);
        // Before 3.14: the first done-callback, the waiting task's wakeup method.
        let wakeup = words(&[1, method_type, 0, at(&waiting), 0]);
        let mut waited = tasks_layout(task_type);
        waited.awaiter = Awaiter::Wakeup {
            callback: 56,
            method_type,
            owner: 24,
            gather: None,
            group: None,
        };
        let awaited = words(&[1, task_type, 0, 0, at(&coro), at(&name), 0, at(&wakeup)]);
        let mut reader = TaskReader::new(layout(12), waited);
        let view = reader.task(at(&awaited)).expect("a task");
        // Only while the waiter waits for it.
        assert_eq!(reader.awaiter(&view), None);
        let mut awaited = words(&[1, task_type, 0, 0, at(&coro), at(&name), 0, 0]);
        let waiting_now = words(&[1, task_type, 0, at(&awaited), at(&coro), at(&name), 0, 0]);
        let wakeup = words(&[1, method_type, 0, at(&waiting_now), 0]);
        awaited[7] = at(&wakeup);
        let view = reader.task(at(&awaited)).expect("a task");
        assert_eq!(
            reader.awaiter(&view).map(|t| t.addr),
            Some(at(&waiting_now))
        );
        // 3.14+: the task says itself who awaits it.
        let noted = words(&[1, task_type, 0, 0, at(&coro), at(&name), 0, at(&waiting)]);
        let mut reader = TaskReader::new(layout(14), tasks_layout(task_type));
        let view = reader.task(at(&noted)).expect("a task");
        assert_eq!(reader.awaiter(&view).map(|t| t.addr), Some(at(&waiting)));
    }

    #[test]
    fn a_task_awaited_through_gather_leads_to_the_task_awaiting_the_gather() {
        let coro = words(&[0; 16]);
        let name = words(&[0; 8]);
        let (task_type, method_type, future_type) = (0x7777, 0x5555, 0x9999);
        let link = GatherLink {
            function_type: 0x4444,
            closure: 16,
            tuple_type: 0x3333,
            cell_type: 0x2222,
            partial: None,
            callbacks: None,
        };
        let mut waited = tasks_layout(task_type);
        waited.awaiter = Awaiter::Wakeup {
            callback: 56,
            method_type,
            owner: 24,
            gather: Some(link),
            group: None,
        };
        // The gathering future; the task awaiting the gather waits for it, and its wakeup
        // is the future's first done-callback.
        let mut gathering = words(&[1, future_type, 0, 0, 0, 0, 0, 0]);
        let parent = words(&[1, task_type, 0, at(&gathering), at(&coro), at(&name), 0, 0]);
        let wakeup = words(&[1, method_type, 0, at(&parent), 0]);
        gathering[7] = at(&wakeup);
        // gather's callback: a function whose closure's cells hold something else, then the
        // gathering future.
        let other = words(&[1, 0x1111, 0, 0, 0, 0, 0, 0]);
        let (cell_a, cell_b) = (
            words(&[1, 0x2222, at(&other)]),
            words(&[1, 0x2222, at(&gathering)]),
        );
        let closure = words(&[1, 0x3333, 2, at(&cell_a), at(&cell_b)]);
        let done = words(&[1, 0x4444, at(&closure), 0]);
        let child = words(&[1, task_type, 0, 0, at(&coro), at(&name), 0, at(&done)]);
        let mut reader = TaskReader::new(layout(12), waited.clone());
        let view = reader.task(at(&child)).expect("a task");
        assert_eq!(reader.awaiter(&view).map(|t| t.addr), Some(at(&parent)));
        // Without the gather link, or with a closure that is not a tuple of cells: none.
        let mut plain = waited;
        if let Awaiter::Wakeup { gather, .. } = &mut plain.awaiter {
            *gather = None;
        }
        assert_eq!(TaskReader::new(layout(12), plain).awaiter(&view), None);
        let not_cells = words(&[1, 0x3333, 2, at(&other), at(&other)]);
        let done = words(&[1, 0x4444, at(&not_cells), 0]);
        let child = words(&[1, task_type, 0, 0, at(&coro), at(&name), 0, at(&done)]);
        let view = reader.task(at(&child)).expect("a task");
        assert_eq!(reader.awaiter(&view), None);
    }

    #[test]
    fn a_task_awaited_through_shield_or_wait_for_leads_to_the_task_awaiting_it() {
        let coro = words(&[0; 16]);
        let name = words(&[0; 8]);
        let (task_type, method_type, future_type, list_type) = (0x7777, 0x5555, 0x9999, 0x1212);
        let link = GatherLink {
            function_type: 0x4444,
            closure: 16,
            tuple_type: 0x3333,
            cell_type: 0x2222,
            partial: Some((0x8888, 24)),
            callbacks: Some((64, list_type)),
        };
        let mut waited = tasks_layout(task_type);
        waited.awaiter = Awaiter::Wakeup {
            callback: 56,
            method_type,
            owner: 24,
            gather: Some(link),
            group: None,
        };
        // shield: the outer future's first callback is shield's own; the wakeup of the task
        // awaiting it comes after, in the list of later callbacks.
        let own = words(&[1, 0x4444, 0, 0]);
        let mut outer = words(&[1, future_type, 0, 0, 0, 0, 0, at(&own), 0]);
        let parent = words(&[1, task_type, 0, at(&outer), at(&coro), at(&name), 0, 0]);
        let wakeup = words(&[1, method_type, 0, at(&parent), 0]);
        let pair = words(&[1, 0x3333, 2, at(&wakeup), 0]);
        let items = words(&[at(&pair)]);
        let later = words(&[1, list_type, 1, at(&items)]);
        outer[8] = at(&later);
        let cell = words(&[1, 0x2222, at(&outer)]);
        let closure = words(&[1, 0x3333, 1, at(&cell)]);
        let done = words(&[1, 0x4444, at(&closure), 0]);
        let child = words(&[1, task_type, 0, 0, at(&coro), at(&name), 0, at(&done)]);
        let mut reader = TaskReader::new(layout(12), waited.clone());
        let view = reader.task(at(&child)).expect("a task");
        assert_eq!(reader.awaiter(&view).map(|t| t.addr), Some(at(&parent)));
        // Where the later callbacks' place is not known, only the first is looked at.
        let mut first_only = waited.clone();
        if let Awaiter::Wakeup {
            gather: Some(g), ..
        } = &mut first_only.awaiter
        {
            g.callbacks = None;
        }
        assert_eq!(TaskReader::new(layout(12), first_only).awaiter(&view), None);
        // wait_for before 3.12: a partial over the future its caller waits for.
        let mut waiter = words(&[1, future_type, 0, 0, 0, 0, 0, 0, 0]);
        let parent = words(&[1, task_type, 0, at(&waiter), at(&coro), at(&name), 0, 0]);
        let wakeup = words(&[1, method_type, 0, at(&parent), 0]);
        waiter[7] = at(&wakeup);
        let args = words(&[1, 0x3333, 1, at(&waiter)]);
        let partial = words(&[1, 0x8888, 0, at(&args)]);
        let child = words(&[1, task_type, 0, 0, at(&coro), at(&name), 0, at(&partial)]);
        let view = reader.task(at(&child)).expect("a task");
        assert_eq!(reader.awaiter(&view).map(|t| t.addr), Some(at(&parent)));
    }

    #[test]
    fn a_task_of_a_task_group_leads_to_the_task_that_entered_the_group() {
        let coro = words(&[0; 16]);
        let name = words(&[0; 8]);
        let (task_type, bound_method_type, group_type) = (0x7777, 0x6666, 0x4141);
        let parent = words(&[1, task_type, 0, 0, at(&coro), at(&name), 0, 0]);
        // The group's attributes' values, reached through a tagged pointer (3.12).
        let values = words(&[0, 0, at(&parent), 0]);
        let group = words(&[1, group_type, 0, at(&values) + 1]);
        let on_done = words(&[1, bound_method_type, 0x10, at(&group), 0]);
        let member = words(&[1, task_type, 0, 0, at(&coro), at(&name), 0, at(&on_done)]);
        let link = GroupLink {
            method_type: bound_method_type,
            method_self: 24,
            group_type,
            first: 24,
            then: Some(16),
        };
        let mut layout_with = tasks_layout(task_type);
        layout_with.awaiter = Awaiter::Wakeup {
            callback: 56,
            method_type: 0x5555,
            owner: 24,
            gather: None,
            group: Some(link),
        };
        let mut reader = TaskReader::new(layout(12), layout_with.clone());
        let view = reader.task(at(&member)).expect("a task");
        assert_eq!(reader.awaiter(&view).map(|t| t.addr), Some(at(&parent)));
        // Directly in the group (3.13's inline values), a word before it, or not a group.
        let group = words(&[1, group_type, 0, at(&parent)]);
        let on_done = words(&[1, bound_method_type, 0x10, at(&group), 0]);
        let member = words(&[1, task_type, 0, 0, at(&coro), at(&name), 0, at(&on_done)]);
        if let Awaiter::Wakeup { group, .. } = &mut layout_with.awaiter {
            *group = Some(GroupLink { then: None, ..link });
        }
        let mut reader = TaskReader::new(layout(12), layout_with);
        let view = reader.task(at(&member)).expect("a task");
        assert_eq!(reader.awaiter(&view).map(|t| t.addr), Some(at(&parent)));
        let not_group = words(&[1, 0x4242, 0, at(&parent)]);
        let on_done = words(&[1, bound_method_type, 0x10, at(&not_group), 0]);
        let member = words(&[1, task_type, 0, 0, at(&coro), at(&name), 0, at(&on_done)]);
        let view = reader.task(at(&member)).expect("a task");
        assert_eq!(reader.awaiter(&view), None);
    }

    #[test]
    fn the_awaited_object_is_found_under_the_top_of_the_value_stack() {
        let l = layout(12);
        let frame = 0x10_000;
        let mut header = vec![0u8; 96];
        // 3.11-3.13: a count of slots from `localsplus`; the awaited object is the top one.
        header[64..68].copy_from_slice(&5i32.to_ne_bytes());
        let count = StackTop::Count { at: 64, back: 1 };
        assert_eq!(
            count.slot(l, frame, &header),
            Some(frame + l.frame_localsplus + 32)
        );
        // 3.14+: a pointer past the top; 3.15 keeps one more slot above the awaited object.
        header[64..72].copy_from_slice(&(frame + 200usize).to_ne_bytes());
        let pointer = StackTop::Pointer { at: 64, back: 2 };
        assert_eq!(pointer.slot(l, frame, &header), Some(frame + 184));
        // A torn header pointing anywhere else gives no slot.
        header[64..72].copy_from_slice(&8usize.to_ne_bytes());
        assert_eq!(pointer.slot(l, frame, &header), None);
        header[64..68].copy_from_slice(&(-3i32).to_ne_bytes());
        assert_eq!(count.slot(l, frame, &header), None);
    }

    #[test]
    fn the_running_task_is_the_one_whose_frame_the_thread_runs() {
        let coro = words(&[0; 16]);
        let name = words(&[0; 8]);
        let task_type = 0x7777;
        let task = words(&[1, task_type, 0, 0, at(&coro), at(&name), 0, 0]);
        let tstate = words(&[at(&task)]);
        let mut reader = TaskReader::new(layout(14), tasks_layout(task_type));
        let frame = at(&coro) + 72;
        let (view, index) = reader
            .running(at(&tstate), &[0x10, frame, 0x30])
            .expect("running");
        assert_eq!((view.addr, index), (at(&task), 1));
        assert_eq!(reader.running(at(&tstate), &[0x10, 0x30]), None);
    }
}
