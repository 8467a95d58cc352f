"""Runs code in subinterpreters, shared and isolated, where the version has them: their objects
die with them, before the profiled process ends."""

import random
import textwrap

try:
    import _interpreters as interpreters  # 3.13+
except ImportError:
    try:
        import _xxsubinterpreters as interpreters  # 3.12
    except ImportError:
        interpreters = None

if interpreters is None:
    print("no subinterpreters")
else:
    s = "never interned before" + str(random.randrange(0, 10**9))
    for isolated in (False, True):
        try:
            interp = interpreters.create(isolated=isolated)
        except TypeError:  # 3.13+: a config, not a flag
            interp = interpreters.create("isolated" if isolated else "legacy")
        code = textwrap.dedent(f"""
            import sys
            t = sys.intern({s!r})
            data = [{{"k": (i, str(i))}} for i in range(20000)]
            """)
        interpreters.run_string(interp, code)
        interpreters.destroy(interp)
    print("ran in 2 subinterpreters")
