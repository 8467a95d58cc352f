"""Runs for a given number of seconds through many distinct stacks: 64 functions calling one
another in changing orders and depths, so a profiler sees thousands of different stacks."""

import random
import sys
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
rng = random.Random(7)


SOURCE = """
def step_{i}(depth, path):
    total = {i}
    for k in range(20):
        total += k * {i}
    if depth:
        total += FUNCS[path[depth] % len(FUNCS)](depth - 1, path)
    return total
"""


def make(i):
    """A function with its own code object (closures would share one)."""
    namespace = {}
    exec(SOURCE.format(i=i), globals(), namespace)
    return namespace[f"step_{i}"]


FUNCS = [make(i) for i in range(64)]

end = time.monotonic() + SECONDS
rounds = 0
while time.monotonic() < end:
    path = [rng.randrange(1 << 16) for _ in range(12)]
    FUNCS[path[0] % 64](rng.randrange(12), path)
    rounds += 1
print("rounds", rounds > 0)
