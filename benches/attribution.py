"""Attribution of fluoro and CPython 3.15's own sampler on the 20/30/50 split program.

    python benches/attribution.py [--python 3.15] [--rates 100,1000,10000] [--rounds 3]
                                  [--no-install]

tests/programs/cpu/shares.py calls twenty(), thirty() and fifty(), which do 20, 30 and 50 % of
the same number of iterations. Each tool profiles it (wall time, every thread, collapsed
stacks) at each rate in the bench venv; a function's share is its inclusive samples over the
three's sum. The iterations do not cost the same (`i * i` leaves the small-int range in the
longer loops), so the truth is also measured: the three functions timed with perf_counter in
the same interpreter. The error is the largest distance from that truth in percentage points,
per run (the table shows the mean shares over the rounds and the worst error of any run).
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import tempfile
from pathlib import Path

import bench_env
from bench_env import REPO, bin_in, ensure_env, log, python_in
from cpu_overhead import machine, run_once, why_failed

SHARES = REPO / "tests" / "programs" / "cpu" / "shares.py"
# The nominal split, by iterations.
TRUTH = {"twenty": 0.2, "thirty": 0.3, "fifty": 0.5}


def command(tool: str, rate: str, out: Path) -> list[str]:
    env = bench_env.BENCH_ENV
    if tool == "fluoro":
        fluoro = str(bin_in(env, "fluoro"))
        return [fluoro, "run", "-q", "--rate", rate, "--format", "collapsed", "-o", str(out)]
    sampling = [str(python_in(env)), "-m", "profiling.sampling", "run", "-r", rate, "-a"]
    return [*sampling, "--collapsed", "-o", str(out)]


def frame_name(frame: str) -> str:
    """The function of one collapsed frame: fluoro writes `name (file:line)`, the stdlib
    sampler `file:name:line`."""
    if frame.endswith(")") and " (" in frame:
        return frame.split(" (", 1)[0]
    parts = frame.rsplit(":", 2)
    return parts[-2] if len(parts) == 3 else frame


def shares(collapsed: str) -> dict[str, float]:
    """Each of the three functions' inclusive share of their summed samples."""
    counts = dict.fromkeys(TRUTH, 0.0)
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        names = {frame_name(f) for f in stack.split(";")}
        for name in counts:
            if name in names:
                counts[name] += float(count)
    total = sum(counts.values())
    return {name: value / total if total else 0.0 for name, value in counts.items()}


# The functions of shares.py, each timed around its calls as the program makes them.
TIMED = """
import sys, time
source = open(sys.argv[1]).read().split("\\nfor _ in range")[0]
exec(source)
spent = {"twenty": 0.0, "thirty": 0.0, "fifty": 0.0}
for _ in range(400):
    for name in spent:
        start = time.perf_counter()
        globals()[name]()
        spent[name] += time.perf_counter() - start
total = sum(spent.values())
print(" ".join(f"{name}={value / total}" for name, value in spent.items()))
"""


def measured_truth() -> dict[str, float]:
    """The three functions' shares of their time, timed in the bench venv's interpreter."""
    run = run_once([str(python_in(bench_env.BENCH_ENV)), "-c", TIMED, str(SHARES)], 300)
    pairs = (item.split("=") for item in run.stdout.split())
    return {name: float(value) for name, value in pairs}


def error_points(got: dict[str, float], truth: dict[str, float]) -> float:
    return max(abs(got[name] - share) for name, share in truth.items()) * 100


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", help="interpreter of the bench venv (3.15 has the sampler)")
    parser.add_argument("--rates", default="100,1000,10000", help="sampling rates (Hz)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per tool and rate")
    parser.add_argument(
        "--no-install", action="store_true", help="reuse the fluoro already in the bench venv"
    )
    args = parser.parse_args(argv)
    bench_env.select_python(args.python)
    problem = ensure_env(True, not args.no_install, peers=[])
    if problem:
        raise SystemExit(f"attribution: {problem}")
    rates = [r.strip() for r in args.rates.split(",") if r.strip()]
    truth = measured_truth()
    log(f"measured truth: {truth}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="fluoro-attribution-") as tmp:
        out = Path(tmp) / "stacks.txt"
        for rate in rates:
            for tool in ("fluoro", "stdlib"):
                runs = []
                for r in range(args.rounds):
                    out.unlink(missing_ok=True)
                    run = run_once([*command(tool, rate, out), str(SHARES)], 300)
                    if run.returncode != 0 or not out.exists():
                        runs = why_failed(run)
                        break
                    runs.append(shares(out.read_text()))
                    log(f"{tool} {rate} Hz round {r + 1}: {runs[-1]}")
                rows.append((tool, rate, runs))
    facts = machine()
    print(f"command: python benches/attribution.py {' '.join(argv)}".rstrip())
    print(f"date: {datetime.date.today().isoformat()}")
    for key, value in facts.items():
        print(f"{key}: {value}")
    print()
    print("| tool | rate | twenty | thirty | fifty | worst error |")
    print("|---|---|---|---|---|---|")
    cells = " | ".join(f"{truth[n] * 100:.1f} %" for n in TRUTH)
    print(f"| timed (truth) | | {cells} | |")
    for tool, rate, runs in rows:
        if isinstance(runs, str):
            print(f"| {tool} | {rate} Hz | FAIL: {runs} | | | |")
            continue
        mean = {n: statistics.mean(r[n] for r in runs) for n in TRUTH}
        worst = max(error_points(r, truth) for r in runs)
        cells = " | ".join(f"{mean[n] * 100:.1f} %" for n in TRUTH)
        print(f"| {tool} | {rate} Hz | {cells} | {worst:.1f} pt |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
