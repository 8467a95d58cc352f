"""Paired, interleaved wall times of one program under several variants, for differences of a
few per cent on a noisy machine: each round runs every variant once, in a new random order, and
divides each variant's wall time by the first variant's in the same round; the summary is the
median of those ratios, with their quartiles and the ratio of the best times. On a machine
that slows down for seconds at a time (a shared VM's host), `--calm 1.25` keeps only the rounds
in which every variant ran within 25 % of its own best time, and says how many it kept.

    python benches/paired_runs.py --rounds 12 --program benches/workloads/allocs.py \\
        bare fluoro "fluoro --memory=off" "/tmp/old/bin/fluoro --memory=all"

A variant is `bare` (the program under the bench venv's python), `memray` with `memray run`
options (the bench venv's), or a fluoro executable with `fluoro run` options; the word `fluoro`
is the bench venv's (benches/memory_overhead.py makes the venv). Another build is measured by
installing its wheel into a venv of its own and naming that venv's fluoro.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_env import BENCH_ENV, bin_in, clean_env, python_in


def command(variant: str, program: list[str], profile: Path) -> list[str]:
    if variant == "bare":
        return [str(python_in(BENCH_ENV)), *program]
    if variant.split()[0] == "memray":
        memray = [str(bin_in(BENCH_ENV, "memray")), "run", "-q", "-f"]
        return [
            *memray,
            *shlex.split(variant)[1:],
            "-o",
            str(profile.with_suffix(".bin")),
            *program,
        ]
    exe, *options = shlex.split(variant)
    if exe == "fluoro":
        exe = str(bin_in(BENCH_ENV, "fluoro"))
    return [exe, "run", "-q", "-o", str(profile), *options, *program]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--program", required=True, help="the script, then its arguments")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--calm",
        type=float,
        default=0.0,
        help="keep only rounds where every variant is within this factor of its best (0: all)",
    )
    parser.add_argument("variants", nargs="+", help="bare, or a fluoro executable and options")
    args = parser.parse_args(argv)
    program = shlex.split(args.program)
    rng = random.Random(args.seed)
    walls: dict[str, list[float]] = {v: [] for v in args.variants}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="fluoro-paired-") as tmp:
        profile = Path(tmp) / "profile.fluoro"
        for _ in range(args.rounds):
            order = list(args.variants)
            rng.shuffle(order)
            for variant in order:
                started = time.perf_counter()
                subprocess.run(
                    command(variant, program, profile),
                    stdout=subprocess.DEVNULL,
                    env=clean_env(),
                    check=True,
                )
                walls[variant].append(time.perf_counter() - started)
    kept = [
        r
        for r in range(args.rounds)
        if not args.calm or all(w[r] <= args.calm * min(w) for w in walls.values())
    ]
    walls = {v: [w[r] for r in kept] for v, w in walls.items()}
    first = walls[args.variants[0]]
    calm = f" (every variant within {args.calm}x of its best)" if args.calm else ""
    print(
        f"program: {args.program}; rounds: {args.rounds}, {len(kept)} kept{calm}; "
        f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    if not kept:
        return 1
    print("| variant | median wall (s) | paired ratio (median) | quartiles | best / best |")
    print("|---|---|---|---|---|")
    for variant, times in walls.items():
        ratios = sorted(t / f for t, f in zip(times, first, strict=True))
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        print(
            f"| `{variant}` | {statistics.median(times):.3f} | {statistics.median(ratios):.3f} "
            f"| {quartiles[0]:.3f}–{quartiles[2]:.3f} | {min(times) / min(first):.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
