"""Three functions doing 20, 30 and 50 % of the same work, round after round for a minute at
most; prints "ready" first, and the rounds done per second at the end when given --rate-out."""

import sys
import time


def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def twenty():
    return work(4_000)


def thirty():
    return work(6_000)


def fifty():
    return work(10_000)


print("ready", flush=True)
limit = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
start = time.perf_counter()
rounds = 0
while time.perf_counter() - start < limit:
    twenty()
    thirty()
    fifty()
    rounds += 1
print(f"rounds per second: {rounds / (time.perf_counter() - start):.1f}", flush=True)
