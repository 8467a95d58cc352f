"""The significance floors of ``fluoro bench``, over repeated runs.

- Two commands whose times differ by 5 %: the faster named and the difference significant in
  at least 95 % of runs.
- Two identical commands: "no significant difference" in at least 95 % of runs.
- Two identical Python statements, timed in worker processes (``-s "x = list(range(1000))"
  "sum(x)" "sum(x)" --runs 40``): "no significant difference" in at least 95 % of runs. Values
  of one worker are not independent (they share its memory layout and the machine's state),
  which is what this case checks the statistics for.

Run with the Python that has fluoro installed: ``python benches/bench_significance.py
[--repeats 40] [--max-time 10] [--only CASE]``; prints each case's rate.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path


def fluoro_exe() -> str:
    beside = Path(sys.executable).parent / "fluoro"
    return str(beside) if beside.exists() else (shutil.which("fluoro") or "fluoro")


def one_run(args: list[str], max_time: float) -> dict:
    out = subprocess.run(
        [fluoro_exe(), "bench", "--json", "--max-time", str(max_time), *args],
        capture_output=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--max-time", type=float, default=10.0)
    ap.add_argument("--base", type=float, default=0.05, help="seconds the faster command sleeps")
    ap.add_argument("--only", choices=["apart", "identical", "statements"], action="append")
    opts = ap.parse_args()
    fast, slow = f"sleep {opts.base}", f"sleep {opts.base * 1.05:.4f}"
    statements = ["-s", "x = list(range(1000))", "sum(x)", "sum(x)", "-n", "a", "-n", "b"]
    cases = {
        "apart": ([slow, fast], lambda c: c["significant"] and c["b"] == fast),
        "identical": ([fast, f"{fast} "], lambda c: not c["significant"]),
        "statements": ([*statements, "--runs", "40"], lambda c: not c["significant"]),
    }
    for label, (cmds, ok) in cases.items():
        if opts.only and label not in opts.only:
            continue
        hits, ratios, start = 0, [], time.perf_counter()
        for _ in range(opts.repeats):
            (c,) = one_run(cmds, opts.max_time)["comparisons"]
            hits += bool(ok(c))
            ratios.append(c["ratio"])
        rate = hits / opts.repeats
        print(
            f"{label:<10} {hits}/{opts.repeats} = {rate:.1%} as expected "
            f"(floor 95 %: {'met' if rate >= 0.95 else 'MISSED'}); ratios "
            f"{min(ratios):.4f}..{max(ratios):.4f}; {time.perf_counter() - start:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
