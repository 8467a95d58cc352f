"""`fluoro.patterns`: pools and caches, their statistics, and the report's Patterns section."""

from __future__ import annotations

import gc
import json
import sys
import threading
import time

import pytest

import fluoro
from conftest import PROGRAMS
from conftest import fluoro as run_fluoro
from fluoro.patterns import BufferPool, ObjectPool, WeakValueCache, lazy


class Thing:
    def __init__(self, key: object = None) -> None:
        self.key = key
        self.dirty = False


def in_threads(target, count: int) -> list[BaseException]:
    """Runs ``target(i)`` in ``count`` threads at once; returns what they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            start.wait()
            target(i)
        except BaseException as e:  # reported by the caller, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


# ObjectPool


def test_pool_reuses_released_objects():
    pool = ObjectPool(Thing, max_size=2)
    a = pool.acquire()
    pool.release(a)
    assert pool.acquire() is a
    b = pool.acquire()
    assert b is not a
    s = pool.stats()
    assert (s.created, s.reused, s.in_use, s.peak_in_use, s.size) == (2, 1, 2, 2, 0)
    assert s.hit_rate == pytest.approx(1 / 3)
    pool.release(a)
    pool.release(b)
    assert pool.stats().size == 2


def test_pool_keeps_at_most_max_size_idle():
    pool = ObjectPool(Thing, max_size=1)
    a, b = pool.acquire(), pool.acquire()
    pool.release(a)
    pool.release(b)
    s = pool.stats()
    assert (s.size, s.discarded, s.in_use) == (1, 1, 0)
    assert pool.clear() == 1
    assert pool.stats().size == 0


def test_pool_resets_and_drops_what_fails_to_reset():
    def reset(t: Thing) -> None:
        if t.key == "bad":
            raise RuntimeError("cannot reset")
        t.dirty = False

    pool = ObjectPool(Thing, max_size=4, reset=reset)
    with pool.item() as t:
        t.dirty = True
    assert t.dirty is False
    assert pool.acquire() is t
    t.key = "bad"
    with pytest.raises(RuntimeError):
        pool.release(t)
    s = pool.stats()
    assert (s.size, s.discarded, s.in_use) == (0, 1, 0)


def test_pool_refuses_foreign_and_double_release():
    pool = ObjectPool(Thing, max_size=4)
    with pytest.raises(ValueError, match="not acquired"):
        pool.release(Thing())
    t = pool.acquire()
    pool.release(t)
    with pytest.raises(ValueError):
        pool.release(t)
    with pytest.raises(ValueError):
        ObjectPool(Thing, max_size=-1)


def test_pool_item_releases_on_exceptions():
    pool = ObjectPool(Thing, max_size=4)
    with pytest.raises(KeyError), pool.item():
        raise KeyError("x")
    assert pool.stats().in_use == 0 and pool.stats().size == 1


def test_pool_under_hammering_threads():
    pool = ObjectPool(list, max_size=8, reset=list.clear)

    def hammer(_: int) -> None:
        for i in range(2000):
            with pool.item() as xs:
                # an object is never handed to two threads at once
                assert xs == []
                xs.append(i)

    assert in_threads(hammer, 8) == []
    s = pool.stats()
    assert s.created + s.reused == 8 * 2000
    assert s.in_use == 0
    assert 1 <= s.peak_in_use <= 8
    assert s.created <= 8 + s.discarded
    assert s.size + s.discarded == s.created


# WeakValueCache


def test_cache_returns_the_live_value_and_evicts_dead_ones():
    made: list[str] = []

    def make(key: str) -> Thing:
        made.append(key)
        return Thing(key)

    cache = WeakValueCache(make)
    a = cache.get("a")
    assert cache.get("a") is a
    assert "a" in cache and len(cache) == 1
    cache.get("b")  # nobody keeps it
    gc.collect()
    assert "b" not in cache
    del a
    gc.collect()
    assert len(cache) == 0
    again = cache.get("a")
    assert again.key == "a" and made == ["a", "b", "a"]
    s = cache.stats()
    assert (s.hits, s.misses, s.evictions, s.size) == (1, 3, 2, 1)
    assert s.hit_rate == pytest.approx(0.25)


def test_cache_refuses_values_without_weak_references():
    cache = WeakValueCache(lambda key: key * 2)
    with pytest.raises(TypeError, match="weak references"):
        cache.get(3)


def test_cache_clear_is_not_eviction():
    cache = WeakValueCache(Thing)
    kept = cache.get(1)
    cache.clear()
    del kept
    gc.collect()
    assert cache.stats().evictions == 0


def test_cache_under_threads_makes_each_key_once():
    made: list[int] = []
    keep: dict[int, Thing] = {}
    cache: WeakValueCache[int, Thing] = WeakValueCache(lambda k: made.append(k) or Thing(k))

    def hammer(_: int) -> None:
        for i in range(3000):
            value = cache.get(i % 50)
            keep.setdefault(value.key, value)

    assert in_threads(hammer, 6) == []
    assert sorted(made) == list(range(50))
    s = cache.stats()
    assert s.hits + s.misses == 6 * 3000 and s.misses == 50


# lazy


class Table:
    loads = 0

    def __init__(self, n: int) -> None:
        self.n = n

    @lazy
    def rows(self) -> list[str]:
        """Rows, made once."""
        Table.loads += 1
        time.sleep(0.01)
        return ["x" * 100 for _ in range(self.n)]


def test_lazy_loads_once_per_instance_and_records_time_and_size():
    before = Table.rows.stats()
    t = Table(50)
    first = t.rows
    assert t.rows is first and "rows" in vars(t)
    assert len(Table(10).rows) == 10
    s = Table.rows.stats()
    assert s.loads - before.loads == 2
    assert s.load_time - before.load_time >= 0.02
    assert s.max_load_time >= 0.01
    assert s.bytes - before.bytes == fluoro.sizeof(first, deep=True) + fluoro.sizeof(
        ["x" * 100 for _ in range(10)], deep=True
    )
    assert s.largest >= fluoro.sizeof(first, deep=True)
    assert Table.rows.__doc__ == "Rows, made once."
    assert Table.rows.name == "Table.rows"


def test_lazy_needs_a_dict():
    class Slotted:
        __slots__ = ()

        @lazy
        def value(self) -> int:
            return 1

    with pytest.raises(TypeError, match="__dict__"):
        _ = Slotted().value


# BufferPool


def test_buffer_round_trip_and_reuse():
    pool = BufferPool(name="io")
    with pool.acquire(100) as buf:
        assert len(buf) == 100 and not buf.readonly
        assert bytes(buf) == bytes(100)  # fresh blocks are zeroed
        buf[:5] = b"hello"
        assert bytes(buf[:5]) == b"hello"
    with pool.acquire(120) as again:  # same 128-byte class: the same block, reused
        assert bytes(again[:5]) == b"hello"
    with pool.acquire(120, zero=True) as clean:
        assert bytes(clean) == bytes(120)
    classes = pool.size_classes()
    assert [c["size"] for c in classes] == [128]
    c = classes[0]
    assert (c["acquired"], c["reused"], c["in_use"], c["free"], c["high_water"]) == (3, 2, 0, 1, 1)
    assert c["fragmentation"] == pytest.approx(1 - (100 + 120 + 120) / (3 * 128))
    s = pool.stats()
    assert (s.acquired, s.reused, s.in_use, s.free, s.free_bytes) == (3, 2, 0, 1, 128)
    assert pool.name == "io"


def test_buffer_sizes_and_limits():
    pool = BufferPool(max_size=4096)
    assert pool.max_size == 4096
    views = [pool.acquire(n) for n in (1, 64, 65, 4096)]
    assert [len(v) for v in views] == [1, 64, 65, 4096]
    assert [c["size"] for c in pool.size_classes()] == [64, 128, 4096]
    with pytest.raises(ValueError, match="largest size class"):
        pool.acquire(4097)
    with pytest.raises(ValueError):
        BufferPool(max_size=10)
    with pytest.raises(ValueError):
        BufferPool(idle_seconds=-1)
    with pytest.raises(OverflowError):
        pool.acquire(-1)


def test_a_view_keeps_its_block_until_every_slice_is_gone():
    pool = BufferPool()
    view = pool.acquire(256)
    tail = view[128:]
    view.release()
    assert pool.stats().in_use == 1  # the slice still holds the block
    tail[:3] = b"abc"
    assert bytes(tail[:3]) == b"abc"
    del tail
    gc.collect()
    assert pool.stats().in_use == 0 and pool.stats().free == 1


def test_a_view_outlives_its_pool_and_a_released_view_refuses_access():
    pool = BufferPool()
    view = pool.acquire(1000)
    del pool
    gc.collect()
    view[:] = b"z" * 1000  # the block is the view's until it is released
    assert bytes(view[-3:]) == b"zzz"
    view.release()
    with pytest.raises(ValueError):
        view[0]


def test_numpy_style_consumers_see_the_same_bytes():
    pool = BufferPool()
    with pool.acquire(8) as buf:
        ints = buf.cast("I")
        ints[0] = 0x01020304
        assert bytes(buf[:4]) == (0x01020304).to_bytes(4, sys.byteorder)
        ints.release()


def test_idle_blocks_are_trimmed():
    pool = BufferPool(idle_seconds=0.05)
    for n in (64, 1000, 100_000):
        pool.acquire(n).release()
    assert pool.stats().free == 3
    time.sleep(0.1)
    assert pool.trim() == 3
    s = pool.stats()
    assert (s.free, s.trimmed) == (0, 3)
    pool.acquire(64).release()
    assert pool.clear() == 1


def test_buffer_pool_under_hammering_threads():
    pool = BufferPool(max_size=1 << 16)

    def hammer(seed: int) -> None:
        for i in range(3000):
            n = 64 + (seed * 977 + i * 131) % 8000
            with pool.acquire(n) as buf:
                mark = bytes([seed]) * 8
                buf[:8] = mark
                buf[-8:] = mark
                if i % 100 == 0:
                    time.sleep(0)
                # nobody else wrote into a block this thread holds
                assert bytes(buf[:8]) == mark and bytes(buf[-8:]) == mark

    assert in_threads(hammer, 8) == []
    classes = pool.size_classes()
    assert sum(c["acquired"] for c in classes) == 8 * 3000
    assert sum(c["in_use"] for c in classes) == 0
    assert all(1 <= c["high_water"] <= 8 for c in classes)
    assert all(0 <= c["fragmentation"] < 0.5 for c in classes)


# fluoro run: the Patterns section


def test_fluoro_run_reports_the_patterns(tmp_path):
    profile = tmp_path / "app.fluoro"
    result = run_fluoro("run", "--full", "-o", profile, PROGRAMS / "patterns_app.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().split() == ["1000", "1000", "800"]
    text = result.stderr.decode()
    assert "\nPatterns\n" in text
    section = text[text.index("\nPatterns\n") :]
    for expected in (
        "ObjectPool",
        "parsers",
        "WeakValueCache",
        "Image",
        "Config.table",
        "BufferPool frames by size class",
        "patterns_app.py:",
    ):
        assert expected in section, expected

    report = run_fluoro("report", profile, "--format", "json")
    assert report.returncode == 0, report.stderr
    patterns = {p["kind"]: p for p in json.loads(report.stdout)["patterns"]}
    pool = patterns["ObjectPool"]["stats"]
    assert pool["created"] + pool["reused"] == 800
    assert 1 <= pool["created"] <= 4 + pool["discarded"]
    assert pool["in_use"] == 0
    cache = patterns["WeakValueCache"]["stats"]
    assert (cache["hits"], cache["misses"], cache["evictions"]) == (9, 2, 1)
    loaded = patterns["lazy"]["stats"]
    assert loaded["loads"] == 1 and loaded["bytes"] > 1000 * 50
    frames = patterns["BufferPool"]
    assert frames["name"] == "frames"
    assert frames["stats"]["acquired"] == 801 and frames["stats"]["in_use"] == 1
    sizes = [c["size"] for c in frames["size_classes"]]
    assert sizes == sorted(sizes) and sizes[0] == 128 and 8192 in sizes


def test_fluoro_run_without_patterns_has_no_section(tmp_path):
    result = run_fluoro("run", "-c", "import fluoro; print(sum(range(10)))")
    assert result.returncode == 0, result.stderr
    assert "Patterns" not in result.stderr.decode()
