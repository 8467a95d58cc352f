"""``fluoro run --async``: samples of a thread running an event loop go to the asyncio task
it runs, and tasks waiting at an ``await`` are seen there, on every CPython version."""

from __future__ import annotations

import json

import pytest

from conftest import PROGRAMS, fluoro, run

TASKS = PROGRAMS / "asyncio_tasks.py"
NAMES = PROGRAMS / "asyncio_names.py"


def run_tasks(py, tmp_path, *flags):
    """Runs the 1,000-task program under fluoro; returns its JSON report, its whole text
    report, and the truth the program measured."""
    profile = tmp_path / "tasks.fluoro"
    truth = tmp_path / "truth.json"
    result = fluoro("run", "-q", "-o", profile, *flags, TASKS, truth, py=py)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"done\n"
    exported = tmp_path / "tasks.json"
    result = fluoro("report", profile, "--format", "json", "-o", exported, py=py)
    assert result.returncode == 0, result.stderr.decode()
    text = fluoro("report", profile, "--full", py=py)
    assert text.returncode == 0, text.stderr.decode()
    return json.loads(exported.read_text()), text.stdout.decode(), json.loads(truth.read_text())


def test_tasks_get_their_running_and_awaiting_shares(any_python, tmp_path):
    report, text, truth = run_tasks(any_python, tmp_path, "--async")
    assert "tasks_note" not in report, report.get("tasks_note")
    tasks = {t["name"]: t for t in report["tasks"]}
    # fluoro's own probe tasks are finished and freed before the target runs.
    assert not [name for name in tasks if name.startswith("fluoro-")], sorted(tasks)
    duration = report["duration_ns"] / 1e9
    worker, sleeper = tasks["worker"], tasks["sleeper"]
    # Shares of the run: the worker ran for what it measured between its awaits, the
    # sleeper was parked for its sleep and hardly ran.
    assert abs(worker["running_share"] - truth["worker"] / duration) <= 0.05, (worker, truth)
    assert abs(sleeper["awaiting_share"] - truth["sleeper"] / duration) <= 0.05, (sleeper, truth)
    assert sleeper["running_share"] <= 0.02, sleeper
    # On a CPU while it ran (how much depends on what else the machine runs).
    assert worker["cpu_ns"] > 0, worker
    # Parked in asyncio.sleep, awaited by the sleeper's own coroutine.
    assert [f["function"] for f in sleeper["awaiting_stack"]] == ["sleeper", "sleep"]
    assert sleeper["awaiting_stack"][0]["file"] == str(TASKS)
    assert sleeper["awaiting_at"] == sleeper["awaiting_stack"][-1]
    # The 998 others waited on the event, at their one await.
    fillers = [t for name, t in tasks.items() if name.startswith("filler-")]
    assert len(fillers) == 998
    # Each reading of the waiting tasks stands for the time since the one before, the first
    # for the time since tasks could be read: no task waited longer than the run.
    longest = max(tasks.values(), key=lambda t: t["awaiting_ns"])
    assert longest["awaiting_share"] <= 1.0, longest
    stacks = {tuple(f["function"] for f in t["awaiting_stack"]) for t in fillers}
    # 3.10's code objects have no qualified name.
    wait = "wait" if any_python.version == "3.10" else "Event.wait"
    assert stacks == {("filler", wait)}, stacks
    # Once main awaits the worker, the worker's stacks go on above main's await.
    functions = {f["qualname"]: f for f in report["functions"] if f["file"] == str(TASKS)}
    main = functions["main"]["total_ns"] / 1e9
    assert abs(main - truth["awaited"]) <= 0.05 * duration, (main, truth)
    # The text names both, and the worker's stack is rooted at its task.
    assert "asyncio tasks" in text
    assert " worker " in text and " sleeper " in text
    hot = report["functions"]
    roots = [f for f in hot if f["qualname"] == "<task worker>"]
    assert roots and roots[0]["total_ns"] >= 0.8 * worker["running_ns"], roots


def test_without_async_there_is_no_task_table(current, tmp_path):
    report, text, _ = run_tasks(current, tmp_path)
    assert "tasks" not in report
    assert "asyncio tasks" not in text
    assert not any(f["qualname"].startswith("<task ") for f in report["functions"])


def test_the_gil_sampler_says_once_that_it_reads_no_tasks(current, tmp_path):
    report, text, _ = run_tasks(current, tmp_path, "--async", "--sampler", "gil")
    assert report["tasks"] == []
    assert "GIL-free sampler" in report["tasks_note"]
    assert text.count("asyncio tasks are only read by the GIL-free sampler") == 1


def test_the_target_sees_nothing_of_it(any_python, tmp_path):
    plain = run([any_python.python, NAMES])
    under = run([any_python.fluoro, "run", "-q", "--async", "-o", tmp_path / "p.fluoro", NAMES])
    assert plain.returncode == 0, plain.stderr.decode()
    assert b"Task-2" in plain.stdout
    assert (under.stdout, under.stderr, under.returncode) == (
        plain.stdout,
        plain.stderr,
        plain.returncode,
    )


def test_each_threads_loop_runs_its_own_task(any_python, tmp_path):
    program = PROGRAMS / "asyncio_threads.py"
    profile = tmp_path / "threads.fluoro"
    result = fluoro("run", "-q", "--async", "-o", profile, program, py=any_python)
    assert result.returncode == 0, result.stderr.decode()
    collapsed = tmp_path / "threads.txt"
    result = fluoro("report", profile, "--format", "collapsed", "-o", collapsed, py=any_python)
    assert result.returncode == 0, result.stderr.decode()
    weights = {"in-0": 0, "in-1": 0, "other": 0}
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "compute (" not in stack:
            continue
        # Rooted at the task awaiting it, then the task itself, on its thread.
        frames = stack.split(";")
        task = next((f for f in frames if f.startswith("<task in-")), None)
        if frames[0].startswith("<task ") and task:
            weights[task.split()[1].rstrip(">")] += int(count)
        else:
            weights["other"] += int(count)
    total = sum(weights.values())
    assert total > 0
    assert weights["other"] <= 0.05 * total, weights
    assert min(weights["in-0"], weights["in-1"]) >= 0.3 * total, weights


def cruncher_under_main(py, tmp_path, program, busy, above, *args):
    """Samples of the cruncher task's `busy` function: (those whose stack has `main`'s task
    and `above` (the frame `main` awaits in) over `<task cruncher>`, the others)."""
    profile = tmp_path / "run.fluoro"
    result = fluoro(
        "run", "-q", "--async", "--rate", "1000", "-o", profile, program, *args, py=py
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"done\n"
    collapsed = tmp_path / "run.txt"
    result = fluoro("report", profile, "--format", "collapsed", "-o", collapsed, py=py)
    assert result.returncode == 0, result.stderr.decode()
    under, alone = 0, 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if f"{busy} (" not in stack:
            continue
        frames = [f.split(" (")[0] for f in stack.split(";")]
        cruncher = frames.index("<task cruncher>") if "<task cruncher>" in frames else -1
        if cruncher >= 2 and frames[cruncher - 1] in above and frames[0].startswith("<task "):
            under += int(count)
        else:
            alone += int(count)
    assert under + alone > 300, (under, alone)
    return under, alone


def test_a_task_awaited_through_gather_runs_under_the_task_awaiting_it(any_python, tmp_path):
    # Before 3.14 the link goes through gather's done-callback and the future it completes;
    # 3.14+ notes who awaits a task.
    program = PROGRAMS / "asyncio_gather.py"
    under, alone = cruncher_under_main(any_python, tmp_path, program, "spin", {"main"})
    assert under >= 0.9 * (under + alone), (under, alone)


@pytest.mark.parametrize(
    ("kind", "above"), [("wait", "_wait"), ("wait_for", "wait_for"), ("shield", "main")]
)
def test_a_task_awaited_through_a_combinator_runs_under_the_task_awaiting_it(
    any_python, tmp_path, kind, above
):
    # Before 3.14: wait's callback holds the future its caller waits for, shield's outer
    # future has a callback of its own before the caller's wakeup, and wait_for (before 3.12)
    # gives the task a partial over the future its caller waits for.
    program = PROGRAMS / "asyncio_combinators.py"
    under, alone = cruncher_under_main(any_python, tmp_path, program, "spin", {above}, kind)
    assert under >= 0.9 * (under + alone), (under, alone)


def test_a_task_of_a_task_group_runs_under_the_task_that_entered_it(any_python, tmp_path):
    # Before 3.14 the link goes through the group's done-callback to its `_parent_task`.
    if any_python.version == "3.10":
        pytest.skip("TaskGroup is 3.11+")
    program = PROGRAMS / "asyncio_taskgroup.py"
    # `main` waits in the group's exit (3.13: `_aexit`, awaited by `__aexit__`).
    exits = {"TaskGroup.__aexit__", "TaskGroup._aexit", "main"}
    under, alone = cruncher_under_main(any_python, tmp_path, program, "churn", exits)
    assert under >= 0.9 * (under + alone), (under, alone)


def test_allocations_are_rooted_at_the_task_that_made_them(any_python, tmp_path):
    # Two tasks allocate, one four times the bytes of the other, each in a function of its
    # own: sampled allocations carry the task the thread ran, rooted as its time is.
    program = PROGRAMS / "asyncio_allocs.py"
    profile, truth = tmp_path / "allocs.fluoro", tmp_path / "truth.json"
    result = fluoro("run", "-q", "--async", "-o", profile, program, truth, py=any_python)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"done\n"
    collapsed = tmp_path / "allocs.txt"
    result = fluoro(
        "report", profile, "--format", "collapsed", "--metric", "alloc", "-o", collapsed,
        py=any_python,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    made = {"hoarder": 0, "sipper": 0}
    elsewhere = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f.split(" (")[0] for f in stack.split(";")]
        for task, function in (("hoarder", "build"), ("sipper", "sip_once")):
            if function not in frames:
                continue
            # Main's task, awaiting in gather, then the task that allocated.
            under = frames[0].startswith("<task ") and f"<task {task}>" in frames
            if under and frames.index(f"<task {task}>") < frames.index(function):
                made[task] += int(count)
            else:
                elsewhere += int(count)
    truth = json.loads(truth.read_text())
    total = sum(made.values())
    assert elsewhere <= 0.02 * (total + elsewhere), (made, elsewhere)
    # Each task's share of the bytes, against what the program allocated.
    share = made["hoarder"] / total
    true_share = truth["hoarder"] / sum(truth.values())
    assert abs(share - true_share) <= 0.05, (made, truth)
    assert abs(total - sum(truth.values())) <= 0.1 * sum(truth.values()), (made, truth)
    # The tasks table gives each task its bytes.
    exported = tmp_path / "allocs.json"
    result = fluoro("report", profile, "--format", "json", "-o", exported, py=any_python)
    assert result.returncode == 0, result.stderr.decode()
    tasks = {t["name"]: t for t in json.loads(exported.read_text())["tasks"]}
    assert sorted(tasks) == ["Task-1", "hoarder", "sipper"], sorted(tasks)
    for task, bytes_made in made.items():
        assert bytes_made <= tasks[task]["alloc_bytes"] <= 1.02 * bytes_made, (task, tasks)
    text = fluoro("report", profile, py=any_python).stdout.decode()
    assert "allocated" in text[text.index("asyncio tasks") :], text
