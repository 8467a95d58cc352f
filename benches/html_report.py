"""The HTML report's floors on a large profile: 1,000,000 samples over 50,000 distinct stacks
(written by the `synthetic_profile` example of fluoro-report), once with stacks in phases as
programs run and once spread evenly over the run (the worst case for per-slice data).
Measures how long `fluoro report --format html` takes and how big the page is, then loads the
page in headless Chromium (the system's, through selenium) and reads the page's own timings
(`window.__fluoroTimings`, from performance.now()): the first draw of the flame graph after
navigation start, and the redraws of zooms and searches.

    python benches/html_report.py [--fluoro PATH] [--runs 5]

Floors: written in < 1 s, file <= 5 MB, first draw < 1 s, a zoom or search redraw < 50 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "html-bench"


def synthetic_profile(kind: str) -> Path:
    """`phased` (stacks in phases, as programs run) or `uniform` (every stack at any time)."""
    path = WORK / f"{kind}.fluoro"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["cargo", "run", "--quiet", "--release", "-p", "fluoro-report"]
            + ["--example", "synthetic_profile", "--", str(path)]
            + (["uniform"] if kind == "uniform" else []),
            cwd=REPO,
            check=True,
        )
    return path


def write_page(fluoro: str, profile: Path, runs: int) -> tuple[Path, list[float]]:
    page = profile.with_suffix(".html")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [fluoro, "report", profile, "--format", "html", "-o", page],
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - start)
    return page, times


def in_browser(page: Path, runs: int) -> dict[str, list[float]]:
    sys.path.insert(0, str(REPO / "tests"))
    from test_html import chromium

    driver = chromium()
    figures: dict[str, list[float]] = {"first": [], "zoom": [], "search": [], "metric": []}
    try:
        for _ in range(runs):
            driver.get(page.resolve().as_uri())
            while not driver.execute_script("return document.body.dataset.ready === '1'"):
                time.sleep(0.02)
            figures["first"].append(driver.execute_script("return __fluoroTimings.firstDraw"))
            for query in ("handler_1", "Service3.", "module4", "zz-no-match"):
                driver.execute_script(f"__fluoro.search({query!r})")
                figures["search"].append(driver.execute_script("return __fluoroTimings.last.ms"))
            driver.execute_script("__fluoro.search('')")
            # Down the heaviest path and back to the whole graph.
            for _ in range(4):
                driver.execute_script(
                    "const zoomed = Number(document.getElementById('flame').dataset.zoom);"
                    "__fluoro.zoomTo(__fluoro.heaviestChild(zoomed))"
                )
                figures["zoom"].append(driver.execute_script("return __fluoroTimings.last.ms"))
            driver.execute_script("__fluoro.zoomTo(0)")
            figures["zoom"].append(driver.execute_script("return __fluoroTimings.last.ms"))
            driver.execute_script("__fluoro.setMetric('cpu')")
            figures["metric"].append(driver.execute_script("return __fluoroTimings.last.ms"))
        rects = driver.execute_script("return document.getElementById('flame').dataset.rects")
        shape = driver.execute_script(
            "const f = __fluoro; return [f.stacks, f.nodes, f.weights, f.cells, f.buckets]"
        )
        print(
            "page data: {:,} stacks, {:,} flame nodes, {:,} (thread, stack) weights,"
            " {:,} time cells in {} slices; {} frames drawn at 1400 px".format(*shape, rects)
        )
    finally:
        driver.quit()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fluoro", default=shutil.which("fluoro") or "fluoro")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for kind in ("phased", "uniform"):
        profile = synthetic_profile(kind)
        page, written = write_page(args.fluoro, profile, args.runs)
        size = page.stat().st_size
        print(f"== {kind}: {profile} ({profile.stat().st_size / 1e6:.1f} MB)")
        figures = in_browser(page, args.runs)
        rows = [
            ("fluoro report --format html (s)", written, 1.0),
            ("first draw after navigation (ms)", figures["first"], 1000.0),
            ("zoom redraw (ms)", figures["zoom"], 50.0),
            ("search redraw (ms)", figures["search"], 50.0),
            ("metric switch, graph redrawn (ms)", figures["metric"], None),
        ]
        verdict = "ok" if size <= 5e6 else "OVER"
        print(f"page: {size / 1e6:.2f} MB ({size:,} bytes), floor 5 MB: {verdict}")
        print(f"{'figure':<36} {'median':>9} {'max':>9}  floor")
        for name, values, floor in rows:
            median, worst = statistics.median(values), max(values)
            verdict = "" if floor is None else f"< {floor:g}: {'ok' if worst < floor else 'OVER'}"
            print(f"{name:<36} {median:>9.3f} {worst:>9.3f}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
