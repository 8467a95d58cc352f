//! Finding the `.py` files under the given paths (respecting `.gitignore` and the configured
//! excludes) and advising them in parallel.

use crate::config::Config;
use crate::diagnostic::{Diagnostic, FileOutcome};
use crate::rank::LineCosts;
use crate::rules::RuleSet;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Stack of each worker thread. The parser and the tree walk recurse once per nesting level,
/// and generated files nest expressions thousands deep (a 200,000-term sum needs ~200 MiB):
/// the memory is only reserved, pages are touched as deep as a file goes.
const WORKER_STACK: usize = 512 << 20;

/// Most rounds of fixing one file (each re-advises the fixed source).
const FIX_PASSES: usize = 10;

/// Everything one `fluoro advise` run found.
#[derive(Debug, Default)]
pub struct Advice {
    pub diagnostics: Vec<Diagnostic>,
    /// `path:line:col: message` of files that did not parse.
    pub syntax_errors: Vec<String>,
    /// Files skipped (unreadable, not UTF-8), one line each.
    pub warnings: Vec<String>,
    pub files: usize,
    /// Fixes applied with `--fix`.
    pub fixed: usize,
}

/// The `.py` files under `paths`: files named directly are always taken; directories are
/// walked, skipping what `.gitignore` files and `exclude` patterns name.
pub fn discover(paths: &[PathBuf], config: &Config) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    for path in paths {
        if path.is_file() {
            files.push(path.clone());
            continue;
        }
        if !path.exists() {
            warnings.push(format!("{}: no such file or directory", path.display()));
            continue;
        }
        let mut walk = ignore::WalkBuilder::new(path);
        walk.hidden(true).parents(true).require_git(false);
        if !config.exclude.is_empty() {
            let root = config.root.clone().unwrap_or_else(|| path.clone());
            let mut overrides = ignore::overrides::OverrideBuilder::new(root);
            for pattern in &config.exclude {
                if let Err(e) = overrides.add(&format!("!{pattern}")) {
                    warnings.push(format!("exclude pattern '{pattern}': {e}"));
                }
            }
            match overrides.build() {
                Ok(o) => {
                    walk.overrides(o);
                }
                Err(e) => warnings.push(format!("exclude patterns: {e}")),
            }
        }
        for entry in walk.build() {
            match entry {
                Ok(e) => {
                    let p = e.path();
                    if e.file_type().is_some_and(|t| t.is_file())
                        && p.extension().is_some_and(|x| x == "py")
                    {
                        files.push(p.to_path_buf());
                    }
                }
                Err(e) => warnings.push(e.to_string()),
            }
        }
    }
    files.sort();
    files.dedup();
    (files, warnings)
}

enum Read {
    Source(String),
    Skipped(String),
}

fn read(path: &Path) -> Read {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Read::Source(text),
            Err(_) => Read::Skipped(format!("skipping {}: not UTF-8", path.display())),
        },
        Err(e) => Read::Skipped(format!("skipping {}: {e}", path.display())),
    }
}

/// What advising one file gave, after applying its fixes when asked.
struct FileResult {
    outcome: Option<FileOutcome>,
    warning: Option<String>,
    fixed: usize,
}

fn advise_file(path: &Path, rules: &RuleSet, costs: Option<&LineCosts>, fix: bool) -> FileResult {
    let shown = path.display().to_string();
    let source = match read(path) {
        Read::Source(s) => s,
        Read::Skipped(warning) => {
            return FileResult {
                outcome: None,
                warning: Some(warning),
                fixed: 0,
            }
        }
    };
    let file_costs = costs.and_then(|c| c.file(path));
    if !fix {
        return FileResult {
            outcome: Some(crate::advise_source(&shown, &source, rules, file_costs)),
            warning: None,
            fixed: 0,
        };
    }
    let (current, outcome, fixed) = advise_and_fix(&shown, &source, rules, file_costs);
    let warning = if fixed > 0 {
        std::fs::write(path, &current)
            .err()
            .map(|e| format!("cannot write fixes to {shown}: {e}"))
    } else {
        None
    };
    if warning.is_some() {
        // Nothing was written: report the file as it is.
        return FileResult {
            outcome: Some(crate::advise_source(&shown, &source, rules, file_costs)),
            warning,
            fixed: 0,
        };
    }
    FileResult {
        outcome: Some(outcome),
        warning: None,
        fixed,
    }
}

/// Advises `source` and applies its safe fixes: the fixed source, what is left to say of it,
/// and how many fixes were applied. Fixes that overlap or that another fix uncovers are
/// applied in further passes, as long as each pass applies something.
pub fn advise_and_fix(
    path: &str,
    source: &str,
    rules: &RuleSet,
    costs: Option<&crate::rank::FileCosts>,
) -> (String, FileOutcome, usize) {
    let mut outcome = crate::advise_source(path, source, rules, costs);
    let (mut current, mut fixed) = (source.to_owned(), 0);
    for _ in 0..FIX_PASSES {
        let FileOutcome::Checked { diagnostics, .. } = &outcome else {
            break;
        };
        let edits: Vec<_> = diagnostics.iter().filter_map(|d| d.fix.as_ref()).collect();
        let (next, applied) = crate::fix::apply(&current, &edits);
        if applied == 0 {
            break;
        }
        fixed += applied;
        outcome = crate::advise_source(path, &next, rules, costs);
        current = next;
    }
    (current, outcome, fixed)
}

/// Advises every `.py` file under `paths` in parallel. With `fix`, safe fixes are written
/// back in place and the diagnostics are those left afterwards.
pub fn advise_paths(
    paths: &[PathBuf],
    rules: &RuleSet,
    config: &Config,
    costs: Option<&LineCosts>,
    fix: bool,
) -> Advice {
    let (files, mut warnings) = discover(paths, config);
    let advise_all = || -> Vec<FileResult> {
        files
            .par_iter()
            .map(|path| advise_file(path, rules, costs, fix))
            .collect()
    };
    let results = match rayon::ThreadPoolBuilder::new()
        .stack_size(WORKER_STACK)
        .build()
    {
        Ok(pool) => pool.install(advise_all),
        Err(e) => {
            warnings.push(format!("advising with default stacks: {e}"));
            advise_all()
        }
    };
    let mut advice = Advice {
        files: files.len(),
        ..Advice::default()
    };
    for result in results {
        advice.fixed += result.fixed;
        warnings.extend(result.warning);
        match result.outcome {
            Some(FileOutcome::Checked { diagnostics, .. }) => {
                advice.diagnostics.extend(diagnostics)
            }
            Some(FileOutcome::SyntaxError {
                path,
                line,
                col,
                message,
            }) => advice
                .syntax_errors
                .push(format!("{path}:{line}:{col}: syntax error: {message}")),
            None => {}
        }
    }
    advice.warnings = warnings;
    advice
        .diagnostics
        .sort_by(|a, b| (&a.path, a.line, a.col).cmp(&(&b.path, b.line, b.col)));
    if let Some(costs) = costs {
        crate::rank::rank(&mut advice.diagnostics, costs);
    }
    advice
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_fixes_are_applied_over_several_passes() {
        let dir = std::env::temp_dir().join(format!("fluoro-advise-fix-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.py");
        // join-generator's fix contains dict-keys-iteration's: two passes.
        std::fs::write(&path, "s = ''.join(str(k) for k in d.keys())\n").unwrap();
        let advice = advise_paths(
            std::slice::from_ref(&path),
            &RuleSet::all(),
            &Config::default(),
            None,
            true,
        );
        let fixed = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(fixed, "s = ''.join([str(k) for k in d])\n");
        assert_eq!(advice.fixed, 2);
        assert!(advice.diagnostics.is_empty(), "{:?}", advice.diagnostics);
    }
}
