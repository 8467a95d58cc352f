//! The report as text (a results table, the comparisons against the fastest, warnings) or
//! JSON.

use crate::analysis::{Comparison, Report};
use fluoro_render::escape::for_terminal;
use fluoro_render::{seconds, table};

/// A table: its header, which columns are numbers (right-aligned), and its rows.
struct Grid {
    header: Vec<String>,
    numeric: Vec<bool>,
    rows: Vec<Vec<String>>,
}

fn level(report: &Report) -> String {
    format!("{:.0} % CI", report.confidence * 100.0)
}

/// One row per benchmark.
fn results_grid(report: &Report) -> Grid {
    let with_interp = report.results.iter().any(|r| r.interpreter.is_some());
    let mut header = vec!["benchmark".to_owned()];
    let mut numeric = vec![false];
    if with_interp {
        header.push("interpreter".into());
        numeric.push(false);
    }
    header.extend([
        "median".into(),
        level(report),
        "mean ± std".into(),
        "MAD".into(),
        "n".into(),
    ]);
    numeric.extend([true, true, true, true, true]);
    let rows = report
        .results
        .iter()
        .map(|r| {
            let mut row = vec![r.name.clone()];
            if with_interp {
                row.push(
                    r.version
                        .clone()
                        .or_else(|| r.interpreter.clone())
                        .unwrap_or_default(),
                );
            }
            row.extend([
                seconds(r.median),
                format!("{} … {}", seconds(r.ci_low), seconds(r.ci_high)),
                format!("{} ± {}", seconds(r.mean), seconds(r.std)),
                seconds(r.mad),
                r.n.to_string(),
            ]);
            row
        })
        .collect();
    Grid {
        header,
        numeric,
        rows,
    }
}

/// One row per comparison against the fastest.
fn comparisons_grid(report: &Report) -> Grid {
    let rows = report
        .comparisons
        .iter()
        .map(|c| {
            vec![
                c.a.clone(),
                c.b.clone(),
                format!("{:.3}×", c.ratio),
                format!("{:.3}× … {:.3}×", c.ci_low, c.ci_high),
                p_value(c.p_value),
                verdict(c),
            ]
        })
        .collect();
    Grid {
        header: ["benchmark", "vs fastest", "ratio"]
            .map(String::from)
            .into_iter()
            .chain([level(report), "p".into(), "verdict".into()])
            .collect(),
        numeric: vec![false, false, true, true, true, false],
        rows,
    }
}

/// `name: warning` for every warning of every benchmark.
fn warnings(report: &Report) -> Vec<String> {
    report
        .results
        .iter()
        .flat_map(|r| r.warnings.iter().map(move |w| format!("{}: {w}", r.name)))
        .collect()
}

/// The text report.
pub fn render_text(report: &Report) -> String {
    let terminal = |g: Grid| {
        let header: Vec<&str> = g.header.iter().map(String::as_str).collect();
        table(&header, &g.numeric, g.rows) + "\n"
    };
    let mut out = terminal(results_grid(report));
    if !report.comparisons.is_empty() {
        out.push('\n');
        out.push_str(&terminal(comparisons_grid(report)));
    }
    let warnings = warnings(report);
    if !warnings.is_empty() {
        out.push_str("\nwarnings\n");
        for w in warnings {
            out.push_str(&format!("  {}\n", for_terminal(&w)));
        }
    }
    out
}

/// The report as Markdown tables (`--export-markdown`), for pasting into an issue or a PR.
pub fn render_markdown(report: &Report) -> String {
    let markdown = |g: Grid| {
        // A row is one line: control characters escaped, pipes as Markdown escapes them.
        let cell = |s: &str| for_terminal(s).replace('|', "\\|");
        let mut out = format!(
            "| {} |\n|{}\n",
            g.header
                .iter()
                .map(|h| cell(h))
                .collect::<Vec<_>>()
                .join(" | "),
            g.numeric
                .iter()
                .map(|&n| if n { "---:|" } else { ":---|" })
                .collect::<String>()
        );
        for row in g.rows {
            let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out
    };
    let mut out = markdown(results_grid(report));
    if !report.comparisons.is_empty() {
        out.push('\n');
        out.push_str(&markdown(comparisons_grid(report)));
    }
    let warnings = warnings(report);
    if !warnings.is_empty() {
        out.push('\n');
        for w in warnings {
            out.push_str(&format!("- {}\n", for_terminal(&w).replace('|', "\\|")));
        }
    }
    out
}

/// The comparison in words.
pub fn verdict(c: &Comparison) -> String {
    if !c.significant {
        "no significant difference".to_owned()
    } else if c.ratio >= 1.0 {
        "significantly slower".to_owned()
    } else {
        "significantly faster".to_owned()
    }
}

fn p_value(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// The report as pretty JSON with a final newline.
pub fn render_json(report: &Report) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(report).map(|s| s + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{analyze, Sample};
    use crate::bootstrap::Bootstrap;

    fn samples() -> Vec<Sample> {
        let make = |name: &str, base: f64, spread: f64| Sample {
            name: name.into(),
            command: Some(format!("sleep {base}")),
            values: (0..20)
                .map(|i| base * (1.0 + spread * ((i * 37) % 11) as f64 / 10.0))
                .collect(),
            loops: 1,
            ..Sample::default()
        };
        vec![
            make("fast", 0.1, 0.01),
            make("slow", 0.2, 0.01),
            make("same", 0.1005, 0.01),
        ]
    }

    #[test]
    fn text_report() {
        let report = analyze(&samples(), &Bootstrap::default());
        insta::assert_snapshot!(render_text(&report));
    }

    #[test]
    fn json_report_keys() {
        let mut report = analyze(&samples()[..2], &Bootstrap::default());
        for r in &mut report.results {
            r.values.truncate(2);
        }
        insta::assert_snapshot!(render_json(&report).unwrap());
    }

    #[test]
    fn interpreter_column_and_warnings() {
        let mut s = samples();
        for (x, interp) in s.iter_mut().zip(["3.11", "pypy3", "3.13"]) {
            x.command = None;
            x.statement = Some("sum(range(100))".into());
            x.interpreter = Some(interp.into());
            x.loops = 1000;
        }
        s[2].notes.push("precision not reached".into());
        insta::assert_snapshot!(render_text(&analyze(&s, &Bootstrap::default())));
    }

    #[test]
    fn markdown_report() {
        let mut s = samples();
        s[0].name = "grep 'a|b' x".into();
        s[2].notes.push("precision not reached".into());
        insta::assert_snapshot!(render_markdown(&analyze(&s, &Bootstrap::default())));
    }
}
