"""Sleeps in `holder` with a local of each kind `fluoro dump --locals` shows, until killed;
prints "ready" and then, as JSON, Python's own repr of each (the custom object's address too)."""

import json
import time


class Custom:
    pass


def holder(count, *rest, **options):
    big = 2**100
    huge = -(10**200)
    ratio = -1.5e-7
    text = "it's \"quoted\"\tcafé 中文 🐍 \x1b[31m\\ \u200b"
    long_text = "ab" * 100
    data = b"\x00bytes'\xff"
    nothing = None
    flag = True
    items = [1, 2, 3]
    table = {"a": 1, "b": 2}
    obj = Custom()
    unbound = None
    del unbound

    def closure():
        return count

    reprs = {
        name: repr(value)
        for name, value in locals().items()
        if name not in ("closure", "reprs", "rest", "options")
    }
    print("ready", flush=True)
    print(json.dumps({"reprs": reprs, "obj": f"{id(obj):#x}"}), flush=True)
    time.sleep(600)  # marker: sleep
    return closure


holder(41, "extra", key="value")  # marker: module
