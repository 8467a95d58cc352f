"""Keeps allocating: lists kept in a bounded deque, in keep(), until it has run for the
seconds given; prints "ready" first, and a checksum of what it computed at the end."""

import collections
import sys
import time


def keep(kept, n):
    kept.append([i * 2 for i in range(n)])


print("ready", flush=True)
limit = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
kept = collections.deque(maxlen=200)
start = time.perf_counter()
rounds = 0
while time.perf_counter() - start < limit:
    keep(kept, 1_000)
    rounds += 1
print("checksum", sum(len(x) for x in kept), flush=True)
