"""Profiles written by `fluoro run` and `fluoro report` load in the tools that read them:
flamegraph-style collapsed stacks, speedscope, pprof (`go tool pprof`), pstats."""

from __future__ import annotations

import gzip
import json
import pstats
import re
import shutil

import pytest

from conftest import PROGRAMS, fluoro, run

CPU = PROGRAMS / "cpu"


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    """One profile of shares.py, written while the target runs."""
    path = tmp_path_factory.mktemp("exports") / "shares.fluoro"
    result = fluoro("run", "-q", "--rate", "500", "-o", path, CPU / "shares.py")
    assert result.returncode == 0, result.stderr.decode()
    return path


def report(profile, *args):
    result = fluoro("report", profile, *args)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def test_collapsed_lines(profile):
    lines = report(profile, "--format", "collapsed").decode().splitlines()
    assert lines
    frame = r"[^;]+ \([^;]*:\d+\)"
    pattern = re.compile(rf"^{frame}(;{frame})* \d+$")
    for line in lines:
        assert pattern.match(line), line
    # Root first: <module> is the outermost frame, work() the leaf.
    hot = max(lines, key=lambda line: int(line.rsplit(" ", 1)[1]))
    frames = hot.rsplit(" ", 1)[0].split(";")
    assert frames[-3].startswith("<module> (") and frames[-1].startswith("work (")
    assert "shares.py:" in frames[-1]


def test_collapsed_counts_samples_or_cpu_microseconds(profile):
    wall = report(profile, "--format", "collapsed").decode().splitlines()
    cpu = report(profile, "--format", "collapsed", "--metric", "cpu").decode().splitlines()
    doc = json.loads(report(profile, "--format", "json"))
    samples = sum(int(line.rsplit(" ", 1)[1]) for line in wall)
    micros = sum(int(line.rsplit(" ", 1)[1]) for line in cpu)
    assert samples == doc["samples"] > 100
    cpu_ns = sum(t["cpu_ns"] for t in doc["threads"])
    # Each stack's CPU time is rounded to whole microseconds.
    assert abs(micros - cpu_ns / 1000) <= len(cpu), (micros, cpu_ns)


def test_speedscope_follows_the_file_format(profile):
    doc = json.loads(report(profile, "--format", "speedscope"))
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    frames = doc["shared"]["frames"]
    assert all(isinstance(f["name"], str) for f in frames)
    assert doc["profiles"], doc
    for p in doc["profiles"]:
        assert p["type"] == "sampled"
        assert p["unit"] == "nanoseconds"
        assert len(p["samples"]) == len(p["weights"])
        assert p["startValue"] <= p["endValue"]
        for stack in p["samples"]:
            assert all(0 <= i < len(frames) for i in stack)
    names = {f["name"] for f in frames}
    assert any(n.startswith("work") for n in names)


def test_pstats_loads_in_pstats(profile, tmp_path):
    out = tmp_path / "p.pstats"
    report(profile, "--format", "pstats", "-o", out)
    stats = pstats.Stats(str(out))
    by_name = {key[2]: value for key, value in stats.stats.items()}
    assert "work" in by_name and "fifty" in by_name
    # (primitive calls, total calls, tottime, cumtime, callers)
    assert by_name["work"][2] > 0.5 * stats.total_tt
    callers = {key[2] for key in by_name["work"][4]}
    assert {"twenty", "thirty", "fifty"} <= callers
    # Without --exact nothing counted calls: every count is 0 (pstats leaves percall blank),
    # never a sample count passed off as calls.
    assert (stats.total_calls, stats.prim_calls) == (0, 0)
    assert all(value[0] == value[1] == 0 for value in stats.stats.values())
    edges = [edge for value in stats.stats.values() for edge in value[4].values()]
    assert edges and all(edge[0] == edge[1] == 0 for edge in edges)


def test_pprof_is_gzipped_protobuf(profile, tmp_path):
    out = tmp_path / "p.pb.gz"
    report(profile, "--format", "pprof", "-o", out)
    raw = gzip.decompress(out.read_bytes())
    assert b"work" in raw and b"shares.py" in raw


@pytest.mark.skipif(shutil.which("go") is None, reason="go (Debian golang-go) is not installed")
def test_pprof_loads_in_go_tool_pprof(profile, tmp_path):
    out = tmp_path / "p.pb.gz"
    report(profile, "--format", "pprof", "-o", out)
    result = run(["go", "tool", "pprof", "-top", out], env={"HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr.decode()
    text = result.stdout.decode()
    top = [line for line in text.splitlines() if line.strip().endswith(" work")]
    assert top, text


def test_json_holds_the_tables(profile):
    doc = json.loads(report(profile, "--format", "json"))
    assert doc["complete"] is True
    assert doc["metric"] == "wall"
    assert doc["functions"][0]["qualname"] == "work"
    assert doc["threads"][0]["name"] == "MainThread"


def test_run_writes_an_export_directly(tmp_path):
    out = tmp_path / "p.txt"
    result = fluoro("run", "-q", "--format", "collapsed", "-o", out, CPU / "shares.py")
    assert result.returncode == 0
    assert result.stdout == b"done\n"
    assert "work (" in out.read_text()


def test_exact_pstats_counts_equal_cprofile(current, tmp_path):
    program = CPU / "calls.py"
    theirs = tmp_path / "cprofile.pstats"
    result = run([current.python, "-m", "cProfile", "-o", theirs, program])
    assert result.returncode == 0, result.stderr.decode()
    ours = tmp_path / "fluoro.pstats"
    result = fluoro("run", "-q", "--exact", "--format", "pstats", "-o", ours, program)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == run([current.python, program]).stdout

    def counts(path):
        stats = pstats.Stats(str(path)).stats
        return {
            (key[1], key[2]): (value[0], value[1])
            for key, value in stats.items()
            if key[0] == str(program)
        }

    expected = counts(theirs)
    assert len(expected) >= 8, expected
    assert counts(ours) == expected
