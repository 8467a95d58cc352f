"""Pools and caches that keep their own statistics, shown in ``fluoro run``'s report.

- ``ObjectPool(factory, max_size, reset=None)``: reuses objects that are costly to make.
  ``pool.acquire()`` / ``pool.release(obj)``, or ``with pool.item() as obj:``. At most
  ``max_size`` idle objects are kept; ``acquire`` never blocks (it makes a new object when
  none is idle). ``reset(obj)`` runs on release; an object whose reset raises is dropped.
- ``WeakValueCache(factory)``: ``cache.get(key)`` returns the cached value or makes it with
  ``factory(key)``; an entry vanishes when the last strong reference to its value dies.
  Values must support weak references. ``factory`` runs under the cache's (reentrant) lock,
  so each key is made once.
- ``lazy``: a cached property (``@lazy`` over a method, like ``functools.cached_property``)
  that records how long each first access took and the deep size (``fluoro.sizeof``) of
  what it produced.
- ``BufferPool(max_size=64 MiB, idle_seconds=2.0)``: writable buffers from power-of-two size
  classes from 64 bytes, in Rust. ``pool.acquire(n)`` returns a ``memoryview`` of ``n``
  bytes; its block goes back to the pool when the view (and every slice of it) is released
  (``with pool.acquire(n) as buf:``) or collected, never earlier. Blocks idle for
  ``idle_seconds`` are freed.

Every instance has ``.stats()`` (a frozen dataclass) and an optional ``name=``. All are
thread-safe. Instances register themselves weakly; when the program runs under
``fluoro run``, the report's "Patterns" section shows the statistics of those still alive at
the end.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, fields
from typing import Any, Generic, TypeVar, overload

from fluoro import _native

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

__all__ = [
    "BufferPool",
    "BufferPoolStats",
    "CacheStats",
    "LazyStats",
    "ObjectPool",
    "PoolStats",
    "WeakValueCache",
    "lazy",
]

# Every live instance, in creation order, for the report at the end of `fluoro run`.
_live: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_ids = itertools.count()


def _register(instance: object, site: str) -> None:
    instance._site = site  # type: ignore[attr-defined]
    _live[next(_ids)] = instance


def _caller_site() -> str:
    """``file:line`` of the code that called the caller (the constructor's caller)."""
    frame = sys._getframe(2)
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _name_of(factory: Callable[..., object]) -> str:
    return getattr(factory, "__qualname__", None) or type(factory).__qualname__


def _unit(unit: str) -> Any:
    return field(metadata={"unit": unit})


def _figures(stats: object) -> list[tuple[str, str, float]]:
    """A stats dataclass as ``(name, unit, value)`` triples, as the report stores them."""
    return [
        (f.name, f.metadata.get("unit", "count"), float(getattr(stats, f.name)))
        for f in fields(stats)  # type: ignore[arg-type]
    ]


def _rate(hits: int, total: int) -> float:
    return hits / total if total else 0.0


def _snapshot() -> list[tuple[str, str, str, list[tuple[str, str, float]], Any]]:
    """What ``fluoro run`` records at the end: kind, name, site, figures, and the native
    pool of a BufferPool (whose size classes are read in Rust)."""
    out = []
    for instance in list(_live.values()):
        pool = instance if isinstance(instance, BufferPool) else None
        stats = _figures(instance.stats())
        out.append((instance._kind, instance._display_name(), instance._site, stats, pool))
    return out


class _Pattern:
    """What every pattern shares: a kind and a name for the report, a repr with its stats."""

    _kind: str
    name: str | None

    def stats(self) -> object:
        raise NotImplementedError

    def _display_name(self) -> str:
        return self.name or "(unnamed)"

    def __repr__(self) -> str:
        return f"<{self._kind} {self._display_name()!r} {self.stats()}>"


@dataclass(frozen=True)
class PoolStats:
    """An ``ObjectPool``'s figures."""

    created: int
    """Objects made by the factory."""
    reused: int
    """Acquisitions served by an idle object."""
    hit_rate: float = _unit("ratio")
    """``reused / (created + reused)``."""
    size: int
    """Idle objects held now."""
    max_size: int
    in_use: int
    peak_in_use: int
    discarded: int
    """Released objects dropped: the pool was full, or ``reset`` raised."""


class _Item(Generic[T]):
    """``with pool.item() as obj:``: acquires on enter, releases on exit."""

    __slots__ = ("_pool", "_obj")

    def __init__(self, pool: ObjectPool[T]) -> None:
        self._pool = pool

    def __enter__(self) -> T:
        self._obj = self._pool.acquire()
        return self._obj

    def __exit__(self, *exc: object) -> None:
        self._pool.release(self._obj)


class ObjectPool(_Pattern, Generic[T]):
    """Reuses objects made by ``factory()``; keeps at most ``max_size`` idle ones."""

    _kind = "ObjectPool"

    def __init__(
        self,
        factory: Callable[[], T],
        max_size: int,
        reset: Callable[[T], object] | None = None,
        *,
        name: str | None = None,
    ) -> None:
        if max_size < 0:
            raise ValueError(f"max_size must be 0 or more, not {max_size}")
        self.factory = factory
        self.max_size = max_size
        self.reset = reset
        self.name = name or _name_of(factory)
        self._idle: list[T] = []
        self._out: set[int] = set()  # ids of the objects handed out and not yet released
        self._lock = threading.Lock()
        self._created = self._reused = self._discarded = self._peak = 0
        _register(self, _caller_site())

    def acquire(self) -> T:
        """An idle object, or a new one from the factory (called outside the pool's lock)."""
        with self._lock:
            if self._idle:
                obj = self._idle.pop()
                self._reused += 1
                self._hand_out(obj)
                return obj
        obj = self.factory()
        with self._lock:
            self._created += 1
            self._hand_out(obj)
        return obj

    def _hand_out(self, obj: T) -> None:
        self._out.add(id(obj))
        self._peak = max(self._peak, len(self._out))

    def release(self, obj: T) -> None:
        """Gives ``obj`` back: reset, then kept if fewer than ``max_size`` are idle."""
        with self._lock:
            try:
                self._out.remove(id(obj))
            except KeyError:
                raise ValueError(
                    "release() of an object not acquired from this pool, or released twice"
                ) from None
            if self.reset is None:
                self._keep(obj)
                return
        try:
            self.reset(obj)
        except BaseException:
            with self._lock:
                self._discarded += 1
            raise
        with self._lock:
            self._keep(obj)

    def _keep(self, obj: T) -> None:
        if len(self._idle) < self.max_size:
            self._idle.append(obj)
        else:
            self._discarded += 1

    def item(self) -> _Item[T]:
        """``with pool.item() as obj:``: the object is released when the block ends."""
        return _Item(self)

    def clear(self) -> int:
        """Drops every idle object; returns how many."""
        with self._lock:
            n = len(self._idle)
            self._idle.clear()
            return n

    def stats(self) -> PoolStats:
        with self._lock:
            return PoolStats(
                created=self._created,
                reused=self._reused,
                hit_rate=_rate(self._reused, self._created + self._reused),
                size=len(self._idle),
                max_size=self.max_size,
                in_use=len(self._out),
                peak_in_use=self._peak,
                discarded=self._discarded,
            )


@dataclass(frozen=True)
class CacheStats:
    """A ``WeakValueCache``'s figures."""

    hits: int
    misses: int
    """Lookups that called the factory."""
    hit_rate: float = _unit("ratio")
    evictions: int
    """Entries that vanished because their value died."""
    size: int
    """Entries alive now."""


class _Entry(weakref.ref):
    """A weak reference to a cached value that knows its key."""

    __slots__ = ("key",)

    def __new__(cls, value: Any, callback: Callable[[_Entry], None], key: Hashable) -> _Entry:
        self = super().__new__(cls, value, callback)
        self.key = key
        return self

    def __init__(self, value: Any, callback: Callable[[_Entry], None], key: Hashable) -> None:
        super().__init__(value, callback)


class WeakValueCache(_Pattern, Generic[K, V]):
    """``get(key)``: the live cached value, or ``factory(key)``, cached while it lives."""

    _kind = "WeakValueCache"

    def __init__(self, factory: Callable[[K], V], *, name: str | None = None) -> None:
        self.factory = factory
        self.name = name or _name_of(factory)
        self._entries: dict[K, _Entry] = {}
        # Entries change under `_lock`, reentrant because a value may die, and its callback
        # run, while this thread holds it. Hits read without it (a dict lookup is atomic) and
        # count under `_count`, held for one addition only, so threads meet briefly.
        self._lock = threading.RLock()
        self._count = threading.Lock()
        self._hits = self._misses = self._evictions = 0
        cache = weakref.ref(self)

        def gone(entry: _Entry) -> None:
            owner = cache()
            if owner is not None:
                owner._gone(entry)

        self._on_death = gone
        _register(self, _caller_site())

    def _gone(self, entry: _Entry) -> None:
        with self._lock:
            if self._entries.get(entry.key) is entry:
                del self._entries[entry.key]
                self._evictions += 1

    def _alive(self, key: K) -> V | None:
        entry = self._entries.get(key)
        return None if entry is None else entry()

    def get(self, key: K) -> V:
        value = self._alive(key)
        if value is None:
            with self._lock:
                value = self._alive(key)  # another thread may have made it meanwhile
                if value is None:
                    return self._make(key)
        with self._count:
            self._hits += 1
        return value

    def _make(self, key: K) -> V:
        self._misses += 1
        value = self.factory(key)
        try:
            self._entries[key] = _Entry(value, self._on_death, key)
        except TypeError:
            raise TypeError(
                f"WeakValueCache values must support weak references; "
                f"{type(value).__name__} objects do not"
            ) from None
        return value

    def __contains__(self, key: object) -> bool:
        return self._alive(key) is not None  # type: ignore[arg-type]

    def __len__(self) -> int:
        with self._lock:
            return sum(1 for e in self._entries.values() if e() is not None)

    def clear(self) -> None:
        """Forgets every entry (not counted as evictions)."""
        with self._lock:
            self._entries.clear()

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                hits=self._hits,
                misses=self._misses,
                hit_rate=_rate(self._hits, self._hits + self._misses),
                evictions=self._evictions,
                size=len(self),
            )


@dataclass(frozen=True)
class LazyStats:
    """A ``lazy`` attribute's figures, over every instance of its class."""

    loads: int
    """First accesses, one per instance (two when threads raced on one instance)."""
    load_time: float = _unit("seconds")
    max_load_time: float = _unit("seconds")
    bytes: int = _unit("bytes")
    """Deep size of every loaded value, added up."""
    largest: int = _unit("bytes")


class lazy(_Pattern, Generic[T]):  # noqa: N801 (a decorator, named like property)
    """A cached property: computed on first access, stored in the instance's ``__dict__``,
    with the load time and deep size of the value recorded."""

    _kind = "lazy"

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.attrname: str | None = None
        self.name = func.__qualname__
        self.__doc__ = func.__doc__
        self._lock = threading.Lock()
        self._loads = self._bytes = self._largest = 0
        self._load_time = self._max_load_time = 0.0
        code = func.__code__
        _register(self, f"{code.co_filename}:{code.co_firstlineno}")

    def __set_name__(self, owner: type, name: str) -> None:
        self.attrname = name
        self.name = f"{owner.__qualname__}.{name}"

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> lazy[T]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> T | lazy[T]:
        if instance is None:
            return self
        if self.attrname is None:
            raise TypeError("a lazy attribute must be assigned in a class body")
        try:
            cache = instance.__dict__
        except AttributeError:
            raise TypeError(
                f"{type(instance).__name__!r} instances have no __dict__ to keep "
                f"{self.attrname!r} in"
            ) from None
        start = time.perf_counter()
        value = self.func(instance)
        elapsed = time.perf_counter() - start
        try:
            size = _native.sizeof(value, deep=True)
        except Exception:  # a size that cannot be taken must not break the program
            size = 0
        # Two threads may race on one instance: both load, the first stored value wins.
        value = cache.setdefault(self.attrname, value)
        with self._lock:
            self._loads += 1
            self._load_time += elapsed
            self._max_load_time = max(self._max_load_time, elapsed)
            self._bytes += size
            self._largest = max(self._largest, size)
        return value

    def stats(self) -> LazyStats:
        with self._lock:
            return LazyStats(
                loads=self._loads,
                load_time=self._load_time,
                max_load_time=self._max_load_time,
                bytes=self._bytes,
                largest=self._largest,
            )


@dataclass(frozen=True)
class BufferPoolStats:
    """A ``BufferPool``'s totals; ``size_classes()`` has the figures per class."""

    acquired: int
    reused: int
    hit_rate: float = _unit("ratio")
    in_use: int
    in_use_bytes: int = _unit("bytes")
    free: int
    free_bytes: int = _unit("bytes")
    trimmed: int
    """Idle blocks released to the allocator."""


class BufferPool(_native.BufferPool, _Pattern):
    """Writable buffers from power-of-two size classes (64 B up to ``max_size``), reused
    across requests; free blocks idle for ``idle_seconds`` are released. Thread-safe.

    ``acquire(n, zero=False)`` returns a ``memoryview`` of ``n`` bytes (a reused block holds
    what its last user wrote unless ``zero=True``); the block returns to the pool when the
    view and its slices are released or collected. ``trim()``, ``clear()``,
    ``size_classes()`` and ``stats()`` complete it.
    """

    _kind = "BufferPool"

    def __init__(
        self, max_size: int = 1 << 26, idle_seconds: float = 2.0, name: str | None = None
    ) -> None:
        _register(self, _caller_site())

    def stats(self) -> BufferPoolStats:
        classes = self.size_classes()
        total = {
            key: sum(c[key] for c in classes)
            for key in ("acquired", "reused", "in_use", "free", "trimmed")
        }
        return BufferPoolStats(
            hit_rate=_rate(total["reused"], total["acquired"]),
            in_use_bytes=sum(c["in_use"] * c["size"] for c in classes),
            free_bytes=sum(c["free"] * c["size"] for c in classes),
            **total,
        )
