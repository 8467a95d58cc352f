"""`fluoro dis`: instruction streams equal to `dis.get_instructions` on the whole stdlib of every
interpreter present, `.pyc` files of any version read by any fluoro, targets, and one-line
errors with exit 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from test_cli import one_line_error

from conftest import HERE, Interpreter, fluoro, run

SAMPLE = """\
import os
RATE = 1.5e-07
def outer(a, b=2, *args, k, **kw):
    def inner(x):
        return x + a
    for i in range(a):
        if i > b:
            print(f"{i!r:>3}", 'it\\'s', b'\\x00', (1,), 2j)
    try:
        return inner
    except (ValueError, KeyError):
        raise
class C:
    def m(self):
        return super().m() + self.y
"""

# Prints [[offset, opname, arg, argrepr], ...] per code object, module first, as `dis` sees it.
EXPECTED = """\
import dis, json, marshal, sys
def walk(c):
    yield c
    for k in c.co_consts:
        if hasattr(k, "co_code"):
            yield from walk(k)
with open(sys.argv[1], "rb") as f:
    code = marshal.loads(f.read()[16:])
print(json.dumps([[[i.offset, i.opname, i.arg, i.argrepr] for i in dis.get_instructions(c)
                   if " at 0x" not in i.argrepr] for c in walk(code)]))
"""


def test_stdlib_equals_dis(any_python: Interpreter):
    """Every stdlib module (test suites and site-packages left out) that this interpreter
    compiles: offsets, opnames, args, argreprs and lines equal `dis.get_instructions`'s.
    Normalised: code-object addresses in argreprs, and frozenset constants (compared by value,
    their iteration order follows the process's string hash seed)."""
    result = run([any_python.python, HERE / "dis_stdlib_check.py", any_python.fluoro], timeout=300)
    out = result.stdout.decode()
    print(out, result.stderr.decode())
    assert result.returncode == 0, out + result.stderr.decode()
    assert "compared" in out and " 0 mismatches" in out


def test_pyc_of_any_version(any_python: Interpreter, tmp_path):
    """A .pyc written by any interpreter is read by the fluoro of the current one."""
    source = tmp_path / "sample.py"
    source.write_text(SAMPLE)
    pyc = tmp_path / "sample.pyc"
    compiled = run(
        [
            any_python.python,
            "-c",
            f"import py_compile; py_compile.compile({str(source)!r}, {str(pyc)!r})",
        ]
    )
    assert compiled.returncode == 0, compiled
    want = json.loads(run([any_python.python, "-c", EXPECTED, pyc]).stdout)
    got = fluoro("dis", "--json", pyc)
    assert got.returncode == 0, got.stderr
    objects = json.loads(got.stdout)
    assert [o["qualname"] for o in objects][:2] == ["<module>", "outer"]
    assert objects[1]["firstlineno"] == 3
    mine = [
        [
            [i["offset"], i["opname"], i["arg"], i["argrepr"]]
            for i in o["instructions"]
            if " at 0x" not in i["argrepr"]
        ]
        for o in objects
    ]
    assert mine == want


def test_module_and_qualname_targets():
    got = fluoro("dis", "--json", "json.decoder:JSONDecoder.decode")
    assert got.returncode == 0, got.stderr
    assert [o["qualname"] for o in json.loads(got.stdout)] == ["JSONDecoder.decode"]
    whole = json.loads(fluoro("dis", "--json", "json.decoder").stdout)
    assert whole[0]["qualname"] == "<module>"
    assert any(o["qualname"] == "JSONDecoder.raw_decode" for o in whole)


def test_text_listing(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(SAMPLE)
    result = fluoro("dis", source)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert out.startswith(f"<module> — {source}, line 1")
    assert "outer.<locals>.inner — " in out
    for field in ("arguments", "stack size", "flags", "consts", "varnames", "cellvars"):
        assert f"  {field} " in out
    assert "(outer)" in out and "opcode" in out
    if sys.version_info >= (3, 11):
        assert "exception table" in out


def test_python_option_picks_the_interpreter(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(SAMPLE)
    for version in ("3.10", "3.13"):
        found = sorted(Path("/root/.pyenv/versions").glob(f"{version}.*/bin/python3"))
        if not found:
            continue
        got = json.loads(fluoro("dis", "--json", "--python", found[0], source).stdout)
        opnames = {i["opname"] for o in got for i in o["instructions"]}
        assert ("RESUME" in opnames) == (version != "3.10")


def test_stats_per_package(tmp_path):
    pkg = tmp_path / "pkg" / "sub"
    pkg.mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_text(SAMPLE)
    (pkg / "b.py").write_text("x = 1\n")
    (pkg / "broken.py").write_text("def f(:\n")
    result = fluoro("dis", "--stats", tmp_path / "pkg", "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["files"] == 2
    assert set(stats["packages"]) == {"pkg", "pkg.sub"}
    assert stats["total"]["LOAD_CONST"] >= 5
    text = fluoro("dis", "--stats", tmp_path / "pkg").stdout.decode()
    assert "2 files" in text and "pkg.sub" in text


def test_errors_are_one_line(tmp_path):
    one_line_error(fluoro("dis", tmp_path / "nope.py"), "dis: ", "no such file")
    bad = tmp_path / "bad.pyc"
    bad.write_bytes(b"\x00\x00\r\n" + bytes(12) + b"\xe3")
    one_line_error(fluoro("dis", bad), "dis: ", "bad .pyc magic")
    source = tmp_path / "t.py"
    source.write_text(SAMPLE)
    good = tmp_path / "t.pyc"
    import py_compile

    py_compile.compile(str(source), str(good))
    truncated = tmp_path / "truncated.pyc"
    truncated.write_bytes(good.read_bytes()[:60])
    one_line_error(fluoro("dis", truncated), "dis: ", "truncated marshal data")
    one_line_error(fluoro("dis", "no_such_module_xyz"), "dis: ", "no_such_module_xyz")
    one_line_error(fluoro("dis", "json:nope"), "dis: ", "no code object 'nope'")
    (tmp_path / "syntax.py").write_text("def f(:\n")
    one_line_error(fluoro("dis", tmp_path / "syntax.py"), "dis: ", "SyntaxError")
    one_line_error(fluoro("dis", "--python", "/no/python", source), "dis: ", "/no/python")
