"""The command line itself: help, version, subcommands, and one-line errors with exit 2."""

from __future__ import annotations

import pytest

from conftest import PROGRAMS, fluoro

SUBCOMMANDS = ["run", "report", "heap", "advise", "bench", "dis", "inspect", "env", "runs"]


def one_line_error(result, *needles: str):
    assert result.returncode == 2, result
    err = result.stderr.decode()
    assert err.startswith("fluoro: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err


def test_help_lists_every_subcommand():
    result = fluoro("--help")
    assert result.returncode == 0
    out = result.stdout.decode()
    for name in SUBCOMMANDS:
        assert f"  {name} " in out


def test_version():
    result = fluoro("--version")
    assert result.returncode == 0
    assert result.stdout.decode().startswith("fluoro 0.")


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_has_help(name):
    result = fluoro(name, "--help")
    assert result.returncode == 0
    assert result.stdout


@pytest.mark.parametrize("name", ["runs"])
def test_unbuilt_subcommands_say_so(name):
    one_line_error(fluoro(name, "anything", "--flag"), name, "not built yet")


def test_heap_unknown_subcommand_is_one_line():
    one_line_error(fluoro("heap", "anything", "--flag"), "anything")


def test_unknown_subcommand():
    one_line_error(fluoro("frobnicate"), "frobnicate")


def test_no_subcommand_prints_help_and_fails():
    result = fluoro()
    assert result.returncode == 2
    assert b"Usage" in result.stderr or b"Usage" in result.stdout


def test_run_missing_file(tmp_path):
    one_line_error(fluoro("run", "nope.py", cwd=tmp_path), "nope.py", "no such file")


def test_run_directory(tmp_path):
    one_line_error(fluoro("run", str(tmp_path)), "is a directory")


def test_run_syntax_error(tmp_path):
    (tmp_path / "bad.py").write_text("x = 1\ndef f(:\n")
    one_line_error(fluoro("run", "bad.py", cwd=tmp_path), "SyntaxError", "bad.py", "line 2")


def test_run_code_syntax_error():
    one_line_error(fluoro("run", "-c", "1 +"), "SyntaxError", "<string>")


def test_run_unknown_module():
    one_line_error(
        fluoro("run", "-m", "no_such_module_xyz"), "No module named", "no_such_module_xyz"
    )


def test_run_package_without_main():
    one_line_error(fluoro("run", "-m", "json", cwd=PROGRAMS), "json", "cannot be directly executed")


def test_run_no_target():
    one_line_error(fluoro("run"), "no target")


def test_run_unknown_option():
    one_line_error(fluoro("run", "--bogus", "x.py"), "--bogus")


def test_module_raising_in_package_init_is_the_targets_error(tmp_path):
    pkg = tmp_path / "boom"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise RuntimeError('init failed')\n")
    (pkg / "__main__.py").write_text("print('never')\n")
    result = fluoro("run", "-q", "-m", "boom", cwd=tmp_path)
    assert result.returncode == 1
    assert b"RuntimeError: init failed" in result.stderr


def test_quiet_silences_the_gc_cycles_and_advise_tables(tmp_path):
    script = tmp_path / "app.py"
    script.write_text("import gc\nout = ''\nfor i in range(99):\n    out += str(i)\ngc.collect()\n")
    result = fluoro("run", "-q", "--gc-cycles", "--advise", script, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == b""


def test_report_checks_the_magic_before_reading_on():
    one_line_error(fluoro("report", "/dev/zero", timeout=10), "not a fluoro profile")
