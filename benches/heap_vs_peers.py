"""Heap snapshots against guppy3, objgraph and pympler on the same heap, in one run.

Each tool runs in its own fresh process on an identical heap of about 1M live objects
(250 000 slotted objects, each holding a list with one int and a str), three times; the
median is kept. fluoro's figure is the whole of ``fluoro.heap.snapshot(path)``: the walk,
the .fheap file written, the dominator tree, and the census with retained sizes. The peers'
figures are their census alone (guppy3 ``hpy().heap()``, objgraph ``typestats()``, pympler
``muppy.get_objects()`` + ``summary.summarize()``), none of which gives retained sizes.
Then the dominator floor: 10M synthetic nodes, through the ignored cargo test.

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
    setup, stmt = TOOLS[tool]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.fheap")
        code = (
            BUILD.format(n=n)
            + f"{setup}\nPATH = {path!r}\nextra = None\ntimes = []\n"
            + f"for _ in range({repeats}):\n"
            + "    t = time.perf_counter()\n"
            + f"    {stmt}\n"
            + "    times.append(time.perf_counter() - t)\n"
            + "import json; print(json.dumps({'times': times, 'objects': objects, 'extra': extra}))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["median"] = statistics.median(result["times"])
    return result


def dominators_floor() -> str:
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
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("dominators:")]
    verdict = "passed" if out.returncode == 0 else "FAILED"
    return (lines[0] if lines else out.stderr.strip().splitlines()[-1]) + f" ({verdict})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=250_000, help="slotted objects (x4 in all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-dominators", action="store_true")
    args = parser.parse_args()
    print(
        f"CPython {sys.version.split()[0]}, {args.objects} slotted objects, {args.repeats} runs each"
    )
    results = {tool: measure(tool, args.objects, args.repeats) for tool in TOOLS}
    base = results["fluoro"]["median"]
    print(f"{'tool':<10} {'objects':>10} {'median s':>9} {'runs (s)':<26} ratio to fluoro")
    for tool, r in results.items():
        runs = ", ".join(f"{t:.3f}" for t in r["times"])
        print(
            f"{tool:<10} {r['objects']:>10} {r['median']:>9.3f} {runs:<26} {r['median'] / base:.2f}x"
        )
    fluoro = results["fluoro"]
    print(f"fluoro .fheap file: {fluoro['extra']:.1f} bytes per object (floor: 40)")
    guppy = results["guppy3"]["median"]
    verdict = "met" if base < guppy else "NOT met"
    print(
        f"floor (snapshot + census + retained < guppy3 census): {base:.3f} s vs {guppy:.3f} s, {verdict}"
    )
    if not args.skip_dominators:
        print(dominators_floor())


if __name__ == "__main__":
    main()
