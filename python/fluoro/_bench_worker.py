"""The worker of ``fluoro bench``: times a statement or a function in this interpreter.

``fluoro bench`` runs it as ``PYTHON -c SOURCE TASK`` (TASK is JSON) and reads one JSON line:
``{"loops": N, "values": [seconds per iteration, ...]}`` or ``{"error": "..."}``. It imports
nothing from fluoro, so it runs under any interpreter (PyPy included) where fluoro is not
installed; ``fluoro.timeit`` imports the same functions to time callables in-process.
"""

import gc
import json
import os
import sys
import time

_TEMPLATE = """
def inner(_loops, _timer):
{setup}
    _range = range(_loops)
    _t0 = _timer()
    for _ in _range:
{stmt}
    return _timer() - _t0
"""


class TaskError(Exception):
    """A bad statement, file or function: reported as one line."""


def _indent(code, spaces):
    return "\n".join(" " * spaces + line for line in code.splitlines()) or " " * spaces + "pass"


def _check_syntax(code, what):
    try:
        compile(code, f"<{what}>", "exec")
    except SyntaxError as e:
        raise TaskError(f"bad {what} {code!r}: SyntaxError: {e.msg}") from None


def statement_timer(setup, stmt):
    """``inner(loops)`` timing ``loops`` runs of ``stmt`` after ``setup``, in seconds."""
    setup_code = "\n".join(setup) or "pass"
    _check_syntax(setup_code, "setup")
    _check_syntax(stmt, "statement")
    source = _TEMPLATE.format(setup=_indent(setup_code, 4), stmt=_indent(stmt, 8))
    namespace = {}
    exec(compile(source, "<fluoro bench>", "exec"), namespace)
    inner = namespace["inner"]
    clock = time.perf_counter_ns
    return lambda loops: inner(loops, clock) / 1e9


def callable_timer(fn, args=(), kwargs=None):
    """``inner(loops)`` timing ``loops`` calls of ``fn(*args, **kwargs)``, in seconds."""
    kwargs = kwargs or {}
    clock = time.perf_counter_ns

    def inner(loops):
        it = range(loops)
        t0 = clock()
        for _ in it:
            fn(*args, **kwargs)
        return (clock() - t0) / 1e9

    return inner


def function_timer(path, func):
    """The timer of ``func()`` defined in the file ``path`` (``fluoro bench path.py::func``)."""
    if not os.path.isfile(path):
        raise TaskError(f"no such file: {path}")
    import importlib.util

    spec = importlib.util.spec_from_file_location("__fluoro_bench__", path)
    if spec is None or spec.loader is None:
        raise TaskError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        raise TaskError(f"{path}: SyntaxError: {e.msg} (line {e.lineno})") from None
    fn = getattr(module, func, None)
    if fn is None:
        raise TaskError(f"no function {func!r} in {path}")
    if not callable(fn):
        raise TaskError(f"{path}::{func} is not callable")
    return callable_timer(fn)


def calibrate(inner, min_time):
    """The smallest loop count (growing geometrically) whose run takes at least ``min_time``."""
    loops = 1
    while True:
        elapsed = inner(loops)
        if elapsed >= min_time or loops >= 1 << 40:
            return loops
        factor = 10 if elapsed <= 0 else min(10.0, max(2.0, 1.2 * min_time / elapsed))
        loops = int(loops * factor)


#: Seconds a JIT (PyPy's) gets to compile the code before it is calibrated and timed.
JIT_WARMUP = 0.5


def _has_jit():
    return sys.implementation.name == "pypy"


def warm_jit(inner, seconds):
    """Runs the code, in growing batches, for about ``seconds``: a tracing JIT compiles a loop
    after it has run many times, and values taken before that time the interpreter instead."""
    loops, spent = 1, 0.0
    while spent < seconds:
        spent += inner(loops)
        loops *= 2


def measure(inner, loops, values, warmups=0, use_gc=True):
    """``values`` timings, seconds per iteration, after ``warmups`` discarded ones."""
    was_enabled = gc.isenabled()
    if not use_gc:
        gc.disable()
    try:
        for _ in range(warmups):
            inner(loops)
        return [inner(loops) / loops for _ in range(values)]
    finally:
        if was_enabled and not use_gc:
            gc.enable()


def run_task(task):
    if task.get("stmt") is not None:
        inner = statement_timer(task.get("setup") or [], task["stmt"])
    else:
        inner = function_timer(task["path"], task["func"])
    loops = task.get("loops") or 0
    warmups = task.get("warmups", 1)
    if _has_jit():
        warm_jit(inner, task.get("jit_warmup", JIT_WARMUP))
    if not loops:
        loops = calibrate(inner, task.get("min_time", 0.01))
        warmups = max(0, warmups - 1)  # calibration already ran the code
    values = measure(inner, loops, task.get("values", 5), warmups, task.get("gc", True))
    return {"loops": loops, "values": values}


def main(argv):
    try:
        reply = run_task(json.loads(argv[1]))
    except TaskError as e:
        reply = {"error": str(e)}
    except Exception as e:  # the benchmarked code raised
        reply = {"error": f"{type(e).__name__}: {e}"}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
    return 0 if "values" in reply else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
