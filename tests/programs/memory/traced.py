"""What the accuracy programs share: with ``--tracemalloc`` on their command line, tracemalloc
runs from ``start()`` and ``report(__file__)`` prints its live bytes per line of that file as
JSON; without it both do nothing."""

import json
import sys
import tracemalloc

ON = "--tracemalloc" in sys.argv


def start():
    if ON:
        tracemalloc.start()


def report(path):
    if not ON:
        return
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    lines = {}
    for stat in snapshot.statistics("lineno"):
        frame = stat.traceback[0]
        if frame.filename == path:
            lines[frame.lineno] = stat.size
    print(json.dumps(lines))
