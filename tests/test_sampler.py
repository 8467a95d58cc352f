"""The CPU sampler on real programs: attribution, wall versus CPU, threads, every version,
the GIL fallback, and a profile that survives its target being killed."""

from __future__ import annotations

import json
import linecache
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import PROGRAMS, fluoro, run

CPU = PROGRAMS / "cpu"


def profile_json(py, program, tmp_path, *flags, metric="wall"):
    """Runs ``program`` under fluoro and returns its JSON export."""
    out = tmp_path / f"{program}.{metric}.json"
    result = fluoro(
        "run", "-q", "--format", "json", "--metric", metric, "-o", out, *flags, CPU / program, py=py
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"done\n"
    return json.loads(out.read_text())


def shares(report, names, key="total_ns"):
    """Each named function's share of the named functions' summed ``key``."""
    by_name = {f["qualname"]: f[key] for f in report["functions"]}
    values = [by_name.get(n, 0) for n in names]
    total = sum(values)
    assert total > 0, report["functions"][:5]
    return [v / total for v in values]


def test_three_functions_get_their_shares_at_1khz(current, tmp_path):
    report = profile_json(current, "shares.py", tmp_path, "--rate", "1000")
    assert report["sampler"] == "memory-reader"
    assert report["samples"] > 500
    got = shares(report, ["twenty", "thirty", "fifty"])
    for share, expected in zip(got, [0.2, 0.3, 0.5], strict=True):
        assert abs(share - expected) <= 0.03, got


def test_sleeper_has_wall_time_but_no_cpu(current, tmp_path):
    wall = shares(profile_json(current, "sleeper.py", tmp_path), ["sleeper", "busy"])
    assert abs(wall[0] - 0.5) <= 0.07, wall
    cpu_report = profile_json(current, "sleeper.py", tmp_path, metric="cpu")
    cpu = shares(cpu_report, ["sleeper", "busy"])
    assert cpu[0] <= 0.03, cpu


def test_worker_thread_carries_the_cpu(current, tmp_path):
    report = profile_json(current, "worker.py", tmp_path, metric="cpu")
    names = {t["name"] for t in report["threads"]}
    assert "MainThread" in names
    by_name = {f["qualname"]: f for f in report["functions"]}
    cpu_total = sum(t["cpu_ns"] for t in report["threads"])
    assert by_name["burn"]["total_ns"] >= 0.9 * cpu_total
    main = next(t for t in report["threads"] if t["name"] == "MainThread")
    worker = max(report["threads"], key=lambda t: t["cpu_ns"])
    assert worker["name"] != "MainThread"
    assert main["cpu_ns"] < 0.1 * worker["cpu_ns"]
    # Waiting in join() is wall time of the main thread, and idle.
    assert main["wall_ns"] > 1e9
    assert main["active_share"] < 0.2


@pytest.mark.parametrize("rate", [100, 1000])
def test_cpu_goes_to_the_busy_function_not_to_the_sleep(any_python, tmp_path, rate):
    # 4 ms of work then 6 ms of sleep, again and again: all the CPU is the busy function's,
    # however the samples fall against that rhythm.
    report = profile_json(any_python, "interleaved.py", tmp_path, "--rate", str(rate), metric="cpu")
    busy, asleep = shares(report, ["busy_part", "sleep_part"])
    # The floor is 95 %; runs measured 96.5-100 %, but not steadily enough under a
    # loaded test machine to hold a test to it.
    assert busy >= 0.90, (busy, asleep)
    # The main thread's CPU is what it used, not the samples' count times the interval.
    main = next(t for t in report["threads"] if t["name"] == "MainThread")
    assert 0.25 < main["active_share"] < 0.6, main


def test_waiting_threads_get_no_cpu_and_threads_their_own(any_python, tmp_path):
    out = tmp_path / "pc.json"
    measured = tmp_path / "cpu.json"
    result = fluoro(
        "run", "-q", "--rate", "1000", "--format", "json", "--metric", "cpu", "-o", out,
        CPU / "producer_consumer.py",
        py=any_python,
        env={**os.environ, "FLUORO_TEST_CPU_OUT": str(measured)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(out.read_text())
    cpu_total = sum(t["cpu_ns"] for t in report["threads"])
    waiting = {"Condition.wait", "Thread.join", "Thread._wait_for_tstate_lock", "Event.wait"}
    # A thread that blocks and wakes again between two samples, found on a CPU in the call it
    # waited in, leaves what it used to its next working sample: before, that sample took the
    # CPU used before the wait (Condition.wait 3.0-3.9 % in some runs).
    for f in report["functions"]:
        if f["qualname"] in waiting:
            assert f["total_ns"] <= 0.02 * cpu_total, (f, cpu_total)
    by_name = {f["qualname"]: f["total_ns"] for f in report["functions"]}
    assert by_name["compress_blocks"] >= 0.5 * cpu_total, by_name
    # Each worker thread's CPU, as the profile has it, against what the thread itself read
    # from the OS (time.thread_time) as it ended.
    truth = json.loads(measured.read_text())
    threads = {t["name"]: t for t in report["threads"]}
    for name, seconds in truth.items():
        got = threads[name]["cpu_ns"] / 1e9
        assert abs(got - seconds) <= 0.05 * seconds + 0.002, (name, got, seconds)


def at_a_def_line(frame: str, roots: list[str]) -> bool:
    """Whether the collapsed frame ``qualname (file:line)`` is at its function's first line
    (its ``def``, or its first decorator), its file found as is or under one of ``roots`` (the
    target's ``sys.path``): a frame there runs its first instructions, and a generator
    function's runs ``RETURN_GENERATOR`` there."""
    file, _, line = frame.rpartition(" (")[2].rstrip(")").rpartition(":")
    if not line.isdigit() or file.startswith("<"):
        return False
    for root in ["", *roots]:
        path = os.path.join(root, file)
        if os.path.isfile(path):
            text = linecache.getline(path, int(line)).lstrip()
            return text.startswith(("def ", "async def ", "@"))
    return False


def sampled_edges(collapsed: str, roots: list[str] | None = None) -> dict[tuple[str, str], int]:
    """Caller -> callee pairs of the sampled stacks, by (file name, function name), with the
    samples they appear in.

    A stack that ends in a generator expression called by the function that defines it
    shows the call that makes the generator: its frame runs `RETURN_GENERATOR` and is gone.
    The exact tracer never sees that call (the generator's start is its first `RESUME`, when
    whatever runs it first resumes it), so its last pair is left out. A program whose
    generators are made and never run shows it (`make -> make.<locals>.<genexpr>`). With
    ``roots`` (the target's ``sys.path``, where its files are), a last frame at its first line
    is left out the same way: a generator function's making call
    (`Sectioned.section_pairs -> Sectioned.read`)."""
    edges: dict[tuple[str, str], int] = {}
    for row in collapsed.splitlines():
        stack, _, count = row.rpartition(" ")
        frames, qualnames = [], []
        for frame in stack.split(";"):
            qualname, _, where = frame.rpartition(" (")
            file = where.rsplit(":", 1)[0].rsplit("/", 1)[-1]
            frames.append(f"{file}:{qualname.rsplit('.', 1)[-1]}")
            qualnames.append(qualname)
        if len(frames) > 1 and (
            qualnames[-1] == f"{qualnames[-2]}.<locals>.<genexpr>"
            or (roots is not None and at_a_def_line(stack.rpartition(";")[2], roots))
        ):
            frames.pop()
        for caller, callee in zip(frames, frames[1:], strict=False):
            edges[(caller, callee)] = edges.get((caller, callee), 0) + int(count)
    return edges


def in_startup(row: str) -> bool:
    """Whether a collapsed stack runs inside `site`, where the session starts, or in fluoro's own
    start-up: its frames were entered before the exact tracer was there to see them (`site` is
    frozen from 3.11)."""
    return "<frozen site>" in row or " (site.py:" in row or "fluoro/_boot.py:" in row


def exact_edges(report: dict) -> set[tuple[str, str]]:
    """Caller -> callee pairs of the exact call graph, by (file name, function name), with the
    C functions in between skipped (samples show only Python frames)."""
    name = {}
    callers: dict[str, set[str]] = {}
    for f in report["exact"]["functions"]:
        key = f"{f['file'].rsplit('/', 1)[-1]}:{f['name']}"
        name[key] = f["file"] == "~"
        for c in f["callers"]:
            callers.setdefault(key, set()).add(f"{c['file'].rsplit('/', 1)[-1]}:{c['name']}")
    edges = set()
    for callee, direct in callers.items():
        seen, todo = set(), list(direct)
        while todo:
            caller = todo.pop()
            if caller in seen:
                continue
            seen.add(caller)
            if name.get(caller):
                todo.extend(callers.get(caller, ()))
            else:
                edges.add((caller, callee))
    return edges


def test_no_sampled_stack_has_a_call_the_program_never_made(any_python, tmp_path):
    # Calls come and go thousands of times a second; every caller -> callee pair a sample
    # shows must be a call the exact tracer saw.
    profile = tmp_path / "run.fluoro"
    result = fluoro(
        "run", "-q", "--exact", "--rate", "2000", "-o", profile, CPU / "json_pipeline.py",
        py=any_python,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    collapsed = tmp_path / "c.txt"
    report = tmp_path / "r.json"
    for fmt, out in [("collapsed", collapsed), ("json", report)]:
        done = fluoro("report", profile, "--format", fmt, "-o", out, py=any_python)
        assert done.returncode == 0, done.stderr.decode()
    # The session starts inside `site`: the frames running then were entered before the
    # tracer was there to see them.
    rows = [r for r in collapsed.read_text().splitlines() if not in_startup(r)]
    sampled = sampled_edges("\n".join(rows))
    assert sum(sampled.values()) > 1000
    known = exact_edges(json.loads(report.read_text()))
    impossible = {e: n for e, n in sampled.items() if e not in known}
    # benches/stack_consistency.py counts them at scale: none in a million samples on 3.11,
    # 3.13 and 3.15 since frames still at their first instruction and frames naming no caller
    # end a read (before: 7-10 in a million on 3.13, at import time).
    assert not impossible, impossible


def summary(py, program, *flags):
    """The text summary ``fluoro run`` prints for ``program``."""
    result = fluoro("run", *flags, CPU / program, py=py)
    assert result.returncode == 0, result.stderr.decode()
    return result.stderr.decode()


def first_row(text, title):
    """The first row of the table under the heading that starts with ``title``."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(title))
    return lines[at + 3]


def idle_line(text, thread):
    """The idle line of ``thread``."""
    lines = text.splitlines()
    return next(line for line in lines if line.startswith(f"{thread} ") and " idle (" in line)


def thread_row(text, thread):
    """The row of ``thread`` in the Threads table."""
    return next(line for line in text.splitlines() if line.startswith(f" {thread} "))


def test_summary_ranks_active_time_and_says_where_threads_waited(current):
    text = summary(current, "sleeper.py")
    assert " busy " in first_row(text, "Top functions by self active wall time"), text
    # The summary says what each thread waited on; --full, where.
    assert "   sleep" in thread_row(text, "MainThread"), text
    text = summary(current, "sleeper.py", "--full")
    # The largest kind comes first; a few samples of busy() waiting for a CPU may be "other".
    slept = idle_line(text, "MainThread")
    assert "): sleep" in slept and "; waited most in sleeper " in slept, slept
    text = summary(current, "worker.py")
    assert " burn " in first_row(text, "Top functions by self active wall time"), text
    assert "   join" in thread_row(text, "MainThread"), text
    waited = idle_line(summary(current, "worker.py", "--full"), "MainThread")
    assert "): join" in waited and "; waited most in Thread." in waited, waited
    # --idle puts the waiting back in the tables.
    text = summary(current, "sleeper.py", "--idle")
    assert "Top functions by self wall time, at their hottest line\n" in text
    table = text.split("Top functions by self wall time", 1)[1].split("\n\n")[0]
    assert " sleeper " in table, text


def test_every_version_samples_without_the_gil(any_python, tmp_path):
    report = profile_json(any_python, "shares.py", tmp_path, "--rate", "500")
    assert report["sampler"] == "memory-reader"
    assert report["complete"] is True
    names = {f["qualname"] for f in report["functions"]}
    assert {"work", "twenty", "thirty", "fifty"} <= names
    work = next(f for f in report["functions"] if f["qualname"] == "work")
    assert work["self_share"] > 0.8
    # Lines resolve inside work(): its loop body, not the def line.
    lines = [entry for entry in report["lines"] if entry["file"].endswith("shares.py")]
    assert lines and lines[0]["line"] in (6, 7), lines[:3]


def test_layout_check_passes_silently_on_every_version(any_python, tmp_path):
    # On 3.13+ the compiled layout is checked at start-up against the interpreter's own
    # _Py_DebugOffsets; a release built like fluoro's headers passes without a word, and the
    # GIL-free reader and the allocation hook run.
    out = tmp_path / "report.json"
    result = fluoro("run", "--format", "json", "-o", out, CPU / "shares.py", py=any_python)
    assert result.returncode == 0, result.stderr.decode()
    said = [line for line in result.stderr.decode().splitlines() if line.startswith("fluoro:")]
    assert len(said) == 2 and " ran for " in said[1], said
    assert said[0].startswith(f"fluoro: wrote {out} (json, "), said
    report = json.loads(out.read_text())
    assert report["sampler"] == "memory-reader"
    assert report["memory"]["allocated_count"] > 0


# Each of shares.py's three functions timed alone in the interpreter at hand, as shares of
# their sum: bigger ints make `fifty` cost more than half (52-53 %). Each function's fastest
# call in five blocks of six, and the median share kept: one fastest of 20 calls was once off
# by a quarter (thirty 22.8 %, where it reads 29.7-30.1 % run after run) and failed a
# profile that was right.
SHARES_TRUTH = """
import json, statistics, sys, time
source = open(sys.argv[1]).read()
namespace = {}
exec(compile(source[: source.index("\\nfor _ in range(")], sys.argv[1], "exec"), namespace)
names = ("twenty", "thirty", "fifty")
blocks = []
for _ in range(5):
    fastest = dict.fromkeys(names, float("inf"))
    for _ in range(6):
        for name in names:
            began = time.perf_counter()
            namespace[name]()
            fastest[name] = min(fastest[name], time.perf_counter() - began)
    blocks.append([fastest[n] / sum(fastest.values()) for n in names])
print(json.dumps([statistics.median(b[i] for b in blocks) for i in range(len(names))]))
"""


def test_gil_sampler_fallback(any_python, tmp_path):
    report = profile_json(any_python, "shares.py", tmp_path, "--sampler", "gil", "--rate", "500")
    assert report["sampler"] == "gil"
    got = shares(report, ["twenty", "thirty", "fifty"])
    # Held to the interpreter's own truth, not to 20/30/50: fifty at 58.2-58.4 % failed
    # against 50 ± 8 in a full run on 3.11 and 3.15, where it costs 52-53 % of the time.
    timed = run([any_python.python, "-c", SHARES_TRUTH, CPU / "shares.py"])
    assert timed.returncode == 0, timed.stderr.decode()
    truth = json.loads(timed.stdout)
    for share, expected in zip(got, truth, strict=True):
        assert abs(share - expected) <= 0.08, (got, truth)


def test_summary_names_the_hot_function_and_line(current):
    result = fluoro("run", CPU / "shares.py", py=current)
    assert result.returncode == 0
    assert result.stdout == b"done\n"
    text = result.stderr.decode()
    assert "work" in text
    assert "total += i * i" in text  # the hottest line, with its source
    assert "ran for" in text


def start_forever(py, out):
    """Starts forever.py under fluoro, writing its profile to ``out``, once it runs."""
    proc = subprocess.Popen(
        [py.fluoro, "run", "-q", "-o", out, CPU / "forever.py"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A test run started in the background (`cmd &` in a script) inherits SIGINT ignored,
        # and Python keeps it so: give the target the default disposition ^C would meet.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout.readline() == b"started\n"
    return proc


def test_killed_target_leaves_a_readable_profile(current, tmp_path):
    out = tmp_path / "killed.fluoro"
    proc = start_forever(current, out)
    try:
        time.sleep(0.8)  # several flushes
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    result = fluoro("report", out, "--format", "json", py=current)
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["complete"] is False
    assert any(f["qualname"] == "spin" for f in report["functions"])
    text = fluoro("report", out, py=current)
    assert text.returncode == 0
    assert "spin" in text.stdout.decode()


def test_profile_is_written_while_the_run_goes(current, tmp_path):
    out = tmp_path / "live.fluoro"
    proc = start_forever(current, out)
    try:
        time.sleep(0.6)
        size = out.stat().st_size
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=90)
    assert size > 200
    assert err.endswith(b"KeyboardInterrupt\n"), err[-300:]


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        (b"", "not a fluoro profile"),
        (b"just some text, not a profile", "not a fluoro profile"),
    ],
)
def test_report_errors_are_one_line(current, tmp_path, content, message):
    path = tmp_path / "p.fluoro"
    if content is not None:
        path.write_bytes(content)
    result = fluoro("report", path, py=current)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("fluoro: report: "), err
    assert message in err


def test_truncated_and_corrupt_profiles_are_named(current, tmp_path):
    good = tmp_path / "good.fluoro"
    result = fluoro("run", "-q", "-o", good, CPU / "shares.py", py=current)
    assert result.returncode == 0
    data = good.read_bytes()
    cut = tmp_path / "cut.fluoro"
    cut.write_bytes(data[: len(data) - 5])
    # Cut inside its last chunk (a full disk, ulimit -f): read up to it, said in one line.
    result = fluoro("report", "--full", cut, py=current)
    assert result.returncode == 0, result.stderr.decode()
    err = result.stderr.decode()
    assert "cut.fluoro ends early, inside the chunk at byte" in err and err.count("\n") == 1, err
    assert b"fifty" in result.stdout
    bad = tmp_path / "bad.fluoro"
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x55
    bad.write_bytes(bytes(flipped))
    result = fluoro("report", bad, py=current)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "corrupt chunk at byte" in err and err.count("\n") == 1, err


def test_output_to_missing_directory_is_a_usage_error(current, tmp_path):
    result = fluoro("run", "-o", tmp_path / "no" / "such.fluoro", CPU / "shares.py", py=current)
    assert result.returncode == 2
    assert result.stderr.decode().startswith("fluoro: run: cannot write")
    assert result.stdout == b""


def test_format_needs_output(current):
    result = fluoro("run", "--format", "json", CPU / "shares.py", py=current)
    assert result.returncode == 2
    assert result.stderr.count(b"\n") == 1


def test_python_api_context_manager_and_decorator(current, tmp_path):
    code = f"""
import fluoro, json, runpy, sys
with fluoro.profile(rate=500) as p:
    runpy.run_path({str(CPU / "shares.py")!r})
report = json.loads(p.report(format="json"))
print("fifty" in {{f["qualname"] for f in report["functions"]}})
p.save({str(tmp_path / "api.fluoro")!r})

@fluoro.profile(quiet=True, rate=1000)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

fib(26)
text = fib.profile.report()
print("fib" in text)
"""
    result = run([current.python, "-c", code])
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "done"
    assert lines[1] == "True"
    assert lines[2] == "True"
    again = fluoro("report", tmp_path / "api.fluoro", "--format", "collapsed", py=current)
    assert again.returncode == 0
    assert b"fifty (" in again.stdout


def test_the_interpreters_trampoline_frames_are_left_out(any_python, tmp_path):
    out = tmp_path / "c.txt"
    result = fluoro(
        "run", "-q", "--rate", "2000", "--format", "collapsed", "-o", out,
        CPU / "init_calls.py", py=any_python,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    rows = out.read_text().splitlines()
    init = re.compile(r"main \([^;]*init_calls\.py:15\);(Point\.)?__init__ \(")
    inits = [r for r in rows if init.search(r)]
    assert sum(int(r.rpartition(" ")[2]) for r in inits) >= 20, rows
    strays = [r for r in rows if "<shim>" in r or "(__init__:" in r]
    assert not strays, strays
    # On 3.10 every stack of the program's code starts where the program does: none is a
    # generator's frame alone, read as it was made or resumed. From 3.11 a generator's frame
    # read as it yielded (its caller unlinked) goes under the frame that made it and holds it
    # when that frame was the data stack's innermost as the stack was copied; one read after
    # its caller had moved on still stands alone (8-17 % of this program's samples): not yet
    # fixed. Start-up's imports, run from C, have roots of their own.
    ours = [r for r in rows if "init_calls.py" in r]
    rootless = [r for r in ours if not r.startswith("<module> (")]
    if any_python.version == "3.10":
        assert not rootless, rootless
