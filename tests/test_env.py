"""`fluoro env`: the interpreter's state, for this interpreter and for another one."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from conftest import Interpreter, fluoro, run


def env_json(*args, **kwargs) -> dict:
    result = fluoro("env", "--json", *args, **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_json_describes_this_interpreter(current: Interpreter):
    report = env_json()
    assert report["implementation"] == "CPython"
    assert report["version"] == ".".join(map(str, sys.version_info[:3]))
    # the console script may name the venv's python3 where pytest runs its python
    assert Path(report["executable"]).parent == current.python.parent
    assert report["recursion_limit"] == sys.getrecursionlimit()
    assert report["switch_interval"] == sys.getswitchinterval()
    assert report["gc"]["tracked_objects"] > 1000
    assert report["flags"]["optimize"] == 0
    assert report["modules_loaded"] > 10
    process = report["process"]
    assert process["rss_bytes"] > 1_000_000
    assert process["threads"] >= 1 and process["open_files"] >= 3


# What the interpreter's own `gc` module says: 3.13 raised the first threshold to 2000, early
# 3.14 releases had an incremental collector with other generations than later ones, 3.15
# counts examined objects and time per generation.
GC_TRUTH = """
import gc, json
stats = gc.get_stats()
print(json.dumps([list(gc.get_threshold()), len(gc.get_count()), len(stats), sorted(stats[0])]))
"""


def test_gc_is_what_each_version_has(any_python: Interpreter):
    report = env_json(py=any_python)
    truth = run([any_python.python, "-c", GC_TRUTH])
    thresholds, counts, generations, keys = json.loads(truth.stdout)
    gc = report["gc"]
    assert gc["thresholds"] == thresholds
    assert len(gc["counts"]) == counts
    assert len(gc["generations"]) == generations
    for optional in ("candidates", "duration"):
        assert all((optional in g) == (optional in keys) for g in gc["generations"])
    assert gc["tracked_objects"] > 1000
    text = fluoro("env", py=any_python)
    assert text.returncode == 0 and text.stderr == b"", text.stderr
    out = text.stdout.decode()
    section = out.split("\nGarbage collector\n")[1].split("\nAllocator\n")[0]
    assert re.search(rf"thresholds +{' / '.join(map(str, thresholds))}\n", section), section
    header = next(line for line in section.splitlines() if "generation" in line)
    assert ("examined" in header) == ("candidates" in keys), header
    rows = section[section.index(header) :].splitlines()[2:]  # below the rule
    assert len([r for r in rows if r.strip()]) == generations, section


def test_pymalloc_pools_add_up(current: Interpreter):
    report = env_json()
    assert report["allocator"] == {"name": "pymalloc", "chosen_by": "default", "debug_hooks": False}
    pm = report["malloc_stats"]["pymalloc"]
    assert pm["small_block_threshold"] == 512
    assert len(pm["size_classes"]) == 32
    used = sum(c["blocks_in_use"] * c["block_size"] for c in pm["size_classes"])
    assert used == pm["bytes_in_allocated_blocks"]
    parts = (
        pm["bytes_in_allocated_blocks"]
        + pm["bytes_in_available_blocks"]
        + pm["unused_pools"] * pm["pool_size"]
        + pm["bytes_lost_to_pool_headers"]
        + pm["bytes_lost_to_quantization"]
        + pm["bytes_lost_to_arena_alignment"]
    )
    assert parts == pm["total_bytes"] == pm["arenas_current"] * pm["arena_size"]


@pytest.mark.parametrize(
    "setting,name,chosen_by",
    [("malloc", "malloc", "PYTHONMALLOC"), ("debug", "pymalloc_debug", "PYTHONMALLOC")],
)
def test_allocator_follows_pythonmalloc(current: Interpreter, setting, name, chosen_by):
    report = env_json(env={"PYTHONMALLOC": setting})
    assert report["allocator"]["name"] == name
    assert report["allocator"]["chosen_by"] == chosen_by
    assert (report["malloc_stats"]["pymalloc"] is None) == (setting == "malloc")


def test_dev_mode_turns_on_debug_hooks(current: Interpreter):
    result = run([current.python, "-X", "dev", "-m", "fluoro", "env", "--json"])
    report = json.loads(result.stdout)
    assert report["allocator"] == {
        "name": "pymalloc_debug",
        "chosen_by": "-X dev",
        "debug_hooks": True,
    }


def test_text_has_every_section():
    result = fluoro("env")
    assert result.returncode == 0
    out = result.stdout.decode()
    for heading in ["Interpreter", "Runtime", "Garbage collector", "Allocator", "Process"]:
        assert f"\n{heading}\n" in f"\n{out}"
    assert "utilization" in out and "fragmentation" in out


@pytest.mark.parametrize("version", ["3.10", "3.12", "3.13", "3.14", "3.15"])
def test_python_option_asks_another_interpreter(version):
    from conftest import interpreter

    other = interpreter(version)
    report = env_json("--python", str(other.python))
    assert report["version"].startswith(version + ".")
    assert report["process"]["pid"] == report["pid"]


def test_python_option_with_a_missing_interpreter():
    result = fluoro("env", "--python", "/nonexistent/python")
    assert result.returncode == 2
    assert result.stderr.decode().count("\n") == 1
    assert b"no such interpreter" in result.stderr


def test_python_option_with_something_that_is_not_python(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho not python >&2\nexit 3\n")
    fake.chmod(0o755)
    result = fluoro("env", "--python", str(fake))
    assert result.returncode == 2
    assert result.stderr.decode() == f"fluoro: env: '{fake}' could not be probed: not python\n"


def test_api_matches_cli(current: Interpreter):
    code = "import fluoro, json; r = fluoro.env(); print(json.dumps([r['version'], sorted(r)]))"
    result = run([current.python, "-c", code])
    version, keys = json.loads(result.stdout)
    assert version == env_json()["version"]
    assert set(keys) == set(env_json())
