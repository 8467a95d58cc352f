"""Allocation-heavy workload: lists, dicts, small objects and strings built and dropped.

Prints a checksum so a profiler run can be checked against a bare one.
"""

import sys


class Point:
    __slots__ = ("x", "y")

    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y


class Record:
    def __init__(self, key: str, values: list[int]) -> None:
        self.key = key
        self.values = values


def churn_lists(rounds: int) -> int:
    total = 0
    for i in range(rounds):
        row = [i, i + 1, i + 2, i * 2]
        row.extend(range(i % 16))
        total += len(row) + row[-1]
    return total


def churn_dicts(rounds: int) -> int:
    total = 0
    for i in range(rounds):
        table = {"a": i, "b": i + 1, str(i % 97): i}
        table["c"] = table["a"] + table["b"]
        total += len(table) + table["c"]
    return total


def churn_objects(rounds: int) -> int:
    total = 0
    keep: list[Record] = []
    for i in range(rounds):
        p = Point(i, i * 2)
        r = Record(f"k{i % 1000}", [p.x, p.y])
        keep.append(r)
        if len(keep) > 1000:
            keep = keep[500:]
        total += r.values[1] - r.values[0]
    return total + len(keep)


def churn_strings(rounds: int) -> int:
    total = 0
    for i in range(rounds):
        s = "-".join([str(i), hex(i), "x" * (i % 32)])
        total += len(s.upper().split("-")[1])
    return total


def main() -> None:
    scale = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    checksum = 0
    for _ in range(scale):
        checksum = checksum * 31 + churn_lists(1_200_000)
        checksum = checksum * 31 + churn_dicts(1_200_000)
        checksum = checksum * 31 + churn_objects(1_200_000)
        checksum = checksum * 31 + churn_strings(1_200_000)
    print(f"checksum: {checksum % (1 << 61)}")


if __name__ == "__main__":
    main()
