"""`fluoro run` must be invisible to the target: the same stdout, stderr and exit code as
plain `python`, byte for byte, for every program of the corpus under tests/programs."""

from __future__ import annotations

import signal

import pytest

from conftest import PROGRAMS, VERSIONS, Interpreter, interpreter, run

# (program, arguments, stdin)
CORPUS = [
    ("identity.py", ["a", "--help", "-q"], None),
    ("exit_int.py", [], None),
    ("exit_message.py", [], None),
    ("exit_none.py", [], None),
    ("exit_big.py", [], None),
    ("raises.py", [], None),
    ("interrupt.py", [], None),
    ("os_exit.py", [], None),
    ("binary_output.py", [], None),
    ("threads.py", [], None),
    ("asyncio_prog.py", [], None),
    ("mp_fork.py", [], None),
    ("mp_spawn.py", [], None),
    ("pickle_main.py", [], None),
    ("atexit_order.py", [], None),
    ("excepthook.py", [], None),
    ("import_error.py", [], None),
    ("warns.py", [], None),
    ("stdin_echo.py", [], b"\x00\x01binary stdin\xff" * 100),
    ("recursion.py", [], None),
    ("unicode_source.py", [], None),
    ("signal_exit.py", [], None),
    ("subinterpreters.py", [], None),
    ("subinterpreters_threads.py", [], None),
]


def compare(py: Interpreter, plain: list, under: list, cwd, stdin=None, flags=()):
    expected = run([py.python, *plain], cwd=cwd, input=stdin)
    got = run([py.fluoro, "run", "--quiet", *flags, *under], cwd=cwd, input=stdin)
    assert got.stdout == expected.stdout
    assert got.stderr == expected.stderr
    assert got.returncode == expected.returncode
    return expected


@pytest.mark.parametrize("program,args,stdin", CORPUS, ids=[c[0] for c in CORPUS])
def test_script_matches_python(any_python: Interpreter, program, args, stdin):
    compare(any_python, [program, *args], [program, *args], PROGRAMS, stdin)


@pytest.mark.parametrize("program,args,stdin", CORPUS, ids=[c[0] for c in CORPUS])
def test_script_matches_python_with_its_children_followed(
    current: Interpreter, program, args, stdin
):
    compare(current, [program, *args], [program, *args], PROGRAMS, stdin, ["--subprocesses"])


# 3.12+ warns at os.fork() in a process with more than one OS thread; fluoro's sampler thread
# ends for each fork so that a target that forks alone is seen alone. 3.13 counts the threads
# after the fork handlers ran, so there the thread starts again once os.fork() returned.
@pytest.mark.parametrize("version", VERSIONS)
def test_a_fork_in_main_is_not_told_of_fluoros_thread(version):
    py = interpreter(version)
    compare(py, ["fork_main.py"], ["fork_main.py"], PROGRAMS)
    compare(py, ["fork_main.py"], ["fork_main.py"], PROGRAMS, flags=["--subprocesses"])


def test_relative_path_from_another_directory(current: Interpreter):
    compare(current, ["programs/identity.py", "x"], ["programs/identity.py", "x"], PROGRAMS.parent)


def test_symlinked_script_resolves_sys_path(current: Interpreter, tmp_path):
    link = tmp_path / "link.py"
    link.symlink_to(PROGRAMS / "identity.py")
    result = compare(current, [link], [link], tmp_path)
    assert f"path0 {PROGRAMS}".encode() in result.stdout


@pytest.mark.parametrize("args", [["pkg", "one", "-x"], ["pkg", "--fail"]])
def test_module_matches_python_dash_m(any_python: Interpreter, args):
    compare(any_python, ["-m", *args], ["-m", *args], PROGRAMS)


@pytest.mark.parametrize(
    "code",
    [
        "import sys; print(sys.argv, repr(sys.path[0]), __name__)",
        "import sys; sys.exit(5)",
        "raise TypeError('from -c')",
        "print(sorted(globals()))",
    ],
)
def test_code_matches_python_dash_c(any_python: Interpreter, code):
    compare(any_python, ["-c", code, "arg1"], ["-c", code, "arg1"], PROGRAMS)


def test_keyboard_interrupt_ends_by_sigint(current: Interpreter):
    got = run([current.fluoro, "run", "-q", "interrupt.py"], cwd=PROGRAMS)
    assert got.returncode == -signal.SIGINT
    assert got.stderr.endswith(b"KeyboardInterrupt\n")


def test_traceback_has_no_fluoro_frame(current: Interpreter):
    got = run([current.fluoro, "run", "raises.py"], cwd=PROGRAMS)
    assert b"Traceback (most recent call last):" in got.stderr
    assert b"fluoro" not in got.stderr.split("fluoro · ".encode())[0]
    assert got.returncode == 1


def test_summary_follows_untouched_output(current: Interpreter):
    """Without --quiet fluoro adds its report to stderr, after the target's bytes, ending with
    a one-line summary."""
    expected = run([current.python, "exit_message.py"], cwd=PROGRAMS)
    got = run([current.fluoro, "run", "exit_message.py"], cwd=PROGRAMS)
    assert got.stdout == expected.stdout
    assert got.stderr.startswith(expected.stderr)
    extra = got.stderr[len(expected.stderr) :].decode()
    assert extra.startswith("fluoro · exit_message.py\n")
    assert extra.splitlines()[-1].startswith("fluoro: exit_message.py ran for ")


def test_summary_names_an_unhandled_exception(current: Interpreter):
    got = run([current.fluoro, "run", "raises.py"], cwd=PROGRAMS)
    assert got.stderr.decode().splitlines()[-1].endswith("ended by an unhandled ValueError")


def test_user_pythonpath_and_sitecustomize_are_kept(current: Interpreter, tmp_path):
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "sitecustomize.py").write_text("import builtins\nbuiltins.SITE_MARK = 'user'\n")
    env = {"PYTHONPATH": str(custom)}
    expected = run([current.python, "identity.py"], cwd=PROGRAMS, env=env)
    got = run([current.fluoro, "run", "-q", "identity.py"], cwd=PROGRAMS, env=env)
    assert b"site mark user" in expected.stdout
    assert got.stdout == expected.stdout
    assert got.stderr == expected.stderr


def test_interpreter_flags_are_kept(current: Interpreter):
    code = "import sys; print(sys.flags.optimize, sys.flags.dev_mode, sys._xoptions)"
    expected = run([current.python, "-O", "-X", "dev", "-c", code], cwd=PROGRAMS)
    got = run(
        [current.python, "-O", "-X", "dev", "-m", "fluoro", "run", "-q", "-c", code], cwd=PROGRAMS
    )
    assert got.stdout == expected.stdout
    assert got.returncode == expected.returncode == 0


def test_python_dash_m_fluoro_is_the_same_cli(current: Interpreter):
    expected = run([current.python, "identity.py", "z"], cwd=PROGRAMS)
    got = run([current.python, "-m", "fluoro", "run", "-q", "identity.py", "z"], cwd=PROGRAMS)
    assert got.stdout == expected.stdout
    assert got.stderr == expected.stderr
    assert got.returncode == expected.returncode
