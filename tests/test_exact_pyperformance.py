"""Exact mode on real benchmark programs: for five pyperformance scripts, every call count of
every function (total and primitive) equals cProfile's.

The scripts come from the pyperformance package (with pyperf), which the test command
installs into the test interpreter's venv; each runs as one pyperf worker process with a
fixed number of loops so both profilers see the same calls.
"""

from __future__ import annotations

import os
import pstats
from pathlib import Path

import pytest

from conftest import fluoro, run

PROGRAMS = {"richards": 2, "deltablue": 2, "nqueens": 1, "hexiom": 1, "chaos": 1, "float": 1}


def benchmarks_dir() -> Path:
    pyperformance = pytest.importorskip("pyperformance")
    pytest.importorskip("pyperf")
    return Path(pyperformance.__file__).parent / "data-files" / "benchmarks"


def counts(path: Path) -> dict[tuple[str, int, str], tuple[int, int]]:
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    out = {}
    for (filename, line, name), (cc, nc, *_rest) in stats.items():
        if filename != "~" and os.path.exists(filename):
            filename = os.path.realpath(filename)
        out[(filename, line, name)] = (cc, nc)
    return out


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_exact_counts_equal_cprofile_on_pyperformance(current, tmp_path, name):
    script = benchmarks_dir() / f"bm_{name}" / "run_benchmark.py"
    args = [script, "--worker", "--loops", str(PROGRAMS[name]), "--values", "1"]
    args += ["--warmups", "0", "-p", "1"]
    env = {"PYTHONHASHSEED": "0"}
    theirs = tmp_path / "cprofile.pstats"
    result = run([current.python, "-m", "cProfile", "-o", theirs, *args], env=env)
    assert result.returncode == 0, result.stderr.decode()[-500:]
    ours = tmp_path / "fluoro.pstats"
    result = fluoro("run", "-q", "--exact", "--format", "pstats", "-o", ours, *args, env=env)
    assert result.returncode == 0, result.stderr.decode()[-500:]
    expected = {k: v for k, v in counts(theirs).items() if k[0] == str(script.resolve())}
    got = {k: v for k, v in counts(ours).items() if k[0] == str(script.resolve())}
    assert len(expected) >= 5
    assert got == expected
