"""A task enters a ``TaskGroup`` and creates two tasks in it, one computing, one asleep: the
computing task's time is the entering task's too, as on 3.14+ where the group notes it."""

import asyncio
import time


def churn(seconds):
    deadline = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < deadline:
        rounds += len(str(rounds * 7919))
    return rounds


async def crunch(seconds):
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        churn(0.004)
        await asyncio.sleep(0)


async def main():
    async with asyncio.TaskGroup() as group:
        group.create_task(crunch(1.0), name="cruncher")
        group.create_task(asyncio.sleep(0.2), name="napper")


asyncio.run(main())
print("done")
