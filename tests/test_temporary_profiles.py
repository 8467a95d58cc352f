"""Files fluoro writes for itself: a run's profile is where the user asked, or removed, or its
path said in one line; temporary files live in private directories and never follow a link
planted by someone else."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import fluoro, run

KEPT = re.compile(r"^fluoro: .*; its profile is kept at (\S+) \(see it with: fluoro report \1\)$")


def tmpdir_env(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return tmp, {"TMPDIR": str(tmp)}


def left_in(tmp: Path, wait: float = 5.0) -> list[Path]:
    """What is left under ``tmp`` once fluoro's keeper has had time to act."""
    deadline = time.monotonic() + wait
    while True:
        left = sorted(p for p in tmp.rglob("*"))
        if not any(p.name == "profile.fluoro" for p in left) or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def test_a_run_that_ends_normally_leaves_nothing(tmp_path):
    tmp, env = tmpdir_env(tmp_path)
    result = fluoro("run", "-c", "sum(range(10**5))", env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert left_in(tmp) == []


ABNORMAL_ENDS = {
    "os._exit": "import os; os._exit(3)",
    "SIGTERM": "import os, signal; os.kill(os.getpid(), signal.SIGTERM)",
    "SIGKILL": "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
    "segfault": "import ctypes; ctypes.string_at(0)",
    "abort": "import os; os.abort()",
    "exec": "import os, sys; os.execv(sys.executable, [sys.executable, '-c', 'pass'])",
}


@pytest.mark.parametrize("how", sorted(ABNORMAL_ENDS))
def test_an_abnormal_end_keeps_the_profile_and_says_where(tmp_path, how):
    tmp, env = tmpdir_env(tmp_path)
    code = "import time; sum(range(10**5)); time.sleep(0.3); " + ABNORMAL_ENDS[how]
    result = fluoro("run", "-c", code, env=env)
    lines = [line for line in result.stderr.decode().splitlines() if line.startswith("fluoro")]
    assert len(lines) == 1, result.stderr.decode()
    match = KEPT.match(lines[0])
    assert match, lines[0]
    kept = Path(match[1])
    assert kept.is_file() and kept.parent.parent == tmp
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    assert left_in(tmp) == [kept.parent, kept]
    report = fluoro("report", kept)
    assert report.returncode == 0, report.stderr.decode()


def test_an_abnormal_end_with_quiet_leaves_nothing_and_says_nothing(tmp_path):
    tmp, env = tmpdir_env(tmp_path)
    result = fluoro("run", "-q", "-c", "import os; os._exit(0)", env=env)
    assert result.stderr == b""
    assert left_in(tmp) == []


def test_a_report_into_a_closed_pipe_leaves_nothing(tmp_path):
    tmp, env = tmpdir_env(tmp_path)
    code = "import time; print('x', flush=True); time.sleep(0.5)"
    exe = fluoro_path()
    pipeline = f"'{exe}' run -c \"{code}\" 2>&1 | head -c 1"
    subprocess.run(["sh", "-c", pipeline], env={**os.environ, **env}, capture_output=True)
    assert left_in(tmp) == []


def test_a_failed_report_keeps_the_profile(tmp_path):
    tmp, env = tmpdir_env(tmp_path)
    out = tmp_path / "gone"
    out.mkdir()
    # The export's directory disappears during the run: the export cannot be written.
    code = f"import shutil; shutil.rmtree({str(out)!r})"
    result = fluoro("run", "--format", "speedscope", "-o", out / "p.json", "-c", code, env=env)
    err = result.stderr.decode()
    assert "cannot write" in err, err
    kept = [KEPT.match(line) for line in err.splitlines()]
    kept = [m for m in kept if m]
    assert len(kept) == 1, err
    assert Path(kept[0][1]).is_file()


def test_stale_profiles_of_ended_runs_are_removed(tmp_path):
    tmp, env = tmpdir_env(tmp_path)
    # No process has a pid above Linux's highest (2^22).
    stale = tmp / "fluoro-4194305-abcdef"
    stale.mkdir(mode=0o700)
    (stale / "profile.fluoro").write_bytes(b"FLUORO\0\4")
    announced = tmp / "fluoro-4194306-abcdef"
    announced.mkdir(mode=0o700)
    (announced / "run.fluoro").write_bytes(b"FLUORO\0\4")
    result = fluoro("run", "-c", "pass", env=env)
    assert result.returncode == 0
    assert left_in(tmp) == [announced, announced / "run.fluoro"]


def test_the_report_goes_to_the_stderr_fluoro_started_with(tmp_path):
    code = (
        "import os; fd = os.open('mine.log', os.O_WRONLY | os.O_CREAT, 0o600); "
        "os.dup2(fd, 2); os.write(2, b'mine\\n')"
    )
    result = fluoro("run", "-c", code, cwd=tmp_path)
    assert result.returncode == 0
    assert (tmp_path / "mine.log").read_bytes() == b"mine\n"
    assert b"ran for" in result.stderr


def fluoro_path() -> Path:
    return Path(sys.executable).parent / "fluoro"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="--adaptive needs 3.11+")
def test_dis_adaptive_follows_no_planted_symlink(tmp_path):
    tmp, env = tmpdir_env(tmp_path)
    victim = tmp_path / "victim"
    victim.mkdir()
    # The directories the old code would have used, for the next pids: all links to victim.
    last = int(Path("/proc/sys/kernel/ns_last_pid").read_text())
    for pid in range(last + 1, last + 400):
        (tmp / f"fluoro-dis-{pid}").symlink_to(victim)
    script = tmp_path / "s.py"
    script.write_text("def f():\n    return sum(range(100))\n\nfor _ in range(100):\n    f()\n")
    result = run([fluoro_path(), "dis", "--adaptive", "--run", script], env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert list(victim.iterdir()) == []
    assert all(p.is_symlink() for p in tmp.iterdir())
