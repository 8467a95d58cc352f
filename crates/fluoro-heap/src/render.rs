//! Terminal renderings of the heap reports.

use crate::cycles::{CycleSet, CyclesReport};
use crate::paths::PathReport;
use crate::report::{DiffReport, DominatorsReport, Summary};
use fluoro_render::escape::for_terminal;
use fluoro_render::{bytes, fields, table};

fn signed_bytes(d: i64) -> String {
    let sign = if d < 0 { "-" } else { "+" };
    format!("{sign}{}", bytes(d.unsigned_abs()))
}

impl Summary {
    /// Totals, then the `top` types by retained size.
    pub fn render_text(&self, top: usize) -> String {
        let mut pairs = vec![
            ("objects", self.objects.to_string()),
            ("references", self.references.to_string()),
            ("roots", self.roots.to_string()),
            ("shallow size", bytes(self.shallow_bytes)),
            (
                "unreachable",
                format!(
                    "{} objects, {} (the cycle collector can free them)",
                    self.unreachable_objects,
                    bytes(self.unreachable_bytes)
                ),
            ),
        ];
        pairs.extend(self.meta.iter().map(|(k, v)| (k.as_str(), v.clone())));
        let mut out = format!("Heap snapshot\n{}\n", fields(&pairs));
        let rows = self
            .types
            .iter()
            .take(top)
            .map(|t| {
                vec![
                    t.name.clone(),
                    t.count.to_string(),
                    bytes(t.shallow_bytes),
                    bytes(t.retained_bytes),
                ]
            })
            .collect();
        out.push_str(&format!(
            "Types by retained size (top {} of {})\n",
            top.min(self.types.len()),
            self.types.len()
        ));
        out.push_str(&table(
            &["type", "count", "shallow", "retained"],
            &[false, true, true, true],
            rows,
        ));
        out.push('\n');
        out
    }
}

impl DominatorsReport {
    pub fn render_text(&self) -> String {
        // The allocation site column appears when the snapshot was joined with its run.
        let sites = self.retainers.iter().any(|r| r.site.is_some());
        let rows = self
            .retainers
            .iter()
            .map(|r| {
                let share = if self.total_bytes == 0 {
                    0.0
                } else {
                    r.retained_bytes as f64 / self.total_bytes as f64
                };
                let mut row = vec![
                    bytes(r.retained_bytes),
                    fluoro_render::percent(share),
                    r.retained_objects.to_string(),
                    r.type_name.clone(),
                    format!("{:#x}", r.id),
                ];
                if sites {
                    row.push(r.site.clone().unwrap_or_default());
                }
                row.push(r.path.clone().unwrap_or_else(|| "(unreachable)".into()));
                row
            })
            .collect();
        let mut out = format!("Top retainers (of {} in all)\n", bytes(self.total_bytes));
        let mut header = vec!["retained", "share", "objects", "type", "id"];
        let mut numeric = vec![true, true, true, false, false];
        if sites {
            header.push("allocated at");
            numeric.push(false);
        }
        header.push("path from a root");
        numeric.push(false);
        out.push_str(&table(&header, &numeric, rows));
        out.push('\n');
        if self.interpreter_left_out > 0 {
            out.push_str(&format!(
                "({} objects of the interpreter (sys.modules, modules, classes, functions, their dicts) retain as much and are left out; --all shows them)\n",
                self.interpreter_left_out
            ));
        }
        out
    }
}

impl PathReport {
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "{}: {} objects, {} reachable from a root\n",
            for_terminal(&self.target),
            self.matches,
            self.reachable
        );
        match &self.text {
            Some(text) => {
                out.push_str(&format!(
                    "Shortest path ({} references) from root {}:\n  {}\n",
                    self.steps.len().saturating_sub(1),
                    for_terminal(self.root.as_deref().unwrap_or("external")),
                    for_terminal(text)
                ));
                let rows = self
                    .steps
                    .iter()
                    .map(|s| {
                        vec![
                            s.label.clone().unwrap_or_default(),
                            s.type_name.clone(),
                            format!("{:#x}", s.id),
                            bytes(s.size),
                        ]
                    })
                    .collect();
                out.push_str(&table(
                    &["via", "type", "id", "size"],
                    &[false, false, false, true],
                    rows,
                ));
                out.push('\n');
            }
            None => {
                out.push_str("No root reaches it: it is garbage the cycle collector can free.\n")
            }
        }
        out
    }
}

/// The first four parts of a cycle's type list (`app.Node ×2, dict ×2, …`), and how many
/// more there are: one cycle can run through every class and module of a program.
fn shorten_types(types: &str) -> String {
    let parts: Vec<&str> = types.split(", ").collect();
    if parts.len() <= 4 {
        return types.to_owned();
    }
    format!(
        "{}, … {} more types",
        parts[..4].join(", "),
        parts.len() - 4
    )
}

/// A table of cycle groups, `top` rows, marking the interpreter's own with `--all`.
fn cycle_rows(set: &CycleSet, top: usize) -> String {
    let rows = set
        .groups
        .iter()
        .take(top)
        .map(|g| {
            let mut types = shorten_types(&g.types);
            if g.interpreter {
                types.push_str(" (interpreter)");
            }
            vec![
                types,
                g.cycles.to_string(),
                g.size.to_string(),
                bytes(g.bytes),
            ]
        })
        .collect();
    let mut out = table(
        &["made of", "cycles", "objects each", "bytes"],
        &[false, true, true, true],
        rows,
    );
    out.push('\n');
    out
}

/// `N cycles, M objects, B`.
fn cycle_totals(set: &CycleSet) -> String {
    let cycles = if set.cycles == 1 { "cycle" } else { "cycles" };
    format!(
        "{} {cycles}, {} objects, {}",
        set.cycles,
        set.objects,
        bytes(set.bytes)
    )
}

impl CyclesReport {
    pub fn render_text(&self, top: usize) -> String {
        let mut out = format!(
            "{} reference cycles hold {} objects, {}\n",
            self.cycles,
            self.objects_in_cycles,
            bytes(self.bytes_in_cycles)
        );
        out.push_str(&format!(
            "\nGarbage cycles, no root reaches them (the cycle collector frees them): {}\n",
            cycle_totals(&self.garbage)
        ));
        if !self.garbage.groups.is_empty() {
            out.push_str(&cycle_rows(&self.garbage, top));
        }
        out.push_str(&format!(
            "\nReachable cycles, the program still holds them: {}\n",
            cycle_totals(&self.reachable)
        ));
        if !self.reachable.groups.is_empty() {
            out.push_str(&cycle_rows(&self.reachable, top));
        }
        if self.interpreter_left_out.cycles > 0 {
            out.push_str(&format!(
                "({} through modules, classes and functions left out; --all shows them)\n",
                cycle_totals(&self.interpreter_left_out)
            ));
        }
        out.push_str(&format!(
            "\nThe cycle collector could free now: {} objects, {}\n",
            self.collectable_objects,
            bytes(self.collectable_bytes)
        ));
        if !self.collectable_types.is_empty() {
            let rows = self
                .collectable_types
                .iter()
                .take(top)
                .map(|t| vec![t.name.clone(), t.count.to_string(), bytes(t.shallow_bytes)])
                .collect();
            out.push_str(&table(
                &["type", "count", "bytes"],
                &[false, true, true],
                rows,
            ));
            out.push('\n');
        }
        out
    }
}

impl DiffReport {
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "Objects {} → {} ({:+}), shallow {} → {} ({})\n\nGrowth by type, largest retained growth first\n",
            self.objects_before,
            self.objects_after,
            self.objects_after as i64 - self.objects_before as i64,
            bytes(self.bytes_before),
            bytes(self.bytes_after),
            signed_bytes(self.bytes_after as i64 - self.bytes_before as i64),
        );
        let rows = self
            .types
            .iter()
            .map(|t| {
                vec![
                    t.name.clone(),
                    format!("{:+}", t.count_delta),
                    t.count_after.to_string(),
                    signed_bytes(t.shallow_delta),
                    signed_bytes(t.retained_delta),
                    bytes(t.retained_after),
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                "type",
                "count Δ",
                "count",
                "shallow Δ",
                "retained Δ",
                "retained",
            ],
            &[false, true, true, true, true, true],
            rows,
        ));
        if let Some(note) = self.ownership_note() {
            out.push_str(&format!("\n\n{}", for_terminal(&note)));
        }
        out.push_str("\n\nGrowth by retainer (objects in both snapshots)\n");
        let rows = self
            .retainers
            .iter()
            .map(|r| {
                vec![
                    signed_bytes(r.retained_delta),
                    bytes(r.retained_after),
                    r.type_name.clone(),
                    format!("{:#x}", r.id),
                    r.path.clone().unwrap_or_default(),
                ]
            })
            .collect();
        out.push_str(&table(
            &["retained Δ", "retained", "type", "id", "path from a root"],
            &[true, true, false, false, false],
            rows,
        ));
        out.push('\n');
        if self.interpreter_left_out > 0 {
            out.push_str(&format!(
                "({} of the interpreter (sys.modules, modules, classes, functions, their dicts) left out; --all shows them)\n",
                if self.interpreter_left_out == 1 {
                    "1 row".to_owned()
                } else {
                    format!("{} rows", self.interpreter_left_out)
                }
            ));
        }
        out
    }

    /// Why retained growth differs from shallow growth, on the first type of the table where
    /// they differ; `None` when they agree everywhere.
    pub fn ownership_note(&self) -> Option<String> {
        let t = self
            .types
            .iter()
            .find(|t| t.retained_delta != t.shallow_delta)?;
        let why = if t.retained_delta > t.shallow_delta {
            ", counting what its objects alone keep alive (an object several holders share counts only for their common owner)"
        } else {
            ": part of it is shared with other holders, and a shared object counts only for their common owner"
        };
        Some(format!(
            "Retained Δ differs from shallow Δ: {} grew {} itself but {} retained{why}.",
            t.name,
            signed_bytes(t.shallow_delta),
            signed_bytes(t.retained_delta),
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::cycles::cycles_report;
    use crate::graph::{GraphBuilder, HeapGraph, Node};
    use crate::paths::{shortest_path, PathTarget};
    use crate::report::{diff, summary, top_retainers, Analysis};

    /// sys.modules -> module -> its dict -> CACHE list -> users, each referring back to the
    /// list (one cycle); plus an unreachable pair of nodes.
    fn program(users: usize) -> HeapGraph {
        let mut b = GraphBuilder::new();
        let add = |b: &mut GraphBuilder, ty: &str, size: u64, id: u64| {
            let type_index = b.type_index(ty);
            b.node(Node {
                id,
                type_index,
                size,
                site: None,
            })
        };
        let l_app = b.string_index("['app']");
        let l_dict = b.string_index("__dict__");
        let l_cache = b.string_index("['CACHE']");
        let modules = b.string_index("sys.modules");
        add(&mut b, "dict", 1200, 0x1000);
        b.edge(1, Some(l_app));
        add(&mut b, "module", 72, 0x2000);
        b.edge(2, Some(l_dict));
        add(&mut b, "dict", 640, 0x3000);
        b.edge(3, Some(l_cache));
        add(&mut b, "list", 56 + 8 * users as u64, 0x4000);
        for i in 0..users {
            let label = b.string_index(&format!("[{i}]"));
            b.edge(6 + i as u32, Some(label));
        }
        add(&mut b, "app.Node", 48, 0x5000);
        b.edge(5, None);
        add(&mut b, "app.Node", 48, 0x5100);
        b.edge(4, None);
        for i in 0..users {
            add(&mut b, "app.User", 48, 0x6000 + 0x100 * i as u64);
            let attrs = b.string_index(".cache");
            b.edge(3, Some(attrs));
        }
        b.root(0, Some(modules));
        b.meta("python", "CPython 3.11.7");
        b.finish().unwrap()
    }

    #[test]
    fn summary_text() {
        let a = Analysis::new(program(3));
        insta::assert_snapshot!(summary(&a).render_text(10));
    }

    #[test]
    fn summary_json_keys() {
        let a = Analysis::new(program(3));
        let json = serde_json::to_value(summary(&a)).unwrap();
        let first = &json["types"][0];
        for key in ["name", "count", "shallow_bytes", "retained_bytes"] {
            assert!(first.get(key).is_some(), "missing {key}");
        }
    }

    #[test]
    fn dominators_text() {
        let a = Analysis::new(program(3));
        insta::assert_snapshot!(top_retainers(&a, 4, false).render_text());
    }

    #[test]
    fn path_text() {
        let a = Analysis::new(program(3));
        let report = shortest_path(&a.graph, &PathTarget::Type("User".into())).unwrap();
        insta::assert_snapshot!(report.render_text());
    }

    #[test]
    fn cycles_text() {
        let a = Analysis::new(program(3));
        insta::assert_snapshot!(cycles_report(&a.graph, &a.dom, false).render_text(10));
    }

    #[test]
    fn long_cycle_compositions_are_shortened() {
        let long = "a ×9, b ×5, c ×3, d ×2, e ×1, f ×1";
        assert_eq!(
            super::shorten_types(long),
            "a ×9, b ×5, c ×3, d ×2, … 2 more types"
        );
        assert_eq!(super::shorten_types("a ×2"), "a ×2");
    }

    #[test]
    fn diff_text() {
        let before = Analysis::new(program(2));
        let after = Analysis::new(program(5));
        insta::assert_snapshot!(diff(&before, &after, 5, false).render_text());
    }

    #[test]
    fn all_brings_back_the_interpreters_rows() {
        let a = Analysis::new(program(3));
        let all = top_retainers(&a, 4, true);
        assert_eq!(all.interpreter_left_out, 0);
        assert_eq!(all.retainers[0].path.as_deref(), Some("sys.modules (dict)"));
        let data = top_retainers(&a, 4, false);
        assert!(data.retainers.iter().all(|r| r.type_name != "module"));
        let before = Analysis::new(program(2));
        let after = Analysis::new(program(5));
        let all = diff(&before, &after, 5, true);
        assert!(all.types.iter().any(|t| t.name == "module"));
        assert_eq!(all.interpreter_left_out, 0);
        assert!(!diff(&before, &after, 5, false)
            .render_text()
            .contains(" module "));
    }

    /// [`program`] with a hostile ending on every type name, label and meta value.
    fn hostile_program(users: usize) -> HeapGraph {
        let mut graph = program(users);
        let hostile = "\x1b]0;pwned\x07\x1b[2J\n\u{202e}";
        for name in graph.types.iter_mut().chain(&mut graph.strings) {
            name.push_str(hostile);
        }
        for (_, value) in &mut graph.meta {
            value.push_str(hostile);
        }
        graph
    }

    /// Every report of a program's snapshots, as the terminal gets them.
    fn every_text(program: impl Fn(usize) -> HeapGraph) -> Vec<String> {
        let a = Analysis::new(program(3));
        let path = shortest_path(&a.graph, &PathTarget::Id(0x6000)).unwrap();
        vec![
            summary(&a).render_text(10),
            top_retainers(&a, 10, true).render_text(),
            path.render_text(),
            cycles_report(&a.graph, &a.dom, true).render_text(10),
            diff(&a, &Analysis::new(program(5)), 10, true).render_text(),
        ]
    }

    #[test]
    fn hostile_type_names_and_labels_are_shown_escaped() {
        for (text, plain) in every_text(hostile_program).iter().zip(every_text(program)) {
            assert!(
                text.chars()
                    .all(|c| c == '\n' || !(c.is_control() || c == '\u{202e}')),
                "{text:?}"
            );
            assert!(
                text.contains("\\x1b]0;pwned\\x07\\x1b[2J\\n\\u202e"),
                "{text}"
            );
            assert_eq!(text.lines().count(), plain.lines().count(), "{text}");
        }
    }

    #[test]
    fn the_ownership_note_says_which_way_and_only_when_needed() {
        use crate::report::{DiffReport, TypeGrowth};
        let row = |name: &str, shallow_delta, retained_delta| TypeGrowth {
            name: name.into(),
            count_before: 1,
            count_after: 2,
            count_delta: 1,
            shallow_delta,
            retained_before: 0,
            retained_after: 0,
            retained_delta,
        };
        let mut report = DiffReport {
            objects_before: 1,
            objects_after: 2,
            bytes_before: 0,
            bytes_after: 0,
            types: vec![row("app.User", 48, 48)],
            retainers: Vec::new(),
            interpreter_left_out: 0,
        };
        assert_eq!(report.ownership_note(), None);
        report.types.push(row("app.Order", 200, 80));
        let note = report.ownership_note().unwrap();
        assert!(
            note.contains("app.Order grew +200 B itself but +80 B retained"),
            "{note}"
        );
        assert!(note.contains("shared with other holders"), "{note}");
    }
}
