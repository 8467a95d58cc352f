//! fluoro's command line, as plain data: clap definitions, the split of `fluoro run`'s
//! arguments between fluoro and the target, and the one-line form of every usage error.
//!
//! Nothing here touches Python; the extension crate dispatches on [`Invocation`].

mod args;
mod interpreter;
mod split;

pub use args::{
    function_target, AdviseArgs, AdviseFormat, AttachArgs, BenchArgs, Cli, Command, DisArgs,
    DumpArgs, EnvArgs, Format, HeapArgs, HeapCommand, HeapDiffArgs, HeapPathArgs, HeapSummaryArgs,
    HeapViewArgs, InspectArgs, LaterArgs, MemoryChoice, Metric, ReportArgs, RunArgs, SamplerChoice,
    Target, TextArgs, TopArgs,
};
pub use interpreter::interpreter_options;
pub use split::split_run_args;

use clap::{CommandFactory, Parser};
use std::ffi::OsString;

/// What the command line asked for, or why it cannot be done. Made once per process: the
/// size of the `Command` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Invocation {
    /// A command to carry out.
    Command(Command),
    /// Text to print on stdout, then exit 0 (`--help`, `--version`).
    Print(String),
    /// Help to print on stderr, then exit 2: `fluoro` with no subcommand.
    Missing(String),
    /// A usage error: one line for stderr, exit 2.
    Usage(String),
}

/// Parses a full argv (`argv[0]` is the program name).
pub fn parse<I, S>(argv: I) -> Invocation
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    // OS strings throughout: a path or a target's argument need not be UTF-8.
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    // `run` stops reading its own options at the target, the way `python` does, so that
    // `fluoro run app.py --help` hands `--help` to app.py.
    let (fluoro_part, target_args) = match argv.iter().position(|a| a == "run") {
        Some(at)
            if argv[1..at]
                .iter()
                .all(|a| a.as_encoded_bytes().starts_with(b"-")) =>
        {
            let split = split_run_args(&Cli::command(), &argv[at + 1..]);
            let mut head: Vec<OsString> = argv[..=at].to_vec();
            head.extend_from_slice(split.fluoro);
            (head, Some(split.target.to_vec()))
        }
        _ => (argv, None),
    };
    match Cli::try_parse_from(&fluoro_part) {
        Ok(cli) => {
            let mut command = cli.command;
            if let (Command::Run(run), Some(rest)) = (&mut command, target_args) {
                if let Err(message) = run.take_target(rest) {
                    return Invocation::Usage(message);
                }
            }
            Invocation::Command(command)
        }
        Err(err) => match err.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                Invocation::Print(err.render().to_string())
            }
            clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                Invocation::Missing(err.render().to_string())
            }
            _ => Invocation::Usage(one_line(&err)),
        },
    }
}

/// Turns clap's multi-line error into `fluoro`'s one-line form: the message with its
/// indented continuation lines, and clap's tip if it has one.
fn one_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let mut lines = text.lines().skip_while(|l| l.trim().is_empty());
    let first = lines.next().unwrap_or("invalid usage").trim();
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    for line in lines.by_ref() {
        if line.trim().is_empty() || !line.starts_with(' ') {
            break;
        }
        message.push(' ');
        message.push_str(line.trim());
    }
    if let Some(tip) = text.lines().find_map(|l| l.trim().strip_prefix("tip: ")) {
        message.push_str("; ");
        message.push_str(tip);
    }
    format!("{message} (see 'fluoro --help')")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(argv: &[&str]) -> Command {
        match parse(argv.iter().copied()) {
            Invocation::Command(c) => c,
            other => panic!("expected a command, got {other:?}"),
        }
    }

    fn usage(argv: &[&str]) -> String {
        match parse(argv.iter().copied()) {
            Invocation::Usage(line) => line,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn run_hands_everything_after_the_script_to_the_target() {
        let Command::Run(run) = command(&["fluoro", "run", "-q", "app.py", "--help", "-q"]) else {
            panic!("not run")
        };
        assert!(run.quiet);
        assert_eq!(run.target, Some(Target::Script("app.py".into())));
        assert_eq!(run.args, vec!["--help", "-q"]);
    }

    #[test]
    fn html_takes_its_file_after_an_equals_sign_on_run_and_as_a_value_on_report() {
        let Command::Run(run) = command(&["fluoro", "run", "--html", "app.py", "x"]) else {
            panic!("not run")
        };
        assert_eq!(run.html, Some(None));
        assert_eq!(run.target, Some(Target::Script("app.py".into())));
        assert_eq!(run.args, vec!["x"]);
        let Command::Run(run) = command(&["fluoro", "run", "--html=r.html", "app.py"]) else {
            panic!("not run")
        };
        assert_eq!(run.html, Some(Some("r.html".into())));
        let Command::Run(run) = command(&["fluoro", "run", "app.py"]) else {
            panic!("not run")
        };
        assert_eq!(run.html, None);
        let Command::Report(report) =
            command(&["fluoro", "report", "p.fluoro", "--html", "r.html"])
        else {
            panic!("not report")
        };
        assert_eq!(report.html, Some("r.html".into()));
        assert!(
            usage(&["fluoro", "report", "p.fluoro", "--html", "r.html", "-o", "x"])
                .contains("cannot be used with")
        );
        let Command::Report(report) = command(&["fluoro", "report", "p", "--format", "html"])
        else {
            panic!("not report")
        };
        assert_eq!(report.format, Format::Html);
    }

    #[test]
    fn idle_is_a_switch_of_run_and_report() {
        let Command::Run(run) = command(&["fluoro", "run", "--idle", "app.py", "--idle"]) else {
            panic!("not run")
        };
        assert!(run.idle);
        assert_eq!(run.args, vec!["--idle"]);
        let Command::Report(report) = command(&["fluoro", "report", "p.fluoro"]) else {
            panic!("not report")
        };
        assert!(!report.idle);
        let Command::Report(report) = command(&["fluoro", "report", "--idle", "p.fluoro"]) else {
            panic!("not report")
        };
        assert!(report.idle);
    }

    #[test]
    fn run_module_and_code_targets() {
        let Command::Run(run) = command(&["fluoro", "run", "-m", "http.server", "-b", "x"]) else {
            panic!("not run")
        };
        assert_eq!(run.target, Some(Target::Module("http.server".into())));
        assert_eq!(run.args, vec!["-b", "x"]);

        let Command::Run(run) = command(&["fluoro", "run", "-c", "print(1)", "a"]) else {
            panic!("not run")
        };
        assert_eq!(run.target, Some(Target::Code("print(1)".into())));
        assert_eq!(run.args, vec!["a"]);

        let Command::Run(run) = command(&["fluoro", "run", "-mjson.tool", "f"]) else {
            panic!("not run")
        };
        assert_eq!(run.target, Some(Target::Module("json.tool".into())));
        assert_eq!(run.args, vec!["f"]);
    }

    #[test]
    fn run_double_dash_ends_fluoro_options() {
        let Command::Run(run) = command(&["fluoro", "run", "--", "-weird.py", "x"]) else {
            panic!("not run")
        };
        assert_eq!(run.target, Some(Target::Script("-weird.py".into())));
        assert_eq!(run.args, vec!["x"]);
    }

    #[test]
    fn run_passes_arguments_and_paths_that_are_not_utf8() {
        use std::os::unix::ffi::OsStringExt;
        let bytes = |b: &[u8]| OsString::from_vec(b.to_vec());
        let argv = vec![
            bytes(b"fluoro"),
            bytes(b"run"),
            bytes(b"-o"),
            bytes(b"out\xff.fluoro"),
            bytes(b"caf\xe9.py"),
            bytes(b"\xff\xfe"),
            bytes(b"--x=\x80"),
        ];
        let Invocation::Command(Command::Run(run)) = parse(argv) else {
            panic!("not run")
        };
        assert_eq!(
            run.target,
            Some(Target::Script(bytes(b"caf\xe9.py").into()))
        );
        assert_eq!(run.output, Some(bytes(b"out\xff.fluoro").into()));
        assert_eq!(run.args, vec![bytes(b"\xff\xfe"), bytes(b"--x=\x80")]);
    }

    #[test]
    fn run_without_target_is_a_usage_error() {
        let line = usage(&["fluoro", "run"]);
        assert!(line.contains("no target"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn unknown_subcommand_is_one_line() {
        let line = usage(&["fluoro", "frobnicate"]);
        assert!(line.contains("frobnicate"), "{line}");
        assert!(!line.contains('\n'), "{line}");
    }

    #[test]
    fn unknown_run_option_is_one_line() {
        let line = usage(&["fluoro", "run", "--bogus", "app.py"]);
        assert!(line.contains("--bogus"), "{line}");
        assert!(!line.contains('\n'), "{line}");
    }

    #[test]
    fn help_and_version_print() {
        let Invocation::Print(help) = parse(["fluoro", "--help"]) else {
            panic!()
        };
        for verb in [
            "run", "report", "heap", "advise", "bench", "dis", "inspect", "env", "runs",
        ] {
            assert!(help.contains(verb), "help lacks {verb}");
        }
        let Invocation::Print(version) = parse(["fluoro", "--version"]) else {
            panic!()
        };
        assert!(version.starts_with("fluoro "));
    }

    #[test]
    fn advise_selectors_split_on_commas_and_measure_needs_fix() {
        let Command::Advise(a) = command(&[
            "fluoro",
            "advise",
            "src",
            "--select",
            "FLU1,FLU2",
            "--ignore",
            "FLU104",
        ]) else {
            panic!("not advise")
        };
        assert_eq!(a.select, ["FLU1", "FLU2"]);
        assert_eq!(a.ignore, ["FLU104"]);
        assert_eq!(a.paths, [std::path::Path::new("src")]);
        let line = usage(&["fluoro", "advise", ".", "--measure", "python app.py"]);
        assert!(line.contains("--fix"), "{line}");
        let Command::Advise(a) = command(&["fluoro", "advise"]) else {
            panic!("not advise")
        };
        assert_eq!(a.paths, [std::path::Path::new(".")]);
    }

    #[test]
    fn later_commands_take_any_arguments() {
        let Command::Runs(later) = command(&["fluoro", "runs", "list", "x", "--json"]) else {
            panic!("not runs")
        };
        assert_eq!(later.args.len(), 3);
    }

    #[test]
    fn heap_subcommands() {
        let Command::Heap(heap) = command(&["fluoro", "heap", "summary", "x.fheap", "--json"])
        else {
            panic!("not heap")
        };
        let HeapCommand::Summary(s) = heap.command else {
            panic!("not summary")
        };
        assert!(s.json);
        assert_eq!(s.file, "x.fheap");
        let Command::Heap(heap) = command(&["fluoro", "heap", "path", "x.fheap", "--id", "0x10"])
        else {
            panic!("not heap")
        };
        let HeapCommand::Path(p) = heap.command else {
            panic!("not path")
        };
        assert_eq!(p.id, Some(16));
        let Command::Heap(heap) = command(&["fluoro", "heap", "cycles", "x.fheap", "--all"]) else {
            panic!("not heap")
        };
        let HeapCommand::Cycles(c) = heap.command else {
            panic!("not cycles")
        };
        assert!(c.all && c.snapshot.file == "x.fheap");
        let Command::Heap(heap) = command(&["fluoro", "heap", "diff", "a", "b"]) else {
            panic!("not heap")
        };
        let HeapCommand::Diff(d) = heap.command else {
            panic!("not diff")
        };
        assert!(!d.all);
        let Invocation::Usage(line) = parse(["fluoro", "heap", "path", "x.fheap"]) else {
            panic!("path without a target was accepted")
        };
        assert!(line.contains("--type"), "{line}");
        let Command::Run(run) = command(&["fluoro", "run", "--heap-on-signal", "SIGUSR2", "a.py"])
        else {
            panic!("not run")
        };
        assert_eq!(run.heap_on_signal, Some(12));
        assert!(matches!(
            parse(["fluoro", "run", "--heap-on-signal", "KILL", "a.py"]),
            Invocation::Usage(_)
        ));
    }

    #[test]
    fn inspect_and_env_flags() {
        let Command::Inspect(i) = command(&["fluoro", "inspect", "x", "--import", "os", "--json"])
        else {
            panic!()
        };
        assert_eq!(i.expr.as_deref(), Some("x"));
        assert_eq!(i.import, vec!["os"]);
        assert!(i.json);
        let Command::Env(e) = command(&["fluoro", "env", "--python", "/usr/bin/python3"]) else {
            panic!()
        };
        assert_eq!(e.python.as_deref(), Some("/usr/bin/python3"));
    }

    #[test]
    fn run_profile_flags() {
        let Command::Run(run) = command(&[
            "fluoro", "run", "--rate", "1000", "--exact", "-o", "p.json", "--format", "json",
            "--metric", "cpu", "app.py", "--rate", "5",
        ]) else {
            panic!("not run")
        };
        assert_eq!(run.rate, 1000);
        assert!(run.exact);
        assert_eq!(run.output.as_deref(), Some(std::path::Path::new("p.json")));
        assert_eq!(run.format, Some(Format::Json));
        assert_eq!(run.metric, Metric::Cpu);
        assert_eq!(run.args, vec!["--rate", "5"]);
        let Command::Run(run) = command(&["fluoro", "run", "app.py"]) else {
            panic!("not run")
        };
        assert_eq!(
            (run.rate, run.metric, run.format),
            (100, Metric::Wall, None)
        );
    }

    #[test]
    fn run_profile_flag_errors_are_one_line() {
        for argv in [
            &["fluoro", "run", "--rate", "0", "app.py"][..],
            &["fluoro", "run", "--rate", "20000", "app.py"],
            &["fluoro", "run", "--format", "json", "app.py"],
            &["fluoro", "run", "--format", "svg", "-o", "x", "app.py"],
            &["fluoro", "run", "--metric", "bytes", "app.py"],
        ] {
            let line = usage(argv);
            assert!(!line.contains('\n'), "{line}");
        }
    }

    #[test]
    fn report_flags() {
        let Command::Report(r) = command(&[
            "fluoro", "report", "p.fluoro", "--format", "pstats", "-o", "p.pstats", "--top", "5",
        ]) else {
            panic!("not report")
        };
        assert_eq!(r.file, std::path::Path::new("p.fluoro"));
        assert_eq!(r.format, Format::Pstats);
        assert_eq!(r.output.as_deref(), Some(std::path::Path::new("p.pstats")));
        assert_eq!(r.text.top, 5);
    }

    #[test]
    fn bench_flags_and_modes() {
        let Command::Bench(b) = command(&[
            "fluoro",
            "bench",
            "sleep 1",
            "sleep 2",
            "-n",
            "a",
            "--precision",
            "0.5%",
            "--max-time",
            "5",
            "--runs",
            "7",
            "--json",
        ]) else {
            panic!("not bench")
        };
        assert_eq!(b.targets, vec!["sleep 1", "sleep 2"]);
        assert_eq!(b.names, vec!["a"]);
        assert!((b.precision - 0.005).abs() < 1e-12);
        assert_eq!((b.max_time, b.runs, b.json), (5.0, Some(7), true));
        assert!(!b.is_python());
        let Command::Bench(b) = command(&["fluoro", "bench", "-s", "x=1", "x+1", "--no-gc"]) else {
            panic!("not bench")
        };
        assert!(b.is_python() && b.no_gc && (b.precision - 0.01).abs() < 1e-12);
        let Command::Bench(b) = command(&["fluoro", "bench", "a.py::f"]) else {
            panic!("not bench")
        };
        assert!(b.is_python());
        assert_eq!(function_target("dir/a.py::f"), Some(("dir/a.py", "f")));
        assert_eq!(function_target("echo a::b"), None);
        for argv in [
            &["fluoro", "bench"][..],
            &["fluoro", "bench", "--precision", "0", "x"],
            &["fluoro", "bench", "--max-time", "-1", "x"],
            &["fluoro", "bench", "--runs", "1", "x"],
        ] {
            let line = usage(argv);
            assert!(!line.contains('\n'), "{line}");
        }
    }

    fn bench(args: &[&str]) -> BenchArgs {
        let mut argv = vec!["fluoro", "bench"];
        argv.extend(args);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Bench(b) => b,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bench_parameter_lists_expand_every_combination() {
        let b = bench(&[
            "-L",
            "n",
            "1,2",
            "-L",
            "m",
            "x,y",
            "-n",
            "t{n}",
            "sleep {n}{m}",
            "true",
        ]);
        let got = b.expanded().unwrap();
        let want = [
            ("t1", "sleep 1x"),
            ("t1", "sleep 1y"),
            ("t2", "sleep 2x"),
            ("t2", "sleep 2y"),
            ("true", "true"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(bench(&["sleep 1"]).expanded().unwrap().len(), 1);
        for (args, why) in [
            (&["-L", "n", "1,,2", "sleep {n}"][..], "empty value"),
            (
                &["-L", "n", "1", "-L", "n", "2", "sleep {n}"][..],
                "given twice",
            ),
            (
                &["-L", "k", "1", "sleep {n}"][..],
                "no benchmark contains {k}",
            ),
        ] {
            let e = bench(args).expanded().unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn help_snapshot() {
        let Invocation::Print(help) = parse(["fluoro", "--help"]) else {
            panic!()
        };
        insta::assert_snapshot!(help);
    }
}
