//! The `fluoro` command: parse with `fluoro-cli` and dispatch to the subcommand; failures
//! become one line through [`crate::output`].

use crate::output::{fail, Failure};
use crate::{advise, bench, dis, env, heap, objects, remote, report, runner};
use fluoro_cli::{Command, Invocation};
use pyo3::prelude::*;
use std::io::Write;

/// Runs the command line in `argv`; returns the exit code.
pub fn main(py: Python<'_>, argv: Vec<std::ffi::OsString>) -> i32 {
    let command = match fluoro_cli::parse(argv) {
        Invocation::Command(command) => command,
        Invocation::Print(text) => {
            print!("{text}");
            let _ = std::io::stdout().flush();
            return 0;
        }
        Invocation::Missing(help) => {
            eprint!("{help}");
            return 2;
        }
        Invocation::Usage(line) => return fail(&line),
    };
    let result = match command {
        Command::Run(args) if args.live => runner::live::command(py, &args),
        Command::Run(args) => Err(runner::launch(py, &args)),
        Command::Env(args) => env::command(py, &args),
        Command::Dis(args) => dis::command(py, &args),
        Command::Report(args) => report::command(&args),
        Command::Inspect(args) => objects::command(py, &args),
        Command::Bench(args) => bench::command(py, &args),
        Command::Advise(args) => advise::command(&args),
        Command::Heap(args) => heap::command(&args),
        Command::Dump(args) => remote::dump::command(&args),
        Command::Attach(args) => remote::attach::command(py, &args),
        Command::Top(args) => remote::top::command(&args),
        later => Err(Failure(format!("'{}' is not built yet", later.name()))),
    };
    match result {
        Ok(code) => code,
        Err(Failure(message)) => fail(&message),
    }
}
