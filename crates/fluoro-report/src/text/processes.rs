//! The processes table of a profile that followed child processes (`fluoro run
//! --subprocesses`): what each process ran, its CPU, its peak memory and how it ended.

use super::style::{ns, section, start, Style};
use fluoro_profile::{ProcessInfo, Profile};
use fluoro_render::bytes;
use std::fmt::Write;

/// Lists the processes with something recorded, the busiest first; `limit` keeps that many.
/// Nothing for a profile of one process.
pub(super) fn table(out: &mut String, profile: &Profile, limit: Option<usize>, style: &Style) {
    let mut shown: Vec<&ProcessInfo> = profile
        .processes
        .iter()
        // A fork that went straight on to exec recorded nothing of its own.
        .filter(|p| p.samples > 0 || p.end.is_some())
        .collect();
    if shown.len() < 2 {
        return;
    }
    let all = shown.len();
    // The first process first, then the busiest.
    shown[1..].sort_by(|a, b| b.cpu_ns.cmp(&a.cpu_ns).then(a.start_ns.cmp(&b.start_ns)));
    if let Some(limit) = limit {
        shown.truncate(limit.max(1));
    }
    let rows = shown
        .iter()
        .map(|p| {
            vec![
                p.pid.to_string(),
                if p.ppid == 0 {
                    "-".to_string()
                } else {
                    p.ppid.to_string()
                },
                command(p, profile),
                p.end
                    .as_ref()
                    .map_or_else(|| "-".to_string(), |e| ns(e.wall_ns)),
                ns(p.cpu_ns),
                peak(p),
                ending(p),
            ]
        })
        .collect();
    let header = ["pid", "parent", "command", "wall", "cpu", "peak", "ended"];
    let numeric = [true, true, false, true, true, true, false];
    let mut body = style.table(&header, &numeric, rows, &[start(2)]);
    if shown.len() < all {
        let _ = writeln!(
            body,
            "\n(not shown: {}, with less CPU)",
            match all - shown.len() {
                1 => "1 process".to_string(),
                n => format!("{n} processes"),
            }
        );
    }
    let _ = writeln!(
        body,
        "\nFigures below add up every process; memory peaks are each process's own. \
         --pid PID reports one."
    );
    section(out, "Processes", &body, style);
}

/// What the process ran, its start kept when cut: a script by its path under the first
/// process's directory (else its file name), `-m MODULE`, or `-c` with its code; then the
/// arguments.
fn command(p: &ProcessInfo, profile: &Profile) -> String {
    let cwd = profile.meta.as_ref().map_or("", |m| m.cwd.as_str());
    let path = std::path::Path::new(&p.target);
    let target = if p.target.starts_with('-') || p.target.starts_with("fork of") {
        p.target.clone()
    } else if let Some(rel) = path.strip_prefix(cwd).ok().filter(|_| !cwd.is_empty()) {
        rel.display().to_string()
    } else {
        path.file_name()
            .map_or_else(|| p.target.clone(), |n| n.to_string_lossy().into_owned())
    };
    let rest = p.argv.iter().skip(1).cloned().collect::<Vec<_>>().join(" ");
    let command = if rest.is_empty() {
        target
    } else {
        format!("{target} {rest}")
    };
    command.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The highest resident set size read, else the recorded heap's peak, else a dash.
fn peak(p: &ProcessInfo) -> String {
    match (p.peak_rss_bytes, p.peak_heap_bytes) {
        (0, 0) => "-".to_string(),
        (0, heap) => format!("{} heap", bytes(heap)),
        (rss, _) => format!("{} RSS", bytes(rss)),
    }
}

fn ending(p: &ProcessInfo) -> String {
    match &p.end {
        None => "killed (no end record)".to_string(),
        Some(end) => match &end.exception {
            Some(name) => format!("raised {name}"),
            None => "exited".to_string(),
        },
    }
}
