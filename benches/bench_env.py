"""What the benchmark commands share: the venv with fluoro and its peers, and the programs.

The venv lives in target/bench-env under the repo root, made with the interpreter that runs
the bench, or in target/bench-env-X.Y with another one ([`select_python`], the benches'
`--python`: a path, or 3.14/3.15, which come from scripts/get-python). Peers come from PyPI;
fluoro is installed from the repo itself. The pyperformance scripts are run from the installed
pyperformance package (its data-files), never copied into this repo.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH_ENV = REPO / "target" / "bench-env"
# The interpreter the bench venv is made with: None for the one running the bench.
BENCH_PYTHON: str | None = None
WORKLOADS = Path(__file__).resolve().parent / "workloads"

# What each peer is installed as (pip name) and what proves it is there (import name).
PEERS = {
    "pyperf": "pyperf",
    "pyperformance": "pyperformance",
    "py-spy": None,  # a binary only
    "pyinstrument": "pyinstrument",
    "scalene": "scalene",
    "yappi": "yappi",
}

# pyperformance scripts that need nothing but pyperf, with the outer loop count that makes
# one `--worker` process do ~1.5 s of work on CPython 3.11 (measured on the bench machine).
PYPERFORMANCE_LOOPS = {
    "nbody": 20,
    "fannkuch": 5,
    "float": 20,
    "richards": 40,
    "chaos": 25,
    "go": 14,
    "hexiom": 280,
    "raytrace": 6,
    "spectral_norm": 20,
    "deltablue": 550,
    "nqueens": 19,
    "json_dumps": 140,
}


@dataclass(frozen=True)
class Program:
    """One benchmarked program: a script, its arguments, and whether it prints a checksum."""

    name: str
    kind: str  # "workload" or "pyperformance"
    script: Path
    args: list[str] = field(default_factory=list)

    @property
    def has_checksum(self) -> bool:
        return self.kind == "workload"


def python_in(env: Path) -> Path:
    return env / "bin" / "python"


def bin_in(env: Path, name: str) -> Path:
    return env / "bin" / name


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def select_python(spec: str | None) -> None:
    """Benches run in a venv of `spec` (a path to an interpreter, or X.Y for scripts/get-python)
    instead of the running interpreter's: target/bench-env-X.Y."""
    global BENCH_ENV, BENCH_PYTHON
    if not spec:
        return
    python = spec
    if re.fullmatch(r"3\.\d+", spec):
        version = spec
    else:
        code = "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"
        found = subprocess.run([spec, "-c", code], capture_output=True, text=True)
        if found.returncode != 0:
            raise SystemExit(f"bench: {spec} is not a Python interpreter")
        version = found.stdout.strip()
    BENCH_ENV = REPO / "target" / f"bench-env-{version}"
    BENCH_PYTHON = python


def _create_env() -> None:
    log(f"bench: creating {BENCH_ENV}")
    if BENCH_PYTHON is None:
        venv.EnvBuilder(with_pip=True).create(BENCH_ENV)
    elif re.fullmatch(r"3\.\d+", BENCH_PYTHON):
        # get-python makes the venv with pip from the interpreter's own wheel.
        get = [str(REPO / "scripts" / "get-python"), BENCH_PYTHON, str(BENCH_ENV)]
        done = subprocess.run(get, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(done.stderr.strip() or f"bench: no CPython {BENCH_PYTHON}")
    else:
        subprocess.run([BENCH_PYTHON, "-m", "venv", str(BENCH_ENV)], check=True)


def ensure_env(
    want_fluoro: bool, install_fluoro: bool, peers: list[str] | None = None
) -> str | None:
    """Creates or reuses the bench venv with the peers (`peers`, pip names: all of [`PEERS`]
    by default); installs fluoro from the repo.

    Returns None when fluoro is usable, else why not (fluoro is then reported as n/a). A peer
    that does not install on this interpreter is left out: its probe reports it n/a.
    """
    python = python_in(BENCH_ENV)
    if not python.exists():
        _create_env()
    wanted = {pip: PEERS[pip] for pip in (PEERS if peers is None else peers)}
    missing = [pip for pip, module in wanted.items() if not _has_peer(pip, module)]
    for pip in missing:
        log(f"bench: installing {pip}")
        done = _pip(["install", "-q", pip], check=False)
        if done.returncode != 0:
            log(f"bench: {pip} does not install here: {_first_error(done.stderr or done.stdout)}")
    if not want_fluoro:
        return None
    if install_fluoro:
        log(f"bench: installing fluoro from {REPO} (a release build; can take minutes)")
        done = _pip(["install", "-q", "--force-reinstall", "--no-deps", str(REPO)], check=False)
        if done.returncode != 0:
            return f"pip install of the repo failed: {_first_error(done.stderr or done.stdout)}"
    if not bin_in(BENCH_ENV, "fluoro").exists():
        return "fluoro is not installed in the bench venv (run without --no-install)"
    return None


def _first_error(output: str) -> str:
    """The line that says why a build failed (rustc's first error), else the last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("error[", "error:")):
            return line[:160]
    return (lines or ["no output"])[-1][:160]


def _has_peer(pip: str, module: str | None) -> bool:
    if module is None:
        return bin_in(BENCH_ENV, pip).exists()
    probe = subprocess.run(
        [str(python_in(BENCH_ENV)), "-c", f"import {module}"], capture_output=True
    )
    return probe.returncode == 0


def _pip(args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [str(python_in(BENCH_ENV)), "-m", "pip", "--disable-pip-version-check", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


def pyperformance_dir() -> Path:
    """The benchmarks folder shipped inside the installed pyperformance package."""
    out = subprocess.run(
        [str(python_in(BENCH_ENV)), "-c", "import pyperformance; print(pyperformance.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip()).parent / "data-files" / "benchmarks"


def pyperformance_program(name: str, loops: int | None = None) -> Program:
    """A pyperformance script run as one pyperf worker: no child processes, no calibration,
    no warm-up, one value of a fixed number of loops."""
    script = pyperformance_dir() / f"bm_{name}" / "run_benchmark.py"
    count = loops if loops is not None else PYPERFORMANCE_LOOPS[name]
    args = ["--worker", "--loops", str(count), "--values", "1", "--warmups", "0", "-p", "1"]
    return Program(name, "pyperformance", script, args)


def workload_programs() -> list[Program]:
    names = ("calls", "loops", "allocs", "containers")
    return [Program(name, "workload", WORKLOADS / f"{name}.py") for name in names]


def clean_env() -> dict[str, str]:
    """The environment the measured processes get: ours, without variables that would change
    what the interpreter does."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONSTARTUP", "PYTHONPROFILEIMPORTTIME", "PYTHONTRACEMALLOC"):
        env.pop(name, None)
    env["PYTHONHASHSEED"] = "0"
    return env
