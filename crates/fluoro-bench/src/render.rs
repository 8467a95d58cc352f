//! The report as text (a results table, the comparisons against the fastest, warnings) or
//! JSON.

use crate::analysis::{Comparison, Report};
use fluoro_render::{seconds, table};

/// The text report.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let level = format!("{:.0} % CI", report.confidence * 100.0);
    let with_interp = report.results.iter().any(|r| r.interpreter.is_some());
    let mut header = vec!["benchmark"];
    if with_interp {
        header.push("interpreter");
    }
    header.extend(["median", level.as_str(), "mean ± std", "MAD", "n"]);
    let mut numeric = vec![false];
    if with_interp {
        numeric.push(false);
    }
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
    out.push_str(&table(&header, &numeric, rows));
    out.push('\n');
    if !report.comparisons.is_empty() {
        out.push('\n');
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
        out.push_str(&table(
            &["benchmark", "vs fastest", "ratio", &level, "p", "verdict"],
            &[false, false, true, true, true, false],
            rows,
        ));
        out.push('\n');
    }
    let warnings: Vec<String> = report
        .results
        .iter()
        .flat_map(|r| {
            r.warnings
                .iter()
                .map(move |w| format!("  {}: {w}\n", r.name))
        })
        .collect();
    if !warnings.is_empty() {
        out.push_str("\nwarnings\n");
        out.extend(warnings);
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
}
