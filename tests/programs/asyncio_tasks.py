"""1,000 asyncio tasks: 998 wait on an event the whole run, ``sleeper`` sleeps in
``await asyncio.sleep`` while ``worker`` computes. Writes the truth it measured to argv[1]:
the wall time ``worker`` spent running (between its awaits), and of it while ``main`` awaited
it, and the time ``sleeper`` spent asleep."""

import asyncio
import json
import sys
import time

FILLERS = 998
AWAITED = []


def spin(seconds):
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


async def worker(seconds):
    running = awaited = 0.0
    while running < seconds:
        resumed = time.perf_counter()
        spin(0.004)
        ran = time.perf_counter() - resumed
        running += ran
        awaited += ran if AWAITED else 0.0
        await asyncio.sleep(0)
    return running, awaited


async def sleeper(seconds):
    start = time.perf_counter()
    await asyncio.sleep(seconds)
    return time.perf_counter() - start


async def filler(event):
    await event.wait()


async def main():
    event = asyncio.Event()
    fillers = [asyncio.create_task(filler(event), name=f"filler-{i}") for i in range(FILLERS)]
    slept = asyncio.create_task(sleeper(1.6), name="sleeper")
    await asyncio.sleep(0.8)
    worked = asyncio.create_task(worker(1.6), name="worker")
    truth = {"sleeper": await slept}
    AWAITED.append(True)
    truth["worker"], truth["awaited"] = await worked
    event.set()
    await asyncio.gather(*fillers)
    return truth


truth = asyncio.run(main())
with open(sys.argv[1], "w") as f:
    json.dump(truth, f)
print("done")
