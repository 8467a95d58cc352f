//! The start-up check of a compiled [`Layout`] against the running interpreter's own
//! `_Py_DebugOffsets` (3.13+): `_PyRuntime` begins with that struct, where CPython records,
//! for out-of-process debuggers, the offsets it was built with. A patch release that moved a
//! field, a build with other options, or a free-threaded build is found here before the
//! sampler reads a byte, and the sampler takes the GIL instead of reading garbage.

use super::layouts::{DebugField, Layout};
use super::memory;
use std::fmt;

/// `_Py_DebugOffsets.cookie`, the first 8 bytes of `_PyRuntime`.
const COOKIE: &[u8; 8] = b"xdebugpy";
/// `_Py_DebugOffsets.version` (`PY_VERSION_HEX`) and `.free_threaded`, after the cookie.
const VERSION_AT: usize = 8;
const FREE_THREADED_AT: usize = 16;

/// Why the running interpreter cannot be read with a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disagreement {
    /// `_PyRuntime` is not exported, or could not be read.
    Unreadable,
    /// `_PyRuntime` does not begin with the cookie.
    NoCookie,
    /// The struct says another minor version than the layout's.
    Version { live: (u8, u8, u8) },
    /// A free-threaded build (`Py_GIL_DISABLED`): other structures, no GIL to find.
    FreeThreaded,
    /// A field is somewhere else than the layout says.
    Moved {
        field: DebugField,
        live: u64,
        expected: usize,
    },
}

impl fmt::Display for Disagreement {
    /// What the interpreter did, to follow "CPython 3.14.11 " in one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disagreement::Unreadable => f.write_str("has no readable _PyRuntime to check against"),
            Disagreement::NoCookie => f.write_str("has no _Py_DebugOffsets at _PyRuntime"),
            Disagreement::Version { live: (a, b, c) } => {
                write!(f, "says it is {a}.{b}.{c} in _Py_DebugOffsets")
            }
            Disagreement::FreeThreaded => {
                f.write_str("is a free-threaded build, which the memory reader does not read")
            }
            Disagreement::Moved {
                field,
                live,
                expected,
            } => write!(
                f,
                "moved {} ({live}, fluoro expects {expected})",
                field.c_name()
            ),
        }
    }
}

/// Bytes of `_Py_DebugOffsets` to read to see every field of `table`.
pub fn span(table: &[(DebugField, usize)]) -> usize {
    table
        .iter()
        .map(|(_, at)| at + 8)
        .max()
        .unwrap_or(0)
        .max(FREE_THREADED_AT + 8)
}

/// The first disagreement between `layout` and `live`, the bytes at `_PyRuntime`, whose
/// fields `table` places; `Ok` when they agree on every field.
pub fn compare(
    layout: &Layout,
    table: &[(DebugField, usize)],
    live: &[u8],
) -> Result<(), Disagreement> {
    if live.len() < span(table) {
        return Err(Disagreement::Unreadable);
    }
    if &live[..COOKIE.len()] != COOKIE {
        return Err(Disagreement::NoCookie);
    }
    let word = |at: usize| memory::usize_at(live, at) as u64;
    // PY_VERSION_HEX: 0xMMmmpp.. (major, minor, micro, release level and serial).
    let hex = word(VERSION_AT);
    let version = ((hex >> 24) as u8, (hex >> 16) as u8, (hex >> 8) as u8);
    if (version.0, version.1) != layout.version {
        return Err(Disagreement::Version { live: version });
    }
    if word(FREE_THREADED_AT) != 0 {
        return Err(Disagreement::FreeThreaded);
    }
    let position = |field: DebugField| table.iter().find(|(f, _)| *f == field).map(|(_, at)| *at);
    for &(field, at) in table {
        let Some(expected) = field.expected(layout) else {
            continue;
        };
        let base = field.counted_from().and_then(position).map_or(0, &word);
        let live = word(at).wrapping_sub(base);
        if live != expected as u64 {
            return Err(Disagreement::Moved {
                field,
                live,
                expected,
            });
        }
    }
    Ok(())
}

/// Checks `layout` against the interpreter whose `_PyRuntime` is at `runtime`.
pub fn check(
    layout: &Layout,
    table: &[(DebugField, usize)],
    runtime: Option<usize>,
) -> Result<(), Disagreement> {
    let mut live = vec![0u8; span(table)];
    let runtime = runtime.ok_or(Disagreement::Unreadable)?;
    memory::read(runtime, &mut live).map_err(|_| Disagreement::Unreadable)?;
    compare(layout, table, &live)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpython::layouts;

    /// The struct as an interpreter built like `layout` would have it, its GIL at 1000.
    fn agreeing(layout: &Layout, table: &[(DebugField, usize)]) -> Vec<u8> {
        let mut live = vec![0u8; span(table)];
        live[..8].copy_from_slice(COOKIE);
        let (major, minor) = layout.version;
        let hex = (u64::from(major) << 24) | (u64::from(minor) << 16) | (3 << 8) | 0xf0;
        live[VERSION_AT..VERSION_AT + 8].copy_from_slice(&hex.to_ne_bytes());
        for &(field, at) in table {
            let value = match (field.expected(layout), field.counted_from()) {
                (Some(v), Some(_)) => 1000 + v as u64,
                (Some(v), None) => v as u64,
                (None, _) => 1000,
            };
            live[at..at + 8].copy_from_slice(&value.to_ne_bytes());
        }
        live
    }

    fn put(live: &mut [u8], at: usize, value: u64) {
        live[at..at + 8].copy_from_slice(&value.to_ne_bytes());
    }

    fn at(table: &[(DebugField, usize)], field: DebugField) -> usize {
        table.iter().find(|(f, _)| *f == field).unwrap().1
    }

    #[test]
    fn every_layout_agrees_with_an_interpreter_built_like_it() {
        for minor in 13..=15 {
            let layout = layouts::for_version(3, minor).unwrap();
            let table = layouts::debug_offsets(3, minor).unwrap();
            assert_eq!(compare(layout, table, &agreeing(layout, table)), Ok(()));
        }
    }

    #[test]
    fn a_moved_field_is_named_with_both_offsets() {
        let layout = layouts::for_version(3, 14).unwrap();
        let table = layouts::debug_offsets(3, 14).unwrap();
        let mut live = agreeing(layout, table);
        let frame = layout.tstate_frame.unwrap();
        put(
            &mut live,
            at(table, DebugField::TstateCurrentFrame),
            frame as u64 + 8,
        );
        let found = compare(layout, table, &live).unwrap_err();
        assert_eq!(
            found,
            Disagreement::Moved {
                field: DebugField::TstateCurrentFrame,
                live: frame as u64 + 8,
                expected: frame,
            }
        );
        assert_eq!(
            format!("CPython 3.14.11 {found}"),
            format!(
                "CPython 3.14.11 moved PyThreadState.current_frame ({}, fluoro expects {frame})",
                frame + 8
            )
        );
    }

    #[test]
    fn gil_fields_are_counted_from_the_interpreters_own_gil() {
        let layout = layouts::for_version(3, 13).unwrap();
        let table = layouts::debug_offsets(3, 13).unwrap();
        let mut live = agreeing(layout, table);
        // The whole GIL moved within the interpreter state: its fields did not move in it.
        let gil = at(table, DebugField::InterpGilState);
        let locked = at(table, DebugField::GilLocked);
        let holder = at(table, DebugField::GilLastHolder);
        for field_at in [gil, locked, holder] {
            let v = memory::usize_at(&live, field_at) as u64;
            put(&mut live, field_at, v + 64);
        }
        assert_eq!(compare(layout, table, &live), Ok(()));
        put(&mut live, holder, 1064 + layout.gil_last_holder as u64 + 4);
        assert!(matches!(
            compare(layout, table, &live),
            Err(Disagreement::Moved {
                field: DebugField::GilLastHolder,
                ..
            })
        ));
    }

    #[test]
    fn cookie_version_and_free_threading_are_checked_first() {
        let layout = layouts::for_version(3, 15).unwrap();
        let table = layouts::debug_offsets(3, 15).unwrap();
        let good = agreeing(layout, table);

        let mut live = good.clone();
        live[0] = b'X';
        assert_eq!(compare(layout, table, &live), Err(Disagreement::NoCookie));

        let mut live = good.clone();
        put(&mut live, VERSION_AT, 0x030E_0BF0);
        let found = compare(layout, table, &live).unwrap_err();
        assert_eq!(found, Disagreement::Version { live: (3, 14, 11) });
        assert_eq!(found.to_string(), "says it is 3.14.11 in _Py_DebugOffsets");

        let mut live = good.clone();
        put(&mut live, FREE_THREADED_AT, 1);
        assert_eq!(
            compare(layout, table, &live),
            Err(Disagreement::FreeThreaded)
        );

        assert_eq!(
            compare(layout, table, &good[..good.len() - 1]),
            Err(Disagreement::Unreadable)
        );
        assert_eq!(check(layout, table, None), Err(Disagreement::Unreadable));
    }
}
