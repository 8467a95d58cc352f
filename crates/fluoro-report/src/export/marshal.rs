//! A writer for the subset of CPython's `marshal` format that `.pstats` files use: dicts,
//! tuples, ints, floats and strings, in type codes every CPython from 3.4 on reads.

/// A value to marshal.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Str(String),
    Tuple(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

// Type codes from CPython's Python/marshal.c.
const TYPE_NULL: u8 = b'0';
const TYPE_INT: u8 = b'i';
const TYPE_LONG: u8 = b'l';
const TYPE_BINARY_FLOAT: u8 = b'g';
const TYPE_UNICODE: u8 = b'u';
const TYPE_SHORT_ASCII: u8 = b'z';
const TYPE_TUPLE: u8 = b'(';
const TYPE_SMALL_TUPLE: u8 = b')';
const TYPE_DICT: u8 = b'{';

/// `TYPE_LONG` stores magnitudes in base 2**15 digits, least significant first.
const LONG_SHIFT: u32 = 15;

/// The marshal bytes of `value`.
pub fn dumps(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out, value);
    out
}

fn write(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Int(n) => match i32::try_from(*n) {
            Ok(small) => {
                out.push(TYPE_INT);
                out.extend_from_slice(&small.to_le_bytes());
            }
            Err(_) => write_long(out, *n),
        },
        Value::Float(x) => {
            out.push(TYPE_BINARY_FLOAT);
            out.extend_from_slice(&x.to_le_bytes());
        }
        Value::Str(s) => {
            if s.is_ascii() && s.len() < 256 {
                out.push(TYPE_SHORT_ASCII);
                out.push(s.len() as u8);
            } else {
                out.push(TYPE_UNICODE);
                out.extend_from_slice(&len32(s.len()));
            }
            out.extend_from_slice(s.as_bytes());
        }
        Value::Tuple(items) => {
            if items.len() < 256 {
                out.push(TYPE_SMALL_TUPLE);
                out.push(items.len() as u8);
            } else {
                out.push(TYPE_TUPLE);
                out.extend_from_slice(&len32(items.len()));
            }
            for item in items {
                write(out, item);
            }
        }
        Value::Dict(pairs) => {
            out.push(TYPE_DICT);
            for (k, v) in pairs {
                write(out, k);
                write(out, v);
            }
            out.push(TYPE_NULL);
        }
    }
}

/// A length as marshal's 32-bit little-endian count; larger objects cannot be marshalled, and
/// no pstats table comes near 2**31 entries, so the count saturates rather than fails.
fn len32(n: usize) -> [u8; 4] {
    i32::try_from(n).unwrap_or(i32::MAX).to_le_bytes()
}

/// An integer outside 32 bits: a signed digit count, then 15-bit digits.
fn write_long(out: &mut Vec<u8>, n: i64) {
    let mut magnitude = n.unsigned_abs();
    let mut digits: Vec<u16> = Vec::new();
    while magnitude > 0 {
        digits.push((magnitude & ((1 << LONG_SHIFT) - 1)) as u16);
        magnitude >>= LONG_SHIFT;
    }
    let count = digits.len() as i32;
    out.push(TYPE_LONG);
    out.extend_from_slice(&(if n < 0 { -count } else { count }).to_le_bytes());
    for d in digits {
        out.extend_from_slice(&d.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_match_cpython_bytes() {
        // Bytes as `marshal.dumps` gives them in CPython 3.11 (refs flag cleared).
        assert_eq!(dumps(&Value::Int(1)), b"i\x01\x00\x00\x00");
        assert_eq!(dumps(&Value::Str("ab".into())), b"z\x02ab");
        assert_eq!(
            dumps(&Value::Float(1.5)),
            b"g\x00\x00\x00\x00\x00\x00\xf8\x3f"
        );
        assert_eq!(
            dumps(&Value::Tuple(vec![Value::Int(0)])),
            b")\x01i\x00\x00\x00\x00"
        );
        assert_eq!(dumps(&Value::Dict(Vec::new())), b"{0");
        // 2**40: three digits 0, 0, 1024.
        assert_eq!(
            dumps(&Value::Int(1 << 40)),
            b"l\x03\x00\x00\x00\x00\x00\x00\x00\x00\x04"
        );
        assert_eq!(
            dumps(&Value::Int(-(1 << 40))),
            b"l\xfd\xff\xff\xff\x00\x00\x00\x00\x00\x04"
        );
    }

    #[test]
    fn long_strings_and_tuples_use_the_long_forms() {
        let s = "é".repeat(3);
        let bytes = dumps(&Value::Str(s.clone()));
        assert_eq!(bytes[0], TYPE_UNICODE);
        assert_eq!(&bytes[1..5], &(s.len() as u32).to_le_bytes());
        let t = dumps(&Value::Tuple(vec![Value::Int(0); 300]));
        assert_eq!(t[0], TYPE_TUPLE);
        assert_eq!(&t[1..5], &300u32.to_le_bytes());
    }

    /// CPython itself reads the bytes back, when a `python3` is on PATH.
    #[test]
    fn cpython_loads_them() {
        let value = Value::Dict(vec![(
            Value::Tuple(vec![
                Value::Str("~".into()),
                Value::Int(0),
                Value::Str("<built-in méthode>".into()),
            ]),
            Value::Tuple(vec![
                Value::Int(-7),
                Value::Int(1 << 40),
                Value::Int(-(1 << 50) - 3),
                Value::Float(0.25),
                Value::Tuple(vec![Value::Int(0); 300]),
            ]),
        )]);
        let path = crate::testing::scratch("marshal.bin");
        std::fs::write(&path, dumps(&value)).unwrap();
        let script = "import marshal,sys\nd = marshal.load(open(sys.argv[1],'rb'))\n(k, v), = d.items()\nassert k == ('~', 0, '<built-in méthode>'), k\nassert v[:4] == (-7, 2**40, -(2**50) - 3, 0.25), v[:4]\nassert v[4] == (0,) * 300\nprint('ok')";
        let Some(text) = crate::testing::run_tool("python3", &["-c", script], &path) else {
            return;
        };
        assert_eq!(text.trim(), "ok");
    }
}
