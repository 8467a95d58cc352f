"""A task awaits a computing task through one of asyncio's combinators, named by the first
argument: ``wait`` (with a sleeping task beside it), ``wait_for`` (a timeout that never
fires) or ``shield``. The computing task's time is the awaiting task's too, as it would be
if the task were awaited directly."""

import asyncio
import sys
import time


def spin(seconds):
    deadline = time.monotonic() + seconds
    total = 0
    while time.monotonic() < deadline:
        total += sum(i * i for i in range(200))
    return total


async def crunch(seconds):
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        spin(0.004)
        await asyncio.sleep(0)


async def nap(seconds):
    await asyncio.sleep(seconds)


async def main(kind):
    cruncher = asyncio.create_task(crunch(1.0), name="cruncher")
    if kind == "wait":
        napper = asyncio.create_task(nap(0.2), name="napper")
        await asyncio.wait([cruncher, napper])
    elif kind == "wait_for":
        await asyncio.wait_for(cruncher, timeout=60)
    elif kind == "shield":
        await asyncio.shield(cruncher)
    else:
        raise SystemExit(f"unknown combinator {kind!r}")


asyncio.run(main(sys.argv[1]))
print("done")
