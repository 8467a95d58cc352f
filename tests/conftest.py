"""Shared helpers for fluoro's end-to-end tests.

Each test runs real programs in a subprocess, under plain ``python`` and under ``fluoro``.
Interpreters: the one running pytest, plus every venv with fluoro installed that
``scripts/test`` made under ``$FLUORO_TEST_VENVS`` (one per CPython found in
/root/.pyenv/versions, and 3.14/3.15 from scripts/get-python); tests parametrized over versions
skip those that are absent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PROGRAMS = HERE / "programs"
VERSIONS = ("3.10", "3.11", "3.12", "3.13", "3.14", "3.15")


@dataclass(frozen=True)
class Interpreter:
    """A Python with fluoro installed: ``python`` runs plain, ``fluoro`` the console script."""

    version: str
    python: Path

    @property
    def fluoro(self) -> Path:
        return self.python.parent / "fluoro"


def _venv_for(version: str) -> Interpreter | None:
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    if version == current:
        return Interpreter(version, Path(sys.executable))
    root = os.environ.get("FLUORO_TEST_VENVS")
    if not root:
        return None
    python = Path(root) / f"py{version}" / "bin" / "python"
    return Interpreter(version, python) if python.exists() else None


def interpreter(version: str) -> Interpreter:
    found = _venv_for(version)
    if found is None:
        pytest.skip(f"no venv with fluoro for CPython {version} (set FLUORO_TEST_VENVS)")
    return found


@pytest.fixture
def current() -> Interpreter:
    return interpreter(f"{sys.version_info.major}.{sys.version_info.minor}")


@pytest.fixture(params=VERSIONS)
def any_python(request) -> Interpreter:
    return interpreter(request.param)


def run(cmd, *, cwd=None, input: bytes | None = None, timeout: float = 120, env=None):
    """Runs a command and returns the CompletedProcess with bytes output."""
    base = dict(os.environ)
    base.pop("PYTHONMALLOC", None)
    if env:
        base.update(env)
    return subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        input=input,
        capture_output=True,
        timeout=timeout,
        env=base,
    )


def fluoro(*args, py: Interpreter | None = None, **kwargs):
    """Runs the ``fluoro`` console script of ``py`` (the current interpreter by default)."""
    py = py or interpreter(f"{sys.version_info.major}.{sys.version_info.minor}")
    return run([py.fluoro, *args], **kwargs)
