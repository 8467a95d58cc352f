"""A task awaits ``asyncio.gather`` of two tasks, one computing, one asleep: the computing
task's time is the awaiting task's too, as it would be if the task were awaited directly."""

import asyncio
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


async def main():
    cruncher = asyncio.create_task(crunch(1.0), name="cruncher")
    napper = asyncio.create_task(nap(0.2), name="napper")
    await asyncio.gather(cruncher, napper)


asyncio.run(main())
print("done")
