"""Impossible stacks: every caller -> callee pair in a sampled stack must be a call the program
made. Runs deterministic programs under `fluoro run --exact --rate R` until at least
`--samples` stacks were sampled, and counts the samples showing a pair that --exact's call
graph of the same run never saw (C functions in between are skipped, as samples show only
Python frames; frames of interpreter start-up, entered before the tracer, are left out).

    python benches/stack_consistency.py [--fluoro PATH] [--rate 10000] [--samples 1000000]
                                        [--programs json_pipeline,richards,...] [--show]

A program not among the bench's own is a pyperformance script of the installed pyperformance
(`richards`, `deltablue`, `chaos`, `go`, ...), run as one pyperf worker.

Prints samples, impossible samples and their share per program, the samples of the program's
own code whose stack does not start at its `<module>` (rootless: a chain cut short), and the
torn reads dropped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from bench_env import PYPERFORMANCE_LOOPS  # noqa: E402
from test_sampler import exact_edges, in_startup, sampled_edges  # noqa: E402

PROGRAMS = {
    "json_pipeline": REPO / "tests" / "programs" / "cpu" / "json_pipeline.py",
    "shares": REPO / "tests" / "programs" / "cpu" / "shares.py",
    "returned_generators": REPO / "benches" / "workloads" / "returned_generators.py",
}


def program_of(name: str) -> tuple[Path, list[str]]:
    """The script and arguments of a program: one of [`PROGRAMS`], or a pyperformance script
    of the installed pyperformance (`richards`, `deltablue`, ...) run as one pyperf worker."""
    if name in PROGRAMS:
        return PROGRAMS[name], []
    import pyperformance

    data = Path(pyperformance.__file__).parent / "data-files" / "benchmarks"
    loops = str(PYPERFORMANCE_LOOPS.get(name, 5))
    args = ["--worker", "--loops", loops, "--values", "1", "--warmups", "0", "-p", "1"]
    return data / f"bm_{name}" / "run_benchmark.py", args


def one_run(
    fluoro: str, program: tuple[Path, list[str]], rate: int, scratch: Path, show: bool = False
) -> tuple[int, int, int, int]:
    profile = scratch / "run.fluoro"
    script, args = program
    subprocess.run(
        [fluoro, "run", "-q", "--exact", "--rate", str(rate), "-o", profile, script, *args],
        check=True,
        capture_output=True,
    )
    collapsed, report = scratch / "c.txt", scratch / "r.json"
    for fmt, out in [("collapsed", collapsed), ("json", report)]:
        subprocess.run([fluoro, "report", profile, "--format", fmt, "-o", out], check=True)
    data = json.loads(report.read_text())
    known = exact_edges(data)
    samples = impossible = rootless = 0
    for row in collapsed.read_text().splitlines():
        if in_startup(row):
            continue
        count = int(row.rpartition(" ")[2])
        samples += count
        if script.name in row and not row.startswith("<module> ("):
            rootless += count
            if show:
                print(f"  rootless: {row}")
        if any(edge not in known for edge in sampled_edges(row, sys.path)):
            impossible += count
            if show:
                print(f"  impossible: {row}")
    return samples, impossible, rootless, int(data.get("failed_reads", 0))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fluoro", default=str(Path(sys.executable).parent / "fluoro"))
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--programs", default=",".join(PROGRAMS))
    parser.add_argument("--show", action="store_true", help="print each impossible stack")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.programs.split(","):
            samples = impossible = rootless = torn = runs = 0
            while samples < args.samples:
                program = program_of(name)
                s, i, r, t = one_run(args.fluoro, program, args.rate, Path(tmp), args.show)
                samples, impossible, torn, runs = samples + s, impossible + i, torn + t, runs + 1
                rootless += r
            share = 100 * impossible / max(samples, 1)
            print(
                f"{name}: {samples} samples in {runs} runs at {args.rate} Hz, "
                f"{impossible} impossible ({share:.4f} %), {rootless} rootless, "
                f"{torn} torn reads dropped"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
