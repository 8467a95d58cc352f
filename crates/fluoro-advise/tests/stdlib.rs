//! Every `.py` file of an installed CPython standard library is advised without a panic; files
//! that do not parse give one syntax-error outcome; every file with fixes still parses after
//! `--fix`, and its fixed findings are gone.

use fluoro_advise::{advise_source, FileOutcome, RuleSet};
use std::path::{Path, PathBuf};

fn stdlib_roots() -> Vec<PathBuf> {
    let Ok(versions) = std::fs::read_dir("/root/.pyenv/versions") else {
        return Vec::new();
    };
    let mut roots: Vec<PathBuf> = versions
        .flatten()
        .filter_map(|v| {
            let name = v.file_name().to_string_lossy().into_owned();
            let minor: String = name.strip_prefix("3.")?.split('.').next()?.to_owned();
            let lib = v.path().join(format!("lib/python3.{minor}"));
            (name.starts_with("3.11") && lib.is_dir()).then_some(lib)
        })
        .collect();
    roots.sort();
    roots
}

fn py_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => py_files(&p, out),
            Ok(t) if t.is_file() && p.extension().is_some_and(|x| x == "py") => out.push(p),
            _ => {}
        }
    }
}

#[test]
fn whole_stdlib_without_a_panic_and_fixes_keep_it_parsing() {
    let roots = stdlib_roots();
    if roots.is_empty() {
        eprintln!("no CPython 3.11 under /root/.pyenv/versions: skipped");
        return;
    }
    let rules = RuleSet::all();
    let (mut files, mut checked, mut syntax_errors, mut fixed_files) = (Vec::new(), 0, 0, 0);
    for root in &roots {
        py_files(root, &mut files);
    }
    for path in &files {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let Ok(source) = String::from_utf8(bytes) else {
            continue;
        };
        let shown = path.display().to_string();
        match advise_source(&shown, &source, &rules, None) {
            FileOutcome::SyntaxError { .. } => syntax_errors += 1,
            FileOutcome::Checked { diagnostics, .. } => {
                checked += 1;
                let edits: Vec<_> = diagnostics.iter().filter_map(|d| d.fix.as_ref()).collect();
                if edits.is_empty() {
                    continue;
                }
                let (fixed, _) = fluoro_advise::fix::apply(&source, &edits);
                match advise_source(&shown, &fixed, &rules, None) {
                    FileOutcome::Checked { diagnostics, .. } => {
                        let left = diagnostics.iter().filter(|d| d.fix.is_some()).count();
                        // A fix can uncover another (a fixed `sorted(x)[0]` inside
                        // `d.keys()`...), never the same number again.
                        assert!(left < edits.len(), "{shown}: fixes did not remove findings");
                        fixed_files += 1;
                    }
                    FileOutcome::SyntaxError { message, line, .. } => {
                        panic!("{shown}: fixed source does not parse at line {line}: {message}")
                    }
                }
            }
        }
    }
    eprintln!(
        "{} files: {checked} advised, {syntax_errors} syntax errors, {fixed_files} fixed and re-parsed",
        files.len()
    );
    assert!(checked > 1000, "only {checked} files advised");
    // lib2to3's and the test suite's deliberately broken files are the only ones that fail.
    assert!(syntax_errors < 50, "{syntax_errors} syntax errors");
}
