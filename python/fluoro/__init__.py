"""fluoro: see where a Python program's time and memory go, and why.

The core is Rust (``fluoro._native``); this package re-exports its public API. Importing
``fluoro`` stays cheap because ``fluoro run`` loads it into the target before ``__main__``.

- ``inspect(obj, include_cached=False)``: the report of ``fluoro inspect`` as a dict (type and
  MRO, shallow and deep size, refcount besides the call's own reference, like
  ``sys.getrefcount(obj) - 1``, GC state, ``__dict__``/``__slots__`` layout and costs, caching,
  immortality).
- ``sizeof(obj, deep=False, include_cached=False)``: ``sys.getsizeof``, or the deep size.
- ``env()``: the interpreter's state, as ``fluoro env --json`` prints it.
- ``stack()``: every thread's Python frames, innermost first, as
  ``[{"thread_id", "name", "frames": [{"file", "function", "line", "locals"}]}]``; ``name`` is
  ``threading``'s when the program imported it (``stack()`` never imports it), else None;
  ``function`` is the qualified name on 3.11+ (the bare name on 3.10); ``locals`` are the
  code's local variable names (bound or not).
- ``heap``: heap snapshots, ``fluoro.heap.snapshot(path=None)`` and the analyses of saved
  ``.fheap`` files (``summary``, ``dominators``, ``cycles``, ``path``, ``diff``), loaded on
  first use.
- ``profile()``: ``with fluoro.profile() as p:`` or ``@fluoro.profile``: the sampler (and with
  ``exact=True`` the exact call counter) around a block or a call; ``p.report(format=...)``,
  ``p.save(path)``. ``Profiler`` is the class behind it.
- ``snapshot(label="")``: live GC-tracked objects by type, GC counters and RSS now, as a
  dict; under ``fluoro run`` it is also recorded in the run's profile, whose report shows what
  changed between consecutive snapshots (objects by type, traced bytes by line, GC, RSS).
- ``track()``: ``with fluoro.track() as t:``: what the block allocated (by line), its peak,
  what it left live, objects by type, RSS and GC changes; ``t.report()``.
- ``timeit(fn, *args, **kwargs)``: calibrated timings of a call in this interpreter, with the
  median's 95 % interval, MAD, mean ± std and stability warnings (``BenchResult``).
- ``compare({"name": fn, ...}, *args, **kwargs)``: the same for several functions, interleaved:
  the fastest, and each other one's ratio to it with a 95 % interval and a Mann-Whitney p-value.

``fluoro.patterns`` (imported on its own, never by this package, so that ``fluoro run`` can
tell a program used it) has ``ObjectPool``, ``WeakValueCache``, ``lazy`` and ``BufferPool``:
pools and caches whose statistics ``fluoro run`` reports.

In IPython and Jupyter, ``%load_ext fluoro`` adds ``%%fluoro`` (profile a cell) and ``%fluoro
STATEMENT``, which show the report inline.
"""

from fluoro._memory import track
from fluoro._native import Profiler, __version__, env, inspect, sizeof, snapshot, stack
from fluoro._profile import profile


def load_ipython_extension(ipython) -> None:
    """``%load_ext fluoro``: the ``%fluoro`` and ``%%fluoro`` magics (``fluoro._jupyter``)."""
    from fluoro._jupyter import load

    load(ipython)


def __getattr__(name: str):
    # The benchmark API loads on first use: `fluoro run` imports this package into targets.
    if name in ("timeit", "compare", "BenchResult", "CompareResult", "Comparison"):
        from fluoro import _bench

        return getattr(_bench, name)
    if name == "heap":
        import importlib

        return importlib.import_module("fluoro.heap")
    raise AttributeError(f"module 'fluoro' has no attribute {name!r}")


__all__ = [
    "BenchResult",
    "CompareResult",
    "Comparison",
    "Profiler",
    "__version__",
    "compare",
    "env",
    "heap",
    "inspect",
    "profile",
    "sizeof",
    "snapshot",
    "stack",
    "timeit",
    "track",
]
