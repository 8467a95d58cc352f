"""Every input python takes, `fluoro run` takes: targets read from a stream, compiled
bytecode, arguments and paths that are not UTF-8; and a stray ``FLUORO_BOOT`` disturbs no
python."""

from __future__ import annotations

import os
import py_compile
import sys
import threading
import zipapp

from conftest import fluoro, run

SHOW_ARGV = "import sys; print(repr(sys.argv[1:]))\n"


def test_a_fifo_target_is_read_by_python_only(tmp_path):
    fifo = tmp_path / "prog"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "w") as f:
            f.write("print('from the fifo')\n")

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    result = fluoro("run", fifo, timeout=60)
    writer.join(5)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"from the fifo\n"


def test_dev_stdin_target_runs_what_stdin_holds():
    result = fluoro("run", "/dev/stdin", input=b"print('from stdin')\n", timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"from stdin\n"


def test_a_pyc_runs_as_python_runs_it(tmp_path):
    source = tmp_path / "prog.py"
    source.write_text("import sys\nprint('compiled', sys.argv[1:])\n")
    pyc = tmp_path / "prog.pyc"
    py_compile.compile(str(source), cfile=str(pyc), doraise=True)
    source.unlink()
    expected = run([sys.executable, pyc, "a"])
    result = fluoro("run", pyc, "a")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == expected.stdout == b"compiled ['a']\n"


def test_an_archive_runs_as_python_runs_it(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "__main__.py").write_text("import sys\nprint('zipped', sys.argv[1:])\n")
    archive = tmp_path / "app.pyz"
    zipapp.create_archive(app, archive)
    # A comment after the directory record, as some packers write, is still an archive.
    with open(archive, "r+b") as f:
        f.seek(-2, os.SEEK_END)
        f.write((7).to_bytes(2, "little"))
        f.seek(0, os.SEEK_END)
        f.write(b"comment")
    expected = run([sys.executable, archive, "a"])
    result = fluoro("run", archive, "a")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == expected.stdout == b"zipped ['a']\n"


def test_a_pyc_of_another_python_is_one_line(tmp_path):
    pyc = tmp_path / "old.pyc"
    pyc.write_bytes(b"\x00\x01\x02\x03" + bytes(60))
    result = fluoro("run", pyc)
    assert result.returncode == 2
    assert result.stderr.decode().count("\n") == 1
    assert b"magic number" in result.stderr


def test_arguments_and_a_script_path_that_are_not_utf8(tmp_path):
    script = tmp_path / os.fsdecode(b"caf\xe9-\xff.py")
    script.write_text(SHOW_ARGV)
    arg = os.fsdecode(b"\xff\xfe-arg")
    expected = run([sys.executable, script, arg, "plain"])
    assert expected.returncode == 0
    result = fluoro("run", script, arg, "plain")
    assert result.returncode == 0, result.stderr.decode()
    assert b"internal error" not in result.stderr
    assert result.stdout == expected.stdout


def test_an_output_path_that_is_not_utf8(tmp_path):
    out = tmp_path / os.fsdecode(b"profile-\xff.fluoro")
    result = fluoro("run", "-q", "-o", out, "-c", "sum(range(1000))")
    assert result.returncode == 0, result.stderr.decode()
    assert out.stat().st_size > 8
    report = fluoro("report", out)
    assert report.returncode == 0, report.stderr.decode()
    script = tmp_path / os.fsdecode(b"m\xff.py")
    script.write_text("def f(xs):\n    return sorted(xs)[0]\n")
    advice = fluoro("advise", script)
    assert advice.returncode == 1 and b"FLU115" in advice.stdout, advice.stderr.decode()


def test_a_stray_fluoro_boot_is_ignored_silently():
    for value in ["", "garbage", '{"pid": 1}', os.fsdecode(b"\xff")]:
        result = run([sys.executable, "-c", "print('ok')"], env={"FLUORO_BOOT": value})
        assert result.returncode == 0
        assert result.stdout == b"ok\n"
        assert result.stderr == b"", (value, result.stderr.decode())
