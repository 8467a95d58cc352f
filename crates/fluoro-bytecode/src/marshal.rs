//! A reader for `marshal` data holding code objects, as CPython 3.10-3.15 write it
//! (Python/marshal.c): one type byte per object, bit 7 of which asks to remember the object
//! for later back-references (`r` + index). Format 5 (3.14) adds slices, which the compiler
//! now folds into constants; format 6 (3.15) adds frozendicts.

use crate::opcodes::OpcodeTable;
use std::rc::Rc;

/// Why marshal data could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MarshalError {
    #[error("truncated marshal data at byte {0}")]
    Truncated(usize),
    #[error("unknown marshal type {kind:#04x} at byte {at}")]
    UnknownType { kind: u8, at: usize },
    #[error("bad marshal data at byte {at}: {what}")]
    Bad { at: usize, what: &'static str },
    #[error("marshal data nests deeper than {MAX_DEPTH} objects")]
    TooDeep,
    #[error("marshal data does not hold a code object")]
    NotCode,
}

/// How deep objects may nest, as in marshal.c.
const MAX_DEPTH: usize = 2000;

/// A Python object as `marshal` stores it: only the kinds that code objects hold.
#[derive(Debug, Clone)]
pub enum Obj {
    /// marshal's NULL, ending a dict.
    Null,
    None,
    False,
    True,
    Ellipsis,
    StopIteration,
    Int(i64),
    /// An int beyond 64 bits: sign and base-2**15 digits, least significant first.
    BigInt {
        negative: bool,
        digits: Rc<[u16]>,
    },
    Float(f64),
    Complex(f64, f64),
    Bytes(Rc<[u8]>),
    Str(Rc<str>),
    /// A string with lone surrogates, which Rust strings cannot hold: its code points.
    WideStr(Rc<[u32]>),
    Tuple(Rc<[Obj]>),
    List(Rc<[Obj]>),
    Set(Rc<[Obj]>),
    FrozenSet(Rc<[Obj]>),
    Dict(Rc<[(Obj, Obj)]>),
    FrozenDict(Rc<[(Obj, Obj)]>),
    /// `slice(start, stop, step)` (format 5, 3.14+).
    Slice(Rc<[Obj; 3]>),
    Code(Rc<Code>),
}

impl Obj {
    /// The text of a string object; other objects give "".
    pub fn text(&self) -> Rc<str> {
        match self {
            Obj::Str(s) => s.clone(),
            Obj::WideStr(cps) => cps
                .iter()
                .map(|&c| char::from_u32(c).unwrap_or('\u{fffd}'))
                .collect::<String>()
                .into(),
            _ => Rc::from(""),
        }
    }
}

/// `co_localspluskinds` bits (Include/internal/pycore_code.h, 3.11+).
pub const CO_FAST_LOCAL: u8 = 0x20;
pub const CO_FAST_CELL: u8 = 0x40;
pub const CO_FAST_FREE: u8 = 0x80;

/// A code object with the fields `dis` and `code_info` show.
#[derive(Debug)]
pub struct Code {
    pub argcount: u32,
    pub posonlyargcount: u32,
    pub kwonlyargcount: u32,
    pub nlocals: u32,
    pub stacksize: u32,
    pub flags: u32,
    pub code: Rc<[u8]>,
    pub consts: Vec<Obj>,
    pub names: Vec<Rc<str>>,
    pub varnames: Vec<Rc<str>>,
    pub cellvars: Vec<Rc<str>>,
    pub freevars: Vec<Rc<str>>,
    /// Fast locals, then cells, then frees: what local and free arguments index (3.11+; on
    /// 3.10 built as varnames + cellvars + freevars).
    pub localsplus: Vec<Rc<str>>,
    pub filename: Rc<str>,
    pub name: Rc<str>,
    /// `co_qualname` (3.11+); on 3.10 derived from the nesting as the compiler does.
    pub qualname: Rc<str>,
    pub firstlineno: i32,
    pub linetable: Rc<[u8]>,
    pub exceptiontable: Rc<[u8]>,
}

/// Reads one object (normally a code object) from marshal data written by `table`'s version.
pub fn loads(data: &[u8], table: &OpcodeTable) -> Result<Obj, MarshalError> {
    let mut reader = Reader {
        data,
        at: 0,
        refs: Vec::new(),
        new_code: table.version >= (3, 11),
        depth: 0,
    };
    reader.object()
}

/// Reads a code object from marshal data.
pub fn load_code(data: &[u8], table: &OpcodeTable) -> Result<Rc<Code>, MarshalError> {
    match loads(data, table)? {
        Obj::Code(code) => {
            if table.version < (3, 11) {
                Ok(Rc::new(with_qualnames(&code, None)))
            } else {
                Ok(code)
            }
        }
        _ => Err(MarshalError::NotCode),
    }
}

/// 3.10 code objects have no `co_qualname`: rebuild it from the nesting (a function's
/// children add `.<locals>`), which is what the 3.11 compiler stores. `prefix` is the
/// parent's qualname and separator, empty for the module and its direct children.
fn with_qualnames(code: &Code, prefix: Option<&str>) -> Code {
    const CO_OPTIMIZED: u32 = 1;
    const CO_NEWLOCALS: u32 = 2;
    let qualname: Rc<str> = match prefix {
        None | Some("") => code.name.clone(),
        Some(p) => format!("{p}{}", code.name).into(),
    };
    let children = if prefix.is_none() {
        String::new()
    } else if code.flags & (CO_OPTIMIZED | CO_NEWLOCALS) == CO_OPTIMIZED | CO_NEWLOCALS {
        format!("{qualname}.<locals>.")
    } else {
        format!("{qualname}.")
    };
    let consts = code
        .consts
        .iter()
        .map(|c| match c {
            Obj::Code(inner) => Obj::Code(Rc::new(with_qualnames(inner, Some(&children)))),
            other => other.clone(),
        })
        .collect();
    Code {
        consts,
        qualname,
        code: code.code.clone(),
        names: code.names.clone(),
        varnames: code.varnames.clone(),
        cellvars: code.cellvars.clone(),
        freevars: code.freevars.clone(),
        localsplus: code.localsplus.clone(),
        filename: code.filename.clone(),
        name: code.name.clone(),
        linetable: code.linetable.clone(),
        exceptiontable: code.exceptiontable.clone(),
        ..*code
    }
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
    /// Objects flagged for back-references; `None` while one is still being read.
    refs: Vec<Option<Obj>>,
    new_code: bool,
    depth: usize,
}

const FLAG_REF: u8 = 0x80;

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Result<&[u8], MarshalError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or(MarshalError::Truncated(self.data.len()))?;
        let out = &self.data[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8, MarshalError> {
        Ok(self.bytes(1)?[0])
    }

    fn i32(&mut self) -> Result<i32, MarshalError> {
        let b = self.bytes(4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A length or count: a non-negative int32 that cannot exceed the bytes left, since every
    /// element takes at least one byte.
    fn len(&mut self) -> Result<usize, MarshalError> {
        let at = self.at;
        let n = self.i32()?;
        let n = usize::try_from(n).map_err(|_| MarshalError::Bad {
            at,
            what: "negative size",
        })?;
        if n > self.data.len() - self.at {
            return Err(MarshalError::Truncated(self.data.len()));
        }
        Ok(n)
    }

    fn f64(&mut self) -> Result<f64, MarshalError> {
        let b = self.bytes(8)?;
        let mut raw = [0u8; 8];
        raw.copy_from_slice(b);
        Ok(f64::from_le_bytes(raw))
    }

    /// A float written as text (marshal versions 0 and 1): a length byte, then digits.
    fn text_float(&mut self) -> Result<f64, MarshalError> {
        let at = self.at;
        let n = usize::from(self.byte()?);
        let text = std::str::from_utf8(self.bytes(n)?).map_err(|_| MarshalError::Bad {
            at,
            what: "float text",
        })?;
        parse_float(text).ok_or(MarshalError::Bad {
            at,
            what: "float text",
        })
    }

    fn object(&mut self) -> Result<Obj, MarshalError> {
        if self.depth >= MAX_DEPTH {
            return Err(MarshalError::TooDeep);
        }
        self.depth += 1;
        let result = self.object_inner();
        self.depth -= 1;
        result
    }

    fn object_inner(&mut self) -> Result<Obj, MarshalError> {
        let at = self.at;
        let code = self.byte()?;
        let flagged = code & FLAG_REF != 0;
        let kind = code & !FLAG_REF;
        // Containers and code objects take their reference slot before their contents.
        let slot = if flagged
            && matches!(
                kind,
                b'(' | b')' | b'[' | b'{' | b'}' | b'<' | b'>' | b':' | b'c'
            ) {
            self.refs.push(None);
            Some(self.refs.len() - 1)
        } else {
            None
        };
        let obj = match kind {
            b'0' => Obj::Null,
            b'N' => Obj::None,
            b'F' => Obj::False,
            b'T' => Obj::True,
            b'.' => Obj::Ellipsis,
            b'S' => Obj::StopIteration,
            b'i' => Obj::Int(i64::from(self.i32()?)),
            b'I' => {
                let b = self.bytes(8)?;
                let mut raw = [0u8; 8];
                raw.copy_from_slice(b);
                Obj::Int(i64::from_le_bytes(raw))
            }
            b'l' => self.long()?,
            b'g' => Obj::Float(self.f64()?),
            b'f' => Obj::Float(self.text_float()?),
            b'y' => Obj::Complex(self.f64()?, self.f64()?),
            b'x' => Obj::Complex(self.text_float()?, self.text_float()?),
            b's' => {
                let n = self.len()?;
                Obj::Bytes(self.bytes(n)?.into())
            }
            b'u' | b't' => {
                let n = self.len()?;
                let raw = self.bytes(n)?;
                utf8_str(raw)
            }
            b'a' | b'A' => {
                let n = self.len()?;
                latin1_str(self.bytes(n)?)
            }
            b'z' | b'Z' => {
                let n = usize::from(self.byte()?);
                latin1_str(self.bytes(n)?)
            }
            b'(' | b'[' | b'<' | b'>' => {
                let n = self.len()?;
                let items = self.items(n)?;
                match kind {
                    b'(' => Obj::Tuple(items),
                    b'[' => Obj::List(items),
                    b'<' => Obj::Set(items),
                    _ => Obj::FrozenSet(items),
                }
            }
            b')' => {
                let n = usize::from(self.byte()?);
                Obj::Tuple(self.items(n)?)
            }
            b'{' => Obj::Dict(self.pairs()?),
            b'}' => Obj::FrozenDict(self.pairs()?),
            b':' => Obj::Slice(Rc::new([self.object()?, self.object()?, self.object()?])),
            b'c' => Obj::Code(Rc::new(self.code()?)),
            b'r' => {
                let index = self.i32()?;
                let found = usize::try_from(index)
                    .ok()
                    .and_then(|i| self.refs.get(i))
                    .and_then(|r| r.clone());
                return found.ok_or(MarshalError::Bad {
                    at,
                    what: "back-reference to an unknown object",
                });
            }
            other => return Err(MarshalError::UnknownType { kind: other, at }),
        };
        if flagged {
            match slot {
                Some(i) => self.refs[i] = Some(obj.clone()),
                None => self.refs.push(Some(obj.clone())),
            }
        }
        Ok(obj)
    }

    /// A dict's or frozendict's key-value pairs, ended by a NULL key.
    fn pairs(&mut self) -> Result<Rc<[(Obj, Obj)]>, MarshalError> {
        let mut pairs = Vec::new();
        loop {
            let key = self.object()?;
            if matches!(key, Obj::Null) {
                return Ok(pairs.into());
            }
            let value = self.object()?;
            pairs.push((key, value));
        }
    }

    fn items(&mut self, n: usize) -> Result<Rc<[Obj]>, MarshalError> {
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.object()?);
        }
        Ok(items.into())
    }

    /// `l`: a signed count of 15-bit digits, least significant first.
    fn long(&mut self) -> Result<Obj, MarshalError> {
        let at = self.at;
        let n = self.i32()?;
        let negative = n < 0;
        let count = n.unsigned_abs() as usize;
        if count.saturating_mul(2) > self.data.len() - self.at {
            return Err(MarshalError::Truncated(self.data.len()));
        }
        let mut digits = Vec::with_capacity(count);
        for _ in 0..count {
            let b = self.bytes(2)?;
            let d = u16::from_le_bytes([b[0], b[1]]);
            if d >= 1 << 15 {
                return Err(MarshalError::Bad {
                    at,
                    what: "long digit out of range",
                });
            }
            digits.push(d);
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.len() <= 4 {
            // At most 60 bits: fits an i64.
            let value = digits
                .iter()
                .rev()
                .fold(0i64, |acc, &d| (acc << 15) | i64::from(d));
            return Ok(Obj::Int(if negative { -value } else { value }));
        }
        Ok(Obj::BigInt {
            negative,
            digits: digits.into(),
        })
    }

    fn int_field(&mut self) -> Result<u32, MarshalError> {
        let at = self.at;
        u32::try_from(self.i32()?).map_err(|_| MarshalError::Bad {
            at,
            what: "negative code field",
        })
    }

    fn names(&mut self) -> Result<Vec<Rc<str>>, MarshalError> {
        let at = self.at;
        match self.object()? {
            Obj::Tuple(items) => Ok(items.iter().map(Obj::text).collect()),
            _ => Err(MarshalError::Bad {
                at,
                what: "expected a tuple of names",
            }),
        }
    }

    fn tuple(&mut self) -> Result<Vec<Obj>, MarshalError> {
        let at = self.at;
        match self.object()? {
            Obj::Tuple(items) => Ok(items.to_vec()),
            _ => Err(MarshalError::Bad {
                at,
                what: "expected a tuple",
            }),
        }
    }

    fn blob(&mut self) -> Result<Rc<[u8]>, MarshalError> {
        let at = self.at;
        match self.object()? {
            Obj::Bytes(b) => Ok(b),
            _ => Err(MarshalError::Bad {
                at,
                what: "expected bytes",
            }),
        }
    }

    fn text(&mut self) -> Result<Rc<str>, MarshalError> {
        let at = self.at;
        match self.object()? {
            s @ (Obj::Str(_) | Obj::WideStr(_)) => Ok(s.text()),
            _ => Err(MarshalError::Bad {
                at,
                what: "expected a string",
            }),
        }
    }

    /// The fields of a code object in the order `marshal.dumps` writes them: 3.10's layout,
    /// or 3.11's (localsplus names and kinds, qualname, exception table).
    fn code(&mut self) -> Result<Code, MarshalError> {
        let argcount = self.int_field()?;
        let posonlyargcount = self.int_field()?;
        let kwonlyargcount = self.int_field()?;
        if !self.new_code {
            let nlocals = self.int_field()?;
            let stacksize = self.int_field()?;
            let flags = self.int_field()?;
            let code = self.blob()?;
            let consts = self.tuple()?;
            let names = self.names()?;
            let varnames = self.names()?;
            let freevars = self.names()?;
            let cellvars = self.names()?;
            let filename = self.text()?;
            let name = self.text()?;
            let firstlineno = self.i32()?;
            let linetable = self.blob()?;
            let localsplus = varnames
                .iter()
                .chain(&cellvars)
                .chain(&freevars)
                .cloned()
                .collect();
            return Ok(Code {
                argcount,
                posonlyargcount,
                kwonlyargcount,
                nlocals,
                stacksize,
                flags,
                code,
                consts,
                names,
                varnames,
                cellvars,
                freevars,
                localsplus,
                filename,
                qualname: name.clone(),
                name,
                firstlineno,
                linetable,
                exceptiontable: Rc::from(&[][..]),
            });
        }
        let stacksize = self.int_field()?;
        let flags = self.int_field()?;
        let code = self.blob()?;
        let consts = self.tuple()?;
        let names = self.names()?;
        let localsplus = self.names()?;
        let kinds = self.blob()?;
        let filename = self.text()?;
        let name = self.text()?;
        let qualname = self.text()?;
        let firstlineno = self.i32()?;
        let linetable = self.blob()?;
        let exceptiontable = self.blob()?;
        let pick = |bit: u8| -> Vec<Rc<str>> {
            localsplus
                .iter()
                .zip(kinds.iter())
                .filter(|(_, &k)| k & bit != 0)
                .map(|(n, _)| n.clone())
                .collect()
        };
        let varnames = pick(CO_FAST_LOCAL);
        Ok(Code {
            argcount,
            posonlyargcount,
            kwonlyargcount,
            nlocals: varnames.len() as u32,
            stacksize,
            flags,
            code,
            consts,
            names,
            cellvars: pick(CO_FAST_CELL),
            freevars: pick(CO_FAST_FREE),
            varnames,
            localsplus,
            filename,
            name,
            qualname,
            firstlineno,
            linetable,
            exceptiontable,
        })
    }
}

/// A `u`/`t` string: UTF-8 with lone surrogates allowed ("surrogatepass").
fn utf8_str(raw: &[u8]) -> Obj {
    match std::str::from_utf8(raw) {
        Ok(s) => Obj::Str(s.into()),
        Err(_) => Obj::WideStr(decode_surrogatepass(raw).into()),
    }
}

/// Decodes UTF-8 that may encode surrogates (ED A0..BF xx); undecodable bytes become U+FFFD.
fn decode_surrogatepass(raw: &[u8]) -> Vec<u32> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        let (len, init) = match b {
            0x00..=0x7f => (1, u32::from(b)),
            0xc0..=0xdf => (2, u32::from(b & 0x1f)),
            0xe0..=0xef => (3, u32::from(b & 0x0f)),
            0xf0..=0xf7 => (4, u32::from(b & 0x07)),
            _ => (0, 0xfffd),
        };
        if len == 0 || i + len > raw.len() || raw[i + 1..i + len].iter().any(|c| c & 0xc0 != 0x80) {
            out.push(0xfffd);
            i += 1;
            continue;
        }
        let cp = raw[i + 1..i + len]
            .iter()
            .fold(init, |acc, c| (acc << 6) | u32::from(c & 0x3f));
        out.push(cp);
        i += len;
    }
    out
}

fn latin1_str(raw: &[u8]) -> Obj {
    if raw.is_ascii() {
        // ASCII is valid UTF-8.
        Obj::Str(String::from_utf8_lossy(raw).into())
    } else {
        Obj::Str(
            raw.iter()
                .map(|&b| char::from(b))
                .collect::<String>()
                .into(),
        )
    }
}

/// Parses a float as `float()` does for marshal's text forms (digits, `inf`, `nan`).
fn parse_float(text: &str) -> Option<f64> {
    let t = text.trim();
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" | "+nan" => Some(f64::NAN),
        "-nan" => Some(-f64::NAN),
        _ => t.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opcodes::OpcodeTable;
    use proptest::prelude::*;

    fn t311() -> &'static OpcodeTable {
        OpcodeTable::for_version(3, 11).unwrap()
    }

    #[test]
    fn reads_scalars_and_refs() {
        // A tuple flagged for reference, holding 1, 'ab', and a back-reference to the 'ab'.
        let data = [
            b'(' | FLAG_REF,
            3,
            0,
            0,
            0,
            b'i',
            1,
            0,
            0,
            0,
            b'z' | FLAG_REF,
            2,
            b'a',
            b'b',
            b'r',
            1,
            0,
            0,
            0,
        ];
        let Obj::Tuple(items) = loads(&data, t311()).unwrap() else {
            panic!("not a tuple")
        };
        assert!(matches!(items[0], Obj::Int(1)));
        assert_eq!(&*items[1].text(), "ab");
        assert_eq!(&*items[2].text(), "ab");
    }

    #[test]
    fn reads_longs() {
        // -(1 + 2 * 2**15)
        let data = [b'l', 0xfe, 0xff, 0xff, 0xff, 1, 0, 2, 0];
        assert!(matches!(loads(&data, t311()).unwrap(), Obj::Int(-65537)));
    }

    #[test]
    fn reads_slices_and_frozendicts() {
        let t = OpcodeTable::for_version(3, 15).unwrap();
        // marshal.dumps(slice(1, 2, None)) (format 5) and frozendict(a=1) (format 6).
        let slice = b":\xe9\x01\x00\x00\x00\xe9\x02\x00\x00\x00N";
        let frozendict = b"}\xda\x01a\xe9\x01\x00\x00\x000";
        assert_eq!(
            crate::repr::repr(&loads(slice, t).unwrap(), t),
            "slice(1, 2, None)"
        );
        assert_eq!(
            crate::repr::repr(&loads(frozendict, t).unwrap(), t),
            "frozendict({'a': 1})"
        );
    }

    #[test]
    fn truncated_data_is_an_error() {
        assert_eq!(
            loads(&[b'u', 10, 0, 0, 0, b'a'], t311()).unwrap_err(),
            MarshalError::Truncated(6)
        );
        assert!(matches!(
            load_code(b"N", t311()).unwrap_err(),
            MarshalError::NotCode
        ));
    }

    #[test]
    fn surrogates_survive() {
        let Obj::WideStr(cps) = utf8_str(&[b'a', 0xed, 0xa0, 0x80]) else {
            panic!("expected a wide string")
        };
        assert_eq!(&*cps, &[0x61, 0xd800]);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            for table in crate::opcodes::TABLES {
                let _ = loads(&data, table);
            }
        }

        #[test]
        fn code_prefix_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut data = vec![b'c'];
            data.extend(tail);
            for table in crate::opcodes::TABLES {
                let _ = load_code(&data, table);
            }
        }
    }
}
