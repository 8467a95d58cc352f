//! Code objects read from memory, resolved once: file, names, first line and line table.
//!
//! A code object is known by its address and a fingerprint of the pointers it holds (file,
//! name, line table) and its first line, so that an address reused by another code object after
//! the first was freed resolves anew.

use super::layouts::Layout;
use super::memory::{self, i32_at, usize_at};
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

/// A `str` object's text. Code objects' strings are compact (their characters follow the
/// header): ASCII ones after a `PyASCIIObject`, others after a `PyCompactUnicodeObject`, one,
/// two or four bytes a character by their kind. The `state` bit field holds `interned:2,
/// kind:3, compact:1, ascii:1` from its lowest bit in 3.10-3.13.
fn read_str(l: &Layout, addr: usize) -> Option<String> {
    let mut head = vec![0u8; l.unicode_compact_size];
    memory::read(addr, &mut head).ok()?;
    let length = usize_at(&head, l.unicode_length);
    let state = i32_at(&head, l.unicode_state) as u32;
    let kind = ((state >> 2) & 7) as usize;
    let compact = (state >> 5) & 1 == 1;
    let ascii = (state >> 6) & 1 == 1;
    if !compact || length > MAX_STRING || !matches!(kind, 1 | 2 | 4) {
        return None;
    }
    let data = if ascii {
        l.unicode_ascii_size
    } else {
        l.unicode_compact_size
    };
    let mut raw = vec![0u8; length * kind];
    if !raw.is_empty() {
        memory::read(addr + data, &mut raw).ok()?;
    }
    Some(match kind {
        1 => raw.iter().map(|&b| char::from(b)).collect(),
        2 => raw
            .chunks_exact(2)
            .map(|c| char::from_u32(u32::from(u16::from_ne_bytes([c[0], c[1]]))).unwrap_or('?'))
            .collect(),
        _ => raw
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_ne_bytes([c[0], c[1], c[2], c[3]])).unwrap_or('?'))
            .collect(),
    })
}

/// A `bytes` object's contents.
fn read_bytes(l: &Layout, addr: usize) -> Option<Vec<u8>> {
    let mut head = vec![0u8; l.bytes_data];
    memory::read(addr, &mut head).ok()?;
    let size = usize_at(&head, l.var_size);
    if size > MAX_LINETABLE {
        return None;
    }
    let mut data = vec![0u8; size];
    if size > 0 {
        memory::read(addr + l.bytes_data, &mut data).ok()?;
    }
    Some(data)
}
