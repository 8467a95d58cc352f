"""`fluoro dump PID`: another running interpreter's threads and stacks, read from outside."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import PROGRAMS, fluoro, interpreter, run

REMOTE = PROGRAMS / "remote"


def marker_line(path: Path, marker: str) -> int:
    for number, text in enumerate(path.read_text().splitlines(), 1):
        if f"# marker: {marker}" in text:
            return number
    raise AssertionError(marker)


@contextmanager
def running(python: Path, program: Path):
    """Starts `program` under plain `python` and yields its pid once it printed "ready"."""
    proc = subprocess.Popen([str(python), str(program)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(0.2)  # the main thread reaches its last call
        yield proc
    finally:
        proc.kill()
        proc.wait()


def dump(pid: int, *flags: str, py=None) -> dict:
    result = fluoro("dump", "--json", *flags, str(pid), py=py)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def frames(thread: dict) -> list[tuple[str, str, int]]:
    return [(f["function"], Path(f["file"]).name, f["line"]) for f in thread["frames"]]


def test_dump_shows_the_three_calls_a_thread_sleeps_in(any_python):
    program = REMOTE / "three_deep.py"
    line = lambda marker: marker_line(program, marker)  # noqa: E731
    with running(any_python.python, program) as proc:
        # fluoro of this interpreter reads a process of any version, and so does its own.
        for py in (None, any_python):
            report = dump(proc.pid, py=py)
            assert report["python"].startswith(any_python.version)
            main = next(t for t in report["threads"] if t["name"] == "MainThread")
            assert main["state"] == "sleeping" and not main["torn"]
            assert frames(main) == [
                ("innermost", "three_deep.py", line("sleep")),
                ("middle", "three_deep.py", line("middle")),
                ("outer", "three_deep.py", line("outer")),
                ("<module>", "three_deep.py", line("module")),
            ]
            spinner = next(t for t in report["threads"] if t is not main)
            function, _, at = frames(spinner)[0]
            assert function == "spin" and at in (line("loop"), line("spin")), frames(spinner)
        text = fluoro("dump", str(proc.pid))
        assert text.returncode == 0
        out = text.stdout.decode()
        assert f"Process {proc.pid}: " in out
        assert f"    innermost ({program}:{line('sleep')})" in out
        assert proc.poll() is None


def test_locals_show_each_simple_value_as_python_reprs_it(any_python):
    program = REMOTE / "locals.py"
    with running(any_python.python, program) as proc:
        assert proc.stdout is not None
        told = json.loads(proc.stdout.readline())
        python = told["reprs"]
        report = dump(proc.pid, "--locals")
        main = next(t for t in report["threads"] if t["name"] == "MainThread")
        holder, module = main["frames"][-2:]
        assert (holder["function"], holder["line"]) == ("holder", marker_line(program, "sleep"))
        names = [local["name"] for local in holder["locals"]]
        assert len(names) == len(set(names)), names
        shown = {local["name"]: local["repr"] for local in holder["locals"]}
        assert "unbound" not in shown  # deleted: no value to show
        closure = shown.pop("closure")
        assert closure.startswith("<function object at 0x"), closure
        assert shown == {
            # Python's own repr, where it is short enough.
            **{name: python[name] for name in ("big", "ratio", "text", "data", "nothing", "flag")},
            "count": "41",  # a cell (the closure reads it): shown by its contents
            "huge": "<int of 201 digits>",
            "long_text": repr("ab" * 40) + "… (200 chars)",
            "items": "<list of 3>",
            "table": "<dict of 2>",
            "rest": "<tuple of 1>",
            "options": "<dict of 1>",
            "obj": f"<Custom object at {told['obj']}>",
            "reprs": f"<dict of {len(python)}>",
        }
        assert module["locals"] == []  # module code keeps its names in globals
        # Without --locals the JSON is as it was.
        assert all("locals" not in f for f in dump(proc.pid)["threads"][0]["frames"])
        text = fluoro("dump", "--locals", str(proc.pid))
        assert text.returncode == 0, text.stderr.decode()
        out = text.stdout.decode()
        assert f"    holder ({program}:{marker_line(program, 'sleep')})\n" in out
        assert f"        big = {python['big']}\n" in out
        # The escape in the string stays escaped on the terminal.
        assert f"        text = {python['text']}\n" in out and "\x1b" not in out


def test_dump_shows_both_threads_of_a_deadlock_waiting_on_their_locks(any_python):
    program = REMOTE / "deadlock.py"
    line = lambda marker: marker_line(program, marker)  # noqa: E731
    with running(any_python.python, program) as proc:
        report = dump(proc.pid)
        tops = {frames(t)[0] for t in report["threads"] if t["frames"]}
        assert ("forwards", "deadlock.py", line("forwards waits")) in tops
        assert ("backwards", "deadlock.py", line("backwards waits")) in tops
        waiting = [t for t in report["threads"] if frames(t)[0][0] in ("forwards", "backwards")]
        assert all(t["state"] == "sleeping" and not t["holds_gil"] for t in waiting), waiting
        main = next(t for t in report["threads"] if t["name"] == "MainThread")
        assert frames(main)[-1] == ("<module>", "deadlock.py", line("join"))


def test_blocking_dump_stops_the_process_only_while_reading(current):
    program = REMOTE / "three_deep.py"
    with running(current.python, program) as proc:
        report = dump(proc.pid, "--blocking")
        assert report["blocking"]
        main = next(t for t in report["threads"] if t["name"] == "MainThread")
        assert [f[0] for f in frames(main)] == ["innermost", "middle", "outer", "<module>"]
        # Let go: the spinner runs on and the process still answers signals.
        state = Path(f"/proc/{proc.pid}/stat").read_text().rpartition(")")[2].split()[0]
        assert state in ("R", "S"), state
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == -signal.SIGTERM


def test_a_process_that_is_not_python_or_is_gone_gets_one_line_and_exit_2():
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        result = fluoro("dump", str(sleeper.pid))
    finally:
        sleeper.kill()
        sleeper.wait()
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.count("\n") == 1 and "not a CPython" in err, err
    gone = fluoro("dump", str(sleeper.pid))
    assert gone.returncode == 2
    assert gone.stderr.decode() == f"fluoro: dump: no process {sleeper.pid}\n"
    bad = fluoro("dump", "nope")
    assert bad.returncode == 2 and b"Traceback" not in bad.stderr


def test_attach_samples_a_running_split_within_three_points(any_python, tmp_path):
    # 4 s at 1 kHz: 4,000 samples put the standard error of a 30 % share near 0.7 points.
    program = REMOTE / "shares_forever.py"
    profile, report = tmp_path / "attach.fluoro", tmp_path / "attach.json"
    page = tmp_path / "attach.html"
    with running(any_python.python, program) as proc:
        result = fluoro(
            "attach", "--duration", "4", "--rate", "1000", "-o", profile, "--html", page,
            proc.pid, py=any_python,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr.decode()
        assert proc.poll() is None  # it runs on
    assert "work" in result.stdout.decode()
    assert result.stderr.decode() == (
        f"fluoro: profile written to {profile}\nfluoro: HTML report: {page}\n"
    )
    assert page.read_text().lstrip().lower().startswith("<!doctype html")
    assert fluoro("report", profile, "--format", "json", "-o", report).returncode == 0
    data = json.loads(report.read_text())
    total = {f["qualname"]: f["total_ns"] for f in data["functions"]}
    work = sum(total[name] for name in ("twenty", "thirty", "fifty"))
    truth = json.loads(run([str(any_python.python), str(program), "truth"]).stdout)
    for name, share in truth.items():
        assert abs(total[name] / work - share) <= 0.03, (name, total[name] / work, share)
    main = next(t for t in data["threads"] if t["name"] == "MainThread")
    assert main["cpu_ns"] > 0.5 * main["wall_ns"], main


def test_attach_ends_with_the_process_and_refuses_what_is_not_python(tmp_path):
    program = REMOTE / "shares_forever.py"
    proc = subprocess.Popen([sys.executable, str(program), "1.5"], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        started = time.monotonic()
        result = fluoro("attach", "-q", str(proc.pid))
        assert result.returncode == 0, result.stderr.decode()
        assert result.stdout == b"" and result.stderr == b""
        assert time.monotonic() - started < 10
    finally:
        proc.kill()
        proc.wait()
    gone = fluoro("attach", str(proc.pid))
    assert gone.returncode == 2
    assert gone.stderr.decode() == f"fluoro: attach: no process {proc.pid}\n"
    bad = fluoro("attach", "--duration", "0", "1")
    assert bad.returncode == 2 and b"Traceback" not in bad.stderr


@pytest.mark.parametrize("version", ["3.14", "3.15"])
def test_attach_memory_records_allocations_and_a_heap_snapshot_inside(tmp_path, version):
    py = interpreter(version)
    program = REMOTE / "allocating.py"
    proc = subprocess.Popen([str(py.python), str(program), "6"], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    out, snapshot = tmp_path / "inside.fluoro", tmp_path / "at-end.fheap"
    result = fluoro(
        "attach", "-q", "--memory", "--duration", "1.5", "-o", out, "--heap", snapshot,
        str(proc.pid), py=py,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    # The deque's 200 lists of 1,000 ints, each retaining its ints that are not cached (the
    # interpreter keeps up to 256, or 1,024 on 3.15, as immortal small ints).
    census = fluoro("heap", "summary", snapshot, "--json", py=py)
    assert census.returncode == 0, census.stderr.decode()
    lists = next(t for t in json.loads(census.stdout)["types"] if t["name"] == "list")
    assert lists["count"] >= 200, lists
    assert lists["retained_bytes"] >= 200 * (8 * 1_000 + 28 * 400), lists
    # The process runs on, to its own end, as it would have.
    rest, _ = proc.communicate(timeout=60)
    assert (proc.returncode, rest) == (0, b"checksum 200000\n")
    report = tmp_path / "inside.json"
    done = fluoro("report", out, "--format", "json", "--metric", "alloc", "-o", report, py=py)
    assert done.returncode == 0, done.stderr.decode()
    data = json.loads(report.read_text())
    assert data["complete"] and data["samples"] > 0
    assert data["memory"]["allocated_bytes"] > 1_000_000, data["memory"]
    assert data["functions"][0]["qualname"] == "keep", data["functions"][:3]


def test_attach_memory_before_3_14_is_one_line(current):
    if sys.version_info >= (3, 14):
        return
    with running(current.python, REMOTE / "three_deep.py") as proc:
        result = fluoro("attach", "--memory", "--duration", "0.5", str(proc.pid))
    assert result.returncode == 2
    said = result.stderr.decode().strip()
    assert "\n" not in said and "sys.remote_exec" in said, said
