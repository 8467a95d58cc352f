"""`fluoro advise` against `ruff check --select PERF` over CPython's whole `Lib/`.

One command: `python benches/advise_vs_ruff.py [LIB_DIR]` (fluoro installed in this
interpreter, ruff on PATH or next to it). LIB_DIR defaults to this interpreter's stdlib; its
`site-packages` is left out, so the files are those of CPython's `Lib/`. Both tools get the
same explicit list of `.py` files, no cache, no configuration, output discarded; runs are
interleaved and the median wall time of each is compared. Prints the ratio fluoro / ruff
(floor: at most 2).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time

RUNS = 7


def lib_files(root: str) -> list[str]:
    out = []
    for d, subs, names in os.walk(root):
        subs[:] = sorted(s for s in subs if s not in {"site-packages", "__pycache__"})
        out += [os.path.join(d, n) for n in sorted(names) if n.endswith(".py")]
    return out


def tool(name: str) -> str:
    here = os.path.join(os.path.dirname(sys.executable), name)
    found = here if os.path.exists(here) else shutil.which(name)
    if not found:
        sys.exit(f"{name} not found next to {sys.executable} or on PATH")
    return found


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"{cmd[0]} exited with {done.returncode}")
    return elapsed


def count(cmd: list[str]) -> int:
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if ": PERF" in line or ": FLU" in line)


def main() -> None:
    root = sys.argv[1] if len(sys.argv) > 1 else sysconfig.get_paths()["stdlib"]
    files = lib_files(root)
    fluoro = [tool("fluoro"), "advise", *files]
    ruff = [
        tool("ruff"),
        "check",
        "--select",
        "PERF",
        "--no-cache",
        "--isolated",
        "--exit-zero",
        "--output-format",
        "concise",
        *files,
    ]
    version = subprocess.run([ruff[0], "--version"], capture_output=True, text=True).stdout
    print(f"{len(files)} files under {root}; {version.strip()}; {os.cpu_count()} CPUs")
    timed(fluoro), timed(ruff)  # warm the page cache
    times = {"fluoro": [], "ruff": []}
    for _ in range(RUNS):
        times["fluoro"].append(timed(fluoro))
        times["ruff"].append(timed(ruff))
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k:7} median {med[k]:.3f} s  min {min(v):.3f} s  max {max(v):.3f} s  ({RUNS} runs)")
    print(f"findings: fluoro {count(fluoro)}, ruff PERF {count(ruff)}")
    ratio = med["fluoro"] / med["ruff"]
    print(
        f"ratio fluoro / ruff: {ratio:.2f}  (floor: <= 2.00) {'met' if ratio <= 2 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
