"""Isolated subinterpreters, each with a GIL of its own, allocating in threads while the main
interpreter allocates too (3.12+): fluoro's allocation hook must leave them unharmed."""

import textwrap
import threading

try:
    import _interpreters as interpreters  # 3.13+
except ImportError:
    try:
        import _xxsubinterpreters as interpreters  # 3.12
    except ImportError:
        interpreters = None

CODE = textwrap.dedent("""
    total = 0
    for round in range(30):
        data = [{"k": (i, str(i)), "v": [i] * 3} for i in range(5000)]
        total += sum(len(d["k"][1]) for d in data)
        text = "".join(str(i) for i in range(2000))
        del data, text
    """)


def run_in(interp):
    interpreters.run_string(interp, CODE)


if interpreters is None:
    print("no subinterpreters")
else:
    made = []
    for _ in range(2):
        try:
            made.append(interpreters.create(isolated=True))
        except TypeError:  # 3.13+: a config, not a flag
            made.append(interpreters.create("isolated"))
    threads = [threading.Thread(target=run_in, args=(interp,)) for interp in made]
    for t in threads:
        t.start()
    checksum = 0
    for round in range(30):
        data = [(i, str(i), [i]) for i in range(5000)]
        checksum += sum(len(s) for _, s, _ in data)
    for t in threads:
        t.join()
    for interp in made:
        interpreters.destroy(interp)
    print("main checksum", checksum)
