"""Two asyncio tasks that allocate, one four times the bytes of the other, each in a function
of its own, awaited by main through gather: under `fluoro run --async` each allocation's stack
is rooted at the task that made it. Prints `done`; writes the bytes each task allocated in
`bytes` objects to the file named by its argument, if any."""

import asyncio
import json
import sys

ROUNDS = 400
PER_ROUND = 100


def build():
    return [bytes(4000) for _ in range(PER_ROUND)]


def sip_once():
    return [bytes(1000) for _ in range(PER_ROUND)]


async def hoard():
    kept = []
    for _ in range(ROUNDS):
        kept.append(build())
        if len(kept) > 20:
            kept.clear()
        await asyncio.sleep(0)


async def sip():
    for _ in range(ROUNDS):
        sip_once()
        await asyncio.sleep(0)


async def main():
    hoarder = asyncio.create_task(hoard(), name="hoarder")
    sipper = asyncio.create_task(sip(), name="sipper")
    await asyncio.gather(hoarder, sipper)


asyncio.run(main())
if len(sys.argv) > 1:
    size = sys.getsizeof
    truth = {
        "hoarder": ROUNDS * PER_ROUND * size(bytes(4000)),
        "sipper": ROUNDS * PER_ROUND * size(bytes(1000)),
    }
    with open(sys.argv[1], "w") as f:
        json.dump(truth, f)
print("done")
