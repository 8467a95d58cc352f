"""Type stubs for fluoro's Rust extension."""

import os
from typing import Any

__version__: str

def main(argv: list[str]) -> int:
    """Run the ``fluoro`` command line; returns the exit code."""

def sizeof(obj: object, deep: bool = False, include_cached: bool = False) -> int:
    """``sys.getsizeof(obj)``; with ``deep=True`` the bytes of everything ``obj`` owns."""

def inspect(obj: object, include_cached: bool = False) -> dict:
    """The object report of ``fluoro inspect``."""

def env() -> dict:
    """The interpreter's state (``fluoro env --json``)."""

def stack() -> list[dict]:
    """Every thread's Python frames, innermost first: ``[{"thread_id", "name", "frames":
    [{"file", "function", "line", "locals"}]}]``."""

class Profiler:
    """The collectors of ``fluoro run`` around a block: ``with Profiler() as p: ...``."""

    def __init__(
        self,
        rate: int = 100,
        exact: bool = False,
        sampler: str = "auto",
        memory: str = "off",
        memory_interval: int = 65536,
        cpu: bool = True,
    ) -> None:
        """``memory``: ``"sampled"`` (a sample by bytes, every ``memory_interval`` bytes on
        average), ``"all"`` (every allocation), ``"gc"`` (collections only) or ``"off"``;
        ``cpu=False`` records no stack samples."""
    def start(self) -> None:
        """Start collecting."""
    def stop(self) -> None:
        """Stop collecting; the profile is complete."""
    def __enter__(self) -> Profiler: ...
    def __exit__(self, *exc: object) -> bool: ...
    def report(self, format: str = "text", metric: str = "wall", top: int = 15) -> str | bytes:
        """The text summary, or an export (``pprof`` and ``pstats`` are bytes)."""
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the ``.fluoro`` profile, readable by ``fluoro report``."""

def _bench_report(
    samples: list[tuple[str, list[float], int]], groups: list[list[int]] | None = None
) -> tuple[dict, str]:
    """Statistics of ``fluoro.compare``: ``(name, seconds per call, loops)`` each; returns the
    report (``results``, ``comparisons``) and its text."""

def snapshot(label: str = "") -> dict:
    """Live GC-tracked objects by type (``types``), ``gc_collections``, ``gc_collected``,
    ``rss_bytes``, and whether it went into a running profile (``recorded``)."""

def parse_size(text: str) -> int:
    """``"24 MB"``, ``"64KiB"``… in bytes (binary units)."""

class BufferPool:
    """Writable buffers from power-of-two size classes (64 B up to ``max_size``); see
    ``fluoro.patterns.BufferPool``, which adds statistics and registration."""

    def __init__(
        self, max_size: int = 1 << 26, idle_seconds: float = 2.0, name: str | None = None
    ) -> None: ...
    def acquire(self, size: int, zero: bool = False) -> memoryview:
        """A writable view of ``size`` bytes; its block returns to the pool when the view and
        its slices are released or collected."""
    def trim(self) -> int:
        """Release free blocks idle for ``idle_seconds``; returns how many."""
    def clear(self) -> int:
        """Release every free block; returns how many."""
    def size_classes(self) -> list[dict[str, int | float]]:
        """Per size class that served a request: ``size``, ``in_use``, ``free``,
        ``high_water``, ``acquired``, ``reused``, ``trimmed``, ``fragmentation``."""
    @property
    def max_size(self) -> int: ...
    @property
    def idle_seconds(self) -> float: ...
    @property
    def name(self) -> str | None: ...

class PooledBuffer:
    """The owner of one pooled block, exported through the buffer protocol."""

    def __len__(self) -> int: ...

def _heap_snapshot(path: str | None = None) -> dict[str, Any]:
    """Walk this interpreter's heap; write the ``.fheap`` file when ``path`` is given; return
    the census (``fluoro heap summary --json``), plus ``path`` and ``file_bytes``."""

def _heap_report(
    what: str,
    files: list[str],
    top: int = 20,
    type_name: str | None = None,
    id: int | None = None,
) -> dict[str, Any]:
    """``fluoro heap WHAT --json`` on saved snapshots: summary, dominators, cycles, path, diff."""
