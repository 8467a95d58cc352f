"""Names a program chooses reach the terminal escaped: a function named with escape
sequences, defined in a file whose name has one, run by a thread named with one, cannot
clear the screen, set the terminal's title or break a report's lines."""

from __future__ import annotations

from conftest import fluoro

PROGRAM = r'''
import threading
import time
import types

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\nx"

source = """
def spin(seconds):
    started = time.perf_counter()
    total = 0
    while time.perf_counter() - started < seconds:
        total += sum(range(100))
    return total
"""
namespace = {"time": time}
exec(compile(source, "evil" + HOSTILE + ".py", "exec"), namespace)
code = namespace["spin"].__code__
names = {"co_name": "spin" + HOSTILE}
if hasattr(code, "co_qualname"):
    names["co_qualname"] = "spin" + HOSTILE
spin = types.FunctionType(code.replace(**names), namespace, "spin" + HOSTILE)

worker = threading.Thread(target=spin, args=(0.4,), name="worker" + HOSTILE)
worker.start()
spin(0.4)
worker.join()
'''


def test_hostile_names_are_escaped_in_the_terminal_report(current, tmp_path):
    script = tmp_path / "hostile.py"
    script.write_text(PROGRAM)
    profile = tmp_path / "hostile.fluoro"
    for args in (("-o", profile), ("--full",)):
        wide = {"COLUMNS": "400"}  # no name cut to fit
        result = fluoro("run", "--rate", "500", *args, script, py=current, cwd=tmp_path, env=wide)
        assert result.returncode == 0, result.stderr.decode()
        text = result.stderr
        assert b"\x1b" not in text, text.decode()
        assert b"\x07" not in text, text.decode()
        # Shown, not obeyed: the names are there, escaped, each on its own row.
        shown = text.decode()
        assert "spin\\x1b]0;pwned\\x07\\x1b[2J\\nx" in shown, shown
        assert "worker\\x1b]0;pwned\\x07\\x1b[2J\\nx" in shown, shown
        assert not any(line.startswith("x") for line in shown.splitlines()), shown
    collapsed = fluoro("report", "--format", "collapsed", profile, py=current, cwd=tmp_path)
    assert collapsed.returncode == 0, collapsed.stderr.decode()
    for line in collapsed.stdout.decode().splitlines():
        assert "\x1b" not in line and line.rsplit(" ", 1)[1].isdigit(), line
    assert "\\x3bpwned" in collapsed.stdout.decode()
