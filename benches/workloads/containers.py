"""Container-heavy workload, as user code builds data: lists of small dicts holding strings
and lists, a dict of lists churned, strings built piece by piece, and a JSON round trip. About
four million allocations a second, most of them small blocks from pymalloc.

    python containers.py [PART...] [SCALE]   # PART: records, churn, strings, json (all)

Prints a checksum so a profiler run can be checked against a bare one.
"""

import json
import sys


def records(n: int) -> int:
    total = 0
    for r in range(n):
        rows = [
            {"id": i, "name": f"user{i}", "tags": ["a", str(i % 7)], "score": i * 0.5}
            for i in range(200)
        ]
        total += sum(len(row["tags"]) for row in rows) + r
    return total


def churn(n: int) -> int:
    buckets: dict[int, list[tuple[int, str]]] = {}
    total = 0
    for i in range(n):
        key = i % 512
        bucket = buckets.setdefault(key, [])
        bucket.append((i, str(i)))
        if len(bucket) > 24:
            total += len(buckets.pop(key))
    return total + sum(len(b) for b in buckets.values())


def strings(n: int) -> int:
    total = 0
    for r in range(n):
        parts = []
        for i in range(100):
            parts.append(f"{r}:{i};")
        text = "".join(parts)
        total += len(text.split(";"))
    return total


def json_round_trip(n: int) -> int:
    doc = {"items": [{"k": i, "v": [i, str(i), {"x": i * 1.5}]} for i in range(60)]}
    total = 0
    for _ in range(n):
        total += len(json.loads(json.dumps(doc))["items"])
    return total


PARTS = {
    "records": (records, 12000),
    "churn": (churn, 3_000_000),
    "strings": (strings, 40000),
    "json": (json_round_trip, 10000),
}


def main() -> None:
    args = sys.argv[1:]
    scale = float(args.pop()) if args and args[-1][0].isdigit() else 1.0
    checksum = 0
    for name in args or list(PARTS):
        fn, n = PARTS[name]
        checksum += fn(max(1, int(n * scale)))
    print(checksum)


if __name__ == "__main__":
    main()
