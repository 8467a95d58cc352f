//! What `fluoro run` starts: the target checked, and the interpreter's command line that runs
//! it with the boot configuration, for the exec of a plain run or the spawn of `--live`.

use super::config::{flush_python_streams, BootConfig, BOOT_VAR};
use super::{check, watch};
use crate::output::{io_reason, Failure};
use crate::scratch;
use fluoro_cli::{RunArgs, Target};
use pyo3::prelude::*;
use std::path::{Path, PathBuf};

/// What `--memory`, `--memory-interval` and `--cpu-only` ask for.
fn memory_plan(args: &RunArgs) -> crate::collectors::alloc::MemoryPlan {
    use crate::collectors::alloc::MemoryPlan;
    use fluoro_cli::MemoryChoice;
    if args.cpu_only {
        return MemoryPlan::Off;
    }
    match args.memory {
        MemoryChoice::Sampled => MemoryPlan::Sampled {
            mean: args.memory_interval,
            ignore_free_lists: args.ignore_free_lists,
        },
        MemoryChoice::All => MemoryPlan::All,
        MemoryChoice::Off => MemoryPlan::GcOnly,
    }
}

/// The interpreter's command line for the target, ready to exec or spawn.
pub(crate) struct Start {
    pub command: std::process::Command,
    pub executable: PathBuf,
    /// What the run is called in fluoro's lines (the script, `-m MODULE`, `-c`).
    pub label: String,
    /// The private directory of a temporary profile.
    pub temporary: Option<PathBuf>,
}

/// Checks the target and makes the command that runs it; `spawner` is the pid of a fluoro
/// that starts the target as its child (`--live`) rather than becoming it.
pub(crate) fn prepare(
    py: Python<'_>,
    args: &RunArgs,
    spawner: Option<u32>,
) -> Result<Start, Failure> {
    let Some(target) = &args.target else {
        return Err(Failure("run: no target given".to_owned()));
    };
    let sampling = !args.cpu_only && matches!(args.memory, fluoro_cli::MemoryChoice::Sampled);
    if args.ignore_free_lists && !sampling {
        return Err(Failure(
            "run: --ignore-free-lists applies to --memory=sampled (the default)".into(),
        ));
    }
    check::target(py, target)?;
    let sys = py.import("sys")?;
    let flags = sys.getattr("flags")?;
    if flags.getattr("no_site")?.is_truthy()? {
        return Err(Failure(
            "run: the interpreter runs with -S, which keeps fluoro's boot hook out".into(),
        ));
    }
    let executable: PathBuf = sys.getattr("executable")?.extract()?;
    if executable.as_os_str().is_empty() {
        return Err(Failure(
            "run: this interpreter does not know its executable".into(),
        ));
    }
    // The options fluoro's own interpreter was started with (-X dev, -O, -W ...), no others:
    // what comes from the environment (PYTHONDONTWRITEBYTECODE ...) reaches the target the
    // same way.
    let orig_argv: Vec<std::ffi::OsString> = sys.getattr("orig_argv")?.extract()?;
    let interpreter_flags = fluoro_cli::interpreter_options(&orig_argv);
    boot_hook_installed(py)?;
    // The label and argv are shown and recorded: lossy where not UTF-8. What is executed
    // below is given the OS strings themselves.
    let label = match target {
        Target::Script(path) => path.to_string_lossy().into_owned(),
        Target::Module(name) => format!("-m {name}"),
        Target::Code(_) => "-c".to_owned(),
    };
    let mut argv = vec![label.clone()];
    argv.extend(args.args.iter().map(|a| a.to_string_lossy().into_owned()));
    let output = match (&args.output, args.format) {
        (Some(out), Some(_)) => Some(writable(out)?),
        _ => None,
    };
    let html = match &args.html {
        Some(file) => Some(writable(&html_path(file.as_deref(), target))?),
        None => None,
    };
    let heap = crate::heap::run::HeapRun::from_args(args)?;
    // Last of what can fail before the exec: a private directory is made here.
    let (profile_file, temporary) = profile_path(args)?;
    let watched_label = label.clone();
    let config = serde_json::to_string(&BootConfig {
        pid: if spawner.is_some() {
            0
        } else {
            std::process::id()
        },
        spawner,
        label,
        argv,
        quiet: args.quiet,
        rate: args.rate,
        exact: args.exact,
        memory: memory_plan(args),
        adaptive: args.adaptive,
        gil_sampler: args.sampler == fluoro_cli::SamplerChoice::Gil,
        async_tasks: args.async_tasks,
        profile: profile_file.clone(),
        temporary_profile: temporary,
        output,
        format: args.format,
        html,
        metric: args.metric,
        idle: args.idle,
        top: args.text.top,
        full: args.text.full,
        show_all: args.text.show_all,
        advise: args.advise,
        heap,
        subprocesses: args.subprocesses,
        child: false,
    })
    .map_err(|e| Failure(e.to_string()))?;
    let mut command = std::process::Command::new(&executable);
    command.args(&interpreter_flags);
    match target {
        Target::Script(path) => command.arg(path),
        Target::Module(name) => command.arg("-m").arg(name),
        Target::Code(code) => command.arg("-c").arg(code),
    };
    command.args(&args.args).env(BOOT_VAR, config);
    flush_python_streams(py);
    Ok(Start {
        command,
        executable,
        label: watched_label,
        temporary: temporary
            .then(|| profile_file.parent().map(Path::to_path_buf))
            .flatten(),
    })
}

/// Where the streamed profile goes: `-o FILE` when no export format is asked for, else a
/// temporary file in a new private directory, removed after the reports. Returns an absolute
/// path: the target may chdir.
fn profile_path(args: &RunArgs) -> Result<(PathBuf, bool), Failure> {
    match (&args.output, args.format) {
        (Some(out), None) => Ok((writable(out)?, false)),
        _ => {
            // Profiles left by runs that ended unannounced (their keeper killed too).
            scratch::remove_orphans(&std::env::temp_dir(), TEMPORARY_PREFIX, watch::PROFILE);
            let prefix = format!("{TEMPORARY_PREFIX}{}-", std::process::id());
            let dir = scratch::private_dir(&prefix).map_err(|e| {
                Failure(format!(
                    "run: cannot make a temporary directory in {}: {}",
                    std::env::temp_dir().display(),
                    io_reason(&e)
                ))
            })?;
            Ok((dir.join(watch::PROFILE), true))
        }
    }
}

/// Where `--html` writes: FILE, or `NAME.fluoro.html` in the current directory, NAME being
/// the script's file stem or the module's name (`fluoro-c` for `-c`).
fn html_path(file: Option<&Path>, target: &Target) -> PathBuf {
    if let Some(file) = file {
        return file.to_path_buf();
    }
    let name = match target {
        Target::Script(path) => path
            .file_stem()
            .map_or_else(|| "fluoro".into(), |s| s.to_string_lossy().into_owned()),
        Target::Module(name) => name.clone(),
        Target::Code(_) => "fluoro-c".to_owned(),
    };
    PathBuf::from(format!("{name}.fluoro.html"))
}

/// Temporary profiles' directories: `fluoro-PID-xxxxxx` in `$TMPDIR`.
const TEMPORARY_PREFIX: &str = "fluoro-";

/// Checks that `path` can be written (creating it empty) and returns it absolute.
fn writable(path: &Path) -> Result<PathBuf, Failure> {
    let shown = path.display();
    let absolute = std::path::absolute(path)
        .map_err(|e| Failure(format!("run: cannot write '{shown}': {e}")))?;
    std::fs::File::create(&absolute).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "no such directory".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            std::io::ErrorKind::IsADirectory => "it is a directory".to_owned(),
            _ => e.to_string(),
        };
        Failure(format!("run: cannot write '{shown}': {reason}"))
    })?;
    Ok(absolute)
}

/// `fluoro_boot.pth` must sit in a site directory of this interpreter, or the target would run
/// without collectors.
fn boot_hook_installed(py: Python<'_>) -> Result<(), Failure> {
    let site = py.import("site")?;
    let mut dirs: Vec<String> = site.call_method0("getsitepackages")?.extract()?;
    if let Ok(user) = site
        .call_method0("getusersitepackages")
        .and_then(|u| u.extract())
    {
        dirs.push(user);
    }
    if dirs
        .iter()
        .any(|d| std::path::Path::new(d).join("fluoro_boot.pth").is_file())
    {
        Ok(())
    } else {
        Err(Failure(
            "run: fluoro_boot.pth is missing from site-packages; reinstall fluoro".into(),
        ))
    }
}
