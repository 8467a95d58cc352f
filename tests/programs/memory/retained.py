"""Builds data at several lines and keeps it; with ``--tracemalloc`` prints tracemalloc's live
bytes per line of this file at the end, as JSON."""

import traced

traced.start()

class Point:
    def __init__(self, x):
        self.x = x
        self.tags = [x, x + 1]


blobs = [bytes(200) for _ in range(20000)]
names = {i: str(i) * 5 for i in range(30000)}
buffers = [bytearray(6000) for _ in range(500)]
points = [Point(i) for i in range(15000)]
rows = [[j for j in range(50)] for i in range(3000)]

traced.report(__file__)
