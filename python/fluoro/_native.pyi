"""Type stubs for fluoro's Rust extension."""

import os
from typing import Any, final

from typing_extensions import Self, disjoint_base

# The native classes are final, except BufferPool: fluoro.patterns.BufferPool subclasses it,
# and as a native layout it cannot share a subclass with another such base (disjoint base).

__all__ = [
    "__version__",
    "main",
    "_boot",
    "_forked",
    "_child_exit",
    "_attach_start",
    "_attach_stop",
    "Session",
    "Profiler",
    "CallProfiles",
    "BufferPool",
    "PooledBuffer",
    "sizeof",
    "inspect",
    "env",
    "stack",
    "_exact_start",
    "_exact_stop",
    "_bench_report",
    "snapshot",
    "parse_size",
    "_heap_snapshot",
    "_heap_report",
]

__version__: str

def main(argv: list[str]) -> int:
    """Run the ``fluoro`` command line; returns the exit code."""

def _boot(config: str) -> tuple[str | None, bool]:
    """Starts a ``fluoro run`` session inside the target interpreter (called by the boot
    hook); returns the variable to leave for child processes (``--subprocesses``), or None,
    and whether this process is a followed child."""

def _forked() -> bool:
    """In a child made by ``os.fork()`` of a process followed with ``--subprocesses``:
    profiles it; whether it did."""

def _child_exit() -> None:
    """In a followed child about to leave through ``os._exit``: completes its part of the
    profile."""

def _attach_start(path: str | os.PathLike[str], rate: int) -> None:
    """In a process ``fluoro attach --memory`` sent its start script to: starts fluoro's
    collectors, recording into ``path``."""

def _attach_stop() -> bool:
    """Completes what ``_attach_start`` records; whether it was running."""

@final
class Session:
    """One run's collectors, and where their profile and reports go; made by ``_boot`` only."""

    def finish(self) -> None:
        """Drains the collectors and writes the profile and reports (an atexit handler)."""

    def before_fork(self) -> None:
        """Stops the sampler thread before ``os.fork`` (an ``os.register_at_fork`` handler)."""

    def after_fork(self) -> None:
        """Starts the sampler thread again in the parent after ``os.fork``."""

def sizeof(obj: object, deep: bool = False, include_cached: bool = False) -> int:
    """``sys.getsizeof(obj)``; with ``deep=True`` the bytes of everything ``obj`` owns."""

def inspect(obj: object, include_cached: bool = False) -> dict:
    """The object report of ``fluoro inspect``."""

def env() -> dict:
    """The interpreter's state (``fluoro env --json``)."""

def stack() -> list[dict]:
    """Every thread's Python frames, innermost first: ``[{"thread_id", "name", "frames":
    [{"file", "function", "line", "locals"}]}]``."""

@final
class Profiler:
    """The collectors of ``fluoro run`` around a block: ``with Profiler() as p: ...``."""

    def __new__(
        cls,
        rate: int = 100,
        exact: bool = False,
        sampler: str = "auto",
        memory: str = "off",
        # 64 KiB: a Rust constant, so the runtime signature shows `...` and so does the stub.
        memory_interval: int = ...,
        cpu: bool = True,
    ) -> Self:
        """``memory``: ``"sampled"`` (a sample by bytes, every ``memory_interval`` bytes on
        average, 64 KiB by default), ``"all"`` (every allocation), ``"gc"`` (collections
        only) or ``"off"``; ``cpu=False`` records no stack samples."""
    def start(self) -> None:
        """Start collecting."""
    def stop(self) -> None:
        """Stop collecting; the profile is complete."""
    def __enter__(self) -> Profiler: ...
    def __exit__(self, *exc: object) -> bool: ...
    def report(
        self,
        format: str = "text",
        metric: str = "wall",
        # 10: fluoro's one default for --top, a Rust constant (the runtime signature shows `...`).
        top: int = ...,
        full: bool = False,
        show_all: bool = False,
        width: int | None = None,
        more: str | None = None,
    ) -> str | bytes:
        """The one-screen text summary (``full=True``: the whole report; ``show_all=True``:
        start-up and fluoro's own frames kept; ``width``: columns to fit; ``more``: the
        summary's last line), or an export (``pprof`` and ``pstats`` are bytes)."""
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the ``.fluoro`` profile, readable by ``fluoro report``."""

@final
class CallProfiles:
    """Every call of a function under ``@fluoro.profile``, added up into one profile."""

    def __new__(cls) -> Self: ...
    def add(self, call: Profiler) -> None:
        """Add the profile of one finished call: the samples taken inside it."""
    @property
    def calls(self) -> int:
        """Calls added so far."""
    def report(
        self,
        format: str = "text",
        metric: str = "wall",
        top: int = ...,
        full: bool = False,
        show_all: bool = False,
        width: int | None = None,
        more: str | None = None,
    ) -> str | bytes:
        """The report of every call so far, as ``Profiler.report`` gives one."""

def _exact_start() -> None:
    """Test hook: starts exact mode in this interpreter (what ``fluoro run --exact`` does)."""

def _exact_stop() -> dict[str, Any]:
    """Test hook: stops exact mode and returns its statistics as a dict."""

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

@disjoint_base
class BufferPool:
    """Writable buffers from power-of-two size classes (64 B up to ``max_size``); see
    ``fluoro.patterns.BufferPool``, which adds statistics and registration."""

    def __new__(
        cls, max_size: int = 1 << 26, idle_seconds: float = 2.0, name: str | None = None
    ) -> Self: ...
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

@final
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
    all: bool = False,
) -> dict[str, Any]:
    """``fluoro heap WHAT --json`` on saved snapshots: summary, dominators, cycles, path, diff;
    ``all`` keeps the interpreter's modules, classes and functions."""
