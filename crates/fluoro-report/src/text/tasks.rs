//! The asyncio tasks table (`fluoro run --async`): each task's running and awaiting time as
//! shares of the run, the bytes it allocated when memory was recorded, and the `await` it
//! waited at longest.

use super::style::{amount_or_dash, place, section, share_or_dash, start, Style};
use crate::analysis::{task_table, RunSummary};
use fluoro_profile::{Metric, Profile};
use fluoro_render::count;
use fluoro_render::escape::for_terminal;
use std::fmt::Write;

/// The tasks table, when the run looked for tasks; `limit` keeps the busiest.
pub(super) fn table(
    out: &mut String,
    profile: &Profile,
    run: &RunSummary,
    limit: Option<usize>,
    style: &Style,
) {
    let Some(table) = task_table(profile) else {
        return;
    };
    let mut body = String::new();
    if let Some(note) = &table.note {
        let _ = writeln!(body, "{}", for_terminal(note));
    }
    if table.tasks.is_empty() {
        if table.note.is_none() {
            body.push_str("No asyncio task was seen.\n");
        }
        section(out, "asyncio tasks", &body, style);
        return;
    }
    let all = table.tasks.len();
    let shown = limit.unwrap_or(all).min(all);
    let whole = run.duration_ns;
    let memory = profile.memory.is_some();
    // Several processes' tasks are named by their pid (`worker [pid 41]`): a column of its
    // own, so that a narrow terminal cuts the name and not the pid.
    let pids = profile.processes.len() > 1;
    let rows = table
        .tasks
        .iter()
        .take(shown)
        .map(|t| {
            let at = awaiting_at(profile, run, &t.awaiting_stack);
            let (name, pid) = match split_pid(&t.name) {
                Some((name, pid)) if pids => (name, pid),
                _ => (t.name.as_str(), ""),
            };
            let mut row = vec![for_terminal(name).into_owned()];
            if pids {
                row.push(pid.to_owned());
            }
            row.extend([
                ns_or_dash(t.running_ns),
                share_or_dash(t.running_ns, whole),
                ns_or_dash(t.cpu_ns),
                ns_or_dash(t.awaiting_ns),
                share_or_dash(t.awaiting_ns, whole),
            ]);
            if memory {
                row.push(amount_or_dash(Metric::Alloc, t.alloc_bytes));
            }
            row.push(at);
            row
        })
        .collect();
    let mut header = vec!["task"];
    let mut numeric = vec![false];
    if pids {
        header.push("pid");
        numeric.push(true);
    }
    header.extend(["running", "share", "cpu", "awaiting", "share"]);
    numeric.extend([true; 5]);
    if memory {
        header.push("allocated");
        numeric.push(true);
    }
    header.push("awaiting at");
    numeric.push(false);
    let last = header.len() - 1;
    body.push_str(&style.table(&header, &numeric, rows, &[start(last), start(0)]));
    if shown < all {
        let _ = writeln!(
            body,
            "\n(not shown: {}, less time running)",
            count((all - shown) as u64, "task")
        );
    }
    section(out, "asyncio tasks", &body, style);
}

/// `worker [pid 41]` as `("worker", "41")`.
fn split_pid(name: &str) -> Option<(&str, &str)> {
    let (name, pid) = name.rsplit_once(" [pid ")?;
    let pid = pid.strip_suffix(']')?;
    pid.bytes()
        .all(|b| b.is_ascii_digit())
        .then_some((name, pid))
}

/// Where a task waited: its outermost coroutine and, when it awaited others, the innermost,
/// with that one's file and line (`handler › … › read (net.py:40)`).
fn awaiting_at(profile: &Profile, run: &RunSummary, stack: &[fluoro_profile::Frame]) -> String {
    let (Some(first), Some(last)) = (stack.first(), stack.last()) else {
        return "-".to_owned();
    };
    let name = |f: &fluoro_profile::Frame| for_terminal(&profile.code(*f).qualname).into_owned();
    let code = profile.code(*last);
    let at = place(run, &code.filename, profile.line(*last));
    match stack.len() {
        1 => format!("{} ({at})", name(last)),
        2 => format!("{} › {} ({at})", name(first), name(last)),
        _ => format!("{} › … › {} ({at})", name(first), name(last)),
    }
}

fn ns_or_dash(value: u64) -> String {
    amount_or_dash(Metric::Wall, value)
}
