//! CPython 3.12: offsets and sizes measured from its own headers by
//! scripts/gen_layouts.py (python3). Generated: do not edit.

use super::layout::Layout;

pub const LAYOUT: Layout = Layout {
    version: (3, 12),
    interp_threads_head: 72,
    tstate_next: 8,
    tstate_thread_id: 136,
    tstate_native_thread_id: Some(144),
    tstate_frame: None,
    tstate_datastack_chunk: Some(232),
    tstate_datastack_top: Some(240),
    tstate_cframe: Some(56),
    cframe_current_frame: Some(0),
    frame_previous: 8,
    frame_code: 0,
    frame_instr: 56,
    frame_owner: Some(70),
    code_filename: 112,
    code_name: 120,
    code_qualname: Some(128),
    code_firstlineno: 68,
    code_linetable: 136,
    code_adaptive: Some(192),
    object_type: 8,
    var_size: 16,
    bytes_data: 32,
    unicode_length: 16,
    unicode_state: 32,
    unicode_ascii_size: 40,
    unicode_compact_size: 56,
    runtime_gil: None,
    runtime_tstate_current: None,
    interp_gil: Some(384),
    gil_locked: 16,
    gil_last_holder: 8,
};
