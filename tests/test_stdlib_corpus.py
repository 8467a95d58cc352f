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
        got = {name: results(f.result()) for name, f in done.items()}
    bare = got["bare"]
    assert bare[0] == 0 and any(line.endswith(b"esult: SUCCESS") for line in bare[1]), bare
    files = [line for line in bare[1] if line.startswith(b"Total test files:")]
    assert files in ([], [b"Total test files: run=40/40"]), bare
    for name in ("fluoro", "fluoro --memory=all"):
        assert got[name] == bare, (name, got[name], bare)
