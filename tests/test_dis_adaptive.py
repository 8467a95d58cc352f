"""`fluoro dis --adaptive --run SCRIPT`: an int-only loop specializes `+` to BINARY_OP_ADD_INT
and the `i + 0.5` of an int/float-mixing loop stays adaptive on 3.11-3.13 and specializes to
BINARY_OP_EXTEND on 3.14+, as `dis` shows in each interpreter present; 3.10 is refused in one
line with exit 2."""

from __future__ import annotations

import json

from test_cli import one_line_error

from conftest import Interpreter, fluoro

LOOPS = """\
import sys


def ints(n):
    total = 0
    for i in range(n):
        total = total + (i & 7)
    return total


def mixed(n):
    total = 0
    for i in range(n):
        total = total + (i + 0.5)
    return total


ints(int(sys.argv[1]))
mixed(int(sys.argv[1]))
print("ran with", sys.argv[1:])
"""


def _plus(function: dict, line: int) -> list[dict]:
    [found] = [entry for entry in function["lines"] if entry["line"] == line]
    return [i for i in found["instructions"] if i["argrepr"] == "+"]


def test_int_loop_specializes_mixed_loop_does_not(any_python: Interpreter, tmp_path):
    script = tmp_path / "loops.py"
    script.write_text(LOOPS)
    result = fluoro("dis", "--adaptive", "--json", "--run", script, "5000", py=any_python)
    if any_python.version == "3.10":
        assert result.returncode == 2
        assert one_line_error(result).startswith("fluoro: dis: --adaptive needs CPython 3.11+")
        return
    assert result.returncode == 0, result.stderr.decode()
    assert "ran with ['5000']" in result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["python"] == any_python.version
    functions = {f["qualname"]: f for f in report["functions"]}

    [add] = _plus(functions["ints"], 7)
    assert add["opname"] == "BINARY_OP_ADD_INT" and add["class"] == "specialized"
    assert add["reason"] is None

    # `total + ...` is float + float after the first iteration, so it may hold ADD_FLOAT, never
    # ADD_INT. `i + 0.5` (int + float) has no variant before 3.14; 3.14 added BINARY_OP_EXTEND
    # for a compact int with a float.
    mix, outer = _plus(functions["mixed"], 14)
    assert outer["opname"] != "BINARY_OP_ADD_INT"
    if _extends(any_python):
        assert mix["opname"] == "BINARY_OP_EXTEND" and mix["class"] == "specialized"
        return
    assert mix["class"] == "adaptive" and mix["base"] == "BINARY_OP"
    assert "int/float mixing" in mix["reason"]
    assert "ADD_INT" in mix["variants"] and "ADD_FLOAT" in mix["variants"]


def _extends(py: Interpreter) -> bool:
    """Whether the interpreter specializes int/float mixing (BINARY_OP_EXTEND, 3.14+)."""
    return tuple(map(int, py.version.split("."))) >= (3, 14)


def test_text_and_errors(current: Interpreter, tmp_path):
    script = tmp_path / "loops.py"
    script.write_text(LOOPS)
    result = fluoro("dis", "--adaptive", "--run", script, "5000", "--top", "1", py=current)
    if current.version == "3.10":
        assert result.returncode == 2
        return
    assert result.returncode == 0, result.stderr.decode()
    text = result.stdout.decode()
    assert text.count("specialized,") == 1
    for args, message in [
        (["--adaptive", "--run", tmp_path / "missing.py"], "missing.py: no such file"),
        (["--adaptive", "x.py"], "--adaptive needs --run SCRIPT, or a profile"),
        (["--run", script], "--run needs --adaptive"),
    ]:
        result = fluoro("dis", *args, py=current)
        assert one_line_error(result, message).startswith("fluoro: dis: ")


def test_ranked_by_how_often_lines_ran_and_top_limits_the_output(current: Interpreter, tmp_path):
    script = tmp_path / "loops.py"
    script.write_text(LOOPS)
    result = fluoro("dis", "--adaptive", "--run", script, "3000000", "--top", "1", py=current)
    assert result.returncode == 0, result.stderr.decode()
    text = result.stdout.decode()
    headings = [line for line in text.splitlines() if " specialized, " in line]
    assert len(headings) == 1 and " samples, " in headings[0], text
    rows = [line for line in text.splitlines() if line.startswith("  ") and line[2:7].strip()]
    assert len(rows) == 1, text  # one line of source, the most sampled
    assert len(text.splitlines()) <= 10, text
    report = json.loads(
        fluoro("dis", "--adaptive", "--json", "--run", script, "3000000", py=current).stdout
    )
    samples = [f["samples"] for f in report["functions"]]
    # A CPU-time timer of 1 ms ticks with the kernel's clock (every 4 ms at HZ=250).
    assert samples == sorted(samples, reverse=True) and samples[0] >= 5, samples
    for function in report["functions"]:
        lines = [line["samples"] for line in function["lines"]]
        assert lines == sorted(lines, reverse=True), function
    # The hot loops' `+` is said why it stayed adaptive, without hedging on warm-up.
    hot = [
        i["reason"]
        for f in report["functions"]
        for line in f["lines"]
        if line["samples"] > 0
        for i in line["instructions"]
        if i["reason"]
    ]
    assert hot and not any("too few times" in r for r in hot), hot


def test_from_a_profile_of_fluoro_run(any_python: Interpreter, tmp_path):
    script = tmp_path / "loops.py"
    script.write_text(LOOPS)
    profile = tmp_path / "run.fluoro"
    # ~0.1 s of work on 3.14+: at 1 kHz both loops have samples on a CPU, so both are "hot".
    run = fluoro(
        "run", "--adaptive", "--rate", "1000", "-o", profile, script, "1000000", py=any_python
    )
    assert run.returncode == 0, run.stderr.decode()
    assert b"ran with ['1000000']" in run.stdout
    shown = fluoro("dis", "--adaptive", "--json", profile, py=any_python)
    if any_python.version == "3.10":
        assert "--adaptive needs CPython 3.11+" in run.stderr.decode()
        assert one_line_error(shown, "holds no bytecode").startswith("fluoro: dis: ")
        return
    assert "Specialization of the hottest functions" in run.stderr.decode()
    assert shown.returncode == 0, shown.stderr.decode()
    report = json.loads(shown.stdout)
    functions = {f["qualname"]: f for f in report["functions"]}
    [add] = _plus(functions["ints"], 7)
    assert add["opname"] == "BINARY_OP_ADD_INT"
    mix, _ = _plus(functions["mixed"], 14)
    if _extends(any_python):
        assert mix["opname"] == "BINARY_OP_EXTEND"
    else:
        assert mix["class"] == "adaptive" and "int/float mixing" in mix["reason"]


def test_a_broken_script_is_treated_as_fluoro_run_treats_it(current: Interpreter, tmp_path):
    if current.version == "3.10":
        return
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\ndef f(:\n")
    result = fluoro("dis", "--adaptive", "--run", bad, py=current)
    err = one_line_error(result, "SyntaxError", "bad.py", "line 2")
    assert err.startswith("fluoro: dis: ")
    # An exception while running: the script's own traceback, as python shows it.
    raises = tmp_path / "raises.py"
    raises.write_text("def f():\n    raise ValueError('boom')\n\nf()\n")
    result = fluoro("dis", "--adaptive", "--run", raises, py=current)
    err = result.stderr.decode()
    assert err.startswith("Traceback (most recent call last):\n"), err
    assert f'File "{raises}", line 4, in <module>' in err.splitlines()[1]
    assert "<string>" not in err and "ValueError: boom" in err
