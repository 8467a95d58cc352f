"""Disassembling the whole stdlib: `fluoro dis --json` against `dis.get_instructions`.

One command: `python benches/dis_stdlib.py` (with fluoro installed in this interpreter).
Both sides read the same compiled `.pyc` files of this interpreter's stdlib (test suites and
site-packages left out) and produce every code object's instructions with offset, opname,
arg, argrepr and line: fluoro in a subprocess that writes them all as JSON (process start
and JSON output included), `dis` in this process (marshal.loads, then get_instructions on
every nested code object). Prints wall and CPU times and their ratios (CPU time is the
steadier one on a shared machine).
"""

from __future__ import annotations

import dis
import marshal
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import time

SKIP_DIRS = {"site-packages", "test", "tests", "idle_test"}


def stdlib_pycs() -> list[str]:
    tag = f".{sys.implementation.cache_tag}.pyc"
    root = sysconfig.get_paths()["stdlib"]
    out = []
    for d, subs, names in os.walk(root):
        subs[:] = sorted(s for s in subs if s not in SKIP_DIRS)
        if os.path.basename(d) == "__pycache__":
            out += [os.path.join(d, n) for n in sorted(names) if n.endswith(tag)]
    return out


def with_dis(paths: list[str]) -> int:
    n = 0

    def walk(code):
        nonlocal n
        for ins in dis.get_instructions(code):
            _ = (ins.offset, ins.opname, ins.arg, ins.argrepr, ins.starts_line)
            n += 1
        for c in code.co_consts:
            if hasattr(c, "co_code"):
                walk(c)

    for p in paths:
        with open(p, "rb") as f:
            walk(marshal.loads(f.read()[16:]))
    return n


def with_fluoro(fluoro: str, paths: list[str], out=subprocess.DEVNULL) -> None:
    subprocess.run([fluoro, "dis", "--json", *paths], stdout=out, check=True)


def best(fn, repeat: int) -> tuple[float, float]:
    """The best wall time and the best CPU time (this process and its children) of `fn`."""
    walls, cpus = [], []
    for _ in range(repeat):
        c0 = cpu_now()
        t = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(cpu_now() - c0)
    return min(walls), min(cpus)


def cpu_now() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    fluoro = shutil.which("fluoro", path=os.path.dirname(sys.executable)) or "fluoro"
    paths = stdlib_pycs()
    if not paths:
        sys.exit("no compiled stdlib found (run: python -m compileall -q <stdlib>)")
    n = with_dis(paths)
    with_fluoro(fluoro, paths)
    dis_wall, dis_cpu = best(lambda: with_dis(paths), 3)
    fl_wall, fl_cpu = best(lambda: with_fluoro(fluoro, paths), 5)
    v = f"{sys.version_info[0]}.{sys.version_info[1]}"
    print(f"CPython {v}: {len(paths)} .pyc files, {n} instructions (best of 3 and 5 runs)")
    print(f"  {'':22} {'wall':>8} {'cpu':>8}")
    print(f"  {'dis.get_instructions':22} {dis_wall:7.2f}s {dis_cpu:7.2f}s")
    print(f"  {'fluoro dis --json':22} {fl_wall:7.2f}s {fl_cpu:7.2f}s")
    print(f"  fluoro is {dis_wall / fl_wall:.1f}x faster (wall), {dis_cpu / fl_cpu:.1f}x (cpu)")


if __name__ == "__main__":
    main()
