"""Live terminal views, drawn under tmux: `fluoro top PID` and `fluoro run --live`."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from test_dump import REMOTE, running

from conftest import PROGRAMS, fluoro

CHURN = PROGRAMS / "live" / "churn.py"


class Terminal:
    """A tmux session running one shell command, whose exit code lands in a file."""

    def __init__(self, name: str, done: Path):
        self.name = name
        self.done = done

    def screen(self) -> str:
        capture = ["tmux", "capture-pane", "-p", "-t", self.name]
        return subprocess.run(capture, capture_output=True, text=True).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, shown: Callable[[str], bool], seconds: float = 20) -> str:
        deadline = time.monotonic() + seconds
        while not shown(screen := self.screen()) and time.monotonic() < deadline:
            time.sleep(0.2)
        return screen

    def exit_code(self, seconds: float = 20) -> str:
        deadline = time.monotonic() + seconds
        while not self.done.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.done.read_text()


@contextmanager
def terminal(command: list[str], tmp_path: Path) -> Iterator[Terminal]:
    name = f"fluoro-live-{os.getpid()}-{time.monotonic_ns()}"
    done = tmp_path / "done"
    line = f"{shlex.join(command)}; echo $? > {done}; sleep 60"
    tmux = ["tmux", "new-session", "-d", "-s", name, "-x", "110", "-y", "40", line]
    subprocess.run(tmux, check=True)
    try:
        yield Terminal(name, done)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def test_top_draws_the_hottest_functions_under_tmux_and_quits_on_q(current, tmp_path):
    with running(current.python, REMOTE / "shares_forever.py") as proc:
        command = [str(current.fluoro), "top", "--rate", "200", str(proc.pid)]
        with terminal(command, tmp_path) as term:
            shown = term.wait_for(lambda s: all(n in s for n in ("fifty", "thirty", "twenty")))
            assert f"fluoro top · pid {proc.pid}" in shown, shown
            assert "RSS" in shown and "MiB" in shown, shown
            for name in ("work", "fifty", "thirty", "twenty"):
                assert name in shown, shown
            term.keys("t")
            assert "sorted by total" in term.wait_for(lambda s: "sorted by total" in s, 5)
            term.keys("q")
            assert term.exit_code() == "0\n"
            assert proc.poll() is None  # untouched


def test_run_live_shows_the_run_then_its_held_output_and_its_report(any_python, tmp_path):
    command = [str(any_python.fluoro), "run", "--live", "--rate", "200", str(CHURN), "2"]
    with terminal(command, tmp_path) as term:
        shown = term.wait_for(lambda s: "churn" in s)
        assert "fluoro run --live · pid" in shown and "churn" in shown, shown
        # The target's terminal output waits for the view to close.
        assert "started on" not in shown, shown
        shown = term.wait_for(lambda s: "ended with exit code 3" in s)
        assert "ended with exit code 3 · q closes the view" in shown, shown
        term.keys("q")
        assert term.exit_code() == "3\n"
        shown = term.screen()
        for line in ("started on stdout", "started on stderr", "done on stdout"):
            assert line in shown, shown
        # The run's own report, made inside the target at its end, follows its output.
        assert "Top functions by self" in shown and "churn" in shown, shown


def test_run_live_q_leaves_the_run_going_and_ctrl_c_then_reaches_it(current, tmp_path):
    command = [str(current.fluoro), "run", "--live", "-q", str(CHURN)]
    with terminal(command, tmp_path) as term:
        term.wait_for(lambda s: "churn" in s)
        term.keys("q")
        shown = term.wait_for(lambda s: "started on stderr" in s, 5)
        assert "started on stdout" in shown and "started on stderr" in shown, shown
        assert not term.done.exists()  # the target runs on, followed
        term.keys("C-c")
        # The target's own ^C: its KeyboardInterrupt traceback, and the shell's 128 + SIGINT.
        assert term.exit_code() == "130\n"
        shown = term.screen()
        assert "KeyboardInterrupt" in shown and "done on stdout" not in shown, shown


def test_run_live_ctrl_c_in_the_view_interrupts_the_target(current, tmp_path):
    command = [str(current.fluoro), "run", "--live", "-q", str(CHURN)]
    with terminal(command, tmp_path) as term:
        term.wait_for(lambda s: "churn" in s)
        term.keys("C-c")
        assert term.exit_code() == "130\n"
        assert "KeyboardInterrupt" in term.screen()


def test_run_live_without_a_terminal_is_one_line_and_exit_2(current):
    result = fluoro("run", "--live", str(CHURN), "0.1", py=current)
    assert result.returncode == 2
    assert result.stderr.decode() == (
        "fluoro: run: --live needs a terminal (standard input and output)\n"
    )
    assert result.stdout == b""
