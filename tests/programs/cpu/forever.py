"""Runs until killed, printing once so the test knows it started."""

import sys


def spin():
    n = 0
    while True:
        n += 1
        if n == 100_000:
            print("started", flush=True)
            sys.stdout.flush()


spin()
