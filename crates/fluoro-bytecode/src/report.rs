//! What `fluoro dis` reports per code object: the summary `dis.code_info` shows, the
//! instructions, the exception table and an opcode histogram; and per-package histograms.

use crate::decode::{exception_table, instructions, walk, ExceptionEntry, Instruction};
use crate::marshal::Code;
use crate::opcodes::OpcodeTable;
use crate::repr::repr;
use serde::Serialize;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Opcode name → how many times it occurs.
pub type Histogram = BTreeMap<String, u64>;

/// One code object, disassembled.
#[derive(Debug, Clone, Serialize)]
pub struct CodeReport {
    pub qualname: String,
    pub name: String,
    pub filename: String,
    pub firstlineno: i32,
    pub argcount: u32,
    pub posonlyargcount: u32,
    pub kwonlyargcount: u32,
    pub nlocals: u32,
    pub stacksize: u32,
    pub flags: Vec<String>,
    pub consts: Vec<String>,
    pub names: Vec<String>,
    pub varnames: Vec<String>,
    pub freevars: Vec<String>,
    pub cellvars: Vec<String>,
    pub instructions: Vec<Instruction>,
    /// 3.11+ only; empty before.
    pub exception_table: Vec<ExceptionEntry>,
    pub histogram: Histogram,
}

/// Every code object in `code` (itself first, then nested ones depth first).
pub fn disassemble(code: &Rc<Code>, table: &OpcodeTable) -> Vec<CodeReport> {
    let mut all = Vec::new();
    walk(code, &mut all);
    all.iter().map(|c| report(c, table)).collect()
}

fn report(code: &Code, table: &OpcodeTable) -> CodeReport {
    let instructions = instructions(code, &code.code, table);
    let mut counts = [0u64; 256];
    for ins in &instructions {
        counts[usize::from(ins.opcode)] += 1;
    }
    let histogram = counts
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(op, &n)| (table.name(op as u8).into_owned(), n))
        .collect();
    let strings = |v: &[Rc<str>]| v.iter().map(|s| s.to_string()).collect();
    CodeReport {
        qualname: code.qualname.to_string(),
        name: code.name.to_string(),
        filename: code.filename.to_string(),
        firstlineno: code.firstlineno,
        argcount: code.argcount,
        posonlyargcount: code.posonlyargcount,
        kwonlyargcount: code.kwonlyargcount,
        nlocals: code.nlocals,
        stacksize: code.stacksize,
        flags: flag_names(code.flags, table),
        consts: code.consts.iter().map(|c| repr(c, table)).collect(),
        names: strings(&code.names),
        varnames: strings(&code.varnames),
        freevars: strings(&code.freevars),
        cellvars: strings(&code.cellvars),
        exception_table: exception_table(code),
        instructions,
        histogram,
    }
}

/// `co_flags` by name (Include/cpython/code.h); unknown bits as hex.
fn flag_names(flags: u32, table: &OpcodeTable) -> Vec<String> {
    let mut known: Vec<(u32, &str)> = vec![
        (0x1, "OPTIMIZED"),
        (0x2, "NEWLOCALS"),
        (0x4, "VARARGS"),
        (0x8, "VARKEYWORDS"),
        (0x10, "NESTED"),
        (0x20, "GENERATOR"),
        (0x80, "COROUTINE"),
        (0x100, "ITERABLE_COROUTINE"),
        (0x200, "ASYNC_GENERATOR"),
    ];
    if table.version < (3, 11) {
        known.push((0x40, "NOFREE"));
    }
    let mut out: Vec<String> = Vec::new();
    let mut rest = flags;
    for (bit, name) in known {
        if flags & bit != 0 {
            out.push(name.to_owned());
            rest &= !bit;
        }
    }
    if rest != 0 {
        out.push(format!("{rest:#x}"));
    }
    out
}

/// Opcode histograms of many files, per package (the directory a file is in, relative to
/// the root, dotted) and overall.
#[derive(Debug, Default, Clone, Serialize)]
pub struct StatsReport {
    pub files: u64,
    pub code_objects: u64,
    pub instructions: u64,
    pub total: Histogram,
    pub packages: BTreeMap<String, Histogram>,
}

impl StatsReport {
    /// Counts the code objects of one file, filed under `package`.
    pub fn add(&mut self, package: &str, reports: &[CodeReport]) {
        self.files += 1;
        let per = self.packages.entry(package.to_owned()).or_default();
        for r in reports {
            self.code_objects += 1;
            for (name, n) in &r.histogram {
                *per.entry(name.clone()).or_default() += n;
                *self.total.entry(name.clone()).or_default() += n;
                self.instructions += n;
            }
        }
    }
}
