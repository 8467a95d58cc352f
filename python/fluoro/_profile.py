"""``fluoro.profile``: a context manager and a decorator over the Rust ``Profiler``."""

from __future__ import annotations

import sys

from fluoro._native import Profiler

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing stays out of the target's modules at run time
    from collections.abc import Callable
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])


def profile(
    func: F | None = None, /, *, rate: int = 100, exact: bool = False, quiet: bool = False
) -> F | _ProfileFactory:
    """Profile a block or a function with fluoro's sampler (and, with ``exact=True``, its
    exact call counter).

    ``with fluoro.profile() as p: ...`` then ``p.report()`` / ``p.save(path)``.
    ``@fluoro.profile`` (or ``@fluoro.profile(rate=1000)``) profiles each call of the
    function, prints the summary on stderr unless ``quiet``, and keeps the last profile as
    ``wrapper.profile``.
    """
    factory = _ProfileFactory(rate, exact, quiet)
    if func is None:
        return factory
    return factory(func)


class _ProfileFactory:
    """What ``fluoro.profile(...)`` returns: usable as a decorator or as a context manager."""

    def __init__(self, rate: int, exact: bool, quiet: bool) -> None:
        self._options = {"rate": rate, "exact": exact}
        self._quiet = quiet
        self._active: Profiler | None = None

    def __enter__(self) -> Profiler:
        self._active = Profiler(**self._options)
        return self._active.__enter__()

    def __exit__(self, *exc: object) -> bool:
        active, self._active = self._active, None
        return active.__exit__(*exc) if active is not None else False

    def __call__(self, func: F) -> F:
        import functools  # here, not at import: `fluoro run` imports fluoro into every target

        depth = 0

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal depth
            if depth:  # a recursive call: the outermost one is being profiled
                return func(*args, **kwargs)
            p = Profiler(**self._options)
            p.start()
            depth += 1
            try:
                return func(*args, **kwargs)
            finally:
                depth -= 1
                p.stop()
                wrapper.profile = p  # type: ignore[attr-defined]
                if not self._quiet:
                    sys.stderr.write(str(p.report()))

        wrapper.profile = None  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]
