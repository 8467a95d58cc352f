//! The instruction decoder: a code object's bytes to instructions with offsets, lines,
//! resolved arguments and jump targets, as `dis.get_instructions` gives them.

use crate::marshal::{Code, Obj};
use crate::opcodes::{ArgKind, OpcodeTable};
use crate::repr::repr;
use fluoro_profile::linetable::{spans_310, spans_311, LineSpan};
use serde::Serialize;

/// One instruction (inline caches are not instructions).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Instruction {
    pub offset: u32,
    pub opname: std::borrow::Cow<'static, str>,
    #[serde(skip)]
    pub opcode: u8,
    /// The base opcode this one specializes (itself when it is not specialized).
    #[serde(skip)]
    pub base: u8,
    pub arg: Option<i64>,
    pub argrepr: String,
    /// The instruction's line (`None`: it has none), as 3.13's `Instruction.line_number`.
    pub line: Option<u32>,
    /// Where the instruction jumps, for jumps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jump_target: Option<u32>,
}

/// One entry of the exception table (3.11+): exceptions raised in `start..end` go to `target`
/// with the value stack cut to `depth`, pushing the raising offset first when `lasti`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct ExceptionEntry {
    pub start: u32,
    pub end: u32,
    pub target: u32,
    pub depth: u32,
    pub lasti: bool,
}

/// The line of each byte range of `code`.
pub fn line_spans(code: &Code, table: &OpcodeTable) -> Vec<LineSpan> {
    let first = code.firstlineno.max(0) as u32;
    if table.version >= (3, 11) {
        spans_311(&code.linetable, first)
    } else {
        spans_310(&code.linetable, first)
    }
}

/// Decodes `bytes` (normally `code.code`; the adaptive copy when showing specialization).
pub fn instructions(code: &Code, bytes: &[u8], table: &OpcodeTable) -> Vec<Instruction> {
    let spans = line_spans(code, table);
    let mut span_at = 0usize;
    let mut out = Vec::with_capacity(bytes.len() / 2);
    let mut extended: i64 = 0;
    let mut skip = 0u32;
    let mut offset = 0usize;
    while offset + 1 < bytes.len() {
        let here = offset;
        offset += 2;
        if skip > 0 {
            skip -= 1;
            continue;
        }
        let opcode = bytes[here];
        let op = table.op(opcode);
        let base_op = table.op(op.base);
        skip = u32::from(base_op.caches);
        let arg = if base_op.kind == ArgKind::NoArg {
            extended = 0;
            None
        } else {
            let arg = i64::from(bytes[here + 1]) | extended;
            extended = if op.base == table.extended_arg {
                // `dis` keeps the argument as a signed 32-bit int.
                let e = arg << 8;
                if e >= 1 << 31 {
                    e - (1 << 32)
                } else {
                    e
                }
            } else {
                0
            };
            Some(arg)
        };
        while span_at < spans.len() && spans[span_at].end as usize <= here {
            span_at += 1;
        }
        let line = spans
            .get(span_at)
            .filter(|s| s.start as usize <= here)
            .and_then(|s| s.line);
        let mut ins = Instruction {
            offset: here as u32,
            opname: table.name(opcode),
            opcode,
            base: op.base,
            arg,
            argrepr: String::new(),
            line,
            jump_target: None,
        };
        if let Some(arg) = arg {
            resolve(&mut ins, arg, base_op.kind, base_op.caches, code, table);
        }
        out.push(ins);
    }
    if table.jump_labels {
        label_jumps(&mut out, table);
    }
    out
}

/// Fills in `argrepr` (and the jump target) from the argument, as `dis` of this version does.
fn resolve(
    ins: &mut Instruction,
    arg: i64,
    kind: ArgKind,
    caches: u8,
    code: &Code,
    table: &OpcodeTable,
) {
    let index = |i: i64| usize::try_from(i).ok();
    let name = |i: i64| -> String {
        index(i)
            .and_then(|i| code.names.get(i))
            .map(|n| n.to_string())
            .unwrap_or_default()
    };
    let local = |i: i64| -> String {
        index(i)
            .and_then(|i| code.localsplus.get(i))
            .map(|n| n.to_string())
            .unwrap_or_default()
    };
    let new_style = table.version >= (3, 13);
    let with_flag = |text: String, flag: &str| -> String {
        if text.is_empty() {
            text
        } else if new_style {
            format!("{text} + {flag}")
        } else {
            format!("{flag} + {text}")
        }
    };
    ins.argrepr = match kind {
        ArgKind::NoArg | ArgKind::Plain => String::new(),
        ArgKind::Const => index(arg)
            .and_then(|i| code.consts.get(i))
            .map(|c| repr(c, table))
            .unwrap_or_default(),
        ArgKind::Name => name(arg),
        ArgKind::GlobalName if arg & 1 != 0 => with_flag(name(arg >> 1), "NULL"),
        ArgKind::GlobalName => name(arg >> 1),
        ArgKind::AttrName if arg & 1 != 0 => with_flag(name(arg >> 1), "NULL|self"),
        ArgKind::AttrName => name(arg >> 1),
        ArgKind::SuperAttrName if arg & 1 != 0 => with_flag(name(arg >> 2), "NULL|self"),
        ArgKind::SuperAttrName => name(arg >> 2),
        ArgKind::ImportName if arg & 1 != 0 => with_flag(name(arg >> 2), "lazy"),
        ArgKind::ImportName if arg & 2 != 0 => with_flag(name(arg >> 2), "eager"),
        ArgKind::ImportName => name(arg >> 2),
        ArgKind::JumpAbsolute
        | ArgKind::JumpForward
        | ArgKind::JumpBackward
        | ArgKind::EndAsyncFor => {
            let next = i64::from(ins.offset)
                + 2
                + if table.jumps_skip_caches {
                    2 * i64::from(caches)
                } else {
                    0
                };
            let target = match kind {
                ArgKind::JumpAbsolute => arg * 2,
                ArgKind::JumpForward => next + arg * 2,
                _ => next - arg * 2,
            };
            ins.jump_target = u32::try_from(target).ok();
            format!("{} {target}", jump_preposition(kind))
        }
        ArgKind::Local if table.version < (3, 11) => index(arg)
            .and_then(|i| code.varnames.get(i))
            .map(|n| n.to_string())
            .unwrap_or_default(),
        ArgKind::Local => local(arg),
        ArgKind::LocalPair => format!("{}, {}", local(arg >> 4), local(arg & 15)),
        ArgKind::Free => local(arg + code.varnames.len() as i64),
        ArgKind::Compare => {
            let op = index(arg >> table.cmp_shift)
                .and_then(|i| table.cmp_ops.get(i))
                .copied()
                .unwrap_or_default();
            if new_style && arg & 16 != 0 {
                format!("bool({op})")
            } else {
                op.to_owned()
            }
        }
        ArgKind::FormatValue => {
            let mut text = CONVERSIONS[(arg & 3) as usize].to_owned();
            if arg & 4 != 0 {
                if !text.is_empty() {
                    text.push_str(", ");
                }
                text.push_str("with format");
            }
            text
        }
        ArgKind::ConvertValue => index(arg)
            .and_then(|i| CONVERSIONS.get(i))
            .copied()
            .unwrap_or_default()
            .to_owned(),
        ArgKind::FunctionFlags => FUNCTION_FLAGS
            .iter()
            .enumerate()
            .filter(|(i, _)| arg & (1 << i) != 0)
            .map(|(_, f)| *f)
            .collect::<Vec<_>>()
            .join(", "),
        ArgKind::BinaryOp => pick(table.binary_ops, arg),
        ArgKind::Intrinsic1 => pick(table.intrinsic1, arg),
        ArgKind::Intrinsic2 => pick(table.intrinsic2, arg),
        ArgKind::CommonConstant => pick(table.common_constants, arg),
        ArgKind::SpecialMethod => pick(table.special_methods, arg),
        ArgKind::IsOp => if arg != 0 { "is not" } else { "is" }.to_owned(),
        ArgKind::ContainsOp => if arg != 0 { "not in" } else { "in" }.to_owned(),
    };
}

const CONVERSIONS: [&str; 4] = ["", "str", "repr", "ascii"];
/// `SET_FUNCTION_ATTRIBUTE`'s flags by bit; `annotate` is 3.14's (no older code sets bit 4).
const FUNCTION_FLAGS: [&str; 5] = [
    "defaults",
    "kwdefaults",
    "annotations",
    "closure",
    "annotate",
];

/// `to` for a jump; `from` for 3.14's `END_ASYNC_FOR`, whose target is where its loop starts.
fn jump_preposition(kind: ArgKind) -> &'static str {
    if kind == ArgKind::EndAsyncFor {
        "from"
    } else {
        "to"
    }
}

fn pick(names: &[&str], arg: i64) -> String {
    usize::try_from(arg)
        .ok()
        .and_then(|i| names.get(i))
        .map(|s| (*s).to_owned())
        .unwrap_or_default()
}

/// 3.13+'s `dis` names jump targets `L1`, `L2`, … in offset order and shows `to L2`.
fn label_jumps(instructions: &mut [Instruction], table: &OpcodeTable) {
    let mut targets: Vec<u32> = instructions.iter().filter_map(|i| i.jump_target).collect();
    targets.sort_unstable();
    targets.dedup();
    for ins in instructions.iter_mut() {
        if let Some(t) = ins.jump_target {
            if let Ok(n) = targets.binary_search(&t) {
                let kind = table.op(ins.base).kind;
                ins.argrepr = format!("{} L{}", jump_preposition(kind), n + 1);
            }
        }
    }
}

/// The exception table (3.11+): entries of varints (6-bit groups, most significant first,
/// bit 6 continues, bit 7 marks an entry's first byte): start, length, target in code units,
/// then `depth << 1 | lasti` (Objects/exception_handling_notes.txt).
pub fn exception_table(code: &Code) -> Vec<ExceptionEntry> {
    let bytes = &code.exceptiontable;
    let mut at = 0usize;
    let mut out = Vec::new();
    let mut next = || -> Option<u32> {
        let mut b = *bytes.get(at)?;
        at += 1;
        let mut value = u32::from(b & 63);
        while b & 64 != 0 {
            b = *bytes.get(at)?;
            at += 1;
            value = value.checked_shl(6)? | u32::from(b & 63);
        }
        Some(value)
    };
    while let (Some(start), Some(len), Some(target), Some(dl)) = (next(), next(), next(), next()) {
        out.push(ExceptionEntry {
            start: start.saturating_mul(2),
            end: start.saturating_add(len).saturating_mul(2),
            target: target.saturating_mul(2),
            depth: dl >> 1,
            lasti: dl & 1 != 0,
        });
    }
    out
}

/// The code objects nested in `code`'s constants, depth first, in `co_consts` order.
pub fn walk(code: &std::rc::Rc<Code>, out: &mut Vec<std::rc::Rc<Code>>) {
    out.push(code.clone());
    for c in &code.consts {
        if let Obj::Code(inner) = c {
            walk(inner, out);
        }
    }
}
