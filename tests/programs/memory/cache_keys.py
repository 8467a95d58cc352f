"""A cache keyed by tuples, holding dicts and lists, filled while the program also makes and
drops many small tuples, dicts and lists elsewhere: the cache's objects mostly come from the
interpreter's free lists, refilled by that garbage. With ``--tracemalloc`` prints
tracemalloc's live bytes per line of this file at the end, as JSON."""

import traced

traced.start()

cache = {}


def garbage(i):
    # Dropped at once: these fill the free lists the cache takes its objects from.
    pairs = [(i, j) for j in range(4)]
    maps = [{"n": j} for j in range(3)]
    lists = [[j] for j in range(3)]
    return len(pairs) + len(maps) + len(lists)


def lookup(path, query):
    key = (path, query)
    entry = cache.get(key)
    if entry is None:
        entry = {"path": path, "hits": 0}
        entry["log"] = [query]
        cache[key] = entry
    entry["hits"] += 1
    return entry


paths = [f"/item/{i}" for i in range(5000)]
total = 0
for i in range(60000):
    total += garbage(i)
    lookup(paths[i % 5000], i % 9)

traced.report(__file__)
