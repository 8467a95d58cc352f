//! `fluoro dis --adaptive`: which instructions of a run's code objects the adaptive
//! interpreter (3.11+) specialized and which stayed in their adaptive form, with the reason
//! the opcode evidence supports.
//!
//! The interpreter does not keep history: an instruction that deoptimized too often is put
//! back in its adaptive form, so "adaptive" covers warming up, failed and deoptimized alike.

use crate::opcodes::OpcodeTable;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// A code object after the run, as `dis.get_instructions(code, adaptive=True)` shows it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct RunCode {
    pub qualname: String,
    pub file: String,
    pub firstlineno: i64,
    /// `(offset, opname, line, argrepr)`.
    pub instructions: Vec<(u32, String, Option<i64>, String)>,
    /// `(line, samples)`: how often the run was found on each line of this code (innermost
    /// of the script's frames), the measure of how often its instructions ran.
    #[serde(default)]
    pub line_samples: Vec<(i64, u64)>,
}

/// What the adaptive interpreter made of one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Replaced by a type-specialized variant.
    Specialized,
    /// Its family has specialized variants, but it is in the generic, adaptive form.
    Adaptive,
}

/// One instruction of a family the interpreter specializes.
#[derive(Debug, Clone, Serialize)]
pub struct AdaptiveInstruction {
    pub offset: u32,
    pub opname: String,
    pub base: String,
    pub class: Class,
    pub argrepr: String,
    /// Why it stayed adaptive, as far as the opcode tells (adaptive ones only).
    pub reason: Option<String>,
    /// The family's typed variants (adaptive ones only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<String>,
}

/// The specializable instructions of one source line.
#[derive(Debug, Clone, Serialize)]
pub struct AdaptiveLine {
    pub line: Option<i64>,
    /// Samples of the run on this line: how often its instructions ran, relatively.
    pub samples: u64,
    pub instructions: Vec<AdaptiveInstruction>,
}

/// One code object's specialization state.
#[derive(Debug, Clone, Serialize)]
pub struct AdaptiveCode {
    pub qualname: String,
    pub file: String,
    pub firstlineno: i64,
    pub specialized: usize,
    pub adaptive: usize,
    /// Samples of the run in this code (its lines' sum).
    pub samples: u64,
    /// Instructions in a quickened form (specialized, or 3.11's `*_ADAPTIVE`/`*_QUICK`, or a
    /// superinstruction): zero when the interpreter never warmed the code up.
    #[serde(skip)]
    pub quickened: usize,
    pub lines: Vec<AdaptiveLine>,
}

/// The report of `fluoro dis --adaptive --run`.
#[derive(Debug, Clone, Serialize)]
pub struct AdaptiveReport {
    pub python: String,
    /// Code objects the interpreter quickened, most specializable instructions first.
    pub functions: Vec<AdaptiveCode>,
}

/// Whether `name` is a quickened form that checks no types (superinstructions, `*_QUICK`,
/// `RESUME_CHECK`), or 3.11's adaptive form (`*_ADAPTIVE`): neither is a specialization.
fn untyped(name: &str) -> bool {
    name.contains("__")
        || name.ends_with("_QUICK")
        || name.ends_with("_ADAPTIVE")
        || name == "RESUME_CHECK"
}

/// A live code object's run-time view from its marshalled form (`marshal.dumps(code)`) and its
/// quickened bytes (`code._co_code_adaptive`, 3.11+): each instruction's line and argument as
/// `dis` shows them, under the name of the opcode the adaptive interpreter put in its place.
pub fn run_code(
    table: &OpcodeTable,
    marshalled: &[u8],
    adaptive: &[u8],
) -> Result<RunCode, crate::MarshalError> {
    let code = crate::load_code(marshalled, table)?;
    let instructions = crate::instructions(&code, &code.code, table)
        .into_iter()
        .map(|ins| {
            let opname = adaptive
                .get(ins.offset as usize)
                .map(|&op| table.name(op).into_owned())
                .unwrap_or_else(|| ins.opname.to_string());
            (ins.offset, opname, ins.line.map(i64::from), ins.argrepr)
        })
        .collect();
    Ok(RunCode {
        qualname: code.qualname.to_string(),
        file: code.filename.to_string(),
        firstlineno: i64::from(code.firstlineno),
        instructions,
        line_samples: Vec::new(),
    })
}

/// Classifies `opname` in `table`: `None` when its family has no typed specializations.
pub fn classify(table: &OpcodeTable, opname: &str) -> Option<(Class, &'static str)> {
    let index = table.ops.iter().position(|o| o.name == opname)?;
    let base_code = table.ops[index].base;
    let base = table.op(base_code).name;
    if !table.family(base_code).any(|n| !untyped(n)) {
        return None;
    }
    if opname == base || untyped(opname) {
        Some((Class::Adaptive, base))
    } else {
        Some((Class::Specialized, base))
    }
}

/// The typed variants of family `base`, without the family prefix (`ADD_INT`, ...).
pub fn variants(table: &OpcodeTable, base: &str) -> Vec<String> {
    let Some(b) = table.ops.iter().position(|o| o.name == base) else {
        return Vec::new();
    };
    table
        .family(b as u8)
        .filter(|n| !untyped(n))
        .map(|n| {
            n.strip_prefix(base)
                .unwrap_or(n)
                .trim_start_matches('_')
                .to_owned()
        })
        .collect()
}

/// Why an instruction of family `base` is adaptive, as far as the opcode and its operator
/// tell: the interpreter keeps no record of the types it saw. `cold`: its line was never
/// sampled, so it may simply not have run enough to specialize; said only then.
pub fn reason(base: &str, argrepr: &str, cold: bool) -> String {
    let why = evidence(base, argrepr);
    if cold {
        format!("{why}; or, never sampled, it ran too few times to specialize")
    } else {
        why
    }
}

/// What the opcode and its operator say about a failed specialization.
fn evidence(base: &str, argrepr: &str) -> String {
    match (base, argrepr) {
        ("BINARY_OP", "+" | "+=") => {
            "operands were not both int, both float or both str (e.g. int/float mixing)".to_owned()
        }
        ("BINARY_OP", "-" | "-=" | "*" | "*=") => {
            "operands were not both int or both float (e.g. int/float mixing)".to_owned()
        }
        ("BINARY_OP", op) => format!("no specialization exists for '{op}'"),
        ("COMPARE_OP", _) => {
            "operands were not a same-type pair a variant covers (e.g. int/float mixing)".to_owned()
        }
        ("LOAD_ATTR" | "STORE_ATTR" | "LOAD_METHOD", _) => {
            "attribute access not specialized (polymorphic types or unsupported descriptor)"
                .to_owned()
        }
        ("LOAD_GLOBAL", _) => {
            "globals/builtins changed (dict version) or the name is not a plain global".to_owned()
        }
        _ => "specialization failed or was undone (deoptimized)".to_owned(),
    }
}

/// Classifies every instruction of the run's code objects; keeps those with a quickened
/// instruction, the most sampled first (then most specializable instructions first), at most
/// `top` functions of at most `top` lines each, the most sampled lines first.
pub fn analyze(table: &OpcodeTable, python: &str, codes: &[RunCode], top: usize) -> AdaptiveReport {
    let mut report = AdaptiveReport {
        python: python.to_owned(),
        functions: quickened(table, codes, top).collect(),
    };
    report.functions.sort_by(|a, b| {
        b.samples
            .cmp(&a.samples)
            .then((b.specialized + b.adaptive).cmp(&(a.specialized + a.adaptive)))
            .then(b.specialized.cmp(&a.specialized))
            .then(a.firstlineno.cmp(&b.firstlineno))
    });
    report.functions.truncate(top);
    report
}

/// [`analyze`], keeping the order `codes` come in (hottest first, from a profile).
pub fn analyze_in_order(
    table: &OpcodeTable,
    python: &str,
    codes: &[RunCode],
    top: usize,
) -> AdaptiveReport {
    AdaptiveReport {
        python: python.to_owned(),
        functions: quickened(table, codes, top).take(top).collect(),
    }
}

/// The code objects with a quickened instruction, each with its `lines` most sampled lines.
fn quickened<'a>(
    table: &'a OpcodeTable,
    codes: &'a [RunCode],
    lines: usize,
) -> impl Iterator<Item = AdaptiveCode> + 'a {
    codes
        .iter()
        .map(move |code| analyze_code(table, code, lines))
        .filter(|c| c.quickened > 0)
}

/// One code object's specializable instructions by line, the `top` most sampled lines.
fn analyze_code(table: &OpcodeTable, code: &RunCode, top: usize) -> AdaptiveCode {
    let samples_of = |line: Option<i64>| {
        line.map_or(0, |l| {
            code.line_samples
                .iter()
                .filter(|(at, _)| *at == l)
                .map(|(_, n)| n)
                .sum()
        })
    };
    let sampled = code.line_samples.iter().any(|(_, n)| *n > 0);
    let mut lines: Vec<AdaptiveLine> = Vec::new();
    let (mut specialized, mut adaptive, mut quickened) = (0, 0, 0);
    for (offset, opname, line, argrepr) in &code.instructions {
        if let Some(op) = table.ops.iter().find(|o| o.name == opname) {
            quickened += usize::from(table.op(op.base).name != op.name);
        }
        let Some((class, base)) = classify(table, opname) else {
            continue;
        };
        match class {
            Class::Specialized => specialized += 1,
            Class::Adaptive => adaptive += 1,
        }
        let entry = AdaptiveInstruction {
            offset: *offset,
            opname: opname.clone(),
            base: base.to_owned(),
            class,
            argrepr: argrepr.clone(),
            reason: (class == Class::Adaptive)
                .then(|| reason(base, argrepr, sampled && samples_of(*line) == 0)),
            variants: match class {
                Class::Adaptive => variants(table, base),
                Class::Specialized => Vec::new(),
            },
        };
        match lines.last_mut() {
            Some(last) if last.line == *line => last.instructions.push(entry),
            _ => lines.push(AdaptiveLine {
                line: *line,
                samples: samples_of(*line),
                instructions: vec![entry],
            }),
        }
    }
    // A line the loop split (a jump back into it) is one line.
    let mut merged: Vec<AdaptiveLine> = Vec::new();
    for line in lines {
        match merged.iter_mut().find(|m| m.line == line.line) {
            Some(m) => m.instructions.extend(line.instructions),
            None => merged.push(line),
        }
    }
    let mut lines = merged;
    lines.sort_by(|a, b| b.samples.cmp(&a.samples).then(a.line.cmp(&b.line)));
    lines.truncate(top);
    AdaptiveCode {
        qualname: code.qualname.clone(),
        file: code.file.clone(),
        firstlineno: code.firstlineno,
        specialized,
        adaptive,
        samples: code.line_samples.iter().map(|(_, n)| n).sum(),
        quickened,
        lines,
    }
}

/// The text of `fluoro dis --adaptive`: per function, per line, each specializable
/// instruction; `source` gives a file's lines for the listing.
pub fn render_adaptive(report: &AdaptiveReport, source: &dyn Fn(&str) -> Vec<String>) -> String {
    let mut out = String::new();
    if report.functions.is_empty() {
        let _ = writeln!(
            out,
            "no code object of the script ran often enough to be quickened"
        );
        return out;
    }
    let _ = writeln!(
        out,
        "(adaptive: the generic form; the interpreter keeps no history, so one that \
         specialized and was undone shows so too)\n"
    );
    for code in &report.functions {
        let text = source(&code.file);
        let sampled = if code.samples > 0 {
            format!("{} samples, ", code.samples)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{} ({}:{}): {sampled}{} specialized, {} adaptive",
            code.qualname, code.file, code.firstlineno, code.specialized, code.adaptive
        );
        for line in &code.lines {
            let src = line
                .line
                .and_then(|n| text.get(usize::try_from(n).ok()?.checked_sub(1)?))
                .map(|s| s.trim())
                .unwrap_or("");
            let number = line.line.map(|n| n.to_string()).unwrap_or_default();
            let samples = if code.samples > 0 {
                format!("{:>7}  ", line.samples)
            } else {
                String::new()
            };
            let row = format!("  {number:>5}  {samples}{src}");
            let _ = writeln!(out, "{}", row.trim_end());
            for i in &line.instructions {
                let arg = if i.argrepr.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", i.argrepr)
                };
                match &i.reason {
                    None => {
                        let _ = writeln!(out, "         specialized  {}{arg}", i.opname);
                    }
                    Some(r) => {
                        let _ = writeln!(out, "         adaptive     {}{arg}: {r}", i.opname);
                    }
                }
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(qualname: &str, lines: &[(i64, u64)]) -> RunCode {
        RunCode {
            qualname: qualname.into(),
            file: "app.py".into(),
            firstlineno: 1,
            instructions: lines
                .iter()
                .enumerate()
                .flat_map(|(i, &(line, _))| {
                    let at = 4 * i as u32;
                    [
                        (
                            at,
                            "BINARY_OP_ADD_INT".to_owned(),
                            Some(line),
                            "+".to_owned(),
                        ),
                        (at + 2, "BINARY_OP".to_owned(), Some(line), "+".to_owned()),
                    ]
                })
                .collect(),
            line_samples: lines.to_vec(),
        }
    }

    #[test]
    fn the_most_sampled_come_first_and_top_limits_both() {
        let t12 = OpcodeTable::for_version(3, 12).unwrap();
        let codes = [
            run("cold", &[(1, 1), (2, 0)]),
            run("hot", &[(10, 5), (11, 90), (12, 0), (13, 40)]),
        ];
        let report = analyze(t12, "3.12", &codes, 2);
        let names: Vec<&str> = report
            .functions
            .iter()
            .map(|f| f.qualname.as_str())
            .collect();
        assert_eq!(names, ["hot", "cold"]);
        let hot: Vec<(Option<i64>, u64)> = report.functions[0]
            .lines
            .iter()
            .map(|l| (l.line, l.samples))
            .collect();
        assert_eq!(hot, [(Some(11), 90), (Some(13), 40)]);
        let cold = &report.functions[1].lines[1];
        let reason = cold.instructions[1].reason.as_deref().unwrap();
        assert!(reason.contains("never sampled"), "{reason}");
        let hot_reason = report.functions[0].lines[0].instructions[1]
            .reason
            .as_deref();
        assert!(!hot_reason.unwrap().contains("too few"));
        let text = render_adaptive(&report, &|_| Vec::new());
        // The note, then per function its heading, two lines of three rows and a blank.
        assert_eq!(text.lines().count(), 2 + 2 * (1 + 2 * 3 + 1), "{text}");
    }

    #[test]
    fn classifies_per_version() {
        let t11 = OpcodeTable::for_version(3, 11).unwrap();
        let t12 = OpcodeTable::for_version(3, 12).unwrap();
        assert_eq!(
            classify(t12, "BINARY_OP_ADD_INT"),
            Some((Class::Specialized, "BINARY_OP"))
        );
        assert_eq!(
            classify(t12, "BINARY_OP"),
            Some((Class::Adaptive, "BINARY_OP"))
        );
        assert_eq!(
            classify(t11, "BINARY_OP_ADAPTIVE"),
            Some((Class::Adaptive, "BINARY_OP"))
        );
        assert_eq!(classify(t12, "LOAD_FAST__LOAD_FAST"), None);
        assert_eq!(classify(t11, "JUMP_BACKWARD_QUICK"), None);
        assert_eq!(classify(t12, "POP_TOP"), None);
        assert!(reason("BINARY_OP", "+", false).contains("int/float mixing"));
        assert!(!reason("BINARY_OP", "+", false).contains("too few"));
        assert!(reason("BINARY_OP", "+", true).contains("too few times"));
        assert!(reason("BINARY_OP", "+", true).contains("int/float mixing"));
        assert_eq!(
            reason("BINARY_OP", "/", false),
            "no specialization exists for '/'"
        );
        assert!(variants(t12, "BINARY_OP").contains(&"ADD_INT".to_owned()));
        assert!(!variants(t11, "BINARY_OP").contains(&"ADAPTIVE".to_owned()));
    }
}
