"""Heap snapshots against guppy3, objgraph and pympler on the same heap, in one run.

Each tool runs in a fresh process on an identical heap of about 1M live objects (250 000
slotted objects, each holding a list with one int and a str), once per process (its first
call, as a user makes it), in three processes; the median wall time is compared, and the
median CPU time shown beside it (on a shared machine the wall time includes waiting).
fluoro's figure is the whole of ``fluoro.heap.snapshot(path)``: the walk,
the .fheap file written, the dominator tree, and the census with retained sizes. The peers'
figures are their census alone (guppy3 ``hpy().heap()``, objgraph ``typestats()``, pympler
``muppy.get_objects()`` + ``summary.summarize()``), none of which gives retained sizes.
Then the dominator floor: 10M synthetic nodes, through the ignored cargo tests (a heap-like
graph, held to the floor, and a uniformly random one, reported).

Usage: python benches/heap_vs_peers.py [--objects N] [--skip-dominators]
(the interpreter needs fluoro, guppy3, objgraph and pympler installed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

BUILD = """
import gc, time
class Item:
    __slots__ = ("data", "name")
    def __init__(self, i):
        self.data = [i + 1000]
        self.name = "item-%d" % i
ITEMS = [Item(i) for i in range({n})]
gc.collect()
"""

TOOLS = {
    "fluoro": (
        "import fluoro.heap",
        "info = fluoro.heap.snapshot(PATH); extra = info['file_bytes'] / info['objects']; "
        "objects = info['objects']",
    ),
    "guppy3": ("from guppy import hpy; h = hpy()", "census = h.heap(); objects = census.count"),
    "objgraph": ("import objgraph", "stats = objgraph.typestats(); objects = sum(stats.values())"),
    "pympler": (
        "from pympler import muppy, summary",
        "objs = muppy.get_objects(); rows = summary.summarize(objs); objects = len(objs); del objs",
    ),
}


def measure(tool: str, n: int, repeats: int) -> dict:
    """Runs the tool once per fresh process (its first call, as a user would make it)."""
    setup, stmt = TOOLS[tool]
    runs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            code = (
                BUILD.format(n=n)
                + f"{setup}\nPATH = {os.path.join(tmp, 'bench.fheap')!r}\nextra = None\n"
                + "t, c = time.perf_counter(), time.process_time()\n"
                + f"{stmt}\n"
                + "t, c = time.perf_counter() - t, time.process_time() - c\n"
                + "import json\n"
                + "print(json.dumps({'wall': t, 'cpu': c, 'objects': objects, 'extra': extra}))\n"
            )
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "times": [r["wall"] for r in runs],
        "median": statistics.median(r["wall"] for r in runs),
        "cpu": statistics.median(r["cpu"] for r in runs),
        "objects": runs[-1]["objects"],
        "extra": runs[-1]["extra"],
    }


def dominators_floor() -> list[str]:
    env = dict(os.environ, CARGO_BUILD_JOBS=os.environ.get("CARGO_BUILD_JOBS", "1"))
    out = subprocess.run(
        [
            "cargo",
            "test",
            "-p",
            "fluoro-heap",
            "--release",
            "--test",
            "scale",
            "--",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    lines = [line.split("... ")[-1] for line in out.stdout.splitlines() if "dominators (" in line]
    verdict = "floor met" if out.returncode == 0 else "floor NOT met"
    return [*lines, f"heap-like graph under 5 s: {verdict}"] if lines else [out.stderr.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=250_000, help="slotted objects (x4 in all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-dominators", action="store_true")
    args = parser.parse_args()
    version = sys.version.split()[0]
    print(f"CPython {version}, {args.objects} slotted objects, {args.repeats} processes each")
    results = {tool: measure(tool, args.objects, args.repeats) for tool in TOOLS}
    base = results["fluoro"]["median"]
    print(f"{'tool':<10} {'objects':>10} {'wall s':>7} {'CPU s':>7}  {'runs (wall s)':<22} ratio")
    for tool, r in results.items():
        runs = ", ".join(f"{t:.3f}" for t in r["times"])
        ratio = r["median"] / base
        times = f"{r['median']:>7.3f} {r['cpu']:>7.3f}"
        print(f"{tool:<10} {r['objects']:>10} {times}  {runs:<22} {ratio:.2f}x")
    fluoro = results["fluoro"]
    print(f"fluoro .fheap file: {fluoro['extra']:.1f} bytes per object (floor: 40)")
    guppy = results["guppy3"]["median"]
    verdict = "met" if base < guppy else "NOT met"
    print(f"floor (fluoro snapshot + census + retained < guppy3 census): {verdict}")
    if not args.skip_dominators:
        print("\n".join(dominators_floor()))


if __name__ == "__main__":
    main()
