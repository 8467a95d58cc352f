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

    def __init__(self, rate: int = 100, exact: bool = False, sampler: str = "auto") -> None: ...
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

def _bench_report(samples: list[tuple[str, list[float], int]]) -> tuple[dict, str]:
    """Statistics of ``fluoro.compare``: ``(name, seconds per call, loops)`` each; returns the
    report (``results``, ``comparisons``) and its text."""

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
