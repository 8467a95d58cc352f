"""Exact mode must count calls as cProfile does: for every function, (calls, primitive
calls), and for every caller edge the same, on real programs run the same way under both.

Each program runs in a subprocess of the interpreter under test, once under cProfile and
once under ``fluoro._native._exact_start/_exact_stop``, both started right before ``exec``
of the program and stopped right after it; the harness prints what each counted, keyed the
way pstats keys functions: (filename, firstlineno, name), ``('~', 0, label)`` for C ones.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from conftest import Interpreter, run

HARNESS = r"""
import json, sys, threading

mode, path = sys.argv[1], sys.argv[2]
with open(path) as f:
    code = compile(f.read(), path, "exec")
namespace = {"__name__": "__main__", "__file__": path}
# The functions that start and stop each profiler: left out of the comparison.
CONTROL = {"<method 'disable' of '_lsprof.Profiler' objects>",
           "<built-in method fluoro._native._exact_stop>"}


def key(filename, line, name):
    return f"{filename}:{line}:{name}"


if mode == "cprofile":
    import cProfile
    import pstats

    per_thread = []
    if sys.version_info < (3, 12):
        # cProfile 3.10/3.11 sees only the thread that enables it: each new thread gets its
        # own profiler, merged below (fluoro keeps one stack per thread the same way).
        def profile_thread(frame, event, arg):
            profiler = cProfile.Profile()
            per_thread.append(profiler)
            profiler.enable()

        threading.setprofile(profile_thread)
    profiler = cProfile.Profile()
    profiler.enable()
    exec(code, namespace)
    profiler.disable()
    threading.setprofile(None)
    stats = pstats.Stats(profiler)
    for other in per_thread:
        other.disable()
        stats.add(other)
    functions, edges = {}, {}
    for (filename, line, name), (cc, nc, _tt, _ct, callers) in stats.stats.items():
        callee = key(filename, line, name)
        functions[callee] = [nc, cc]
        for (cfile, cline, cname), (enc, ecc, _ett, _ect) in callers.items():
            edges[f"{key(cfile, cline, cname)} -> {callee}"] = [enc, ecc]
else:
    from fluoro import _native

    _native._exact_start()
    exec(code, namespace)
    stats = _native._exact_stop()
    table = stats["functions"]
    functions, edges = {}, {}
    for f in table:
        callee = key(f["filename"], f["line"], f["name"])
        functions[callee] = [f["calls"], f["prim_calls"]]
        for e in f["callers"]:
            c = table[e["caller"]]
            edges[f"{key(c['filename'], c['line'], c['name'])} -> {callee}"] = [
                e["calls"], e["prim_calls"]]
        assert f["tottime_ns"] >= 0 and f["cumtime_ns"] >= 0
    assert stats["overhead_ns_per_event"] > 0

functions = {k: v for k, v in functions.items() if k.rsplit(":", 1)[1] not in CONTROL}
edges = {k: v for k, v in edges.items() if not any(c in k for c in CONTROL)}
print(json.dumps({"functions": functions, "edges": edges}))
"""

PROGRAMS = {
    "recursion": """
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)

        def fact(n):
            if n <= 1:
                return 1
            return n * fact(n - 1)

        def main():
            total = 0
            for i in range(5):
                total += fib(12) + fact(20 + i)
            return total

        main()
        fib(7)
    """,
    "mutual_recursion": """
        def is_even(n):
            return True if n == 0 else is_odd(n - 1)

        def is_odd(n):
            return False if n == 0 else is_even(n - 1)

        def a(n):
            return b(n) if n > 0 else 0

        def b(n):
            return a(n - 1) + c(n)

        def c(n):
            return n

        for k in range(30):
            is_even(k)
        a(25)
    """,
    "generators": """
        def count(n):
            for i in range(n):
                yield i

        def squares(n):
            yield from (i * i for i in count(n))

        def echo():
            got = 0
            while True:
                got = yield got * 2

        def closed_early():
            try:
                yield 1
                yield 2
            finally:
                pass

        total = sum(count(50)) + sum(squares(20))
        e = echo()
        next(e)
        for i in range(10):
            e.send(i)
        e.close()
        g = closed_early()
        next(g)
        g.close()
        total += sum(x for x in count(5))
        total += len([y for y in range(4)])
    """,
    "methods": """
        class Shape:
            def __init__(self, n):
                self.n = n

            def area(self):
                return self.n * self.n

            @property
            def size(self):
                return self.area()

            @staticmethod
            def unit():
                return Shape(1)

            @classmethod
            def of(cls, n):
                return cls(n)

        class Square(Shape):
            def area(self):
                return super().area() + 0

        total = 0
        for i in range(20):
            s = Square.of(i) if i % 2 else Shape.unit()
            total += s.size + s.area()
    """,
    "builtins": """
        def key(x):
            return -x

        def work():
            items = []
            for i in range(40):
                items.append(i % 7)
                items.append(len(items))
            d = {}
            for i in items:
                d[i] = d.get(i, 0) + 1
            ordered = sorted(items, key=key)
            ordered = sorted(ordered, key=lambda v: (v % 3, v))
            text = ",".join(map(str, ordered[:10]))
            return max(items, key=key), min(items), len(text), isinstance(d, dict)

        for _ in range(3):
            work()
    """,
    "exceptions": """
        class Problem(Exception):
            pass

        def deepest(n):
            if n % 3 == 0:
                raise Problem(n)
            return n

        def middle(n):
            try:
                return deepest(n)
            finally:
                n += 1

        def top(n):
            try:
                return middle(n)
            except Problem:
                return -1

        def parse(text):
            try:
                return int(text)
            except ValueError:
                return None

        def gen_raises():
            yield 1
            raise Problem("in generator")

        results = [top(i) for i in range(30)]
        parsed = [parse(t) for t in ("1", "x", "22", "?")]
        try:
            list(gen_raises())
        except Problem:
            pass
    """,
    "class_init": """
        class Point:
            def __init__(self, x, y):
                self.x = x
                self.y = y

            def __eq__(self, other):
                return (self.x, self.y) == (other.x, other.y)

            def __hash__(self):
                return hash((self.x, self.y))

            def __repr__(self):
                return f"Point({self.x}, {self.y})"

        points = [Point(i % 5, i % 3) for i in range(40)]
        unique = set(points)
        text = [repr(p) for p in points[:5]]
        same = sum(1 for p in points if p == Point(0, 0))
    """,
    "coroutines": """
        class Ready:
            def __await__(self):
                yield
                return 1

        async def leaf(n):
            return await Ready() + n

        async def branch(n):
            total = 0
            for i in range(n):
                total += await leaf(i)
            return total

        def drive(coro):
            try:
                while True:
                    coro.send(None)
            except StopIteration as stop:
                return stop.value

        for k in range(4):
            drive(branch(k + 3))
    """,
    "thread": """
        import threading

        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)

        def worker(out):
            for i in range(6):
                out.append(fib(10 + i % 3))
            out.append(len(out))

        def thread_body(go, out):
            go.wait()
            worker(out)

        fib(9)
        go, out = threading.Event(), []
        t = threading.Thread(target=thread_body, args=(go, out))
        t.start()
        go.set()
        t.join()
        fib(8)
    """,
}

# The thread program: cProfile cannot see a thread from its start the way fluoro does, so
# the comparison keeps the program's own functions and the calls they make, without the
# caller of the thread's entry function. On 3.10/3.11 a per-thread profiler, enabled by the
# thread's first event, is exact from there on. On 3.12+ cProfile keeps one stack for all
# threads: function counts stay right, but the edges of the two functions running while the
# threads switch (the main module and the thread's entry) are mixed up, so they are left out.
THREAD_ENTRY = "thread_body"
SWITCHING = (":<module>", ":" + THREAD_ENTRY)


def profile(py: Interpreter, name: str, mode: str, tmp_path) -> dict:
    program = tmp_path / f"{name}.py"
    if not program.exists():
        program.write_text(textwrap.dedent(PROGRAMS[name]))
    harness = tmp_path / "harness.py"
    if not harness.exists():
        harness.write_text(HARNESS)
    result = run([py.python, harness, mode, program], cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def restrict_to_program(counts: dict, program: str, version: str) -> dict:
    def ours(label: str) -> bool:
        return label.startswith(program + ":")

    def kept(edge: str) -> bool:
        caller, callee = edge.split(" -> ")
        if not ours(caller) or callee.endswith(":" + THREAD_ENTRY):
            return False
        shared_stack = tuple(map(int, version.split("."))) >= (3, 12)
        return not (shared_stack and caller.endswith(SWITCHING))

    functions = {k: v for k, v in counts["functions"].items() if ours(k)}
    edges = {k: v for k, v in counts["edges"].items() if kept(k)}
    return {"functions": functions, "edges": edges}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_counts_match_cprofile(any_python: Interpreter, name, tmp_path):
    expected = profile(any_python, name, "cprofile", tmp_path)
    got = profile(any_python, name, "exact", tmp_path)
    if name == "thread":
        program = str(tmp_path / f"{name}.py")
        expected = restrict_to_program(expected, program, any_python.version)
        got = restrict_to_program(got, program, any_python.version)
        assert any(k.endswith(":worker") for k in got["functions"]), got
    assert got["functions"] == expected["functions"]
    assert got["edges"] == expected["edges"]


def test_thread_started_before_start_is_counted(current: Interpreter, tmp_path):
    """A thread already running when exact mode starts is covered too."""
    program = tmp_path / "running.py"
    program.write_text(
        textwrap.dedent(
            """
            import json, threading
            from fluoro import _native

            def spin(n):
                return n

            def body(ready, go, done):
                ready.set()
                go.wait()
                for i in range(100):
                    spin(i)
                done.set()

            ready, go, done = threading.Event(), threading.Event(), threading.Event()
            t = threading.Thread(target=body, args=(ready, go, done))
            t.start()
            ready.wait()
            _native._exact_start()
            go.set()
            done.wait()
            stats = _native._exact_stop()
            t.join()
            print(json.dumps({f["name"]: f["calls"] for f in stats["functions"]}))
            """
        )
    )
    result = run([current.python, program], cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout).get("spin") == 100


def test_stop_without_start_is_an_error(current: Interpreter, tmp_path):
    code = (
        "from fluoro import _native\n"
        "try:\n    _native._exact_stop()\nexcept RuntimeError as e:\n    print('error', e)\n"
        "_native._exact_start()\n"
        "try:\n    _native._exact_start()\nexcept RuntimeError as e:\n    print('error', e)\n"
        "print(len(_native._exact_stop()['functions']) >= 0)\n"
    )
    result = run([current.python, "-c", code], cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().splitlines() == [
        "error exact mode is not running",
        "error exact mode is already running",
        "True",
    ]
