import os
from collections import defaultdict


class Cache:
    """A little cache."""

    slots = ("data",)

    def __init__(self, size=8):
        self.data = {}
        self.size = size

    def get(self, key, *args, default=None, **kw):
        try:
            return self.data[key]
        except KeyError as e:
            del e
            return default
        finally:
            pass

    async def fetch(self, key):
        async with self as s:
            return [x async for x in s]


def closure(n):
    total = 0

    def add(k):
        nonlocal total
        total += k
        return total

    return [add(i) for i in range(n) if i % 2] + list(map(lambda x: x * 2.5, range(3)))


def gen():
    yield from range(3)
    x = yield 1j
    match x:
        case {"a": 1, **rest}:
            return rest
        case [1, *_]:
            return b"bytes"
        case _:
            return frozenset({1, 2}), (None, True, ...), 10**30


with open(os.devnull) as f:
    print(f, defaultdict(int), f"{closure(4)!r:>10}")
