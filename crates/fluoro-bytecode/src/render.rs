//! The text renderers of `fluoro dis`: a dis-like listing per code object under its summary,
//! and per-package opcode histograms.

use crate::report::{CodeReport, Histogram, StatsReport};
use fluoro_render::escape::for_terminal;
use std::fmt::Write;

/// The listing of every code object, in order.
pub fn render_text(reports: &[CodeReport]) -> String {
    let mut out = String::new();
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        code_object(&mut out, r);
    }
    out
}

fn code_object(out: &mut String, r: &CodeReport) {
    let _ = writeln!(
        out,
        "{} — {}, line {}",
        for_terminal(&r.qualname),
        for_terminal(&r.filename),
        r.firstlineno
    );
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(", ")
        }
    };
    out.push_str(&fluoro_render::fields(&[
        (
            "arguments",
            format!(
                "{} ({} positional-only, {} keyword-only)",
                r.argcount, r.posonlyargcount, r.kwonlyargcount
            ),
        ),
        ("locals", r.nlocals.to_string()),
        ("stack size", r.stacksize.to_string()),
        ("flags", list(&r.flags)),
        ("consts", list(&r.consts)),
        ("names", list(&r.names)),
        ("varnames", list(&r.varnames)),
        ("freevars", list(&r.freevars)),
        ("cellvars", list(&r.cellvars)),
    ]));
    out.push('\n');
    let targets: std::collections::HashSet<u32> = r
        .instructions
        .iter()
        .filter_map(|i| i.jump_target)
        .collect();
    let mut last_line = None;
    for ins in &r.instructions {
        let line = match ins.line {
            Some(l) if Some(l) != last_line => format!("{l:>5}"),
            _ => String::new(),
        };
        if ins.line.is_some() {
            last_line = ins.line;
        }
        let marker = if targets.contains(&ins.offset) {
            ">>"
        } else {
            "  "
        };
        let arg = ins.arg.map(|a| a.to_string()).unwrap_or_default();
        let mut row = format!(
            "{line:>5} {marker} {:>5} {:<28} {arg:>5}",
            ins.offset, ins.opname
        );
        if !ins.argrepr.is_empty() {
            let _ = write!(row, " ({})", for_terminal(&ins.argrepr));
        }
        out.push_str(row.trim_end());
        out.push('\n');
    }
    if !r.exception_table.is_empty() {
        out.push_str("\n  exception table\n");
        for e in &r.exception_table {
            let _ = writeln!(
                out,
                "    {} to {} -> {} [{}]{}",
                e.start,
                e.end,
                e.target,
                e.depth,
                if e.lasti { " lasti" } else { "" }
            );
        }
    }
    out.push('\n');
    out.push_str(&histogram_table(&r.histogram, 8));
}

/// The `top` most frequent opcodes with counts and shares.
fn histogram_table(h: &Histogram, top: usize) -> String {
    let total: u64 = h.values().sum();
    let mut rows: Vec<(&String, &u64)> = h.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let rows = rows
        .into_iter()
        .take(top)
        .map(|(name, n)| {
            vec![
                name.clone(),
                n.to_string(),
                fluoro_render::percent(*n as f64 / total.max(1) as f64),
            ]
        })
        .collect();
    let mut t = fluoro_render::table(&["opcode", "count", "share"], &[false, true, true], rows);
    t.push('\n');
    t
}

/// `fluoro dis --stats`: totals, the whole histogram, then each package's top opcodes.
pub fn render_stats(stats: &StatsReport) -> String {
    let mut out = format!(
        "{} files, {} code objects, {} instructions\n\n",
        stats.files, stats.code_objects, stats.instructions
    );
    out.push_str(&histogram_table(&stats.total, 30));
    for (package, h) in &stats.packages {
        let n: u64 = h.values().sum();
        let _ = write!(out, "\n{} ({n} instructions)\n", for_terminal(package));
        out.push_str(&histogram_table(h, 5));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{ExceptionEntry, Instruction};

    fn ins(
        offset: u32,
        opname: &'static str,
        arg: Option<i64>,
        argrepr: &str,
        line: u32,
    ) -> Instruction {
        Instruction {
            offset,
            opname: opname.into(),
            opcode: 0,
            base: 0,
            arg,
            argrepr: argrepr.into(),
            line: Some(line),
            jump_target: argrepr.strip_prefix("to ").and_then(|t| t.parse().ok()),
        }
    }

    fn sample() -> CodeReport {
        let instructions = vec![
            ins(0, "RESUME", Some(0), "", 1),
            ins(2, "LOAD_FAST", Some(0), "x", 2),
            ins(4, "POP_JUMP_IF_FALSE", Some(2), "to 10", 2),
            ins(6, "LOAD_CONST", Some(1), "'yes'", 3),
            ins(8, "RETURN_VALUE", None, "", 3),
            ins(10, "LOAD_CONST", Some(0), "None", 4),
            ins(12, "RETURN_VALUE", None, "", 4),
        ];
        let mut histogram = Histogram::new();
        for i in &instructions {
            *histogram.entry(i.opname.to_string()).or_default() += 1;
        }
        CodeReport {
            qualname: "f".into(),
            name: "f".into(),
            filename: "m.py".into(),
            firstlineno: 1,
            argcount: 1,
            posonlyargcount: 0,
            kwonlyargcount: 0,
            nlocals: 1,
            stacksize: 1,
            flags: vec!["OPTIMIZED".into(), "NEWLOCALS".into()],
            consts: vec!["None".into(), "'yes'".into()],
            names: vec![],
            varnames: vec!["x".into()],
            freevars: vec![],
            cellvars: vec![],
            instructions,
            exception_table: vec![ExceptionEntry {
                start: 2,
                end: 8,
                target: 10,
                depth: 0,
                lasti: true,
            }],
            histogram,
        }
    }

    #[test]
    fn hostile_names_in_a_pyc_are_shown_escaped() {
        let mut code = sample();
        code.qualname = "f\x1b]0;pwned\x07".into();
        code.filename = "a\nb.py".into();
        code.names = vec!["\x1b[2J".into()];
        code.instructions[0].argrepr = "\u{202e}x".into();
        let text = render_text(&[code]);
        assert!(
            !text
                .chars()
                .any(|c| c != '\n' && (c.is_control() || c == '\u{202e}')),
            "{text:?}"
        );
        assert!(
            text.starts_with("f\\x1b]0;pwned\\x07 — a\\nb.py, line"),
            "{text}"
        );
        assert_eq!(
            text.lines().count(),
            render_text(&[sample()]).lines().count()
        );
    }

    #[test]
    fn listing() {
        insta::assert_snapshot!(render_text(&[sample()]));
    }

    #[test]
    fn stats() {
        let mut stats = StatsReport::default();
        stats.add("pkg", &[sample()]);
        stats.add("pkg.sub", &[sample()]);
        insta::assert_snapshot!(render_stats(&stats));
    }
}
