//! Simple objects read from memory: the text of a `str`, the contents of a `bytes`, and a
//! bounded repr of any object (`fluoro dump --locals`), all through [`memory::read`], so that
//! an object freed or torn under the reader shows as `<unreadable>`, never a fault. The reprs
//! are Python's own, written by `fluoro_bytecode::repr` with the target version's table of
//! printable characters.

use super::layouts::Layout;
use super::memory::{self, i32_at, usize_at};
use fluoro_bytecode::{repr as py, OpcodeTable};
use std::fmt::Write as _;

/// The most characters of a `str` (and bytes of a `bytes`) shown; the rest are counted.
pub const MAX_STR: usize = 80;
/// The most decimal digits of an `int` shown; a longer one is counted.
pub const MAX_INT_DIGITS: usize = 50;
/// The most digits of an int read: past this (about 4,500 decimal digits, Python's own limit
/// for `str(int)`) its length is only estimated.
const MAX_INT_READ: usize = 500;
/// The longest `tp_name` read.
const MAX_TYPE_NAME: usize = 128;

/// Where the interpreter keeps the objects and types a repr recognises, from its exported
/// symbols; 0 for one it does not export.
#[derive(Debug, Clone, Copy, Default)]
pub struct Builtins {
    pub none: usize,
    pub true_: usize,
    pub false_: usize,
    pub int: usize,
    pub float: usize,
    pub str: usize,
    pub bytes: usize,
    pub list: usize,
    pub tuple: usize,
    pub dict: usize,
    pub set: usize,
    pub frozenset: usize,
    pub cell: usize,
}

impl Builtins {
    /// The symbols read, as the interpreter exports them.
    pub const SYMBOLS: [&'static str; 13] = [
        "_Py_NoneStruct",
        "_Py_TrueStruct",
        "_Py_FalseStruct",
        "PyLong_Type",
        "PyFloat_Type",
        "PyUnicode_Type",
        "PyBytes_Type",
        "PyList_Type",
        "PyTuple_Type",
        "PyDict_Type",
        "PySet_Type",
        "PyFrozenSet_Type",
        "PyCell_Type",
    ];

    /// The addresses `find` gives for [`Builtins::SYMBOLS`].
    pub fn from_symbols(find: impl Fn(&str) -> Option<usize>) -> Builtins {
        let [none, true_, false_, int, float, str, bytes, list, tuple, dict, set, frozenset, cell] =
            Builtins::SYMBOLS.map(|name| find(name).unwrap_or(0));
        Builtins {
            none,
            true_,
            false_,
            int,
            float,
            str,
            bytes,
            list,
            tuple,
            dict,
            set,
            frozenset,
            cell,
        }
    }
}

/// What reading an interpreter's values needs: its layout, where its builtins are, and the
/// characters its `repr` leaves unescaped (its opcode table's, by its Unicode version).
pub struct Values {
    pub layout: &'static Layout,
    pub builtins: Builtins,
    pub table: &'static OpcodeTable,
}

impl Values {
    /// A bounded repr of the object at `addr`: Python's own for None, bools, ints, floats,
    /// strs and bytes (shortened past a length), the length of a list, tuple, dict or set,
    /// else the type's name and the address; `<unreadable>` where memory could not be read.
    pub fn repr(&self, addr: usize) -> String {
        self.read_repr(addr)
            .unwrap_or_else(|| "<unreadable>".into())
    }

    fn read_repr(&self, addr: usize) -> Option<String> {
        let (l, b) = (self.layout, &self.builtins);
        for (singleton, text) in [(b.none, "None"), (b.true_, "True"), (b.false_, "False")] {
            if singleton != 0 && addr == singleton {
                return Some(text.into());
            }
        }
        let ty = type_of(l, addr)?;
        let sized = |at: usize| -> Option<String> {
            let name = type_name(l, ty)?;
            let length = read_usize(addr + at)?;
            Some(format!("<{name} of {length}>"))
        };
        match ty {
            t if t == b.int => int_repr(l, addr),
            t if t == b.float => {
                let mut buf = [0u8; 8];
                memory::read(addr + l.float_value, &mut buf).ok()?;
                Some(py::float_repr(f64::from_ne_bytes(buf), true))
            }
            t if t == b.str => {
                let (chars, length) = str_prefix(l, addr, MAX_STR)?;
                Some(shortened_str(&chars, length, self.table))
            }
            t if t == b.bytes => {
                let (data, length) = bytes_prefix(l, addr, MAX_STR)?;
                Some(shortened_bytes(&data, length))
            }
            t if t == b.list || t == b.tuple => sized(l.var_size),
            t if t == b.dict => sized(l.dict_used),
            t if t == b.set || t == b.frozenset => sized(l.set_used),
            _ => Some(format!("<{} object at {addr:#x}>", type_name(l, ty)?)),
        }
    }
}

/// The type of the object at `addr`.
pub fn type_of(l: &Layout, addr: usize) -> Option<usize> {
    read_usize(addr + l.object_type).filter(|&t| t != 0)
}

/// `repr(s)` of a `str` of `length` characters whose first ones are `chars`: past [`MAX_STR`]
/// characters, `repr(s[:80])` and how many there are in all, as `'abab'… (200 chars)`.
fn shortened_str(chars: &[u32], length: usize, table: &OpcodeTable) -> String {
    let shown = &chars[..chars.len().min(MAX_STR)];
    let mut out = String::new();
    py::str_repr(&mut out, shown.iter().copied(), table);
    if length > shown.len() {
        let _ = write!(out, "… ({length} chars)");
    }
    out
}

/// `repr(b)` of a `bytes` of `length` bytes whose first ones are `data`, shortened as
/// [`shortened_str`] is.
fn shortened_bytes(data: &[u8], length: usize) -> String {
    let shown = &data[..data.len().min(MAX_STR)];
    let mut out = String::new();
    py::bytes_repr(&mut out, shown);
    if length > shown.len() {
        let _ = write!(out, "… ({length} bytes)");
    }
    out
}

/// An int's repr from its sign and digits (see [`Layout::long_tag`]): past
/// [`MAX_INT_DIGITS`] decimal digits, `<int of N digits>`.
fn int_repr(l: &Layout, addr: usize) -> Option<String> {
    let (negative, count) = match l.long_tag {
        Some(at) => {
            let tag = read_usize(addr + at)?;
            (tag & 3 == 2, tag >> 3)
        }
        None => {
            let size = read_usize(addr + l.var_size)? as isize;
            (size < 0, size.unsigned_abs())
        }
    };
    if count > MAX_INT_READ {
        let decimal = (count * l.long_shift) as f64 * std::f64::consts::LOG10_2;
        return Some(format!("<int of about {} digits>", decimal as u64 + 1));
    }
    let mut raw = vec![0u8; count * l.long_digit_size];
    if !raw.is_empty() {
        memory::read(addr + l.long_digits, &mut raw).ok()?;
    }
    let digits = digits_of_15_bits(&raw, l.long_shift, l.long_digit_size)?;
    let decimal = py::bigint_decimal(&digits);
    Some(match (decimal.len() > MAX_INT_DIGITS, negative) {
        (true, _) => format!("<int of {} digits>", decimal.len()),
        (false, true) => format!("-{decimal}"),
        (false, false) => decimal,
    })
}

/// An int's digits as `marshal` keeps them (15 bits each, least significant first), from the
/// interpreter's own: 15 bits in 2 bytes, or 30 bits in 4 (the two ways CPython is built).
fn digits_of_15_bits(raw: &[u8], shift: usize, size: usize) -> Option<Vec<u16>> {
    match (shift, size) {
        (15, 2) => Some(
            raw.chunks_exact(2)
                .map(|d| u16::from_ne_bytes([d[0], d[1]]) & 0x7fff)
                .collect(),
        ),
        (30, 4) => Some(
            raw.chunks_exact(4)
                .flat_map(|d| {
                    let digit = u32::from_ne_bytes([d[0], d[1], d[2], d[3]]);
                    [(digit & 0x7fff) as u16, ((digit >> 15) & 0x7fff) as u16]
                })
                .collect(),
        ),
        _ => None,
    }
}

/// The `tp_name` of the type at `ty`: a C string, read up to its NUL.
fn type_name(l: &Layout, ty: usize) -> Option<String> {
    let at = read_usize(ty + l.type_name)?;
    let mut name = Vec::new();
    let mut next = at;
    // Read up to each page's end, so that a name near the end of a mapping is still read.
    while name.len() < MAX_TYPE_NAME {
        let page_left = 4096 - (next % 4096);
        let mut chunk = vec![0u8; page_left.min(MAX_TYPE_NAME - name.len())];
        memory::read(next, &mut chunk).ok()?;
        if let Some(end) = chunk.iter().position(|&c| c == 0) {
            name.extend_from_slice(&chunk[..end]);
            return Some(String::from_utf8_lossy(&name).into_owned());
        }
        next += chunk.len();
        name.extend_from_slice(&chunk);
    }
    Some(String::from_utf8_lossy(&name).into_owned())
}

/// The first `max` characters of a compact `str` object (code points: a `str` may hold lone
/// surrogates) and its length. Compact strings' characters follow the header: ASCII ones after
/// a `PyASCIIObject`, others after a `PyCompactUnicodeObject`, one, two or four bytes a
/// character by their kind. The `state` bit field holds `interned:2, kind:3, compact:1,
/// ascii:1` from its lowest bit in 3.10-3.15.
pub fn str_prefix(l: &Layout, addr: usize, max: usize) -> Option<(Vec<u32>, usize)> {
    let mut head = vec![0u8; l.unicode_compact_size];
    memory::read(addr, &mut head).ok()?;
    let length = usize_at(&head, l.unicode_length);
    let state = i32_at(&head, l.unicode_state) as u32;
    let kind = ((state >> 2) & 7) as usize;
    let compact = (state >> 5) & 1 == 1;
    let ascii = (state >> 6) & 1 == 1;
    if !compact || !matches!(kind, 1 | 2 | 4) {
        return None;
    }
    let data = if ascii {
        l.unicode_ascii_size
    } else {
        l.unicode_compact_size
    };
    let mut raw = vec![0u8; length.min(max) * kind];
    if !raw.is_empty() {
        memory::read(addr + data, &mut raw).ok()?;
    }
    let chars = match kind {
        1 => raw.iter().map(|&b| u32::from(b)).collect(),
        2 => raw
            .chunks_exact(2)
            .map(|c| u32::from(u16::from_ne_bytes([c[0], c[1]])))
            .collect(),
        _ => raw
            .chunks_exact(4)
            .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    };
    Some((chars, length))
}

/// A `str` object's whole text, if it has at most `max` characters; a character that is not
/// one (a lone surrogate) reads as `?`.
pub fn read_str(l: &Layout, addr: usize, max: usize) -> Option<String> {
    let (chars, length) = str_prefix(l, addr, max)?;
    if length > max {
        return None;
    }
    Some(
        chars
            .into_iter()
            .map(|c| char::from_u32(c).unwrap_or('?'))
            .collect(),
    )
}

/// The first `max` bytes of a `bytes` object, and its length.
pub fn bytes_prefix(l: &Layout, addr: usize, max: usize) -> Option<(Vec<u8>, usize)> {
    let mut head = vec![0u8; l.bytes_data];
    memory::read(addr, &mut head).ok()?;
    let size = usize_at(&head, l.var_size);
    let mut data = vec![0u8; size.min(max)];
    if !data.is_empty() {
        memory::read(addr + l.bytes_data, &mut data).ok()?;
    }
    Some((data, size))
}

/// The items of the tuple at `addr`, if it has at most `max`.
pub fn tuple_items(l: &Layout, addr: usize, max: usize) -> Option<Vec<usize>> {
    let size = read_usize(addr + l.var_size)?;
    if size > max {
        return None;
    }
    let mut raw = vec![0u8; size * 8];
    if !raw.is_empty() {
        memory::read(addr + l.tuple_items, &mut raw).ok()?;
    }
    Some((0..size).map(|i| usize_at(&raw, i * 8)).collect())
}

pub fn read_usize(addr: usize) -> Option<usize> {
    let mut buf = [0u8; 8];
    memory::read(addr, &mut buf).ok()?;
    Some(usize::from_ne_bytes(buf))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cpython::layouts;

    /// A compact ASCII str object as `l` lays it out, to be read in this process's memory.
    pub(crate) fn ascii_object(l: &Layout, text: &str) -> Vec<u8> {
        let mut obj = vec![0u8; l.unicode_ascii_size + text.len() + 1];
        obj[l.unicode_length..l.unicode_length + 8].copy_from_slice(&text.len().to_ne_bytes());
        // kind 1, compact, ascii.
        let state: u32 = (1 << 2) | (1 << 5) | (1 << 6);
        obj[l.unicode_state..l.unicode_state + 4].copy_from_slice(&state.to_ne_bytes());
        obj[l.unicode_ascii_size..l.unicode_ascii_size + text.len()]
            .copy_from_slice(text.as_bytes());
        obj
    }

    /// Values of CPython `3.minor`, with `builtins`.
    pub(crate) fn values(minor: u8, builtins: Builtins) -> Values {
        Values {
            layout: layouts::for_version(3, minor).unwrap(),
            builtins,
            table: OpcodeTable::for_version(3, minor).unwrap(),
        }
    }

    /// Writes `word` at `at` of an object laid out in `buf`.
    pub(crate) fn put(buf: &mut [u8], at: usize, word: usize) {
        buf[at..at + 8].copy_from_slice(&word.to_ne_bytes());
    }

    #[test]
    fn reads_strings_whole_or_in_part_and_refuses_bad_memory() {
        let l = layouts::for_version(3, 12).unwrap();
        let obj = ascii_object(l, "hello world");
        let addr = obj.as_ptr() as usize;
        assert_eq!(read_str(l, addr, 100).as_deref(), Some("hello world"));
        assert_eq!(read_str(l, addr, 5), None);
        let (chars, length) = str_prefix(l, addr, 5).unwrap();
        assert_eq!((chars.len(), length), (5, 11));
        assert_eq!(str_prefix(l, 8, 5), None);
        assert_eq!(values(12, Builtins::default()).repr(8), "<unreadable>");
    }

    #[test]
    fn shows_objects_by_their_type() {
        // Types are compared by address, and only read for their names.
        let (str_type, int_type) = (0x1000, 0x2000);
        let (list_name, widget_name) = (b"list\0", b"Widget\0");
        let l = layouts::for_version(3, 12).unwrap();
        let mut list_type = vec![0u8; l.type_name + 8];
        put(&mut list_type, l.type_name, list_name.as_ptr() as usize);
        let mut widget_type = vec![0u8; l.type_name + 8];
        put(&mut widget_type, l.type_name, widget_name.as_ptr() as usize);
        let none = 0u64;
        let v = values(
            12,
            Builtins {
                str: str_type,
                int: int_type,
                list: list_type.as_ptr() as usize,
                none: &none as *const u64 as usize,
                ..Builtins::default()
            },
        );
        let mut text = ascii_object(l, "it's");
        put(&mut text, l.object_type, str_type);
        assert_eq!(v.repr(text.as_ptr() as usize), "\"it's\"");
        let mut list = [0u8; 32];
        put(&mut list, l.object_type, v.builtins.list);
        put(&mut list, l.var_size, 3);
        assert_eq!(v.repr(list.as_ptr() as usize), "<list of 3>");
        assert_eq!(v.repr(v.builtins.none), "None");
        let mut widget = [0u8; 32];
        put(&mut widget, l.object_type, widget_type.as_ptr() as usize);
        let at = widget.as_ptr() as usize;
        assert_eq!(v.repr(at), format!("<Widget object at {at:#x}>"));
        // -(2**100): 3.12 tags the sign (2, negative) and the count of 30-bit digits.
        let mut int = [0u8; 40];
        put(&mut int, l.object_type, int_type);
        put(&mut int, l.long_tag.unwrap(), (4 << 3) | 2);
        int[l.long_digits + 12..l.long_digits + 16].copy_from_slice(&(1u32 << 10).to_ne_bytes());
        assert_eq!(
            v.repr(int.as_ptr() as usize),
            "-1267650600228229401496703205376"
        );
    }

    #[test]
    fn long_values_show_their_start_and_length() {
        let table = OpcodeTable::for_version(3, 12).unwrap();
        let text: Vec<u32> = "ab".repeat(50).chars().map(u32::from).collect();
        let expected = format!("'{}'… (100 chars)", "ab".repeat(40));
        assert_eq!(shortened_str(&text, 100, table), expected);
        assert_eq!(shortened_str(&[0x27, 0x1b], 2, table), "\"'\\x1b\"");
        assert_eq!(
            shortened_bytes(&[0; 90], 90).len(),
            "b''… (90 bytes)".len() + 4 * 80
        );
        // 2**300 has 91 digits: 10 zero 30-bit digits, then 1.
        let mut raw = vec![0u8; 44];
        raw[40] = 1;
        let digits = digits_of_15_bits(&raw, 30, 4).unwrap();
        assert_eq!(py::bigint_decimal(&digits).len(), 91);
        assert_eq!(digits_of_15_bits(&raw, 20, 4), None);
    }
}
