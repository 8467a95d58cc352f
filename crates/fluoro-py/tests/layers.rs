//! The crate's modules import only downward: no two modules reach each other, directly or
//! through others, so that every module can be read knowing only what is below it. This test
//! reads the sources, resolves every `crate::…` and `super::…` path to the module it names,
//! and fails on the first cycle, printing it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module paths (`collectors/alloc/hook/sampled`) and the file of each.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut name = rel.to_string_lossy().into_owned();
            if name == "lib" {
                name = String::new();
            } else if let Some(parent) = name.strip_suffix("/mod") {
                name = parent.to_owned();
            }
            out.insert(name, path);
        }
    }
    out
}

fn join(base: &str, part: &str) -> String {
    if base.is_empty() {
        part.to_owned()
    } else {
        format!("{base}/{part}")
    }
}

fn parent(module: &str) -> &str {
    module.rsplit_once('/').map_or("", |(p, _)| p)
}

/// The longest known module at the start of `path`, below `base`.
fn resolve(modules: &BTreeMap<String, PathBuf>, base: &str, path: &[&str]) -> String {
    let mut found = base.to_owned();
    let mut at = base.to_owned();
    for part in path {
        at = join(&at, part);
        if modules.contains_key(&at) {
            found = at.clone();
        } else {
            break;
        }
    }
    found
}

/// The modules `module`'s own code (tests left out) names through `crate::` or `super::`.
fn references(modules: &BTreeMap<String, PathBuf>, module: &str, text: &str) -> BTreeSet<String> {
    let code: String = text
        .split("#[cfg(test)]")
        .next()
        .unwrap_or(text)
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '{' || c == ','))
        .collect();
    for word in words {
        for (i, _) in word
            .match_indices("crate::")
            .chain(word.match_indices("super::"))
        {
            let rest = &word[i..];
            let (mut base, tail) = if let Some(t) = rest.strip_prefix("crate::") {
                (String::new(), t)
            } else {
                (parent(module).to_owned(), &rest["super::".len()..])
            };
            let mut tail = tail;
            while let Some(t) = tail.strip_prefix("super::") {
                base = parent(&base).to_owned();
                tail = t;
            }
            // `a::{b, c::d}`: each branch of a group.
            let (head, group) = match tail.split_once("::{") {
                Some((h, g)) => (h, Some(g)),
                None if tail.starts_with('{') => ("", Some(&tail[1..])),
                None => (tail.trim_end_matches(['{', ',']), None),
            };
            let head: Vec<&str> = head.split("::").filter(|s| !s.is_empty()).collect();
            let target = resolve(modules, &base, &head);
            match group {
                Some(g) => {
                    for branch in g.split(',') {
                        let parts: Vec<&str> = branch
                            .trim_matches(['{', '}'])
                            .split("::")
                            .filter(|s| !s.is_empty())
                            .collect();
                        if !parts.is_empty() {
                            out.insert(resolve(modules, &target, &parts));
                        }
                    }
                }
                None => {
                    out.insert(target);
                }
            }
        }
    }
    // A module may name what is below it, and itself.
    let below = format!("{module}/");
    out.retain(|m| m != module && (module.is_empty() || !m.starts_with(&below)));
    out
}

#[test]
fn modules_import_only_downward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&src);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, path) in &modules {
        let text = std::fs::read_to_string(path).unwrap();
        edges.insert(module.clone(), references(&modules, module, &text));
    }
    // A parent declares its children: a child that names its parent's items closes a cycle.
    for module in modules.keys().filter(|m| !m.is_empty()) {
        edges
            .entry(parent(module).to_owned())
            .or_default()
            .insert(module.clone());
    }
    let mut cycles = Vec::new();
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<Vec<String>> = vec![vec![start.clone()]];
        while let Some(route) = stack.pop() {
            let last = route.last().unwrap();
            for next in edges.get(last).into_iter().flatten() {
                if next == start {
                    let mut cycle = route.clone();
                    cycle.push(next.clone());
                    cycles.push(cycle.join(" -> "));
                } else if seen.insert(next.clone()) {
                    let mut longer = route.clone();
                    longer.push(next.clone());
                    stack.push(longer);
                }
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}
