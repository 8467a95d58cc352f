"""`fluoro.stack()`: every thread's frames (file, function, line, local names), innermost first,
in every interpreter present."""

from __future__ import annotations

import json

from conftest import Interpreter, run

PROGRAM = """\
import json, sys, threading
import fluoro

class Worker:
    def wait(self, ready, done):
        pending = "still waiting"
        ready.set()
        done.wait()

ready, done = threading.Event(), threading.Event()
t = threading.Thread(target=Worker().wait, args=(ready, done), name="blocked-worker")
t.start()
ready.wait()

def main():
    here = 1
    return fluoro.stack()

stacks = main()
done.set()
t.join()
print(json.dumps({"stacks": stacks, "main": threading.main_thread().ident,
                  "worker": t.ident, "version": sys.version_info[:2]}))
"""

UNTHREADED = """\
import json, sys
import fluoro
print(json.dumps(fluoro.stack()))
print("threading" in sys.modules)
"""


def test_blocked_thread_and_main(any_python: Interpreter, tmp_path):
    script = tmp_path / "threads.py"
    script.write_text(PROGRAM)
    result = run([any_python.python, script])
    assert result.returncode == 0, result.stderr.decode()
    out = json.loads(result.stdout)
    by_id = {s["thread_id"]: s for s in out["stacks"]}
    qualified = tuple(out["version"]) >= (3, 11)

    main = by_id[out["main"]]
    assert main["name"] == "MainThread"
    assert main["frames"][0]["function"] == "main"
    assert main["frames"][0]["locals"] == ["here"]
    assert main["frames"][0]["line"] == 17
    assert main["frames"][1]["function"] == "<module>"
    assert main["frames"][0]["file"] == str(script)

    worker = by_id[out["worker"]]
    assert worker["name"] == "blocked-worker"
    functions = [f["function"] for f in worker["frames"]]
    [at] = [i for i, f in enumerate(worker["frames"]) if f["file"] == str(script)]
    frame = worker["frames"][at]
    assert frame["function"] == ("Worker.wait" if qualified else "wait")
    # Innermost first: threading's Event.wait / Condition.wait frames come before ours.
    assert at > 0 and worker["frames"][0]["file"].endswith("threading.py")
    assert frame["locals"] == ["self", "ready", "done", "pending"]
    assert frame["line"] == 8
    assert functions[-1] == ("Thread._bootstrap" if qualified else "_bootstrap")


def test_never_imports_threading(any_python: Interpreter, tmp_path):
    script = tmp_path / "plain.py"
    script.write_text(UNTHREADED)
    result = run([any_python.python, "-I", script])
    assert result.returncode == 0, result.stderr.decode()
    stacks_line, imported = result.stdout.decode().splitlines()
    stacks = json.loads(stacks_line)
    assert imported == "False"
    assert len(stacks) == 1 and stacks[0]["name"] is None
    assert [f["function"] for f in stacks[0]["frames"]] == ["<module>"]
