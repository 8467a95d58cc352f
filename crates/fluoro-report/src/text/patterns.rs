//! The "Patterns" section of the text summary: the statistics of the `fluoro.patterns`
//! instances (pools, caches, lazy attributes) that were alive when the run ended.

use crate::analysis::{whole, RunSummary};
use fluoro_profile::{Figure, PatternStats, SizeClassStats, Unit};
use fluoro_render::escape::for_terminal;
use fluoro_render::{bytes, fitted_table, percent, seconds, table, visible_width, Cut, Keep};
use std::fmt::Write;

/// One table per kind of pattern, in the order kinds first appear, then the size classes of
/// each BufferPool; the site and the name give way first to fit `width`. Empty when the run
/// used no patterns.
pub(crate) fn text(patterns: &[PatternStats], run: &RunSummary, width: Option<usize>) -> String {
    let mut kinds: Vec<&str> = Vec::new();
    for p in patterns {
        if !kinds.contains(&p.kind.as_str()) {
            kinds.push(&p.kind);
        }
    }
    let mut out = String::new();
    for kind in kinds {
        let of_kind: Vec<&PatternStats> = patterns.iter().filter(|p| p.kind == kind).collect();
        // Instances of one kind list the same figures; a figure one lacks shows empty.
        let mut columns: Vec<&str> = Vec::new();
        for figure in of_kind.iter().flat_map(|p| &p.figures) {
            if !columns.contains(&figure.name.as_str()) {
                columns.push(&figure.name);
            }
        }
        let rows: Vec<Vec<String>> = of_kind
            .iter()
            .map(|p| {
                let mut row = vec![p.name.clone()];
                row.extend(columns.iter().map(|c| {
                    p.figures
                        .iter()
                        .find(|f| f.name == *c)
                        .map(shown)
                        .unwrap_or_default()
                }));
                row.push(site(&p.site, run));
                row
            })
            .collect();
        let header: Vec<String> = std::iter::once(kind.to_string())
            .chain(columns.iter().map(|c| c.replace('_', " ")))
            .chain(std::iter::once("created at".to_string()))
            .collect();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut numeric = vec![true; header.len()];
        numeric[0] = false;
        numeric[header.len() - 1] = false;
        if !out.is_empty() {
            out.push('\n');
        }
        let cuts = [
            Cut {
                column: header.len() - 1,
                keep: Keep::End,
            },
            Cut {
                column: 0,
                keep: Keep::Start,
            },
        ];
        let sites: Vec<(String, String)> = rows
            .iter()
            .map(|r| (r[0].clone(), r[r.len() - 1].clone()))
            .collect();
        let fitted = fitted_table(&header, &numeric, rows.clone(), width, &cuts);
        let widest = fitted.lines().map(visible_width).max().unwrap_or(0);
        if width.is_some_and(|w| widest > w) {
            // Too many figures for the terminal: the sites go under the table, whole.
            let rows = rows.into_iter().map(|mut r| {
                r.pop();
                r
            });
            let n = header.len() - 1;
            out.push_str(&fitted_table(
                &header[..n],
                &numeric[..n],
                rows.collect(),
                width,
                &cuts[1..],
            ));
            out.push('\n');
            for (name, at) in sites {
                let (name, at) = (for_terminal(&name), for_terminal(&at));
                let _ = writeln!(out, "  {name} created at {at}");
            }
        } else {
            out.push_str(&fitted);
            out.push('\n');
        }
    }
    for p in patterns.iter().filter(|p| !p.size_classes.is_empty()) {
        let (kind, name) = (for_terminal(&p.kind), for_terminal(&p.name));
        let _ = writeln!(out, "\n{kind} {name} by size class");
        out.push_str(&size_class_table(&p.size_classes));
        out.push('\n');
    }
    out
}

fn size_class_table(classes: &[SizeClassStats]) -> String {
    let rows = classes
        .iter()
        .map(|c| {
            vec![
                bytes(c.size),
                c.in_use.to_string(),
                c.free.to_string(),
                c.high_water.to_string(),
                c.acquired.to_string(),
                c.reused.to_string(),
                c.trimmed.to_string(),
                percent(c.fragmentation),
            ]
        })
        .collect();
    table(
        &[
            "class",
            "in use",
            "free",
            "high-water",
            "acquired",
            "reused",
            "trimmed",
            "fragmentation",
        ],
        &[true; 8],
        rows,
    )
}

/// A figure in its unit.
fn shown(f: &Figure) -> String {
    match f.unit {
        Unit::Count => whole(f.value).map_or_else(|| f.value.to_string(), |n| n.to_string()),
        Unit::Ratio => percent(f.value),
        Unit::Bytes => whole(f.value).map_or_else(|| f.value.to_string(), bytes),
        Unit::Seconds => seconds(f.value),
    }
}

/// `file:line` with the file shown as elsewhere in the report.
fn site(site: &str, run: &RunSummary) -> String {
    match site.rsplit_once(':') {
        Some((file, line)) => format!("{}:{line}", run.display_path(file)),
        None => site.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, figure, patterns as fixture};

    #[test]
    fn patterns_text_snapshot() {
        let run = RunSummary::of(&testing::fixture());
        insta::assert_snapshot!(text(&fixture(), &run, None));
    }

    #[test]
    fn sites_go_under_a_table_too_wide_for_the_terminal() {
        let run = RunSummary::of(&testing::fixture());
        let natural = text(&fixture(), &run, None);
        // The ObjectPool table is 58 columns wide, 55 with its site cut as far as it goes.
        let narrow = text(&fixture(), &run, Some(50));
        assert!(
            narrow.contains("\n  Parser created at lib/work.py:3\n"),
            "{narrow}"
        );
        assert!(!natural.contains(" created at lib/"), "{natural}");
    }

    #[test]
    fn no_patterns_no_text() {
        let run = RunSummary::of(&testing::fixture());
        assert_eq!(text(&[], &run, None), "");
    }

    #[test]
    fn odd_figures_still_show() {
        assert_eq!(shown(&figure("n", Unit::Count, 2.5)), "2.5");
        assert_eq!(shown(&figure("n", Unit::Bytes, -1.0)), "-1");
        assert_eq!(shown(&figure("n", Unit::Ratio, 0.5)), "50.0 %");
    }
}
