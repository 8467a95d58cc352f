"""Two threads, each running an event loop whose one task computes: each thread's time goes
to its own task."""

import asyncio
import threading
import time


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def compute(seconds):
    for _ in range(int(seconds / 0.005)):
        spin(0.005)
        await asyncio.sleep(0)


async def start(name, seconds):
    await asyncio.create_task(compute(seconds), name=name)


threads = [
    threading.Thread(target=asyncio.run, args=(start(f"in-{n}", 0.6),), name=f"loop-{n}")
    for n in range(2)
]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("done")
