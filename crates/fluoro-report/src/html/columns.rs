//! Number columns as the page reads them: each value as an unsigned LEB128 varint, the bytes
//! in base64. A column of small numbers costs about 1.4 characters a value, a third of what
//! a JSON array of the same numbers would, and `atob` reads it back fast.

use serde::{Serialize, Serializer};

/// A column of unsigned integers, serialized as one base64 string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Column {
    bytes: Vec<u8>,
    len: usize,
}

impl Column {
    pub fn push(&mut self, mut value: u64) {
        self.len += 1;
        while value >= 0x80 {
            self.bytes.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    /// The column written as `text` by [`Column::serialize`], read back as the page does.
    #[cfg(test)]
    pub fn from_base64(text: &str) -> Column {
        let bits: Vec<u8> = text
            .bytes()
            .filter(|&c| c != b'=')
            .flat_map(|c| {
                let v = ALPHABET.iter().position(|&a| a == c).unwrap_or(0) as u8;
                (0..6).rev().map(move |i| (v >> i) & 1)
            })
            .collect();
        let bytes: Vec<u8> = bits
            .chunks_exact(8)
            .map(|b| b.iter().fold(0, |acc, &bit| (acc << 1) | bit))
            .collect();
        Column {
            len: bytes.iter().filter(|&&b| b < 0x80).count(),
            bytes,
        }
    }

    /// The values back (the page's decoder does the same in JavaScript).
    #[cfg(test)]
    pub fn values(&self) -> Vec<u64> {
        let mut out = Vec::with_capacity(self.len);
        let (mut value, mut shift) = (0u64, 0);
        for &b in &self.bytes {
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                out.push(value);
                (value, shift) = (0, 0);
            } else {
                shift += 7;
            }
        }
        out
    }
}

impl FromIterator<u64> for Column {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> Self {
        let mut column = Column::default();
        iter.into_iter().for_each(|v| column.push(v));
        column
    }
}

impl Serialize for Column {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64(&self.bytes))
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, as `atob` reads it.
fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_varints() {
        let values = [0, 1, 127, 128, 300, 1 << 35, u64::MAX];
        let column: Column = values.into_iter().collect();
        assert_eq!(column.values(), values);
        assert_eq!(column.len, values.len());
        // One byte below 128, two from 128.
        let small: Column = [5, 127, 128].into_iter().collect();
        assert_eq!(small.bytes, [5, 127, 0x80, 1]);
    }

    #[test]
    fn base64_reads_back() {
        let column: Column = [0, 300, 1 << 40, 7].into_iter().collect();
        let text = serde_json::to_value(&column).unwrap();
        assert_eq!(Column::from_base64(text.as_str().unwrap()), column);
    }

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }
}
