"""Generates the sampler's per-version memory layouts from each interpreter's own headers.

For every CPython found (3.10-3.13 under /root/.pyenv/versions, 3.14 and 3.15 through
scripts/get-python, or the paths given), this compiles a small C program against
``include/pythonX.Y`` and its ``internal`` headers with ``Py_BUILD_CORE``, prints
``offsetof``/``sizeof`` of every field the sampler reads (and the few constants it compares
with), and writes ``crates/fluoro-py/src/cpython/layouts/vX_Y.rs``. From 3.13 it also prints
where the interpreter's own ``_Py_DebugOffsets`` (the start of ``_PyRuntime``) keeps the same
offsets, as ``DEBUG_OFFSETS``, which the sampler compares with the running interpreter at
start-up. The generated files are committed;
run this again when a supported version's layout may have changed:

    python3 scripts/gen_layouts.py [PYTHON ...]
"""

import glob
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "fluoro-py", "src", "cpython", "layouts")

# Each field: (Rust name, C expression giving a size_t, minimum version or None, maximum or None).
FIELDS = [
    ("interp_threads_head", "offsetof(PyInterpreterState, tstate_head)", None, (3, 10)),
    ("interp_threads_head", "offsetof(PyInterpreterState, threads.head)", (3, 11), None),
    ("tstate_next", "offsetof(PyThreadState, next)", None, None),
    ("tstate_thread_id", "offsetof(PyThreadState, thread_id)", None, None),
    ("tstate_native_thread_id", "offsetof(PyThreadState, native_thread_id)", (3, 11), None),
    ("tstate_frame", "offsetof(PyThreadState, frame)", None, (3, 10)),
    ("tstate_datastack_chunk", "offsetof(PyThreadState, datastack_chunk)", (3, 11), None),
    ("tstate_datastack_top", "offsetof(PyThreadState, datastack_top)", (3, 11), None),
    ("tstate_cframe", "offsetof(PyThreadState, cframe)", (3, 11), (3, 12)),
    ("cframe_current_frame", "offsetof(_PyCFrame, current_frame)", (3, 11), (3, 12)),
    ("tstate_frame", "offsetof(PyThreadState, current_frame)", (3, 13), None),
    ("frame_previous", "offsetof(PyFrameObject, f_back)", None, (3, 10)),
    ("frame_code", "offsetof(PyFrameObject, f_code)", None, (3, 10)),
    ("frame_instr", "offsetof(PyFrameObject, f_lasti)", None, (3, 10)),
    ("frame_previous", "offsetof(_PyInterpreterFrame, previous)", (3, 11), None),
    ("frame_code", "offsetof(_PyInterpreterFrame, f_code)", (3, 11), (3, 12)),
    ("frame_code", "offsetof(_PyInterpreterFrame, f_executable)", (3, 13), None),
    ("frame_instr", "offsetof(_PyInterpreterFrame, prev_instr)", (3, 11), (3, 12)),
    ("frame_instr", "offsetof(_PyInterpreterFrame, instr_ptr)", (3, 13), None),
    ("frame_owner", "offsetof(_PyInterpreterFrame, owner)", (3, 11), None),
    # 3.11-3.13: where a frame keeps its stack's depth while it runs a callee (an `int`): -1
    # while the frame itself runs. 3.14 keeps a pointer there and leaves it set.
    ("frame_stacktop", "offsetof(_PyInterpreterFrame, stacktop)", (3, 11), (3, 13)),
    # 3.11: whether the frame was pushed for a call from C (its caller may run C code).
    ("frame_is_entry", "offsetof(_PyInterpreterFrame, is_entry)", (3, 11), (3, 11)),
    # 3.11+: a generator's or coroutine's frame lives in its object, at `gi_iframe`, and is
    # marked by its owner. The one a thread runs loses its link to its caller as it yields.
    ("frame_owner_generator", "FRAME_OWNED_BY_GENERATOR", (3, 11), None),
    ("gen_iframe", "offsetof(PyGenObject, gi_iframe)", (3, 11), None),
    # 3.10: a frame object's `f_state` (executing, returned, ...): one taken from the free list
    # or left as its code's zombie is not executing, and its `f_back` is stale.
    ("frame_state", "offsetof(PyFrameObject, f_state)", None, (3, 10)),
    # 3.10: the generator a frame belongs to: such a frame has no caller only while suspended.
    ("frame_gen", "offsetof(PyFrameObject, f_gen)", None, (3, 10)),
    # The first `owner` value of frames that hold no Python code of their own (the interpreter's
    # entry frame, frames pushed for calls from C): 3.12/3.13 FRAME_OWNED_BY_CSTACK; 3.14 adds
    # FRAME_OWNED_BY_INTERPRETER before it, and 3.15 keeps only that one.
    ("frame_shim_owner", "FRAME_OWNED_BY_CSTACK", (3, 12), (3, 13)),
    ("frame_shim_owner", "FRAME_OWNED_BY_INTERPRETER", (3, 14), None),
    # Low bits of `f_executable` that are tags, not address: a `_PyStackRef` from 3.14.
    ("frame_executable_tags", "0", None, (3, 13)),
    ("frame_executable_tags", "Py_TAG_BITS", (3, 14), None),
    ("code_filename", "offsetof(PyCodeObject, co_filename)", None, None),
    ("code_name", "offsetof(PyCodeObject, co_name)", None, None),
    ("code_qualname", "offsetof(PyCodeObject, co_qualname)", (3, 11), None),
    ("code_firstlineno", "offsetof(PyCodeObject, co_firstlineno)", None, None),
    ("code_linetable", "offsetof(PyCodeObject, co_linetable)", None, None),
    # The constants, among them the code objects of the functions (and generator
    # expressions) a function makes.
    ("code_consts", "offsetof(PyCodeObject, co_consts)", None, None),
    ("code_adaptive", "offsetof(PyCodeObject, co_code_adaptive)", (3, 11), None),
    # 3.11+: the words a frame of this code takes on the data stack; a call pushes its frame
    # right after its caller's, so frames of one chain in one chunk lie end to end.
    # 3.11 counts them as `_PyFrame_Push` does: locals, stack and the frame's own fields.
    ("code_framesize", "offsetof(PyCodeObject, co_framesize)", (3, 12), None),
    ("code_nlocalsplus", "offsetof(PyCodeObject, co_nlocalsplus)", (3, 11), (3, 11)),
    ("code_stacksize", "offsetof(PyCodeObject, co_stacksize)", (3, 11), (3, 11)),
    ("frame_specials", "FRAME_SPECIALS_SIZE", (3, 11), (3, 11)),
    ("object_type", "offsetof(PyObject, ob_type)", None, None),
    ("var_size", "offsetof(PyVarObject, ob_size)", None, None),
    ("bytes_data", "offsetof(PyBytesObject, ob_sval)", None, None),
    ("unicode_length", "offsetof(PyASCIIObject, length)", None, None),
    ("unicode_state", "offsetof(PyASCIIObject, state)", None, None),
    ("unicode_ascii_size", "sizeof(PyASCIIObject)", None, None),
    ("unicode_compact_size", "sizeof(PyCompactUnicodeObject)", None, None),
    ("runtime_gil", "offsetof(_PyRuntimeState, ceval.gil)", None, (3, 11)),
    ("runtime_tstate_current", "offsetof(_PyRuntimeState, gilstate.tstate_current)", None, (3, 11)),
    ("interp_gil", "offsetof(PyInterpreterState, ceval.gil)", (3, 12), None),
    # Where another process's main interpreter and main thread are found from its `_PyRuntime`.
    ("runtime_interp_main", "offsetof(_PyRuntimeState, interpreters.main)", None, None),
    ("runtime_main_thread", "offsetof(_PyRuntimeState, main_thread)", None, None),
    ("gil_locked", "offsetof(struct _gil_runtime_state, locked)", None, None),
    ("gil_last_holder", "offsetof(struct _gil_runtime_state, last_holder)", None, None),
    # A frame's local variables (`fluoro dump --locals`): the slots after its fixed part, named
    # by the code object's `co_varnames`, `co_cellvars` and `co_freevars` on 3.10 and by
    # `co_localsplusnames` from 3.11.
    ("frame_localsplus", "offsetof(PyFrameObject, f_localsplus)", None, (3, 10)),
    ("frame_localsplus", "offsetof(_PyInterpreterFrame, localsplus)", (3, 11), None),
    ("code_local_names", "offsetof(PyCodeObject, co_varnames)", None, (3, 10)),
    ("code_local_names", "offsetof(PyCodeObject, co_localsplusnames)", (3, 11), None),
    ("code_cell_names", "offsetof(PyCodeObject, co_cellvars)", None, (3, 10)),
    ("code_free_names", "offsetof(PyCodeObject, co_freevars)", None, (3, 10)),
    # The tag of a `_PyStackRef` holding a small int itself rather than an object (3.14+).
    ("stackref_int_tag", "Py_INT_TAG", (3, 14), None),
    # What a bounded repr of a simple object reads.
    ("type_name", "offsetof(PyTypeObject, tp_name)", None, None),
    ("tuple_items", "offsetof(PyTupleObject, ob_item)", None, None),
    ("dict_used", "offsetof(PyDictObject, ma_used)", None, None),
    ("set_used", "offsetof(PySetObject, used)", None, None),
    ("float_value", "offsetof(PyFloatObject, ob_fval)", None, None),
    ("cell_ref", "offsetof(PyCellObject, ob_ref)", None, None),
    # An int's size and sign: `ob_size` (negative for negative ints) to 3.11, `lv_tag` from 3.12.
    ("long_tag", "offsetof(PyLongObject, long_value.lv_tag)", (3, 12), None),
    ("long_digits", "offsetof(PyLongObject, ob_digit)", None, (3, 11)),
    ("long_digits", "offsetof(PyLongObject, long_value.ob_digit)", (3, 12), None),
    ("long_shift", "PyLong_SHIFT", None, None),
    ("long_digit_size", "sizeof(digit)", None, None),
]

# Where `_Py_DebugOffsets` keeps a field the layout also has, 3.13+: (DebugField variant, member of
# `_Py_DebugOffsets`, minimum version). The struct grows between versions, so the positions are
# measured too. `InterpGilState` only anchors `_gil.locked`/`_gil.last_holder`, which the struct
# gives from the start of the interpreter state and the layout from the start of the GIL.
DEBUG_FIELDS = [
    ("InterpThreadsHead", "interpreter_state.threads_head", (3, 13)),
    ("InterpGil", "interpreter_state.ceval_gil", (3, 13)),
    ("InterpGilState", "interpreter_state.gil_runtime_state", (3, 13)),
    ("GilLocked", "interpreter_state.gil_runtime_state_locked", (3, 13)),
    ("GilLastHolder", "interpreter_state.gil_runtime_state_holder", (3, 13)),
    ("TstateNext", "thread_state.next", (3, 13)),
    ("TstateCurrentFrame", "thread_state.current_frame", (3, 13)),
    ("TstateThreadId", "thread_state.thread_id", (3, 13)),
    ("TstateNativeThreadId", "thread_state.native_thread_id", (3, 13)),
    ("TstateDatastackChunk", "thread_state.datastack_chunk", (3, 13)),
    ("FramePrevious", "interpreter_frame.previous", (3, 13)),
    ("FrameExecutable", "interpreter_frame.executable", (3, 13)),
    ("FrameInstrPtr", "interpreter_frame.instr_ptr", (3, 13)),
    ("FrameOwner", "interpreter_frame.owner", (3, 13)),
    ("CodeFilename", "code_object.filename", (3, 13)),
    ("CodeName", "code_object.name", (3, 13)),
    ("CodeQualname", "code_object.qualname", (3, 13)),
    ("CodeLinetable", "code_object.linetable", (3, 13)),
    ("CodeFirstlineno", "code_object.firstlineno", (3, 13)),
    ("CodeAdaptive", "code_object.co_code_adaptive", (3, 13)),
    ("ObjectType", "pyobject.ob_type", (3, 13)),
    ("BytesSize", "bytes_object.ob_size", (3, 13)),
    ("BytesData", "bytes_object.ob_sval", (3, 13)),
    ("UnicodeState", "unicode_object.state", (3, 13)),
    ("UnicodeLength", "unicode_object.length", (3, 13)),
    ("UnicodeAsciiSize", "unicode_object.asciiobject_size", (3, 13)),
    ("UnicodeCompactSize", "unicode_object.compactunicodeobject_size", (3, 15)),
    ("FrameLocalsplus", "interpreter_frame.localsplus", (3, 13)),
    ("CodeLocalsplusnames", "code_object.localsplusnames", (3, 13)),
    ("TypeName", "type_object.tp_name", (3, 13)),
    ("TupleItems", "tuple_object.ob_item", (3, 13)),
    ("FloatValue", "float_object.ob_fval", (3, 13)),
    ("LongTag", "long_object.lv_tag", (3, 13)),
    ("LongDigits", "long_object.ob_digit", (3, 13)),
    ("SetUsed", "set_object.used", (3, 14)),
]

# Optional fields: the Rust struct holds an Option, `None` where the version has no such field.
OPTIONAL = {
    "tstate_native_thread_id",
    "tstate_frame",
    "tstate_datastack_chunk",
    "tstate_datastack_top",
    "tstate_cframe",
    "cframe_current_frame",
    "frame_owner",
    "frame_stacktop",
    "frame_is_entry",
    "frame_owner_generator",
    "gen_iframe",
    "frame_state",
    "frame_gen",
    "frame_shim_owner",
    "code_qualname",
    "code_adaptive",
    "code_framesize",
    "code_nlocalsplus",
    "code_stacksize",
    "frame_specials",
    "runtime_gil",
    "runtime_tstate_current",
    "interp_gil",
    "code_cell_names",
    "code_free_names",
    "stackref_int_tag",
    "long_tag",
}

PROGRAM = """
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include "frameobject.h"
#if PY_VERSION_HEX < 0x030B0000
#include "longintrepr.h"
#endif
#include "internal/pycore_pystate.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#include "internal/pycore_code.h"
#endif
#if PY_VERSION_HEX >= 0x030D0000
#include "internal/pycore_genobject.h"
#endif
#if PY_VERSION_HEX >= 0x030E0000
#include "internal/pycore_stackref.h"
#include "internal/pycore_debug_offsets.h"
#endif
int main(void) {
%s
    return 0;
}
"""


def applies(version, low, high):
    return (low is None or version >= low) and (high is None or version <= high)


def version_of(python):
    out = subprocess.check_output(
        [python, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"], text=True
    )
    major, minor = out.split()
    return int(major), int(minor)


def include_dir(python):
    code = "import sysconfig; print(sysconfig.get_paths()['include'])"
    return subprocess.check_output([python, "-c", code], text=True).strip()


def measure(python):
    version = version_of(python)
    include = include_dir(python)
    lines = []
    for name, expr, low, high in FIELDS:
        if applies(version, low, high):
            lines.append(f'    printf("{name} %zu\\n", (size_t)({expr}));')
    for name, member, low in DEBUG_FIELDS:
        if applies(version, low, None):
            expr = f"offsetof(_Py_DebugOffsets, {member})"
            lines.append(f'    printf("debug.{name} %zu\\n", (size_t)({expr}));')
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "layout.c")
        binary = os.path.join(tmp, "layout")
        with open(source, "w") as f:
            f.write(PROGRAM % "\n".join(lines))
        subprocess.check_call(
            # Debian's pyconfig.h includes <x86_64-linux-gnu/pythonX.Y/pyconfig.h>, found
            # beside the include directory; after the system's own, so those still win.
            [
                "cc",
                f"-I{include}",
                f"-I{include}/internal",
                "-idirafter",
                os.path.dirname(include),
                source,
                "-o",
                binary,
            ]
        )
        out = subprocess.check_output([binary], text=True)
    values = dict(line.split() for line in out.splitlines())
    return version, {k: int(v) for k, v in values.items()}


def rust_source(python, version, values):
    major, minor = version
    names = []
    for name, *_ in FIELDS:
        if name not in names:
            names.append(name)
    body = []
    debug = [(name, values[f"debug.{name}"]) for name, *_ in DEBUG_FIELDS if f"debug.{name}" in values]
    for name in names:
        if name in OPTIONAL:
            value = f"Some({values[name]})" if name in values else "None"
        else:
            value = str(values[name])
        body.append(f"    {name}: {value},")
    source = (
        f"//! CPython {major}.{minor}: offsets and sizes measured from its own headers by\n"
        f"//! scripts/gen_layouts.py ({os.path.basename(python)}). Generated: do not edit.\n\n"
        + ("use super::layout::{DebugField, Layout};\n\n" if debug else "use super::layout::Layout;\n\n")
        + "pub const LAYOUT: Layout = Layout {\n"
        f"    version: ({major}, {minor}),\n" + "\n".join(body) + "\n};\n"
    )
    if debug:
        entries = "".join(f"    (DebugField::{name}, {at}),\n" for name, at in debug)
        source += (
            "\n/// Where this version's `_Py_DebugOffsets` (the start of `_PyRuntime`) keeps the\n"
            "/// offsets [`LAYOUT`] also has.\n"
            f"pub const DEBUG_OFFSETS: &[(DebugField, usize)] = &[\n{entries}];\n"
        )
    return source


def fetched_pythons():
    """3.14 and 3.15 through scripts/get-python, those it can have."""
    found = []
    for version in ("3.14", "3.15"):
        script = os.path.join(ROOT, "scripts", "get-python")
        result = subprocess.run([script, version], capture_output=True, text=True)
        if result.returncode == 0:
            found.append(result.stdout.strip())
        else:
            print(result.stderr.strip() or f"no CPython {version}", file=sys.stderr)
    return found


def main(argv):
    pythons = argv or (
        sorted(glob.glob("/root/.pyenv/versions/3.1[0-3].*/bin/python3")) + fetched_pythons()
    )
    os.makedirs(OUT, exist_ok=True)
    for python in pythons:
        version, values = measure(python)
        path = os.path.join(OUT, f"v{version[0]}_{version[1]}.rs")
        with open(path, "w") as f:
            f.write(rust_source(python, version, values))
        print(f"{path}: CPython {version[0]}.{version[1]} from {python}")


if __name__ == "__main__":
    main(sys.argv[1:])
