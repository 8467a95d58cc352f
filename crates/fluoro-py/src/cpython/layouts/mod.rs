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
}
