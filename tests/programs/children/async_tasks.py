"""asyncio in a parent and in its child (this program run again with ``child``): each runs a
task named ``worker`` that computes for about 0.3 s between its awaits."""

import asyncio
import subprocess
import sys
import time


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def worker():
    for _ in range(60):
        spin(0.005)
        await asyncio.sleep(0)


async def main():
    await asyncio.create_task(worker(), name="worker")


asyncio.run(main())
if sys.argv[1:] != ["child"]:
    done = subprocess.run([sys.executable, __file__, "child"])
    print("child exit", done.returncode)
