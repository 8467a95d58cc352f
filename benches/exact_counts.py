"""Exact mode counts every call: fluoro's call counts must equal cProfile's, function by function.

    python benches/exact_counts.py [--programs richards,deltablue,...] [--loops 2]
                                   [--scope script|all] [--callers] [--against fluoro|cprofile]
                                   [--keep DIR] [--no-install]

For each pyperformance script (one pyperf worker process, fixed loops) it runs
`python -m cProfile -o A.pstats` and `fluoro run -q --exact -o B.fluoro`, converts the latter
with `fluoro report B.fluoro --format pstats -o B.pstats`, loads both with pstats and
compares total (nc) and primitive (cc) call counts of every function in scope. Exit status:
0 all equal, 1 a count differs, 2 a run failed. `--against cprofile` replaces fluoro with a
second cProfile run, which checks the scripts are deterministic and this comparison sound.
"""

from __future__ import annotations

import argparse
import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_env import (
    BENCH_ENV,
    bin_in,
    clean_env,
    ensure_env,
    log,
    pyperformance_program,
    python_in,
)

DEFAULT_PROGRAMS = ["richards", "deltablue", "nqueens", "hexiom", "go", "chaos", "float"]

# pstats keys are (filename, first line, function name); builtins have filename "~".
Key = tuple[str, int, str]
# `python -m cProfile` runs the script's code through exec(), so cProfile alone sees exec as
# the caller of the script's <module>; that edge is a launch artefact, not a count to compare.
LAUNCH_EXEC: Key = ("~", 0, "<built-in method builtins.exec>")


class RunFailed(Exception):
    pass


def run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, env=clean_env())
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no output"]
        raise RunFailed(f"{' '.join(cmd[:4])} … exited {done.returncode}: {lines[-1][:200]}")


def cprofile_pstats(target: list[str], out: Path) -> Path:
    run([str(python_in(BENCH_ENV)), "-m", "cProfile", "-o", str(out), *target])
    return out


def fluoro_pstats(target: list[str], out: Path) -> Path:
    fluoro = str(bin_in(BENCH_ENV, "fluoro"))
    profile = out.with_suffix(".fluoro")
    run([fluoro, "run", "-q", "--exact", "-o", str(profile), *target])
    run([fluoro, "report", str(profile), "--format", "pstats", "-o", str(out)])
    return out


def normal(key: Key) -> Key:
    """The same function named the same way by both sides: real paths for real files."""
    filename, line, name = key
    if filename != "~" and not filename.startswith("<") and os.path.exists(filename):
        filename = os.path.realpath(filename)
    return filename, line, name


def load(path: Path) -> dict[Key, tuple[int, int, dict[Key, tuple[int, int]]]]:
    """Function → (primitive calls, total calls, {caller: (primitive, total)})."""
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    loaded = {}
    for key, (cc, nc, _tt, _ct, callers) in stats.items():
        edges = {normal(caller): (value[0], value[1]) for caller, value in callers.items()}
        loaded[normal(key)] = (cc, nc, edges)
    return loaded


def show(key: Key) -> str:
    filename, line, name = key
    return name if filename == "~" else f"{Path(filename).name}:{line}({name})"


def compare(
    base: dict[Key, tuple[int, int, dict[Key, tuple[int, int]]]],
    other: dict[Key, tuple[int, int, dict[Key, tuple[int, int]]]],
    in_scope,
    callers: bool,
    other_name: str,
) -> tuple[list[str], int, int]:
    """Mismatches (as lines), functions compared and calls counted by cProfile."""
    mismatches = []
    compared = calls = 0
    for key in sorted(k for k in base.keys() | other.keys() if in_scope(k)):
        compared += 1
        if key not in other:
            mismatches.append(f"{show(key)}: only in cProfile ({base[key][1]} calls)")
            continue
        if key not in base:
            mismatches.append(f"{show(key)}: only in {other_name} ({other[key][1]} calls)")
            continue
        (cc_a, nc_a, edges_a), (cc_b, nc_b, edges_b) = base[key], other[key]
        calls += nc_a
        if (cc_a, nc_a) != (cc_b, nc_b):
            mismatches.append(
                f"{show(key)}: cProfile {nc_a} calls ({cc_a} primitive), "
                f"{other_name} {nc_b} ({cc_b} primitive)"
            )
    if callers:
        # Calls along each caller → callee edge touching the scope; this also covers builtins
        # called from the script, whose per-function totals include every other caller.
        for key in sorted(base.keys() & other.keys()):
            edges_a, edges_b = base[key][2], other[key][2]
            for caller in sorted(edges_a.keys() | edges_b.keys()):
                if not (in_scope(key) or in_scope(caller)):
                    continue
                if key[2] == "<module>" and caller == LAUNCH_EXEC:
                    continue  # cProfile starts the script with exec(); python runs it directly
                a, b = edges_a.get(caller, (0, 0)), edges_b.get(caller, (0, 0))
                if a != b:
                    mismatches.append(
                        f"{show(caller)} → {show(key)}: cProfile {a[1]} ({a[0]} primitive), "
                        f"{other_name} {b[1]} ({b[0]} primitive)"
                    )
    return mismatches, compared, calls


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Compare fluoro --exact call counts with cProfile's on pyperformance scripts."
    )
    parser.add_argument(
        "--programs",
        default=",".join(DEFAULT_PROGRAMS),
        help=f"comma-separated pyperformance scripts (default: {','.join(DEFAULT_PROGRAMS)})",
    )
    parser.add_argument("--loops", type=int, default=2, help="pyperf loops per run (default 2)")
    parser.add_argument(
        "--scope",
        choices=["script", "all"],
        default="script",
        help="script: functions defined in the benchmark script (default); all: every function,"
        " including imports and builtins",
    )
    parser.add_argument(
        "--callers", action="store_true", help="also compare per-caller counts (call edges)"
    )
    parser.add_argument(
        "--against",
        choices=["fluoro", "cprofile"],
        default="fluoro",
        help="what to compare cProfile with (cprofile: a second cProfile run, a self-check)",
    )
    parser.add_argument("--keep", metavar="DIR", help="keep the .pstats/.fluoro files in DIR")
    parser.add_argument("--show", type=int, default=20, help="mismatches listed per script")
    parser.add_argument(
        "--no-install", action="store_true", help="reuse the fluoro already in the bench venv"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    use_fluoro = args.against == "fluoro"
    problem = ensure_env(use_fluoro, not args.no_install)
    if problem:
        print(f"exact_counts: fluoro is not usable: {problem}")
        return 2
    other_name = "fluoro" if use_fluoro else "cProfile (2nd run)"
    second = fluoro_pstats if use_fluoro else cprofile_pstats
    failed = mismatched = 0
    with tempfile.TemporaryDirectory(prefix="fluoro-exact-") as tmp:
        out = Path(args.keep or tmp)
        out.mkdir(parents=True, exist_ok=True)
        for name in (n.strip() for n in args.programs.split(",") if n.strip()):
            program = pyperformance_program(name, loops=args.loops)
            script = os.path.realpath(program.script)
            target = [script, *program.args]
            log(f"exact_counts: {name}")
            try:
                base = load(cprofile_pstats(target, out / f"{name}.cprofile.pstats"))
                other = load(second(target, out / f"{name}.{args.against}.pstats"))
            except (RunFailed, OSError, EOFError, ValueError) as error:
                print(f"{name}: FAILED: {error}")
                failed += 1
                continue

            def in_scope(key: Key, script: str = script) -> bool:
                return args.scope == "all" or key[0] == script

            mismatches, compared, calls = compare(base, other, in_scope, args.callers, other_name)
            if compared == 0:
                print(f"{name}: FAILED: cProfile saw no function in scope (script {script})")
                failed += 1
            elif mismatches:
                mismatched += 1
                print(f"{name}: {len(mismatches)} mismatches in {compared} functions")
                for line in mismatches[: args.show]:
                    print(f"  {line}")
                if len(mismatches) > args.show:
                    print(f"  … and {len(mismatches) - args.show} more")
            else:
                print(f"{name}: {compared} functions, {calls:,} calls: counts equal")
    if failed:
        return 2
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
