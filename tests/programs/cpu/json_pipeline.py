"""A JSON round trip in a loop: build a record, render it, parse it back, validate it. Calls
come and go thousands of times a second, so a stack read while the chain changes would join
one call's callers to another's callees."""

import json


def build(i):
    return {"id": i, "tags": [f"t{k}" for k in range(i % 7)], "score": i * 0.5, "ok": i % 2 == 0}


def render(record):
    return json.dumps(record, sort_keys=True)


def parse(text):
    return json.loads(text)


def validate(record):
    return isinstance(record["id"], int) and all(t.startswith("t") for t in record["tags"])


def main():
    good = 0
    for i in range(60_000):
        good += validate(parse(render(build(i))))
    print("done" if good == 60_000 else "bad")


main()
