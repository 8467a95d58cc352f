"""Makes and frees a few hundred MB of small objects; prints how sys.getallocatedblocks() moved
across it (pymalloc's own count of the blocks it handed out)."""

import gc
import sys


def churn():
    total = 0
    for i in range(2_000_000):
        item = (i, str(i), [i])
        total += len(item[1])
    return total


gc.collect()
before = sys.getallocatedblocks()
churn()
gc.collect()
print(sys.getallocatedblocks() - before)
