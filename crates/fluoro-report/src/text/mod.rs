//! The text summary `fluoro run` prints at exit: header, threads, top functions, call tree,
//! hottest lines, the memory sections, the exact call table when the profile hook ran, and the
//! patterns. Each part is a module; `style` holds what they share.

mod cpu;
mod memory;
mod patterns;
mod processes;
mod style;
mod tasks;

use crate::analysis::{fold_startup, Measure, RunSummary};
use crate::{RenderError, RenderOptions};
use fluoro_profile::{Metric, Profile};
use fluoro_render::clip_lines;
use fluoro_render::escape::for_terminal;
use std::fmt::Write;
use style::{measure_words, ns, section, Style};

pub(crate) fn render(profile: &Profile, options: &RenderOptions) -> Result<Vec<u8>, RenderError> {
    Ok(summary(profile, options).into_bytes())
}

/// The text as one string: the one-screen summary, or the whole report with `full`; start-up
/// folded unless `show_all`; every line fitted to `width`.
fn summary(profile: &Profile, options: &RenderOptions) -> String {
    let folded;
    let profile = if options.show_all {
        profile
    } else {
        folded = fold_startup(profile);
        &folded
    };
    let style = Style {
        color: options.color,
        width: options.width,
    };
    let out = if options.full {
        full(profile, options, &style)
    } else {
        brief(profile, options, &style)
    };
    let mut out = match options.width {
        Some(width) => clip_lines(&out, width),
        None => out,
    };
    if !options.full {
        // Never cut: it may hold a path to type.
        let more = options
            .more
            .as_deref()
            .unwrap_or("Summary: --full shows the whole report");
        let _ = write!(out, "\n{}\n", style.dim(more));
    }
    out
}

/// Header, threads, where the time went, and the memory headline ([`summary`] adds where the
/// rest is).
fn brief(profile: &Profile, options: &RenderOptions, style: &Style) -> String {
    let run = RunSummary::of(profile);
    let mut out = String::new();
    start(&mut out, profile, &run, options, style);
    processes::table(&mut out, profile, Some(PROCESSES_SHOWN), style);
    if profile.samples > 0 {
        // What each thread waited on is a column here; where it waited, --full's Idle lines.
        let waits = (options.metric == Metric::Wall).then(|| cpu::waits(profile, &run, options));
        cpu::threads(
            &mut out,
            profile,
            Some(THREADS_SHOWN),
            waits.as_deref().filter(|w| !w.is_empty()),
            style,
        );
    }
    tasks::table(&mut out, profile, &run, Some(TASKS_SHOWN), style);
    if profile.total(options.metric) > 0 {
        cpu::top_functions(&mut out, profile, &run, options, style);
    }
    if let Some(memory) = &profile.memory {
        memory::headline(&mut out, profile, memory, &run, options, style);
    }
    out
}

/// Every section: today's complete text.
fn full(profile: &Profile, options: &RenderOptions, style: &Style) -> String {
    let run = RunSummary::of(profile);
    let mut out = String::new();
    start(&mut out, profile, &run, options, style);
    processes::table(&mut out, profile, None, style);
    if profile.total(options.metric) > 0 || profile.samples > 0 {
        if profile.samples > 0 {
            cpu::threads(&mut out, profile, None, None, style);
            if options.metric == Metric::Wall {
                cpu::idle(&mut out, profile, &run, options, style);
            }
        }
        tasks::table(&mut out, profile, &run, None, style);
        cpu::functions(&mut out, profile, &run, options, style);
        cpu::tree(&mut out, profile, &run, options.measure(), style);
        cpu::lines(&mut out, profile, &run, options, style);
    }
    if let Some(memory) = &profile.memory {
        memory::render(&mut out, profile, memory, &run, options, style);
    }
    if let Some(exact) = &profile.exact {
        cpu::exact_table(&mut out, exact, &run, options.top, style);
    }
    if !profile.patterns.is_empty() {
        let body = patterns::text(&profile.patterns, &run, options.width);
        section(&mut out, "Patterns", &body, style);
    }
    out
}

/// Processes the summary lists (the first, then the busiest).
const PROCESSES_SHOWN: usize = 6;

/// Threads the summary lists (the most sampled).
const THREADS_SHOWN: usize = 5;

/// asyncio tasks the summary lists (the most running, then the most awaiting).
const TASKS_SHOWN: usize = 8;

/// The header and what it must say before any table: a run cut short, a run with nothing in it.
fn start(
    out: &mut String,
    profile: &Profile,
    run: &RunSummary,
    options: &RenderOptions,
    style: &Style,
) {
    header(out, run, options.measure(), options.full, style);
    if !run.complete {
        out.push_str(
            "\nThe run was cut short: the profile has no end record, so it shows only what was recorded before the target stopped.\n",
        );
    }
    if profile.total(options.metric) == 0 && profile.samples == 0 && profile.memory.is_none() {
        out.push_str("\nNo samples were recorded.\n");
    }
}

/// Reads dropped, in percent of all, from which the summary says so.
const DROPPED_NOTED_PERCENT: u64 = 5;

/// The run's facts; the sampler's own cost only in the whole report.
fn header(out: &mut String, run: &RunSummary, measure: Measure, full: bool, style: &Style) {
    let _ = writeln!(
        out,
        "{}",
        style.title(&format!("fluoro · {}", for_terminal(&run.target)))
    );
    let sampling = if run.rate_hz == 0 {
        format!("{} ({})", run.samples, run.sampler)
    } else {
        format!("{} at {} Hz ({})", run.samples, run.rate_hz, run.sampler)
    };
    let mut pairs = vec![
        ("python", run.python.clone()),
        ("duration", ns(run.duration_ns)),
        ("samples", sampling),
        ("metric", measure_words(measure)),
    ];
    let reads = run.samples + run.failed_reads;
    if run.failed_reads > 0 && run.failed_reads * 100 >= reads * DROPPED_NOTED_PERCENT {
        // A stack that changed while it was read is dropped, its time given to the thread's
        // next sample. Many such reads (a program of very short calls) are worth knowing of.
        pairs.push((
            "dropped",
            format!(
                "{} reads ({}): the stack changed under them; their time went to the next sample",
                run.failed_reads,
                fluoro_render::percent(crate::analysis::share(run.failed_reads, reads))
            ),
        ));
    }
    if let Some(exception) = &run.exception {
        pairs.push(("exception", exception.clone()));
    }
    if run.sampler_cpu_ns > 0 && full {
        let per_sample = run.sampler_cpu_ns / run.samples.max(1);
        pairs.push((
            "sampler",
            format!(
                "{} CPU on its own thread ({} a sample), {} torn reads dropped",
                ns(run.sampler_cpu_ns),
                ns(per_sample),
                run.failed_reads
            ),
        ));
    }
    out.push_str(&style.fields(&pairs));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn text(profile: &Profile, options: &RenderOptions) -> String {
        summary(profile, options)
    }

    /// The whole report, as `--full` asks for it.
    fn full_options() -> RenderOptions {
        RenderOptions {
            full: true,
            ..RenderOptions::default()
        }
    }

    /// The fixture with its worker thread's `Thread.run` made import machinery, and patterns.
    fn with_startup() -> Profile {
        let mut profile = testing::fixture_with_memory();
        profile.patterns = testing::patterns();
        for code in profile.codes.values_mut() {
            if code.qualname == "Thread.run" {
                code.filename = "<frozen importlib._bootstrap>".into();
                code.qualname = "_find_and_load".into();
            }
        }
        profile
    }

    #[test]
    fn summary_snapshot() {
        let options = RenderOptions {
            source_root: Some(testing::source_root("summary")),
            ..RenderOptions::default()
        };
        let out = text(&with_startup(), &options);
        assert!(!out.contains("Call tree"), "{out}");
        assert!(out.contains("Top functions by self active wall time, at their hottest line"));
        assert!(out.contains("Leak candidates"), "{out}");
        assert!(out.ends_with("\nSummary: --full shows the whole report\n"));
        insta::assert_snapshot!(out);
    }

    #[test]
    fn many_reads_dropped_are_said_in_the_summary() {
        let mut profile = testing::fixture();
        let samples = profile.samples;
        let end = profile.end.as_mut().expect("an end record");
        end.failed_reads = samples / 2;
        let out = text(&profile, &RenderOptions::default());
        assert!(
            out.contains(&format!(
                "{} reads (33.3 %): the stack changed under them",
                samples / 2
            )),
            "{out}"
        );
        // A few are not worth a word.
        profile.end.as_mut().expect("an end record").failed_reads = samples / 100;
        let out = text(&profile, &RenderOptions::default());
        assert!(!out.contains("the stack changed under them"), "{out}");
    }

    #[test]
    fn asyncio_tasks_get_their_table() {
        let profile = testing::async_fixture();
        let out = text(&profile, &RenderOptions::default());
        let tasks = &out[out.find("asyncio tasks").expect("a tasks table")..];
        insta::assert_snapshot!(tasks);
        assert!(!text(&testing::fixture(), &RenderOptions::default()).contains("asyncio tasks"));
    }

    #[test]
    fn tasks_of_several_processes_get_a_pid_column() {
        let out = text(&testing::async_processes(), &RenderOptions::default());
        let tasks = &out[out.find("asyncio tasks").expect("a tasks table")..];
        let header = tasks.lines().nth(1).expect("a header");
        let cells: Vec<&str> = header.split_whitespace().take(3).collect();
        assert_eq!(cells, ["task", "pid", "running"], "{tasks}");
        let rows: Vec<Vec<&str>> = tasks
            .lines()
            .skip(3)
            .take(4)
            .map(|l| l.split_whitespace().take(2).collect())
            .collect();
        assert_eq!(
            rows,
            [
                ["worker", "4242"],
                ["worker", "4243"],
                ["sleeper", "4242"],
                ["sleeper", "4243"]
            ],
            "{tasks}"
        );
        // One process: no column, the plain names.
        let one = text(&testing::async_fixture(), &RenderOptions::default());
        let one = &one[one.find("asyncio tasks").expect("a tasks table")..];
        assert!(!one.contains("pid"), "{one}");
    }

    #[test]
    fn with_memory_recorded_each_task_gets_its_allocated_bytes() {
        let mut profile = testing::async_fixture();
        profile.memory = Some(Default::default());
        let in_task: Vec<bool> = (profile.weights.iter())
            .map(|w| {
                let frames = profile.frames(w.stack);
                frames.len() == 3 && profile.code(frames[0]).task_name().is_some()
            })
            .collect();
        for (w, in_task) in profile.weights.iter_mut().zip(in_task) {
            w.alloc_bytes = if in_task { 3 << 20 } else { 1 << 20 };
        }
        let out = text(&profile, &RenderOptions::default());
        let tasks = &out[out.find("asyncio tasks").expect("a tasks table")..];
        let header = tasks
            .lines()
            .find(|l| l.contains("awaiting at"))
            .expect("a header");
        assert!(header.contains("allocated"), "{tasks}");
        let worker = tasks
            .lines()
            .find(|l| l.contains(" worker "))
            .expect("a row");
        assert!(
            worker.contains("3.0 MiB") || worker.contains("3.00 MiB"),
            "{tasks}"
        );
        let sleeper = tasks
            .lines()
            .find(|l| l.contains(" sleeper "))
            .expect("a row");
        assert!(!sleeper.contains("MiB"), "{tasks}");
    }

    #[test]
    fn a_profile_of_several_processes_lists_them_first() {
        let profile = testing::fixture_processes();
        let out = text(&profile, &RenderOptions::default());
        let processes = out.find("Processes").expect("a processes table");
        assert!(processes < out.find("Threads").expect("threads"), "{out}");
        assert!(out.contains("MainThread [pid 4242]"), "{out}");
        let worker = out
            .lines()
            .find(|l| l.contains("worker.py --n=4244"))
            .expect("the killed worker's row");
        assert!(worker.contains("killed (no end record)"), "{worker}");
        insta::assert_snapshot!(out);
        // One process alone has no such table.
        assert!(!text(&testing::fixture(), &RenderOptions::default()).contains("Processes"));
    }

    #[test]
    fn the_summary_lists_the_five_threads_sampled_most() {
        let mut profile = testing::fixture();
        let idle = profile
            .weights
            .iter()
            .find(|w| w.thread == 2)
            .cloned()
            .unwrap();
        for i in 0..6 {
            let mut thread = profile.threads[2].clone();
            thread.ident = 900 + i;
            profile.threads.push(thread);
            profile.weights.push(fluoro_profile::StackWeight {
                thread: profile.threads.len() as u32 - 1,
                ..idle
            });
        }
        let out = text(&profile, &RenderOptions::default());
        assert!(
            out.contains("\n(not shown: 4 threads, sampled less)\n"),
            "{out}"
        );
        let worker = out.lines().find(|l| l.starts_with(" worker-1 ")).unwrap();
        assert!(worker.trim_end().ends_with("   other"), "{worker}");
        assert!(
            !out.contains("Idle ("),
            "where they waited is for --full: {out}"
        );
        let full = text(&profile, &full_options());
        assert!(!full.contains("not shown"), "{full}");
        assert!(full.contains("thread 905 "), "{full}");
    }

    #[test]
    fn the_summary_ends_with_where_the_full_report_is() {
        let options = RenderOptions {
            more: Some("Full report: fluoro report run.fluoro --full".into()),
            ..RenderOptions::default()
        };
        let out = text(&testing::fixture(), &options);
        assert!(
            out.ends_with("\nFull report: fluoro report run.fluoro --full\n"),
            "{out}"
        );
        let full = text(
            &testing::fixture(),
            &RenderOptions {
                full: true,
                ..options
            },
        );
        assert!(!full.contains("Full report:"));
    }

    #[test]
    fn start_up_folds_into_one_entry_unless_show_all() {
        let profile = with_startup();
        // With idle time counted, the samples in the machinery have self time to rank.
        for full in [false, true] {
            let folded = text(
                &profile,
                &RenderOptions {
                    full,
                    idle: true,
                    ..RenderOptions::default()
                },
            );
            assert!(folded.contains("[startup/import]"), "{folded}");
            assert!(!folded.contains("_find_and_load"), "{folded}");
            assert!(!folded.contains("<frozen importlib"), "{folded}");
            let all = RenderOptions {
                full,
                idle: true,
                show_all: true,
                ..RenderOptions::default()
            };
            let shown = text(&profile, &all);
            assert!(shown.contains("_find_and_load"), "{shown}");
            assert!(!shown.contains("[startup/import]"), "{shown}");
        }
    }

    #[test]
    fn every_line_fits_the_width() {
        let profile = with_startup();
        for full in [false, true] {
            let wide = text(
                &profile,
                &RenderOptions {
                    full,
                    ..RenderOptions::default()
                },
            );
            let widest = |t: &str| t.lines().map(|l| l.chars().count()).max().unwrap_or(0);
            assert!(
                widest(&wide) > 80,
                "the fixture must be wider than 80 columns"
            );
            for width in [80, 60] {
                let options = RenderOptions {
                    full,
                    width: Some(width),
                    color: true,
                    ..RenderOptions::default()
                };
                let out = text(&profile, &options);
                let over: Vec<&str> = out
                    .lines()
                    .filter(|l| fluoro_render::visible_width(l) > width)
                    .collect();
                assert!(over.is_empty(), "{over:#?}");
                // Fields wrap rather than lose their end: the GC line's last figure stays.
                if !full {
                    let words: Vec<&str> = out.split_whitespace().collect();
                    assert!(words.join(" ").contains("longest 2.000 ms"), "{out}");
                }
            }
        }
    }

    #[test]
    fn a_function_with_no_self_time_shows_a_dash() {
        let out = text(&testing::fixture(), &full_options());
        assert!(!out.contains("0.0 ns"), "{out}");
        let main = out
            .lines()
            .find(|l| l.contains(" main ") && l.contains("app.py:8"))
            .expect("main in the table by total");
        assert!(main.contains(" -        -   main"), "{main}");
    }

    #[test]
    fn text_snapshot() {
        let options = RenderOptions {
            source_root: Some(testing::source_root("text")),
            ..full_options()
        };
        insta::assert_snapshot!(text(&testing::fixture(), &options));
    }

    #[test]
    fn text_cpu_cut_short_snapshot() {
        let options = RenderOptions {
            metric: Metric::Cpu,
            top: 3,
            source_root: Some(testing::source_root("text-cut")),
            ..full_options()
        };
        insta::assert_snapshot!(text(&testing::fixture_cut_short(), &options));
    }

    #[test]
    fn missing_sources_leave_the_source_column_empty() {
        let options = RenderOptions {
            source_root: Some(testing::scratch("no-such-dir")),
            ..full_options()
        };
        let out = text(&testing::fixture(), &options);
        assert!(out.contains("lib/work.py:2 "));
        assert!(!out.contains("if n < 2"));
    }

    #[test]
    fn color_only_adds_escapes() {
        let plain = full_options();
        let color = RenderOptions {
            color: true,
            ..full_options()
        };
        let profile = testing::fixture();
        let colored = text(&profile, &color);
        assert!(colored.contains("\x1b[1m"));
        let stripped = colored
            .replace("\x1b[1m", "")
            .replace("\x1b[2m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, text(&profile, &plain));
    }

    #[test]
    fn patterns_follow_the_tables() {
        let mut profile = testing::fixture();
        let plain = text(&profile, &full_options());
        assert!(!plain.contains("Patterns"));
        profile.patterns = testing::patterns();
        let out = text(&profile, &full_options());
        let at = out.find("\nPatterns\n").expect("a Patterns section");
        assert!(out[..at].starts_with(&plain[..plain.len() - 1]));
        assert!(out[at..].contains("Parser"));
    }

    /// The busy/idle fixture's summary and the rows of its first function table.
    fn busy_text(idle: bool) -> (String, Vec<String>) {
        let options = RenderOptions {
            source_root: Some(testing::busy_source_root(&format!("idle-{idle}"))),
            idle,
            ..full_options()
        };
        let out = text(&testing::busy_and_idle(), &options);
        let at = out.find("Top functions by self").expect("a function table");
        let rows = out[at..]
            .lines()
            .skip(3)
            .take_while(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        (out, rows)
    }

    #[test]
    fn active_time_ranks_first_and_idle_time_is_one_line_per_thread() {
        let (out, rows) = busy_text(false);
        assert!(out.contains("Top functions by self active wall time\n"));
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert!(rows[0].contains("crunch") && rows[0].contains("100.0 %"));
        assert!(out.contains(
            "MainThread  600.000 ms idle (66.7 % of its time): sleep; waited most in nap busy.py:7"
        ));
        assert!(out.contains(
            "consumer    900.000 ms idle (100.0 % of its time): lock; waited most in Condition.wait threading.py:355"
        ));
        insta::assert_snapshot!(out);
    }

    #[test]
    fn idle_puts_waiting_stacks_back_in_the_tables() {
        let (out, rows) = busy_text(true);
        assert!(out.contains("  metric    wall time\n"));
        assert!(out.contains("Top functions by self wall time\n"));
        let order: Vec<&str> = ["Condition.wait", "nap", "crunch"]
            .into_iter()
            .filter(|f| rows.iter().any(|r| r.contains(&format!(" {f} "))))
            .collect();
        assert_eq!(order.len(), 3, "{rows:?}");
        assert!(rows[0].contains("Condition.wait"), "{rows:?}");
        assert!(out.contains("Idle (threads waiting)\n"));
    }

    #[test]
    fn hostile_names_are_shown_escaped_and_break_no_line() {
        let mut plain = testing::fixture_with_memory();
        plain.patterns = testing::patterns();
        if let Some(end) = &mut plain.end {
            end.exception = Some("ValueError: boom".into());
        }
        let hostile = testing::hostile(plain.clone());
        for (full, width) in [
            (false, None),
            (true, None),
            (false, Some(80)),
            (true, Some(60)),
        ] {
            let options = RenderOptions {
                full,
                width,
                color: true,
                show_all: true,
                source_root: Some(testing::source_root("hostile")),
                ..RenderOptions::default()
            };
            let out = text(&hostile, &options);
            assert!(testing::only_our_escapes(&out), "{out:?}");
            // At a width, longer names wrap fields onto more lines: only whole ones compare.
            if width.is_none() {
                assert!(
                    out.contains("\\x1b]0;pwned\\x07\\x1b[2J\\n\\u202e"),
                    "{out}"
                );
                assert_eq!(
                    out.lines().count(),
                    text(&plain, &options).lines().count(),
                    "{out}"
                );
            }
            if let Some(width) = width {
                let over: Vec<&str> = out
                    .lines()
                    .filter(|l| fluoro_render::visible_width(l) > width)
                    .collect();
                assert!(over.is_empty(), "{over:#?}");
            }
        }
        let options = RenderOptions {
            source_root: Some(testing::source_root("hostile-snapshot")),
            ..full_options()
        };
        insta::assert_snapshot!(text(&testing::hostile(testing::fixture()), &options));
    }

    #[test]
    fn an_empty_profile_says_so() {
        let out = text(&Profile::default(), &RenderOptions::default());
        assert!(out.contains("No samples were recorded."));
        assert!(out.contains("cut short"));
    }
}
