"""What the allocation hook adds to one allocation, in nanoseconds: a script times tight loops
of allocations of several kinds (the best of several repeats, so that a busy machine only
makes a figure larger, never smaller) under bare python and under `fluoro run` with each
memory mode, and this prints each mode's ns per allocation and what it adds to bare.

    python benches/hook_cost.py [--fluoro PATH] [--python PATH] [--modes default,off,all]

`--memory=off` still times collections; `default` samples allocations by bytes (the path an
allocation takes when it is not sampled is what matters); `all` records every one. On 3.13+
both also follow objects taken from free lists through the reference tracer, which the
interpreter calls for every object made and destroyed (the tuple, dict and float rows).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SCRIPT = r"""
import json, sys, time

N = 200_000
REPEATS = 7

def small_objects():
    for _ in range(N):
        object()

def tuples(x=1):
    for i in range(N):
        (i, x)

def dicts():
    for i in range(N):
        {"a": i}

def lists_grown():
    for _ in range(N // 10):
        xs = []
        for i in range(10):
            xs.append(i)

def floats(x=0.5):
    for i in range(N):
        x * 2.0

def kilobyte_bytes():
    for _ in range(N):
        bytes(1024)

KINDS = {"object()": (small_objects, N), "tuple": (tuples, N), "dict": (dicts, N),
         "float (free list)": (floats, N),
         "list grown by 10": (lists_grown, N // 10), "bytes(1024)": (kilobyte_bytes, N)}

def empty():
    for _ in range(N):
        pass

def best(fn):
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t)
    return min(times)

loop = best(empty)
out = {name: (best(fn) - loop * count / N) / count for name, (fn, count) in KINDS.items()}
json.dump(out, sys.stdout)
"""


def measure(command: list[str], script: Path) -> dict[str, float]:
    done = subprocess.run([*command, str(script)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--fluoro", default=str(Path(sys.executable).parent / "fluoro"))
    parser.add_argument("--modes", default="off,default,all")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; best kept")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "allocs.py"
        script.write_text(SCRIPT)
        profile = Path(tmp) / "run.fluoro"
        variants = {"bare": [args.python]}
        for mode in args.modes.split(","):
            flag = {
                "default": [],
                "nofl": ["--ignore-free-lists"],
                "off": ["--memory=off"],
                "all": ["--memory=all"],
            }[mode]
            variants[mode] = [args.fluoro, "run", "-q", "-o", str(profile), *flag]
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.rounds):
            for name, command in variants.items():
                got = measure(command, script)
                seen = best.setdefault(name, got)
                for kind, ns in got.items():
                    seen[kind] = min(seen[kind], ns)
    kinds = list(best["bare"])
    print(f"{'ns per allocation':<20}" + "".join(f"{v:>14}" for v in variants))
    for kind in kinds:
        row = f"{kind:<20}"
        for name in variants:
            ns = best[name][kind]
            extra = "" if name == "bare" else f" (+{ns - best['bare'][kind]:.1f})"
            row += f"{ns:>8.1f}{extra:>6}" if name == "bare" else f"{ns:>7.1f}{extra}"
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
