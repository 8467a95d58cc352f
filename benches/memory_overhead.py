"""Overhead of fluoro's memory tracking and of the memory profilers it is measured against:
wall time of each program profiled / bare.

    python benches/memory_overhead.py [--quick] [--rounds 5] [--programs allocs,calls,...]
                                      [--tools fluoro,fluoro-all,tracemalloc,memray,scalene]
                                      [--json FILE] [--no-install]

`fluoro-100` is `fluoro run` as users get it: CPU samples at 100 Hz, allocations sampled by
bytes (every 64 KiB on average) and every collection timed; `fluoro-all` records every
allocation (`--memory=all`); `fluoro-cpu` is `--cpu-only`, for reference; `fluoro-nofl` is the
default with `--ignore-free-lists` (objects taken from free lists not followed, 3.13+). The
peers: tracemalloc with one frame (`python -X tracemalloc=1`), `memray run` (Python frames, no
native ones; by default it sees only what reaches malloc, not pymalloc's small blocks),
`memray-py` (`memray run --trace-python-allocators`: every allocation, what `fluoro-all`
records), and Scalene with its memory profiling on. The programs, rounds and the table are those
of benches/cpu_overhead.py, whose machinery this reuses.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import bench_env
import cpu_overhead
from bench_env import Program, bin_in, python_in

TOOLS = [
    "fluoro",
    "fluoro-all",
    "fluoro-cpu",
    "fluoro-nofl",
    "tracemalloc",
    "memray",
    "memray-py",
    "scalene",
]
DEFAULT_PROGRAMS = "allocs,containers,calls,loops,nbody,richards,json_dumps,deltablue,raytrace"

bench_env.PEERS.setdefault("memray", "memray")


def tool_command(tool: str, program: Program, scratch: Path) -> list[str]:
    # Read at each call: `--python` points bench_env at another venv after import.
    BENCH_ENV = bench_env.BENCH_ENV  # noqa: N806
    python = str(python_in(BENCH_ENV))
    target = [str(program.script), *program.args]
    profile = str(scratch / "profile.fluoro")
    fluoro = [str(bin_in(BENCH_ENV, "fluoro")), "run", "-q", "-o", profile]
    if tool == "bare":
        return [python, *target]
    if tool.removeprefix("fluoro-").isdigit():
        return [*fluoro, "--rate", tool.removeprefix("fluoro-"), *target]
    if tool == "fluoro-all":
        return [*fluoro, "--memory=all", *target]
    if tool.startswith("fluoro-cpu"):
        # `fluoro-cpu`, or `fluoro-cpu-RATE` as cpu_overhead expands it.
        rate = tool.removeprefix("fluoro-cpu").removeprefix("-")
        return [*fluoro, "--cpu-only", *(["--rate", rate] if rate else []), *target]
    if tool == "fluoro-nofl":
        return [*fluoro, "--ignore-free-lists", *target]
    if tool == "tracemalloc":
        return [python, "-X", "tracemalloc=1", *target]
    if tool in ("memray", "memray-py"):
        out = scratch / "memray.bin"
        out.unlink(missing_ok=True)
        memray = [str(bin_in(BENCH_ENV, "memray")), "run", "-q", "-f", "-o", str(out)]
        if tool == "memray-py":  # every pymalloc allocation too, as --memory=all records
            memray.append("--trace-python-allocators")
        return [*memray, *target]
    if tool == "scalene":
        extra = ["---", *program.args] if program.args else []
        scalene = str(bin_in(BENCH_ENV, "scalene"))
        return [scalene, "run", "-o", os.devnull, str(program.script), *extra]
    raise ValueError(f"unknown tool {tool}")


def main(argv: list[str]) -> int:
    cpu_overhead.tool_command = tool_command
    cpu_overhead.ALL_TOOLS = TOOLS
    if "--rates" not in argv:
        argv = [*argv, "--rates", "100"]
    if "--tools" not in argv:
        argv = [*argv, "--tools", ",".join(TOOLS)]
    if "--programs" not in argv and "--quick" not in argv:
        argv = [*argv, "--programs", DEFAULT_PROGRAMS]
    return cpu_overhead.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
