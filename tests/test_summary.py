"""What `fluoro run` and `fluoro report` print by default: one screen, the program's own code
first (start-up and import machinery folded into `[startup/import]`), fitted to the terminal;
`--full`, `--show-all` and `--top` for more; and `@fluoro.profile` reporting once."""

from __future__ import annotations

import json
import re

from conftest import PROGRAMS, fluoro, run

ROOT = PROGRAMS.parent.parent
EXAMPLE = ROOT / "examples" / "word_stats.py"


def fluoro_lines(stderr: bytes) -> list[str]:
    return stderr.decode().splitlines()


def table_rows(text: str, title: str) -> list[str]:
    """The rows of the table under the heading that starts with ``title``."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(title))
    rows = []
    for line in lines[at + 3 :]:
        if not line.strip():
            break
        rows.append(line)
    return rows


def json_file(tmp_path, records: int = 20000):
    path = tmp_path / "data.json"
    data = [{"id": i, "name": f"user {i}", "tags": ["a", "b", i]} for i in range(records)]
    path.write_text(json.dumps(data))
    return path


def test_the_default_summary_is_one_screen(current, tmp_path):
    result = fluoro("run", EXAMPLE, py=current, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    lines = fluoro_lines(result.stderr)
    assert len(lines) <= 45, "\n".join(lines)
    text = "\n".join(lines)
    for part in ("fluoro · ", "Threads", "Top functions by self", "Memory", "peak", "GC"):
        assert part in text, text
    assert "Call tree" not in text
    assert "--full" in lines[-2], text
    assert " ran for " in lines[-1]
    full = fluoro("run", "--full", EXAMPLE, py=current, cwd=tmp_path)
    full_text = full.stderr.decode()
    assert len(full_text.splitlines()) > len(lines) + 20, full_text
    for part in ("Call tree", "Hottest lines", "Top lines by bytes allocated", "Heap over time"):
        assert part in full_text, full_text
    verbose = fluoro("run", "-v", EXAMPLE, py=current, cwd=tmp_path)
    assert "Call tree" in verbose.stderr.decode()


def test_json_tool_shows_json_not_start_up(current, tmp_path):
    data = json_file(tmp_path)
    args = ("--rate", "2000", "--memory=all", "-m", "json.tool", data)
    result = fluoro("run", *args, py=current, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout)[0]["id"] == 0
    text = result.stderr.decode()
    rows = table_rows(text, "Top functions by self")
    assert any("json/" in row for row in rows[:3]), text
    for machinery in ("<frozen importlib", "_bootstrap", "<frozen runpy>", "_run_module_as_main"):
        assert machinery not in text, text
    full = fluoro("run", "--full", *args, py=current, cwd=tmp_path).stderr.decode()
    assert "[startup/import]" in full, full
    assert "<frozen importlib" not in full and "_run_module_as_main" not in full, full
    shown = fluoro("run", "--full", "--show-all", *args, py=current, cwd=tmp_path)
    shown = shown.stderr.decode()
    assert "<frozen importlib._bootstrap" in shown, shown
    assert "_run_module_as_main" in shown, shown
    assert "[startup/import]" not in shown


def test_top_limits_every_table_and_is_the_same_everywhere(current, tmp_path):
    profile = tmp_path / "run.fluoro"
    result = fluoro(
        "run", "--rate", "2000", "--top", "2", "-o", profile, EXAMPLE, py=current, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr.decode()
    text = result.stderr.decode()
    assert len(table_rows(text, "Top functions by self")) == 2, text
    said = [line for line in text.splitlines() if line.startswith("fluoro: wrote")]
    assert said and said[0].startswith(f"fluoro: wrote the profile {profile} ("), text
    assert f"Full report: fluoro report {profile} --full" in text
    report = fluoro("report", profile, "--full", "--top", "3", py=current).stdout.decode()
    for title in ("Top functions by total", "Hottest lines", "Top lines by bytes allocated"):
        assert len(table_rows(report, title)) == 3, report
    for command in (["run"], ["report"], ["heap", "summary"], ["heap", "diff"]):
        help_text = fluoro(*command, "--help", py=current).stdout.decode()
        top = re.search(r"--top <N>\s+(.*?)\[default: (\d+)\]", help_text, re.S)
        assert top and top.group(2) == "10", (command, help_text)


def test_the_summary_fits_the_terminal(current, tmp_path):
    data = json_file(tmp_path, 2000)
    for extra in ([], ["--full"]):
        result = fluoro(
            "run",
            *extra,
            "--memory=all",
            "-m",
            "json.tool",
            data,
            py=current,
            cwd=tmp_path,
            env={"COLUMNS": "80"},
        )
        assert result.returncode == 0, result.stderr.decode()
        lines = fluoro_lines(result.stderr)
        wide = [line for line in lines if len(line) > 80 and not line.startswith("fluoro: ")]
        assert not wide, "\n".join(wide)
    # Not a terminal and no $COLUMNS: 100 columns.
    result = fluoro(
        "run",
        "--full",
        "--memory=all",
        "-m",
        "json.tool",
        data,
        py=current,
        cwd=tmp_path,
        env={"COLUMNS": ""},
    )
    lines = fluoro_lines(result.stderr)
    assert max(len(line) for line in lines if not line.startswith("fluoro: ")) <= 100


def test_report_prints_the_summary_and_full_on_request(current, tmp_path):
    profile = tmp_path / "run.fluoro"
    assert fluoro("run", "-q", "-o", profile, EXAMPLE, py=current, cwd=tmp_path).returncode == 0
    brief = fluoro("report", profile, py=current).stdout.decode()
    assert "Call tree" not in brief and len(brief.splitlines()) <= 45, brief
    assert brief.rstrip().endswith(f"Full report: fluoro report {profile} --full"), brief
    full = fluoro("report", profile, "--full", py=current).stdout.decode()
    assert "Call tree" in full


DECORATED = """
import fluoro, threading

@fluoro.profile(rate=1000)
def work(n):
    return sum(i * i for i in range(n))

for _ in range(20):
    work(100000)
t = threading.Thread(target=work, args=(400000,), name="helper")
t.start(); t.join()
print(work.profile.calls)
"""


def test_the_decorator_adds_calls_up_and_reports_once_at_exit(current, tmp_path):
    result = run([current.python, "-c", DECORATED], cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split() == ["21"]
    text = result.stderr.decode()
    assert text.count("fluoro: 21 calls of __main__.work") == 1, text
    assert text.count("Top functions by self") == 1, text
    assert len(text.splitlines()) <= 45, text
    threads = table_rows(text, "Threads")
    assert any(row.split()[0] == "MainThread" for row in threads), text
    assert any(row.split()[0] == "helper" for row in threads), text
    # fluoro's own wrapper is not in the tables, nor the main thread waiting for the helper.
    assert "wrapper" not in text and "_profile.py" not in text, text
    assert "Condition.wait" not in text and "Thread.join" not in text, text
    assert "work" in "\n".join(table_rows(text, "Top functions by self")), text
