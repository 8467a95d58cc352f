"""Prints to both streams, then computes in `churn` for the seconds given (forever with
none), then exits with code 3."""

import sys
import time


def churn(until):
    total = 0
    while until is None or time.monotonic() < until:
        total += sum(i * i for i in range(2000))
    return total


print("started on stdout", flush=True)
print("started on stderr", file=sys.stderr, flush=True)
seconds = float(sys.argv[1]) if len(sys.argv) > 1 else None
churn(None if seconds is None else time.monotonic() + seconds)
print("done on stdout")
sys.exit(3)
