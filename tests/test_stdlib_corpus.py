"""fluoro must never alter what its target computes: 40 of CPython's own test modules, run by
``python -m test`` in one process, give the same results bare, under ``fluoro run`` and under
``fluoro run --memory=all``, on every version whose interpreter ships its test suite."""

from __future__ import annotations

import concurrent.futures
import re
import subprocess

import pytest

from conftest import VERSIONS, interpreter, run

MODULES = [
    "test_json", "test_re", "test_dict", "test_list", "test_tuple", "test_set", "test_string",
    "test_bytes", "test_int", "test_float", "test_math", "test_itertools", "test_functools",
    "test_collections", "test_heapq", "test_bisect", "test_struct", "test_textwrap", "test_enum",
    "test_dataclasses", "test_operator", "test_contextlib", "test_abc", "test_copy",
    "test_weakref", "test_generators", "test_with", "test_exceptions", "test_scope",
    "test_class", "test_sort", "test_deque", "test_pprint", "test_statistics", "test_fractions",
    "test_decimal", "test_threading", "test_asyncio.test_tasks", "test_gc", "test_sys",
]  # fmt: skip

# The lines of regrtest's summary that say what ran and how it ended (not how long it took).
# 3.10 says only "Tests result: SUCCESS" (and which modules failed), 3.11+ also the counts.
RESULT = re.compile(
    rb"^(Total tests: .*|Total test files: .*|(?:Tests )?[Rr]esult: .*|\S+ failed.*)$", re.M
)


# Some tests skip themselves by timing: test_int's "slow conversion" checks skip when the
# conversion took under 0.1 s, and run (and pass) when it took longer, as under --memory=all.
# The skipped count is left out of the comparison; what ran, and how it ended, is compared.
SKIPPED = re.compile(rb" skipped=[0-9,]+")


def results(completed: subprocess.CompletedProcess) -> tuple[int, list[bytes]]:
    lines = [SKIPPED.sub(b"", line) for line in RESULT.findall(completed.stdout)]
    return completed.returncode, lines


# A test module "alters the execution environment" when it leaves something behind that
# regrtest checks for after it: a thread still running, a file, a changed setting. Some of
# those checks wait a fixed time for threads to end, and on a loaded machine a thread can
# outlive the wait (seen once in CI, under fluoro, with three suites running on two cores).
# Such a module is run again by itself, as regrtest's own --rerun does for failures, and must
# then leave nothing behind.
ENV_CHANGED = re.compile(rb" env_changed=[0-9,]+")
ALTERED = re.compile(rb"altered the execution environment.*:\n((?:    .*\n)+)")
WARNING = re.compile(rb"^Warning -- .*$", re.M)
RERUNS = 2


def altered_modules(completed: subprocess.CompletedProcess) -> list[str]:
    found = ALTERED.search(completed.stdout)
    return found.group(1).decode().split() if found else []


def leaves_nothing_behind(command: list, modules: list[str]) -> bool:
    """Whether `command` (without its modules) runs `modules` cleanly in one of a few tries."""
    for _ in range(RERUNS):
        again = results(run([*command, *modules], timeout=900))
        if again[0] == 0 and not any(ENV_CHANGED.search(line) for line in again[1]):
            return True
    return False


@pytest.mark.parametrize("version", VERSIONS)
def test_stdlib_tests_give_the_same_results_under_fluoro(version):
    py = interpreter(version)
    has_suite = run([py.python, "-c", "import test.test_json"]).returncode == 0
    if not has_suite:
        pytest.skip(
            f"CPython {version} here has no test suite (Debian: libpython{version}-testsuite)"
        )
    commands = {
        "bare": [py.python, "-m", "test", "-q", *MODULES],
        "fluoro": [py.fluoro, "run", "-q", "-m", "test", "-q", *MODULES],
        "fluoro --memory=all": [
            py.fluoro, "run", "-q", "--memory=all", "-m", "test", "-q", *MODULES,
        ],
    }  # fmt: skip
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        done = {name: pool.submit(run, cmd, timeout=900) for name, cmd in commands.items()}
        completed = {name: f.result() for name, f in done.items()}
    got = {name: results(c) for name, c in completed.items()}
    bare = got["bare"]
    assert bare[0] == 0 and any(line.endswith(b"esult: SUCCESS") for line in bare[1]), bare
    files = [line for line in bare[1] if line.startswith(b"Total test files:")]
    assert files in ([], [b"Total test files: run=40/40"]), bare
    for name in ("fluoro", "fluoro --memory=all"):
        mine = got[name]
        modules = altered_modules(completed[name])
        cleaned = (mine[0], [ENV_CHANGED.sub(b"", line) for line in mine[1]])
        if mine != bare and cleaned == bare and modules:
            again = leaves_nothing_behind(commands[name][: -len(MODULES)], modules)
            warnings = WARNING.findall(completed[name].stdout + completed[name].stderr)
            assert again, (name, modules, warnings)
            continue
        assert mine == bare, (name, mine, bare)
