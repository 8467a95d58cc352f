"""Memory of the sampler over a long run: peak RSS of a program with many distinct stacks run
for SECONDS under `fluoro run --rate 1000` against the same program run bare.

    python benches/sampler_memory.py [--seconds 600] [--rate 1000] [--python PYTHON]

PYTHON must have fluoro installed (its `fluoro` script is found beside it). The issue's floor:
a 10-minute run at 1 kHz stays under 100 MB of profiler memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKLOAD = HERE / "workloads" / "many_stacks.py"


def peak_rss_mib(cmd: list[str]) -> tuple[float, float]:
    """Runs cmd in a fresh child; returns (its peak RSS in MiB, wall seconds)."""
    pid = os.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    start = time.perf_counter()
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}")
    return usage.ru_maxrss / 1024, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    fluoro = str(Path(args.python).parent / "fluoro")
    profile = Path(os.environ.get("TMPDIR", "/tmp")) / f"sampler-memory-{os.getpid()}.fluoro"
    bare, _ = peak_rss_mib([args.python, str(WORKLOAD), str(args.seconds)])
    cmd = [fluoro, "run", "-q", "--rate", str(args.rate), "-o", str(profile)]
    profiled, wall = peak_rss_mib([*cmd, str(WORKLOAD), str(args.seconds)])
    size = profile.stat().st_size / 2**20
    report = subprocess.run(
        [fluoro, "report", str(profile), "--format", "json"], capture_output=True, check=True
    )
    doc = json.loads(report.stdout)
    profile.unlink()
    extra = profiled - bare
    samples = doc["samples"]
    print(f"run: {args.seconds:.0f} s at {args.rate} Hz, {samples} samples, wall {wall:.1f} s")
    print(f"peak RSS bare      {bare:8.1f} MiB")
    print(f"peak RSS profiled  {profiled:8.1f} MiB  (profile file {size:.1f} MiB)")
    print(f"profiler memory    {extra:8.1f} MiB  (floor: < 100 MB)  ratio {profiled / bare:.2f}")


if __name__ == "__main__":
    main()
