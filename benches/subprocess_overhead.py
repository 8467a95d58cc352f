"""What following child processes costs each child: a parent runs N Python children one after
the other, bare, under `fluoro run` without and with `--subprocesses`, and (on 3.15) under the
standard library's sampler without and with its `--subprocesses`. A child's cost is the
difference a tool's following makes, divided by N: start-up with children that do nothing
(`-c pass`), and the share of a child's run time with children that compute for a while.

    python benches/subprocess_overhead.py [--fluoro PATH] [--python PATH] [--children 20]
                                          [--work-children 4] [--rounds 5]

Medians of --rounds alternated runs; the floors are 20 ms start-up and 5 % of run time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PARENT = """
import subprocess, sys
code = sys.argv[2]
for _ in range(int(sys.argv[1])):
    subprocess.run([sys.executable, "-c", code], check=True)
"""

# About 0.5 s of pure-Python work on the bench machine, the same every run.
WORK = "sum(i * i for i in range(6_000_000))"


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fluoro", default=str(Path(sys.executable).parent / "fluoro"))
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--children", type=int, default=20)
    parser.add_argument("--work-children", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    version = subprocess.run(
        [args.python, "-c", "import sys; print(sys.version_info >= (3, 15))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        parent = Path(tmp) / "parent.py"
        parent.write_text(PARENT)
        out = str(Path(tmp) / "out")
        tools = {
            "bare": [args.python],
            "fluoro": [args.fluoro, "run", "-q", "-o", out + ".fluoro"],
            "fluoro --subprocesses": [
                args.fluoro,
                "run",
                "-q",
                "--subprocesses",
                "-o",
                out + ".fluoro",
            ],
        }
        if version == "True":
            sampling = [args.python, "-m", "profiling.sampling", "run", "-r", "100", "-a"]
            tools["stdlib"] = [*sampling, "--collapsed", "-o", out + ".txt"]
            tools["stdlib --subprocesses"] = [
                *sampling,
                "--subprocesses",
                "--collapsed",
                "-o",
                out + ".txt",
            ]
        for title, n, code in [
            ("start-up (children run -c pass)", args.children, "pass"),
            (f"run time (children compute: {WORK})", args.work_children, WORK),
        ]:
            times: dict[str, list[float]] = {name: [] for name in tools}
            for _ in range(args.rounds):
                for name, tool in tools.items():
                    times[name].append(timed([*tool, str(parent), str(n), code]))
            median = {name: statistics.median(t) for name, t in times.items()}
            child_bare = (median["bare"] - timed([args.python, "-c", "pass"])) / n
            print(f"{title}: {n} children, median of {args.rounds}")
            for name, t in median.items():
                print(f"  {name:24} {t * 1000:9.1f} ms")
            for tool in ("fluoro", "stdlib"):
                if f"{tool} --subprocesses" not in median:
                    continue
                per_child = (median[f"{tool} --subprocesses"] - median[tool]) / n
                share = per_child / child_bare if child_bare > 0 else float("nan")
                print(
                    f"  {tool}: following costs {per_child * 1000:.1f} ms a child"
                    f" ({share * 100:.1f} % of a bare child's {child_bare * 1000:.1f} ms)"
                )
            if "stdlib --subprocesses" in median:
                ratio = (median["fluoro --subprocesses"] - median["bare"]) / max(
                    median["stdlib --subprocesses"] - median["bare"], 1e-9
                )
                print(f"  fluoro/stdlib added time, both following: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
