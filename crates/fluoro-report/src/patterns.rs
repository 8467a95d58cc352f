//! The "Patterns" section of the summary and the `patterns` list of the JSON export: the
//! statistics of the `fluoro.patterns` instances (pools, caches, lazy attributes) that were
//! alive when the run ended.

use crate::analysis::RunSummary;
use fluoro_profile::{Figure, PatternStats, SizeClassStats, Unit};
use fluoro_render::{bytes, percent, seconds, table};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// One table per kind of pattern, in the order kinds first appear, then the size classes of
/// each BufferPool. Empty when the run used no patterns.
pub(crate) fn text(patterns: &[PatternStats], run: &RunSummary) -> String {
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
        let rows = of_kind
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
        out.push_str(&table(&header, &numeric, rows));
        out.push('\n');
    }
    for p in patterns.iter().filter(|p| !p.size_classes.is_empty()) {
        let _ = writeln!(out, "\n{} {} by size class", p.kind, p.name);
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

/// `value` as a whole number, when it is one that fits.
fn whole(value: f64) -> Option<u64> {
    (value >= 0.0 && value.fract() == 0.0 && value < 2f64.powi(64)).then_some(value as u64)
}

/// `file:line` with the file shown as elsewhere in the report.
fn site(site: &str, run: &RunSummary) -> String {
    match site.rsplit_once(':') {
        Some((file, line)) => format!("{}:{line}", run.display_path(file)),
        None => site.to_string(),
    }
}

/// A pattern as the JSON export lists it.
#[derive(Serialize)]
pub(crate) struct PatternJson<'p> {
    kind: &'p str,
    name: &'p str,
    site: &'p str,
    /// Figure name → value: counts and bytes as integers, ratios and seconds as floats.
    stats: BTreeMap<&'p str, serde_json::Value>,
    /// BufferPool only.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    size_classes: &'p [SizeClassStats],
}

pub(crate) fn json(patterns: &[PatternStats]) -> Vec<PatternJson<'_>> {
    patterns
        .iter()
        .map(|p| PatternJson {
            kind: &p.kind,
            name: &p.name,
            site: &p.site,
            stats: p
                .figures
                .iter()
                .map(|f| {
                    let value = match (f.unit, whole(f.value)) {
                        (Unit::Count | Unit::Bytes, Some(n)) => n.into(),
                        _ => f.value.into(),
                    };
                    (f.name.as_str(), value)
                })
                .collect(),
            size_classes: &p.size_classes,
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing;

    fn figure(name: &str, unit: Unit, value: f64) -> Figure {
        Figure {
            name: name.into(),
            unit,
            value,
        }
    }

    /// A pool, a cache, a lazy attribute and a buffer pool, as a session would record them.
    pub(crate) fn fixture() -> Vec<PatternStats> {
        let pattern = |kind: &str, name: &str, site: &str, figures| PatternStats {
            kind: kind.into(),
            name: name.into(),
            site: site.into(),
            figures,
            size_classes: Vec::new(),
        };
        let pool = |name, created, reused, rate| {
            pattern(
                "ObjectPool",
                name,
                "/work/app/lib/work.py:3",
                vec![
                    figure("created", Unit::Count, created),
                    figure("reused", Unit::Count, reused),
                    figure("hit_rate", Unit::Ratio, rate),
                ],
            )
        };
        let mut buffers = pattern(
            "BufferPool",
            "frames",
            "/work/app/app.py:12",
            vec![figure("acquired", Unit::Count, 1000.0)],
        );
        buffers.size_classes = vec![
            SizeClassStats {
                size: 64,
                in_use: 0,
                free: 2,
                high_water: 2,
                acquired: 600,
                reused: 598,
                trimmed: 0,
                fragmentation: 0.125,
            },
            SizeClassStats {
                size: 4096,
                in_use: 1,
                free: 3,
                high_water: 4,
                acquired: 400,
                reused: 396,
                trimmed: 7,
                fragmentation: 0.0,
            },
        ];
        vec![
            pool("Parser", 4.0, 96.0, 0.96),
            pattern(
                "WeakValueCache",
                "load_image",
                "/elsewhere/cache.py:40",
                vec![
                    figure("hits", Unit::Count, 30.0),
                    figure("misses", Unit::Count, 10.0),
                    figure("hit_rate", Unit::Ratio, 0.75),
                ],
            ),
            pattern(
                "lazy",
                "Config.table",
                "/work/app/app.py:20",
                vec![
                    figure("loads", Unit::Count, 2.0),
                    figure("load_time", Unit::Seconds, 0.0125),
                    figure("bytes", Unit::Bytes, 3.0 * 1024.0 * 1024.0),
                ],
            ),
            pool("Socket", 2.0, 0.0, 0.0),
            buffers,
        ]
    }

    #[test]
    fn patterns_text_snapshot() {
        let run = RunSummary::of(&testing::fixture());
        insta::assert_snapshot!(text(&fixture(), &run));
    }

    #[test]
    fn no_patterns_no_text() {
        let run = RunSummary::of(&testing::fixture());
        assert_eq!(text(&[], &run), "");
    }

    #[test]
    fn json_keeps_counts_whole_and_ratios_fractional() {
        let v = serde_json::to_value(json(&fixture())).unwrap();
        assert_eq!(v[0]["stats"]["created"], 4);
        assert!(v[0]["stats"]["created"].is_u64());
        assert_eq!(v[0]["stats"]["hit_rate"], 0.96);
        assert_eq!(v[2]["stats"]["bytes"], 3 * 1024 * 1024);
        assert_eq!(v[2]["stats"]["load_time"], 0.0125);
        assert!(v[0].get("size_classes").is_none());
        assert_eq!(v[4]["size_classes"][1]["size"], 4096);
        assert_eq!(v[4]["size_classes"][1]["trimmed"], 7);
    }

    #[test]
    fn odd_figures_still_show() {
        assert_eq!(shown(&figure("n", Unit::Count, 2.5)), "2.5");
        assert_eq!(shown(&figure("n", Unit::Bytes, -1.0)), "-1");
        assert_eq!(shown(&figure("n", Unit::Ratio, 0.5)), "50.0 %");
    }
}
