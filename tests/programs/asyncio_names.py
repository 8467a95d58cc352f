"""What fluoro's look at asyncio must leave as it was: the numbering of unnamed tasks, the set
of tasks, the running loop and task, and no warning about a task or coroutine."""

import asyncio
import gc
import sys
import time
import warnings

warnings.simplefilter("always")


async def child(n):
    time.sleep(0.01)
    await asyncio.sleep(0.01 * n)
    return asyncio.current_task().get_name()


async def main():
    # Long enough for the sampler to have looked at asyncio several times.
    for _ in range(20):
        await asyncio.sleep(0.01)
    tasks = [asyncio.create_task(child(n)) for n in range(5)]
    print(sorted(t.get_name() for t in asyncio.all_tasks()))
    print(await asyncio.gather(*tasks))
    print(asyncio.current_task().get_name(), len(asyncio.all_tasks()))


asyncio.run(main())
gc.collect()
print(asyncio.events._get_running_loop(), file=sys.stderr)
