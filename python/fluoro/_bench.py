"""``fluoro.timeit`` and ``fluoro.compare``: calibrated loops in this interpreter; the
statistics (median and MAD, mean ± std, bootstrap intervals, Mann-Whitney U) come from Rust.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fluoro import _bench_worker as worker
from fluoro._native import _bench_report

_MIN_VALUE_TIME = 0.01  # seconds one value takes at least, after calibration
_VALUES_PER_ROUND = 5


@dataclass(frozen=True)
class BenchResult:
    """One function's timings: seconds per call, and its statistics."""

    name: str
    n: int
    median: float
    mad: float
    mean: float
    mean_ci_low: float
    mean_ci_high: float
    std: float
    min: float
    max: float
    ci_low: float
    ci_high: float
    loops: int
    warnings: list[str]
    values: list[float] = field(repr=False)
    text: str = field(repr=False, default="")

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Comparison:
    """Ratio of ``a``'s median to ``b``'s (the fastest), its interval and the U test."""

    a: str
    b: str
    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    significant: bool


@dataclass(frozen=True)
class CompareResult:
    """``fluoro.compare``'s answer: every result, the fastest, and ratios against it."""

    results: list[BenchResult]
    comparisons: list[Comparison]
    text: str = field(repr=False)

    @property
    def fastest(self) -> str:
        return min(self.results, key=lambda r: r.median).name

    def __getitem__(self, name: str) -> BenchResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def __str__(self) -> str:
        return self.text


def _measure(
    fns: Mapping[str, Callable[..., Any]],
    args: tuple,
    kwargs: dict,
    max_time: float,
    precision: float,
    gc: bool,
) -> tuple[dict, str]:
    timers = {name: worker.callable_timer(fn, args, kwargs) for name, fn in fns.items()}
    loops = {name: worker.calibrate(inner, _MIN_VALUE_TIME) for name, inner in timers.items()}
    values: dict[str, list[float]] = {name: [] for name in fns}
    start = time.perf_counter()
    while True:
        # Interleaved rounds, so that a machine slowing down affects every function alike.
        for name, inner in timers.items():
            values[name] += worker.measure(inner, loops[name], _VALUES_PER_ROUND, 0, gc)
        report, text = _bench_report([(n, values[n], loops[n]) for n in fns])
        precise = all(
            (r["ci_high"] - r["ci_low"]) / 2 <= precision * r["median"] for r in report["results"]
        )
        if precise or time.perf_counter() - start >= max_time:
            return report, text


def _result(r: dict, text: str = "") -> BenchResult:
    keys = BenchResult.__dataclass_fields__.keys() - {"text"}
    return BenchResult(**{k: r[k] for k in keys}, text=text)


def timeit(
    fn: Callable[..., Any],
    *args: Any,
    max_time: float = 2.0,
    precision: float = 0.01,
    gc: bool = True,
    **kwargs: Any,
) -> BenchResult:
    """Time ``fn(*args, **kwargs)``: calibrated loops until the median's 95 % interval is
    within ``precision`` (a fraction) or ``max_time`` seconds have passed."""
    name = getattr(fn, "__qualname__", None) or repr(fn)
    report, text = _measure({name: fn}, args, kwargs, max_time, precision, gc)
    return _result(report["results"][0], text)


def compare(
    fns: Mapping[str, Callable[..., Any]],
    *args: Any,
    max_time: float = 5.0,
    precision: float = 0.01,
    gc: bool = True,
    **kwargs: Any,
) -> CompareResult:
    """Time each of ``{"name": fn, ...}`` on the same arguments, interleaved; the result
    names the fastest and gives every other one's ratio to it with a 95 % interval and a
    p-value."""
    if not fns:
        raise ValueError("compare() needs at least one function")
    report, text = _measure(fns, args, kwargs, max_time, precision, gc)
    return CompareResult(
        results=[_result(r) for r in report["results"]],
        comparisons=[Comparison(**c) for c in report["comparisons"]],
        text=text,
    )
