"""``fluoro.track()``: what a block of code allocated, what it left behind, and what changed."""

from __future__ import annotations

from fluoro._native import Profiler, snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class track:  # noqa: N801 - used like a function: `with fluoro.track() as t:`
    """Track a block's memory: ``with fluoro.track() as t: ...``.

    Every allocation of the block is recorded (``memory="sampled"`` records a sample by
    bytes instead, cheaper and estimated). After the block:

    - ``t.allocated_bytes``, ``t.allocated_count``: what the block allocated;
    - ``t.peak_bytes``: the most of it live at once; ``t.live_bytes``: what is still live;
    - ``t.lines``, ``t.peak_lines``, ``t.live_lines``: the same by source line, heaviest first
      (dicts with ``file``, ``line``, ``function``, ``bytes``, ``count``);
    - ``t.types``: live objects the cycle collector tracks, change by type name;
    - ``t.rss_delta``: the process's resident size change; ``t.gc_collections``: collections
      per generation during the block;
    - ``t.report()``: all of it as text.

    Under ``fluoro run`` the run's own collectors already track memory: the block's two
    snapshots go into the run's report, and the allocation figures here are ``None``.
    """

    def __init__(self, *, memory: str = "all", interval: int = 64 * 1024) -> None:
        self._memory = memory
        self._interval = interval
        self._profiler: Profiler | None = None
        self.allocated_bytes: int | None = None
        self.allocated_count: int | None = None
        self.peak_bytes: int | None = None
        self.live_bytes: int | None = None
        self.lines: list[dict[str, Any]] = []
        self.peak_lines: list[dict[str, Any]] = []
        self.live_lines: list[dict[str, Any]] = []
        self.types: dict[str, int] = {}
        self.rss_delta = 0
        self.gc_collections = [0, 0, 0]

    def __enter__(self) -> track:
        self._before = snapshot("track: start")
        profiler = Profiler(cpu=False, memory=self._memory, memory_interval=self._interval)
        try:
            profiler.start()
        except RuntimeError:
            pass  # memory is tracked already (fluoro run): the snapshots go to that profile
        else:
            self._profiler = profiler
        return self

    def __exit__(self, *exc: object) -> bool:
        profiler, self._profiler = self._profiler, None
        if profiler is not None:
            profiler.stop()
        after = snapshot("track: end")
        before = self._before
        names = set(before["types"]) | set(after["types"])
        changes = {n: after["types"].get(n, 0) - before["types"].get(n, 0) for n in names}
        self.types = dict(
            sorted(((n, d) for n, d in changes.items() if d), key=lambda nd: (-abs(nd[1]), nd[0]))
        )
        self.rss_delta = after["rss_bytes"] - before["rss_bytes"]
        self.gc_collections = [
            a - b for a, b in zip(after["gc_collections"], before["gc_collections"], strict=True)
        ]
        if profiler is not None:
            import json

            memory = json.loads(profiler.report(format="json"))["memory"]
            self.allocated_bytes = memory["allocated_bytes"]
            self.allocated_count = memory["allocated_count"]
            self.peak_bytes = memory["peak_bytes"]
            self.live_bytes = memory["live_end_bytes"]
            self.lines = memory["alloc_lines"]
            self.peak_lines = memory["peak_lines"]
            self.live_lines = memory["leak_lines"]
            self._text = str(profiler.report(format="text", metric="alloc", full=True))
        return False

    def report(self) -> str:
        """The block's memory as text."""
        out = []
        if self.allocated_bytes is not None:
            out.append(
                f"allocated {_size(self.allocated_bytes)} in {self.allocated_count} blocks, "
                f"peak {_size(self.peak_bytes or 0)}, still live {_size(self.live_bytes or 0)}"
            )
            for title, lines in (("allocated", self.lines), ("still live", self.live_lines)):
                if lines:
                    out.append(f"top lines, {title}:")
                    out.extend(
                        f"  {_size(x['bytes']):>10}  {x['file']}:{x['line']}  {x['function']}"
                        for x in lines[:10]
                    )
        out.append(f"RSS {'+' if self.rss_delta >= 0 else '-'}{_size(abs(self.rss_delta))}")
        out.append("collections per generation: " + ", ".join(map(str, self.gc_collections)))
        if self.types:
            out.append("objects by type:")
            out.extend(f"  {d:+d}  {n}" for n, d in list(self.types.items())[:10])
        return "\n".join(out) + "\n"


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
