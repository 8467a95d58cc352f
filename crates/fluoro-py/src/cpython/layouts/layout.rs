//! What a layout says: where the interpreter keeps what fluoro reads.

/// Byte offsets (and a few sizes) of the interpreter structures the sampler reads.
///
/// Thread states hang off the interpreter (`threads.head`, `next`). The current frame is
/// `tstate->frame` on 3.10 (a `PyFrameObject`), `tstate->cframe->current_frame` on 3.11 and
/// 3.12, and `tstate->current_frame` on 3.13+ (both `_PyInterpreterFrame`s).
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub version: (u8, u8),
    pub interp_threads_head: usize,
    pub tstate_next: usize,
    pub tstate_thread_id: usize,
    pub tstate_native_thread_id: Option<usize>,
    pub tstate_frame: Option<usize>,
    /// 3.11+: the thread's frames live in chunks of a data stack; the newest chunk and the
    /// top of the used part, so the sampler can copy a whole stack in one read.
    pub tstate_datastack_chunk: Option<usize>,
    pub tstate_datastack_top: Option<usize>,
    pub tstate_cframe: Option<usize>,
    pub cframe_current_frame: Option<usize>,
    pub frame_previous: usize,
    pub frame_code: usize,
    /// 3.10: `f_lasti`, an `int` counting 2-byte code units; 3.11/3.12: `prev_instr`, 3.13:
    /// `instr_ptr`, pointers into the code object's `co_code_adaptive`.
    pub frame_instr: usize,
    pub frame_owner: Option<usize>,
    /// 3.11-3.13: `stacktop`, an `int`: -1 while the frame runs, its stack's depth while it
    /// runs a callee pushed on the data stack.
    pub frame_stacktop: Option<usize>,
    /// 3.11: `is_entry`, set on a frame pushed for a call from C.
    pub frame_is_entry: Option<usize>,
    /// 3.11+: the `owner` of a generator's or coroutine's frame, which lives in its object at
    /// `gen_iframe` bytes from its start.
    pub frame_owner_generator: Option<u8>,
    pub gen_iframe: Option<usize>,
    /// 3.10: the frame object's `f_state` (a `signed char`) and `f_gen` (its generator).
    pub frame_state: Option<usize>,
    pub frame_gen: Option<usize>,
    /// 3.12+: frames whose `owner` is at least this hold no Python code of their own (shims
    /// pushed for calls from C, the interpreter's entry frame) and are skipped.
    pub frame_shim_owner: Option<u8>,
    /// Low bits of the frame's code word that are tags, not address: 3.14 made `f_executable`
    /// a `_PyStackRef`, whose low bits say how the reference is counted.
    pub frame_executable_tags: usize,
    pub code_filename: usize,
    pub code_name: usize,
    pub code_qualname: Option<usize>,
    pub code_firstlineno: usize,
    pub code_linetable: usize,
    pub code_consts: usize,
    pub code_adaptive: Option<usize>,
    /// The data-stack words a frame of a code object takes (a call pushes its frame right
    /// after its caller's): `co_framesize` from 3.12; on 3.11 `co_nlocalsplus + co_stacksize`
    /// plus the frame's own `frame_specials` words.
    pub code_framesize: Option<usize>,
    pub code_nlocalsplus: Option<usize>,
    pub code_stacksize: Option<usize>,
    pub frame_specials: Option<usize>,
    pub object_type: usize,
    pub var_size: usize,
    pub bytes_data: usize,
    pub unicode_length: usize,
    pub unicode_state: usize,
    pub unicode_ascii_size: usize,
    pub unicode_compact_size: usize,
    /// 3.10/3.11: the GIL is embedded in `_PyRuntime.ceval`; 3.12+: `interp->ceval.gil` points
    /// to it.
    pub runtime_gil: Option<usize>,
    /// 3.10/3.11: `_PyRuntime.gilstate.tstate_current`, the thread state of the GIL holder.
    pub runtime_tstate_current: Option<usize>,
    pub interp_gil: Option<usize>,
    /// `_PyRuntime.interpreters.main` and `_PyRuntime.main_thread`: how another process's
    /// main interpreter and main thread are found.
    pub runtime_interp_main: usize,
    pub runtime_main_thread: usize,
    pub gil_locked: usize,
    pub gil_last_holder: usize,
    /// A frame's local variables: its slots after the fixed part, one word each (3.14+: a
    /// `_PyStackRef`), named by the code object's names tuple at `code_local_names`
    /// (`co_localsplusnames`; 3.10: `co_varnames`, then `co_cellvars` and `co_freevars`).
    pub frame_localsplus: usize,
    pub code_local_names: usize,
    pub code_cell_names: Option<usize>,
    pub code_free_names: Option<usize>,
    /// 3.14+: the tag of a `_PyStackRef` that holds a small int itself, shifted left by 2.
    pub stackref_int_tag: Option<usize>,
    /// What a bounded repr reads of an object: the type's `tp_name` (a C string), the items
    /// of a tuple, the lengths of a dict and a set, a float's value, a cell's contents.
    pub type_name: usize,
    pub tuple_items: usize,
    pub dict_used: usize,
    pub set_used: usize,
    pub float_value: usize,
    pub cell_ref: usize,
    /// An int's size and sign: `ob_size` (negative for negative ints) to 3.11, the tag word
    /// `lv_tag` from 3.12 (digits << 3 | sign: 0 positive, 1 zero, 2 negative); then its
    /// digits, `long_shift` bits each, in `long_digit_size` bytes, least significant first.
    pub long_tag: Option<usize>,
    pub long_digits: usize,
    pub long_shift: usize,
    pub long_digit_size: usize,
}

impl Layout {
    /// Whether a frame with this `owner` byte holds no Python code of its own.
    pub fn is_shim(&self, owner: u8) -> bool {
        self.frame_shim_owner.is_some_and(|first| owner >= first)
    }

    /// The object a frame's word points to, its tags cleared (a `_PyStackRef` from 3.14): the
    /// code object (or other executable) of its code word, a local's value; 0 for none.
    pub fn stack_ref_object(&self, word: usize) -> usize {
        word & !self.frame_executable_tags
    }

    /// The small int a 3.14+ local's slot holds itself, if it holds one.
    pub fn slot_int(&self, word: usize) -> Option<i64> {
        let tag = self.stackref_int_tag?;
        ((word & self.frame_executable_tags) == tag).then_some((word as i64) >> 2)
    }

    /// Whether frames are 3.10's `PyFrameObject`s, whose `f_lasti` counts code units.
    pub fn frame_is_object(&self) -> bool {
        self.code_adaptive.is_none()
    }

    /// Bytes to read from a thread state to see every field used.
    pub fn tstate_span(&self) -> usize {
        [
            Some(self.tstate_next),
            Some(self.tstate_thread_id),
            self.tstate_native_thread_id,
            self.tstate_frame,
            self.tstate_cframe,
            self.tstate_datastack_chunk,
            self.tstate_datastack_top,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0)
            + 8
    }

    /// Whether two copies of one frame, read a moment apart, show the same place in the same
    /// chain: the same link to its caller, the same code and owner, and, unless it is the
    /// innermost frame (which runs on), the same instruction (a caller's moves only when its
    /// call returned).
    pub fn same_chain(&self, first: &[u8], second: &[u8], innermost: bool) -> bool {
        let same = |at: usize, len: usize| first.get(at..at + len) == second.get(at..at + len);
        same(self.frame_previous, 8)
            && same(self.frame_code, 8)
            && self.frame_owner.is_none_or(|at| same(at, 1))
            && (innermost || same(self.frame_instr, 8))
    }

    /// The bytes a frame of the code object read into `code` takes on the data stack (3.11+).
    pub fn frame_bytes(&self, code: &[u8]) -> Option<usize> {
        let int_at = |at: usize| {
            let bytes = code.get(at..at + 4)?;
            usize::try_from(i32::from_ne_bytes(bytes.try_into().ok()?)).ok()
        };
        let words = match (
            self.code_framesize,
            self.code_nlocalsplus,
            self.code_stacksize,
        ) {
            (Some(at), _, _) => int_at(at)?,
            (None, Some(locals), Some(stack)) => {
                int_at(locals)? + int_at(stack)? + self.frame_specials?
            }
            _ => return None,
        };
        Some(words * 8)
    }

    /// 3.10: whether the frame object read into `frame` is one a thread is running. A frame
    /// freed to the free list or kept as its code's zombie has no references left, and its
    /// `f_back` is stale (on the free list, the next free frame); one that returned, raised
    /// or yielded is no longer running either (a generator's `f_back` is cleared then). A
    /// running frame is executing or unwinding; the innermost may also be just made. A
    /// generator's frame with no caller was read as it was resumed (its caller is linked
    /// first, its state set after; the read can see the one before and the other after), and
    /// a just-made frame with none is a generator's being made, its caller already unlinked.
    /// Always true where frames are not objects.
    pub fn frame_is_running(&self, frame: &[u8], innermost: bool) -> bool {
        const CREATED: i8 = -2;
        const EXECUTING: i8 = 0;
        const UNWINDING: i8 = 2;
        let Some(at) = self.frame_state else {
            return true;
        };
        let referenced = frame
            .get(..8)
            .is_some_and(|count| isize::from_ne_bytes(count.try_into().unwrap_or_default()) > 0);
        let Some(&state) = frame.get(at) else {
            return false;
        };
        let state = state as i8;
        let word = |at: usize| {
            frame.get(at..at + 8).map_or(0, |w| {
                usize::from_ne_bytes(w.try_into().unwrap_or_default())
            })
        };
        let generator = self.frame_gen.is_some_and(|gen| word(gen) != 0);
        let orphan = word(self.frame_previous) == 0 && (generator || state == CREATED);
        referenced
            && !orphan
            && (state == EXECUTING || state == UNWINDING || (innermost && state == CREATED))
    }

    /// Bytes to read from a frame.
    pub fn frame_span(&self) -> usize {
        [
            Some(self.frame_previous),
            Some(self.frame_code),
            Some(self.frame_instr),
            self.frame_owner,
            self.frame_stacktop,
            self.frame_is_entry,
            self.frame_state,
            self.frame_gen,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0)
            + 8
    }

    /// 3.11-3.13: whether the frame read into `frame` runs a callee it pushed on the data
    /// stack, as it must to be that callee's caller: a frame saves its stack's depth when it
    /// makes such a call and sets it to -1 when it runs again. `None` where it cannot tell
    /// (3.10, 3.14+).
    pub fn runs_a_callee(&self, frame: &[u8]) -> Option<bool> {
        let at = self.frame_stacktop?;
        let bytes = frame.get(at..at + 4)?;
        Some(i32::from_ne_bytes(bytes.try_into().ok()?) >= 0)
    }

    /// 3.11: whether the frame read into `frame` was pushed for a call from C (its caller may
    /// be running C code, not a call of its own). Later versions put a frame of the C stack
    /// between the two.
    pub fn is_entry(&self, frame: &[u8]) -> bool {
        self.frame_is_entry
            .and_then(|at| frame.get(at))
            .is_some_and(|&b| b != 0)
    }

    /// Bytes to read from a code object.
    pub fn code_span(&self) -> usize {
        [
            Some(self.object_type),
            Some(self.code_filename),
            Some(self.code_name),
            self.code_qualname,
            Some(self.code_firstlineno),
            Some(self.code_linetable),
            self.code_framesize,
            self.code_nlocalsplus,
            self.code_stacksize,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0)
            + 8
    }
}

/// A field of the interpreter's own `_Py_DebugOffsets` (3.13+) that a [`Layout`] also has:
/// what the running interpreter says there must equal what fluoro was built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugField {
    InterpThreadsHead,
    InterpGil,
    /// Where the interpreter's own GIL starts: only the anchor of the two below, which
    /// `_Py_DebugOffsets` counts from the interpreter state and a layout from the GIL.
    InterpGilState,
    GilLocked,
    GilLastHolder,
    TstateNext,
    TstateCurrentFrame,
    TstateThreadId,
    TstateNativeThreadId,
    TstateDatastackChunk,
    FramePrevious,
    FrameExecutable,
    FrameInstrPtr,
    FrameOwner,
    CodeFilename,
    CodeName,
    CodeQualname,
    CodeLinetable,
    CodeFirstlineno,
    CodeAdaptive,
    ObjectType,
    BytesSize,
    BytesData,
    UnicodeState,
    UnicodeLength,
    UnicodeAsciiSize,
    UnicodeCompactSize,
    FrameLocalsplus,
    CodeLocalsplusnames,
    TypeName,
    TupleItems,
    FloatValue,
    LongTag,
    LongDigits,
    SetUsed,
}

impl DebugField {
    /// The C name of the field, as a user would look it up in CPython's headers.
    pub fn c_name(self) -> &'static str {
        match self {
            DebugField::InterpThreadsHead => "PyInterpreterState.threads.head",
            DebugField::InterpGil => "PyInterpreterState.ceval.gil",
            DebugField::InterpGilState => "PyInterpreterState._gil",
            DebugField::GilLocked => "_gil_runtime_state.locked",
            DebugField::GilLastHolder => "_gil_runtime_state.last_holder",
            DebugField::TstateNext => "PyThreadState.next",
            DebugField::TstateCurrentFrame => "PyThreadState.current_frame",
            DebugField::TstateThreadId => "PyThreadState.thread_id",
            DebugField::TstateNativeThreadId => "PyThreadState.native_thread_id",
            DebugField::TstateDatastackChunk => "PyThreadState.datastack_chunk",
            DebugField::FramePrevious => "_PyInterpreterFrame.previous",
            DebugField::FrameExecutable => "_PyInterpreterFrame.f_executable",
            DebugField::FrameInstrPtr => "_PyInterpreterFrame.instr_ptr",
            DebugField::FrameOwner => "_PyInterpreterFrame.owner",
            DebugField::CodeFilename => "PyCodeObject.co_filename",
            DebugField::CodeName => "PyCodeObject.co_name",
            DebugField::CodeQualname => "PyCodeObject.co_qualname",
            DebugField::CodeLinetable => "PyCodeObject.co_linetable",
            DebugField::CodeFirstlineno => "PyCodeObject.co_firstlineno",
            DebugField::CodeAdaptive => "PyCodeObject.co_code_adaptive",
            DebugField::ObjectType => "PyObject.ob_type",
            DebugField::BytesSize => "PyVarObject.ob_size",
            DebugField::BytesData => "PyBytesObject.ob_sval",
            DebugField::UnicodeState => "PyASCIIObject.state",
            DebugField::UnicodeLength => "PyASCIIObject.length",
            DebugField::UnicodeAsciiSize => "sizeof(PyASCIIObject)",
            DebugField::UnicodeCompactSize => "sizeof(PyCompactUnicodeObject)",
            DebugField::FrameLocalsplus => "_PyInterpreterFrame.localsplus",
            DebugField::CodeLocalsplusnames => "PyCodeObject.co_localsplusnames",
            DebugField::TypeName => "PyTypeObject.tp_name",
            DebugField::TupleItems => "PyTupleObject.ob_item",
            DebugField::FloatValue => "PyFloatObject.ob_fval",
            DebugField::LongTag => "PyLongObject.long_value.lv_tag",
            DebugField::LongDigits => "PyLongObject.long_value.ob_digit",
            DebugField::SetUsed => "PySetObject.used",
        }
    }

    /// The value `layout` was built with, `None` for a field it has no use for.
    pub fn expected(self, layout: &Layout) -> Option<usize> {
        match self {
            DebugField::InterpThreadsHead => Some(layout.interp_threads_head),
            DebugField::InterpGil => layout.interp_gil,
            DebugField::InterpGilState => None,
            DebugField::GilLocked => Some(layout.gil_locked),
            DebugField::GilLastHolder => Some(layout.gil_last_holder),
            DebugField::TstateNext => Some(layout.tstate_next),
            DebugField::TstateCurrentFrame => layout.tstate_frame,
            DebugField::TstateThreadId => Some(layout.tstate_thread_id),
            DebugField::TstateNativeThreadId => layout.tstate_native_thread_id,
            DebugField::TstateDatastackChunk => layout.tstate_datastack_chunk,
            DebugField::FramePrevious => Some(layout.frame_previous),
            DebugField::FrameExecutable => Some(layout.frame_code),
            DebugField::FrameInstrPtr => Some(layout.frame_instr),
            DebugField::FrameOwner => layout.frame_owner,
            DebugField::CodeFilename => Some(layout.code_filename),
            DebugField::CodeName => Some(layout.code_name),
            DebugField::CodeQualname => layout.code_qualname,
            DebugField::CodeLinetable => Some(layout.code_linetable),
            DebugField::CodeFirstlineno => Some(layout.code_firstlineno),
            DebugField::CodeAdaptive => layout.code_adaptive,
            DebugField::ObjectType => Some(layout.object_type),
            DebugField::BytesSize => Some(layout.var_size),
            DebugField::BytesData => Some(layout.bytes_data),
            DebugField::UnicodeState => Some(layout.unicode_state),
            DebugField::UnicodeLength => Some(layout.unicode_length),
            DebugField::UnicodeAsciiSize => Some(layout.unicode_ascii_size),
            DebugField::UnicodeCompactSize => Some(layout.unicode_compact_size),
            DebugField::FrameLocalsplus => Some(layout.frame_localsplus),
            DebugField::CodeLocalsplusnames => Some(layout.code_local_names),
            DebugField::TypeName => Some(layout.type_name),
            DebugField::TupleItems => Some(layout.tuple_items),
            DebugField::FloatValue => Some(layout.float_value),
            DebugField::LongTag => layout.long_tag,
            DebugField::LongDigits => Some(layout.long_digits),
            DebugField::SetUsed => Some(layout.set_used),
        }
    }

    /// The field whose value this one is counted from in `_Py_DebugOffsets`, if any.
    pub fn counted_from(self) -> Option<DebugField> {
        match self {
            DebugField::GilLocked | DebugField::GilLastHolder => Some(DebugField::InterpGilState),
            _ => None,
        }
    }
}
