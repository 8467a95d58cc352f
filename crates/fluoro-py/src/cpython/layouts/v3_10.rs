//! CPython 3.10: offsets and sizes measured from its own headers by
//! scripts/gen_layouts.py (python3). Generated: do not edit.

use super::layout::Layout;

pub const LAYOUT: Layout = Layout {
    version: (3, 10),
    interp_threads_head: 8,
    tstate_next: 8,
    tstate_thread_id: 176,
    tstate_native_thread_id: None,
    tstate_frame: Some(24),
    tstate_datastack_chunk: None,
    tstate_datastack_top: None,
    tstate_cframe: None,
    cframe_current_frame: None,
    frame_previous: 24,
    frame_code: 32,
    frame_instr: 96,
    frame_owner: None,
    code_filename: 104,
    code_name: 112,
    code_qualname: None,
    code_firstlineno: 40,
    code_linetable: 120,
    code_adaptive: None,
    object_type: 8,
    var_size: 16,
    bytes_data: 32,
    unicode_length: 16,
    unicode_state: 32,
    unicode_ascii_size: 48,
    unicode_compact_size: 72,
    runtime_gil: Some(352),
    runtime_tstate_current: Some(568),
    interp_gil: None,
    gil_locked: 16,
    gil_last_holder: 8,
};
