//! The clap definition of every subcommand and flag.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
pub use fluoro_profile::Metric;
pub use fluoro_report::Format;

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
    /// Analyse a .fheap heap snapshot: census, retained sizes, paths, cycles (not built yet)
    Heap(LaterArgs),
    /// Find performance anti-patterns in source files, ranked by measured cost (not built yet)
    Advise(LaterArgs),
    /// Benchmark commands, statements or interpreters with sound statistics (not built yet)
    Bench(LaterArgs),
    /// Disassemble code objects and show bytecode specialization (not built yet)
    Dis(LaterArgs),
    /// Inspect an object: type, sizes, layout, refcount, caching
    Inspect(InspectArgs),
    /// Show the interpreter's state: version, build, flags, GC, allocator pools, process
    Env(EnvArgs),
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
            Command::Runs(_) => "runs",
        }
    }
}

/// What `fluoro run` executes, as `python` would take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Script(String),
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
    pub output: Option<String>,
    /// Write -o FILE in this format instead of .fluoro
    #[arg(long, value_name = "FORMAT", value_parser = format_parser(), requires = "output")]
    pub format: Option<Format>,
    /// What the summary and the export add up
    #[arg(long, value_parser = metric_parser(), default_value = "wall")]
    pub metric: Metric,
    /// How stacks are read: from memory without the GIL, or with the GIL (the fallback)
    #[arg(long, value_enum, default_value_t = SamplerChoice::Auto)]
    pub sampler: SamplerChoice,
    /// The script, then the arguments the target sees as sys.argv[1:] (fluoro reads no
    /// option after the script, -m MODULE or -c CODE)
    #[arg(value_name = "ARGS")]
    pub args: Vec<String>,
    /// Filled in from the arguments after fluoro's own options.
    #[arg(skip)]
    pub target: Option<Target>,
}

impl RunArgs {
    /// Takes the target and its arguments from what followed fluoro's own options.
    pub fn take_target(&mut self, mut rest: Vec<String>) -> Result<(), String> {
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
            Target::Script(rest.remove(0))
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
    pub file: String,
    /// Output format
    #[arg(long, value_parser = format_parser(), default_value = "text")]
    pub format: Format,
    /// What to add up
    #[arg(long, value_parser = metric_parser(), default_value = "wall")]
    pub metric: Metric,
    /// Write to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<String>,
    /// Rows in each table of the text summary
    #[arg(long, value_name = "N", default_value_t = 15)]
    pub top: usize,
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
pub struct EnvArgs {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Describe another interpreter (a path or a name on PATH) instead of this one
    #[arg(long, value_name = "PATH")]
    pub python: Option<String>,
}

/// Arguments of a subcommand that is not built yet: taken whole, so that it can answer in one line.
#[derive(Debug, Args)]
pub struct LaterArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub args: Vec<String>,
}
