//! Python's `repr` of the constants code objects hold, character for character, so that
//! `argrepr` equals what `dis` prints (Objects/unicodeobject.c, floatobject.c, pystrtod.c);
//! `fluoro dump --locals` writes the values it reads from another process with the same.

use crate::marshal::Obj;
use crate::opcodes::OpcodeTable;
use std::fmt::Write;

/// `repr(obj)` as `table`'s interpreter writes it.
pub fn repr(obj: &Obj, table: &OpcodeTable) -> String {
    let mut out = String::new();
    write_repr(&mut out, obj, table);
    out
}

fn write_repr(out: &mut String, obj: &Obj, table: &OpcodeTable) {
    match obj {
        Obj::Null => out.push_str("<NULL>"),
        Obj::None => out.push_str("None"),
        Obj::False => out.push_str("False"),
        Obj::True => out.push_str("True"),
        Obj::Ellipsis => out.push_str("Ellipsis"),
        Obj::StopIteration => out.push_str("<class 'StopIteration'>"),
        Obj::Int(v) => {
            let _ = write!(out, "{v}");
        }
        Obj::BigInt { negative, digits } => {
            if *negative {
                out.push('-');
            }
            out.push_str(&bigint_decimal(digits));
        }
        Obj::Float(v) => out.push_str(&float_repr(*v, true)),
        Obj::Complex(re, im) => out.push_str(&complex_repr(*re, *im)),
        Obj::Bytes(b) => bytes_repr(out, b),
        Obj::Str(s) => str_repr(out, s.chars().map(u32::from), table),
        Obj::WideStr(cps) => str_repr(out, cps.iter().copied(), table),
        Obj::Tuple(items) => {
            out.push('(');
            sequence(out, items, table);
            if items.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        Obj::List(items) => {
            out.push('[');
            sequence(out, items, table);
            out.push(']');
        }
        Obj::Set(items) if items.is_empty() => out.push_str("set()"),
        Obj::Set(items) => {
            out.push('{');
            sequence(out, items, table);
            out.push('}');
        }
        Obj::FrozenSet(items) if items.is_empty() => out.push_str("frozenset()"),
        Obj::FrozenSet(items) => {
            out.push_str("frozenset({");
            sequence(out, items, table);
            out.push_str("})");
        }
        Obj::Dict(pairs) => dict(out, pairs, table),
        Obj::FrozenDict(pairs) if pairs.is_empty() => out.push_str("frozendict()"),
        Obj::FrozenDict(pairs) => {
            out.push_str("frozendict(");
            dict(out, pairs, table);
            out.push(')');
        }
        Obj::Slice(parts) => {
            out.push_str("slice(");
            sequence(out, &parts[..], table);
            out.push(')');
        }
        Obj::Code(code) => {
            // The address is this process's, as `dis` prints the address in its own.
            let _ = write!(
                out,
                "<code object {} at {:#x}, file \"{}\", line {}>",
                code.name,
                std::rc::Rc::as_ptr(code) as usize,
                code.filename,
                code.firstlineno
            );
        }
    }
}

fn sequence(out: &mut String, items: &[Obj], table: &OpcodeTable) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_repr(out, item, table);
    }
}

/// `{k: v, ...}`.
fn dict(out: &mut String, pairs: &[(Obj, Obj)], table: &OpcodeTable) {
    out.push('{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_repr(out, k, table);
        out.push_str(": ");
        write_repr(out, v, table);
    }
    out.push('}');
}

/// `str.__repr__`: single quotes unless the text has `'` and no `"`; backslash escapes for
/// the quote, `\\`, `\t\n\r`, other controls, and code points that are not printable.
pub fn str_repr(out: &mut String, cps: impl Iterator<Item = u32> + Clone, table: &OpcodeTable) {
    let (mut single, mut double) = (false, false);
    for c in cps.clone() {
        single |= c == u32::from('\'');
        double |= c == u32::from('"');
    }
    let quote = if single && !double { '"' } else { '\'' };
    out.push(quote);
    for c in cps {
        match c {
            0x5c => out.push_str("\\\\"),
            0x09 => out.push_str("\\t"),
            0x0a => out.push_str("\\n"),
            0x0d => out.push_str("\\r"),
            _ if c == u32::from(quote) => {
                out.push('\\');
                out.push(quote);
            }
            0..=0x1f | 0x7f => {
                let _ = write!(out, "\\x{c:02x}");
            }
            0x20..=0x7e => out.push(char::from(c as u8)),
            _ if table.printable(c) => out.push(char::from_u32(c).unwrap_or('\u{fffd}')),
            _ if c <= 0xff => {
                let _ = write!(out, "\\x{c:02x}");
            }
            _ if c <= 0xffff => {
                let _ = write!(out, "\\u{c:04x}");
            }
            _ => {
                let _ = write!(out, "\\U{c:08x}");
            }
        }
    }
    out.push(quote);
}

/// `bytes.__repr__`.
pub fn bytes_repr(out: &mut String, bytes: &[u8]) {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    out.push('b');
    out.push(char::from(quote));
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if b == quote => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(char::from(quote));
}

/// `float.__repr__`: the shortest digits that read back, in positional notation when the
/// decimal exponent is in -4..16, else `d.ddde±XX`; `add_dot_zero` gives `1.0` for `1`
/// (complex parts go without it).
pub fn float_repr(v: f64, add_dot_zero: bool) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Rust's `{:e}` prints the shortest round-tripping digits: "-1.2345e-7".
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // The value is 0.DIGITS * 10**decpt.
    let decpt = exp + 1;
    let mut out = String::from(sign);
    if (-4 < decpt && decpt <= 16) || v == 0.0 {
        if decpt <= 0 {
            out.push_str("0.");
            out.push_str(&"0".repeat(decpt.unsigned_abs() as usize));
            out.push_str(&digits);
        } else {
            let d = decpt as usize;
            if digits.len() <= d {
                out.push_str(&digits);
                out.push_str(&"0".repeat(d - digits.len()));
                if add_dot_zero {
                    out.push_str(".0");
                }
            } else {
                out.push_str(&digits[..d]);
                out.push('.');
                out.push_str(&digits[d..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        let _ = write!(out, "e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    out
}

/// `complex.__repr__`: `2j` when the real part is +0.0, else `(1+2j)`.
fn complex_repr(re: f64, im: f64) -> String {
    let imag = float_repr(im, false);
    if re == 0.0 && re.is_sign_positive() {
        return format!("{imag}j");
    }
    let real = float_repr(re, false);
    let sign = if imag.starts_with('-') { "" } else { "+" };
    format!("({real}{sign}{imag}j)")
}

/// The decimal digits of a magnitude given in base-2**15 digits, least significant first.
pub fn bigint_decimal(digits: &[u16]) -> String {
    // Repeated division by 10**4 of a big-endian base-2**15 number.
    let mut n: Vec<u32> = digits.iter().rev().map(|&d| u32::from(d)).collect();
    let mut groups: Vec<u32> = Vec::new();
    while n.iter().any(|&d| d != 0) {
        let mut rem = 0u32;
        for d in n.iter_mut() {
            let cur = (rem << 15) | *d;
            *d = cur / 10_000;
            rem = cur % 10_000;
        }
        groups.push(rem);
        let zeros = n.iter().take_while(|&&d| d == 0).count();
        n.drain(..zeros);
    }
    let mut out = String::new();
    for (i, g) in groups.iter().rev().enumerate() {
        if i == 0 {
            let _ = write!(out, "{g}");
        } else {
            let _ = write!(out, "{g:04}");
        }
    }
    if out.is_empty() {
        out.push('0');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    fn t() -> &'static OpcodeTable {
        OpcodeTable::for_version(3, 12).unwrap()
    }

    #[test]
    fn floats_match_python() {
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-0.0, "-0.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123.456, "123.456"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::INFINITY, "inf"),
            (2.5e100, "2.5e+100"),
        ];
        for (v, want) in cases {
            assert_eq!(float_repr(v, true), want, "{v}");
        }
        assert_eq!(complex_repr(0.0, 2.0), "2j");
        assert_eq!(complex_repr(1.0, -2.5), "(1-2.5j)");
        assert_eq!(complex_repr(-0.0, 1.0), "(-0+1j)");
    }

    #[test]
    fn strings_match_python() {
        let s = |text: &str| repr(&Obj::Str(text.into()), t());
        assert_eq!(s("it's"), "\"it's\"");
        assert_eq!(s("a'\"b"), "'a\\'\"b'");
        assert_eq!(s("tab\there\n\x00\x7f"), "'tab\\there\\n\\x00\\x7f'");
        assert_eq!(s("é\u{200b}\u{a0}\u{10ffff}"), "'é\\u200b\\xa0\\U0010ffff'");
        assert_eq!(
            repr(&Obj::WideStr(Rc::from(&[0x61, 0xdc80][..])), t()),
            "'a\\udc80'"
        );
        assert_eq!(
            repr(&Obj::Bytes(Rc::from(&b"a'\x00\xff"[..])), t()),
            "b\"a'\\x00\\xff\""
        );
    }

    #[test]
    fn containers_and_ints() {
        let one = Obj::Int(1);
        let tuple = Obj::Tuple(Rc::from(vec![one.clone()]));
        assert_eq!(repr(&tuple, t()), "(1,)");
        assert_eq!(
            repr(&Obj::FrozenSet(Rc::from(vec![one, Obj::None])), t()),
            "frozenset({1, None})"
        );
        // 2**64 = 16 * 2**60: digits (0, 0, 0, 0, 16) in base 2**15.
        let big = Obj::BigInt {
            negative: true,
            digits: Rc::from(&[0u16, 0, 0, 0, 16][..]),
        };
        assert_eq!(repr(&big, t()), "-18446744073709551616");
    }
}
