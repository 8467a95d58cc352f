//! CPython 3.11: offsets and sizes measured from its own headers by
//! scripts/gen_layouts.py (python3). Generated: do not edit.

use super::layout::Layout;

pub const LAYOUT: Layout = Layout {
    version: (3, 11),
    interp_threads_head: 16,
    tstate_next: 8,
    tstate_thread_id: 152,
    tstate_native_thread_id: Some(160),
    tstate_frame: None,
    tstate_datastack_chunk: Some(296),
    tstate_datastack_top: Some(304),
    tstate_cframe: Some(56),
    cframe_current_frame: Some(8),
    frame_previous: 48,
    frame_code: 32,
    frame_instr: 56,
    frame_owner: Some(69),
    code_filename: 112,
    code_name: 120,
    code_qualname: Some(128),
    code_firstlineno: 72,
    code_linetable: 136,
    code_adaptive: Some(184),
    object_type: 8,
    var_size: 16,
    bytes_data: 32,
    unicode_length: 16,
    unicode_state: 32,
    unicode_ascii_size: 48,
    unicode_compact_size: 72,
    runtime_gil: Some(360),
    runtime_tstate_current: Some(576),
    interp_gil: None,
    gil_locked: 16,
    gil_last_holder: 8,
};
