"""fluoro's pytest plugin (registered through the ``pytest11`` entry point).

``@pytest.mark.limit_memory("24 MB")`` fails a test whose allocations, live at once, peak
above the limit; ``@pytest.mark.limit_leaks("1 MB")`` fails a test that leaves more than the
limit allocated when it ends. Sizes read as pytest-memray reads them (binary units). Only
marked tests are tracked: the others run untouched.
"""

from __future__ import annotations

import pytest

MARKERS = ("limit_memory", "limit_leaks")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "limit_memory(limit): fail if the test's allocations peak above LIMIT (e.g. '24 MB')",
    )
    config.addinivalue_line(
        "markers",
        "limit_leaks(limit): fail if the test leaves more than LIMIT allocated when it ends",
    )


def _limit(item: pytest.Item, name: str) -> int | None:
    from fluoro._native import parse_size

    marker = item.get_closest_marker(name)
    if marker is None:
        return None
    if len(marker.args) != 1 or not isinstance(marker.args[0], str):
        raise pytest.UsageError(f"{item.nodeid}: {name} takes one size, like {name}('24 MB')")
    try:
        return parse_size(marker.args[0])
    except ValueError as e:
        raise pytest.UsageError(f"{item.nodeid}: {name}: {e}") from None


def _sites(lines: list[dict], limit: int = 5) -> str:
    """The heaviest lines of the test's own code and what it calls: the lines of the
    machinery that runs it (pytest, pluggy, fluoro's plugin and tracker) are left out."""
    import os

    import _pytest
    import pluggy

    import fluoro
    from fluoro._memory import _size

    machinery = tuple(
        os.path.dirname(m.__file__) + os.sep for m in (fluoro, pluggy, _pytest) if m.__file__
    )
    shown = [x for x in lines if not x["file"].startswith(machinery)]
    return "\n".join(
        f"    {_size(x['bytes']):>10}  {x['file']}:{x['line']}  {x['function']}"
        for x in shown[:limit]
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    memory_limit = _limit(item, "limit_memory")
    leak_limit = _limit(item, "limit_leaks")
    if memory_limit is None and leak_limit is None:
        return (yield)
    import gc

    from fluoro._memory import _size, track

    tracker = track()
    with tracker:
        try:
            result = yield
        finally:
            if leak_limit is not None:
                gc.collect()  # garbage in cycles is not a leak
    if tracker.peak_bytes is None:
        raise pytest.UsageError(
            f"{item.nodeid}: memory is already tracked in this process; "
            "fluoro's markers cannot measure this test"
        )
    failures = []
    if memory_limit is not None and tracker.peak_bytes > memory_limit:
        failures.append(
            f"Test allocated {_size(tracker.peak_bytes)} at its peak, over its limit of "
            f"{_size(memory_limit)}. Live at the peak:\n{_sites(tracker.peak_lines)}"
        )
    if leak_limit is not None and (tracker.live_bytes or 0) > leak_limit:
        failures.append(
            f"Test left {_size(tracker.live_bytes or 0)} allocated, over its leak limit of "
            f"{_size(leak_limit)}. Still live:\n{_sites(tracker.live_lines)}"
        )
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
    return result
