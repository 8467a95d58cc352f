//! Code objects read from memory, resolved once: file, names, first line and line table.
//!
//! A code object is known by its address and a fingerprint of the pointers it holds (file,
//! name, line table) and its first line, so that an address reused by another code object after
//! the first was freed resolves anew.

use super::layouts::Layout;
use super::memory::{self, i32_at, usize_at};
use super::values;
use fluoro_profile::{linetable, CodeId, CodeInfo};
use std::collections::HashMap;

/// Longest string (in characters) and line table (in bytes) the sampler copies.
const MAX_STRING: usize = 4096;
const MAX_LINETABLE: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Fingerprint {
    addr: usize,
    filename: usize,
    name: usize,
    linetable: usize,
    firstlineno: i32,
}

/// The code objects seen so far, and those not yet streamed.
pub struct CodeTable {
    layout: &'static Layout,
    /// `&PyCode_Type`: a frame whose code pointer does not lead to an object of this type is
    /// torn or is not Python code.
    code_type: usize,
    ids: HashMap<Fingerprint, CodeId>,
    fresh: Vec<(CodeId, CodeInfo)>,
    next: CodeId,
    buf: Vec<u8>,
    /// Code objects already checked during this tick, by address: a recursive stack reads
    /// its code object once, not once a frame.
    this_tick: HashMap<usize, CodeId>,
    /// The data-stack bytes of a frame of each code object read during this tick (3.11+).
    frame_bytes: HashMap<usize, usize>,
    /// Whether the code object (the first) holds the second among its constants, as found
    /// during this tick.
    makes: HashMap<(usize, usize), bool>,
    /// The interpreter's own trampoline code object (3.12/3.13: the frame pushed under an
    /// `__init__` called by a specialized `CALL`, `<interpreter trampoline>` in `<shim>` on
    /// 3.12 and `__init__` in `__init__` on 3.13), once seen: not the program's code.
    shim: Option<usize>,
}

impl CodeTable {
    pub fn new(layout: &'static Layout, code_type: usize) -> CodeTable {
        CodeTable {
            layout,
            code_type,
            ids: HashMap::new(),
            fresh: Vec::new(),
            next: 0,
            buf: vec![0; layout.code_span()],
            this_tick: HashMap::new(),
            frame_bytes: HashMap::new(),
            makes: HashMap::new(),
            shim: None,
        }
    }

    /// The address of `PyCode_Type`.
    pub fn code_type(&self) -> usize {
        self.code_type
    }

    /// Whether the code object at `addr` is the interpreter's trampoline.
    pub fn is_shim(&self, addr: usize) -> bool {
        self.shim == Some(addr)
    }

    /// Starts a tick: code objects are checked again, since one may have been freed and its
    /// memory reused since the last.
    pub fn next_tick(&mut self) {
        self.this_tick.clear();
        self.frame_bytes.clear();
        self.makes.clear();
    }

    /// Whether the code object at `maker` holds the code object at `made` among its
    /// constants: a function's frame makes the functions and generator expressions it
    /// defines from them. False when either cannot be read.
    pub fn makes(&mut self, maker: usize, made: usize) -> bool {
        /// The most constants looked at.
        const MAX_CONSTS: usize = 256;
        if let Some(&known) = self.makes.get(&(maker, made)) {
            return known;
        }
        let l = self.layout;
        let found = (|| {
            let consts = read_word(maker + l.code_consts)?;
            let count = read_word(consts + l.var_size)?.min(MAX_CONSTS);
            let mut items = vec![0u8; count * 8];
            memory::read(consts + l.tuple_items, &mut items).ok()?;
            Some(items.chunks_exact(8).any(|item| usize_at(item, 0) == made))
        })()
        .unwrap_or(false);
        self.makes.insert((maker, made), found);
        found
    }

    /// The bytes a frame of the code object at `addr` takes on the data stack (3.11+); `None`
    /// when the memory there is not a code object or the version has no data stack.
    pub fn frame_bytes(&mut self, addr: usize) -> Option<usize> {
        if let Some(&bytes) = self.frame_bytes.get(&addr) {
            return Some(bytes);
        }
        memory::read(addr, &mut self.buf).ok()?;
        self.note_frame_bytes(addr)
    }

    /// Keeps the frame size of the code object at `addr`, read into `buf`.
    fn note_frame_bytes(&mut self, addr: usize) -> Option<usize> {
        if usize_at(&self.buf, self.layout.object_type) != self.code_type {
            return None;
        }
        let bytes = self.layout.frame_bytes(&self.buf)?;
        self.frame_bytes.insert(addr, bytes);
        Some(bytes)
    }

    /// The id of the code object at `addr`, resolving it on first sight; `None` when the
    /// memory there is not (or no longer) a code object.
    pub fn resolve(&mut self, addr: usize) -> Option<CodeId> {
        if let Some(&id) = self.this_tick.get(&addr) {
            return Some(id);
        }
        let id = self.resolve_now(addr)?;
        self.this_tick.insert(addr, id);
        Some(id)
    }

    fn resolve_now(&mut self, addr: usize) -> Option<CodeId> {
        memory::read(addr, &mut self.buf).ok()?;
        let l = self.layout;
        if usize_at(&self.buf, l.object_type) != self.code_type {
            return None;
        }
        self.note_frame_bytes(addr);
        let fingerprint = Fingerprint {
            addr,
            filename: usize_at(&self.buf, l.code_filename),
            name: usize_at(&self.buf, l.code_name),
            linetable: usize_at(&self.buf, l.code_linetable),
            firstlineno: i32_at(&self.buf, l.code_firstlineno),
        };
        if let Some(&id) = self.ids.get(&fingerprint) {
            return Some(id);
        }
        let info = self.read_info(&fingerprint)?;
        if is_trampoline(&info) {
            self.shim = Some(addr);
        }
        let id = self.next;
        self.next += 1;
        self.ids.insert(fingerprint, id);
        self.fresh.push((id, info));
        Some(id)
    }

    fn read_info(&self, f: &Fingerprint) -> Option<CodeInfo> {
        let l = self.layout;
        let filename = read_str(l, f.filename)?;
        let name = read_str(l, f.name)?;
        let qualname = match l.code_qualname {
            Some(at) => read_str(l, usize_at(&self.buf, at)).unwrap_or_else(|| name.clone()),
            None => name.clone(),
        };
        let firstlineno = f.firstlineno.max(0) as u32;
        let table = read_bytes(l, f.linetable).unwrap_or_default();
        let lines = if l.frame_is_object() {
            linetable::decode_310(&table, firstlineno)
        } else {
            linetable::decode_311(&table, firstlineno)
        };
        Some(CodeInfo {
            filename,
            name,
            qualname,
            firstlineno,
            lines,
        })
    }

    /// Code objects resolved since the last call.
    pub fn take_fresh(&mut self) -> Vec<(CodeId, CodeInfo)> {
        std::mem::take(&mut self.fresh)
    }
}

/// Whether `info` is the interpreter's trampoline code, made by CPython itself rather than
/// compiled from a file: a file name that is no path, and no line past the first (3.12's
/// table gives line 1, 3.13's holds one "no location" entry).
fn is_trampoline(info: &CodeInfo) -> bool {
    let named = matches!(
        (info.filename.as_str(), info.name.as_str()),
        ("<shim>", "<interpreter trampoline>") | ("__init__", "__init__")
    );
    named && info.firstlineno <= 1 && info.lines.iter().all(|range| range.line <= 1)
}

/// A code object's string: its whole text (they are compact, see [`values::str_prefix`]).
fn read_str(l: &Layout, addr: usize) -> Option<String> {
    values::read_str(l, addr, MAX_STRING)
}

/// A `bytes` object's contents.
fn read_bytes(l: &Layout, addr: usize) -> Option<Vec<u8>> {
    let (data, size) = values::bytes_prefix(l, addr, MAX_LINETABLE)?;
    (size <= MAX_LINETABLE).then_some(data)
}

fn read_word(addr: usize) -> Option<usize> {
    let mut buf = [0u8; 8];
    memory::read(addr, &mut buf).ok()?;
    Some(usize::from_ne_bytes(buf))
}

#[cfg(test)]
mod tests {
    use super::is_trampoline;
    use fluoro_profile::{CodeInfo, LineRange};

    fn code(filename: &str, name: &str, firstlineno: u32, line: u32) -> CodeInfo {
        CodeInfo {
            filename: filename.into(),
            name: name.into(),
            qualname: name.into(),
            firstlineno,
            lines: vec![LineRange {
                start: 0,
                end: 8,
                line,
            }],
        }
    }

    #[test]
    fn the_interpreters_trampolines_are_told_from_the_programs_code() {
        assert!(is_trampoline(&code(
            "<shim>",
            "<interpreter trampoline>",
            1,
            1
        )));
        assert!(is_trampoline(&code("__init__", "__init__", 0, 0)));
        assert!(!is_trampoline(&code("app.py", "__init__", 3, 4)));
        assert!(
            !is_trampoline(&code("__init__", "__init__", 3, 4)),
            "a line: compiled"
        );
    }
}
