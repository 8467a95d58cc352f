"""Makes garbage that only the cycle collector frees."""

import fluoro


class Node:
    def __init__(self):
        self.partner = None


def make_cycles(n):
    for _ in range(n):
        a, b = Node(), Node()
        a.partner, b.partner = b, a


fluoro.snapshot("before")
keep = [Node() for _ in range(3000)]
make_cycles(200000)
fluoro.snapshot("after")
print("ok")
