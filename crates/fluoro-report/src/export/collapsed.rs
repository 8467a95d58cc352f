//! Collapsed stacks, the input of flamegraph.pl and inferno: `root;…;leaf COUNT` per line.
//!
//! Each frame is `qualname (path:line)` with the line that frame was executing, so a flame
//! graph separates the call sites within a function. COUNT is samples for wall time and
//! microseconds for CPU time (a sample's CPU share varies, and the tools want integers), and
//! bytes for the memory metrics. A `;` or a control character in a name is written escaped,
//! as `\x3b`, `\n`, `\x1b` (see `fluoro_render::escape`).

use crate::analysis::RunSummary;
use crate::{RenderError, RenderOptions};
use fluoro_profile::{Metric, Profile};
use fluoro_render::escape::for_line_format;
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

/// A frame's text with the format's separator (`;`) and every control character escaped
/// (`\x3b`, `\n`, `\x1b`, …: [`for_line_format`]), so that no name can split a frame or a
/// line, or act on the terminal the file is printed to.
fn clean(text: &str) -> String {
    for_line_format(text, &[';']).into_owned()
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
    fn separators_and_control_characters_in_names_are_escaped() {
        assert_eq!(clean("a;b\nc"), "a\\x3bb\\nc");
        assert_eq!(clean("\x1b]0;pwned\x07"), "\\x1b]0\\x3bpwned\\x07");
    }

    #[test]
    fn hostile_names_keep_one_stack_a_line() {
        let profile = testing::hostile(testing::fixture());
        let options = RenderOptions {
            per_thread: true,
            ..RenderOptions::default()
        };
        let out = String::from_utf8(render(&profile, &options).unwrap()).unwrap();
        let plain = String::from_utf8(render(&testing::fixture(), &options).unwrap()).unwrap();
        assert_eq!(out.lines().count(), plain.lines().count(), "{out}");
        assert!(!out.contains('\x1b'), "{out}");
        // Every line is still `frames COUNT`, with as many frames as before.
        let frames = |t: &str| t.lines().map(|l| l.matches(';').count()).sum::<usize>();
        assert_eq!(frames(&out), frames(&plain));
    }
}
