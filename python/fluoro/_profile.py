"""``fluoro.profile``: a context manager and a decorator over the Rust ``Profiler``."""

from __future__ import annotations

import sys

from fluoro._native import CallProfiles, Profiler

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
    ``@fluoro.profile`` (or ``@fluoro.profile(rate=1000)``) profiles every call of the
    function and adds them up: ``wrapper.profile.report()`` gives the report of the calls so
    far (``wrapper.profile.calls`` counts them), and unless ``quiet`` it is printed once, on
    stderr, when the program exits. Each call is sampled while it runs (at ``rate``: a call
    shorter than one interval may get no sample), and only its own thread's stacks under it
    count.
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
        calls = CallProfiles()

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
                calls.add(p)

        wrapper.profile = calls  # type: ignore[attr-defined]
        if not self._quiet:
            import atexit

            name = f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', '?')}"
            atexit.register(_print_calls, name, calls)
        return wrapper  # type: ignore[return-value]


def _print_calls(name: str, calls: CallProfiles) -> None:
    """At exit: the report of every profiled call of ``name``, once, on stderr."""
    if not calls.calls:
        return
    short = name.rsplit(".", 1)[-1]
    more = f"Summary: {short}.profile.report(full=True) gives the whole report"
    text = calls.report(width=_width(), more=more)
    plural = "" if calls.calls == 1 else "s"
    try:
        sys.stderr.write(f"fluoro: {calls.calls} call{plural} of {name}\n{text}")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # stderr closed at exit: nobody to tell


def _width() -> int:
    """Columns for text on stderr, as the CLI counts them: ``$COLUMNS``, else the terminal's,
    else 100."""
    import os

    columns = os.environ.get("COLUMNS", "")
    if columns.strip().isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 100
