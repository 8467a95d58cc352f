"""A request handler whose cache never forgets: run it under `fluoro run` to see the leak,
the spike from a report it builds, and what grew between two snapshots.

    fluoro run examples/cache_leak.py
"""

import fluoro

CACHE = {}


def render(user_id: int) -> str:
    rows = [f"<tr><td>{user_id}</td><td>{i}</td></tr>" for i in range(40)]
    return "".join(rows)


def handle(user_id: int, request_no: int) -> int:
    page = render(user_id)
    # The bug: the key includes the request number, so nothing is ever reused.
    CACHE[(user_id, request_no)] = page
    return len(page)


def monthly_report(n: int) -> int:
    table = [[float(i * j) for j in range(100)] for i in range(n)]
    return len(table)


fluoro.snapshot("warm")
total = 0
for request_no in range(20_000):
    total += handle(request_no % 500, request_no)
total += monthly_report(2_000)
fluoro.snapshot("after 20k requests")
print(f"served {total} bytes")
