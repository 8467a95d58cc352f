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
        }
    }

    /// The address of `PyCode_Type`.
    pub fn code_type(&self) -> usize {
        self.code_type
    }

    /// Starts a tick: code objects are checked again, since one may have been freed and its
    /// memory reused since the last.
    pub fn next_tick(&mut self) {
        self.this_tick.clear();
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

/// A code object's string: its whole text (they are compact, see [`values::str_prefix`]).
fn read_str(l: &Layout, addr: usize) -> Option<String> {
    values::read_str(l, addr, MAX_STRING)
}

/// A `bytes` object's contents.
fn read_bytes(l: &Layout, addr: usize) -> Option<Vec<u8>> {
    let (data, size) = values::bytes_prefix(l, addr, MAX_LINETABLE)?;
    (size <= MAX_LINETABLE).then_some(data)
}
