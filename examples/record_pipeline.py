"""A record pipeline that reuses what it can, to see fluoro.patterns in a report.

    fluoro run examples/record_pipeline.py

Parsers come from an ObjectPool, decoded schemas from a WeakValueCache (they vanish once no
record refers to them), a lookup table loads lazily, and frames are read into buffers from a
BufferPool. The report ends with a "Patterns" section: how often each was reused. The schema
cache's hit rate stays under 50 %, with as many evictions as misses: no record keeps its
schema, so each one dies as soon as its record is parsed; holding the schemas (a list, or a
plain dict) is what that cache needs.
"""

import random
import struct
import threading

from fluoro.patterns import BufferPool, ObjectPool, WeakValueCache, lazy


class Schema:
    def __init__(self, version):
        self.version = version
        self.fields = [f"field{i}" for i in range(4 + version % 5)]


class Parser:
    def __init__(self):
        self.values = []

    def parse(self, frame, schema):
        self.values.extend(struct.unpack_from("<4I", frame))
        return dict(zip(schema.fields, self.values, strict=False))


class Catalog:
    @lazy
    def names(self):
        return {i: f"item-{i:05d}" for i in range(20_000)}


parsers = ObjectPool(Parser, max_size=8, reset=lambda p: p.values.clear(), name="parsers")
schemas = WeakValueCache(Schema, name="schemas")
frames = BufferPool(max_size=1 << 16, name="frames")
catalog = Catalog()


def worker(seed, out):
    rng = random.Random(seed)
    for _ in range(5_000):
        schema = schemas.get(rng.randrange(6))
        size = rng.choice((64, 200, 1500, 9000))
        with frames.acquire(size) as frame, parsers.item() as parser:
            struct.pack_into("<4I", frame, 0, *(rng.randrange(20_000) for _ in range(4)))
            record = parser.parse(frame, schema)
        out.append(catalog.names[record["field0"]])


results = []
threads = [threading.Thread(target=worker, args=(s, results)) for s in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"{len(results)} records, {len(set(results))} distinct names")
print(parsers.stats())
print(schemas.stats())
print(frames.stats())
