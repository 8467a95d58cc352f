# Gathers raw facts about the interpreter that runs it, for `fluoro env`.
# Runs inside fluoro's own process, or as `python -c` in another interpreter (--python), so it
# keeps to the standard library and imports nothing the interpreter has not loaded already
# except sysconfig and platform. Prints nothing; `facts()` returns a JSON-ready dict.
import gc
import os
import sys


def _mallocstats():
    # sys._debugmallocstats() writes to the C-level stderr: catch fd 2 for the call.
    if not hasattr(sys, "_debugmallocstats"):
        return None
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("fluoro-mallocstats")
    else:
        import tempfile

        fd = os.dup(tempfile.TemporaryFile().fileno())
    saved = os.dup(2)
    try:
        os.dup2(fd, 2)
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    os.lseek(fd, 0, 0)
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


def facts():
    import platform
    import sysconfig

    def var(name):
        return sysconfig.get_config_var(name)

    flags = {}
    for name in dir(sys.flags):
        if not name.startswith("_") and name not in ("count", "index", "n_fields",
                                                     "n_sequence_fields", "n_unnamed_fields"):
            value = getattr(sys.flags, name)
            if isinstance(value, (bool, int, str)):
                flags[name] = value
    stats = gc.get_stats() if hasattr(gc, "get_stats") else []
    threading = sys.modules.get("threading")
    env_malloc = None if sys.flags.ignore_environment else os.environ.get("PYTHONMALLOC")
    return {
        "implementation": platform.python_implementation(),
        "version": platform.python_version(),
        "version_full": sys.version,
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "platform": sys.platform,
        "platform_full": platform.platform(),
        "byteorder": sys.byteorder,
        "pid": os.getpid(),
        "build": {
            "compiler": platform.python_compiler(),
            "build_date": " ".join(platform.python_build()),
            "debug_build": hasattr(sys, "gettotalrefcount"),
            "with_pymalloc": bool(var("WITH_PYMALLOC")),
            "shared_libpython": bool(var("Py_ENABLE_SHARED")),
            "free_threaded": bool(var("Py_GIL_DISABLED")),
            "config_args": var("CONFIG_ARGS") or "",
        },
        "flags": flags,
        "recursion_limit": sys.getrecursionlimit(),
        "switch_interval": sys.getswitchinterval(),
        "gc": {
            "enabled": gc.isenabled(),
            "thresholds": list(gc.get_threshold()),
            "counts": list(gc.get_count()),
            "generations": [
                dict(
                    {
                        "collections": s.get("collections", 0),
                        "collected": s.get("collected", 0),
                        "uncollectable": s.get("uncollectable", 0),
                    },
                    # 3.15+ also counts what each generation's collections examined and took.
                    **{k: s[k] for k in ("candidates", "duration") if k in s},
                )
                for s in stats
            ],
            "frozen": gc.get_freeze_count() if hasattr(gc, "get_freeze_count") else 0,
            "tracked_objects": len(gc.get_objects()),
            "garbage": len(gc.garbage),
        },
        "pythonmalloc": env_malloc,
        "mallocstats": _mallocstats(),
        "modules_loaded": len(sys.modules),
        "builtin_modules": len(sys.builtin_module_names),
        "sys_path": list(sys.path),
        "python_threads": threading.active_count() if threading else 1,
    }


if __name__ == "__main__":
    import json

    sys.stdout.write(json.dumps(facts()) + "\n")
    sys.stdout.flush()
    # Wait until fluoro has read this process's /proc entry.
    sys.stdin.readline()
