//! `.pstats` files: CPython's `marshal` of the dict `pstats.Stats` loads (and snakeviz, which
//! loads through it), keyed `(filename, lineno, funcname)` as cProfile keys functions.
//!
//! Each value is `(primitive_calls, total_calls, tottime, cumtime, callers)` with times in
//! seconds; `callers` maps a caller's key to `(total_calls, primitive_calls, tottime,
//! cumtime)`, in that order, as cProfile writes it.

use super::marshal::{dumps, Value};
use crate::{RenderError, RenderOptions};
use fluoro_profile::{ExactStats, Metric, Profile};
use std::collections::HashMap;

pub(crate) fn render(profile: &Profile, options: &RenderOptions) -> Result<Vec<u8>, RenderError> {
    let table = match &profile.exact {
        Some(exact) => from_exact(exact),
        None => from_samples(profile, options.metric),
    };
    Ok(dumps(&table.into_value()))
}

/// `(filename, lineno, funcname)`.
type Key = (String, u32, String);

/// One row's figures: `(calls, primitive calls, tottime ns, cumtime ns)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Figures {
    calls: u64,
    prim_calls: u64,
    tottime_ns: u64,
    cumtime_ns: u64,
}

impl Figures {
    fn add(&mut self, other: Figures) {
        self.calls += other.calls;
        self.prim_calls += other.prim_calls;
        self.tottime_ns += other.tottime_ns;
        self.cumtime_ns += other.cumtime_ns;
    }
}

/// One function's entry: its key, its figures, and the share of them each caller accounts for.
struct Row {
    key: Key,
    figures: Figures,
    callers: Vec<(Key, Figures)>,
}

/// The stats dict before marshalling, in first-seen order so output is deterministic.
#[derive(Default)]
struct Table {
    rows: Vec<Row>,
    index: HashMap<Key, usize>,
}

impl Table {
    fn row(&mut self, key: &Key) -> usize {
        if let Some(&at) = self.index.get(key) {
            return at;
        }
        self.rows.push(Row {
            key: key.clone(),
            figures: Figures::default(),
            callers: Vec::new(),
        });
        self.index.insert(key.clone(), self.rows.len() - 1);
        self.rows.len() - 1
    }

    fn add(&mut self, key: &Key, figures: Figures) {
        let at = self.row(key);
        self.rows[at].figures.add(figures);
    }

    fn add_caller(&mut self, key: &Key, caller: &Key, figures: Figures) {
        let at = self.row(key);
        let callers = &mut self.rows[at].callers;
        match callers.iter_mut().find(|(k, _)| k == caller) {
            Some((_, f)) => f.add(figures),
            None => callers.push((caller.clone(), figures)),
        }
    }

    fn into_value(self) -> Value {
        let key = |(file, line, name): Key| {
            Value::Tuple(vec![
                Value::Str(file),
                Value::Int(i64::from(line)),
                Value::Str(name),
            ])
        };
        let int = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
        let secs = |ns: u64| Value::Float(ns as f64 / 1e9);
        Value::Dict(
            self.rows
                .into_iter()
                .map(|row| {
                    let callers = row
                        .callers
                        .into_iter()
                        .map(|(ck, cf)| {
                            let edge = vec![
                                int(cf.calls),
                                int(cf.prim_calls),
                                secs(cf.tottime_ns),
                                secs(cf.cumtime_ns),
                            ];
                            (key(ck), Value::Tuple(edge))
                        })
                        .collect();
                    let stats = vec![
                        int(row.figures.prim_calls),
                        int(row.figures.calls),
                        secs(row.figures.tottime_ns),
                        secs(row.figures.cumtime_ns),
                        Value::Dict(callers),
                    ];
                    (key(row.key), Value::Tuple(stats))
                })
                .collect(),
        )
    }
}

/// The hook's exact figures, callers included, as cProfile would have written them.
fn from_exact(exact: &ExactStats) -> Table {
    let keys: Vec<Key> = exact
        .functions
        .iter()
        .map(|f| (f.filename.clone(), f.line, f.name.clone()))
        .collect();
    let mut table = Table::default();
    for (f, key) in exact.functions.iter().zip(&keys) {
        table.add(
            key,
            Figures {
                calls: f.calls,
                prim_calls: f.prim_calls,
                tottime_ns: f.tottime_ns,
                cumtime_ns: f.cumtime_ns,
            },
        );
        for edge in &f.callers {
            // `analysis::check` has verified every caller index.
            if let Some(caller) = keys.get(edge.caller as usize) {
                let figures = Figures {
                    calls: edge.calls,
                    prim_calls: edge.prim_calls,
                    tottime_ns: edge.tottime_ns,
                    cumtime_ns: edge.cumtime_ns,
                };
                table.add_caller(key, caller, figures);
            }
        }
    }
    table
}

/// Estimates from samples, for runs without the profile hook. Sampling sees no calls, and
/// pstats and snakeviz would show any count put in `ncalls` as calls (and divide times by it
/// for `percall`), so every call count is 0: pstats prints `0` and leaves both `percall`
/// columns blank. tottime and cumtime are the function's self and total `metric` time (a
/// recursive function's total counted once per sample); a caller edge joins adjacent frames,
/// with the callee's times restricted to samples where that caller called it directly.
fn from_samples(profile: &Profile, metric: Metric) -> Table {
    let mut table = Table::default();
    let mut seen: Vec<Key> = Vec::new();
    let mut seen_edges: Vec<(Key, Key)> = Vec::new();
    for w in &profile.weights {
        let value = metric.of(w);
        let frames = profile.frames(w.stack);
        let keys: Vec<Key> = frames
            .iter()
            .map(|&f| {
                let code = profile.code(f);
                (code.filename.clone(), code.firstlineno, code.name.clone())
            })
            .collect();
        seen.clear();
        seen_edges.clear();
        for (depth, key) in keys.iter().enumerate() {
            let first = !seen.contains(key);
            if first {
                seen.push(key.clone());
            }
            let leaf = depth + 1 == keys.len();
            let figures = Figures {
                calls: 0,
                prim_calls: 0,
                tottime_ns: if leaf { value } else { 0 },
                cumtime_ns: if first { value } else { 0 },
            };
            table.add(key, figures);
            if let Some(caller) = depth.checked_sub(1).and_then(|d| keys.get(d)) {
                let edge = (caller.clone(), key.clone());
                let first_edge = !seen_edges.contains(&edge);
                if first_edge {
                    seen_edges.push(edge);
                }
                let figures = Figures {
                    cumtime_ns: if first_edge { value } else { 0 },
                    ..figures
                };
                table.add_caller(key, caller, figures);
            }
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn find<'t>(table: &'t Table, name: &str) -> (&'t Key, &'t Figures, &'t [(Key, Figures)]) {
        let row = table.rows.iter().find(|r| r.key.2 == name).unwrap();
        (&row.key, &row.figures, &row.callers)
    }

    #[test]
    fn samples_estimate_times_and_count_no_calls() {
        let profile = testing::fixture();
        let table = from_samples(&profile, Metric::Wall);
        let (key, fib, callers) = find(&table, "fib");
        assert_eq!(
            key,
            &("/work/app/lib/work.py".to_string(), 1, "fib".to_string())
        );
        assert_eq!(fib.tottime_ns, 400_000_000);
        assert_eq!(fib.cumtime_ns, 400_000_000);
        let from_main = callers.iter().find(|c| c.0 .2 == "main").unwrap().1;
        assert_eq!(from_main.cumtime_ns, 400_000_000);
        // Fib called itself in the 40 samples with two or more levels of it.
        let from_fib = callers.iter().find(|c| c.0 .2 == "fib").unwrap().1;
        assert_eq!(from_fib.cumtime_ns, 400_000_000);
        assert!(table.rows.iter().all(|r| {
            let mut edges = r.callers.iter().map(|c| (c.1.calls, c.1.prim_calls));
            (r.figures.calls, r.figures.prim_calls) == (0, 0) && edges.all(|e| e == (0, 0))
        }));
        let (_, module, callers) = find(&table, "<module>");
        assert!(callers.is_empty());
        assert_eq!(module.cumtime_ns, 810_000_000);
    }

    #[test]
    fn exact_figures_pass_through() {
        let profile = testing::fixture();
        let table = from_exact(profile.exact.as_ref().unwrap());
        let (_, fib, callers) = find(&table, "fib");
        assert_eq!((fib.calls, fib.prim_calls), (21891, 1));
        assert_eq!(callers.len(), 2);
        let (key, _, _) = find(&table, "<built-in method builtins.len>");
        assert_eq!((key.0.as_str(), key.1), ("~", 0));
    }

    /// `pstats.Stats` loads both kinds of file and prints them, when a `python3` is on PATH.
    #[test]
    fn pstats_loads_the_file() {
        let script = "import pstats,sys,io\nout=io.StringIO()\ns=pstats.Stats(sys.argv[1],stream=out)\ns.sort_stats('tottime').print_stats()\ns.print_callers()\nprint(out.getvalue())\nprint('TOTAL', s.total_calls, s.prim_calls)";
        for (name, profile) in [
            ("exact", testing::fixture()),
            ("sampled", testing::fixture_cut_short()),
        ] {
            let path = testing::scratch(&format!("{name}.pstats"));
            let bytes = render(&profile, &RenderOptions::default()).unwrap();
            std::fs::write(&path, bytes).unwrap();
            let Some(text) = testing::run_tool("python3", &["-c", script], &path) else {
                return;
            };
            match name {
                "exact" => {
                    assert!(text.contains("21891/1"), "{text}");
                    assert!(text.contains("{built-in method builtins.len}"), "{text}");
                    assert!(text.contains("TOTAL 22913 1023"), "{text}");
                }
                _ => {
                    // No calls were counted: pstats says 0 and leaves percall blank.
                    assert!(text.contains("0 function calls in 1.500 seconds"), "{text}");
                    assert!(text.contains("TOTAL 0 0"), "{text}");
                    let parse = text
                        .lines()
                        .find(|l| l.ends_with("work.py:11(parse)"))
                        .expect("a parse row");
                    let columns: Vec<&str> = parse.split_whitespace().collect();
                    assert_eq!(columns[..3], ["0", "0.550", "0.550"], "{parse}");
                }
            }
        }
    }
}
