//! Where the interpreter keeps what the sampler reads, per CPython version: offsets and sizes
//! generated from each version's own headers by `scripts/gen_layouts.py`. Adding a version is
//! one generated file and one line in [`for_version`] (and, from 3.13, in [`debug_offsets`]).

mod layout;
mod v3_10;
mod v3_11;
mod v3_12;
mod v3_13;
mod v3_14;
mod v3_15;

pub use layout::{DebugField, Layout};

/// The layout of CPython `major.minor`, if fluoro has one.
pub fn for_version(major: u8, minor: u8) -> Option<&'static Layout> {
    match (major, minor) {
        (3, 10) => Some(&v3_10::LAYOUT),
        (3, 11) => Some(&v3_11::LAYOUT),
        (3, 12) => Some(&v3_12::LAYOUT),
        (3, 13) => Some(&v3_13::LAYOUT),
        (3, 14) => Some(&v3_14::LAYOUT),
        (3, 15) => Some(&v3_15::LAYOUT),
        _ => None,
    }
}

/// Where CPython `major.minor`'s own `_Py_DebugOffsets` keeps the offsets its layout has:
/// 3.13+, the versions that have that struct.
pub fn debug_offsets(major: u8, minor: u8) -> Option<&'static [(DebugField, usize)]> {
    match (major, minor) {
        (3, 13) => Some(v3_13::DEBUG_OFFSETS),
        (3, 14) => Some(v3_14::DEBUG_OFFSETS),
        (3, 15) => Some(v3_15::DEBUG_OFFSETS),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_names_one_way_to_the_current_frame() {
        for minor in 10..=15 {
            let l = for_version(3, minor).unwrap();
            assert_eq!(l.version, (3, minor));
            let direct = l.tstate_frame.is_some();
            let via_cframe = l.tstate_cframe.is_some() && l.cframe_current_frame.is_some();
            assert!(direct != via_cframe, "3.{minor}");
            assert!(
                l.runtime_gil.is_some() != l.interp_gil.is_some(),
                "3.{minor}"
            );
            assert_eq!(l.frame_is_object(), minor == 10);
            assert_eq!(l.frame_shim_owner.is_some(), minor >= 12, "3.{minor}");
            assert_eq!(l.frame_executable_tags != 0, minor >= 14, "3.{minor}");
        }
    }

    #[test]
    fn a_frame_says_whether_it_runs_a_callee_where_the_version_keeps_it() {
        for minor in 10..=15 {
            let l = for_version(3, minor).unwrap();
            let mut frame = vec![0u8; l.frame_span()];
            match l.frame_stacktop {
                Some(at) => {
                    assert!((11..=13).contains(&minor), "3.{minor}");
                    frame[at..at + 4].copy_from_slice(&(-1i32).to_ne_bytes());
                    assert_eq!(l.runs_a_callee(&frame), Some(false));
                    frame[at..at + 4].copy_from_slice(&3i32.to_ne_bytes());
                    assert_eq!(l.runs_a_callee(&frame), Some(true));
                    frame[at..at + 4].copy_from_slice(&0i32.to_ne_bytes());
                    assert_eq!(l.runs_a_callee(&frame), Some(true));
                }
                None => {
                    assert!(!(11..=13).contains(&minor), "3.{minor}");
                    assert_eq!(l.runs_a_callee(&frame), None);
                }
            }
            assert!(!l.is_entry(&frame));
            if let Some(at) = l.frame_is_entry {
                assert_eq!(minor, 11);
                frame[at] = 1;
                assert!(l.is_entry(&frame));
            }
        }
        // A frame read short says nothing.
        assert_eq!(for_version(3, 12).unwrap().runs_a_callee(&[0; 8]), None);
    }

    #[test]
    fn every_version_with_debug_offsets_names_each_field_the_layout_reads_once() {
        for minor in 13..=15 {
            let l = for_version(3, minor).unwrap();
            let table = debug_offsets(3, minor).unwrap();
            for (field, _) in table {
                let expected = field.expected(l).is_some() || *field == DebugField::InterpGilState;
                assert!(expected, "3.{minor}: {field:?} has no value in the layout");
                assert_eq!(table.iter().filter(|(f, _)| f == field).count(), 1);
                if let Some(base) = field.counted_from() {
                    assert!(table.iter().any(|(f, _)| *f == base), "3.{minor}: {base:?}");
                }
            }
            // The fields the walker needs most must all be checked.
            for needed in [DebugField::TstateCurrentFrame, DebugField::FrameExecutable] {
                assert!(table.iter().any(|(f, _)| *f == needed), "3.{minor}");
            }
        }
        assert!(debug_offsets(3, 12).is_none());
    }

    #[test]
    fn frame_sizes_are_read_from_each_versions_code_object() {
        let mut code = vec![0u8; 256];
        for minor in 11..=15 {
            let l = for_version(3, minor).unwrap();
            code.fill(0);
            let mut put = |at: usize, value: i32| {
                code[at..at + 4].copy_from_slice(&value.to_ne_bytes());
            };
            match l.code_framesize {
                Some(at) => put(at, 21),
                None => {
                    put(l.code_nlocalsplus.unwrap(), 3);
                    put(l.code_stacksize.unwrap(), 4);
                }
            }
            let expected = match minor {
                11 => (3 + 4 + l.frame_specials.unwrap()) * 8,
                _ => 21 * 8,
            };
            assert_eq!(l.frame_bytes(&code), Some(expected), "3.{minor}");
        }
        assert_eq!(for_version(3, 10).unwrap().frame_bytes(&code), None);
    }

    #[test]
    fn a_310_frame_is_running_only_while_referenced_and_executing() {
        let l = for_version(3, 10).unwrap();
        let at = l.frame_state.unwrap();
        let frame = |refs: isize, state: i8| {
            let mut bytes = vec![0u8; l.frame_span()];
            bytes[..8].copy_from_slice(&refs.to_ne_bytes());
            bytes[at] = state as u8;
            bytes
        };
        // Executing or unwinding: any frame of the chain.
        for state in [0, 2] {
            assert!(l.frame_is_running(&frame(1, state), false));
            assert!(l.frame_is_running(&frame(1, state), true));
        }
        // Just made: only the innermost, and only with a caller.
        let mut made = frame(1, -2);
        assert!(
            !l.frame_is_running(&made, true),
            "a generator's frame being made"
        );
        made[l.frame_previous..][..8].copy_from_slice(&0x2000usize.to_ne_bytes());
        assert!(!l.frame_is_running(&made, false));
        assert!(l.frame_is_running(&made, true));
        // Yielded, returned, raised or cleared (a finished generator's frame lives on in its
        // object, its `f_back` cleared), or freed: none.
        for state in [-1, 1, 3, 4] {
            assert!(!l.frame_is_running(&frame(1, state), true), "state {state}");
        }
        assert!(!l.frame_is_running(&frame(0, 0), true));
        // A generator's frame with no caller: caught as it was resumed.
        let mut resumed = frame(1, 0);
        resumed[l.frame_gen.unwrap()..][..8].copy_from_slice(&0x1000usize.to_ne_bytes());
        assert!(!l.frame_is_running(&resumed, true));
        resumed[l.frame_previous..][..8].copy_from_slice(&0x2000usize.to_ne_bytes());
        assert!(l.frame_is_running(&resumed, true));
        // Versions whose frames are not objects are not judged this way.
        assert!(for_version(3, 13).unwrap().frame_is_running(&[], false));
    }
}
