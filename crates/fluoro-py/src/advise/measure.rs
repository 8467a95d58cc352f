//! `fluoro advise PATH --fix --measure CMD`: the safe fixes applied to a scratch copy of the
//! tree, and CMD benchmarked in the original and in the copy, interleaved, with fluoro's
//! bench statistics: the speedup is the ratio of medians with its bootstrap interval.

use crate::output::{emit_text, Failure};
use fluoro_advise::{advise_paths, Config, RuleSet};
use fluoro_bench::{analyze, session, Benchmark, Bootstrap, Launch, Plan, Progress, Subject};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Directories never copied into the scratch tree.
const SKIPPED_DIRS: &[&str] = &[".git", "__pycache__", ".hg", ".mypy_cache", ".ruff_cache"];

pub fn command(
    paths: &[PathBuf],
    rules: &RuleSet,
    config: &Config,
    cmd: &str,
    max_time: f64,
) -> Result<i32, Failure> {
    let [path] = paths else {
        return Err(Failure(
            "advise: --measure takes one PATH (the tree to copy)".into(),
        ));
    };
    let path = std::fs::canonicalize(path)
        .map_err(|e| Failure(format!("advise: {}: {e}", path.display())))?;
    let (tree, target) = if path.is_dir() {
        (path.clone(), PathBuf::new())
    } else {
        let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let name = path.file_name().map(PathBuf::from).unwrap_or_default();
        (parent, name)
    };
    let scratch = scratch_dir();
    copy_tree(&tree, &scratch).map_err(|e| {
        Failure(format!(
            "advise: cannot copy {} to a scratch directory: {e}",
            tree.display()
        ))
    })?;
    let result = measure_in(&tree, &scratch, &target, rules, config, cmd, max_time);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn measure_in(
    tree: &Path,
    scratch: &Path,
    target: &Path,
    rules: &RuleSet,
    config: &Config,
    cmd: &str,
    max_time: f64,
) -> Result<i32, Failure> {
    let scratch_config = Config {
        root: None,
        ..config.clone()
    };
    let advice = advise_paths(&[scratch.join(target)], rules, &scratch_config, None, true);
    if advice.fixed == 0 {
        emit_text("No safe fix applies: nothing to measure.\n");
        return Ok(i32::from(!advice.diagnostics.is_empty()));
    }
    let bench = |name: &str, dir: &Path| Benchmark {
        name: name.to_owned(),
        subject: Subject::Command(format!("cd {} && {cmd}", shell_quote(dir))),
    };
    let benchmarks = [bench("before", tree), bench("after", scratch)];
    let plan = Plan {
        warmup: 1,
        runs: None,
        min_runs: 10,
        max_time: Duration::from_secs_f64(max_time),
        precision: 0.01,
        ignore_failure: false,
        launch: Launch::Shell,
        prepare: None,
        values_per_process: 1,
        worker_source: String::new(),
    };
    let boot = Bootstrap::default();
    let progress = Progress::new(None, plan.max_time);
    let samples = session::run(&benchmarks, &plan, &boot, &progress)
        .map_err(|e| Failure(format!("advise: --measure: {e}")))?;
    let report = analyze(&samples, &boot);
    let (Some(before), Some(after)) = (report.results.first(), report.results.get(1)) else {
        return Err(Failure("advise: --measure: no timings".into()));
    };
    let Some(speedup) = fluoro_bench::compare(before, after, &boot) else {
        return Err(Failure(
            "advise: --measure: cannot compare the timings".into(),
        ));
    };
    let s = if advice.fixed == 1 { "" } else { "es" };
    let verdict = if speedup.significant {
        "significant"
    } else {
        "no significant difference"
    };
    emit_text(&format!(
        "Applied {} safe fix{s} to a scratch copy of {}.\n\
         before: median {:.4} s  (95 % CI {:.4}–{:.4}, n = {})\n\
         after:  median {:.4} s  (95 % CI {:.4}–{:.4}, n = {})\n\
         speedup: {:.3}×  (95 % CI {:.3}–{:.3}, Mann-Whitney p = {:.2e}): {verdict}\n",
        advice.fixed,
        tree.display(),
        before.median,
        before.ci_low,
        before.ci_high,
        before.n,
        after.median,
        after.ci_low,
        after.ci_high,
        after.n,
        speedup.ratio,
        speedup.ci_low,
        speedup.ci_high,
        speedup.p_value,
    ));
    Ok(0)
}

fn scratch_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("fluoro-advise-{}-{nanos}", std::process::id()))
}

/// Copies regular files and directories (not symlinked directories, not VCS or cache
/// directories).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let name = entry.file_name();
        let dest = to.join(&name);
        if kind.is_dir() {
            if !SKIPPED_DIRS.iter().any(|d| name == *d) {
                copy_tree(&entry.path(), &dest)?;
            }
        } else if kind.is_file() || (kind.is_symlink() && entry.path().is_file()) {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

/// `path` in single quotes for `sh`.
fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}
