"""Busy for about 4 ms, asleep for about 6 ms, over and over: the sleep takes 60 % of the wall
time and no CPU, so all the CPU is the busy function's."""

import time


def busy_part():
    end = time.perf_counter() + 0.004
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def sleep_part():
    time.sleep(0.006)


stop = time.perf_counter() + 2.0
while time.perf_counter() < stop:
    busy_part()
    sleep_part()
print("done")
