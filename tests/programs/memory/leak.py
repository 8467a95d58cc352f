"""Serves requests; one kind of request leaks into a module-level cache, the rest is freed."""

import sys

CACHE = []
MB = int(sys.argv[1]) if len(sys.argv) > 1 else 64


def handle(i):
    scratch = [str(j) for j in range(200)]
    body = "".join(scratch).encode()
    if i % 4 == 0:
        CACHE.append(bytearray(16384))
    return len(body)


total = 0
for i in range(MB * 64 * 4):
    total += handle(i)
print(total)
