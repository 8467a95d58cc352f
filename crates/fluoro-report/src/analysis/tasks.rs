//! Time per asyncio task (`fluoro run --async`): running, from the samples whose stacks are
//! rooted at a `<task NAME>` frame (the innermost such frame: a task awaited by another
//! runs under it), and awaiting, from the readings of tasks parked at an `await`, with the
//! place each task waited at most; bytes allocated, from the allocations rooted the same way.

use fluoro_profile::{Frame, Profile};
use std::collections::HashMap;

/// One task's totals. Tasks are known by name: two tasks of one name add up.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStats {
    pub name: String,
    /// Wall time of the samples taken while the task ran.
    pub running_ns: u64,
    pub cpu_ns: u64,
    /// Wall time the task spent waiting at an `await`.
    pub awaiting_ns: u64,
    /// Bytes allocated while the task ran (estimated when sampled).
    pub alloc_bytes: u64,
    /// Where it waited longest: the innermost frame of its coroutines parked at their
    /// `await`s, and all of them, outermost first.
    pub awaiting_at: Option<Frame>,
    pub awaiting_stack: Vec<Frame>,
}

/// What the run recorded of its tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskTable {
    /// Most running time first, then most awaiting.
    pub tasks: Vec<TaskStats>,
    /// Why tasks could not be read, when they could not.
    pub note: Option<String>,
}

/// The task table, `None` when the run did not look for tasks.
pub fn task_table(profile: &Profile) -> Option<TaskTable> {
    let recorded = profile.tasks.as_ref()?;
    let mut rows: HashMap<String, TaskStats> = HashMap::new();
    let mut places: HashMap<(String, Vec<Frame>), u64> = HashMap::new();
    for w in &profile.weights {
        let frames = profile.frames(w.stack);
        let Some(name) = frames
            .iter()
            .rev()
            .find_map(|f| profile.code(*f).task_name())
        else {
            continue;
        };
        let entry = rows.entry(name.to_owned()).or_insert_with(|| empty(name));
        entry.running_ns += w.wall_ns;
        entry.cpu_ns += w.cpu_ns;
        entry.alloc_bytes += w.alloc_bytes;
    }
    for w in &recorded.awaiting {
        let frames = profile.frames(w.stack);
        let Some(at) = frames
            .iter()
            .rposition(|f| profile.code(*f).task_name().is_some())
        else {
            continue;
        };
        let Some(name) = profile.code(frames[at]).task_name() else {
            continue;
        };
        let entry = rows.entry(name.to_owned()).or_insert_with(|| empty(name));
        entry.awaiting_ns += w.wall_ns;
        let parked = frames[at + 1..].to_vec();
        if !parked.is_empty() {
            *places.entry((name.to_owned(), parked)).or_default() += w.wall_ns;
        }
    }
    let mut best: HashMap<String, (u64, Vec<Frame>)> = HashMap::new();
    for ((name, stack), wall) in places {
        let e = best.entry(name).or_insert((0, Vec::new()));
        let key = |s: &[Frame]| s.iter().map(|f| (f.code, f.offset)).collect::<Vec<_>>();
        if (wall, key(&stack)) > (e.0, key(&e.1)) {
            *e = (wall, stack);
        }
    }
    let mut tasks: Vec<TaskStats> = rows
        .into_values()
        .map(|mut t| {
            if let Some((_, stack)) = best.remove(&t.name) {
                t.awaiting_at = stack.last().copied();
                t.awaiting_stack = stack;
            }
            t
        })
        .collect();
    tasks.sort_by(|a, b| {
        (b.running_ns, b.awaiting_ns, &a.name).cmp(&(a.running_ns, a.awaiting_ns, &b.name))
    });
    Some(TaskTable {
        tasks,
        note: recorded.note.clone(),
    })
}

fn empty(name: &str) -> TaskStats {
    TaskStats {
        name: name.to_owned(),
        running_ns: 0,
        cpu_ns: 0,
        awaiting_ns: 0,
        alloc_bytes: 0,
        awaiting_at: None,
        awaiting_stack: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn running_and_awaiting_time_go_to_their_tasks() {
        let profile = testing::async_fixture();
        let table = task_table(&profile).expect("tasks were looked for");
        let names: Vec<&str> = table.tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["worker", "sleeper"]);
        assert_eq!(table.tasks[0].running_ns, 300_000_000);
        assert_eq!(table.tasks[0].awaiting_ns, 0);
        assert_eq!(table.tasks[1].running_ns, 0);
        assert_eq!(table.tasks[1].awaiting_ns, 50_000_000);
        let at = table.tasks[1].awaiting_at.expect("a place");
        assert_eq!(profile.code(at).qualname, "sleeper");
        assert_eq!(profile.line(at), 7);
    }

    #[test]
    fn tasks_of_the_same_name_in_two_processes_are_two_tasks() {
        let profile = testing::async_processes();
        let table = task_table(&profile).expect("tasks were looked for");
        let names: Vec<&str> = table.tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "worker [pid 4242]",
                "worker [pid 4243]",
                "sleeper [pid 4242]",
                "sleeper [pid 4243]"
            ]
        );
        // Each its own process's time, not the sum of both.
        assert!(table
            .tasks
            .iter()
            .take(2)
            .all(|t| t.running_ns == 300_000_000));
        assert!(table
            .tasks
            .iter()
            .skip(2)
            .all(|t| t.awaiting_ns == 50_000_000));
        let at = table.tasks[3].awaiting_at.expect("a place");
        assert_eq!(profile.code(at).qualname, "sleeper");
        // One process read alone keeps its tasks' own names.
        let one = Profile::from_bytes_of_pid(&testing::async_processes_written(), 4243)
            .expect("the child reads");
        let table = task_table(&one).expect("tasks were looked for");
        let names: Vec<&str> = table.tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["worker", "sleeper"]);
    }

    #[test]
    fn allocations_go_to_the_task_they_were_made_in() {
        let mut profile = testing::async_fixture();
        let in_task = |profile: &Profile, stack| {
            let frames = profile.frames(stack);
            frames
                .first()
                .map(|f| profile.code(*f).task_name().is_some())
                == Some(true)
        };
        let mut outside = 0;
        for w in &mut profile.weights {
            w.alloc_bytes = 1000 + u64::from(w.stack);
        }
        for w in &profile.weights {
            if !in_task(&profile, w.stack) {
                outside += w.alloc_bytes;
            }
        }
        let table = task_table(&profile).expect("tasks were looked for");
        let worker: u64 = (profile.weights.iter())
            .filter(|w| in_task(&profile, w.stack))
            .map(|w| w.alloc_bytes)
            .sum();
        assert_eq!(table.tasks[0].alloc_bytes, worker);
        assert!(worker > 0 && outside > 0);
        // Allocations outside any task are no task's.
        let all: u64 = table.tasks.iter().map(|t| t.alloc_bytes).sum();
        assert_eq!(all + outside, profile.total(fluoro_profile::Metric::Alloc));
    }

    #[test]
    fn a_run_that_did_not_look_for_tasks_has_no_table() {
        assert_eq!(task_table(&testing::fixture()), None);
    }
}
