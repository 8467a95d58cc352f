//! `fluoro advise` and `fluoro run --advise`: the plain `fluoro-advise` crate finds and ranks;
//! this module reads the configuration and profile, prints, and for `--measure` benchmarks
//! a command before and after the fixes with `fluoro-bench`.

use crate::output::{emit_text, Failure};
use fluoro_advise::rules::{explain, find, RULES};
use fluoro_advise::{advise_paths, render, Advice, Config, LineCosts, RuleSet};
use fluoro_cli::{AdviseArgs, AdviseFormat};
use fluoro_profile::Metric;
use std::path::{Path, PathBuf};

mod measure;

/// `fluoro advise …`: exit 1 when there are findings or a file does not parse, 0 when none.
pub fn command(args: &AdviseArgs) -> Result<i32, Failure> {
    if let Some(code) = &args.explain {
        let rule = find(code).ok_or_else(|| Failure(format!("advise: no rule '{code}'")))?;
        return Ok(emit_text(&(explain(rule) + "\n")));
    }
    if args.list_rules {
        let text: String = RULES
            .iter()
            .map(|r| {
                let fix = if r.fixable { "[*]" } else { "   " };
                format!("{} {fix} {:<28} {}\n", r.code, r.name, r.summary)
            })
            .collect();
        return Ok(emit_text(&text));
    }
    let paths: Vec<PathBuf> = args.paths.clone();
    let (rules, config) = configured_rules(&paths[0], &args.select, &args.ignore)?;
    for path in &paths {
        if !path.exists() {
            return Err(Failure(format!(
                "advise: {}: no such file or directory",
                path.display()
            )));
        }
    }
    let costs = match &args.profile {
        Some(file) => Some(line_costs(file, args.metric)?),
        None => None,
    };
    if let Some(cmd) = &args.measure {
        return measure::command(&paths, &rules, &config, cmd, args.max_time);
    }
    let advice = advise_paths(&paths, &rules, &config, costs.as_ref(), args.fix);
    report(
        &advice,
        args.format,
        costs.as_ref().map(|_| args.metric),
        false,
    );
    // A file that does not parse fails the check as a finding does (as in ruff): it was not
    // advised, and must not pass as "no findings".
    Ok(i32::from(
        !advice.diagnostics.is_empty() || !advice.syntax_errors.is_empty(),
    ))
}

/// The `[tool.fluoro]` configuration found from `start`, and the rules it and the command
/// line enable: `--select` replaces the configured selection, `--ignore` adds to it.
fn configured_rules(
    start: &Path,
    select: &[String],
    ignore: &[String],
) -> Result<(RuleSet, Config), Failure> {
    let config = Config::discover(start)
        .map_err(|e| Failure(format!("advise: {e}")))?
        .unwrap_or_default();
    let select = if select.is_empty() {
        config.select.clone()
    } else {
        select.to_vec()
    };
    let mut ignored = config.ignore.clone();
    ignored.extend(ignore.iter().cloned());
    let rules =
        RuleSet::from_selectors(&select, &ignored).map_err(|e| Failure(format!("advise: {e}")))?;
    Ok((rules, config))
}

/// Reads a `.fluoro` profile into per-line costs; errors name the file.
fn line_costs(path: &Path, metric: Metric) -> Result<LineCosts, Failure> {
    let profile = crate::report::read_profile(path).map_err(|e| Failure(format!("advise: {e}")))?;
    Ok(LineCosts::from_profile(&profile, metric))
}

/// Prints the findings (to stderr when `to_stderr`, as after `fluoro run`), warnings and
/// syntax errors one line each on stderr.
fn report(advice: &Advice, format: AdviseFormat, ranked_by: Option<Metric>, to_stderr: bool) {
    for line in advice.warnings.iter().chain(&advice.syntax_errors) {
        crate::output::say(line);
    }
    let text = match format {
        AdviseFormat::Text => render::render_text(advice, ranked_by.map(Metric::name)),
        AdviseFormat::Json => render::render_json(advice),
        AdviseFormat::Sarif => render::render_sarif(advice, env!("CARGO_PKG_VERSION")),
    };
    if to_stderr {
        let _ = crate::output::to_user(text.as_bytes());
    } else {
        emit_text(&text);
    }
}

/// `fluoro run --advise`: advises the profiled source files that belong to the program (under
/// the working directory or the script's directory, outside site-packages and the standard
/// library), ranked by the run's profile, on stderr when `show`. Returns the findings as
/// `fluoro advise --format json` writes them, for the HTML report.
pub fn after_run(
    profile: &Path,
    metric: Metric,
    script: Option<&str>,
    show: bool,
) -> Option<serde_json::Value> {
    let say = |message: &str| {
        if show {
            crate::output::say(message);
        }
    };
    let costs = match line_costs(profile, metric) {
        Ok(costs) => costs,
        Err(Failure(message)) => {
            say(&message);
            return None;
        }
    };
    let mut roots: Vec<PathBuf> = std::env::current_dir().into_iter().collect();
    if let Some(dir) = script
        .and_then(|s| std::fs::canonicalize(s).ok())
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        roots.push(dir);
    }
    let files: Vec<PathBuf> = costs
        .paths()
        .filter(|p| {
            p.extension().is_some_and(|x| x == "py")
                && roots.iter().any(|r| p.starts_with(r))
                && !p.components().any(|c| {
                    let c = c.as_os_str();
                    c == "site-packages" || c == "dist-packages"
                })
        })
        .map(Path::to_path_buf)
        .collect();
    if files.is_empty() {
        say("advise: no profiled source file of the program to advise");
        return None;
    }
    let (rules, config) = match roots.first().map(|cwd| configured_rules(cwd, &[], &[])) {
        Some(Ok(found)) => found,
        Some(Err(Failure(message))) => {
            say(&message);
            return None;
        }
        None => (RuleSet::all(), Config::default()),
    };
    let advice = advise_paths(&files, &rules, &config, Some(&costs), false);
    if show {
        report(&advice, AdviseFormat::Text, Some(metric), true);
    }
    serde_json::from_str(&render::render_json(&advice)).ok()
}
