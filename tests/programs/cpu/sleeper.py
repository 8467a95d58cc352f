"""One function sleeps, the other burns CPU, for the same wall time."""

import time


def sleeper():
    time.sleep(0.8)


def busy():
    end = time.perf_counter() + 0.8
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


for _ in range(2):
    sleeper()
    busy()
print("done")
