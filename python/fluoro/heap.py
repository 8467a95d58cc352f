"""Heap snapshots: what is alive, how much it holds, and why it stays.

- ``snapshot(path=None)``: walks this interpreter's heap (stop-the-world, with the GIL) and
  returns its census as a dict: ``objects``, ``references``, ``roots``, ``shallow_bytes``,
  ``unreachable_objects``/``unreachable_bytes`` (garbage the cycle collector can free now),
  ``meta``, and ``types``: a list of ``{"name", "count", "shallow_bytes", "retained_bytes"}``,
  largest retained first. With ``path`` it also writes the ``.fheap`` file and adds ``path``
  and ``file_bytes``.
- ``summary(file)``, ``dominators(file, top=20)``, ``cycles(file)``, ``path(file, type=None,
  id=None)``, ``diff(a, b, top=20)``: the reports of ``fluoro heap …`` on saved snapshots, as
  the dicts their ``--json`` prints.
"""

from __future__ import annotations

import os
from typing import Any

from fluoro import _native


def snapshot(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Take a heap snapshot; write it to ``path`` if given; return its census."""
    return _native._heap_snapshot(None if path is None else os.fspath(path))


def summary(file: str | os.PathLike[str]) -> dict[str, Any]:
    """Census by type of a saved snapshot."""
    return _native._heap_report("summary", [os.fspath(file)])


def dominators(file: str | os.PathLike[str], top: int = 20, all: bool = False) -> dict[str, Any]:
    """The ``top`` objects by retained size, each with its path from a root; ``all`` keeps
    the interpreter's modules, classes and functions."""
    return _native._heap_report("dominators", [os.fspath(file)], top=top, all=all)


def cycles(file: str | os.PathLike[str], all: bool = False) -> dict[str, Any]:
    """Reference cycles by type, garbage apart from reachable, and what the cycle collector
    could free now; ``all`` keeps the cycles through modules, classes and functions."""
    return _native._heap_report("cycles", [os.fspath(file)], all=all)


def path(
    file: str | os.PathLike[str], type: str | None = None, id: int | None = None
) -> dict[str, Any]:
    """The shortest path from a root to the object ``id`` or the nearest instance of ``type``."""
    return _native._heap_report("path", [os.fspath(file)], type_name=type, id=id)


def diff(
    a: str | os.PathLike[str], b: str | os.PathLike[str], top: int = 20, all: bool = False
) -> dict[str, Any]:
    """Growth from snapshot ``a`` to ``b``, by type and by retainer; ``all`` keeps the
    interpreter's modules, classes and functions."""
    return _native._heap_report("diff", [os.fspath(a), os.fspath(b)], top=top, all=all)


__all__ = ["cycles", "diff", "dominators", "path", "snapshot", "summary"]
