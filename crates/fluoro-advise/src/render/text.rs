//! `path:line:col: FLU101 message` lines, then a summary, as ruff prints them.

use crate::files::Advice;
use crate::rank::COLD_SHARE;
use fluoro_render::escape::for_terminal;
use std::fmt::Write;

fn duration(ns: u64) -> String {
    let s = ns as f64 / 1e9;
    if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{:.1} ms", s * 1e3)
    }
}

/// The text report; `ranked_by` names the metric when findings carry measured costs.
pub fn render_text(advice: &Advice, ranked_by: Option<&str>) -> String {
    let mut out = String::new();
    for d in &advice.diagnostics {
        let fixable = if d.fix.is_some() { "[*] " } else { "" };
        let _ = write!(
            out,
            "{}:{}:{}: {} {fixable}{}",
            for_terminal(&d.path),
            d.line,
            d.col,
            d.code,
            for_terminal(&d.message)
        );
        if let Some(cost) = d.cost {
            if cost.cold {
                let _ = write!(out, "  [cold: {:.1} %]", cost.share * 100.0);
            } else {
                let _ = write!(
                    out,
                    "  [{:.1} % · {}",
                    cost.share * 100.0,
                    duration(cost.ns)
                );
                if cost.bytes > 0 {
                    let _ = write!(
                        out,
                        " · {:.1} % of allocations, {}",
                        cost.bytes_share * 100.0,
                        fluoro_render::bytes(cost.bytes)
                    );
                }
                out.push(']');
            }
        }
        out.push('\n');
    }
    let n = advice.diagnostics.len();
    let fixable = advice
        .diagnostics
        .iter()
        .filter(|d| d.fix.is_some())
        .count();
    let unparsed = advice.syntax_errors.len();
    let files = advice.files - unparsed.min(advice.files);
    let file_word = if files == 1 { "file" } else { "files" };
    if unparsed > 0 {
        let s = if unparsed == 1 { "" } else { "s" };
        let _ = writeln!(
            out,
            "{unparsed} file{s} not advised: syntax error{s} (shown above)."
        );
    }
    if n == 0 {
        let _ = writeln!(out, "No findings in {files} {file_word}.");
    } else {
        let s = if n == 1 { "" } else { "s" };
        let _ = write!(out, "Found {n} finding{s} in {files} {file_word}");
        if fixable > 0 {
            let _ = write!(out, " ({fixable} fixable with --fix)");
        }
        out.push_str(".\n");
    }
    if let Some(metric) = ranked_by {
        let cold = advice
            .diagnostics
            .iter()
            .filter(|d| d.cost.is_some_and(|c| c.cold))
            .count();
        let _ = writeln!(
            out,
            "Ranked by measured {metric} time of the lines each finding covers; {cold} cold (under {:.0} % of the run).",
            COLD_SHARE * 100.0
        );
    }
    if advice.fixed > 0 {
        let s = if advice.fixed == 1 { "" } else { "s" };
        let _ = writeln!(
            out,
            "Applied {} fix{}.",
            advice.fixed,
            if s.is_empty() { "" } else { "es" }
        );
    }
    out
}
