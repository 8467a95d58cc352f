"""Compares `fluoro dis --json` with `dis.get_instructions` over this interpreter's stdlib.

Run by tests/test_dis.py with each interpreter: `python dis_stdlib_check.py FLUORO [ARGS...]`
(extra arguments go to `fluoro dis`, e.g. `--python PATH`).
Prints one line `compared M modules, C code objects, I instructions` and exits 0, or prints
the first mismatches and exits 1.

Normalisations (documented in the test): code-object constants repr with their address
(`at 0x…`), which differs per process, so addresses are masked on both sides; frozensets
iterate in hash order, which depends on the process's string hash seed, so an argrepr holding
a frozenset is compared by evaluating fluoro's repr and checking it equals the constant.
"""

from __future__ import annotations

import dis
import json
import os
import re
import subprocess
import sys
import sysconfig

SKIP_DIRS = {"site-packages", "test", "tests", "idle_test", "__pycache__"}
ADDRESS = re.compile(r" at 0x[0-9a-f]+,")


def stdlib_files() -> list[str]:
    root = sysconfig.get_paths()["stdlib"]
    files = []
    for d, subs, names in os.walk(root):
        subs[:] = sorted(s for s in subs if s not in SKIP_DIRS)
        files += [os.path.join(d, n) for n in sorted(names) if n.endswith(".py")]
    return files


def code_objects(code):
    yield code
    for c in code.co_consts:
        if hasattr(c, "co_code"):
            yield from code_objects(c)


def line_of(code):
    """offset -> line, from co_lines() (what 3.13's Instruction.line_number holds)."""
    lines = {}
    for start, end, line in code.co_lines():
        for off in range(start, end, 2):
            lines.setdefault(off, line)
    return lines


def has_frozenset(value) -> bool:
    if isinstance(value, frozenset):
        return True
    if isinstance(value, tuple):
        return any(has_frozenset(v) for v in value)
    return False


def expected(code):
    lines = line_of(code)
    for ins in dis.get_instructions(code):
        yield ins, (ins.offset, ins.opname, ins.arg, ins.argrepr, lines.get(ins.offset))


def compare_code(code, ours, problems) -> int:
    got = ours["instructions"]
    want = list(expected(code))
    if len(got) != len(want):
        problems.append(f"{code.co_filename}:{code.co_name}: {len(got)} vs {len(want)} instrs")
        return 0
    for g, (ins, w) in zip(got, want, strict=True):
        mine = (g["offset"], g["opname"], g["arg"], g["argrepr"], g["line"])
        if mine == w:
            continue
        if mine[:3] == w[:3] and mine[4] == w[4]:
            a, b = ADDRESS.sub(",", mine[3]), ADDRESS.sub(",", w[3])
            if a == b:
                continue
            if has_frozenset(ins.argval):
                try:
                    if eval(mine[3], {"frozenset": frozenset}) == ins.argval:  # noqa: S307
                        continue
                except Exception:  # noqa: BLE001, S110
                    pass
        problems.append(f"{code.co_filename}:{code.co_name}: fluoro {mine} != dis {w}")
        return 0
    return len(got)


def main() -> int:
    fluoro = sys.argv[1]
    extra = sys.argv[2:]
    compiled = {}
    for path in stdlib_files():
        try:
            with open(path, "rb") as f:
                compiled[path] = compile(f.read(), path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            continue  # data files in the stdlib tree that are not this version's Python
    result = subprocess.run(
        [fluoro, "dis", "--json", *extra, *compiled], capture_output=True, check=False
    )
    if result.returncode != 0:
        print(result.stderr.decode(), file=sys.stderr)
        return 1
    by_file: dict[str, list] = {}
    for obj in json.loads(result.stdout):
        by_file.setdefault(obj["filename"], []).append(obj)
    problems: list[str] = []
    n_code = n_ins = 0
    for path, code in compiled.items():
        ours = by_file.get(path, [])
        theirs = list(code_objects(code))
        if len(ours) != len(theirs):
            problems.append(f"{path}: {len(ours)} code objects vs {len(theirs)}")
            continue
        for c, o in zip(theirs, ours, strict=True):
            n_code += 1
            n_ins += compare_code(c, o, problems)
    v = f"{sys.version_info[0]}.{sys.version_info[1]}"
    print(
        f"CPython {v}: compared {len(compiled)} modules, {n_code} code objects,"
        f" {n_ins} instructions; {len(problems)} mismatches"
    )
    for p in problems[:20]:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
