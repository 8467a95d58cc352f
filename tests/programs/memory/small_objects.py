"""Keeps millions of small objects (pymalloc's blocks) at a few lines and grows lists one item at
a time; with ``--tracemalloc`` prints tracemalloc's live bytes per line of this file as JSON."""

import traced

traced.start()

pairs = [(i, -i) for i in range(600_000)]
words = [f"w{i:07d}" for i in range(1_000_000)]
grown = []
for i in range(20_000):
    row = []
    for j in range(40):
        row.append(j)
    grown.append(row)

traced.report(__file__)
