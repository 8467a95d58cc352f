//! Decoders for `co_linetable`, the table that maps a code object's instructions to lines.
//! `spans_310`/`spans_311` give every entry with its line or `None` (what `co_lines()`
//! yields); `decode_310`/`decode_311` merge them into byte ranges where line 0 marks
//! instructions without a line.

use crate::model::LineRange;

/// One entry of a line table: bytes `start..end` are on `line` (`None`: no line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineSpan {
    pub start: u32,
    pub end: u32,
    pub line: Option<u32>,
}

/// CPython 3.10: byte ranges and their lines, merged where the line continues.
pub fn decode_310(table: &[u8], firstlineno: u32) -> Vec<LineRange> {
    merge(spans_310(table, firstlineno))
}

/// CPython 3.11+: byte ranges and their lines, merged where the line continues.
pub fn decode_311(table: &[u8], firstlineno: u32) -> Vec<LineRange> {
    merge(spans_311(table, firstlineno))
}

fn merge(spans: Vec<LineSpan>) -> Vec<LineRange> {
    let mut ranges: Vec<LineRange> = Vec::with_capacity(spans.len());
    for s in spans {
        push(&mut ranges, s.start, s.end, s.line.unwrap_or(0));
    }
    ranges
}

/// CPython 3.10: pairs of (bytes covered: u8, line delta: i8); a delta of -128 means "no line".
/// The running line starts at `co_firstlineno` (Objects/lnotab_notes.txt of 3.10).
pub fn spans_310(table: &[u8], firstlineno: u32) -> Vec<LineSpan> {
    let mut spans = Vec::with_capacity(table.len() / 2);
    let mut line = i64::from(firstlineno);
    let mut end = 0u32;
    for pair in table.chunks_exact(2) {
        let start = end;
        end += u32::from(pair[0]);
        let delta = pair[1] as i8;
        let this = if delta == -128 {
            None
        } else {
            line += i64::from(delta);
            Some(line.max(0) as u32)
        };
        if start != end {
            spans.push(LineSpan {
                start,
                end,
                line: this,
            });
        }
    }
    spans
}

/// CPython 3.11+: the location table. Each entry starts with a byte `1 CCCC LLL`: code `C`
/// says how the line changes, `L + 1` is the number of 2-byte code units covered. Codes 0-9
/// keep the line (short column forms), 10-12 add `C - 10`, 13 adds a signed varint, 14 adds a
/// signed varint followed by three more varints (end line, columns), 15 means "no location"
/// (InternalDocs/locations.md, Objects/locations.md in 3.11).
pub fn spans_311(table: &[u8], firstlineno: u32) -> Vec<LineSpan> {
    let mut spans = Vec::with_capacity(table.len() / 2);
    let mut line = i64::from(firstlineno);
    let mut at = 0usize;
    let mut offset = 0u32;
    while at < table.len() {
        let first = table[at];
        at += 1;
        let code = (first >> 3) & 15;
        let units = u32::from(first & 7) + 1;
        let this = match code {
            15 => None,
            14 => {
                line += signed_varint(table, &mut at);
                for _ in 0..3 {
                    varint(table, &mut at);
                }
                Some(line)
            }
            13 => {
                line += signed_varint(table, &mut at);
                Some(line)
            }
            10..=12 => {
                line += i64::from(code - 10);
                at += 2;
                Some(line)
            }
            _ => {
                at += 1;
                Some(line)
            }
        };
        let start = offset;
        offset += units * 2;
        spans.push(LineSpan {
            start,
            end: offset,
            line: this.map(|l| l.max(0) as u32),
        });
    }
    spans
}

/// Appends a range, merging it into the previous one when it continues the same line.
fn push(ranges: &mut Vec<LineRange>, start: u32, end: u32, line: u32) {
    if start == end {
        return;
    }
    match ranges.last_mut() {
        Some(last) if last.end == start && last.line == line => last.end = end,
        _ => ranges.push(LineRange { start, end, line }),
    }
}

/// A varint of 6-bit groups, least significant first; bit 6 says another group follows.
fn varint(table: &[u8], at: &mut usize) -> u64 {
    let mut value = 0u64;
    let mut shift = 0u32;
    while let Some(&byte) = table.get(*at) {
        *at += 1;
        if shift < 64 {
            value |= u64::from(byte & 63) << shift;
        }
        shift += 6;
        if byte & 64 == 0 {
            break;
        }
    }
    value
}

/// A varint whose lowest bit is the sign.
fn signed_varint(table: &[u8], at: &mut usize) -> i64 {
    let raw = varint(table, at);
    let magnitude = (raw >> 1) as i64;
    if raw & 1 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u32, end: u32, line: u32) -> LineRange {
        LineRange { start, end, line }
    }

    /// The first byte of a location entry: code `code`, covering `units` code units.
    fn entry(code: u8, units: u8) -> u8 {
        0x80 | code << 3 | (units - 1)
    }

    #[test]
    fn decodes_310_pairs() {
        // 6 bytes at line 10 (+0), 4 bytes at 11, 2 bytes without a line, 2 bytes at 13.
        let table = [6u8, 0, 4, 1, 2, 0x80, 2, 2];
        assert_eq!(
            decode_310(&table, 10),
            vec![r(0, 6, 10), r(6, 10, 11), r(10, 12, 0), r(12, 14, 13)]
        );
    }

    #[test]
    fn decodes_311_entry_forms() {
        let table = [
            entry(13, 1),
            0, // code 13, 1 unit, line delta +0 (varint 0)
            entry(11, 2),
            4,
            8,            // code 11, 2 units, line +1, two column bytes
            entry(15, 1), // code 15, 1 unit, no location
            entry(14, 1),
            5,
            0,
            1,
            2, // code 14, 1 unit, line -2, end line, columns
            entry(3, 3),
            7, // code 3 (short form), 3 units, same line
        ];
        assert_eq!(
            decode_311(&table, 20),
            vec![r(0, 2, 20), r(2, 6, 21), r(6, 8, 0), r(8, 16, 19)]
        );
    }

    #[test]
    fn long_varints_keep_their_high_groups() {
        let table = [entry(13, 1), 0x40 | 8, 1]; // +(8 | 1 << 6) >> 1 = +36
        assert_eq!(decode_311(&table, 1), vec![r(0, 2, 37)]);
    }

    #[test]
    fn garbage_never_panics() {
        for seed in 0u8..=255 {
            let table: Vec<u8> = (0..37)
                .map(|i| seed.wrapping_mul(31).wrapping_add(i * 7))
                .collect();
            let _ = decode_311(&table, 1);
            let _ = decode_310(&table, 1);
        }
    }
}
