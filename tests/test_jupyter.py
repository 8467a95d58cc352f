"""The IPython magics: `%load_ext fluoro`, then `%%fluoro` and `%fluoro STATEMENT` show the
report inline, with the run options that make sense in a running interpreter."""

from __future__ import annotations

from conftest import run

SESSION = r"""
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.error import UsageError

ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "fluoro")
ip.run_cell("def work(n):\n    return sum(i * i for i in range(n))")
print("== cell")
CELL = "total = 0\nfor _ in range(20):\n    total += work(50000)\n"
ip.run_cell("%%fluoro --rate 1000 --top 3\n" + CELL)
print("== total", ip.user_ns["total"] == 20 * sum(i * i for i in range(50000)))
print("== line")
ip.run_cell("%fluoro --rate 1000 --memory all --full work(300000)")
print("== saved")
ip.run_cell(f"%fluoro -o {OUT} work(100000)")
import IPython.display
shown = []
plain = IPython.display.display
IPython.display.display = lambda obj, raw=False: shown.append(obj)
ip.run_line_magic("fluoro", "--rate 1000 --format html work(300000)")
IPython.display.display = plain
page = shown[0].get("text/html", "") if len(shown) == 1 else ""
print("== html", page.lstrip().lower().startswith("<!doctype html"))
for bad in ("--rate 0 work(1)", "--memory lots work(1)", "--rate 1000"):
    try:
        ip.run_line_magic("fluoro", bad)
    except UsageError as e:
        print("== usage", str(e).splitlines()[0])
print("== raises")
ip.run_cell("%%fluoro\nwork(100000)\nraise ValueError('boom')")
print("== end")
"""


def test_magics_profile_a_cell_and_a_statement(current, tmp_path):
    out = tmp_path / "cell.fluoro"
    code = f"OUT = {str(out)!r}\n" + SESSION
    result = run([current.python, "-c", code], cwd=tmp_path)
    stdout, stderr = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, stdout + stderr
    cell = stdout.split("== cell\n", 1)[1].split("== total", 1)[0]
    assert "Top functions by self" in cell, cell
    # The generator's name, `work.<locals>.<genexpr>`, is shortened to fit the table's width.
    assert "work" in cell and "work.<locals>.<gen" in cell, cell
    assert "%%fluoro --full shows the whole report" in cell
    # The magic's own frames and IPython's are not the program's.
    assert "_jupyter.py" not in cell and "run_cell_magic" not in cell, cell
    rows = cell.split("Top functions by self", 1)[1].split("\n\n", 1)[0].splitlines()[3:]
    assert 1 <= len(rows) <= 3, cell
    assert "== total True" in stdout
    line = stdout.split("== line\n", 1)[1].split("== saved", 1)[0]
    assert "Call tree" in line and "Top lines by bytes allocated" in line, line
    assert out.stat().st_size > 0
    usage = [said for said in stdout.splitlines() if said.startswith("== usage")]
    assert "== html True" in stdout, stdout
    assert len(usage) == 3, stdout
    assert "rate must be between 1 and 10000" in usage[0], usage
    assert "--memory" in usage[1], usage
    assert "no code to profile" in usage[2], usage
    raised = stdout.split("== raises\n", 1)[1]
    assert "Top functions by self" in raised or "No samples" in raised, raised
    assert "ValueError" in stdout + stderr and "boom" in stdout + stderr
    assert stdout.rstrip().endswith("== end")
