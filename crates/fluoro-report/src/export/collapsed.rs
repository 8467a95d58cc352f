//! Collapsed stacks, the input of flamegraph.pl and inferno: `root;…;leaf COUNT` per line.
//!
//! Each frame is `qualname (path:line)` with the line that frame was executing, so a flame
//! graph separates the call sites within a function. COUNT is samples for wall time and
//! microseconds for CPU time (a sample's CPU share varies, and the tools want integers), and
//! bytes for the memory metrics.

use crate::analysis::RunSummary;
use crate::{RenderError, RenderOptions};
use fluoro_profile::{Metric, Profile};
use std::collections::BTreeMap;
use std::fmt::Write;

pub(crate) fn render(profile: &Profile, options: &RenderOptions) -> Result<Vec<u8>, RenderError> {
    let run = RunSummary::of(profile);
    // Stacks that render alike (same lines, other offsets; other threads) add up here.
    let mut stacks: BTreeMap<String, u64> = BTreeMap::new();
    for w in &profile.weights {
        let mut line = String::new();
        if options.per_thread {
            line.push_str(&clean(&profile.thread_name(w.thread)));
        }
        for frame in profile.frames(w.stack) {
            let code = profile.code(frame);
            if !line.is_empty() {
                line.push(';');
            }
            let text = format!(
                "{} ({}:{})",
                code.qualname,
                run.display_path(&code.filename),
                profile.line(frame)
            );
            line.push_str(&clean(&text));
        }
        if line.is_empty() {
            continue;
        }
        let value = match options.metric {
            Metric::Wall => w.samples,
            metric => metric.of(w),
        };
        *stacks.entry(line).or_default() += value;
    }
    let mut out = String::new();
    for (stack, value) in stacks {
        // Wall counts samples, CPU microseconds, memory metrics bytes.
        let count = match options.metric {
            Metric::Cpu => (value + 500) / 1000,
            _ => value,
        };
        if count > 0 {
            let _ = writeln!(out, "{stack} {count}");
        }
    }
    Ok(out.into_bytes())
}

/// A frame's text with the format's separators (`;`, newlines) replaced, so that odd names
/// (`<lambda>` is fine, a path with `;` is not) cannot split a frame.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ';' => ':',
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn collapsed(options: &RenderOptions) -> String {
        String::from_utf8(render(&testing::fixture(), options).unwrap()).unwrap()
    }

    #[test]
    fn wall_counts_samples_and_merges_threads() {
        let out = collapsed(&RenderOptions::default());
        insta::assert_snapshot!(out);
        let total: u64 = out
            .lines()
            .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
            .sum();
        assert_eq!(total, 150);
        let lines: Vec<&str> = out.lines().collect();
        let mut sorted = lines.clone();
        sorted.sort();
        assert_eq!(lines, sorted);
        assert!(out.contains(
            "<module> (app.py:5);main (app.py:10);fib (lib/work.py:4);fib (lib/work.py:4);fib (lib/work.py:2) 30\n"
        ));
    }

    #[test]
    fn cpu_counts_microseconds_and_drops_zeros() {
        let out = collapsed(&RenderOptions {
            metric: Metric::Cpu,
            ..RenderOptions::default()
        });
        assert!(out.contains("Thread.run (threading.py:982);worker (lib/work.py:21);Parser.parse (lib/work.py:12) 120000\n"));
        assert!(
            !out.contains("worker (lib/work.py:21) "),
            "zero-CPU stack kept:\n{out}"
        );
        assert!(!out.contains("<module> (app.py:3) "));
    }

    #[test]
    fn per_thread_puts_the_thread_first() {
        let out = collapsed(&RenderOptions {
            per_thread: true,
            ..RenderOptions::default()
        });
        assert!(out.contains("worker-1;Thread.run (threading.py:982);worker (lib/work.py:21) 50\n"));
        assert!(out.contains("thread 140003;Thread.run (threading.py:982) 4\n"));
        assert!(out.lines().all(|l| !l.starts_with("<module>")));
    }

    #[test]
    fn separators_in_names_are_replaced() {
        assert_eq!(clean("a;b\nc"), "a:b c");
    }
}
