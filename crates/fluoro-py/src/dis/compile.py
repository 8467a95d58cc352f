"""Compiles `fluoro dis` targets with this interpreter and marshals their code objects.

In fluoro's own interpreter, `compile_targets` is called directly; for `--python PATH` this
file runs as `PATH -c SOURCE kind:value ...` and writes binary records to stdout: the
version (two bytes), then per target `<I path length> <B ok> <I payload length> path payload`
where the payload is the marshalled code object or an error message (UTF-8).
"""

import importlib.util
import marshal
import struct
import sys


def _source_path(kind, value):
    if kind == "file":
        return value
    spec = importlib.util.find_spec(value)
    if spec is None:
        raise ImportError(f"no module named {value!r}")
    origin = spec.origin
    if not origin or not origin.endswith(".py"):
        raise ImportError(f"module {value!r} has no Python source ({origin})")
    return origin


def _text(message):
    return message.encode("utf-8", "replace")


def compile_targets(requests):
    out = []
    for kind, value in requests:
        path = value
        try:
            path = _source_path(kind, value)
            with open(path, "rb") as f:
                source = f.read()
            code = compile(source, path, "exec", dont_inherit=True)
            out.append((path, True, marshal.dumps(code)))
        except SyntaxError as e:
            out.append((path, False, _text(f"SyntaxError: {e.msg} (line {e.lineno})")))
        except Exception as e:  # noqa: BLE001 - every failure becomes one line
            out.append((path, False, _text(f"{type(e).__name__}: {e}")))
    return out


if __name__ == "__main__":
    w = sys.stdout.buffer
    w.write(bytes(sys.version_info[:2]))
    for path, ok, payload in compile_targets([a.split(":", 1) for a in sys.argv[1:]]):
        p = path.encode("utf-8", "surrogateescape")
        w.write(struct.pack("<IBI", len(p), ok, len(payload)) + p + payload)
    w.flush()
