"""``fluoro bench`` against ``pyperf timeit`` on the same statements: pyperf runs with its
defaults; the width of its median's 95 % interval (fluoro's bootstrap on pyperf's own values)
becomes fluoro's ``--precision``; the floor is fluoro reaching it in at most half pyperf's
wall time. pyperf comes from PyPI into target/bench-pyperf.

``python benches/bench_vs_pyperf.py`` with the Python that has fluoro installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYPERF_ENV = REPO / "target" / "bench-pyperf"
STATEMENTS = [
    ("x = list(range(1000))", "sum(x)"),
    ("d = {i: str(i) for i in range(100)}", "sorted(d.items())"),
    ("s = 'fluoro ' * 100", "s.upper().split()"),
]


def pyperf_python() -> Path:
    python = PYPERF_ENV / "bin" / "python"
    if not python.exists():
        venv.create(PYPERF_ENV, with_pip=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "pyperf"], check=True)
    return python


def half_width(values: list[float], groups: list[int]) -> float:
    """The median's interval from pyperf's values, resampling its processes whole as fluoro
    does its own."""
    from fluoro._native import _bench_report

    report, _ = _bench_report([("pyperf", values, 1)], [groups])
    r = report["results"][0]
    return (r["ci_high"] - r["ci_low"]) / 2 / r["median"]


def main() -> None:
    pyperf = pyperf_python()
    fluoro = Path(sys.executable).parent / "fluoro"
    ratios = []
    for setup, stmt in STATEMENTS:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "pyperf.json"
            start = time.perf_counter()
            subprocess.run(
                [pyperf, "-m", "pyperf", "timeit", "-q", "-o", out, "-s", setup, stmt],
                check=True,
                capture_output=True,
            )
            pyperf_wall = time.perf_counter() - start
            data = json.loads(out.read_text())
        runs = [run["values"] for run in data["benchmarks"][0]["runs"] if run.get("values")]
        values = [v for run in runs for v in run]
        target = half_width(values, [len(run) for run in runs])
        start = time.perf_counter()
        done = subprocess.run(
            [fluoro, "bench", "--json", "--precision", f"{target * 100:.4f}", "-s", setup, stmt],
            check=True,
            capture_output=True,
        )
        fluoro_wall = time.perf_counter() - start
        (r,) = json.loads(done.stdout)["results"]
        reached = (r["ci_high"] - r["ci_low"]) / 2 / r["median"]
        ratio = fluoro_wall / pyperf_wall
        ratios.append(ratio)
        print(
            f"{stmt:<20} pyperf {pyperf_wall:5.1f} s, {len(values)} values, ± {target:.2%}; "
            f"fluoro {fluoro_wall:5.1f} s, {r['n']} values, ± {reached:.2%}; "
            f"time ratio {ratio:.2f}",
            flush=True,
        )
    worst = max(ratios)
    print(f"worst time ratio {worst:.2f} (floor 0.50: {'met' if worst <= 0.5 else 'MISSED'})")


if __name__ == "__main__":
    main()
