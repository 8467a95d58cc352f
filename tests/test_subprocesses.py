"""`fluoro run --subprocesses`: every Python child (fork, spawn, forkserver, process pools,
subprocess) profiled into the one profile, merged by default and one at a time with --pid;
children run untouched without the flag."""

from __future__ import annotations

import json

import pytest

from conftest import PROGRAMS, fluoro, interpreter, run

CHILDREN = PROGRAMS / "children"


def cpu_report(py, tmp_path, program, *args, pid=None):
    """Runs ``program`` with --subprocesses into a profile; returns its CPU JSON report (of
    one process with ``pid``), the profile's path, and the run."""
    profile = tmp_path / f"{program}.fluoro"
    result = fluoro("run", "-q", "--subprocesses", "-o", profile, CHILDREN / program, *args, py=py)
    assert result.returncode == 0, result.stderr.decode()
    return report_json(py, profile, pid), profile, result


def report_json(py, profile, pid=None):
    out = profile.with_suffix(f".{pid}.json")
    flags = ["--pid", str(pid)] if pid is not None else []
    done = fluoro(
        "report", profile, "--format", "json", "--metric", "cpu", "-o", out, *flags, py=py
    )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(out.read_text())


def share_of(report, qualname):
    """``qualname``'s inclusive share of all the CPU the report holds."""
    total = sum(t["cpu_ns"] for t in report["threads"])
    work = sum(f["total_ns"] for f in report["functions"] if f["qualname"] == qualname)
    assert total > 0, report["processes"]
    return work / total


def workers(report):
    """The processes that did some of the work."""
    return [p for p in report["processes"] if p["ppid"] != 0 and p["cpu_ns"] > 100_000_000]


@pytest.mark.parametrize("method", ["spawn", "fork", "forkserver"])
def test_pool_work_is_found_in_the_workers(current, tmp_path, method):
    report, profile, result = cpu_report(current, tmp_path, "pool.py", method)
    assert result.stdout == b"4800\n"
    assert share_of(report, "work") >= 0.85, report["functions"][:5]
    busy = workers(report)
    assert len(busy) == 4, report["processes"]
    # Each worker alone: its CPU went to work() too.
    for process in busy:
        alone = report_json(current, profile, process["pid"])
        assert [p["pid"] for p in alone["processes"]] == [process["pid"]]
        assert share_of(alone, "work") >= 0.85, (process, alone["functions"][:5])


def test_process_pool_executor(current, tmp_path):
    report, _, result = cpu_report(current, tmp_path, "executor.py")
    assert result.stdout == b"4800\n"
    assert share_of(report, "work") >= 0.85, report["functions"][:5]
    assert len(workers(report)) >= 2, report["processes"]


def test_subprocess_of_python(current, tmp_path):
    report, _, result = cpu_report(current, tmp_path, "run_child.py")
    # The child, profiled, sees no more of fluoro in its environment than the parent.
    assert result.stdout == b"child 2400 False 0\n"
    assert share_of(report, "work") >= 0.85, report["functions"][:5]
    child = workers(report)
    assert len(child) == 1 and child[0]["complete"], report["processes"]
    assert child[0]["target"].endswith("child.py")
    assert child[0]["argv"][1:] == ["2400"]


def test_without_the_flag_children_run_untouched(current):
    result = fluoro("run", "-q", CHILDREN / "env_seen.py")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"parent False\nchild False False\n"
    followed = fluoro("run", "-q", "--subprocesses", CHILDREN / "env_seen.py")
    assert followed.stdout == b"parent False\nchild False True\n"


def test_children_ended_by_os_exit_or_sigkill_lose_little(current, tmp_path):
    profile = tmp_path / "k.fluoro"
    result = fluoro("run", "-q", "--subprocesses", "-o", profile, CHILDREN / "killed.py")
    bare = run([current.python, CHILDREN / "killed.py"])
    assert (result.returncode, result.stdout) == (bare.returncode, bare.stdout)
    assert result.stdout == b"exit 3\nkilled -9\n"
    report = report_json(current, profile)
    first, exited, killed = report["processes"]
    assert first["complete"] and exited["complete"]
    # os._exit wrote the child's end; SIGKILL left what was flushed, 50 ms at most lost.
    assert not killed["complete"]
    assert exited["cpu_ns"] >= 0.3e9, exited
    assert killed["cpu_ns"] >= 0.3e9, killed
    assert first["cpu_ns"] < 0.35e9, first


def test_the_summary_lists_the_processes(current, tmp_path):
    result = fluoro("run", "--subprocesses", CHILDREN / "run_child.py")
    text = result.stderr.decode()
    assert "Processes" in text, text
    rows = [line for line in text.splitlines() if "child.py 2400" in line]
    assert len(rows) == 1 and "exited" in rows[0], text
    assert "MainThread [pid " in text


@pytest.mark.parametrize("version", ["3.10", "3.13", "3.15"])
def test_every_version_follows_its_children(tmp_path, version):
    py = interpreter(version)
    report, _, result = cpu_report(py, tmp_path, "pool.py", "fork")
    assert result.stdout == b"4800\n"
    assert share_of(report, "work") >= 0.85, report["functions"][:5]
    assert len(workers(report)) == 4, report["processes"]


def test_report_of_a_pid_not_in_the_profile_is_one_line(current, tmp_path):
    profile = tmp_path / "one.fluoro"
    assert fluoro("run", "-q", "-o", profile, CHILDREN / "child.py", "10").returncode == 0
    done = fluoro("report", profile, "--pid", "1")
    assert done.returncode == 2
    assert done.stderr.decode().strip().count("\n") == 0, done.stderr
    assert "no process 1" in done.stderr.decode()


def test_a_run_that_did_not_follow_its_children_says_what_they_used(current):
    result = fluoro("run", CHILDREN / "run_child.py")
    said = result.stderr.decode().splitlines()
    notice = [line for line in said if "child processes used" in line]
    assert len(notice) == 1, said
    assert "--subprocesses" in notice[0]
    followed = fluoro("run", "--subprocesses", CHILDREN / "run_child.py")
    assert "child processes used" not in followed.stderr.decode()


def test_the_report_made_apart_is_not_counted_as_a_child(current, tmp_path):
    # The end-of-run report is made in a copy of the target (its memory is never the
    # target's); that copy is no child process of the program's. --memory=all makes a
    # profile whose report takes well over the notice's 50 ms of CPU.
    program = tmp_path / "churn.py"
    program.write_text("xs = [str(i) for i in range(400_000)]\nprint(len(xs))\n")
    result = fluoro("run", "--memory=all", program)
    assert result.returncode == 0, result.stderr.decode()
    said = result.stderr.decode()
    assert "Top functions" in said or "allocation" in said.lower(), said
    assert "child processes used" not in said, said
    assert result.stdout == b"400000\n"


def test_a_target_with_its_own_sigchld_handler_gets_its_report(current, tmp_path):
    # A copy's end would reach the target's handler: the report is then made in place.
    program = tmp_path / "handler.py"
    program.write_text(
        "import signal\n"
        "signal.signal(signal.SIGCHLD, lambda *a: print('SIGCHLD'))\n"
        "print(sum(i * i for i in range(300_000)))\n"
    )
    result = fluoro("run", program)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"8999955000050000\n"
    assert "ran for" in result.stderr.decode()
    assert "Summary" in result.stderr.decode()


def test_tasks_of_the_same_name_in_two_processes_are_two_tasks(current, tmp_path):
    profile = tmp_path / "tasks.fluoro"
    program = CHILDREN / "async_tasks.py"
    result = fluoro("run", "-q", "--subprocesses", "--async", "-o", profile, program, py=current)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"child exit 0\n"
    report = report_json(current, profile)
    pids = [p["pid"] for p in report["processes"]]
    assert len(pids) == 2, report["processes"]
    workers = {t["name"]: t for t in report["tasks"] if t["name"].startswith("worker")}
    assert sorted(workers) == sorted(f"worker [pid {pid}]" for pid in pids), sorted(workers)
    # Each process's worker ran its own ~0.3 s, not the sum of both.
    for name, task in workers.items():
        assert 0.2e9 <= task["running_ns"] <= 0.45e9, (name, task)
    # One process alone keeps its task's own name.
    alone = report_json(current, profile, pids[1])
    assert "worker" in [t["name"] for t in alone["tasks"]], alone["tasks"]
