//! The clap definition of every subcommand and flag.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
pub use fluoro_profile::Metric;
pub use fluoro_report::{Format, DEFAULT_TOP};
use std::ffi::OsString;
use std::path::PathBuf;

/// See where a Python program's time and memory go, and why.
#[derive(Debug, Parser)]
#[command(
    name = "fluoro",
    version,
    about = "See where a Python program's time and memory go, and why.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a Python script, module or code string under fluoro
    Run(RunArgs),
    /// Render a saved .fluoro profile as text or in another tool's format
    Report(ReportArgs),
    /// Analyse .fheap heap snapshots: census, retained sizes, paths from roots, cycles, diffs
    Heap(HeapArgs),
    /// Find performance anti-patterns in source files, ranked by measured cost
    Advise(AdviseArgs),
    /// Benchmark commands or Python code across interpreters, with sound statistics
    Bench(BenchArgs),
    /// Disassemble code objects and show bytecode specialization
    Dis(DisArgs),
    /// Inspect an object: type, sizes, layout, refcount, caching
    Inspect(InspectArgs),
    /// Show the interpreter's state: version, build, flags, GC, allocator pools, process
    Env(EnvArgs),
    /// Print every thread's Python stack of a running CPython process, read from outside
    Dump(DumpArgs),
    /// Sample a running CPython process from outside into a .fluoro profile
    Attach(AttachArgs),
    /// A live view of a running CPython process's hottest functions (q quits)
    Top(TopArgs),
    /// List and compare stored runs (not built yet)
    Runs(LaterArgs),
}

impl Command {
    /// The subcommand's name as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Run(_) => "run",
            Command::Report(_) => "report",
            Command::Heap(_) => "heap",
            Command::Advise(_) => "advise",
            Command::Bench(_) => "bench",
            Command::Dis(_) => "dis",
            Command::Inspect(_) => "inspect",
            Command::Env(_) => "env",
            Command::Dump(_) => "dump",
            Command::Attach(_) => "attach",
            Command::Top(_) => "top",
            Command::Runs(_) => "runs",
        }
    }
}

/// What `fluoro run` executes, as `python` would take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Script(PathBuf),
    Module(String),
    Code(String),
}

#[derive(Debug, Args)]
#[command(
    override_usage = "fluoro run [OPTIONS] SCRIPT [ARGS]...\n       fluoro run [OPTIONS] -m MODULE [ARGS]...\n       fluoro run [OPTIONS] -c CODE [ARGS]..."
)]
pub struct RunArgs {
    /// Run a library module as a script, like `python -m MODULE`
    #[arg(short = 'm', value_name = "MODULE", conflicts_with = "code")]
    pub module: Option<String>,
    /// Run a program passed in as a string, like `python -c CODE`
    #[arg(short = 'c', value_name = "CODE")]
    pub code: Option<String>,
    /// Print nothing of fluoro's own (the target's output is never touched)
    #[arg(short, long)]
    pub quiet: bool,
    /// Samples per second, per thread
    #[arg(long, value_name = "HZ", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub rate: u32,
    /// Also count every call exactly (calls, tottime, cumtime, callers), like cProfile
    #[arg(long)]
    pub exact: bool,
    /// Write the profile to FILE: the streamed .fluoro profile, or the --format export
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write -o FILE in this format instead of .fluoro
    #[arg(long, value_name = "FORMAT", value_parser = format_parser(), requires = "output")]
    pub format: Option<Format>,
    /// Also write the interactive HTML report: to FILE with --html=FILE, else to
    /// NAME.fluoro.html in the current directory (NAME: the script's or module's)
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true)]
    pub html: Option<Option<PathBuf>>,
    /// What the summary and the export add up
    #[arg(long, value_parser = metric_parser(), default_value = "wall")]
    pub metric: Metric,
    /// Keep idle threads' waiting stacks in the summary's tables (exports always keep them)
    #[arg(long)]
    pub idle: bool,
    #[command(flatten)]
    pub text: TextArgs,
    /// How stacks are read: from memory without the GIL, or with the GIL (the fallback)
    #[arg(long, value_enum, default_value_t = SamplerChoice::Auto)]
    pub sampler: SamplerChoice,
    /// Attribute event-loop time to asyncio tasks: running tasks' stacks rooted at
    /// `<task NAME>`, and time awaiting per task
    #[arg(long = "async")]
    pub async_tasks: bool,
    /// Which allocations are recorded with their stacks (collections are timed unless
    /// --cpu-only)
    #[arg(long, value_enum, default_value_t = MemoryChoice::Sampled)]
    pub memory: MemoryChoice,
    /// Mean bytes allocated between two sampled allocations, with --memory=sampled (smaller
    /// is more precise and costs more)
    #[arg(long, value_name = "SIZE", default_value = "64KiB", value_parser = size_parser)]
    pub memory_interval: u64,
    /// With --memory=sampled: do not follow objects the interpreter takes again from its
    /// free lists (CPython 3.13+), which then keep the line of their first allocation.
    /// Cheaper on code that makes many floats, ints and tuples
    #[arg(long)]
    pub ignore_free_lists: bool,
    /// Sample CPU and wall time only: no allocations, no collections
    #[arg(long)]
    pub cpu_only: bool,
    /// Also profile every Python child process (fork, multiprocessing, subprocess of a
    /// python with fluoro installed) into the same profile
    #[arg(long)]
    pub subprocesses: bool,
    /// Watch the run in a live terminal view of its hottest functions (as `fluoro top`);
    /// the target's terminal output is held while the view is up and shown when it closes
    /// (q closes it and the run goes on, Ctrl-C also interrupts the target)
    #[arg(long)]
    pub live: bool,
    /// At the end, record which instructions of the hottest functions the adaptive
    /// interpreter specialized (3.11+) and show them; `fluoro dis --adaptive PROFILE` reads
    /// them back
    #[arg(long)]
    pub adaptive: bool,
    /// After the run, advise the profiled source files, ranked by this run's measured time
    #[arg(long)]
    pub advise: bool,
    /// Write a heap snapshot, fluoro-PID-exit.fheap in the current directory, as the target exits
    #[arg(long)]
    pub heap_at_exit: bool,
    /// Write a heap snapshot, fluoro-PID-N.fheap, each time the target receives SIGNAL (e.g. SIGUSR2)
    #[arg(long, value_name = "SIGNAL", value_parser = signal_parser)]
    pub heap_on_signal: Option<i32>,
    /// Report which types make garbage that only the cycle collector frees
    #[arg(long)]
    pub gc_cycles: bool,
    /// The script, then the arguments the target sees as sys.argv[1:] (fluoro reads no
    /// option after the script, -m MODULE or -c CODE)
    #[arg(value_name = "ARGS")]
    pub args: Vec<OsString>,
    /// Filled in from the arguments after fluoro's own options.
    #[arg(skip)]
    pub target: Option<Target>,
}

impl RunArgs {
    /// Takes the target and its arguments from what followed fluoro's own options.
    pub fn take_target(&mut self, mut rest: Vec<OsString>) -> Result<(), String> {
        self.target = Some(if let Some(module) = self.module.take() {
            Target::Module(module)
        } else if let Some(code) = self.code.take() {
            Target::Code(code)
        } else if rest.is_empty() {
            return Err(
                "run: no target given: name a script, -m MODULE or -c CODE (see 'fluoro run --help')"
                    .to_owned(),
            );
        } else {
            Target::Script(PathBuf::from(rest.remove(0)))
        });
        self.args = rest;
        Ok(())
    }
}

/// Parses a `--format` value into the formats `fluoro-report` knows, listing them in help.
fn format_parser() -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(Format::ALL.map(|f| PossibleValue::new(f.name()).help(f.about())))
        .try_map(|name| name.parse::<Format>())
}

/// Parses a `--metric` value.
fn metric_parser() -> impl TypedValueParser<Value = Metric> {
    PossibleValuesParser::new(Metric::ALL.map(|m| PossibleValue::new(m.name()).help(m.about())))
        .try_map(|name| Metric::from_name(&name).ok_or("unknown metric"))
}

fn size_parser(text: &str) -> Result<u64, String> {
    match fluoro_render::parse_size(text)? {
        0 => Err("the interval must be at least 1 byte".to_owned()),
        n => Ok(n),
    }
}

/// Which allocations `fluoro run` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MemoryChoice {
    /// A sample by bytes, weighted into unbiased estimates: cheap enough to leave on
    Sampled,
    /// Every allocation and free: exact, and slower
    All,
    /// None (collections are still timed)
    Off,
}

/// How `fluoro run` reads stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SamplerChoice {
    /// From memory where this interpreter has a layout, else with the GIL
    Auto,
    /// Always with the GIL, through sys._current_frames()
    Gil,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The .fluoro profile written by `fluoro run -o`
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format
    #[arg(long, value_parser = format_parser(), default_value = "text")]
    pub format: Format,
    /// What to add up
    #[arg(long, value_parser = metric_parser(), default_value = "wall")]
    pub metric: Metric,
    /// Keep idle threads' waiting stacks in the text summary's tables
    #[arg(long)]
    pub idle: bool,
    /// Write to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the interactive HTML report to FILE (the same as --format html -o FILE)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["format", "output"])]
    pub html: Option<PathBuf>,
    /// Report only the process with this pid (of a profile run with --subprocesses)
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
    #[command(flatten)]
    pub text: TextArgs,
}

/// How much of a profile the text shows, the same on `run` and `report`.
#[derive(Debug, Args)]
pub struct TextArgs {
    /// Rows in each table of the text
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP)]
    pub top: usize,
    /// Print the whole report (call tree, hottest lines, every memory table) instead of the
    /// one-screen summary
    #[arg(short = 'v', long)]
    pub full: bool,
    /// Keep interpreter start-up, import machinery and fluoro's own frames in the text's
    /// tables instead of folding them into one [startup/import] entry
    #[arg(long)]
    pub show_all: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A Python expression whose value is inspected, e.g. "[1, 2, 3]" or "os.environ"
    #[arg(value_name = "EXPR", required_unless_present = "sizes")]
    pub expr: Option<String>,
    /// Import a module before evaluating EXPR (repeatable); names of modules used in EXPR are imported on their own
    #[arg(long = "import", value_name = "MOD")]
    pub import: Vec<String>,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
    /// Print the sizes of common objects and how list, dict and set over-allocate as they grow
    #[arg(long)]
    pub sizes: bool,
    /// Count cached singletons (small ints, interned strings, None, ...) in the deep size
    #[arg(long)]
    pub include_cached: bool,
}

#[derive(Debug, Args)]
pub struct DisArgs {
    /// What to disassemble: a .py file (compiled by the interpreter), a .pyc of CPython
    /// 3.10-3.13, MODULE, or MODULE:QUALNAME
    #[arg(value_name = "TARGET", required_unless_present_any = ["stats", "run"])]
    pub targets: Vec<String>,
    /// Print JSON: an array of code objects, each with its instructions
    #[arg(long)]
    pub json: bool,
    /// Compile and import with another interpreter (a path or a name on PATH)
    #[arg(long, value_name = "PATH")]
    pub python: Option<String>,
    /// Opcode histograms of every .py file under DIR, per package
    #[arg(long, value_name = "DIR")]
    pub stats: Option<String>,
    /// Show which instructions the adaptive interpreter specialized (3.11+): of a script run
    /// with --run, or of the profile of `fluoro run --adaptive` given as TARGET
    #[arg(long)]
    pub adaptive: bool,
    /// With --adaptive: run SCRIPT first (TARGETs are its arguments), then show its hot
    /// functions
    #[arg(long, value_name = "SCRIPT")]
    pub run: Option<PathBuf>,
    /// With --adaptive: how many functions to show, most specializable instructions first
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP)]
    pub top: usize,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Describe another interpreter (a path or a name on PATH) instead of this one
    #[arg(long, value_name = "PATH")]
    pub python: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "The process is not stopped: its memory is read while it runs (as \
py-spy dump does), so a thread's stack may be a moment older than another's; --blocking stops \
every thread while they are read. Reading another process needs the right to trace it: the same \
user with kernel.yama.ptrace_scope 0, or root (CAP_SYS_PTRACE)."
)]
pub struct DumpArgs {
    /// The process id of a running CPython 3.10-3.15
    #[arg(value_name = "PID")]
    pub pid: i32,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Stop every thread of the process while its stacks are read, then let it go on
    #[arg(long)]
    pub blocking: bool,
    /// Also show each frame's local variables, with a short repr of simple values
    #[arg(long)]
    pub locals: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "The process runs on while it is sampled: its threads' stacks are read \
from outside with process_vm_readv, as `fluoro dump` reads them, until --duration, Ctrl-C, or \
its end. The profile is the one `fluoro run` writes, so every report and export reads it."
)]
pub struct AttachArgs {
    /// The process id of a running CPython 3.10-3.15
    #[arg(value_name = "PID")]
    pub pid: i32,
    /// Stop after this many seconds (default: when the process ends, or at Ctrl-C)
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    pub duration: Option<f64>,
    /// Samples per second, per thread
    #[arg(long, value_name = "HZ", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub rate: u32,
    /// Keep the .fluoro profile at FILE (by default it is removed after the summary)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the interactive HTML report to FILE
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// What the summary adds up
    #[arg(long, value_parser = metric_parser(), default_value = "wall")]
    pub metric: Metric,
    /// Print nothing but errors
    #[arg(short, long)]
    pub quiet: bool,
    /// Start fluoro's collectors inside the process (CPython 3.14+, sys.remote_exec; fluoro
    /// importable there): CPU from its own sampler, and sampled allocations and GC
    #[arg(long)]
    pub memory: bool,
    /// With --memory: at the end, a heap snapshot of the process to FILE (read it with
    /// `fluoro heap summary|dominators|cycles|path FILE`)
    #[arg(long, value_name = "FILE", requires = "memory")]
    pub heap: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Keys: s sorts by self time, t by total time, i shows idle threads' \
stacks too, q (or Esc, or Ctrl-C) quits. The process runs on untouched, as under `fluoro attach`."
)]
pub struct TopArgs {
    /// The process id of a running CPython 3.10-3.15
    #[arg(value_name = "PID")]
    pub pid: i32,
    /// Samples per second, per thread
    #[arg(long, value_name = "HZ", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub rate: u32,
    /// Seconds of samples the view adds up
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=600))]
    pub window: u32,
    /// Count idle threads' waiting stacks too (the `i` key toggles it)
    #[arg(long)]
    pub idle: bool,
}

/// A duration in seconds above zero.
fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("'{s}' is not a number of seconds above 0")),
    }
}

#[derive(Debug, Args)]
#[command(
    override_usage = "fluoro bench [OPTIONS] CMD [CMD]...\n       fluoro bench [OPTIONS] -s SETUP STMT [STMT]...\n       fluoro bench [OPTIONS] PATH.py::FUNC [PATH.py::FUNC]...\n       fluoro bench [OPTIONS] --python PYTHON [--python PYTHON]... STMT...",
    after_help = "Commands run through `sh -c` as whole processes, like hyperfine. Statements and \
functions run in worker processes of each interpreter, calibrated to 10 ms a value, like pyperf. \
Benchmarks are interleaved round by round; each stops once its median's 95 % interval is \
within --precision, or at --max-time. Ratios are against the fastest, with a bootstrap 95 % \
interval and a Mann-Whitney U p-value; \"no significant difference\" when the interval holds 1."
)]
pub struct BenchArgs {
    /// Shell commands; with -s, --python or PATH.py::FUNC, Python statements or functions
    #[arg(value_name = "CMD|STMT", required = true)]
    pub targets: Vec<String>,
    /// Python statement run before timing each statement (repeatable, like pyperf timeit -s)
    #[arg(short = 's', long = "setup", value_name = "SETUP")]
    pub setup: Vec<String>,
    /// Interpreter to time the statements under (repeatable: the interpreter matrix)
    #[arg(long = "python", value_name = "PYTHON")]
    pub python: Vec<String>,
    /// Name of the benchmark, in order (repeatable; defaults to the command or statement)
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub names: Vec<String>,
    /// Untimed runs of each command first; for Python, values discarded in each worker
    #[arg(short = 'w', long, value_name = "NUM", default_value_t = 1)]
    pub warmup: usize,
    /// Exactly NUM runs (values) per benchmark, no adaptive stopping
    #[arg(short = 'r', long, value_name = "NUM", value_parser = clap::value_parser!(u64).range(2..))]
    pub runs: Option<u64>,
    /// At least NUM runs (values) per benchmark [default: 10 for commands, 20 for Python]
    #[arg(short = 'm', long, value_name = "NUM", value_parser = clap::value_parser!(u64).range(2..))]
    pub min_runs: Option<u64>,
    /// Stop once every median's 95 % interval is within PERCENT of it
    #[arg(long, value_name = "PERCENT", default_value = "1", value_parser = percent_parser)]
    pub precision: f64,
    /// Stop after this many seconds even if the precision is not reached (after --min-runs)
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = seconds_parser)]
    pub max_time: f64,
    /// Disable the garbage collector while timing Python code, as timeit does
    #[arg(long)]
    pub no_gc: bool,
    /// Values each Python worker process reports
    #[arg(long, value_name = "NUM", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub values: u64,
    /// Iterations per Python value, instead of calibrating to 10 ms
    #[arg(long, value_name = "NUM", value_parser = clap::value_parser!(u64).range(1..))]
    pub loops: Option<u64>,
    /// Keep going when a command exits with a non-zero status
    #[arg(short = 'i', long)]
    pub ignore_failure: bool,
    /// Start commands directly, split into words as a shell would, instead of through `sh -c`
    /// (no shell start-up in the timings; no pipes or redirections)
    #[arg(short = 'N', long)]
    pub no_shell: bool,
    /// Shell command run, untimed, before every run of every command (e.g. to clear a cache)
    #[arg(long, value_name = "CMD")]
    pub prepare: Option<String>,
    /// Benchmark every value of VAR, a comma-separated list, in place of `{VAR}` in the
    /// commands, statements and names (repeatable: every combination)
    #[arg(short = 'L', long = "parameter-list", num_args = 2, value_names = ["VAR", "VALUES"])]
    pub parameter_list: Vec<String>,
    /// Print JSON instead of tables
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to FILE
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<std::path::PathBuf>,
    /// Also write the report as Markdown tables to FILE
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<std::path::PathBuf>,
}

impl BenchArgs {
    /// The benchmarks as `(name, target)` after `-L` parameters are put in place: every
    /// target once per combination of values (the first parameter varying slowest), named
    /// by its `--name` (itself expanded) or by its expanded target.
    pub fn expanded(&self) -> Result<Vec<(String, String)>, String> {
        let mut params: Vec<(String, Vec<String>)> = Vec::new();
        for pair in self.parameter_list.chunks(2) {
            let [var, values] = pair else {
                return Err("-L takes a name and a list of values".into());
            };
            if var.is_empty() || var.contains(['{', '}']) {
                return Err(format!("-L: bad parameter name {var:?}"));
            }
            if params.iter().any(|(v, _)| v == var) {
                return Err(format!("-L: parameter {var:?} given twice"));
            }
            let values: Vec<String> = values.split(',').map(str::to_owned).collect();
            if values.iter().any(String::is_empty) {
                return Err(format!("-L {var}: empty value in {:?}", pair[1]));
            }
            params.push((var.clone(), values));
        }
        for (var, _) in &params {
            let placeholder = format!("{{{var}}}");
            if !self.targets.iter().any(|t| t.contains(&placeholder)) {
                return Err(format!("-L {var}: no benchmark contains {placeholder}"));
            }
        }
        let mut combos: Vec<Vec<(&str, &str)>> = vec![Vec::new()];
        for (var, values) in &params {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((var.as_str(), v.as_str()));
                        c
                    })
                })
                .collect();
        }
        let fill = |text: &str, combo: &[(&str, &str)]| {
            combo.iter().fold(text.to_owned(), |t, (var, value)| {
                t.replace(&format!("{{{var}}}"), value)
            })
        };
        let mut out: Vec<(String, String)> = Vec::new();
        for (i, target) in self.targets.iter().enumerate() {
            let first = out.len();
            for combo in &combos {
                let target = fill(target, combo);
                let name = self
                    .names
                    .get(i)
                    .map_or_else(|| target.clone(), |n| fill(n, combo));
                // A target without some parameter is benchmarked once per value it does use.
                if !out[first..].iter().any(|(n, t)| *n == name && *t == target) {
                    out.push((name, target));
                }
            }
        }
        Ok(out)
    }

    /// Whether the targets are Python code rather than shell commands.
    pub fn is_python(&self) -> bool {
        !self.setup.is_empty()
            || !self.python.is_empty()
            || self.targets.iter().any(|t| function_target(t).is_some())
    }
}

/// `PATH.py::FUNC` split into the file and the function's name.
pub fn function_target(target: &str) -> Option<(&str, &str)> {
    let (path, func) = target.rsplit_once("::")?;
    (path.ends_with(".py") && !func.is_empty() && !func.contains(char::is_whitespace))
        .then_some((path, func))
}

/// A percentage such as `1`, `0.5` or `2%`, as a fraction.
fn percent_parser(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('%')
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a percentage"))?;
    if v > 0.0 && v < 100.0 {
        Ok(v / 100.0)
    } else {
        Err(format!("'{s}' is not between 0 and 100"))
    }
}

/// A positive number of seconds.
fn seconds_parser(s: &str) -> Result<f64, String> {
    match s.trim().trim_end_matches('s').parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("'{s}' is not a positive number of seconds")),
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 when there are no findings, 1 when there are or a file does not \
parse, 2 on bad usage. Configuration is read from [tool.fluoro] (select, ignore, exclude) in the \
nearest pyproject.toml above the first PATH. A line whose comment holds `# noqa` or \
`# noqa: FLU101` (as ruff reads them: any case, `#noqa:FLU101` too) is not reported."
)]
pub struct AdviseArgs {
    /// Files or directories to advise (directories are walked, respecting .gitignore)
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = AdviseFormat::Text)]
    pub format: AdviseFormat,
    /// Enable only these rules: codes, prefixes (FLU1), names, or ALL (comma-separated)
    #[arg(long, value_name = "RULES", value_delimiter = ',')]
    pub select: Vec<String>,
    /// Disable these rules: codes, prefixes or names (comma-separated)
    #[arg(long, value_name = "RULES", value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Apply the safe fixes in place and print how many were applied
    #[arg(long)]
    pub fix: bool,
    /// Rank findings by the measured time of their lines in this .fluoro CPU profile
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// With --profile: the time the ranking adds up
    #[arg(long, value_parser = metric_parser(), default_value = "wall")]
    pub metric: Metric,
    /// With --fix: apply the fixes to a scratch copy of PATH and benchmark CMD run from PATH
    /// and from the copy (use paths relative to PATH in CMD)
    #[arg(long, value_name = "CMD", requires = "fix")]
    pub measure: Option<String>,
    /// With --measure: stop benchmarking after this many seconds
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = seconds_parser)]
    pub max_time: f64,
    /// Show a rule's documentation: what, why, the fix, when not to apply it
    #[arg(long, value_name = "CODE", exclusive = true)]
    pub explain: Option<String>,
    /// List every rule with its code, name and summary
    #[arg(long, exclusive = true)]
    pub list_rules: bool,
}

/// Output formats of `fluoro advise`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AdviseFormat {
    /// path:line:col: CODE message lines, then a summary
    Text,
    /// One JSON object: findings, syntax errors, warnings, summary
    Json,
    /// SARIF 2.1.0, for code-scanning tools
    Sarif,
}

/// A signal by name (`SIGUSR2`, `USR2`) or number; only those a program may catch.
fn signal_parser(s: &str) -> Result<i32, String> {
    const SIGNALS: [(&str, i32); 5] = [
        ("USR1", 10),
        ("USR2", 12),
        ("HUP", 1),
        ("PROF", 27),
        ("WINCH", 28),
    ];
    let name = s.trim().to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    if let Some(&(_, n)) = SIGNALS.iter().find(|(known, _)| *known == name) {
        return Ok(n);
    }
    match name.parse::<i32>() {
        Ok(n) if SIGNALS.iter().any(|&(_, known)| known == n) => Ok(n),
        _ => Err(format!(
            "'{s}' is not a signal fluoro can use: SIGUSR1, SIGUSR2, SIGHUP, SIGPROF or SIGWINCH"
        )),
    }
}

#[derive(Debug, Args)]
pub struct HeapArgs {
    #[command(subcommand)]
    pub command: HeapCommand,
}

#[derive(Debug, Subcommand)]
pub enum HeapCommand {
    /// Census by type: objects, shallow bytes and retained bytes, largest retained first
    Summary(HeapSummaryArgs),
    /// Why alive: the shortest path from a root to an object or the nearest instance of a type
    Path(HeapPathArgs),
    /// Reference cycles by type, garbage apart from reachable, and what the collector could free now
    Cycles(HeapViewArgs),
    /// The objects that retain the most memory, each with its path from a root
    Dominators(HeapViewArgs),
    /// Growth from snapshot A to snapshot B, by type and by retainer
    Diff(HeapDiffArgs),
}

#[derive(Debug, Args)]
pub struct HeapSummaryArgs {
    /// The .fheap snapshot
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Print JSON instead of tables
    #[arg(long)]
    pub json: bool,
    /// Rows to show
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP)]
    pub top: usize,
    /// The .fluoro profile of the run that took the snapshot (`fluoro run --memory=all
    /// --heap-at-exit -o run.fluoro`): names where each retainer was allocated
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
}

/// A heap view that leads with the program's data.
#[derive(Debug, Args)]
pub struct HeapViewArgs {
    #[command(flatten)]
    pub snapshot: HeapSummaryArgs,
    /// Also show the interpreter's structure: sys.modules, modules, classes, functions, their dicts
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["type_name", "id"]))]
pub struct HeapPathArgs {
    /// The .fheap snapshot
    #[arg(value_name = "FILE")]
    pub file: String,
    /// A type name, e.g. app.User or User
    #[arg(long = "type", value_name = "T")]
    pub type_name: Option<String>,
    /// An object id (as id() gives it, decimal or 0x hex)
    #[arg(long, value_name = "ID", value_parser = id_parser)]
    pub id: Option<u64>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HeapDiffArgs {
    /// The earlier snapshot
    #[arg(value_name = "A")]
    pub before: String,
    /// The later snapshot
    #[arg(value_name = "B")]
    pub after: String,
    /// Print JSON instead of tables
    #[arg(long)]
    pub json: bool,
    /// Rows in each table
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP)]
    pub top: usize,
    /// Also show the interpreter's structure: sys.modules, modules, classes, functions, their dicts
    #[arg(long)]
    pub all: bool,
}

/// An object id in decimal or `0x` hex.
fn id_parser(s: &str) -> Result<u64, String> {
    let t = s.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse(),
    }
    .map_err(|_| format!("'{s}' is not an object id"))
}

/// Arguments of a subcommand that is not built yet: taken whole, so that it can answer in one line.
#[derive(Debug, Args)]
pub struct LaterArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub args: Vec<String>,
}
