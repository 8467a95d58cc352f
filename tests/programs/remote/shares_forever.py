"""Three functions doing 20, 30 and 50 % of the same work, round after round for a minute at
most; prints "ready" first, and the rounds done per second at the end. With `truth`, times
each function instead and prints their shares of the time as JSON (the truth a profile of
this interpreter is held to: bigger ints make `fifty` cost a little more than half)."""

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


if sys.argv[1:] == ["truth"]:
    import json
    import statistics

    # Each function's fastest of many calls: what it costs when nothing else runs. Taken in
    # five blocks and the median share kept, so one block slowed by a neighbour on the
    # machine does not move the truth.
    blocks = []
    for _ in range(5):
        fastest = {f.__name__: float("inf") for f in (twenty, thirty, fifty)}
        for _ in range(150):
            for f in (twenty, thirty, fifty):
                began = time.perf_counter()
                f()
                fastest[f.__name__] = min(fastest[f.__name__], time.perf_counter() - began)
        blocks.append({name: t / sum(fastest.values()) for name, t in fastest.items()})
    print(json.dumps({name: statistics.median(b[name] for b in blocks) for name in blocks[0]}))
    sys.exit()

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
