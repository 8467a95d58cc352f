"""BufferPool against `bytearray(n)` and against a pure-Python pool, in the same run.

    python benches/buffer_pool.py [--rounds 31] [--ops 2000] [--sizes 64,4096,65536,1048576]

One operation: get a buffer of n bytes, write its first and last byte, give it back (drop it,
for bytearray). Each round times every contender once per size, interleaved; a cell is the
median over rounds of the time per operation. Cells are short (a few ms at most) so that on a
shared machine a preemption spoils a few cells, which the median drops, rather than all.
Ratios are BufferPool's time over the peer's (below 1: BufferPool is faster). `zero=True`
makes BufferPool clear reused blocks, as `bytearray(n)` always does; the pure-Python pool, like
BufferPool by default, does not.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable

from fluoro.patterns import BufferPool


class PythonPool:
    """The pool a Python programmer would write: power-of-two classes from 64 bytes, a list of
    free bytearrays per class, a lock around both operations."""

    def __init__(self) -> None:
        import threading

        self._free: dict[int, list[bytearray]] = {}
        self._lock = threading.Lock()

    def acquire(self, n: int) -> bytearray:
        size = max(64, 1 << (n - 1).bit_length())
        with self._lock:
            free = self._free.get(size)
            if free:
                return free.pop()
        return bytearray(size)

    def release(self, buf: bytearray) -> None:
        with self._lock:
            self._free.setdefault(len(buf), []).append(buf)


def plain(n: int, ops: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(ops):
        buf = bytearray(n)
        buf[0] = 1
        buf[n - 1] = 1
        del buf
    return (time.perf_counter_ns() - start) / ops


def python_pool(n: int, ops: int) -> float:
    pool = PythonPool()
    start = time.perf_counter_ns()
    for _ in range(ops):
        buf = pool.acquire(n)
        buf[0] = 1
        buf[n - 1] = 1
        pool.release(buf)
    return (time.perf_counter_ns() - start) / ops


def buffer_pool(zero: bool) -> Callable[[int, int], float]:
    def run(n: int, ops: int) -> float:
        pool = BufferPool()
        start = time.perf_counter_ns()
        for _ in range(ops):
            with pool.acquire(n, zero) as buf:
                buf[0] = 1
                buf[n - 1] = 1
        return (time.perf_counter_ns() - start) / ops

    return run


CONTENDERS: dict[str, Callable[[int, int], float]] = {
    "bytearray(n)": plain,
    "pure-Python pool": python_pool,
    "BufferPool": buffer_pool(False),
    "BufferPool zero=True": buffer_pool(True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--sizes", default="64,4096,65536,1048576")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    times: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.rounds):
        for n in sizes:
            # fewer operations for large sizes, so that each cell takes similar time
            ops = max(50, args.ops * 4096 // max(n, 4096))
            for name, fn in CONTENDERS.items():
                times.setdefault((name, n), []).append(fn(n, ops))
    print(
        f"python {platform.python_version()} ({sys.executable}), "
        f"{args.rounds} rounds, median ns per operation"
    )
    header = f"{'contender':<44}" + "".join(f"{n:>12,}" for n in sizes)
    print(header)
    medians = {key: statistics.median(v) for key, v in times.items()}
    for name in CONTENDERS:
        print(f"{name:<44}" + "".join(f"{medians[name, n]:>12.0f}" for n in sizes))
    print("ratios (below 1: BufferPool faster)")
    for ours in ("BufferPool", "BufferPool zero=True"):
        for peer in ("bytearray(n)", "pure-Python pool"):
            cells = "".join(f"{medians[ours, n] / medians[peer, n]:>12.2f}" for n in sizes)
            print(f"{ours + ' / ' + peer:<44}" + cells)


if __name__ == "__main__":
    main()
