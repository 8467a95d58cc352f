"""A small program with a slow spot and a hungry one, to try fluoro on.

fluoro run examples/word_stats.py
"""

import random
import string


def make_words(n, seed=7):
    rng = random.Random(seed)
    return ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(n)]


def count_unique_slowly(words):
    seen = []  # a list: every membership test scans it
    for w in words:
        if w not in seen:
            seen.append(w)
    return len(seen)


def index_by_prefix(words):
    index = {}
    for w in words:
        index.setdefault(w[:2], []).append(w)
    return index


words = make_words(20_000)
print("unique words:", count_unique_slowly(words[:5_000]))
index = index_by_prefix(words)
print("prefixes:", len(index), "largest bucket:", max(len(v) for v in index.values()))
