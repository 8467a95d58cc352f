"""Uses every fluoro.patterns tool, as a program would; prints what it computed."""

import threading

from fluoro.patterns import BufferPool, ObjectPool, WeakValueCache, lazy


class Parser:
    def __init__(self):
        self.buffer = []


class Image:
    def __init__(self, name):
        self.name = name


class Config:
    @lazy
    def table(self):
        return {i: str(i) * 10 for i in range(1000)}


parsers = ObjectPool(Parser, max_size=4, reset=lambda p: p.buffer.clear(), name="parsers")
images = WeakValueCache(Image)
frames = BufferPool(max_size=1 << 20, name="frames")


def work():
    for i in range(200):
        with parsers.item() as p:
            p.buffer.append(i)
        with frames.acquire(100 + i * 10) as buf:
            buf[0] = i % 256


threads = [threading.Thread(target=work) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()

kept = images.get("logo")
for _ in range(9):
    images.get("logo")
images.get("banner")  # dies at once: an eviction

config = Config()
print(len(config.table), len(config.table))
big = frames.acquire(5000)  # still in use at the end
print(parsers.stats().created + parsers.stats().reused)
