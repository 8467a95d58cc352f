"""Allocates inside code that dies as soon as it has run: twenty strings compiled and exec'd,
round N's allocations at line N + 1 of "made.py", each round's code freed before the next is
made (and likely put where it was)."""

for round in range(20):
    source = "\n" * round + "kept = [bytes(100) for _ in range(2000)]\n"
    namespace = {}
    exec(compile(source, "made.py", "exec"), namespace)
    del namespace
print("done")
