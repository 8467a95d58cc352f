"""fluoro: see where a Python program's time and memory go, and why.

The core is Rust (``fluoro._native``); this package re-exports its public API. Importing
``fluoro`` stays cheap because ``fluoro run`` loads it into the target before ``__main__``.

- ``inspect(obj, include_cached=False)``: the report of ``fluoro inspect`` as a dict (type and
  MRO, shallow and deep size, refcount besides the call's own reference, like
  ``sys.getrefcount(obj) - 1``, GC state, ``__dict__``/``__slots__`` layout and costs, caching,
  immortality).
- ``sizeof(obj, deep=False, include_cached=False)``: ``sys.getsizeof``, or the deep size.
- ``env()``: the interpreter's state, as ``fluoro env --json`` prints it.
- ``profile()``: ``with fluoro.profile() as p:`` or ``@fluoro.profile``: the sampler (and with
  ``exact=True`` the exact call counter) around a block or a call; ``p.report(format=...)``,
  ``p.save(path)``. ``Profiler`` is the class behind it.
"""

from fluoro._native import Profiler, __version__, env, inspect, sizeof
from fluoro._profile import profile

__all__ = ["Profiler", "__version__", "env", "inspect", "profile", "sizeof"]
