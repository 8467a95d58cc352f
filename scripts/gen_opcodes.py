"""Writes crates/fluoro-bytecode/src/opcodes/v3_XX.rs from the running interpreter's own
`opcode` and `dis` modules: names (specialized ones included), base opcodes, inline-cache
sizes, how `dis` resolves each argument, and the string tables `dis` uses for arguments.

Run it once with each interpreter:
    for v in 3.10 3.11 3.12 3.13; do
        /root/.pyenv/versions/$v.*/bin/python3 scripts/gen_opcodes.py
    done
    for v in 3.14 3.15; do "$(scripts/get-python $v)" scripts/gen_opcodes.py; done
"""

from __future__ import annotations

import dis
import importlib.util
import opcode
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "crates" / "fluoro-bytecode" / "src" / "opcodes"
V = sys.version_info[:2]


def all_opnames() -> list[str]:
    names = list(getattr(dis, "_all_opname", opcode.opname))
    return [n if not n.startswith("<") else "" for n in names[:256]]


def base_of(names: list[str]) -> list[int]:
    deopt = getattr(dis, "deoptmap", {})
    opmap = opcode.opmap
    return [opmap[deopt[n]] if n in deopt else i for i, n in enumerate(names)]


def caches_of(base: int) -> int:
    entries = getattr(opcode, "_inline_cache_entries", None)
    if entries is None:
        return 0
    if hasattr(entries, "get"):  # a dict; 3.15: a frozendict, which is not one
        return entries.get(opcode.opname[base], 0)
    return entries[base]


def has_arg(base: int) -> bool:
    if hasattr(opcode, "hasarg"):
        return base in opcode.hasarg
    return base >= opcode.HAVE_ARGUMENT


def kind_of(base: int) -> str:
    """How `dis.get_instructions` of this version turns the argument into argval/argrepr,
    following the order of its tests."""
    name = opcode.opname[base]
    if not has_arg(base):
        return "NoArg"
    if base in opcode.hasconst:
        if V == (3, 11) and name != "LOAD_CONST":
            return "Plain"  # 3.11 resolves only LOAD_CONST's constant
        return "Const"
    if base in opcode.hasname:
        if V >= (3, 11) and name == "LOAD_GLOBAL":
            return "GlobalName"
        if V >= (3, 12) and name == "LOAD_ATTR":
            return "AttrName"
        if V >= (3, 12) and name == "LOAD_SUPER_ATTR":
            return "SuperAttrName"
        if V >= (3, 15) and name == "IMPORT_NAME":
            return "ImportName"
        return "Name"
    if V >= (3, 13):
        if base in opcode.hasjump or base in opcode.hasexc:
            return jump_kind(base)
        if name in (
            "LOAD_FAST_LOAD_FAST",
            "LOAD_FAST_BORROW_LOAD_FAST_BORROW",
            "STORE_FAST_LOAD_FAST",
            "STORE_FAST_STORE_FAST",
        ):
            return "LocalPair"
    else:
        if base in opcode.hasjabs:
            return "JumpAbsolute"
        if base in opcode.hasjrel:
            return jump_kind(base)
    if V == (3, 10):
        if base in opcode.haslocal:
            return "Local"
        if base in opcode.hascompare:
            return "Compare"
        if base in opcode.hasfree:
            return "Free"
    else:
        if base in opcode.haslocal or base in opcode.hasfree:
            return "Local"
        if base in opcode.hascompare:
            return "Compare"
    special = {
        "FORMAT_VALUE": "FormatValue",
        "CONVERT_VALUE": "ConvertValue",
        "MAKE_FUNCTION": "FunctionFlags" if V <= (3, 12) else "Plain",
        "SET_FUNCTION_ATTRIBUTE": "FunctionFlags",
        "BINARY_OP": "BinaryOp",
        "CALL_INTRINSIC_1": "Intrinsic1",
        "CALL_INTRINSIC_2": "Intrinsic2",
    }
    if V >= (3, 14):
        special |= {
            "LOAD_COMMON_CONSTANT": "CommonConstant",
            "LOAD_SPECIAL": "SpecialMethod",
            "IS_OP": "IsOp",
            "CONTAINS_OP": "ContainsOp",
        }
    return special.get(name, "Plain")


def jump_kind(base: int) -> str:
    if base in getattr(opcode, "hasjabs", ()):
        return "JumpAbsolute"
    if V >= (3, 14) and opcode.opname[base] == "END_ASYNC_FOR":
        return "EndAsyncFor"
    if V >= (3, 11) and "JUMP_BACKWARD" in opcode.opname[base]:
        return "JumpBackward"
    return "JumpForward"


def common_constants() -> list[str]:
    """`LOAD_COMMON_CONSTANT`'s argreprs (3.14+): a type's name, else the object's repr."""
    return [
        c.__name__ if isinstance(c, type) else repr(c)
        for c in getattr(opcode, "_common_constants", [])
    ]


def nonprintable_ranges() -> list[tuple[int, int]]:
    """Code points `repr` escapes (not `str.isprintable()`), as inclusive ranges."""
    ranges: list[tuple[int, int]] = []
    start = None
    for cp in range(0x110001):
        bad = cp < 0x110000 and not chr(cp).isprintable()
        if bad and start is None:
            start = cp
        elif not bad and start is not None:
            ranges.append((start, cp - 1))
            start = None
    return ranges


def strings(items) -> str:
    return "&[" + ", ".join(rust_str(s) for s in items) + "]"


def rust_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> None:
    names = all_opnames()
    bases = base_of(names)
    magic = int.from_bytes(importlib.util.MAGIC_NUMBER[:2], "little")
    nb_ops = [r for _, r in getattr(opcode, "_nb_ops", [])]
    cmp_shift = {(3, 10): 0, (3, 11): 0, (3, 12): 4, (3, 13): 5, (3, 14): 5, (3, 15): 5}[V]
    lines = [
        f"//! Opcode table of CPython {V[0]}.{V[1]}.",
        "//! @generated by scripts/gen_opcodes.py from this interpreter's `opcode` and `dis`"
        " modules; do not edit.",
        "",
        "use super::{ArgKind::*, Op, OpcodeTable};",
        "",
        "pub static TABLE: OpcodeTable = OpcodeTable {",
        f"    version: ({V[0]}, {V[1]}),",
        f"    magic: {magic},",
        f"    extended_arg: {opcode.opmap['EXTENDED_ARG']},",
        f"    jumps_skip_caches: {str(V >= (3, 12)).lower()},",
        f"    jump_labels: {str(V >= (3, 13)).lower()},",
        f"    cmp_shift: {cmp_shift},",
        f"    cmp_ops: {strings(opcode.cmp_op)},",
        f"    binary_ops: {strings(nb_ops)},",
        f"    intrinsic1: {strings(getattr(opcode, '_intrinsic_1_descs', []))},",
        f"    intrinsic2: {strings(getattr(opcode, '_intrinsic_2_descs', []))},",
        f"    common_constants: {strings(common_constants())},",
        f"    special_methods: {strings(getattr(opcode, '_special_method_names', []))},",
        "    ops: [",
    ]
    for op in range(256):
        name = names[op]
        base = bases[op]
        if not name:
            lines.append(f"        Op::UNUSED, // {op}")
            continue
        lines.append(
            f"        Op {{ name: {rust_str(name)}, base: {base}, caches: {caches_of(base)},"
            f" kind: {kind_of(base)} }},"
        )
    lines.append("    ],")
    lines.append("    nonprintable: &[")
    for a, b in nonprintable_ranges():
        lines.append(f"        ({a:#x}, {b:#x}),")
    lines.append("    ],")
    lines.append("};")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"v{V[0]}_{V[1]}.rs"
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
