# fluoro dis --adaptive: run as `PYTHON -c <this> OUT SCRIPT [ARGS...]`. Runs SCRIPT as
# __main__ with its own argv, then writes to OUT the version and, for every code object of the
# script, `dis.get_instructions(code, adaptive=True)` as [offset, opname, line, argrepr].
import json
import os
import sys
import traceback
import types

out_path, script = sys.argv[1], sys.argv[2]
report = {"version": list(sys.version_info[:2]), "codes": []}
code = None
if sys.version_info >= (3, 11):
    import dis

    path = os.path.abspath(script)
    sys.argv = sys.argv[2:]
    sys.path[0] = os.path.dirname(path)
    with open(path, "rb") as f:
        source = f.read()
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as e:
        at = (("line", e.lineno), ("column", e.offset))
        where = "".join(f", {name} {value}" for name, value in at if value)
        report["syntax_error"] = f"{type(e).__name__} in {script}{where}: {e.msg}"
# How often each line of the script ran: a CPU-time sample of its innermost frame of the
# script every millisecond (a signal handler runs between instructions and leaves the
# interpreter's specialization as it is).
samples = {}


def _sample(signum, frame):
    while frame is not None and frame.f_code.co_filename != path:
        frame = frame.f_back
    if frame is not None:
        key = (frame.f_code, frame.f_lineno)
        samples[key] = samples.get(key, 0) + 1


if code is not None:
    import signal

    signal.signal(signal.SIGPROF, _sample)
    signal.setitimer(signal.ITIMER_PROF, 0.001, 0.001)
    main = types.ModuleType("__main__")
    main.__file__ = path
    main.__builtins__ = __builtins__
    sys.modules["__main__"] = main
    try:
        exec(code, main.__dict__)
    except SystemExit:
        pass
    except BaseException as e:
        # The script's own traceback, as python shows it: without this driver's frame.
        traceback.print_exception(type(e), e, e.__traceback__.tb_next)

    signal.setitimer(signal.ITIMER_PROF, 0, 0)
    signal.signal(signal.SIGPROF, signal.SIG_DFL)

    # Functions share their code object with the module's constants, so walking the constants
    # reaches every code object the run specialized.
    def walk(c):
        yield c
        for k in c.co_consts:
            if isinstance(k, types.CodeType):
                yield from walk(k)

    for c in walk(code):
        instructions = [
            [i.offset, i.opname, i.positions.lineno, i.argrepr]
            for i in dis.get_instructions(c, adaptive=True)
        ]
        report["codes"].append(
            {
                "qualname": c.co_qualname,
                "file": c.co_filename,
                "firstlineno": c.co_firstlineno,
                "instructions": instructions,
                "line_samples": [[line, n] for (c2, line), n in samples.items() if c2 is c],
            }
        )
# New, and never through a link: the directory is private, but the file is made here.
fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump(report, f)
