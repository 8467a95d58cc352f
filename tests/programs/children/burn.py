"""What the children of these programs do: burn the CPU for a while."""

import time


def work(n):
    # CPU for about `n` milliseconds, whatever the machine.
    end = time.process_time() + n / 1000
    x = 0
    while time.process_time() < end:
        x += 1
    return n
