"""IPython and Jupyter magics: ``%load_ext fluoro``, then ``%%fluoro`` profiles a cell and
``%fluoro STATEMENT`` one statement, each showing the report inline.

Options, before the code: ``--rate HZ``, ``--memory sampled|all|off``, ``--memory-interval
SIZE``, ``--exact``, ``--metric M``, ``--top N``, ``--full``, ``--show-all``, ``--format
text|html`` and ``-o FILE`` (the ``.fluoro`` profile, for ``fluoro report``). The magics'
own frames, like fluoro's, fold out of the report.
"""

from __future__ import annotations

import argparse

from fluoro._native import Profiler

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="%fluoro", add_help=False, exit_on_error=False)
    p.add_argument("--rate", type=int, default=100)
    p.add_argument("--memory", choices=["sampled", "all", "off"], default="off")
    p.add_argument("--memory-interval", default="64KiB")
    p.add_argument("--exact", action="store_true")
    p.add_argument("--metric", choices=["wall", "cpu", "alloc", "peak", "leak"], default="wall")
    p.add_argument("--top", type=int, default=None)
    p.add_argument("--full", "-v", action="store_true")
    p.add_argument("--show-all", action="store_true")
    p.add_argument("--format", choices=["text", "html"], default="text")
    p.add_argument("-o", "--output", default=None)
    return p


# Options that take a value: the first word that is neither one nor an option's value starts
# the statement of the line magic.
_VALUED = {
    "--rate",
    "--memory",
    "--memory-interval",
    "--metric",
    "--top",
    "--format",
    "-o",
    "--output",
}


def split_line(line: str) -> tuple[list[str], str]:
    """The magic's options and the code after them (``%fluoro --rate 1000 f(x)``)."""
    words: list[str] = []
    rest = line.lstrip()
    expect_value = False
    while rest and (expect_value or rest.startswith("-")):
        word, _, rest = rest.partition(" ")
        rest = rest.lstrip()
        words.append(word)
        expect_value = not expect_value and word in _VALUED
    return words, rest


def options(words: list[str]) -> argparse.Namespace:
    """The parsed options; a bad one is one line, as IPython shows usage errors."""
    from IPython.core.error import UsageError

    try:
        args = _parser().parse_args(words)
    except (argparse.ArgumentError, SystemExit) as e:
        raise UsageError(f"%fluoro: {e}") from None
    return args


def _size(text: str) -> int:
    from IPython.core.error import UsageError

    from fluoro._native import parse_size

    try:
        value = parse_size(text)
    except ValueError as e:
        raise UsageError(f"%fluoro: --memory-interval: {e}") from None
    if value <= 0:
        raise UsageError("%fluoro: --memory-interval must be at least 1 byte")
    return value


def profile_code(
    shell: Any, code: str, args: argparse.Namespace
) -> tuple[Profiler, BaseException | None]:
    """Runs ``code`` (IPython syntax allowed) in the user's namespace under a Profiler; returns
    it, stopped, and what the code raised, if anything."""
    from IPython.core.error import UsageError

    source = shell.transform_cell(code)
    compiled = compile(source, "<fluoro cell>", "exec")
    try:
        profiler = Profiler(
            rate=args.rate,
            exact=args.exact,
            memory=args.memory,
            memory_interval=_size(args.memory_interval),
        )
        profiler.start()
    except (ValueError, RuntimeError) as e:
        raise UsageError(f"%fluoro: {e}") from None
    raised = None
    try:
        exec(compiled, shell.user_ns)
    except BaseException as e:  # shown after the report, with its traceback
        raised = e
    finally:
        profiler.stop()
    if args.output:
        profiler.save(args.output)
    return profiler, raised


def show(profiler: Any, format: str = "text", **report: Any) -> None:
    """Displays ``profiler``'s report inline: the text summary (``format="text"``), or the
    interactive HTML report (``format="html"``)."""
    from IPython.display import display

    if format == "html":
        page = profiler.report(format="html", metric=report.get("metric", "wall"))
        display({"text/html": page}, raw=True)
        return
    display({"text/plain": str(profiler.report(format="text", **report))}, raw=True)


def _run(shell: Any, words: list[str], code: str) -> None:
    from IPython.core.error import UsageError

    from fluoro._profile import _width

    args = options(words)
    if not code.strip():
        raise UsageError("%fluoro: no code to profile (%fluoro [OPTIONS] STATEMENT, or %%fluoro)")
    report: dict[str, Any] = {
        "metric": args.metric,
        "full": args.full,
        "show_all": args.show_all,
        "more": "Summary: %%fluoro --full shows the whole report",
    }
    if args.top is not None:
        report["top"] = args.top
    if args.format == "text":
        report["width"] = _width()
    profiler, raised = profile_code(shell, code, args)
    show(profiler, args.format, **report)
    if raised is not None:
        raise raised


def load(shell: Any) -> None:
    """Registers ``%fluoro`` and ``%%fluoro`` with ``shell``."""

    def fluoro(line: str, cell: str | None = None) -> None:
        if cell is None:
            words, code = split_line(line)
        else:
            words, code = line.split(), cell
        _run(shell, words, code)

    shell.register_magic_function(fluoro, magic_kind="line_cell", magic_name="fluoro")
