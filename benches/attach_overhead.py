"""What `fluoro attach` costs the process it samples: a program doing the same rounds of work
over and over runs for a few seconds bare and with `fluoro attach --rate R` reading it from
outside, in alternation, and reports its rounds per second each way and their ratio (the
slowdown; 1.00 is none). The process is never stopped, so what it loses is only what the reads
and the sampler's own CPU take from it on a shared machine.

    python benches/attach_overhead.py [--fluoro PATH] [--python PATH] [--rate 100]
                                      [--seconds 4] [--pairs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

PROGRAM = (
    Path(__file__).resolve().parent.parent / "tests" / "programs" / "remote" / "shares_forever.py"
)


def rounds_per_second(python: str, seconds: float, attach: list[str] | None) -> float:
    proc = subprocess.Popen([python, str(PROGRAM), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    sampler = None
    if attach:
        sampler = subprocess.Popen([*attach, "-q", str(proc.pid)])
    out, _ = proc.communicate(timeout=seconds + 30)
    if sampler:
        sampler.wait(timeout=30)
    return float(out.rsplit(":", 1)[1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fluoro", default=str(Path(sys.executable).parent / "fluoro"))
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args(argv)
    attach = [args.fluoro, "attach", "--rate", str(args.rate)]
    bare, attached = [], []
    for _ in range(args.pairs):
        bare.append(rounds_per_second(args.python, args.seconds, None))
        attached.append(rounds_per_second(args.python, args.seconds, attach))
    b, a = statistics.median(bare), statistics.median(attached)
    print(f"bare:     {b:.1f} rounds/s (median of {args.pairs})")
    print(f"attached: {a:.1f} rounds/s at {args.rate} Hz")
    print(f"slowdown: {b / a:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
